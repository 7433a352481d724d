//! The timeline in the Chrome Trace Event Format, which Perfetto and chrome://tracing
//! open: a track per process, its running intervals, and its instants named as Linux
//! and the x86 manuals name them.

use std::io::{self, Write};

use serde::ser::{Serialize, SerializeMap, Serializer};
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

/// The Chrome "pid" every track belongs to: the machine.
const MACHINE_PID: u32 = 1;

/// Writes the timeline in the Chrome Trace Event Format: `{"traceEvents": [...]}` with
/// one track (tid) per process, named after its programs, and one for the idle loop
/// (tid 0); a complete event ("X") for each running interval; instant events ("i")
/// for system calls, interrupts, faults, blocks, wake-ups, execs and exits.
pub fn chrome_json(timeline: &Timeline, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &ChromeTrace(timeline))?;
    out.write_all(b"\n")
}

/// The trace document, serialized event by event as it is written: a long trace is
/// never all in memory as JSON values.
struct ChromeTrace<'a>(&'a Timeline);

impl Serialize for ChromeTrace<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let timeline = self.0;
        let mut document = serializer.serialize_map(Some(3))?;
        document.serialize_entry("displayTimeUnit", "ms")?;
        document.serialize_entry("traceEvents", &TraceEvents(timeline))?;
        document.serialize_entry(
            "otherData",
            &json!({
                "tsc_hz": timeline.tsc_hz,
                "dropped_events": timeline.dropped,
                "context_switches": timeline.switches.len(),
            }),
        )?;
        document.end()
    }
}

/// The `traceEvents` array.
struct TraceEvents<'a>(&'a Timeline);

impl Serialize for TraceEvents<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let timeline = self.0;
        let machine = json!({
            "ph": "M", "name": "process_name", "pid": MACHINE_PID, "args": {"name": "timeshare (CPU 0)"}
        });
        let lanes = std::iter::once(&timeline.idle).chain(&timeline.lanes);
        serializer.collect_seq(std::iter::once(machine).chain(lanes.flat_map(|lane| lane_events(timeline, lane))))
    }
}

/// A lane's track: its name and place, then its running intervals, then its instants.
fn lane_events<'a>(timeline: &'a Timeline, lane: &'a Lane) -> impl Iterator<Item = Value> + 'a {
    let tid = lane.pid;
    let label = if tid == 0 { "idle".to_string() } else { lane.label() };
    // Threads right under their process's first thread.
    let sort_index = u64::from(lane.process_id()) << 32 | u64::from(tid);
    let track = [
        json!({"ph": "M", "name": "thread_name", "pid": MACHINE_PID, "tid": tid, "args": {"name": label}}),
        json!({"ph": "M", "name": "thread_sort_index", "pid": MACHINE_PID, "tid": tid, "args": {"sort_index": sort_index}}),
    ];
    let slices = lane.slices.iter().map(move |slice| {
        let args = match slice.ended {
            Some((reason, next)) => json!({"ended": reason.describe(), "next": next}),
            None => json!({"ended": "still running at the end of the trace"}),
        };
        let (start, end) = (timeline.us(slice.start), timeline.us(slice.end));
        json!({
            "ph": "X", "cat": "run", "name": slice.name, "pid": MACHINE_PID, "tid": tid,
            "ts": to_ns_precision(start), "dur": to_ns_precision(end - start), "args": args,
        })
    });
    let marks = lane.marks.iter().map(move |&(tsc, mark)| {
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
        json!({
            "ph": "i", "s": "t", "cat": category, "name": name, "pid": MACHINE_PID, "tid": tid,
            "ts": to_ns_precision(timeline.us(tsc)), "args": args,
        })
    });
    track.into_iter().chain(slices).chain(marks)
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
        chrome_json(&timeline, &mut bytes).unwrap();
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
            .filter(|e| e["ph"] == "X")
            .map(|e| (e["tid"].as_u64().unwrap(), e["ts"].as_f64().unwrap(), e["dur"].as_f64().unwrap()))
            .collect();
        assert_eq!(
            slices,
            [
                (0, 3000.0, 500.0),
                (1, 0.0, 1000.0),
                (1, 2000.0, 500.0),
                (1, 3500.0, 500.0),
                (2, 1000.0, 1000.0),
                (2, 2500.0, 500.0)
            ]
        );
        let syscalls: Vec<&str> =
            events.iter().filter(|e| e["cat"] == "syscall").map(|e| e["name"].as_str().unwrap()).collect();
        assert_eq!(syscalls, ["fork", "sched_yield"]);
        assert_eq!(events.iter().filter(|e| e["name"] == "timer interrupt").count(), 2);
    }
}
