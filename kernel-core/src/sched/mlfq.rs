//! The multi-level feedback queue, following OSTEP ch. 8's five rules:
//!
//! 1. If Priority(A) > Priority(B), A runs (B doesn't): a task waiting at a higher
//!    level preempts the running one at the next tick.
//! 2. If Priority(A) = Priority(B), A and B run in round robin, each for its level's
//!    quantum.
//! 3. A new task enters at the highest priority (the top level).
//! 4. Once a task uses up its time allotment at a level (however many times it has
//!    given up the CPU), it moves down one level. The allotment is the level's
//!    quantum, counted across sleeps and yields: yielding just before the quantum
//!    ends buys nothing.
//! 5. After every boost period, all tasks move back to the top level.
//!
//! The allotment of rule 4 can instead restart whenever the task gives up the CPU
//! (`Allotment::PerBurst`: OSTEP's earlier rules 4a/4b), which a task can game by
//! yielding just before its quantum ends; the simulator uses it to draw that.
//!
//! - Woken task: back of its level, its allotment as it was.
//! - sched_yield: back of its level; the ticks it ran stay counted.
//! - nice is ignored: the levels are the priorities.
//!
//! The boost clock counts ticks of running tasks (an idle CPU starves nobody).
//! Pick is O(levels), enqueue and tick O(log n).

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::{queue_line, Arrival, Level, Scheduler, TaskId};

/// How rule 4's allotment is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allotment {
    /// Rule 4: counted across everything until the task moves down.
    PerLevel,
    /// Rules 4a/4b: restarts whenever the task gives up the CPU (gameable).
    PerBurst,
}

/// What an MLFQ is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MlfqConfig {
    /// The quantum (and allotment) of each level in ticks, top level first; one
    /// level at least (an empty list means one level of 10 ticks). Zero counts as 1.
    pub quanta_ticks: Vec<u32>,
    /// Ticks between priority boosts; 0: never.
    pub boost_ticks: u32,
    pub allotment: Allotment,
}

impl MlfqConfig {
    /// `levels` levels whose quanta are `quanta` (the last one repeating for the
    /// levels below it), boosting every `boost_ticks`.
    pub fn new(levels: usize, quanta: &[u32], boost_ticks: u32) -> MlfqConfig {
        let last = quanta.last().copied().unwrap_or(10);
        let quanta_ticks = (0..levels.max(1)).map(|level| quanta.get(level).copied().unwrap_or(last).max(1)).collect();
        MlfqConfig { quanta_ticks, boost_ticks, allotment: Allotment::PerLevel }
    }
}

#[derive(Clone, Copy)]
struct Task {
    level: usize,
    /// Ticks used of the allotment at this level.
    used: u32,
    queued: bool,
}

pub struct Mlfq {
    config: MlfqConfig,
    /// One FIFO per level, top level first.
    queues: Vec<VecDeque<TaskId>>,
    tasks: BTreeMap<TaskId, Task>,
    ticks_since_boost: u32,
    boosts: u64,
}

impl Mlfq {
    pub fn new(mut config: MlfqConfig) -> Mlfq {
        if config.quanta_ticks.is_empty() {
            config.quanta_ticks.push(10);
        }
        let levels = config.quanta_ticks.len();
        Mlfq {
            config,
            queues: (0..levels).map(|_| VecDeque::new()).collect(),
            tasks: BTreeMap::new(),
            ticks_since_boost: 0,
            boosts: 0,
        }
    }

    /// The level of `task` (0 is the top), if the policy knows it.
    pub fn level_of(&self, task: TaskId) -> Option<usize> {
        self.tasks.get(&task).map(|t| t.level)
    }

    /// How many priority boosts have happened.
    pub fn boosts(&self) -> u64 {
        self.boosts
    }

