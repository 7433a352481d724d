//! The timeline drawn as an SVG: a lane per thread (named by its current name, threads
//! right under their process) showing when it ran, was ready (runnable, waiting for
//! the CPU) or blocked (and on what), why each running interval ended, its priority
//! level as a band under a policy with levels, the policy's boosts, a time axis and a
//! legend, through the CLI's SVG writer (`crate::svg`).
//!
//! Every drawn element says what it is for programs too: `class` is `running`,
//! `ready`, `blocked` (with `data-wait`), `level` (with `data-level`) or `boost`;
//! lanes are `<g class="lane">` with `data-pid` and `data-name`.
//!
//! With several CPUs at work, a lane per CPU comes first (`<g class="cpu-lane">`
//! with `data-cpu`): the threads it ran, in their lanes' colours (`running`, with
//! `data-pid`), its idle time (`idle`), and a `migration` mark (with `data-pid`,
//! `data-from`, `data-to`) on both CPUs' lanes where a thread's run began on
//! another CPU than its previous one. One CPU gets no CPU lane: it would repeat
//! the process lanes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use kernel_core::trace::{SwitchReason, WaitKind};

use super::model::{CpuTotals, Lane, Slice, State, Timeline, REASONS};
use crate::svg::Svg;

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
const LABEL_WIDTH: f64 = 210.0;
const RIGHT_MARGIN: f64 = 24.0;
const PLOT_WIDTH: f64 = WIDTH - LABEL_WIDTH - RIGHT_MARGIN;
const TOP: f64 = 136.0;
/// Lane colours, by lane order: soft hues that keep clear of the reason colours
/// (red, green, blue, black), so an interval's end tick always stands out.
const PALETTE: [&str; 10] =
    ["#f28e2b", "#76b7b2", "#b07aa1", "#edc948", "#9c755f", "#ff9da7", "#a0cbe8", "#bab0ac", "#ffbe7d", "#d4a6c8"];
/// The fill of ready intervals: grey hatching (a pattern defined in the document).
const READY_FILL: &str = "url(#ready-hatch)";
/// The level band's colours, top level first (levels below the last share its colour).
const LEVEL_COLOURS: [&str; 5] = ["#08306b", "#2171b5", "#6baed6", "#9ecae1", "#deebf7"];
const BOOST_COLOUR: &str = "#e6550d";
/// A CPU's idle time, and the marks of threads moving between CPUs.
const IDLE_COLOUR: &str = "#e4e4e4";
const MIGRATION_COLOUR: &str = "#222222";
/// Notices of what the picture does not show as it happened.
const WARNING_COLOUR: &str = "#b30000";

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

/// The colour of a blocked interval, by what it waited for.
fn wait_colour(wait: WaitKind) -> &'static str {
    match wait {
        WaitKind::Children => "#8c564b",
        WaitKind::Sleep => "#17becf",
        WaitKind::VforkDone => "#7f7f7f",
        WaitKind::PipeReadable => "#9467bd",
        WaitKind::PipeWritable => "#c5b0d5",
        WaitKind::ConsoleInput => "#bcbd22",
        WaitKind::ConsoleOutput => "#dbdb8d",
        WaitKind::Stopped => "#e377c2",
        WaitKind::Poll => "#637939",
        WaitKind::Futex => "#ff7f0e",
        WaitKind::Other => "#555555",
    }
}

fn level_colour(level: u8) -> &'static str {
    LEVEL_COLOURS[usize::from(level).min(LEVEL_COLOURS.len() - 1)]
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

/// One interval to draw: when, how long of it was spent in its state (less than its
/// span when it stands for several merged ones), and how many it stands for.
#[derive(Debug, Clone, Copy)]
struct Piece {
    start: u64,
    end: u64,
    busy: u64,
    merged: u32,
    /// Its index in the lane's list.
    index: usize,
}

impl Piece {
    /// The running interval `slice`, the `index`th of its lane.
    fn of(index: usize, slice: &Slice) -> Piece {
        Piece { start: slice.start, end: slice.end, busy: slice.busy, merged: slice.merged, index }
    }
}

