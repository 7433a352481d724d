//! `timeshare bench`: measure the mechanism, beside Linux, in the same emulator.
//!
//! One static program, `user/c/bench.c`, holds every benchmark. It boots as the first
//! process of timeshare (through `timeshare run`, this very binary) and as `/init` of
//! Debian's cloud kernel (`linux`), under the same QEMU machine, in two modes:
//! - `icount`: `-icount shift=0,sleep=off`: the guest clock counts instructions (1 ns =
//!   1 instruction): deterministic, the headline;
//! - `tcg`: plain TCG: guest time follows the host's clock: wall time, noisy.
//!
//! The program prints `bench NAME VALUE UNIT` / `bench-error NAME REASON` lines and
//! `bench-done N`; this module runs the four machines (the two icount ones side by
//! side, the wall-time ones alone), shows progress on stderr, and prints one table row
//! per figure with both systems and the ratio timeshare/Linux for each mode (and
//! `--json FILE` with everything). See docs/bench.md.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use clap::Args;

use crate::linux;

/// The benchmark program, as built by build.rs from user/c/bench.c.
pub fn program() -> PathBuf {
    Path::new(env!("TIMESHARE_USER_C_DIR")).join("bench")
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Also write every figure (date, versions, both systems, both modes) to FILE as JSON
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Run only NAME: a row (e.g. null-syscall, lat-ctx-4) or a group (lat-ctx, pipe-4k,
    /// timer-tick, boot); repeatable
    #[arg(long = "only", value_name = "NAME", value_parser = parse_only)]
    pub only: Vec<String>,
    /// Scale every iteration count by N (default 1; 0.1 = a tenth, 10 = ten times)
    #[arg(long, value_name = "N", value_parser = parse_scale)]
    pub iterations: Option<f64>,
    /// timeshare only, few iterations: checks that every benchmark runs (for tests)
    #[arg(long)]
    pub quick: bool,
    /// Do not boot the reference Linux: timeshare's figures only
    #[arg(long)]
    pub no_linux: bool,
    /// Boot this Linux kernel image (a bzImage) instead of fetching Debian's cloud kernel
    #[arg(long, value_name = "VMLINUZ")]
    pub linux_kernel: Option<PathBuf>,
    /// Only this mode (default: both)
    #[arg(long, value_enum, value_name = "MODE")]
    pub mode: Option<Mode>,
    /// Stop a machine that runs longer than SECS seconds (its missing figures are n/a);
    /// default 1800, 300 with --quick
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// -icount shift=0,sleep=off: guest ns = instructions (deterministic)
    Icount,
    /// plain TCG: guest ns follow the host's wall clock (noisy)
    Tcg,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Icount => "icount",
            Mode::Tcg => "tcg",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Mode::Icount => {
                "QEMU -icount shift=0,sleep=off: guest time counts instructions (1 ns = 1 instruction); deterministic"
            }
            Mode::Tcg => "plain TCG: guest time follows the host's wall clock; noisy",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    Timeshare,
    Linux,
}

impl System {
    fn name(self) -> &'static str {
        match self {
            System::Timeshare => "timeshare",
            System::Linux => "linux",
        }
    }
}

/// A goal from the issue, judged on the icount figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// timeshare / Linux at most this.
    Ratio(f64),
    /// timeshare's figure below this many ns.
    BelowNs(f64),
}

impl Goal {
    fn describe(self) -> String {
        match self {
            Goal::Ratio(r) => format!("<= {r:.2}x"),
            Goal::BelowNs(ns) => format!("< {}", format_value(ns, "ns")),
        }
    }

    fn met(self, timeshare: Option<f64>, ratio: Option<f64>) -> Option<bool> {
        match self {
            Goal::Ratio(r) => ratio.map(|x| x <= r),
            Goal::BelowNs(ns) => timeshare.map(|x| x < ns),
        }
    }
}

/// One figure the benchmark program reports.
pub struct Row {
    pub name: &'static str,
    /// The benchmark (a child process of the program) that reports it.
    pub group: &'static str,
    pub unit: &'static str,
    pub what: &'static str,
    pub goal: Option<Goal>,
}

const fn row(name: &'static str, group: &'static str, unit: &'static str, what: &'static str) -> Row {
    Row { name, group, unit, what, goal: None }
}

