//! Shared by the integration tests (each `cli/tests/*.rs` is its own crate: `mod common;`).
//! They run the built `timeshare` binary the way a user would, against the kernel and user
//! programs that `cli/build.rs` built.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The default `--timeout` of a test run, in seconds: generous, because tests run in
/// parallel under QEMU's software CPU on small machines, but finite, so that a hung kernel
/// fails the test (status 124) instead of hanging `cargo test`.
pub const TIMEOUT_SECS: &str = "120";

/// The `timeshare` binary, with stdin from /dev/null and output captured.
pub fn timeshare() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_timeshare"));
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A Rust user program built from `user/` (e.g. `user_program("hello")`).
pub fn user_program(name: &str) -> PathBuf {
    existing(Path::new(env!("TIMESHARE_USER_BIN_DIR")).join(name))
}

/// A C user program built from `user/c/NAME.c` with musl-gcc.
pub fn c_program(name: &str) -> PathBuf {
    existing(Path::new(env!("TIMESHARE_USER_C_DIR")).join(name))
}

fn existing(path: PathBuf) -> PathBuf {
    assert!(
        path.is_file(),
        "{} was not built (see cli/build.rs)",
        path.display()
    );
    path
}

/// `timeshare run --timeout TIMEOUT_SECS PROGRAM ARGS...`
pub fn run(program: &Path, args: &[&str]) -> Output {
    run_with(&[], program, args)
}

/// `timeshare run --timeout TIMEOUT_SECS OPTIONS... PROGRAM ARGS...` (an explicit
/// `--timeout` in OPTIONS wins: clap keeps the last one).
pub fn run_with(options: &[&str], program: &Path, args: &[&str]) -> Output {
    timeshare()
        .args(["run", "--timeout", TIMEOUT_SECS])
        .args(options)
        .arg(program)
        .args(args)
        .output()
        .expect("start timeshare")
}

/// Like `run_with`, with `input` as the program's stdin (then EOF).
pub fn run_with_input(options: &[&str], program: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut child = timeshare()
        .args(["run", "--timeout", TIMEOUT_SECS])
        .args(options)
        .arg(program)
        .args(args)
        .stdin(Stdio::piped())
        .spawn()
        .expect("start timeshare");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    // A separate thread: the guest may not read everything before it writes.
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("wait for timeshare");
    let _ = feeder.join();
    output
}

/// `timeshare ARGS...` as given (for the subcommands and usage errors).
pub fn timeshare_with(args: &[&str]) -> Output {
    timeshare().args(args).output().expect("start timeshare")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Assert the exit status, showing both streams when it differs.
#[track_caller]
pub fn assert_status(output: &Output, expected: i32) {
    assert_eq!(
        output.status.code(),
        Some(expected),
        "timeshare exited with {} (expected {expected})\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        stdout(output),
        stderr(output),
    );
}
