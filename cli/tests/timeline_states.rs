//! The timeline's states, names and long runs, end to end: user/c/namedload forks a
//! sleeper and two hogs that name themselves with prctl(PR_SET_NAME); the SVG must
//! show each lane by that name, the hogs ready while the other runs, the sleeper
//! blocked in its sleeps, the MLFQ level band and boosts; `--timeline-window`,
//! `--timeline-budget` and `--trace-limit` must do what they say.

mod common;

use std::path::PathBuf;

use common::*;

/// A fresh path in the temporary directory for this test's output.
fn output(test: &str, extension: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("timeshare-states-{}-{test}.{extension}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// Runs namedload (hogs of `spins` million turns, 30 naps) with `options` and the
/// timeline in `svg`; checks its output against the host's, and returns its stderr
/// and the SVG text.
fn run_namedload(options: &[&str], svg: &PathBuf, spins: &str) -> (String, String) {
    let program = c_program("namedload");
    let host = host_run(&program, &["1", "3"]);
    let mut all = vec!["--cpus", "1", "--timeline", svg.to_str().unwrap()];
    all.extend_from_slice(options);
    let guest = run_with(&all, &program, &[spins, "30"]);
    assert_eq!(stdout(&guest), stdout(&host), "namedload's output differs from the host's: {}", stderr(&guest));
    assert_status(&guest, 0);
    (stderr(&guest), std::fs::read_to_string(svg).expect("the timeline was written"))
}

/// One drawn element of a lane: its class, `data-wait`, `data-level`, `data-merged`,
/// and the times its tooltip gives (ms).
#[derive(Debug)]
struct Drawn {
    class: String,
    wait: Option<String>,
    level: Option<u8>,
    merged: u32,
    from_ms: f64,
    to_ms: f64,
}

/// The times in a tooltip: "…, 12.000 – 30.500 ms", "… between 1.0 and 9.0 ms …"
/// or "… from 1.000 to 2.000 ms".
fn times(tip: &str) -> (f64, f64) {
    let numbers: Vec<f64> = tip
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|word| word.contains('.'))
        .filter_map(|word| word.parse().ok())
        .collect();
    match numbers[..] {
        [.., from, to] => (from, to),
        _ => panic!("no times in {tip:?}"),
    }
}

/// The lanes of an SVG timeline, after checking it is well-formed XML: (name, label,
/// elements).
fn lanes(text: &str) -> Vec<(String, String, Vec<Drawn>)> {
    let document = roxmltree::Document::parse(text).expect("the timeline is well-formed XML");
    document
        .descendants()
        .filter(|node| node.attribute("class") == Some("lane"))
        .map(|lane| {
            let name = lane.attribute("data-name").expect("data-name").to_string();
            let label = lane
                .descendants()
                .find(|node| node.tag_name().name() == "text")
                .and_then(|node| node.text())
                .unwrap_or_default()
                .to_string();
            let drawn = lane
                .descendants()
                .filter(|node| matches!(node.attribute("class"), Some("running" | "ready" | "blocked" | "level")))
                .map(|node| {
                    let tip = node.children().find(|child| child.tag_name().name() == "title").and_then(|t| t.text());
                    let (from_ms, to_ms) = times(tip.expect("every interval has a tooltip"));
                    Drawn {
                        class: node.attribute("class").unwrap().to_string(),
                        wait: node.attribute("data-wait").map(str::to_string),
                        level: node.attribute("data-level").map(|level| level.parse().unwrap()),
                        merged: node.attribute("data-merged").map_or(1, |merged| merged.parse().unwrap()),
                        from_ms,
                        to_ms,
                    }
                })
                .collect();
            (name, label, drawn)
        })
        .collect()
}

/// The elements of the lane named `name`.
fn lane<'a>(lanes: &'a [(String, String, Vec<Drawn>)], name: &str) -> &'a [Drawn] {
    &lanes.iter().find(|(lane, ..)| lane == name).unwrap_or_else(|| panic!("no lane named {name}: {lanes:?}")).2
}

