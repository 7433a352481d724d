//! The command line: every subcommand's and every boot's options (clap), and the
//! parsers of their values, with the tests of how command lines parse.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use kernel_core::cmdline::{self, SchedPolicy, Switch, QUANTUM_MS_RANGE};

use crate::copy_out::CopyOutSpec;
use crate::gdb::KernelProfile;
use crate::initrd::AddSpec;
use crate::qemu::Accel;
use crate::{bench, fuzz, sched_sim};

#[derive(Parser, Debug)]
#[command(
    name = "timeshare",
    version,
    about = "Boot the timeshare kernel under QEMU and run static x86_64 Linux programs on it",
    long_about = "Boot the timeshare kernel (limited direct execution: programs run directly on the \
                  CPU in user mode; system calls, faults and timer interrupts bring the kernel back) \
                  under QEMU, and run static x86_64 Linux programs on it.\n\n\
                  With no subcommand, runs `timeshare demo`.",
    after_help = "Exit status: the program's exit status, or 128+N when signal N ended it; \
                  124 when --timeout was reached; 125 when the kernel (or QEMU) failed; 2 for usage errors.\n\
                  On a terminal, stdin is raw: keys go to the guest (Ctrl-C included); type Ctrl-A x to kill the machine."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Boot the built-in demo workload (the default)
    Demo(DemoArgs),
    /// Run a static x86_64 Linux program as the first process (pid 1)
    #[command(after_help = "PROGRAM is placed in the initrd at /bin/<name> and runs with ARGS, cwd /, and the \
                      environment PATH=/bin. Its stdout is the host's stdout, byte for byte; its stderr is the \
                      host's stderr. Options go before PROGRAM: everything after it is passed to the program, options and `--` \
                      included (`timeshare run ./prog -v` runs prog with argv [prog, -v]); `--` before PROGRAM \
                      ends timeshare's options.")]
    Run(RunArgs),
    /// Simulate the scheduling policies on the host and draw the textbook's figures as SVG
    #[command(after_help = "Drives the kernel's own policy code (kernel-core/src/sched) over synthetic workloads \
                      with a simulated 1 ms tick; writes the figures into DIR and prints the simulated \
                      counterparts of the kernel experiments (see docs/scheduling.md).")]
    SchedSim(sched_sim::SimArgs),
    /// Measure the mechanism (system call, context switch, fork, exec, signal, timer tick, boot) beside Linux
    #[command(after_help = "Boots timeshare and, beside it, Debian's Linux (fetched once with apt-get download and \
                      cached) under the same QEMU with the same benchmark program (user/c/bench.c), in two \
                      modes: -icount (guest ns = instructions: deterministic) and plain TCG (wall time). \
                      Prints one row per figure with both systems and the ratio timeshare/Linux \
                      (see docs/bench.md). Exit status 1 when a timeshare figure is missing.")]
    Bench(bench::BenchArgs),
    /// Fuzz the kernel's system calls: N random calls from several processes; exit 0 if the kernel survived
    #[command(after_help = "Boots timeshare with the fuzzer (user/c/fuzz.c) as the first process: it forks workers \
                      that make random system calls (numbers across the whole table and beyond, arguments \
                      biased toward edge values and valid, invalid, kernel and non-canonical pointers), respawns \
                      the ones that die, kills the ones that stop making progress, and at the end checks that \
                      every process was reaped, free memory is back to its baseline and the console answers. \
                      Exit status 0 when the kernel survived and the invariants held, 1 otherwise (with the seed \
                      and the last calls of every worker); the same --seed makes the same calls.")]
    Fuzz(fuzz::FuzzArgs),
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    pub boot: BootArgs,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub boot: BootArgs,
    /// A static x86_64 Linux executable on the host, then its arguments (argv[1..]):
    /// everything after PROGRAM is the program's, options and `--` included
    // One positional for both: clap's trailing_var_arg takes every word as is only once
    // its positional has started, so a separate ARGS would leave `./prog -v` to timeshare.
    // No allow_hyphen_values: before PROGRAM, an unknown option stays a usage error
    // (`--` before PROGRAM lets a program's name start with `-`).
    #[arg(value_names = ["PROGRAM", "ARGS"], required = true, num_args = 1.., trailing_var_arg = true)]
    command: Vec<OsString>,
}

