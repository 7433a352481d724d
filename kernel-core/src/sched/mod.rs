//! Scheduling policy, separated from the mechanism. The kernel tells a policy when
//! tasks become runnable, asks it which task runs next, and reports each timer tick
//! of the running task; the policy answers whether to preempt. Each policy is one
//! small file; the kernel and the host simulator (`sim`) drive the same code.
//!
//! | policy | file | what decides |
//! |---|---|---|
//! | round robin | `round_robin.rs` | one FIFO queue, one quantum each |
//! | MLFQ | `mlfq.rs` | OSTEP's five rules: levels, allotments, boost |
//! | stride | `stride.rs` | lowest pass runs; pass grows by 2^30 / weight per tick |
//! | lottery | `lottery.rs` | a seeded draw among the queued tasks' tickets (= weight) |
//! | fair | `fair.rs` | lowest virtual runtime runs (CFS-like), with a minimum granularity |
//! | eevdf | `eevdf.rs` | earliest virtual deadline among the eligible (lag >= 0) tasks |
//!
//! Weights come from the nice value through Linux's `sched_prio_to_weight` table
//! (`weight`): nice 0 is 1024 and each step is about 1.25x.
//!
//! Time is counted in ticks: a policy learns how long a task ran only from the
//! `tick` calls made while it was running (sampled accounting, as in classic Unix).

pub mod balance;
mod eevdf;
mod fair;
mod lottery;
mod mlfq;
mod round_robin;
pub mod sim;
pub mod smp_sim;
mod stride;

pub use eevdf::Eevdf;
pub use fair::{Fair, FairConfig};
pub use lottery::Lottery;
pub use mlfq::{Allotment, Mlfq, MlfqConfig};
pub use round_robin::RoundRobin;
pub use stride::Stride;

use alloc::string::String;

/// The policy the kernel command line asks for, with its knobs in ticks of a
/// `tick_hz` clock (each at least one tick): `quantum_ms` is the quantum of rr,
/// stride and lottery and fair's latency target; `mlfq_*` configure MLFQ; `seed`
/// seeds lottery's draws; `lottery_compensation` turns its compensation tickets
/// on; EEVDF's default request is `EEVDF_DEFAULT_REQUEST_MS`.
pub fn from_options(options: &crate::cmdline::KernelOptions, tick_hz: u32) -> alloc::boxed::Box<dyn Scheduler> {
    use crate::cmdline::SchedPolicy;
    use alloc::boxed::Box;
    use alloc::vec::Vec;
    let ticks = |ms: u32| ((u64::from(ms) * u64::from(tick_hz) / 1000).clamp(1, u64::from(u32::MAX))) as u32;
    let quantum = ticks(options.quantum_ms);
    match options.sched {
        SchedPolicy::RoundRobin => Box::new(RoundRobin::new(quantum)),
        SchedPolicy::Mlfq => {
            let quanta: Vec<u32> = options.mlfq_quanta_ms.iter().map(|&ms| ticks(ms)).collect();
            let boost = if options.mlfq_boost_ms == 0 { 0 } else { ticks(options.mlfq_boost_ms) };
            Box::new(Mlfq::new(MlfqConfig::new(options.mlfq_levels as usize, &quanta, boost)))
        }
        SchedPolicy::Stride => Box::new(Stride::new(quantum)),
        SchedPolicy::Lottery => {
            let compensation = options.lottery_compensation == crate::cmdline::Switch::On;
            Box::new(Lottery::new(quantum, options.seed).with_compensation(compensation))
        }
        SchedPolicy::Fair => Box::new(Fair::new(FairConfig::with_latency(quantum))),
        SchedPolicy::Eevdf => Box::new(Eevdf::new(ticks(EEVDF_DEFAULT_REQUEST_MS))),
    }
}

/// EEVDF's request size when sched_setattr set none: Linux's base slice (3 ms).
pub const EEVDF_DEFAULT_REQUEST_MS: u32 = 3;

/// A task, as the kernel names it to the policy (its pid).
pub type TaskId = u32;

/// Why a task is entering the run queue.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Arrival {
    /// It was just created.
    New,
    /// It was blocked (sleep, pipe, wait) and can run again.
    Woken,
    /// The timer took the CPU from it at the end of its quantum.
    Preempted,
    /// It gave the CPU up itself (sched_yield) and is still runnable.
    Yielded,
}

