//! The timeline in the Chrome Trace Event Format, which Perfetto and chrome://tracing
//! open: a track per process, its running intervals, and its instants named as Linux
//! and the x86 manuals name them; with several CPUs, a track per CPU too.

use std::io::{self, Write};

use serde_json::{json, Value};

use super::model::{Lane, Mark, Timeline};

/// The names of the interrupt vectors the kernel uses (kernel/base/src/arch/x86_64/apic.rs).
fn interrupt_name(vector: u64) -> String {
    match vector {
        32 => "timer interrupt".to_string(),
        35 => "host control interrupt".to_string(),
        36 => "console interrupt".to_string(),
        255 => "spurious interrupt".to_string(),
        other => format!("interrupt {other}"),
    }
}

/// The x86 name of an exception vector.
fn exception_name(vector: u64) -> String {
    let name = match vector {
        0 => "divide error",
        1 => "debug",
        3 => "breakpoint",
        4 => "overflow",
        5 => "bound range",
        6 => "invalid opcode",
        7 => "device not available",
        10 => "invalid TSS",
        11 => "segment not present",
        12 => "stack-segment fault",
        13 => "general protection fault",
        14 => "page fault",
        16 => "x87 floating-point error",
        17 => "alignment check",
        19 => "SIMD floating-point error",
        other => return format!("exception {other}"),
    };
    name.to_string()
}

/// A system call's Linux name ("syscall N" for numbers Linux does not have).
pub fn syscall_name(number: u64) -> String {
    usize::try_from(number)
        .ok()
        .and_then(kernel_core::abi::sysno::name)
        .map_or_else(|| format!("syscall {number}"), str::to_string)
}

/// The Chrome "pid" every thread's track belongs to: the machine.
const MACHINE_PID: u32 = 1;
/// The Chrome "pid" of the CPUs' tracks (one per CPU, its number as the tid), when
/// there are several.
const CPUS_PID: u32 = 2;

/// A trace file past this many bytes gets a warning on stderr (`--trace`'s
/// `warn_at`), once, when no limit was given.
pub const WARN_BYTES: u64 = 100_000_000;
/// Room kept under a limit for the document's end (`otherData`).
const TAIL_BYTES: u64 = 512;

/// What `chrome_json` wrote.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Written {
    pub bytes: u64,
    /// Events written and events there were.
    pub events: usize,
    pub total: usize,
    /// When the limit was reached: the time (ms since the trace's start) of the
    /// first event left out.
    pub cut_at_ms: Option<f64>,
}

