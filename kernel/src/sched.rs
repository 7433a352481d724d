//! The scheduler's mechanism: which process runs on this CPU, the run queue (whose
//! order is the policy's business, see `kernel_core::sched`), blocking and waking,
//! and the context switch itself.
//!
//! Every switch goes through `switch_away`: the policy picks the next process, the
//! CPU is pointed at that process's kernel stack, address space and TLS, and the
//! kernel registers are swapped. The final return-from-trap, later, then resumes the
//! *other* program. When nothing is runnable, the CPU switches to its idle context
//! (the boot stack), which halts until an interrupt.
//!
//! Interrupts are off whenever the kernel runs, so on one CPU nothing interleaves
//! with a check-then-block sequence; the locks here keep the data consistent for the
//! day more CPUs share it.
//!
//! A futex waiter is not on the blocked lists: its entry in its futex bucket is its
//! whole record (`park`, see `futex`), and whoever takes it off there makes it
//! runnable (`unpark`). Lock order (the whole of it in docs/locks.md, checked in
//! debug kernels: `sync::OrderedMutex`): a futex bucket, then an address space,
//! then the process table, then the run queue (`QUEUE`), then the trace writer and
//! the kernel log.
//!
//! Some 600 lines with reason: blocking, waking and the switch all work on
//! the run queue and the per-CPU state private to this file, which a split would
//! have to expose.

use crate::sync::{class, OrderedMutex};
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use spin::Mutex;

use crate::arch::x86_64::cpu;
use crate::arch::x86_64::percpu::PerCpu;
use crate::arch::x86_64::switch::{self, KernelContext};
use crate::mm::kstack;
use crate::process::{self, Mode, Pid, Process, Stats};
use crate::{time, trace};
use kernel_core::acpi::MAX_CPUS;
use kernel_core::loadavg::{LoadAverage, LOAD_FREQ_NS};
use kernel_core::sched::{Arrival, Scheduler};
use kernel_core::trace::{SwitchReason, WaitKind, What};

/// Nanoseconds between timer ticks (the kernel's clock interrupt runs at 1 kHz).
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

/// How many lists the blocked processes are spread over (`RunQueue::blocked`).
const BUCKETS: usize = 64;

/// The list of `RunQueue::blocked` where the waiters on this channel are: by its
/// detail, so that the channels of one kind (pipes by their consecutive ids,
/// processes by pid) spread over all of them, offset by its kind.
#[inline(always)]
fn bucket_of((kind, detail): WaitKey) -> usize {
    (detail.wrapping_add(kind as u64 * 8) % BUCKETS as u64) as usize
}

/// This channel's bit in `RunQueue::waiting`: its bucket's.
#[inline(always)]
fn summary_bit(key: WaitKey) -> u64 {
    1 << bucket_of(key)
}

/// A wait cut short by a signal.
#[derive(Debug)]
pub struct Interrupted;

struct RunQueue {
    policy: Option<Box<dyn Scheduler>>,
    /// Blocked processes and what each waits for, oldest first, spread over lists
    /// by channel (`bucket_of`): a wake looks only at the list of its channel, so
    /// its cost does not grow with the number of blocked processes (a ring of 512
    /// processes through pipes), and blocking and waking (every pipe round trip)
    /// never allocate once the lists have grown.
    blocked: [Vec<(Pid, WaitKey)>; BUCKETS],
    /// Bit `i` set when `blocked[i]` is not empty: most wakes, of a pipe nobody
    /// waits on, end at a test of it.
    waiting: u64,
    /// Deadlines (monotonic ns) of processes waiting with a timeout.
    sleepers: Vec<(u64, Pid)>,
}

impl RunQueue {
    fn policy(&mut self) -> &mut dyn Scheduler {
        installed(&mut self.policy)
    }
}

/// The policy `init` installed (a separate borrow from the blocked list's).
fn installed(policy: &mut Option<Box<dyn Scheduler>>) -> &mut dyn Scheduler {
    policy.as_deref_mut().expect("sched::init ran at boot")
}

static QUEUE: OrderedMutex<RunQueue> = OrderedMutex::new(
    class::RUN_QUEUE,
    RunQueue { policy: None, blocked: [const { Vec::new() }; BUCKETS], waiting: 0, sleepers: Vec::new() },
);

