//! What a program can do to the CPU's own state: run 32-bit code and enter the
//! kernel from there (syscall, sysenter, int $0x80), load segment selectors, play
//! with RFLAGS, run the instructions UMIP guards. The kernel survives all of it, and
//! nothing one process does to these registers reaches another.
//!
//! `user/c/hostile_cpu.c` runs each case in a child of its own and prints a line; the
//! same binary runs on this Linux host and under timeshare, and the lines are
//! compared. Where the two legitimately differ, `KNOWN` says what timeshare
//! guarantees instead.

mod common;

use common::*;

/// Lines where timeshare (on QEMU's CPU) differs from Linux by design or by machine:
/// - timeshare has no ia32 system calls: `int $0x80` hits a gate user mode may not
///   use (#GP, SIGSEGV), as on Linux built or booted without ia32 emulation;
///   Linux with it runs the i386 getpid (a host may have either);
/// - sysenter in 64-bit code: QEMU's CPU (AMD-like) refuses it outright (#UD,
///   SIGILL); an Intel CPU enters the kernel, which timeshare's null SYSENTER_CS
///   turns into #GP (SIGSEGV) and Linux into what its ia32 entry makes of it;
/// - sysenter in 32-bit code: the same #GP (SIGSEGV) under timeshare;
/// - QEMU does not implement alignment checking (#AC) at all: the unaligned read
///   with RFLAGS.AC completes (CR0.AM is set; `user_mode_limits_are_on` checks it);
/// - a host without UMIP gives its own tables' addresses, CR0, TR and LDTR where
///   timeshare always gives Linux's emulated values;
/// - on an AMD host, Linux differs from the Intel CPU timeshare behaves as: its
///   IRETQ into 32-bit code at an address past 4 GiB faults (SIGSEGV) where Intel
///   drops the upper half, and `syscall` in 32-bit code enters Linux's compat entry
///   (SIGSEGV here) where Intel raises #UD (SIGILL).
const KNOWN: &[(&str, &str)] = &[
    ("rt_sigreturn into 32-bit code past 4 GiB", "rt_sigreturn into 32-bit code past 4 GiB: returned 42"),
    ("syscall in 32-bit code", "syscall in 32-bit code: killed by SIGILL"),
    ("int 0x80 in 32-bit code", "int 0x80 in 32-bit code: killed by SIGSEGV"),
    ("int 0x80 in 64-bit code", "int 0x80 in 64-bit code: killed by SIGSEGV"),
    ("sysenter in 64-bit code", "sysenter in 64-bit code: killed by SIGILL"),
    ("sysenter in 32-bit code", "sysenter in 32-bit code: killed by SIGSEGV"),
    ("unaligned read with AC", "unaligned read with AC: returned 0"),
    (
        "unaligned read with AC, si_code and address (11",
        "unaligned read with AC, si_code and address (11: BUS_ADRALN, none): returned 0",
    ),
    ("sgdt base", "sgdt base: returned -131072"),
    ("sgdt limit", "sgdt limit: returned 0"),
    ("sidt base", "sidt base: returned -65536"),
    ("sidt limit", "sidt limit: returned 0"),
    ("smsw to a 64-bit register", "smsw to a 64-bit register: returned 2147811379"),
    ("smsw to a 32-bit register", "smsw to a 32-bit register: returned 6148914691952672819"),
    ("smsw to memory", "smsw to memory: returned 6148914691236495411"),
    ("str to a register", "str to a register: returned 6148914689804861504"),
    ("str to memory", "str to memory: returned 6148914691236495424"),
    ("sldt to a register", "sldt to a register: returned 6148914689804861440"),
    ("sgdt through fs and an index", "sgdt through fs and an index: returned -131072"),
];

/// No line may show a kernel address: the UMIP instructions' results are Linux's
/// dummy values (0xfffffffffffe0000 and 0xffffffffffff0000 are in no mapping), and
/// a real kernel address of timeshare's starts with 0xffffffff8 or 0xffff8.
fn reveals_no_kernel_address(line: &str) -> bool {
    let value: i64 = match outcome(line).strip_prefix("returned ").map(str::parse) {
        Some(Ok(value)) => value,
        _ => return true,
    };
    let value = value as u64;
    value < 0xffff_8000_0000_0000 || value >= 0xffff_ffff_fffe_0000
}

#[test]
fn cpu_state_games_same_as_host() {
    let out = compare_with_host(&[], "hostile_cpu", &["all"], KNOWN, reveals_no_kernel_address);
    // 32-bit code: right results across preemption, a signal handler in 64-bit code
    // that sees the interrupted segment, rt_sigreturn back into 32-bit code.
    for line in [
        "selectors at start: ds 0 es 0 fs 0 gs 0",
        "sum in 32-bit code (1: right): returned 1",
        "two sums in 32-bit code at once (2: both right): returned 2",
        "signal in 32-bit code (35: the handler saw cs 0x23): returned 35",
        "rt_sigreturn into 32-bit code (control: 42): returned 42",
        "rt_sigreturn into 32-bit code past 4 GiB: returned 42",
        "killed in 32-bit code (9: SIGKILL): returned 9",
        "syscall in 32-bit code: killed by SIGILL",
        // Selectors are the process's own, and loading one breaks nobody's TLS.
        "mov 0x2b to fs: returned 43",
        "mov 0x23 to gs: returned 35",
        "mov 0x23 to ds: returned 35",
        "mov a selector past the GDT to es: killed by SIGSEGV",
        "selectors loaded, then 8 children with the same TLS run (8: all): returned 8",
        "a child nulls fs and exits, its parent runs on (control: 1): returned 1",
        // RFLAGS.
        "popf TF: killed by SIGTRAP",
        "popf TF then syscall: killed by SIGTRAP",
        "NT and AC kept across a yield (0x44000): returned 278528",
        "NT and AC not in the next process (control: 0): returned 0",
        // UMIP: Linux's dummy values, written where the operand says.
        "sgdt base: returned -131072",
        "sidt base: returned -65536",
        "smsw to a 64-bit register: returned 2147811379",
        "str to a register: returned 6148914689804861504",
        "sgdt through fs and an index: returned -131072",
        "sgdt to an unmapped address: killed by SIGSEGV",
    ] {
        assert!(out.contains(&format!("{line}\n")), "missing `{line}`\n{out}");
    }
}

#[test]
fn a_process_left_in_32bit_code_does_not_harm_the_next() {
    // The child is killed while it loops in 32-bit code; every later process (its
    // parent, with the same TLS pointer, and the children after it) runs on.
    let output = run(
        &c_program("hostile_cpu"),
        &["killed in 32-bit code (9: SIGKILL)", "sum in 32-bit code (1: right)", "mov 0x2b to fs"],
    );
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "selectors at start: ds 0 es 0 fs 0 gs 0\n\
         sum in 32-bit code (1: right): returned 1\n\
         killed in 32-bit code (9: SIGKILL): returned 9\n\
         mov 0x2b to fs: returned 43\n\
         still running\n",
    );
}

#[test]
fn user_mode_limits_are_on() {
    // CR0.AM cannot be seen from user mode under QEMU (which never raises #AC), nor
    // UMIP's absence hidden: the boot's own check names both.
    let output = run_with(&["--verbose"], &c_program("hello"), &[]);
    assert_status(&output, 3);
    let err = stderr(&output);
    assert!(err.contains("user-mode limits: CR0.AM (alignment checks on RFLAGS.AC), UMIP"), "{err}");
    assert!(!err.contains("protection missing"), "{err}");
}
