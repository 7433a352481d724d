//! Processes and their threads: the process-list entry of the LDE protocol (one
//! per thread, the schedulable unit, sharing its process's `ThreadGroup`), the
//! table that relates them (parents, children, zombies; process groups and sessions
//! in `group.rs`), and the kernel thread each one runs in the kernel.
//!
//! Lock order: the table, then a thread's own state (its signals, its details);
//! a thread group's locks (memory, descriptors, details, exit status) are taken
//! after the table too, and never while another thread's is held.

pub mod exec;
mod group;
pub mod lifecycle;
pub mod view;

pub use group::{create_session, group_and_session, is_orphaned_group, members_of_group, set_process_group};

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicI8, AtomicU32, AtomicU64, AtomicU8, Ordering};
use spin::Mutex;

use crate::arch::x86_64::entry::SYSCALL_TABLE_SIZE;
use crate::arch::x86_64::frame::TrapFrame;
use crate::arch::x86_64::switch::KernelContext;
use crate::arch::x86_64::tls::{SavedSegments, UserSegments};
use crate::fs::FdTable;
use crate::mm::address_space::AddressSpace;
use crate::mm::kstack::{KernelStack, StackOwner};
use crate::signal::{SignalState, Signals};
use crate::sync::{class, OrderedMutex};
use crate::{sched, trap};
use kernel_core::abi::errno::{EAGAIN, ENOMEM};
use kernel_core::abi::sched_attr::SchedSettings;
use kernel_core::abi::{
    Rlimit, Rusage, NOFILE_DEFAULT, RLIMIT_CORE, RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_STACK, RLIM_INFINITY, RLIM_NLIMITS,
};
use kernel_core::numberset::AtomicNumberSet;
use kernel_core::sched::balance::CpuMask;

pub type Pid = u32;

/// The first process; orphans are re-parented to it (unless a subreaper adopts
/// them), and its exit status is the run's, which ends when every process has.
pub const INIT_PID: Pid = 1;

/// How a process ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExitStatus {
    Exited(u8),
    Killed { signal: u8, core_dumped: bool },
}

impl ExitStatus {
    /// The status word wait4 reports.
    pub fn wait_status(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => kernel_core::abi::wait::exited(code),
            ExitStatus::Killed { signal, core_dumped } => kernel_core::abi::wait::signaled(signal, core_dumped),
        }
    }
}

/// What a thread counts (MISSION: per-process accounting; a process's figures
/// are its threads' together, `process_usage`).
#[derive(Default)]
pub struct Stats {
    /// Its CPU time, faults and switches (`peak_pages` stays 0: residency is its
    /// process's, `ThreadGroup::ended`).
    pub counts: Counters,
    pub system_calls: AtomicU64,
    /// When it was created, in nanoseconds since boot (/proc's starttime).
    pub started_ns: AtomicU64,
}

impl Stats {
    pub fn add(counter: &AtomicU64, amount: u64) {
        counter.fetch_add(amount, Ordering::Relaxed);
    }

    pub fn load(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// What this thread used so far.
    pub fn used(&self) -> Used {
        self.counts.load()
    }
}

/// CPU time and counts, of a thread, a process, or the children a process reaped;
/// `peak_pages` is the most pages resident in one address space (a maximum, not a sum).
#[derive(Clone, Copy, Default, Debug)]
pub struct Used {
    pub user_cycles: u64,
    pub system_cycles: u64,
    pub faults: u64,
    pub voluntary_switches: u64,
    pub involuntary_switches: u64,
    pub peak_pages: u64,
}

impl Used {
    pub fn plus(self, other: Used) -> Used {
        Used {
            user_cycles: self.user_cycles + other.user_cycles,
            system_cycles: self.system_cycles + other.system_cycles,
            faults: self.faults + other.faults,
            voluntary_switches: self.voluntary_switches + other.voluntary_switches,
            involuntary_switches: self.involuntary_switches + other.involuntary_switches,
            peak_pages: self.peak_pages.max(other.peak_pages),
        }
    }

