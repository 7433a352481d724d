//! Lottery scheduling (Waldspurger & Weihl, OSDI'94; OSTEP ch. 9): probabilistic
//! proportional share. Each task holds tickets (its nice value's weight); at every
//! pick a winning ticket is drawn at random among the queued tasks' tickets, and
//! its holder runs for one quantum. Over n draws a task with fraction p of the
//! tickets wins n·p times on average, ± sqrt(n·p·(1-p)).
//!
//! The generator is seeded (`seed=` on the kernel command line), so a run replays
//! exactly when everything else is deterministic (`--icount`).
//!
//! The paper's two mechanisms beyond the plain draw:
//!
//! - *Compensation tickets* (on unless `lottery_compensation=off`): a task that
//!   blocked after using a fraction f of its quantum holds 1/f times its tickets
//!   until it next wins, so that a task that sleeps often still gets its share of
//!   the CPU, and wins its draws soon after waking. Usage is counted in ticks, so
//!   f is at least half a tick's worth (a task that blocks before its first tick
//!   is counted as having used half of one): the most a compensation multiplies
//!   is twice the quantum in ticks.
//! - *Ticket transfer*: a task that blocks waiting for a known task (`waits_for`)
//!   lends it its own tickets (not those it holds by compensation or borrowing)
//!   until it wakes (or, should it not block after all, runs a tick or is
//!   requeued), so the task it waits for runs sooner.
//!
//! - *Currencies*: a process's threads are funded from one pool, the weight of its
//!   first thread's nice value (the thread whose tid is the process's id), divided
//!   among its runnable (queued or running) threads in proportion to their own
//!   nice weights. A process with four busy threads gets no more than one with a
//!   single thread at the same nice value. A task's group is itself until
//!   `set_group` says otherwise, so a policy told nothing of processes behaves as
//!   the plain per-task draw.
//!
//! - A sched_yield: the yielder sits out the next draw if any other task is queued.
//!
//! Pick is O(n): a walk through the queue summing tickets until the winning one.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::{queue_line, weight, Arrival, Scheduler, TaskId};

#[derive(Clone, Copy)]
struct Task {
    /// Its tickets: its share of its process's pool.
    tickets: u32,
    /// Its nice value's weight: its part of the pool against its siblings'.
    weight: u32,
    /// The process (thread group) whose pool funds it.
    group: TaskId,
    /// Queued or running: it draws on its pool.
    runnable: bool,
    /// Compensation tickets, held until it next wins.
    compensation: u64,
    /// Tickets lent to it by the tasks blocked waiting for it.
    borrowed: u64,
    /// The task it lends its tickets to while blocked, and how many.
    lent: Option<(TaskId, u64)>,
    used: u32,
    queued: bool,
    /// Draws it has won.
    wins: u64,
}

impl Task {
    fn new(group: TaskId) -> Task {
        Task {
            tickets: weight(0),
            weight: weight(0),
            group,
            runnable: false,
            compensation: 0,
            borrowed: 0,
            lent: None,
            used: 0,
            queued: false,
            wins: 0,
        }
    }

    /// The tickets it holds in the draw.
    fn holding(&self) -> u64 {
        u64::from(self.tickets).saturating_add(self.compensation).saturating_add(self.borrowed)
    }
}

/// A process's currency: its pool of tickets and the threads it funds.
struct Group {
    /// The pool: the weight of the nice value of the thread whose tid is the group's.
    funding: u32,
    members: Vec<TaskId>,
    /// The sum of the weights of its runnable members.
    runnable_weight: u64,
}

pub struct Lottery {
    quantum_ticks: u32,
    compensation: bool,
    transfer: bool,
    rng: Rng,
    tasks: BTreeMap<TaskId, Task>,
    groups: BTreeMap<TaskId, Group>,
    /// The task `pick_next` last chose: if it is not queued again by the next pick,
    /// it blocked (or exited), and no longer draws on its pool.
    running: Option<TaskId>,
    /// The queued tasks with the tickets they hold, in no particular order (the
    /// draw walks this array, so the tickets are kept here, next to the task).
    queue: Vec<(TaskId, u64)>,
    /// Tickets held by the queued tasks.
    queued_tickets: u64,
    skip: Option<TaskId>,
}

