//! Linux x86_64 signal numbers and their default dispositions (signal(7)).

numbered_names! { u8;
    SIGHUP = 1,
    SIGINT = 2,
    SIGQUIT = 3,
    SIGILL = 4,
    SIGTRAP = 5,
    SIGABRT = 6,
    SIGBUS = 7,
    SIGFPE = 8,
    SIGKILL = 9,
    SIGUSR1 = 10,
    SIGSEGV = 11,
    SIGUSR2 = 12,
    SIGPIPE = 13,
    SIGALRM = 14,
    SIGTERM = 15,
    SIGSTKFLT = 16,
    SIGCHLD = 17,
    SIGCONT = 18,
    SIGSTOP = 19,
    SIGTSTP = 20,
    SIGTTIN = 21,
    SIGTTOU = 22,
    SIGURG = 23,
    SIGXCPU = 24,
    SIGXFSZ = 25,
    SIGVTALRM = 26,
    SIGPROF = 27,
    SIGWINCH = 28,
    SIGIO = 29,
    SIGPWR = 30,
    SIGSYS = 31,
    SIGRTMIN = 32,
    SIGRTMAX = 64,
}

// Linux aliases that share a number with the names above.
pub const SIGIOT: u8 = SIGABRT;
pub const SIGPOLL: u8 = SIGIO;
/// The highest signal number (Linux `_NSIG`); valid signals are `1..=NSIG`.
pub const NSIG: u8 = 64;

/// What happens when a signal arrives that the process neither handles nor ignores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    Ignore,
    /// Terminate and report a core dump in the wait status.
    CoreDump,
    Stop,
    Continue,
}

/// The signal number in a raw syscall argument (a C `int`), or `None` unless it is
/// a real signal `1..=NSIG`. Signal 0 ("only check that the target exists") is
/// `None` too: callers that accept it test for it first.
pub fn decode(raw: u64) -> Option<u8> {
    u8::try_from(super::int_arg(raw))
        .ok()
        .filter(|sig| (1..=NSIG).contains(sig))
}

/// The default action of `sig` as Linux defines it. Real-time signals (and any
/// number without a name) terminate; validate numbers with `decode` first.
pub fn default_action(sig: u8) -> DefaultAction {
    match sig {
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ
        | SIGSYS => DefaultAction::CoreDump,
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGCONT => DefaultAction::Continue,
        _ => DefaultAction::Terminate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_linux_x86_64() {
        assert_eq!(
            (SIGHUP, SIGINT, SIGKILL, SIGSEGV, SIGPIPE),
            (1, 2, 9, 11, 13)
        );
        assert_eq!(
            (SIGTERM, SIGCHLD, SIGCONT, SIGSTOP, SIGSYS),
            (15, 17, 18, 19, 31)
        );
        assert_eq!(
            (SIGRTMIN, SIGRTMAX, NSIG, SIGIOT, SIGPOLL),
            (32, 64, 64, 6, 29)
        );
    }

    #[test]
    fn names_are_the_constant_spellings() {
        for &(sig, konst, text) in TABLE {
            assert_eq!(konst, text);
            assert_eq!(name(sig), Some(text));
        }
        for sig in 1..=31 {
            assert!(name(sig).is_some_and(|n| n.starts_with("SIG")));
        }
        for sig in [0, 33, 63, 65, 255] {
            assert_eq!(name(sig), None);
        }
    }

    #[test]
    fn default_actions_match_signal_7() {
        assert_eq!(default_action(SIGSEGV), DefaultAction::CoreDump);
        assert_eq!(default_action(SIGABRT), DefaultAction::CoreDump);
        assert_eq!(default_action(SIGKILL), DefaultAction::Terminate);
        assert_eq!(default_action(SIGTERM), DefaultAction::Terminate);
        assert_eq!(default_action(SIGPIPE), DefaultAction::Terminate);
        assert_eq!(default_action(SIGCHLD), DefaultAction::Ignore);
        assert_eq!(default_action(SIGWINCH), DefaultAction::Ignore);
        assert_eq!(default_action(SIGURG), DefaultAction::Ignore);
        assert_eq!(default_action(SIGSTOP), DefaultAction::Stop);
        assert_eq!(default_action(SIGTTOU), DefaultAction::Stop);
        assert_eq!(default_action(SIGCONT), DefaultAction::Continue);
        for sig in SIGRTMIN..=SIGRTMAX {
            assert_eq!(default_action(sig), DefaultAction::Terminate);
        }
        let core_dumping = (1..=31).filter(|&s| default_action(s) == DefaultAction::CoreDump);
        assert_eq!(core_dumping.count(), 10);
    }

    #[test]
    fn decode_accepts_exactly_the_real_signals() {
        assert_eq!(decode(0), None);
        assert_eq!(decode(1), Some(SIGHUP));
        assert_eq!(decode(64), Some(64));
        assert_eq!(decode(65), None);
        assert_eq!(decode(u64::MAX), None);
        assert_eq!(decode(0xffff_ffff_0000_0009), Some(SIGKILL));
        assert_eq!(decode(0x1_0000_0000), None);
    }
}