    /// As getrusage and wait4 report it.
    pub fn rusage(self) -> Rusage {
        Rusage {
            user_ns: crate::time::cycles_to_ns(self.user_cycles),
            system_ns: crate::time::cycles_to_ns(self.system_cycles),
            max_rss_kib: self.peak_pages * 4,
            minor_faults: self.faults,
            voluntary_switches: self.voluntary_switches,
            involuntary_switches: self.involuntary_switches,
        }
    }
}

/// A `Used` that grows, in relaxed counters: a thread's own (`Stats::counts`), and
/// what a process keeps of threads that have ended and of the children it reaped
/// (Linux's signal_struct sums).
#[derive(Default)]
pub struct Counters {
    pub user_cycles: AtomicU64,
    pub system_cycles: AtomicU64,
    pub faults: AtomicU64,
    pub voluntary_switches: AtomicU64,
    pub involuntary_switches: AtomicU64,
    pub peak_pages: AtomicU64,
}

impl Counters {
    pub fn add(&self, used: Used) {
        Stats::add(&self.user_cycles, used.user_cycles);
        Stats::add(&self.system_cycles, used.system_cycles);
        Stats::add(&self.faults, used.faults);
        Stats::add(&self.voluntary_switches, used.voluntary_switches);
        Stats::add(&self.involuntary_switches, used.involuntary_switches);
        self.peak_pages.fetch_max(used.peak_pages, Ordering::Relaxed);
    }

    pub fn load(&self) -> Used {
        Used {
            user_cycles: Stats::load(&self.user_cycles),
            system_cycles: Stats::load(&self.system_cycles),
            faults: Stats::load(&self.faults),
            voluntary_switches: Stats::load(&self.voluntary_switches),
            involuntary_switches: Stats::load(&self.involuntary_switches),
            peak_pages: Stats::load(&self.peak_pages),
        }
    }
}

/// Which side of the boundary CPU time was spent on.
#[derive(Clone, Copy)]
pub enum Mode {
    User,
    Kernel,
}

/// A process as its threads (a thread group, made by clone with CLONE_THREAD)
/// share it, by `Arc`: the process id, the address space, the descriptors, the
/// details, how many threads are still alive, and how the whole process ended if
/// one of them ended it (exit_group, a fatal signal). One allocation for all of
/// it: fork makes one per process.
pub struct ThreadGroup {
    /// The process id: the tid of its first thread (the leader), which getpid
    /// answers in every thread.
    pub tgid: Pid,
    /// None once the last thread has exited.
    pub memory: OrderedMutex<Option<AddressSpace>>,
    /// Closed when the last thread exits.
    pub files: Mutex<FdTable>,
    pub details: Mutex<Details>,
    /// The threads that have not finished exiting. The last one to leave releases
    /// what they share and makes the process a zombie.
    live_threads: AtomicU32,
    /// Set by the first exit_group or fatal signal: the whole process's status.
    exit_status: Mutex<Option<ExitStatus>>,
    /// prctl(PR_SET_CHILD_SUBREAPER): the orphans among its descendants are
    /// re-parented to it rather than to init. Not inherited by fork, as on Linux.
    child_subreaper: AtomicBool,
    /// The system call numbers whose ENOSYS the host was told about for this process
    /// (`syscall::unimplemented`), whichever thread called: one bit per number of the
    /// dispatch table.
    pub unimplemented_reported: AtomicNumberSet<{ SYSCALL_TABLE_SIZE.div_ceil(64) }>,
    /// What its threads that have ended used (added as each leaves the table, under
    /// its lock, so that `process_usage` counts every thread once), and the most
    /// pages ever resident in one of its address spaces (`record_peak`).
    pub ended: Counters,
    /// What the children it reaped used, each with what it reaped (RUSAGE_CHILDREN,
    /// times()).
    pub children: Counters,
    /// The effective nice value of its first thread (the one whose tid is `tgid`),
    /// kept by `sched::set_nice`: the pool lottery funds its threads from, which a
    /// thread carries to a CPU its first thread may not run on (`sched::Home`).
    pub pool_nice: AtomicI8,
}

impl ThreadGroup {
    /// The status exit_group or a fatal signal gave the whole process, if any.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        *self.exit_status.lock()
    }

    /// Whether more than one of its threads is alive.
    pub fn has_other_threads(&self) -> bool {
        self.live_threads.load(Ordering::Relaxed) > 1
    }

    /// Notes the peak residency of one of its address spaces that is going away.
    pub fn record_peak(&self, memory: &AddressSpace) {
        self.ended.add(Used { peak_pages: memory.resident_pages().1 as u64, ..Used::default() });
    }

    /// Whether it adopts its descendants' orphans (PR_GET_CHILD_SUBREAPER).
    pub fn is_child_subreaper(&self) -> bool {
        self.child_subreaper.load(Ordering::Relaxed)
    }

    /// Makes it adopt its descendants' orphans, or stop doing so (PR_SET_CHILD_SUBREAPER).
    pub fn set_child_subreaper(&self, on: bool) {
        self.child_subreaper.store(on, Ordering::Relaxed);
    }

    /// A thread has finished exiting; true if it was the last.
    fn leave(&self) -> bool {
        // Release: what the thread left in `ended` before is seen by whoever sees
        // it gone (`process_usage`).
        self.live_threads.fetch_sub(1, Ordering::AcqRel) == 1
    }
}

