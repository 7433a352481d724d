//! init is special, as on Linux: the first process gets no signal it has no handler
//! for (SIGKILL and SIGSTOP from its children included), kill(-1) passes it by, and
//! a child's kill(0, SIGSTOP) stops the rest of the group but not init, so the run
//! goes on. A fault of init's own still ends it. On a host the program is not pid 1,
//! so it refuses to run there and these tests assert what timeshare guarantees.

mod common;

use common::*;

#[test]
fn init_gets_only_the_signals_it_handles() {
    let output = run(&c_program("initsig"), &["all"]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "a child's kill(1, SIGKILL): exited 0; init still running; pending: no\n\
         a child's kill(1, SIGTERM): exited 0; init still running; pending: no\n\
         a child's kill(1, SIGSTOP): exited 0; init still running; pending: no\n\
         a child's kill(1, SIGINT): exited 0; init still running; pending: no\n\
         a child's kill(1, SIGUSR1): exited 0; init still running; pending: no\n\
         a child's kill(1, SIGHUP): exited 0; init still running; pending: no\n\
         a child's kill(1, SIGSEGV): exited 0; init still running; pending: no\n\
         a child's kill(1, SIGCONT): exited 0; init still running; pending: no\n\
         raise(SIGTERM) in init: no error; still running\n\
         init blocks SIGTERM\n\
         a child's kill(1, SIGTERM): exited 0; init still running; pending: yes\n\
         init unblocks it: still running; pending: no\n\
         with a handler, a child's SIGUSR1: handled SIGUSR1, from the child: yes\n\
         sigtimedwait for SIGUSR2, sent while init waits: SIGUSR2\n\
         a child's kill(-1, SIGKILL): the caller exited 5\n\
         another child: killed by signal 9\n\
         another child: killed by signal 9\n\
         another child: killed by signal 9\n\
         init: still running\n\
         a child's kill(0, SIGSTOP): the caller stopped by SIGSTOP\n\
         another child of the group: stopped by SIGSTOP\n\
         another child of the group: stopped by SIGSTOP\n\
         init: still running, not stopped\n\
         the caller, continued by init: exited 6\n\
         another child, killed by init: killed by signal 9\n\
         another child, killed by init: killed by signal 9\n\
         still running\n",
    );
}

#[test]
fn a_fault_of_init_ends_it_even_ignored_and_blocked() {
    let output = run(&c_program("initsig"), &["fault"]);
    assert_status(&output, 128 + 11);
    assert_stdout(&output, "init writes to NULL\n");
}

#[test]
fn initsig_refuses_to_run_on_a_host() {
    let output = host_run(&c_program("initsig"), &["all"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
}
