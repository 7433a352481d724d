//! The checked lock order (`kernel/base/src/sync.rs`, docs/locks.md): a debug
//! kernel (`--kernel-profile dev`) stops at the first lock taken against the
//! order, naming both locks; programs that take the kernel's ordered locks every
//! way they can (threads, futexes, pipes and their FIONREAD, fork) run on it as on
//! Linux.

mod common;

use common::*;

const DEV: &[&str] = &["--kernel-profile", "dev"];

#[test]
fn a_lock_taken_out_of_order_stops_a_debug_kernel_naming_both_locks() {
    let output =
        run_with(&["--kernel-profile", "dev", "--kernel-arg", "selftest=lock-order"], &c_program("hello"), &[]);
    assert_status(&output, 125);
    let err = stderr(&output);
    assert!(
        err.contains("lock order: taking an address space (rank 30) while holding the run queue (rank 50)"),
        "{err}"
    );
}

#[test]
fn a_release_kernel_does_not_check_the_lock_order_and_says_so() {
    let output = run_with(&["--kernel-arg", "selftest=lock-order"], &c_program("hello"), &[]);
    assert_status(&output, 125);
    assert!(stderr(&output).contains("checked with debug assertions only"), "{}", stderr(&output));
}

/// FIONREAD on a pipe once took the pipe's lock under the address space's, the
/// reverse of a pipe read's (which copies under the pipe's lock).
#[test]
fn fionread_on_a_pipe_keeps_the_lock_order() {
    same_as_host(DEV, &c_program("fdjuggle"), &[]);
}

fn passed(line: &str) -> bool {
    !line.ends_with(": no") && !line.starts_with("FAIL") && !line.contains("killed by another signal")
}

#[test]
fn threads_and_futexes_keep_the_lock_order() {
    compare_with_host(DEV, "threads", &["same", "all"], &[], passed);
    compare_with_host(DEV, "futex_buckets", &["same", "all"], &[], passed);
}

#[test]
fn pipes_and_processes_keep_the_lock_order() {
    same_as_host(DEV, &c_program("pipebig"), &[]);
    same_as_host(DEV, &c_program("pipewake"), &[]);
    same_as_host(DEV, &c_program("forkwait"), &[]);
}