/// The live threads of the process whose group is `group`, oldest first (a
/// snapshot: one may be exiting by the time it is used).
pub fn threads_of(group: &ThreadGroup) -> Vec<Arc<Process>> {
    TABLE
        .lock()
        .entries
        .values()
        .filter(|entry| core::ptr::eq(&*entry.process.group, group) && entry.zombie.is_none())
        .map(|entry| entry.process.clone())
        .collect()
}

/// A thread: the schedulable unit (Linux's task), with its own tid, kernel stack,
/// registers, signal mask and pending signals; the memory, descriptors, details
/// and thread group it shares with the other threads of its process. A process with
/// one thread is what fork makes.
pub struct Process {
    /// Its thread id; for the first thread of a process, also the process id. It
    /// changes once at most: a thread that execs takes the process id (`take_over`).
    tid: AtomicU32,
    /// Its process's id (`group.tgid`, which never changes), next to what every
    /// system call reads of the thread (its call count, its attention word): getpid
    /// then costs one load, not the group's pointer and then its field.
    pid: Pid,
    /// Its process's parent's pid, as the leader's table row has it: written in
    /// every thread with the row, under the table's lock (`Table::set_parent`), so
    /// that getppid reads it without the lock, a search, or the group's pointer.
    parent: AtomicU32,
    pub group: Arc<ThreadGroup>,
    kernel_stack: KernelStack,
    /// Its kernel stack's trap-frame end and FPU area (see `kernel_stack_layout`), worked out
    /// once: every switch to the process hands them to the CPU.
    kernel_stack_layout: (u64, u64),
    /// The kernel registers saved when this process's thread is switched out.
    pub context: KernelContext,
    pub signals: Signals,
    /// This thread's own.
    pub thread: Mutex<ThreadDetails>,
    /// The program's segment selectors and FS/GS bases (its TLS pointer) while it
    /// is not running: its own thread saves them when it switches away.
    pub segments: SavedSegments,
    pub stats: Stats,
    /// TSC at the last accounting point (a mode change or the start of a run).
    accounted_until: AtomicU64,
    /// Set when a signal ends a blocking wait early (see `sched::block`).
    pub interrupted: AtomicBool,
    /// Set when `sched::interrupt` found the thread not yet blocked (it may be about
    /// to, on another CPU): its next `block_ignoring_signals` returns at once.
    pub interrupt_pending: AtomicBool,
    /// The CPU it last ran on, whose run queue's policy knows it (`sched`).
    pub last_cpu: AtomicU8,
    /// The CPUs it may run on (sched_setaffinity); inherited across fork and clone.
    pub affinity: AtomicU32,
    /// Its futex wait, if it waits on one: where its record is (`futex::Parking`).
    pub futex: crate::futex::Parking,
    /// Its nice value, -20..=19 (setpriority); inherited across fork, kept by exec,
    /// and told to the scheduling policy (`sched::set_nice`).
    pub nice: AtomicI8,
    /// Its scheduling policy, custom slice and reset-on-fork flag (sched_setattr),
    /// inherited across fork as Linux's sched_fork says (`SchedSettings::forked`).
    /// A leaf lock: nothing is locked while it is held.
    pub sched_settings: Mutex<SchedSettings>,
    /// Set once the thread has decided to exit; it leaves `trap::serve`.
    exit_status: Mutex<Option<ExitStatus>>,
}

/// What each thread has of its own beyond registers and signals.
pub struct ThreadDetails {
    /// Its name (comm): the file name of the last exec, or what prctl(PR_SET_NAME)
    /// gave this thread, as in `ps`.
    pub name: String,
    /// set_tid_address, CLONE_CHILD_CLEARTID: zeroed, and its futex woken, at exit.
    pub clear_child_tid: u64,
    /// CLONE_CHILD_SETTID: where the thread writes its tid before it first runs
    /// (0: nowhere).
    pub set_child_tid: u64,
    /// set_robust_list: the head of its list of robust futexes (0: none), walked
    /// at its exit.
    pub robust_list: u64,
}

/// Descriptive state of a process, changed rarely.
pub struct Details {
    pub cwd: crate::fs::rootfs::Held,
    /// The program file it runs (no writer may open it: ETXTBSY): where
    /// /proc/self/exe leads.
    pub exe: crate::fs::rootfs::Program,
    /// Whether it has exec'd since it was created (ends a vfork parent's wait).
    pub execed: bool,
    /// Inherited across fork and exec.
    pub limits: Limits,
    pub umask: u32,
}

