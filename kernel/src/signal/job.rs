//! Job control and what a parent hears of its children. A stop signal's default
//! action (taken in `deliver`) stops the process, which then waits in `stop` until
//! SIGCONT, whose sending (`SignalState::prepare`, from `send_info`) continues it;
//! the parent learns of each through wait4 and SIGCHLD. A child's end reaches its
//! parent through `notify_exit`, from the exit path.

use super::{send_info, SignalState};
use crate::process::{self, ExitStatus, Process};
use crate::sched::{self, WaitChannel};
use kernel_core::abi::signal::{SigInfo, SignalSet};
use kernel_core::abi::signal::{CLD_CONTINUED, CLD_DUMPED, CLD_EXITED, CLD_KILLED, CLD_STOPPED, STOP_SIGNALS};
use kernel_core::abi::signal::{SA_NOCLDSTOP, SIGCHLD, SIGCONT, SIGKILL};

/// What a parent learns about a child through wait4 with WUNTRACED or WCONTINUED.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum JobEvent {
    /// Stopped by this signal.
    Stopped(u8),
    Continued,
}

impl SignalState {
    /// The child's stop or continue for its parent's wait4, if `wanted` accepts it;
    /// reported once.
    pub fn take_job_event(&mut self, wanted: impl Fn(JobEvent) -> bool) -> Option<JobEvent> {
        let event = self.job_event.filter(|&event| wanted(event))?;
        self.job_event = None;
        Some(event)
    }

    /// Linux's `prepare_signal` for job control: a stop signal discards a pending
    /// SIGCONT; SIGCONT discards pending stop signals and, if the process is stopped,
    /// continues it (even if SIGCONT itself is blocked or ignored). True if it did.
    pub(super) fn prepare(&mut self, signal: u8) -> bool {
        if STOP_SIGNALS.contains(&signal) {
            self.discard(SignalSet::of(SIGCONT));
        } else if signal == SIGCONT {
            let stops = STOP_SIGNALS.iter().fold(SignalSet::default(), |set, &stop| set.union(SignalSet::of(stop)));
            self.discard(stops);
            if self.stopped {
                self.stopped = false;
                self.job_event = Some(JobEvent::Continued);
                return true;
            }
        }
        false
    }
}

/// Stops the process (job control): the parent hears of it (wait4 WUNTRACED, and
/// SIGCHLD unless its SIGCHLD action has SA_NOCLDSTOP), and the process waits here
/// until SIGCONT continues it (the parent hears of that too) or SIGKILL arrives.
/// Any other signal, even a fatal one, waits for SIGCONT, as on Linux.
pub(super) fn stop(process: &Process, signal: u8) {
    {
        let mut state = process.signals.lock();
        state.stopped = true;
        state.job_event = Some(JobEvent::Stopped(signal));
    }
    notify_parent_of_job(process, CLD_STOPPED, signal);
    loop {
        let wait = sched::prepare(WaitChannel::Stopped(process.tid()));
        {
            let mut state = process.signals.lock();
            if !state.stopped {
                break;
            }
            if state.pending.contains(SIGKILL) || process.exit_status().is_some() {
                state.stopped = false;
                return;
            }
        }
        wait.block_ignoring_signals();
    }
    // Like Linux, the continued process itself tells its parent, once it runs (even
    // if SIGKILL followed SIGCONT: the parent hears of both).
    notify_parent_of_job(process, CLD_CONTINUED, SIGCONT);
}

/// A child stopped or continued: SIGCHLD to the parent unless it asked not to hear
/// of these (SA_NOCLDSTOP), and its wait4 is woken either way.
fn notify_parent_of_job(child: &Process, code: i32, signal: u8) {
    let Some(parent) = process::find(child.parent()) else { return };
    if parent.signals.lock().action(SIGCHLD).flags & SA_NOCLDSTOP == 0 {
        send_info(&parent, child_info(child, SIGCHLD, code, i32::from(signal)));
    }
    sched::wake_all(WaitChannel::Children(parent.pid()));
}

/// Tells `parent` that `child` ended with `status`: `exit_signal` (SIGCHLD unless
/// clone chose another; none if 0 or no signal number, as Linux) with CLD_EXITED,
/// CLD_KILLED or CLD_DUMPED, the status and the child's CPU times.
pub fn notify_exit(parent: &Process, child: &Process, status: ExitStatus, exit_signal: u8) {
    let Some(signal) = kernel_core::abi::signal::decode(u64::from(exit_signal)) else { return };
    let (code, value) = match status {
        ExitStatus::Exited(code) => (CLD_EXITED, i32::from(code)),
        ExitStatus::Killed { signal, core_dumped: false } => (CLD_KILLED, i32::from(signal)),
        ExitStatus::Killed { signal, core_dumped: true } => (CLD_DUMPED, i32::from(signal)),
    };
    send_info(parent, child_info(child, signal, code, value));
}

/// The siginfo of `signal` about `child`; CPU times in clock ticks (USER_HZ = 100):
/// its process's, as Linux's (its threads', not its children's).
fn child_info(child: &Process, signal: u8, code: i32, status: i32) -> SigInfo {
    let ticks = |cycles| crate::time::cycles_to_ns(cycles) / 10_000_000;
    let used = crate::process::process_usage(child);
    let (user, system) = (ticks(used.user_cycles), ticks(used.system_cycles));
    SigInfo::child(signal, code, child.pid(), 0, status, user, system)
}
