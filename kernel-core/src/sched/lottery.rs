//! Lottery scheduling (Waldspurger & Weihl 1994; OSTEP ch. 9): probabilistic
//! proportional share. Each task holds tickets (its nice value's weight); at every
//! pick a winning ticket is drawn at random among the queued tasks' tickets, and
//! its holder runs for one quantum. Over n draws a task with fraction p of the
//! tickets wins n·p times on average, ± sqrt(n·p·(1-p)).
//!
//! The generator is seeded (`seed=` on the kernel command line), so a run replays
//! exactly when everything else is deterministic (`--icount`).
//!
//! - New and woken tasks simply join the draw: lottery keeps no history, so a
//!   sleeper is neither punished nor rewarded.
//! - sched_yield: the yielder sits out the next draw if any other task is queued.
//!
//! Pick is O(n): a walk through the queue summing tickets until the winning one.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::{queue_line, weight, Arrival, Scheduler, TaskId};

#[derive(Clone, Copy)]
struct Task {
    tickets: u32,
    used: u32,
    queued: bool,
    /// Draws it has won.
    wins: u64,
}

impl Task {
    fn new() -> Task {
        Task { tickets: weight(0), used: 0, queued: false, wins: 0 }
    }
}

pub struct Lottery {
    quantum_ticks: u32,
    rng: Rng,
    tasks: BTreeMap<TaskId, Task>,
    /// The queued tasks with their tickets, in no particular order (the draw walks
    /// this array, so the tickets are kept here, next to the task).
    queue: Vec<(TaskId, u32)>,
    /// Tickets held by the queued tasks.
    queued_tickets: u64,
    skip: Option<TaskId>,
}

impl Lottery {
    /// A lottery policy with quanta of `quantum_ticks` (at least 1), drawing from a
    /// generator seeded with `seed`.
    pub fn new(quantum_ticks: u32, seed: u64) -> Lottery {
        Lottery {
            quantum_ticks: quantum_ticks.max(1),
            rng: Rng::new(seed),
            tasks: BTreeMap::new(),
            queue: Vec::new(),
            queued_tickets: 0,
            skip: None,
        }
    }
}

impl Scheduler for Lottery {
    fn enqueue(&mut self, task: TaskId, arrival: Arrival) {
        let state = self.tasks.entry(task).or_insert_with(Task::new);
        if arrival == Arrival::Yielded {
            self.skip = Some(task);
        }
        if !state.queued {
            state.queued = true;
            self.queued_tickets += u64::from(state.tickets);
            self.queue.push((task, state.tickets));
        }
    }

    fn pick_next(&mut self) -> Option<TaskId> {
        let skip = self.skip.take().filter(|_| self.queue.len() > 1);
        let skipped_tickets = skip.and_then(|task| self.tasks.get(&task)).map_or(0, |state| u64::from(state.tickets));
        let pool = self.queued_tickets.saturating_sub(skipped_tickets);
        let mut winner = self.rng.below(pool);
        let mut chosen = None;
        for (index, &(task, tickets)) in self.queue.iter().enumerate() {
            if Some(task) == skip {
                continue;
            }
            let tickets = u64::from(tickets);
            if winner < tickets {
                chosen = Some(index);
                break;
            }
            winner -= tickets;
        }
        // Every queued task holds at least one ticket, so the walk always ends on
        // one; should it not, the first eligible task runs.
        let index = chosen.or_else(|| self.queue.iter().position(|&(task, _)| Some(task) != skip))?;
        let (task, _) = self.queue.swap_remove(index);
        if let Some(state) = self.tasks.get_mut(&task) {
            state.queued = false;
            state.used = 0;
            state.wins += 1;
            self.queued_tickets = self.queued_tickets.saturating_sub(u64::from(state.tickets));
        }
        Some(task)
    }

    fn tick(&mut self, task: TaskId) -> bool {
        let Some(state) = self.tasks.get_mut(&task).filter(|state| !state.queued) else { return false };
        state.used = state.used.saturating_add(1);
        state.used >= self.quantum_ticks
    }

    fn remove(&mut self, task: TaskId) {
        if let Some(state) = self.tasks.remove(&task) {
            if state.queued {
                self.queue.retain(|&(queued, _)| queued != task);
                self.queued_tickets = self.queued_tickets.saturating_sub(u64::from(state.tickets));
            }
        }
        if self.skip == Some(task) {
            self.skip = None;
        }
    }

    fn queued(&self) -> usize {
        self.queue.len()
    }

    fn set_nice(&mut self, task: TaskId, nice: i8) {
        let state = self.tasks.entry(task).or_insert_with(Task::new);
        let tickets = weight(nice);
        if state.queued {
            self.queued_tickets = self.queued_tickets.saturating_sub(u64::from(state.tickets)) + u64::from(tickets);
            if let Some(entry) = self.queue.iter_mut().find(|(queued, _)| *queued == task) {
                entry.1 = tickets;
            }
        }
        state.tickets = tickets;
    }

