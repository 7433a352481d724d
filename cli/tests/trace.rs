//! The event trace, end to end: the kernel records, the CLI reads the ring while the
//! machine runs and writes Chrome Trace Event Format JSON (`--trace`) and an SVG
//! timeline (`--timeline`).

mod common;

use std::path::PathBuf;

use common::*;

/// A fresh path in the temporary directory for this test's output.
fn output(test: &str, extension: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("timeshare-trace-{}-{test}.{extension}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// The JSON trace in `path`, parsed.
fn json(path: &PathBuf) -> serde_json::Value {
    let bytes = std::fs::read(path).expect("the trace file was written");
    serde_json::from_slice(&bytes).expect("the trace is valid JSON")
}

/// The running intervals of a JSON trace, in time order: (tid, why it ended, next tid).
fn slices(trace: &serde_json::Value) -> Vec<(u64, String, Option<u64>)> {
    let mut slices: Vec<(f64, u64, String, Option<u64>)> = trace["traceEvents"]
        .as_array()
        .expect("traceEvents")
        .iter()
        .filter(|event| event["cat"] == "run")
        .map(|event| {
            (
                event["ts"].as_f64().unwrap(),
                event["tid"].as_u64().unwrap(),
                event["args"]["ended"].as_str().unwrap().to_string(),
                event["args"]["next"].as_u64(),
            )
        })
        .collect();
    slices.sort_by(|a, b| a.0.total_cmp(&b.0));
    slices.into_iter().map(|(_, tid, ended, next)| (tid, ended, next)).collect()
}

/// The track names of a JSON trace, by tid.
fn tracks(trace: &serde_json::Value) -> Vec<(u64, String)> {
    trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["name"] == "thread_name")
        .map(|event| (event["tid"].as_u64().unwrap(), event["args"]["name"].as_str().unwrap().to_string()))
        .collect()
}

/// The lanes (pids) of an SVG timeline, after checking that it is well-formed XML.
fn lanes(path: &PathBuf) -> Vec<u32> {
    let text = std::fs::read_to_string(path).expect("the timeline was written");
    let document = roxmltree::Document::parse(&text).expect("the timeline is well-formed XML");
    assert_eq!(document.root_element().tag_name().name(), "svg");
    document
        .descendants()
        .filter(|node| node.attribute("class") == Some("lane"))
        .map(|node| node.attribute("data-pid").unwrap().parse().unwrap())
        .collect()
}

#[test]
fn two_processes_yielding_to_each_other_switch_exactly_as_expected() {
    const ROUNDS: usize = 5;
    let trace = output("pingpong", "json");
    let timeline = output("pingpong", "svg");
    let output = run_with(
        &[
            "--cpus",
            "1",
            "--sched",
            "rr",
            "--quantum-ms",
            "100",
            "--trace",
            trace.to_str().unwrap(),
            "--timeline",
            timeline.to_str().unwrap(),
        ],
        &c_program("pingpong"),
        &[&ROUNDS.to_string()],
    );
    assert_status(&output, 0);
    assert_eq!(stdout(&output), "pingpong: 5 yields each\n");
    let trace = json(&trace);
    // The parent (pid 1) and the child (pid 2) alternate at every sched_yield; then the
    // parent waits (blocked), the child exits, and the idle loop hands the CPU back.
    let mut expected: Vec<(u64, String, Option<u64>)> = Vec::new();
    for _ in 0..ROUNDS {
        expected.push((1, "yielded".into(), Some(2)));
        expected.push((2, "yielded".into(), Some(1)));
    }
    expected.push((1, "blocked".into(), Some(2)));
    expected.push((2, "exited".into(), Some(0)));
    expected.push((0, "dispatched from idle".into(), Some(1)));
    expected.push((1, "still running at the end of the trace".into(), None));
    assert_eq!(slices(&trace), expected);
    assert_eq!(
        tracks(&trace),
        [(0, "idle".to_string()), (1, "pingpong (pid 1)".to_string()), (2, "pingpong (pid 2)".to_string())]
    );
    let sched_yields =
        trace["traceEvents"].as_array().unwrap().iter().filter(|event| event["name"] == "sched_yield").count();
    assert_eq!(sched_yields, 2 * ROUNDS);
    assert_eq!(trace["otherData"]["dropped_events"], 0);
    assert_eq!(lanes(&timeline), [1, 2]);
}

#[test]
fn the_demo_timeline_has_a_lane_per_process() {
    let timeline = output("demo", "svg");
    let output = timeshare()
        .args(["demo", "--timeout", TIMEOUT_SECS, "--timeline", timeline.to_str().unwrap()])
        .output()
        .expect("start timeshare");
    assert_status(&output, 0);
    assert_eq!(lanes(&timeline), [1, 2, 3, 4, 5]);
    let text = std::fs::read_to_string(&timeline).unwrap();
    assert!(text.contains("demo → spin (pid 2)"), "the exec'd child is named after both programs");
    // spin never makes a system call after exec, so only the timer takes the CPU from it.
    let preempted = text
        .lines()
        .filter(|line| line.contains("<title>spin (pid 2)") && line.contains("preempted (quantum expired)"))
        .count();
    assert!(preempted >= 5, "{text}");
}

#[test]
fn without_tracing_the_kernel_records_nothing() {
    let log = output("off", "log");
    let output = run_with(&["--cpus", "1", "--log", log.to_str().unwrap()], &c_program("pingpong"), &["3"]);
    assert_status(&output, 0);
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains(" trace=0 "), "the kernel is told not to trace: {log}");
    assert!(!log.contains("trace:"), "no ring was made: {log}");
    assert_eq!(stderr(&output), "");
}

#[test]
fn a_full_buffer_reports_how_many_events_it_dropped() {
    let trace = output("tiny", "json");
    let output = run_with(
        &["--cpus", "1", "--trace-buffer", "8", "--trace", trace.to_str().unwrap()],
        &c_program("nullcall"),
        &["20000"],
    );
    assert_status(&output, 0);
    let message = stderr(&output);
    assert!(message.contains("events dropped because the trace buffer (8 events) was full"), "{message}");
    let dropped = json(&trace)["otherData"]["dropped_events"].as_u64().unwrap();
    assert!(dropped > 0);
    assert!(message.contains(&format!("timeshare: trace: {dropped} events dropped")), "{message}");
}

#[test]
fn bad_trace_options_are_usage_errors() {
    for args in [
        &["run", "--trace-buffer", "12", "x"][..],
        &["run", "--trace-buffer", "4", "x"],
        &["run", "--trace-buffer", "8388608", "x"],
    ] {
        assert_status(&timeshare_with(args), 2);
    }
    let output = run_with(&["--cpus", "1", "--trace", "/nonexistent/dir/t.json"], &c_program("pingpong"), &[]);
    assert_status(&output, 2);
    assert!(stderr(&output).contains("--trace /nonexistent/dir/t.json"), "{}", stderr(&output));
}