    /// The quantum of each level, top first.
    pub fn quanta(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.levels()).map(|level| self.quantum(level))
    }

    /// Ticks of running tasks until the next boost, as text ("never" without one).
    fn next_boost(&self) -> String {
        match self.config.boost_ticks {
            0 => String::from("never"),
            boost => format!("{} ticks", boost.saturating_sub(self.ticks_since_boost)),
        }
    }

    fn levels(&self) -> usize {
        self.queues.len()
    }

    fn quantum(&self, level: usize) -> u32 {
        self.config.quanta_ticks.get(level).copied().unwrap_or(1).max(1)
    }

    /// Rule 5: every task to the top level, with a fresh allotment; the queued
    /// ones keep their order (higher levels first).
    fn boost(&mut self) {
        self.ticks_since_boost = 0;
        self.boosts += 1;
        for task in self.tasks.values_mut() {
            task.level = 0;
            task.used = 0;
        }
        let mut top = VecDeque::new();
        for queue in &mut self.queues {
            top.append(queue);
        }
        if let Some(first) = self.queues.first_mut() {
            *first = top;
        }
    }

    fn dequeue(&mut self, task: TaskId, level: usize) {
        if let Some(queue) = self.queues.get_mut(level) {
            queue.retain(|&queued| queued != task);
        }
    }
}

impl Scheduler for Mlfq {
    fn enqueue(&mut self, task: TaskId, arrival: Arrival) {
        let state = *self.tasks.entry(task).or_insert(Task { level: 0, used: 0, queued: false });
        if state.queued {
            self.dequeue(task, state.level);
        }
        let mut state = state;
        match arrival {
            // Rule 3.
            Arrival::New => {
                state.level = 0;
                state.used = 0;
            }
            Arrival::Woken | Arrival::Yielded if self.config.allotment == Allotment::PerBurst => state.used = 0,
            _ => {}
        }
        state.level = state.level.min(self.levels() - 1);
        state.queued = true;
        self.tasks.insert(task, state);
        if let Some(queue) = self.queues.get_mut(state.level) {
            queue.push_back(task);
        }
    }

    fn pick_next(&mut self) -> Option<TaskId> {
        // Rules 1 and 2: the front of the highest non-empty level.
        let task = self.queues.iter_mut().find_map(VecDeque::pop_front)?;
        if let Some(state) = self.tasks.get_mut(&task) {
            state.queued = false;
        }
        Some(task)
    }

    fn tick(&mut self, task: TaskId) -> bool {
        if self.tasks.get(&task).is_none_or(|state| state.queued) {
            return false;
        }
        if self.config.boost_ticks > 0 {
            self.ticks_since_boost = self.ticks_since_boost.saturating_add(1);
            if self.ticks_since_boost >= self.config.boost_ticks {
                // Rule 5. The running task goes to the back of the top level too,
                // so the top level is served in order and no task gains a turn.
                self.boost();
                return true;
            }
        }
        let bottom = self.levels() - 1;
        let Some(&Task { level, used, .. }) = self.tasks.get(&task) else { return false };
        let used = used.saturating_add(1);
        let exhausted = used >= self.quantum(level);
        if let Some(state) = self.tasks.get_mut(&task) {
            if exhausted {
                // Rule 4 (at the bottom: round robin with the bottom's quantum).
                state.used = 0;
                state.level = (level + 1).min(bottom);
            } else {
                state.used = used;
            }
        }
        // Rule 1: someone is waiting at a higher level.
        exhausted || self.queues.iter().take(level).any(|queue| !queue.is_empty())
    }

    fn ticks_before_expiry(&self, task: TaskId) -> u32 {
        let Some(state) = self.tasks.get(&task).filter(|state| !state.queued) else { return 1 };
        if self.queues.iter().any(|queue| !queue.is_empty()) {
            return 1;
        }
        let allotment = self.quantum(state.level).saturating_sub(state.used);
        let until_boost = match self.config.boost_ticks {
            0 => u32::MAX,
            boost_ticks => boost_ticks.saturating_sub(self.ticks_since_boost),
        };
        allotment.min(until_boost).max(1)
    }

    /// Within the promise nothing moves: the allotment and the boost's count go on.
    fn charge_ticks(&mut self, task: TaskId, n: u32) {
        let Some(state) = self.tasks.get_mut(&task).filter(|state| !state.queued) else { return };
        state.used = state.used.saturating_add(n);
        if self.config.boost_ticks > 0 {
            self.ticks_since_boost = self.ticks_since_boost.saturating_add(n);
        }
    }

