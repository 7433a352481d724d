//! Scheduling priority: the nice value (getpriority/setpriority). The value lives in
//! the process (inherited across fork, kept across exec) and is handed to the
//! scheduling policy, which decides what it means: a weight for stride, lottery and
//! fair (Linux's table, nice 0 = 1024, each step about 1.25x); nothing for rr and
//! MLFQ. Every process runs as root, so any process may set any nice value of any
//! process (no EPERM, no EACCES).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use super::Context;
use crate::process::{self, Process};
use crate::sched;
use kernel_core::abi::errno::ESRCH;
use kernel_core::abi::{decode_priority_target, nice_from_priority_arg, priority_result, PriorityTarget};

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
pub fn getpriority(context: &mut Context, &[which, who, ..]: &[u64; 6]) -> Result<u64, i64> {
    let lowest =
        targets(context, which, who)?.iter().map(|process| process.nice.load(Ordering::Relaxed)).min().unwrap_or(0);
    Ok(priority_result(lowest))
}

/// setpriority(which, who, nice): sets the nice value (clamped to -20..=19) of every
/// target and tells the policy.
pub fn setpriority(context: &mut Context, &[which, who, prio, ..]: &[u64; 6]) -> Result<u64, i64> {
    let nice = nice_from_priority_arg(prio);
    for process in targets(context, which, who)? {
        process.nice.store(nice, Ordering::Relaxed);
        sched::set_nice(&process, nice);
    }
    Ok(0)
}