/// Resource limits, by RLIMIT_* number. Reported and settable; the kernel's own
/// bounds (descriptors, processes, the stack region) are what is enforced.
pub type Limits = [Rlimit; RLIM_NLIMITS];

/// The limits init starts with: Linux's defaults, with the descriptor and process
/// limits timeshare enforces (RLIMIT_NPROC from memory, as Linux's).
pub fn default_limits() -> Limits {
    let mut limits = [Rlimit::UNLIMITED; RLIM_NLIMITS];
    limits[RLIMIT_STACK as usize] =
        Rlimit { current: kernel_core::region::DEFAULT_STACK_LIMIT, maximum: RLIM_INFINITY };
    limits[RLIMIT_CORE as usize] = Rlimit { current: 0, maximum: RLIM_INFINITY };
    limits[RLIMIT_NOFILE as usize] = NOFILE_DEFAULT;
    let nproc = DEFAULT_NPROC.load(Ordering::Relaxed);
    limits[RLIMIT_NPROC as usize] = Rlimit { current: nproc, maximum: nproc };
    limits
}

/// The umask init starts with.
pub const DEFAULT_UMASK: u32 = 0o022;

impl StackOwner for Process {
    fn kernel_stack(&self) -> &KernelStack {
        &self.kernel_stack
    }
}

impl Process {
    pub fn tid(&self) -> Pid {
        self.tid.load(Ordering::Relaxed)
    }

    /// The process id (getpid): its thread group's.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Its process's parent's pid (0 for init, and for a zombie nobody will wait for).
    pub fn parent(&self) -> Pid {
        self.parent.load(Ordering::Relaxed)
    }

    /// Whether it is the first thread of its process, the one the process id names
    /// (whose table row holds the process's relations).
    pub fn is_leader(&self) -> bool {
        self.tid() == self.group.tgid
    }

    /// Records that the thread is ending (exit, or its process ending); the first
    /// reason wins.
    pub fn begin_exit(&self, status: ExitStatus) {
        let mut exit = self.exit_status.lock();
        if exit.is_none() {
            *exit = Some(status);
            self.signals.set_exiting();
        }
    }

    pub fn exit_status(&self) -> Option<ExitStatus> {
        *self.exit_status.lock()
    }

    /// Whether the kernel must act before the program continues: a signal to
    /// deliver or an exit to carry out.
    pub fn needs_attention(&self) -> bool {
        self.signals.needs_attention()
    }

    pub fn name(&self) -> String {
        self.thread.lock().name.clone()
    }

    /// Charges the CPU time since the last accounting point to `mode` (at each
    /// crossing between user and kernel mode, and before a switch away), and
    /// returns the time stamp it charged up to.
    pub fn charge(&self, mode: Mode) -> u64 {
        let now = crate::arch::x86_64::cpu::rdtsc();
        let elapsed = now.wrapping_sub(self.accounted_until.swap(now, Ordering::Relaxed));
        let counter = match mode {
            Mode::User => &self.stats.counts.user_cycles,
            Mode::Kernel => &self.stats.counts.system_cycles,
        };
        Stats::add(counter, elapsed);
        now
    }

    /// Starts the clock again, at time stamp `now`, when the process gets the CPU
    /// back: time spent switched out is nobody's CPU time.
    pub fn resume_accounting(&self, now: u64) {
        self.accounted_until.store(now, Ordering::Relaxed);
    }

    /// The most pages its process has had resident in one address space, now
    /// included.
    fn peak_pages(&self) -> u64 {
        let resident_now = self.group.memory.lock().as_ref().map_or(0, |memory| memory.resident_pages().1 as u64);
        Stats::load(&self.group.ended.peak_pages).max(resident_now)
    }

    /// This thread's usage so far (RUSAGE_THREAD, /proc/PID/task/TID), with its
    /// process's peak residency.
    pub fn thread_usage(&self) -> Used {
        Used { peak_pages: self.peak_pages(), ..self.stats.used() }
    }

    /// Where this process's trap frame ends on its kernel stack, and its FPU area,
    /// for the CPU.
    pub fn kernel_stack_layout(&self) -> (u64, u64) {
        self.kernel_stack_layout
    }
}

/// One row of the process table, one per thread: the relations that outlive a
/// process's run. Those of a process (parent, children, process group, session)
/// are kept in its leader's row; the other threads' rows have none (0), so that
/// no search for a process or group finds them.
struct Entry {
    process: Arc<Process>,
    parent: Pid,
    children: Vec<Pid>,
    process_group: Pid,
    session: Pid,
    /// The signal its parent gets when it exits (clone's low byte; 0, or above 64:
    /// none). Only SIGCHLD children are wait4's without __WALL or __WCLONE.
    exit_signal: u8,
    /// Set when the process has exited and waits to be reaped.
    zombie: Option<ExitStatus>,
}

