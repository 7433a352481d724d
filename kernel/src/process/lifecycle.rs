//! Birth and death: fork, exit, wait, with Linux's semantics (zombies until the
//! parent reaps them, orphans re-parented to init or a subreaper, SIGCHLD to the
//! parent), and the end of the run when the last process has ended.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use spin::Mutex;

use super::{
    Belongings, Creation, Details, Entry, ExitStatus, Pid, Process, Stats, Table, Used, DETACHED, INIT_PID, TABLE,
};
use crate::arch::x86_64::debugcon::{self, Channel};
use crate::arch::x86_64::frame::TrapFrame;
use crate::arch::x86_64::power::{self, Shutdown};
use crate::mm::kstack::UserState;
use crate::sched::{self, WaitChannel};
use crate::signal::{self, JobEvent};
use kernel_core::abi::errno::{EAGAIN, ECHILD, ENOMEM};
use kernel_core::abi::signal::{Cause, SigInfo, ERESTARTSYS, SIGCHLD};
use kernel_core::abi::wait::{self as wait_status, WaitOptions};
use kernel_core::abi::Rusage;
use kernel_core::record::Record;

/// What clone asks of a child beyond fork's copy of its parent.
pub struct ChildSetup {
    /// The signal the parent gets at the child's exit (see `Entry::exit_signal`).
    pub exit_signal: u8,
    /// The child's stack pointer, instead of the parent's.
    pub stack: Option<u64>,
    /// The child's FS base (TLS pointer), checked by the caller.
    pub fs_base: Option<u64>,
    /// Where the creator's memory gets the child's tid before the child runs (0:
    /// nowhere).
    pub parent_tid: u64,
    /// Where the child writes its tid before it first runs (0: nowhere).
    pub set_child_tid: u64,
    /// Where its tid is zeroed at exit (0: nowhere).
    pub clear_child_tid: u64,
}

impl ChildSetup {
    /// fork and vfork: SIGCHLD at exit, nothing else.
    pub const FORK: ChildSetup = ChildSetup {
        exit_signal: SIGCHLD,
        stack: None,
        fs_base: None,
        parent_tid: 0,
        set_child_tid: 0,
        clear_child_tid: 0,
    };
}

/// Creates a child that is a copy of `parent` (fork): its memory shared
/// copy-on-write, its descriptors duplicated, its registers the parent's except
/// that the system call returns 0 in the child, shaped by `setup` before it can
/// run. Returns the child.
pub fn fork(parent: &Process, user: &mut UserState, setup: &ChildSetup) -> Result<Arc<Process>, i64> {
    make_room(parent);
    let memory = parent.group.memory.lock().as_mut().ok_or(ENOMEM)?.fork().map_err(|_| ENOMEM)?;
    let details = {
        let details = parent.group.details.lock();
        Details {
            cwd: details.cwd.clone(),
            exe: details.exe.clone(),
            execed: false,
            limits: details.limits,
            umask: details.umask,
        }
    };
    let belongings = Belongings::Own { memory, files: parent.group.files.lock().try_clone()?, details };
    let signals = parent.signals.lock().for_child();
    let frame = child_frame(user, setup);
    super::create(parent.pid(), copy_of(parent, &frame, user.fpu(), setup, belongings, signals))
}

/// Creates a thread in `creator`'s process (clone with CLONE_THREAD): the same
/// memory, descriptors and details, its registers the creator's except that the
/// system call returns 0 in it, on the stack, with the TLS and tid addresses of
/// `setup`. EAGAIN once the process is ending. Out of line: inlined into clone,
/// its frame (the FPU state it copies) would add to fork's on the same stack.
#[inline(never)]
pub fn spawn_thread(creator: &Process, user: &mut UserState, setup: &ChildSetup) -> Result<Arc<Process>, i64> {
    make_room(creator);
    if creator.group.exit_status().is_some() {
        return Err(EAGAIN);
    }
    let signals = creator.signals.lock().for_thread();
    let frame = child_frame(user, setup);
    super::create(creator.tid(), copy_of(creator, &frame, user.fpu(), setup, Belongings::ThreadOf(creator), signals))
}

