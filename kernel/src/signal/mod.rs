//! Signals, Linux style. Each process has dispositions (sigaction), a mask, the
//! pending signals with one siginfo each, and an alternate stack. Signals are sent by
//! processes (kill), by the kernel (SIGCHLD, SIGPIPE, the terminal's keys) or by the
//! program itself when it faults (the offender, and only it, is dealt with), and
//! acted on in `deliver`, on the way back to user mode.
//!
//! This module holds the per-process state and sending, the API the system calls,
//! traps and process lifecycle use. On the way back to user mode, `deliver` (in
//! `deliver.rs`) takes the default actions and finishes the system calls a signal cut
//! short; a handler is entered through a frame on the user stack that `sigreturn`
//! takes apart again (`frame.rs`); a stop signal and SIGCONT are job control, and a
//! parent hears of its children's stops, continues and ends (`job.rs`).

mod deliver;
mod frame;
mod job;

pub use deliver::deliver;
pub use frame::sigreturn;
pub use job::{notify_exit, JobEvent};

use crate::arch::x86_64::entry::{Attention, AttentionReason, SyscallExit};
use alloc::vec::Vec;
use spin::{Mutex, MutexGuard};

use crate::process::{self, Pid, Process};
use crate::sched;
use kernel_core::abi::sigframe::AltStack;
pub use kernel_core::abi::signal::SignalSet;
use kernel_core::abi::signal::{resumption, Disposition, SigAction, SigInfo};
use kernel_core::abi::signal::{NSIG, SA_NOCLDWAIT, SA_RESETHAND, STOP_SIGNALS};
use kernel_core::abi::signal::{SIGCHLD, SIGCONT, SIGKILL, SIG_DFL, SIG_IGN, SI_KERNEL, SI_USER};

/// An interrupted relative sleep, which `restart_syscall` resumes.
#[derive(Clone, Copy, Debug)]
pub struct SleepRestart {
    /// Monotonic time the sleep ends.
    pub deadline_ns: u64,
    /// Where to report the time left if it is interrupted again (0: nowhere).
    pub remaining: u64,
}

/// The trap behind the last fault signal: the sigcontext's trapno, err and cr2.
#[derive(Clone, Copy, Default, Debug)]
pub struct TrapRecord {
    pub number: u64,
    pub error_code: u64,
    pub address: u64,
}

/// A system call a signal cut short: its number, and the restart code it ended with.
#[derive(Clone, Copy, Debug)]
struct Interruption {
    number: u64,
    errno: i64,
}

/// A process's signal state.
#[derive(Clone)]
pub struct SignalState {
    pending: SignalSet,
    /// The siginfo of each pending signal. One instance per signal number, as Linux
    /// keeps for standard signals (a real-time signal sent twice is pending once).
    infos: Vec<SigInfo>,
    blocked: SignalSet,
    actions: [SigAction; NSIG as usize],
    alt_stack: AltStack,
    /// rt_sigsuspend's caller's mask, put back once a handler frame records it, or
    /// when no handler runs (Linux's saved_sigmask).
    saved_mask: Option<SignalSet>,
    interruption: Option<Interruption>,
    pub sleep_restart: Option<SleepRestart>,
    /// Stopped by job control.
    stopped: bool,
    /// rt_sigtimedwait's set while it waits: unblocked so that their arrival wakes
    /// it, yet kept on arrival as blocked signals are (Linux's real_blocked).
    awaited: SignalSet,
    /// Init's protection (Linux's SIGNAL_UNKILLABLE): it takes no default action,
    /// so a signal it has no handler for is dropped, SIGKILL and SIGSTOP included.
    /// Lifted by a fault it cannot handle, which must end it.
    unkillable: bool,
    /// The latest stop or continue, until the parent's wait4 reports it.
    job_event: Option<JobEvent>,
    last_trap: TrapRecord,
}

