//! clone's corners and RLIMIT_NOFILE, the same as on the Linux host: a parent tid
//! pointer that faults (the child exists anyway, and is waited for), the exit signal
//! in the flags' low byte (another signal, none, not a signal: only SIGCHLD children
//! are waited for without __WALL or __WCLONE), a TLS pointer outside user space
//! (EPERM and no child), sigtimedwait for the default-ignored SIGCHLD, and the
//! descriptor limit raised and used.

mod common;

use common::*;

#[test]
fn clone_parent_tid_exit_signal_and_tls_same_as_host() {
    let out = compare_with_host(&[], "hostile_clone", &["all"], &[], |line| !line.contains("killed"));
    assert!(out.contains("clone with CLONE_PARENT_SETTID at a unmapped address: a child\n  waitpid: the child, exited 7\n  waitpid again: ECHILD\n"), "{out}");
    assert!(out.contains("clone with exit signal 0: a child\n  waitpid(-1, 0): ECHILD\n"), "{out}");
    assert!(out.contains("  the signal its exit sent: SIGUSR1, CLD_EXITED 9 from the child: yes\n"), "{out}");
    assert!(out.contains("clone with exit signal 65: a child\n"), "{out}");
    assert!(out.contains("clone with CLONE_SETTLS at 1<<47: EPERM\n  then waitpid(-1, __WALL): ECHILD\n"), "{out}");
    assert!(
        out.contains("sigtimedwait for SIGCHLD (ignored by default): SIGCHLD, CLD_EXITED 4 from the child: yes\n"),
        "{out}"
    );
}
