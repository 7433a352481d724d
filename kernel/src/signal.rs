//! Signals: pending and blocked sets per process, sending, and delivery on the way
//! back to user mode. A fault the program causes becomes a signal too (MISSION.md
//! point 2: the offender, and only it, is dealt with).

use crate::mm::kstack::UserState;
use crate::process::{ExitStatus, Process};
use crate::sched;
use kernel_core::abi::signal::{default_action, DefaultAction, SIGKILL, SIGSTOP};

/// A set of signals, bit `n - 1` for signal `n` (Linux's sigset_t layout).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct SignalSet(pub u64);

impl SignalSet {
    fn bit(signal: u8) -> u64 {
        1u64 << (signal - 1)
    }

    pub fn contains(self, signal: u8) -> bool {
        self.0 & Self::bit(signal) != 0
    }

    pub fn insert(&mut self, signal: u8) {
        self.0 |= Self::bit(signal);
    }

    pub fn remove(&mut self, signal: u8) {
        self.0 &= !Self::bit(signal);
    }

    /// The set without SIGKILL and SIGSTOP, which can never be blocked.
    pub fn blockable(self) -> SignalSet {
        SignalSet(self.0 & !(Self::bit(SIGKILL) | Self::bit(SIGSTOP)))
    }
}

/// A process's signal state.
#[derive(Clone, Default)]
pub struct SignalState {
    pub pending: SignalSet,
    pub blocked: SignalSet,
}

impl SignalState {
    /// What a fork child starts with: the parent's mask, nothing pending.
    pub fn for_child(&self) -> SignalState {
        SignalState { pending: SignalSet::default(), blocked: self.blocked }
    }

    /// Whether some pending signal would be acted on now (it interrupts a wait).
    pub fn has_deliverable(&self) -> bool {
        self.pending.0 & !self.blocked.0 != 0
    }

    /// Takes the lowest-numbered pending signal that is not blocked.
    fn take_deliverable(&mut self) -> Option<u8> {
        let ready = self.pending.0 & !self.blocked.0;
        if ready == 0 {
            return None;
        }
        let signal = ready.trailing_zeros() as u8 + 1;
        self.pending.remove(signal);
        Some(signal)
    }
}

/// Makes `signal` pending for `target` and, if it will act on it, ends a blocking
/// wait so it does so promptly.
pub fn send(target: &Process, signal: u8) {
    let deliverable = {
        let mut signals = target.signals.lock();
        if default_action(signal) == DefaultAction::Ignore && signal != SIGKILL {
            return;
        }
        signals.pending.insert(signal);
        !signals.blocked.contains(signal)
    };
    if deliverable {
        sched::interrupt(target.pid);
    }
}

/// Sends a signal the program caused by faulting: it cannot be blocked or ignored
/// (Linux's force_sig), since returning to the faulting instruction would just
/// fault again.
pub fn force(target: &Process, signal: u8) {
    let mut signals = target.signals.lock();
    signals.blocked.remove(signal);
    signals.pending.insert(signal);
}

/// On the way back to user mode: acts on the pending signals that are not blocked.
/// Default actions only for now: terminate (with or without a core flag), or
/// ignore; stop and continue are treated as ignore until job control exists.
pub fn deliver(process: &Process, _user: &mut UserState) {
    loop {
        let Some(signal) = process.signals.lock().take_deliverable() else { return };
        match default_action(signal) {
            DefaultAction::Terminate => process.begin_exit(ExitStatus::Killed { signal, core_dumped: false }),
            DefaultAction::CoreDump => process.begin_exit(ExitStatus::Killed { signal, core_dumped: true }),
            DefaultAction::Ignore | DefaultAction::Stop | DefaultAction::Continue => {}
        }
    }
}