/// The pid of the process running on each CPU (`IDLING` while the CPU idles). A pid,
/// not a reference: the process table keeps a running process alive (it is reaped
/// only once its thread has switched away for good), and a switch then only stores a
/// number.
static CURRENT: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(IDLING) }; MAX_CPUS];
/// CURRENT's value on an idle CPU (no process has pid 0).
const IDLING: Pid = 0;
/// Each CPU's idle context: its boot stack, where `run` loops.
static IDLE: [KernelContext; MAX_CPUS] = [const { KernelContext::empty() }; MAX_CPUS];
/// Where a dead thread's last switch saves its registers, never to be used again.
static DEAD: [KernelContext; MAX_CPUS] = [const { KernelContext::empty() }; MAX_CPUS];

fn cpu_index() -> usize {
    PerCpu::this().id()
}

/// Installs the scheduling policy. Called once at boot.
pub fn init(policy: Box<dyn Scheduler>) {
    QUEUE.lock().policy = Some(policy);
}

/// The process whose kernel thread is running on this CPU.
pub fn current() -> Arc<Process> {
    current_pid().and_then(process::find).expect("called from a process's kernel thread")
}

/// Runs `f` with the process whose kernel thread is running on this CPU: like
/// `current`, but borrowed from the kernel stack instead of looked up and counted,
/// for the blocking and switching paths.
fn with_current<R>(f: impl FnOnce(&Process) -> R) -> R {
    kstack::with_running_owner(f).expect("called from a process's kernel thread")
}

/// The pid of the process running on this CPU, None while it idles (an interrupt
/// handler may run then).
pub fn current_pid() -> Option<Pid> {
    Some(CURRENT[cpu_index()].load(Ordering::Relaxed)).filter(|&pid| pid != IDLING)
}

/// Puts `pid` in the run queue.
pub fn make_runnable(pid: Pid, arrival: Arrival) {
    let mut queue = QUEUE.lock();
    queue.policy().enqueue(pid, arrival);
    // The level a task starts at, for the trace's level band (later changes come
    // from `tick_traced`).
    if trace::enabled() {
        if let Some(place) = queue.policy().level(pid) {
            trace::record(pid, || What::Level { level: place.level });
        }
    }
}

/// Tells the policy the nice value of `pid` (before its first `make_runnable`, and
/// on setpriority); what it does with it is the policy's business.
pub fn set_nice(pid: Pid, nice: i8) {
    QUEUE.lock().policy().set_nice(pid, nice);
}

/// The current thread is about to block until task `peer` acts (the child its
/// wait4 waits for, the owner of the futex it waits on): the policy may lend `peer`
/// the waiter's share until the waiter runs again (lottery's ticket transfer).
pub fn waiting_for(peer: Pid) {
    if let Some(me) = current_pid() {
        QUEUE.lock().policy().waits_for(me, peer);
    }
}

/// Tells the policy that thread `tid` belongs to process `pid` (lottery funds a
/// process's threads from one pool).
pub fn set_group(tid: Pid, pid: Pid) {
    QUEUE.lock().policy().set_group(tid, pid);
}

/// Tells the policy the slice of `pid` (sched_setattr's sched_runtime): its
/// request size, in ticks rounded up.
pub fn set_request(pid: Pid, slice_ns: u64) {
    let ticks = slice_ns.div_ceil(TICK_NS).clamp(1, u64::from(u32::MAX)) as u32;
    QUEUE.lock().policy().set_request(pid, ticks);
}

/// Points this CPU at `next`: kernel stack for traps (whose header says where its
/// thread resumes and who serves its system calls), address space, segment
/// registers (saving those of `previous`, the process switching away, if any); and
/// starts `next`'s clock at time stamp `now` (the switch's one clock read: the
/// process switching away was charged up to it). Inlined: it is on every switch.
#[inline(always)]
fn load_process(next: &Process, now: u64, previous: Option<&Process>) {
    next.resume_accounting(now);
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
    /// It waits on the channel until woken (see `wait_on`).
    Blocked(WaitChannel),
    /// It waits on a futex, whose queue holds its record (see `park`).
    Parked,
}

