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
//!
//! This file holds the command (its options and the order of the runs); `rows` the
//! figures, `guest` a machine's run, `report` the table and the JSON.

mod guest;
mod report;
mod rows;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use clap::Args;

use crate::linux;
use guest::{qemu_version, run_linux, run_timeshare, RunResult};
use report::{report_date, Report};
use rows::{Mode, Row, System, ROWS};

pub(crate) use guest::{line_reader, timeshare_binary};

/// The benchmark program, as built by build.rs from user/c/bench.c.
pub fn program() -> PathBuf {
    Path::new(env!("TIMESHARE_USER_C_DIR")).join("bench")
}

/// The host's BusyBox (a static binary), /bin/sh in both guests for fork-exec-sh; without
/// it that row reports an error.
pub const SHELL: &str = "/bin/busybox";

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
    /// CPUs of both machines, timeshare's and the reference Linux's (1..=16; Linux keeps
    /// one under icount, where it cannot bring a second up); the rows of several CPUs
    /// (smp-cross-cpu, smp-scaling) run only with 2 or more
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = crate::args::cpus_parser())]
    pub cpus: u32,
}

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
    let (rows, too_few_cpus): (Vec<&'static Row>, Vec<&'static Row>) = ROWS
        .iter()
        .filter(|r| args.only.is_empty() || args.only.iter().any(|o| o == r.name || o == r.group))
        .partition(|r| r.min_cpus <= args.cpus);
    if !too_few_cpus.is_empty() && !args.only.is_empty() {
        let names: Vec<&str> = too_few_cpus.iter().map(|r| r.name).collect();
        eprintln!("timeshare bench: not run, as they need --cpus 2 or more: {}", names.join(", "));
    }
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
            let shell = std::fs::read(SHELL).ok();
            match std::fs::read(&bench)
                .map(|data| linux::initramfs(&data, shell.as_deref()))
                .and_then(|a| std::fs::write(&scratch, a))
            {
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
                let theirs = s.spawn(|| run_linux(kernel, &qemu, initrd, mode, scale, &args.only, timeout, args.cpus));
                let ours = run_timeshare(mode, scale, &args.only, timeout, args.cpus);
                (ours, Some(theirs.join().unwrap_or_else(|_| RunResult::failed("panicked".into()))))
            }),
            // Wall time: one machine at a time.
            (Ok(kernel), Some(initrd), Mode::Tcg) => {
                let ours = run_timeshare(mode, scale, &args.only, timeout, args.cpus);
                (ours, Some(run_linux(kernel, &qemu, initrd, mode, scale, &args.only, timeout, args.cpus)))
            }
            _ => (run_timeshare(mode, scale, &args.only, timeout, args.cpus), None),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_accepts_rows_and_groups() {
        assert!(parse_only("lat-ctx").is_ok());
        assert!(parse_only("lat-ctx-16").is_ok());
        assert!(parse_only("null-syscall").is_ok());
        assert!(parse_only("nope").unwrap_err().contains("known: boot"));
        assert!(parse_scale("0").is_err() && parse_scale("0.5").is_ok());
    }
}