struct Table {
    entries: BTreeMap<Pid, Entry>,
    /// Every process of `entries` again, at index pid mod its length (a power of
    /// two, at least twice the number of rows, so that a free slot is always near):
    /// `find` runs on every context switch, and an index is cheaper than a tree
    /// search. Pids are handed out so that no two processes share a slot; doubling
    /// the length keeps them apart.
    by_slot: Vec<Option<Arc<Process>>>,
    /// The pid handed out last, where the search for the next one starts.
    last_pid: Pid,
    /// The highest pid ever handed out: a pid above it was never anybody's, and
    /// only below it can a process group or session still be using it.
    highest_pid: Pid,
    /// Rows detached by `lifecycle::become_zombie` or `lifecycle::release_thread`
    /// since `lifecycle::release_detached` last removed them.
    detached: Vec<Pid>,
}

/// The fewest slots `Table::by_slot` has once a process exists.
const MIN_SLOTS: usize = 64;

/// What `process`'s whole process used so far (getrusage, times,
/// CLOCK_PROCESS_CPUTIME_ID, /proc/PID/stat, the SIGCHLD of its end): every thread
/// still in the table (a leader that exited first stays there until the process
/// ends), and those that ended, as Linux's thread_group_cputime. With one thread
/// left or none, the leader's row is all that is left in the table; with more, the
/// table is walked (Linux walks the process's own list of threads).
pub fn process_usage(process: &Process) -> Used {
    let group = &process.group;
    let threads = match group.live_threads.load(Ordering::Acquire) {
        0 | 1 if process.is_leader() => process.stats.used(),
        // Ended, told by its last thread: the leader's row.
        0 => TABLE.lock().entries.get(&group.tgid).map_or_else(Used::default, |entry| entry.process.stats.used()),
        _ => TABLE.lock().threads_used(group),
    };
    Used { peak_pages: process.peak_pages(), ..threads.plus(group.ended.load()) }
}

impl Table {
    /// What the threads of `group` still in the table used (its leader's row even
    /// once the process is a zombie; the others leave as they end).
    fn threads_used(&self, group: &ThreadGroup) -> Used {
        self.entries
            .iter()
            .filter(|(&pid, entry)| {
                core::ptr::eq(&*entry.process.group, group) && (entry.zombie.is_none() || pid == group.tgid)
            })
            .fold(Used::default(), |used, (_, entry)| used.plus(entry.process.stats.used()))
    }

    /// Where `pid` is kept in `by_slot`.
    fn slot(&self, pid: Pid) -> usize {
        pid as usize & self.by_slot.len().wrapping_sub(1)
    }

    /// The next pid below pid_max that no process, process group or session uses
    /// and whose slot is free (making room for one more row first), which it
    /// consumes. None when there is none, or no memory for the room.
    fn allocate_pid(&mut self) -> Option<Pid> {
        self.make_room_for_one_more()?;
        let highest = self.highest_pid;
        let in_use = |pid: Pid| {
            self.by_slot[self.slot(pid)].is_some()
                || (pid <= highest
                    && (self.entries.contains_key(&pid)
                        || self.entries.values().any(|entry| entry.process_group == pid || entry.session == pid)))
        };
        let pid = kernel_core::pids::next_free(self.last_pid, PID_MAX.load(Ordering::Relaxed), in_use)?;
        self.last_pid = pid;
        self.highest_pid = self.highest_pid.max(pid);
        Some(pid)
    }

    /// Doubles `by_slot` if one more row would fill more than half of it. None
    /// when the kernel heap has no room.
    fn make_room_for_one_more(&mut self) -> Option<()> {
        let wanted = (2 * (self.entries.len() + 1)).max(MIN_SLOTS).next_power_of_two();
        if self.by_slot.len() >= wanted {
            return Some(());
        }
        let mut grown = Vec::new();
        grown.try_reserve_exact(wanted).ok()?;
        grown.resize(wanted, None);
        for process in core::mem::take(&mut self.by_slot).into_iter().flatten() {
            let slot = process.tid() as usize & (wanted - 1);
            grown[slot] = Some(process);
        }
        self.by_slot = grown;
        Some(())
    }

    /// Adds `pid`'s row (its slot was reserved by `allocate_pid`).
    fn insert(&mut self, pid: Pid, entry: Entry) {
        let slot = self.slot(pid);
        self.by_slot[slot] = Some(entry.process.clone());
        self.entries.insert(pid, entry);
    }

