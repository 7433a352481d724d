//! The multiprocessor figure: `SmpSimulation` (the kernel's placement and pulls
//! over one policy per CPU) running more tasks than CPUs, some arriving late, some
//! sleeping, drawn as one lane per CPU with each tick in the colour of the task
//! that ran, and a mark where a task moved to another CPU's queue.

use std::fmt::Write as _;

use kernel_core::cmdline::SchedPolicy;
use kernel_core::sched::balance::BALANCE_TICKS;
use kernel_core::sched::sim::{Job, Pattern};
use kernel_core::sched::smp_sim::SmpSimulation;
use kernel_core::sched::TaskId;

use super::plot::{box_legend, PALETTE};
use super::policy;
use crate::svg::Svg;

/// Ticks (ms) the figure covers.
const TICKS: u64 = 300;

/// The workload: a CPU hog and a 90 ms job from the start, an interactive task
/// (3 ms of CPU, 7 ms of sleep), a hog arriving at 40 ms, a 60 ms job arriving at
/// 120 ms, and a second interactive task (2 ms of CPU, 12 ms of sleep) from 150 ms:
/// more tasks than two CPUs, some leaving, some sleeping.
fn workload() -> Vec<Job> {
    vec![
        Job::cpu(1),
        Job::cpu(2).work(90),
        Job::cpu(3).pattern(Pattern::Interactive { run: 3, sleep: 7 }),
        Job::cpu(4).arriving(40),
        Job::cpu(5).arriving(120).work(60),
        Job::cpu(6).arriving(150).pattern(Pattern::Interactive { run: 2, sleep: 12 }),
    ]
}

fn describe(job: &Job) -> String {
    let kind = match job.pattern {
        Pattern::Interactive { run, sleep } => format!("{run} ms run / {sleep} ms sleep"),
        _ => match job.work {
            Some(work) => format!("{work} ms of work"),
            None => "CPU hog".to_string(),
        },
    };
    match job.arrival {
        0 => format!("task {}: {kind}", job.id),
        at => format!("task {}: {kind}, from {at} ms", job.id),
    }
}

/// The simulation behind the figure, run for `TICKS` ticks: it, and what each CPU ran
/// at each tick.
pub fn simulate(cpus: usize) -> (SmpSimulation, Vec<Vec<Option<TaskId>>>) {
    let mut sim = SmpSimulation::new(cpus, || policy(SchedPolicy::RoundRobin, 10, 1), &workload());
    let lanes = sim.run(TICKS);
    (sim, lanes)
}