/// Gives the CPU away from `me`, which is re-queued or parked as `leaving` says, and
/// returns when `me` is scheduled again. Parking `me` and picking the next process
/// share one hold of the queue lock.
///
/// Inlined into its three callers, each of which passes one kind of `leaving`: the
/// matches on it then fold away.
///
/// Invariant: `me` is this CPU's current process, and the caller holds no lock.
#[inline(always)]
fn switch_away(me: &Process, leaving: Leaving) {
    // As xv6's sched(): the one switching away is the one running here.
    debug_assert_eq!(CURRENT[cpu_index()].load(Ordering::Relaxed), me.tid(), "switch_away by another");
    let reason = match leaving {
        Leaving::Requeued(Arrival::Preempted) => SwitchReason::Preempted,
        Leaving::Requeued(_) => SwitchReason::Yielded,
        Leaving::Blocked(_) | Leaving::Parked => SwitchReason::Blocked,
    };
    let next = {
        let mut queue = QUEUE.lock();
        match leaving {
            Leaving::Requeued(arrival) => queue.policy().enqueue(me.tid(), arrival),
            Leaving::Blocked(channel) => {
                let key = channel.traced();
                queue.blocked[bucket_of(key)].push((me.tid(), key));
                queue.waiting |= summary_bit(key);
            }
            Leaving::Parked => {}
        }
        let next = queue.policy().pick_next();
        // The switch's events, in order, under one test of the trace switch.
        if trace::enabled() {
            let blocked = match leaving {
                Leaving::Blocked(channel) => Some(channel.traced()),
                Leaving::Parked => Some((WaitKind::Futex, u64::from(me.tid()))),
                Leaving::Requeued(_) => None,
            };
            if let Some((wait, detail)) = blocked {
                trace::record(me.tid(), || What::Block { wait, detail });
            }
            trace::record(me.tid(), || What::Schedule {
                chosen: next.unwrap_or(0),
                queued: queue.policy().queued() as u64,
            });
            if next != Some(me.tid()) {
                trace::record(me.tid(), || What::Switch { to: next.unwrap_or(0), reason });
            }
        }
        next
    };
    if next == Some(me.tid()) {
        return;
    }
    let counter = match reason {
        SwitchReason::Preempted => {
            PREEMPTIONS.fetch_add(1, Ordering::Relaxed);
            &me.stats.involuntary_switches
        }
        _ => &me.stats.voluntary_switches,
    };
    Stats::add(counter, 1);
    SWITCHES.fetch_add(1, Ordering::Relaxed);
    let now = me.charge(Mode::Kernel);
    let next = next.and_then(process::find);
    let cpu = cpu_index();
    CURRENT[cpu].store(next.as_ref().map_or(IDLING, |next| next.tid()), Ordering::Relaxed);
    match next {
        Some(next) => {
            // The blocking copies of this function fold the test away; the yield
            // path pays one comparison (measured: 3 instructions a switch).
            if matches!(leaving, Leaving::Requeued(Arrival::Preempted)) && trace::enabled() {
                crate::explain::switching(me, &next);
            }
            load_process(&next, now, Some(me));
            switch::switch(&me.context, &next.context);
        }
        None => {
            me.segments.save_running();
            switch::switch(&me.context, &IDLE[cpu])
        }
    }
}

/// `me`, the current thread, gives up the CPU but stays runnable (sched_yield).
/// Its callers have it at hand: no lookup of the current thread (`with_current`)
/// on every sched_yield.
pub fn yield_cpu(me: &Process, arrival: Arrival) {
    switch_away(me, Leaving::Requeued(arrival));
}

/// Blocks the current process until `wake_all(channel)`, or until a signal arrives
/// (Err(Interrupted): the system call then fails with EINTR or restarts).
pub fn block(channel: WaitChannel) -> Result<(), Interrupted> {
    with_current(|me| if me.signals.deliverable() || wait_on(me, channel) { Err(Interrupted) } else { Ok(()) })
}

/// Blocks the current process until `wake_all(channel)` or `interrupt`, whatever
/// signals are pending: how a stopped process waits, which only SIGCONT and SIGKILL
/// resume (its caller checks why it woke).
pub fn block_ignoring_signals(channel: WaitChannel) {
    with_current(|me| wait_on(me, channel));
}