impl Default for SignalState {
    /// What the first process starts with: every signal SIG_DFL, nothing blocked.
    fn default() -> SignalState {
        SignalState {
            pending: SignalSet::default(),
            infos: Vec::new(),
            blocked: SignalSet::default(),
            actions: [SigAction::DEFAULT; NSIG as usize],
            alt_stack: AltStack::default(),
            saved_mask: None,
            interruption: None,
            sleep_restart: None,
            stopped: false,
            awaited: SignalSet::default(),
            unkillable: false,
            job_event: None,
            last_trap: TrapRecord::default(),
        }
    }
}

impl SignalState {
    /// What init starts with: the default state, protected as Linux protects init.
    pub fn for_init() -> SignalState {
        SignalState { unkillable: true, ..SignalState::default() }
    }

    /// What a fork child starts with: the parent's dispositions, mask and alternate
    /// stack; nothing pending.
    pub fn for_child(&self) -> SignalState {
        SignalState {
            actions: self.actions,
            blocked: self.blocked,
            alt_stack: self.alt_stack,
            ..SignalState::default()
        }
    }

    /// What a new thread starts with: the creating thread's dispositions and mask,
    /// nothing pending, and no alternate stack (Linux clears it for a child that
    /// shares the memory, where the creator's stack would be used by both).
    pub fn for_thread(&self) -> SignalState {
        SignalState { alt_stack: AltStack::default(), ..self.for_child() }
    }

    /// execve: handlers become SIG_DFL (ignored signals stay ignored), the alternate
    /// stack is forgotten; the mask and the pending signals survive.
    pub fn reset_for_exec(&mut self) {
        for action in &mut self.actions {
            *action = action.after_exec();
        }
        self.alt_stack = AltStack::default();
        self.sleep_restart = None;
    }

    /// Whether the kernel must act before the program continues: a pending signal
    /// that is not blocked (it also ends a blocking wait), or a system call a signal
    /// cut short that `deliver` has yet to finish.
    pub fn has_deliverable(&self) -> bool {
        !self.pending.without(self.blocked).is_empty() || self.interruption.is_some()
    }

    pub fn blocked(&self) -> SignalSet {
        self.blocked
    }

    /// Sets the mask; SIGKILL and SIGSTOP are never blocked.
    pub fn set_blocked(&mut self, set: SignalSet) {
        self.blocked = set.blockable();
    }

    /// rt_sigpending: the pending signals that are blocked.
    pub fn pending_blocked(&self) -> SignalSet {
        SignalSet(self.pending.0 & self.blocked.0)
    }

    pub fn action(&self, signal: u8) -> SigAction {
        self.actions.get(usize::from(signal).wrapping_sub(1)).copied().unwrap_or(SigAction::DEFAULT)
    }

    /// Installs `action` for `signal` (not SIGKILL/SIGSTOP: the caller checks). If it
    /// ignores the signal, pending instances are discarded, blocked or not (POSIX).
    pub fn set_action(&mut self, signal: u8, action: SigAction) {
        if let Some(slot) = self.actions.get_mut(usize::from(signal).wrapping_sub(1)) {
            *slot = action;
        }
        if action.ignores(signal) {
            self.discard(SignalSet::of(signal));
        }
    }

    /// Whether children's ends are of no interest: SIGCHLD ignored, or SA_NOCLDWAIT.
    /// Their zombies are then not kept for wait4.
    pub fn ignores_children(&self) -> bool {
        let action = self.action(SIGCHLD);
        action.handler == SIG_IGN || action.flags & SA_NOCLDWAIT != 0
    }

    pub fn alt_stack(&self) -> AltStack {
        self.alt_stack
    }

    pub fn set_alt_stack(&mut self, stack: AltStack) {
        self.alt_stack = stack;
    }

    /// rt_sigsuspend: waits with `mask` instead of the current mask, which comes back
    /// after the handler (the frame records it) or at once if no handler runs.
    pub fn suspend_with(&mut self, mask: SignalSet) {
        self.saved_mask = Some(self.blocked);
        self.set_blocked(mask);
    }

    /// Ends a `suspend_with` whose call returns without being interrupted (ppoll,
    /// pselect6 found a file ready or timed out): the old mask comes back at once,
    /// and signals only the temporary mask admitted stay pending (Linux's
    /// `restore_saved_sigmask_unless`).
    pub fn end_suspend(&mut self) {
        if let Some(mask) = self.saved_mask.take() {
            self.blocked = mask;
        }
    }