/// A scheduling policy. Invariant kept by the kernel: a task is in at most one of
/// three places: queued in the policy (after `enqueue`, until `pick_next` returns
/// it), running (after `pick_next`, until it is enqueued again, blocks or exits), or
/// blocked (known to the kernel only).
///
/// No method may panic, whatever the order of calls (an unknown task, a task
/// enqueued twice, a tick for a task that is not running): a policy that sees a
/// call it does not expect does something harmless.
pub trait Scheduler: Send {
    /// `task` becomes runnable.
    fn enqueue(&mut self, task: TaskId, arrival: Arrival);

    /// Chooses the task to run next and takes it out of the queue.
    fn pick_next(&mut self) -> Option<TaskId>;

    /// `task`, running, stays runnable but gives up the CPU (a yield, a
    /// preemption): `enqueue(task, arrival)` then `pick_next()`, in one call, as
    /// every such switch makes them. A policy may answer it more cheaply, with the
    /// same result.
    fn requeue_and_pick(&mut self, task: TaskId, arrival: Arrival) -> Option<TaskId> {
        self.enqueue(task, arrival);
        self.pick_next()
    }

    /// One timer tick passed while `task` was running. Returns true when it has
    /// used up its quantum and should be preempted.
    fn tick(&mut self, task: TaskId) -> bool;

    /// How many ticks `task`, running, can be charged before its quantum may end,
    /// if nothing else happens meanwhile (no task queued, woken, changed): `tick`
    /// then returns false for the first `n - 1` of the next `n` ticks. The kernel
    /// lets the timer skip those interrupts and charges the ticks together. 1 (the
    /// default) promises nothing.
    fn ticks_before_expiry(&self, _task: TaskId) -> u32 {
        1
    }

    /// `n` ticks passed while `task` ran, fewer than `ticks_before_expiry`
    /// promised (none ends its quantum): the state `n` calls of `tick` would
    /// leave, in one call where the policy can.
    fn charge_ticks(&mut self, task: TaskId, n: u32) {
        for _ in 0..n {
            self.tick(task);
        }
    }

    /// `task` exited: drop it from the queue (if there) and forget its history.
    fn remove(&mut self, task: TaskId);

    /// Number of queued (runnable, not running) tasks.
    fn queued(&self) -> usize;

    /// The queued task another CPU should take, if any: the one that would run
    /// last here. Unlike `pick_next` it changes nothing (the task running here
    /// keeps its quantum, the policy its clock); the caller takes the task with
    /// `remove`.
    fn migration_candidate(&self) -> Option<TaskId>;

    /// `task`, running, is about to block until `peer` acts (the child a wait4
    /// waits for, the owner of a futex). The wait is over when `task` is next
    /// enqueued, ticks or is removed. Only lottery uses it (ticket transfer); the
    /// kernel does not call it for waits it knows no such task of.
    fn waits_for(&mut self, _task: TaskId, _peer: TaskId) {}

    /// Whether `waits_for` does anything: the kernel then looks up the peer a
    /// blocking thread waits for (a futex owner by the tid its lock word names),
    /// which no other policy needs on a contended lock's every wait.
    fn lends_shares(&self) -> bool {
        false
    }

    /// `task` is a thread of the process `group` (its thread group id; a process's
    /// first thread is its own group). Only lottery uses it (currencies: a
    /// process's threads share one pool of tickets).
    fn set_group(&mut self, _task: TaskId, _group: TaskId) {}

    /// The nice value of the first thread of the process `group`, which funds its
    /// threads' pool of tickets: told where that thread may not run (a CPU whose
    /// policy another of the process's threads moved to). Only lottery uses it.
    fn set_pool_nice(&mut self, _group: TaskId, _nice: i8) {}

    /// The size of the requests `task` makes for the CPU, in ticks (at least 1;
    /// sched_setattr's sched_runtime). Only EEVDF uses it: its virtual deadlines
    /// are a request's length away.
    fn set_request(&mut self, _task: TaskId, _ticks: u32) {}

    /// The nice value of `task` is now `nice` (clamped to `NICE_RANGE`). The kernel
    /// calls it before a new task's first `enqueue` (the nice value is inherited
    /// across fork) and on setpriority. Policies without priorities ignore it.
    fn set_nice(&mut self, _task: TaskId, _nice: i8) {}

    /// The policy's own view of `task`, as lines of `name: value` (/proc/PID/sched):
    /// what decides when it runs next.
    fn describe(&self, task: TaskId) -> String;

    /// The policy itself, as lines of `name: value`: its name, its knobs in ticks,
    /// and the run queue in the order it would pick (/proc/timeshare/sched).
    fn describe_policy(&self) -> String;

