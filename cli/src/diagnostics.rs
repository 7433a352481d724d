//! What `timeshare run` says on stderr when something went wrong in the program (not
//! in timeshare): the signal that ended it, as a shell says it, and the system calls
//! it made that timeshare does not implement. Built from the control channel's
//! records (`control::Summary`); `--quiet` leaves them out.

use kernel_core::abi::{signal, support::SUPPORT, sysno};

use crate::control::{Death, DeathCause, Summary, UnimplementedCall};

/// What strsignal(3) (glibc) and so bash say of `signal`.
pub fn signal_description(signal: u8) -> String {
    let text = match signal {
        signal::SIGHUP => "Hangup",
        signal::SIGINT => "Interrupt",
        signal::SIGQUIT => "Quit",
        signal::SIGILL => "Illegal instruction",
        signal::SIGTRAP => "Trace/breakpoint trap",
        signal::SIGABRT => "Aborted",
        signal::SIGBUS => "Bus error",
        signal::SIGFPE => "Floating point exception",
        signal::SIGKILL => "Killed",
        signal::SIGUSR1 => "User defined signal 1",
        signal::SIGSEGV => "Segmentation fault",
        signal::SIGUSR2 => "User defined signal 2",
        signal::SIGPIPE => "Broken pipe",
        signal::SIGALRM => "Alarm clock",
        signal::SIGTERM => "Terminated",
        signal::SIGSTKFLT => "Stack fault",
        signal::SIGCHLD => "Child exited",
        signal::SIGCONT => "Continued",
        signal::SIGSTOP => "Stopped (signal)",
        signal::SIGTSTP => "Stopped",
        signal::SIGTTIN => "Stopped (tty input)",
        signal::SIGTTOU => "Stopped (tty output)",
        signal::SIGURG => "Urgent I/O condition",
        signal::SIGXCPU => "CPU time limit exceeded",
        signal::SIGXFSZ => "File size limit exceeded",
        signal::SIGVTALRM => "Virtual timer expired",
        signal::SIGPROF => "Profiling timer expired",
        signal::SIGWINCH => "Window changed",
        signal::SIGIO => "I/O possible",
        signal::SIGPWR => "Power failure",
        signal::SIGSYS => "Bad system call",
        // glibc keeps 32 and 33 for its threads: its real-time signals start at 34.
        GLIBC_SIGRTMIN..=signal::SIGRTMAX => return format!("Real-time signal {}", signal - GLIBC_SIGRTMIN),
        _ => return format!("Unknown signal {signal}"),
    };
    text.to_string()
}

const GLIBC_SIGRTMIN: u8 = 34;

/// The line for a program that `death` ended, as bash reports a job killed by a
/// signal, with the cause: `timeshare: ./crash: Segmentation fault (SIGSEGV at 0x10,
/// rip 0x4011f6)`. None for SIGINT and SIGPIPE, which bash does not report either
/// (the user pressed Ctrl-C; the reader went away). timeshare writes no core files
/// (RLIMIT_CORE is 0, as Linux's default), so there is no "(core dumped)".
pub fn death_line(program: &str, death: &Death) -> Option<String> {
    if matches!(death.signal, signal::SIGINT | signal::SIGPIPE) {
        return None;
    }
    let name = match signal::name(death.signal) {
        Some(name) => name.to_string(),
        None => format!("signal {}", death.signal),
    };
    let cause = match death.cause {
        DeathCause::Fault { rip, address: Some(address) } => format!("{name} at {address:#x}, rip {rip:#x}"),
        DeathCause::Fault { rip, address: None } => format!("{name}, rip {rip:#x}"),
        DeathCause::Sent { pid } if pid != 0 => format!("{name} from pid {pid}"),
        DeathCause::Sent { .. } | DeathCause::Kernel => name,
    };
    Some(format!("timeshare: {program}: {} ({cause})", signal_description(death.signal)))
}

/// The name of system call `number`.
fn call_name(number: u32) -> String {
    sysno::name(number as usize).map_or_else(|| format!("system call {number}"), str::to_string)
}

/// The line for a process's first call that returned ENOSYS: a call timeshare does
/// not have, or one it has but not for these arguments (clone of a thread).
pub fn unimplemented_line(call: &UnimplementedCall) -> String {
    let implemented = SUPPORT.iter().any(|&(number, _)| number == call.number as usize);
    let what = if implemented { "these arguments not implemented" } else { "not implemented" };
    format!("timeshare: pid {} ({}) called {}: {what}, returned ENOSYS", call.pid, call.name, call_name(call.number))
}

