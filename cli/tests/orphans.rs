//! The run ends when every process has ended, not when the first one does: orphans
//! finish (re-parented to pid 1, or to a child subreaper), their output appears as on
//! Linux, and `timeshare run`'s exit status stays the first process's. A process left
//! blocked for good after pid 1 exited is reported on stderr and ended by --timeout.

mod common;

use std::path::Path;

use common::*;

#[test]
fn a_child_its_parent_did_not_wait_for_still_runs_and_prints() {
    let (_, guest) = same_as_host(&[], &c_program("orphans"), &["nowait"]);
    assert_stdout(
        &guest,
        "parent: exits without waiting for its child\nchild: still running after its parent exited\n",
    );
}

#[test]
fn a_shell_background_job_outlives_the_shell() {
    let script = "(sleep 0.5; echo late; exit 9) & echo early; exit 3";
    let (_, guest) = same_as_host(&[], Path::new("/bin/busybox"), &["sh", "-c", script]);
    assert_stdout(&guest, "early\nlate\n");
    assert_status(&guest, 3);
}

#[test]
fn a_subreaper_adopts_and_waits_for_its_grandchildren() {
    let (_, guest) = same_as_host(&[], &c_program("orphans"), &["subreaper"]);
    assert_stdout(
        &guest,
        "PR_GET_CHILD_SUBREAPER at first: 0\n\
         PR_GET_CHILD_SUBREAPER after setting it: 1\n\
         PR_GET_CHILD_SUBREAPER to a bad address: EFAULT\n\
         the child (not a subreaper by inheritance, exits at once): exited 5\n\
         the grandchild, adopted by this subreaper and waited for: exited 7\n\
         then waitpid(-1): ECHILD\n\
         PR_GET_CHILD_SUBREAPER after clearing it: 0\n",
    );
}

#[test]
fn a_process_blocked_for_good_after_pid_1_is_reported_and_ended_by_the_timeout() {
    // The report comes 5 s of guest time after pid 1 exits; the timeout leaves room
    // for a slow boot on a loaded machine.
    let output = timeshare_with(&["run", "--timeout", "15", &c_program("orphans").to_string_lossy(), "stuck"]);
    assert_status(&output, 124);
    assert_stdout(&output, "parent: exits, its child blocked for good\n");
    let stderr = stderr(&output);
    assert!(
        stderr.contains("timeshare: pid 1 exited (status 0); still running: pid 2 (daemon)\n"),
        "no report of the survivor:\n{stderr}"
    );
}