    /// Re-parents `pid`'s row, and, for a leader's, the copy each thread of its
    /// process keeps for getppid (another thread's row has no parent: its
    /// detaching leaves the process's alone). The other threads are searched for
    /// only when the group has other holders than the leader.
    fn set_parent(&mut self, pid: Pid, parent: Pid) {
        let Some(entry) = self.entries.get_mut(&pid) else { return };
        entry.parent = parent;
        let leader = &entry.process;
        if !leader.is_leader() {
            return;
        }
        leader.parent.store(parent, Ordering::Relaxed);
        if Arc::strong_count(&leader.group) > 1 {
            let group = Arc::as_ptr(&leader.group);
            for thread in self.entries.values().map(|entry| &entry.process) {
                if Arc::as_ptr(&thread.group) == group {
                    thread.parent.store(parent, Ordering::Relaxed);
                }
            }
        }
    }

    /// Takes `pid`'s row out of the table, freeing its slot.
    fn remove(&mut self, pid: Pid) -> Option<Entry> {
        let entry = self.entries.remove(&pid)?;
        self.unlist(pid);
        Some(entry)
    }

    /// Makes `pid` unfindable (`find`) while its row stays, and frees its slot (an
    /// exited thread: see `lifecycle::release_thread`). The slot may be another
    /// pid's by the time the row goes.
    fn unlist(&mut self, pid: Pid) {
        let slot = self.slot(pid);
        if self.by_slot.get(slot).and_then(Option::as_ref).is_some_and(|process| process.tid() == pid) {
            self.by_slot[slot] = None;
        }
    }

    /// Marks `pid`'s row as one nobody will wait for (see `lifecycle::release_detached`).
    fn detach(&mut self, pid: Pid) {
        if self.entries.contains_key(&pid) {
            self.set_parent(pid, DETACHED);
            self.detached.push(pid);
        }
    }
}

/// The parent of a zombie nobody will wait for.
const DETACHED: Pid = 0;

static TABLE: OrderedMutex<Table> = OrderedMutex::new(
    class::PROCESS_TABLE,
    Table { entries: BTreeMap::new(), by_slot: Vec::new(), last_pid: 0, highest_pid: 0, detached: Vec::new() },
);

/// Pids are below this (the `pid_max` kernel option, Linux's
/// /proc/sys/kernel/pid_max), then wrap around.
static PID_MAX: AtomicU32 = AtomicU32::new(kernel_core::pids::PID_MAX_DEFAULT);
/// The most threads the machine holds, zombies included (Linux's threads-max),
/// from its memory.
static THREADS_MAX: AtomicU64 = AtomicU64::new(u64::MAX);
/// The RLIMIT_NPROC init starts with, from the machine's memory.
static DEFAULT_NPROC: AtomicU64 = AtomicU64::new(RLIM_INFINITY);

/// Sizes the process table for a machine of `total_pages` pages with pids below
/// `pid_max`, as Linux does (see `kernel_core::pids`). Called once at boot.
pub fn set_limits(total_pages: u64, pid_max: u32) {
    let threads_max = kernel_core::pids::threads_max(total_pages);
    THREADS_MAX.store(threads_max, Ordering::Relaxed);
    DEFAULT_NPROC.store(kernel_core::pids::default_nproc(threads_max), Ordering::Relaxed);
    PID_MAX.store(pid_max, Ordering::Relaxed);
}

/// Pids stay below this (/proc/sys/kernel/pid_max).
pub fn pid_max() -> Pid {
    PID_MAX.load(Ordering::Relaxed)
}

/// The most threads the machine holds (threads-max).
pub fn threads_max() -> u64 {
    THREADS_MAX.load(Ordering::Relaxed)
}

/// How many threads (zombies included) may exist when one with `limits` creates
/// another: threads-max, or its RLIMIT_NPROC if lower (enforced for every
/// process: timeshare's processes all run as root, which Linux exempts, but then
/// a fork bomb would stop only at threads-max).
fn creation_limit(limits: &Limits) -> usize {
    let nproc = limits[RLIMIT_NPROC as usize].current;
    usize::try_from(threads_max().min(nproc)).unwrap_or(usize::MAX)
}

/// How many threads may exist when a thread of `group` creates another.
pub fn creation_limit_of(group: &ThreadGroup) -> usize {
    creation_limit(&group.details.lock().limits)
}

/// The process with `pid`, if it exists (zombies included).
pub fn find(pid: Pid) -> Option<Arc<Process>> {
    let table = TABLE.lock();
    table.by_slot.get(table.slot(pid))?.as_ref().filter(|process| process.tid() == pid).cloned()
}

/// How many processes exist (zombies included).
pub fn count() -> usize {
    TABLE.lock().entries.len()
}