/// Parks `me` on `channel` until it is woken; true if `interrupt` woke it.
/// Inlined into `block`, which every blocking pipe transfer goes through.
#[inline(always)]
fn wait_on(me: &Process, channel: WaitChannel) -> bool {
    switch_away(me, Leaving::Blocked(channel));
    me.interrupted.swap(false, Ordering::Relaxed)
}

/// Blocks the current process until monotonic time `deadline_ns`.
pub fn sleep_until(deadline_ns: u64) -> Result<(), Interrupted> {
    block_until(WaitChannel::Sleep(current().tid()), deadline_ns)
}

/// Blocks like `block`, but wakes by monotonic time `deadline_ns` at the latest
/// (at once if it has passed). Ok does not say which of the two woke it.
pub fn block_until(channel: WaitChannel, deadline_ns: u64) -> Result<(), Interrupted> {
    if time::monotonic_ns() >= deadline_ns {
        return Ok(());
    }
    with_deadline(current().tid(), deadline_ns, || block(channel))
}

/// Runs the wait `wait` of `pid` with `deadline_ns` among the sleepers, whose
/// deadline wakes it (`wake_one`).
fn with_deadline<R>(pid: Pid, deadline_ns: u64, wait: impl FnOnce() -> R) -> R {
    QUEUE.lock().sleepers.push((deadline_ns, pid));
    let result = wait();
    QUEUE.lock().sleepers.retain(|&(_, sleeper)| sleeper != pid);
    result
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
    switch_away(me, Leaving::Parked);
    me.interrupted.swap(false, Ordering::Relaxed)
}

/// `park`, with monotonic time `deadline_ns` as the latest wake (`wake_one`).
pub fn park_until(me: &Process, deadline_ns: u64) -> bool {
    with_deadline(me.tid(), deadline_ns, || park(me))
}

/// Makes `thread`, parked, runnable again: the caller took it off its futex queue,
/// because of a signal if `interrupted` (which `park` then returns).
pub fn unpark(thread: &Process, interrupted: bool) {
    if interrupted {
        thread.interrupted.store(true, Ordering::Relaxed);
    }
    let mut queue = QUEUE.lock();
    trace::record(thread.tid(), || What::Wake { wait: WaitKind::Futex, interrupted });
    queue.policy().enqueue(thread.tid(), Arrival::Woken);
}

/// `unpark` for a futex waker, which knows the thread it woke by tid only.
/// Inlined into the futex wake: every hand-off comes here.
#[inline]
pub fn unpark_woken(tid: Pid) {
    let mut queue = QUEUE.lock();
    wake(queue.policy(), tid, (WaitKind::Futex, u64::from(tid)));
}

/// Makes every process blocked on `channel` runnable again (and the pollers, for
/// a channel that can make a file ready), in the order they blocked.
///
/// Every pipe transfer calls this, mostly for a channel nobody waits on: inlined,
/// the test of `waiting` that ends those calls folds the channel's bit into a
/// constant at each call site.
#[inline]
pub fn wake_all(channel: WaitChannel) {
    let pollers_too = channel.wakes_pollers();
    let key = channel.traced();
    let wanted = summary_bit(key) | if pollers_too { summary_bit(WaitChannel::Poll.traced()) } else { 0 };
    let mut queue = QUEUE.lock();
    if queue.waiting & wanted != 0 {
        wake_waiters(&mut queue, key, pollers_too);
    }
}

/// `wake_all`'s work, for when the summary says someone may wait on `channel`:
/// wakes those who do, in the order they blocked, then the pollers if
/// `pollers_too`.
fn wake_waiters(queue: &mut RunQueue, channel: WaitKey, pollers_too: bool) {
    if queue.waiting & summary_bit(channel) != 0 {
        wake_bucket(queue, channel);
    }
    let pollers = WaitChannel::Poll.traced();
    if pollers_too && queue.waiting & summary_bit(pollers) != 0 {
        wake_bucket(queue, pollers);
    }
}

