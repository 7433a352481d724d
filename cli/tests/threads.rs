//! Threads: static musl pthreads programs (`user/c/threads.c`, `user/c/threads_sys.c`)
//! and a Rust `std::thread` program (`user/std`), each run on this Linux host pinned
//! to one CPU and under timeshare, with the same output line for line and the same
//! exit status. Every case prints only what the schedule cannot change (no tids,
//! addresses or timings; lines in an order fixed by joins and locks), and each test
//! also asserts the lines that say the capability works, so that two runs failing
//! alike cannot pass.

mod common;

use common::*;

/// No check failed: no "...: no" line, no "FAIL ..." line, no case ended abnormally
/// (run_grouped_cases names such a case with its status).
fn passed(line: &str) -> bool {
    !line.ends_with(": no") && !line.starts_with("FAIL") && !line.contains("killed by another signal")
}

#[track_caller]
fn threads_same_as_host(cases: &[&str]) -> String {
    let mut args = vec!["same"];
    args.extend_from_slice(cases);
    compare_with_host(&[], "threads", &args, &[], passed)
}

#[track_caller]
fn assert_has(out: &str, lines: &[&str]) {
    for line in lines {
        assert!(out.lines().any(|l| l == *line), "missing line {line:?} in\n{out}");
    }
}

#[test]
fn threads_are_created_and_joined_with_their_return_values() {
    let out = threads_same_as_host(&["create-join", "pthread-exit-value", "identity", "many-joined"]);
    assert_has(
        &out,
        &[
            "thread 7 returned 50",
            "sum of the return values: 148",
            "the value given to pthread_exit",
            "every thread: gettid != getpid: yes",
            "every thread: getpid the main thread's: yes",
            "the tids distinct: yes",
            "64 threads at once, joined: the sum of i*i+1 is 85408",
        ],
    );
}

#[test]
fn detached_threads_run_and_unmap_their_own_stacks() {
    let out = threads_same_as_host(&["detached", "many-detached"]);
    assert_has(
        &out,
        &["11 detached threads ran, their arguments add up to 155", "200 detached threads created, 200 ran"],
    );
}

#[test]
fn mutexes_condition_variables_semaphores_and_rwlocks_hand_work_between_threads() {
    let out = threads_same_as_host(&["mutex", "condvar", "semaphore", "rwlock", "broadcast"]);
    assert_has(
        &out,
        &[
            "4 threads x 20000 increments under a mutex: 80000",
            "condition variables: 4000 items consumed, their sum 2004002000",
            "semaphores: 4000 items consumed, their sum 2004002000; empty slots at the end 4",
            "rwlock: 12000 reads, 0 torn; the pair at the end 6000 6000",
            "woken by one broadcast: 16",
        ],
    );
}

#[test]
fn signals_reach_the_thread_they_are_meant_for() {
    let out = threads_same_as_host(&["thread-signal", "process-signal", "sigaltstack"]);
    assert_has(
        &out,
        &[
            "handled in the thread it was sent to: yes",
            "tgkill from a thread: handled in the main thread: yes",
            "not pending in the main thread: yes",
            "handled by the one thread that does not block it: yes",
            "taken by the main thread once it unblocks it: yes",
            "thread 2: started with SS_DISABLE: yes",
            "thread 2: its handler ran on its own alternate stack: yes",
        ],
    );
}

#[test]
fn a_process_with_threads_ends_execs_and_forks_as_on_linux() {
    let out = threads_same_as_host(&["process-end", "exec", "fork", "stacks"]);
    assert_has(
        &out,
        &[
            "exit(7) from a thread, 4 others running: exited 7",
            "exit_group(9) from a thread, 4 others running: exited 9",
            "a thread stores at address 8, another running: killed by SIGSEGV",
            "SIGKILL to the process from a thread: killed by SIGKILL",
            "pthread_exit from main, the last thread exits by SYS_exit(5): exited 5",
            "pthread_exit from main, the last thread returns: exited 0",
            "after execve from a thread: getpid is the old pid: yes",
            "execve from a thread, 2 others running: exited 4",
            "the parent's spinning thread still runs: yes",
            "a thread with a 64 KiB stack recurses without end: killed by SIGSEGV",
        ],
    );
}
