//! Process groups and sessions: the table's job-control relations. setpgid and
//! setsid change them; the terminal's keys signal a group; a stop signal is not
//! acted on in an orphaned group (no shell is left to continue it).

use alloc::vec::Vec;

use super::{find, Pid, TABLE};
use kernel_core::abi::errno::{EACCES, EPERM, ESRCH};

/// The process group and session of `pid`.
pub fn group_and_session(pid: Pid) -> Option<(Pid, Pid)> {
    TABLE.lock().entries.get(&pid).map(|entry| (entry.process_group, entry.session))
}

/// setpgid(pid, group) called by `caller`, with Linux's rules in Linux's order: pid 0
/// is the caller, group 0 is `pid` itself; the target is the caller or one of its
/// children (ESRCH), a child in the caller's session (EPERM) that has not exec'd yet
/// (EACCES); a session leader cannot move (EPERM); and the group must be the target's
/// own pid or an existing group of the caller's session (EPERM).
pub fn set_process_group(caller: Pid, pid: Pid, group: Pid) -> Result<(), i64> {
    let pid = if pid == 0 { caller } else { pid };
    let group = if group == 0 { pid } else { group };
    let execed = find(pid).is_some_and(|target| target.group.details.lock().execed);
    let mut table = TABLE.lock();
    let caller_session = table.entries.get(&caller).ok_or(ESRCH)?.session;
    let target = table.entries.get(&pid).filter(|entry| entry.zombie.is_none()).ok_or(ESRCH)?;
    if pid != caller {
        if target.parent != caller {
            return Err(ESRCH);
        }
        if target.session != caller_session {
            return Err(EPERM);
        }
        if execed {
            return Err(EACCES);
        }
    }
    if target.session == pid {
        return Err(EPERM);
    }
    let group_exists =
        table.entries.values().any(|entry| entry.process_group == group && entry.session == caller_session);
    if group != pid && !group_exists {
        return Err(EPERM);
    }
    table.entries.get_mut(&pid).ok_or(ESRCH)?.process_group = group;
    Ok(())
}

/// setsid by `caller`: a new session and process group, both named by its pid, or
/// EPERM if a process group by that number already exists (a group leader cannot
/// leave its group). Returns the session id.
pub fn create_session(caller: Pid) -> Result<Pid, i64> {
    let mut table = TABLE.lock();
    if table.entries.values().any(|entry| entry.process_group == caller) {
        return Err(EPERM);
    }
    let entry = table.entries.get_mut(&caller).ok_or(ESRCH)?;
    entry.process_group = caller;
    entry.session = caller;
    Ok(caller)
}

/// Whether process group `group` is orphaned (POSIX): no live member has a parent in
/// another group of the same session, so no job-control shell is left to continue
/// it, and the terminal's stop signals are not acted on. A member whose parent is
/// the host (the first process) counts as having one: it was started by a shell,
/// as the same program on Linux would have been.
pub fn is_orphaned_group(group: Pid) -> bool {
    let table = TABLE.lock();
    !table.entries.values().filter(|entry| entry.process_group == group && entry.zombie.is_none()).any(|entry| {
        match table.entries.get(&entry.parent) {
            Some(parent) => parent.process_group != group && parent.session == entry.session,
            None => entry.parent == 0,
        }
    })
}

/// Pids of live (not zombie) processes in process group `group`.
pub fn members_of_group(group: Pid) -> Vec<Pid> {
    TABLE
        .lock()
        .entries
        .iter()
        .filter(|(_, entry)| entry.process_group == group && entry.zombie.is_none())
        .map(|(&pid, _)| pid)
        .collect()
}
