//! EEVDF, earliest eligible virtual deadline first (Stoica & Abdel-Wahab 1995;
//! Linux 6.6's fair class). Each task is owed CPU in proportion to its weight
//! (its nice value's). Virtual time V advances, while tasks run, by the time run
//! divided by the total weight of the competing tasks: it is what an ideal
//! weighted processor-sharing CPU would have given each unit of weight. A task's
//! virtual runtime grows by `virtual_tick(weight)` per tick it runs; V is kept as
//! the weighted average of the competing tasks' virtual runtimes, and
//!
//! - lag = V - vruntime is what the ideal CPU owes it (positive) or what it got
//!   ahead (negative); a task is *eligible* when its lag is >= 0;
//! - it asks for the CPU in requests of `request` ticks (sched_setattr's
//!   sched_runtime, default 3 ticks, Linux's base slice); its virtual deadline is
//!   its eligible time plus request / weight in virtual time;
//! - the eligible task with the earliest virtual deadline runs, until its request
//!   is served (then a new request, with a new deadline) or, at a tick, an
//!   eligible queued task has an earlier deadline (a woken one, typically).
//!
//! A task that sleeps keeps its lag (Linux's `place_entity`): it rejoins at
//! V - lag, so sleeping neither earns credit nor erases a debt; the lag kept is
//! halved per sleep (a bounded decay), so a long-gone debt fades. A short request
//! gives an early deadline: a latency-sensitive task with a small request runs
//! soon after waking, without taking more than its share.
//!
//! Times here are virtual (`VIRTUAL_TICK` per tick at weight 1024); lags are
//! signed. Pick is O(n) over the queue.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::{queue_line, virtual_tick, weight, Arrival, Scheduler, TaskId};

#[derive(Clone, Copy)]
struct Task {
    weight: u32,
    vruntime: i128,
    deadline: i128,
    /// Its request in ticks.
    request: u32,
    /// Ticks served of the current request.
    served: u32,
    /// Lag kept across a sleep (V - vruntime when it blocked).
    kept_lag: i128,
    queued: bool,
    running: bool,
}

pub struct Eevdf {
    default_request: u32,
    tasks: BTreeMap<TaskId, Task>,
    queue: Vec<TaskId>,
}

impl Eevdf {
    /// EEVDF with requests of `default_request` ticks (at least 1) unless a task
    /// asks for another size.
    pub fn new(default_request: u32) -> Eevdf {
        Eevdf { default_request: default_request.max(1), tasks: BTreeMap::new(), queue: Vec::new() }
    }

    /// The competing tasks: the queued ones and the running one.
    fn competing(&self) -> impl Iterator<Item = &Task> {
        self.tasks.values().filter(|task| task.queued || task.running)
    }

    /// V: the weighted average of the competing tasks' virtual runtimes (0 when
    /// none competes).
    fn virtual_time(&self) -> i128 {
        let (sum, total) = self.competing().fold((0i128, 0i128), |(sum, total), task| {
            (sum + task.vruntime * i128::from(task.weight), total + i128::from(task.weight))
        });
        if total == 0 {
            0
        } else {
            sum.div_euclid(total)
        }
    }

    /// The virtual time a request of `task` lasts.
    fn request_span(task: &Task) -> i128 {
        i128::from(virtual_tick(task.weight)) * i128::from(task.request)
    }

    fn new_task(&self) -> Task {
        Task {
            weight: weight(0),
            vruntime: 0,
            deadline: 0,
            request: self.default_request,
            served: 0,
            kept_lag: 0,
            queued: false,
            running: false,
        }
    }

    fn lag(&self, task: &Task) -> i128 {
        self.virtual_time() - task.vruntime
    }
}

impl Eevdf {
    /// The task that was running and is neither queued again nor gone has
    /// blocked: the kernel picks only once the running task has left the CPU (one
    /// CPU; with several, the kernel will have to say which left). Its lag is
    /// kept, halved, for its wake-up.
    fn settle_departed(&mut self) {
        let virtual_time = self.virtual_time();
        for state in self.tasks.values_mut().filter(|state| state.running) {
            state.running = false;
            state.kept_lag = (virtual_time - state.vruntime) / 2;
        }
    }
}

impl Scheduler for Eevdf {
    fn enqueue(&mut self, task: TaskId, arrival: Arrival) {
        if self.tasks.get(&task).is_some_and(|state| state.queued) {
            return;
        }
        let blocked = self.tasks.get(&task).is_none_or(|state| !state.running);
        if arrival == Arrival::Woken && !blocked {
            self.settle_departed();
        }
        let fresh = self.new_task();
        let virtual_time = self.virtual_time();
        let state = self.tasks.entry(task).or_insert(fresh);
        // A task that was not running here (a newcomer, a sleeper, or one moved in
        // from another CPU's policy, whatever its arrival there) joins at this
        // policy's V: a virtual runtime from another clock, or none, means nothing.
        let joining = matches!(arrival, Arrival::New | Arrival::Woken) || blocked;
        match arrival {
            // A newcomer is owed nothing; a sleeper rejoins with the lag it kept.
            _ if joining => {
                state.vruntime = virtual_time - state.kept_lag;
                state.served = 0;
                state.deadline = state.vruntime + Eevdf::request_span(state);
            }
            // A yield gives up the rest of the request: a new one, from now.
            Arrival::Yielded => {
                state.served = 0;
                state.deadline = state.vruntime + Eevdf::request_span(state);
            }
            Arrival::New | Arrival::Woken | Arrival::Preempted => {}
        }
        state.running = false;
        state.queued = true;
        self.queue.push(task);
    }

