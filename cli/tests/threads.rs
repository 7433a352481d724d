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
            "fork from a thread, a spinning thread beside it: the child (one thread, its own main, can make \
             threads) exited 3",
            "the parent's spinning thread still runs: yes",
            "a thread with a 64 KiB stack recurses without end: killed by SIGSEGV",
        ],
    );
}

/// Linux keys a private futex wait by (address space, address) and a shared one on
/// private memory by (address space, address, "shared"), so that a shared WAKE
/// finds only the shared waiters and a private WAKE only the private ones. timeshare
/// keys both alike, so that one wake finds both kinds (as the capability asked): a
/// wake that finds more waiters is one a futex user must tolerate anyway (a spurious
/// wake-up), but the counts differ.
const FUTEX_KINDS_MEET: &[(&str, &str)] = &[
    ("2 private and 2 shared waiters; shared WAKE INT_MAX", "2 private and 2 shared waiters; shared WAKE INT_MAX: 4"),
    ("private WAKE INT_MAX", "private WAKE INT_MAX: 0"),
];

#[track_caller]
fn threads_sys_same_as_host(cases: &[&str]) -> String {
    let mut args = vec!["same"];
    args.extend_from_slice(cases);
    compare_with_host(&[], "threads_sys", &args, FUTEX_KINDS_MEET, passed)
}

#[test]
fn futex_errors_and_timeouts_as_linux() {
    let out = threads_sys_same_as_host(&["futex-errors", "futex-interrupted"]);
    assert_has(
        &out,
        &[
            "WAIT, the word not the value: EAGAIN",
            "WAIT 10 ms: ETIMEDOUT",
            "  at least 10 ms went by: yes",
            "WAIT, unaligned: EINVAL",
            "WAIT at an unmapped address: EFAULT",
            "WAKE, no waiter: 0",
            "a signal with a handler during WAIT: EINTR",
        ],
    );
}

#[test]
fn futex_wake_requeue_wake_op_and_bitsets_count_as_linux() {
    let out = threads_sys_same_as_host(&["futex-wake", "futex-requeue", "futex-wake-op", "futex-bitset"]);
    assert_has(
        &out,
        &[
            "5 waiters; WAKE 1: 1",
            "WAKE INT_MAX: 2",
            "6 waiters on A; REQUEUE wake 1, move 2 to B: 3",
            "CMP_REQUEUE wake 1, move 1 to B, A is 0: 2",
            "WAKE INT_MAX on B: 3",
            "2 waiters on A, 2 on B; WAKE_OP 1 on A, B = 1, 1 on B if B was 0: 2",
            "  B: 16",
            "WAIT_BITSET until CLOCK_REALTIME + 30 ms: ETIMEDOUT",
            "  at least 30 ms went by: yes",
            "WAKE_BITSET 0x2: 1",
        ],
    );
    assert!(!out.contains("every waiter's WAIT returned 0: no"), "{out}");
}

#[test]
fn raw_clone_of_a_thread_robust_lists_and_per_thread_attributes_as_linux() {
    let out = threads_sys_same_as_host(&["raw-clone", "robust", "per-thread", "libc-probes"]);
    assert_has(
        &out,
        &[
            "clone with the flags of a thread: a thread; CLONE_PARENT_SETTID wrote its tid: yes",
            "  its getpid ours: yes; its gettid what clone returned: yes",
            "  CLONE_CHILD_CLEARTID: the word cleared at its exit: yes",
            "  wait4 for it: ECHILD",
            "CLONE_CHILD_SETTID: the child found its tid there: yes",
            "clone with CLONE_THREAD without CLONE_SIGHAND: EINVAL",
            "a robust mutex whose owner thread ended: lock: EOWNERDEAD",
            "a raw thread exits owning a lock word on its robust list: the word 0x40000000",
            "  the same with FUTEX_WAITERS set: the word 0xc0000000",
            "the thread's name: worker-one; the main thread's: main-thread",
            "the thread's nice after setpriority(its tid, 5): 5; the main thread's: 0",
            "sched_getaffinity: ok",
            "clone3: ENOSYS, or EINVAL for no arguments and a child for a fork's: yes",
        ],
    );
}