/// Draws the timeline as an SVG: one lane per thread with its running intervals in
/// the lane's colour (a tick at the end of each coloured by why it ended), its ready
/// intervals hatched and its blocked ones as a thin bar coloured by what it waited
/// for; its level band under a policy with levels and the boosts as dashed lines; a
/// time axis in milliseconds over `timeline.view`, and a legend. Intervals too
/// short to draw at this scale are aggregated (`aggregate`) into bars whose opacity
/// is the share of that stretch spent in that state (their tooltips say how many
/// intervals they hold), and so are the intervals `Timeline::fit` merged.
pub fn svg(timeline: &Timeline, options: &SvgOptions) -> String {
    let lanes = &timeline.lanes;
    let cpu_lanes = if timeline.several_cpus() { timeline.cpu_totals() } else { Vec::new() };
    let has_levels = lanes.iter().any(|lane| !lane.levels.is_empty());
    let rows = lanes.len() + cpu_lanes.len();
    let lane_height = (560.0 / rows.max(1) as f64).clamp(16.0, 40.0);
    let band_height = if has_levels { (lane_height * 0.16).max(3.0).round() } else { 0.0 };
    let bar_height = ((lane_height - band_height) * 0.72).round();
    let lanes_top = TOP + lane_height * cpu_lanes.len() as f64;
    let plot_bottom = lanes_top + lane_height * lanes.len() as f64;
    let height = plot_bottom + 44.0;
    let (view_start, view_end) = timeline.view;
    let view_tsc = view_end.saturating_sub(view_start).max(1) as f64;
    let x_of = |tsc: u64| LABEL_WIDTH + tsc.saturating_sub(view_start) as f64 / view_tsc * PLOT_WIDTH;
    let (from_ms, to_ms) = (timeline.ms(view_start), timeline.ms(view_end));
    let span_ms = (to_ms - from_ms).max(1e-3);

    let mut svg = Svg::new(WIDTH, height);
    svg.element("defs").open();
    svg.element("pattern")
        .attr("id", "ready-hatch")
        .attr("patternUnits", "userSpaceOnUse")
        .attr("width", 5)
        .attr("height", 5)
        .attr("patternTransform", "rotate(45)")
        .open();
    svg.rect(0.0, 0.0, 5.0, 5.0, "#f0f0f0").end();
    svg.rect(0.0, 0.0, 2.0, 5.0, "#8a8a8a").end();
    svg.close("pattern");
    svg.close("defs");
    let title = if options.title.is_empty() {
        "who held the CPU".to_string()
    } else {
        format!("who held the CPU: {}", options.title)
    };
    svg.text((12.0, 24.0), 16.0, "start").attr("font-weight", "bold").text(&format!("timeshare — {title}"));
    let counts = timeline.switch_counts();
    let cpus = if cpu_lanes.is_empty() { String::new() } else { format!("{} CPUs, ", cpu_lanes.len()) };
    let mut subtitle = format!(
        "{cpus}{} threads, {:.1} ms, {} context switches ({} preempted at the end of a quantum, {} yielded, {} blocked, {} exited)",
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
    if (view_start, view_end) != (timeline.start, timeline.end) {
        let _ = write!(subtitle, "; window {from_ms:.1} – {to_ms:.1} ms of {:.1} ms", timeline.ms(timeline.end));
    }
    svg.text((12.0, 44.0), 12.0, "start").attr("fill", "#444").text(&subtitle);
    let notices = notices(timeline);
    if !notices.is_empty() {
        svg.text((12.0, 62.0), 12.0, "start")
            .attr("class", "notice")
            .attr("fill", WARNING_COLOUR)
            .text(&notices.join("; "));
    }
    legend(&mut svg, timeline, has_levels, !cpu_lanes.is_empty());

    // The time axis: grid lines and labels in ms.
    let step = nice_step(span_ms, 10.0);
    svg.element("g").attr("class", "axis").open();
    // Counted in steps, so that sums of steps do not drift past the last tick.
    let first = (from_ms / step - 1e-6).ceil() as i64;
    let last = (to_ms / step + 1e-6).floor() as i64;
    for tick in (first..=last).map(|index| index as f64 * step) {
        let tx = LABEL_WIDTH + (tick - from_ms) / span_ms * PLOT_WIDTH;
        let label = if step < 1.0 { format!("{tick:.1} ms") } else { format!("{tick:.0} ms") };
        svg.line((tx, TOP - 6.0), (tx, plot_bottom + 4.0), "#ddd").end();
        svg.text((tx, plot_bottom + 18.0), 12.0, "middle").attr("fill", "#444").text(&label);
    }
    svg.text((LABEL_WIDTH + PLOT_WIDTH / 2.0, plot_bottom + 36.0), 12.0, "middle")
        .attr("fill", "#444")
        .text("time since the first process was created");
    svg.close("g");

    for (row, totals) in cpu_lanes.iter().enumerate() {
        let top = TOP + lane_height * row as f64;
        let bar_top = top + (lane_height - bar_height) / 2.0;
        cpu_lane(&mut svg, timeline, totals, (top, bar_top, bar_height), &x_of);
    }
    if !cpu_lanes.is_empty() {
        svg.line((12.0, lanes_top), (WIDTH - RIGHT_MARGIN, lanes_top), "#999").end();
    }
    for (index, lane) in lanes.iter().enumerate() {
        let top = lanes_top + lane_height * index as f64;
        let bar_top = top + (lane_height - band_height - bar_height) / 2.0;
        let colour = PALETTE[index % PALETTE.len()];
        svg.element("g").attr("class", "lane").attr("data-pid", lane.pid).attr("data-name", lane.name()).open();
        if index % 2 == 1 {
            svg.rect(0.0, top, WIDTH, lane_height, "#f6f6f6").end();
        }
        let mut label = lane.current_label();
        if lane.is_secondary_thread() {
            label = format!("↳ {label}");
        }
        if label.chars().count() > 32 {
            label = format!("{}…", label.chars().take(31).collect::<String>());
        }
        // The label, with every name the thread had in turn as its tooltip.
        svg.element("g").attr("class", "label").open();
        svg.element("title").text(&format!("{}: its names in turn", lane.label()));
        svg.text((LABEL_WIDTH - 8.0, top + (lane_height - band_height) / 2.0), 12.0, "end")
            .attr("dominant-baseline", "middle")
            .text(&label);
        svg.close("g");
        // Blocked under ready under running: thin to thick, so all stay visible.
        let mut by_state: BTreeMap<String, (State, Vec<Piece>)> = BTreeMap::new();
        for (index, wait) in lane.waits.iter().enumerate() {
            let piece = Piece { start: wait.start, end: wait.end, busy: wait.busy, merged: wait.merged, index };
            by_state.entry(wait.state.describe()).or_insert((wait.state, Vec::new())).1.push(piece);
        }
        for (description, (state, pieces)) in by_state {
            let (fill, height, class, wait) = match state {
                State::Ready => (READY_FILL, bar_height * 0.55, "ready", None),
                State::Blocked(wait) => (wait_colour(wait), bar_height * 0.25, "blocked", Some(wait.describe())),
            };
            let y = bar_top + (bar_height - height) / 2.0;
            for bar in bars(&pieces, &x_of) {
                svg.rect(bar.x, y, bar.width, height, fill)
                    .attr("class", class)
                    .optional_attr("data-wait", wait)
                    .attr("data-merged", bar.count)
                    .optional_attr("fill-opacity", bar.opacity())
                    .tooltip(&bar.describe(timeline, lane, &description));
            }
        }
        let running: Vec<Piece> =
            lane.slices.iter().enumerate().map(|(index, slice)| Piece::of(index, slice)).collect();
        for bar in bars(&running, &x_of) {
            // One interval: the name it ran under and why it stopped.
            let tip = match lane.slices.get(bar.first).filter(|_| bar.shade.is_none()) {
                Some(slice) => format!(
                    "{}: {:.3} – {:.3} ms, {}",
                    lane.label_with(&slice.name),
                    timeline.ms(slice.start),
                    timeline.ms(slice.end),
                    slice.ended.map_or("still running", |(reason, _)| reason.describe())
                ),
                None => bar.describe(timeline, lane, "running"),
            };
            svg.rect(bar.x, bar_top, bar.width, bar_height, colour)
                .attr("class", "running")
                .attr("data-merged", bar.count)
                .optional_attr("fill-opacity", bar.opacity())
                .tooltip(&tip);
        }
        // Why each interval drawn on its own ended.
        for slice in
            lane.slices.iter().filter(|slice| slice.merged == 1 && x_of(slice.end) - x_of(slice.start) >= WIDE_PX)
        {
            if let Some((reason, _)) = slice.ended.filter(|&(reason, _)| reason != SwitchReason::Dispatched) {
                svg.rect(x_of(slice.end) - 2.0, bar_top - 2.0, 2.0, bar_height + 4.0, reason_colour(reason))
                    .attr("class", "reason")
                    .end();
            }
        }
        if has_levels {
            level_band(&mut svg, timeline, lane, top + lane_height - band_height - 1.0, band_height, &x_of);
        }
        svg.close("g");
    }
    for &boost in &timeline.boosts {
        let x = x_of(boost);
        svg.line((x, TOP - 4.0), (x, plot_bottom), BOOST_COLOUR)
            .attr("class", "boost")
            .attr("stroke-dasharray", "4 3")
            .tooltip(&format!("priority boost at {:.3} ms: every task back to the top level", timeline.ms(boost)));
    }
    svg.finish()
}

/// One CPU's lane (geometry: lane top, bar top, bar height): its idle time under
/// the threads it ran, each in its lane's colour, and a mark where a thread moved
/// to or from it.
fn cpu_lane(
    svg: &mut Svg,
    timeline: &Timeline,
    totals: &CpuTotals,
    (top, bar_top, bar_height): (f64, f64, f64),
    x_of: &dyn Fn(u64) -> f64,
) {
    let cpu = totals.cpu;
    svg.element("g").attr("class", "cpu-lane").attr("data-cpu", cpu).open();
    svg.rect(0.0, top, WIDTH, bar_height + (bar_top - top) * 2.0, "#eef3fa").end();
    let seen = (totals.busy + totals.idle).max(1) as f64;
    let label = format!("CPU {cpu} ({:.0}% busy)", totals.busy as f64 * 100.0 / seen);
    svg.element("g").attr("class", "label").open();
    svg.element("title").text(&format!(
        "CPU {cpu}: {:.3} ms running threads, {:.3} ms idle, {} switches, {} threads arrived from another CPU",
        totals.busy as f64 * 1e3 / timeline.tsc_hz as f64,
        totals.idle as f64 * 1e3 / timeline.tsc_hz as f64,
        totals.switches,
        totals.migrations_in
    ));
    svg.text((LABEL_WIDTH - 8.0, bar_top + bar_height / 2.0), 12.0, "end")
        .attr("font-weight", "bold")
        .attr("dominant-baseline", "middle")
        .text(&label);
    svg.close("g");
    let pieces_on = |lane: &Lane| -> Vec<Piece> {
        let on_cpu = lane.slices.iter().enumerate().filter(|(_, slice)| slice.cpu == cpu);
        on_cpu.map(|(index, slice)| Piece::of(index, slice)).collect()
    };
    let idle_height = bar_height * 0.4;
    for bar in bars(&pieces_on(&timeline.idle), x_of) {
        svg.rect(bar.x, bar_top + (bar_height - idle_height) / 2.0, bar.width, idle_height, IDLE_COLOUR)
            .attr("class", "idle")
            .optional_attr("fill-opacity", bar.opacity())
            .tooltip(&format!("CPU {cpu}: idle, {:.3} – {:.3} ms", timeline.ms(bar.start), timeline.ms(bar.end)));
    }
    for (index, lane) in timeline.lanes.iter().enumerate() {
        for bar in bars(&pieces_on(lane), x_of) {
            svg.rect(bar.x, bar_top, bar.width, bar_height, PALETTE[index % PALETTE.len()])
                .attr("class", "running")
                .attr("data-pid", lane.pid)
                .attr("data-merged", bar.count)
                .optional_attr("fill-opacity", bar.opacity())
                .tooltip(&bar.describe(timeline, lane, &format!("running on CPU {cpu}")));
        }
    }
    for migration in timeline.migrations.iter().filter(|migration| migration.from == cpu || migration.to == cpu) {
        let x = x_of(migration.tsc);
        let (direction, y) =
            if migration.to == cpu { ("arrived from", bar_top) } else { ("left for", bar_top + bar_height) };
        let other = if migration.to == cpu { migration.from } else { migration.to };
        let name = timeline
            .lanes
            .iter()
            .find(|lane| lane.pid == migration.pid)
            .map_or_else(|| format!("pid {}", migration.pid), |lane| lane.current_label());
        // A triangle pointing into the lane it arrived at, out of the one it left.
        let tip = if migration.to == cpu { y + 6.0 } else { y - 6.0 };
        let base = if migration.to == cpu { y - 2.0 } else { y + 2.0 };
        triangle(svg, [(x - 5.0, base), (x + 5.0, base), (x, tip)])
            .attr("class", "migration")
            .attr("data-pid", migration.pid)
            .attr("data-from", migration.from)
            .attr("data-to", migration.to)
            .tooltip(&format!("{name} {direction} CPU {other} at {:.3} ms (a migration)", timeline.ms(migration.tsc)));
    }
    svg.close("g");
}

/// A filled migration mark through `corners`; the caller adds attributes and ends it.
fn triangle(svg: &mut Svg, corners: [(f64, f64); 3]) -> crate::svg::Element<'_> {
    let points: Vec<String> = corners.iter().map(|(x, y)| format!("{x:.2},{y:.2}")).collect();
    svg.element("polygon").attr("points", points.join(" ")).attr("fill", MIGRATION_COLOUR)
}