/// Whether any thread has not exited yet.
pub fn any_alive() -> bool {
    TABLE.lock().entries.values().any(|entry| entry.zombie.is_none())
}

/// Every thread: its tid, its process's parent (0 for a thread that is not its
/// process's leader), whether it is a zombie, and itself.
pub fn list() -> Vec<(Pid, Pid, bool, Arc<Process>)> {
    TABLE
        .lock()
        .entries
        .iter()
        .map(|(&pid, entry)| (pid, entry.parent, entry.zombie.is_some(), entry.process.clone()))
        .collect()
}

/// The process table as text, one line per process: pid, parent, state, CPU time
/// and program (the console's Ctrl-P, like xv6's procdump).
pub fn table_dump() -> String {
    use core::fmt::Write;
    let mut text = String::from("\n  PID  PPID  STATE                 CPU ms  NAME\n");
    for (pid, parent, zombie, process) in list() {
        let state = if zombie { "zombie".into() } else { sched::state(pid) };
        let used = process.stats.used();
        let cycles = used.user_cycles + used.system_cycles;
        let cpu_ms = crate::time::cycles_to_ns(cycles) as f64 / 1e6;
        let _ = writeln!(text, "{pid:>5} {parent:>5}  {state:<20} {cpu_ms:>7.1}  {}", process.name());
    }
    text
}

/// What a new thread shares, or a new process starts with.
pub enum Belongings<'a> {
    /// A new process, with its own copies.
    Own { memory: AddressSpace, files: FdTable, details: Details },
    /// A new thread in the process of this (running) thread.
    ThreadOf(&'a Process),
}

/// The running thread `process`, the only one left of its process, takes the
/// process id as its tid (execve from a thread other than the first, as Linux's
/// de_thread): its row moves to the process's, whose relations it keeps, and the
/// first thread's row, which has exited for good, goes.
pub fn take_over(process: &Process) {
    let (old, tgid) = (process.tid(), process.pid());
    if old == tgid {
        return;
    }
    let mut table = TABLE.lock();
    // The process's row lives until the process is reaped, after its last thread.
    if !table.entries.contains_key(&tgid) {
        return;
    }
    let Some(own) = table.remove(old) else { return };
    let slot = table.slot(tgid);
    table.by_slot[slot] = Some(own.process.clone());
    if let Some(record) = table.entries.get_mut(&tgid) {
        // The old leader's row is now this thread's: what it used goes with the
        // threads that ended.
        process.group.ended.add(record.process.stats.used());
        record.process = own.process;
    }
    process.tid.store(tgid, Ordering::Relaxed);
    drop(table);
    crate::trace::record_name(tgid, &process.name());
    let settings = *process.sched_settings.lock();
    let nice = settings.effective_nice(process.nice.load(Ordering::Relaxed));
    process.group.pool_nice.store(nice, Ordering::Relaxed);
    sched::renumber_current(old, tgid, nice);
    if let Some(slice_ns) = settings.custom_slice_ns {
        sched::set_request(&process, slice_ns);
    }
}

/// Everything a new thread starts with.
pub struct Creation<'a> {
    pub name: String,
    pub belongings: Belongings<'a>,
    pub signals: SignalState,
    pub frame: &'a TrapFrame,
    pub fpu_state: &'a [u8],
    pub segments: UserSegments,
    pub exit_signal: u8,
    /// CLONE_PARENT_SETTID: where in the creator's memory its tid goes (0: nowhere).
    pub parent_tid: u64,
    pub set_child_tid: u64,
    pub clear_child_tid: u64,
}