    fn pick_next(&mut self) -> Option<TaskId> {
        self.settle_departed();
        let virtual_time = self.virtual_time();
        let by_deadline = |id: &&TaskId| self.tasks.get(*id).map(|task| (task.deadline, **id));
        let mut eligible =
            self.queue.iter().filter(|id| self.tasks.get(id).is_some_and(|task| task.vruntime <= virtual_time));
        // Someone is always eligible (the average is not below every runtime);
        // should rounding say otherwise, the earliest deadline of all runs.
        let chosen = eligible.by_ref().min_by_key(by_deadline).or_else(|| self.queue.iter().min_by_key(by_deadline));
        let task = *chosen?;
        self.queue.retain(|&queued| queued != task);
        if let Some(state) = self.tasks.get_mut(&task) {
            state.queued = false;
            state.running = true;
        }
        Some(task)
    }

    fn tick(&mut self, task: TaskId) -> bool {
        let Some(state) = self.tasks.get_mut(&task).filter(|state| state.running) else { return false };
        state.vruntime += i128::from(virtual_tick(state.weight));
        state.served = state.served.saturating_add(1);
        if state.served < state.request {
            // A woken task with an earlier deadline takes the CPU at this tick (the
            // kernel preempts only at ticks: Linux's wake-up preemption, a tick late).
            let deadline = state.deadline;
            let virtual_time = self.virtual_time();
            return self
                .queue
                .iter()
                .filter_map(|id| self.tasks.get(id))
                .any(|other| other.vruntime <= virtual_time && other.deadline < deadline);
        }
        // The request is served: the next one starts now (as Linux's
        // update_deadline), its deadline a request later.
        state.served = 0;
        state.deadline = state.vruntime + Eevdf::request_span(state);
        true
    }

    fn ticks_before_expiry(&self, task: TaskId) -> u32 {
        match self.tasks.get(&task) {
            Some(state) if state.running && self.queue.is_empty() => state.request.saturating_sub(state.served).max(1),
            _ => 1,
        }
    }

    fn remove(&mut self, task: TaskId) {
        self.tasks.remove(&task);
        self.queue.retain(|&queued| queued != task);
    }

    fn migration_candidate(&self) -> Option<TaskId> {
        self.queue.last().copied()
    }

    fn queued(&self) -> usize {
        self.queue.len()
    }

    fn set_request(&mut self, task: TaskId, ticks: u32) {
        let fresh = self.new_task();
        let state = self.tasks.entry(task).or_insert(fresh);
        state.request = ticks.max(1);
    }

    fn set_nice(&mut self, task: TaskId, nice: i8) {
        let fresh = self.new_task();
        let state = self.tasks.entry(task).or_insert(fresh);
        state.weight = weight(nice);
    }

    fn describe(&self, task: TaskId) -> String {
        let Some(state) = self.tasks.get(&task) else {
            return String::from("policy: eevdf\nunknown to the policy\n");
        };
        let virtual_time = self.virtual_time();
        let competing = state.queued || state.running;
        let lag = if competing { self.lag(state) } else { state.kept_lag };
        format!(
            "policy: eevdf\nweight: {}\nrequest: {} ticks\nserved: {} ticks\nvruntime: {}\nvirtual time: {virtual_time}\n\
             lag: {lag}\ndeadline: {}\neligible: {}\nqueued: {}\n",
            state.weight,
            state.request,
            state.served,
            state.vruntime,
            state.deadline,
            if competing && lag >= 0 { "yes" } else { "no" },
            if state.queued { "yes" } else { "no" },
        )
    }

