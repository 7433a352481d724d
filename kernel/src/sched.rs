//! The scheduler's mechanism: which process runs on each CPU, the run queues (one
//! per CPU, whose order is the policy's business, see `kernel_core::sched`; where a
//! task goes and when one moves is `kernel_core::sched::balance`'s), blocking and
//! waking, and the context switch itself.
//!
//! Every switch goes through `switch_away`: the policy of this CPU's queue picks
//! the next process, the CPU is pointed at that process's kernel stack, address
//! space and TLS, and the kernel registers are swapped. The final return-from-trap,
//! later, then resumes the *other* program. When nothing is runnable, the CPU
//! switches to its idle context (its boot stack), which takes a task from the
//! busiest queue if any waits, or else halts until an interrupt.
//!
//! Interrupts are off whenever the kernel runs, but other CPUs run at the same time:
//! a wake may come between a caller's check ("the pipe is empty") and its block. A
//! wait therefore begins with `prepare`, before the check, which reads the wake
//! count of the channel's list; the block, under that list's lock, puts the thread
//! on the list, marks the list in `WAITING`, then compares the count again and does
//! not sleep if a wake came in between (the caller re-checks). A wake counts first
//! and then reads the marks: one of the two sees the other, and a wake of a channel
//! nobody waits on (the pollers' on every pipe transfer, mostly) takes no lock at
//! all. Each list has its own lock (`BLOCKED`): a block or a wake takes its
//! channel's and a run queue's, and no lock is shared by all CPUs on that path.
//! Signals are checked the same way, after the mark: `interrupt` leaves its note
//! first, then looks at the marked lists. With one CPU online nothing runs between
//! the check and the block: wakes count nothing, blocks compare nothing, and the
//! lists live under the one run queue's lock (`Waiters`), so that a block and a
//! wake each take one lock. A task made runnable while still switching away on its
//! CPU is resumed elsewhere only once that switch saved it, and no CPU waits for
//! that while its own leaving task is unsaved: two CPUs that each picked the
//! other's leaving task would wait for each other for ever. A switch that finds its
//! pick still running elsewhere goes through the idle context, which waits for it
//! (`HANDED_TO_IDLE`); `switch::switch` lets its own task go before it waits.
//!
//! A futex waiter is not on the blocked lists: its entry in its futex bucket is its
//! whole record (`park`, see `futex`), and whoever takes it off there makes it
//! runnable (`unpark`).
//!
//! Lock order (the whole of it in docs/locks.md, checked in debug kernels:
//! `sync::OrderedMutex`): a futex bucket, then an address space, then the process
//! table, then one blocked list (`BLOCKED[bucket]`, never two at once), then the
//! sleepers (`SLEEPERS`; with one CPU online lists and sleepers live under the one
//! run queue's lock instead, `Waiters`), then one run queue (`QUEUES[cpu]`; never two at once: a task moving between queues leaves one
//! before it enters the other; code that ever needs two must take them in CPU
//! order, which is their address order, the one the checker accepts for two locks
//! of one class), then the trace writer, then the kernel log. `LOAD` is taken with
//! no other held.

use crate::sync::{class, OrderedMutex, OrderedMutexGuard};
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::num::NonZeroU32;
use core::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, Ordering};
use spin::Mutex;

use crate::arch::x86_64::debugcon::{self, Channel};
use crate::arch::x86_64::percpu::PerCpu;
use crate::arch::x86_64::switch::{self, KernelContext};
use crate::arch::x86_64::{apic, cpu, entry, fpu, smp};
use crate::mm::kstack;
use crate::process::{self, Mode, Pid, Process, Stats};
use crate::{time, trace};
use kernel_core::acpi::MAX_CPUS;
use kernel_core::loadavg::{LoadAverage, LOAD_FREQ_NS};
use kernel_core::record::Record;
use kernel_core::sched::balance::{self, CpuLoad, CpuMask, BALANCE_TICKS};
use kernel_core::sched::{Arrival, Scheduler};
use kernel_core::trace::{SwitchReason, WaitKind, What};

/// Nanoseconds between timer ticks (1 kHz; the interrupt may skip ticks nobody
/// needs: see `TICKS_ARMED`).
pub const TICK_NS: u64 = 1_000_000;

/// What a blocked process waits for.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum WaitChannel {
    /// A child of this process changed state (wait4).
    Children(Pid),
    /// A plain sleep (nanosleep): only its deadline or a signal ends it.
    Sleep(Pid),
    /// This vfork child exec'd or exited (its parent waits).
    VforkDone(Pid),
    /// A pipe got data or lost its last writer.
    PipeReadable(u64),
    /// A pipe got room or lost its last reader.
    PipeWritable(u64),
    /// The console received input.
    ConsoleInput,
    /// The console's output ring got room, or its writer finished (the turn to
    /// write is free).
    ConsoleOutput,
    /// This process is stopped (job control) until SIGCONT or SIGKILL.
    Stopped(Pid),
    /// A poll or select waits for any of its files. Rather than registering with
    /// each file, pollers share this one channel, which every wake of a pipe or
    /// console channel also wakes (see `wake_all`); woken pollers re-check their
    /// files and block again if none is ready. Simple and never misses an event; the
    /// cost, waking every poller on any pipe or console activity, is small for the
    /// handful of processes timeshare runs.
    Poll,
}

impl WaitChannel {
    /// Whether waking this channel can make a file ready for poll.
    fn wakes_pollers(self) -> bool {
        matches!(
            self,
            WaitChannel::PipeReadable(_)
                | WaitChannel::PipeWritable(_)
                | WaitChannel::ConsoleInput
                | WaitChannel::ConsoleOutput
        )
    }

    /// How the trace names this channel: its kind, and the pid or pipe it is about.
    /// This pair is also how the blocked list keeps the channel (`WaitKey`).
    fn traced(self) -> WaitKey {
        match self {
            WaitChannel::Children(pid) => (WaitKind::Children, u64::from(pid)),
            WaitChannel::Sleep(pid) => (WaitKind::Sleep, u64::from(pid)),
            WaitChannel::VforkDone(pid) => (WaitKind::VforkDone, u64::from(pid)),
            WaitChannel::PipeReadable(pipe) => (WaitKind::PipeReadable, pipe),
            WaitChannel::PipeWritable(pipe) => (WaitKind::PipeWritable, pipe),
            WaitChannel::ConsoleInput => (WaitKind::ConsoleInput, 0),
            WaitChannel::ConsoleOutput => (WaitKind::ConsoleOutput, 0),
            WaitChannel::Stopped(pid) => (WaitKind::Stopped, u64::from(pid)),
            WaitChannel::Poll => (WaitKind::Poll, 0),
        }
    }
}

/// A channel as the blocked list keeps it (`WaitChannel::traced`): two integers to
/// compare where the enum's comparison goes through a jump table.
type WaitKey = (WaitKind, u64);

/// How many lists the blocked processes are spread over (`Waiters::blocked`).
const BUCKETS: usize = 64;

/// The list of `Waiters::blocked` where the waiters on this channel are: by its
/// detail, so that the channels of one kind (pipes by their consecutive ids,
/// processes by pid) spread over all of them, offset by its kind.
#[inline(always)]
fn bucket_of((kind, detail): WaitKey) -> usize {
    (detail.wrapping_add(kind as u64 * 8) % BUCKETS as u64) as usize
}

/// This channel's bit in `Waiters::waiting`: its bucket's.
#[inline(always)]
fn summary_bit(key: WaitKey) -> u64 {
    1 << bucket_of(key)
}

/// A wait cut short by a signal.
#[derive(Debug)]
pub struct Interrupted;

/// What placing a task that becomes runnable needs to know of it, kept where it
/// waits (the process itself may not be at hand there, and the process table's
/// lock comes before the waiters'): the CPU whose policy knows it, the CPUs it may
/// run on, and what a policy that does not know it yet must be told (its effective
/// nice value, its process and the nice value that funds the process's pool, its
/// request size if sched_setattr set one). A lottery loan (`waiting_for`) is not
/// carried: it ends when its lender or borrower moves.
#[derive(Clone, Copy)]
struct Home {
    cpu: u8,
    nice: i8,
    allowed: CpuMask,
    group: Pid,
    pool_nice: i8,
    request_ticks: Option<NonZeroU32>,
}

impl Home {
    /// Where a task goes with one CPU online: the only queue, whose policy knows
    /// it already.
    const ONLY_CPU: Home = Home { cpu: 0, nice: 0, allowed: CpuMask::MAX, group: 0, pool_nice: 0, request_ticks: None };

    fn of(thread: &Process) -> Home {
        let settings = *thread.sched_settings.lock();
        Home {
            cpu: thread.last_cpu.load(Ordering::Relaxed),
            nice: settings.effective_nice(thread.nice.load(Ordering::Relaxed)),
            allowed: thread.affinity.load(Ordering::Relaxed),
            group: thread.group.tgid,
            pool_nice: thread.group.pool_nice.load(Ordering::Relaxed),
            request_ticks: settings.custom_slice_ns.map(request_ticks),
        }
    }

    /// The home of a thread known by tid only (anywhere, if it is gone).
    fn of_tid(tid: Pid) -> Home {
        process::find(tid).map_or(Home { group: tid, ..Home::ONLY_CPU }, |thread| Home::of(&thread))
    }

    /// Tells `policy`, which did not know the task `pid` yet, what it must know.
    fn introduce(&self, pid: Pid, policy: &mut dyn Scheduler) {
        policy.set_nice(pid, self.nice);
        if self.group != pid {
            policy.set_group(pid, self.group);
            policy.set_pool_nice(self.group, self.pool_nice);
        }
        if let Some(ticks) = self.request_ticks {
            policy.set_request(pid, ticks.get());
        }
    }
}

