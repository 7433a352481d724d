//! Where runnable tasks go on a machine of several CPUs, each with its own run
//! queue (one `Scheduler` per CPU): the placement of a new or woken task, and which
//! queue a CPU takes a task from to even the load out (idle stealing and the
//! periodic balance). Plain decisions over a snapshot of the CPUs' loads; the
//! kernel reads the snapshot without locks, so a decision may be slightly stale,
//! which costs at most one balancing period.
//!
//! The invariant the kernel keeps with these (the randomized model test below
//! checks it): after one balancing round, no CPU idles while another CPU has a
//! runnable task waiting in its queue.

/// Ticks between two balancing steps of a busy CPU (an idle one looks at every
/// tick, and whenever it would halt); in the kernel also the longest a task runs
/// on a CPU its new affinity excludes (sched_setaffinity of another task), as each
/// tick checks.
pub const BALANCE_TICKS: u32 = 4;

/// A set of CPUs, bit `n` for CPU `n` (an affinity mask).
pub type CpuMask = u32;

/// Every CPU of a machine of `count` CPUs.
pub fn all_cpus(count: usize) -> CpuMask {
    if count >= CpuMask::BITS as usize {
        CpuMask::MAX
    } else {
        (1 << count) - 1
    }
}

/// One CPU's load as the balancer sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuLoad {
    /// A task is running there.
    pub busy: bool,
    /// Tasks waiting in its run queue.
    pub queued: u32,
}

impl CpuLoad {
    /// Nothing runs there and nothing waits.
    pub fn idle(self) -> bool {
        !self.busy && self.queued == 0
    }

    /// Tasks running or waiting there.
    pub fn load(self) -> u32 {
        self.queued + u32::from(self.busy)
    }
}

/// The one CPU of `online` (a mask, as `all_cpus` makes) a task whose affinity is
/// `allowed` may run on, if it may run on one only: `place` would choose it whatever
/// the loads, so a pinned task's wake need not read them.
pub fn only_cpu(allowed: CpuMask, online: CpuMask) -> Option<usize> {
    let allowed = allowed & online;
    allowed.is_power_of_two().then(|| allowed.trailing_zeros() as usize)
}

/// The CPU a task that becomes runnable goes to: `last` (where it ran, whose
/// caches may still hold its data) if it is idle, else an idle CPU, else the least
/// loaded (`last` among equals), all within `allowed`. A mask with no CPU of
/// `loads` in it (never the kernel's: affinity always keeps one online CPU) leaves
/// the task on `last`, or CPU 0 if that is gone.
pub fn place(last: usize, allowed: CpuMask, loads: &[CpuLoad]) -> usize {
    let allowed = allowed & all_cpus(loads.len());
    let permitted = |cpu: usize| allowed & (1 << cpu) != 0;
    if allowed == 0 {
        return if last < loads.len() { last } else { 0 };
    }
    if permitted(last) && loads[last].idle() {
        return last;
    }
    if let Some(idle) = (0..loads.len()).find(|&cpu| permitted(cpu) && loads[cpu].idle()) {
        return idle;
    }
    let candidates = (0..loads.len()).filter(|&cpu| permitted(cpu));
    // Lowest load; among equals `last`, then the lowest index.
    candidates.min_by_key(|&cpu| (loads[cpu].load(), cpu != last, cpu)).unwrap_or(0)
}

