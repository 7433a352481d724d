//! Thousands of processes, as Linux sizes them: the process limit (RLIMIT_NPROC)
//! follows memory, fork fails with EAGAIN exactly there, 1,000 CPU-bound processes
//! all make progress under every policy (and share the CPU fairly under the fair
//! one), and pids wrap below pid_max without reusing one still in use.

mod common;

use common::*;

/// The limit `nproc` reported on stderr, after checking what it printed.
#[track_caller]
fn process_limit_with_memory(mib: &str) -> u64 {
    let output = run_with(&["--memory", mib, "--icount"], &c_program("nproc"), &[]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "RLIMIT_NPROC soft and hard agree: yes\n\
         fork until it fails: EAGAIN\n\
         processes at the peak: RLIMIT_NPROC: yes\n\
         all killed and reaped: yes\n",
    );
    let stderr = stderr(&output);
    let limit = stderr.lines().find_map(|line| line.strip_prefix("limit ")).expect("the limit on stderr");
    limit.parse().expect("a number")
}

#[test]
fn the_process_limit_follows_memory_as_linux() {
    // Linux: threads-max is RAM / (8 x 16 KiB), RLIMIT_NPROC half of it; of the
    // RAM, what the kernel itself takes is not counted.
    let small = process_limit_with_memory("256");
    let large = process_limit_with_memory("1024");
    assert!((800..=1024).contains(&small), "256 MiB: {small}");
    assert!((3500..=4096).contains(&large), "1 GiB: {large}");
}

#[test]
fn a_thousand_spinners_share_the_cpu_fairly_under_the_fair_policy() {
    let output = run_with(
        &["--memory", "1024", "--icount", "--sched", "fair", "--quantum-ms", "1"],
        &c_program("spinners"),
        &["window", "1000", "4000"],
    );
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "1000 children spun: all finished: yes\neach one's CPU time within a factor of 2 of the mean: yes\n",
    );
}

/// 1,000 spinners that each need 3 ms of CPU all get it under `policy`.
#[track_caller]
fn no_spinner_starves(policy: &str) {
    let output = run_with(
        &["--memory", "1024", "--icount", "--sched", policy, "--quantum-ms", "1", "--mlfq-quanta-ms", "1"],
        &c_program("spinners"),
        &["share", "1000", "3"],
    );
    assert_status(&output, 0);
    assert_stdout(&output, "1000 children spun: all finished: yes\n");
}

#[test]
fn a_thousand_spinners_all_progress_under_round_robin() {
    no_spinner_starves("rr");
}

#[test]
fn a_thousand_spinners_all_progress_under_mlfq() {
    no_spinner_starves("mlfq");
}

#[test]
fn a_thousand_spinners_all_progress_under_stride() {
    no_spinner_starves("stride");
}

#[test]
fn a_thousand_spinners_all_progress_under_lottery() {
    no_spinner_starves("lottery");
}

#[test]
fn pids_wrap_below_pid_max_skipping_those_in_use() {
    let output = timeshare_with(&[
        "run",
        "--timeout",
        TIMEOUT_SECS,
        "--kernel-arg",
        "pid_max=400",
        &c_program("pidwrap").to_string_lossy(),
        "400",
    ]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "pids below pid_max: yes\n\
         pids wrapped around, to 300 and above: yes\n\
         a live process's pid reused: no\n\
         a zombie's pid reused: no\n\
         the id of a process group whose leader is gone reused: no\n\
         the id of a session whose leader is gone reused: no\n",
    );
}

#[test]
fn pid_max_is_refused_below_linuxs_minimum() {
    let output = timeshare_with(&["run", "--kernel-arg", "pid_max=300", &c_program("hello").to_string_lossy()]);
    assert_status(&output, 2);
    assert!(stderr(&output).contains("pid_max"), "{}", stderr(&output));
}
