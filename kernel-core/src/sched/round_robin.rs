//! Round robin: one FIFO queue; each task runs for one quantum, then goes to the back.

use alloc::collections::VecDeque;

use alloc::format;
use alloc::string::String;

use super::{queue_line, Arrival, Scheduler, TaskId};

pub struct RoundRobin {
    queue: VecDeque<TaskId>,
    quantum_ticks: u32,
    /// Ticks the running task has used of its current quantum.
    used_ticks: u32,
}

impl RoundRobin {
    /// A round-robin policy giving each task `quantum_ticks` timer ticks (at least 1).
    pub fn new(quantum_ticks: u32) -> RoundRobin {
        RoundRobin { queue: VecDeque::new(), quantum_ticks: quantum_ticks.max(1), used_ticks: 0 }
    }

    /// `enqueue` into a full queue.
    #[cold]
    #[inline(never)]
    fn grow_and_push(&mut self, task: TaskId) {
        self.queue.push_back(task);
    }
}

impl Scheduler for RoundRobin {
    fn enqueue(&mut self, task: TaskId, _arrival: Arrival) {
        // The growth out of line, where the push's own test of it folds away: the
        // every-wake path then saves no registers.
        if self.queue.len() == self.queue.capacity() {
            return self.grow_and_push(task);
        }
        self.queue.push_back(task);
    }

    fn pick_next(&mut self) -> Option<TaskId> {
        self.used_ticks = 0;
        self.queue.pop_front()
    }

    /// The front task, with `task` at the back in its place: alone, `task` again.
    fn requeue_and_pick(&mut self, task: TaskId, _arrival: Arrival) -> Option<TaskId> {
        self.used_ticks = 0;
        let Some(next) = self.queue.pop_front() else { return Some(task) };
        self.queue.push_back(task);
        Some(next)
    }

    fn tick(&mut self, _task: TaskId) -> bool {
        self.used_ticks += 1;
        self.used_ticks >= self.quantum_ticks
    }

    fn ticks_before_expiry(&self, _task: TaskId) -> u32 {
        self.quantum_ticks.saturating_sub(self.used_ticks).max(1)
    }

    fn charge_ticks(&mut self, _task: TaskId, n: u32) {
        self.used_ticks += n;
    }

    fn remove(&mut self, task: TaskId) {
        self.queue.retain(|&queued| queued != task);
    }

    fn migration_candidate(&self) -> Option<TaskId> {
        self.queue.iter().next_back().copied()
    }

    fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Its place in the queue (1 runs next), if it is queued.
    fn describe(&self, task: TaskId) -> String {
        let position = match self.queue.iter().position(|&queued| queued == task) {
            Some(index) => format!("{} of {}", index + 1, self.queue.len()),
            None => String::from("not queued (running or blocked)"),
        };
        format!("policy: rr\nposition: {position}\nquantum: {} ticks\n", self.quantum_ticks)
    }

    fn describe_policy(&self) -> String {
        let queue = queue_line(self.queue.iter().map(|&task| (task, None)));
        format!("policy: rr\nquantum: {} ticks\nqueue: {queue}\n", self.quantum_ticks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Runs `ticks` ticks of a simulated CPU on which every task stays runnable,
    /// returning which task held the CPU at each tick.
    fn simulate(policy: &mut dyn Scheduler, ticks: usize) -> Vec<TaskId> {
        let mut running = policy.pick_next();
        let mut timeline = Vec::new();
        for _ in 0..ticks {
            let task = running.expect("a runnable task");
            timeline.push(task);
            if policy.tick(task) {
                policy.enqueue(task, Arrival::Preempted);
                running = policy.pick_next();
            }
        }
        timeline
    }

    #[test]
    fn it_describes_each_task_by_its_place_in_the_queue() {
        let mut policy = RoundRobin::new(3);
        for task in [4, 5, 6] {
            policy.enqueue(task, Arrival::New);
        }
        assert_eq!(policy.describe(5), "policy: rr\nposition: 2 of 3\nquantum: 3 ticks\n");
        assert_eq!(policy.pick_next(), Some(4));
        assert_eq!(policy.describe(5), "policy: rr\nposition: 1 of 2\nquantum: 3 ticks\n");
        assert_eq!(policy.describe(4), "policy: rr\nposition: not queued (running or blocked)\nquantum: 3 ticks\n");
        assert_eq!(policy.describe_policy(), "policy: rr\nquantum: 3 ticks\nqueue: 5 6\n");
    }

    #[test]
    fn tasks_take_turns_one_quantum_each() {
        let mut policy = RoundRobin::new(2);
        for task in [1, 2, 3] {
            policy.enqueue(task, Arrival::New);
        }
        assert_eq!(simulate(&mut policy, 8), [1, 1, 2, 2, 3, 3, 1, 1]);
    }

    #[test]
    fn equal_tasks_get_equal_shares() {
        let mut policy = RoundRobin::new(10);
        for task in 1..=3 {
            policy.enqueue(task, Arrival::New);
        }
        let timeline = simulate(&mut policy, 3000);
        for task in 1..=3 {
            assert_eq!(timeline.iter().filter(|&&t| t == task).count(), 1000);
        }
    }

    #[test]
    fn a_woken_task_waits_its_turn_and_a_removed_one_never_runs() {
        let mut policy = RoundRobin::new(1);
        policy.enqueue(1, Arrival::New);
        policy.enqueue(2, Arrival::New);
        assert_eq!(policy.pick_next(), Some(1));
        policy.enqueue(3, Arrival::Woken);
        policy.remove(2);
        assert_eq!(policy.queued(), 1);
        assert_eq!(policy.pick_next(), Some(3));
        assert_eq!(policy.pick_next(), None);
    }

    #[test]
    fn a_requeue_and_pick_is_an_enqueue_then_a_pick() {
        let (mut apart, mut together) = (RoundRobin::new(2), RoundRobin::new(2));
        assert_eq!(together.requeue_and_pick(1, Arrival::Yielded), Some(1));
        apart.enqueue(1, Arrival::Yielded);
        assert_eq!(apart.pick_next(), Some(1));
        for policy in [&mut apart, &mut together] {
            policy.enqueue(2, Arrival::New);
            policy.enqueue(3, Arrival::New);
            assert!(!policy.tick(1));
        }
        for (running, expected) in [(1, 2), (2, 3), (3, 1)] {
            apart.enqueue(running, Arrival::Preempted);
            assert_eq!(apart.pick_next(), Some(expected));
            assert_eq!(together.requeue_and_pick(running, Arrival::Preempted), Some(expected));
            assert_eq!(together.describe_policy(), apart.describe_policy());
            // The pick starts a fresh quantum either way.
            assert_eq!(together.ticks_before_expiry(expected), apart.ticks_before_expiry(expected));
            assert_eq!(apart.ticks_before_expiry(expected), 2);
        }
    }

    #[test]
    fn a_fresh_quantum_starts_at_each_pick() {
        let mut policy = RoundRobin::new(3);
        policy.enqueue(1, Arrival::New);
        assert_eq!(policy.pick_next(), Some(1));
        assert!(!policy.tick(1));
        policy.enqueue(1, Arrival::Yielded);
        assert_eq!(policy.pick_next(), Some(1));
        assert!(!policy.tick(1));
        assert!(!policy.tick(1));
        assert!(policy.tick(1));
    }
}
