//! `timeshare bench` and its benchmark program (user/c/bench.c): every row is reported
//! with a finite figure, and the program's own checks pass, on timeshare and natively.
//! No timing thresholds: figures are for people, never for tests.

mod common;

use common::*;
use std::path::Path;
use std::process::Output;

/// Every row the program reports (`bench --list`), in order.
fn rows() -> Vec<String> {
    let output =
        std::process::Command::new(c_program("bench")).arg("--list").output().expect("run bench --list on the host");
    assert!(output.status.success());
    let rows: Vec<String> = stdout(&output).lines().map(str::to_string).collect();
    assert!(rows.len() >= 15, "{rows:?}");
    rows
}

/// The rows that need two CPUs or more: with one, the program skips them
/// (`bench-skip NAME ...`) and `timeshare bench` leaves them out.
const SEVERAL_CPU_ROWS: [&str; 5] = [
    "pipe-pingpong-cross-cpu",
    "futex-wake-cross-cpu",
    "ipi-wakeup-latency",
    "smp-scaling-procs",
    "smp-scaling-threads",
];

/// The rows the program reports on `cpus` CPUs.
fn rows_on(cpus: u32) -> Vec<String> {
    rows().into_iter().filter(|row| cpus >= 2 || !SEVERAL_CPU_ROWS.contains(&row.as_str())).collect()
}

/// The rows the program said it skipped (`bench-skip NAME REASON`).
fn skipped(text: &str) -> Vec<String> {
    text.lines().filter_map(|line| line.strip_prefix("bench-skip ")?.split(' ').next().map(str::to_string)).collect()
}

/// The program's output: each row's figure, or its error; and the bench-done count.
fn figures(text: &str) -> (Vec<(String, Result<f64, String>)>, Option<u32>) {
    let mut figures = Vec::new();
    let mut done = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        let words: Vec<&str> = line.splitn(3, ' ').collect();
        match words[..] {
            ["bench", name, rest] => {
                let value = rest.split(' ').next().unwrap().parse::<f64>().map_err(|e| e.to_string());
                figures.push((name.to_string(), value));
            }
            ["bench-error", name, reason] => figures.push((name.to_string(), Err(reason.to_string()))),
            ["bench-done", n] => done = n.parse().ok(),
            _ => {}
        }
    }
    (figures, done)
}

/// The program's checks passed on `cpus` CPUs: exit 0, `bench-done 0`, every row
/// once with a finite, non-negative figure, but those that need more CPUs, which it
/// skipped.
#[track_caller]
fn assert_checks_passed(output: &Output, context: &str, cpus: u32) {
    let text = stdout(output);
    let (figures, done) = figures(&text);
    assert_eq!(
        shell_status(output.status),
        0,
        "{context}: bench --check failed\n--- stdout ---\n{text}\n--- stderr ---\n{}",
        stderr(output)
    );
    assert_eq!(done, Some(0), "{context}: no `bench-done 0`\n{text}");
    let names: Vec<&str> = figures.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, rows_on(cpus), "{context}: rows missing, repeated or out of order\n{text}");
    let expected_skips: Vec<String> = rows().into_iter().filter(|row| !rows_on(cpus).contains(row)).collect();
    assert_eq!(skipped(&text), expected_skips, "{context}: skipped rows\n{text}");
    for (name, figure) in &figures {
        match figure {
            Ok(v) => assert!(v.is_finite() && *v >= 0.0, "{context}: {name} = {v}\n{text}"),
            Err(reason) => panic!("{context}: {name}: {reason}\n{text}"),
        }
    }
}

#[test]
fn the_benchmark_checks_pass_on_timeshare() {
    // BusyBox as /bin/sh for fork-exec-sh, as `timeshare bench` adds it.
    let output = run_with(
        &["--cpus", "1", "--add", "/bin/busybox:/bin/sh"],
        &c_program("bench"),
        &["--check", "--scale", "0.02"],
    );
    assert_checks_passed(&output, "timeshare", 1);
}

#[test]
fn the_rows_of_several_cpus_run_on_two() {
    // The cross-CPU hand-offs (pinned apart), the wake of an idle CPU and the scaling
    // of CPU-bound work, with their checks, on a machine of two CPUs.
    let output = run_with(
        &["--cpus", "2"],
        &c_program("bench"),
        &["--check", "--scale", "0.02", "smp-cross-cpu", "smp-scaling"],
    );
    let text = stdout(&output);
    assert_eq!(shell_status(output.status), 0, "{text}\n{}", stderr(&output));
    let (figures, done) = figures(&text);
    assert_eq!(done, Some(0), "{text}");
    let names: Vec<&str> = figures.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, SEVERAL_CPU_ROWS, "{text}");
    for (name, figure) in &figures {
        assert!(figure.as_ref().is_ok_and(|v| v.is_finite() && *v > 0.0), "{name}: {figure:?}\n{text}");
    }
}

/// With several CPUs the rows of one CPU run pinned to CPU 0, as they would with
/// one (futex-pingpong's check says where its two threads ran).
#[test]
fn the_rows_of_one_cpu_stay_on_cpu_0_with_two() {
    let output = run_with(&["--cpus", "2"], &c_program("bench"), &["--check", "--scale", "0.02", "futex-pingpong"]);
    let text = stdout(&output);
    assert_eq!(shell_status(output.status), 0, "{text}\n{}", stderr(&output));
    let (figures, done) = figures(&text);
    assert_eq!(done, Some(0), "{text}");
    assert!(matches!(&figures[..], [(name, Ok(_))] if name == "futex-pingpong"), "{text}");
}

