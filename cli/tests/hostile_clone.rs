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
    let out = compare_with_host(&[], "hostile_clone", &["same", "all"], &[], |line| !line.contains("killed"));
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

#[test]
fn the_descriptor_limit_reaches_nr_open_and_the_kernel_heap_holds() {
    // Linux's nr_open (1<<20) bounds the hard limit; a process that dups up to it
    // is refused (EMFILE, or ENFILE where the kernel heap spares no more) and the
    // kernel goes on. The host's runner may not raise its hard limit: timeshare only.
    let output = run(&c_program("hostile_clone"), &["limits", "all"]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "setrlimit RLIMIT_NOFILE 1<<20: no error\n\
         a child dups until refused: EMFILE at 1<<20, or ENFILE past 1<<16: yes\n\
         then a pipe: no error\n\
         then a fork: exited 3\n\
         still running\n",
    );
}

#[test]
fn the_limits_cases_refuse_to_run_on_a_host() {
    let output = host_run(&c_program("hostile_clone"), &["limits", "all"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
}