/// A slice (sched_setattr's sched_runtime) as a policy's request size: ticks,
/// rounded up. Never zero: `Home` keeps it in four bytes, None in the zero.
fn request_ticks(slice_ns: u64) -> NonZeroU32 {
    NonZeroU32::new(slice_ns.div_ceil(TICK_NS).clamp(1, u64::from(u32::MAX)) as u32).unwrap_or(NonZeroU32::MIN)
}

/// A blocked thread's entry in its list: who, waiting for what, and what its
/// wake places it by: with several CPUs online the thread itself (`WakeHome`),
/// whose home the wake reads then (`place_woken`), so that a nice value, slice or
/// affinity changed while it waited counts where it goes; with one, nothing (the
/// only queue is every task's home), and the entry has nothing to drop.
struct Blocked<H = WakeHome> {
    pid: Pid,
    waits_for: WaitKey,
    home: H,
}

/// The blocked lists and sleepers with one CPU online, kept in its run queue
/// (`RunQueue::waiters`): a block and a wake then take one lock, the queue's.
struct Waiters {
    /// Blocked processes and what each waits for, oldest first, spread over lists
    /// by channel (`bucket_of`): a wake looks only at the list of its channel, so
    /// its cost does not grow with the number of blocked processes (a ring of 512
    /// processes through pipes), and blocking and waking (every pipe round trip)
    /// never allocate once the lists have grown.
    blocked: [Vec<Blocked<()>>; BUCKETS],
    /// Bit `i` set when `blocked[i]` is not empty: most wakes, of a pipe nobody
    /// waits on, end at a test of it.
    waiting: u64,
    /// Deadlines (monotonic ns) of processes waiting with a timeout.
    sleepers: Vec<(u64, Pid)>,
}

impl Waiters {
    const fn new() -> Waiters {
        Waiters { blocked: [const { Vec::new() }; BUCKETS], waiting: 0, sleepers: Vec::new() }
    }
}

/// The blocked lists with several CPUs online (`Waiters::blocked`'s), each under
/// its own lock: a block or a wake takes only its channel's, so that two pipes in
/// different lists never share a lock. Code that looks for a thread on every list
/// (a signal, a deadline, /proc) takes them one at a time, never two at once.
static BLOCKED: [OrderedMutex<Vec<Blocked>>; BUCKETS] =
    [const { OrderedMutex::new(class::BLOCKED_LIST, Vec::new()) }; BUCKETS];

/// Bit `i` set when `BLOCKED[i]` is not empty (`Waiters::waiting`'s), changed
/// under that list's lock and read without it: a wake of a channel nobody waits
/// on, and the pollers' list on every pipe wake, then take no lock. A waiter sets
/// its bit before it checks its wake count, signals and deadline, and a waker,
/// sender or the timer reads the bits only after its own news is out (`WAKES`,
/// `interrupt`, `SLEEPERS`): either the waiter sees the news, or its bit is seen
/// and its list looked at.
static WAITING: AtomicU64 = AtomicU64::new(0);

/// Deadlines (monotonic ns) of processes waiting with a timeout, with several
/// CPUs online (`Waiters::sleepers`'s). A blocked thread's is added under its
/// list's lock, once it is on the list: the timer that finds it due finds the
/// thread on its list.
static SLEEPERS: OrderedMutex<Vec<(u64, Pid)>> = OrderedMutex::new(class::SLEEPERS, Vec::new());

/// Runs `f` on the sleepers, wherever they are kept (with one CPU online, under
/// the run queue's lock; see `Waiters`).
fn with_sleepers<R>(f: impl FnOnce(&mut Vec<(u64, Pid)>) -> R) -> R {
    if single_cpu() {
        f(&mut QUEUES[0].lock().waiters.sleepers)
    } else {
        f(&mut SLEEPERS.lock())
    }
}

/// Wakes of each blocked list so far, read by `prepare`: a wait compares the two
/// counts before it sleeps (see the module's doc). Counted only with several CPUs
/// online: with one, nothing runs between a waiter's check and its block
/// (interrupts are off in the kernel), and the count it compares never moves.
static WAKES: [AtomicU32; BUCKETS] = [const { AtomicU32::new(0) }; BUCKETS];

/// One CPU's run queue: its own instance of the policy. With one CPU online, CPU
/// 0's also keeps the blocked lists and sleepers (`Waiters`): a block and a
/// wake then take one lock, as they need the queue anyway.
struct RunQueue {
    policy: Option<Box<dyn Scheduler>>,
    waiters: Waiters,
}

impl RunQueue {
    fn policy(&mut self) -> &mut dyn Scheduler {
        self.policy.as_deref_mut().expect("sched::init ran at boot")
    }
}

static QUEUES: [OrderedMutex<RunQueue>; MAX_CPUS] =
    [const { OrderedMutex::new(class::RUN_QUEUE, RunQueue { policy: None, waiters: Waiters::new() }) }; MAX_CPUS];

/// How many tasks wait in each CPU's queue, as the balancer reads it without the
/// queue's lock (written under it, by `note_load`).
static QUEUED: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];

/// Set once every CPU has its queue (`init`): the application processors wait for
/// it before they run the scheduler.
static STARTED: AtomicBool = AtomicBool::new(false);

/// The pid of the process running on each CPU (`IDLING` while the CPU idles). A pid,
/// not a reference: the process table keeps a running process alive (it is reaped
/// only once its thread has switched away for good), and a switch then only stores a
/// number.
static CURRENT: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(IDLING) }; MAX_CPUS];
/// CURRENT's value on an idle CPU (no process has pid 0).
const IDLING: Pid = 0;
/// Each CPU's idle context: its boot stack, where `run` loops.
static IDLE: [KernelContext; MAX_CPUS] = [const { KernelContext::empty() }; MAX_CPUS];
/// The task a CPU's `switch_away` picked, but found still switching away on
/// another CPU: its idle loop runs it next, once saved (`IDLING`: none). Written
/// and read only by its CPU.
static HANDED_TO_IDLE: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(IDLING) }; MAX_CPUS];

/// This CPU's number, an index into the per-CPU arrays. Numbers are below
/// `MAX_CPUS` (a power of two) by construction: the mask says so to the compiler,
/// which then drops the arrays' bounds checks from the switch path.
#[inline(always)]
pub fn cpu_index() -> usize {
    const _: () = assert!(MAX_CPUS.is_power_of_two());
    PerCpu::this().id() & (MAX_CPUS - 1)
}

/// Set by `init` when more than one CPU is online (they all are by then).
static SEVERAL_CPUS: AtomicBool = AtomicBool::new(false);

/// Set by `init` when the policy lends a blocked thread's share to the thread it
/// waits for (`Scheduler::lends_shares`): without it, a wait does not look that
/// thread up (`waiting_for`).
static LENDS_SHARES: AtomicBool = AtomicBool::new(false);

/// The online CPUs' mask, set by `init` (every CPU is online by then): each wake's
/// `placement` reads it rather than building it from the count.
static ONLINE_CPUS: AtomicU32 = AtomicU32::new(1);

/// Whether only one CPU is online: placement and balancing then have nothing to
/// decide, and the paths every switch takes skip them (one test of a byte).
#[inline(always)]
fn single_cpu() -> bool {
    !SEVERAL_CPUS.load(Ordering::Relaxed)
}

/// Installs the scheduling policy, an instance of it per online CPU (`policy`
/// makes one). Called once at boot, after the other CPUs came online.
pub fn init(policy: impl Fn() -> Box<dyn Scheduler>) {
    for queue in QUEUES.iter().take(smp::online_count().max(1)) {
        let policy = policy();
        LENDS_SHARES.store(policy.lends_shares(), Ordering::Relaxed);
        queue.lock().policy = Some(policy);
    }
    ONLINE_CPUS.store(balance::all_cpus(smp::online_count().max(1)), Ordering::Relaxed);
    SEVERAL_CPUS.store(smp::online_count() > 1, Ordering::Relaxed);
    STARTED.store(true, Ordering::Release);
}

/// The process whose kernel thread is running on this CPU.
pub fn current() -> Arc<Process> {
    current_pid().and_then(process::find).expect("called from a process's kernel thread")
}

/// Runs `f` with the process whose kernel thread is running on this CPU: like
/// `current`, but borrowed from the kernel stack instead of looked up and counted,
/// for the blocking and switching paths (lent as its `Arc`, uncounted, which a
/// blocked list's entry clones).
fn with_current<R>(f: impl FnOnce(&Arc<Process>) -> R) -> R {
    kstack::with_running_owner(f).expect("called from a process's kernel thread")
}

/// The pid of the process running on this CPU, None while it idles (an interrupt
/// handler may run then).
pub fn current_pid() -> Option<Pid> {
    Some(CURRENT[cpu_index()].load(Ordering::Relaxed)).filter(|&pid| pid != IDLING)
}

/// The CPU `pid` last ran on (/proc/PID/stat's processor), 0 if it is gone.
pub fn cpu_of(thread: &Process) -> usize {
    usize::from(thread.last_cpu.load(Ordering::Relaxed))
}

/// Publishes the length of `cpu`'s queue for the balancer (only it reads it: on
/// one CPU, nothing to do).
#[inline(always)]
fn note_load(cpu: usize, policy: &dyn Scheduler) {
    if !single_cpu() {
        publish_load(cpu, policy);
    }
}

/// `note_load` where several CPUs are known to be online.
#[inline(always)]
fn publish_load(cpu: usize, policy: &dyn Scheduler) {
    QUEUED[cpu].store(policy.queued() as u32, Ordering::Relaxed);
}

