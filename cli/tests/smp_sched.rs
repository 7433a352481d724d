//! Time sharing on N CPUs: with `--cpus N` every CPU runs the scheduler, with a run
//! queue of its own; new and woken tasks are placed on idle CPUs, idle CPUs take
//! waiting tasks from busy ones, and a wake on one CPU reaches a task about to
//! block on another (`user/c/smp.c`). Processes and the threads of one process run
//! on several CPUs at once, with the same results as on the host.
//!
//! The existing concurrency tests also run on several CPUs with the environment
//! variable `TIMESHARE_TEST_CPUS=N` (see `common::test_cpus`).

mod common;

use common::*;

/// `smp ARGS` under timeshare with `--cpus cpus`; its stdout.
fn smp(cpus: &str, args: &[&str]) -> String {
    let guest = run_with(&["--cpus", cpus], &c_program("smp"), args);
    assert_status(&guest, 0);
    stdout(&guest)
}

#[test]
fn cpu_bound_processes_on_two_cpus_run_at_the_same_time() {
    // Their CPU times add up to more than the wall time they took together.
    assert_eq!(smp("2", &["hogs", "4", "300"]), "parallel: yes\n");
    // The same check tells one CPU apart: it can fail.
    assert_eq!(smp("1", &["hogs", "4", "300"]), "parallel: no\n");
}

#[test]
fn cpu_bound_processes_on_four_cpus_run_at_the_same_time() {
    assert_eq!(smp("4", &["hogs", "8", "200"]), "parallel: yes\n");
}

#[test]
fn threads_of_one_process_on_two_cpus_keep_mutex_and_condvar_counts_exact() {
    for run in 0..20 {
        let (_, guest) = same_as_host(&["--cpus", "2"], &c_program("smp"), &["threads", "4", "20000"]);
        assert_eq!(stdout(&guest), "counts exact: yes\n", "run {run}");
    }
}

#[test]
fn a_wake_up_storm_through_pipes_crosses_cpus_without_losing_a_wake() {
    for cpus in ["2", "4"] {
        let (_, guest) = same_as_host(&["--cpus", cpus], &c_program("smp"), &["storm", "24", "300"]);
        assert_eq!(stdout(&guest), "every byte arrived: yes\n", "--cpus {cpus}");
    }
}

/// Fifty boots of four CPUs passing wakes around a ring of processes and threads
/// handing a lock over: none hangs (the run's timeout would fail it). The slowest
/// test here: some 50 s on a 2-core host.
#[test]
fn fifty_runs_on_four_cpus_never_hang() {
    for run in 0..50 {
        let args: &[&str] = if run % 2 == 0 { &["storm", "12", "100"] } else { &["threads", "6", "2000"] };
        let guest = run_with(&["--cpus", "4"], &c_program("smp"), args);
        assert_status(&guest, 0);
        assert!(stdout(&guest).ends_with(": yes\n"), "run {run}: {}", stdout(&guest));
    }
}

/// sched_setaffinity to one CPU moves the caller there at once and keeps it there:
/// /proc/self/stat's processor field (39) says so after each stretch of work.
#[test]
fn sched_setaffinity_pins_a_task_to_its_cpu() {
    for cpu in ["0", "1", "3"] {
        let out = smp("4", &["pinned", cpu]);
        assert_eq!(out, format!("processor: {cpu}\n").repeat(5), "pinned to {cpu}");
    }
}

/// BusyBox: nproc counts the CPUs sched_getaffinity allows, taskset pins a
/// command to a CPU, and an affinity with no online CPU is EINVAL as on Linux.
#[test]
fn nproc_and_taskset_see_every_cpu() {
    let script = "nproc; taskset -c 1 cat /proc/self/stat | cut -d' ' -f39; \
                  taskset -p 4 $$ >/dev/null 2>&1; echo no online cpu: $?; \
                  grep -c '^cpu[0-9]' /proc/stat";
    let guest = run_with(&["--cpus", "2"], std::path::Path::new("/bin/busybox"), &["sh", "-c", script]);
    assert_status(&guest, 0);
    assert_eq!(stdout(&guest), "2\n1\nno online cpu: 1\n2\n");
}