#[test]
fn a_rust_std_program_with_threads_runs_as_on_linux() {
    // std::thread (spawn, scope, Builder names, a panicking thread's Err), std::sync
    // (Mutex, Condvar, mpsc, RwLock, Barrier, Arc, atomics), park/unpark and
    // thread_local!, ending with process::exit(3) from a thread.
    let program = std::path::Path::new(env!("TIMESHARE_USER_STD_DIR")).join("std_threads");
    assert!(program.is_file(), "{} was not built (see cli/build.rs)", program.display());
    let (_, guest) = same_as_host(&[], &program, &[]);
    assert_status(&guest, 3);
    let out = stdout(&guest);
    assert_has(
        &out,
        &[
            "Mutex: 8 threads x 5000 increments: 40000; AtomicUsize: 40000; Arc strong count back to 1",
            "Condvar queue: 2000 items, their sum 11001000, 2002 taken in all",
            "sync_channel(2): 500 sent, their sum received 124750",
            "thread::Builder::name: Some(\"worker-7\"); main's name: Some(\"main\")",
            "a thread that panics: join is Err: true, with the payload Some(\"on purpose\")",
            "exiting with 3 from a thread",
        ],
    );
}

#[test]
fn every_scheduling_policy_runs_threads_as_on_linux() {
    // Each policy schedules threads as its tasks: the programs' hand-offs (locks,
    // condition variables, a broadcast, futex wake counts, signals to one thread)
    // come out as on Linux under every one of them.
    for policy in ["rr", "mlfq", "stride", "lottery", "fair"] {
        let options = ["--sched", policy];
        let out = compare_with_host(
            &options,
            "threads",
            &["same", "create-join", "mutex", "condvar", "broadcast", "thread-signal"],
            &[],
            passed,
        );
        assert_has(&out, &["woken by one broadcast: 16", "handled in the thread it was sent to: yes"]);
        let out = compare_with_host(&options, "threads_sys", &["same", "futex-requeue"], FUTEX_KINDS_MEET, passed);
        assert_has(&out, &["WAKE INT_MAX on B: 3"]);
    }
}

#[test]
fn stats_and_the_trace_show_each_thread_named_under_its_process() {
    // Guest-only: --stats has a row per thread (its process's pid, its own tid, the
    // name prctl(PR_SET_NAME) gave it), and the trace a track per thread, named and
    // labelled with its process. The case's process is pid 2 (the runner is pid 1),
    // its thread the next tid.
    let trace = scratch_dir("threads-trace").join("trace.json");
    let output =
        run_with(&["--stats", "--trace", trace.to_str().unwrap()], &c_program("threads_sys"), &["same", "per-thread"]);
    assert_status(&output, 0);
    assert_has(&stdout(&output), &["the thread's name: worker-one; the main thread's: main-thread"]);
    let stats = stderr(&output);
    let row = |name: &str| -> Vec<String> {
        stats
            .lines()
            .map(|line| line.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .find(|words| words.get(3).map(String::as_str) == Some(name))
            .unwrap_or_else(|| panic!("no --stats row for {name}\n{stats}"))
    };
    assert_eq!(row("main-thread")[..3], ["2", "2", "1"], "pid, tid, ppid\n{stats}");
    assert_eq!(row("worker-one")[..3], ["2", "3", "1"], "pid, tid, ppid\n{stats}");
    let trace: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&trace).expect("the trace file")).expect("valid JSON");
    let names: Vec<&str> = trace["traceEvents"]
        .as_array()
        .expect("traceEvents")
        .iter()
        .filter(|event| event["name"] == "thread_name")
        .filter_map(|event| event["args"]["name"].as_str())
        .collect();
    assert!(names.iter().any(|name| name.ends_with("worker-one (tid 3 of pid 2)")), "{names:?}");
}

/// A process's CPU time is its threads' together, those that ended too: the process
/// clock, RUSAGE_SELF, times() and /proc/PID/stat; the thread's own clock,
/// RUSAGE_THREAD and /proc/PID/task/TID/stat its own; wait4's rusage of a child
/// whose main thread left first counts its threads and what it reaped, and so do
/// RUSAGE_CHILDREN and times() (`user/c/cputime.c`).
#[test]
fn cpu_time_is_the_threads_together_as_on_linux() {
    let (_, guest) =
        same_as_host(&test_cpus(&[]).iter().map(String::as_str).collect::<Vec<_>>(), &c_program("cputime"), &[]);
    let out = stdout(&guest);
    assert!(
        out.lines().count() == 11 && out.lines().all(|line| line.ends_with(": yes") || line == "the child: exited 0"),
        "{out}"
    );
}
