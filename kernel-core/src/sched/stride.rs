//! Stride scheduling (Waldspurger 1995; OSTEP ch. 9): deterministic proportional
//! share. Each task has tickets (its nice value's weight) and a stride inversely
//! proportional to them; its pass grows by its stride for every tick it runs, and
//! the task with the lowest pass runs next, for one quantum. Over any interval
//! every task's CPU time tracks its share to within one quantum.
//!
//! - New task: its pass starts at the global pass (the lowest pass of the runnable
//!   tasks, never decreasing), so it neither owes nor is owed anything.
//! - Woken task: its pass is raised to the global pass if it fell behind: sleeping
//!   earns no credit (it would otherwise monopolize the CPU after a long sleep).
//! - sched_yield: the pass is unchanged (the ticks it ran are already paid for), and
//!   the next pick passes over the yielder if any other task is queued.
//!
//! Pick, enqueue and tick are O(log n): the queue is ordered by (pass, task).

use alloc::collections::{BTreeMap, BTreeSet};

use alloc::format;
use alloc::string::String;

use super::{queue_line, virtual_tick, weight, Arrival, Scheduler, TaskId};

#[derive(Clone, Copy)]
struct Task {
    pass: u64,
    stride: u64,
    /// Ticks of the current quantum used.
    used: u32,
    queued: bool,
}

impl Task {
    fn new(pass: u64) -> Task {
        Task { pass, stride: virtual_tick(weight(0)), used: 0, queued: false }
    }
}

pub struct Stride {
    quantum_ticks: u32,
    tasks: BTreeMap<TaskId, Task>,
    queue: BTreeSet<(u64, TaskId)>,
    /// The lowest pass of the runnable tasks, never decreasing.
    global_pass: u64,
    /// The task that yielded: passed over at the next pick if possible.
    skip: Option<TaskId>,
}

impl Stride {
    /// A stride policy running each pick for `quantum_ticks` ticks (at least 1).
    pub fn new(quantum_ticks: u32) -> Stride {
        Stride {
            quantum_ticks: quantum_ticks.max(1),
            tasks: BTreeMap::new(),
            queue: BTreeSet::new(),
            global_pass: 0,
            skip: None,
        }
    }

    /// The pass of `task` (for tests and the simulator).
    pub fn pass(&self, task: TaskId) -> Option<u64> {
        self.tasks.get(&task).map(|t| t.pass)
    }

    fn advance_global(&mut self, candidate: u64) {
        let lowest_queued = self.queue.first().map_or(u64::MAX, |&(pass, _)| pass);
        self.global_pass = self.global_pass.max(candidate.min(lowest_queued));
    }
}

impl Scheduler for Stride {
    fn enqueue(&mut self, task: TaskId, arrival: Arrival) {
        let global = self.global_pass;
        let state = self.tasks.entry(task).or_insert_with(|| Task::new(global));
        if state.queued {
            self.queue.remove(&(state.pass, task));
        }
        match arrival {
            Arrival::New | Arrival::Woken => state.pass = state.pass.max(global),
            Arrival::Preempted => {}
            Arrival::Yielded => self.skip = Some(task),
        }
        state.queued = true;
        self.queue.insert((state.pass, task));
    }

    fn pick_next(&mut self) -> Option<TaskId> {
        let mut candidates = self.queue.iter().take(2);
        let first = candidates.next().copied();
        let second = candidates.next().copied();
        let (pass, task) = match (first, second) {
            (Some(first), Some(second)) if Some(first.1) == self.skip => second,
            (Some(first), _) => first,
            (None, _) => return None,
        };
        self.skip = None;
        self.queue.remove(&(pass, task));
        if let Some(state) = self.tasks.get_mut(&task) {
            state.queued = false;
            state.used = 0;
        }
        self.advance_global(pass);
        Some(task)
    }

    fn tick(&mut self, task: TaskId) -> bool {
        let global = self.global_pass;
        let state = self.tasks.entry(task).or_insert_with(|| Task::new(global));
        if state.queued {
            // Not running: nothing to charge.
            return false;
        }
        state.pass = state.pass.saturating_add(state.stride);
        state.used = state.used.saturating_add(1);
        let (pass, expired) = (state.pass, state.used >= self.quantum_ticks);
        self.advance_global(pass);
        expired
    }

    fn ticks_before_expiry(&self, task: TaskId) -> u32 {
        match self.tasks.get(&task) {
            Some(state) if !state.queued => self.quantum_ticks.saturating_sub(state.used).max(1),
            _ => 1,
        }
    }

