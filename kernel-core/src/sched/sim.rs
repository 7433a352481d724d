//! A simulated CPU with a simulated clock, for driving a policy over a synthetic
//! workload exactly as the kernel drives it: the unit tests use it, and so does
//! `timeshare sched-sim`, which draws the textbook's figures from its results.
//!
//! Time advances one tick per `step`. At each tick boundary, in the kernel's order:
//! due arrivals and wake-ups are enqueued, then the task that ran during the tick
//! is charged with `tick` and preempted if the policy says so (or blocks, yields
//! or finishes, as its job prescribes), then the CPU picks a task if it has none.

use alloc::vec::Vec;

use super::{Arrival, Scheduler, TaskId};

/// How a job uses the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// Runs whenever it has the CPU.
    CpuBound,
    /// Runs `run` ticks, then sleeps `sleep` ticks (an interactive job).
    Interactive { run: u32, sleep: u32 },
    /// Runs `run` ticks, then calls sched_yield (a job that tries to game a policy).
    Yielder { run: u32 },
    /// Runs `run` ticks, then blocks waiting for job `peer` (telling the policy,
    /// `waits_for`) until `peer` has run `work` more ticks: a client waiting for
    /// its server's answer.
    Client { run: u32, peer: TaskId, work: u64 },
}

/// One job of a workload.
#[derive(Clone, Copy, Debug)]
pub struct Job {
    pub id: TaskId,
    pub nice: i8,
    /// The tick at which it is created.
    pub arrival: u64,
    /// Ticks of CPU it needs before it exits; `None`: it never exits.
    pub work: Option<u64>,
    pub pattern: Pattern,
}

impl Job {
    /// A CPU-bound job at nice 0 that is there from tick 0 and never ends.
    pub fn cpu(id: TaskId) -> Job {
        Job { id, nice: 0, arrival: 0, work: None, pattern: Pattern::CpuBound }
    }

    pub fn nice(self, nice: i8) -> Job {
        Job { nice, ..self }
    }

    pub fn arriving(self, arrival: u64) -> Job {
        Job { arrival, ..self }
    }

    pub fn work(self, ticks: u64) -> Job {
        Job { work: Some(ticks), ..self }
    }

    pub fn pattern(self, pattern: Pattern) -> Job {
        Job { pattern, ..self }
    }
}

/// Where a job stands. `Simulation` and `SmpSimulation` share it, and the
/// decisions below, so that one CPU and several run a workload's jobs alike and
/// differ only in how CPUs are given out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
    NotYet,
    Queued,
    Running,
    /// Sleeping until the tick it holds.
    Sleeping(u64),
    /// Waiting until job `peer` has had `until` ticks of CPU.
    Waiting {
        peer: TaskId,
        until: u64,
    },
    Done,
}

/// A job and its progress; `Local` is what only one simulation records about it.
#[derive(Clone, Debug)]
pub(super) struct JobState<Local> {
    pub(super) job: Job,
    pub(super) state: State,
    /// Ticks of CPU received so far.
    pub(super) cpu: u64,
    /// Ticks run since it last got the CPU after a block or yield.
    pub(super) burst: u32,
    pub(super) local: Local,
}

impl<Local> JobState<Local> {
    pub(super) fn new(job: Job, local: Local) -> Self {
        JobState { job, state: State::NotYet, cpu: 0, burst: 0, local }
    }

    /// Counts the tick it has just run.
    pub(super) fn ran_tick(&mut self) {
        self.cpu += 1;
        self.burst = self.burst.saturating_add(1);
    }

    /// How it enters a run queue now, if it arrives or wakes up now; `cpu_of`
    /// gives a job's ticks so far, which a waiting client's wake-up depends on.
    pub(super) fn due(&self, now: u64, cpu_of: impl Fn(TaskId) -> u64) -> Option<Arrival> {
        match self.state {
            State::NotYet if self.job.arrival <= now => Some(Arrival::New),
            State::Sleeping(until) if until <= now => Some(Arrival::Woken),
            State::Waiting { peer, until } if cpu_of(peer) >= until => Some(Arrival::Woken),
            _ => None,
        }
    }
}

/// Ticks of CPU job `id` has received (0 for a job not in `jobs`).
pub(super) fn ticks_of<Local>(jobs: &[JobState<Local>], id: TaskId) -> u64 {
    jobs.iter().find(|job| job.job.id == id).map_or(0, |job| job.cpu)
}

