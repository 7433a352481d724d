//! Seeing the CPUs: with `--cpus N`, the timeline (`--timeline`) has a lane per CPU
//! (what ran there, its idle time, marks where a thread moved between CPUs), the
//! trace (`--trace`) a track per CPU, `--stats` a table of each CPU's busy and idle
//! time, switches and migrations; `sched-sim --cpus N` draws the balance.

mod common;

use std::path::PathBuf;

use common::*;

/// A fresh path in the temporary directory for this test's output.
fn output(test: &str, extension: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("timeshare-smpvis-{}-{test}.{extension}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// The SVG in `path`, checked to be XML.
fn svg(path: &PathBuf) -> String {
    let text = std::fs::read_to_string(path).expect("the timeline was written");
    roxmltree::Document::parse(&text).expect("well-formed XML");
    text
}

/// The CPU lanes of a timeline: (CPU, pids of its running bars).
fn cpu_lanes(text: &str) -> Vec<(u32, Vec<u32>)> {
    let document = roxmltree::Document::parse(text).unwrap();
    document
        .descendants()
        .filter(|node| node.attribute("class") == Some("cpu-lane"))
        .map(|lane| {
            let pids = lane
                .descendants()
                .filter(|node| node.attribute("class") == Some("running"))
                .map(|node| node.attribute("data-pid").unwrap().parse().unwrap())
                .collect();
            (lane.attribute("data-cpu").unwrap().parse().unwrap(), pids)
        })
        .collect()
}

/// The migration marks of a timeline: (pid, from, to), once per lane it is on.
fn migrations(text: &str) -> Vec<(u32, u32, u32)> {
    let document = roxmltree::Document::parse(text).unwrap();
    let number = |node: &roxmltree::Node, name: &str| node.attribute(name).unwrap().parse::<u32>().unwrap();
    document
        .descendants()
        .filter(|node| node.attribute("class") == Some("migration"))
        .map(|node| (number(&node, "data-pid"), number(&node, "data-from"), number(&node, "data-to")))
        .collect()
}

/// The rows of `--stats`'s CPU table: (cpu, busy ms, idle ms, switches).
fn cpu_rows(stderr: &str) -> Vec<(String, f64, f64, u64)> {
    let mut lines = stderr.lines().skip_while(|line| !line.starts_with("  cpu   busy ms"));
    lines.next();
    lines
        .map_while(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [cpu, busy, idle, _, switches, _] = fields[..] else { return None };
            Some((cpu.to_string(), busy.parse().ok()?, idle.parse().ok()?, switches.parse().ok()?))
        })
        .collect()
}

/// Every process's user + system time in the `--stats` process table, in ms.
fn process_cpu_ms(stderr: &str) -> f64 {
    let mut lines = stderr.lines().skip_while(|line| !line.starts_with("  pid   tid  ppid"));
    lines.next();
    lines
        .map_while(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // pid tid ppid name end(2 words) user sys ...
            Some(fields.get(6)?.parse::<f64>().ok()? + fields.get(7)?.parse::<f64>().ok()?)
        })
        .sum()
}