/// What the picture does not show as it happened: events the kernel dropped,
/// records that were not events, intervals merged to meet the budget.
pub fn notices(timeline: &Timeline) -> Vec<String> {
    let mut notices = Vec::new();
    if timeline.dropped > 0 {
        notices.push(format!(
            "{} events dropped by the kernel (trace buffer full): the picture misses what they said",
            timeline.dropped
        ));
    }
    if timeline.undecodable > 0 {
        notices.push(format!("{} records were not events", timeline.undecodable));
    }
    if let Some(merging) = timeline.merging {
        notices.push(format!(
            "{} intervals over the budget of {}: adjacent ones in the same state within {:.3} ms merged into {} (totals kept; opacity: share of time in that state)",
            merging.before,
            merging.budget,
            merging.grain as f64 * 1e3 / timeline.tsc_hz as f64,
            merging.after
        ));
    }
    notices
}

/// The legend: the states, why intervals end, what the waits were for (the kinds
/// this timeline has), the level band and the boosts; entries flow into rows.
fn legend(svg: &mut Svg, timeline: &Timeline, has_levels: bool, cpu_lanes: bool) {
    /// Where the next entry goes: a new row when it would not fit.
    struct Flow {
        x: f64,
        y: f64,
    }
    impl Flow {
        /// The place of an entry with a 22 px key and `label`, and the label's x.
        fn place(&mut self, label: &str) -> (f64, f64, f64) {
            let width = 40.0 + 6.6 * label.chars().count() as f64;
            if self.x > 12.0 && self.x + width > WIDTH - RIGHT_MARGIN {
                self.x = 12.0;
                self.y += 20.0;
            }
            let place = (self.x, self.y, self.x + 27.0);
            self.x += width;
            place
        }
    }
    let mut flow = Flow { x: 12.0, y: 72.0 };
    let swatch = |svg: &mut Svg, flow: &mut Flow, fill: &str, height: f64, label: &str| {
        let (x, y, text_x) = flow.place(label);
        svg.rect(x, y + (14.0 - height) / 2.0, 22.0, height, fill).end();
        svg.text((text_x, y + 12.0), 12.0, "start").text(label);
    };
    svg.element("g").attr("class", "legend").open();
    swatch(svg, &mut flow, "#bab0ac", 14.0, "running");
    swatch(svg, &mut flow, READY_FILL, 8.0, "ready (runnable, waiting for the CPU)");
    for reason in &REASONS[..4] {
        let label = format!("ran until {}", reason.describe());
        let (x, y, text_x) = flow.place(&label);
        svg.rect(x + 19.0, y, 3.0, 14.0, reason_colour(*reason)).end();
        svg.text((text_x, y + 12.0), 12.0, "start").text(&label);
    }
    let mut waits: Vec<WaitKind> = Vec::new();
    for wait in timeline.lanes.iter().flat_map(|lane| &lane.waits) {
        if let State::Blocked(kind) = wait.state {
            if !waits.contains(&kind) {
                waits.push(kind);
            }
        }
    }
    waits.sort_by_key(|&kind| kind as u8);
    // The second row starts with what blocked.
    flow.x = WIDTH;
    for kind in waits {
        swatch(svg, &mut flow, wait_colour(kind), 4.0, &format!("blocked: {}", kind.describe()));
    }
    if cpu_lanes {
        swatch(svg, &mut flow, IDLE_COLOUR, 6.0, "CPU idle");
        let label = "migration (a thread's run on another CPU than its last)";
        let (x, y, text_x) = flow.place(label);
        triangle(svg, [(x + 6.0, y + 3.0), (x + 16.0, y + 3.0), (x + 11.0, y + 11.0)]).end();
        svg.text((text_x, y + 12.0), 12.0, "start").text(label);
    }
    let label = "many short intervals (opacity: share of time)";
    let (x, y, text_x) = flow.place(label);
    svg.rect(x, y, 22.0, 14.0, "#bab0ac").attr("fill-opacity", 0.4).end();
    svg.text((text_x, y + 12.0), 12.0, "start").text(label);
    if has_levels {
        let label = "level band (dark: top level)";
        let (x, y, text_x) = flow.place(label);
        for (level, colour) in LEVEL_COLOURS.iter().enumerate().take(3) {
            svg.rect(x + 7.0 * level as f64, y + 5.0, 7.0, 5.0, colour).end();
        }
        svg.text((text_x, y + 12.0), 12.0, "start").text(label);
        if !timeline.boosts.is_empty() {
            let label = format!("priority boost ({})", timeline.boosts.len());
            let (x, y, text_x) = flow.place(&label);
            svg.line((x + 11.0, y), (x + 11.0, y + 14.0), BOOST_COLOUR).attr("stroke-dasharray", "4 3").end();
            svg.text((text_x, y + 12.0), 12.0, "start").text(&label);
        }
    }
    svg.close("g");
}

