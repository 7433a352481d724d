//! What `timeshare` refuses on the host, before QEMU starts: exit status 2 and a message
//! naming the problem (these need no QEMU).

mod common;

use common::*;
use std::path::Path;

#[track_caller]
fn refused(args: &[&str], message: &str) {
    let output = timeshare_with(args);
    assert_status(&output, 2);
    assert!(output.stdout.is_empty(), "stdout: {:?}", stdout(&output));
    assert!(stderr(&output).contains(message), "stderr: {:?}, expected {message:?}", stderr(&output));
}

#[test]
fn a_missing_program() {
    refused(&["run", "/no/such/program"], "timeshare: /no/such/program: No such file or directory");
}

#[test]
fn not_an_elf_file() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    refused(&["run", script.to_str().unwrap()], ": not an ELF file");
}

#[test]
fn a_dynamically_linked_program() {
    // The host's own shell is dynamically linked.
    refused(&["run", "/bin/sh"], "/bin/sh: dynamically linked");
}

#[test]
fn a_missing_add_file() {
    let hello = c_program("hello");
    refused(
        &["run", "--add", "/no/such/file:/etc/x", hello.to_str().unwrap()],
        "--add /no/such/file: No such file or directory",
    );
}

#[test]
fn bad_options() {
    let hello = c_program("hello");
    let hello = hello.to_str().unwrap();
    refused(&["run", "--quantum-ms", "0", hello], "--quantum-ms");
    refused(&["run", "--sched", "nope", hello], "--sched");
    refused(&["run", "--timeout", "0", hello], "--timeout");
    refused(&["run"], "PROGRAM");
    refused(&["frobnicate"], "frobnicate");
}

#[test]
fn help_names_every_option() {
    let output = timeshare_with(&["run", "--help"]);
    assert_status(&output, 0);
    let help = stdout(&output);
    for option in [
        "--add",
        "--copy-out",
        "--timeout",
        "--sched",
        "--quantum-ms",
        "--icount",
        "--accel",
        "--verbose",
        "--log",
        "--memory",
        "--qemu-arg",
    ] {
        assert!(help.contains(option), "{option} missing from:\n{help}");
    }
}