#[test]
fn bench_leaves_the_rows_of_several_cpus_out_on_one() {
    let output =
        timeshare_with(&["bench", "--quick", "--mode", "icount", "--only", "smp-scaling", "--only", "null-syscall"]);
    assert_status(&output, 0);
    let table = stdout(&output);
    assert!(table.lines().any(|l| l.starts_with("null-syscall")), "{table}");
    assert!(!table.lines().any(|l| l.starts_with("smp-scaling")), "{table}");
    assert!(
        stderr(&output).contains("need --cpus 2 or more: smp-scaling-procs, smp-scaling-threads"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_benchmark_checks_pass_on_the_host() {
    // The same binary on this Linux host (pinned to one CPU, like the guests): its checks
    // (ping-pong bytes in order, the ring's token, exit statuses, every signal handled,
    // sched_yield alternating the two processes) hold there too.
    let output = host_run(&c_program("bench"), &["--check", "--scale", "0.02"]);
    assert_checks_passed(&output, "host", 1);
}

#[test]
fn the_benchmark_refuses_unknown_names() {
    let output = host_run(&c_program("bench"), &["no-such-benchmark"]);
    assert_eq!(shell_status(output.status), 2);
    assert!(stderr(&output).contains("no benchmark named no-such-benchmark"), "{}", stderr(&output));
    let output = timeshare_with(&["bench", "--quick", "--only", "no-such-benchmark"]);
    assert_status(&output, 2);
    assert!(stderr(&output).contains("no benchmark named `no-such-benchmark`"), "{}", stderr(&output));
}

/// The JSON report: for each row, the figure of `system` in `mode`.
fn json_figure(report: &serde_json::Value, row: &str, mode: &str, system: &str) -> Option<f64> {
    report["rows"].as_array()?.iter().find(|r| r["name"] == row)?[mode][system].as_f64()
}

#[test]
fn bench_quick_reports_every_row_in_both_modes() {
    let dir = scratch_dir("bench-quick");
    let json = dir.join("bench.json");
    let output = timeshare_with(&["bench", "--quick", "--json", json.to_str().unwrap()]);
    assert_status(&output, 0);
    let table = stdout(&output);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON file")).expect("valid JSON");
    for row in rows_on(1) {
        let line = table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(row.as_str()))
            .unwrap_or_else(|| panic!("no table row {row}\n{table}"));
        assert!(!line.contains("n/a"), "{line}\n{table}");
        for mode in ["icount", "tcg"] {
            let value = json_figure(&report, &row, mode, "timeshare")
                .unwrap_or_else(|| panic!("no {mode} figure for {row} in the JSON\n{report:#}"));
            assert!(value.is_finite() && value >= 0.0, "{row} {mode}: {value}");
        }
    }
    assert!(report["date"].as_str().is_some_and(|d| d.ends_with('Z')));
    assert!(report["qemu"].as_str().is_some_and(|q| q.contains("QEMU")));
    assert!(report["linux"]["unavailable"].is_string(), "--quick runs no Linux");
    for row in SEVERAL_CPU_ROWS {
        assert!(!table.contains(row), "{row} needs two CPUs\n{table}");
    }
    // Progress went to stderr, the table to stdout.
    assert!(stderr(&output).contains("[icount timeshare]"), "{}", stderr(&output));
}

#[test]
fn bench_runs_linux_beside_timeshare_or_says_why_not() {
    // One figure, one mode: Linux is fetched (once, into the cache) and booted with the
    // same program as /init; where it cannot be had, the run says so and goes on.
    let dir = scratch_dir("bench-linux");
    let json = dir.join("bench.json");
    let output = timeshare_with(&[
        "bench",
        "--only",
        "null-syscall",
        "--mode",
        "icount",
        "--iterations",
        "0.05",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_status(&output, 0);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON file")).expect("valid JSON");
    assert!(json_figure(&report, "null-syscall", "icount", "timeshare").is_some_and(f64::is_finite));
    let table = stdout(&output);
    match report["linux"]["release"].as_str() {
        Some(release) => {
            assert!(table.contains(&format!("Linux: {release}")), "{table}");
            let linux = json_figure(&report, "null-syscall", "icount", "linux");
            assert!(linux.is_some_and(|v| v.is_finite() && v > 0.0), "{report:#}\n{}", stderr(&output));
            let ratio = report["rows"][0]["icount"]["ratio"].as_f64();
            assert!(ratio.is_some_and(f64::is_finite), "{report:#}");
            assert!(stderr(&output).contains("reference Linux"), "{}", stderr(&output));
        }
        None => {
            let why = report["linux"]["unavailable"].as_str().expect("a reason");
            assert!(table.contains("Linux: not run"), "{table}");
            assert!(stderr(&output).contains("cannot be had"), "{why}\n{}", stderr(&output));
        }
    }
}

#[test]
fn bench_help_names_the_options() {
    let output = timeshare_with(&["bench", "--help"]);
    assert_status(&output, 0);
    let help = stdout(&output);
    for option in ["--json", "--only", "--iterations", "--quick", "--no-linux", "--mode"] {
        assert!(help.contains(option), "{option} missing from\n{help}");
    }
    assert!(Path::new(&c_program("bench")).is_file());
}
