//! From the kernel's event trace (`kernel_core::trace`) to what people look at:
//! `Timeline::build` turns the events into running intervals per process (who held
//! the CPU, from when to when, and why it stopped) plus the system calls, interrupts,
//! faults, blocks and wake-ups in between; `chrome_json` writes that in the Chrome
//! Trace Event Format (Perfetto, chrome://tracing) and `svg` draws it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Value};

use kernel_core::trace::{Event, NameAssembler, SwitchReason, TrapReason, WaitKind, What, EVENT_WORDS};

use crate::svg::Svg;

/// One process's stay on a CPU.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// TSC when it got the CPU and when it gave it up.
    pub start: u64,
    pub end: u64,
    /// Its program then.
    pub name: String,
    /// Why it stopped, and who got the CPU then (0: idle); None when the trace
    /// ended while it ran.
    pub ended: Option<(SwitchReason, u32)>,
}

/// Something that happened to a process at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mark {
    /// A system call (entered at this instant), with its result once it returned.
    Syscall {
        number: u64,
        result: Option<i64>,
    },
    Interrupt {
        vector: u64,
    },
    Exception {
        vector: u64,
        address: u64,
    },
    Block {
        wait: WaitKind,
    },
    Wake {
        wait: WaitKind,
        interrupted: bool,
    },
    Exec,
    Exit {
        status: u64,
    },
}

/// One process (or, with pid 0, the idle loop) over the whole trace.
#[derive(Debug, Clone, Default)]
pub struct Lane {
    pub pid: u32,
    pub parent: u32,
    /// Its programs, in order (a fork keeps the parent's, an exec adds one).
    pub names: Vec<String>,
    pub slices: Vec<Slice>,
    pub marks: Vec<(u64, Mark)>,
}

impl Lane {
    /// The current program's name ("pid N" before any name event).
    pub fn name(&self) -> String {
        self.names.last().cloned().unwrap_or_else(|| format!("pid {}", self.pid))
    }

    /// "demo → spin (pid 2)": every program it ran, and its pid.
    pub fn label(&self) -> String {
        let names = if self.names.is_empty() { "?".to_string() } else { self.names.join(" → ") };
        format!("{names} (pid {})", self.pid)
    }
}

/// A context switch, as the trace recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switch {
    pub tsc: u64,
    /// 0 stands for the idle loop.
    pub from: u32,
    pub to: u32,
    pub reason: SwitchReason,
}

/// Everything the pictures need.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// TSC of the first and last event.
    pub start: u64,
    pub end: u64,
    pub tsc_hz: u64,
    /// Processes by pid.
    pub lanes: Vec<Lane>,
    /// When the CPU idled (pid 0).
    pub idle: Lane,
    pub switches: Vec<Switch>,
    /// Events the kernel dropped (ring full) and records that were not events.
    pub dropped: u64,
    pub undecodable: usize,
}

