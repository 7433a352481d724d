//! The host boundary's I/O: every byte of stdin reaches the program before its end,
//! fd 1 and fd 2 reach the host in the order of the writes, a closed host stdout is
//! EPIPE/SIGPIPE in the guest, a slow host reader blocks the program, and each of
//! fds 0, 1, 2 is a terminal in the guest exactly when it is one on the host, with
//! the host terminal's window size and SIGWINCH when it changes. Compared with the
//! same binaries run on the host wherever they can run there.

mod common;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const BUSYBOX: &str = "/bin/busybox";

/// `timeshare run --quiet --timeout T PROGRAM ARGS...` as a command to start.
/// Quiet: these tests compare stderr with the host's byte for byte, and glibc's
/// start-up probes (rseq) would add timeshare's report of an unimplemented call.
fn timeshare_command(program: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_timeshare"));
    command.args(["run", "--quiet", "--timeout", TIMEOUT_SECS]).arg(program).args(args);
    command
}

/// Feeds `input` to `command`'s stdin from a thread while its stdout is read here.
fn with_input(mut command: Command, input: Vec<u8>) -> std::process::Output {
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    output
}

#[test]
fn a_hundred_thousand_lines_through_a_pipe_are_counted_exactly() {
    let lines: String = (1..=100_000).map(|n| format!("{n}\n")).collect();
    let output = with_input(timeshare_command(Path::new(BUSYBOX), &["wc", "-l"]), lines.into_bytes());
    assert_status(&output, 0);
    assert_eq!(stdout(&output).trim(), "100000", "stderr: {}", stderr(&output));
}