impl RunArgs {
    /// The program to run, as given on the host.
    pub fn program(&self) -> &Path {
        Path::new(&self.command[0])
    }

    /// The program's arguments (argv[1..]).
    pub fn program_args(&self) -> &[OsString] {
        &self.command[1..]
    }
}

/// The options of every boot.
#[derive(Args, Debug)]
pub struct BootArgs {
    /// Put the host file HOST in the initrd at GUEST (default /bin/<file name>); repeatable
    #[arg(long = "add", value_name = "HOST[:GUEST]", value_parser = AddSpec::parse)]
    pub add: Vec<AddSpec>,
    /// After the program ends, copy the guest's file or directory GUEST to HOST (default: its name, here); repeatable
    #[arg(long = "copy-out", value_name = "GUEST[:HOST]", value_parser = CopyOutSpec::parse)]
    pub copy_out: Vec<CopyOutSpec>,
    /// Kill the machine after SECS seconds (exit status 124)
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// Scheduling policy
    #[arg(long, value_name = "POLICY", value_parser = sched_parser())]
    pub sched: Option<SchedPolicy>,
    /// Scheduling quantum in milliseconds (1..=1000): rr, stride and lottery's quantum, fair's latency target (eevdf's requests are 3 ms unless sched_setattr sets one)
    #[arg(long, value_name = "N", value_parser = parse_quantum)]
    pub quantum_ms: Option<u32>,
    /// Seed of every pseudo-random choice in the kernel (lottery's draws): the same seed replays a run under --icount
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Lottery: compensation tickets (a task that blocked after a fraction f of its quantum holds 1/f times its tickets until it next wins); off is the plain draw (default on)
    #[arg(long, value_name = "on|off", value_parser = switch_parser())]
    pub lottery_compensation: Option<Switch>,
    /// MLFQ: number of priority levels (1..=16; default 3)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=16))]
    pub mlfq_levels: Option<u32>,
    /// MLFQ: quantum (= allotment) of each level in ms, top first, the last repeating (default 10,20,40)
    #[arg(long, value_name = "MS,MS,...", value_parser = parse_mlfq_quanta)]
    pub mlfq_quanta_ms: Option<MlfqQuanta>,
    /// MLFQ: priority boost period in ms, 0 for never (default 100)
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u32).range(0..=3_600_000))]
    pub mlfq_boost_ms: Option<u32>,
    /// Deterministic clock: the guest's time counts instructions (QEMU -icount shift=0,sleep=off)
    #[arg(long)]
    pub icount: bool,
    /// QEMU accelerator; kvm only works on hosts with real VT-x/AMD-V (not under a nested software hypervisor)
    #[arg(long, value_enum, value_name = "ACCEL", default_value_t = Accel::Tcg)]
    pub accel: Accel,
    /// Show the kernel log (and QEMU's own messages) on stderr
    #[arg(short, long)]
    pub verbose: bool,
    /// Start the machine halted, with QEMU's gdb stub, and print the command that
    /// attaches gdb with the kernel's and the program's symbols loaded
    #[arg(long)]
    pub gdb: bool,
    /// The kernel to boot: release (the one `cargo build` made) or dev (debug
    /// assertions, light optimization: values are not `<optimized out>` in gdb;
    /// built on first use)
    #[arg(long, value_enum, value_name = "PROFILE", default_value_t = KernelProfile::Release)]
    pub kernel_profile: KernelProfile,
    /// Say nothing on stderr about the program's troubles: the signal that ended it,
    /// the system calls it made that timeshare does not implement
    #[arg(short, long)]
    pub quiet: bool,
    /// Write the kernel log to FILE
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Guest memory in MiB
    #[arg(long, value_name = "MIB", default_value_t = 256, value_parser = clap::value_parser!(u32).range(16..=1 << 20))]
    pub memory: u32,
    /// CPUs of the machine (1..=16); the kernel brings them all up, and runs programs on the first
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = cpus_parser())]
    pub cpus: u32,
    /// Pass ARG to QEMU as is (repeatable; after everything else)
    #[arg(long = "qemu-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub qemu_arg: Vec<OsString>,
    /// At exit, print a table of every process (CPU time, switches, system calls, faults, peak memory) on stderr
    #[arg(long)]
    pub stats: bool,
    /// Record every trap, system call, interrupt and context switch; write them to FILE as
    /// Chrome Trace Event Format JSON (open it in Perfetto or chrome://tracing)
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Stop writing the --trace file's events at SIZE bytes (such as 50M; K, M, G are
    /// powers of 1000): the JSON stays valid and says what was cut
    #[arg(long, value_name = "SIZE", value_parser = parse_size, requires = "trace")]
    pub trace_limit: Option<u64>,
    /// Record the schedule and draw it as an SVG timeline in FILE: a lane per thread
    /// showing when it ran, was ready or blocked (and on what), its MLFQ level
    #[arg(long, value_name = "FILE.svg")]
    pub timeline: Option<PathBuf>,
    /// Draw only this stretch of the --timeline: START:END in milliseconds since the
    /// first process was created (either may be left out: `:50`, `120:`)
    #[arg(long, value_name = "START:END", value_parser = parse_window, requires = "timeline")]
    pub timeline_window: Option<TimelineWindow>,
    /// The most intervals the --timeline draws; beyond, adjacent intervals of a lane
    /// in the same state are merged (their totals kept) and the picture says so
    #[arg(
        long,
        value_name = "INTERVALS",
        default_value_t = 20_000,
        value_parser = clap::value_parser!(u32).range(1..),
        requires = "timeline"
    )]
    pub timeline_budget: u32,
    /// Print the textbook's two LDE tables (without interrupts; with a timer
    /// interrupt), each row filled with values from this run, on stderr
    #[arg(long)]
    pub explain: bool,
    /// With --explain: write the tables to FILE instead of stderr
    #[arg(long, value_name = "FILE")]
    pub explain_out: Option<PathBuf>,
    /// With --explain: how many system calls the tables follow
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=kernel_core::cmdline::EXPLAIN_SYSCALLS_MAX as i64))]
    pub explain_syscalls: u32,
    /// Write a self-contained HTML report to FILE: both LDE tables with the source
    /// lines they name, the timeline, per-process statistics, system-call counts
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// The kernel's trace buffer, in events of 32 bytes (a power of two, 8..=4194304);
    /// events that find it full are dropped and counted
    #[arg(long, value_name = "EVENTS", default_value_t = DEFAULT_TRACE_EVENTS, value_parser = parse_trace_events)]
    pub trace_buffer: u32,
    /// Debug only: a kernel command-line option for testing the kernel itself, such as
    /// `selftest=panic` or `pid_max=400` (see kernel-core's cmdline); repeatable
    #[arg(long = "kernel-arg", value_name = "KEY=VALUE", hide = true, value_parser = parse_kernel_arg)]
    pub kernel_arg: Vec<String>,
}

