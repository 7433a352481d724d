//! How a run ended, and the exit status `timeshare` reports for it.

use crate::control::{ProgramEnd, Summary};

/// Exit status when `--timeout` was reached (as `timeout(1)`).
pub const EXIT_TIMEOUT: u8 = 124;
/// Exit status when the kernel (or QEMU) failed rather than the program.
pub const EXIT_KERNEL_FAILURE: u8 = 125;
/// Exit status for usage errors (bad options, a missing or unusable PROGRAM).
pub const EXIT_USAGE: u8 = 2;

/// How the QEMU process ended, as seen by the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QemuEnd {
    /// QEMU exited by itself with this status (`None`: killed by a signal we did not send).
    Exited(Option<i32>),
    /// `--timeout` was reached and QEMU was killed.
    TimedOut,
    /// `timeshare` got this signal (SIGINT, SIGTERM, SIGHUP) and killed QEMU.
    Interrupted(i32),
    /// The user typed the console escape (Ctrl-A x) and QEMU was killed.
    Escaped,
    /// The kernel had not said `ready` after this long, and QEMU was killed.
    NotBooted(std::time::Duration),
}

/// The verdict on a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The program ended; the status is its exit status or 128+signal.
    Program(u8),
    TimedOut,
    Interrupted(i32),
    Escaped,
    /// QEMU refused to start the machine (a bad `--qemu-arg`, memory the host cannot
    /// give, an initrd too large for the guest, or aborted on an accelerator that
    /// cannot run its CPU: QEMU 7.2 under KVM on some AMD hosts asserts on an MSR):
    /// its own message says why.
    QemuRefused,
    /// The machine started but the kernel never got as far as its console (a host
    /// whose KVM cannot run it): a usage error, like QEMU's refusals.
    NotBooted(std::time::Duration),
    /// The kernel or QEMU failed; the reason is for the user.
    KernelFailure(String),
}

impl Verdict {
    pub fn exit_status(&self) -> u8 {
        match *self {
            Verdict::Program(status) => status,
            Verdict::TimedOut => EXIT_TIMEOUT,
            Verdict::Interrupted(signal) => 128u8.saturating_add(signal.clamp(0, 127) as u8),
            Verdict::Escaped => 130,
            Verdict::QemuRefused | Verdict::NotBooted(_) => EXIT_USAGE,
            Verdict::KernelFailure(_) => EXIT_KERNEL_FAILURE,
        }
    }
}

/// The value QEMU's `isa-debug-exit` turns a port write `v` into: `(v << 1) | 1`.
const fn debug_exit(v: i32) -> i32 {
    (v << 1) | 1
}
/// The kernel writes 0 to port 0xf4 after a normal poweroff ...
pub const QEMU_POWEROFF: i32 = debug_exit(0);
/// ... and 1 after a kernel failure.
pub const QEMU_KERNEL_FAILED: i32 = debug_exit(1);

