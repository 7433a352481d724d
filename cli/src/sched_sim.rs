//! `timeshare sched-sim`: the kernel's scheduling policies (the very code in
//! kernel-core/src/sched) driven over synthetic workloads on a simulated CPU with a
//! 1 ms tick, drawing the textbook's figures as SVG (OSTEP ch. 8 and 9) and printing
//! the numbers the kernel's own runs are compared with (docs/scheduling.md).
//!
//! With `--bench`, it also times `pick_next` and `tick` of each policy with many
//! runnable tasks (build with `--release` for meaningful numbers).
//!
//! With `--cpus N`, the multiprocessor figure (smp-balance.svg, `balance`) shows N
//! CPUs sharing more tasks than CPUs with the kernel's own placement and pulls.
//!
//! This file holds the command, the tables and the timing; `figures` draws the figures
//! with `plot`'s axes and legends.

mod balance;
mod figures;
mod plot;

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use kernel_core::cmdline::{KernelOptions, SchedPolicy};
use kernel_core::sched::sim::{Job, Pattern, Simulation};
use kernel_core::sched::{self, Arrival, Scheduler, TaskId};

#[derive(Args, Debug)]
pub struct SimArgs {
    /// Directory to write the SVG figures to (created if missing)
    #[arg(long, value_name = "DIR", default_value = "sched-figures")]
    out: PathBuf,
    /// Seed of the lottery draws (trial i of a figure uses SEED + i)
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// Instead of the figures, time pick_next (with enqueue) and tick of every policy
    /// with TASKS runnable tasks (default 1000); build with --release
    #[arg(long, value_name = "TASKS", num_args = 0..=1, default_missing_value = "1000")]
    bench: Option<usize>,
    /// CPUs of the multiprocessor figure (smp-balance.svg): each with its own run
    /// queue, sharing the work with the kernel's placement and pulls
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = crate::args::cpus_parser())]
    cpus: u32,
}

/// A policy as the kernel builds it from its command line (the defaults: 10 ms
/// quantum, MLFQ 10/20/40 ms with a 100 ms boost), with a 1 kHz tick.
fn policy(sched: SchedPolicy, quantum_ms: u32, seed: u64) -> Box<dyn Scheduler> {
    let options = KernelOptions { sched, quantum_ms, seed, ..KernelOptions::default() };
    sched::from_options(&options, 1000)
}

