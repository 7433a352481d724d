//! Fair share by virtual runtime, in the manner of Linux's CFS (and EEVDF's lag
//! placement). Each task's virtual runtime grows by `2^30 / weight` per tick it runs
//! (its weight from the nice value), so a task of weight 2w ages half as fast as one
//! of weight w and gets twice the CPU. The task with the smallest virtual runtime
//! runs next.
//!
//! - Slices: with total runnable weight W, a task of weight w is due
//!   `latency · w / W` ticks per turn, but never less than the minimum granularity,
//!   so a crowded queue does not switch at every tick. A task is preempted when its
//!   slice is over, or when, past the minimum granularity, it is ahead of the
//!   leftmost queued task by more than a slice.
//! - `min_vruntime` is the smallest virtual runtime among the runnable tasks and
//!   never decreases; it is where newcomers and sleepers are placed.
//! - New task: placed at `min_vruntime` (it starts even, owing nothing).
//! - Woken task: placed at `max(its own, min_vruntime - latency/2)`: a sleeper
//!   gets a bounded credit (half a latency period) so it runs soon after waking,
//!   but cannot bank its sleep and then hog the CPU. If it is then behind the
//!   running task by more than the wakeup granularity, it preempts it at the next tick.
//! - sched_yield: virtual runtime unchanged; the next pick passes over the yielder
//!   if another task is queued (CFS's skip buddy).
//!
//! Pick, enqueue and tick are O(log n): the queue is a B-tree ordered by
//! (virtual runtime, task).

use alloc::collections::{BTreeMap, BTreeSet};

use alloc::format;
use alloc::string::String;

use super::{queue_line, virtual_tick, weight, Arrival, Scheduler, TaskId, VIRTUAL_TICK};

/// The knobs, in ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FairConfig {
    /// The period in which every runnable task should run once (CFS's
    /// sched_latency); also twice the sleeper credit.
    pub latency_ticks: u32,
    /// The least a task runs before the tick may preempt it for fairness.
    pub min_granularity_ticks: u32,
    /// How far (in nice-0 ticks of virtual runtime) a woken task must be behind the
    /// running one to preempt it.
    pub wakeup_granularity_ticks: u32,
}

impl FairConfig {
    /// The defaults derived from a latency target: a minimum granularity of a
    /// quarter of it (at least one tick), and a wakeup granularity of one tick.
    pub fn with_latency(latency_ticks: u32) -> FairConfig {
        let latency_ticks = latency_ticks.max(1);
        FairConfig { latency_ticks, min_granularity_ticks: (latency_ticks / 4).max(1), wakeup_granularity_ticks: 1 }
    }
}

#[derive(Clone, Copy)]
struct Task {
    vruntime: u64,
    weight: u32,
    /// Ticks run since it was last picked.
    ran: u32,
    queued: bool,
}

pub struct Fair {
    config: FairConfig,
    tasks: BTreeMap<TaskId, Task>,
    queue: BTreeSet<(u64, TaskId)>,
    /// Weight of the queued tasks.
    queued_weight: u64,
    min_vruntime: u64,
    skip: Option<TaskId>,
    /// A task was woken (or created) since the last tick.
    wakeup_pending: bool,
}

impl Fair {
    pub fn new(config: FairConfig) -> Fair {
        Fair {
            config,
            tasks: BTreeMap::new(),
            queue: BTreeSet::new(),
            queued_weight: 0,
            min_vruntime: 0,
            skip: None,
            wakeup_pending: false,
        }
    }

    /// The virtual runtime of `task` (for tests and the simulator).
    pub fn vruntime(&self, task: TaskId) -> Option<u64> {
        self.tasks.get(&task).map(|t| t.vruntime)
    }

    pub fn min_vruntime(&self) -> u64 {
        self.min_vruntime
    }

    /// The ticks a task of `weight` is due per turn when the runnable tasks
    /// weigh `total_weight` (itself included): its share of the latency, at least
    /// the minimum granularity.
    fn slice(&self, weight: u32, total_weight: u64) -> u64 {
        (u64::from(self.config.latency_ticks) * u64::from(weight) / total_weight.max(1))
            .max(u64::from(self.config.min_granularity_ticks))
            .max(1)
    }

    fn new_task(&self) -> Task {
        Task { vruntime: self.min_vruntime, weight: weight(0), ran: 0, queued: false }
    }