/// `qemu_complained`: QEMU printed something on its stderr (QEMU exits with status 1 on
/// its own errors too, which looks like a poweroff).
pub fn judge(qemu: QemuEnd, control: &Summary, qemu_complained: bool) -> Verdict {
    match qemu {
        QemuEnd::TimedOut => Verdict::TimedOut,
        QemuEnd::Interrupted(signal) => Verdict::Interrupted(signal),
        QemuEnd::Escaped => Verdict::Escaped,
        QemuEnd::NotBooted(after) => Verdict::NotBooted(after),
        QemuEnd::Exited(_) if control.panicked => Verdict::KernelFailure("the kernel panicked".into()),
        QemuEnd::Exited(Some(QEMU_POWEROFF)) => match control.end {
            Some(ProgramEnd::Exited(code)) => Verdict::Program(code),
            Some(ProgramEnd::Signaled(n)) => Verdict::Program(128 + n.min(127)),
            None if qemu_complained && !control.ready => Verdict::QemuRefused,
            None if qemu_complained => Verdict::KernelFailure("QEMU failed (status 1) before the kernel reported how the program ended".into()),
            None => Verdict::KernelFailure(
                "the kernel powered off without reporting how the program ended (no `exit` or `signal` record on the control channel)".into(),
            ),
        },
        QemuEnd::Exited(Some(QEMU_KERNEL_FAILED)) => Verdict::KernelFailure("the kernel failed".into()),
        QemuEnd::Exited(Some(0)) => Verdict::KernelFailure(
            "QEMU exited with status 0: the machine reset (a triple fault in the kernel?)".into(),
        ),
        QemuEnd::Exited(Some(status)) => Verdict::KernelFailure(format!("QEMU exited with status {status}")),
        QemuEnd::Exited(None) if qemu_complained && !control.ready => Verdict::QemuRefused,
        QemuEnd::Exited(None) => Verdict::KernelFailure("QEMU was killed by a signal".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(end: Option<ProgramEnd>, panicked: bool) -> Summary {
        Summary { end, panicked, ..Summary::default() }
    }

    #[test]
    fn debug_exit_values() {
        assert_eq!(QEMU_POWEROFF, 1);
        assert_eq!(QEMU_KERNEL_FAILED, 3);
    }

    #[test]
    fn program_status_travels_through() {
        for code in [0u8, 1, 3, 124, 255] {
            let v = judge(QemuEnd::Exited(Some(1)), &summary(Some(ProgramEnd::Exited(code)), false), false);
            assert_eq!(v, Verdict::Program(code));
            assert_eq!(v.exit_status(), code);
        }
    }

    #[test]
    fn a_signal_becomes_128_plus_n() {
        let v = judge(QemuEnd::Exited(Some(1)), &summary(Some(ProgramEnd::Signaled(9)), false), false);
        assert_eq!(v.exit_status(), 137);
        let v = judge(QemuEnd::Exited(Some(1)), &summary(Some(ProgramEnd::Signaled(11)), false), false);
        assert_eq!(v.exit_status(), 139);
    }

    #[test]
    fn kernel_failures_are_125() {
        let cases = [
            (QemuEnd::Exited(Some(3)), summary(None, true)),
            (QemuEnd::Exited(Some(3)), summary(None, false)),
            (QemuEnd::Exited(Some(1)), summary(Some(ProgramEnd::Exited(0)), true)),
            (QemuEnd::Exited(Some(1)), summary(None, false)),
            (QemuEnd::Exited(Some(0)), summary(Some(ProgramEnd::Exited(0)), false)),
            (QemuEnd::Exited(Some(2)), summary(None, false)),
            (QemuEnd::Exited(None), summary(None, false)),
        ];
        for (qemu, control) in cases {
            let v = judge(qemu, &control, false);
            assert!(matches!(v, Verdict::KernelFailure(_)), "{qemu:?} {control:?}: {v:?}");
            assert_eq!(v.exit_status(), 125);
        }
        let ready = Summary { ready: true, ..summary(None, false) };
        let v = judge(QemuEnd::Exited(Some(1)), &ready, true);
        assert_eq!(
            v,
            Verdict::KernelFailure("QEMU failed (status 1) before the kernel reported how the program ended".into())
        );
    }

    #[test]
    fn qemu_refusing_to_start_is_a_usage_error() {
        let v = judge(QemuEnd::Exited(Some(1)), &summary(None, false), true);
        assert_eq!((v.clone(), v.exit_status()), (Verdict::QemuRefused, EXIT_USAGE));
        // Aborting (its own assertion) before the kernel said it was ready, with a
        // message: a refusal too; killed silently or after the boot: a failure.
        assert_eq!(judge(QemuEnd::Exited(None), &summary(None, false), true), Verdict::QemuRefused);
        let failure = Verdict::KernelFailure("QEMU was killed by a signal".into());
        assert_eq!(judge(QemuEnd::Exited(None), &summary(None, false), false), failure);
        let booted = Summary { ready: true, ..summary(None, false) };
        assert_eq!(judge(QemuEnd::Exited(None), &booted, true), failure);
    }

    #[test]
    fn timeouts_and_interruptions() {
        let done = summary(Some(ProgramEnd::Exited(0)), false);
        assert_eq!(judge(QemuEnd::TimedOut, &done, false).exit_status(), 124);
        assert_eq!(judge(QemuEnd::Interrupted(libc::SIGINT), &done, false).exit_status(), 130);
        assert_eq!(judge(QemuEnd::Interrupted(libc::SIGTERM), &done, false).exit_status(), 143);
        assert_eq!(judge(QemuEnd::Escaped, &done, false).exit_status(), 130);
        // A kernel that never booted is the host's limit, not a kernel failure.
        let never = summary(None, false);
        assert_eq!(judge(QemuEnd::NotBooted(std::time::Duration::from_secs(10)), &never, false).exit_status(), 2);
    }
}