/// Ten megabytes of pseudo-random bytes (every byte value, no line structure).
fn random_bytes(length: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

#[test]
fn ten_megabytes_go_through_stdin_and_back_out_unchanged() {
    let data = random_bytes(10 << 20);
    let output = with_input(timeshare_command(Path::new(BUSYBOX), &["cat"]), data.clone());
    assert_status(&output, 0);
    assert_eq!(output.stdout.len(), data.len(), "stderr: {}", stderr(&output));
    assert!(output.stdout == data, "the bytes came back changed");

    // And the guest's md5sum of them is the host's.
    let guest = with_input(timeshare_command(Path::new(BUSYBOX), &["md5sum"]), data.clone());
    let mut host = Command::new(BUSYBOX);
    host.arg("md5sum");
    let host = with_input(host, data);
    assert_status(&guest, 0);
    assert_eq!(stdout(&guest), stdout(&host));
}

/// Runs `command` with stdout and stderr on one pipe (2>&1); returns what came out.
fn merged_output(mut command: Command) -> (Vec<u8>, i32) {
    let (reader, writer) = std::io::pipe().unwrap();
    command.stdin(Stdio::null()).stdout(writer.try_clone().unwrap()).stderr(writer);
    let mut child = command.spawn().unwrap();
    drop(command);
    let mut out = Vec::new();
    let mut reader = reader;
    reader.read_to_end(&mut out).unwrap();
    let status = shell_status(child.wait().unwrap());
    (out, status)
}

#[test]
fn fd_1_and_fd_2_keep_the_order_of_the_writes_under_2_to_1() {
    let program = c_program("interleave");
    let mut host = Command::new(&program);
    host.arg("30");
    let (expected, status) = merged_output(host);
    assert_eq!(status, 0);
    // Twenty runs in one boot: a shell starts the program again and again.
    let script = "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do /bin/interleave 30; done";
    let mut command = Command::new(env!("CARGO_BIN_EXE_timeshare"));
    command
        .args(["run", "--quiet", "--timeout", TIMEOUT_SECS, "--add"])
        .arg(&program)
        .args([BUSYBOX, "sh", "-c", script]);
    let (got, status) = merged_output(command);
    assert_eq!(status, 0, "{}", String::from_utf8_lossy(&got[got.len().saturating_sub(500)..]));
    assert_eq!(got.len(), expected.len() * 20);
    for (run, chunk) in got.chunks(expected.len()).enumerate() {
        if chunk != expected {
            let at = chunk.iter().zip(&expected).position(|(a, b)| a != b).unwrap_or(0);
            panic!(
                "run {run}: the order differs from the host's at byte {at}: got {:?}, expected {:?}",
                String::from_utf8_lossy(&chunk[at.saturating_sub(40)..(at + 40).min(chunk.len())]),
                String::from_utf8_lossy(&expected[at.saturating_sub(40)..(at + 40).min(expected.len())])
            );
        }
    }
}

/// Reads lines from `child`'s stdout until it has `count`, then closes it (the
/// reader goes away, as `head -COUNT` does) and waits for the child, at most
/// `limit`; returns (lines, status, elapsed since the close).
fn head(mut child: Child, count: usize, limit: Duration) -> (Vec<String>, Option<i32>, Duration) {
    let stdout = child.stdout.take().unwrap();
    let mut reader = std::io::BufReader::new(stdout);
    let mut lines = Vec::new();
    while lines.len() < count {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut reader, &mut line).unwrap() == 0 {
            break;
        }
        lines.push(line);
    }
    drop(reader);
    let closed = Instant::now();
    while closed.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return (lines, Some(shell_status(status)), closed.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    (lines, None, closed.elapsed())
}

#[test]
fn yes_piped_into_head_ends_at_once_as_on_linux() {
    let spawn = |mut command: Command| command.stdin(Stdio::null()).stdout(Stdio::piped()).spawn().unwrap();
    // `yes` in a shell, as a shell pipeline runs it: it dies of SIGPIPE (141), on the
    // host and in the guest alike.
    let script = "yes; exit $?";
    let mut host = Command::new(BUSYBOX);
    host.args(["sh", "-c", script]);
    let (host_lines, host_status, _) = head(spawn(host), 2, Duration::from_secs(10));
    let (lines, status, took) =
        head(spawn(timeshare_command(Path::new(BUSYBOX), &["sh", "-c", script])), 2, Duration::from_secs(10));
    assert_eq!(lines, ["y\n", "y\n"]);
    assert_eq!(host_lines, lines);
    assert_eq!(host_status, Some(141));
    assert_eq!(status, host_status, "status after {took:?}");

    // `yes` as the first process: Linux's init takes no signal it has no handler for,
    // SIGPIPE included, so it sees the write's EPIPE and exits 1 (busybox's write
    // error). Either way it ends at once.
    let mut command = timeshare_command(Path::new(BUSYBOX), &["yes"]);
    command.stderr(Stdio::null());
    let (lines, status, took) = head(spawn(command), 2, Duration::from_secs(10));
    assert_eq!(lines, ["y\n", "y\n"]);
    assert_eq!(status, Some(1), "after {took:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn a_closed_host_stdout_is_epipe_and_sigpipe() {
    let program = c_program("epipe");
    let run = |mut command: Command| {
        let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 17];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        let output = child.wait_with_output().unwrap();
        (stderr(&output), shell_status(output.status))
    };
    let host = run(Command::new(&program));
    let guest = run(timeshare_command(&program, &[]));
    assert_eq!(host, ("write failed: EPIPE, SIGPIPE once\nnext write: EPIPE, SIGPIPE again\n".to_string(), 0));
    assert_eq!(guest, host);
}

#[test]
fn a_slow_host_reader_blocks_the_program() {
    let program = c_program("slowreader");
    let mut child = timeshare_command(&program, &["64"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let progress = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = progress.clone();
    let reporter = std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
            let Ok(line) = line else { break };
            if let Some(count) = line.strip_prefix("written ") {
                seen.store(count.parse().unwrap(), std::sync::atomic::Ordering::SeqCst);
            }
        }
    });
    // Nobody reads stdout for a while: the program gets a few chunks out (the
    // console's ring, our batch, the pipe's buffer) and then waits.
    std::thread::sleep(Duration::from_secs(3));
    let stalled = progress.load(std::sync::atomic::Ordering::SeqCst);
    assert!(stalled < 16, "{stalled} chunks of 64 KiB written while the host read nothing");
    let mut out = Vec::new();
    stdout.read_to_end(&mut out).unwrap();
    assert_eq!(shell_status(child.wait().unwrap()), 0);
    reporter.join().unwrap();
    assert_eq!(progress.load(std::sync::atomic::Ordering::SeqCst), 64);
    assert_eq!(out.len(), 64 << 16);
    assert!(out.chunks(1 << 16).enumerate().all(|(i, chunk)| chunk.iter().all(|&b| b == (i % 251) as u8)));
}