/// Wakes the entries of `channel`'s bucket that wait for it, in the order they
/// blocked, and clears the bucket's bit if none is left.
#[inline(always)]
fn wake_bucket(queue: &mut RunQueue, channel: WaitKey) {
    let index = bucket_of(channel);
    let RunQueue { policy, blocked, waiting, .. } = queue;
    let bucket = &mut blocked[index];
    // Every transfer of a pipe ping-pong lands here to wake one process, its
    // partner, which blocked last: that case ends in the policy's call, with no
    // loop state to keep across it. (A look at the last entry is all it costs
    // the others.)
    if let Some((&(pid, waits_for), others)) = bucket.split_last() {
        if waits_for == channel && others.iter().all(|&(_, others_wait)| others_wait != channel) {
            bucket.pop();
            if bucket.is_empty() {
                *waiting &= !(1 << index);
            }
            return wake(installed(policy), pid, waits_for);
        }
    }
    wake_in_order(installed(policy), bucket, channel);
    if bucket.is_empty() {
        *waiting &= !(1 << index);
    }
}

/// `wake_bucket`'s general case: wakes the entries of `bucket` that wait for
/// `channel` and moves the others up in place, in order (one pass, never a shift
/// per woken entry). Out of line: its loop's registers would otherwise burden the
/// common case.
#[inline(never)]
fn wake_in_order(policy: &mut dyn Scheduler, bucket: &mut Vec<(Pid, WaitKey)>, channel: WaitKey) {
    let mut kept = 0;
    for index in 0..bucket.len() {
        let (pid, waits_for) = bucket[index];
        if waits_for == channel {
            wake(policy, pid, waits_for);
        } else {
            bucket[kept] = bucket[index];
            kept += 1;
        }
    }
    bucket.truncate(kept);
}

/// Makes `pid`, which waited for `waits_for`, runnable again.
#[inline(always)]
fn wake(policy: &mut dyn Scheduler, pid: Pid, waits_for: WaitKey) {
    trace::record(pid, || What::Wake { wait: waits_for.0, interrupted: false });
    policy.enqueue(pid, Arrival::Woken);
}