    /// Raises `min_vruntime` to the smallest of `running` and the leftmost queued
    /// virtual runtime, if that is larger.
    fn update_min_vruntime(&mut self, running: Option<u64>) {
        let leftmost = self.queue.first().map(|&(v, _)| v);
        let smallest = match (running, leftmost) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return,
        };
        self.min_vruntime = self.min_vruntime.max(smallest);
    }

    fn ticks_to_virtual(ticks: u32) -> u64 {
        u64::from(ticks) * VIRTUAL_TICK
    }
}

impl Scheduler for Fair {
    fn enqueue(&mut self, task: TaskId, arrival: Arrival) {
        let fresh = self.new_task();
        let mut state = *self.tasks.entry(task).or_insert(fresh);
        if state.queued {
            self.queue.remove(&(state.vruntime, task));
            self.queued_weight = self.queued_weight.saturating_sub(u64::from(state.weight));
        }
        match arrival {
            Arrival::New => {
                state.vruntime = state.vruntime.max(self.min_vruntime);
                self.wakeup_pending = true;
            }
            Arrival::Woken => {
                let credit = Self::ticks_to_virtual(self.config.latency_ticks) / 2;
                state.vruntime = state.vruntime.max(self.min_vruntime.saturating_sub(credit));
                self.wakeup_pending = true;
            }
            Arrival::Preempted => {}
            Arrival::Yielded => self.skip = Some(task),
        }
        state.queued = true;
        self.tasks.insert(task, state);
        self.queue.insert((state.vruntime, task));
        self.queued_weight += u64::from(state.weight);
    }

    fn pick_next(&mut self) -> Option<TaskId> {
        let mut leftmost = self.queue.iter().take(2);
        let first = leftmost.next().copied();
        let second = leftmost.next().copied();
        let (vruntime, task) = match (first, second) {
            (Some(first), Some(second)) if Some(first.1) == self.skip => second,
            (Some(first), _) => first,
            (None, _) => return None,
        };
        self.skip = None;
        self.queue.remove(&(vruntime, task));
        if let Some(state) = self.tasks.get_mut(&task) {
            state.queued = false;
            state.ran = 0;
            self.queued_weight = self.queued_weight.saturating_sub(u64::from(state.weight));
        }
        self.update_min_vruntime(Some(vruntime));
        Some(task)
    }

    fn tick(&mut self, task: TaskId) -> bool {
        let Some(state) = self.tasks.get_mut(&task).filter(|state| !state.queued) else { return false };
        state.vruntime = state.vruntime.saturating_add(virtual_tick(state.weight));
        state.ran = state.ran.saturating_add(1);
        let current = *state;
        self.update_min_vruntime(Some(current.vruntime));
        let woken = core::mem::take(&mut self.wakeup_pending);
        let Some(&(leftmost, _)) = self.queue.first() else { return false };
        let config = self.config;
        let slice = self.slice(current.weight, self.queued_weight + u64::from(current.weight));
        if u64::from(current.ran) >= slice {
            return true;
        }
        if woken && leftmost.saturating_add(Self::ticks_to_virtual(config.wakeup_granularity_ticks)) < current.vruntime
        {
            return true;
        }
        current.ran >= config.min_granularity_ticks
            && current.vruntime.saturating_sub(leftmost) > slice.saturating_mul(VIRTUAL_TICK)
    }

    /// Alone, a task is never preempted (`tick` compares it with the leftmost
    /// queued task only).
    fn ticks_before_expiry(&self, task: TaskId) -> u32 {
        match self.tasks.get(&task) {
            Some(state) if !state.queued && self.queue.is_empty() => u32::MAX,
            _ => 1,
        }
    }

    fn remove(&mut self, task: TaskId) {
        if let Some(state) = self.tasks.remove(&task) {
            if state.queued {
                self.queue.remove(&(state.vruntime, task));
                self.queued_weight = self.queued_weight.saturating_sub(u64::from(state.weight));
            }
        }
        if self.skip == Some(task) {
            self.skip = None;
        }
    }

    fn migration_candidate(&self) -> Option<TaskId> {
        self.queue.last().map(|&(_, task)| task)
    }

    fn queued(&self) -> usize {
        self.queue.len()
    }

    fn set_nice(&mut self, task: TaskId, nice: i8) {
        let fresh = self.new_task();
        let state = self.tasks.entry(task).or_insert(fresh);
        let new_weight = weight(nice);
        if state.queued {
            self.queued_weight = self.queued_weight.saturating_sub(u64::from(state.weight)) + u64::from(new_weight);
        }
        state.weight = new_weight;
    }