/// Every row, in the program's order (`bench --list`; a unit test keeps them equal).
pub const ROWS: &[Row] = &[
    Row {
        goal: Some(Goal::BelowNs(20e6)),
        ..row("boot", "boot", "ns", "kernel start to the first user instruction (CLOCK_MONOTONIC first thing in main)")
    },
    row("boot-poweron", "boot", "ns", "machine reset to the first user instruction, firmware included (the TSC)"),
    Row {
        goal: Some(Goal::Ratio(0.2)),
        ..row("null-syscall", "null-syscall", "ns", "getpid by an inline SYSCALL instruction")
    },
    row("write-devnull", "write-devnull", "ns", "write(2) of 1 byte to /dev/null"),
    row("pipe-write-read-4k", "pipe-4k", "ns", "write 4 KiB into a pipe, read it back (one process)"),
    row("pipe-read-4k", "pipe-4k", "ns", "the read alone (TSC around it, less an empty TSC pair)"),
    row("yield-switch", "yield-switch", "ns", "sched_yield ping-pong of 2 processes: per switch"),
    Row {
        goal: Some(Goal::Ratio(0.15)),
        ..row(
            "pipe-pingpong",
            "pipe-pingpong",
            "ns",
            "1 byte there and back between 2 processes over 2 pipes: round trip",
        )
    },
    row("lat-ctx-2", "lat-ctx", "ns", "a token around a ring of 2 processes through pipes: per hop"),
    row("lat-ctx-4", "lat-ctx", "ns", "the same, 4 processes: per hop"),
    row("lat-ctx-8", "lat-ctx", "ns", "the same, 8 processes: per hop"),
    row("lat-ctx-16", "lat-ctx", "ns", "the same, 16 processes: per hop"),
    Row {
        goal: Some(Goal::Ratio(0.15)),
        ..row("fork-exit-wait", "fork-exit-wait", "ns", "fork, the child _exits, the parent waits")
    },
    row(
        "fork-exec-wait",
        "fork-exec-wait",
        "ns",
        "fork, the child execs the bench binary (exits at once), the parent waits",
    ),
    row("signal-roundtrip", "signal-roundtrip", "ns", "kill(self) with a handler: delivery, handler, sigreturn"),
    row("timer-tick-share", "timer-tick", "%", "share of the CPU a lone spinner loses (default quantum / HZ)"),
    row("timer-tick-rate", "timer-tick", "Hz", "interruptions of the spinner per second"),
    row("timer-tick-cost", "timer-tick", "ns", "time lost per interruption"),
];

fn parse_only(name: &str) -> Result<String, String> {
    if ROWS.iter().any(|r| r.name == name || r.group == name) {
        Ok(name.to_string())
    } else {
        let mut known: Vec<&str> = ROWS.iter().map(|r| r.name).collect();
        for r in ROWS {
            if !known.contains(&r.group) {
                known.push(r.group);
            }
        }
        Err(format!("no benchmark named `{name}` (known: {})", known.join(", ")))
    }
}

fn parse_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(n) if n > 0.0 && n <= 1000.0 => Ok(n),
        _ => Err(format!("`{text}`: expected a positive scale factor up to 1000 (1 = the default counts)")),
    }
}

/// What one machine reported: each row's figure or why there is none.
#[derive(Debug, Default, Clone)]
pub struct RunResult {
    pub figures: BTreeMap<String, Result<f64, String>>,
    /// Why the run did not end with `bench-done` (or ended badly).
    pub failure: Option<String>,
    pub wall: Duration,
}