impl Timeline {
    /// Rebuilds the schedule from raw events (as read from the ring, in order).
    pub fn build(raw: &[[u64; EVENT_WORDS]], tsc_hz: u64, dropped: u64) -> Timeline {
        let mut timeline = Timeline { tsc_hz: tsc_hz.max(1), dropped, ..Timeline::default() };
        let mut lanes: BTreeMap<u32, Lane> = BTreeMap::new();
        let mut names: BTreeMap<u32, NameAssembler> = BTreeMap::new();
        // Per CPU: who runs there, since when, under which name.
        let mut running: BTreeMap<u8, (u32, u64, String)> = BTreeMap::new();
        // Per pid: where its system call in progress is in its marks.
        let mut in_syscall: BTreeMap<u32, usize> = BTreeMap::new();
        let mut first = None;
        for words in raw {
            let Ok(event) = Event::decode(*words) else {
                timeline.undecodable += 1;
                continue;
            };
            let Event { tsc, cpu, pid, what } = event;
            first.get_or_insert(tsc);
            timeline.end = timeline.end.max(tsc);
            let lane = lanes.entry(pid).or_insert_with(|| Lane { pid, ..Lane::default() });
            match what {
                What::Create { parent } => lane.parent = parent,
                What::Name { chunk, length, bytes } => {
                    if let Some(name) = names.entry(pid).or_default().push(chunk, length, &bytes) {
                        lane.names.push(String::from_utf8_lossy(&name).into_owned());
                    }
                }
                What::Exec => lane.marks.push((tsc, Mark::Exec)),
                What::TrapEnter { reason, number, argument } => {
                    let mark = match reason {
                        TrapReason::SystemCall => {
                            in_syscall.insert(pid, lane.marks.len());
                            Mark::Syscall { number, result: None }
                        }
                        TrapReason::Interrupt => Mark::Interrupt { vector: number },
                        TrapReason::Exception => Mark::Exception { vector: number, address: argument },
                    };
                    lane.marks.push((tsc, mark));
                }
                What::SyscallExit { number, result } => {
                    if let Some(index) = in_syscall.remove(&pid) {
                        if let Some((_, Mark::Syscall { number: entered, result: slot })) = lane.marks.get_mut(index) {
                            if *entered == number {
                                *slot = Some(result);
                            }
                        }
                    }
                }
                What::Block { wait, .. } => lane.marks.push((tsc, Mark::Block { wait })),
                What::Wake { wait, interrupted } => lane.marks.push((tsc, Mark::Wake { wait, interrupted })),
                What::Exit { status } => lane.marks.push((tsc, Mark::Exit { status })),
                What::Switch { to, reason } => {
                    timeline.switches.push(Switch { tsc, from: pid, to, reason });
                    if let Some((holder, start, name)) = running.remove(&cpu) {
                        let slice = Slice { start, end: tsc, name, ended: Some((reason, to)) };
                        lanes
                            .entry(holder)
                            .or_insert_with(|| Lane { pid: holder, ..Lane::default() })
                            .slices
                            .push(slice);
                    }
                    let next = lanes.entry(to).or_insert_with(|| Lane { pid: to, ..Lane::default() });
                    let name = if to == 0 { "idle".to_string() } else { next.name() };
                    running.insert(cpu, (to, tsc, name));
                }
                What::TrapExit | What::Schedule { .. } => {}
            }
        }
        for (_, (holder, start, name)) in running {
            let slice = Slice { start, end: timeline.end, name, ended: None };
            lanes.entry(holder).or_insert_with(|| Lane { pid: holder, ..Lane::default() }).slices.push(slice);
        }
        timeline.start = first.unwrap_or(0);
        timeline.idle = lanes.remove(&0).unwrap_or_default();
        timeline.idle.names = vec!["idle".to_string()];
        timeline.lanes = lanes.into_values().collect();
        timeline
    }

    /// Milliseconds from the trace's start to `tsc`.
    pub fn ms(&self, tsc: u64) -> f64 {
        tsc.saturating_sub(self.start) as f64 * 1e3 / self.tsc_hz as f64
    }

    /// Microseconds from the trace's start to `tsc`.
    fn us(&self, tsc: u64) -> f64 {
        self.ms(tsc) * 1e3
    }

    /// How many switches happened for each reason, in `REASONS` order.
    pub fn switch_counts(&self) -> [usize; REASONS.len()] {
        let mut counts = [0; REASONS.len()];
        for switch in &self.switches {
            if let Some(index) = REASONS.iter().position(|&reason| reason == switch.reason) {
                counts[index] += 1;
            }
        }
        counts
    }
}

/// The switch reasons, in the order legends show them.
pub const REASONS: [SwitchReason; 5] = [
    SwitchReason::Preempted,
    SwitchReason::Yielded,
    SwitchReason::Blocked,
    SwitchReason::Exited,
    SwitchReason::Dispatched,
];