impl Lottery {
    /// A lottery policy with quanta of `quantum_ticks` (at least 1), drawing from a
    /// generator seeded with `seed`, with compensation tickets.
    pub fn new(quantum_ticks: u32, seed: u64) -> Lottery {
        Lottery {
            quantum_ticks: quantum_ticks.max(1),
            compensation: true,
            transfer: true,
            rng: Rng::new(seed),
            tasks: BTreeMap::new(),
            groups: BTreeMap::new(),
            running: None,
            queue: Vec::new(),
            queued_tickets: 0,
            skip: None,
        }
    }

    /// The same policy with compensation tickets on or off (off: the textbook's
    /// plain draw).
    pub fn with_compensation(self, compensation: bool) -> Lottery {
        Lottery { compensation, ..self }
    }

    /// The same policy with ticket transfer on or off (off: `waits_for` is
    /// ignored; the kernel always has it on, the simulator compares).
    pub fn with_transfer(self, transfer: bool) -> Lottery {
        Lottery { transfer, ..self }
    }

    /// Applies `change` to `task`'s record, keeping the queue's copy of the tickets
    /// it holds and the queue's total in step.
    fn reweigh(&mut self, task: TaskId, change: impl FnOnce(&mut Task)) {
        let Some(state) = self.tasks.get_mut(&task) else { return };
        let before = state.holding();
        change(state);
        let after = state.holding();
        if state.queued {
            self.queued_tickets = self.queued_tickets.saturating_sub(before).saturating_add(after);
            if let Some(entry) = self.queue.iter_mut().find(|(queued, _)| *queued == task) {
                entry.1 = after;
            }
        }
    }

    /// Makes sure `task` has a record, in a group (its own if it is new).
    fn known(&mut self, task: TaskId) {
        if self.tasks.contains_key(&task) {
            return;
        }
        self.tasks.insert(task, Task::new(task));
        self.join(task, task);
    }

    /// Adds `task` (not runnable) to `group`'s members, creating the group funded
    /// as its own-numbered task says.
    fn join(&mut self, task: TaskId, group: TaskId) {
        let funding = self.tasks.get(&group).map_or(weight(0), |leader| leader.weight);
        let entry = self.groups.entry(group).or_insert(Group { funding, members: Vec::new(), runnable_weight: 0 });
        entry.members.push(task);
        if let Some(state) = self.tasks.get_mut(&task) {
            state.group = group;
        }
    }

    /// Takes `task` (not runnable) out of its group, dropping the group once empty.
    fn leave(&mut self, task: TaskId) {
        let Some(group) = self.tasks.get(&task).map(|state| state.group) else { return };
        if let Some(entry) = self.groups.get_mut(&group) {
            entry.members.retain(|&member| member != task);
            if entry.members.is_empty() {
                self.groups.remove(&group);
            }
        }
    }

    /// `task` starts or stops drawing on its group's pool; the pool is shared
    /// again.
    fn set_runnable(&mut self, task: TaskId, runnable: bool) {
        let Some(state) = self.tasks.get_mut(&task).filter(|state| state.runnable != runnable) else { return };
        state.runnable = runnable;
        let (group, weight) = (state.group, u64::from(state.weight));
        if let Some(entry) = self.groups.get_mut(&group) {
            entry.runnable_weight =
                if runnable { entry.runnable_weight + weight } else { entry.runnable_weight.saturating_sub(weight) };
        }
        self.fund(group);
    }

    /// Divides `group`'s pool among its members by weight: a runnable member's
    /// share of the runnable weight, a blocked one's of what it would be if it
    /// woke (its tickets then, and what it lends).
    fn fund(&mut self, group: TaskId) {
        let Some(entry) = self.groups.get(&group) else { return };
        let (funding, runnable_weight, count) = (u64::from(entry.funding), entry.runnable_weight, entry.members.len());
        // By index, not over a copy: no allocation on a switch.
        for index in 0..count {
            let Some(member) = self.groups.get(&group).and_then(|entry| entry.members.get(index).copied()) else {
                break;
            };
            let Some(state) = self.tasks.get(&member) else { continue };
            let weight = u64::from(state.weight);
            let sharing = if state.runnable { runnable_weight } else { runnable_weight + weight };
            let tickets = (funding * weight / sharing.max(1)).clamp(1, u64::from(u32::MAX)) as u32;
            self.reweigh(member, |state| state.tickets = tickets);
        }
    }

    /// `task`'s wait ended (or it exited): the tickets it lent go back.
    fn repay(&mut self, task: TaskId) {
        let Some((borrower, amount)) = self.tasks.get_mut(&task).and_then(|state| state.lent.take()) else { return };
        self.reweigh(borrower, |state| state.borrowed = state.borrowed.saturating_sub(amount));
    }