impl RunResult {
    fn failed(reason: String) -> RunResult {
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
fn run_timeshare(mode: Mode, scale: f64, only: &[String], timeout: Duration) -> RunResult {
    // This very binary, even if a rebuild replaced the file since it started.
    let exe = Path::new("/proc/self/exe");
    let exe = if exe.exists() {
        exe.to_path_buf()
    } else {
        match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => return RunResult::failed(format!("cannot find the timeshare binary: {e}")),
        }
    };
    let mut command = Command::new(exe);
    command.arg("run").arg("--timeout").arg(timeout.as_secs().to_string());
    if mode == Mode::Icount {
        command.arg("--icount");
    }
    command.arg(program()).args(program_args(scale, only));
    drive(command, &format!("{} timeshare", mode.name()), timeout + Duration::from_secs(30))
}

/// Linux: QEMU with the program as /init, its console on QEMU's stdout.
fn run_linux(
    kernel: &linux::Kernel,
    qemu: &Path,
    initrd: &Path,
    mode: Mode,
    scale: f64,
    only: &[String],
    timeout: Duration,
) -> RunResult {
    let mut command = Command::new(qemu);
    command.args(linux::qemu_arguments(&kernel.vmlinuz, initrd, 256, mode == Mode::Icount, &program_args(scale, only)));
    drive(command, &format!("{} linux", mode.name()), timeout)
}

/// `qemu-system-x86_64 --version`, first line.
fn qemu_version(qemu: &Path) -> String {
    Command::new(qemu)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).lines().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}

/// The whole report: what ran where, and each machine's figures.
pub struct Report {
    pub date: String,
    pub qemu: String,
    pub linux: Result<linux::Kernel, String>,
    pub scale: f64,
    pub modes: Vec<Mode>,
    pub rows: Vec<&'static Row>,
    /// By (mode, system).
    pub runs: BTreeMap<(&'static str, &'static str), RunResult>,
    /// The whole command's wall time so far.
    pub elapsed: Duration,
}

impl Report {
    fn run(&self, mode: Mode, system: System) -> Option<&RunResult> {
        self.runs.get(&(mode.name(), system.name()))
    }

    fn figure(&self, mode: Mode, system: System, row: &Row) -> Option<Result<f64, String>> {
        self.run(mode, system).map(|r| r.get(row.name))
    }

    fn ratio(&self, mode: Mode, row: &Row) -> Option<f64> {
        let ours = self.figure(mode, System::Timeshare, row)?.ok()?;
        let theirs = self.figure(mode, System::Linux, row)?.ok()?;
        (theirs > 0.0).then(|| ours / theirs)
    }

    fn goal_met(&self, row: &Row) -> Option<bool> {
        let goal = row.goal?;
        if !self.modes.contains(&Mode::Icount) {
            return None;
        }
        let ours = self.figure(Mode::Icount, System::Timeshare, row).and_then(|r| r.ok());
        goal.met(ours, self.ratio(Mode::Icount, row))
    }

    /// Every selected row has a timeshare figure in every mode.
    pub fn timeshare_complete(&self) -> bool {
        self.modes.iter().all(|&mode| {
            self.rows
                .iter()
                .all(|row| matches!(self.figure(mode, System::Timeshare, row), Some(Ok(v)) if v.is_finite()))
        })
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("timeshare bench, {} (scale {})\n", self.date, self.scale));
        out.push_str(&format!("QEMU: {}\n", self.qemu));
        match &self.linux {
            Ok(kernel) => out.push_str(&format!("Linux: {}\n", kernel.describe())),
            Err(reason) => out.push_str(&format!("Linux: not run ({reason})\n")),
        }
        for mode in &self.modes {
            out.push_str(&format!("{}: {}\n", mode.name(), mode.describe()));
        }
        out.push('\n');

