//! Signals, Linux style. Each process has dispositions (sigaction), a mask, the
//! pending signals with one siginfo each, and an alternate stack. Signals are sent by
//! processes (kill), by the kernel (SIGCHLD, SIGPIPE, the terminal's keys) or by the
//! program itself when it faults (the offender, and only it, is dealt with), and acted on in `deliver`, on the way back to user mode: a default
//! action (terminate, core, stop, continue, ignore), or a handler, entered through a
//! signal frame on the user stack that `sigreturn` takes apart again.
//!
//! Delivery also finishes the system calls a signal cut short (Linux's restart
//! rules, `kernel_core::abi::signal::resumption`), and carries out job control: a
//! stopped process waits inside `deliver` until SIGCONT or SIGKILL.
//!
//! The frame is built from, and sigreturn checks, what user memory holds: a forged
//! frame cannot give the program kernel selectors, privileged RFLAGS bits or an XSAVE
//! image the kernel's own XRSTOR would fault on; a non-canonical rip or rsp is
//! caught by `enter_user`, as a #GP of the program.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU8, Ordering};
use spin::{Mutex, MutexGuard};

use crate::arch::x86_64::frame::TrapFrame;
use crate::arch::x86_64::{fpu, gdt};
use crate::mm::address_space::Fault;
use crate::mm::kstack::UserState;
use crate::process::{self, ExitStatus, Pid, Process, Stats};
use crate::sched::{self, WaitChannel};
use kernel_core::abi::errno::EINTR;
use kernel_core::abi::sigframe::{self, xstate, AltStack, Registers, SigContext, UContext};
use kernel_core::abi::sigframe::{SIGINFO_OFFSET, SS_AUTODISARM, SS_DISABLE, UCONTEXT_OFFSET, UCONTEXT_SIZE};
use kernel_core::abi::sigframe::{UC_FP_XSTATE, UC_SIGCONTEXT_SS, UC_STRICT_RESTORE_SS};
pub use kernel_core::abi::signal::SignalSet;
use kernel_core::abi::signal::{resumption, DefaultAction, Disposition, Resumption, SigAction, SigInfo};
use kernel_core::abi::signal::{CLD_CONTINUED, CLD_DUMPED, CLD_EXITED, CLD_KILLED, CLD_STOPPED, NSIG, STOP_SIGNALS};
use kernel_core::abi::signal::{
    SA_NOCLDSTOP, SA_NOCLDWAIT, SA_NODEFER, SA_ONSTACK, SA_RESETHAND, SA_RESTORER, SA_SIGINFO,
};
use kernel_core::abi::signal::{SIGCHLD, SIGCONT, SIGKILL, SIGSEGV, SIGSTOP, SIG_DFL, SIG_IGN, SI_KERNEL, SI_USER};
use kernel_core::abi::sysno;

/// What a parent learns about a child through wait4 with WUNTRACED or WCONTINUED.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum JobEvent {
    /// Stopped by this signal.
    Stopped(u8),
    Continued,
}

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

    /// The child's stop or continue for its parent's wait4, if `wanted` accepts it;
    /// reported once.
    pub fn take_job_event(&mut self, wanted: impl Fn(JobEvent) -> bool) -> Option<JobEvent> {
        let event = self.job_event.filter(|&event| wanted(event))?;
        self.job_event = None;
        Some(event)
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
        match self.infos.iter().position(|info| info.signo() == signal) {
            Some(index) => self.infos.swap_remove(index),
            None => SigInfo::sent(signal, SI_KERNEL, 0, 0),
        }
    }

    fn discard(&mut self, set: SignalSet) {
        self.pending = self.pending.without(set);
        self.infos.retain(|info| !set.contains(info.signo()));
    }

    /// Linux's `prepare_signal` for job control: a stop signal discards a pending
    /// SIGCONT; SIGCONT discards pending stop signals and, if the process is stopped,
    /// continues it (even if SIGCONT itself is blocked or ignored). True if it did.
    fn prepare(&mut self, signal: u8) -> bool {
        if STOP_SIGNALS.contains(&signal) {
            self.discard(SignalSet::of(SIGCONT));
        } else if signal == SIGCONT {
            let stops = STOP_SIGNALS.iter().fold(SignalSet::default(), |set, &stop| set.union(SignalSet::of(stop)));
            self.discard(stops);
            if self.stopped {
                self.stopped = false;
                self.job_event = Some(JobEvent::Continued);
                return true;
            }
        }
        false
    }

    /// The next signal to act on, its siginfo and the action to take (a one-shot
    /// handler is reset to SIG_DFL here, as Linux does when it picks the signal).
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