/// Writes the timeline in the Chrome Trace Event Format: `{"traceEvents": [...]}` with
/// one track (tid) per thread, named after its programs, and one for the idle loop
/// (tid 0): their names first, then in time order a complete event ("X") for each
/// running (category `run`), ready and blocked (category `state`) interval; instant
/// events ("i") for system calls, interrupts, faults, blocks, wake-ups, execs, exits
/// and priority boosts; a counter ("C") for each level change under a policy with
/// levels. With several CPUs, a second process, "CPUs", has a track per CPU (tid:
/// its number) with what ran there and its idle time (category `cpu`), and an
/// instant where a thread arrived from another CPU (`migration`); the idle loop's
/// intervals are there only, as the CPUs idle at once. With a `limit`, events stop before the file passes it and `otherData.cut`
/// says from when on they were left out; the JSON stays valid. Without one, `warn`
/// is called once when the file passes `warn_at` bytes, with the events still to
/// write.
pub fn chrome_json(
    timeline: &Timeline,
    out: &mut impl Write,
    limit: Option<u64>,
    warn_at: u64,
    mut warn: impl FnMut(usize),
) -> io::Result<Written> {
    let order = time_order(timeline);
    let lanes: Vec<&Lane> = std::iter::once(&timeline.idle).chain(&timeline.lanes).collect();
    let several = timeline.several_cpus();
    let machine_name = if several { "timeshare (threads)" } else { "timeshare (CPU 0)" };
    let machine = json!({"ph": "M", "name": "process_name", "pid": MACHINE_PID, "args": {"name": machine_name}});
    let cpus: &[u8] = if several { &timeline.cpus } else { &[] };
    let cpu_process =
        several.then(|| json!({"ph": "M", "name": "process_name", "pid": CPUS_PID, "args": {"name": "CPUs"}}));
    let tracks: Vec<Value> = std::iter::once(machine)
        .chain(lanes.iter().flat_map(|lane| track(lane)))
        .chain(cpu_process)
        .chain(cpus.iter().flat_map(|&cpu| cpu_track(cpu)))
        .collect();
    let timed = order.iter().map(|&(tsc, lane, item)| (tsc, event(timeline, lanes[lane], item)));
    let total = tracks.len() + order.len();
    let tracks = tracks.into_iter();
    let head = br#"{"displayTimeUnit":"ms","traceEvents":["#;
    out.write_all(head)?;
    let mut written = Written { bytes: head.len() as u64, total, ..Written::default() };
    let mut warned = false;
    let mut buffer = Vec::new();
    for (tsc, value) in tracks.map(|value| (None, value)).chain(timed.map(|(tsc, value)| (Some(tsc), value))) {
        buffer.clear();
        if written.events > 0 {
            buffer.push(b',');
        }
        serde_json::to_writer(&mut buffer, &value)?;
        let after = written.bytes + buffer.len() as u64;
        if limit.is_some_and(|limit| after + TAIL_BYTES > limit) {
            written.cut_at_ms = Some(tsc.map_or(0.0, |tsc| timeline.ms(tsc)));
            break;
        }
        if limit.is_none() && !warned && after > warn_at {
            warned = true;
            warn(total - written.events);
        }
        out.write_all(&buffer)?;
        written.bytes = after;
        written.events += 1;
    }
    let mut other = json!({
        "tsc_hz": timeline.tsc_hz,
        "dropped_events": timeline.dropped,
        "context_switches": timeline.switches.len(),
    });
    if let (Some(at_ms), Some(limit)) = (written.cut_at_ms, limit) {
        other["cut"] = json!({
            "limit_bytes": limit,
            "events_left_out": total - written.events,
            "from_ms": to_ns_precision(at_ms),
        });
    }
    let tail = format!("],\"otherData\":{other}}}\n");
    out.write_all(tail.as_bytes())?;
    written.bytes += tail.len() as u64;
    Ok(written)
}

/// One of a lane's timed things, by its index in the lane's list.
#[derive(Debug, Clone, Copy)]
enum Item {
    Slice(usize),
    Wait(usize),
    Mark(usize),
    Level(usize),
    /// A priority boost, by its index in `Timeline::boosts`.
    Boost(usize),
    /// A slice of the lane on its CPU's track.
    CpuRun(usize),
    /// A migration, by its index in `Timeline::migrations`.
    Migration(usize),
}

/// Every timed thing of the timeline as (when, lane, what), in time order (lane 0
/// is the idle loop, then `timeline.lanes`; the boosts go with the idle lane).
fn time_order(timeline: &Timeline) -> Vec<(u64, usize, Item)> {
    let lanes = std::iter::once(&timeline.idle).chain(&timeline.lanes);
    let several = timeline.several_cpus();
    let mut order: Vec<(u64, usize, Item)> = Vec::new();
    for (index, lane) in lanes.enumerate() {
        if !several || index != 0 {
            order.extend(lane.slices.iter().enumerate().map(|(at, slice)| (slice.start, index, Item::Slice(at))));
        }
        if several {
            order.extend(lane.slices.iter().enumerate().map(|(at, slice)| (slice.start, index, Item::CpuRun(at))));
        }
        order.extend(lane.waits.iter().enumerate().map(|(at, wait)| (wait.start, index, Item::Wait(at))));
        order.extend(lane.marks.iter().enumerate().map(|(at, &(tsc, _))| (tsc, index, Item::Mark(at))));
        order.extend(lane.levels.iter().enumerate().map(|(at, &(tsc, _))| (tsc, index, Item::Level(at))));
    }
    order.extend(timeline.boosts.iter().enumerate().map(|(at, &tsc)| (tsc, 0, Item::Boost(at))));
    order.extend(timeline.migrations.iter().enumerate().map(|(at, migration)| (migration.tsc, 0, Item::Migration(at))));
    // Stable: a lane's things keep their order at one instant.
    order.sort_by_key(|&(tsc, ..)| tsc);
    order
}