    /// rt_sigtimedwait is about to wait for `wanted`: they are unblocked, and still
    /// kept on arrival even if their action ignores them. Returns the mask to put
    /// back with `end_await`.
    pub fn await_signals(&mut self, wanted: SignalSet) -> SignalSet {
        let mask = self.blocked;
        self.awaited = wanted;
        self.set_blocked(mask.without(wanted));
        mask
    }

    /// The wait of `await_signals` is over: `mask` is the mask again.
    pub fn end_await(&mut self, mask: SignalSet) {
        self.awaited = SignalSet::default();
        self.set_blocked(mask);
    }

    /// Whether `signal` is dropped on arrival (Linux's `sig_ignored`): never while
    /// blocked or awaited (its action may change before it is taken); otherwise if
    /// its action ignores it, or if the process is init and would take the default
    /// action.
    fn drops(&self, signal: u8) -> bool {
        if self.blocked.contains(signal) || self.awaited.contains(signal) {
            return false;
        }
        let action = self.action(signal);
        action.ignores(signal) || (self.unkillable && action.handler == SIG_DFL)
    }

    /// rt_sigtimedwait: takes the first pending signal of `wanted`, blocked or not.
    pub fn take_from(&mut self, wanted: SignalSet) -> Option<SigInfo> {
        let signal = SignalSet(self.pending.0 & wanted.0).first()?;
        Some(self.unqueue(signal))
    }

    /// Makes `info` pending; false if its signal already was (the new one is lost).
    fn queue(&mut self, info: SigInfo) -> bool {
        let signal = info.signo();
        if self.pending.contains(signal) {
            return false;
        }
        self.pending.insert(signal);
        self.infos.push(info);
        true
    }

    /// Removes `signal` from the pending set and returns its siginfo.
    fn unqueue(&mut self, signal: u8) -> SigInfo {
        self.pending.remove(signal);
        // Most often the one queued: taken off the end, no search and no move.
        if let Some(info) = self.infos.pop_if(|info| info.signo() == signal) {
            return info;
        }
        match self.infos.iter().position(|info| info.signo() == signal) {
            Some(index) => self.infos.swap_remove(index),
            None => SigInfo::sent(signal, SI_KERNEL, 0, 0),
        }
    }

    fn discard(&mut self, set: SignalSet) {
        self.pending = self.pending.without(set);
        self.infos.retain(|info| !set.contains(info.signo()));
    }

    /// The next signal to act on, its siginfo and the action to take (a one-shot
    /// handler is reset to SIG_DFL here, as Linux does when it picks the signal).
    ///
    /// `#[inline]`: its one caller, `deliver`, is in another module, which may be
    /// compiled in another codegen unit, where a plain function is not inlined.
    #[inline]
    fn next_to_deliver(&mut self) -> Option<(SigInfo, SigAction)> {
        loop {
            let signal = self.pending.without(self.blocked).first()?;
            let info = self.unqueue(signal);
            let action = self.action(signal);
            // Init takes no default action: a signal kept while blocked, whose
            // handler is gone by now, is dropped as it would have been on arrival.
            if self.unkillable && action.handler == SIG_DFL {
                continue;
            }
            if action.flags & SA_RESETHAND != 0 && matches!(action.disposition(signal), Disposition::Handler(_)) {
                self.set_action(signal, SigAction { handler: SIG_DFL, ..action });
            }
            return Some((info, action));
        }
    }

    /// Linux's `force_sig_info`: a signal the program cannot escape (a fault it
    /// caused, a frame it broke). Blocked or ignored, it cannot be taken as such, so
    /// it gets its default action, unblocked; a default action ends even init.
    fn force(&mut self, info: SigInfo) {
        let signal = info.signo();
        let action = self.action(signal);
        if self.blocked.contains(signal) || action.handler == SIG_IGN {
            self.set_action(signal, SigAction { handler: SIG_DFL, ..action });
            self.blocked.remove(signal);
        }
        if self.action(signal).handler == SIG_DFL {
            self.unkillable = false;
        }
        self.queue(info);
    }
}

