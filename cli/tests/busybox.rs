//! BusyBox (Debian's busybox-static, glibc-static) as a real program on timeshare:
//! `sh -c` scripts with pipelines, redirections, loops, command
//! substitution and exit codes print what they print on Linux, and an interactive
//! `sh` works through the console as a terminal.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

const BUSYBOX: &str = "/bin/busybox";

/// Runs `busybox sh -c SCRIPT` natively and under timeshare; both must print the
/// same and exit the same way.
fn script_same_as_host(script: &str) -> String {
    let (host, guest) = same_as_host(&[], Path::new(BUSYBOX), &["sh", "-c", script]);
    assert_eq!(shell_status(guest.status), shell_status(host.status), "exit status of {script:?}");
    stdout(&guest)
}

#[test]
fn pipelines_and_redirections() {
    let out = script_same_as_host(
        "echo one two three | tr ' ' '\\n' | sort -r | head -n 2; \
         echo to-stderr 1>&2 2>/dev/null; echo hidden > /dev/null; \
         (echo merged; echo err >&2) 2>&1 | wc -l; \
         seq 1 20 | grep 1 | tail -n 3; \
         cat < /proc/self/exe > /dev/null && echo read-myself",
    );
    assert_eq!(out, "two\nthree\n2\n17\n18\n19\nread-myself\n");
}

#[test]
fn loops_substitution_functions_and_exit_codes() {
    let out = script_same_as_host(
        "total=0; for i in $(seq 1 10); do total=$((total + i)); done; echo total $total; \
         n=3; while [ $n -gt 0 ]; do printf '%s,' $n; n=$((n - 1)); done; echo; \
         square() { echo $(($1 * $1)); }; echo square $(square 12); \
         case hello in h*) echo case matched;; *) echo no;; esac; \
         false; echo false gives $?; (exit 42); echo subshell gives $?; \
         x=$(echo nested $(echo inner)); echo \"$x\"; \
         cat <<EOF\nhere $total\nEOF\n\
         exit 7",
    );
    assert_eq!(
        out,
        "total 55\n3,2,1,\nsquare 144\ncase matched\nfalse gives 1\nsubshell gives 42\nnested inner\nhere 55\n"
    );
}

#[test]
fn a_shell_runs_its_children_and_waits_for_them() {
    let out = script_same_as_host(
        "sleep 0.1 & pid=$!; wait $pid; echo waited $?; \
         sh -c 'exit 3'; echo child gave $?; \
         kill -0 $$ && echo self alive; \
         sh -c 'kill -TERM $$'; echo killed child gave $?",
    );
    assert_eq!(out, "waited 0\nchild gave 3\nself alive\nkilled child gave 143\n");
}

#[test]
fn an_interactive_shell_through_the_console() {
    let (mut terminal, device) = open_pty(80, 24);
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_timeshare"));
    command.args(["run", "--timeout", TIMEOUT_SECS, BUSYBOX, "sh"]);
    let mut child = spawn_on_terminal(&mut command, device);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let transcript = |seen: &[u8]| String::from_utf8_lossy(seen).into_owned();

    assert!(read_until(&mut terminal, &mut seen, "# ", deadline), "no prompt: {}", transcript(&seen));
    terminal.write_all(b"echo answer $((6*7))\r").unwrap();
    assert!(read_until(&mut terminal, &mut seen, "answer 42", deadline), "no answer: {}", transcript(&seen));

    // Line editing in the shell, and a program reading the terminal until Ctrl-D.
    terminal.write_all(b"echo typx\x7fo\r").unwrap();
    assert!(read_until(&mut terminal, &mut seen, "typo", deadline), "no edited line: {}", transcript(&seen));
    terminal.write_all(b"cat\r").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    terminal.write_all(b"through cat\r").unwrap();
    assert!(
        read_until(&mut terminal, &mut seen, "through cat\r\nthrough cat", deadline),
        "cat did not echo back: {}",
        transcript(&seen)
    );
    terminal.write_all(b"\x04").unwrap();

    // Ctrl-C ends the foreground command, not the shell.
    terminal.write_all(b"sleep 30\r").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    terminal.write_all(b"\x03").unwrap();
    terminal.write_all(b"echo status $?\r").unwrap();
    assert!(read_until(&mut terminal, &mut seen, "status 130", deadline), "Ctrl-C: {}", transcript(&seen));

    terminal.write_all(b"exit 7\r").unwrap();
    let status = child.wait().expect("timeshare ends");
    assert_eq!(status.code(), Some(7), "transcript: {}", transcript(&seen));
}