    /// The compensation a task that used `used` ticks of its `quantum_ticks` earns:
    /// enough to hold quantum/used times its tickets. Usage is sampled by the tick, so a
    /// task no tick caught ran less than one: it is counted as half a tick, the
    /// mean of a uniform share of one.
    fn compensation_for(quantum_ticks: u32, tickets: u32, used: u32) -> u64 {
        let quantum_halves = u64::from(quantum_ticks) * 2;
        let used_halves = (u64::from(used) * 2).clamp(1, quantum_halves);
        u64::from(tickets) * quantum_halves / used_halves - u64::from(tickets)
    }
}

impl Scheduler for Lottery {
    fn enqueue(&mut self, task: TaskId, arrival: Arrival) {
        self.known(task);
        self.set_runnable(task, true);
        let Some(state) = self.tasks.get_mut(&task) else { return };
        if arrival == Arrival::Woken && !state.queued && self.compensation {
            state.compensation = Lottery::compensation_for(self.quantum_ticks, state.tickets, state.used);
        }
        self.repay(task);
        if arrival == Arrival::Yielded {
            self.skip = Some(task);
        }
        let Some(state) = self.tasks.get_mut(&task) else { return };
        if !state.queued {
            state.queued = true;
            self.queued_tickets += state.holding();
            self.queue.push((task, state.holding()));
        }
    }

    fn pick_next(&mut self) -> Option<TaskId> {
        if let Some(previous) = self.running.take() {
            if self.tasks.get(&previous).is_some_and(|state| !state.queued) {
                self.set_runnable(previous, false);
            }
        }
        let skip = self.skip.take().filter(|_| self.queue.len() > 1);
        let skipped_tickets =
            skip.and_then(|task| self.queue.iter().find(|&&(queued, _)| queued == task)).map_or(0, |&(_, t)| t);
        let pool = self.queued_tickets.saturating_sub(skipped_tickets);
        let mut winner = self.rng.below(pool);
        let mut chosen = None;
        for (index, &(task, tickets)) in self.queue.iter().enumerate() {
            if Some(task) == skip {
                continue;
            }
            if winner < tickets {
                chosen = Some(index);
                break;
            }
            winner -= tickets;
        }
        // Every queued task holds at least one ticket, so the walk always ends on
        // one; should it not, the first eligible task runs.
        let index = chosen.or_else(|| self.queue.iter().position(|&(task, _)| Some(task) != skip))?;
        let (task, held) = self.queue.swap_remove(index);
        self.queued_tickets = self.queued_tickets.saturating_sub(held);
        if let Some(state) = self.tasks.get_mut(&task) {
            state.queued = false;
            state.used = 0;
            state.wins += 1;
            // Compensation lasts until the next win: the quantum starting now.
            state.compensation = 0;
        }
        self.running = Some(task);
        Some(task)
    }

    fn tick(&mut self, task: TaskId) -> bool {
        let Some(state) = self.tasks.get_mut(&task).filter(|state| !state.queued) else { return false };
        state.used = state.used.saturating_add(1);
        let expired = state.used >= self.quantum_ticks;
        if state.lent.is_some() {
            self.repay(task);
        }
        expired
    }

    fn ticks_before_expiry(&self, task: TaskId) -> u32 {
        match self.tasks.get(&task) {
            Some(state) if !state.queued => self.quantum_ticks.saturating_sub(state.used).max(1),
            _ => 1,
        }
    }

    fn remove(&mut self, task: TaskId) {
        self.repay(task);
        self.set_runnable(task, false);
        self.leave(task);
        if self.running == Some(task) {
            self.running = None;
        }
        if let Some(state) = self.tasks.remove(&task) {
            if state.queued {
                self.queue.retain(|&(queued, _)| queued != task);
                self.queued_tickets = self.queued_tickets.saturating_sub(state.holding());
            }
        }
        // Loans to an exited task are void (its pid may come back as another task).
        for state in self.tasks.values_mut() {
            if state.lent.is_some_and(|(borrower, _)| borrower == task) {
                state.lent = None;
            }
        }
        if self.skip == Some(task) {
            self.skip = None;
        }
    }

    fn migration_candidate(&self) -> Option<TaskId> {
        self.queue.last().map(|&(task, _)| task)
    }

    fn queued(&self) -> usize {
        self.queue.len()
    }

    fn lends_shares(&self) -> bool {
        self.transfer
    }

