//! When the program goes wrong, `timeshare run` says so on stderr, never on stdout,
//! and leaves the program's stdout and exit status as Linux's: the signal that ended
//! it, as a shell would say it, with the fault's address and instruction; each
//! process's first call of a system call timeshare does not implement, and their
//! count. `--quiet` silences it all.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// The address of `symbol` in `program` (nm), and the next symbol's: the function's extent.
fn function_extent(program: &Path, symbol: &str) -> (u64, u64) {
    let output = Command::new("nm").arg("-n").arg(program).output().expect("run nm (binutils)");
    let listing = String::from_utf8_lossy(&output.stdout).into_owned();
    let addresses: Vec<(u64, &str)> = listing
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let address = u64::from_str_radix(words.next()?, 16).ok()?;
            Some((address, words.nth(1)?))
        })
        .collect();
    let at = addresses.iter().position(|&(_, name)| name == symbol).expect("the symbol is in nm's listing");
    (addresses[at].0, addresses.get(at + 1).map_or(u64::MAX, |&(address, _)| address))
}

/// The one stderr line of a program a fault killed: `timeshare: PROGRAM: DESCRIPTION
/// (SIGNAL at ADDRESS, rip RIP)`. Returns (address, rip).
#[track_caller]
fn fault_line(stderr: &str, program: &Path, description: &str, signal: &str) -> (u64, u64) {
    let prefix = format!("timeshare: {}: {description} ({signal} at 0x", program.display());
    let line = stderr.strip_suffix('\n').filter(|line| !line.contains('\n'));
    let rest = line.and_then(|line| line.strip_prefix(&prefix)).and_then(|rest| rest.strip_suffix(')'));
    let (address, rip) = rest
        .and_then(|rest| rest.split_once(", rip 0x"))
        .unwrap_or_else(|| panic!("stderr is not one line `{prefix}ADDRESS, rip 0xRIP)`:\n{stderr}"));
    (u64::from_str_radix(address, 16).unwrap(), u64::from_str_radix(rip, 16).unwrap())
}

#[test]
fn a_segmentation_fault_is_told_with_its_address_and_instruction() {
    let program = c_program("diagnose");
    let (_, guest) = same_as_host(&[], &program, &["segv"]);
    assert_stdout(&guest, "before\n");
    assert_status(&guest, 128 + 11);
    let (address, rip) = fault_line(&stderr(&guest), &program, "Segmentation fault", "SIGSEGV");
    assert_eq!(address, 0x10);
    let (start, end) = function_extent(&program, "crash_at_0x10");
    assert!((start..end).contains(&rip), "rip {rip:#x} is not in crash_at_0x10 ({start:#x}..{end:#x})");
}

#[test]
fn a_division_by_zero_is_told_at_the_dividing_instruction() {
    let program = c_program("diagnose");
    let (_, guest) = same_as_host(&[], &program, &["fpe"]);
    assert_status(&guest, 128 + 8);
    let (address, rip) = fault_line(&stderr(&guest), &program, "Floating point exception", "SIGFPE");
    assert_eq!(address, rip, "SIGFPE's si_addr is the instruction");
    let (start, end) = function_extent(&program, "divide");
    assert!((start..end).contains(&rip), "rip {rip:#x} is not in divide ({start:#x}..{end:#x})");
}

#[test]
fn unimplemented_calls_are_named_once_per_process_and_counted() {
    let program = c_program("diagnose");
    let (_, guest) = same_as_host(&[], &program, &["calls"]);
    assert_stdout(&guest, "before\ndone\n");
    assert_status(&guest, 3);
    // Number 1000 is past Linux's table: ENOSYS on Linux too, so not timeshare's to tell.
    assert_eq!(
        stderr(&guest),
        "timeshare: pid 1 (diagnose) called io_setup: not implemented, returned ENOSYS\n\
         timeshare: pid 2 (diagnose) called io_setup: not implemented, returned ENOSYS\n\
         timeshare: pid 1 (diagnose) called io_destroy: not implemented, returned ENOSYS\n\
         timeshare: 5 calls to unimplemented system calls (io_setup x4, io_destroy x1)\n"
    );
}

#[test]
fn quiet_silences_both_and_changes_nothing_else() {
    let program = c_program("diagnose");
    for (mode, status, out) in [("segv", 139, "before\n"), ("calls", 3, "before\ndone\n")] {
        let output = run_with(&["--quiet"], &program, &[mode]);
        assert_status(&output, status);
        assert_stdout(&output, out);
        assert!(output.stderr.is_empty(), "--quiet {mode}: {}", stderr(&output));
    }
}

#[test]
fn a_clean_run_says_nothing() {
    let output = run(&c_program("hello"), &[]);
    assert_status(&output, 3);
    assert!(output.stderr.is_empty(), "{}", stderr(&output));
}