/// Frees the rows of exited threads and processes nobody waits for, before a
/// creation takes one.
fn make_room(creator: &Process) {
    release_detached();
    if super::count() >= super::creation_limit_of(&creator.group) {
        // Children that only wait for the CPU to exit hold slots (a parent that
        // ignores SIGCHLD forking in a loop): let them run once before refusing, as
        // a machine with more CPUs would have.
        sched::yield_cpu(creator);
        release_detached();
    }
}

/// The registers a fork child or a new thread starts with: the caller's, but the
/// system call returns 0, on the stack `setup` gives.
fn child_frame(user: &UserState, setup: &ChildSetup) -> TrapFrame {
    let mut frame = *user.frame;
    frame.rax = 0;
    if let Some(stack) = setup.stack {
        frame.rsp = stack;
    }
    frame
}

/// What a fork child or a new thread starts as: `frame` and `fpu_state`, the
/// running `parent`'s segments with `setup`'s TLS, and `setup`'s tid addresses.
fn copy_of<'a>(
    parent: &Process,
    frame: &'a TrapFrame,
    fpu_state: &'a [u8],
    setup: &ChildSetup,
    belongings: Belongings<'a>,
    signals: crate::signal::SignalState,
) -> Creation<'a> {
    Creation {
        name: parent.name(),
        belongings,
        signals,
        frame,
        fpu_state,
        segments: {
            // The parent runs: its registers are the state to copy.
            parent.segments.save_running();
            let mut segments = parent.segments.get();
            if let Some(base) = setup.fs_base {
                segments.set_fs_base(base);
            }
            segments
        },
        exit_signal: setup.exit_signal,
        parent_tid: setup.parent_tid,
        set_child_tid: setup.set_child_tid,
        clear_child_tid: setup.clear_child_tid,
    }
}

/// Ends the whole process of `process` (exit_group, a fatal signal): the first
/// reason is its status, and every thread, woken if it waits, leaves for good.
pub fn exit_group(process: &Process, status: ExitStatus) {
    let status = *process.group.exit_status.lock().get_or_insert(status);
    process.begin_exit(status);
    if !process.group.has_other_threads() {
        return;
    }
    for thread in super::threads_of(&process.group) {
        if thread.tid() != process.tid() {
            thread.begin_exit(status);
            sched::interrupt(&thread);
        }
    }
}

/// execve's de_thread: every other thread of `process`'s process is ended, and
/// `process` waits until they all have, then takes the process id as its tid.
/// Returns early if `process` itself is killed meanwhile.
pub fn end_other_threads(process: &Process) {
    if !process.group.has_other_threads() {
        return;
    }
    let killed = ExitStatus::Killed { signal: kernel_core::abi::signal::SIGKILL, core_dumped: false };
    for thread in super::threads_of(&process.group) {
        if thread.tid() != process.tid() {
            thread.begin_exit(killed);
            sched::interrupt(&thread);
        }
    }
    loop {
        let wait = sched::prepare(WaitChannel::Children(process.pid()));
        if !process.group.has_other_threads() || process.exit_status().is_some() {
            break;
        }
        wait.block_ignoring_signals();
    }
    if process.exit_status().is_none() {
        super::take_over(process);
    }
}

