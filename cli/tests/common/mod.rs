//! Shared by the integration tests (each `cli/tests/*.rs` is its own crate: `mod common;`).
//! They run the built `timeshare` binary the way a user would, against the kernel and user
//! programs that `cli/build.rs` built.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

/// The default `--timeout` of a test run, in seconds: generous, because tests run in
/// parallel under QEMU's software CPU on small machines, but finite, so that a hung kernel
/// fails the test (status 124) instead of hanging `cargo test`.
pub const TIMEOUT_SECS: &str = "120";

/// The `timeshare` binary, with stdin from /dev/null and output captured.
pub fn timeshare() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_timeshare"));
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
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
    assert!(path.is_file(), "{} was not built (see cli/build.rs)", path.display());
    path
}

/// The `--cpus N` every run of a test gets when the environment variable
/// `TIMESHARE_TEST_CPUS` is N (to run an existing test file on several CPUs:
/// `TIMESHARE_TEST_CPUS=2 cargo test --test threads`), unless the test chose its
/// own `--cpus`.
pub fn test_cpus(options: &[&str]) -> Vec<String> {
    match std::env::var("TIMESHARE_TEST_CPUS") {
        Ok(cpus) if !options.contains(&"--cpus") => vec!["--cpus".to_string(), cpus],
        _ => Vec::new(),
    }
}

/// `timeshare run --timeout TIMEOUT_SECS PROGRAM ARGS...`
pub fn run(program: &Path, args: &[&str]) -> Output {
    run_with(&[], program, args)
}