/// A lane's track: its name and place.
fn track(lane: &Lane) -> [Value; 2] {
    let tid = lane.pid;
    let label = if tid == 0 { "idle".to_string() } else { lane.label() };
    // Threads right under their process's first thread.
    let sort_index = u64::from(lane.process_id()) << 32 | u64::from(tid);
    [
        json!({"ph": "M", "name": "thread_name", "pid": MACHINE_PID, "tid": tid, "args": {"name": label}}),
        json!({"ph": "M", "name": "thread_sort_index", "pid": MACHINE_PID, "tid": tid, "args": {"sort_index": sort_index}}),
    ]
}

/// A CPU's track: its name and place.
fn cpu_track(cpu: u8) -> [Value; 2] {
    [
        json!({"ph": "M", "name": "thread_name", "pid": CPUS_PID, "tid": cpu, "args": {"name": format!("CPU {cpu}")}}),
        json!({"ph": "M", "name": "thread_sort_index", "pid": CPUS_PID, "tid": cpu, "args": {"sort_index": cpu}}),
    ]
}

/// The event for one timed thing of `lane`.
fn event(timeline: &Timeline, lane: &Lane, item: Item) -> Value {
    let tid = lane.pid;
    let complete = |category: &str, name: &str, start: u64, end: u64, args: Value| {
        let (start, end) = (timeline.us(start), timeline.us(end));
        json!({
            "ph": "X", "cat": category, "name": name, "pid": MACHINE_PID, "tid": tid,
            "ts": to_ns_precision(start), "dur": to_ns_precision(end - start), "args": args,
        })
    };
    let instant = |tsc: u64, category: &str, name: String, args: Value| {
        json!({
            "ph": "i", "s": "t", "cat": category, "name": name, "pid": MACHINE_PID, "tid": tid,
            "ts": to_ns_precision(timeline.us(tsc)), "args": args,
        })
    };
    match item {
        Item::Slice(at) => {
            let slice = &lane.slices[at];
            let mut args = match slice.ended {
                Some((reason, next)) => json!({"ended": reason.describe(), "next": next}),
                None => json!({"ended": "still running at the end of the trace"}),
            };
            if slice.merged > 1 {
                args["merged"] = json!(slice.merged);
            }
            complete("run", &slice.name, slice.start, slice.end, args)
        }
        Item::Wait(at) => {
            let wait = &lane.waits[at];
            complete("state", &wait.state.describe(), wait.start, wait.end, json!({}))
        }
        Item::Level(at) => {
            let (tsc, level) = lane.levels[at];
            json!({
                "ph": "C", "name": format!("level of tid {tid}"), "pid": MACHINE_PID,
                "ts": to_ns_precision(timeline.us(tsc)), "args": {"level": level},
            })
        }
        Item::Boost(at) => {
            let tsc = timeline.boosts[at];
            json!({
                "ph": "i", "s": "g", "cat": "sched", "name": "priority boost", "pid": MACHINE_PID,
                "ts": to_ns_precision(timeline.us(tsc)),
            })
        }
        Item::CpuRun(at) => {
            let slice = &lane.slices[at];
            let (start, end) = (timeline.us(slice.start), timeline.us(slice.end));
            let name = if tid == 0 { "idle".to_string() } else { lane.label_with(&slice.name) };
            json!({
                "ph": "X", "cat": "cpu", "name": name, "pid": CPUS_PID, "tid": slice.cpu,
                "ts": to_ns_precision(start), "dur": to_ns_precision(end - start), "args": {"tid": tid},
            })
        }
        Item::Migration(at) => {
            let migration = timeline.migrations[at];
            json!({
                "ph": "i", "s": "t", "cat": "migration", "name": format!("tid {} from CPU {}", migration.pid, migration.from),
                "pid": CPUS_PID, "tid": migration.to, "ts": to_ns_precision(timeline.us(migration.tsc)),
                "args": {"tid": migration.pid, "from": migration.from, "to": migration.to},
            })
        }
        Item::Mark(at) => {
            let (tsc, mark) = lane.marks[at];
            let (category, name, args) = match mark {
                Mark::Syscall { number, result } => {
                    ("syscall", syscall_name(number), json!({"number": number, "result": result}))
                }
                Mark::Interrupt { vector } => ("interrupt", interrupt_name(vector), json!({"vector": vector})),
                Mark::Exception { vector, address } => {
                    ("exception", exception_name(vector), json!({"vector": vector, "address": format!("{address:#x}")}))
                }
                Mark::Block { wait } => ("sched", format!("block: {}", wait.describe()), json!({})),
                Mark::Wake { wait, interrupted } => {
                    ("sched", format!("wake: {}", wait.describe()), json!({"by_signal": interrupted}))
                }
                Mark::Exec => ("process", "exec".to_string(), json!({})),
                Mark::Exit { status } => ("process", "exit".to_string(), json!({"wait_status": status})),
            };
            instant(tsc, category, name, args)
        }
    }
}

