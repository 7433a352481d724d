//! Scheduling policies, under QEMU: the same C programs (user/c/nicehogs.c,
//! wakeup.c, priority.c) behave under each `--sched` policy as the policy promises.
//!
//! Every run here uses `--icount`: guest time then counts instructions, so the CPU
//! time each process was given (CLOCK_PROCESS_CPUTIME_ID) and the wake-up delays are
//! the scheduler's doing alone, whatever else the host is doing. Without it, guest
//! time is host time: when the host deschedules QEMU (tests run in parallel, on two
//! cores), the process that happened to be running is charged the stall, and on a
//! loaded host even round robin was measured giving one of three equal processes
//! twice the CPU time of another. Under `--icount` a run is also exactly repeatable
//! (lottery draws from its seeded generator). Each program prints its measurements;
//! run with `--nocapture` to see them.

mod common;

use std::process::Output;

use common::*;

/// The number at the end of the stdout line that starts with `key`.
#[track_caller]
fn number(output: &Output, key: &str) -> f64 {
    let text = stdout(output);
    let line = text.lines().find(|line| line.starts_with(key)).unwrap_or_else(|| {
        panic!("no `{key}` line in the output\n--- stdout ---\n{text}\n--- stderr ---\n{}", stderr(output))
    });
    line.split_whitespace().last().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("bad line `{line}`"))
}

/// `nicehogs MS NICE...` under `options`; returns its output after checking it ran.
fn nicehogs(options: &[&str], ms: &str, nices: &[&str]) -> Output {
    let args: Vec<&str> = std::iter::once(ms).chain(nices.iter().copied()).collect();
    let options: Vec<&str> = std::iter::once("--icount").chain(options.iter().copied()).collect();
    let output = run_with(&options, &c_program("nicehogs"), &args);
    assert_status(&output, 0);
    eprintln!("{options:?} nicehogs {args:?}:\n{}", stdout(&output));
    output
}

/// Lottery's shares are right on average: with the default 10 ms quantum a one-second
/// run is only 100 draws (a share of 1/3 comes out as 33% ± 4.7%), so the tests draw
/// every millisecond (1000 draws, ± 1.5%), as OSTEP's fig. 9.2 suggests.
const LOTTERY: &[&str] = &["--sched", "lottery", "--quantum-ms", "1"];

/// Linux's weights give nice 0 against nice 5 a ratio of 1024/335 = 3.06.
#[track_caller]
fn assert_nice_ratio(options: &[&str]) {
    let output = nicehogs(options, "1000", &["0", "5"]);
    let ratio = number(&output, "first/second");
    assert!((2.0..=4.5).contains(&ratio), "{options:?}: nice 0 / nice 5 = {ratio}\n{}", stdout(&output));
}

#[test]
fn nice_0_gets_about_three_times_the_cpu_of_nice_5_under_stride() {
    assert_nice_ratio(&["--sched", "stride"]);
}

#[test]
fn nice_0_gets_about_three_times_the_cpu_of_nice_5_under_lottery() {
    assert_nice_ratio(LOTTERY);
}

#[test]
fn nice_0_gets_about_three_times_the_cpu_of_nice_5_under_fair() {
    assert_nice_ratio(&["--sched", "fair"]);
}

#[test]
fn round_robin_and_mlfq_ignore_nice() {
    for policy in ["rr", "mlfq"] {
        let output = nicehogs(&["--sched", policy], "1000", &["0", "5"]);
        let ratio = number(&output, "max/min");
        assert!(ratio < 1.5, "{policy}: nice 0 / nice 5 = {ratio}");
    }
}

/// Three equal CPU-bound processes: the most served gets less than 1.5x the least.
#[track_caller]
fn assert_equal_shares(options: &[&str]) {
    let output = nicehogs(options, "1000", &["0", "0", "0"]);
    let ratio = number(&output, "max/min");
    assert!(ratio < 1.5, "{options:?}: max/min = {ratio}\n{}", stdout(&output));
}

