//! Linux x86_64 signals: numbers and default dispositions (signal(7)), signal sets,
//! `struct sigaction`, `siginfo_t`, and the rule that decides whether a system call
//! a signal cut short fails with EINTR or starts again.

use crate::bytes::{pack, Fields};

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
    u8::try_from(super::int_arg(raw)).ok().filter(|sig| (1..=NSIG).contains(sig))
}

/// The default action of `sig` as Linux defines it. Real-time signals (and any
/// number without a name) terminate; validate numbers with `decode` first.
pub fn default_action(sig: u8) -> DefaultAction {
    match sig {
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ | SIGSYS => {
            DefaultAction::CoreDump
        }
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGCONT => DefaultAction::Continue,
        _ => DefaultAction::Terminate,
    }
}

/// A set of signals, bit `n - 1` for signal `n` (Linux's 64-bit `sigset_t`).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct SignalSet(pub u64);

impl SignalSet {
    /// The set's bit for `signal` (`1..=NSIG`; anything else has no bit).
    fn bit(signal: u8) -> u64 {
        match signal {
            1..=NSIG => 1u64 << (signal - 1),
            _ => 0,
        }
    }

    /// The set holding only `signal`.
    pub fn of(signal: u8) -> SignalSet {
        SignalSet(Self::bit(signal))
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

    pub fn union(self, other: SignalSet) -> SignalSet {
        SignalSet(self.0 | other.0)
    }

    pub fn without(self, other: SignalSet) -> SignalSet {
        SignalSet(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set without SIGKILL and SIGSTOP, which can never be blocked or caught.
    pub fn blockable(self) -> SignalSet {
        SignalSet(self.0 & !(Self::bit(SIGKILL) | Self::bit(SIGSTOP)))
    }

    /// The signal to act on first among `self`: a synchronous one (a fault the
    /// program caused) before any other, then the lowest number, as Linux's
    /// `next_signal` picks.
    pub fn first(self) -> Option<u8> {
        let synchronous =
            [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS].iter().fold(0, |mask, &signal| mask | Self::bit(signal));
        let candidates = if self.0 & synchronous != 0 { self.0 & synchronous } else { self.0 };
        (candidates != 0).then(|| candidates.trailing_zeros() as u8 + 1)
    }
}

/// The stop signals (default action: stop the process).
pub const STOP_SIGNALS: [u8; 4] = [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU];

// `sa_flags` bits (x86_64).
pub const SA_NOCLDSTOP: u64 = 0x1;
pub const SA_NOCLDWAIT: u64 = 0x2;
pub const SA_SIGINFO: u64 = 0x4;
pub const SA_UNSUPPORTED: u64 = 0x400;
pub const SA_EXPOSE_TAGBITS: u64 = 0x800;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;
/// The flags Linux keeps (`UAPI_SA_FLAGS`); it clears the others, so a program can
/// tell from the old action which flags the kernel knows.
const KNOWN_SA_FLAGS: u64 = SA_NOCLDSTOP
    | SA_NOCLDWAIT
    | SA_SIGINFO
    | SA_EXPOSE_TAGBITS
    | SA_RESTORER
    | SA_ONSTACK
    | SA_RESTART
    | SA_NODEFER
    | SA_RESETHAND;

/// `sa_handler` values that are not addresses.
pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

/// The kernel's `struct sigaction` on x86_64 (what `rt_sigaction` copies): handler,
/// flags, restorer, mask, 8 bytes each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: SignalSet,
}

/// What a process does with a signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// SIG_DFL: the signal's default action.
    Default(DefaultAction),
    /// SIG_IGN.
    Ignore,
    /// A handler at this address.
    Handler(u64),
}

impl SigAction {
    pub const SIZE: usize = 32;
    /// SIG_DFL with no flags: what every signal starts with.
    pub const DEFAULT: SigAction = SigAction { handler: SIG_DFL, flags: 0, restorer: 0, mask: SignalSet(0) };