/// The CPU `this` should take one waiting task from, if any: when `this` idles,
/// the one with the most waiting tasks; otherwise one whose load exceeds this
/// CPU's by two or more (moving one task then evens them out rather than swapping
/// the imbalance over). None when nothing is worth moving.
pub fn pull_from(this: usize, loads: &[CpuLoad]) -> Option<usize> {
    let mine = loads.get(this)?;
    let needed = if mine.idle() { 0 } else { mine.load() + 1 };
    let others = (0..loads.len()).filter(|&cpu| cpu != this && loads[cpu].queued > 0 && loads[cpu].load() > needed);
    others.max_by_key(|&cpu| (loads[cpu].queued, core::cmp::Reverse(cpu)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Rng;

    fn load(busy: bool, queued: u32) -> CpuLoad {
        CpuLoad { busy, queued }
    }

    #[test]
    fn a_pinned_task_has_one_cpu_and_place_agrees_whatever_the_loads() {
        assert_eq!(only_cpu(0b10, all_cpus(2)), Some(1));
        assert_eq!(only_cpu(0b110, all_cpus(2)), Some(1), "CPU 2 is not online");
        assert_eq!(only_cpu(0b11, all_cpus(2)), None);
        assert_eq!(only_cpu(0b100, all_cpus(2)), None, "no online CPU: place decides");
        let mut rng = Rng::new(7);
        for _ in 0..1000 {
            let online = 1 + rng.below(8) as usize;
            let loads: alloc::vec::Vec<CpuLoad> =
                (0..online).map(|_| load(rng.below(2) == 1, rng.below(3) as u32)).collect();
            let cpu = rng.below(online as u64) as usize;
            let last = rng.below(online as u64) as usize;
            assert_eq!(only_cpu(1 << cpu, all_cpus(online)), Some(cpu));
            assert_eq!(place(last, 1 << cpu, &loads), cpu, "{loads:?}");
        }
    }

    #[test]
    fn a_task_goes_back_to_its_idle_cpu() {
        let loads = [load(false, 0), load(false, 0), load(true, 0)];
        assert_eq!(place(1, all_cpus(3), &loads), 1);
    }

    #[test]
    fn a_task_whose_cpu_is_busy_goes_to_an_idle_one() {
        let loads = [load(true, 1), load(true, 0), load(false, 0)];
        assert_eq!(place(0, all_cpus(3), &loads), 2);
    }

    #[test]
    fn without_an_idle_cpu_the_least_loaded_wins_and_last_among_equals() {
        let loads = [load(true, 2), load(true, 1), load(true, 1)];
        assert_eq!(place(0, all_cpus(3), &loads), 1);
        assert_eq!(place(2, all_cpus(3), &loads), 2);
    }

    #[test]
    fn placement_honours_affinity() {
        let loads = [load(false, 0), load(true, 3), load(true, 5)];
        assert_eq!(place(0, 0b110, &loads), 1);
        assert_eq!(place(1, 0b100, &loads), 2);
        // A mask naming no CPU of this machine leaves the task where it was.
        assert_eq!(place(1, 0b1000, &loads), 1);
        assert_eq!(place(7, 0, &loads), 0);
    }

    #[test]
    fn an_idle_cpu_pulls_from_the_busiest_queue() {
        let loads = [load(false, 0), load(true, 1), load(true, 3)];
        assert_eq!(pull_from(0, &loads), Some(2));
        assert_eq!(pull_from(0, &[load(false, 0), load(true, 0)]), None);
    }

    #[test]
    fn a_busy_cpu_pulls_only_to_even_out_an_imbalance_of_two() {
        assert_eq!(pull_from(0, &[load(true, 0), load(true, 1)]), None);
        assert_eq!(pull_from(0, &[load(true, 0), load(true, 2)]), Some(1));
        assert_eq!(pull_from(1, &[load(true, 2), load(true, 2)]), None);
    }

    #[test]
    fn all_cpus_covers_the_machine() {
        assert_eq!(all_cpus(1), 1);
        assert_eq!(all_cpus(4), 0b1111);
        assert_eq!(all_cpus(32), u32::MAX);
    }

    /// A model of the kernel's use: CPUs run, finish, block and wake tasks at
    /// random; woken and new tasks are placed with `place`, and then every CPU runs
    /// its balancing step (an idle one picks from its own queue or pulls from
    /// another's and runs what it took; a busy one pulls into its queue). After
    /// each round no CPU may idle while a task waits anywhere.
    #[test]
    fn no_cpu_idles_while_tasks_wait_after_a_balancing_round() {
        let mut rng = Rng::new(7);
        for _run in 0..200 {
            let cpus = 1 + rng.below(8) as usize;
            let mut loads = [CpuLoad::default(); 8];
            let loads = &mut loads[..cpus];
            let mut blocked = 0u32;
            for _round in 0..100 {
                for _event in 0..rng.below(6) {
                    let cpu = rng.below(cpus as u64) as usize;
                    match rng.below(4) {
                        // The running task blocks (or exits).
                        0 if loads[cpu].busy => {
                            loads[cpu].busy = false;
                            blocked += 1;
                        }
                        // The running task is preempted: back into its queue.
                        1 if loads[cpu].busy => {
                            loads[cpu].busy = false;
                            loads[cpu].queued += 1;
                        }
                        // A wake (or a new task) from this CPU.
                        _ => {
                            blocked = blocked.saturating_sub(1);
                            let last = rng.below(cpus as u64) as usize;
                            let target = place(last, all_cpus(cpus), loads);
                            loads[target].queued += 1;
                        }
                    }
                }
                for cpu in 0..cpus {
                    if !loads[cpu].busy && loads[cpu].queued > 0 {
                        loads[cpu].queued -= 1;
                        loads[cpu].busy = true;
                    } else if let Some(source) = pull_from(cpu, loads) {
                        assert!(loads[source].queued > 0, "pulled from an empty queue");
                        loads[source].queued -= 1;
                        if loads[cpu].busy {
                            loads[cpu].queued += 1;
                        } else {
                            loads[cpu].busy = true;
                        }
                    }
                }
                let waiting = loads.iter().any(|load| load.queued > 0);
                let idling = loads.iter().any(|load| load.idle());
                assert!(!(waiting && idling), "a CPU idles while tasks wait: {loads:?}");
            }
        }
    }
}