    /// Its virtual runtime (the lowest runs next), weight and slice.
    fn describe(&self, task: TaskId) -> String {
        let Some(state) = self.tasks.get(&task) else { return String::from("policy: fair\nunknown to the policy\n") };
        let others = if state.queued { 0 } else { u64::from(state.weight) };
        format!(
            "policy: fair\nvruntime: {}\nmin vruntime: {}\nweight: {}\nslice: {} ticks\nran: {} ticks\nqueued: {}\n",
            state.vruntime,
            self.min_vruntime,
            state.weight,
            self.slice(state.weight, self.queued_weight + others),
            state.ran,
            if state.queued { "yes" } else { "no" },
        )
    }

    fn describe_policy(&self) -> String {
        let queue = queue_line(self.queue.iter().map(|&(vruntime, task)| (task, Some(vruntime))));
        format!(
            "policy: fair\nlatency: {} ticks\nminimum granularity: {} ticks\nmin vruntime: {}\nqueue (vruntime): {queue}\n",
            self.config.latency_ticks, self.config.min_granularity_ticks, self.min_vruntime
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::sim::checks::{hostile_calls, shares};
    use crate::sched::sim::{Job, Pattern, Simulation};
    use std::vec::Vec;

    #[test]
    fn a_task_is_described_by_its_vruntime_weight_and_slice() {
        let mut policy = Fair::new(FairConfig::with_latency(8));
        policy.set_nice(1, -5);
        policy.enqueue(1, Arrival::New);
        policy.enqueue(2, Arrival::New);
        let heavy = weight(-5);
        // Its share of 8 ticks of latency against a nice-0 task.
        let slice = 8 * u64::from(heavy) / (u64::from(heavy) + 1024);
        assert_eq!(
            policy.describe(1),
            format!("policy: fair\nvruntime: 0\nmin vruntime: 0\nweight: {heavy}\nslice: {slice} ticks\nran: 0 ticks\nqueued: yes\n")
        );
        assert_eq!(policy.pick_next(), Some(1));
        policy.tick(1);
        let after = virtual_tick(heavy);
        assert!(policy.describe(1).starts_with(&format!("policy: fair\nvruntime: {after}\n")));
        assert!(policy.describe(1).ends_with(&format!("slice: {slice} ticks\nran: 1 ticks\nqueued: no\n")));
        assert_eq!(
            policy.describe_policy(),
            "policy: fair\nlatency: 8 ticks\nminimum granularity: 2 ticks\nmin vruntime: 0\nqueue (vruntime): 2(0)\n"
        );
    }

    fn fair() -> Fair {
        Fair::new(FairConfig::with_latency(10))
    }

    #[test]
    fn nice_0_against_nice_5_is_about_three_to_one() {
        let mut sim = Simulation::new(fair(), &[Job::cpu(1), Job::cpu(2).nice(5)]);
        let got = shares(&sim.run(10_000), &[1, 2]);
        let ratio = got[0] as f64 / got[1] as f64;
        assert!((ratio - 1024.0 / 335.0).abs() < 0.05, "{got:?} {ratio}");
    }

    #[test]
    fn shares_follow_weights_for_many_nice_values() {
        let nices = [-10i8, -3, 0, 0, 4, 12, 19];
        let jobs: Vec<Job> = nices.iter().enumerate().map(|(i, &n)| Job::cpu(i as TaskId + 1).nice(n)).collect();
        let mut sim = Simulation::new(fair(), &jobs);
        let ticks = 200_000;
        let got = shares(&sim.run(ticks), &(1..=nices.len() as TaskId).collect::<Vec<_>>());
        let total: u64 = nices.iter().map(|&n| u64::from(weight(n))).sum();
        for (share, &nice) in got.iter().zip(&nices) {
            let ideal = ticks as f64 * f64::from(weight(nice)) / total as f64;
            assert!(
                (*share as f64 - ideal).abs() <= ideal * 0.02 + 12.0,
                "nice {nice}: {share} vs {ideal:.0}: {got:?}"
            );
        }
    }

    #[test]
    fn it_does_not_switch_at_every_tick() {
        let mut sim = Simulation::new(fair(), &[Job::cpu(1), Job::cpu(2), Job::cpu(3)]);
        let timeline = sim.run(3000);
        let switches = timeline.windows(2).filter(|w| w[0] != w[1]).count();
        // Slices of 10/3 -> 3 ticks: about 1000 switches, not 3000.
        assert!(switches <= 1100, "{switches} switches");
        let got = shares(&timeline, &[1, 2, 3]);
        assert!(got.iter().all(|&share| share.abs_diff(1000) <= 3), "{got:?}");
    }

    #[test]
    fn virtual_runtime_and_min_vruntime_never_decrease() {
        let jobs = [
            Job::cpu(1),
            Job::cpu(2).nice(5),
            Job::cpu(3).pattern(Pattern::Interactive { run: 1, sleep: 7 }),
            Job::cpu(4).nice(-5).arriving(300).pattern(Pattern::Interactive { run: 4, sleep: 30 }),
            Job::cpu(5).arriving(500).work(200),
            Job::cpu(6).nice(10).pattern(Pattern::Yielder { run: 2 }),
        ];
        let mut sim = Simulation::new(fair(), &jobs);
        let mut last = [0u64; 7];
        let mut last_min = 0;
        for _ in 0..5000 {
            sim.step();
            assert!(sim.policy.min_vruntime() >= last_min);
            last_min = sim.policy.min_vruntime();
            for id in 1..=6u32 {
                if let Some(v) = sim.policy.vruntime(id) {
                    assert!(v >= last[id as usize], "task {id}'s vruntime went back");
                    last[id as usize] = v;
                }
            }
        }
    }

    #[test]
    fn a_sleeper_is_woken_within_a_tick_and_gets_only_a_bounded_credit() {
        let jobs = [Job::cpu(1), Job::cpu(2), Job::cpu(3).pattern(Pattern::Interactive { run: 1, sleep: 5 })];
        let mut sim = Simulation::new(fair(), &jobs);
        sim.run(2000);
        assert!(sim.wake_delays().iter().all(|&(_, delay)| delay <= 1), "{:?}", sim.wake_delays());
        // A long sleeper comes back with at most latency/2 of credit.
        let mut policy = fair();
        policy.enqueue(1, Arrival::New);
        policy.enqueue(2, Arrival::New);
        assert_eq!(policy.pick_next(), Some(1));
        policy.tick(1);
        // 2 runs, then blocks for a long time while 1 runs on.
        policy.enqueue(1, Arrival::Preempted);
        assert_eq!(policy.pick_next(), Some(2));
        assert_eq!(policy.pick_next(), Some(1));
        for _ in 0..10_000 {
            policy.tick(1);
        }
        policy.enqueue(2, Arrival::Woken);
        let lead = policy.vruntime(1).unwrap() - policy.vruntime(2).unwrap();
        assert_eq!(lead, 5 * VIRTUAL_TICK);
        // So it runs at once, but only for about that credit plus a slice.
        assert!(policy.tick(1), "the sleeper preempts");
        policy.enqueue(1, Arrival::Preempted);
        assert_eq!(policy.pick_next(), Some(2));
        let mut ran = 0;
        while !policy.tick(2) {
            ran += 1;
        }
        assert!(ran <= 10, "{ran}");
    }

    #[test]
    fn a_newcomer_starts_at_min_vruntime() {
        let mut sim = Simulation::new(fair(), &[Job::cpu(1), Job::cpu(2).arriving(1000)]);
        let timeline = sim.run(1100);
        // Without placement, 2 (vruntime 0) would run 1000 ticks in a row.
        let got = shares(&timeline[1000..], &[1, 2]);
        assert!(got[0].abs_diff(got[1]) <= 6, "{got:?}");
    }

    #[test]
    fn a_yielder_lets_the_other_run() {
        let mut policy = fair();
        policy.enqueue(1, Arrival::New);
        policy.enqueue(2, Arrival::New);
        assert_eq!(policy.pick_next(), Some(1));
        policy.enqueue(1, Arrival::Yielded);
        assert_eq!(policy.pick_next(), Some(2));
    }

    #[test]
    fn hostile_call_sequences_never_panic() {
        for seed in 1..=5 {
            hostile_calls(&mut fair(), seed);
            hostile_calls(
                &mut Fair::new(FairConfig { latency_ticks: 0, min_granularity_ticks: 0, wakeup_granularity_ticks: 0 }),
                seed,
            );
        }
    }
}