    fn remove(&mut self, task: TaskId) {
        if let Some(state) = self.tasks.remove(&task) {
            if state.queued {
                self.dequeue(task, state.level);
            }
        }
    }

    fn migration_candidate(&self) -> Option<TaskId> {
        self.queues.iter().rev().find_map(|queue| queue.back().copied())
    }

    fn queued(&self) -> usize {
        self.queues.iter().map(VecDeque::len).sum()
    }

    /// Its level, what is left of its allotment there, and the time to the next
    /// boost (which would put it back at the top).
    fn describe(&self, task: TaskId) -> String {
        let Some(state) = self.tasks.get(&task) else { return String::from("policy: mlfq\nunknown to the policy\n") };
        let quantum = self.quantum(state.level);
        format!(
            "policy: mlfq\nlevel: {} of {} (0 is the top)\nallotment left: {} of {} ticks\nnext boost in: {}\nqueued: {}\n",
            state.level,
            self.levels(),
            quantum.saturating_sub(state.used),
            quantum,
            self.next_boost(),
            if state.queued { "yes" } else { "no" },
        )
    }

    fn describe_policy(&self) -> String {
        let quanta: Vec<String> = self.quanta().map(|quantum| format!("{quantum}")).collect();
        let mut text = format!(
            "policy: mlfq\nquanta: {} ticks\nnext boost in: {}\nboosts: {}\n",
            quanta.join(" "),
            self.next_boost(),
            self.boosts
        );
        for (level, queue) in self.queues.iter().enumerate() {
            text.push_str(&format!("queue {level}: {}\n", queue_line(queue.iter().map(|&task| (task, None)))));
        }
        text
    }

