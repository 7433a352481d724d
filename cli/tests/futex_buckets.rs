//! Futex waits as one record in a bucket hashed by the word (`kernel/src/futex.rs`):
//! `user/c/futex_buckets.c` requeues waiters to words in other buckets and then ends
//! their waits by a signal, a deadline, a wake and the process's exit (each of which
//! must find the record where the requeue moved it), and wakes waiters on 64 words
//! at once, some sharing a bucket; run on this Linux host pinned to one CPU and under
//! timeshare, with the same output line for line and the same exit status. The
//! test also asserts the lines that say the capability works, so that two runs
//! failing alike cannot pass.

mod common;

use common::*;

/// No check failed: no "...: no" line, no case ended abnormally (run_grouped_cases
/// names such a case with its status).
fn passed(line: &str) -> bool {
    !line.ends_with(": no") && !line.starts_with("FAIL") && !line.contains("killed by")
}

#[track_caller]
fn assert_has(out: &str, lines: &[&str]) {
    for line in lines {
        assert!(out.lines().any(|l| l == *line), "missing line {line:?} in\n{out}");
    }
}

#[test]
fn requeued_waiters_end_by_signal_deadline_wake_and_exit_as_on_linux() {
    let cases =
        ["same", "requeued-then-signalled", "requeued-then-timed-out", "requeued-then-woken", "requeued-then-exit"];
    let out = compare_with_host(&[], "futex_buckets", &cases, &[], passed);
    assert_has(
        &out,
        &[
            "a waiter on A; REQUEUE wake 0, move 1 to B2: 1",
            "  then a signal with a handler (no SA_RESTART): its WAIT returned EINTR",
            "a waiter on A for 300 ms; REQUEUE wake 0, move 1 to B2: 1",
            "  its WAIT returned ETIMEDOUT",
            "  then WAKE on B2: 0",
            "3 waiters on A; CMP_REQUEUE wake 1, move 2 to B: 3",
            "WAKE INT_MAX on B: 2",
            "every waiter's WAIT returned 0: yes",
            "a waiter on A; REQUEUE wake 0, move 1 to B, then exit: 1",
        ],
    );
    assert_eq!(out.lines().count(), 24, "{out}");
}

#[test]
fn waiters_on_many_words_are_woken_by_their_own_word_as_on_linux() {
    let out = compare_with_host(&[], "futex_buckets", &["same", "many-words"], &[], passed);
    assert_has(
        &out,
        &[
            "64 waiters on 64 words; WAKE INT_MAX on each, last first, woke one: yes",
            "  a second WAKE on each woke none: yes",
            "every waiter's WAIT returned 0: yes",
        ],
    );
}