    /// Decodes a user `struct sigaction` as Linux stores it: unknown flags cleared,
    /// SIGKILL and SIGSTOP dropped from the mask.
    pub fn from_bytes(raw: [u8; Self::SIZE]) -> SigAction {
        let mut fields = Fields::new(&raw);
        SigAction {
            handler: fields.u64(),
            flags: fields.u64() & KNOWN_SA_FLAGS,
            restorer: fields.u64(),
            mask: SignalSet(fields.u64()).blockable(),
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        pack(&[
            &self.handler.to_le_bytes(),
            &self.flags.to_le_bytes(),
            &self.restorer.to_le_bytes(),
            &self.mask.0.to_le_bytes(),
        ])
    }

    pub fn disposition(&self, signal: u8) -> Disposition {
        match self.handler {
            SIG_DFL => Disposition::Default(default_action(signal)),
            SIG_IGN => Disposition::Ignore,
            handler => Disposition::Handler(handler),
        }
    }

    /// Whether `signal` is discarded on arrival under this action: SIG_IGN, or SIG_DFL
    /// for a signal whose default is to do nothing (SIGCONT included: its effect,
    /// continuing the process, happens when it is sent). Linux's `sig_handler_ignored`.
    pub fn ignores(&self, signal: u8) -> bool {
        matches!(
            self.disposition(signal),
            Disposition::Ignore | Disposition::Default(DefaultAction::Ignore | DefaultAction::Continue)
        )
    }

    /// The action after execve: a handler (code that no longer exists) becomes
    /// SIG_DFL, an ignored signal stays ignored; flags, restorer and mask are cleared
    /// (Linux's `flush_signal_handlers`).
    pub fn after_exec(&self) -> SigAction {
        let handler = if self.handler == SIG_IGN { SIG_IGN } else { SIG_DFL };
        SigAction { handler, ..SigAction::DEFAULT }
    }
}

// `si_code` values (asm-generic/siginfo.h).
pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_QUEUE: i32 = -1;
pub const SI_TKILL: i32 = -6;
pub const ILL_ILLOPN: i32 = 2;
pub const FPE_INTDIV: i32 = 1;
pub const FPE_FLTDIV: i32 = 3;
pub const FPE_FLTOVF: i32 = 4;
pub const FPE_FLTUND: i32 = 5;
pub const FPE_FLTRES: i32 = 6;
pub const FPE_FLTINV: i32 = 7;
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const BUS_ADRALN: i32 = 1;
/// A nonexistent physical address: a page of a file mapping past the file's end.
pub const BUS_ADRERR: i32 = 2;
pub const TRAP_BRKPT: i32 = 1;
pub const TRAP_TRACE: i32 = 2;
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

/// The `si_code` of a floating-point exception, from the x87 status and control
/// words (`#MF`) or from MXCSR (`#XM`): the first unmasked exception flag in Linux's
/// order (invalid, divide by zero, overflow, underflow or denormal, precision), or 0
/// when no unmasked flag is set.
pub fn fpe_code(x87: Option<(u16, u16)>, mxcsr: u32) -> i32 {
    let raised = match x87 {
        Some((status, control)) => u32::from(status & !control),
        None => !(mxcsr >> 7) & mxcsr,
    };
    [(0x01, FPE_FLTINV), (0x04, FPE_FLTDIV), (0x08, FPE_FLTOVF), (0x12, FPE_FLTUND), (0x20, FPE_FLTRES)]
        .iter()
        .find(|&&(bits, _)| raised & bits != 0)
        .map_or(0, |&(_, code)| code)
}

/// A `siginfo_t` as the kernel keeps it: the signal, the code, and the union's
/// first 32 bytes (every member the kernel fills fits there, as in Linux's
/// `kernel_siginfo`), `si_errno` only for what `rt_sigqueueinfo` brings. 48 bytes
/// moved through the queue instead of 128; `to_bytes` expands it to the 128-byte
/// `siginfo_t` at the copy to the program.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SigInfo {
    signo: u8,
    errno: i32,
    code: i32,
    union: [u8; SigInfo::UNION_SIZE],
}

impl core::fmt::Debug for SigInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        write!(f, "SigInfo {{ signo: {}, code: {} }}", self.signo(), self.code())
    }
}

impl SigInfo {
    pub const SIZE: usize = 128;
    const UNION_OFFSET: usize = 16;
    const UNION_SIZE: usize = 32;