/// Milliseconds of `class` (and `wait`, if given) in a lane's elements.
fn total_ms(drawn: &[Drawn], class: &str, wait: Option<&str>) -> f64 {
    drawn
        .iter()
        .filter(|d| d.class == class && (wait.is_none() || d.wait.as_deref() == wait))
        .map(|d| d.to_ms - d.from_ms)
        .sum()
}

const HOGS: [&str; 2] = ["hog-one", "hog-two-with-a-"];

#[test]
fn lanes_are_named_and_show_who_was_ready_and_who_slept() {
    let svg = output("states", "svg");
    let (_, text) = run_namedload(&["--sched", "rr", "--quantum-ms", "10"], &svg, "30");
    let lanes = lanes(&text);
    let names: Vec<&str> = lanes.iter().map(|(name, ..)| name.as_str()).collect();
    assert_eq!(
        names,
        ["namedload", "sleeper", "hog-one", "hog-two-with-a-"],
        "lanes by the names prctl set (cut at 15 bytes)"
    );
    for (name, label, _) in &lanes {
        assert!(label.starts_with(&format!("{name} (pid ")), "the label is the current name and the pid: {label}");
    }
    let sleeper = lane(&lanes, "sleeper");
    let slept = total_ms(sleeper, "blocked", Some("sleep"));
    assert!(slept >= 30.0 * 3.0 * 0.9, "30 naps of 3 ms drawn as blocked on sleep in the sleeper's lane: {slept} ms");
    for hog in HOGS {
        let drawn = lane(&lanes, hog);
        let ready = total_ms(drawn, "ready", None);
        let running = total_ms(drawn, "running", None);
        assert!(
            ready > 10.0 && running > 10.0,
            "{hog}: ready {ready} ms while the other hog ran, running {running} ms"
        );
        assert_eq!(total_ms(drawn, "blocked", None), 0.0, "{hog} never blocks: {drawn:?}");
        assert!(drawn.iter().all(|d| d.class != "level"), "no level band under round robin");
    }
    // The parent waits for its children: blocked on them.
    assert!(total_ms(lane(&lanes, "namedload"), "blocked", Some("child")) > 10.0);
    assert!(!text.contains(r#"class="boost""#));
}

#[test]
fn mlfq_runs_show_the_level_band_and_the_boosts() {
    let svg = output("mlfq", "svg");
    let options = ["--sched", "mlfq", "--mlfq-levels", "3", "--mlfq-quanta-ms", "5,10,20", "--mlfq-boost-ms", "60"];
    let (_, text) = run_namedload(&options, &svg, "30");
    let lanes = lanes(&text);
    for hog in HOGS {
        let levels: Vec<u8> = lane(&lanes, hog).iter().filter_map(|d| d.level).collect();
        assert_eq!(levels.first(), Some(&0), "{hog} starts at the top: {levels:?}");
        assert!(levels.contains(&2), "{hog} used its allotments down to the bottom: {levels:?}");
        assert!(levels.windows(2).any(|pair| pair[0] > pair[1]), "{hog} was boosted back up: {levels:?}");
    }
    let sleeper_levels: Vec<u8> = lane(&lanes, "sleeper").iter().filter_map(|d| d.level).collect();
    assert!(sleeper_levels.contains(&0), "{sleeper_levels:?}");
    let document = roxmltree::Document::parse(&text).unwrap();
    let boosts = document.descendants().filter(|node| node.attribute("class") == Some("boost")).count();
    assert!(boosts >= 1, "boosts are marked");
    assert!(text.contains("level band"), "the legend explains the band");
}

#[test]
fn a_window_draws_only_its_stretch() {
    let svg = output("window", "svg");
    let (_, text) = run_namedload(&["--sched", "rr", "--timeline-window", "20:60"], &svg, "30");
    assert!(text.contains("window 20.0 – 60.0 ms of"), "the subtitle says which stretch");
    let lanes = lanes(&text);
    let drawn: Vec<&Drawn> = lanes.iter().flat_map(|(.., drawn)| drawn).collect();
    assert!(drawn.iter().any(|d| d.class == "running"), "something ran between 20 and 60 ms");
    for d in drawn {
        assert!(d.from_ms >= 20.0 - 1e-3 && d.to_ms <= 60.0 + 1e-3, "drawn outside the window: {d:?}");
    }
    let document = roxmltree::Document::parse(&text).unwrap();
    let axis: Vec<f64> = document
        .descendants()
        .filter(|node| node.attribute("class") == Some("axis"))
        .flat_map(|axis| {
            axis.descendants()
                .filter(|node| node.is_element())
                .filter_map(|node| node.text()?.strip_suffix(" ms")?.parse().ok())
        })
        .collect();
    assert_eq!((axis.first(), axis.last()), (Some(&20.0), Some(&60.0)), "{axis:?}");
}

#[test]
fn a_long_run_over_the_budget_is_merged_and_says_so() {
    let svg = output("budget", "svg");
    let (stderr, text) = run_namedload(&["--sched", "rr", "--quantum-ms", "1", "--timeline-budget", "40"], &svg, "60");
    assert!(stderr.contains("are more than --timeline-budget 40"), "{stderr}");
    let document = roxmltree::Document::parse(&text).unwrap();
    let notice = document.descendants().find(|node| node.attribute("class") == Some("notice")).expect("a notice");
    assert!(notice.text().unwrap().contains("over the budget of 40"), "{:?}", notice.text());
    let lanes = lanes(&text);
    let drawn: Vec<&Drawn> = lanes.iter().flat_map(|(.., drawn)| drawn).filter(|d| d.class != "level").collect();
    assert!(drawn.len() <= 40, "{} intervals drawn", drawn.len());
    assert!(drawn.iter().any(|d| d.merged > 1), "merged intervals say how many they hold");
    // Merging keeps the totals: the sleeper still slept its naps.
    assert!(total_ms(lane(&lanes, "sleeper"), "blocked", Some("sleep")) >= 30.0 * 3.0 * 0.9);
}

#[test]
fn trace_limit_caps_the_json_which_stays_valid() {
    let trace = output("limit", "json");
    let svg = output("limit", "svg");
    let (stderr, _) =
        run_namedload(&["--sched", "rr", "--trace", trace.to_str().unwrap(), "--trace-limit", "20K"], &svg, "30");
    let bytes = std::fs::read(&trace).expect("the trace was written");
    assert!(bytes.len() <= 20_000, "{} bytes", bytes.len());
    let json: serde_json::Value = serde_json::from_slice(&bytes).expect("the cut trace is valid JSON");
    let cut = &json["otherData"]["cut"];
    assert_eq!(cut["limit_bytes"], 20_000);
    assert!(cut["events_left_out"].as_u64().unwrap() > 0, "{cut}");
    assert!(stderr.contains("cut at --trace-limit"), "{stderr}");
    assert!(json["traceEvents"].as_array().unwrap().iter().any(|event| event["name"] == "thread_name"));
}

#[test]
fn events_the_kernel_dropped_are_counted_on_the_picture() {
    let svg = output("dropped", "svg");
    let run = run_with(
        &["--cpus", "1", "--trace-buffer", "8", "--timeline", svg.to_str().unwrap()],
        &c_program("nullcall"),
        &["20000"],
    );
    assert_status(&run, 0);
    let message = stderr(&run);
    let dropped: u64 = message
        .split("timeshare: trace: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("stderr counts the dropped events: {message}"));
    let text = std::fs::read_to_string(&svg).unwrap();
    let document = roxmltree::Document::parse(&text).unwrap();
    let notice = document.descendants().find(|node| node.attribute("class") == Some("notice")).expect("a notice");
    assert!(
        notice.text().unwrap().starts_with(&format!("{dropped} events dropped by the kernel")),
        "{:?} (stderr: {message})",
        notice.text()
    );
}