/// After job `index` has run a tick that `policy` judged `expired`: whether it
/// keeps the CPU. Its job's end or pattern comes first (it finishes, sleeps,
/// yields or waits for its peer's answer), then the policy's preemption. If it
/// leaves, `policy` hears of it as the kernel would tell it, and the state it
/// left in is returned. A preempted job keeps its burst: it did not choose to
/// stop, so its pattern's next block or yield is not postponed.
pub(super) fn after_tick<Local>(
    jobs: &mut [JobState<Local>],
    index: usize,
    now: u64,
    expired: bool,
    policy: &mut dyn Scheduler,
) -> Option<State> {
    let client_peer_cpu = match jobs.get(index)?.job.pattern {
        Pattern::Client { peer, .. } => ticks_of(jobs, peer),
        _ => 0,
    };
    let job = jobs.get_mut(index)?;
    let (state, arrival) = if job.job.work.is_some_and(|work| job.cpu >= work) {
        (State::Done, None)
    } else {
        match job.job.pattern {
            Pattern::Interactive { run, sleep } if job.burst >= run => (State::Sleeping(now + u64::from(sleep)), None),
            Pattern::Yielder { run } if job.burst >= run => (State::Queued, Some(Arrival::Yielded)),
            Pattern::Client { run, peer, work } if job.burst >= run => {
                (State::Waiting { peer, until: client_peer_cpu + work }, None)
            }
            _ if expired => (State::Queued, Some(Arrival::Preempted)),
            _ => return None,
        }
    };
    job.state = state;
    if arrival != Some(Arrival::Preempted) {
        job.burst = 0;
    }
    let id = job.job.id;
    match (arrival, state) {
        (Some(arrival), _) => policy.enqueue(id, arrival),
        (None, State::Done) => policy.remove(id),
        (None, State::Waiting { peer, .. }) => policy.waits_for(id, peer),
        (None, _) => {}
    }
    Some(state)
}

/// What only `Simulation` records about a job.
#[derive(Clone, Debug)]
struct Times {
    finished_at: Option<u64>,
    /// When it last woke from a sleep, until it runs again.
    woke_at: Option<u64>,
}

/// A policy, a workload, and a clock.
pub struct Simulation<P: Scheduler> {
    pub policy: P,
    jobs: Vec<JobState<Times>>,
    now: u64,
    running: Option<usize>,
    /// Ticks between a wake-up and the next run, for every wake-up.
    wake_delays: Vec<(TaskId, u64)>,
}

impl<P: Scheduler> Simulation<P> {
    pub fn new(policy: P, jobs: &[Job]) -> Self {
        let jobs = jobs.iter().map(|&job| JobState::new(job, Times { finished_at: None, woke_at: None })).collect();
        let mut simulation = Simulation { policy, jobs, now: 0, running: None, wake_delays: Vec::new() };
        simulation.admit();
        simulation
    }

    /// The current tick.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The task that holds the CPU during the next tick (the policy picks one now
    /// if the CPU has none), or None if the CPU will idle.
    pub fn running(&mut self) -> Option<TaskId> {
        self.dispatch();
        self.running.and_then(|index| self.jobs.get(index)).map(|job| job.job.id)
    }

    /// Simulates one tick; returns the task that held the CPU during it (None: idle).
    pub fn step(&mut self) -> Option<TaskId> {
        if self.running.is_none() {
            self.dispatch();
        }
        let index = self.running?;
        // `self.running` is always a valid index; `?` keeps that from being a panic.
        let id = self.jobs.get(index)?.job.id;
        self.now += 1;
        if let Some(job) = self.jobs.get_mut(index) {
            job.ran_tick();
        }
        self.admit();
        let expired = self.policy.tick(id);
        let Some(left) = after_tick(&mut self.jobs, index, self.now, expired, &mut self.policy) else {
            return Some(id);
        };
        if left == State::Done {
            if let Some(job) = self.jobs.get_mut(index) {
                job.local.finished_at = Some(self.now);
            }
        }
        self.running = None;
        // A sleep of 0 ticks: awake again at once.
        self.admit();
        self.dispatch();
        Some(id)
    }

    /// Runs `ticks` ticks; returns the timeline (who ran at each tick).
    pub fn run(&mut self, ticks: u64) -> Vec<Option<TaskId>> {
        (0..ticks).map(|_| self.step()).collect()
    }