#[test]
fn three_equal_processes_share_within_1_5x_under_rr() {
    assert_equal_shares(&["--sched", "rr"]);
}

#[test]
fn three_equal_processes_share_within_1_5x_under_mlfq() {
    assert_equal_shares(&["--sched", "mlfq"]);
}

#[test]
fn three_equal_processes_share_within_1_5x_under_stride() {
    assert_equal_shares(&["--sched", "stride"]);
}

#[test]
fn three_equal_processes_share_within_1_5x_under_lottery() {
    assert_equal_shares(LOTTERY);
}

#[test]
fn three_equal_processes_share_within_1_5x_under_fair() {
    assert_equal_shares(&["--sched", "fair"]);
}

/// `wakeup 1000`: a process sleeping 5 ms at a time beside two CPU hogs.
#[track_caller]
fn assert_prompt_wakeups(policy: &str) {
    let output = run_with(&["--icount", "--sched", policy], &c_program("wakeup"), &["1000"]);
    assert_status(&output, 0);
    eprintln!("{policy} wakeup 1000:\n{}", stdout(&output));
    let worst_us = number(&output, "worst_us");
    assert!(worst_us < 40_000.0, "{policy}: worst wake-up delay {worst_us} us\n{}", stdout(&output));
    let text = stdout(&output);
    let wakeups: u64 =
        text.split_whitespace().nth(1).and_then(|n| n.trim_end_matches(',').parse().ok()).expect("wakeups N");
    // 1000 ms in periods of at least 5 ms: near 166 when every wake-up is prompt.
    assert!(wakeups >= 100, "{policy}: only {wakeups} wake-ups");
    // The hogs did compete: each got a good part of the CPU.
    let hogs: Vec<u64> = text
        .lines()
        .find(|l| l.starts_with("hogs cpu_ms"))
        .unwrap()
        .split_whitespace()
        .skip(2)
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(hogs.iter().all(|&ms| ms >= 300), "{policy}: hogs got {hogs:?} ms");
}

#[test]
fn a_sleeper_beside_two_hogs_is_woken_within_40_ms_under_mlfq() {
    assert_prompt_wakeups("mlfq");
}

#[test]
fn a_sleeper_beside_two_hogs_is_woken_within_40_ms_under_fair() {
    assert_prompt_wakeups("fair");
}

#[test]
fn nice_values_through_getpriority_and_setpriority() {
    let output = run_with(&["--sched", "fair"], &c_program("priority"), &[]);
    assert_status(&output, 0);
    let text = stdout(&output);
    assert!(text.lines().filter(|l| l.contains(": ")).all(|l| l.ends_with(": yes")), "{text}");
    assert!(text.ends_with("done\n"), "{text}");
    assert_eq!(text.lines().count(), 22, "{text}");
}

#[test]
fn lottery_replays_exactly_with_the_same_seed_under_icount() {
    let run = |seed: &str| {
        let output = nicehogs(&["--sched", "lottery", "--seed", seed], "300", &["0", "5", "5"]);
        stdout(&output)
    };
    let first = run("5");
    assert_eq!(first, run("5"), "the same seed, the same schedule");
    assert_ne!(first, run("6"), "another seed, other draws");
}

#[test]
fn mlfq_knobs_reach_the_kernel() {
    // One level with a 1 ms quantum is round robin by the millisecond; the log says
    // which policy the kernel built.
    let output = run_with(
        &[
            "--icount",
            "--sched",
            "mlfq",
            "--mlfq-levels",
            "1",
            "--mlfq-quanta-ms",
            "1",
            "--mlfq-boost-ms",
            "0",
            "--verbose",
        ],
        &c_program("nicehogs"),
        &["300", "0", "0"],
    );
    assert_status(&output, 0);
    let log = stderr(&output);
    assert!(log.contains("sched mlfq") && log.contains("mlfq_levels=1 mlfq_quanta_ms=1 mlfq_boost_ms=0"), "{log}");
    assert!(number(&output, "max/min") < 1.5, "{}", stdout(&output));
}