    fn describe_policy(&self) -> String {
        let mut order: Vec<(i128, TaskId)> =
            self.queue.iter().filter_map(|id| self.tasks.get(id).map(|task| (task.deadline, *id))).collect();
        order.sort();
        let queue = queue_line(order.iter().map(|&(deadline, id)| (id, u64::try_from(deadline).ok())));
        format!(
            "policy: eevdf\ndefault request: {} ticks\nvirtual time: {}\nqueue (deadline): {queue}\n",
            self.default_request,
            self.virtual_time()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::sim::checks::{hostile_calls, shares};
    use crate::sched::sim::{Job, Pattern, Simulation};
    use alloc::string::ToString;

    fn field(policy: &Eevdf, task: TaskId, name: &str) -> String {
        let text = policy.describe(task);
        let line = text.lines().find(|line| line.starts_with(name)).unwrap_or_else(|| panic!("{name} in {text}"));
        line[name.len() + 2..].into()
    }

    #[test]
    fn the_eligible_task_with_the_earliest_deadline_runs() {
        // Two tasks of equal weight, requests of 1 and 3 ticks (the paper's two
        // clients with different request sizes): both start eligible at V = 0; the
        // short request's deadline, 1 tick of virtual time away, comes first.
        let mut policy = Eevdf::new(3);
        policy.set_request(1, 1);
        policy.enqueue(1, Arrival::New);
        policy.enqueue(2, Arrival::New);
        assert_eq!(field(&policy, 1, "deadline"), (VIRTUAL_TICK_AT_0).to_string());
        assert_eq!(field(&policy, 2, "deadline"), (3 * VIRTUAL_TICK_AT_0).to_string());
        assert_eq!(policy.pick_next(), Some(1));
        // Its one-tick request served, it is behind V no more: ahead, with lag < 0
        // (V = half a tick), it is not eligible, and task 2 runs though its
        // deadline (3) is later than task 1's new one (2).
        assert!(policy.tick(1));
        policy.enqueue(1, Arrival::Preempted);
        assert_eq!(field(&policy, 1, "eligible"), "no");
        assert_eq!(field(&policy, 1, "lag"), (-(VIRTUAL_TICK_AT_0 as i128) / 2).to_string());
        assert_eq!(field(&policy, 1, "deadline"), (2 * VIRTUAL_TICK_AT_0).to_string());
        assert_eq!(field(&policy, 2, "eligible"), "yes");
        assert_eq!(policy.pick_next(), Some(2));
        // After one tick of task 2, V = 1 tick: task 1 is eligible again, with the
        // earlier deadline (2 against 3), and takes the CPU back.
        assert!(policy.tick(2));
        policy.enqueue(2, Arrival::Preempted);
        assert_eq!(field(&policy, 1, "eligible"), "yes");
        assert_eq!(policy.pick_next(), Some(1));
    }

    const VIRTUAL_TICK_AT_0: u64 = super::super::VIRTUAL_TICK;

    #[test]
    fn shares_follow_the_weights() {
        let jobs = [Job::cpu(1), Job::cpu(2).nice(5), Job::cpu(3).nice(-3)];
        let mut sim = Simulation::new(Eevdf::new(3), &jobs);
        let got = shares(&sim.run(30_000), &[1, 2, 3]);
        let total = f64::from(weight(0) + weight(5) + weight(-3));
        for (count, nice) in got.iter().zip([0, 5, -3]) {
            let expected = 30_000.0 * f64::from(weight(nice)) / total;
            assert!((*count as f64 - expected).abs() < expected * 0.02, "{got:?}");
        }
    }

    #[test]
    fn lag_is_kept_across_a_sleep_halved() {
        let mut policy = Eevdf::new(1);
        policy.enqueue(1, Arrival::New);
        policy.enqueue(2, Arrival::New);
        // Task 1 runs 1 tick, then blocks (the next pick, with it not requeued).
        assert_eq!(policy.pick_next(), Some(1));
        policy.tick(1);
        // V over both = half a tick: task 1 is half a tick ahead (lag -1/2).
        assert_eq!(policy.pick_next(), Some(2));
        assert_eq!(field(&policy, 1, "lag"), (-(VIRTUAL_TICK_AT_0 as i128) / 4).to_string());
        assert_eq!(field(&policy, 1, "eligible"), "no");
        for _ in 0..10 {
            policy.tick(2);
        }
        // It wakes a quarter tick behind V (= task 2's runtime): not eligible yet.
        policy.enqueue(1, Arrival::Woken);
        let v = 10 * VIRTUAL_TICK_AT_0 as i128;
        assert_eq!(field(&policy, 1, "vruntime"), (v + VIRTUAL_TICK_AT_0 as i128 / 4).to_string());
        assert_eq!(field(&policy, 1, "eligible"), "no");
        policy.enqueue(2, Arrival::Preempted);
        assert_eq!(policy.pick_next(), Some(2));
    }

    #[test]
    fn a_short_request_beside_batch_tasks_waits_little() {
        let run = |request: u32| {
            let sleeper = Job::cpu(3).pattern(Pattern::Interactive { run: 1, sleep: 5 });
            let mut policy = Eevdf::new(10);
            policy.set_request(3, request);
            let mut sim = Simulation::new(policy, &[Job::cpu(1), Job::cpu(2), sleeper]);
            sim.run(20_000);
            sim.wake_delays().iter().map(|&(_, delay)| delay).max().unwrap_or(0)
        };
        assert!(run(1) <= 1, "{}", run(1));
        assert!(run(10) > run(1));
    }

    #[test]
    fn hostile_call_sequences_never_panic() {
        for seed in 1..=5 {
            hostile_calls(&mut Eevdf::new(2), seed);
        }
    }
}
