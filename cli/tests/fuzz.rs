//! `timeshare fuzz`. Random system calls from several processes (numbers
//! across the whole table and beyond, arguments biased toward edge values and bad
//! pointers) must leave the kernel alive with its invariants intact: every process
//! reaped, free memory back to its baseline, the console answering.

mod common;

use common::*;

#[test]
fn a_few_thousand_random_calls_with_a_fixed_seed_leave_the_kernel_intact() {
    let output = timeshare_with(&["fuzz", "--calls", "5000", "--seed", "1"]);
    let out = stdout(&output);
    assert_status(&output, 0);
    assert!(out.contains("timeshare fuzz: the kernel survived 5000 calls with seed 1; every invariant held"), "{out}");
    for invariant in ["no-children", "memory-intact", "one-process", "free-memory", "console"] {
        assert!(out.contains(&format!("invariant {invariant}: held")), "{invariant}\n{out}");
    }
}

#[test]
fn another_seed_and_more_workers() {
    let output = timeshare_with(&["fuzz", "--calls", "4000", "--seed", "20240607", "--workers", "8"]);
    let out = stdout(&output);
    assert_status(&output, 0);
    assert!(out.contains("every invariant held"), "{out}");
}

#[test]
fn a_run_that_fails_reports_the_seed_and_the_last_calls() {
    // Too many calls for the time given: the machine is stopped (a hang, as far as
    // the fuzzer can tell), which is a failure with everything needed to replay it.
    let output = timeshare_with(&["fuzz", "--calls", "100000000", "--seed", "7", "--timeout", "8"]);
    let out = stdout(&output);
    assert_status(&output, 1);
    assert!(out.contains("timeshare fuzz: FAILED with seed 7: the machine timed out"), "{out}");
    assert!(out.contains("reproduce with: timeshare fuzz --calls 100000000 --seed 7 --workers 4"), "{out}");
    assert!(out.contains("worker 0, generation "), "no last calls:\n{out}");
}

#[test]
fn the_fuzzer_replays_the_same_calls_on_paper() {
    // `fuzz print` regenerates a worker's calls from the seed alone (on the host).
    let fuzz = c_program("fuzz");
    let print = |seed: &str| {
        std::process::Command::new(&fuzz).args(["print", seed, "2", "0", "100", "20"]).output().expect("run fuzz print")
    };
    let (a, b, c) = (print("5"), print("5"), print("6"));
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
    let text = String::from_utf8_lossy(&a.stdout);
    assert_eq!(text.lines().count(), 20, "{text}");
    assert!(text.lines().all(|line| line.starts_with("fuzz:   w2 gen 0 #")), "{text}");
}

#[test]
fn the_fuzzer_makes_raw_threads_now_and_then() {
    // The thread family (clone with a raw stack, futexes, tkill, munmap of a running
    // thread's stack, exit/exit_group from any thread): about 12 operations in 1000.
    let output = std::process::Command::new(c_program("fuzz"))
        .args(["print", "1", "0", "0", "0", "3000"])
        .output()
        .expect("run fuzz print");
    let text = String::from_utf8_lossy(&output.stdout);
    let sequences =
        text.lines().filter(|l| l.contains("a clone/futex/tkill/munmap/exit sequence of raw threads")).count();
    assert!((15..=60).contains(&sequences), "{sequences} thread sequences in 3000 calls\n{text}");
}

#[test]
fn thread_sequences_in_numbers_leave_the_kernel_intact() {
    // Enough calls that each worker runs dozens of thread sequences (threads that
    // exit_group while others wait on futexes, stacks unmapped under running
    // threads, robust lists of garbage walked at exit).
    let output = timeshare_with(&["fuzz", "--calls", "12000", "--seed", "4242", "--workers", "3"]);
    let out = stdout(&output);
    assert_status(&output, 0);
    assert!(out.contains("every invariant held"), "{out}");
}

#[test]
fn the_fuzzer_refuses_to_run_outside_timeshare() {
    // It kills every other process at the end: only as pid 1.
    let output = host_run(&c_program("fuzz"), &["run", "10", "1"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn bad_fuzz_options_are_usage_errors() {
    for args in [
        &["fuzz", "--workers", "0"][..],
        &["fuzz", "--workers", "17"],
        &["fuzz", "--calls", "-1"],
        &["fuzz", "--seed", "x"],
    ] {
        let output = timeshare_with(args);
        assert_status(&output, 2);
    }
}