/// The online CPUs' loads, as the balancer sees them (without locks).
fn loads() -> ([CpuLoad; MAX_CPUS], usize) {
    let online = smp::online_count().clamp(1, MAX_CPUS);
    let mut loads = [CpuLoad::default(); MAX_CPUS];
    for (cpu, load) in loads.iter_mut().enumerate().take(online) {
        *load = CpuLoad {
            busy: CURRENT[cpu].load(Ordering::Relaxed) != IDLING,
            queued: QUEUED[cpu].load(Ordering::Relaxed),
        };
    }
    (loads, online)
}

/// Puts the new thread `thread` in a run queue: the creator's CPU if it is idle,
/// else an idle CPU, else the least loaded (its affinity, inherited, allowing).
pub fn start(thread: &Process) {
    let here = Home { cpu: cpu_index() as u8, ..Home::of(thread) };
    let cpu = if single_cpu() { 0 } else { placement(usize::from(here.cpu), here.allowed) };
    thread.last_cpu.store(cpu as u8, Ordering::Relaxed);
    {
        let mut queue = QUEUES[cpu].lock();
        here.introduce(thread.tid(), queue.policy());
        queue.policy().enqueue(thread.tid(), Arrival::New);
        note_load(cpu, queue.policy());
        // The level a task starts at, for the trace's level band (later changes come
        // from `tick_traced`).
        if trace::enabled() {
            if let Some(place) = queue.policy().level(thread.tid()) {
                trace::record(thread.tid(), || What::Level { level: place.level });
            }
        }
    }
    kick(cpu);
}

/// Where a task that last ran on `home` and may run on `allowed` goes when it
/// becomes runnable, with several CPUs online.
#[inline(always)]
fn placement(home: usize, allowed: CpuMask) -> usize {
    if let Some(cpu) = balance::only_cpu(allowed, ONLINE_CPUS.load(Ordering::Relaxed)) {
        return cpu;
    }
    place_by_load(home, allowed)
}

/// `placement` among several allowed CPUs, by their loads. Out of line: the
/// copy of every CPU's load would otherwise burden a pinned task's wake with
/// its stack frame.
#[inline(never)]
fn place_by_load(home: usize, allowed: CpuMask) -> usize {
    let (loads, online) = loads();
    balance::place(home, allowed, &loads[..online])
}

/// Makes `pid`, whose home `home` says, runnable: into the queue `placement`
/// chooses. On one CPU that is the one queue (every wake comes here: a few
/// instructions, and no look-up of the home).
#[inline(always)]
fn make_ready(pid: Pid, home: impl FnOnce() -> Home, arrival: Arrival) {
    if single_cpu() {
        QUEUES[0].lock().policy().enqueue(pid, arrival);
    } else {
        place_and_queue(pid, home(), arrival);
    }
}

/// `make_ready` with CPUs to choose from.
#[inline(never)]
fn place_and_queue(pid: Pid, home: Home, arrival: Arrival) {
    let from = usize::from(home.cpu);
    let cpu = placement(from, home.allowed);
    queue_placed(pid, cpu, (cpu != from).then_some((from, home)), arrival);
}

/// Queues `pid` on `cpu`, which `placement` chose. A task that `moved` from
/// another CPU's policy (the CPU and the task's home) leaves it, and `cpu`'s
/// learns it (`Home::introduce`).
#[inline(always)]
fn queue_placed(pid: Pid, cpu: usize, moved: Option<(usize, Home)>, arrival: Arrival) {
    if let Some((from, _)) = moved {
        QUEUES[from].lock().policy().remove(pid);
        MIGRATIONS[cpu].fetch_add(1, Ordering::Relaxed);
    }
    {
        let mut queue = QUEUES[cpu].lock();
        let policy = queue.policy();
        if let Some((_, home)) = moved {
            home.introduce(pid, policy);
        }
        policy.enqueue(pid, arrival);
        publish_load(cpu, policy);
    }
    kick_other(cpu);
}

/// A task was queued on `cpu`: if that is another CPU and it idles, it is told at
/// once (the reschedule IPI) rather than at its next tick.
#[inline(always)]
fn kick(cpu: usize) {
    if !single_cpu() {
        kick_other(cpu);
    }
}

/// `kick` where several CPUs are known to be online.
#[inline(always)]
fn kick_other(cpu: usize) {
    if cpu != cpu_index() && CURRENT[cpu].load(Ordering::Relaxed) == IDLING {
        crate::smp::request_reschedule(cpu);
    }
}

/// Tells the policy of `thread`'s CPU its effective nice value (setpriority,
/// sched_setattr); what it does with it is the policy's business. A thread that
/// moves carries it (`Home::introduce`), and its process's other threads carry a
/// first thread's as their pool's (`ThreadGroup::pool_nice`).
pub fn set_nice(thread: &Process, nice: i8) {
    if thread.tid() == thread.group.tgid {
        thread.group.pool_nice.store(nice, Ordering::Relaxed);
    }
    QUEUES[cpu_of(thread)].lock().policy().set_nice(thread.tid(), nice);
}

/// The current thread is about to block until `peer` acts (the child its wait4
/// waits for, the owner of the futex it waits on): the policy may lend `peer` the
/// waiter's share until the waiter runs again (lottery's ticket transfer). Only a
/// policy that knows both can: with `peer` in another CPU's queue, no loan.
pub fn waiting_for(peer: &Process) {
    let cpu = cpu_index();
    if let Some(me) = current_pid().filter(|_| cpu_of(peer) == cpu) {
        QUEUES[cpu].lock().policy().waits_for(me, peer.tid());
    }
}

/// Whether `waiting_for` may lend anything: its callers, which must look the peer
/// up first, skip the lookup when not.
#[inline(always)]
pub fn lends_shares() -> bool {
    LENDS_SHARES.load(Ordering::Relaxed)
}

/// Tells the policy of `thread`'s CPU the slice sched_setattr gave it
/// (sched_runtime): its request size, in ticks rounded up. A thread that moves
/// carries it (`Home::introduce`).
pub fn set_request(thread: &Process, slice_ns: u64) {
    QUEUES[cpu_of(thread)].lock().policy().set_request(thread.tid(), request_ticks(slice_ns).get());
}

/// Points this CPU at `next`: kernel stack for traps (whose header says where its
/// thread resumes and who serves its system calls), address space, segment
/// registers (saving those of `previous`, the process switching away, if any); and
/// starts `next`'s clock at time stamp `now` (the switch's one clock read: the
/// process switching away was charged up to it). Inlined: it is on every switch.
///
/// `next` must be saved already (no CPU runs it): the CPU that switched it away
/// recorded its segment selectors and saved its FPU state during that switch, and
/// they are read here.
#[inline(always)]
fn load_process(next: &Process, now: u64, previous: Option<&Process>, cpu: usize) {
    debug_assert!(!next.context.is_running(), "loading a thread another CPU still runs");
    next.resume_accounting(now);
    next.last_cpu.store(cpu as u8, Ordering::Relaxed);
    let (frame_end, fpu_area) = next.kernel_stack_layout();
    PerCpu::this().set_user_context(frame_end, fpu_area);
    // Threads of one process share its address space, which is already this CPU's
    // while one of them runs (exec activates its new one at once; only the last
    // thread's exit takes it away): a switch between them needs neither its lock nor
    // a CR3 write.
    let same_space = previous.is_some_and(|previous| Arc::ptr_eq(&previous.group, &next.group));
    if !same_space {
        if let Some(memory) = next.group.memory.lock().as_ref() {
            memory.activate();
        }
    }
    match previous {
        Some(previous) => previous.segments.switch_to(&next.segments),
        None => next.segments.load(),
    }
}

/// Why the running process gives the CPU away. An explicit tag (rather than one
/// packed into the channel's) is a constant where `switch_away` is inlined, so its
/// matches fold away there.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Leaving {
    /// It stays runnable: back into the policy's queue.
    Requeued(Arrival),
    /// It waits on the channel (as its list keeps it) until woken (see `Wait`),
    /// already on its list.
    Blocked(WaitKey),
    /// It waits on a futex, whose queue holds its record (see `park`).
    Parked,
    /// It is queued on another CPU already (`leave_disallowed_cpu`).
    Moved,
}