/// `timeshare run --timeout TIMEOUT_SECS OPTIONS... PROGRAM ARGS...` (OPTIONS must not
/// hold another `--timeout`: clap refuses it twice; use `timeshare_with` for that).
pub fn run_with(options: &[&str], program: &Path, args: &[&str]) -> Output {
    timeshare()
        .args(["run", "--timeout", TIMEOUT_SECS])
        .args(test_cpus(options))
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
        .args(test_cpus(options))
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

/// An exit status the way `timeshare run` reports it: the exit code, or 128 + the
/// number of the signal that ended the process.
pub fn shell_status(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().or_else(|| status.signal().map(|signal| 128 + signal)).expect("an exit code or a signal")
}

/// Runs `program` natively on this Linux host the way `timeshare run` starts it in
/// the guest: argv[0] = `/bin/<file name>`, environment exactly `PATH=/bin`, cwd `/`,
/// stdin /dev/null, stdout and stderr on pipes; and, to match "Linux pinned to one
/// CPU" (`taskset -c 0`), with its CPU affinity set to CPU 0.
pub fn host_run(program: &Path, args: &[&str]) -> Output {
    use std::os::unix::process::CommandExt;
    let name = program.file_name().unwrap().to_str().unwrap();
    let mut command = Command::new(program);
    command
        .arg0(format!("/bin/{name}"))
        .args(args)
        .env_clear()
        .env("PATH", "/bin")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: sched_setaffinity is async-signal-safe and touches only a local set.
    unsafe {
        command.pre_exec(|| {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            // Best effort: a host where CPU 0 is not allowed runs unpinned.
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
            Ok(())
        });
    }
    command.output().expect("run the program on the host")
}

/// Runs `program ARGS` both natively on the host (`host_run`) and under `timeshare
/// run OPTIONS` and asserts the same stdout, byte for byte, and the same exit status
/// (128 + N for signal N on both sides). Returns (host, timeshare) outputs; the
/// caller asserts what the output must be.
#[track_caller]
pub fn same_as_host(options: &[&str], program: &Path, args: &[&str]) -> (Output, Output) {
    let host = host_run(program, args);
    let guest = run_with(options, program, args);
    let name = program.file_name().unwrap().to_string_lossy();
    assert_eq!(
        stdout(&guest),
        stdout(&host),
        "{name} {args:?}: stdout under timeshare (left) differs from the host's (right)\n\
         --- timeshare stderr ---\n{}\n--- host stderr ---\n{}",
        stderr(&guest),
        stderr(&host),
    );
    assert_eq!(
        guest.status.code(),
        Some(shell_status(host.status)),
        "{name} {args:?}: exit status under timeshare (left) differs from the host's (right)\n\
         --- stdout ---\n{}\n--- timeshare stderr ---\n{}\n--- host stderr ---\n{}",
        stdout(&guest),
        stderr(&guest),
        stderr(&host),
    );
    (host, guest)
}

/// Asserts stdout is exactly `expected`, showing stderr when it is not.
#[track_caller]
pub fn assert_stdout(output: &Output, expected: &str) {
    assert_eq!(stdout(output), expected, "stdout differs (left: got)\n--- stderr ---\n{}", stderr(output));
}

/// A directory for files a test makes (under cargo's per-target tmp dir), fresh for
/// this test. The path is absolute, so the same path can name a file on the host and,
/// through `--add HOST:HOST`, in the guest.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("scratch-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// Writes `bytes` to `dir/name` with mode 0755 (so that execve of it reaches the
/// format check, not EACCES) and returns its path.
pub fn executable_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write the file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// `--add PATH:PATH` for each path: the same absolute path on the host and in the guest.
pub fn add_same_paths(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .flat_map(|path| {
            let path = path.to_str().expect("a UTF-8 path");
            ["--add".to_string(), format!("{path}:{path}")]
        })
        .collect()
}

/// Malformed variants of a valid static ELF (`elf`), by name. The first four fail
/// execve with ENOEXEC on Linux too; the others Linux would run (32-bit) or start and
/// then kill, so only timeshare is asked about them.
pub fn malformed_elves(elf: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let u16_at = |offset: usize| u16::from_le_bytes([elf[offset], elf[offset + 1]]) as usize;
    let u64_at = |offset: usize| u64::from_le_bytes(elf[offset..offset + 8].try_into().unwrap()) as usize;
    let (phoff, phentsize, phnum) = (u64_at(32), u16_at(54), u16_at(56));
    let first_load = (0..phnum)
        .map(|i| phoff + i * phentsize)
        .find(|&ph| u32::from_le_bytes(elf[ph..ph + 4].try_into().unwrap()) == 1)
        .expect("a PT_LOAD segment");

    let mut aarch64 = elf.to_vec();
    aarch64[18..20].copy_from_slice(&183u16.to_le_bytes()); // e_machine = EM_AARCH64
    let mut class32 = elf.to_vec();
    class32[4] = 1; // ELFCLASS32
    let mut kernel_entry = elf.to_vec();
    kernel_entry[24..32].copy_from_slice(&0xffff_ffff_8000_1000u64.to_le_bytes());
    let mut kernel_segment = elf.to_vec();
    kernel_segment[first_load + 16..first_load + 24].copy_from_slice(&0xffff_ffff_8000_0000u64.to_le_bytes());
    let mut segment_past_end = elf.to_vec();
    segment_past_end[first_load + 32..first_load + 40].copy_from_slice(&(1u64 << 40).to_le_bytes()); // p_filesz
    vec![
        ("text", b"#not a program\n".to_vec()),
        ("empty", Vec::new()),
        ("aarch64", aarch64),
        ("truncated", elf[..64].to_vec()),
        ("class32", class32),
        ("kernel-entry", kernel_entry),
        ("kernel-segment", kernel_segment),
        ("segment-past-end", segment_past_end),
    ]
}

/// Runs `program ARGS` on the host and under timeshare (with `options`) and compares
/// stdout line by line. `known` lists lines where timeshare is documented to differ
/// from Linux: (the line's name, the part before ": "; timeshare's line). Such a line
/// may be either Linux's or the documented one (so a kernel that comes to agree
/// with Linux still passes). Every line must also satisfy `check`. Returns
/// timeshare's stdout.
#[track_caller]
pub fn compare_with_host(
    options: &[&str],
    program: &str,
    args: &[&str],
    known: &[(&str, &str)],
    check: impl Fn(&str) -> bool,
) -> String {
    let program = c_program(program);
    let host = host_run(&program, args);
    let guest = run_with(options, &program, args);
    let (host_out, guest_out) = (stdout(&host), stdout(&guest));
    assert_eq!(
        guest.status.code(),
        Some(shell_status(host.status)),
        "exit status under timeshare (left) differs from the host's\n--- timeshare stdout ---\n{guest_out}\n--- timeshare stderr ---\n{}\n--- host stdout ---\n{host_out}",
        stderr(&guest)
    );
    let (host_lines, guest_lines): (Vec<&str>, Vec<&str>) = (host_out.lines().collect(), guest_out.lines().collect());
    assert_eq!(
        guest_lines.len(),
        host_lines.len(),
        "a different number of lines\n--- timeshare ---\n{guest_out}\n--- host ---\n{host_out}\n--- timeshare stderr ---\n{}",
        stderr(&guest)
    );
    let mut differences = Vec::new();
    for (linux, ours) in host_lines.iter().zip(&guest_lines) {
        if linux == ours {
            continue;
        }
        let name = linux.split(": ").next().unwrap_or(linux);
        let documented = known.iter().any(|&(known_name, line)| known_name == name && line == *ours);
        if !documented {
            differences.push(format!("  Linux:     {linux}\n  timeshare: {ours}"));
        }
    }
    assert!(
        differences.is_empty(),
        "timeshare differs from Linux:\n{}\n--- timeshare stderr ---\n{}",
        differences.join("\n"),
        stderr(&guest)
    );
    for line in &guest_lines {
        assert!(check(line), "unexpected outcome: {line}\n--- timeshare stdout ---\n{guest_out}");
    }
    assert_eq!(guest_lines.last(), Some(&"still running"), "{guest_out}");
    guest_out
}

/// A line's outcome, the part after the name.
pub fn outcome(line: &str) -> &str {
    line.rsplit(": ").next().unwrap_or(line)
}

/// A pseudo-terminal of `cols` x `rows`: (the controller side, the terminal device).
pub fn open_pty(cols: u16, rows: u16) -> (std::fs::File, OwnedFd) {
    let (mut controller, mut device) = (0, 0);
    let size = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: openpty writes two descriptors into the integers given and reads the
    // window size given; no name or termios.
    let status = unsafe { libc::openpty(&mut controller, &mut device, std::ptr::null_mut(), std::ptr::null(), &size) };
    assert_eq!(status, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nobody else.
    unsafe { (std::fs::File::from_raw_fd(controller), OwnedFd::from_raw_fd(device)) }
}

/// Starts `command` on the terminal `device` (stdin, stdout, stderr) as a user types it
/// in a terminal: in a new session whose controlling terminal is that device, so that
/// it is the terminal's foreground job.
pub fn spawn_on_terminal(command: &mut Command, device: OwnedFd) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    command
        .stdin(Stdio::from(device.try_clone().unwrap()))
        .stdout(Stdio::from(device.try_clone().unwrap()))
        .stderr(Stdio::from(device));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn().expect("start timeshare on the terminal")
}

/// Reads the terminal until `wanted` appears in everything read so far (or the
/// deadline passes); whether it did.
pub fn read_until(terminal: &mut std::fs::File, seen: &mut Vec<u8>, wanted: &str, deadline: Instant) -> bool {
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(seen).contains(wanted) {
        if Instant::now() > deadline {
            return false;
        }
        let mut poll = libc::pollfd { fd: terminal.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut poll, 1, 100) } <= 0 {
            continue;
        }
        match terminal.read(&mut buffer) {
            Ok(0) | Err(_) => return String::from_utf8_lossy(seen).contains(wanted),
            Ok(n) => seen.extend_from_slice(&buffer[..n]),
        }
    }
    true
}