    /// Its tickets, against those of the queue's draw, and the draws it has won.
    fn describe(&self, task: TaskId) -> String {
        let Some(state) = self.tasks.get(&task) else {
            return String::from("policy: lottery\nunknown to the policy\n");
        };
        format!(
            "policy: lottery\ntickets: {}\nqueued tickets: {}\nwins: {}\nqueued: {}\n",
            state.tickets,
            self.queued_tickets,
            state.wins,
            if state.queued { "yes" } else { "no" },
        )
    }

    fn describe_policy(&self) -> String {
        let queue = queue_line(self.queue.iter().map(|&(task, tickets)| (task, Some(u64::from(tickets)))));
        format!(
            "policy: lottery\nquantum: {} ticks\nqueued tickets: {}\nqueue (tickets): {queue}\n",
            self.quantum_ticks, self.queued_tickets
        )
    }
}

/// xorshift64*, seeded through splitmix64 (so every seed, 0 included, gives a
/// good sequence). Small, fast and plenty random for drawing tickets.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Rng(if z == 0 { 1 } else { z })
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in 0..bound (0 when bound is 0), by multiply-high: no modulo bias
    /// worth the name for bounds far below 2^64.
    fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::sim::checks::{hostile_calls, shares};
    use crate::sched::sim::{Job, Simulation};

    #[test]
    fn a_task_is_described_by_its_tickets_and_wins() {
        let mut policy = Lottery::new(1, 42);
        policy.set_nice(1, -5);
        policy.enqueue(1, Arrival::New);
        policy.enqueue(2, Arrival::New);
        let (mine, total) = (weight(-5), weight(-5) + weight(0));
        assert_eq!(
            policy.describe(1),
            format!("policy: lottery\ntickets: {mine}\nqueued tickets: {total}\nwins: 0\nqueued: yes\n")
        );
        let mut wins = 0;
        for _ in 0..100 {
            let winner = policy.pick_next().unwrap();
            wins += u64::from(winner == 1);
            policy.enqueue(winner, Arrival::Preempted);
        }
        assert!(policy.describe(1).contains(&format!("\nwins: {wins}\n")));
        assert!(policy.describe(2).contains(&format!("\nwins: {}\n", 100 - wins)));
        assert!(wins > 60, "{wins} of 100 draws with three quarters of the tickets");
        assert!(policy
            .describe_policy()
            .starts_with(&format!("policy: lottery\nquantum: 1 ticks\nqueued tickets: {total}\n")));
    }

    /// Asserts `count` out of `n` draws is within 4.5 standard deviations of a
    /// fraction `p` (a false alarm about once in 150,000 runs; the seeds are fixed
    /// anyway).
    fn assert_binomial(count: u64, n: u64, p: f64) {
        let mean = n as f64 * p;
        let sd = (n as f64 * p * (1.0 - p)).sqrt();
        assert!((count as f64 - mean).abs() <= 4.5 * sd, "{count} of {n}, expected {mean:.0} ± {sd:.1}");
    }

    #[test]
    fn ticket_proportions_hold_within_statistical_bounds() {
        for seed in 1..=20 {
            let jobs = [Job::cpu(1), Job::cpu(2).nice(3), Job::cpu(3).nice(-4)];
            let mut sim = Simulation::new(Lottery::new(1, seed), &jobs);
            let got = shares(&sim.run(20_000), &[1, 2, 3]);
            for (count, w) in got.iter().zip([1024.0, 526.0, 2501.0]) {
                assert_binomial(*count, 20_000, w / 4051.0);
            }
        }
    }

    #[test]
    fn nice_0_against_nice_5_is_about_three_to_one() {
        let mut sim = Simulation::new(Lottery::new(1, 42), &[Job::cpu(1), Job::cpu(2).nice(5)]);
        let got = shares(&sim.run(100_000), &[1, 2]);
        let ratio = got[0] as f64 / got[1] as f64;
        assert!((ratio - 1024.0 / 335.0).abs() < 0.1, "{got:?} {ratio}");
    }

    #[test]
    fn the_same_seed_replays_the_same_schedule() {
        let jobs = [Job::cpu(1), Job::cpu(2), Job::cpu(3).nice(7)];
        let run = |seed| Simulation::new(Lottery::new(2, seed), &jobs).run(500);
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn a_single_task_always_wins_and_an_empty_queue_draws_nothing() {
        let mut policy = Lottery::new(1, 0);
        assert_eq!(policy.pick_next(), None);
        policy.enqueue(9, Arrival::New);
        policy.set_nice(9, 19);
        assert_eq!(policy.pick_next(), Some(9));
        assert_eq!(policy.queued(), 0);
        assert!(policy.tick(9));
    }

    #[test]
    fn a_yielder_sits_out_one_draw() {
        for seed in 0..50 {
            let mut policy = Lottery::new(1, seed);
            policy.enqueue(1, Arrival::New);
            policy.set_nice(1, -20);
            policy.enqueue(2, Arrival::New);
            policy.set_nice(2, 19);
            // Task 1 holds 99.98% of the tickets, yet after yielding task 2 runs.
            let first = policy.pick_next().unwrap();
            policy.enqueue(first, Arrival::Yielded);
            assert_eq!(policy.pick_next(), Some(3 - first));
        }
    }

    #[test]
    fn hostile_call_sequences_never_panic() {
        for seed in 1..=5 {
            hostile_calls(&mut Lottery::new(2, seed), seed);
        }
    }
}
