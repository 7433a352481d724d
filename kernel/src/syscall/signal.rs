//! Signal calls: dispositions (rt_sigaction), the mask (rt_sigprocmask,
//! rt_sigpending), waiting for signals (pause, rt_sigsuspend, rt_sigtimedwait), the
//! alternate stack (sigaltstack), the return from a handler (rt_sigreturn), and
//! sending to one process (tkill, tgkill, rt_sigqueueinfo; kill is with the process
//! calls). The mechanism is in `crate::signal`.

use super::Context;
use crate::process::{self, Pid};
use crate::sched;
use crate::signal::{self, SignalSet};
use crate::time;
use kernel_core::abi::errno::{EAGAIN, EINTR, EINVAL, EPERM, ESRCH};
use kernel_core::abi::int_arg;
use kernel_core::abi::sigframe::StackT;
use kernel_core::abi::signal::{
    self as signals, SigAction, SigInfo, ERESTARTNOHAND, SIGKILL, SIGSEGV, SIGSTOP, SI_TKILL,
};

const SIG_BLOCK: u64 = 0;
const SIG_UNBLOCK: u64 = 1;
const SIG_SETMASK: u64 = 2;
/// The only `sigsetsize` x86_64 Linux accepts for a signal set argument.
const SIGSET_SIZE: u64 = 8;

/// rt_sigaction(signal, act, oldact, sigsetsize): EINVAL for a bad signal or size,
/// or for changing SIGKILL/SIGSTOP (reading them is fine).
pub fn rt_sigaction(context: &mut Context) -> Result<u64, i64> {
    let [signal, new, old, set_size, ..] = context.arguments();
    let signal = signals::decode(signal).ok_or(EINVAL)?;
    if set_size != SIGSET_SIZE || (new != 0 && matches!(signal, SIGKILL | SIGSTOP)) {
        return Err(EINVAL);
    }
    let requested = if new != 0 {
        let mut raw = [0u8; SigAction::SIZE];
        context.copy_in(new, &mut raw)?;
        Some(SigAction::from_bytes(raw))
    } else {
        None
    };
    let previous = match requested {
        Some(action) => signal::set_action_in_process(context.process, signal, action),
        None => context.process.signals.lock().action(signal),
    };
    if old != 0 {
        context.copy_out(old, &previous.to_bytes())?;
    }
    Ok(0)
}

pub fn rt_sigprocmask(context: &mut Context) -> Result<u64, i64> {
    let [how, set, old_set, set_size, ..] = context.arguments();
    if set_size != SIGSET_SIZE {
        return Err(EINVAL);
    }
    let requested = if set != 0 { Some(SignalSet(context.read_u64(set)?)) } else { None };
    let previous = context.process.signals.lock().blocked();
    if let Some(requested) = requested {
        let blocked = match how {
            SIG_BLOCK => previous.union(requested),
            SIG_UNBLOCK => previous.without(requested),
            SIG_SETMASK => requested,
            _ => return Err(EINVAL),
        };
        context.process.signals.lock().set_blocked(blocked);
    }
    if old_set != 0 {
        context.copy_out(old_set, &previous.0.to_le_bytes())?;
    }
    Ok(0)
}

/// rt_sigpending(set, sigsetsize): the pending signals that are blocked; as Linux,
/// a size up to 8 bytes writes that many.
pub fn rt_sigpending(context: &mut Context) -> Result<u64, i64> {
    let [set, set_size, ..] = context.arguments();
    if set_size > SIGSET_SIZE {
        return Err(EINVAL);
    }
    let pending = context.process.signals.lock().pending_blocked();
    context.copy_out(set, &pending.0.to_le_bytes()[..set_size as usize])?;
    Ok(0)
}

/// rt_sigreturn: back from a handler (see `signal::sigreturn`). A frame that cannot
/// be restored is a SIGSEGV, as on Linux.
pub fn rt_sigreturn(context: &mut Context) -> Result<u64, i64> {
    match signal::sigreturn(context.process, &mut context.user) {
        Ok(rax) => Ok(rax),
        Err(()) => {
            info!(
                "pid {} ({}): bad signal frame at rsp {:#x}",
                context.process.tid(),
                context.process.name(),
                context.user.frame.rsp
            );
            signal::force(context.process, SIGSEGV);
            Ok(0)
        }
    }
}

/// Sleeps until a signal arrives: then EINTR after its handler, or sleeps again if
/// no handler ran (ERESTARTNOHAND).
fn sleep_until_signal() -> Result<u64, i64> {
    let _interrupted = sched::sleep_until(u64::MAX);
    Err(ERESTARTNOHAND)
}

pub fn pause(_context: &mut Context) -> Result<u64, i64> {
    sleep_until_signal()
}

/// rt_sigsuspend(mask, sigsetsize): waits for a signal with `mask` as the mask; the
/// old mask comes back once the handler returns.
pub fn rt_sigsuspend(context: &mut Context) -> Result<u64, i64> {
    let [mask, set_size, ..] = context.arguments();
    if set_size != SIGSET_SIZE {
        return Err(EINVAL);
    }
    let mask = SignalSet(context.read_u64(mask)?);
    context.process.signals.lock().suspend_with(mask);
    sleep_until_signal()
}