/// Ends the current thread after it left the user loop, and gives up the CPU for
/// good. The last thread of its process ends the process: closes its files, frees
/// its memory, hands its children to init and makes it a zombie for its parent.
/// When the last process ends after init, the machine powers off with init's
/// status (the host CLI turns that into its own exit status).
pub fn finish_exit() -> ! {
    {
        let process = sched::current();
        let thread_status = process.exit_status().unwrap_or(ExitStatus::Exited(0));
        crate::log::write(
            crate::log::LogLevel::Debug,
            format_args!("tid {} ({}) exits: {:?}", process.tid(), process.name(), thread_status),
        );
        // Gone from the table before CLONE_CHILD_CLEARTID's wake: a joiner on
        // another CPU may call tgkill the moment it wakes (ESRCH).
        if !process.is_leader() {
            release_thread(process.tid());
        }
        release_user_words(&process);
        let last = process.group.leave();
        // As Linux, the process's status is exit_group's or the fatal signal's, or
        // else its last thread's own.
        let status = process.group.exit_status().unwrap_or(thread_status);
        if last {
            process.group.files.lock().close_all();
            crate::mm::activate_kernel_tree();
            // Dropped once unlocked: the open files its mappings keep may go with it.
            let memory = process.group.memory.lock().take();
            if let Some(memory) = &memory {
                process.group.record_peak(memory);
            }
        }
        if ACCOUNTING.load(Ordering::Relaxed) {
            report_accounting(&process, thread_status);
        }
        crate::trace::record(process.tid(), || kernel_core::trace::What::Exit {
            status: thread_status.wait_status() as u64,
        });
        if !last {
            // A thread that execs waits for the others to be gone (`end_other_threads`).
            sched::wake_all(WaitChannel::Children(process.pid()));
        }
        if last {
            if process.pid() == INIT_PID {
                init_ended(status);
            }
            if let Some((parent, exit_signal)) = become_zombie(process.pid(), status) {
                signal::notify_exit(&parent, &process, status, exit_signal);
            }
            let init_end = *INIT_END.lock();
            if let Some(init_status) = init_end.filter(|_| !super::any_alive()) {
                report_and_power_off(init_status);
            }
        }
    }
    sched::exit_current()
}

/// How init ended, once it has: the run's status, told to the host when the last
/// process is gone.
static INIT_END: Mutex<Option<ExitStatus>> = Mutex::new(None);
/// When the host is next told which processes are still alive after init's exit
/// (monotonic ns; never while init runs).
static NEXT_SURVIVOR_REPORT: AtomicU64 = AtomicU64::new(u64::MAX);
/// Guest time between two of those reports: a run that goes on without its first
/// process (a daemon blocked for good) says why it has not ended.
const SURVIVOR_REPORT_INTERVAL_NS: u64 = 5_000_000_000;
/// The most processes one report names (a record is one line of bounded length).
const SURVIVORS_NAMED: usize = 8;

/// Init's last thread has exited with `status`. Unlike Linux, whose namespace init
/// takes every process of its namespace with it, the run goes on until the orphans
/// have finished.
fn init_ended(status: ExitStatus) {
    *INIT_END.lock() = Some(status);
    NEXT_SURVIVOR_REPORT.store(crate::time::monotonic_ns() + SURVIVOR_REPORT_INTERVAL_NS, Ordering::Relaxed);
}

/// When the next survivors report is due (monotonic ns; `u64::MAX` while init
/// runs): a timer skipping ticks wakes no later.
pub fn next_survivor_report_ns() -> u64 {
    NEXT_SURVIVOR_REPORT.load(Ordering::Relaxed)
}

/// At a timer tick: once init has exited, every `SURVIVOR_REPORT_INTERVAL_NS` tells
/// the host how init ended and which processes keep the run going (a
/// `still-running` record, which it prints).
pub fn report_survivors_when_due(now: u64) {
    let due = NEXT_SURVIVOR_REPORT.load(Ordering::Relaxed);
    if now < due {
        return;
    }
    NEXT_SURVIVOR_REPORT.store(now + SURVIVOR_REPORT_INTERVAL_NS, Ordering::Relaxed);
    let Some(init_status) = *INIT_END.lock() else { return };
    let survivors: Vec<(Pid, Arc<Process>)> = super::list()
        .into_iter()
        .filter(|(pid, _, zombie, process)| !zombie && *pid == process.pid())
        .map(|(pid, _, _, process)| (pid, process))
        .collect();
    let mut named = alloc::string::String::new();
    for (pid, process) in survivors.iter().take(SURVIVORS_NAMED) {
        if !named.is_empty() {
            named.push_str(", ");
        }
        named.push_str(&alloc::format!("pid {pid} ({})", process.name()));
    }
    if survivors.len() > SURVIVORS_NAMED {
        named.push_str(&alloc::format!(" and {} more", survivors.len() - SURVIVORS_NAMED));
    }
    let mut record = Record::new("still-running");
    match init_status {
        ExitStatus::Exited(code) => record.number("exit", u64::from(code)),
        ExitStatus::Killed { signal, .. } => record.number("signal", u64::from(signal)),
    };
    record.text("processes", named.as_bytes());
    debugcon::write(Channel::Control, record.line());
}