/// Sends `info` to `target`, as Linux's `send_signal`: job control first (see
/// `SignalState::prepare`); a signal the target ignores, or init has no handler
/// for, is dropped unless blocked (see `SignalState::drops`). If the target will
/// act on it, a blocking wait is cut short so it does so promptly.
pub fn send_info(target: &Process, info: SigInfo) {
    let signal = info.signo();
    let (continued, wake) = {
        let mut state = target.signals.lock();
        let continued = state.prepare(signal);
        let queued = !state.drops(signal) && state.queue(info);
        (continued, queued && !state.blocked.contains(signal))
    };
    if continued || wake {
        sched::interrupt(target.pid);
    }
}

/// Sends `signal` to `target` on behalf of the running process, as kill does
/// (SI_USER, the sender's pid); with no process running (an interrupt handler while
/// the CPU idles) it comes from the kernel (SI_KERNEL).
pub fn send(target: &Process, signal: u8) {
    let info = match sched::current_pid() {
        Some(pid) => SigInfo::sent(signal, SI_USER, pid, 0),
        None => SigInfo::sent(signal, SI_KERNEL, 0, 0),
    };
    send_info(target, info);
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
/// blocked or ignored (see `SignalState::force`).
pub fn force_fault(target: &Process, info: SigInfo, trap: TrapRecord) {
    let mut state = target.signals.lock();
    state.last_trap = trap;
    state.force(info);
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

/// On the way back to user mode: acts on every pending signal that is not blocked,
/// lowest first (faults before the rest). A handler gets a frame and the program
/// resumes in it, with more frames on top for further signals; a default action may
/// end the process (returns at once) or stop it (waits here until continued or
/// killed). A system call a signal cut short fails with EINTR or runs again, as
/// Linux decides from whether a handler runs and its SA_RESTART.
pub fn deliver(process: &Process, user: &mut UserState) {
    let mut interruption = process.signals.lock().interruption.take();
    loop {
        if process.exit_status().is_some() {
            return;
        }
        let next = process.signals.lock().next_to_deliver();
        let Some((info, action)) = next else { break };
        let signal = info.signo();
        match action.disposition(signal) {
            Disposition::Handler(handler) => {
                if let Some(call) = interruption.take() {
                    resume(user.frame, call, Some(action.flags));
                }
                if enter_handler(process, user, handler, &info, &action).is_err() {
                    force_sigsegv(process, signal);
                }
            }
            Disposition::Ignore | Disposition::Default(DefaultAction::Ignore | DefaultAction::Continue) => {}
            // timeshare writes no core files (RLIMIT_CORE is 0, as on a default
            // Linux system), so a "core" signal terminates without the core flag.
            Disposition::Default(DefaultAction::Terminate | DefaultAction::CoreDump) => {
                process.begin_exit(ExitStatus::Killed { signal, core_dumped: false })
            }
            Disposition::Default(DefaultAction::Stop) => {
                let group = process::group_and_session(process.pid).map_or(0, |(group, _)| group);
                // The terminal's stop signals mean nothing to an orphaned group: no
                // shell is left to continue it (SIGSTOP always stops).
                if signal == SIGSTOP || !process::is_orphaned_group(group) {
                    stop(process, signal);
                }
            }
        }
    }
    if let Some(call) = interruption {
        resume(user.frame, call, None);
    }
    let mut state = process.signals.lock();
    if let Some(mask) = state.saved_mask.take() {
        state.blocked = mask;
    }
}

/// Finishes an interrupted system call as `resumption` says: EINTR in rax, or the
/// `syscall` instruction (2 bytes) executed again, with its number back in rax (or
/// `restart_syscall`'s).
fn resume(frame: &mut TrapFrame, call: Interruption, handler_flags: Option<u64>) {
    match resumption(call.errno, handler_flags) {
        Some(Resumption::Interrupted) => frame.rax = (-EINTR) as u64,
        Some(Resumption::Again) => {
            frame.rax = call.number;
            frame.rip = frame.rip.wrapping_sub(2);
        }
        Some(Resumption::RestartSyscall) => {
            frame.rax = sysno::RESTART_SYSCALL as u64;
            frame.rip = frame.rip.wrapping_sub(2);
        }
        None => {}
    }
}

/// Linux's `force_sigsegv`: the frame for `signal` could not be built. A SIGSEGV
/// handler is forgotten first, or the next attempt would fail the same way forever.
fn force_sigsegv(process: &Process, signal: u8) {
    let mut state = process.signals.lock();
    if signal == SIGSEGV {
        let action = state.action(SIGSEGV);
        state.set_action(SIGSEGV, SigAction { handler: SIG_DFL, ..action });
    }
    state.force(SigInfo::sent(SIGSEGV, SI_KERNEL, 0, 0));
}

/// RFLAGS bits a handler starts without: direction, resume and trap flags.
const HANDLER_CLEARED_RFLAGS: u64 = (1 << 10) | (1 << 16) | (1 << 8);

/// Builds the signal frame (see `kernel_core::abi::sigframe`) for a handler of
/// `info`'s signal and points the program at the handler: rdi = signal, rsi =
/// &siginfo, rdx = &ucontext, rax = 0, rsp = the frame (whose first word, the
/// restorer, is the handler's return address), fresh FPU state. The handler runs
/// with its sa_mask and (unless SA_NODEFER) its own signal blocked; an SS_AUTODISARM
/// alternate stack is disarmed until sigreturn. Err (nothing changed but user
/// memory) without SA_RESTORER, as Linux on x86_64, or when the stack cannot take
/// the frame.
fn enter_handler(
    process: &Process,
    user: &mut UserState,
    handler: u64,
    info: &SigInfo,
    action: &SigAction,
) -> Result<(), ()> {
    if action.flags & SA_RESTORER == 0 {
        return Err(());
    }
    let (alt_stack, mask, trap) = {
        let state = process.signals.lock();
        (state.alt_stack, state.saved_mask.unwrap_or(state.blocked), state.last_trap)
    };
    let image_size = (user.fpu().len() + xstate::MAGIC2_SIZE) as u64;
    let place = sigframe::place(user.frame.rsp, action.flags & SA_ONSTACK != 0, &alt_stack, image_size).ok_or(())?;
    let context = UContext {
        flags: UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS,
        link: 0,
        stack: alt_stack.saved(),
        mcontext: SigContext {
            registers: registers_of(user.frame),
            cs: user.frame.code_segment(),
            gs: 0,
            fs: 0,
            ss: gdt::USER_DS,
            err: trap.error_code,
            trapno: trap.number,
            oldmask: mask.0,
            cr2: trap.address,
            fpstate: place.fpstate,
        },
        sigmask: mask.0,
    };
    // A fresh stack page the frame needs goes through the OOM policy, as the
    // program's own touch of it would.
    crate::oom::retrying(process, || {
        let mut memory = process.memory.lock();
        let memory = memory.as_mut().ok_or(Fault::Unmapped)?;
        xstate::write_frame_image(user.fpu(), fpu::components(), |offset, bytes| {
            memory.write(place.fpstate + offset as u64, bytes)
        })?;
        memory.write(place.frame, &sigframe::frame_head(action.restorer, &context))?;
        if action.flags & SA_SIGINFO != 0 {
            memory.write(place.frame + SIGINFO_OFFSET, &info.to_bytes())?;
        }
        Ok::<(), Fault>(())
    })
    .map_err(drop)?;
    let signal = info.signo();
    let frame = &mut *user.frame;
    frame.rdi = u64::from(signal);
    frame.rsi = place.frame + SIGINFO_OFFSET;
    frame.rdx = place.frame + UCONTEXT_OFFSET;
    frame.rax = 0;
    frame.rip = handler;
    frame.rsp = place.frame;
    // Handlers run in 64-bit code, whatever the program was running (as on Linux:
    // the interrupted segment is in the frame, for rt_sigreturn).
    frame.set_code_segment(gdt::USER_CS);
    frame.set_user_rflags(frame.rflags & !HANDLER_CLEARED_RFLAGS);
    user.fpu().copy_from_slice(fpu::initial_state());
    let mut state = process.signals.lock();
    state.saved_mask = None;
    let mut blocked = state.blocked.union(action.mask);
    if action.flags & SA_NODEFER == 0 {
        blocked.insert(signal);
    }
    state.set_blocked(blocked);
    if state.alt_stack.flags & SS_AUTODISARM != 0 {
        state.alt_stack = AltStack { base: 0, size: 0, flags: SS_DISABLE };
    }
    Ok(())
}

/// rt_sigreturn: restores the context saved in the frame at rsp - 8 (the handler's
/// `ret` popped the restorer address): registers, RFLAGS (the bits a program may
/// set), mask, FPU state, alternate stack. Returns the restored rax; the return to
/// user mode takes the IRETQ path, so rcx and r11 come back too. Err, with no
/// register, mask or stack restored, when the frame cannot be read or would make the
/// return fault: CS not one of the two user code segments (64- or 32-bit), SS not the user data one (Linux's IRET would fault on them),
/// or an XSAVE image XRSTOR would refuse (see `xstate::restore`: the FPU state is
/// then reset, as Linux resets it). The caller forces SIGSEGV.
pub fn sigreturn(process: &Process, user: &mut UserState) -> Result<u64, ()> {
    let frame = user.frame.rsp.wrapping_sub(8);
    let mut raw = [0u8; UCONTEXT_SIZE];
    read_user(process, frame.wrapping_add(UCONTEXT_OFFSET), &mut raw)?;
    let context = UContext::from_bytes(&raw);
    let saved = &context.mcontext;
    let code_segment = saved.cs | 3;
    if code_segment != gdt::USER_CS && code_segment != gdt::USER32_CS {
        return Err(());
    }
    // Without UC_STRICT_RESTORE_SS (an old frame format) Linux repairs a bad SS.
    if saved.ss | 3 != gdt::USER_DS && context.flags & UC_STRICT_RESTORE_SS != 0 {
        return Err(());
    }
    match saved.fpstate {
        0 => user.fpu().copy_from_slice(fpu::initial_state()),
        address => restore_xstate(process, address, user.fpu())?,
    }
    set_registers(user.frame, &saved.registers);
    user.frame.set_code_segment(code_segment);
    user.frame.set_user_rflags(saved.registers.rflags);
    user.frame.return_by_iret();
    let mut state = process.signals.lock();
    state.set_blocked(SignalSet(context.sigmask));
    state.sleep_restart = None;
    // Re-arms an SS_AUTODISARM stack; refusals (EPERM on the stack) are ignored, as
    // Linux's restore_altstack ignores them.
    if let Ok(stack) = state.alt_stack.replaced(context.stack, saved.registers.rsp) {
        state.alt_stack = stack;
    }
    Ok(saved.registers.rax)
}

/// Installs in `area` the XSAVE image a frame's fpstate points to, read from user
/// memory and checked (see `xstate::restore`; a refused image leaves the initial
/// state).
fn restore_xstate(process: &Process, address: u64, area: &mut [u8]) -> Result<(), ()> {
    let mut memory = process.memory.lock();
    let memory = memory.as_mut().ok_or(())?;
    let read = |offset: usize, buffer: &mut [u8]| memory.read(address.wrapping_add(offset as u64), buffer);
    xstate::restore(address, area, fpu::initial_state(), fpu::components(), fpu::mxcsr_mask(), read)
        .then_some(())
        .ok_or(())
}

fn read_user(process: &Process, address: u64, buffer: &mut [u8]) -> Result<(), ()> {
    crate::oom::retrying(process, || {
        let mut memory = process.memory.lock();
        memory.as_mut().ok_or(Fault::Unmapped)?.read(address, buffer)
    })
    .map_err(drop)
}

fn registers_of(frame: &TrapFrame) -> Registers {
    Registers {
        r8: frame.r8,
        r9: frame.r9,
        r10: frame.r10,
        r11: frame.r11,
        r12: frame.r12,
        r13: frame.r13,
        r14: frame.r14,
        r15: frame.r15,
        rdi: frame.rdi,
        rsi: frame.rsi,
        rbp: frame.rbp,
        rbx: frame.rbx,
        rdx: frame.rdx,
        rax: frame.rax,
        rcx: frame.rcx,
        rsp: frame.rsp,
        rip: frame.rip,
        rflags: frame.rflags,
    }
}

/// Loads the general registers, rip and rsp (not RFLAGS: see `set_user_rflags`).
fn set_registers(frame: &mut TrapFrame, registers: &Registers) {
    frame.r8 = registers.r8;
    frame.r9 = registers.r9;
    frame.r10 = registers.r10;
    frame.r11 = registers.r11;
    frame.r12 = registers.r12;
    frame.r13 = registers.r13;
    frame.r14 = registers.r14;
    frame.r15 = registers.r15;
    frame.rdi = registers.rdi;
    frame.rsi = registers.rsi;
    frame.rbp = registers.rbp;
    frame.rbx = registers.rbx;
    frame.rdx = registers.rdx;
    frame.rax = registers.rax;
    frame.rcx = registers.rcx;
    frame.rsp = registers.rsp;
    frame.rip = registers.rip;
}

/// Stops the process (job control): the parent hears of it (wait4 WUNTRACED, and
/// SIGCHLD unless its SIGCHLD action has SA_NOCLDSTOP), and the process waits here
/// until SIGCONT continues it (the parent hears of that too) or SIGKILL arrives.
/// Any other signal, even a fatal one, waits for SIGCONT, as on Linux.
fn stop(process: &Process, signal: u8) {
    {
        let mut state = process.signals.lock();
        state.stopped = true;
        state.job_event = Some(JobEvent::Stopped(signal));
    }
    notify_parent_of_job(process, CLD_STOPPED, signal);
    loop {
        {
            let mut state = process.signals.lock();
            if !state.stopped {
                break;
            }
            if state.pending.contains(SIGKILL) {
                state.stopped = false;
                return;
            }
        }
        sched::block_ignoring_signals(WaitChannel::Stopped(process.pid));
    }
    // Like Linux, the continued process itself tells its parent, once it runs (even
    // if SIGKILL followed SIGCONT: the parent hears of both).
    notify_parent_of_job(process, CLD_CONTINUED, SIGCONT);
}

/// A child stopped or continued: SIGCHLD to the parent unless it asked not to hear
/// of these (SA_NOCLDSTOP), and its wait4 is woken either way.
fn notify_parent_of_job(child: &Process, code: i32, signal: u8) {
    let Some(parent) = process::find(process::parent_of(child.pid)) else { return };
    if parent.signals.lock().action(SIGCHLD).flags & SA_NOCLDSTOP == 0 {
        send_info(&parent, child_info(child, SIGCHLD, code, i32::from(signal)));
    }
    sched::wake_all(WaitChannel::Children(parent.pid));
}

/// Tells `parent` that `child` ended with `status`: `exit_signal` (SIGCHLD unless
/// clone chose another; none if 0 or no signal number, as Linux) with CLD_EXITED,
/// CLD_KILLED or CLD_DUMPED, the status and the child's CPU times.
pub fn notify_exit(parent: &Process, child: &Process, status: ExitStatus, exit_signal: u8) {
    let Some(signal) = kernel_core::abi::signal::decode(u64::from(exit_signal)) else { return };
    let (code, value) = match status {
        ExitStatus::Exited(code) => (CLD_EXITED, i32::from(code)),
        ExitStatus::Killed { signal, core_dumped: false } => (CLD_KILLED, i32::from(signal)),
        ExitStatus::Killed { signal, core_dumped: true } => (CLD_DUMPED, i32::from(signal)),
    };
    send_info(parent, child_info(child, signal, code, value));
}

/// The siginfo of `signal` about `child`; CPU times in clock ticks (USER_HZ = 100).
fn child_info(child: &Process, signal: u8, code: i32, status: i32) -> SigInfo {
    let ticks = |cycles| crate::time::cycles_to_ns(cycles) / 10_000_000;
    let user = ticks(Stats::load(&child.stats.user_cycles));
    let system = ticks(Stats::load(&child.stats.system_cycles));
    SigInfo::child(signal, code, child.pid, 0, status, user, system)
}

/// A process's signal state behind its lock, with an atomic summary the system-call
/// fast path reads without locking: whether something is deliverable, and whether
/// the process is exiting. Every change to the state goes through a `lock()` guard,
/// which refreshes the deliverable bit when it is dropped, so the summary is never
/// stale once the lock is released; the exiting bit is set once and stays. One byte
/// holds both so that after a system call one load tells whether the kernel must act.
pub struct Signals {
    state: Mutex<SignalState>,
    attention: AtomicU8,
}

/// `Signals::attention`: a signal is deliverable (`SignalState::has_deliverable`).
const DELIVERABLE: u8 = 1;
/// `Signals::attention`: the process is exiting (`Process::begin_exit`).
const EXITING: u8 = 2;

impl Signals {
    pub fn new(state: SignalState) -> Signals {
        let attention = AtomicU8::new(if state.has_deliverable() { DELIVERABLE } else { 0 });
        Signals { state: Mutex::new(state), attention }
    }

    pub fn lock(&self) -> SignalsGuard<'_> {
        SignalsGuard { state: self.state.lock(), attention: &self.attention }
    }

    /// `has_deliverable`, without taking the lock.
    pub fn deliverable(&self) -> bool {
        self.attention.load(Ordering::Relaxed) & DELIVERABLE != 0
    }

    /// Records that the process is exiting, for `needs_attention`.
    pub fn set_exiting(&self) {
        self.attention.fetch_or(EXITING, Ordering::Relaxed);
    }

    /// A signal is deliverable or the process is exiting (`Process::needs_attention`).
    pub fn needs_attention(&self) -> bool {
        self.attention.load(Ordering::Relaxed) != 0
    }
}

/// The locked signal state; refreshes the deliverable bit of `Signals::attention`
/// when dropped.
pub struct SignalsGuard<'a> {
    state: MutexGuard<'a, SignalState>,
    attention: &'a AtomicU8,
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
            self.attention.fetch_or(DELIVERABLE, Ordering::Relaxed);
        } else {
            self.attention.fetch_and(!DELIVERABLE, Ordering::Relaxed);
        }
    }
}
