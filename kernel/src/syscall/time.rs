//! Clocks and sleeping.

use super::Context;
use crate::sched;
use crate::signal::SleepRestart;
use crate::time;
use kernel_core::abi::errno::{EINTR, EINVAL};
use kernel_core::abi::signal::{ERESTARTNOHAND, ERESTART_RESTARTBLOCK};
use kernel_core::abi::{decode_clock, ClockId, Timespec, Timeval};

/// TIMER_ABSTIME: clock_nanosleep's deadline is absolute.
const TIMER_ABSTIME: u64 = 1;

/// The current value of `clock` in nanoseconds.
fn now(context: &Context, clock: ClockId) -> u64 {
    match clock {
        ClockId::Realtime | ClockId::RealtimeCoarse => time::realtime_ns(),
        ClockId::Monotonic | ClockId::MonotonicRaw | ClockId::MonotonicCoarse | ClockId::Boottime => {
            time::monotonic_ns()
        }
        ClockId::ProcessCputime => {
            let used = crate::process::process_usage(context.process);
            time::cycles_to_ns(used.user_cycles + used.system_cycles)
        }
        ClockId::ThreadCputime => {
            let used = context.process.stats.used();
            time::cycles_to_ns(used.user_cycles + used.system_cycles)
        }
    }
}

pub fn clock_gettime(context: &mut Context) -> Result<u64, i64> {
    let [clock, address, ..] = context.arguments();
    let clock = decode_clock(clock)?;
    context.copy_out(address, &Timespec::from_nanos(now(context, clock)).to_bytes())?;
    Ok(0)
}

pub fn gettimeofday(context: &mut Context) -> Result<u64, i64> {
    let [time_address, zone_address, ..] = context.arguments();
    if time_address != 0 {
        context.copy_out(time_address, &Timeval::from_nanos(time::realtime_ns()).to_bytes())?;
    }
    if zone_address != 0 {
        context.copy_out(zone_address, &[0u8; 8])?;
    }
    Ok(0)
}

/// clock_getres: 1 ns for the clocks read from the TSC, one timer tick for the
/// coarse ones.
pub fn clock_getres(context: &mut Context) -> Result<u64, i64> {
    let [clock, address, ..] = context.arguments();
    let clock = decode_clock(clock)?;
    let resolution = match clock {
        ClockId::RealtimeCoarse | ClockId::MonotonicCoarse => crate::sched::TICK_NS,
        _ => 1,
    };
    if address != 0 {
        context.copy_out(address, &Timespec::from_nanos(resolution).to_bytes())?;
    }
    Ok(0)
}

/// time: seconds since the epoch, also stored at `address` if given.
pub fn time(context: &mut Context) -> Result<u64, i64> {
    let [address, ..] = context.arguments();
    let seconds = time::realtime_ns() / 1_000_000_000;
    if address != 0 {
        context.copy_out(address, &seconds.to_le_bytes())?;
    }
    Ok(seconds)
}

/// A `struct timespec` from user memory, in nanoseconds (EINVAL when malformed).
pub(super) fn read_timespec(context: &Context, address: u64) -> Result<u64, i64> {
    let mut raw = [0u8; 16];
    context.copy_in(address, &mut raw)?;
    Ok(Timespec::from_bytes(raw)?.as_nanos())
}

/// How a sleep resumes after a signal without a handler.
enum Sleep {
    /// A relative sleep: the time left goes to this user address (0: nowhere), and
    /// `restart_syscall` sleeps on to the same deadline.
    Relative { remaining: u64 },
    /// An absolute deadline: the same call again.
    Absolute,
}

/// Sleeps until monotonic `deadline`. When a signal cuts the sleep short, as Linux: a
/// relative sleep reports the time left and ends with ERESTART_RESTARTBLOCK, an
/// absolute one with ERESTARTNOHAND; either way the program sees EINTR after a
/// handler (SA_RESTART or not), and the sleep goes on if no handler runs.
fn sleep(context: &Context, deadline: u64, kind: Sleep) -> Result<u64, i64> {
    if sched::sleep_until(deadline).is_ok() {
        return Ok(0);
    }
    match kind {
        Sleep::Absolute => Err(ERESTARTNOHAND),
        Sleep::Relative { remaining } => {
            if remaining != 0 {
                let left = deadline.saturating_sub(time::monotonic_ns());
                context.copy_out(remaining, &Timespec::from_nanos(left).to_bytes())?;
            }
            context.process.signals.lock().sleep_restart = Some(SleepRestart { deadline_ns: deadline, remaining });
            Err(ERESTART_RESTARTBLOCK)
        }
    }
}

pub fn nanosleep(context: &mut Context) -> Result<u64, i64> {
    let [request, remaining, ..] = context.arguments();
    let duration = read_timespec(context, request)?;
    sleep(context, time::monotonic_ns().saturating_add(duration), Sleep::Relative { remaining })
}

/// restart_syscall: what the kernel substitutes for an interrupted relative sleep
/// when no handler ran: it sleeps on to the original deadline. With nothing to
/// resume (a handler's rt_sigreturn cancels it), EINTR, as Linux.
pub fn restart_syscall(context: &mut Context) -> Result<u64, i64> {
    let restart = context.process.signals.lock().sleep_restart.take();
    match restart {
        Some(restart) => sleep(context, restart.deadline_ns, Sleep::Relative { remaining: restart.remaining }),
        None => Err(EINTR),
    }
}

pub fn clock_nanosleep(context: &mut Context) -> Result<u64, i64> {
    let [clock, flags, request, remaining, ..] = context.arguments();
    let clock = decode_clock(clock)?;
    if matches!(
        clock,
        ClockId::ThreadCputime
            | ClockId::ProcessCputime
            | ClockId::MonotonicRaw
            | ClockId::RealtimeCoarse
            | ClockId::MonotonicCoarse
    ) {
        return Err(EINVAL);
    }
    let value = read_timespec(context, request)?;
    let deadline = if flags & TIMER_ABSTIME != 0 {
        // An absolute time on `clock`, converted to the monotonic clock.
        time::monotonic_ns().saturating_add(value.saturating_sub(now(context, clock)))
    } else {
        time::monotonic_ns().saturating_add(value)
    };
    let kind = if flags & TIMER_ABSTIME != 0 { Sleep::Absolute } else { Sleep::Relative { remaining } };
    sleep(context, deadline, kind)
}