    fn remove(&mut self, task: TaskId) {
        if let Some(state) = self.tasks.remove(&task) {
            if state.queued {
                self.queue.remove(&(state.pass, task));
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
        let global = self.global_pass;
        let state = self.tasks.entry(task).or_insert_with(|| Task::new(global));
        state.stride = virtual_tick(weight(nice));
    }

    /// Its pass (the lowest runs next) and stride (what a tick adds to it).
    fn describe(&self, task: TaskId) -> String {
        let Some(state) = self.tasks.get(&task) else { return String::from("policy: stride\nunknown to the policy\n") };
        format!(
            "policy: stride\npass: {}\nstride: {}\nglobal pass: {}\nquantum used: {} of {} ticks\nqueued: {}\n",
            state.pass,
            state.stride,
            self.global_pass,
            state.used,
            self.quantum_ticks,
            if state.queued { "yes" } else { "no" },
        )
    }

    fn describe_policy(&self) -> String {
        let queue = queue_line(self.queue.iter().map(|&(pass, task)| (task, Some(pass))));
        format!(
            "policy: stride\nquantum: {} ticks\nglobal pass: {}\nqueue (pass): {queue}\n",
            self.quantum_ticks, self.global_pass
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::sim::checks::{hostile_calls, shares};
    use crate::sched::sim::{Job, Simulation};

    #[test]
    fn a_task_is_described_by_a_pass_that_grows_by_its_stride() {
        let mut policy = Stride::new(2);
        policy.set_nice(3, 5);
        policy.enqueue(3, Arrival::New);
        policy.enqueue(4, Arrival::New);
        let stride = virtual_tick(weight(5));
        assert_eq!(
            policy.describe(3),
            format!(
                "policy: stride\npass: 0\nstride: {stride}\nglobal pass: 0\nquantum used: 0 of 2 ticks\nqueued: yes\n"
            )
        );
        assert_eq!(policy.pick_next(), Some(3));
        policy.tick(3);
        assert!(policy.describe(3).starts_with(&format!("policy: stride\npass: {stride}\nstride: {stride}\n")));
        policy.tick(3);
        assert!(policy.describe(3).starts_with(&format!("policy: stride\npass: {}\n", 2 * stride)));
        assert!(policy.describe(3).ends_with("quantum used: 2 of 2 ticks\nqueued: no\n"));
        assert_eq!(policy.describe_policy(), "policy: stride\nquantum: 2 ticks\nglobal pass: 0\nqueue (pass): 4(0)\n");
    }

    #[test]
    fn the_lowest_pass_runs_and_equal_tasks_alternate() {
        let mut sim = Simulation::new(Stride::new(1), &[Job::cpu(1), Job::cpu(2), Job::cpu(3)]);
        let timeline = sim.run(9);
        assert_eq!(timeline, [1, 2, 3, 1, 2, 3, 1, 2, 3].map(Some));
    }

    #[test]
    fn shares_follow_tickets_exactly() {
        // OSTEP's example: tickets 100, 50, 250 ~ nice 0 (1024), 3 (526), -4 (2501).
        let jobs = [Job::cpu(1), Job::cpu(2).nice(3), Job::cpu(3).nice(-4)];
        let mut sim = Simulation::new(Stride::new(1), &jobs);
        let timeline = sim.run(4051);
        let got = shares(&timeline, &[1, 2, 3]);
        let total_weight = 1024 + 526 + 2501;
        for (share, w) in got.iter().zip([1024u64, 526, 2501]) {
            let ideal = 4051 * w / total_weight;
            assert!(share.abs_diff(ideal) <= 2, "{got:?}");
        }
    }

    #[test]
    fn nice_0_against_nice_5_is_about_three_to_one() {
        for quantum in [1, 10] {
            let mut sim = Simulation::new(Stride::new(quantum), &[Job::cpu(1), Job::cpu(2).nice(5)]);
            let got = shares(&sim.run(10_000), &[1, 2]);
            let ratio = got[0] as f64 / got[1] as f64;
            assert!((ratio - 1024.0 / 335.0).abs() < 0.05, "quantum {quantum}: {got:?} {ratio}");
        }
    }

    #[test]
    fn every_prefix_is_within_one_quantum_of_its_share() {
        let quantum = 5;
        let mut sim = Simulation::new(Stride::new(quantum), &[Job::cpu(1), Job::cpu(2).nice(5)]);
        let mut got = [0u64; 2];
        for tick in 1..=5000u64 {
            let task = sim.step().unwrap();
            got[task as usize - 1] += 1;
            let ideal = tick as f64 * 1024.0 / 1359.0;
            assert!((got[0] as f64 - ideal).abs() <= f64::from(quantum) + 1.0, "tick {tick}: {got:?}");
        }
    }

    #[test]
    fn a_newcomer_and_a_sleeper_start_at_the_global_pass() {
        let mut policy = Stride::new(1);
        policy.enqueue(1, Arrival::New);
        assert_eq!(policy.pick_next(), Some(1));
        for _ in 0..100 {
            policy.tick(1);
        }
        policy.enqueue(1, Arrival::Preempted);
        policy.enqueue(2, Arrival::New);
        assert_eq!(policy.pass(2), policy.pass(1), "the newcomer does not get 100 ticks in a row");
        // 2 runs, then sleeps long while 1 runs; on waking it has no credit.
        assert_eq!(policy.pick_next(), Some(1));
        policy.tick(1);
        policy.enqueue(1, Arrival::Preempted);
        assert_eq!(policy.pick_next(), Some(2));
        policy.tick(2);
        assert_eq!(policy.pick_next(), Some(1));
        for _ in 0..50 {
            policy.tick(1);
        }
        policy.enqueue(1, Arrival::Preempted);
        policy.enqueue(2, Arrival::Woken);
        assert!(policy.pass(2).unwrap() >= policy.pass(1).unwrap());
    }

    #[test]
    fn a_yielder_lets_another_task_run_but_keeps_its_pass() {
        let mut policy = Stride::new(10);
        policy.enqueue(1, Arrival::New);
        policy.enqueue(2, Arrival::New);
        assert_eq!(policy.pick_next(), Some(1));
        let pass = policy.pass(1);
        policy.enqueue(1, Arrival::Yielded);
        assert_eq!(policy.pass(1), pass);
        assert_eq!(policy.pick_next(), Some(2));
        policy.enqueue(2, Arrival::Preempted);
        assert_eq!(policy.pick_next(), Some(1));
        // Alone, a yielder runs again at once.
        policy.enqueue(1, Arrival::Yielded);
        policy.remove(2);
        assert_eq!(policy.pick_next(), Some(1));
    }

    #[test]
    fn hostile_call_sequences_never_panic() {
        for seed in 1..=5 {
            hostile_calls(&mut Stride::new(3), seed);
        }
    }
}