/// Takes `pid` off whatever channel it is blocked on, whose kind it returns; None
/// if it is not blocked.
fn unblock(queue: &mut RunQueue, pid: Pid) -> Option<WaitKind> {
    // Only the lists `waiting` marks non-empty: a signal to a thread that is not
    // blocked (kill of oneself, the common case) then costs a test, not a pass over
    // every list.
    let mut lists = queue.waiting;
    while lists != 0 {
        let bucket = lists.trailing_zeros() as usize;
        lists &= lists - 1;
        if let Some(index) = queue.blocked[bucket].iter().position(|&(blocked, _)| blocked == pid) {
            let (_, (kind, _)) = queue.blocked[bucket].remove(index);
            if queue.blocked[bucket].is_empty() {
                queue.waiting &= !(1 << bucket);
            }
            return Some(kind);
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
    let mut queue = QUEUE.lock();
    if let Some(wait) = unblock(&mut queue, pid) {
        trace::record(pid, || What::Wake { wait, interrupted: false });
        queue.policy().enqueue(pid, Arrival::Woken);
    }
}

/// A signal arrived for `target` (or it is to exit): if it is blocked, end its
/// wait early.
pub fn interrupt(target: &Process) {
    if crate::futex::cancel_wait(target, true) {
        return;
    }
    let pid = target.tid();
    let mut queue = QUEUE.lock();
    let Some(wait) = unblock(&mut queue, pid) else { return };
    target.interrupted.store(true, Ordering::Relaxed);
    trace::record(pid, || What::Wake { wait, interrupted: true });
    queue.policy().enqueue(pid, Arrival::Woken);
}

/// Wakes the sleepers whose deadline has passed.
fn wake_sleepers(now: u64) {
    loop {
        let due = {
            let mut queue = QUEUE.lock();
            let Some(index) = queue.sleepers.iter().position(|&(deadline, _)| deadline <= now) else { return };
            queue.sleepers.swap_remove(index).1
        };
        wake_one(due);
    }
}

/// Context switches from one task to another (or to idle) since boot, and how
/// many of them were preemptions (/proc/timeshare/sched).
static SWITCHES: AtomicU64 = AtomicU64::new(0);
static PREEMPTIONS: AtomicU64 = AtomicU64::new(0);

/// The policy's view of task `pid` (/proc/PID/sched).
pub fn describe(pid: Pid) -> alloc::string::String {
    QUEUE.lock().policy().describe(pid)
}

/// The policy, its run queue and the switches so far (/proc/timeshare/sched).
pub fn describe_policy() -> alloc::string::String {
    let mut text = QUEUE.lock().policy().describe_policy();
    text.push_str(&alloc::format!(
        "switches: {}\npreemptions: {}\n",
        SWITCHES.load(Ordering::Relaxed),
        PREEMPTIONS.load(Ordering::Relaxed)
    ));
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

/// Tasks running on a CPU or waiting in the run queue, now.
pub fn runnable_count() -> usize {
    let queued = QUEUE.lock().policy().queued();
    queued + CURRENT.iter().filter(|current| current.load(Ordering::Relaxed) != IDLING).count()
}

/// The load average as it is now.
pub fn load_average() -> LoadAverage {
    *LOAD.lock()
}

/// The timer ticked while a program ran: wake due sleepers, charge the tick to the
/// running process, and preempt it if the policy says its quantum is used up.
pub fn tick_while_running() {
    on_every_tick();
    with_current(|me| {
        let expired = {
            let mut queue = QUEUE.lock();
            if trace::enabled() {
                tick_traced(queue.policy(), me.tid())
            } else {
                queue.policy().tick(me.tid())
            }
        };
        if expired {
            switch_away(me, Leaving::Requeued(Arrival::Preempted));
        }
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
/// after init's exit: they are reported).
pub fn tick_while_idle() {
    on_every_tick();
}

/// What every tick does, a program running or not: count it, sample the load,
/// wake the sleepers whose deadline passed, report survivors of init when due;
/// one read of the clock serves all three.
fn on_every_tick() {
    time::count_tick();
    let now = time::monotonic_ns();
    sample_load(now);
    wake_sleepers(now);
    process::lifecycle::report_survivors_when_due(now);
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
    let queue = QUEUE.lock();
    let mut waiters = queue.blocked.iter().flatten();
    waiters.find(|&&(blocked, _)| blocked == pid).map(|&(_, (kind, _))| kind)
}

/// Removes an exited process from the policy's records (wait4 reaped it).
pub fn forget(pid: Pid) {
    QUEUE.lock().policy().remove(pid);
}

/// The running thread's tid changes from `old` to `new` (`process::take_over`):
/// the policy forgets both (`new`'s former thread has exited for good) and knows
/// it afresh, with its nice value, as `new`.
pub fn renumber_current(old: Pid, new: Pid, nice: i8) {
    CURRENT[cpu_index()].store(new, Ordering::Relaxed);
    let mut queue = QUEUE.lock();
    queue.policy().remove(old);
    queue.policy().remove(new);
    queue.policy().set_nice(new, nice);
    queue.policy().set_group(new, new);
}

/// The current process has exited: switch away for good, through the idle context.
/// Its kernel stack stays allocated (the zombie's) until its parent reaps it, which
/// cannot happen before this switch completes. The dead thread keeps no reference
/// to any process on its stack, so nothing it held is leaked.
pub fn exit_current() -> ! {
    let cpu = cpu_index();
    let me = CURRENT[cpu].swap(IDLING, Ordering::Relaxed);
    if me != IDLING {
        trace::record(me, || What::Switch { to: 0, reason: SwitchReason::Exited });
    }
    switch::switch(&DEAD[cpu], &IDLE[cpu]);
    unreachable!("a dead kernel thread was resumed");
}

/// The idle loop of a CPU, on its boot stack: run whatever is runnable, otherwise
/// halt until the next interrupt. Never returns.
pub fn run() -> ! {
    let cpu = cpu_index();
    loop {
        // The queue's lock is let go before the process table's is taken (the lock
        // order: the table, then the queue).
        let next = QUEUE.lock().policy().pick_next();
        let next = next.and_then(process::find);
        match next {
            Some(next) => {
                trace::record(0, || What::Schedule {
                    chosen: next.tid(),
                    queued: QUEUE.lock().policy().queued() as u64,
                });
                trace::record(0, || What::Switch { to: next.tid(), reason: SwitchReason::Dispatched });
                CURRENT[cpu].store(next.tid(), Ordering::Relaxed);
                load_process(&next, cpu::rdtsc(), None);
                // `next` stays referenced from this frame until the CPU idles again;
                // the idle thread never exits, so the reference is dropped then.
                switch::switch(&IDLE[cpu], &next.context);
            }
            None => cpu::wait_for_interrupt(),
        }
    }
}