#[test]
fn two_hogs_on_two_cpus_show_two_busy_cpu_lanes_tracks_and_stats() {
    let (timeline, trace) = (output("hogs", "svg"), output("hogs", "json"));
    let guest = run_with(
        &["--cpus", "2", "--stats", "--timeline", timeline.to_str().unwrap(), "--trace", trace.to_str().unwrap()],
        &c_program("smp"),
        &["hogs", "2", "300"],
    );
    assert_status(&guest, 0);
    assert_eq!(stdout(&guest), "parallel: yes\n");
    assert!(!stderr(&guest).contains("dropped"), "{}", stderr(&guest));
    let text = svg(&timeline);
    let lanes = cpu_lanes(&text);
    assert_eq!(lanes.iter().map(|(cpu, _)| *cpu).collect::<Vec<_>>(), [0, 1], "{text}");
    for (cpu, pids) in &lanes {
        assert!(pids.iter().any(|&pid| pid > 1), "CPU {cpu} ran a hog: {pids:?}");
    }
    assert!(text.contains("2 CPUs, "), "the subtitle counts the CPUs");

    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&trace).unwrap()).expect("valid JSON");
    let events = json["traceEvents"].as_array().unwrap();
    let cpu_tracks: Vec<&str> = events
        .iter()
        .filter(|event| event["name"] == "thread_name" && event["args"]["name"].as_str().unwrap().starts_with("CPU "))
        .map(|event| event["args"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(cpu_tracks, ["CPU 0", "CPU 1"]);
    for cpu in [0, 1] {
        let busy: f64 = events
            .iter()
            .filter(|event| event["cat"] == "cpu" && event["tid"] == cpu && event["args"]["tid"] != 0)
            .map(|event| event["dur"].as_f64().unwrap())
            .sum();
        assert!(busy > 200_000.0, "CPU {cpu} ran threads for {busy} us");
    }

    let stats = stderr(&guest);
    let rows = cpu_rows(&stats);
    assert_eq!(rows.iter().map(|row| row.0.as_str()).collect::<Vec<_>>(), ["0", "1", "all"], "{stats}");
    for (cpu, busy, _, switches) in &rows[..2] {
        assert!(*busy >= 250.0 && *switches > 0, "CPU {cpu} worked: {stats}");
    }
    // The CPUs' busy time is the processes' CPU time, to the tick.
    let (busy, cpu_time) = (rows[2].1, process_cpu_ms(&stats));
    assert!(cpu_time >= 600.0, "{stats}");
    assert!((busy - cpu_time).abs() <= 0.1 * cpu_time + 20.0, "busy {busy} ms, processes {cpu_time} ms: {stats}");
}

#[test]
fn a_task_pinned_to_one_cpu_then_another_is_marked_on_both_lanes() {
    let timeline = output("migrate", "svg");
    let (_, guest) =
        same_as_host(&["--cpus", "2", "--timeline", timeline.to_str().unwrap()], &c_program("smp"), &["migrate", "60"]);
    assert_eq!(stdout(&guest), "allowed: 1\n");
    let text = svg(&timeline);
    let marks = migrations(&text);
    // Each move is marked once on the lane it left and once on the lane it arrived
    // at. pid 1 is free until it pins itself to CPU 0 (a wake may place it on the
    // idle CPU 1 first, as on a loaded host), but the move its second pin forces,
    // from CPU 0 to CPU 1, is there, once.
    for mark in &marks {
        assert_eq!(marks.iter().filter(|other| *other == mark).count() % 2, 0, "{mark:?} on one lane only: {text}");
    }
    assert_eq!(marks.iter().filter(|mark| **mark == (1, 0, 1)).count(), 2, "{text}");
    assert!(marks.len() <= 4, "{marks:?}: {text}");
    let lanes = cpu_lanes(&text);
    assert!(lanes.iter().all(|(_, pids)| pids.contains(&1)), "pid 1 ran on both CPUs: {lanes:?}");
}

#[test]
fn one_cpu_keeps_todays_picture_without_cpu_lanes() {
    let timeline = output("one", "svg");
    let guest =
        run_with(&["--stats", "--timeline", timeline.to_str().unwrap()], &c_program("smp"), &["hogs", "2", "50"]);
    assert_status(&guest, 0);
    let text = svg(&timeline);
    assert!(cpu_lanes(&text).is_empty() && migrations(&text).is_empty());
    assert!(!text.contains("CPUs, "));
    // One CPU's row, no totals.
    let rows = cpu_rows(&stderr(&guest));
    assert_eq!(rows.iter().map(|row| row.0.as_str()).collect::<Vec<_>>(), ["0"]);
}

#[test]
fn the_demo_on_two_cpus_shows_both() {
    let timeline = output("demo", "svg");
    let output = timeshare()
        .args(["demo", "--cpus", "2", "--timeout", "120", "--timeline", timeline.to_str().unwrap()])
        .output()
        .expect("start timeshare");
    assert_status(&output, 0);
    let lanes = cpu_lanes(&svg(&timeline));
    assert_eq!(lanes.len(), 2, "{lanes:?}");
    assert!(lanes.iter().all(|(_, pids)| !pids.is_empty()), "both CPUs ran the demo's processes: {lanes:?}");
    assert!(stdout(&output).contains("What each CPU did:"), "{}", stdout(&output));
}

#[test]
fn sched_sim_draws_the_balance_of_n_cpus() {
    let dir = scratch_dir("smpvis-sched-sim");
    let output = timeshare()
        .args(["sched-sim", "--cpus", "3", "--out", dir.to_str().unwrap()])
        .output()
        .expect("start timeshare");
    assert_status(&output, 0);
    let text = std::fs::read_to_string(dir.join("smp-balance.svg")).expect("the figure was written");
    let document = roxmltree::Document::parse(&text).expect("well-formed XML");
    let lanes = document.descendants().filter(|node| node.attribute("class") == Some("cpu-lane")).count();
    assert_eq!(lanes, 3);
    let report = stdout(&output);
    assert!(report.contains("Simulated 300 ms on 3 CPUs"), "{report}");
    assert!(report.contains("longest a CPU idled while a task waited elsewhere: 0 ms"), "{report}");
}