/// Sends `info` to the process of thread `target` (kill, the terminal, a child's
/// end), as Linux's group signals: SIGKILL and the job-control signals to every
/// thread (the whole process dies, stops or continues); any other signal to one
/// thread that does not block it, `target` first, else `target` (where it stays
/// pending until unblocked). A thread that is exiting takes none.
#[inline]
pub fn send_info(target: &Process, info: SigInfo) {
    if target.group.has_other_threads() || target.signals.exiting() {
        return send_to_some_thread(target, info);
    }
    send_to_thread(target, info)
}

/// `send_info` to a process with several threads (or whose thread `target` is
/// exiting): the choice of the thread.
#[cold]
#[inline(never)]
fn send_to_some_thread(target: &Process, info: SigInfo) {
    let signal = info.signo();
    let threads = process::threads_of(&target.group);
    let live = || threads.iter().filter(|thread| !thread.signals.exiting());
    if signal == SIGKILL || signal == SIGCONT || STOP_SIGNALS.contains(&signal) {
        live().for_each(|thread| send_to_thread(thread, info));
        return;
    }
    let unblocking = |thread: &&alloc::sync::Arc<Process>| !thread.signals.lock().blocked().contains(signal);
    let chosen = live()
        .find(|thread| thread.tid() == target.tid())
        .filter(unblocking)
        .or_else(|| live().find(unblocking))
        .or_else(|| live().next());
    if let Some(thread) = chosen {
        send_to_thread(thread, info);
    }
}

/// Sets the action of `signal` in every thread of `process`'s process, and returns
/// the one it replaces: the threads' signal states each keep a copy of the
/// process's actions, which only rt_sigaction and a one-shot handler's reset change.
pub fn set_action_in_process(process: &Process, signal: u8, action: SigAction) -> SigAction {
    let previous = {
        let mut state = process.signals.lock();
        let previous = state.action(signal);
        state.set_action(signal, action);
        previous
    };
    if process.group.has_other_threads() {
        for thread in process::threads_of(&process.group) {
            if thread.tid() != process.tid() {
                thread.signals.lock().set_action(signal, action);
            }
        }
    }
    previous
}

/// Sends `info` to thread `target` only (tkill, tgkill, SIGPIPE), as Linux's
/// `send_signal`: job control first (see `SignalState::prepare`); a signal the
/// target ignores, or init has no handler for, is dropped unless blocked (see
/// `SignalState::drops`). If the target will act on it, a blocking wait is cut
/// short so it does so promptly.
pub fn send_to_thread(target: &Process, info: SigInfo) {
    let signal = info.signo();
    let (continued, wake) = {
        let mut state = target.signals.lock();
        let continued = state.prepare(signal);
        let queued = !state.drops(signal) && state.queue(info);
        (continued, queued && !state.blocked.contains(signal))
    };
    if continued || wake {
        sched::interrupt(target);
    }
}

/// `signal` for the calling thread, from itself (SI_USER), as Linux's
/// `send_sig(signal, current)`: a write with no reader left (SIGPIPE), past the
/// file size limit (SIGXFSZ).
pub fn send_to_caller(caller: &Process, signal: u8) {
    send_to_thread(caller, SigInfo::sent(signal, SI_USER, caller.pid(), 0));
}

/// Sends `signal` to `target`'s process on behalf of `sender`, as kill does
/// (SI_USER, the sender's pid).
pub fn send(target: &Process, signal: u8, sender: &Process) {
    send_info(target, SigInfo::sent(signal, SI_USER, sender.pid(), 0));
}

/// The OOM killer's SIGKILL, which even init does not refuse: the kernel picks it
/// only when no other process holds memory to free.
pub fn kill_for_memory(target: &Process) {
    target.signals.lock().unkillable = false;
    send_info(target, SigInfo::sent(SIGKILL, SI_KERNEL, 0, 0));
}

