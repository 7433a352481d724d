//! The textbook's scheduling figures (OSTEP ch. 8 and 9), drawn from simulations of the
//! kernel's own policies: lottery's unfairness, MLFQ's levels, boost and gaming, stride
//! against lottery, the share by nice value, and the wake-up delay; and the papers'
//! mechanisms: lottery's compensation tickets and ticket transfer (Waldspurger &
//! Weihl), EEVDF against fair for a latency-sensitive task.

use kernel_core::cmdline::SchedPolicy;
use kernel_core::sched::sim::{Job, Pattern, Simulation};
use kernel_core::sched::{weight, Allotment, Eevdf, Lottery, Mlfq, MlfqConfig, Scheduler, TaskId};

use super::plot::{box_legend, line_legend, ticks, Axis, Plot, GRAY, PALETTE};
use super::{policy, shares, wake_delays};
use crate::svg::Svg;

/// Every figure, by its file name; the lottery's draws seeded from `seed`.
pub fn all(seed: u64) -> [(&'static str, String); 10] {
    [
        ("lottery-unfairness.svg", lottery_unfairness(seed)),
        ("mlfq-basics.svg", mlfq_basics()),
        ("mlfq-boost.svg", mlfq_boost()),
        ("mlfq-gaming.svg", mlfq_gaming()),
        ("stride-vs-lottery.svg", stride_vs_lottery(seed)),
        ("share-by-nice.svg", share_by_nice(seed)),
        ("wakeup-delay.svg", wakeup_delay(seed)),
        ("lottery-compensation.svg", lottery_compensation(seed)),
        ("lottery-transfer.svg", lottery_transfer(seed)),
        ("eevdf-vs-fair.svg", eevdf_vs_fair(seed)),
    ]
}

/// OSTEP fig. 9.2: two jobs with equal tickets and the same length; unfairness U is
/// the first finish time over the second (1 is perfectly fair), averaged over 100
/// lottery trials, against the job length in quanta (1 ms).
fn lottery_unfairness(seed: u64) -> String {
    let lengths: [u64; 16] = [1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 200, 300, 500, 1000];
    const TRIALS: u64 = 100;
    let unfairness = |sched: SchedPolicy, length: u64, trials: u64| -> f64 {
        let total: f64 = (0..trials)
            .map(|trial| {
                let jobs = [Job::cpu(1).work(length), Job::cpu(2).work(length)];
                let mut sim = Simulation::new(policy(sched, 1, seed + trial), &jobs);
                sim.run_to_completion(10 * length + 10);
                let (a, b) = (sim.finished_at(1).unwrap_or(0) as f64, sim.finished_at(2).unwrap_or(0) as f64);
                a.min(b) / a.max(b).max(1.0)
            })
            .sum();
        total / trials as f64
    };
    let mut svg = Svg::new(640.0, 420.0);
    let plot = Plot {
        left: 70.0,
        top: 50.0,
        width: 520.0,
        height: 300.0,
        x: Axis::log(1.0, 1000.0),
        y: Axis::linear(0.0, 1.0),
    };
    svg.text((320.0, 24.0), 15.0, "middle").attr("font-weight", "bold").text("Lottery fairness study (OSTEP fig. 9.2)");
    svg.text((320.0, 40.0), 11.0, "middle")
        .text("two jobs, equal tickets, same length; quantum 1 ms; lottery: mean of 100 seeded trials");
    let x_ticks: Vec<(f64, String)> = [1.0, 10.0, 100.0, 1000.0].iter().map(|&v| (v, format!("{v}"))).collect();
    plot.axes(
        &mut svg,
        &x_ticks,
        &ticks(0.0, 1.0, 0.2, 1),
        "Job length (quanta of 1 ms)",
        "Unfairness (first finish / second finish)",
    );
    let mut legend = Vec::new();
    for (index, (sched, trials, dash)) in [
        (SchedPolicy::Lottery, TRIALS, None),
        (SchedPolicy::Stride, 1, Some("6 3")),
        (SchedPolicy::Fair, 1, Some("2 3")),
    ]
    .into_iter()
    .enumerate()
    {
        let points: Vec<(f64, f64)> =
            lengths.iter().map(|&l| plot.at(l as f64, unfairness(sched, l, trials))).collect();
        svg.polyline(&points, PALETTE[index])
            .attr("stroke-width", 2.0)
            .attr("stroke-linejoin", "round")
            .optional_attr("stroke-dasharray", dash)
            .end();
        for &point in &points {
            svg.circle(point, 2.5, PALETTE[index]);
        }
        legend.push((PALETTE[index], dash, sched.word()));
    }
    line_legend(&mut svg, (plot.left + plot.width - 110.0, plot.bottom() - 50.0), &legend);
    svg.finish()
}

/// One job's appearance in a timeline: which level it ran at, tick by tick.
struct Timeline {
    /// (tick, task, level) for every tick the CPU was busy.
    runs: Vec<(u64, TaskId, usize)>,
    boosts: Vec<u64>,
    ticks: u64,
}

fn record_mlfq(config: MlfqConfig, jobs: &[Job], ticks: u64) -> Timeline {
    let mut sim = Simulation::new(Mlfq::new(config), jobs);
    let mut timeline = Timeline { runs: Vec::new(), boosts: Vec::new(), ticks };
    for tick in 0..ticks {
        let boosts = sim.policy.boosts();
        if let Some(task) = sim.running() {
            let level = sim.policy.level_of(task).unwrap_or(0);
            timeline.runs.push((tick, task, level));
        }
        sim.step();
        if sim.policy.boosts() > boosts {
            timeline.boosts.push(tick + 1);
        }
    }
    timeline
}

/// Draws a timeline: one lane per level (Q0 on top), a box for every tick a job ran.
fn draw_timeline(
    svg: &mut Svg,
    (left, top, width): (f64, f64, f64),
    levels: usize,
    title: &str,
    timeline: &Timeline,
    color: &dyn Fn(TaskId) -> &'static str,
) -> f64 {
    const LANE: f64 = 26.0;
    let height = LANE * levels as f64;
    let plot = Plot {
        left,
        top: top + 18.0,
        width,
        height,
        x: Axis::linear(0.0, timeline.ticks as f64),
        y: Axis::linear(levels as f64, 0.0),
    };
    svg.text((left, top + 10.0), 12.0, "start").attr("font-weight", "bold").text(title);
    for level in 0..levels {
        let y = plot.top + LANE * level as f64;
        svg.rect(left, y, width, LANE, if level % 2 == 0 { "#f7f7f7" } else { "#ffffff" }).end();
        svg.text((left - 8.0, y + LANE / 2.0 + 4.0), 11.0, "end").text(&format!("Q{level}"));
    }
    // One box per stretch of consecutive ticks of one job at one level.
    let mut index = 0;
    while let Some(&(start, task, level)) = timeline.runs.get(index) {
        let mut end = start + 1;
        index += 1;
        while let Some(&(tick, next_task, next_level)) = timeline.runs.get(index) {
            if tick != end || next_task != task || next_level != level {
                break;
            }
            end += 1;
            index += 1;
        }
        let y = plot.top + LANE * level as f64 + 3.0;
        let tip = format!("job {task} at Q{level}, {start}-{end} ms");
        svg.rect(plot.px(start as f64), y, plot.px(end as f64) - plot.px(start as f64), LANE - 6.0, color(task))
            .tooltip(&tip);
    }
    for &boost in &timeline.boosts {
        let x = plot.px(boost as f64);
        svg.line((x, plot.top - 3.0), (x, plot.bottom() + 3.0), "#333333")
            .attr("stroke-width", 1.0)
            .attr("stroke-dasharray", "3 3")
            .end();
    }
    let tick_step = if timeline.ticks > 400 { 100.0 } else { 50.0 };
    for (value, label) in ticks(0.0, timeline.ticks as f64, tick_step, 0) {
        let x = plot.px(value);
        svg.line((x, plot.bottom()), (x, plot.bottom() + 4.0), "#333333").attr("stroke-width", 1.0).end();
        svg.text((x, plot.bottom() + 15.0), 10.0, "middle").text(&label);
    }
    plot.bottom() + 22.0
}

fn defaults() -> MlfqConfig {
    MlfqConfig::new(3, &[10, 20, 40], 100)
}

/// OSTEP figs. 8.2-8.4 with the kernel's default MLFQ (3 levels, 10/20/40 ms, a
/// boost every 100 ms).
fn mlfq_basics() -> String {
    let mut svg = Svg::new(760.0, 420.0);
    svg.text((380.0, 22.0), 15.0, "middle")
        .attr("font-weight", "bold")
        .text("MLFQ with the kernel's defaults: quanta 10/20/40 ms, boost every 100 ms (dashed)");
    let color = |task: TaskId| if task == 1 { PALETTE[0] } else { PALETTE[3] };
    let long = record_mlfq(defaults(), &[Job::cpu(1)], 300);
    let mut y = draw_timeline(
        &mut svg,
        (50.0, 34.0, 690.0),
        3,
        "A long-running job alone (fig. 8.2): one level down per allotment; back to Q0 at each boost",
        &long,
        &color,
    );
    let short = record_mlfq(defaults(), &[Job::cpu(1), Job::cpu(2).arriving(150).work(20)], 300);
    y = draw_timeline(
        &mut svg,
        (50.0, y + 8.0, 690.0),
        3,
        "Along came a short job (fig. 8.3, red, 20 ms at 150 ms): it runs at once, in the top levels, and is done",
        &short,
        &color,
    );
    let interactive = record_mlfq(
        defaults(),
        &[Job::cpu(1), Job::cpu(2).arriving(50).pattern(Pattern::Interactive { run: 1, sleep: 4 })],
        300,
    );
    y = draw_timeline(
        &mut svg,
        (50.0, y + 8.0, 690.0),
        3,
        "An interactive job (fig. 8.4, red: 1 ms of CPU, 4 ms of sleep) stays above the CPU-bound one",
        &interactive,
        &color,
    );
    svg.text((380.0, y + 6.0), 11.0, "middle").text("time (ms)");
    svg.finish()
}

/// OSTEP fig. 8.5: without a boost, jobs that keep the top level busy starve a long
/// job; the boost gives it a turn every period. Here the top is kept busy by a stream
/// of short jobs (3 ms each, one every 3 ms from 100 ms to 400 ms), which rule 4's
/// accounting cannot stop: each one is new.
fn mlfq_boost() -> String {
    let mut jobs = vec![Job::cpu(1)];
    for n in 0..100u32 {
        jobs.push(Job::cpu(10 + n).arriving(100 + 3 * u64::from(n)).work(3));
    }
    let color = |task: TaskId| {
        if task == 1 {
            PALETTE[0]
        } else if task.is_multiple_of(2) {
            GRAY
        } else {
            "#c8c8c8"
        }
    };
    let mut svg = Svg::new(760.0, 300.0);
    svg.text((380.0, 22.0), 15.0, "middle")
        .attr("font-weight", "bold")
        .text("Priority boost (OSTEP fig. 8.5): a long job (blue) and a stream of short jobs (gray)");
    let without = record_mlfq(MlfqConfig::new(3, &[10, 20, 40], 0), &jobs, 500);
    let y = draw_timeline(
        &mut svg,
        (50.0, 34.0, 690.0),
        3,
        "Without priority boost: the long job starves while the stream lasts",
        &without,
        &color,
    );
    let with = record_mlfq(MlfqConfig::new(3, &[10, 20, 40], 50), &jobs, 500);
    let y = draw_timeline(
        &mut svg,
        (50.0, y + 10.0, 690.0),
        3,
        "With a boost every 50 ms (dashed): the long job gets a Q0 allotment each period",
        &with,
        &color,
    );
    svg.text((380.0, y + 6.0), 11.0, "middle").text("time (ms)");
    svg.finish()
}

/// OSTEP fig. 8.6: a job that yields after 9 ms of every 10 ms quantum. Under rules
/// 4a/4b it keeps its priority and takes the CPU; under rule 4 it moves down.
fn mlfq_gaming() -> String {
    let jobs = [Job::cpu(1), Job::cpu(2).arriving(50).pattern(Pattern::Yielder { run: 9 })];
    let color = |task: TaskId| if task == 1 { PALETTE[0] } else { PALETTE[3] };
    let mut svg = Svg::new(760.0, 300.0);
    svg.text((380.0, 22.0), 15.0, "middle")
        .attr("font-weight", "bold")
        .text("Gaming the scheduler (OSTEP fig. 8.6): red yields after 9 ms of each 10 ms quantum");
    let mut gameable = MlfqConfig::new(3, &[10, 20, 40], 0);
    gameable.allotment = Allotment::PerBurst;
    let y = draw_timeline(
        &mut svg,
        (50.0, 34.0, 690.0),
        3,
        "Rules 4a/4b (the allotment restarts when a job gives up the CPU): the gamer keeps Q0",
        &record_mlfq(gameable, &jobs, 300),
        &color,
    );
    let fair = MlfqConfig::new(3, &[10, 20, 40], 0);
    let y = draw_timeline(
        &mut svg,
        (50.0, y + 10.0, 690.0),
        3,
        "Rule 4, as timeshare does it (the allotment counts across yields): the gamer moves down",
        &record_mlfq(fair, &jobs, 300),
        &color,
    );
    svg.text((380.0, y + 6.0), 11.0, "middle").text("time (ms)");
    svg.finish()
}

/// Cumulative CPU of three jobs with tickets in the ratio 100:50:250 (nice 0, 3 and
/// -4) under stride and lottery, 10 ms quanta, one second; dotted: the ideal shares.
fn stride_vs_lottery(seed: u64) -> String {
    let nices = [0i8, 3, -4];
    let total: u32 = nices.iter().map(|&n| weight(n)).sum();
    let jobs: Vec<Job> = nices.iter().enumerate().map(|(i, &n)| Job::cpu(i as TaskId + 1).nice(n)).collect();
    let mut svg = Svg::new(760.0, 400.0);
    svg.text((380.0, 22.0), 15.0, "middle")
        .attr("font-weight", "bold")
        .text("Stride is deterministic, lottery is right on average (OSTEP ch. 9)");
    svg.text((380.0, 38.0), 11.0, "middle").text("three CPU-bound jobs at nice 0, 3 and -4 (weights 1024, 526, 2501: about 100, 50 and 250 tickets); 10 ms quanta");
    for (panel, sched) in [SchedPolicy::Stride, SchedPolicy::Lottery].into_iter().enumerate() {
        let plot = Plot {
            left: 70.0 + 360.0 * panel as f64,
            top: 70.0,
            width: 300.0,
            height: 260.0,
            x: Axis::linear(0.0, 1000.0),
            y: Axis::linear(0.0, 650.0),
        };
        svg.text((plot.left + plot.width / 2.0, 62.0), 12.0, "middle").attr("font-weight", "bold").text(sched.word());
        plot.axes(
            &mut svg,
            &ticks(0.0, 1000.0, 250.0, 0),
            &ticks(0.0, 600.0, 100.0, 0),
            "time (ms)",
            "CPU received (ms)",
        );
        let mut sim = Simulation::new(policy(sched, 10, seed), &jobs);
        let mut cumulative = vec![vec![plot.at(0.0, 0.0)]; jobs.len()];
        let mut counts = vec![0u64; jobs.len()];
        for tick in 1..=1000u64 {
            if let Some(task) = sim.step() {
                counts[task as usize - 1] += 1;
            }
            if tick % 5 == 0 {
                for (j, count) in counts.iter().enumerate() {
                    cumulative[j].push(plot.at(tick as f64, *count as f64));
                }
            }
        }
        for (j, &nice) in nices.iter().enumerate() {
            let ideal = 1000.0 * f64::from(weight(nice)) / f64::from(total);
            svg.line(plot.at(0.0, 0.0), plot.at(1000.0, ideal), PALETTE[j])
                .attr("stroke-width", 1.0)
                .attr("stroke-dasharray", "2 3")
                .end();
            svg.polyline(&cumulative[j], PALETTE[j]).attr("stroke-width", 2.0).attr("stroke-linejoin", "round").end();
        }
        if panel == 0 {
            let labels: Vec<String> = nices.iter().map(|&n| format!("nice {n} (weight {})", weight(n))).collect();
            let entries: Vec<(&str, Option<&str>, &str)> =
                labels.iter().enumerate().map(|(j, l)| (PALETTE[j], None, l.as_str())).collect();
            line_legend(&mut svg, (plot.left + 10.0, plot.top + 14.0), &entries);
        }
    }
    svg.finish()
}

/// Two CPU-bound jobs at nice 0 and nice d, 10 s: the CPU ratio under each policy,
/// against the ratio of their weights.
fn share_by_nice(seed: u64) -> String {
    let mut svg = Svg::new(640.0, 420.0);
    svg.text((320.0, 24.0), 15.0, "middle")
        .attr("font-weight", "bold")
        .text("Fair share by nice: nice 0 against nice d, CPU-bound, 10 s");
    svg.text((320.0, 40.0), 11.0, "middle")
        .text("dotted: the ratio of Linux's weights (1024 / weight(d), about 1.25^d)");
    let plot = Plot {
        left: 70.0,
        top: 55.0,
        width: 520.0,
        height: 300.0,
        x: Axis::linear(0.0, 10.0),
        y: Axis::log(0.8, 12.0),
    };
    let y_ticks: Vec<(f64, String)> = [1.0, 2.0, 3.0, 5.0, 10.0].iter().map(|&v| (v, format!("{v}"))).collect();
    plot.axes(
        &mut svg,
        &ticks(0.0, 10.0, 1.0, 0),
        &y_ticks,
        "nice value d of the second job",
        "CPU of nice 0 / CPU of nice d",
    );
    let ideal: Vec<(f64, f64)> =
        (0..=10).map(|d| plot.at(f64::from(d), f64::from(weight(0)) / f64::from(weight(d as i8)))).collect();
    svg.polyline(&ideal, "#000000")
        .attr("stroke-width", 1.5)
        .attr("stroke-linejoin", "round")
        .attr("stroke-dasharray", "2 3")
        .end();
    let mut legend = vec![("#000000", Some("2 3"), "weights")];
    // Overlapping lines stay visible: rr under mlfq, stride under fair.
    let styles = [(4.5, None), (2.0, Some("6 3")), (4.5, None), (2.0, None), (2.0, Some("6 3")), (2.0, Some("2 3"))];
    for (index, &sched) in SchedPolicy::ALL.iter().enumerate() {
        let (width, dash) = styles[index];
        let points: Vec<(f64, f64)> = (0..=10i8)
            .map(|d| {
                let got = shares(policy(sched, 10, seed), &[Job::cpu(1), Job::cpu(2).nice(d)], 10_000);
                plot.at(f64::from(d), got[0] as f64 / got[1].max(1) as f64)
            })
            .collect();
        svg.polyline(&points, PALETTE[index])
            .attr("stroke-width", width)
            .attr("stroke-linejoin", "round")
            .optional_attr("stroke-dasharray", dash)
            .end();
        for &point in &points {
            svg.circle(point, 2.5, PALETTE[index]);
        }
        legend.push((PALETTE[index], dash, sched.word()));
    }
    line_legend(&mut svg, (plot.left + 20.0, plot.top + 18.0), &legend);
    svg.finish()
}

/// The mean and worst wake-up delay of an interactive job beside two CPU hogs.
fn wakeup_delay(seed: u64) -> String {
    let mut svg = Svg::new(640.0, 400.0);
    svg.text((320.0, 24.0), 15.0, "middle")
        .attr("font-weight", "bold")
        .text("Waking up beside two CPU hogs (simulated, 10 s)");
    svg.text((320.0, 40.0), 11.0, "middle")
        .text("a job runs 1 ms, sleeps 5 ms; delay = end of its sleep to running again");
    let results: Vec<(SchedPolicy, f64, u64)> = SchedPolicy::ALL
        .iter()
        .copied()
        .map(|s| {
            let (mean, worst, _) = wake_delays(s, seed, 10_000);
            (s, mean, worst)
        })
        .collect();
    let top = results.iter().map(|r| r.2).max().unwrap_or(1).max(1) as f64;
    let step = [1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0, 500.0]
        .into_iter()
        .find(|step| top * 1.15 / step <= 6.0)
        .unwrap_or(1000.0);
    let y_max = (top * 1.15 / step).ceil() * step;
    let plot = Plot {
        left: 70.0,
        top: 60.0,
        width: 520.0,
        height: 280.0,
        x: Axis::linear(0.0, SchedPolicy::ALL.len() as f64),
        y: Axis::linear(0.0, y_max),
    };
    plot.axes(&mut svg, &[], &ticks(0.0, y_max, step, 0), "", "delay (ms)");
    for (index, (sched, mean, worst)) in results.iter().enumerate() {
        let x = plot.px(index as f64 + 0.5);
        for (offset, value, color) in [(-22.0, *mean, PALETTE[0]), (2.0, *worst as f64, PALETTE[3])] {
            let y = plot.py(value);
            svg.rect(x + offset, y, 20.0, plot.bottom() - y, color).end();
            svg.text((x + offset + 10.0, y - 4.0), 10.0, "middle").text(&format!("{value:.1}"));
        }
        svg.text((x, plot.bottom() + 16.0), 12.0, "middle").text(sched.word());
    }
    box_legend(&mut svg, (plot.left + 20.0, plot.top + 4.0), &[(PALETTE[0], "mean"), (PALETTE[3], "worst")]);
    svg.finish()
}

/// Compensation tickets: a job that uses r ticks of its 10-tick quantum, then
/// blocks briefly (it is runnable again at once), beside two CPU hogs, with equal
/// tickets: its share of the CPU against r, with and without compensation.
fn lottery_compensation(seed: u64) -> String {
    let mut svg = Svg::new(640.0, 420.0);
    svg.text((320.0, 24.0), 15.0, "middle")
        .attr("font-weight", "bold")
        .text("Lottery's compensation tickets (Waldspurger & Weihl 1994)");
    svg.text((320.0, 40.0), 11.0, "middle")
        .text("a job runs r ticks of its 10-tick quantum, then blocks; two CPU hogs; equal tickets; 20 s");
    let plot = Plot {
        left: 70.0,
        top: 55.0,
        width: 520.0,
        height: 300.0,
        x: Axis::linear(1.0, 10.0),
        y: Axis::linear(0.0, 0.5),
    };
    plot.axes(
        &mut svg,
        &ticks(1.0, 10.0, 1.0, 0),
        &ticks(0.0, 0.5, 0.1, 1),
        "ticks r used of each quantum",
        "its share of the CPU",
    );
    let entitled = [plot.at(1.0, 1.0 / 3.0), plot.at(10.0, 1.0 / 3.0)];
    svg.polyline(&entitled, "#000000").attr("stroke-width", 1.5).attr("stroke-dasharray", "2 3").end();
    let mut legend = vec![("#000000", Some("2 3"), "its tickets' share (1/3)")];
    for (index, (compensation, label)) in
        [(true, "compensation on"), (false, "compensation off")].into_iter().enumerate()
    {
        let points: Vec<(f64, f64)> = (1..=10u32)
            .map(|run| {
                let blocker = Job::cpu(3).pattern(Pattern::Interactive { run, sleep: 0 });
                let lottery = Lottery::new(10, seed).with_compensation(compensation);
                let got = shares(Box::new(lottery), &[Job::cpu(1), Job::cpu(2), blocker], 20_000);
                plot.at(f64::from(run), got[2] as f64 / 20_000.0)
            })
            .collect();
        svg.polyline(&points, PALETTE[index]).attr("stroke-width", 2.0).attr("stroke-linejoin", "round").end();
        for &point in &points {
            svg.circle(point, 2.5, PALETTE[index]);
        }
        legend.push((PALETTE[index], None, label));
    }
    line_legend(&mut svg, (plot.left + 200.0, plot.bottom() - 60.0), &legend);
    svg.finish()
}

/// Ticket transfer: a client runs 1 tick, then waits for its server to work 3
/// ticks for it; beside n CPU hogs, all with equal tickets, quantum 1 tick: the
/// requests it completes per second, with and without transfer.
fn lottery_transfer(seed: u64) -> String {
    let mut svg = Svg::new(640.0, 420.0);
    svg.text((320.0, 24.0), 15.0, "middle")
        .attr("font-weight", "bold")
        .text("Lottery's ticket transfer: a client and its server beside n hogs");
    svg.text((320.0, 40.0), 11.0, "middle")
        .text("client: 1 tick, then waits for 3 ticks of the server's work; equal tickets; quantum 1 tick; 20 s");
    let requests = |hogs: u32, transfer: bool| -> f64 {
        let mut jobs: Vec<Job> = (1..=hogs).map(Job::cpu).collect();
        let (server, client) = (100, 101);
        jobs.push(Job::cpu(server));
        jobs.push(Job::cpu(client).pattern(Pattern::Client { run: 1, peer: server, work: 3 }));
        let lottery = Lottery::new(1, seed).with_transfer(transfer);
        let mut sim = Simulation::new(lottery, &jobs);
        sim.run(20_000);
        sim.wake_delays().iter().filter(|&&(task, _)| task == client).count() as f64 / 20.0
    };
    let plot = Plot {
        left: 70.0,
        top: 55.0,
        width: 520.0,
        height: 300.0,
        x: Axis::linear(0.0, 6.0),
        y: Axis::linear(0.0, 250.0),
    };
    plot.axes(
        &mut svg,
        &ticks(0.0, 6.0, 1.0, 0),
        &ticks(0.0, 250.0, 50.0, 0),
        "CPU hogs n",
        "requests completed per second",
    );
    let mut legend = Vec::new();
    for (index, (transfer, label)) in [(true, "transfer on"), (false, "transfer off")].into_iter().enumerate() {
        let points: Vec<(f64, f64)> =
            (0..=6u32).map(|hogs| plot.at(f64::from(hogs), requests(hogs, transfer))).collect();
        svg.polyline(&points, PALETTE[index]).attr("stroke-width", 2.0).attr("stroke-linejoin", "round").end();
        for &point in &points {
            svg.circle(point, 2.5, PALETTE[index]);
        }
        legend.push((PALETTE[index], None, label));
    }
    line_legend(&mut svg, (plot.left + plot.width - 150.0, plot.top + 18.0), &legend);
    svg.finish()
}

/// A latency-sensitive job (1 ms of CPU, then 5 ms of sleep) beside three CPU-bound
/// batch jobs: its mean and worst wake-up delay under fair, and under EEVDF with
/// its request at the default 3 ticks and at 1 tick (sched_setattr's sched_runtime).
fn eevdf_vs_fair(seed: u64) -> String {
    let mut svg = Svg::new(640.0, 400.0);
    svg.text((320.0, 24.0), 15.0, "middle")
        .attr("font-weight", "bold")
        .text("A latency-sensitive job beside three batch jobs (simulated, 10 s)");
    svg.text((320.0, 40.0), 11.0, "middle")
        .text("it runs 1 ms, sleeps 5 ms; delay = end of its sleep to running again; and its share of the CPU");
    let latency = Job::cpu(4).pattern(Pattern::Interactive { run: 1, sleep: 5 });
    let jobs = [Job::cpu(1), Job::cpu(2), Job::cpu(3), latency];
    let run = |mut policy: Box<dyn Scheduler>, request: Option<u32>| {
        if let Some(ticks) = request {
            policy.set_request(4, ticks);
        }
        let mut sim = Simulation::new(policy, &jobs);
        sim.run(10_000);
        let delays: Vec<u64> = sim.wake_delays().iter().map(|&(_, d)| d).collect();
        let mean = delays.iter().sum::<u64>() as f64 / delays.len().max(1) as f64;
        (mean, delays.iter().copied().max().unwrap_or(0) as f64, sim.cpu(4) as f64 / 100.0)
    };
    let results = [
        ("fair", run(policy(SchedPolicy::Fair, 10, seed), None)),
        ("eevdf, request 3", run(Box::new(Eevdf::new(3)), None)),
        ("eevdf, request 1", run(Box::new(Eevdf::new(3)), Some(1))),
    ];
    let plot = Plot {
        left: 70.0,
        top: 60.0,
        width: 520.0,
        height: 280.0,
        x: Axis::linear(0.0, 3.0),
        y: Axis::linear(0.0, 20.0),
    };
    plot.axes(&mut svg, &[], &ticks(0.0, 20.0, 5.0, 0), "", "delay (ms), share (%)");
    for (index, (name, (mean, worst, share))) in results.iter().enumerate() {
        let x = plot.px(index as f64 + 0.5);
        for (offset, value, color) in
            [(-34.0, *mean, PALETTE[0]), (-10.0, *worst, PALETTE[3]), (14.0, *share, PALETTE[2])]
        {
            let y = plot.py(value.min(20.0));
            svg.rect(x + offset, y, 20.0, plot.bottom() - y, color).end();
            svg.text((x + offset + 10.0, y - 4.0), 10.0, "middle").text(&format!("{value:.1}"));
        }
        svg.text((x, plot.bottom() + 16.0), 12.0, "middle").text(name);
    }
    box_legend(
        &mut svg,
        (plot.left + 20.0, plot.top + 4.0),
        &[(PALETTE[0], "mean delay"), (PALETTE[3], "worst delay"), (PALETTE[2], "CPU share %")],
    );
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_figure_is_an_svg_document() {
        for (name, figure) in all(1) {
            assert!(figure.starts_with("<svg ") && figure.ends_with("</svg>\n"), "{name}");
            assert!(!figure.contains("NaN") && !figure.contains("inf"), "{name}: {figure}");
        }
    }
}
