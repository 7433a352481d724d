//! One machine's run of the benchmark program: timeshare (through `timeshare run`, this
//! very binary) or Linux (QEMU with the program as `/init`), its output read line by
//! line as it comes, with a deadline, into figures or the reasons there are none.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::rows::{format_value, Mode};
use super::{program, SHELL};
use crate::linux;

/// What one machine reported: each row's figure or why there is none.
#[derive(Debug, Default, Clone)]
pub struct RunResult {
    pub figures: BTreeMap<String, Result<f64, String>>,
    /// Why the run did not end with `bench-done` (or ended badly).
    pub failure: Option<String>,
    pub wall: Duration,
}

impl RunResult {
    pub fn failed(reason: String) -> RunResult {
        RunResult { failure: Some(reason), ..Default::default() }
    }

    /// The figure of `row`, or why there is none.
    pub fn get(&self, row: &str) -> Result<f64, String> {
        match self.figures.get(row) {
            Some(result) => result.clone(),
            None => Err(match &self.failure {
                Some(reason) => format!("no figure: {reason}"),
                None => "no figure reported".to_string(),
            }),
        }
    }
}

/// One line of the program's output, if it is one of ours.
#[derive(Debug, PartialEq)]
pub enum Line {
    Figure { name: String, value: f64, unit: String },
    Error { name: String, reason: String },
    Done,
}

pub fn parse_line(line: &str) -> Option<Line> {
    let line = line.trim_end_matches(['\r', '\n']);
    let mut words = line.splitn(2, ' ');
    match words.next()? {
        "bench" => {
            let mut parts = words.next()?.split(' ');
            let name = parts.next()?.to_string();
            let value: f64 = parts.next()?.parse().ok()?;
            let unit = parts.next()?.to_string();
            Some(Line::Figure { name, value, unit })
        }
        "bench-error" => {
            let rest = words.next()?;
            let (name, reason) = rest.split_once(' ').unwrap_or((rest, "failed"));
            Some(Line::Error { name: name.to_string(), reason: reason.to_string() })
        }
        "bench-done" => Some(Line::Done),
        _ => None,
    }
}

/// Start `command` and read its stdout to the end (or the deadline): the figures, and
/// progress on stderr as they come.
fn drive(mut command: Command, label: &str, timeout: Duration) -> RunResult {
    let started = Instant::now();
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: prctl is async-signal-safe. If we die, the machine goes with us.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child: Child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return RunResult::failed(format!("cannot start {program}: {e}")),
    };
    let stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let (lines, reader) = line_reader(stdout);
    let errors = thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    });

    let mut result = RunResult::default();
    let mut done = false;
    let mut other: Vec<String> = Vec::new();
    let deadline = started + timeout;
    let mut timed_out = false;
    loop {
        match lines.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => match parse_line(&line) {
                Some(Line::Figure { name, value, unit }) => {
                    eprintln!("  [{label:<16}] {name:<20} {}", format_value(value, &unit));
                    result.figures.insert(name, Ok(value));
                }
                Some(Line::Error { name, reason }) => {
                    eprintln!("  [{label:<16}] {name:<20} n/a: {reason}");
                    // A figure beats an error (a group that died after reporting some rows).
                    result.figures.entry(name).or_insert(Err(reason));
                }
                Some(Line::Done) => done = true,
                None => {
                    let line = line.trim_end_matches('\r').trim();
                    if !line.is_empty() {
                        other.push(line.to_string());
                        if other.len() > 10 {
                            other.remove(0);
                        }
                    }
                }
            },
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if Instant::now() >= deadline {
            timed_out = true;
            let _ = child.kill();
            break;
        }
    }
    let status = child.wait();
    let _ = reader.join();
    let stderr_text = errors.join().unwrap_or_default();
    result.wall = started.elapsed();
    let said = |text: &str| {
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        if lines.is_empty() {
            String::new()
        } else {
            format!(" ({})", lines[lines.len().saturating_sub(4)..].join(" / "))
        }
    };
    if timed_out {
        result.failure = Some(format!("stopped after {} s (--timeout)", timeout.as_secs()));
    } else if !done {
        let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
        result.failure = Some(format!(
            "the machine stopped before the end ({status}){}{}",
            said(&other.join("\n")),
            said(&stderr_text)
        ));
    } else if let Ok(status) = status {
        // The program is not run with --check: it exits 0 however its rows went.
        if !status.success() {
            result.failure = Some(format!("it ended with {status}{}", said(&stderr_text)));
        }
    }
    result
}