/// The names of the interrupt vectors the kernel uses (kernel/src/arch/x86_64/apic.rs).
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
fn syscall_name(number: u64) -> String {
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
    let track = [
        json!({"ph": "M", "name": "thread_name", "pid": MACHINE_PID, "tid": tid, "args": {"name": label}}),
        json!({"ph": "M", "name": "thread_sort_index", "pid": MACHINE_PID, "tid": tid, "args": {"sort_index": tid}}),
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

/// What the SVG says besides the timeline itself.
#[derive(Debug, Clone, Default)]
pub struct SvgOptions {
    /// The scheduling policy and quantum, shown in the subtitle ("policy rr, quantum 10 ms").
    pub scheduler: String,
    /// What ran (shown in the title).
    pub title: String,
}

/// Drawing area and lane geometry.
const WIDTH: f64 = 1200.0;
const LABEL_WIDTH: f64 = 190.0;
const RIGHT_MARGIN: f64 = 24.0;
const PLOT_WIDTH: f64 = WIDTH - LABEL_WIDTH - RIGHT_MARGIN;
const TOP: f64 = 96.0;
/// Lane colours, by lane order: soft hues that keep clear of the reason colours
/// (red, green, blue, black), so an interval's end tick always stands out.
const PALETTE: [&str; 10] =
    ["#f28e2b", "#76b7b2", "#b07aa1", "#edc948", "#9c755f", "#ff9da7", "#a0cbe8", "#bab0ac", "#ffbe7d", "#d4a6c8"];

/// The colour marking a switch reason.
fn reason_colour(reason: SwitchReason) -> &'static str {
    match reason {
        SwitchReason::Preempted => "#d62728",
        SwitchReason::Yielded => "#2ca02c",
        SwitchReason::Blocked => "#1f77b4",
        SwitchReason::Exited => "#111111",
        SwitchReason::Dispatched => "#999999",
    }
}

/// A step of 1, 2 or 5 times a power of ten giving at most about `ticks` ticks over
/// `span`.
fn nice_step(span: f64, ticks: f64) -> f64 {
    let raw = (span / ticks).max(1e-6);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|factor| factor * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// Draws the timeline as an SVG: one lane per process (in pid order) with its running
/// intervals in the lane's colour, a tick at the end of each interval coloured by why
/// it ended, a time axis in milliseconds, and a legend. Intervals too short to draw at
/// this scale are aggregated (`aggregate`) into bars whose opacity is the share of
/// that stretch the process ran (their tooltips say how many intervals they hold).
pub fn svg(timeline: &Timeline, options: &SvgOptions) -> String {
    let lanes = &timeline.lanes;
    let lane_height = (560.0 / lanes.len().max(1) as f64).clamp(14.0, 36.0);
    let bar_height = (lane_height * 0.68).round();
    let plot_bottom = TOP + lane_height * lanes.len() as f64;
    let height = plot_bottom + 44.0;
    let span_ms = timeline.ms(timeline.end).max(1e-3);
    let x_of = |tsc: u64| LABEL_WIDTH + timeline.ms(tsc) / span_ms * PLOT_WIDTH;

    let mut svg = Svg::new(WIDTH, height);
    let title = if options.title.is_empty() {
        "who held the CPU".to_string()
    } else {
        format!("who held the CPU: {}", options.title)
    };
    svg.text((12.0, 24.0), 16.0, "start").attr("font-weight", "bold").text(&format!("timeshare — {title}"));
    let counts = timeline.switch_counts();
    let mut subtitle = format!(
        "{} processes, {:.1} ms, {} context switches ({} preempted at the end of a quantum, {} yielded, {} blocked, {} exited)",
        lanes.len(),
        span_ms,
        timeline.switches.len(),
        counts[0],
        counts[1],
        counts[2],
        counts[3]
    );
    if !options.scheduler.is_empty() {
        let _ = write!(subtitle, "; {}", options.scheduler);
    }
    if timeline.dropped > 0 {
        let _ = write!(subtitle, "; {} events dropped (trace buffer full)", timeline.dropped);
    }
    svg.text((12.0, 44.0), 12.0, "start").attr("fill", "#444").text(&subtitle);

    // Legend: what the ticks at the end of an interval mean, and the aggregated bars.
    let mut x = 12.0;
    svg.element("g").attr("class", "legend").open();
    for reason in &REASONS[..4] {
        svg.rect(x, 58.0, 3.0, 14.0, reason_colour(*reason)).end();
        svg.text((x + 7.0, 70.0), 12.0, "start").text(reason.describe());
        x += 24.0 + 6.6 * reason.describe().len() as f64;
    }
    svg.rect(x, 58.0, 22.0, 14.0, "#bab0ac").end();
    svg.text((x + 27.0, 70.0), 12.0, "start").text("running");
    svg.rect(x + 90.0, 58.0, 22.0, 14.0, "#bab0ac").attr("fill-opacity", 0.4).end();
    svg.text((x + 117.0, 70.0), 12.0, "start").text("many short intervals (opacity: share of time running)");
    svg.close("g");

    // The time axis: grid lines and labels in ms.
    let step = nice_step(span_ms, 10.0);
    svg.element("g").attr("class", "axis").open();
    let mut tick = 0.0;
    while tick <= span_ms + 1e-9 {
        let tx = LABEL_WIDTH + tick / span_ms * PLOT_WIDTH;
        let label = if step < 1.0 { format!("{tick:.1} ms") } else { format!("{tick:.0} ms") };
        svg.line((tx, TOP - 6.0), (tx, plot_bottom + 4.0), "#ddd").end();
        svg.text((tx, plot_bottom + 18.0), 12.0, "middle").attr("fill", "#444").text(&label);
        tick += step;
    }
    svg.text((LABEL_WIDTH + PLOT_WIDTH / 2.0, plot_bottom + 36.0), 12.0, "middle")
        .attr("fill", "#444")
        .text("time since the first process was created");
    svg.close("g");

    for (index, lane) in lanes.iter().enumerate() {
        let top = TOP + lane_height * index as f64;
        let bar_top = top + (lane_height - bar_height) / 2.0;
        let colour = PALETTE[index % PALETTE.len()];
        svg.element("g").attr("class", "lane").attr("data-pid", lane.pid).open();
        if index % 2 == 1 {
            svg.rect(0.0, top, WIDTH, lane_height, "#f6f6f6").end();
        }
        let mut label = lane.label();
        if label.chars().count() > 28 {
            label = format!("{}…", label.chars().take(27).collect::<String>());
        }
        svg.text((LABEL_WIDTH - 8.0, top + lane_height / 2.0), 12.0, "end")
            .attr("dominant-baseline", "middle")
            .text(&label);
        for slice in lane.slices.iter().filter(|slice| x_of(slice.end) - x_of(slice.start) >= WIDE_PX) {
            let x0 = x_of(slice.start);
            let width = x_of(slice.end) - x0;
            let ended = slice.ended.map_or("still running", |(reason, _)| reason.describe());
            svg.rect(x0, bar_top, width, bar_height, colour).tooltip(&format!(
                "{} (pid {}): {:.3} – {:.3} ms, {ended}",
                slice.name,
                lane.pid,
                timeline.ms(slice.start),
                timeline.ms(slice.end)
            ));
            if let Some((reason, _)) = slice.ended.filter(|&(reason, _)| reason != SwitchReason::Dispatched) {
                svg.rect(x0 + width - 2.0, bar_top - 2.0, 2.0, bar_height + 4.0, reason_colour(reason))
                    .attr("class", "reason")
                    .end();
            }
        }
        for run in aggregate(&lane.slices, &x_of) {
            svg.rect(run.x, bar_top, run.width, bar_height, colour)
                .attr("fill-opacity", format_args!("{:.2}", 0.25 + 0.75 * run.level))
                .tooltip(&format!(
                    "{} (pid {}): {} intervals between {:.1} and {:.1} ms, running about {:.0}% of that time",
                    lane.name(),
                    lane.pid,
                    run.count,
                    (run.x - LABEL_WIDTH) / PLOT_WIDTH * span_ms,
                    (run.x + run.width - LABEL_WIDTH) / PLOT_WIDTH * span_ms,
                    run.share * 100.0
                ));
        }
        svg.close("g");
    }
    svg.finish()
}

/// Intervals at least this wide (pixels) are drawn one by one, with their end reason.
const WIDE_PX: f64 = 3.0;
/// Narrower ones are summed into buckets this wide (pixels) ...
const BUCKET_PX: f64 = 8.0;
/// ... whose shares of running time are rounded to this many levels, so that runs of
/// buckets at the same level become one bar.
const LEVELS: f64 = 8.0;

/// Consecutive buckets of narrow intervals at the same level, drawn as one bar.
#[derive(Debug)]
struct Run {
    x: f64,
    width: f64,
    /// Intervals it stands for, and the share of its time they ran.
    count: usize,
    share: f64,
    /// The share rounded up to one of `LEVELS` levels (0 < level <= 1).
    level: f64,
}

/// Aggregates the intervals narrower than `WIDE_PX` at this scale: their running
/// time is summed per `BUCKET_PX` bucket (by where they start), and adjacent buckets
/// at the same level merge into one run.
fn aggregate(slices: &[Slice], x_of: &dyn Fn(u64) -> f64) -> Vec<Run> {
    let mut buckets: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
    for slice in slices {
        let (x0, x1) = (x_of(slice.start), x_of(slice.end));
        if x1 - x0 < WIDE_PX {
            let bucket = buckets.entry(((x0 - LABEL_WIDTH) / BUCKET_PX).floor() as i64).or_default();
            bucket.0 += x1 - x0;
            bucket.1 += 1;
        }
    }
    let mut runs: Vec<Run> = Vec::new();
    let mut previous = None;
    for (index, (busy, count)) in buckets {
        let share = (busy / BUCKET_PX).clamp(0.0, 1.0);
        let level = ((share * LEVELS).ceil() / LEVELS).max(1.0 / LEVELS);
        let x = LABEL_WIDTH + index as f64 * BUCKET_PX;
        match runs.last_mut() {
            Some(run) if previous == Some(index - 1) && run.level == level => {
                run.share = (run.share * run.width + share * BUCKET_PX) / (run.width + BUCKET_PX);
                run.width += BUCKET_PX;
                run.count += count;
            }
            _ => runs.push(Run { x, width: BUCKET_PX, count, share, level }),
        }
        previous = Some(index);
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel_core::trace::name_chunks;

    /// Builds raw events: `(tsc, pid, what)`.
    fn raw(events: &[(u64, u32, What)]) -> Vec<[u64; EVENT_WORDS]> {
        events.iter().map(|&(tsc, pid, what)| Event { tsc, cpu: 0, pid, what }.encode()).collect()
    }

    fn named(tsc: u64, pid: u32, parent: u32, name: &str) -> Vec<(u64, u32, What)> {
        let mut events = vec![(tsc, pid, What::Create { parent })];
        events.extend(name_chunks(name.as_bytes()).map(|what| (tsc, pid, what)));
        events
    }

    fn switch(tsc: u64, from: u32, to: u32, reason: SwitchReason) -> (u64, u32, What) {
        (tsc, from, What::Switch { to, reason })
    }

    /// Two processes ping-ponging with sched_yield, a timer tick, then exits.
    fn two_processes() -> Timeline {
        let mut events = named(1_000, 1, 0, "pingpong");
        events.push(switch(1_000, 0, 1, SwitchReason::Dispatched));
        events.push((1_100, 1, What::TrapEnter { reason: TrapReason::SystemCall, number: 57, argument: 0 }));
        events.extend(named(1_200, 2, 1, "pingpong"));
        events.push((1_300, 1, What::SyscallExit { number: 57, result: 2 }));
        events.push((2_000, 1, What::TrapEnter { reason: TrapReason::SystemCall, number: 24, argument: 0 }));
        events.push(switch(2_000, 1, 2, SwitchReason::Yielded));
        events.push((2_500, 2, What::TrapEnter { reason: TrapReason::Interrupt, number: 32, argument: 0 }));
        events.push((2_600, 2, What::Exec));
        events.extend(name_chunks(b"a \"quoted\" <name> & more").map(|what| (2_600, 2, what)));
        events.push(switch(3_000, 2, 1, SwitchReason::Preempted));
        events.push((3_000, 1, What::SyscallExit { number: 24, result: 0 }));
        events.push((3_500, 1, What::Block { wait: WaitKind::Children, detail: 1 }));
        events.push(switch(3_500, 1, 2, SwitchReason::Blocked));
        events.push((4_000, 2, What::Exit { status: 0 }));
        events.push((4_000, 1, What::Wake { wait: WaitKind::Children, interrupted: false }));
        events.push(switch(4_000, 2, 0, SwitchReason::Exited));
        events.push((4_100, 0, What::TrapEnter { reason: TrapReason::Interrupt, number: 32, argument: 0 }));
        events.push(switch(4_500, 0, 1, SwitchReason::Dispatched));
        events.push((5_000, 1, What::TrapExit));
        Timeline::build(&raw(&events), 1_000_000, 0)
    }

    #[test]
    fn intervals_follow_the_switches() {
        let timeline = two_processes();
        assert_eq!((timeline.start, timeline.end), (1_000, 5_000));
        let spans = |lane: &Lane| lane.slices.iter().map(|s| (s.start, s.end, s.ended)).collect::<Vec<_>>();
        let [first, second] = &timeline.lanes[..] else { panic!("two lanes: {:?}", timeline.lanes) };
        assert_eq!(
            spans(first),
            [
                (1_000, 2_000, Some((SwitchReason::Yielded, 2))),
                (3_000, 3_500, Some((SwitchReason::Blocked, 2))),
                (4_500, 5_000, None)
            ]
        );
        assert_eq!(
            spans(second),
            [(2_000, 3_000, Some((SwitchReason::Preempted, 1))), (3_500, 4_000, Some((SwitchReason::Exited, 0)))]
        );
        assert_eq!(spans(&timeline.idle), [(4_000, 4_500, Some((SwitchReason::Dispatched, 1)))]);
        assert_eq!(timeline.idle.slices[0].name, "idle");
        assert_eq!(second.label(), "pingpong → a \"quoted\" <name> & more (pid 2)");
        assert_eq!(second.slices[1].name, "a \"quoted\" <name> & more");
        assert_eq!(first.marks[0], (1_100, Mark::Syscall { number: 57, result: Some(2) }));
        assert_eq!(first.marks[1], (2_000, Mark::Syscall { number: 24, result: Some(0) }));
        assert_eq!(timeline.switch_counts(), [1, 1, 1, 1, 2]);
        assert!((timeline.ms(2_000) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn garbage_is_counted_not_fatal() {
        let mut events = raw(&[switch(10, 0, 7, SwitchReason::Dispatched)]);
        events.push([0, 0xff, 0, 0]);
        let timeline = Timeline::build(&events, 0, 5);
        assert_eq!(timeline.undecodable, 1);
        assert_eq!(timeline.dropped, 5);
        assert_eq!(timeline.lanes[0].label(), "? (pid 7)");
        assert_eq!(timeline.lanes[0].slices.len(), 1);
        let empty = Timeline::build(&[], 0, 0);
        assert!(empty.lanes.is_empty());
        let _ = svg(&empty, &SvgOptions::default());
    }

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

    /// The lanes of an SVG, by their `data-pid`, after checking it is well-formed XML.
    fn svg_lanes(text: &str) -> Vec<u32> {
        let document = roxmltree::Document::parse(text).expect("well-formed XML");
        assert_eq!(document.root_element().tag_name().name(), "svg");
        document
            .descendants()
            .filter(|node| node.attribute("class") == Some("lane"))
            .map(|node| node.attribute("data-pid").unwrap().parse().unwrap())
            .collect()
    }

    #[test]
    fn the_svg_is_xml_with_a_lane_per_process() {
        let timeline = two_processes();
        let text =
            svg(&timeline, &SvgOptions { scheduler: "policy rr, quantum 10 ms".into(), title: "pingpong & co".into() });
        assert_eq!(svg_lanes(&text), [1, 2]);
        assert!(text.contains("quantum 10 ms"), "{text}");
        assert!(text.contains("1 preempted at the end of a quantum"));
        assert!(text.contains("&lt;name&gt; &amp; more"));
        // One reason tick per interval that ended (and is wide enough): yielded,
        // blocked, preempted, exited.
        assert_eq!(text.matches(r#"class="reason""#).count(), 4);
    }

    /// `count` processes, each running `slices` short intervals in turn.
    fn crowd(count: u32, slices: u32, slice_tsc: u64) -> Timeline {
        let mut events = Vec::new();
        for pid in 1..=count {
            events.extend(named(0, pid, 1, &format!("worker{pid}")));
        }
        let mut tsc = 0;
        let mut holder = 0;
        for round in 0..slices {
            for pid in 1..=count {
                events.push(switch(
                    tsc,
                    holder,
                    pid,
                    if round == 0 && holder == 0 { SwitchReason::Dispatched } else { SwitchReason::Preempted },
                ));
                holder = pid;
                tsc += slice_tsc;
            }
        }
        events.push(switch(tsc, holder, 0, SwitchReason::Exited));
        Timeline::build(&raw(&events), 1_000_000_000, 0)
    }

    #[test]
    fn fifty_processes_get_fifty_lanes_and_tiny_intervals_are_aggregated() {
        // 50 processes × 200 intervals of 100 µs: 10 000 intervals in one second,
        // far more than 1000 pixels can show one by one.
        let timeline = crowd(50, 200, 100_000);
        let text = svg(&timeline, &SvgOptions::default());
        assert_eq!(svg_lanes(&text), (1..=50).collect::<Vec<u32>>());
        let bars = text.matches("<rect x=").count();
        assert!(bars < 2_000, "{bars} bars drawn");
        assert!(text.contains("200 intervals between"), "aggregated bars say how many intervals they hold");
        // Two processes with 10 ms slices over 200 ms: every interval drawn on its own.
        let timeline = crowd(2, 10, 10_000_000);
        let text = svg(&timeline, &SvgOptions::default());
        assert_eq!(svg_lanes(&text), [1, 2]);
        assert_eq!(text.matches("intervals between").count(), 0);
        assert_eq!(text.matches("<title>").count(), 20);
    }

    #[test]
    fn axis_steps_are_round_numbers() {
        assert_eq!(nice_step(1000.0, 10.0), 100.0);
        assert_eq!(nice_step(830.0, 10.0), 100.0);
        assert_eq!(nice_step(45.0, 10.0), 5.0);
        assert_eq!(nice_step(12.0, 10.0), 2.0);
        assert_eq!(nice_step(3.0, 10.0), 0.5);
    }
}