        let mut header = vec!["figure".to_string()];
        for &mode in &self.modes {
            let m = mode.name();
            header.push(format!("{m} timeshare"));
            header.push(format!("{m} Linux"));
            header.push(format!("{m} ratio"));
            if mode == Mode::Icount {
                header.push("goal".to_string());
            }
        }
        let mut lines = vec![header];
        let mut notes = Vec::new();
        for row in &self.rows {
            let mut cells = vec![row.name.to_string()];
            for &mode in &self.modes {
                for system in [System::Timeshare, System::Linux] {
                    cells.push(match self.figure(mode, system, row) {
                        None => "-".to_string(),
                        Some(Ok(v)) => format_value(v, row.unit),
                        Some(Err(reason)) => {
                            notes.push(format!("{} on {} ({}): {reason}", row.name, system.name(), mode.name()));
                            "n/a".to_string()
                        }
                    });
                }
                cells.push(match self.ratio(mode, row) {
                    Some(r) => format_ratio(r),
                    None => "-".to_string(),
                });
                if mode == Mode::Icount {
                    cells.push(match (row.goal, self.goal_met(row)) {
                        (None, _) => String::new(),
                        (Some(goal), Some(true)) => format!("{} met", goal.describe()),
                        (Some(goal), Some(false)) => format!("{} MISSED", goal.describe()),
                        (Some(goal), None) => format!("{} ?", goal.describe()),
                    });
                }
            }
            lines.push(cells);
        }
        let columns = lines[0].len();
        let widths: Vec<usize> =
            (0..columns).map(|c| lines.iter().map(|l| l[c].chars().count()).max().unwrap_or(0)).collect();
        for (i, line) in lines.iter().enumerate() {
            let mut text = String::new();
            for (c, cell) in line.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                if c == 0 || lines[0][c] == "goal" {
                    text.push_str(cell);
                    text.push_str(&" ".repeat(pad));
                } else {
                    text.push_str(&" ".repeat(pad));
                    text.push_str(cell);
                }
                text.push_str("  ");
            }
            out.push_str(text.trim_end());
            out.push('\n');
            if i == 0 {
                out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (columns - 1)));
                out.push('\n');
            }
        }
        out.push_str("\nratio = timeshare / Linux (lower is better for every row but timer-tick-rate); goals are judged on icount.\n");
        let mut failures: Vec<String> = Vec::new();
        for ((mode, system), run) in &self.runs {
            if let Some(reason) = &run.failure {
                failures.push(format!("{system} ({mode}): {reason}"));
            }
        }
        if !failures.is_empty() || !notes.is_empty() {
            out.push_str("\nn/a and failures:\n");
            for line in failures.iter().chain(notes.iter()) {
                out.push_str(&format!("  {line}\n"));
            }
        }
        out
    }

    pub fn json(&self) -> serde_json::Value {
        use serde_json::{json, Value};
        let number = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let mut entry = serde_json::Map::new();
                entry.insert("name".into(), json!(row.name));
                entry.insert("group".into(), json!(row.group));
                entry.insert("unit".into(), json!(row.unit));
                entry.insert("what".into(), json!(row.what));
                entry.insert(
                    "goal".into(),
                    match row.goal {
                        None => Value::Null,
                        Some(Goal::Ratio(r)) => json!({"max_ratio": r, "mode": "icount", "met": self.goal_met(row)}),
                        Some(Goal::BelowNs(ns)) => json!({"below_ns": ns, "mode": "icount", "met": self.goal_met(row)}),
                    },
                );
                for &mode in &self.modes {
                    let mut per = serde_json::Map::new();
                    for system in [System::Timeshare, System::Linux] {
                        match self.figure(mode, system, row) {
                            None => {
                                per.insert(system.name().into(), Value::Null);
                            }
                            Some(Ok(v)) => {
                                per.insert(system.name().into(), number(v));
                            }
                            Some(Err(reason)) => {
                                per.insert(system.name().into(), Value::Null);
                                per.insert(format!("{}_error", system.name()), json!(reason));
                            }
                        }
                    }
                    per.insert("ratio".into(), self.ratio(mode, row).map_or(Value::Null, number));
                    entry.insert(mode.name().into(), Value::Object(per));
                }
                Value::Object(entry)
            })
            .collect();
        let runs: Vec<Value> = self
            .runs
            .iter()
            .map(|((mode, system), run)| {
                json!({
                    "mode": mode,
                    "system": system,
                    "wall_seconds": run.wall.as_secs_f64(),
                    "failure": run.failure,
                })
            })
            .collect();
        json!({
            "date": self.date,
            "qemu": self.qemu,
            "linux": match &self.linux {
                Ok(kernel) => json!({"release": kernel.release, "package": kernel.package, "unavailable": Value::Null}),
                Err(reason) => json!({"release": Value::Null, "package": Value::Null, "unavailable": reason}),
            },
            "scale": self.scale,
            "modes": self.modes.iter().map(|m| json!({"name": m.name(), "description": m.describe()})).collect::<Vec<_>>(),
            "machine": "qemu-system-x86_64 -M pc -cpu max -accel tcg -m 256M -smp 1",
            "rows": rows,
            "runs": runs,
            "wall_seconds": self.elapsed.as_secs_f64(),
        })
    }
}