/// Gives the CPU away from `me`, which is re-queued or already waits as `leaving`
/// says, and returns when `me` is scheduled again. Re-queueing `me` and picking the
/// next process share one hold of this CPU's queue lock.
///
/// Inlined into its three callers, each of which passes one kind of `leaving`: the
/// matches on it then fold away.
///
/// Invariant: `me` is this CPU's current process, and the caller holds no lock.
/// `held` is this CPU's queue when the caller holds it already (a block on one
/// CPU: the blocked lists are under it).
#[inline(always)]
fn switch_away(me: &Process, leaving: Leaving, held: Option<OrderedMutexGuard<'static, RunQueue>>) {
    let cpu = cpu_index();
    // As xv6's sched(): the one switching away is the one running here.
    debug_assert_eq!(CURRENT[cpu].load(Ordering::Relaxed), me.tid(), "switch_away by another");
    let reason = match leaving {
        Leaving::Requeued(Arrival::Preempted) => SwitchReason::Preempted,
        Leaving::Requeued(_) | Leaving::Moved => SwitchReason::Yielded,
        Leaving::Blocked(_) | Leaving::Parked => SwitchReason::Blocked,
    };
    let next = {
        let mut queue = held.unwrap_or_else(|| QUEUES[cpu].lock());
        // One look-up of the policy for the whole hold (each `policy()` is a test).
        let policy = queue.policy();
        let next = match leaving {
            Leaving::Requeued(arrival) => policy.requeue_and_pick(me.tid(), arrival),
            Leaving::Blocked(_) | Leaving::Parked | Leaving::Moved => policy.pick_next(),
        };
        note_load(cpu, policy);
        // The switch's events, in order, under one test of the trace switch.
        if trace::enabled() {
            let blocked = match leaving {
                Leaving::Blocked(key) => Some(key),
                Leaving::Parked => Some((WaitKind::Futex, u64::from(me.tid()))),
                Leaving::Requeued(_) | Leaving::Moved => None,
            };
            if let Some((wait, detail)) = blocked {
                trace::record(me.tid(), || What::Block { wait, detail });
            }
            trace::record(me.tid(), || What::Schedule { chosen: next.unwrap_or(0), queued: policy.queued() as u64 });
            if next != Some(me.tid()) {
                trace::record(me.tid(), || What::Switch { to: next.unwrap_or(0), reason });
            }
        }
        next
    };
    // Woken already (another CPU's wake queued it here), or the policy keeps it.
    if next == Some(me.tid()) {
        return;
    }
    let counter = match reason {
        SwitchReason::Preempted => {
            PREEMPTIONS.fetch_add(1, Ordering::Relaxed);
            &me.stats.counts.involuntary_switches
        }
        _ => &me.stats.counts.voluntary_switches,
    };
    Stats::add(counter, 1);
    SWITCHES[cpu].fetch_add(1, Ordering::Relaxed);
    let now = me.charge(Mode::Kernel);
    // A task made runnable while it was still switching away on another CPU may be
    // unsaved yet, and that CPU's pick may be `me`, unsaved too until the switch
    // below: waiting here for `next` would have the two CPUs wait for each other
    // for ever, interrupts off (each had queued its leaving task on the other).
    // `me` is saved through the idle context instead, which no CPU ever waits for,
    // and which waits there for `next` (`HANDED_TO_IDLE`).
    let next = match next.and_then(process::find) {
        Some(next) if next.context.is_running() => {
            HANDED_TO_IDLE[cpu].store(next.tid(), Ordering::Relaxed);
            None
        }
        next => next,
    };
    CURRENT[cpu].store(next.as_ref().map_or(IDLING, |next| next.tid()), Ordering::Relaxed);
    match next {
        Some(next) => {
            // The blocking copies of this function fold the test away; the yield
            // path pays one comparison (measured: 3 instructions a switch).
            if matches!(leaving, Leaving::Requeued(Arrival::Preempted)) && trace::enabled() {
                crate::explain::switching(me, &next);
            }
            load_process(&next, now, Some(me), cpu);
            switch::switch(&me.context, &next.context);
        }
        None => {
            // Its registers leave this CPU now: it may resume on another. So may
            // its address space, which it may then free (exec, exit) while this
            // CPU idles: the idle CPU runs on the kernel's own tree.
            me.segments.save_running();
            fpu::save_live();
            crate::mm::activate_kernel_tree();
            switch::switch(&me.context, &IDLE[cpu])
        }
    }
}

/// `me`, the current thread, gives up the CPU but stays runnable (sched_yield).
/// Its callers have it at hand: no lookup of the current thread (`with_current`)
/// on every sched_yield. Always a yield (a preemption switches away itself): the
/// constant folds the switch's tests of why it leaves.
pub fn yield_cpu(me: &Process) {
    switch_away(me, Leaving::Requeued(Arrival::Yielded), None);
}

/// A wait about to begin on a channel: made by `prepare` before the caller checks
/// whether it must wait at all, it then blocks only if no wake of the channel came
/// since (a wake on another CPU between the check and the block would otherwise
/// be lost). A wake of another channel of the same list also ends it early: the
/// callers re-check in a loop.
#[must_use = "a prepared wait blocks only through one of its methods"]
pub struct Wait {
    /// The channel as its list keeps it, made where the channel's kind is a
    /// constant (`prepare` is inlined): the block then does not decode the channel.
    key: WaitKey,
    bucket: usize,
    wakes: u32,
}

/// Begins a wait on `channel`; call before checking the condition it waits for.
#[inline(always)]
pub fn prepare(channel: WaitChannel) -> Wait {
    let key = channel.traced();
    let bucket = bucket_of(key);
    Wait { key, bucket, wakes: WAKES[bucket].load(Ordering::Acquire) }
}

/// How a wait treats signals and interrupts before it sleeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Signals {
    /// A deliverable signal or an exit in progress ends it (`Wait::block`).
    Honoured,
    /// Only `interrupt` ends it (`Wait::block_ignoring_signals`).
    Ignored,
}

impl Wait {
    /// Blocks the current process until `wake_all(channel)`, or until a signal
    /// arrives (Err(Interrupted): the system call then fails with EINTR or
    /// restarts). Returns at once if the channel was woken since `prepare`. Out of
    /// line, as the switch it holds has a large frame its callers need not carry.
    #[inline(never)]
    pub fn block(self) -> Result<(), Interrupted> {
        with_current(|me| if self.wait(me, Signals::Honoured, None) { Err(Interrupted) } else { Ok(()) })
    }

    /// Blocks the current process until `wake_all(channel)` or `interrupt`,
    /// whatever signals are pending: how a stopped process waits, which only
    /// SIGCONT and SIGKILL resume (its caller checks why it woke).
    #[inline(never)]
    pub fn block_ignoring_signals(self) {
        with_current(|me| self.wait(me, Signals::Ignored, None));
    }

    /// Blocks like `block`, but wakes by monotonic time `deadline_ns` at the
    /// latest (at once if it has passed). Ok does not say which of the two woke it.
    #[inline(never)]
    pub fn block_until(self, deadline_ns: u64) -> Result<(), Interrupted> {
        with_current(|me| {
            let interrupted = self.wait(me, Signals::Honoured, Some(deadline_ns));
            with_sleepers(|sleepers| sleepers.retain(|&(_, sleeper)| sleeper != me.tid()));
            if interrupted {
                Err(Interrupted)
            } else {
                Ok(())
            }
        })
    }

    /// Puts `me` on the channel's list unless a wake, a signal (as `signals`
    /// says) or the deadline came already, and gives the CPU away until woken;
    /// true if a signal or `interrupt` ended the wait. Inlined into `block`, which
    /// every blocking pipe transfer goes through.
    #[inline(always)]
    fn wait(self, me: &Arc<Process>, signals: Signals, deadline_ns: Option<u64>) -> bool {
        let key = self.key;
        // One CPU: the lists are under the one queue's lock, which the switch
        // then goes on holding (one lock for the block, as for its wake).
        let held = if single_cpu() {
            let mut queue = QUEUES[0].lock();
            if let Some(ended) = self.enlist_on_only_cpu(&mut queue.waiters, me, signals, deadline_ns) {
                return ended;
            }
            Some(queue)
        } else {
            if let Some(ended) = self.enlist_shared(me, signals, deadline_ns) {
                return ended;
            }
            None
        };
        switch_away(me, Leaving::Blocked(key), held);
        me.interrupted.swap(false, Ordering::Relaxed)
    }

    /// Puts `me` on the channel's list in `waiters` (the one CPU's, locked), unless
    /// a signal (as `signals` says) or the deadline came already: then Some(whether
    /// a signal or `interrupt` ended the wait).
    #[inline(always)]
    fn enlist_on_only_cpu(
        self,
        waiters: &mut Waiters,
        me: &Process,
        signals: Signals,
        deadline_ns: Option<u64>,
    ) -> Option<bool> {
        let Wait { key, bucket, .. } = self;
        if interrupted_before_sleep(me, signals) {
            return Some(true);
        }
        if let Some(deadline) = deadline_ns {
            if time::monotonic_ns() >= deadline {
                return Some(false);
            }
            waiters.sleepers.push((deadline, me.tid()));
        }
        waiters.blocked[bucket].push(Blocked { pid: me.tid(), waits_for: key, home: () });
        waiters.waiting |= 1 << bucket;
        None
    }

    /// `enlist_on_only_cpu` with several CPUs online, under the channel's list's
    /// lock (`BLOCKED`): `me` goes on the list and its bit in `WAITING` is set
    /// first, and only then are the wake count, signals and deadline checked (see
    /// `WAITING`); if one of them ends the wait, `me` leaves the list again.
    #[inline(always)]
    fn enlist_shared(self, me: &Arc<Process>, signals: Signals, deadline_ns: Option<u64>) -> Option<bool> {
        let Wait { key, bucket, wakes } = self;
        // `me` is the current thread as its kernel stack lends it: its entry's
        // home is a clone, not a second look-up (`wake_home`).
        let home = Some(Arc::clone(me));
        let mut list = BLOCKED[bucket].lock();
        list.push(Blocked { pid: me.tid(), waits_for: key, home });
        // No fence after it: this read-modify-write and the read of the count are
        // SeqCst, as are the waker's count and its read of `WAITING`
        // (`count_wake`), so one of the two sees the other's write.
        WAITING.fetch_or(1 << bucket, Ordering::SeqCst);
        let ended = if WAKES[bucket].load(Ordering::SeqCst) != wakes {
            Some(false)
        } else if interrupted_before_sleep(me, signals) {
            Some(true)
        } else if deadline_ns.is_some_and(|deadline| time::monotonic_ns() >= deadline) {
            Some(false)
        } else {
            None
        };
        match (ended, deadline_ns) {
            (Some(_), _) => {
                // Its own entry is the last: the lock was held since the push.
                list.pop();
                if list.is_empty() {
                    WAITING.fetch_and(!(1 << bucket), Ordering::SeqCst);
                }
            }
            (None, Some(deadline)) => SLEEPERS.lock().push((deadline, me.tid())),
            (None, None) => {}
        }
        ended
    }
}

/// Whether a signal (as `signals` says) ends a wait of `me` before it sleeps;
/// checked where the wait cannot miss an `interrupt` (see its callers).
#[inline(always)]
fn interrupted_before_sleep(me: &Process, signals: Signals) -> bool {
    match signals {
        // A sender posts the signal before its `interrupt` looks for this thread:
        // either it is visible here or this thread is found on its list.
        Signals::Honoured => {
            if me.signals.needs_attention() {
                return true;
            }
            me.interrupt_pending.store(false, Ordering::Relaxed);
            false
        }
        Signals::Ignored => me.interrupt_pending.swap(false, Ordering::Relaxed),
    }
}