/// Sends `signal` from the kernel to every live member of process group `group`:
/// what the terminal does for its interrupt, quit and suspend keys.
pub fn send_to_group(group: Pid, signal: u8) {
    for member in process::members_of_group(group).into_iter().filter_map(process::find) {
        send_info(&member, SigInfo::sent(signal, SI_KERNEL, 0, 0));
    }
}

/// A fault of the program's own (`info` says which, `trap` where): delivered even if
/// blocked or ignored (see `SignalState::force`). True when a handler of the
/// program's will take it (Linux's `!unhandled_signal`), false when it gets the
/// default action.
pub fn force_fault(target: &Process, info: SigInfo, trap: TrapRecord) -> bool {
    let mut state = target.signals.lock();
    state.last_trap = trap;
    state.force(info);
    state.action(info.signo()).handler != SIG_DFL
}

/// Forces `signal` from the kernel (SI_KERNEL): a signal frame that cannot be read
/// back (sigreturn) or written (delivery).
pub fn force(target: &Process, signal: u8) {
    target.signals.lock().force(SigInfo::sent(signal, SI_KERNEL, 0, 0));
}

/// Records that system call `number` ended with `errno`; if that is one of the
/// restart codes, `deliver` decides what the program sees (EINTR, or the call again).
pub fn note_result(process: &Process, number: u64, errno: i64) {
    if resumption(errno, None).is_some() {
        process.signals.lock().interruption = Some(Interruption { number, errno });
    }
}

/// A process's signal state behind its lock, with an atomic summary the system-call
/// fast path reads without locking: whether something is deliverable, and whether
/// the process is exiting. Every change to the state goes through a `lock()` guard,
/// which refreshes the deliverable bit when it is dropped, so the summary is never
/// stale once the lock is released; the exiting bit is set once and stays. One byte
/// holds both so that after a system call one load tells whether the kernel must act.
pub struct Signals {
    state: Mutex<SignalState>,
    attention: Attention,
}

/// `Signals::attention`: a signal is deliverable (`SignalState::has_deliverable`).
const DELIVERABLE: AttentionReason = AttentionReason::new(0);
/// `Signals::attention`: the process is exiting (`Process::begin_exit`).
const EXITING: AttentionReason = AttentionReason::new(1);

impl Signals {
    pub fn new(state: SignalState) -> Signals {
        let attention = Attention::new();
        if state.has_deliverable() {
            attention.set(DELIVERABLE);
        }
        Signals { state: Mutex::new(state), attention }
    }

    pub fn lock(&self) -> SignalsGuard<'_> {
        SignalsGuard { state: self.state.lock(), attention: &self.attention }
    }

    /// Whether the thread is exiting (`Process::begin_exit`).
    pub fn exiting(&self) -> bool {
        self.attention.is_set(EXITING)
    }

    /// Records that the process is exiting, for `needs_attention`.
    pub fn set_exiting(&self) {
        self.attention.set(EXITING);
    }

    /// A signal is deliverable or the process is exiting (`Process::needs_attention`).
    #[inline]
    pub fn needs_attention(&self) -> bool {
        self.attention.any()
    }

    /// How a system call on the fast path returns: straight back unless
    /// `needs_attention` (one load).
    #[inline(always)]
    pub fn syscall_exit(&self) -> SyscallExit {
        SyscallExit::after(&self.attention)
    }
}

/// The locked signal state; refreshes the deliverable bit of `Signals::attention`
/// when dropped.
pub struct SignalsGuard<'a> {
    state: MutexGuard<'a, SignalState>,
    attention: &'a Attention,
}

impl core::ops::Deref for SignalsGuard<'_> {
    type Target = SignalState;
    fn deref(&self) -> &SignalState {
        &self.state
    }
}

impl core::ops::DerefMut for SignalsGuard<'_> {
    fn deref_mut(&mut self) -> &mut SignalState {
        &mut self.state
    }
}

impl Drop for SignalsGuard<'_> {
    /// Read-modify-write, not a store: `set_exiting` does not take the lock, and
    /// its bit must survive.
    fn drop(&mut self) {
        if self.state.has_deliverable() {
            self.attention.set(DELIVERABLE);
        } else {
            self.attention.clear(DELIVERABLE);
        }
    }
}
