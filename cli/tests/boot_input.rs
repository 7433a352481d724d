//! The first program's arguments, from `timeshare run PROGRAM ARGS...` to its argv: any
//! size Linux's execve takes arrives intact (compared with the same program on this
//! host), and what Linux would refuse is refused by the CLI before it boots anything.

mod common;

use common::*;
use std::os::unix::process::CommandExt;

/// Linux's limits with the default 8 MiB stack (fs/exec.c): strings with their NULs
/// and their 8-byte pointers, the program's path included, in 2 MiB; 128 KiB per
/// string with its NUL.
const ARG_SPACE: usize = 2 << 20;
const MAX_ARG_STRLEN: usize = 32 * 4096;

/// `count` strings of `length` bytes each.
fn strings(count: usize, length: usize) -> Vec<String> {
    (0..count).map(|i| char::from(b'a' + (i % 26) as u8).to_string().repeat(length)).collect()
}

#[track_caller]
fn arrive_intact(args: &[String]) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, guest) = same_as_host(&[], &c_program("args"), &args);
    assert!(stdout(&guest).contains(&format!("argc = {}\n", args.len() + 1)));
}

#[test]
fn four_kilobytes_of_arguments() {
    arrive_intact(&strings(41, 99));
}

#[test]
fn a_hundred_kilobytes_of_arguments() {
    arrive_intact(&strings(1000, 99));
}

#[test]
fn more_than_a_mebibyte_of_arguments() {
    arrive_intact(&strings(11_000, 99));
}

#[test]
fn one_string_of_128_kib() {
    arrive_intact(&strings(1, MAX_ARG_STRLEN - 1));
}

/// Arguments that, with `/bin/args` as argv[0] and path and `PATH=/bin`, fill Linux's
/// space exactly (`extra` bytes more).
fn filling_the_space(extra: usize) -> Vec<String> {
    let count = 100;
    let fixed = 2 * "/bin/args\0".len() + "PATH=/bin\0".len() + 8 * (count + 2);
    let room = ARG_SPACE + extra - fixed;
    (0..count).map(|i| "x".repeat(room / count + usize::from(i < room % count) - 1)).collect()
}

/// `timeshare run [--memory MIB] PROGRAM ARGS`, with a stack limit of 32 MiB: with
/// the default 8 MiB, Linux's execve of `timeshare` itself (its own path, options and
/// environment besides ARGS) refuses what fills the guest program's space. No QEMU on
/// PATH when `booting` is false: a refusal that comes before the boot is then the only
/// way to exit with status 2 (otherwise: "qemu-system-x86_64 not found", 125).
fn timeshare_with_room(memory: &str, args: &[String], booting: bool) -> std::process::Output {
    let mut command = timeshare();
    command.args(["run", "--timeout", TIMEOUT_SECS, "--memory", memory]).arg(c_program("args")).args(args);
    if !booting {
        command.env("PATH", "/nonexistent");
    }
    // SAFETY: setrlimit is async-signal-safe and reads only a local.
    unsafe {
        command.pre_exec(|| {
            let room = libc::rlimit { rlim_cur: 32 << 20, rlim_max: libc::RLIM_INFINITY };
            libc::setrlimit(libc::RLIMIT_STACK, &room);
            Ok(())
        });
    }
    command.output().expect("start timeshare")
}

#[test]
fn exactly_linux_s_limit_arrives_intact_even_on_64_mib() {
    let args = filling_the_space(0);
    let expected: String = std::iter::once("/bin/args")
        .chain(args.iter().map(String::as_str))
        .enumerate()
        .map(|(i, arg)| format!("argv[{i}] = [{arg}]\n"))
        .collect();
    for memory in ["256", "64"] {
        let output = timeshare_with_room(memory, &args, true);
        assert_status(&output, 0);
        assert!(stdout(&output).contains(&expected), "--memory {memory}: the arguments differ");
    }
}

#[test]
fn one_byte_past_linux_s_limit_is_refused_before_booting() {
    let output = timeshare_with_room("256", &filling_the_space(1), false);
    assert_status(&output, 2);
    assert!(output.stdout.is_empty());
    assert!(stderr(&output).contains("argument list too long"), "stderr: {}", stderr(&output));
    // Linux refuses the same on this host (where the path is longer than /bin/args:
    // even the arguments that fit the guest exactly are too many here).
    let error = std::process::Command::new(c_program("args"))
        .arg0("/bin/args")
        .args(filling_the_space(1))
        .env_clear()
        .env("PATH", "/bin")
        .output()
        .expect_err("E2BIG on the host");
    assert_eq!(error.raw_os_error(), Some(libc::E2BIG));
}

/// Later programs get the same limits from execve, compared with Linux on this host:
/// `argmax` re-executes itself at and one byte past each of them.
#[test]
fn execve_takes_linux_s_limits() {
    let (_, guest) = same_as_host(&[], &c_program("argmax"), &[]);
    assert_stdout(
        &guest,
        "child: argc 102, 2 MiB exactly\n\
         100 strings, 1 byte past 2 MiB: execve: E2BIG\n\
         child: argc 20002, 2 MiB exactly\n\
         child: argc 200002, 2 MiB exactly\n\
         child: argc 3, the longest string 131071 bytes\n\
         one string of 128 KiB + 1 with its NUL: execve: E2BIG\n\
         262145 empty strings: execve: E2BIG\n",
    );
    let on_64_mib = run_with(&["--memory", "64"], &c_program("argmax"), &[]);
    assert_eq!(stdout(&on_64_mib), stdout(&guest), "--memory 64");
}