/// Blocks the current process until monotonic time `deadline_ns`.
pub fn sleep_until(deadline_ns: u64) -> Result<(), Interrupted> {
    if time::monotonic_ns() >= deadline_ns {
        return Ok(());
    }
    prepare(WaitChannel::Sleep(current().tid())).block_until(deadline_ns)
}

/// Gives the CPU away from `me`, the current thread, which its caller has queued
/// on a futex (`futex::wait`, under the bucket's lock, after checking for
/// signals): the scheduler keeps no record of it, and it runs again once whoever
/// takes it off that queue calls `unpark`. True if a signal did (`interrupt`).
///
/// Takes the thread from its caller (the futex handler has it at hand) rather than
/// looking it up (`with_current`): every lock hand-off's wait comes here.
#[inline]
pub fn park(me: &Process) -> bool {
    switch_away(me, Leaving::Parked, None);
    me.interrupted.swap(false, Ordering::Relaxed)
}

/// `park`, with monotonic time `deadline_ns` as the latest wake (`wake_one`).
pub fn park_until(me: &Process, deadline_ns: u64) -> bool {
    with_sleepers(|sleepers| sleepers.push((deadline_ns, me.tid())));
    let interrupted = park(me);
    with_sleepers(|sleepers| sleepers.retain(|&(_, sleeper)| sleeper != me.tid()));
    interrupted
}

/// Makes `thread`, parked, runnable again: the caller took it off its futex queue,
/// because of a signal if `interrupted` (which `park` then returns).
pub fn unpark(thread: &Process, interrupted: bool) {
    if interrupted {
        thread.interrupted.store(true, Ordering::Relaxed);
    }
    trace::record(thread.tid(), || What::Wake { wait: WaitKind::Futex, interrupted });
    make_ready(thread.tid(), || Home::of(thread), Arrival::Woken);
}

/// What a futex waiter leaves in its queue entry for its waker (`unpark_woken`):
/// nothing with one CPU, whose queue is every thread's home; with several, the
/// thread itself, whose home the waker reads at the wake (so that a nice value or
/// affinity changed while it waited counts) without looking it up in the process
/// table, a lock every CPU's wakes would share.
pub type WakeHome = Option<Arc<Process>>;

/// `me`'s `WakeHome`, for the futex wait of `me`, the current thread.
#[inline(always)]
pub fn wake_home(me: &Process) -> WakeHome {
    if single_cpu() {
        return None;
    }
    kstack::running_owner::<Process>().filter(|owner| core::ptr::eq(Arc::as_ptr(owner), me))
}

/// `unpark` for a futex waker, which knows the thread it woke by tid and the
/// `WakeHome` it left. Inlined into the futex wake, every hand-off's, with one CPU
/// (a lock and the policy's enqueue); the placement among several is a call, as
/// the whole of this was when it held both (34 instructions a wake on one CPU).
#[inline(always)]
pub fn unpark_woken(tid: Pid, home: WakeHome) {
    trace::record(tid, || What::Wake { wait: WaitKind::Futex, interrupted: false });
    match home {
        Some(thread) => place_futex_woken(thread),
        None => make_ready(tid, || Home::of_tid(tid), Arrival::Woken),
    }
}

/// `unpark_woken` with several CPUs, out of line (see there).
#[inline(never)]
fn place_futex_woken(thread: Arc<Process>) {
    place_woken(thread);
}

/// Makes `tid`, which left `home` where it waited, runnable.
#[inline(always)]
fn ready_woken(tid: Pid, home: WakeHome) {
    // Matched rather than dropped: the wake with one CPU (None) carries no drop.
    match home {
        Some(thread) => place_woken(thread),
        None => make_ready(tid, || Home::of_tid(tid), Arrival::Woken),
    }
}

/// `ready_woken` of a thread its entry carried, with several CPUs: placed by its
/// CPU and affinity as they are now; the rest of its home (its nice value, slice,
/// process) is read only if it moves to another CPU, whose policy must learn it.
/// Inlined into the wakes (every pipe transfer's and futex hand-off's): a call
/// would cost more than the rest of its work for a task pinned to one CPU.
#[inline(always)]
fn place_woken(thread: Arc<Process>) {
    let (tid, from) = (thread.tid(), cpu_of(&thread));
    let cpu = placement(from, thread.affinity.load(Ordering::Relaxed));
    if cpu != from {
        return move_woken(thread, from, cpu);
    }
    // Dropped before the thread is queued: until then it cannot exit, so this is
    // never the last reference (whose drop would free the thread's kernel stack
    // under the list's lock).
    drop(thread);
    queue_placed(tid, cpu, None, Arrival::Woken);
}

/// `place_woken` of a thread that moves from CPU `from` to `cpu`. Out of line:
/// the reading of its whole home would otherwise weigh on every wake.
#[inline(never)]
fn move_woken(thread: Arc<Process>, from: usize, cpu: usize) {
    let (tid, home) = (thread.tid(), Home::of(&thread));
    drop(thread);
    queue_placed(tid, cpu, Some((from, home)), Arrival::Woken);
}

/// Makes every process blocked on `channel` runnable again (and the pollers, for
/// a channel that can make a file ready), in the order they blocked.
///
/// Every pipe transfer calls this, mostly for a channel nobody waits on: inlined,
/// the test of `waiting` that ends those calls folds the channel's bit into a
/// constant at each call site.
#[inline(always)]
pub fn wake_all(channel: WaitChannel) {
    let pollers_too = channel.wakes_pollers();
    let key = channel.traced();
    let wanted = summary_bit(key) | if pollers_too { summary_bit(WaitChannel::Poll.traced()) } else { 0 };
    if single_cpu() {
        let mut queue = QUEUES[0].lock();
        let RunQueue { policy, waiters } = &mut *queue;
        let policy = policy.as_deref_mut().expect("sched::init ran at boot");
        // No wake count: with one CPU nothing runs between a waiter's check and its
        // block, so no wake can come in between (`WAKES`).
        if waiters.waiting & wanted != 0 {
            wake_waiters(waiters, &mut IntoOnlyQueue(policy), key, pollers_too);
        }
    } else {
        wake_all_shared(key, pollers_too);
    }
}

/// `wake_all` with several CPUs online: each woken task goes where `placement`
/// says. Out of line, so that the one-CPU path inlined at every call is short.
#[inline(never)]
fn wake_all_shared(key: WaitKey, pollers_too: bool) {
    let index = bucket_of(key);
    if count_wake(index) {
        wake_waiting_shared(index, key);
    }
    let pollers = WaitChannel::Poll.traced();
    if pollers_too && count_wake(bucket_of(pollers)) {
        wake_pollers_shared(pollers);
    }
}

/// Counts a wake of list `index` (`WAKES`); true if anyone may wait there. The
/// count goes before the look at `WAITING`: a waiter sets its bit before it reads
/// the count (`Wait::enlist_shared`), so either it sees this wake or this sees it
/// waiting.
#[inline(always)]
fn count_wake(index: usize) -> bool {
    WAKES[index].fetch_add(1, Ordering::SeqCst);
    WAITING.load(Ordering::SeqCst) & (1 << index) != 0
}

/// Wakes those who wait for `channel` on list `index`, its list, under that
/// list's lock only.
#[inline(always)]
fn wake_waiting_shared(index: usize, channel: WaitKey) {
    let mut list = BLOCKED[index].lock();
    wake_list(&mut list, &mut Placed, channel, || {
        WAITING.fetch_and(!(1 << index), Ordering::SeqCst);
    });
}

/// `wake_waiting_shared` of the pollers' list, which someone seldom waits on:
/// out of line, so that the channel's own wake, in line, has the one call of
/// `ready_woken` and inlines it.
#[inline(never)]
fn wake_pollers_shared(pollers: WaitKey) {
    wake_waiting_shared(bucket_of(pollers), pollers);
}

/// What a wake does with each task it takes off a blocked list: queues it. A
/// trait whose method is always inlined, rather than a closure or a function
/// passed as one, whose call LLVM kept out of line (a frame and five saved
/// registers on every wake).
trait Ready<H> {
    fn ready(&mut self, pid: Pid, home: H);
}

/// One CPU: into its queue's policy, which the waker holds.
struct IntoOnlyQueue<'policy>(&'policy mut dyn Scheduler);

impl Ready<()> for IntoOnlyQueue<'_> {
    #[inline(always)]
    fn ready(&mut self, pid: Pid, _: ()) {
        self.0.enqueue(pid, Arrival::Woken);
    }
}

/// Several CPUs: where `placement` says, as the entry's home reads now.
struct Placed;

impl Ready<WakeHome> for Placed {
    #[inline(always)]
    fn ready(&mut self, pid: Pid, home: WakeHome) {
        ready_woken(pid, home);
    }
}

/// `wake_all`'s work with one CPU online, for when the summary says someone may
/// wait on `channel`: wakes those who do, in the order they blocked, then the
/// pollers if `pollers_too`.
fn wake_waiters(waiters: &mut Waiters, ready: &mut impl Ready<()>, channel: WaitKey, pollers_too: bool) {
    if waiters.waiting & summary_bit(channel) != 0 {
        wake_bucket(waiters, ready, channel);
    }
    let pollers = WaitChannel::Poll.traced();
    if pollers_too && waiters.waiting & summary_bit(pollers) != 0 {
        wake_bucket(waiters, ready, pollers);
    }
}

/// Wakes the entries of `channel`'s list in `waiters` that wait for it, in the
/// order they blocked, and clears the list's bit if none is left.
#[inline(always)]
fn wake_bucket(waiters: &mut Waiters, ready: &mut impl Ready<()>, channel: WaitKey) {
    let index = bucket_of(channel);
    let Waiters { blocked, waiting, .. } = waiters;
    wake_list(&mut blocked[index], ready, channel, || *waiting &= !(1 << index));
}

