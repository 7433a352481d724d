//! Every CPU of a machine emulated under `--icount` (QEMU runs the CPUs in turn on
//! one thread) gets its share of the emulator (`user/c/cpu_turns.c`): busy CPUs
//! take turns at keeping the stretch between timer ticks, whatever their place in
//! the emulator's round.
mod common;

use common::*;

/// A spinner pinned to each CPU counts its loop's rounds through one window of
/// guest time: the slowest counts at least a quarter of the fastest's (about as
/// many, measured). When every busy CPU paused at each of its ticks, CPU 1 of two
/// counted a few hundred rounds to CPU 0's millions, and CPU 2 of four about 2% of
/// the others'.
#[test]
fn every_busy_cpu_progresses_alike_under_icount() {
    for cpus in ["2", "4"] {
        for policy in ["rr", "eevdf"] {
            let guest =
                run_with(&["--cpus", cpus, "--icount", "--sched", policy], &c_program("cpu_turns"), &[cpus, "300"]);
            assert_status(&guest, 0);
            assert_eq!(
                stdout(&guest),
                format!("a spinner on each of {cpus} CPUs progresses alike: yes\n"),
                "{cpus} CPUs, {policy}: {}",
                stderr(&guest)
            );
        }
    }
}
