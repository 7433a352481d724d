//! The figures `timeshare bench` reports (one row each, in the program's order), the
//! goals some of them have, the two modes and the two systems they are measured in.

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

    pub fn describe(self) -> &'static str {
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
    pub fn name(self) -> &'static str {
        match self {
            System::Timeshare => "timeshare",
            System::Linux => "linux",
        }
    }
}

/// The goal a row is held to, judged on the icount figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// timeshare / Linux at most this.
    Ratio(f64),
    /// timeshare's figure below this many ns.
    BelowNs(f64),
    /// timeshare's figure at least this, judged on plain TCG's (the CPUs run in
    /// parallel there; under -icount QEMU runs them in turn on one host thread).
    AtLeastInTcg(f64),
}

impl Goal {
    pub fn describe(self) -> String {
        match self {
            Goal::Ratio(r) => format!("<= {r:.2}x"),
            Goal::BelowNs(ns) => format!("< {}", format_value(ns, "ns")),
            Goal::AtLeastInTcg(x) => format!(">= {x:.2} (tcg)"),
        }
    }

    pub fn met(self, timeshare: Option<f64>, ratio: Option<f64>) -> Option<bool> {
        match self {
            Goal::Ratio(r) => ratio.map(|x| x <= r),
            Goal::BelowNs(ns) => timeshare.map(|x| x < ns),
            Goal::AtLeastInTcg(at_least) => timeshare.map(|x| x >= at_least),
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
    /// The CPUs the row needs (`bench --cpus`): with fewer, the program skips it
    /// and the report leaves it out.
    pub min_cpus: u32,
}

const fn row(name: &'static str, group: &'static str, unit: &'static str, what: &'static str) -> Row {
    Row { name, group, unit, what, goal: None, min_cpus: 1 }
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
    Row { goal: Some(Goal::Ratio(0.3)), ..row("lat-ctx-4", "lat-ctx", "ns", "the same, 4 processes: per hop") },
    Row { goal: Some(Goal::Ratio(0.3)), ..row("lat-ctx-8", "lat-ctx", "ns", "the same, 8 processes: per hop") },
    Row { goal: Some(Goal::Ratio(0.3)), ..row("lat-ctx-16", "lat-ctx", "ns", "the same, 16 processes: per hop") },
    Row { goal: Some(Goal::Ratio(0.3)), ..row("lat-ctx-24", "lat-ctx", "ns", "the same, 24 processes: per hop") },
    Row { goal: Some(Goal::Ratio(0.3)), ..row("lat-ctx-32", "lat-ctx", "ns", "the same, 32 processes: per hop") },
    Row { goal: Some(Goal::Ratio(0.3)), ..row("lat-ctx-64", "lat-ctx", "ns", "the same, 64 processes: per hop") },
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
    Row {
        goal: Some(Goal::Ratio(0.15)),
        ..row(
            "thread-create-join",
            "thread-create-join",
            "ns",
            "pthread_create of a thread that returns at once, and pthread_join",
        )
    },
    Row {
        goal: Some(Goal::Ratio(0.15)),
        ..row(
            "futex-pingpong",
            "futex-pingpong",
            "ns",
            "a token between 2 threads through futex wait/wake: round trip (two switches)",
        )
    },
    Row {
        goal: Some(Goal::Ratio(0.15)),
        ..row(
            "mutex-contended",
            "mutex-contended",
            "ns",
            "2 threads lock and unlock one pthread mutex, yielding while they hold it: per pair",
        )
    },
    row(
        "futex-wake-crowd",
        "futex-wake-crowd",
        "ns",
        "FUTEX_WAKE of a word nobody waits on while 32 threads wait, each on its own word",
    ),
    Row {
        goal: Some(Goal::Ratio(0.25)),
        ..row("file-create-delete", "files", "ns", "creat, close and unlink of one file in the root file system")
    },
    Row {
        goal: Some(Goal::Ratio(0.25)),
        ..row("file-write-read-4k", "files", "ns", "pwrite 4 KiB into a file, pread it back")
    },
    Row {
        goal: Some(Goal::Ratio(0.25)),
        ..row("file-write-1m", "files", "ns", "ftruncate a file to 0, pwrite 1 MiB into it (fresh pages)")
    },
    Row { goal: Some(Goal::Ratio(0.25)), ..row("stat-path", "files", "ns", "stat of a three-component path") },
    Row {
        goal: Some(Goal::Ratio(0.25)),
        ..row("open-close", "files", "ns", "open and close a file by a three-component path")
    },
    row(
        "console-throughput",
        "console-throughput",
        "ns",
        "per KiB of 8 MiB written to stdout, read by the host (timeshare: shared-memory ring to `timeshare run`; \
         Linux: its serial console, ttyS0, to QEMU's stdout)",
    ),
    row("lat-ctx-96", "lat-ctx-many", "ns", "a token around a ring of 96 processes through pipes: per hop"),
    row("lat-ctx-512", "lat-ctx-many", "ns", "the same, 512 processes: per hop"),
    row("fork-1000", "fork-1000", "ns", "fork 1,000 children that exit at once, then reap them all"),
    row(
        "syslog-read-all",
        "syslog-read-all",
        "ns",
        "per KiB of the kernel log read by klogctl(READ_ALL) into a 16 KiB buffer, as dmesg reads it",
    ),
    row(
        "sched-setattr",
        "sched-setattr",
        "ns",
        "sched_setattr of the caller (nice, 3 ms slice) and sched_getattr back: per pair",
    ),
    Row {
        goal: Some(Goal::Ratio(0.25)),
        ..row(
            "mmap-file-fault",
            "mmap-file-fault",
            "ns",
            "mmap a 4 MiB file MAP_SHARED read-only, read each page once, munmap: per page",
        )
    },
    Row {
        goal: Some(Goal::Ratio(0.15)),
        ..row("getppid-libc", "libc-calls", "ns", "getppid through musl's wrapper (lmbench's null call)")
    },
    Row {
        goal: Some(Goal::Ratio(0.3)),
        ..row("read-devzero-1", "libc-calls", "ns", "read(2) of 1 byte from /dev/zero (lmbench's null read)")
    },
    Row { goal: Some(Goal::Ratio(0.3)), ..row("fstat", "libc-calls", "ns", "fstat of an open regular file") },
    Row {
        goal: Some(Goal::Ratio(0.3)),
        ..row("sigaction-install", "libc-calls", "ns", "sigaction of SIGUSR1's handler, the old action returned")
    },
    Row {
        goal: Some(Goal::Ratio(0.3)),
        ..row(
            "clock_gettime",
            "vdso-clocks",
            "ns",
            "clock_gettime(CLOCK_MONOTONIC) through musl: the vDSO, no system call",
        )
    },
    Row {
        goal: Some(Goal::Ratio(0.3)),
        ..row("gettimeofday", "vdso-clocks", "ns", "gettimeofday through musl: the vDSO, no system call")
    },
    Row {
        goal: Some(Goal::Ratio(0.3)),
        ..row(
            "prot-fault-signal",
            "prot-fault-signal",
            "ns",
            "mprotect a page read-only, write it: SIGSEGV, the handler mprotects it writable, sigreturn, the write",
        )
    },
    Row {
        goal: Some(Goal::Ratio(0.3)),
        ..row("poll-100", "poll-select", "ns", "poll of 100 pipe read ends, none ready, zero timeout")
    },
    Row {
        goal: Some(Goal::Ratio(0.3)),
        ..row("select-100", "poll-select", "ns", "select of the same 100 read ends, zero timeout")
    },
    Row {
        goal: Some(Goal::Ratio(0.3)),
        ..row("mmap-512k", "mmap-512k", "ns", "mmap 512 KiB of anonymous memory, touch nothing, munmap")
    },
    Row {
        goal: Some(Goal::Ratio(0.3)),
        ..row(
            "pipe-bandwidth",
            "bandwidth",
            "ns",
            "per KiB through a pipe to a child in 64 KiB writes and reads (MB/s = 1e6 / it)",
        )
    },
    Row {
        goal: Some(Goal::Ratio(0.3)),
        ..row(
            "file-read-bandwidth",
            "bandwidth",
            "ns",
            "per KiB of a 4 MiB file read again and again in 64 KiB reads (MB/s = 1e6 / it)",
        )
    },
    Row {
        goal: Some(Goal::Ratio(0.3)),
        ..row(
            "fork-exec-sh",
            "fork-exec-sh",
            "ns",
            "fork, the child execs /bin/sh -c (BusyBox) of the bench binary (exits at once), the parent waits",
        )
    },
    Row {
        goal: Some(Goal::Ratio(0.3)),
        min_cpus: 2,
        ..row(
            "pipe-pingpong-cross-cpu",
            "smp-cross-cpu",
            "ns",
            "pipe-pingpong with the two processes pinned to CPUs 0 and 1: round trip",
        )
    },
    Row {
        goal: Some(Goal::Ratio(0.3)),
        min_cpus: 2,
        ..row(
            "futex-wake-cross-cpu",
            "smp-cross-cpu",
            "ns",
            "futex-pingpong with the two threads pinned to CPUs 0 and 1: round trip",
        )
    },
    Row {
        goal: Some(Goal::Ratio(0.3)),
        min_cpus: 2,
        ..row(
            "ipi-wakeup-latency",
            "smp-cross-cpu",
            "ns",
            "TSC before a FUTEX_WAKE on CPU 0 to the TSC the woken thread reads first thing on idle CPU 1",
        )
    },
    Row {
        goal: Some(Goal::AtLeastInTcg(1.8)),
        min_cpus: 2,
        ..row(
            "smp-scaling-procs",
            "smp-scaling",
            "x",
            "N CPU-bound processes (N = the CPUs): wall time all pinned to CPU 0 / free on N CPUs",
        )
    },
    Row {
        goal: Some(Goal::AtLeastInTcg(1.8)),
        min_cpus: 2,
        ..row("smp-scaling-threads", "smp-scaling", "x", "the same with N threads of one process")
    },
];

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
        "x" => format!("{value:.2}x"),
        other => format!("{value} {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    use crate::bench::program;

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
    fn goals() {
        assert_eq!(Goal::Ratio(0.2).met(Some(50.0), Some(0.19)), Some(true));
        assert_eq!(Goal::Ratio(0.2).met(Some(50.0), Some(0.21)), Some(false));
        assert_eq!(Goal::Ratio(0.2).met(Some(50.0), None), None);
        assert_eq!(Goal::BelowNs(20e6).met(Some(2e6), None), Some(true));
        assert_eq!(Goal::AtLeastInTcg(1.8).met(Some(1.9), Some(1.0)), Some(true));
        assert_eq!(Goal::AtLeastInTcg(1.8).met(Some(1.5), Some(0.5)), Some(false));
    }

    #[test]
    fn values_read_well() {
        assert_eq!(format_value(122.46, "ns"), "122.5 ns");
        assert_eq!(format_value(12_400.0, "ns"), "12.40 us");
        assert_eq!(format_value(1.58e9, "ns"), "1.580 s");
        assert_eq!(format_value(0.0371, "%"), "0.037 %");
        assert_eq!(format_value(1.874, "x"), "1.87x");
    }
}