/// `timeshare bench`: returns the exit status (0: every timeshare figure was had; 1:
/// some are n/a; 2: usage; 125: nothing could run).
pub fn main(args: BenchArgs) -> u8 {
    let started = Instant::now();
    let bench = program();
    if !bench.is_file() {
        eprintln!(
            "timeshare bench: {} was not built (cli/build.rs builds user/c/bench.c with musl-gcc)",
            bench.display()
        );
        return 125;
    }
    let qemu = match crate::qemu::find() {
        Ok(qemu) => qemu,
        Err(message) => {
            eprintln!("timeshare bench: {message}");
            return 125;
        }
    };
    let scale = args.iterations.unwrap_or(if args.quick { 0.02 } else { 1.0 });
    let modes = match args.mode {
        Some(mode) => vec![mode],
        None => vec![Mode::Icount, Mode::Tcg],
    };
    let rows: Vec<&'static Row> =
        ROWS.iter().filter(|r| args.only.is_empty() || args.only.iter().any(|o| o == r.name || o == r.group)).collect();
    let timeout = Duration::from_secs(args.timeout.unwrap_or(if args.quick { 300 } else { 1800 }));

    let linux: Result<linux::Kernel, String> = if args.quick || args.no_linux {
        Err(if args.quick { "--quick".to_string() } else { "--no-linux".to_string() })
    } else if let Some(path) = &args.linux_kernel {
        linux::Kernel::from_file(path)
    } else {
        linux::obtain(&mut |message| eprintln!("timeshare bench: {message}"))
    };
    match &linux {
        Ok(kernel) => {
            eprintln!("timeshare bench: reference Linux {} ({})", kernel.describe(), kernel.vmlinuz.display())
        }
        Err(reason) if !(args.quick || args.no_linux) => {
            eprintln!("timeshare bench: the reference Linux cannot be had: {reason}");
            eprintln!("timeshare bench: timeshare's figures only");
        }
        Err(_) => {}
    }
    let initrd = match &linux {
        Ok(_) => {
            let scratch = std::env::temp_dir().join(format!("timeshare-bench-{}-initramfs.cpio", std::process::id()));
            match std::fs::read(&bench).map(|data| linux::initramfs(&data)).and_then(|a| std::fs::write(&scratch, a)) {
                Ok(()) => Some(scratch),
                Err(e) => {
                    eprintln!("timeshare bench: cannot write the Linux initramfs {}: {e}", scratch.display());
                    None
                }
            }
        }
        Err(_) => None,
    };
    let linux = match (linux, &initrd) {
        (Ok(kernel), Some(_)) => Ok(kernel),
        (Ok(_), None) => Err("its initramfs could not be written".to_string()),
        (Err(e), _) => Err(e),
    };
    let qemu_version = qemu_version(&qemu);
    eprintln!(
        "timeshare bench: {} figure(s), scale {scale}, modes {}; {}",
        rows.len(),
        modes.iter().map(|m| m.name()).collect::<Vec<_>>().join(" and "),
        qemu_version
    );

    let mut runs = BTreeMap::new();
    for &mode in &modes {
        eprintln!("timeshare bench: {} mode ({})", mode.name(), mode.describe());
        let (ours, theirs) = match (&linux, &initrd, mode) {
            // icount figures do not depend on the host's load: both machines at once.
            (Ok(kernel), Some(initrd), Mode::Icount) => thread::scope(|s| {
                let theirs = s.spawn(|| run_linux(kernel, &qemu, initrd, mode, scale, &args.only, timeout));
                let ours = run_timeshare(mode, scale, &args.only, timeout);
                (ours, Some(theirs.join().unwrap_or_else(|_| RunResult::failed("panicked".into()))))
            }),
            // Wall time: one machine at a time.
            (Ok(kernel), Some(initrd), Mode::Tcg) => {
                let ours = run_timeshare(mode, scale, &args.only, timeout);
                (ours, Some(run_linux(kernel, &qemu, initrd, mode, scale, &args.only, timeout)))
            }
            _ => (run_timeshare(mode, scale, &args.only, timeout), None),
        };
        runs.insert((mode.name(), System::Timeshare.name()), ours);
        if let Some(theirs) = theirs {
            runs.insert((mode.name(), System::Linux.name()), theirs);
        }
    }
    if let Some(initrd) = &initrd {
        let _ = std::fs::remove_file(initrd);
    }

    let report = Report {
        date: report_date(SystemTime::now()),
        qemu: qemu_version,
        linux,
        scale,
        modes,
        rows,
        runs,
        elapsed: started.elapsed(),
    };
    print!("{}", report.table());
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report.json()).expect("JSON of plain values");
        if let Err(e) = std::fs::write(path, text + "\n") {
            eprintln!("timeshare bench: cannot write {}: {e}", path.display());
            return 1;
        }
    }
    eprintln!("timeshare bench: done in {:.1} s", started.elapsed().as_secs_f64());
    if report.timeshare_complete() {
        0
    } else {
        1
    }
}