/// A lane's level over time, as a band of `height` at `y`: one rectangle per stretch
/// at one level, until the lane's last interval ends.
fn level_band(svg: &mut Svg, timeline: &Timeline, lane: &Lane, y: f64, height: f64, x_of: &dyn Fn(u64) -> f64) {
    let last = lane.slices.iter().map(|slice| slice.end).chain(lane.waits.iter().map(|wait| wait.end)).max();
    let Some(last) = last else { return };
    let mut stretches: Vec<(u64, u64, u8)> = Vec::new();
    for (index, &(start, level)) in lane.levels.iter().enumerate() {
        let end = lane.levels.get(index + 1).map_or(last, |&(next, _)| next).min(last);
        match stretches.last_mut() {
            Some(stretch) if stretch.2 == level => stretch.1 = end,
            _ if end > start => stretches.push((start, end, level)),
            _ => {}
        }
    }
    for (start, end, level) in stretches {
        svg.rect(x_of(start), y, x_of(end) - x_of(start), height, level_colour(level))
            .attr("class", "level")
            .attr("data-level", level)
            .tooltip(&format!(
                "{}: level {level} from {:.3} to {:.3} ms",
                lane.current_label(),
                timeline.ms(start),
                timeline.ms(end)
            ));
    }
}

/// Intervals at least this wide (pixels) are drawn one by one, with their end reason ...
const WIDE_PX: f64 = 3.0;
/// ... unless less than this (pixels) apart, where they would look like one anyway.
const GAP_PX: f64 = 1.0;
/// Narrower ones are summed into buckets this wide (pixels) ...
const BUCKET_PX: f64 = 8.0;
/// ... whose shares of running time are rounded to this many levels, so that runs of
/// buckets at the same level become one bar.
const LEVELS: f64 = 8.0;

