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
    let options: Vec<&str> = ["--cpus", "1", "--icount"].into_iter().chain(options.iter().copied()).collect();
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
fn nice_0_gets_about_three_times_the_cpu_of_nice_5_under_eevdf() {
    assert_nice_ratio(&["--sched", "eevdf"]);
}

/// Three nice values share 2 s under EEVDF within 10% of what their weights
/// promise (nicehogs prints both).
#[test]
fn eevdf_shares_follow_nice_within_10_percent_over_2_s() {
    let output = nicehogs(&["--sched", "eevdf"], "2000", &["0", "5", "-3"]);
    let text = stdout(&output);
    let children: Vec<&str> = text.lines().filter(|line| line.starts_with("child ")).collect();
    assert_eq!(children.len(), 3, "{text}");
    for line in children {
        // child 0 nice 0: 745 ms cpu, 74.6% (weight 75.3%)
        let percent = |after: &str| -> f64 {
            line.split(after).nth(1).and_then(|rest| rest.split('%').next()).unwrap().trim().parse().unwrap()
        };
        let (got, promised) = (percent("cpu, "), percent("weight "));
        assert!((got - promised).abs() <= promised * 0.10, "{line}\n{text}");
    }
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

/// What `wakeup 1000` measured: a process sleeping 5 ms at a time beside two CPU
/// hogs.
struct Wakeups {
    worst_us: f64,
    count: u64,
    /// The CPU time each hog got, in ms.
    hogs_ms: Vec<u64>,
}

/// `wakeup 1000` under `options` (and `--icount`).
fn wakeups(options: &[&str]) -> Wakeups {
    let options: Vec<&str> = ["--cpus", "1", "--icount"].into_iter().chain(options.iter().copied()).collect();
    let output = run_with(&options, &c_program("wakeup"), &["1000"]);
    assert_status(&output, 0);
    eprintln!("{options:?} wakeup 1000:\n{}", stdout(&output));
    let text = stdout(&output);
    let count = text.split_whitespace().nth(1).and_then(|n| n.trim_end_matches(',').parse().ok()).expect("wakeups N");
    let hogs_line = text.lines().find(|l| l.starts_with("hogs cpu_ms")).expect("hogs cpu_ms");
    let hogs_ms = hogs_line.split_whitespace().skip(2).map(|n| n.parse().unwrap()).collect();
    Wakeups { worst_us: number(&output, "worst_us"), count, hogs_ms }
}

/// The sleeper of `wakeup 1000` is woken within 40 ms every time, at least
/// `min_wakeups` times (1000 ms in periods of at least 5 ms: near 166 when every
/// wake-up is prompt), and the hogs did compete (each got a good part of the CPU).
#[track_caller]
fn assert_prompt_wakeups(options: &[&str], min_wakeups: u64) {
    let Wakeups { worst_us, count, hogs_ms } = wakeups(options);
    assert!(worst_us < 40_000.0, "{options:?}: worst wake-up delay {worst_us} us");
    assert!(count >= min_wakeups, "{options:?}: only {count} wake-ups");
    assert!(hogs_ms.iter().all(|&ms| ms >= 300), "{options:?}: hogs got {hogs_ms:?} ms");
}

#[test]
fn a_sleeper_beside_two_hogs_is_woken_within_40_ms_under_mlfq() {
    assert_prompt_wakeups(&["--sched", "mlfq"], 100);
}

#[test]
fn a_sleeper_beside_two_hogs_is_woken_within_40_ms_under_fair() {
    assert_prompt_wakeups(&["--sched", "fair"], 100);
}

#[test]
fn a_sleeper_beside_two_hogs_is_woken_within_40_ms_under_eevdf() {
    assert_prompt_wakeups(&["--sched", "eevdf"], 100);
}

/// Lottery never preempts on a wake-up, so each sleep also waits out the rest of a
/// hog's 10 ms quantum (near 5 ms): about 90 wake-ups, not 166. Compensation
/// tickets make the sleeper, which uses a sliver of each quantum, win nearly
/// every draw it enters; the plain draw (a third of the tickets) makes it lose
/// several in a row.
#[test]
fn a_sleeper_beside_two_hogs_is_woken_within_40_ms_under_lottery_by_compensation() {
    assert_prompt_wakeups(&["--sched", "lottery"], 80);
    let plain = wakeups(&["--sched", "lottery", "--lottery-compensation", "off"]);
    assert!(
        plain.worst_us > 40_000.0 && plain.count < 60,
        "the plain draw: {} us worst, {} wake-ups",
        plain.worst_us,
        plain.count
    );
}

#[test]
fn nice_values_through_getpriority_and_setpriority() {
    let output = run_with(&["--cpus", "1", "--sched", "fair"], &c_program("priority"), &[]);
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
            "--cpus",
            "1",
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