/// Wakes the entries of `list` that wait for `channel`, in the order they
/// blocked; calls `emptied` if none is left (before the wake: its mark is cleared
/// while the list's lock is held, and on one CPU the compiler keeps the mark in a
/// register across no call).
#[inline(always)]
fn wake_list<H: Default>(
    list: &mut Vec<Blocked<H>>,
    ready: &mut impl Ready<H>,
    channel: WaitKey,
    emptied: impl FnOnce(),
) {
    // Every transfer of a pipe ping-pong lands here to wake one process, its
    // partner, which blocked last: that case ends in the wake, with no loop state
    // to keep across it. (A look at the last entry is all it costs the others.)
    let lone_newest = list.split_last().is_some_and(|(last, others)| {
        last.waits_for == channel && others.iter().all(|other| other.waits_for != channel)
    });
    if let Some(last) = list.pop_if(|_| lone_newest) {
        if list.is_empty() {
            emptied();
        }
        return wake(last, ready);
    }
    wake_in_order(list, ready, channel);
    if list.is_empty() {
        emptied();
    }
}

/// `wake_list`'s general case: wakes the entries of `bucket` that wait for
/// `channel` and moves the others up in place, in order (one pass, never a shift
/// per woken entry). Out of line: its loop's registers would otherwise burden the
/// common case.
#[inline(never)]
fn wake_in_order<H: Default>(bucket: &mut Vec<Blocked<H>>, ready: &mut impl Ready<H>, channel: WaitKey) {
    let Some(first) = bucket.iter().position(|entry| entry.waits_for == channel) else { return };
    // A lone waiter that is not the newest entry: a ring member (lat-ctx) blocked
    // a whole turn ago, the oldest entry of a list it shares with the other
    // channels of its bucket (8 of them in a ring of 512). Taking it out moves the
    // newer entries up in one copy, where the loop below rewrites each.
    if bucket[first + 1..].iter().all(|entry| entry.waits_for != channel) {
        let entry = bucket.remove(first);
        return wake(entry, ready);
    }
    bucket.retain_mut(|entry| {
        let woken = entry.waits_for == channel;
        if woken {
            wake(Blocked { home: core::mem::take(&mut entry.home), ..*entry }, ready);
        }
        !woken
    });
}

/// Makes the task of `entry` runnable again, through `ready` (which queues it).
#[inline(always)]
fn wake<H>(entry: Blocked<H>, ready: &mut impl Ready<H>) {
    trace::record(entry.pid, || What::Wake { wait: entry.waits_for.0, interrupted: false });
    ready.ready(entry.pid, entry.home);
}

/// Takes `pid` off whatever channel it is blocked on in `waiters` (the one CPU's),
/// whose entry it returns; None if it is not blocked.
fn unblock(waiters: &mut Waiters, pid: Pid) -> Option<Blocked<()>> {
    // Only the lists `waiting` marks non-empty: a signal to a thread that is not
    // blocked (kill of oneself, the common case) then costs a test, not a pass over
    // every list.
    let mut lists = waiters.waiting;
    while lists != 0 {
        let bucket = lists.trailing_zeros() as usize;
        lists &= lists - 1;
        if let Some(index) = waiters.blocked[bucket].iter().position(|entry| entry.pid == pid) {
            let entry = waiters.blocked[bucket].remove(index);
            if waiters.blocked[bucket].is_empty() {
                waiters.waiting &= !(1 << bucket);
            }
            return Some(entry);
        }
    }
    None
}

/// `unblock` with several CPUs online: the lists `WAITING` marks, one lock at a
/// time. The caller's news (a signal, a deadline) is out before: a thread that
/// marks its list later sees it (`Wait::enlist_shared`).
fn unblock_shared(pid: Pid) -> Option<Blocked> {
    let mut lists = WAITING.load(Ordering::SeqCst);
    while lists != 0 {
        let bucket = lists.trailing_zeros() as usize;
        lists &= lists - 1;
        let mut list = BLOCKED[bucket].lock();
        if let Some(index) = list.iter().position(|entry| entry.pid == pid) {
            let entry = list.remove(index);
            if list.is_empty() {
                WAITING.fetch_and(!(1 << bucket), Ordering::SeqCst);
            }
            return Some(entry);
        }
    }
    None
}

/// Makes `pid` runnable again if it is blocked, whatever it waits for (its
/// deadline passed).
fn wake_one(pid: Pid) {
    if process::find(pid).is_some_and(|thread| crate::futex::cancel_wait(&thread, false)) {
        return;
    }
    if single_cpu() {
        let mut queue = QUEUES[0].lock();
        let RunQueue { policy, waiters } = &mut *queue;
        if let Some(entry) = unblock(waiters, pid) {
            trace::record(pid, || What::Wake { wait: entry.waits_for.0, interrupted: false });
            policy.as_deref_mut().expect("sched::init ran at boot").enqueue(pid, Arrival::Woken);
        }
    } else if let Some(entry) = unblock_shared(pid) {
        trace::record(pid, || What::Wake { wait: entry.waits_for.0, interrupted: false });
        ready_woken(pid, entry.home);
    }
}

/// A signal arrived for `target` (or it is to exit): if it is blocked, end its
/// wait early; if not, it may be about to block (on another CPU): leave it a note.
pub fn interrupt(target: &Process) {
    // A thread signalling itself (kill of oneself, SIGPIPE) is running here, in
    // no wait: the note alone, as for any thread that is not blocked.
    if current_pid() == Some(target.tid()) {
        target.interrupt_pending.store(true, Ordering::Relaxed);
        return;
    }
    if crate::futex::cancel_wait(target, true) {
        return;
    }
    let pid = target.tid();
    let woken = |waits_for: WaitKey| {
        target.interrupted.store(true, Ordering::Relaxed);
        trace::record(pid, || What::Wake { wait: waits_for.0, interrupted: true });
    };
    if single_cpu() {
        let mut queue = QUEUES[0].lock();
        let RunQueue { policy, waiters } = &mut *queue;
        let Some(entry) = unblock(waiters, pid) else {
            target.interrupt_pending.store(true, Ordering::Relaxed);
            return;
        };
        woken(entry.waits_for);
        policy.as_deref_mut().expect("sched::init ran at boot").enqueue(pid, Arrival::Woken);
    } else {
        // The note goes before the look at the lists, as it cannot go under the
        // lock of a list the target has yet to choose: a thread that marks its list
        // later sees it. One found blocked may keep it: its next wait that ignores
        // signals then ends at once, and its caller, which re-checks why it woke,
        // waits again.
        target.interrupt_pending.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let Some(entry) = unblock_shared(pid) else { return };
        woken(entry.waits_for);
        ready_woken(pid, entry.home);
    }
}

/// Wakes the sleepers whose deadline has passed.
fn wake_sleepers(now: u64) {
    loop {
        let due = with_sleepers(|sleepers| {
            let index = sleepers.iter().position(|&(deadline, _)| deadline <= now)?;
            Some(sleepers.swap_remove(index).1)
        });
        let Some(due) = due else { return };
        wake_one(due);
    }
}

/// Context switches from one task to another, to idle or from idle since boot, by
/// the CPU that made them, and how many of them were preemptions (/proc/timeshare/sched,
/// the `cpu` records at power-off).
static SWITCHES: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static PREEMPTIONS: AtomicU64 = AtomicU64::new(0);
/// Tasks moved to each CPU's queue from another's: pulled by the balancer, or
/// placed there when they became runnable (a wake, an affinity that excludes
/// their CPU).
static MIGRATIONS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// The sum of a per-CPU counter over the CPUs.
fn total(counters: &[AtomicU64]) -> u64 {
    counters.iter().map(|counter| counter.load(Ordering::Relaxed)).sum()
}

/// When each CPU's idle loop began serving its queue, and the time stamp cycles
/// it spent halted since, waiting for work (by the clock: an emulator may deliver
/// fewer ticks than were due, so ticks undercount).
static SERVING_SINCE: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static HALTED_CYCLES: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// At power-off: one `cpu id=N busy_ns=.. idle_ns=.. switches=.. migrations=..`
/// record per online CPU (the time it served its queue, halted or not; the
/// switches it made; the tasks moved to it), for `--stats`.
pub fn report_cpus() {
    let now = cpu::rdtsc();
    for cpu in 0..smp::online_count().max(1) {
        let since = SERVING_SINCE[cpu].load(Ordering::Relaxed);
        let serving = if since == 0 { 0 } else { now.wrapping_sub(since) };
        let halted = HALTED_CYCLES[cpu].load(Ordering::Relaxed).min(serving);
        let (busy_ns, idle_ns) = (time::cycles_to_ns(serving - halted), time::cycles_to_ns(halted));
        let mut record = Record::new("cpu");
        record
            .number("id", cpu as u64)
            .number("busy_ns", busy_ns)
            .number("idle_ns", idle_ns)
            .number("switches", SWITCHES[cpu].load(Ordering::Relaxed))
            .number("migrations", MIGRATIONS[cpu].load(Ordering::Relaxed));
        debugcon::write(Channel::Control, record.line());
    }
}

/// The policy's view of task `thread` (/proc/PID/sched).
pub fn describe(thread: &Process) -> alloc::string::String {
    QUEUES[cpu_of(thread)].lock().policy().describe(thread.tid())
}