/// The program's arguments: the scale and the selection.
fn program_args(scale: f64, only: &[String]) -> Vec<String> {
    let mut args = vec!["--scale".to_string(), format!("{scale}")];
    args.extend(only.iter().cloned());
    args
}

/// timeshare: `timeshare run [--icount] --timeout T bench ARGS` (this binary).
pub fn run_timeshare(mode: Mode, scale: f64, only: &[String], timeout: Duration, cpus: u32) -> RunResult {
    let exe = match timeshare_binary() {
        Ok(exe) => exe,
        Err(reason) => return RunResult::failed(reason),
    };
    let mut command = Command::new(exe);
    command.arg("run").arg("--timeout").arg(timeout.as_secs().to_string()).arg("--cpus").arg(cpus.to_string());
    if mode == Mode::Icount {
        command.arg("--icount");
    }
    if Path::new(SHELL).is_file() {
        command.arg("--add").arg(format!("{SHELL}:/bin/sh"));
    }
    command.arg(program()).args(program_args(scale, only));
    drive(command, &format!("{} timeshare", mode.name()), timeout + Duration::from_secs(30))
}

/// This very binary, to boot a guest through `timeshare run`: the running file even if
/// a rebuild has replaced it since.
pub fn timeshare_binary() -> Result<PathBuf, String> {
    let exe = Path::new("/proc/self/exe");
    if exe.exists() {
        Ok(exe.to_path_buf())
    } else {
        std::env::current_exe().map_err(|e| format!("cannot find the timeshare binary: {e}"))
    }
}

/// Linux: QEMU with the program as /init, its console on QEMU's stdout, on as many
/// CPUs as timeshare's machine (in plain TCG).
#[allow(clippy::too_many_arguments)]
pub fn run_linux(
    kernel: &linux::Kernel,
    qemu: &Path,
    initrd: &Path,
    mode: Mode,
    scale: f64,
    only: &[String],
    timeout: Duration,
    cpus: u32,
) -> RunResult {
    let mut command = Command::new(qemu);
    let icount = mode == Mode::Icount;
    // Under -icount QEMU 7.2 runs the CPUs in turn, and Linux's bring-up of a second
    // CPU never ends there (the boot CPU spins for it, the guest clock stopped): Linux
    // keeps one CPU in that mode, and the rows of several CPUs have no Linux figure.
    let cpus = if icount { 1 } else { cpus };
    let machine = linux::Machine { memory_mib: 256, cpus, icount };
    command.args(linux::qemu_arguments(&kernel.vmlinuz, initrd, machine, &program_args(scale, only)));
    drive(command, &format!("{} linux", mode.name()), timeout)
}

/// `qemu-system-x86_64 --version`, first line.
pub fn qemu_version(qemu: &Path) -> String {
    Command::new(qemu)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).lines().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}

/// The lines a child writes to `stdout` (a pipe), as they come, read by a thread of
/// their own so that the caller can wait for them with a timeout; the thread ends with
/// the pipe (or when the receiver is gone).
pub fn line_reader(stdout: impl Read + Send + 'static) -> (mpsc::Receiver<String>, thread::JoinHandle<()>) {
    let (lines_tx, lines) = mpsc::channel::<String>();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stdout).split(b'\n') {
            let Ok(line) = line else { break };
            if lines_tx.send(String::from_utf8_lossy(&line).into_owned()).is_err() {
                break;
            }
        }
    });
    (lines, reader)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse() {
        assert_eq!(
            parse_line("bench null-syscall 122.500 ns\r"),
            Some(Line::Figure { name: "null-syscall".into(), value: 122.5, unit: "ns".into() })
        );
        assert_eq!(
            parse_line("bench-error signal-roundtrip sigaction: Function not implemented"),
            Some(Line::Error { name: "signal-roundtrip".into(), reason: "sigaction: Function not implemented".into() })
        );
        assert_eq!(parse_line("bench-done 0"), Some(Line::Done));
        assert_eq!(parse_line("[    1.2] some kernel message"), None);
        assert_eq!(parse_line("bench x notanumber ns"), None);
    }
}
