//! Acting on pending signals, on the way back to user mode: a default action
//! (terminate, stop, ignore), or a handler (entered by `frame::enter_handler`); and
//! finishing the system call a signal cut short, by Linux's restart rules
//! (`kernel_core::abi::signal::resumption`).

use super::frame::{enter_handler, Recorded};
use super::job::stop;
use super::{Interruption, SignalState};
use crate::arch::x86_64::frame::TrapFrame;
use crate::mm::kstack::UserState;
use crate::process::{self, ExitStatus, Process};
use kernel_core::abi::errno::EINTR;
use kernel_core::abi::signal::{resumption, DefaultAction, Disposition, Resumption, SigAction, SigInfo};
use kernel_core::abi::signal::{SA_RESETHAND, SIGSEGV, SIGSTOP, SIG_DFL, SI_KERNEL};
use kernel_core::abi::sysno;

/// On the way back to user mode: acts on every pending signal that is not blocked,
/// lowest first (faults before the rest). A handler gets a frame and the program
/// resumes in it, with more frames on top for further signals; a default action may
/// end the process (returns at once) or stop it (waits here until continued or
/// killed). A system call a signal cut short fails with EINTR or runs again, as
/// Linux decides from whether a handler runs and its SA_RESTART.
///
/// Inlined into its caller, the way back to user mode, with the work outlined: most
/// trips back have nothing to do and pay one test, no call.
#[inline]
pub fn deliver(process: &Process, user: &mut UserState) {
    // The summary byte says whether there is anything to do (a mask to put back
    // comes with the interrupted call that saved it: `SignalState::suspend_with`),
    // so most trips back to user mode (every sigreturn) take no lock here.
    if process.signals.needs_attention() {
        deliver_pending(process, user);
    }
}

/// `deliver` when there may be something to do.
#[inline(never)]
fn deliver_pending(process: &Process, user: &mut UserState) {
    if process.signals.exiting() {
        return;
    }
    // One lock for the first signal and for what the call it cuts short left.
    let (mut interruption, restores_mask, mut next) = {
        let mut state = process.signals.lock();
        let interruption = state.interruption.take();
        let restores_mask = state.saved_mask.is_some();
        (interruption, restores_mask, next_with_record(&mut state))
    };
    while let Some((info, action, recorded)) = next {
        let signal = info.signo();
        match action.disposition(signal) {
            Disposition::Handler(handler) => {
                if action.flags & SA_RESETHAND != 0 && process.group.has_other_threads() {
                    // The one-shot handler is gone for the whole process.
                    super::set_action_in_process(process, signal, SigAction { handler: SIG_DFL, ..action });
                }
                if let Some(call) = interruption.take() {
                    resume(user.frame, call, Some(action.flags));
                }
                if enter_handler(process, user, handler, &info, &action, &recorded).is_err() {
                    force_sigsegv(process, signal);
                }
            }
            Disposition::Ignore | Disposition::Default(DefaultAction::Ignore | DefaultAction::Continue) => {}
            // timeshare writes no core files (RLIMIT_CORE is 0, as on a default
            // Linux system), so a "core" signal terminates without the core flag.
            Disposition::Default(DefaultAction::Terminate | DefaultAction::CoreDump) => {
                process::lifecycle::exit_group(process, ExitStatus::Killed { signal, core_dumped: false });
                if process.pid() == process::INIT_PID {
                    process::lifecycle::report_fatal_signal(&info, user.frame.rip);
                }
            }
            Disposition::Default(DefaultAction::Stop) => {
                let group = process::group_and_session(process.pid()).map_or(0, |(group, _)| group);
                // The terminal's stop signals mean nothing to an orphaned group: no
                // shell is left to continue it (SIGSTOP always stops).
                if signal == SIGSTOP || !process::is_orphaned_group(group) {
                    stop(process, signal);
                }
            }
        }
        if process.signals.exiting() {
            return;
        }
        // Refreshed at every unlock: after a handler's frame, nothing more to lock for.
        next = if process.signals.needs_attention() { next_with_record(&mut process.signals.lock()) } else { None };
    }
    if let Some(call) = interruption {
        resume(user.frame, call, None);
    }
    if restores_mask {
        let mut state = process.signals.lock();
        if let Some(mask) = state.saved_mask.take() {
            state.blocked = mask;
        }
    }
}

/// The next signal to act on (`SignalState::next_to_deliver`), with what its
/// handler's frame records of the state under the same lock.
#[inline(always)]
fn next_with_record(state: &mut SignalState) -> Option<(SigInfo, SigAction, Recorded)> {
    state.next_to_deliver().map(|(info, action)| (info, action, Recorded::of(state)))
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