/// Makes the child the leader of a new session whose controlling terminal is the pty
/// `device` (when it is one of its standard descriptors, `fd`): it is then the
/// terminal's foreground job, as a command typed in a terminal is.
fn in_session_of(command: &mut Command, fd: Option<i32>) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(fd) = fd {
                if libc::ioctl(fd, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// Runs `command` with the standard descriptors in `on_terminal` on a 101x33 pty and
/// the others on pipes (stdin empty); returns the first `ttys:` line it printed.
fn ttys_line(mut command: Command, on_terminal: [bool; 3]) -> String {
    let (mut terminal, device) = open_pty(101, 33);
    let stdio = |fd: usize, piped: fn() -> Stdio| {
        if on_terminal[fd] {
            Stdio::from(device.try_clone().unwrap())
        } else {
            piped()
        }
    };
    command.stdin(stdio(0, Stdio::null)).stdout(stdio(1, Stdio::piped)).stderr(stdio(2, Stdio::piped));
    in_session_of(&mut command, on_terminal.iter().position(|&tty| tty).map(|fd| fd as i32));
    let mut child = command.spawn().unwrap();
    drop(device);
    let mut text = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut text).unwrap();
    } else if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut text).unwrap();
    } else {
        let mut seen = Vec::new();
        read_until(&mut terminal, &mut seen, "\n", Instant::now() + Duration::from_secs(60));
        text = String::from_utf8_lossy(&seen).into_owned();
    }
    child.wait().unwrap();
    text.lines().find(|line| line.starts_with("ttys:")).unwrap_or_default().trim_end().to_string()
}

#[test]
fn each_standard_descriptor_is_a_terminal_exactly_when_the_host_s_is() {
    let program = c_program("ttyinfo");
    for on_terminal in [
        [false, false, false],
        [true, false, false],
        [false, true, false],
        [false, false, true],
        [true, true, false],
        [true, true, true],
    ] {
        let host = ttys_line(Command::new(&program), on_terminal);
        let guest = ttys_line(timeshare_command(&program, &[]), on_terminal);
        assert_eq!(guest, host, "ttys {on_terminal:?}");
        assert_eq!(host.matches("101x33").count(), on_terminal.iter().filter(|&&tty| tty).count(), "{host}");
    }
}

/// Runs `ttyinfo winch` on a pty, resizes the pty once it says `ready`; returns
/// everything it printed.
fn resized(mut command: Command) -> String {
    let (mut terminal, device) = open_pty(90, 30);
    command
        .stdin(Stdio::from(device.try_clone().unwrap()))
        .stdout(Stdio::from(device.try_clone().unwrap()))
        .stderr(Stdio::from(device.try_clone().unwrap()));
    in_session_of(&mut command, Some(0));
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    assert!(read_until(&mut terminal, &mut seen, "ready", deadline), "{}", String::from_utf8_lossy(&seen));
    let size = libc::winsize { ws_row: 50, ws_col: 160, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCSWINSZ reads the winsize given; the kernel sends SIGWINCH to the
    // terminal's foreground process group.
    assert_eq!(unsafe { libc::ioctl(device.as_raw_fd(), libc::TIOCSWINSZ, &size) }, 0);
    assert!(read_until(&mut terminal, &mut seen, "winch:", deadline), "{}", String::from_utf8_lossy(&seen));
    let _ = child.wait();
    // The rest of what it printed (nothing says when that is all: a short wait).
    read_until(&mut terminal, &mut seen, "(not printed)", Instant::now() + Duration::from_millis(500));
    drop(device);
    String::from_utf8_lossy(&seen).lines().filter(|line| line.contains(':')).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_window_size_is_the_host_terminal_s_and_a_resize_sends_sigwinch() {
    let program = c_program("ttyinfo");
    let host = resized({
        let mut command = Command::new(&program);
        command.arg("winch");
        command
    });
    let guest = resized(timeshare_command(&program, &["winch"]));
    assert!(host.contains("ttys: 0=90x30 1=90x30 2=90x30"), "{host}");
    assert!(host.contains("winch: 0=160x50 1=160x50 2=160x50"), "{host}");
    assert_eq!(guest, host);
}
