//! The tick on demand: with one CPU, a program running alone, or an idle CPU, is
//! interrupted only when something may be due (its quantum's end, a sleeper's
//! deadline), and the skipped ticks are still charged; a second runnable task
//! brings the 1 ms tick back. Under `--icount`, where the guest's time counts
//! instructions, the figures do not depend on the host's load.

mod common;

use common::*;

/// `tick_demand ARGS` under `--icount` with `options`; its stdout.
fn tick_demand(options: &[&str], args: &[&str]) -> String {
    let mut all = vec!["--icount"];
    all.extend_from_slice(options);
    let output = run_with(&all, &c_program("tick_demand"), args);
    assert_status(&output, 0);
    stdout(&output)
}

/// The number after `key: ` in `text`'s first line that has it.
fn figure(text: &str, key: &str) -> f64 {
    let pattern = format!("{key}: ");
    let at = text.find(&pattern).unwrap_or_else(|| panic!("no {key:?} in {text:?}")) + pattern.len();
    let number: String = text[at..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    number.parse().unwrap_or_else(|_| panic!("{key:?} in {text:?}"))
}

#[test]
fn a_lone_spinner_is_interrupted_at_its_quantum_not_at_every_tick() {
    // Each policy's lone task, 10 ms quanta: one interruption a quantum (the
    // periodic tick made it 1000). EEVDF's requests are shorter than a quantum.
    for (policy, most) in [("rr", 110.0), ("mlfq", 110.0), ("lottery", 110.0), ("stride", 110.0), ("fair", 110.0)]
        .into_iter()
        .chain([("eevdf", 350.0)])
    {
        let out = tick_demand(&["--sched", policy], &["alone", "300"]);
        let rate = figure(&out, "interruptions/s");
        assert!((50.0..=most).contains(&rate), "{policy}: {out}");
    }
}

#[test]
fn two_spinners_still_take_10_ms_turns_at_the_1_ms_tick() {
    let out = tick_demand(&[], &["pair", "300"]);
    for spinner in ["parent", "child"] {
        let line = out.lines().find(|line| line.starts_with(spinner)).unwrap_or_else(|| panic!("{out}"));
        assert!(figure(line, "interruptions/s") >= 700.0, "{out}");
        assert!(figure(line, "turns") >= 20.0, "{out}");
        let turn = figure(line, "turn_ms");
        assert!((9.0..=11.0).contains(&turn), "{out}");
    }
}

#[test]
fn sleepers_wake_on_time_while_the_cpu_skips_ticks() {
    // 1 ms sleeps within a tick late, 40 to 180 ms sleeps (an idle CPU's timer
    // stretched to the deadline) as well.
    let out = tick_demand(&[], &["sleeps"]);
    assert!(out.contains("short_ok: yes") && out.contains("long_ok: yes"), "{out}");
}

#[test]
fn proc_stat_counts_the_ticks_the_timer_skipped() {
    // 300 ms asleep, then 300 ms spinning, alone: /proc/stat's idle and busy
    // times grow by that much, though few interrupts came.
    let out = tick_demand(&[], &["stat", "300"]);
    for key in ["idle_ms", "busy_ms"] {
        let ms = figure(&out, key);
        assert!((270.0..=330.0).contains(&ms), "{key}: {out}");
    }
}