    fn level(&self, task: TaskId) -> Option<Level> {
        let level = self.level_of(task)?;
        Some(Level { level: u8::try_from(level).unwrap_or(u8::MAX), boosts: self.boosts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::sim::checks::{hostile_calls, shares};
    use crate::sched::sim::{Job, Pattern, Simulation};

    #[test]
    fn a_hog_is_described_moving_down_with_its_allotment_spent() {
        let mut policy = Mlfq::new(MlfqConfig::new(3, &[2, 4], 20));
        policy.enqueue(7, Arrival::New);
        policy.enqueue(8, Arrival::New);
        let fresh = "policy: mlfq\nlevel: 0 of 3 (0 is the top)\nallotment left: 2 of 2 ticks\nnext boost in: 20 ticks\nqueued: yes\n";
        assert_eq!(policy.describe(7), fresh);
        assert_eq!(policy.pick_next(), Some(7));
        assert!(!policy.tick(7));
        assert!(policy.describe(7).contains(
            "level: 0 of 3 (0 is the top)\nallotment left: 1 of 2 ticks\nnext boost in: 19 ticks\nqueued: no\n"
        ));
        assert!(policy.tick(7), "its allotment is spent");
        policy.enqueue(7, Arrival::Preempted);
        assert!(policy
            .describe(7)
            .contains("level: 1 of 3 (0 is the top)\nallotment left: 4 of 4 ticks\nnext boost in: 18 ticks\n"));
        assert_eq!(policy.describe_policy(), "policy: mlfq\nquanta: 2 4 4 ticks\nnext boost in: 18 ticks\nboosts: 0\nqueue 0: 8\nqueue 1: 7\nqueue 2: \n");
        assert_eq!(policy.describe(9), "policy: mlfq\nunknown to the policy\n");
    }

    #[test]
    fn the_level_follows_the_allotment_and_the_boost() {
        let mut policy = Mlfq::new(MlfqConfig::new(3, &[1, 1], 3));
        assert_eq!(policy.level(7), None, "unknown");
        policy.enqueue(7, Arrival::New);
        assert_eq!(policy.level(7), Some(Level { level: 0, boosts: 0 }));
        assert_eq!(policy.pick_next(), Some(7));
        assert!(policy.tick(7));
        assert_eq!(policy.level(7), Some(Level { level: 1, boosts: 0 }));
        policy.enqueue(7, Arrival::Preempted);
        assert_eq!(policy.pick_next(), Some(7));
        assert!(policy.tick(7));
        assert_eq!(policy.level(7), Some(Level { level: 2, boosts: 0 }));
        policy.enqueue(7, Arrival::Preempted);
        assert_eq!(policy.pick_next(), Some(7));
        assert!(policy.tick(7), "the third tick boosts");
        assert_eq!(policy.level(7), Some(Level { level: 0, boosts: 1 }));
        // Through a box too (the kernel holds its policy boxed).
        let boxed: alloc::boxed::Box<dyn Scheduler> = alloc::boxed::Box::new(policy);
        assert_eq!(alloc::boxed::Box::new(boxed).level(7), Some(Level { level: 0, boosts: 1 }));
        assert_eq!(crate::sched::RoundRobin::new(5).level(7), None);
    }

    fn three_levels(boost: u32) -> Mlfq {
        Mlfq::new(MlfqConfig::new(3, &[10, 20, 40], boost))
    }

    #[test]
    fn config_repeats_the_last_quantum_and_ignores_extras() {
        assert_eq!(MlfqConfig::new(4, &[5, 7], 0).quanta_ticks, [5, 7, 7, 7]);
        assert_eq!(MlfqConfig::new(2, &[1, 2, 3], 0).quanta_ticks, [1, 2]);
        assert_eq!(MlfqConfig::new(0, &[], 0).quanta_ticks, [10]);
        assert_eq!(MlfqConfig::new(1, &[0], 0).quanta_ticks, [1]);
        assert_eq!(
            Mlfq::new(MlfqConfig { quanta_ticks: Vec::new(), boost_ticks: 0, allotment: Allotment::PerLevel })
                .quanta()
                .count(),
            1
        );
    }

    #[test]
    fn a_long_job_moves_down_one_level_per_allotment() {
        // OSTEP fig. 8.2: a long-running job alone.
        let mut sim = Simulation::new(three_levels(0), &[Job::cpu(1)]);
        let mut levels = Vec::new();
        for _ in 0..100 {
            levels.push(sim.policy.level_of(1).unwrap());
            sim.step();
        }
        assert!(levels[..10].iter().all(|&l| l == 0));
        assert!(levels[10..30].iter().all(|&l| l == 1));
        assert!(levels[30..].iter().all(|&l| l == 2));
    }

    #[test]
    fn a_short_job_arriving_runs_at_once_and_finishes_at_the_top() {
        // OSTEP fig. 8.3: along came a short job.
        let jobs = [Job::cpu(1), Job::cpu(2).arriving(100).work(8)];
        let mut sim = Simulation::new(three_levels(0), &jobs);
        let timeline = sim.run(120);
        assert!(timeline[..100].iter().all(|&t| t == Some(1)));
        assert_eq!(&timeline[100..108], &[Some(2); 8]);
        assert_eq!(sim.finished_at(2), Some(108));
        assert!(timeline[108..].iter().all(|&t| t == Some(1)));
    }

    #[test]
    fn an_interactive_job_preempts_a_long_one_within_a_tick() {
        // OSTEP fig. 8.4: the interactive job stays above the CPU-bound ones and runs
        // as soon as it wakes, except just after a boost, when the CPU-bound jobs are
        // back on top for one allotment (at most 2 x 10 ticks here).
        let jobs =
            [Job::cpu(1), Job::cpu(2), Job::cpu(3).arriving(50).pattern(Pattern::Interactive { run: 1, sleep: 5 })];
        let mut sim = Simulation::new(three_levels(100), &jobs);
        sim.run(3000);
        let delays = sim.wake_delays();
        assert!(delays.len() > 300);
        assert!(delays.iter().all(|&(_, delay)| delay <= 20), "{delays:?}");
        let prompt = delays.iter().filter(|&&(_, delay)| delay <= 1).count();
        assert!(prompt * 10 >= delays.len() * 8, "{prompt} of {} within a tick", delays.len());
        // Without boosts, rule 4 takes it down to the CPU-bound jobs eventually: it
        // does use the CPU, a tick every 6.
        let mut sim = Simulation::new(three_levels(0), &jobs);
        sim.run(3000);
        assert_eq!(sim.policy.level_of(3), Some(2));
    }

    #[test]
    fn yielding_before_the_quantum_ends_does_not_keep_a_job_on_top() {
        // OSTEP fig. 8.6 (right): with allotment accounting the gamer moves down too.
        let jobs = [Job::cpu(1), Job::cpu(2).pattern(Pattern::Yielder { run: 9 })];
        let mut sim = Simulation::new(three_levels(0), &jobs);
        let got = shares(&sim.run(1000), &[1, 2]);
        assert_eq!(sim.policy.level_of(2), Some(2));
        assert!(got[1] < 600, "the gamer got {got:?}");
        // Under rules 4a/4b (fig. 8.6, left) it stays on top and takes (nearly) everything.
        let mut config = MlfqConfig::new(3, &[10, 20, 40], 0);
        config.allotment = Allotment::PerBurst;
        let mut sim = Simulation::new(Mlfq::new(config), &jobs);
        let got = shares(&sim.run(1000), &[1, 2]);
        assert_eq!(sim.policy.level_of(2), Some(0));
        assert!(got[0] < 50, "the gamer got {got:?}");
    }

    #[test]
    fn without_boost_a_stream_of_short_jobs_starves_a_long_one_and_boost_ends_that() {
        // OSTEP fig. 8.5: short jobs arriving one after another keep the top level busy.
        let mut jobs = alloc::vec![Job::cpu(1)];
        for n in 0..200u32 {
            jobs.push(Job::cpu(10 + n).arriving(100 + 3 * u64::from(n)).work(3));
        }
        let mut starved = Simulation::new(three_levels(0), &jobs);
        let timeline = starved.run(700);
        assert_eq!(shares(&timeline[100..700], &[1]), [0], "no boost: the long job starves while the stream lasts");
        let mut boosted = Simulation::new(three_levels(50), &jobs);
        let timeline = boosted.run(700);
        // Each boost gives it a top-level allotment (10 ticks) after the short jobs
        // already waiting there, whose backlog grows by those 10 ticks each time.
        assert!(shares(&timeline[100..700], &[1])[0] >= 60);
        for window in timeline[100..700].chunks(150) {
            assert!(shares(window, &[1])[0] >= 10, "with a boost every 50 ticks the long job runs in every 150 ticks");
        }
        assert!(boosted.policy.boosts() >= 13);
    }

    #[test]
    fn equal_cpu_bound_jobs_share_equally_at_the_bottom() {
        let mut sim = Simulation::new(three_levels(100), &[Job::cpu(1), Job::cpu(2), Job::cpu(3)]);
        let got = shares(&sim.run(3000), &[1, 2, 3]);
        let (min, max) = (got.iter().min().unwrap(), got.iter().max().unwrap());
        assert!(max - min <= 40, "{got:?}");
    }

    #[test]
    fn a_woken_job_keeps_its_level_and_a_new_one_starts_on_top() {
        let mut policy = three_levels(0);
        policy.enqueue(1, Arrival::New);
        assert_eq!(policy.pick_next(), Some(1));
        for _ in 0..10 {
            policy.tick(1);
        }
        assert_eq!(policy.level_of(1), Some(1));
        // It blocks, then wakes: still level 1.
        policy.enqueue(1, Arrival::Woken);
        assert_eq!(policy.level_of(1), Some(1));
        policy.enqueue(2, Arrival::New);
        assert_eq!(policy.level_of(2), Some(0));
        assert_eq!(policy.pick_next(), Some(2));
        assert_eq!(policy.pick_next(), Some(1));
        assert_eq!(policy.pick_next(), None);
    }

    #[test]
    fn hostile_call_sequences_never_panic() {
        for seed in 1..=5 {
            hostile_calls(&mut three_levels(7), seed);
            hostile_calls(&mut Mlfq::new(MlfqConfig::new(1, &[1], 1)), seed);
        }
    }
}