    /// Where a policy with priority levels keeps `task` (the event trace draws it
    /// over time); None for policies without levels and for unknown tasks.
    fn level(&self, _task: TaskId) -> Option<Level> {
        None
    }
}

/// A task's place in a policy with priority levels.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Level {
    /// 0 is the top (served first).
    pub level: u8,
    /// Priority boosts the policy has made so far: a change tells that every task
    /// was moved to the top.
    pub boosts: u64,
}

/// A boxed policy is a policy (so the simulator can drive `from_options`'s result).
impl<S: Scheduler + ?Sized> Scheduler for alloc::boxed::Box<S> {
    fn enqueue(&mut self, task: TaskId, arrival: Arrival) {
        (**self).enqueue(task, arrival)
    }
    fn pick_next(&mut self) -> Option<TaskId> {
        (**self).pick_next()
    }
    fn requeue_and_pick(&mut self, task: TaskId, arrival: Arrival) -> Option<TaskId> {
        (**self).requeue_and_pick(task, arrival)
    }
    fn tick(&mut self, task: TaskId) -> bool {
        (**self).tick(task)
    }
    fn ticks_before_expiry(&self, task: TaskId) -> u32 {
        (**self).ticks_before_expiry(task)
    }
    fn charge_ticks(&mut self, task: TaskId, n: u32) {
        (**self).charge_ticks(task, n)
    }
    fn remove(&mut self, task: TaskId) {
        (**self).remove(task)
    }
    fn queued(&self) -> usize {
        (**self).queued()
    }
    fn migration_candidate(&self) -> Option<TaskId> {
        (**self).migration_candidate()
    }
    fn set_nice(&mut self, task: TaskId, nice: i8) {
        (**self).set_nice(task, nice)
    }
    fn waits_for(&mut self, task: TaskId, peer: TaskId) {
        (**self).waits_for(task, peer)
    }
    fn lends_shares(&self) -> bool {
        (**self).lends_shares()
    }
    fn set_request(&mut self, task: TaskId, ticks: u32) {
        (**self).set_request(task, ticks)
    }
    fn set_group(&mut self, task: TaskId, group: TaskId) {
        (**self).set_group(task, group)
    }
    fn set_pool_nice(&mut self, group: TaskId, nice: i8) {
        (**self).set_pool_nice(group, nice)
    }
    fn describe(&self, task: TaskId) -> String {
        (**self).describe(task)
    }
    fn describe_policy(&self) -> String {
        (**self).describe_policy()
    }
    fn level(&self, task: TaskId) -> Option<Level> {
        (**self).level(task)
    }
}

/// `tasks` as a run queue line: each task, with what orders it when `key` gives
/// something, separated by spaces.
fn queue_line(tasks: impl Iterator<Item = (TaskId, Option<u64>)>) -> String {
    let mut line = String::new();
    for (task, key) in tasks {
        if !line.is_empty() {
            line.push(' ');
        }
        match key {
            Some(key) => line.push_str(&alloc::format!("{task}({key})")),
            None => line.push_str(&alloc::format!("{task}")),
        }
    }
    line
}

/// The nice values: -20 (most favoured) to 19 (least).
pub const NICE_RANGE: core::ops::RangeInclusive<i8> = -20..=19;

/// The weight of nice 0.
pub const NICE_0_WEIGHT: u32 = 1024;

/// Linux's `sched_prio_to_weight` (kernel/sched/core.c): the weight of nice -20..=19.
/// Each step of nice is about 10% of CPU when two tasks compete (a ratio of 1.25).
const PRIO_TO_WEIGHT: [u32; 40] = [
    /* -20 */ 88761, 71755, 56483, 46273, 36291, //
    /* -15 */ 29154, 23254, 18705, 14949, 11916, //
    /* -10 */ 9548, 7620, 6100, 4904, 3906, //
    /*  -5 */ 3121, 2501, 1991, 1586, 1277, //
    /*   0 */ 1024, 820, 655, 526, 423, //
    /*   5 */ 335, 272, 215, 172, 137, //
    /*  10 */ 110, 87, 70, 56, 45, //
    /*  15 */ 36, 29, 23, 18, 15, //
];

/// `nice` brought into `NICE_RANGE`.
pub fn clamp_nice(nice: i64) -> i8 {
    nice.clamp(i64::from(*NICE_RANGE.start()), i64::from(*NICE_RANGE.end())) as i8
}

