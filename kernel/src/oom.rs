//! Out of memory: what happens when a program's page fault finds no frame left for
//! programs (the frame allocator keeps a reserve for the kernel, see
//! `frame::alloc_for_user`). As Linux's OOM killer, the kernel ends the process
//! that holds the most memory, with SIGKILL, and the faulting program tries again
//! once that memory is back; if the faulting program is itself the biggest, it is
//! the one that goes. So a memory hog cannot starve the others (nor the kernel) for
//! long: it is killed, and everything it held is freed by its exit.
//!
//! The kernel's own copies into a program's memory (a read's buffer, a signal
//! frame, a wait status, the initial stack) fault pages in on the program's
//! behalf: they go through the same policy (`retrying`), so a process that did
//! nothing wrong never sees EFAULT, a short count or SIGSEGV for memory it owns
//! because another one took the rest.

use alloc::sync::Arc;
use alloc::vec::Vec;
use spin::Mutex;

use crate::mm::address_space::{Fault, StringFault};
use crate::process::{self, Pid, Process, INIT_PID};
use crate::{sched, signal};
use kernel_core::abi::signal::SIGKILL;

/// Processes killed for memory that have not finished exiting yet: their memory is
/// on its way back, so no one else is killed meanwhile.
static VICTIMS: Mutex<Vec<Pid>> = Mutex::new(Vec::new());

/// What the faulting process does next.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verdict {
    /// Memory is being freed (another process was killed, or is exiting): retry the
    /// access. The caller has already given the CPU away once.
    Retry,
    /// The faulting process is the one to go.
    KillCurrent,
}

/// A page fault of `current` found no frame. Picks and kills a victim (see the
/// module's comment) and says what `current` does.
fn out_of_memory(current: &Process) -> Verdict {
    let live: Vec<(Pid, Arc<Process>)> = process::list()
        .into_iter()
        .filter(|&(_, _, zombie, _)| !zombie)
        .map(|(_, _, _, process)| (process.pid(), process))
        .collect();
    // Victims still exiting: their memory is about to come back.
    let pending = {
        let mut victims = VICTIMS.lock();
        victims.retain(|pid| live.iter().any(|(live, process)| live == pid && process.group.memory.lock().is_some()));
        !victims.is_empty()
    };
    if pending {
        sched::yield_cpu(current);
        return Verdict::Retry;
    }
    // The biggest by resident pages; init only if no one else holds any.
    let size = |process: &Process| process.group.memory.lock().as_ref().map_or(0, |memory| memory.resident_pages().0);
    let victim = live
        .iter()
        .filter(|(_, process)| process.exit_status().is_none())
        .map(|(pid, process)| (*pid != INIT_PID, size(process), *pid, process))
        .filter(|&(_, pages, _, _)| pages > 0)
        .max_by_key(|&(not_init, pages, _, _)| (not_init, pages));
    match victim {
        Some((_, pages, pid, process)) if pid != current.pid() => {
            info!(
                "out of memory: pid {} ({}) faulted; killing pid {pid} ({}), {} KiB resident",
                current.pid(),
                current.name(),
                process.name(),
                pages * 4
            );
            VICTIMS.lock().push(pid);
            signal::kill_for_memory(process);
            sched::yield_cpu(current);
            Verdict::Retry
        }
        _ => {
            info!("out of memory: killing pid {} ({}), the biggest", current.pid(), current.name());
            Verdict::KillCurrent
        }
    }
}

/// What an access to a program's memory came to: whether it failed for want of a
/// frame (and may succeed once memory is freed).
pub trait Outcome {
    fn wants_frame(&self) -> bool;
}

impl<T> Outcome for Result<T, Fault> {
    fn wants_frame(&self) -> bool {
        matches!(self, Err(Fault::OutOfMemory))
    }
}

impl<T> Outcome for Result<T, StringFault> {
    fn wants_frame(&self) -> bool {
        matches!(self, Err(StringFault::Fault(Fault::OutOfMemory)))
    }
}

/// Runs `access` (a copy to or from `current`'s memory, on its behalf, that locks
/// the address space itself and may be repeated) until it no longer fails for want
/// of a frame, with the OOM policy between attempts as for a page fault of the
/// program. Gives up, returning the failure, when `current` is the one to go: it
/// is being killed and never sees that failure.
#[inline(always)]
pub fn retrying<T: Outcome>(current: &Process, mut access: impl FnMut() -> T) -> T {
    loop {
        let outcome = access();
        if !outcome.wants_frame() || !reclaim_for(current) {
            return outcome;
        }
    }
}

/// `reclaim_for` the running process (for a copy to or from its memory that found
/// no frame: `UserBuffer::reclaimed_memory`).
pub fn reclaim_for_running() -> bool {
    reclaim_for(&crate::sched::current())
}

/// `current` needed a frame for its memory and none was left for programs: runs
/// the policy (see `out_of_memory`), with no lock held. True if memory is on its
/// way back and the access may be tried again; false if `current` is to die
/// (killed now, or already an OOM victim or exiting).
#[inline(never)]
pub fn reclaim_for(current: &Process) -> bool {
    if current.exit_status().is_some() || VICTIMS.lock().contains(&current.pid()) {
        return false;
    }
    match out_of_memory(current) {
        Verdict::Retry => true,
        Verdict::KillCurrent => {
            signal::force(current, SIGKILL);
            false
        }
    }
}