/// The figure for `cpus` CPUs (smp-balance.svg).
pub fn figure(cpus: usize) -> String {
    let (sim, lanes) = simulate(cpus);
    let jobs = workload();
    let colour = |task: TaskId| PALETTE[(task as usize - 1) % PALETTE.len()];
    let (left, width, lane_height) = (90.0, 640.0, 34.0);
    let top = 70.0;
    let height = top + lane_height * cpus as f64 + 130.0;
    let mut svg = Svg::new(760.0, height);
    svg.text((380.0, 22.0), 15.0, "middle").attr("font-weight", "bold").text(&format!(
        "{} tasks on {cpus} CPUs: the kernel's placement and pulls (round robin, 10 ms quantum)",
        jobs.len()
    ));
    svg.text((380.0, 40.0), 11.0, "middle").text(&format!(
        "a runnable task goes to its last CPU if idle, else an idle one, else the least loaded; an idle CPU pulls at \
         once, a busy one every {BALANCE_TICKS} ms"
    ));
    let x_of = |tick: u64| left + tick as f64 / TICKS as f64 * width;
    for cpu in 0..cpus {
        let y = top + lane_height * cpu as f64;
        let busy = lanes.iter().filter(|ran| ran[cpu].is_some()).count();
        svg.text((left - 8.0, y + lane_height / 2.0 + 4.0), 12.0, "end").text(&format!("CPU {cpu}"));
        svg.element("g").attr("class", "cpu-lane").attr("data-cpu", cpu).attr("data-busy-ticks", busy).open();
        svg.rect(left, y + 4.0, width, lane_height - 8.0, "#eeeeee").end();
        // Runs of ticks with one task become one rectangle.
        let mut tick = 0;
        while tick < lanes.len() {
            let task = lanes[tick][cpu];
            let end = (tick..lanes.len()).find(|&at| lanes[at][cpu] != task).unwrap_or(lanes.len());
            if let Some(task) = task {
                let (from, to) = (tick as u64, end as u64);
                svg.rect(x_of(from), y + 4.0, x_of(to) - x_of(from), lane_height - 8.0, colour(task))
                    .attr("class", "running")
                    .attr("data-task", task)
                    .tooltip(&format!("task {task} on CPU {cpu}, {from} – {to} ms"));
            }
            tick = end;
        }
        svg.close("g");
    }
    for change in sim.moves().iter().filter(|change| change.tick < TICKS) {
        let x = x_of(change.tick);
        let y = top + lane_height * change.to as f64 + 2.0;
        let points = format!("{:.2},{:.2} {:.2},{:.2} {:.2},{:.2}", x - 4.0, y - 2.0, x + 4.0, y - 2.0, x, y + 6.0);
        svg.element("polygon").attr("points", points).attr("fill", "#222").attr("class", "move").tooltip(&format!(
            "task {} moved from CPU {} to CPU {} at {} ms",
            change.task, change.from, change.to, change.tick
        ));
    }
    let axis_y = top + lane_height * cpus as f64 + 4.0;
    for ms in (0..=TICKS).step_by(50) {
        svg.line((x_of(ms), axis_y), (x_of(ms), axis_y + 4.0), "#444").end();
        svg.text((x_of(ms), axis_y + 16.0), 11.0, "middle").text(&format!("{ms}"));
    }
    svg.text((left + width / 2.0, axis_y + 30.0), 11.0, "middle")
        .text("time (ms); ▼ a task moved to this CPU's queue (placed on a wake, or pulled)");
    let labels: Vec<String> = jobs.iter().map(describe).collect();
    let entries: Vec<(&str, &str)> =
        jobs.iter().zip(&labels).map(|(job, label)| (colour(job.id), label.as_str())).collect();
    for (row, pair) in entries.chunks(2).enumerate() {
        box_legend(&mut svg, (left, axis_y + 52.0 + 18.0 * row as f64), pair);
    }
    svg.finish()
}

/// The figure's numbers, as text: each CPU's busy ticks, the moves, and the
/// longest a CPU idled while a task waited elsewhere.
pub fn table(cpus: usize) -> String {
    let (sim, lanes) = simulate(cpus);
    let mut out = String::new();
    let _ = writeln!(out, "Simulated {TICKS} ms on {cpus} CPUs (smp-balance.svg):");
    for cpu in 0..cpus {
        let busy = lanes.iter().filter(|ran| ran[cpu].is_some()).count();
        let _ = writeln!(out, "  CPU {cpu}: busy {busy} ms, idle {} ms", TICKS as usize - busy);
    }
    let _ = writeln!(
        out,
        "  {} moves between CPUs; longest a CPU idled while a task waited elsewhere: {} ms (at most {BALANCE_TICKS})",
        sim.moves().len(),
        sim.longest_starvation()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figure_has_a_lane_per_cpu_and_the_balancer_keeps_its_promise() {
        for cpus in [2, 3] {
            let text = figure(cpus);
            let document = roxmltree::Document::parse(&text).expect("well-formed XML");
            let lanes: Vec<_> =
                document.descendants().filter(|node| node.attribute("class") == Some("cpu-lane")).collect();
            assert_eq!(lanes.len(), cpus);
            for lane in &lanes {
                let busy: u64 = lane.attribute("data-busy-ticks").unwrap().parse().unwrap();
                assert!(busy > TICKS / 2, "every CPU works: {busy} of {TICKS}");
            }
            assert!(text.contains(r#"class="move""#), "tasks move between CPUs");
            let (sim, _) = simulate(cpus);
            assert!(sim.longest_starvation() <= u64::from(BALANCE_TICKS), "{}", sim.longest_starvation());
        }
        assert!(table(2).contains("CPU 1: busy"));
    }
}
