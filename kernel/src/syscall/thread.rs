//! Threads' own calls: futex, and the robust-futex list each thread registers.

use super::Context;
use crate::futex;
use crate::process::{self, Pid};
use crate::time;
use kernel_core::abi::errno::{EINVAL, ESRCH};
use kernel_core::abi::futex::{
    decode_futex_op, is_private, FutexOp, WakeOperation, FUTEX_BITSET_MATCH_ANY, ROBUST_LIST_HEAD_SIZE,
};

/// futex(uaddr, op, val, timeout or val2, uaddr2, val3), as Linux's do_futex. The
/// waits and wakes every lock hand-off makes are served here; the rest of the
/// operations (and a wait's deadline) out of line, so that their stack frames and
/// saved registers do not burden those.
pub fn futex(context: &mut Context) -> Result<u64, i64> {
    let [address, op, value, timeout, address2, value3] = context.arguments();
    let process = context.process;
    let value = value as u32;
    let private = is_private(op);
    match decode_futex_op(op, value3)? {
        FutexOp::Wait { bitset, absolute, realtime } => {
            let deadline_ns = match timeout {
                0 => None,
                timeout => Some(wait_deadline(context, timeout, absolute, realtime)?),
            };
            futex::wait(process, futex::key(process, address, private)?, value, bitset, deadline_ns)
        }
        FutexOp::Wake { bitset } => {
            Ok(u64::from(futex::wake(futex::key(process, address, private)?, wake_count(value), bitset)))
        }
        FutexOp::Requeue { compare } => {
            requeue(context, (address, address2), private, (value, timeout), compare.then_some(value3 as u32))
        }
        FutexOp::WakeOp(operation) => {
            wake_op(context, (address, address2), private, (value, timeout as u32), operation)
        }
    }
}

/// A wait's deadline in monotonic ns, from its timeout at `timeout`: relative
/// (FUTEX_WAIT) or absolute on CLOCK_MONOTONIC or CLOCK_REALTIME.
#[inline(never)]
fn wait_deadline(context: &Context, timeout: u64, absolute: bool, realtime: bool) -> Result<u64, i64> {
    let nanos = super::time::read_timespec(context, timeout)?;
    Ok(match (absolute, realtime) {
        (false, _) => time::monotonic_ns().saturating_add(nanos),
        (true, false) => nanos,
        (true, true) => nanos.saturating_sub(time::realtime_ns().saturating_sub(time::monotonic_ns())),
    })
}

/// FUTEX_REQUEUE and FUTEX_CMP_REQUEUE (`expected`: the value the first word must
/// still hold): `counts` are how many to wake and how many to move.
#[inline(never)]
fn requeue(
    context: &Context,
    (address, address2): (u64, u64),
    private: bool,
    (count, requeue): (u32, u64),
    expected: Option<u32>,
) -> Result<u64, i64> {
    let process = context.process;
    let (count, requeue) = (count as i32, requeue as i32);
    if count < 0 || requeue < 0 {
        return Err(EINVAL);
    }
    let from = futex::key(process, address, private)?;
    let to = futex::key(process, address2, private)?;
    futex::requeue(process, (from, address), to, count as u32, requeue as u32, expected)
}

/// FUTEX_WAKE_OP: `counts` are how many to wake on the first word and, if the
/// second word's old value passes `operation`'s test, on the second.
#[inline(never)]
fn wake_op(
    context: &Context,
    (address, address2): (u64, u64),
    private: bool,
    (count, count2): (u32, u32),
    operation: WakeOperation,
) -> Result<u64, i64> {
    let process = context.process;
    let first = futex::key(process, address, private)?;
    let second = futex::key(process, address2, private)?;
    let old = futex::read_word(process, address2)?;
    context.copy_out(address2, &operation.apply(old).to_le_bytes())?;
    let mut woken = futex::wake(first, wake_count(count), FUTEX_BITSET_MATCH_ANY);
    if operation.test(old) {
        woken += futex::wake(second, wake_count(count2), FUTEX_BITSET_MATCH_ANY);
    }
    Ok(u64::from(woken))
}

/// How many waiters a wake count (an int) wakes: Linux's loop stops after the
/// first waiter it wakes once the count is reached, so 0 or less wakes one.
fn wake_count(value: u32) -> u32 {
    (value as i32).max(1) as u32
}

/// set_robust_list(head, len): the calling thread's list, walked at its death;
/// EINVAL unless `len` is the size of the head, as Linux.
pub fn set_robust_list(context: &mut Context) -> Result<u64, i64> {
    let [head, length, ..] = context.arguments();
    if length != ROBUST_LIST_HEAD_SIZE {
        return Err(EINVAL);
    }
    context.process.thread.lock().robust_list = head;
    Ok(0)
}

/// get_robust_list(tid, &head, &len): the list of thread `tid` (0: the caller);
/// ESRCH if there is no such thread.
pub fn get_robust_list(context: &mut Context) -> Result<u64, i64> {
    let [tid, head_address, length_address, ..] = context.arguments();
    let head = match tid as i32 {
        0 => context.process.thread.lock().robust_list,
        tid if tid > 0 => process::find(tid as Pid).ok_or(ESRCH)?.thread.lock().robust_list,
        _ => return Err(ESRCH),
    };
    context.copy_out(length_address, &ROBUST_LIST_HEAD_SIZE.to_le_bytes())?;
    context.copy_out(head_address, &head.to_le_bytes())?;
    Ok(0)
}
