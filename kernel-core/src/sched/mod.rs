//! Scheduling policy, separated from the mechanism. The kernel tells a policy when
//! tasks become runnable, asks it which task runs next, and reports each timer tick
//! of the running task; the policy answers whether to preempt. Each policy is one
//! small file; the kernel and the host simulator drive the same code.

mod round_robin;

pub use round_robin::RoundRobin;

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
pub trait Scheduler: Send {
    /// `task` becomes runnable.
    fn enqueue(&mut self, task: TaskId, arrival: Arrival);

    /// Chooses the task to run next and takes it out of the queue.
    fn pick_next(&mut self) -> Option<TaskId>;

    /// One timer tick passed while `task` was running. Returns true when it has
    /// used up its quantum and should be preempted.
    fn tick(&mut self, task: TaskId) -> bool;

    /// `task` exited: drop it from the queue (if there) and forget its history.
    fn remove(&mut self, task: TaskId);

    /// Number of queued (runnable, not running) tasks.
    fn queued(&self) -> usize;
}