/// What an exiting thread owes the threads it leaves behind in its memory: the
/// owner-died mark on the robust futexes it holds, then CLONE_CHILD_CLEARTID's
/// zero and wake (pthread_join). Only when another thread lives on: the memory
/// is about to go otherwise, as Linux's mm_release.
fn release_user_words(process: &Process) {
    if !process.group.has_other_threads() {
        return;
    }
    let (robust_list, clear_child_tid) = {
        let thread = process.thread.lock();
        (thread.robust_list, thread.clear_child_tid)
    };
    if robust_list != 0 {
        crate::futex::release_robust_list(process, robust_list);
    }
    if clear_child_tid != 0 {
        crate::futex::clear_child_tid(process, clear_child_tid);
    }
}

/// A thread other than its process's leader has exited: nobody waits for it, so
/// its row goes as soon as its kernel stack is no longer in use (`release_detached`).
fn release_thread(tid: Pid) {
    let mut table = TABLE.lock();
    if let Some(entry) = table.entries.get_mut(&tid) {
        entry.zombie = Some(ExitStatus::Exited(0));
        // Its process counts it among the threads that ended from now on, under the
        // lock that `process_usage` sums the table's threads under.
        entry.process.group.ended.add(entry.process.stats.used());
    }
    table.detach(tid);
    // As Linux reaps it at once: no call finds it any more (ESRCH).
    table.unlist(tid);
}

/// Whether exits are reported to the host (the `accounting=` kernel option).
static ACCOUNTING: AtomicBool = AtomicBool::new(false);

/// Turns the exit accounting records on (at boot, from the command line).
pub fn report_exits(on: bool) {
    ACCOUNTING.store(on, Ordering::Relaxed);
}

/// Sends the host the process's accounting (the closing table of the demo and of
/// `--stats`), as one control record.
fn report_accounting(process: &Process, status: ExitStatus) {
    let used = process.thread_usage();
    let mut record = Record::new("process");
    record
        .number("pid", u64::from(process.pid()))
        .number("tid", u64::from(process.tid()))
        .number("ppid", u64::from(process.parent()));
    match status {
        ExitStatus::Exited(code) => record.number("exit", u64::from(code)),
        ExitStatus::Killed { signal, .. } => record.number("signal", u64::from(signal)),
    };
    record
        .number("user_ns", crate::time::cycles_to_ns(used.user_cycles))
        .number("system_ns", crate::time::cycles_to_ns(used.system_cycles))
        .number("voluntary", used.voluntary_switches)
        .number("involuntary", used.involuntary_switches)
        .number("syscalls", Stats::load(&process.stats.system_calls))
        .number("faults", used.faults)
        .number("peak_kib", used.peak_pages * 4)
        .text("name", process.name().as_bytes());
    debugcon::write(Channel::Control, record.line());
}

/// Tells the host the cause of the signal that is ending init, so that it can say
/// it as a shell would (`killed signal=N` with `rip=R addr=A` for a fault at
/// address A, `rip=R` for a fault without one, `sender=PID` for a signal a process
/// sent); `rip` is where the program was.
pub fn report_fatal_signal(info: &SigInfo, rip: u64) {
    let mut record = Record::new("killed");
    record.number("signal", u64::from(info.signo()));
    match info.cause() {
        Cause::Fault { address } => {
            record.number("rip", rip);
            if let Some(address) = address {
                record.number("addr", address);
            }
        }
        Cause::Sent { pid } => {
            record.number("sender", u64::from(pid));
        }
        Cause::Kernel => {}
    }
    debugcon::write(Channel::Control, record.line());
}

/// Sends the host the files it asked for and tells it how init ended, then
/// powers off.
fn report_and_power_off(status: ExitStatus) -> ! {
    crate::fs::copy_out::send();
    let record = match status {
        ExitStatus::Exited(code) => alloc::format!("exit {code}\n"),
        ExitStatus::Killed { signal, .. } => alloc::format!("signal {signal}\n"),
    };
    crate::syscall::unimplemented::report_totals();
    crate::sched::report_cpus();
    debugcon::write(Channel::Control, record.as_bytes());
    crate::trace::finish();
    power::shutdown(Shutdown::PowerOff)
}

