//! Several simulated CPUs, each with its own policy and run queue, sharing the
//! work as the kernel's CPUs do (kernel/src/sched.rs): a task that becomes
//! runnable is placed by `balance::place`; at each tick an idle CPU runs from its
//! own queue or pulls from another (`balance::pull_from`), and a busy CPU pulls
//! into its queue every `BALANCE_TICKS` ticks. `timeshare sched-sim --cpus N`
//! draws its per-CPU lanes; its tests check the balancer's promise.
//!
//! Each tick, in order: every running task is charged (`tick`) and then runs on,
//! is preempted, yields, sleeps, waits or finishes as its job prescribes; due
//! arrivals and wake-ups are placed; then every CPU balances and dispatches.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::balance::{self, CpuLoad, BALANCE_TICKS};
use super::sim::{after_tick, ticks_of, Job, JobState, State};
use super::{Arrival, Scheduler, TaskId};

/// What only `SmpSimulation` records about a job.
#[derive(Clone, Debug)]
struct Placement {
    /// The CPU whose queue holds it or that runs it, or where it ran last.
    home: usize,
}

/// A task that moved to another CPU's queue: when, which, from where, to where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    pub tick: u64,
    pub task: TaskId,
    pub from: usize,
    pub to: usize,
}

/// Policies (one per CPU), a workload and a clock.
pub struct SmpSimulation {
    policies: Vec<Box<dyn Scheduler>>,
    /// The job each CPU runs (an index into `jobs`).
    running: Vec<Option<usize>>,
    jobs: Vec<JobState<Placement>>,
    now: u64,
    moves: Vec<Move>,
    /// The ticks at whose start some CPU idled while another CPU's queue held a
    /// task, in a row now and at most so far.
    starved_now: u64,
    starved_most: u64,
}

impl SmpSimulation {
    /// `cpus` CPUs, each with a policy from `policy`, running `jobs`.
    pub fn new(cpus: usize, policy: impl Fn() -> Box<dyn Scheduler>, jobs: &[Job]) -> Self {
        let cpus = cpus.max(1);
        let jobs = jobs.iter().map(|&job| JobState::new(job, Placement { home: 0 })).collect();
        let mut simulation = SmpSimulation {
            policies: (0..cpus).map(|_| policy()).collect(),
            running: alloc::vec![None; cpus],
            jobs,
            now: 0,
            moves: Vec::new(),
            starved_now: 0,
            starved_most: 0,
        };
        simulation.admit();
        simulation.balance();
        simulation
    }

    /// Simulates one tick; returns what each CPU ran during it (None: idle).
    pub fn step(&mut self) -> Vec<Option<TaskId>> {
        let ran: Vec<Option<TaskId>> =
            self.running.iter().map(|running| running.map(|index| self.jobs[index].job.id)).collect();
        self.now += 1;
        for cpu in 0..self.running.len() {
            if let Some(index) = self.running[cpu] {
                self.charge(cpu, index);
            }
        }
        self.admit();
        self.balance();
        ran
    }

    /// Runs `ticks` ticks; returns what each CPU ran at each tick.
    pub fn run(&mut self, ticks: u64) -> Vec<Vec<Option<TaskId>>> {
        (0..ticks).map(|_| self.step()).collect()
    }

    /// Ticks of CPU `id` has received.
    pub fn cpu(&self, id: TaskId) -> u64 {
        ticks_of(&self.jobs, id)
    }

    /// Every move of a task between CPUs' queues so far.
    pub fn moves(&self) -> &[Move] {
        &self.moves
    }

    /// The longest run of ticks that began with a CPU idle while a task waited in
    /// another CPU's queue (the balancer promises at most one balancing period).
    pub fn longest_starvation(&self) -> u64 {
        self.starved_most
    }

    /// The tick the running job on `cpu` just had: it runs on, or leaves the CPU
    /// as its job prescribes or its policy says.
    fn charge(&mut self, cpu: usize, index: usize) {
        let id = self.jobs[index].job.id;
        let expired = self.policies[cpu].tick(id);
        self.jobs[index].ran_tick();
        if after_tick(&mut self.jobs, index, self.now, expired, self.policies[cpu].as_mut()).is_some() {
            self.running[cpu] = None;
        }
    }

    fn loads(&self) -> Vec<CpuLoad> {
        self.policies
            .iter()
            .zip(&self.running)
            .map(|(policy, running)| CpuLoad { busy: running.is_some(), queued: policy.queued() as u32 })
            .collect()
    }

    /// Places the jobs that arrive or wake up now, as the kernel's `place_and_queue`:
    /// a job placed away from its home leaves its home's policy.
    fn admit(&mut self) {
        for index in 0..self.jobs.len() {
            let job = &self.jobs[index];
            let Some(arrival) = job.due(self.now, |peer| ticks_of(&self.jobs, peer)) else { continue };
            let loads = self.loads();
            let target = balance::place(job.local.home, balance::all_cpus(loads.len()), &loads);
            let (id, nice, home) = (job.job.id, job.job.nice, job.local.home);
            if arrival == Arrival::New {
                self.policies[target].set_nice(id, nice);
            } else if target != home {
                self.policies[home].remove(id);
                self.policies[target].set_nice(id, nice);
                self.moves.push(Move { tick: self.now, task: id, from: home, to: target });
            }
            self.jobs[index].state = State::Queued;
            self.jobs[index].local.home = target;
            self.policies[target].enqueue(id, arrival);
        }
    }