    /// `union`'s fields laid end to end from the union's start.
    fn build(signal: u8, code: i32, union: &[&[u8]]) -> SigInfo {
        SigInfo { signo: signal, errno: 0, code, union: pack(union) }
    }

    /// A signal sent by a process (kill: `SI_USER`, tkill: `SI_TKILL`) or by the
    /// kernel (`SI_KERNEL`, pid and uid 0): `si_pid`, `si_uid`.
    pub fn sent(signal: u8, code: i32, pid: u32, uid: u32) -> SigInfo {
        let mut union = [0; Self::UNION_SIZE];
        union[..4].copy_from_slice(&pid.to_le_bytes());
        union[4..8].copy_from_slice(&uid.to_le_bytes());
        SigInfo { signo: signal, errno: 0, code, union }
    }

    /// A signal the program caused by faulting: `si_addr`.
    pub fn fault(signal: u8, code: i32, address: u64) -> SigInfo {
        let mut union = [0; Self::UNION_SIZE];
        union[..8].copy_from_slice(&address.to_le_bytes());
        SigInfo { signo: signal, errno: 0, code, union }
    }

    /// `signal` (SIGCHLD, or the exit signal clone chose) about a child: `si_pid`,
    /// `si_uid`, `si_status` (exit code or signal), `si_utime`, `si_stime` (clock
    /// ticks).
    pub fn child(
        signal: u8,
        code: i32,
        pid: u32,
        uid: u32,
        status: i32,
        user_ticks: u64,
        system_ticks: u64,
    ) -> SigInfo {
        SigInfo::build(
            signal,
            code,
            &[
                &pid.to_le_bytes(),
                &uid.to_le_bytes(),
                &status.to_le_bytes(),
                &[0; 4],
                &user_ticks.to_le_bytes(),
                &system_ticks.to_le_bytes(),
            ],
        )
    }

    /// What `rt_sigqueueinfo` gives: the program's own bytes, with `si_signo` set
    /// to the signal actually sent (as Linux does). Bytes past the union's first 32
    /// are not kept (nor by Linux, whose known layouts all end there): the handler
    /// sees zeros.
    pub fn queued(signal: u8, raw: [u8; Self::SIZE]) -> SigInfo {
        let mut header = Fields::new(&raw[4..]);
        let errno = header.u32() as i32;
        let code = header.u32() as i32;
        let mut union = [0; Self::UNION_SIZE];
        union.copy_from_slice(&raw[Self::UNION_OFFSET..][..Self::UNION_SIZE]);
        SigInfo { signo: signal, errno, code, union }
    }

    pub fn signo(&self) -> u8 {
        self.signo
    }

    pub fn code(&self) -> i32 {
        self.code
    }

    /// The 128-byte `siginfo_t` the program reads.
    #[inline]
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut bytes = [0; Self::SIZE];
        bytes[..4].copy_from_slice(&i32::from(self.signo).to_le_bytes());
        bytes[4..8].copy_from_slice(&self.errno.to_le_bytes());
        bytes[8..12].copy_from_slice(&self.code.to_le_bytes());
        bytes[Self::UNION_OFFSET..][..Self::UNION_SIZE].copy_from_slice(&self.union);
        bytes
    }

    /// Who or what raised the signal, as its code says (what a host reports when
    /// the signal ends a program).
    pub fn cause(&self) -> Cause {
        let mut union = Fields::new(&self.union);
        match (self.signo, self.code) {
            (_, SI_USER | SI_QUEUE | SI_TKILL) => Cause::Sent { pid: union.u32() },
            (SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP, SI_KERNEL) => Cause::Fault { address: None },
            (SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP, 1..) => Cause::Fault { address: Some(union.u64()) },
            _ => Cause::Kernel,
        }
    }
}

/// What raised a signal (`SigInfo::cause`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The program's own instruction faulted; `si_addr` when the code carries one
    /// (a page fault's address; the instruction's for SIGILL and SIGFPE), none for
    /// the faults Linux reports as SI_KERNEL (a general protection fault).
    Fault { address: Option<u64> },
    /// kill, tkill, tgkill or rt_sigqueueinfo by process `pid`.
    Sent { pid: u32 },
    /// The kernel for some other reason (the terminal's keys, a child's exit, ...).
    Kernel,
}

