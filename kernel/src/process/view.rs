//! What /proc reads of the table: a thread's relations, in one snapshot.

use super::{Pid, TABLE};

/// A thread's place among processes, as /proc/PID/stat and status report it.
pub struct Relations {
    pub parent: Pid,
    pub process_group: Pid,
    pub session: Pid,
    /// It has exited and waits to be reaped.
    pub zombie: bool,
}

/// The last pid handed out (/proc/loadavg's last field).
pub fn last_pid() -> Pid {
    TABLE.lock().last_pid
}

/// The relations of thread `tid` of process `pid` (those of a process are kept
/// in its leader's row); None once either row is gone.
pub fn relations(pid: Pid, tid: Pid) -> Option<Relations> {
    let table = TABLE.lock();
    let zombie = table.entries.get(&tid)?.zombie.is_some();
    let leader = table.entries.get(&pid)?;
    Some(Relations { parent: leader.parent, process_group: leader.process_group, session: leader.session, zombie })
}
