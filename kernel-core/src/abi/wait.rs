//! Wait statuses as Linux encodes them for `wait4`, and its option flags.

use super::errno::EINVAL;
use super::signal::SIGCHLD;

pub const WNOHANG: u32 = 0x1;
pub const WUNTRACED: u32 = 0x2;
pub const WSTOPPED: u32 = WUNTRACED;
pub const WEXITED: u32 = 0x4;
pub const WCONTINUED: u32 = 0x8;
pub const WNOWAIT: u32 = 0x0100_0000;
pub const WNOTHREAD: u32 = 0x2000_0000;
pub const WALL: u32 = 0x4000_0000;
pub const WCLONE: u32 = 0x8000_0000;

/// Set in a "killed by a signal" status when a core dump was (or would have been)
/// written.
const CORE_DUMPED: i32 = 0x80;
/// The low seven bits hold the terminating signal; 0 means a normal exit and 0x7f
/// a stopped child.
const SIGNAL_MASK: i32 = 0x7f;
const STOPPED: i32 = 0x7f;

/// The status of a process that called `exit(code)`: `code << 8`, as `WIFEXITED`
/// and `WEXITSTATUS` expect.
pub fn exited(code: u8) -> i32 {
    i32::from(code) << 8
}

/// The status of a process killed by signal `sig` (1..=126; only the low seven
/// bits are stored), with the core-dump bit when `core` is set.
pub fn signaled(sig: u8, core: bool) -> i32 {
    (i32::from(sig) & SIGNAL_MASK) | if core { CORE_DUMPED } else { 0 }
}

/// The status of a child stopped by signal `sig` (`WIFSTOPPED`, `WSTOPSIG`).
pub fn stopped(sig: u8) -> i32 {
    (i32::from(sig) << 8) | STOPPED
}

/// The status of a child that SIGCONT continued (`WIFCONTINUED`).
pub fn continued() -> i32 {
    0xffff
}

/// The exit code if `status` describes a normal exit (`WIFEXITED`).
pub fn exit_code(status: i32) -> Option<u8> {
    (status & SIGNAL_MASK == 0).then_some(((status >> 8) & 0xff) as u8)
}

/// The terminating signal if `status` describes death by a signal (`WIFSIGNALED`).
pub fn term_signal(status: i32) -> Option<u8> {
    let sig = status & SIGNAL_MASK;
    (sig != 0 && sig != STOPPED).then_some(sig as u8)
}

/// The `wait4` options timeshare acts on (`__WNOTHREAD`, which Linux also accepts,
/// means nothing for single-threaded processes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaitOptions {
    pub no_hang: bool,
    pub untraced: bool,
    pub continued: bool,
    /// `__WALL`: children whatever signal their exit sends.
    pub all_children: bool,
    /// `__WCLONE`: only "clone" children, whose exit sends no SIGCHLD.
    pub clone_children: bool,
}

impl WaitOptions {
    /// Whether a child whose exit sends `exit_signal` (clone's low byte; 0: none)
    /// is one to wait for (Linux's `eligible_child`): a child that reports with
    /// SIGCHLD without `__WCLONE`, any other with it, every one with `__WALL`.
    pub fn accepts(&self, exit_signal: u8) -> bool {
        self.all_children || (exit_signal == SIGCHLD) != self.clone_children
    }
}

/// Decodes the `options` argument (a C `int`) of `wait4`: `EINVAL` for any bit
/// Linux's `wait4` rejects.
pub fn decode_wait4_options(options: u64) -> Result<WaitOptions, i64> {
    let options = super::uint_arg(options);
    let known = WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WCLONE | WALL;
    if options & !known != 0 {
        return Err(EINVAL);
    }
    Ok(WaitOptions {
        no_hang: options & WNOHANG != 0,
        untraced: options & WUNTRACED != 0,
        continued: options & WCONTINUED != 0,
        all_children: options & WALL != 0,
        clone_children: options & WCLONE != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_round_trip() {
        for code in 0..=255u8 {
            let status = exited(code);
            assert_eq!(status, i32::from(code) * 256);
            assert_eq!(exit_code(status), Some(code));
            assert_eq!(term_signal(status), None);
        }
    }

    #[test]
    fn signal_statuses_round_trip() {
        for sig in 1..=64u8 {
            for core in [false, true] {
                let status = signaled(sig, core);
                assert_eq!(term_signal(status), Some(sig));
                assert_eq!(exit_code(status), None);
                assert_eq!(status & 0x80 != 0, core);
            }
        }
        assert_eq!(signaled(9, false), 9);
        assert_eq!(signaled(11, true), 0x8b);
    }

    #[test]
    fn stopped_statuses_are_neither_exit_nor_signal() {
        let stopped_by_sigstop = stopped(19);
        assert_eq!(stopped_by_sigstop, 0x137f);
        assert_eq!(term_signal(continued()), None);
        assert_eq!(exit_code(continued()), None);
        assert_eq!(exit_code(stopped_by_sigstop), None);
        assert_eq!(term_signal(stopped_by_sigstop), None);
        assert_eq!(term_signal(0xffff), None);
        assert_eq!(exit_code(-1), None);
        assert_eq!(exit_code(i32::MIN), Some(0));
    }

    #[test]
    fn wait4_options_decode_as_linux() {
        assert_eq!(decode_wait4_options(0), Ok(WaitOptions::default()));
        let all = decode_wait4_options(u64::from(WNOHANG | WUNTRACED | WCONTINUED | WALL));
        assert_eq!(
            all,
            Ok(WaitOptions {
                no_hang: true,
                untraced: true,
                continued: true,
                all_children: true,
                clone_children: false
            })
        );
        assert_eq!(decode_wait4_options(u64::from(WEXITED)), Err(EINVAL));
        assert_eq!(decode_wait4_options(u64::from(WNOWAIT)), Err(EINVAL));
        assert_eq!(decode_wait4_options(0x10), Err(EINVAL));
        assert_eq!(
            decode_wait4_options(0xffff_ffff_0000_0001).map(|o| o.no_hang),
            Ok(true),
            "the upper half of an int argument is ignored"
        );
    }

    #[test]
    fn clone_children_are_waited_for_only_with_wclone_or_wall() {
        let options = |flags: u32| decode_wait4_options(u64::from(flags)).unwrap();
        // fork's children report with SIGCHLD; clone's may send another signal or none.
        for exit_signal in [0, 10, 64, 65, 255] {
            assert!(!options(0).accepts(exit_signal), "{exit_signal}");
            assert!(options(WCLONE).accepts(exit_signal));
            assert!(options(WALL).accepts(exit_signal));
            assert!(options(WALL | WCLONE).accepts(exit_signal));
        }
        assert!(options(0).accepts(SIGCHLD));
        assert!(!options(WCLONE).accepts(SIGCHLD));
        assert!(options(WALL).accepts(SIGCHLD));
        assert!(options(WALL | WCLONE).accepts(SIGCHLD));
    }
}