/// A `--kernel-arg`: one `key=value` word the kernel's command-line parser accepts
/// (for the options the CLI has no flag of its own for: `selftest`, `pid_max`).
fn parse_kernel_arg(text: &str) -> Result<String, String> {
    let options = cmdline::parse(text).map_err(|e| e.to_string())?;
    if options.selftest.is_none() && !text.starts_with("pid_max=") {
        return Err(format!("`{text}`: only selftest=... and pid_max=... are passed this way"));
    }
    Ok(text.to_string())
}

/// A stretch of the timeline, in milliseconds since the first process was created.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimelineWindow {
    pub from_ms: f64,
    /// None: to the end.
    pub to_ms: Option<f64>,
}

fn parse_window(text: &str) -> Result<TimelineWindow, String> {
    let expected = || format!("`{text}`: expected START:END in milliseconds, such as 10:250, :50 or 120:");
    let (from, to) = text.split_once(':').ok_or_else(expected)?;
    let number = |part: &str| -> Result<Option<f64>, String> {
        match part.trim() {
            "" => Ok(None),
            part => part.parse::<f64>().ok().filter(|ms| ms.is_finite() && *ms >= 0.0).map(Some).ok_or_else(expected),
        }
    };
    let (from_ms, to_ms) = (number(from)?.unwrap_or(0.0), number(to)?);
    if to_ms.is_some_and(|to| to <= from_ms) {
        return Err(format!("`{text}`: the window ends before it starts"));
    }
    Ok(TimelineWindow { from_ms, to_ms })
}