/// Microseconds to the nanosecond: finer digits are float noise of the TSC-to-time
/// conversion and would only lengthen the file.
fn to_ns_precision(us: f64) -> f64 {
    (us * 1e3).round() / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::fixtures::*;

    #[test]
    fn the_json_has_one_named_track_per_process() {
        let timeline = two_processes();
        let mut bytes = Vec::new();
        let written = chrome_json(&timeline, &mut bytes, None, WARN_BYTES, |_| panic!("no warning")).unwrap();
        assert_eq!(written.bytes, bytes.len() as u64);
        assert_eq!((written.events, written.total, written.cut_at_ms), (written.total, written.total, None));
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
        let events = json["traceEvents"].as_array().unwrap();
        let names: Vec<(u64, &str)> = events
            .iter()
            .filter(|e| e["name"] == "thread_name")
            .map(|e| (e["tid"].as_u64().unwrap(), e["args"]["name"].as_str().unwrap()))
            .collect();
        assert_eq!(names, [(0, "idle"), (1, "pingpong (pid 1)"), (2, "pingpong → a \"quoted\" <name> & more (pid 2)")]);
        let slices: Vec<(u64, f64, f64)> = events
            .iter()
            .filter(|e| e["cat"] == "run")
            .map(|e| (e["tid"].as_u64().unwrap(), e["ts"].as_f64().unwrap(), e["dur"].as_f64().unwrap()))
            .collect();
        assert_eq!(
            slices,
            [
                (1, 0.0, 1000.0),
                (2, 1000.0, 1000.0),
                (1, 2000.0, 500.0),
                (2, 2500.0, 500.0),
                (0, 3000.0, 500.0),
                (1, 3500.0, 500.0)
            ],
            "in time order"
        );
        let syscalls: Vec<&str> =
            events.iter().filter(|e| e["cat"] == "syscall").map(|e| e["name"].as_str().unwrap()).collect();
        assert_eq!(syscalls, ["fork", "sched_yield"]);
        assert_eq!(events.iter().filter(|e| e["name"] == "timer interrupt").count(), 2);
    }

    #[test]
    fn several_cpus_have_a_track_each() {
        let mut bytes = Vec::new();
        chrome_json(&two_cpus(), &mut bytes, None, WARN_BYTES, |_| panic!("no warning")).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
        let events = json["traceEvents"].as_array().unwrap();
        let cpu_names: Vec<&str> = events
            .iter()
            .filter(|e| e["name"] == "thread_name" && e["pid"] == CPUS_PID)
            .map(|e| e["args"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(cpu_names, ["CPU 0", "CPU 1"]);
        let on_cpu = |cpu: u64| -> Vec<(u64, f64)> {
            events
                .iter()
                .filter(|e| e["cat"] == "cpu" && e["tid"] == cpu)
                .map(|e| (e["args"]["tid"].as_u64().unwrap(), e["ts"].as_f64().unwrap()))
                .collect()
        };
        assert_eq!(on_cpu(0), [(1, 100.0), (0, 1_000.0)]);
        assert_eq!(on_cpu(1), [(2, 100.0), (0, 1_000.0), (1, 1_100.0), (0, 2_000.0)]);
        let migrations: Vec<&serde_json::Value> = events.iter().filter(|e| e["cat"] == "migration").collect();
        assert_eq!(migrations.len(), 1);
        assert_eq!((&migrations[0]["tid"], &migrations[0]["args"]["from"]), (&json!(1), &json!(0)));
        // The idle loop's intervals are on the CPUs' tracks only: on one track they
        // would overlap.
        assert!(!events.iter().any(|e| e["cat"] == "run" && e["tid"] == 0));
        // One CPU: no CPU track.
        let mut one = Vec::new();
        chrome_json(&two_processes(), &mut one, None, WARN_BYTES, |_| panic!("no warning")).unwrap();
        assert!(!String::from_utf8(one).unwrap().contains("\"CPU 0\""));
    }

    #[test]
    fn a_limit_cuts_the_events_and_keeps_the_json_valid() {
        let timeline = crowd(5, 200, 1_000);
        let mut whole = Vec::new();
        let all = chrome_json(&timeline, &mut whole, None, WARN_BYTES, |_| panic!("far below the warning")).unwrap();
        let limit = whole.len() as u64 / 3;
        let mut bytes = Vec::new();
        let cut = chrome_json(&timeline, &mut bytes, Some(limit), 0, |_| panic!("no warning with a limit")).unwrap();
        assert!(bytes.len() as u64 <= limit, "{} bytes over a limit of {limit}", bytes.len());
        assert_eq!(cut.bytes, bytes.len() as u64);
        assert!(cut.events < all.events && cut.cut_at_ms.is_some(), "{cut:?}");
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
        assert_eq!(json["traceEvents"].as_array().unwrap().len(), cut.events);
        assert_eq!(json["otherData"]["cut"]["events_left_out"], all.total - cut.events);
        assert_eq!(json["otherData"]["cut"]["limit_bytes"], limit);
        // What was kept is the start: every kept timed event is before the cut.
        let latest =
            json["traceEvents"].as_array().unwrap().iter().filter_map(|e| e["ts"].as_f64()).fold(0.0, f64::max);
        assert!(latest <= cut.cut_at_ms.unwrap() * 1e3 + 1e-6);
    }

    #[test]
    fn a_big_file_is_warned_about_once_with_what_is_left() {
        let timeline = crowd(5, 200, 1_000);
        let mut warnings = Vec::new();
        let mut bytes = Vec::new();
        let written = chrome_json(&timeline, &mut bytes, None, 10_000, |left| warnings.push(left)).unwrap();
        let [left] = warnings[..] else { panic!("one warning: {warnings:?}") };
        assert!(left > 0 && left < written.total, "{left} of {}", written.total);
        assert_eq!(written.events, written.total, "a warning cuts nothing");
        serde_json::from_slice::<serde_json::Value>(&bytes).expect("valid JSON");
    }
}
