//! Process groups and sessions: the job-control structure a shell builds (each
//! pipeline its own group, the terminal's foreground group gets its keys' signals).
//! The rules are in `crate::process`.

use super::Context;
use crate::process::{self, Pid};
use kernel_core::abi::errno::{EINVAL, ESRCH};
use kernel_core::abi::int_arg;

/// A pid argument (a C `pid_t`): 0 means the caller; a negative one names no process.
fn target(context: &Context, pid: u64) -> Result<Pid, i64> {
    match int_arg(pid) {
        0 => Ok(context.process.pid()),
        pid => Pid::try_from(pid).map_err(|_| ESRCH),
    }
}

/// setpgid(pid, pgid): EINVAL for a negative group; see `process::set_process_group`.
pub fn setpgid(context: &mut Context) -> Result<u64, i64> {
    let [pid, group, ..] = context.arguments();
    let group = Pid::try_from(int_arg(group)).map_err(|_| EINVAL)?;
    let pid = target(context, pid)?;
    process::set_process_group(context.process.pid(), pid, group)?;
    Ok(0)
}

pub fn getpgid(context: &mut Context) -> Result<u64, i64> {
    let arguments = context.arguments();
    getpgid_of(context, arguments)
}

/// `getpgid` of `arguments`: also the older calls it extends, with theirs.
fn getpgid_of(context: &mut Context, [pid, ..]: [u64; 6]) -> Result<u64, i64> {
    let (group, _) = process::group_and_session(target(context, pid)?).ok_or(ESRCH)?;
    Ok(u64::from(group))
}

pub fn getpgrp(context: &mut Context) -> Result<u64, i64> {
    getpgid_of(context, [0; 6])
}

pub fn getsid(context: &mut Context) -> Result<u64, i64> {
    let [pid, ..] = context.arguments();
    let (_, session) = process::group_and_session(target(context, pid)?).ok_or(ESRCH)?;
    Ok(u64::from(session))
}

pub fn setsid(context: &mut Context) -> Result<u64, i64> {
    Ok(u64::from(process::create_session(context.process.pid())?))
}
