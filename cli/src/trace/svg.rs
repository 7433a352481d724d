//! The timeline drawn as an SVG: a lane per process with its running intervals, why
//! each ended, a time axis and a legend, through the CLI's SVG writer (`crate::svg`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use kernel_core::trace::SwitchReason;

use super::model::{Slice, Timeline, REASONS};
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
        assert_eq!(text.matches("<title>").count(), 20);
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
}