    fn waits_for(&mut self, task: TaskId, peer: TaskId) {
        if !self.transfer || task == peer || !self.tasks.contains_key(&peer) {
            return;
        }
        self.repay(task);
        let Some(state) = self.tasks.get_mut(&task).filter(|state| !state.queued) else { return };
        let amount = u64::from(state.tickets);
        state.lent = Some((peer, amount));
        self.reweigh(peer, |state| state.borrowed = state.borrowed.saturating_add(amount));
    }

    fn set_nice(&mut self, task: TaskId, nice: i8) {
        self.known(task);
        let runnable = self.tasks.get(&task).is_some_and(|state| state.runnable);
        self.set_runnable(task, false);
        let Some(state) = self.tasks.get_mut(&task) else { return };
        state.weight = weight(nice);
        let group = state.group;
        if let Some(entry) = self.groups.get_mut(&task) {
            entry.funding = weight(nice);
        }
        self.set_runnable(task, runnable);
        self.fund(group);
        self.fund(task);
    }

    fn set_group(&mut self, task: TaskId, group: TaskId) {
        self.known(task);
        let Some(state) = self.tasks.get(&task).filter(|state| state.group != group) else { return };
        let (old, runnable) = (state.group, state.runnable);
        self.set_runnable(task, false);
        self.leave(task);
        self.fund(old);
        self.join(task, group);
        self.set_runnable(task, runnable);
        self.fund(group);
    }

    fn set_pool_nice(&mut self, group: TaskId, nice: i8) {
        let Some(entry) = self.groups.get_mut(&group) else { return };
        entry.funding = weight(nice);
        self.fund(group);
    }

    /// Its tickets (its share of its process's pool, by compensation, borrowed;
    /// lent), against those of the queue's draw, and the draws it has won.
    fn describe(&self, task: TaskId) -> String {
        let Some(state) = self.tasks.get(&task) else {
            return String::from("policy: lottery\nunknown to the policy\n");
        };
        let lent = match state.lent {
            Some((borrower, amount)) => format!("{amount} to {borrower}"),
            None => String::from("none"),
        };
        let (funding, runnable_weight) =
            self.groups.get(&state.group).map_or((0, 0), |group| (group.funding, group.runnable_weight));
        format!(
            "policy: lottery\ntickets: {}\nprocess: {} (pool {funding} tickets, runnable weight {runnable_weight})\n\
             compensation tickets: {}\nborrowed tickets: {}\nlent tickets: {lent}\n\
             holding: {}\nqueued tickets: {}\nwins: {}\nqueued: {}\n",
            state.tickets,
            state.group,
            state.compensation,
            state.borrowed,
            state.holding(),
            self.queued_tickets,
            state.wins,
            if state.queued { "yes" } else { "no" },
        )
    }