/// Marks `pid` a zombie, re-parents its children to their new reaper (the nearest
/// live ancestor that is a child subreaper, else init; they hear of their exits by
/// SIGCHLD, whatever clone asked, as on Linux), and wakes the waiters. Returns the
/// parent, to be signalled, and the signal, unless the parent has exited (init).
/// A zombie nobody will wait for is detached instead of waiting to be reaped: one
/// that reports with SIGCHLD to a (new) parent that ignores SIGCHLD or set
/// SA_NOCLDWAIT (Linux reaps it at once), and any whose parent is init after init
/// has exited; `release_detached` removes it once its kernel stack is no longer in
/// use.
fn become_zombie(pid: Pid, status: ExitStatus) -> Option<(Arc<Process>, u8)> {
    let mut table = TABLE.lock();
    let (parent, children, exit_signal) = {
        let entry = table.entries.get_mut(&pid)?;
        entry.zombie = Some(status);
        (entry.parent, core::mem::take(&mut entry.children), entry.exit_signal)
    };
    // Whether a zombie child of `parent` that reports with `exit_signal` will never
    // be waited for.
    let never_waited = |table: &Table, parent: Pid, exit_signal: u8| {
        table.entries.get(&parent).is_some_and(|entry| {
            entry.zombie.is_some() || (exit_signal == SIGCHLD && entry.process.signals.lock().ignores_children())
        })
    };
    let mut orphan_zombies = false;
    let reaper = if children.is_empty() { INIT_PID } else { reaper_for_orphans_of(&table, parent) };
    let reaper_waits = table.entries.get(&reaper).is_some_and(|entry| entry.zombie.is_none());
    let orphans_never_waited = never_waited(&table, reaper, SIGCHLD);
    let mut adopted = Vec::new();
    for child in children {
        if let Some(entry) = table.entries.get_mut(&child) {
            entry.exit_signal = SIGCHLD;
            if entry.zombie.is_some() && orphans_never_waited {
                table.detach(child);
                continue;
            }
            orphan_zombies |= entry.zombie.is_some();
            table.set_parent(child, reaper);
            adopted.push(child);
        }
    }
    if reaper_waits {
        if let Some(entry) = table.entries.get_mut(&reaper) {
            entry.children.extend(adopted);
        }
    }
    if never_waited(&table, parent, exit_signal) {
        if let Some(parent_entry) = table.entries.get_mut(&parent) {
            parent_entry.children.retain(|&child| child != pid);
        }
        table.detach(pid);
    }
    let parent_process = table
        .entries
        .get(&parent)
        .filter(|entry| entry.zombie.is_none())
        .map(|entry| (entry.process.clone(), exit_signal));
    drop(table);
    if orphan_zombies {
        sched::wake_all(WaitChannel::Children(reaper));
    }
    sched::wake_all(WaitChannel::Children(parent));
    sched::wake_all(WaitChannel::VforkDone(pid));
    parent_process
}

/// Who adopts the orphans of a process whose parent is `parent`: as Linux's
/// find_new_reaper, the nearest ancestor from `parent` up that is a child
/// subreaper and has not exited, else init.
fn reaper_for_orphans_of(table: &Table, parent: Pid) -> Pid {
    let mut ancestor = parent;
    while ancestor > INIT_PID {
        let Some(entry) = table.entries.get(&ancestor) else { break };
        if entry.zombie.is_none() && entry.process.group.is_child_subreaper() {
            return ancestor;
        }
        ancestor = entry.parent;
    }
    INIT_PID
}

/// Removes the detached zombies from the table (see `become_zombie`); each one's
/// kernel stack goes once its thread has switched away for good (`sched::forget`:
/// on another CPU, its final switch may still be under way).
fn release_detached() {
    let released: Vec<Entry> = {
        let mut table = TABLE.lock();
        if table.detached.is_empty() {
            return;
        }
        let detached = core::mem::take(&mut table.detached);
        detached
            .into_iter()
            .filter_map(|pid| {
                let gone = pid != INIT_PID
                    && table.entries.get(&pid).is_some_and(|entry| entry.zombie.is_some() && entry.parent == DETACHED);
                if gone {
                    table.remove(pid)
                } else {
                    None
                }
            })
            .collect()
    };
    for entry in released {
        sched::forget(&entry.process);
    }
}