/// A figure with a unit a person reads at a glance.
pub fn format_value(value: f64, unit: &str) -> String {
    if !value.is_finite() {
        return "n/a".to_string();
    }
    match unit {
        "ns" => {
            if value < 1e3 {
                format!("{value:.1} ns")
            } else if value < 1e6 {
                format!("{:.2} us", value / 1e3)
            } else if value < 1e9 {
                format!("{:.2} ms", value / 1e6)
            } else {
                format!("{:.3} s", value / 1e9)
            }
        }
        "%" => format!("{value:.3} %"),
        "Hz" => format!("{value:.0} Hz"),
        other => format!("{value} {other}"),
    }
}

fn format_ratio(ratio: f64) -> String {
    if ratio < 0.01 {
        format!("{ratio:.4}x")
    } else if ratio < 10.0 {
        format!("{ratio:.2}x")
    } else {
        format!("{ratio:.1}x")
    }
}

/// The report's date: `at` in UTC, to the second, as `2025-01-31T12:00:00Z`.
fn report_date(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// The lines a child writes to `stdout` (a pipe), as they come, read by a thread of
/// their own so that the caller can wait for them with a timeout; the thread ends with
/// the pipe (or when the receiver is gone).
pub(crate) fn line_reader(stdout: impl Read + Send + 'static) -> (mpsc::Receiver<String>, thread::JoinHandle<()>) {
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

    #[test]
    fn the_rows_are_the_programs() {
        // The program is a static x86_64 Linux binary: it runs on this host too.
        let output = Command::new(program()).arg("--list").output().expect("run bench --list");
        assert!(output.status.success());
        let listed: Vec<String> = String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect();
        let ours: Vec<&str> = ROWS.iter().map(|r| r.name).collect();
        assert_eq!(listed, ours);
    }

    #[test]
    fn values_read_well() {
        assert_eq!(format_value(122.46, "ns"), "122.5 ns");
        assert_eq!(format_value(12_400.0, "ns"), "12.40 us");
        assert_eq!(format_value(1.58e9, "ns"), "1.580 s");
        assert_eq!(format_value(0.0371, "%"), "0.037 %");
        assert_eq!(format_ratio(0.4213), "0.42x");
        assert_eq!(format_ratio(0.0013), "0.0013x");
    }

    #[test]
    fn goals() {
        assert_eq!(Goal::Ratio(0.2).met(Some(50.0), Some(0.19)), Some(true));
        assert_eq!(Goal::Ratio(0.2).met(Some(50.0), Some(0.21)), Some(false));
        assert_eq!(Goal::Ratio(0.2).met(Some(50.0), None), None);
        assert_eq!(Goal::BelowNs(20e6).met(Some(2e6), None), Some(true));
    }

    #[test]
    fn only_accepts_rows_and_groups() {
        assert!(parse_only("lat-ctx").is_ok());
        assert!(parse_only("lat-ctx-16").is_ok());
        assert!(parse_only("null-syscall").is_ok());
        assert!(parse_only("nope").unwrap_err().contains("known: boot"));
        assert!(parse_scale("0").is_err() && parse_scale("0.5").is_ok());
    }

    #[test]
    fn dates_are_utc_to_the_second() {
        let leap_day_evening = std::time::UNIX_EPOCH + Duration::new(951_862_875, 999_999_999);
        assert_eq!(report_date(leap_day_evening), "2000-02-29T22:21:15Z");
        let now = report_date(SystemTime::now());
        assert_eq!(now.len(), 20, "{now}");
    }
}