/// The policy, its run queues and the switches so far (/proc/timeshare/sched):
/// with several CPUs, each queue under a `cpu: N` line.
pub fn describe_policy() -> alloc::string::String {
    let online = smp::online_count().max(1);
    let mut text = alloc::string::String::new();
    for (cpu, queue) in QUEUES.iter().enumerate().take(online) {
        if online > 1 {
            text.push_str(&alloc::format!("cpu: {cpu}\n"));
        }
        text.push_str(&queue.lock().policy().describe_policy());
    }
    text.push_str(&alloc::format!(
        "switches: {}\npreemptions: {}\n",
        total(&SWITCHES),
        PREEMPTIONS.load(Ordering::Relaxed)
    ));
    if online > 1 {
        text.push_str(&alloc::format!("migrations: {}\n", total(&MIGRATIONS)));
    }
    text
}

/// The load average, sampled by the timer every `LOAD_SAMPLE_NS`. Its own
/// lock, taken with no other held.
static LOAD: Mutex<LoadAverage> = Mutex::new(LoadAverage::new());

/// When the next load sample is due (monotonic ns).
static NEXT_LOAD_SAMPLE: AtomicU64 = AtomicU64::new(LOAD_SAMPLE_NS);

/// Time between two load samples: 5 s and a tick, as Linux's LOAD_FREQ (so that
/// the sample does not fall in step with work done every 5 s). By the clock, not
/// by counting ticks: an emulator may deliver fewer ticks than were due.
const LOAD_SAMPLE_NS: u64 = LOAD_FREQ_NS + TICK_NS;

/// Once a sample is due, folds the number of tasks running or runnable into the
/// load average.
fn sample_load(now: u64) {
    let due = NEXT_LOAD_SAMPLE.load(Ordering::Relaxed);
    if now >= due
        && NEXT_LOAD_SAMPLE.compare_exchange(due, now + LOAD_SAMPLE_NS, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    {
        let active = runnable_count();
        LOAD.lock().sample(active as u64);
    }
}

/// Tasks running on a CPU or waiting in a run queue, now.
pub fn runnable_count() -> usize {
    let online = smp::online_count().max(1);
    let queued: usize = QUEUES.iter().take(online).map(|queue| queue.lock().policy().queued()).sum();
    queued + CURRENT.iter().filter(|current| current.load(Ordering::Relaxed) != IDLING).count()
}

/// The load average as it is now.
pub fn load_average() -> LoadAverage {
    *LOAD.lock()
}

/// Each CPU's ticks while it ran a task, and while it idled (/proc/stat's cpuN
/// lines, sampled as classic Unix did).
static BUSY_TICKS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static IDLE_TICKS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Each online CPU's (busy, 0, idle) time in nanoseconds, from its ticks.
pub fn cpu_ticks() -> Vec<(u64, u64, u64)> {
    let online = smp::online_count().max(1);
    let ns = |ticks: &AtomicU64| ticks.load(Ordering::Relaxed) * TICK_NS;
    (0..online).map(|cpu| (ns(&BUSY_TICKS[cpu]), 0, ns(&IDLE_TICKS[cpu]))).collect()
}

/// The timer ticked while a program ran: wake due sleepers, charge the tick to the
/// running process, and preempt it if the policy says its quantum is used up (or
/// move it if its affinity no longer allows this CPU).
pub fn tick_while_running() {
    let cpu = cpu_index();
    let ticks = take_armed_ticks(cpu);
    charge_skipped_ticks(cpu, ticks - 1);
    on_every_tick(cpu);
    let ticks = BUSY_TICKS[cpu].fetch_add(1, Ordering::Relaxed);
    if !single_cpu() {
        // A CPU that keeps running programs must not keep an emulator from
        // running the others (a woken task on an idle CPU's queue, a task the
        // other runs), nor give all its own time away: see `smp::take_turns`.
        crate::smp::take_turns(cpu);
        if ticks % u64::from(BALANCE_TICKS) == 0 {
            pull_task(cpu);
        }
    }
    with_current(|me| {
        if !single_cpu() && me.affinity.load(Ordering::Relaxed) & (1 << cpu) == 0 {
            return leave_disallowed_cpu(me);
        }
        let expired = {
            let mut queue = QUEUES[cpu].lock();
            if trace::enabled() {
                tick_traced(queue.policy(), me.tid())
            } else {
                queue.policy().tick(me.tid())
            }
        };
        if expired {
            switch_away(me, Leaving::Requeued(Arrival::Preempted), None);
        }
        stretch_tick(cpu_index(), Some(me.tid()));
    });
}

/// The policy's tick for `task`, recording what it did to the levels: a boost, or
/// `task` moving to another level. Out of line: only traced runs take it.
#[cold]
#[inline(never)]
fn tick_traced(policy: &mut dyn Scheduler, task: Pid) -> bool {
    let before = policy.level(task);
    let expired = policy.tick(task);
    let after = policy.level(task);
    if let (Some(before), Some(after)) = (before, after) {
        if after.boosts != before.boosts {
            trace::record(task, || What::Boost { count: after.boosts });
        } else if after.level != before.level {
            trace::record(task, || What::Level { level: after.level });
        }
    }
    expired
}

/// The timer ticked while the CPU idled (perhaps with only blocked processes left
/// after init's exit: they are reported). The idle loop then looks for work.
pub fn tick_while_idle() {
    if STARTED.load(Ordering::Relaxed) {
        let cpu = cpu_index();
        let ticks = take_armed_ticks(cpu);
        charge_skipped_ticks(cpu, ticks - 1);
        IDLE_TICKS[cpu].fetch_add(1, Ordering::Relaxed);
        on_every_tick(cpu);
    }
}

/// `me`, the current thread, may no longer run on this CPU (sched_setaffinity):
/// it goes to the queue of one it may run on and this CPU runs another task.
pub fn leave_disallowed_cpu(me: &Process) {
    let cpu = cpu_index();
    if single_cpu() || me.affinity.load(Ordering::Relaxed) & (1 << cpu) != 0 {
        return;
    }
    place_and_queue(me.tid(), Home { cpu: cpu as u8, ..Home::of(me) }, Arrival::Yielded);
    switch_away(me, Leaving::Moved, None);
}

/// What every tick does, a program running or not, on the boot CPU (the others'
/// ticks serve their own queues only): count it, sample the load, wake the
/// sleepers whose deadline passed, report survivors of init when due; one read of
/// the clock serves all three.
fn on_every_tick(cpu: usize) {
    if cpu != 0 {
        return;
    }
    time::count_ticks(1);
    let now = time::monotonic_ns();
    sample_load(now);
    wake_sleepers(now);
    process::lifecycle::report_survivors_when_due(now);
}

/// The tick on demand. The timer interrupts a CPU every tick (`TICK_NS`) only
/// while it has something to decide at each: with one CPU online, when a task
/// runs alone (nothing queued) or the CPU idles, and no event trace is kept, the
/// next interrupt is armed one-shot for the first tick at which something may be
/// due (`stretch_tick`): the running task's quantum ending (its policy's
/// `ticks_before_expiry`), a sleeper's deadline, the load sample, the survivors
/// report; at most `MAX_BUSY_STRETCH_TICKS` while a task runs (100 Hz, Linux's
/// busy tick being 250 Hz) and `MAX_IDLE_STRETCH_TICKS` while the CPU idles.
///
/// Invariant: while a stretch is armed, each skipped tick would have done nothing
/// but be charged (to the running task's policy, the CPU's busy or idle count,
/// the tick count). The stretch's interrupt charges them, then does the last
/// tick's work as any tick. Anything that could change what the skipped ticks
/// would have done comes through a kernel entry (a system call, a fault, another
/// interrupt; the idle loop's wake-up), which ends the stretch first
/// (`end_tick_stretch`): the ticks elapsed so far are charged, and the timer
/// fires at the next tick's time and is periodic again. The kernel's state then
/// is what the periodic tick would have made it. A CPU's system calls are
/// diverted to `end_tick_stretch` (`entry::divert_system_calls`) exactly while
/// its count is above 1, so the fast path pays nothing for the stretch.
static TICKS_ARMED: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];

/// The most ticks one interrupt stands for while a task runs.
const MAX_BUSY_STRETCH_TICKS: u32 = 10;
/// The most ticks one interrupt stands for while the CPU idles.
const MAX_IDLE_STRETCH_TICKS: u32 = 1000;

/// The timer interrupted: how many ticks this interrupt stands for (1 while the
/// timer is periodic). A one-shot timer is periodic again from here: the
/// interrupt's handler may switch to another task.
fn take_armed_ticks(cpu: usize) -> u32 {
    match TICKS_ARMED[cpu].swap(0, Ordering::Relaxed) {
        0 => 1,
        armed => {
            apic::restart_periodic_timer();
            entry::divert_system_calls(false);
            armed
        }
    }
}

/// Charges `ticks` ticks the one-shot timer skipped as the periodic timer would
/// have: to the running task's policy (they are within its promise: none ends
/// its quantum) and busy count, or to the idle count; and to the tick count.
fn charge_skipped_ticks(cpu: usize, ticks: u32) {
    if ticks == 0 {
        return;
    }
    match current_pid() {
        Some(running) => {
            let mut queue = QUEUES[cpu].lock();
            queue.policy().charge_ticks(running, ticks);
            BUSY_TICKS[cpu].fetch_add(u64::from(ticks), Ordering::Relaxed);
        }
        None => {
            IDLE_TICKS[cpu].fetch_add(u64::from(ticks), Ordering::Relaxed);
        }
    }
    if cpu == 0 {
        time::count_ticks(u64::from(ticks));
    }
}