/// Which children a wait4 accepts.
#[derive(Clone, Copy)]
pub enum WaitTarget {
    Any,
    Pid(Pid),
    Group(Pid),
}

/// `threads`, what a child's threads in the table used, with what its ended
/// threads and reaped children did: what wait4 reports of it, as Linux's
/// RUSAGE_BOTH, and what its parent's children's count gets once it is reaped.
fn with_ended_and_children(child: &Process, threads: Used) -> Used {
    let group = &child.group;
    threads.plus(group.ended.load()).plus(group.children.load())
}

/// What wait4 reports about a child: its pid, the status word and its resource
/// usage.
pub struct ChildReport {
    pub pid: Pid,
    pub status: i32,
    pub usage: Rusage,
}

/// Waits for a child of `parent` matching `target` (and `options`' choice of
/// SIGCHLD or clone children) to end and reaps it; with WUNTRACED / WCONTINUED in
/// `options`, a child that stopped or continued is reported too (once each time).
/// Children are considered in the order they were created, as Linux does. With
/// WNOHANG, returns Ok(None) instead of waiting. ECHILD when no child matches;
/// ERESTARTSYS when a signal cuts the wait short.
pub fn wait(parent: Pid, target: WaitTarget, options: WaitOptions) -> Result<Option<ChildReport>, i64> {
    release_detached();
    loop {
        let wait = sched::prepare(WaitChannel::Children(parent));
        // The child the wait is for, when only one matches (the scheduling policy
        // may lend it the waiter's share).
        let waited_for = {
            let mut table = TABLE.lock();
            let matches = |entry: &Entry, pid: Pid| {
                options.accepts(entry.exit_signal)
                    && match target {
                        WaitTarget::Any => true,
                        WaitTarget::Pid(wanted) => pid == wanted,
                        WaitTarget::Group(group) => entry.process_group == group,
                    }
            };
            // The first child in creation order with something to report: a zombie
            // to reap, or a stop or continue. Found in place (no copy of the list:
            // fork-exit-wait reaps through here).
            let mut matched = None;
            let mut several = false;
            let mut zombie = None;
            let children = table.entries.get(&parent).map_or(&[][..], |entry| &entry.children[..]);
            for &pid in children {
                let Some(entry) = table.entries.get(&pid).filter(|entry| matches(entry, pid)) else { continue };
                several |= matched.is_some();
                matched = Some(pid);
                if entry.zombie.is_some() {
                    zombie = Some(pid);
                    break;
                }
                let event = entry.process.signals.lock().take_job_event(|event| match event {
                    JobEvent::Stopped(_) => options.untraced,
                    JobEvent::Continued => options.continued,
                });
                let status = match event {
                    Some(JobEvent::Stopped(signal)) => wait_status::stopped(signal),
                    Some(JobEvent::Continued) => wait_status::continued(),
                    None => continue,
                };
                let usage = table.threads_used(&entry.process.group);
                let usage = with_ended_and_children(&entry.process, usage).rusage();
                return Ok(Some(ChildReport { pid, status, usage }));
            }
            if matched.is_none() {
                return Err(ECHILD);
            }
            if let Some(pid) = zombie {
                let entry = table.remove(pid).expect("a child is in the table");
                if let Some(parent_entry) = table.entries.get_mut(&parent) {
                    parent_entry.children.retain(|&child| child != pid);
                }
                let parent_process = table.entries.get(&parent).map(|entry| entry.process.clone());
                drop(table);
                sched::forget(&entry.process);
                // Its last thread is gone: the leader's row and what the others left.
                let usage = with_ended_and_children(&entry.process, entry.process.stats.used());
                if let Some(parent_process) = parent_process {
                    parent_process.group.children.add(usage);
                }
                let status = entry.zombie.expect("found as a zombie").wait_status();
                return Ok(Some(ChildReport { pid, status, usage: usage.rusage() }));
            }
            matched.filter(|_| !several)
        };
        if options.no_hang {
            return Ok(None);
        }
        if let Some(child) = waited_for.filter(|_| sched::lends_shares()).and_then(super::find) {
            sched::waiting_for(&child);
        }
        wait.block().map_err(|_| ERESTARTSYS)?;
    }
}