    fn describe_policy(&self) -> String {
        let queue = queue_line(self.queue.iter().map(|&(task, tickets)| (task, Some(tickets))));
        format!(
            "policy: lottery\nquantum: {} ticks\ncompensation: {}\nqueued tickets: {}\nqueue (tickets): {queue}\n",
            self.quantum_ticks,
            if self.compensation { "on" } else { "off" },
            self.queued_tickets
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
    use crate::sched::sim::{Job, Pattern, Simulation};

    #[test]
    fn a_task_is_described_by_its_tickets_and_wins() {
        let mut policy = Lottery::new(1, 42);
        policy.set_nice(1, -5);
        policy.enqueue(1, Arrival::New);
        policy.enqueue(2, Arrival::New);
        let (mine, total) = (weight(-5), weight(-5) + weight(0));
        assert_eq!(
            policy.describe(1),
            format!(
                "policy: lottery\ntickets: {mine}\nprocess: 1 (pool {mine} tickets, runnable weight {mine})\n\
                 compensation tickets: 0\nborrowed tickets: 0\nlent tickets: none\n\
                 holding: {mine}\nqueued tickets: {total}\nwins: 0\nqueued: yes\n"
            )
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
            .starts_with(&format!("policy: lottery\nquantum: 1 ticks\ncompensation: on\nqueued tickets: {total}\n")));
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

    /// A task that blocks after one tick of its 10-tick quantum, and at once can run
    /// again (a short wait for a disk, say), beside two hogs.
    fn sleeper_share(compensation: bool) -> f64 {
        let sleeper = Job::cpu(3).pattern(Pattern::Interactive { run: 1, sleep: 0 });
        let jobs = [Job::cpu(1), Job::cpu(2), sleeper];
        let mut sim = Simulation::new(Lottery::new(10, 3).with_compensation(compensation), &jobs);
        let got = shares(&sim.run(30_000), &[1, 2, 3]);
        got[2] as f64 / 30_000.0
    }

    #[test]
    fn compensation_tickets_give_a_sleeper_its_share() {
        // It is entitled to a third: without compensation each win buys it one
        // tick where a hog's buys ten, so it gets about 1/21 of the CPU.
        let plain = sleeper_share(false);
        assert!((0.03..0.1).contains(&plain), "{plain}");
        let compensated = sleeper_share(true);
        assert!((0.28..0.36).contains(&compensated), "{compensated}");
    }

    #[test]
    fn compensation_inflates_by_the_unused_fraction_until_the_next_win() {
        let mut policy = Lottery::new(4, 1);
        policy.enqueue(1, Arrival::New);
        assert_eq!(policy.pick_next(), Some(1));
        policy.tick(1);
        // Blocked after 1 of 4 ticks: four times its tickets.
        policy.enqueue(1, Arrival::Woken);
        assert!(policy.describe(1).contains(&format!("compensation tickets: {}\n", 3 * weight(0))));
        assert!(policy.describe_policy().contains(&format!("queued tickets: {}\n", 4 * weight(0))));
        assert_eq!(policy.pick_next(), Some(1));
        assert!(policy.describe(1).contains("compensation tickets: 0\n"));
        // Blocked before its first tick counts as half a tick; a full quantum earns none.
        policy.enqueue(1, Arrival::Woken);
        assert!(policy.describe(1).contains(&format!("compensation tickets: {}\n", 7 * weight(0))));
        policy.pick_next();
        (0..4).for_each(|_| {
            policy.tick(1);
        });
        policy.enqueue(1, Arrival::Woken);
        assert!(policy.describe(1).contains("compensation tickets: 0\n"));
        let mut plain = Lottery::new(4, 1).with_compensation(false);
        plain.enqueue(1, Arrival::New);
        plain.pick_next();
        plain.enqueue(1, Arrival::Woken);
        assert!(plain.describe(1).contains("compensation tickets: 0\n"));
    }

    #[test]
    fn a_blocked_task_lends_its_tickets_until_it_wakes() {
        let mut policy = Lottery::new(1, 1).with_compensation(false);
        for task in 1..=3 {
            policy.enqueue(task, Arrival::New);
        }
        policy.set_nice(1, -10);
        // Task 1 runs and blocks waiting for task 2.
        while policy.pick_next() != Some(1) {}
        policy.waits_for(1, 2);
        let lent = u64::from(weight(-10));
        assert!(policy.describe(2).contains(&format!("borrowed tickets: {lent}\n")));
        assert!(policy.describe(1).contains(&format!("lent tickets: {lent} to 2\n")));
        let mut wins = [0u64; 2];
        for _ in 0..1000 {
            let winner = policy.pick_next().unwrap();
            wins[winner as usize - 2] += 1;
            policy.enqueue(winner, Arrival::Preempted);
        }
        // Task 2 holds 1024 + 9548 of 11596 tickets.
        assert_binomial(wins[0], 1000, (1024.0 + 9548.0) / 11596.0);
        policy.enqueue(1, Arrival::Woken);
        assert!(policy.describe(2).contains("borrowed tickets: 0\n"));
        assert!(policy.describe(1).contains("lent tickets: none\n"));
        // A loan to a task that exits is void; lending to oneself or a stranger is nothing.
        while policy.pick_next() != Some(1) {}
        policy.waits_for(1, 3);
        policy.remove(3);
        policy.enqueue(1, Arrival::Woken);
        policy.waits_for(2, 2);
        policy.waits_for(2, 99);
        // A lender that runs a tick after all (it did not block) takes its loan back.
        while policy.pick_next() != Some(1) {}
        policy.waits_for(1, 2);
        assert!(policy.describe(2).contains(&format!("borrowed tickets: {lent}\n")));
        policy.tick(1);
        policy.enqueue(1, Arrival::Preempted);
        assert!(policy.describe(2).contains("borrowed tickets: 0\n"));
        let total: u64 = u64::from(weight(-10) + weight(0));
        assert!(policy.describe_policy().contains(&format!("queued tickets: {total}\n")));
    }

    /// A client that runs one tick, then waits for its server to work 3 ticks for
    /// it, beside three hogs: how many requests it completes in 20,000 ticks.
    fn requests_served(transfer: bool) -> usize {
        let client = Job::cpu(5).pattern(Pattern::Client { run: 1, peer: 4, work: 3 });
        let jobs = [Job::cpu(1), Job::cpu(2), Job::cpu(3), Job::cpu(4), client];
        let mut sim = Simulation::new(Lottery::new(1, 9).with_transfer(transfer), &jobs);
        sim.run(20_000);
        sim.wake_delays().iter().filter(|&&(task, _)| task == 5).count()
    }

    #[test]
    fn it_says_it_lends_only_with_ticket_transfer_on() {
        assert!(Lottery::new(1, 9).lends_shares());
        assert!(!Lottery::new(1, 9).with_transfer(false).lends_shares());
        assert!(!crate::sched::round_robin::RoundRobin::new(1).lends_shares());
    }

    #[test]
    fn ticket_transfer_speeds_up_the_server_a_client_waits_for() {
        // Without transfer the server holds a fifth of the tickets (a quarter
        // while the client waits); with it, two fifths while the client waits.
        let (plain, lent) = (requests_served(false), requests_served(true));
        assert!(lent as f64 > plain as f64 * 1.3, "{plain} requests without transfer, {lent} with");
    }

    #[test]
    fn a_process_s_threads_share_its_pool() {
        // Process 1 has three threads (1, 2, 3), process 4 one: each process gets
        // half the CPU, each of process 1's threads a sixth.
        let mut policy = Lottery::new(1, 5);
        for thread in [2, 3] {
            policy.set_group(thread, 1);
        }
        let mut sim = Simulation::new(policy, &[Job::cpu(1), Job::cpu(2), Job::cpu(3), Job::cpu(4)]);
        let got = shares(&sim.run(30_000), &[1, 2, 3, 4]);
        assert_binomial(got[0] + got[1] + got[2], 30_000, 0.5);
        assert_binomial(got[1], 30_000, 1.0 / 6.0);
        assert!(sim.policy.describe(2).contains("\nprocess: 1 (pool 1024 tickets, runnable weight 3072)\n"));
        // The process's nice sets its pool; a thread's nice its part of it.
        let mut policy = Lottery::new(1, 5);
        policy.set_group(2, 1);
        policy.set_nice(1, 5);
        policy.set_nice(2, -5);
        policy.enqueue(1, Arrival::New);
        policy.enqueue(2, Arrival::New);
        let (pool, own, sibling) = (u64::from(weight(5)), u64::from(weight(-5)), u64::from(weight(5)));
        let expected = pool * own / (own + sibling);
        assert!(policy.describe(2).contains(&format!("tickets: {expected}\n")), "{}", policy.describe(2));
        // A thread that blocks leaves its share to the others.
        assert_eq!(policy.pick_next().map(|_| ()), Some(()));
        let blocked = policy.running.unwrap();
        let other = 3 - blocked;
        policy.pick_next();
        assert!(policy.describe(other).contains(&format!("tickets: {pool}\n")), "{}", policy.describe(other));
        // Moved to a process of its own, a thread is funded by its own nice.
        policy.set_group(2, 2);
        assert!(policy.describe(2).contains(&format!("tickets: {own}\n")), "{}", policy.describe(2));
    }

    #[test]
    fn a_thread_whose_first_thread_runs_elsewhere_is_funded_by_the_pool_it_was_told() {
        // Thread 2 of process 1 (nice 10) moved to this CPU's policy, where thread 1
        // never ran: the pool is nice 10's, not a nice 0 process's, against a nice 0
        // process (3) that shares the CPU.
        let mut policy = Lottery::new(1, 5);
        policy.set_nice(2, 10);
        policy.set_group(2, 1);
        policy.set_pool_nice(1, 10);
        let pool = weight(10);
        assert!(policy.describe(2).contains(&format!("tickets: {pool}\n")), "{}", policy.describe(2));
        let mut sim = Simulation::new(policy, &[Job::cpu(2), Job::cpu(3)]);
        let got = shares(&sim.run(30_000), &[2, 3]);
        let share = f64::from(pool) / f64::from(pool + weight(0));
        assert_binomial(got[0], 30_000, share);
        // A pool told of a process this policy has no thread of changes nothing.
        sim.policy.set_pool_nice(7, -20);
        assert!(sim.policy.describe(2).contains(&format!("tickets: {pool}\n")), "{}", sim.policy.describe(2));
    }

    #[test]
    fn hostile_call_sequences_never_panic() {
        for seed in 1..=5 {
            hostile_calls(&mut Lottery::new(2, seed), seed);
        }
    }
}