/// rt_sigtimedwait(set, info, timeout, sigsetsize): takes a pending signal of `set`
/// (blocked or not) without running its handler, waiting up to `timeout` (forever if
/// null) with `set` unblocked. EAGAIN when the time runs out, EINTR when another
/// signal arrives (it is then delivered).
pub fn rt_sigtimedwait(context: &mut Context) -> Result<u64, i64> {
    let [set, info, timeout, set_size, ..] = context.arguments();
    if set_size != SIGSET_SIZE {
        return Err(EINVAL);
    }
    let wanted = SignalSet(context.read_u64(set)?).blockable();
    let deadline = match timeout {
        0 => u64::MAX,
        address => time::monotonic_ns().saturating_add(super::time::read_timespec(context, address)?),
    };
    let process = context.process;
    let mut taken = process.signals.lock().take_from(wanted);
    let mut result = Ok(());
    if taken.is_none() && time::monotonic_ns() < deadline {
        let mask = process.signals.lock().await_signals(wanted);
        result = sched::sleep_until(deadline);
        let mut state = process.signals.lock();
        state.end_await(mask);
        taken = state.take_from(wanted);
    }
    match (taken, result) {
        (Some(found), _) => {
            if info != 0 {
                context.copy_out(info, &found.to_bytes())?;
            }
            Ok(u64::from(found.signo()))
        }
        (None, Ok(())) => Err(EAGAIN),
        (None, Err(_)) => Err(EINTR),
    }
}

/// sigaltstack(new, old): see `AltStack::replaced` for the rules; the program's
/// stack pointer decides whether it runs on the alternate stack now.
pub fn sigaltstack(context: &mut Context) -> Result<u64, i64> {
    let [new, old, ..] = context.arguments();
    let sp = context.user.frame.rsp;
    let requested = if new != 0 {
        let mut raw = [0u8; StackT::SIZE];
        context.copy_in(new, &mut raw)?;
        Some(StackT::from_bytes(&raw))
    } else {
        None
    };
    let current = context.process.signals.lock().alt_stack();
    let replaced = requested.map(|requested| current.replaced(requested, sp)).transpose()?;
    if let Some(replaced) = replaced {
        context.process.signals.lock().set_alt_stack(replaced);
    }
    // As Linux, the old stack is reported only when the call succeeds.
    if old != 0 {
        context.copy_out(old, &current.report(sp).to_bytes())?;
    }
    Ok(0)
}

/// Sends `info` (signal 0: only checks) to thread `tid`, which must belong to
/// thread group `group` when one is given. A zombie still counts (Linux pretends it
/// died after receiving it).
fn send_to_thread(group: Option<u64>, tid: u64, info: Option<SigInfo>) -> Result<u64, i64> {
    let tid = int_arg(tid);
    if tid <= 0 || group.is_some_and(|group| int_arg(group) <= 0) {
        return Err(EINVAL);
    }
    let target = process::find(tid as Pid).ok_or(ESRCH)?;
    if group.is_some_and(|group| int_arg(group) as Pid != target.pid()) {
        return Err(ESRCH);
    }
    if let Some(info) = info {
        signal::send_to_thread(&target, info);
    }
    Ok(0)
}

/// The siginfo of a tkill/tgkill from the caller, None for signal 0; EINVAL for a
/// bad signal.
fn thread_kill_info(context: &Context, signal: u64) -> Result<Option<SigInfo>, i64> {
    match int_arg(signal) {
        0 => Ok(None),
        _ => {
            let signal = signals::decode(signal).ok_or(EINVAL)?;
            Ok(Some(SigInfo::sent(signal, SI_TKILL, context.process.pid(), 0)))
        }
    }
}

pub fn tkill(context: &mut Context) -> Result<u64, i64> {
    let [tid, signal, ..] = context.arguments();
    let info = thread_kill_info(context, signal)?;
    send_to_thread(None, tid, info)
}

pub fn tgkill(context: &mut Context) -> Result<u64, i64> {
    let [group, tid, signal, ..] = context.arguments();
    let info = thread_kill_info(context, signal)?;
    send_to_thread(Some(group), tid, info)
}

/// rt_sigqueueinfo(pid, signal, info): sends the program's own siginfo. As Linux, a
/// process may only claim to be the kernel or kill (si_code >= 0, or SI_TKILL) to
/// itself: EPERM otherwise.
pub fn rt_sigqueueinfo(context: &mut Context) -> Result<u64, i64> {
    let [pid, signal, info, ..] = context.arguments();
    let mut raw = [0u8; SigInfo::SIZE];
    context.copy_in(info, &mut raw)?;
    let pid = int_arg(pid);
    let signal = match int_arg(signal) {
        0 => None,
        _ => Some(signals::decode(signal).ok_or(EINVAL)?),
    };
    let info = SigInfo::queued(signal.unwrap_or(0), raw);
    if (info.code() >= 0 || info.code() == SI_TKILL) && pid != context.process.pid() as i32 {
        return Err(EPERM);
    }
    let target = u32::try_from(pid).ok().filter(|&pid| pid > 0).and_then(process::find).ok_or(ESRCH)?;
    if signal.is_some() {
        signal::send_info(&target, info);
    }
    Ok(0)
}