/// Creates a thread: a new process under `parent` (0 for init), or a new thread
/// of a process (`Belongings::ThreadOf`; `parent` is then the creating thread,
/// whose nice value it inherits); its kernel stack with the initial trap frame
/// and FPU state, an entry in the table, and a place in the run queue. It starts
/// by returning from the trap into `frame`.
pub fn create(parent: Pid, creation: Creation) -> Result<Arc<Process>, i64> {
    let limit = match &creation.belongings {
        Belongings::Own { details, .. } => creation_limit(&details.limits),
        Belongings::ThreadOf(creator) => creation_limit_of(&creator.group),
    };
    let kernel_stack = KernelStack::new().ok_or(ENOMEM)?;
    let context = kernel_stack.prepare(creation.frame, creation.fpu_state, kernel_thread);
    let mut table = TABLE.lock();
    if table.entries.len() >= limit {
        return Err(EAGAIN);
    }
    let tid = table.allocate_pid().ok_or(EAGAIN)?;
    let creator = table.entries.get(&parent).map(|entry| &entry.process);
    let (sched_settings, nice) = creator.map_or((SchedSettings::default(), 0), |creator| {
        creator.sched_settings.lock().forked(creator.nice.load(Ordering::Relaxed))
    });
    let affinity = creator.map_or(CpuMask::MAX, |creator| creator.affinity.load(Ordering::Relaxed));
    let parent_tid_space = creator.filter(|_| creation.parent_tid != 0).map(|creator| creator.group.clone());
    // A thread's copy of its process's parent is taken under the table's lock, with
    // which every re-parenting writes them all.
    let (group, process_parent) = match creation.belongings {
        Belongings::Own { memory, files, details } => (
            Arc::new(ThreadGroup {
                tgid: tid,
                memory: OrderedMutex::new(class::ADDRESS_SPACE, Some(memory)),
                files: Mutex::new(files),
                details: Mutex::new(details),
                live_threads: AtomicU32::new(0),
                exit_status: Mutex::new(None),
                child_subreaper: AtomicBool::new(false),
                unimplemented_reported: AtomicNumberSet::new(),
                ended: Counters::default(),
                children: Counters::default(),
                pool_nice: AtomicI8::new(sched_settings.effective_nice(nice)),
            }),
            parent,
        ),
        Belongings::ThreadOf(creator) => (creator.group.clone(), creator.parent()),
    };
    group.live_threads.fetch_add(1, Ordering::Relaxed);
    crate::trace::record(tid, || kernel_core::trace::What::Create { parent, process: group.tgid });
    crate::trace::record_name(tid, &creation.name);
    let process = Arc::new(Process {
        tid: AtomicU32::new(tid),
        pid: group.tgid,
        parent: AtomicU32::new(process_parent),
        group,
        kernel_stack_layout: (kernel_stack.frame_end(), kernel_stack.fpu_area()),
        kernel_stack,
        context,
        signals: Signals::new(creation.signals),
        thread: Mutex::new(ThreadDetails {
            name: creation.name,
            clear_child_tid: creation.clear_child_tid,
            set_child_tid: creation.set_child_tid,
            robust_list: 0,
        }),
        segments: SavedSegments::new(creation.segments),
        stats: Stats { started_ns: AtomicU64::new(crate::time::monotonic_ns()), ..Stats::default() },
        accounted_until: AtomicU64::new(0),
        interrupted: AtomicBool::new(false),
        interrupt_pending: AtomicBool::new(false),
        last_cpu: AtomicU8::new(0),
        affinity: AtomicU32::new(affinity),
        futex: crate::futex::Parking::new(),
        nice: AtomicI8::new(nice),
        sched_settings: Mutex::new(sched_settings),
        exit_status: Mutex::new(None),
    });
    KernelStack::set_owner(&process);
    let entry = if process.is_leader() {
        let (process_group, session) = match table.entries.get_mut(&parent) {
            Some(parent_entry) => {
                parent_entry.children.push(tid);
                (parent_entry.process_group, parent_entry.session)
            }
            None => (tid, tid),
        };
        Entry {
            process: process.clone(),
            parent,
            children: Vec::new(),
            process_group,
            session,
            exit_signal: creation.exit_signal,
            zombie: None,
        }
    } else {
        Entry {
            process: process.clone(),
            parent: 0,
            children: Vec::new(),
            process_group: 0,
            session: 0,
            exit_signal: 0,
            zombie: None,
        }
    };
    table.insert(tid, entry);
    drop(table);
    if let Some(space) = parent_tid_space {
        // Before the child can run, as Linux: a thread reads its own tid from there
        // at once (musl's thread-list lock compares it with the lock's owner), and
        // on another CPU it may start before its creator returns. A bad address
        // loses the tid, not the child.
        if let Some(memory) = space.memory.lock().as_mut() {
            let _ = memory.write(creation.parent_tid, &tid.to_le_bytes());
        }
    }
    sched::start(&process);
    Ok(process)
}

/// Where every process's kernel thread begins (its first context switch returns
/// here): it writes its tid where CLONE_CHILD_SETTID asked, takes its saved user
/// state, serves the program until it exits, and ends as a zombie.
extern "C" fn kernel_thread() -> ! {
    {
        let process = sched::current();
        let set_child_tid = core::mem::take(&mut process.thread.lock().set_child_tid);
        if set_child_tid != 0 {
            // As Linux's schedule_tail, a bad address is the program's problem: the
            // write is skipped.
            if let Some(memory) = process.group.memory.lock().as_mut() {
                let _ = memory.write(set_child_tid, &process.tid().to_le_bytes());
            }
        }
        let mut user = process.kernel_stack.claim_user_state();
        trap::serve(&process, &mut user);
    }
    lifecycle::finish_exit()
}