/// One rectangle of a lane's state: one interval, or several (merged by
/// `Timeline::fit`, or aggregated here because each is too narrow).
#[derive(Debug)]
struct Bar {
    x: f64,
    width: f64,
    start: u64,
    end: u64,
    /// Intervals it stands for, and the share of its time spent in the state.
    count: u32,
    share: f64,
    /// How solid to draw it, 0 to 1, when it stands for several intervals.
    shade: Option<f64>,
    /// The index of its first piece in the lane's list.
    first: usize,
}

impl Bar {
    /// Opacity for a bar standing for several intervals: the share of its time in
    /// the state, never fainter than a quarter.
    fn opacity(&self) -> Option<String> {
        self.shade.map(|shade| format!("{:.2}", 0.25 + 0.75 * shade.clamp(0.0, 1.0)))
    }

    fn describe(&self, timeline: &Timeline, lane: &Lane, state: &str) -> String {
        let (from, to) = (timeline.ms(self.start), timeline.ms(self.end));
        if self.shade.is_none() {
            format!("{}: {state}, {from:.3} – {to:.3} ms", lane.current_label())
        } else {
            format!(
                "{}: {state}, {} intervals between {from:.1} and {to:.1} ms, {:.0}% of that time",
                lane.current_label(),
                self.count,
                self.share * 100.0
            )
        }
    }
}