/// Arms `cpu`'s next timer interrupt as late as nothing would be missed: the
/// first tick at which something may be due, `running` (None: the CPU idles) the
/// task about to run. Leaves the timer periodic when every tick matters, and
/// leaves a timer already one-shot as it is (a tick's remainder after
/// `end_tick_stretch`: its interrupt keeps the ticks in step).
fn stretch_tick(cpu: usize, running: Option<Pid>) {
    if !single_cpu() || trace::enabled() || TICKS_ARMED[cpu].load(Ordering::Relaxed) != 0 {
        return;
    }
    let (promised, next_sleeper) = {
        let mut queue = QUEUES[cpu].lock();
        let RunQueue { policy, waiters } = &mut *queue;
        let policy = policy.as_deref_mut().expect("sched::init ran at boot");
        if policy.queued() != 0 {
            return;
        }
        let promised =
            running.map_or(MAX_IDLE_STRETCH_TICKS, |task| policy.ticks_before_expiry(task).min(MAX_BUSY_STRETCH_TICKS));
        (promised, waiters.sleepers.iter().map(|&(deadline, _)| deadline).min())
    };
    let now = time::monotonic_ns();
    let ticks_until = |due_ns: u64| due_ns.saturating_sub(now).div_ceil(TICK_NS).clamp(1, u64::from(u32::MAX)) as u32;
    let due = [
        next_sleeper,
        Some(NEXT_LOAD_SAMPLE.load(Ordering::Relaxed)),
        Some(process::lifecycle::next_survivor_report_ns()),
    ];
    let period = apic::timer_period();
    let ticks = due.into_iter().flatten().map(ticks_until).fold(promised, u32::min).min(u32::MAX / period.max(1));
    if ticks > 1 {
        TICKS_ARMED[cpu].store(ticks, Ordering::Relaxed);
        entry::divert_system_calls(true);
        apic::arm_timer_once(period * ticks);
    }
}

/// Ends this CPU's stretched tick, if one is armed (see `TICKS_ARMED`): called on
/// every kernel entry but the timer's, before anything the skipped ticks would
/// have seen can change (system calls come to it only while a stretch is armed:
/// the CPU's SYSCALL entry diverts them then, `entry::divert_system_calls`).
#[inline(always)]
pub fn end_tick_stretch() {
    let cpu = cpu_index();
    if TICKS_ARMED[cpu].load(Ordering::Relaxed) > 1 {
        settle_stretch(cpu);
    }
}

/// Charges the whole ticks elapsed of `cpu`'s stretch, and arms the timer for the
/// rest of the current tick; its interrupt is then an ordinary tick, and the timer
/// periodic again. A stretch that has run out (its interrupt pending, delivered
/// once interrupts are on) leaves that interrupt its last tick.
#[cold]
#[inline(never)]
fn settle_stretch(cpu: usize) {
    let armed = TICKS_ARMED[cpu].load(Ordering::Relaxed);
    entry::divert_system_calls(false);
    let period = apic::timer_period().max(1);
    let left = apic::timer_counts_left();
    let elapsed = if left == 0 {
        TICKS_ARMED[cpu].store(0, Ordering::Relaxed);
        apic::restart_periodic_timer();
        armed - 1
    } else {
        TICKS_ARMED[cpu].store(1, Ordering::Relaxed);
        apic::arm_timer_once((left - 1) % period + 1);
        (armed - 1).saturating_sub((left - 1) / period)
    };
    charge_skipped_ticks(cpu, elapsed);
}

/// Moves one waiting task to `cpu`'s queue from another's, if the balancer says
/// one should move (`balance::pull_from`); true if one did. The task leaves its
/// queue before it enters this one (one queue lock at a time). The source's policy
/// is asked for its candidate without disturbing it; one whose affinity excludes
/// `cpu` stays where it is (taking it out and back would reset its history there
/// at every tick of an idle CPU).
fn pull_task(cpu: usize) -> bool {
    let (loads, online) = loads();
    let Some(source) = balance::pull_from(cpu, &loads[..online]) else { return false };
    let Some(candidate) = QUEUES[source].lock().policy().migration_candidate() else { return false };
    // The process table's lock before a queue's (the lock order): looked up in
    // between, and taken only if still the candidate (not picked meanwhile).
    let Some(thread) = process::find(candidate) else { return false };
    let home = Home::of(&thread);
    if home.allowed & (1 << cpu) == 0 {
        return false;
    }
    {
        let mut queue = QUEUES[source].lock();
        if queue.policy().migration_candidate() != Some(candidate) {
            return false;
        }
        queue.policy().remove(candidate);
        note_load(source, queue.policy());
    }
    {
        let mut queue = QUEUES[cpu].lock();
        home.introduce(candidate, queue.policy());
        queue.policy().enqueue(candidate, Arrival::Woken);
        note_load(cpu, queue.policy());
    }
    thread.last_cpu.store(cpu as u8, Ordering::Relaxed);
    MIGRATIONS[cpu].fetch_add(1, Ordering::Relaxed);
    true
}

/// What `pid` is doing, for the process table: running on a CPU, blocked (and on
/// what), or runnable (waiting in the run queue). Zombies are the process table's
/// business.
pub fn state(pid: Pid) -> alloc::string::String {
    if CURRENT.iter().any(|current| current.load(Ordering::Relaxed) == pid) {
        return "running".into();
    }
    match blocked_on(pid) {
        Some(kind) => alloc::format!("blocked ({})", kind.describe()),
        None => "runnable".into(),
    }
}

/// Whether `pid` is blocked, waiting for something (/proc's state S).
pub fn is_blocked(pid: Pid) -> bool {
    blocked_on(pid).is_some()
}

/// The kind of channel `pid` is blocked on, if it is blocked.
fn blocked_on(pid: Pid) -> Option<WaitKind> {
    if process::find(pid).is_some_and(|thread| crate::futex::is_waiting(&thread)) {
        return Some(WaitKind::Futex);
    }
    fn of_pid<H>(list: &[Blocked<H>], pid: Pid) -> Option<WaitKind> {
        list.iter().find(|entry| entry.pid == pid).map(|entry| entry.waits_for.0)
    }
    if single_cpu() {
        return QUEUES[0].lock().waiters.blocked.iter().find_map(|list| of_pid(list, pid));
    }
    BLOCKED.iter().find_map(|list| of_pid(&list.lock(), pid))
}

/// Removes a reaped thread from the policies' records, once its last switch (on
/// whichever CPU it ran) has left its kernel stack, which its caller may free.
pub fn forget(thread: &Process) {
    thread.context.wait_until_switched_out();
    forget_everywhere(thread.tid());
}

/// Every CPU's policy forgets `pid`.
fn forget_everywhere(pid: Pid) {
    for queue in QUEUES.iter().take(smp::online_count().max(1)) {
        queue.lock().policy().remove(pid);
    }
}

/// The running thread's tid changes from `old` to `new` (`process::take_over`):
/// the policies forget both (`new`'s former thread has exited for good) and this
/// CPU's knows it afresh, with its nice value, as `new`.
pub fn renumber_current(old: Pid, new: Pid, nice: i8) {
    let cpu = cpu_index();
    CURRENT[cpu].store(new, Ordering::Relaxed);
    forget_everywhere(old);
    forget_everywhere(new);
    let mut queue = QUEUES[cpu].lock();
    queue.policy().set_nice(new, nice);
    queue.policy().set_group(new, new);
}

/// The current process has exited: switch away for good, through the idle context.
/// Its kernel stack stays allocated (the zombie's) until its reaper has seen this
/// switch complete (`forget`). The dead thread keeps no reference to any process
/// on its stack, so nothing it held is leaked: the switch borrows its context.
pub fn exit_current() -> ! {
    let cpu = cpu_index();
    let me = CURRENT[cpu].swap(IDLING, Ordering::Relaxed);
    if me != IDLING {
        trace::record(me, || What::Switch { to: 0, reason: SwitchReason::Exited });
    }
    // Its process's other threads may free the address space once it is gone.
    crate::mm::activate_kernel_tree();
    with_current(|thread| switch::switch(&thread.context, &IDLE[cpu]));
    unreachable!("a dead kernel thread was resumed");
}

/// The idle loop of a CPU, on its boot stack: run whatever its queue holds, else
/// take a task from the busiest queue, otherwise halt until the next interrupt.
/// Never returns.
pub fn run() -> ! {
    while !STARTED.load(Ordering::Acquire) {
        cpu::wait_for_interrupt();
    }
    let cpu = cpu_index();
    SERVING_SINCE[cpu].store(cpu::rdtsc(), Ordering::Relaxed);
    loop {
        // The task the timer was stretched for is gone (an exit by signal).
        end_tick_stretch();
        // The queue's lock is let go before the process table's is taken (the lock
        // order: the table, then the queue).
        let handed = HANDED_TO_IDLE[cpu].swap(IDLING, Ordering::Relaxed);
        let next = if handed != IDLING {
            Some(handed)
        } else {
            let mut queue = QUEUES[cpu].lock();
            let next = queue.policy().pick_next();
            note_load(cpu, queue.policy());
            next
        };
        match next.and_then(process::find) {
            Some(next) => {
                trace::record(0, || What::Schedule {
                    chosen: next.tid(),
                    queued: QUEUES[cpu].lock().policy().queued() as u64,
                });
                trace::record(0, || What::Switch { to: next.tid(), reason: SwitchReason::Dispatched });
                SWITCHES[cpu].fetch_add(1, Ordering::Relaxed);
                CURRENT[cpu].store(next.tid(), Ordering::Relaxed);
                // A task made runnable while still switching away on another CPU
                // is waited for here, where this CPU leaves no thread unsaved that
                // the other might wait for in turn.
                next.context.wait_until_switched_out();
                load_process(&next, cpu::rdtsc(), None, cpu);
                // `next` stays referenced from this frame until the CPU idles again;
                // the idle thread never exits, so the reference is dropped then.
                switch::switch(&IDLE[cpu], &next.context);
            }
            None if next.is_none() && (single_cpu() || !pull_task(cpu)) => {
                stretch_tick(cpu, None);
                let halted = cpu::rdtsc();
                cpu::wait_for_interrupt();
                HALTED_CYCLES[cpu].fetch_add(cpu::rdtsc().wrapping_sub(halted), Ordering::Relaxed);
            }
            None => {}
        }
    }
}