/// The closing count of every call that returned ENOSYS, most frequent first:
/// `timeshare: 7 calls to unimplemented system calls (mkdir x5, clone3 x2)`.
pub fn unimplemented_totals_line(totals: &[(u32, u64)]) -> Option<String> {
    let all: u64 = totals.iter().map(|&(_, calls)| calls).sum();
    if all == 0 {
        return None;
    }
    let mut totals = totals.to_vec();
    totals.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let each: Vec<String> = totals.iter().map(|&(number, calls)| format!("{} x{calls}", call_name(number))).collect();
    let calls = if all == 1 { "call to an unimplemented system call" } else { "calls to unimplemented system calls" };
    Some(format!("timeshare: {all} {calls} ({})", each.join(", ")))
}

/// Every line the run's records call for, in order: the first calls that returned
/// ENOSYS, their count, then how the program died (`died` says the program's end was
/// that signal).
pub fn lines(program: &str, control: &Summary, died: Option<u8>) -> Vec<String> {
    let mut lines: Vec<String> = control.unimplemented.iter().map(unimplemented_line).collect();
    lines.extend(unimplemented_totals_line(&control.unimplemented_totals));
    if let Some(death) = control.death.filter(|death| Some(death.signal) == died) {
        lines.extend(death_line(program, &death));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_strsignals() {
        assert_eq!(signal_description(11), "Segmentation fault");
        assert_eq!(signal_description(8), "Floating point exception");
        assert_eq!(signal_description(9), "Killed");
        assert_eq!(signal_description(34), "Real-time signal 0");
        assert_eq!(signal_description(64), "Real-time signal 30");
        assert_eq!(signal_description(32), "Unknown signal 32");
        for signal in 1..=31 {
            assert!(!signal_description(signal).starts_with("Unknown"), "{signal}");
        }
    }

    /// The host's own strsignal agrees, signal by signal (glibc's table).
    #[test]
    fn descriptions_match_the_hosts_strsignal() {
        for signal in 1..=64u8 {
            // SAFETY: strsignal returns a valid C string (its buffer is this thread's).
            let host = unsafe { std::ffi::CStr::from_ptr(libc::strsignal(i32::from(signal))) };
            assert_eq!(signal_description(signal), host.to_string_lossy(), "signal {signal}");
        }
    }

    #[test]
    fn deaths_say_their_cause() {
        let death = |signal, cause| Death { signal, cause };
        let segv = death(11, DeathCause::Fault { rip: 0x4011f6, address: Some(0x10) });
        assert_eq!(
            death_line("./crash", &segv).unwrap(),
            "timeshare: ./crash: Segmentation fault (SIGSEGV at 0x10, rip 0x4011f6)"
        );
        let gp = death(11, DeathCause::Fault { rip: 0x401000, address: None });
        assert_eq!(death_line("p", &gp).unwrap(), "timeshare: p: Segmentation fault (SIGSEGV, rip 0x401000)");
        let term = death(15, DeathCause::Sent { pid: 3 });
        assert_eq!(death_line("p", &term).unwrap(), "timeshare: p: Terminated (SIGTERM from pid 3)");
        let rt = death(40, DeathCause::Kernel);
        assert_eq!(death_line("p", &rt).unwrap(), "timeshare: p: Real-time signal 6 (signal 40)");
        assert_eq!(death_line("p", &death(2, DeathCause::Kernel)), None);
        assert_eq!(death_line("p", &death(13, DeathCause::Sent { pid: 2 })), None);
    }

    #[test]
    fn unimplemented_calls_are_named_and_counted() {
        let call = |number| UnimplementedCall { pid: 3, number, name: "prog".into() };
        assert_eq!(
            unimplemented_line(&call(sysno::CLONE3 as u32)),
            "timeshare: pid 3 (prog) called clone3: not implemented, returned ENOSYS"
        );
        assert_eq!(
            unimplemented_line(&call(sysno::CLONE as u32)),
            "timeshare: pid 3 (prog) called clone: these arguments not implemented, returned ENOSYS"
        );
        assert_eq!(unimplemented_totals_line(&[]), None);
        assert_eq!(
            unimplemented_totals_line(&[(sysno::CLONE3 as u32, 2), (sysno::MKDIR as u32, 5)]).unwrap(),
            "timeshare: 7 calls to unimplemented system calls (mkdir x5, clone3 x2)"
        );
        assert_eq!(
            unimplemented_totals_line(&[(sysno::MKDIR as u32, 1)]).unwrap(),
            "timeshare: 1 call to an unimplemented system call (mkdir x1)"
        );
    }

    #[test]
    fn a_death_is_told_only_when_it_ended_the_program() {
        let control = Summary {
            death: Some(Death { signal: 11, cause: DeathCause::Fault { rip: 1, address: Some(2) } }),
            ..Summary::default()
        };
        assert_eq!(lines("p", &control, Some(11)).len(), 1);
        assert!(lines("p", &control, Some(9)).is_empty());
        assert!(lines("p", &control, None).is_empty());
    }
}