/// The bars for one state of a lane: the pieces at least `WIDE_PX` wide each as
/// one (those less than `GAP_PX` apart together); narrower ones aggregated: their
/// time summed per `BUCKET_PX` bucket (by where they start), and adjacent buckets at
/// the same rounded share merged into one bar.
fn bars(pieces: &[Piece], x_of: &dyn Fn(u64) -> f64) -> Vec<Bar> {
    let mut bars: Vec<Bar> = Vec::new();
    let px_per_tsc =
        |piece: &Piece| (x_of(piece.end) - x_of(piece.start)) / piece.end.saturating_sub(piece.start).max(1) as f64;
    let mut buckets: BTreeMap<i64, (f64, u32, u64, u64)> = BTreeMap::new();
    for piece in pieces {
        let (x0, x1) = (x_of(piece.start), x_of(piece.end));
        let share = piece.busy as f64 / piece.end.saturating_sub(piece.start).max(1) as f64;
        if x1 - x0 >= WIDE_PX {
            let shade = (piece.merged > 1).then_some(share);
            match bars.last_mut() {
                Some(bar) if x0 - (bar.x + bar.width) < GAP_PX => {
                    let busy = bar.share * (bar.end - bar.start) as f64 + piece.busy as f64;
                    bar.width = x1 - bar.x;
                    bar.end = piece.end;
                    bar.count += piece.merged;
                    bar.share = busy / piece.end.saturating_sub(bar.start).max(1) as f64;
                    bar.shade = Some(bar.share);
                }
                _ => bars.push(Bar {
                    x: x0,
                    width: x1 - x0,
                    start: piece.start,
                    end: piece.end,
                    count: piece.merged,
                    share,
                    shade,
                    first: piece.index,
                }),
            }
        } else {
            let bucket = buckets.entry(((x0 - LABEL_WIDTH) / BUCKET_PX).floor() as i64).or_insert((
                0.0,
                0,
                piece.start,
                piece.end,
            ));
            bucket.0 += piece.busy as f64 * px_per_tsc(piece);
            bucket.1 += piece.merged;
            bucket.3 = piece.end;
        }
    }
    let mut previous = None;
    let mut runs: Vec<(Bar, f64)> = Vec::new();
    for (index, (busy, count, start, end)) in buckets {
        let share = (busy / BUCKET_PX).clamp(0.0, 1.0);
        let level = ((share * LEVELS).ceil() / LEVELS).max(1.0 / LEVELS);
        let x = LABEL_WIDTH + index as f64 * BUCKET_PX;
        match runs.last_mut() {
            Some((run, run_level)) if previous == Some(index - 1) && *run_level == level => {
                run.share = (run.share * run.width + share * BUCKET_PX) / (run.width + BUCKET_PX);
                run.width += BUCKET_PX;
                run.count += count;
                run.end = end;
            }
            _ => runs.push((Bar { x, width: BUCKET_PX, start, end, count, share, shade: None, first: 0 }, level)),
        }
        previous = Some(index);
    }
    // An aggregated bar is drawn at its rounded share.
    bars.extend(runs.into_iter().map(|(bar, level)| Bar { shade: Some(level), ..bar }));
    bars
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::fixtures::*;

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
        assert_eq!(text.matches(r#"class="running""#).count(), 20);
        assert_eq!(text.matches(r#"class="running" data-merged="1""#).count(), 20, "each on its own");
    }

    #[test]
    fn several_cpus_get_a_lane_each_with_their_runs_idle_time_and_migrations() {
        let text = svg(&two_cpus(), &SvgOptions::default());
        assert_eq!(svg_lanes(&text), [1, 2], "the process lanes stay");
        let document = roxmltree::Document::parse(&text).unwrap();
        let cpu_lanes: Vec<_> =
            document.descendants().filter(|node| node.attribute("class") == Some("cpu-lane")).collect();
        assert_eq!(cpu_lanes.iter().map(|node| node.attribute("data-cpu").unwrap()).collect::<Vec<_>>(), ["0", "1"]);
        let in_lane = |lane: &roxmltree::Node, class: &str| -> Vec<(String, String)> {
            lane.descendants()
                .filter(|node| node.attribute("class") == Some(class))
                .map(|node| {
                    (
                        node.attribute("data-pid").unwrap_or("").to_string(),
                        node.attribute("data-to").unwrap_or("").to_string(),
                    )
                })
                .collect()
        };
        let pids =
            |lane: &roxmltree::Node| in_lane(lane, "running").into_iter().map(|(pid, _)| pid).collect::<Vec<_>>();
        assert_eq!(pids(&cpu_lanes[0]), ["1"]);
        assert_eq!(pids(&cpu_lanes[1]), ["1", "2"]);
        assert!(!in_lane(&cpu_lanes[0], "idle").is_empty() && !in_lane(&cpu_lanes[1], "idle").is_empty());
        // The move of pid 1 from CPU 0 to CPU 1, on both lanes.
        for lane in &cpu_lanes {
            assert_eq!(in_lane(lane, "migration"), [("1".to_string(), "1".to_string())]);
        }
        assert!(text.contains("CPU 0 (47% busy)") && text.contains("CPU 1 (95% busy)"), "{text}");
        // One CPU: no CPU lane.
        let one = svg(&two_processes(), &SvgOptions::default());
        assert!(!one.contains("cpu-lane") && !one.contains("migration"));
    }

    #[test]
    fn an_empty_timeline_is_drawn_too() {
        assert!(svg_lanes(&svg(&Timeline::build(&[], 0, 0), &SvgOptions::default())).is_empty());
    }

    #[test]
    fn axis_steps_are_round_numbers() {
        assert_eq!(nice_step(1000.0, 10.0), 100.0);
        assert_eq!(nice_step(830.0, 10.0), 100.0);
        assert_eq!(nice_step(45.0, 10.0), 5.0);
        assert_eq!(nice_step(12.0, 10.0), 2.0);
        assert_eq!(nice_step(3.0, 10.0), 0.5);
    }

    #[test]
    fn every_state_has_its_class_threads_sit_under_their_process_and_the_legend_fits() {
        use kernel_core::trace::What;
        let kinds = [
            WaitKind::Children,
            WaitKind::Sleep,
            WaitKind::VforkDone,
            WaitKind::PipeReadable,
            WaitKind::PipeWritable,
            WaitKind::ConsoleInput,
            WaitKind::Stopped,
            WaitKind::Poll,
            WaitKind::ConsoleOutput,
            WaitKind::Futex,
        ];
        let mut events = named(0, 1, 0, "main");
        events.push((0, 2, What::Create { parent: 1, process: 1 }));
        events.extend(kernel_core::trace::name_chunks(b"worker").map(|what| (0, 2, what)));
        let mut tsc = 0;
        for wait in kinds {
            events.push(switch(tsc, 0, 1, SwitchReason::Dispatched));
            events.push((tsc + 500, 1, What::Block { wait, detail: 0 }));
            events.push(switch(tsc + 500, 1, 0, SwitchReason::Blocked));
            events.push((tsc + 900, 1, What::Wake { wait, interrupted: false }));
            tsc += 1_000;
        }
        events.push(switch(tsc, 0, 2, SwitchReason::Dispatched));
        events.push(switch(tsc + 500, 2, 0, SwitchReason::Exited));
        let timeline = Timeline::build(&raw(&events), 1_000_000, 0);
        let text = svg(&timeline, &SvgOptions::default());
        let document = roxmltree::Document::parse(&text).unwrap();
        let waits: Vec<&str> = document.descendants().filter_map(|node| node.attribute("data-wait")).collect();
        assert_eq!(waits.len(), kinds.len(), "one blocked bar per wait: {waits:?}");
        for kind in kinds {
            assert!(waits.contains(&kind.describe()), "{kind:?}");
        }
        assert!(text.contains(r#"class="ready""#) && text.contains(r#"class="running""#));
        let labels: Vec<&str> = document
            .descendants()
            .filter(|node| node.attribute("class") == Some("label"))
            .filter_map(|node| node.descendants().find(|n| n.tag_name().name() == "text")?.text())
            .collect();
        assert_eq!(labels, ["main (pid 1)", "↳ worker (tid 2 of pid 1)"]);
        let legend = document.descendants().find(|node| node.attribute("class") == Some("legend")).unwrap();
        for text in legend.descendants().filter(|node| node.tag_name().name() == "text") {
            let x: f64 = text.attribute("x").unwrap().parse().unwrap();
            let y: f64 = text.attribute("y").unwrap().parse().unwrap();
            let width = 6.6 * text.text().unwrap().chars().count() as f64;
            assert!(x + width <= WIDTH && y < TOP - 6.0, "{:?} at ({x}, {y}) leaves the legend", text.text());
        }
    }
}