// Kernel-internal results of a system call a signal cut short (never seen by a
// program): Linux's values, outside the errno range, so a handler can return them
// through the ordinary `Err(errno)` path.
/// Restart if no handler runs or the handler has SA_RESTART; EINTR otherwise.
pub const ERESTARTSYS: i64 = 512;
/// Always restart.
pub const ERESTARTNOINTR: i64 = 513;
/// Restart if no handler runs; EINTR otherwise.
pub const ERESTARTNOHAND: i64 = 514;
/// Like ERESTARTNOHAND, but restart through `restart_syscall`, which resumes with
/// state the call saved (nanosleep: the remaining time).
pub const ERESTART_RESTARTBLOCK: i64 = 516;

/// How an interrupted system call resumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resumption {
    /// It fails with EINTR.
    Interrupted,
    /// It is executed again: same number, same arguments.
    Again,
    /// `restart_syscall` is executed instead.
    RestartSyscall,
}

/// What becomes of a system call that ended with `errno`, given the flags of the
/// handler about to run (`None`: no handler runs, the signal was ignored, stopped
/// the process or had no effect). `None` when `errno` is not a restart code.
/// Linux's `handle_signal` and `arch_do_signal_or_restart`.
pub fn resumption(errno: i64, handler_flags: Option<u64>) -> Option<Resumption> {
    let resumption = match (errno, handler_flags) {
        (ERESTARTSYS | ERESTARTNOINTR | ERESTARTNOHAND, None) => Resumption::Again,
        (ERESTART_RESTARTBLOCK, None) => Resumption::RestartSyscall,
        (ERESTARTNOINTR, Some(_)) => Resumption::Again,
        (ERESTARTSYS, Some(flags)) if flags & SA_RESTART != 0 => Resumption::Again,
        (ERESTARTSYS | ERESTARTNOHAND | ERESTART_RESTARTBLOCK, Some(_)) => Resumption::Interrupted,
        _ => return None,
    };
    Some(resumption)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_linux_x86_64() {
        assert_eq!((SIGHUP, SIGINT, SIGKILL, SIGSEGV, SIGPIPE), (1, 2, 9, 11, 13));
        assert_eq!((SIGTERM, SIGCHLD, SIGCONT, SIGSTOP, SIGSYS), (15, 17, 18, 19, 31));
        assert_eq!((SIGRTMIN, SIGRTMAX, NSIG, SIGIOT, SIGPOLL), (32, 64, 64, 6, 29));
    }

    #[test]
    fn causes_follow_the_code() {
        assert_eq!(SigInfo::fault(SIGSEGV, SEGV_MAPERR, 0x10).cause(), Cause::Fault { address: Some(0x10) });
        assert_eq!(SigInfo::fault(SIGFPE, FPE_INTDIV, 0x401000).cause(), Cause::Fault { address: Some(0x401000) });
        assert_eq!(SigInfo::sent(SIGSEGV, SI_KERNEL, 0, 0).cause(), Cause::Fault { address: None });
        assert_eq!(SigInfo::sent(SIGSEGV, SI_USER, 7, 0).cause(), Cause::Sent { pid: 7 });
        assert_eq!(SigInfo::sent(SIGTERM, SI_TKILL, 3, 0).cause(), Cause::Sent { pid: 3 });
        let mut queued = [0u8; SigInfo::SIZE];
        queued[8..12].copy_from_slice(&SI_QUEUE.to_le_bytes());
        queued[16..20].copy_from_slice(&9u32.to_le_bytes());
        assert_eq!(SigInfo::queued(SIGUSR1, queued).cause(), Cause::Sent { pid: 9 });
        assert_eq!(SigInfo::sent(SIGINT, SI_KERNEL, 0, 0).cause(), Cause::Kernel);
        assert_eq!(SigInfo::child(SIGCHLD, CLD_EXITED, 4, 0, 0, 0, 0).cause(), Cause::Kernel);
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
    #[test]
    fn signal_sets_have_linux_bits_and_ignore_bad_numbers() {
        let mut set = SignalSet::default();
        set.insert(SIGHUP);
        set.insert(SIGRTMAX);
        assert_eq!(set.0, 1 | 1 << 63);
        for bad in [0, 65, 255] {
            set.insert(bad);
            set.remove(bad);
            assert!(!set.contains(bad));
        }
        assert_eq!(set.0, 1 | 1 << 63);
        assert_eq!(SignalSet(u64::MAX).blockable().0, u64::MAX & !(1 << 8) & !(1 << 18));
        assert_eq!(
            SignalSet::of(SIGINT).union(SignalSet::of(SIGTERM)).without(SignalSet::of(SIGINT)),
            SignalSet::of(SIGTERM)
        );
    }

    #[test]
    fn faults_are_taken_before_other_signals() {
        assert_eq!(SignalSet::default().first(), None);
        assert_eq!(SignalSet::of(SIGTERM).union(SignalSet::of(SIGINT)).first(), Some(SIGINT));
        let set = SignalSet::of(SIGHUP).union(SignalSet::of(SIGSEGV)).union(SignalSet::of(SIGFPE));
        assert_eq!(set.first(), Some(SIGFPE));
        assert_eq!(SignalSet::of(64).first(), Some(64));
    }

    #[test]
    fn sigaction_round_trips_and_is_cleaned_as_linux_does() {
        let mut raw = [0u8; 32];
        raw[..8].copy_from_slice(&0x401000u64.to_le_bytes());
        raw[8..16].copy_from_slice(&(SA_SIGINFO | SA_RESTORER | SA_UNSUPPORTED | 1 << 40).to_le_bytes());
        raw[16..24].copy_from_slice(&0x402000u64.to_le_bytes());
        raw[24..].copy_from_slice(&u64::MAX.to_le_bytes());
        let action = SigAction::from_bytes(raw);
        assert_eq!(action.handler, 0x401000);
        assert_eq!(action.flags, SA_SIGINFO | SA_RESTORER);
        assert_eq!(action.restorer, 0x402000);
        assert_eq!(action.mask, SignalSet(u64::MAX).blockable());
        assert_eq!(SigAction::from_bytes(action.to_bytes()), action);
        assert_eq!(action.disposition(SIGINT), Disposition::Handler(0x401000));
    }

    #[test]
    fn ignoring_covers_sig_ign_and_default_ignore() {
        let ignore = SigAction { handler: SIG_IGN, ..SigAction::DEFAULT };
        assert!(ignore.ignores(SIGTERM));
        assert!(SigAction::DEFAULT.ignores(SIGCHLD));
        assert!(SigAction::DEFAULT.ignores(SIGCONT));
        assert!(!SigAction::DEFAULT.ignores(SIGTERM));
        assert!(!SigAction::DEFAULT.ignores(SIGSTOP));
        let handled = SigAction { handler: 0x400000, flags: SA_RESTART, ..SigAction::DEFAULT };
        assert!(!handled.ignores(SIGCHLD));
        assert_eq!(handled.after_exec(), SigAction::DEFAULT);
        assert_eq!(ignore.after_exec(), ignore);
    }

    #[test]
    fn siginfo_fields_sit_at_linux_offsets() {
        let sent = SigInfo::sent(SIGUSR1, SI_USER, 42, 7).to_bytes();
        assert_eq!(&sent[..16], &[10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&sent[16..24], &[42, 0, 0, 0, 7, 0, 0, 0]);
        assert!(sent[24..].iter().all(|&b| b == 0));
        let fault = SigInfo::fault(SIGSEGV, SEGV_ACCERR, 0xdead_beef);
        assert_eq!(fault.signo(), SIGSEGV);
        assert_eq!(fault.code(), SEGV_ACCERR);
        assert_eq!(&fault.to_bytes()[16..24], &0xdead_beefu64.to_le_bytes());
        let child = SigInfo::child(SIGCHLD, CLD_EXITED, 5, 0, 3, 11, 22).to_bytes();
        assert_eq!(&child[16..20], &5u32.to_le_bytes());
        assert_eq!(&child[24..28], &3i32.to_le_bytes());
        assert_eq!(&child[32..40], &11u64.to_le_bytes());
        assert_eq!(&child[40..48], &22u64.to_le_bytes());
        assert_eq!(child[20..24], [0; 4]);
        assert_eq!(child[28..32], [0; 4]);
        assert!(child[48..].iter().all(|&b| b == 0));
        let tkill = SigInfo::sent(SIGTERM, SI_TKILL, 1, 2).to_bytes();
        assert_eq!(&tkill[..16], &[15, 0, 0, 0, 0, 0, 0, 0, 0xfa, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        assert_eq!(&tkill[16..24], &[1, 0, 0, 0, 2, 0, 0, 0]);
        assert!(tkill[24..].iter().all(|&b| b == 0));
        // A timer's expiry (alarm, setitimer) comes from the kernel: pid and uid 0.
        let timer = SigInfo::sent(SIGALRM, SI_KERNEL, 0, 0).to_bytes();
        assert_eq!(&timer[..12], &[14, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0]);
        assert!(timer[12..].iter().all(|&b| b == 0));
        let fault = fault.to_bytes();
        assert_eq!(&fault[..12], &[11, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0]);
        assert!(fault[24..].iter().all(|&b| b == 0));
        // sigqueue: the program's header and union come back, signo replaced, the
        // bytes past the union's 32 dropped.
        let mut raw: [u8; 128] = core::array::from_fn(|i| i as u8 + 1);
        raw[8..12].copy_from_slice(&SI_QUEUE.to_le_bytes());
        let queued = SigInfo::queued(SIGUSR2, raw);
        assert_eq!(queued.signo(), SIGUSR2);
        assert_eq!(queued.code(), SI_QUEUE);
        let expanded = queued.to_bytes();
        assert_eq!(&expanded[..4], &12i32.to_le_bytes());
        assert_eq!(&expanded[4..8], &raw[4..8]);
        assert_eq!(&expanded[8..12], &raw[8..12]);
        assert_eq!(&expanded[12..16], &[0; 4]);
        assert_eq!(&expanded[16..48], &raw[16..48]);
        assert!(expanded[48..].iter().all(|&b| b == 0));
        assert_eq!(SigInfo::queued(0, [0xff; 128]).signo(), 0);
    }

    #[test]
    fn restart_rules_follow_linux() {
        use Resumption::*;
        assert_eq!(resumption(ERESTARTSYS, None), Some(Again));
        assert_eq!(resumption(ERESTARTSYS, Some(SA_RESTART)), Some(Again));
        assert_eq!(resumption(ERESTARTSYS, Some(0)), Some(Interrupted));
        assert_eq!(resumption(ERESTARTNOHAND, None), Some(Again));
        assert_eq!(resumption(ERESTARTNOHAND, Some(SA_RESTART)), Some(Interrupted));
        assert_eq!(resumption(ERESTARTNOINTR, Some(0)), Some(Again));
        assert_eq!(resumption(ERESTART_RESTARTBLOCK, None), Some(RestartSyscall));
        assert_eq!(resumption(ERESTART_RESTARTBLOCK, Some(SA_RESTART)), Some(Interrupted));
        assert_eq!(resumption(4, None), None);
        assert_eq!(resumption(515, Some(0)), None);
    }

    #[test]
    fn fpe_codes_pick_the_first_unmasked_flag() {
        // MXCSR: flags in bits 0-5, masks in bits 7-12.
        assert_eq!(fpe_code(None, 0x1f80), 0);
        assert_eq!(fpe_code(None, 0x1f80 & !(1 << 9) | 1 << 2), FPE_FLTDIV);
        assert_eq!(fpe_code(None, 0x0005), FPE_FLTINV);
        assert_eq!(fpe_code(None, 0x1f80 | 0x3f), 0);
        assert_eq!(fpe_code(Some((0x0004, 0x037b)), 0), FPE_FLTDIV);
        assert_eq!(fpe_code(Some((0x0010, 0x0000)), 0), FPE_FLTUND);
        assert_eq!(fpe_code(Some((0x0020, 0x0000)), 0), FPE_FLTRES);
        assert_eq!(fpe_code(Some((0x0008, 0x037f)), 0), 0);
    }
}