    /// Runs until every job with work has finished, at most `limit` ticks.
    pub fn run_to_completion(&mut self, limit: u64) {
        while self.now < limit && self.jobs.iter().any(|job| job.job.work.is_some() && job.state != State::Done) {
            self.step();
        }
    }

    /// Ticks of CPU `id` has received.
    pub fn cpu(&self, id: TaskId) -> u64 {
        ticks_of(&self.jobs, id)
    }

    /// When `id` finished, if it has.
    pub fn finished_at(&self, id: TaskId) -> Option<u64> {
        self.job(id).and_then(|job| job.local.finished_at)
    }

    /// (task, ticks from waking to running) for every wake-up so far.
    pub fn wake_delays(&self) -> &[(TaskId, u64)] {
        &self.wake_delays
    }

    fn job(&self, id: TaskId) -> Option<&JobState<Times>> {
        self.jobs.iter().find(|job| job.job.id == id)
    }

    /// Enqueues the jobs that arrive or wake up now.
    fn admit(&mut self) {
        let now = self.now;
        for index in 0..self.jobs.len() {
            let Some(job) = self.jobs.get(index) else { continue };
            let Some(arrival) = job.due(now, |peer| ticks_of(&self.jobs, peer)) else { continue };
            let (id, nice) = (job.job.id, job.job.nice);
            if arrival == Arrival::New {
                self.policy.set_nice(id, nice);
            }
            if let Some(job) = self.jobs.get_mut(index) {
                if arrival != Arrival::New {
                    job.local.woke_at = Some(now);
                }
                job.state = State::Queued;
            }
            self.policy.enqueue(id, arrival);
        }
    }

    /// Gives the CPU to the policy's choice, if it has none.
    fn dispatch(&mut self) {
        if self.running.is_some() {
            return;
        }
        let Some(id) = self.policy.pick_next() else { return };
        let Some(index) = self.jobs.iter().position(|job| job.job.id == id) else { return };
        if let Some(job) = self.jobs.get_mut(index) {
            job.state = State::Running;
            if let Some(woke) = job.local.woke_at.take() {
                self.wake_delays.push((id, now_minus(self.now, woke)));
            }
        }
        self.running = Some(index);
    }
}

fn now_minus(now: u64, then: u64) -> u64 {
    now.saturating_sub(then)
}

#[cfg(test)]
pub(crate) mod checks {
    //! Assertions shared by the policies' unit tests.
    use super::*;

    /// How many ticks each of `ids` held the CPU in `timeline`.
    pub(crate) fn shares(timeline: &[Option<TaskId>], ids: &[TaskId]) -> Vec<u64> {
        ids.iter().map(|id| timeline.iter().filter(|&&t| t == Some(*id)).count() as u64).collect()
    }

    /// Drives a policy through a storm of arbitrary calls (ticks for tasks that are
    /// not running, removals of unknown tasks, any nice value): it must never panic
    /// and must only ever pick tasks that are queued.
    pub(crate) fn hostile_calls(policy: &mut dyn Scheduler, seed: u64) {
        let mut rng = crate::test_support::Rng::new(seed);
        let mut queued: Vec<TaskId> = Vec::new();
        for _ in 0..20_000 {
            let task = rng.below(12) as TaskId;
            match rng.below(10) {
                0 => {
                    let arrival =
                        [Arrival::New, Arrival::Woken, Arrival::Preempted, Arrival::Yielded][rng.below(4) as usize];
                    // The kernel never enqueues a queued task (see `Scheduler`).
                    if !queued.contains(&task) {
                        policy.enqueue(task, arrival);
                        queued.push(task);
                    }
                }
                1 | 2 => {
                    if let Some(picked) = policy.pick_next() {
                        assert!(queued.contains(&picked), "picked {picked}, which was not queued");
                        queued.retain(|&t| t != picked);
                    } else {
                        assert!(queued.is_empty());
                    }
                }
                3 => {
                    policy.tick(task);
                }
                4 => {
                    policy.remove(task);
                    queued.retain(|&t| t != task);
                }
                5 => policy.set_nice(task, rng.next_u64() as i8),
                6 => policy.waits_for(task, rng.below(12) as TaskId),
                7 => policy.set_request(task, rng.next_u64() as u32),
                8 => policy.set_group(task, rng.below(12) as TaskId),
                _ => assert_eq!(policy.queued(), queued.len()),
            }
        }
    }
}