/// The weight (tickets, share) of a task with this nice value (clamped).
pub fn weight(nice: i8) -> u32 {
    let index = i64::from(clamp_nice(i64::from(nice))) + 20;
    PRIO_TO_WEIGHT.get(index as usize).copied().unwrap_or(NICE_0_WEIGHT)
}

/// Virtual time one tick costs a task of weight 1024: stride's pass and fair's
/// virtual runtime grow by `VIRTUAL_TICK * 1024 / weight` per tick, which is
/// `2^30 / weight` (1.05e6 at nice 0, 12,097 at nice -20, 71.6e6 at nice 19).
pub const VIRTUAL_TICK: u64 = 1 << 20;

/// The virtual time one tick costs a task of `weight` (never 0).
pub fn virtual_tick(weight: u32) -> u64 {
    (VIRTUAL_TICK * u64::from(NICE_0_WEIGHT)) / u64::from(weight.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charging_ticks_at_once_leaves_what_as_many_ticks_leave() {
        use crate::cmdline::{parse, SchedPolicy};
        for word in SchedPolicy::WORDS {
            let line = alloc::format!("sched={word}");
            let build = || {
                let mut policy = from_options(&parse(&line).unwrap(), 1000);
                policy.enqueue(1, Arrival::New);
                assert_eq!(policy.pick_next(), Some(1), "{word}");
                policy
            };
            let promised = build().ticks_before_expiry(1).min(50);
            for n in 0..promised {
                let (mut ticked, mut charged) = (build(), build());
                for _ in 0..n {
                    assert!(!ticked.tick(1), "{word}: within the promise");
                }
                charged.charge_ticks(1, n);
                assert_eq!(ticked.describe(1), charged.describe(1), "{word}, {n} ticks");
                assert_eq!(ticked.ticks_before_expiry(1), charged.ticks_before_expiry(1), "{word}, {n} ticks");
                assert_eq!(ticked.tick(1), charged.tick(1), "{word}: the tick after {n}");
            }
        }
    }

    #[test]
    fn every_policy_can_be_built_from_the_command_line() {
        use crate::cmdline::{parse, SchedPolicy};
        for word in SchedPolicy::WORDS {
            let line = alloc::format!("sched={word} quantum_ms=1 mlfq_levels=16 mlfq_quanta_ms=1 mlfq_boost_ms=0");
            let mut policy = from_options(&parse(&line).unwrap(), 1000);
            policy.set_nice(1, 5);
            policy.enqueue(1, Arrival::New);
            assert_eq!(policy.pick_next(), Some(1), "{word}");
            // A 1 ms quantum, and zero-tick knobs at a slow clock, are one tick.
            assert!(policy.tick(1) || *word == "fair" || *word == "eevdf", "{word}");
            let _ = from_options(&parse(&line).unwrap(), 1);
        }
    }

    /// A lone task's promised ticks (`ticks_before_expiry`) hold: none of the first
    /// `n - 1` of them ends its quantum, and the promise reaches the quantum's end
    /// (rr, stride and lottery to the tick; mlfq to its level's end or the boost),
    /// so that a timer skipping those interrupts preempts at the same tick.
    #[test]
    fn a_lone_task_s_promised_ticks_hold_and_reach_its_quantum_s_end() {
        use crate::cmdline::{parse, SchedPolicy};
        for word in SchedPolicy::WORDS {
            let line = alloc::format!("sched={word} quantum_ms=10 mlfq_boost_ms=50 seed=3");
            let mut policy = from_options(&parse(&line).unwrap(), 1000);
            policy.enqueue(1, Arrival::New);
            assert_eq!(policy.pick_next(), Some(1), "{word}");
            let mut expiries = 0;
            for _ in 0..40 {
                let promised = policy.ticks_before_expiry(1);
                assert!(promised > 1, "{word}: a lone task with a 10-tick quantum is promised nothing");
                for tick in 1..promised.min(200) {
                    assert!(!policy.tick(1), "{word}: expired at tick {tick} of {promised} promised");
                }
                if promised > 200 {
                    continue;
                }
                if policy.tick(1) {
                    expiries += 1;
                    policy.enqueue(1, Arrival::Preempted);
                    assert_eq!(policy.pick_next(), Some(1), "{word}");
                }
            }
            // Fair and EEVDF's lone task runs on; the others' quanta end.
            assert!(expiries > 0 || *word == "fair", "{word}: the promise never reached an expiry");
            // A second task queued: fair, mlfq and eevdf may preempt at any tick.
            policy.enqueue(2, Arrival::Woken);
            if matches!(*word, "fair" | "mlfq" | "eevdf") {
                assert_eq!(policy.ticks_before_expiry(1), 1, "{word}");
            }
        }
    }

    /// Another CPU taking a queued task (`migration_candidate`, then `remove`)
    /// leaves the running task's quantum alone: it expires at the same tick as
    /// without the steal (fair's slice grows with fewer tasks queued: it may only
    /// expire later).
    #[test]
    fn a_task_taken_by_another_cpu_leaves_the_running_quantum_alone() {
        use crate::cmdline::{parse, SchedPolicy};
        let ticks_to_expiry = |word: &str, steal_after: Option<u32>| {
            let line = alloc::format!("sched={word} quantum_ms=4 mlfq_quanta_ms=4 mlfq_boost_ms=0 seed=7");
            let mut policy = from_options(&parse(&line).unwrap(), 1000);
            for task in 1..=3 {
                policy.enqueue(task, Arrival::New);
            }
            let running = policy.pick_next().unwrap();
            for tick in 1..=100 {
                if steal_after == Some(tick) {
                    let taken = policy.migration_candidate().expect("two tasks queued");
                    assert_ne!(taken, running, "{word}");
                    policy.remove(taken);
                    assert_eq!(policy.queued(), 1, "{word}");
                }
                if policy.tick(running) {
                    return tick;
                }
            }
            panic!("{word}: the running task never expired");
        };
        for word in SchedPolicy::WORDS {
            let alone = ticks_to_expiry(word, None);
            let stolen = ticks_to_expiry(word, Some(alone.saturating_sub(1).max(1)));
            if *word == "fair" {
                assert!(stolen >= alone, "{word}");
            } else {
                assert_eq!(stolen, alone, "{word}");
            }
        }
    }

    /// A nice 10 task that moves (`remove` from one policy instance, then `set_nice`
    /// and `enqueue` in another, as the kernel's migrations do) onto a CPU whose
    /// nice 0 task has run for a long time gets its weight's share there, about a
    /// tenth, not a burst: it joins at the new policy's clock, whatever its own was.
    #[test]
    fn a_moved_nice_task_gets_its_share_on_a_long_running_cpu() {
        use crate::cmdline::parse;
        for word in ["stride", "lottery", "fair", "eevdf"] {
            for arrival in [Arrival::Yielded, Arrival::Woken, Arrival::Preempted] {
                let line = alloc::format!("sched={word} quantum_ms=1 seed=3");
                let (mut old, mut new) =
                    (from_options(&parse(&line).unwrap(), 1000), from_options(&parse(&line).unwrap(), 1000));
                let run = |policy: &mut dyn Scheduler, mut running: TaskId, ticks: u32, counted: TaskId| {
                    let mut count = 0;
                    for _ in 0..ticks {
                        count += u32::from(running == counted);
                        if policy.tick(running) {
                            policy.enqueue(running, Arrival::Preempted);
                            running = policy.pick_next().unwrap_or(running);
                        }
                    }
                    (running, count)
                };
                new.enqueue(1, Arrival::New);
                let running = new.pick_next().unwrap();
                let (running, _) = run(&mut new, running, 5_000, 0);
                old.set_nice(2, 10);
                old.enqueue(2, Arrival::New);
                let mover = old.pick_next().unwrap();
                run(&mut old, mover, 20, 0);
                old.remove(2);
                new.set_nice(2, 10);
                new.enqueue(2, arrival);
                let (_, moved_ticks) = run(&mut new, running, 1_000, 2);
                // Its weight's share is 110 / 1134 (about 97 ticks of 1,000).
                assert!((40..200).contains(&moved_ticks), "{word} {arrival:?}: {moved_ticks} of 1000 ticks");
            }
        }
    }

    #[test]
    fn weights_follow_linux() {
        assert_eq!(weight(0), 1024);
        assert_eq!(weight(5), 335);
        assert_eq!(weight(-20), 88761);
        assert_eq!(weight(19), 15);
        assert_eq!(weight(-128), 88761);
        assert_eq!(weight(127), 15);
        for nice in -20..19i8 {
            let ratio = f64::from(weight(nice)) / f64::from(weight(nice + 1));
            assert!((1.15..1.35).contains(&ratio), "nice {nice}: {ratio}");
        }
        assert_eq!(clamp_nice(-1000), -20);
        assert_eq!(clamp_nice(i64::MAX), 19);
        assert_eq!(virtual_tick(1024), 1 << 20);
        assert_eq!(virtual_tick(0), 1 << 30);
    }
}