/// A size in bytes: a number with an optional K, M or G (powers of 1000) and an
/// optional B.
fn parse_size(text: &str) -> Result<u64, String> {
    let upper = text.trim().to_ascii_uppercase();
    let digits = upper.strip_suffix('B').unwrap_or(&upper);
    let (digits, unit) = match digits.char_indices().last() {
        Some((at, 'K')) => (&digits[..at], 1_000),
        Some((at, 'M')) => (&digits[..at], 1_000_000),
        Some((at, 'G')) => (&digits[..at], 1_000_000_000),
        _ => (digits, 1),
    };
    digits
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|count| count.checked_mul(unit))
        .filter(|&bytes| bytes > 0)
        .ok_or_else(|| format!("`{text}`: expected a size such as 50M, 200K or 1G"))
}

/// The trace buffer's default size: 4 MiB of guest kernel heap, room for a few
/// hundred milliseconds of the busiest workload between two reads by the host.
const DEFAULT_TRACE_EVENTS: u32 = 1 << 17;

fn parse_trace_events(text: &str) -> Result<u32, String> {
    text.parse::<u32>().ok().filter(|n| cmdline::TRACE_EVENTS_RANGE.contains(n) && n.is_power_of_two()).ok_or_else(
        || {
            format!(
                "expected a power of two from {} to {}",
                cmdline::TRACE_EVENTS_RANGE.start(),
                cmdline::TRACE_EVENTS_RANGE.end()
            )
        },
    )
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    let secs: f64 = text.parse().map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(format!("`{text}`: the timeout must be positive"));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("`{text}`: {e}"))
}

/// The policies kernel_core knows, by their command-line words (listed in --help).
fn sched_parser() -> impl clap::builder::TypedValueParser<Value = SchedPolicy> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(SchedPolicy::WORDS.iter().copied())
        .map(|word| SchedPolicy::from_word(&word).expect("one of SchedPolicy::WORDS"))
}

/// `on` or `off`.
fn switch_parser() -> impl clap::builder::TypedValueParser<Value = Switch> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Switch::WORDS.iter().copied())
        .map(|word| Switch::from_word(&word).expect("one of Switch::WORDS"))
}

/// One value holding a list (an alias, so that clap does not take `Vec` for "repeatable").
pub type MlfqQuanta = Vec<u32>;

fn parse_mlfq_quanta(text: &str) -> Result<MlfqQuanta, String> {
    cmdline::parse(&format!("mlfq_quanta_ms={text}"))
        .map(|options| options.mlfq_quanta_ms)
        .map_err(|_| "expected 1 to 16 comma-separated milliseconds in 1..=1000, such as 10,20,40".to_string())
}

/// `--cpus`: 1 to the kernel's limit.
pub fn cpus_parser() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(1..=kernel_core::acpi::MAX_CPUS as i64)
}

fn parse_quantum(text: &str) -> Result<u32, String> {
    text.parse::<u32>().ok().filter(|n| QUANTUM_MS_RANGE.contains(n)).ok_or_else(|| {
        format!("expected a number of milliseconds in {}..={}", QUANTUM_MS_RANGE.start(), QUANTUM_MS_RANGE.end())
    })
}

impl Default for BootArgs {
    fn default() -> Self {
        // The defaults clap would give an empty command line.
        match Cli::try_parse_from(["timeshare", "demo"]).map(|cli| cli.command) {
            Ok(Some(Command::Demo(args))) => args.boot,
            _ => unreachable!("`timeshare demo` parses"),
        }
    }
}

