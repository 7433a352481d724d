//! Scheduling priority: the nice value (getpriority/setpriority, sched_setattr).
//! The value lives in the thread (inherited across fork, kept across exec) and is
//! handed to the scheduling policy, which decides what it means: a weight for
//! stride, lottery, fair and eevdf (Linux's table, nice 0 = 1024, each step about
//! 1.25x); nothing for rr and MLFQ. Every process runs as root, so any process may
//! set any nice value of any process (no EPERM, no EACCES).
//!
//! sched_setattr/sched_getattr add the policy (SCHED_OTHER, SCHED_BATCH,
//! SCHED_IDLE) and the slice, EEVDF's request size (`kernel_core::abi::sched_attr`
//! has the rules).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use super::Context;
use crate::process::{self, Process};
use crate::sched;
use kernel_core::abi::errno::{E2BIG, EINVAL, ESRCH};
use kernel_core::abi::sched_attr::{
    apply_setattr, check_getattr, check_setattr, setattr_copy_size, SchedAttr, SCHED_ATTR_SIZE_VER1,
};
use kernel_core::abi::{decode_priority_target, int_arg, nice_from_priority_arg, priority_result, PriorityTarget};

/// The processes (which, who) names, or ESRCH if there are none. As on Linux, a
/// process named by its pid is found until it is reaped (a zombie too); groups and
/// users count their live members.
fn targets(context: &Context, which: u64, who: u64) -> Result<Vec<Arc<Process>>, i64> {
    let live = |process: &Arc<Process>| process.exit_status().is_none();
    let found: Vec<Arc<Process>> = match decode_priority_target(which, who)? {
        PriorityTarget::Process(0) => process::find(context.process.tid()).into_iter().collect(),
        PriorityTarget::Process(pid) => process::find(pid).into_iter().collect(),
        PriorityTarget::Group(group) => {
            let group = if group == 0 {
                process::group_and_session(context.process.pid()).map_or(0, |(group, _)| group)
            } else {
                group
            };
            process::members_of_group(group).into_iter().filter_map(process::find).filter(live).collect()
        }
        // Every process runs as uid 0.
        PriorityTarget::User(0) => process::list()
            .into_iter()
            .filter(|(_, _, zombie, _)| !zombie)
            .map(|(_, _, _, process)| process)
            .filter(live)
            .collect(),
        PriorityTarget::User(_) => Vec::new(),
    };
    if found.is_empty() {
        Err(ESRCH)
    } else {
        Ok(found)
    }
}

/// getpriority(which, who): `20 - nice` of the most favoured target (1..=40), as the
/// raw system call returns it (the C library's wrapper returns `20 - result`).
pub fn getpriority(context: &mut Context) -> Result<u64, i64> {
    let [which, who, ..] = context.arguments();
    let lowest =
        targets(context, which, who)?.iter().map(|process| process.nice.load(Ordering::Relaxed)).min().unwrap_or(0);
    Ok(priority_result(lowest))
}

/// setpriority(which, who, nice): sets the nice value (clamped to -20..=19) of every
/// target and tells the policy.
pub fn setpriority(context: &mut Context) -> Result<u64, i64> {
    let [which, who, prio, ..] = context.arguments();
    let nice = nice_from_priority_arg(prio);
    for process in targets(context, which, who)? {
        process.nice.store(nice, Ordering::Relaxed);
        let effective = process.sched_settings.lock().effective_nice(nice);
        sched::set_nice(&process, effective);
    }
    Ok(0)
}

/// The slice of a thread sched_setattr set none for: EEVDF's default request.
const DEFAULT_SLICE_NS: u64 = kernel_core::sched::EEVDF_DEFAULT_REQUEST_MS as u64 * 1_000_000;

/// The thread `pid` names (0: the caller), ESRCH if there is none.
fn thread_named(context: &Context, pid: i32) -> Result<Arc<Process>, i64> {
    let tid = if pid == 0 { context.process.tid() } else { pid as u32 };
    process::find(tid).ok_or(ESRCH)
}

/// sched_setattr(pid, attr, flags): sets the policy, nice value and slice of the
/// thread `pid` and tells the scheduling policy.
pub fn sched_setattr(context: &mut Context) -> Result<u64, i64> {
    let [pid, address, flags, ..] = context.arguments();
    let pid = int_arg(pid);
    if address == 0 || pid < 0 || flags as u32 != 0 {
        return Err(EINVAL);
    }
    let mut size_field = [0u8; 4];
    context.copy_in(address, &mut size_field)?;
    // A size Linux cannot read is E2BIG, and the size it can read is written back.
    let too_big = |context: &Context| {
        let _ = context.copy_out(address, &SCHED_ATTR_SIZE_VER1.to_le_bytes());
        Err(E2BIG)
    };
    let Ok(size) = setattr_copy_size(u32::from_le_bytes(size_field)) else { return too_big(context) };
    let mut bytes = [0u8; SCHED_ATTR_SIZE_VER1 as usize];
    let known = size.min(SCHED_ATTR_SIZE_VER1) as usize;
    context.copy_in(address, &mut bytes[..known])?;
    // Fields of a newer ABI than this one must be zero.
    if size > SCHED_ATTR_SIZE_VER1 {
        let mut newer = alloc::vec![0u8; (size - SCHED_ATTR_SIZE_VER1) as usize];
        context.copy_in(address + u64::from(SCHED_ATTR_SIZE_VER1), &mut newer)?;
        if newer.iter().any(|&byte| byte != 0) {
            return too_big(context);
        }
    }
    let attr = check_setattr(SchedAttr::from_bytes(&bytes), size)?;
    let target = thread_named(context, pid)?;
    let (settings, nice) = {
        let mut settings = target.sched_settings.lock();
        let (changed, nice) = apply_setattr(*settings, target.nice.load(Ordering::Relaxed), &attr)?;
        *settings = changed;
        target.nice.store(nice, Ordering::Relaxed);
        (changed, nice)
    };
    sched::set_nice(&target, settings.effective_nice(nice));
    sched::set_request(&target, settings.slice_ns(DEFAULT_SLICE_NS));
    Ok(0)
}

/// sched_getattr(pid, attr, size, flags): the policy, nice value and slice of the
/// thread `pid`, in as much of the structure as `size` asks (its size field says
/// how much was written).
pub fn sched_getattr(context: &mut Context) -> Result<u64, i64> {
    let [pid, address, size, flags, ..] = context.arguments();
    let (pid, size) = (int_arg(pid), size as u32);
    check_getattr(address, pid, size, flags as u32)?;
    let target = thread_named(context, pid)?;
    let settings = *target.sched_settings.lock();
    let written = size.min(SCHED_ATTR_SIZE_VER1);
    let attr = SchedAttr { size: written, ..settings.report(target.nice.load(Ordering::Relaxed), DEFAULT_SLICE_NS) };
    context.copy_out(address, &attr.to_bytes()[..written as usize])?;
    Ok(0)
}