    /// Each CPU in turn: an idle one runs from its queue, or pulls a task from
    /// another's and runs it; a busy one pulls into its queue every
    /// `BALANCE_TICKS` ticks. Then counts whether a CPU still idles while tasks wait.
    fn balance(&mut self) {
        for cpu in 0..self.running.len() {
            let idle = self.running[cpu].is_none();
            if idle && self.dispatch(cpu) {
                continue;
            }
            if idle || self.now.is_multiple_of(u64::from(BALANCE_TICKS)) {
                self.pull(cpu);
                if idle {
                    self.dispatch(cpu);
                }
            }
        }
        let loads = self.loads();
        let waiting = loads.iter().any(|load| load.queued > 0);
        if waiting && loads.iter().any(|load| load.idle()) {
            self.starved_now += 1;
            self.starved_most = self.starved_most.max(self.starved_now);
        } else {
            self.starved_now = 0;
        }
    }

    /// Moves one task to `cpu`'s queue from the queue `balance::pull_from` names,
    /// as the kernel's `pull_task`.
    fn pull(&mut self, cpu: usize) {
        let Some(source) = balance::pull_from(cpu, &self.loads()) else { return };
        let Some(id) = self.policies[source].pick_next() else { return };
        self.policies[source].remove(id);
        let Some(index) = self.jobs.iter().position(|job| job.job.id == id) else { return };
        self.policies[cpu].set_nice(id, self.jobs[index].job.nice);
        self.policies[cpu].enqueue(id, Arrival::Woken);
        self.jobs[index].local.home = cpu;
        self.moves.push(Move { tick: self.now, task: id, from: source, to: cpu });
    }

    /// Gives idle `cpu` its policy's choice; true if it had one.
    fn dispatch(&mut self, cpu: usize) -> bool {
        let Some(id) = self.policies[cpu].pick_next() else { return false };
        let Some(index) = self.jobs.iter().position(|job| job.job.id == id) else { return false };
        self.jobs[index].state = State::Running;
        self.jobs[index].local.home = cpu;
        self.running[cpu] = Some(index);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::sim::Pattern;
    use super::*;
    use crate::cmdline::{KernelOptions, SchedPolicy};
    use crate::test_support::Rng;

    fn policy(sched: SchedPolicy) -> impl Fn() -> Box<dyn Scheduler> {
        move || super::super::from_options(&KernelOptions { sched, ..KernelOptions::default() }, 1000)
    }

    #[test]
    fn two_cpus_run_two_hogs_at_once_and_share_three() {
        let mut two = SmpSimulation::new(2, policy(SchedPolicy::RoundRobin), &[Job::cpu(1), Job::cpu(2)]);
        let lanes = two.run(100);
        assert!(lanes.iter().all(|ran| ran.iter().all(Option::is_some)), "no CPU idles");
        assert_eq!((two.cpu(1), two.cpu(2)), (100, 100));
        let mut three =
            SmpSimulation::new(2, policy(SchedPolicy::RoundRobin), &[Job::cpu(1), Job::cpu(2), Job::cpu(3)]);
        three.run(1200);
        let shares: Vec<u64> = (1..=3).map(|id| three.cpu(id)).collect();
        assert_eq!(shares.iter().sum::<u64>(), 2400, "both CPUs busy all along");
        // Loads of 2 and 1 differ by less than two: nothing moves, and the task
        // alone on its CPU gets twice the others' share (the balancer evens out
        // queues, not CPU time).
        assert!(three.moves().is_empty());
        let mut sorted = shares.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [600, 600, 1200], "{shares:?}");
    }

    #[test]
    fn a_task_ran_by_one_cpu_at_a_time() {
        let jobs = [Job::cpu(1), Job::cpu(2).pattern(Pattern::Interactive { run: 2, sleep: 3 }), Job::cpu(3)];
        let mut sim = SmpSimulation::new(3, policy(SchedPolicy::Mlfq), &jobs);
        for ran in sim.run(500) {
            let busy: Vec<TaskId> = ran.iter().flatten().copied().collect();
            let mut unique = busy.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(busy.len(), unique.len(), "{ran:?}");
        }
    }

    /// The balancer's promise, over random workloads under every policy: no CPU
    /// idles while a task waits in another CPU's queue for longer than one
    /// balancing period.
    #[test]
    fn no_cpu_idles_while_tasks_wait_longer_than_a_balancing_period() {
        let mut rng = Rng::new(11);
        for &sched in SchedPolicy::ALL {
            for _ in 0..20 {
                let cpus = 1 + rng.below(4) as usize;
                let jobs: Vec<Job> = (1..=1 + rng.below(8) as TaskId)
                    .map(|id| {
                        let job = Job::cpu(id).arriving(rng.below(50)).nice(rng.below(10) as i8 - 5);
                        let job = if rng.below(3) == 0 { job.work(1 + rng.below(200)) } else { job };
                        match rng.below(3) {
                            0 => job.pattern(Pattern::Interactive {
                                run: 1 + rng.below(5) as u32,
                                sleep: rng.below(20) as u32,
                            }),
                            1 => job.pattern(Pattern::Yielder { run: 1 + rng.below(4) as u32 }),
                            _ => job,
                        }
                    })
                    .collect();
                let mut sim = SmpSimulation::new(cpus, policy(sched), &jobs);
                sim.run(400);
                assert!(
                    sim.longest_starvation() <= u64::from(BALANCE_TICKS),
                    "{sched:?} on {cpus} CPUs: {} ticks",
                    sim.longest_starvation()
                );
            }
        }
    }
}