impl BootArgs {
    /// Whether the kernel must record its event trace.
    pub fn tracing(&self) -> bool {
        self.trace.is_some() || self.timeline.is_some() || self.explaining()
    }

    /// Whether the kernel must send the LDE explanation (which rides on the trace).
    pub fn explaining(&self) -> bool {
        self.explain || self.explain_out.is_some() || self.report.is_some()
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::outcome::EXIT_USAGE;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("timeshare").chain(args.iter().copied()))
    }

    /// The options of `timeshare ARGS...`, which must be a run.
    pub fn run_args(args: &[&str]) -> RunArgs {
        match parse(args).unwrap().command {
            Some(Command::Run(run)) => run,
            other => panic!("not a run: {other:?}"),
        }
    }

    #[test]
    fn no_subcommand_is_the_demo() {
        assert!(parse(&[]).unwrap().command.is_none());
        let boot = BootArgs::default();
        assert_eq!(boot.memory, 256);
        assert_eq!(boot.accel, Accel::Tcg);
        assert!(boot.timeout.is_none() && !boot.icount && !boot.verbose && boot.add.is_empty());
    }

    #[test]
    fn cpus_default_to_one_and_go_up_to_the_kernels_limit() {
        assert_eq!(BootArgs::default().cpus, 1);
        assert_eq!(run_args(&["run", "--cpus", "16", "p"]).boot.cpus, 16);
        for bad in ["0", "17"] {
            let error = parse(&["run", "--cpus", bad, "p"]).unwrap_err();
            assert_eq!(error.exit_code(), i32::from(EXIT_USAGE), "--cpus {bad}");
        }
        for command in ["demo", "fuzz", "bench"] {
            assert!(parse(&[command, "--cpus", "4"]).is_ok(), "{command}");
            assert!(parse(&[command, "--cpus", "17"]).is_err(), "{command}");
        }
    }

    #[test]
    fn run_options_and_program_arguments() {
        let run = run_args(&[
            "run",
            "--add",
            "/bin/busybox:/bin/sh",
            "--add",
            "x.txt",
            "--timeout",
            "2.5",
            "--sched",
            "rr",
            "--quantum-ms",
            "5",
            "--icount",
            "--accel",
            "kvm",
            "-v",
            "--log",
            "k.log",
            "--memory",
            "512",
            "--qemu-arg",
            "-d",
            "--qemu-arg=int",
            "./prog",
            "a",
            "-b",
            "--timeout",
            "--",
            "c",
        ]);
        let boot = &run.boot;
        assert_eq!(boot.add.len(), 2);
        assert_eq!(boot.add[0].guest, "/bin/sh");
        assert_eq!(boot.add[1].guest, "/bin/x.txt");
        assert_eq!(boot.timeout, Some(Duration::from_millis(2500)));
        assert_eq!(boot.sched, Some(SchedPolicy::RoundRobin));
        assert_eq!(boot.quantum_ms, Some(5));
        assert!(boot.icount && boot.verbose);
        assert_eq!(boot.accel, Accel::Kvm);
        assert_eq!(boot.log.as_deref(), Some(Path::new("k.log")));
        assert_eq!(boot.memory, 512);
        assert_eq!(boot.qemu_arg, ["-d", "int"]);
        assert_eq!(run.program(), Path::new("./prog"));
        assert_eq!(run.program_args(), ["a", "-b", "--timeout", "--", "c"]);
    }

    #[test]
    fn bad_options_are_usage_errors() {
        for args in [
            &["run"][..],
            &["run", "--sched", "fifo", "p"],
            &["run", "--quantum-ms", "0", "p"],
            &["run", "--quantum-ms", "1001", "p"],
            &["run", "--seed", "-1", "p"],
            &["run", "--mlfq-levels", "0", "p"],
            &["run", "--mlfq-levels", "17", "p"],
            &["run", "--mlfq-quanta-ms", "10,0", "p"],
            &["run", "--mlfq-quanta-ms", "", "p"],
            &["run", "--mlfq-boost-ms", "3600001", "p"],
            &["sched-sim", "--bench", "x"],
            &["run", "--timeout", "0", "p"],
            &["run", "--timeout", "soon", "p"],
            &["run", "--accel", "hvf", "p"],
            &["run", "--memory", "1", "p"],
            &["run", "--add", ":/bin/x", "p"],
            &["bogus"],
        ] {
            let error = parse(args).expect_err(&format!("{args:?}"));
            assert_eq!(error.exit_code(), i32::from(EXIT_USAGE), "{args:?}");
        }
    }

    #[test]
    fn everything_after_the_program_is_the_programs() {
        let command = |args: &[&str]| {
            let run = run_args(args);
            (run.boot.verbose, run.boot.timeout, run.program().to_path_buf(), run.program_args().to_vec())
        };
        let words = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(command(&["run", "./p", "-v"]), (false, None, "./p".into(), words(&["-v"])));
        assert_eq!(command(&["run", "-v", "./p", "--help"]), (true, None, "./p".into(), words(&["--help"])));
        assert_eq!(command(&["run", "./p", "--", "x"]), (false, None, "./p".into(), words(&["--", "x"])));
        assert_eq!(command(&["run", "--", "-p", "-v"]), (false, None, "-p".into(), words(&["-v"])));
        assert_eq!(
            command(&["run", "--timeout", "3", "./p", "--timeout", "5", "--sched", "rr", "-x=1"]),
            (false, Some(Duration::from_secs(3)), "./p".into(), words(&["--timeout", "5", "--sched", "rr", "-x=1"]))
        );
        // Before PROGRAM, a word that looks like an option is one, known or not.
        for args in [&["run", "-x", "./p"][..], &["run", "--bogus", "./p"], &["run", "-v"]] {
            assert_eq!(parse(args).unwrap_err().exit_code(), i32::from(EXIT_USAGE), "{args:?}");
        }
    }

    #[test]
    fn sched_sim_is_a_subcommand() {
        match parse(&["sched-sim", "--out", "figs", "--seed", "3"]).unwrap().command {
            Some(Command::SchedSim(_)) => {}
            other => panic!("not sched-sim: {other:?}"),
        }
    }

    #[test]
    fn timeline_windows_and_trace_limits_parse() {
        let window = |text: &str| parse_window(text);
        assert_eq!(window("10:250"), Ok(TimelineWindow { from_ms: 10.0, to_ms: Some(250.0) }));
        assert_eq!(window(":50"), Ok(TimelineWindow { from_ms: 0.0, to_ms: Some(50.0) }));
        assert_eq!(window("1.5:"), Ok(TimelineWindow { from_ms: 1.5, to_ms: None }));
        for bad in ["", "10", "20:10", "5:5", "-1:3", "a:b", "1:inf"] {
            assert!(window(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_size("50M"), Ok(50_000_000));
        assert_eq!(parse_size("200k"), Ok(200_000));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        for bad in ["", "M", "0", "-5M", "5T", "99999999999999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        let run = run_args(&[
            "run",
            "--timeline",
            "t.svg",
            "--timeline-window",
            "5:9",
            "--trace",
            "t",
            "--trace-limit",
            "2M",
            "./p",
        ]);
        assert_eq!(run.boot.timeline_window, Some(TimelineWindow { from_ms: 5.0, to_ms: Some(9.0) }));
        assert_eq!((run.boot.trace_limit, run.boot.timeline_budget), (Some(2_000_000), 20_000));
        for args in [
            &["run", "--timeline", "t.svg", "--timeline-budget", "0", "./p"][..],
            &["run", "--timeline-window", "1:2", "./p"],
            &["run", "--timeline-budget", "10", "./p"],
            &["run", "--trace-limit", "1M", "--timeline", "t.svg", "./p"],
        ] {
            assert_eq!(parse(args).unwrap_err().exit_code(), i32::from(EXIT_USAGE), "{args:?}");
        }
    }
}