pub fn run(args: SimArgs) -> Result<u8, String> {
    if let Some(tasks) = args.bench {
        bench(tasks.max(1));
        return Ok(0);
    }
    fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let cpus = args.cpus as usize;
    let smp = ("smp-balance.svg", balance::figure(cpus));
    for (name, contents) in figures::all(args.seed).iter().chain(std::iter::once(&smp)) {
        let path = args.out.join(name);
        fs::write(&path, contents).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    println!();
    print!("{}", tables(args.seed));
    println!();
    print!("{}", balance::table(cpus));
    Ok(0)
}

/// CPU ticks of each job after `ticks` ticks of `jobs` under `policy`.
fn shares(policy: Box<dyn Scheduler>, jobs: &[Job], ticks: u64) -> Vec<u64> {
    let mut sim = Simulation::new(policy, jobs);
    sim.run(ticks);
    jobs.iter().map(|job| sim.cpu(job.id)).collect()
}

/// The simulated counterparts of the kernel experiments (user/c/nicehogs.c and
/// user/c/wakeup.c, 1000 ms each), as a text table.
fn tables(seed: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Simulated 1000 ms runs (the kernel's defaults; compare `timeshare run --icount --sched P nicehogs 1000 0 5` etc.):");
    let _ = writeln!(
        out,
        "{:<8} {:>16} {:>8} {:>18} {:>14} {:>10} {:>10}",
        "policy", "nice 0/5 cpu ms", "ratio", "3 equal cpu ms", "max/min", "wake mean", "wake worst"
    );
    for &sched in SchedPolicy::ALL {
        let pair = shares(policy(sched, 10, seed), &[Job::cpu(1), Job::cpu(2).nice(5)], 1000);
        let three = shares(policy(sched, 10, seed), &[Job::cpu(1), Job::cpu(2), Job::cpu(3)], 1000);
        let (mean, worst, _) = wake_delays(sched, seed, 1000);
        let max = *three.iter().max().unwrap_or(&0) as f64;
        let min = *three.iter().min().unwrap_or(&1) as f64;
        let _ = writeln!(
            out,
            "{:<8} {:>16} {:>8.2} {:>18} {:>14.2} {:>8.2}ms {:>8}ms",
            sched.word(),
            format!("{} {}", pair[0], pair[1]),
            pair[0] as f64 / pair[1].max(1) as f64,
            format!("{} {} {}", three[0], three[1], three[2]),
            max / min.max(1.0),
            mean,
            worst
        );
    }
    let _ = writeln!(out, "(wake delays: ticks from the end of a 5 ms sleep to running, beside two CPU hogs; the sleeper runs 1 ms per wake-up)");
    out
}

/// (mean, worst, count) of the wake-up delays of an interactive job (1 ms of CPU,
/// then 5 ms of sleep) beside two CPU hogs.
fn wake_delays(sched: SchedPolicy, seed: u64, ticks: u64) -> (f64, u64, usize) {
    let jobs = [Job::cpu(1), Job::cpu(2), Job::cpu(3).pattern(Pattern::Interactive { run: 1, sleep: 5 })];
    let mut sim = Simulation::new(policy(sched, 10, seed), &jobs);
    sim.run(ticks);
    let delays: Vec<u64> = sim.wake_delays().iter().map(|&(_, d)| d).collect();
    let mean = delays.iter().sum::<u64>() as f64 / delays.len().max(1) as f64;
    (mean, delays.iter().copied().max().unwrap_or(0), delays.len())
}

/// Times each policy with `tasks` runnable tasks: a switch (pick_next of the next
/// task, enqueue of the previous one as preempted) and a tick of the running task;
/// switches both with nice values spread over -20..19 and with every task at nice 0
/// (lottery's walk is longest then: the winner is anywhere in the queue).
fn bench(tasks: usize) {
    if cfg!(debug_assertions) {
        println!("(a debug build: run `cargo run --release -- sched-sim --bench` for real numbers)");
    }
    println!("{tasks} runnable tasks, ns per operation:");
    println!("{:<8} {:>22} {:>22} {:>8}", "policy", "pick+enqueue (spread)", "pick+enqueue (nice 0)", "tick");
    for &sched in SchedPolicy::ALL {
        let (spread, tick) = time_policy(sched, tasks, true);
        let (flat, _) = time_policy(sched, tasks, false);
        println!("{:<8} {:>22.0} {:>22.0} {:>8.1}", sched.word(), spread, flat, tick);
    }
}

/// (ns per switch, ns per tick) of `sched` with `tasks` runnable tasks.
fn time_policy(sched: SchedPolicy, tasks: usize, spread: bool) -> (f64, f64) {
    let mut policy = policy(sched, 10, 1);
    for task in 0..tasks as TaskId {
        if spread {
            policy.set_nice(task, (task % 40) as i8 - 20);
        }
        policy.enqueue(task, Arrival::New);
    }
    let mut running = policy.pick_next().unwrap_or(0);
    for _ in 0..1000 {
        policy.enqueue(running, Arrival::Preempted);
        running = policy.pick_next().unwrap_or(running);
    }
    const SWITCHES: u32 = 200_000;
    let start = Instant::now();
    for _ in 0..SWITCHES {
        policy.tick(running);
        policy.enqueue(running, Arrival::Preempted);
        running = policy.pick_next().unwrap_or(running);
    }
    let switch_and_tick = start.elapsed().as_nanos() as f64 / f64::from(SWITCHES);
    const TICKS: u32 = 2_000_000;
    let start = Instant::now();
    let mut expired = 0u32;
    for _ in 0..TICKS {
        expired += u32::from(policy.tick(std::hint::black_box(running)));
    }
    let tick = start.elapsed().as_nanos() as f64 / f64::from(TICKS);
    std::hint::black_box(expired);
    ((switch_and_tick - tick).max(0.0), tick)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_show_every_policy() {
        let text = tables(1);
        for &sched in SchedPolicy::ALL {
            assert!(text.lines().any(|line| line.starts_with(sched.word())), "{text}");
        }
    }
}
