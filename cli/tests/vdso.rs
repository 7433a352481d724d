//! The vDSO: a program finds it from AT_SYSINFO_EHDR and looks its functions up
//! as musl does, and its clocks agree with the system calls', the same on Linux
//! (user/c/vdso.c); through the C library (C or Rust std) those clocks make no
//! system call, which the kernel's own trace shows.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// The system calls `program ARGS` made, by name, from the kernel's trace (which
/// must have dropped nothing).
fn system_calls(test: &str, program: &Path, args: &[&str], names: &[&str]) -> Vec<usize> {
    let trace = std::env::temp_dir().join(format!("timeshare-vdso-{}-{test}.json", std::process::id()));
    let output = run_with(&["--trace", trace.to_str().unwrap()], program, args);
    assert_status(&output, 0);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&trace).expect("the trace was written")).expect("valid JSON");
    let _ = std::fs::remove_file(&trace);
    assert_eq!(json["otherData"]["dropped_events"], 0, "the trace is complete");
    let events = json["traceEvents"].as_array().expect("events");
    names.iter().map(|&name| events.iter().filter(|event| event["name"] == name).count()).collect()
}

const CLOCK_CALLS: [&str; 3] = ["clock_gettime", "gettimeofday", "time"];

#[test]
fn a_program_finds_the_vdso_and_its_clocks_agree_with_the_system_calls_as_on_linux() {
    let out = compare_with_host(&[], "vdso", &[], &[], |line| {
        line.ends_with(": yes") || line.ends_with(": EINVAL") || line.ends_with(": EACCES") || line == "still running"
    });
    assert!(out.contains("CLOCK_MONOTONIC never goes back, vDSO and system call mixed: yes\n"), "{out}");
    assert!(out.contains("maps: [vdso] at AT_SYSINFO_EHDR: yes\n"), "{out}");
}

#[test]
fn the_vdso_clocks_are_right_with_a_virtual_tsc_and_with_several_cpus() {
    for options in [&["--icount"][..], &["--cpus", "2"][..]] {
        let output = run_with(options, &c_program("vdso"), &[]);
        let out = stdout(&output);
        assert_status(&output, 0);
        assert!(!out.contains(": no"), "{options:?}:\n{out}");
    }
}

#[test]
fn clocks_through_the_c_library_make_no_system_call() {
    const CALLS: usize = 1000;
    let calls = system_calls("library", &c_program("vdso"), &["library-calls", &CALLS.to_string()], &CLOCK_CALLS);
    assert_eq!(calls, [0, 0, 0], "clock_gettime, gettimeofday, time system calls through musl");
    // The same count sees the system calls made: the measure can fail.
    let calls = system_calls("direct", &c_program("vdso"), &["system-calls", &CALLS.to_string()], &CLOCK_CALLS);
    assert_eq!(calls, [CALLS, 0, 0]);
}

fn std_clock() -> PathBuf {
    let program = Path::new(env!("TIMESHARE_USER_STD_DIR")).join("std_clock");
    assert!(program.is_file(), "{} was not built (see cli/build.rs)", program.display());
    program
}

#[test]
fn rust_std_time_works_as_on_linux_without_a_clock_system_call() {
    let (_, guest) = same_as_host(&[], &std_clock(), &[]);
    let out = stdout(&guest);
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(out.lines().all(|line| line.ends_with(": true")), "{out}");
    // 100000 Instant::now() and three SystemTime::now(), the vDSO's.
    assert_eq!(system_calls("std", &std_clock(), &[], &CLOCK_CALLS), [0, 0, 0]);
}
