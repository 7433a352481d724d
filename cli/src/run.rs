//! A boot and its report: the demo's and `run`'s initrd, the kernel command line from
//! the options, QEMU started and watched (`session`), and what the run leaves behind
//! (the exit status, the per-process table, the trace files, why the kernel failed).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kernel_core::bootargs;
use kernel_core::cmdline::{self, ConsoleMode, KernelOptions, SchedPolicy, Switch, WindowSize};

use crate::args::{BootArgs, DemoArgs, RunArgs};
use crate::control::ProgramEnd;
use crate::gdb::{self, GdbStub, KernelProfile};
use crate::initrd::Initrd;
use crate::outcome::{self, Verdict, EXIT_KERNEL_FAILURE, EXIT_USAGE};
use crate::qemu::{self, Accel, Machine};
use crate::session::{self, LogSink, Session};
use crate::trace_ring::{self, GuestRam};
use crate::{diagnostics, explain, host_io, terminal, trace, usage, Failure};

/// The kernel and the Rust user programs, as built by build.rs.
const KERNEL: &str = env!("TIMESHARE_KERNEL");
const USER_BIN_DIR: &str = env!("TIMESHARE_USER_BIN_DIR");

/// How long `--accel kvm` waits for the kernel to reach its console.
const KVM_BOOT_DEADLINE: Duration = Duration::from_secs(10);

/// Where the per-process table goes at the end of a run.
#[derive(Clone, Copy)]
enum StatsTable {
    None,
    Stdout,
    Stderr,
}

/// The demo's first program: `/bin/demo` once it exists, `/bin/hello` until then.
fn demo_init(programs: &[(String, PathBuf)]) -> Option<String> {
    ["demo", "hello"]
        .into_iter()
        .find(|wanted| programs.iter().any(|(name, _)| name == wanted))
        .map(|name| format!("/bin/{name}"))
}

pub fn demo(args: DemoArgs) -> Result<u8, Failure> {
    let programs = rust_user_programs(Path::new(USER_BIN_DIR));
    let init = demo_init(&programs).ok_or_else(|| Failure {
        status: EXIT_KERNEL_FAILURE,
        message: format!("no demo program (demo or hello) was built in {USER_BIN_DIR}"),
    })?;
    let mut initrd = Initrd::new();
    for (name, path) in &programs {
        let data = fs::read(path).map_err(|e| usage(format!("{}: {}", path.display(), describe(&e))))?;
        initrd.add_file(&format!("/bin/{name}"), 0o755, data).map_err(usage)?;
    }
    let host = programs.iter().find(|(name, _)| init.rsplit('/').next() == Some(name.as_str())).map(|(_, path)| path);
    let program = FirstProgram { shown: &init, host: host.expect("demo_init found it among the programs") };
    boot(&args.boot, &program, initrd, init.clone(), Vec::new(), StatsTable::Stdout)
}

/// The Rust user programs: the ELF executables directly in `dir`, by file name.
fn rust_user_programs(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut programs: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .filter(|(_, path)| is_elf(path))
        .collect();
    programs.sort();
    programs
}

fn is_elf(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic)).is_ok() && magic == *b"\x7fELF"
}

pub fn run(args: RunArgs) -> Result<u8, Failure> {
    let shown = args.program().display().to_string();
    let data = fs::read(args.program()).map_err(|e| usage(format!("{shown}: {}", describe(&e))))?;
    check_program(&data).map_err(|reason| usage(format!("{shown}: {reason}")))?;
    let name = args
        .program()
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| usage(format!("{shown}: the file name must be valid UTF-8")))?;
    let init = format!("/bin/{name}");
    let mut initrd = Initrd::new();
    initrd.add_file(&init, 0o755, data).map_err(usage)?;
    let init_args = args.program_args().iter().map(|a| a.as_encoded_bytes().to_vec()).collect();
    let stats = if args.boot.stats { StatsTable::Stderr } else { StatsTable::None };
    boot(&args.boot, &FirstProgram { shown: &shown, host: args.program() }, initrd, init, init_args, stats)
}

/// Refuse on the host what the kernel would refuse: not a static x86_64 executable.
fn check_program(data: &[u8]) -> Result<(), String> {
    kernel_core::elf::parse(data).map(|_| ()).map_err(|e| e.to_string())
}

/// The host's physical memory, in MiB: more guest memory than that QEMU cannot give.
fn host_memory_mib() -> u64 {
    // SAFETY: sysconf only reads system parameters.
    let (pages, page_size) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    (pages.max(0) as u64).saturating_mul(page_size.max(0) as u64) >> 20
}

/// An io::Error without the "(os error N)" suffix.
fn describe(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The first program's environment.
const INIT_ENV: &[u8] = b"PATH=/bin";

/// The kernel command line for a first program and the boot options (its
/// arguments travel in the initrd: see `kernel_core::bootargs`).
fn kernel_options(boot: &BootArgs, init: String) -> KernelOptions {
    let defaults = KernelOptions::default();
    KernelOptions {
        init,
        quantum_ms: boot.quantum_ms.unwrap_or(defaults.quantum_ms),
        sched: boot.sched.unwrap_or(defaults.sched),
        seed: boot.seed.unwrap_or(defaults.seed),
        lottery_compensation: boot.lottery_compensation.unwrap_or(defaults.lottery_compensation),
        mlfq_levels: boot.mlfq_levels.unwrap_or(defaults.mlfq_levels),
        mlfq_quanta_ms: boot.mlfq_quanta_ms.clone().unwrap_or_else(|| defaults.mlfq_quanta_ms.clone()),
        mlfq_boost_ms: boot.mlfq_boost_ms.unwrap_or(defaults.mlfq_boost_ms),
        console: if terminal::stdin_is_our_terminal() { ConsoleMode::Terminal } else { ConsoleMode::Stream },
        terminal_fds: [libc::STDIN_FILENO, libc::STDOUT_FILENO, libc::STDERR_FILENO].map(terminal::is_terminal),
        window: host_io::window_size().map_or(defaults.window, |size| WindowSize { cols: size.cols, rows: size.rows }),
        trace_events: if boot.tracing() { boot.trace_buffer } else { 0 },
        explain_syscalls: if boot.explaining() { boot.explain_syscalls } else { 0 },
        selftest: boot.kernel_arg.iter().filter_map(|word| cmdline::parse(word).ok()?.selftest).last(),
        pid_max: boot
            .kernel_arg
            .iter()
            .filter_map(|word| Some(cmdline::parse(word).ok()?.pid_max).filter(|&max| max != defaults.pid_max))
            .last()
            .unwrap_or(defaults.pid_max),
        copy_out: boot.copy_out.iter().map(|spec| spec.guest.as_bytes().to_vec()).collect(),
        ..defaults
    }
}

/// The first program as the user knows it.
struct FirstProgram<'a> {
    /// As they named it (for what is said about it on stderr).
    shown: &'a str,
    /// Its file on the host (for gdb's symbols).
    host: &'a Path,
}

/// Adds host file `host` to the initrd at `guest`; a directory with everything in
/// it (files, directories, symbolic links, their modes), recursively. A link
/// given itself is followed; one found in a directory is added as a link.
fn add_host_path(initrd: &mut Initrd, host: &Path, guest: &str, in_directory: bool) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let shown = host.display();
    let failed = |e: std::io::Error| format!("{shown}: {}", describe(&e));
    if in_directory && fs::symlink_metadata(host).map_err(failed)?.file_type().is_symlink() {
        let target = fs::read_link(host).map_err(failed)?;
        let target = target.to_str().ok_or_else(|| format!("{shown}: the link's target is not UTF-8"))?;
        return initrd.add_symlink(guest, target).map_err(|e| format!("{shown}: {e}"));
    }
    let meta = fs::metadata(host).map_err(failed)?;
    let mode = meta.permissions().mode();
    if meta.is_dir() {
        initrd.add_directory(guest, mode).map_err(|e| format!("{shown}: {e}"))?;
        let mut names: Vec<_> = fs::read_dir(host)
            .and_then(|entries| entries.map(|entry| entry.map(|entry| entry.file_name())).collect())
            .map_err(failed)?;
        names.sort();
        for name in names {
            let path = host.join(&name);
            let name = name.to_str().ok_or_else(|| format!("{}: the name is not UTF-8", path.display()))?;
            add_host_path(initrd, &path, &format!("{guest}/{name}"), true)?;
        }
        return Ok(());
    }
    if !meta.is_file() {
        return Err(format!("{shown}: not a regular file or a directory"));
    }
    let data = fs::read(host).map_err(failed)?;
    initrd.add_file(guest, mode, data).map_err(|e| format!("{shown}: {e}"))
}

/// Add the `--add` files, pack the initrd, boot, and judge the run.
fn boot(
    boot: &BootArgs,
    program: &FirstProgram,
    mut initrd: Initrd,
    init: String,
    init_args: Vec<Vec<u8>>,
    stats: StatsTable,
) -> Result<u8, Failure> {
    let host_mib = host_memory_mib();
    if u64::from(boot.memory) > host_mib {
        return Err(usage(format!("--memory {}: this host has {host_mib} MiB of memory in all", boot.memory)));
    }
    if boot.accel == Accel::Kvm {
        fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .map_err(|e| usage(format!("--accel kvm: /dev/kvm: {} (use --accel tcg)", describe(&e))))?;
    }
    for spec in &boot.add {
        add_host_path(&mut initrd, &spec.host, &spec.guest, false).map_err(|e| usage(format!("--add {e}")))?;
    }
    let mut archive = initrd.pack().map_err(usage)?;
    let argv: Vec<&[u8]> = std::iter::once(init.as_bytes()).chain(init_args.iter().map(Vec::as_slice)).collect();
    bootargs::append(&mut archive, &argv, &[INIT_ENV], init.as_bytes())
        .map_err(|error| usage(format!("the program's arguments: {error}")))?;
    let log = match &boot.log {
        Some(path) => {
            LogSink::File(File::create(path).map_err(|e| usage(format!("--log {}: {}", path.display(), describe(&e))))?)
        }
        None if boot.verbose => LogSink::Stderr,
        None => LogSink::Memory,
    };
    let trace_files = [(&boot.trace, "--trace"), (&boot.timeline, "--timeline")].map(|(path, option)| {
        path.as_ref()
            .map(|path| {
                File::create(path)
                    .map(|file| (path.clone(), file))
                    .map_err(|e| usage(format!("{option} {}: {}", path.display(), describe(&e))))
            })
            .transpose()
    });
    let [json_file, svg_file] = trace_files;
    let (json_file, svg_file) = (json_file?, svg_file?);
    let qemu = qemu::find().map_err(|message| Failure { status: EXIT_KERNEL_FAILURE, message })?;
    let guest_ram = Arc::new(GuestRam::create(boot.memory).map_err(|e| Failure {
        status: EXIT_KERNEL_FAILURE,
        message: format!("cannot create the guest memory shared with the host: {e}"),
    })?);

    let workdir = TempDir::new().map_err(|e| Failure {
        status: EXIT_KERNEL_FAILURE,
        message: format!("cannot create a temporary directory: {e}"),
    })?;
    let initrd_path = workdir.path().join("initrd.cpio");
    fs::write(&initrd_path, archive).map_err(|e| Failure {
        status: EXIT_KERNEL_FAILURE,
        message: format!("{}: {}", initrd_path.display(), describe(&e)),
    })?;
    let title = init.rsplit('/').next().unwrap_or(&init).to_string();
    let kernel = match boot.kernel_profile {
        KernelProfile::Release => PathBuf::from(KERNEL),
        KernelProfile::Dev => gdb::dev_kernel().map_err(usage)?,
    };
    let gdb_stub = if boot.gdb {
        let stub = GdbStub::prepare(workdir.path(), &kernel, program.host).map_err(|e| Failure {
            status: EXIT_KERNEL_FAILURE,
            message: format!("--gdb: cannot write the gdb script: {e}"),
        })?;
        Some(stub)
    } else {
        None
    };
    let machine = Machine {
        kernel,
        initrd: initrd_path,
        cmdline: cmdline::render(&KernelOptions {
            accounting: if matches!(stats, StatsTable::None) && boot.report.is_none() {
                Switch::Off
            } else {
                Switch::On
            },
            ..kernel_options(boot, init)
        }),
        memory_mib: boot.memory,
        cpus: boot.cpus,
        accel: boot.accel,
        icount: boot.icount,
        gdb_socket: gdb_stub.as_ref().map(|stub| stub.socket.clone()),
        extra: boot.qemu_arg.clone(),
    };
    if let Some(stub) = &gdb_stub {
        eprintln!("timeshare: the machine waits, halted, for gdb; attach with:\n  {}", stub.attach_command());
    }

    terminal::catch_signals();
    terminal::catch_window_changes();
    if terminal::stdin_is_our_terminal() {
        // Best effort: without raw mode the guest still runs, with the host's line editing.
        let _ = terminal::enter_raw_mode();
    }
    // A kernel that boots at all reaches its console in well under a second under
    // KVM; a host whose KVM cannot run it (a nested software hypervisor) never does.
    let boot_deadline = (boot.accel == Accel::Kvm).then_some(KVM_BOOT_DEADLINE);
    let report = Session {
        qemu,
        machine: &machine,
        timeout: boot.timeout,
        log,
        verbose: boot.verbose,
        guest_ram,
        tracing: boot.tracing(),
        boot_deadline,
    }
    .run()
    .map_err(|e| Failure { status: EXIT_KERNEL_FAILURE, message: e.to_string() });
    terminal::restore();
    drop(workdir);
    let report = report?;

    let verdict = outcome::judge(report.end, &report.control, !report.qemu_stderr.trim().is_empty());
    let trace_written = match &report.trace {
        Some(capture) => write_trace(capture, report.control.trace_totals, json_file, svg_file, &title, boot),
        None => true,
    };
    let explained =
        !boot.explaining() || write_explanation(boot, program, &machine.kernel, &report, &title, &scheduler(boot));
    for problem in crate::copy_out::write(&boot.copy_out, &report.control.copy_out) {
        eprintln!("timeshare: {problem}");
    }
    if !report.control.processes.is_empty() {
        match stats {
            StatsTable::None => {}
            StatsTable::Stdout => {
                print!("\nWhat the kernel counted for each process:\n{}", report.control.process_table())
            }
            StatsTable::Stderr => eprint!("{}", report.control.process_table()),
        }
    }
    let cpu_table = report.control.cpu_table();
    if !cpu_table.is_empty() {
        match stats {
            StatsTable::None => {}
            StatsTable::Stdout => print!("\nWhat each CPU did:\n{cpu_table}"),
            StatsTable::Stderr => eprint!("{cpu_table}"),
        }
    }
    if !boot.quiet {
        let died = match (&verdict, report.control.end) {
            (Verdict::Program(_), Some(ProgramEnd::Signaled(signal))) => Some(signal),
            _ => None,
        };
        for line in diagnostics::lines(program.shown, &report.control, died) {
            eprintln!("{line}");
        }
    }
    match &verdict {
        Verdict::Program(_) => {}
        Verdict::TimedOut => {
            let secs = boot.timeout.map_or(0.0, |t| t.as_secs_f64());
            eprintln!("timeshare: timed out after {secs} s; the machine was stopped");
        }
        Verdict::Interrupted(signal) => {
            eprintln!("timeshare: interrupted by signal {signal}; the machine was stopped")
        }
        Verdict::Escaped => eprintln!("timeshare: Ctrl-A x: the machine was stopped"),
        Verdict::QemuRefused => {
            eprintln!("timeshare: QEMU could not start the machine:");
            for line in report.qemu_stderr.trim_end().lines() {
                eprintln!("  | {line}");
            }
        }
        Verdict::NotBooted(after) => eprintln!(
            "timeshare: --accel kvm: the kernel did not boot within {} s: this host's KVM cannot run it (a nested \
             or software hypervisor?); use --accel tcg",
            after.as_secs()
        ),
        Verdict::KernelFailure(reason) => report_kernel_failure(reason, boot, &report),
    }
    match verdict.exit_status() {
        // The program succeeded but what was asked of the run was not done.
        0 if !trace_written || !explained => Ok(EXIT_USAGE),
        status => Ok(status),
    }
}

/// The scheduling policy and its quantum, as the timeline's subtitle names them.
fn scheduler(boot: &BootArgs) -> String {
    let defaults = KernelOptions::default();
    let policy = boot.sched.unwrap_or(defaults.sched);
    let quantum_ms = boot.quantum_ms.unwrap_or(defaults.quantum_ms);
    match policy {
        SchedPolicy::Mlfq => format!("policy {}", policy.word()),
        SchedPolicy::Fair => format!("policy {}, latency target {quantum_ms} ms", policy.word()),
        SchedPolicy::Eevdf => {
            format!("policy {}, default request {} ms", policy.word(), kernel_core::sched::EEVDF_DEFAULT_REQUEST_MS)
        }
        _ => format!("policy {}, quantum {quantum_ms} ms", policy.word()),
    }
}

/// Writes the trace's JSON and SVG files, and says on stderr what went wrong, if
/// anything (no trace at all, events dropped or lost, a file that could not be
/// written, a file cut at --trace-limit, a timeline merged to meet its budget).
/// `totals` is what the kernel said it recorded and dropped at power-off. Returns
/// whether every file was written.
fn write_trace(
    capture: &trace_ring::Capture,
    totals: Option<(u64, u64)>,
    json: Option<(PathBuf, File)>,
    svg: Option<(PathBuf, File)>,
    title: &str,
    boot: &BootArgs,
) -> bool {
    if let Some(error) = &capture.error {
        eprintln!("timeshare: trace: {error}");
    } else if capture.capacity == 0 {
        eprintln!("timeshare: trace: the kernel made no trace buffer (too little memory for --trace-buffer? the kernel log says: --verbose)");
    }
    if let Some((recorded, _)) = totals.filter(|&(recorded, _)| recorded != capture.events.len() as u64) {
        eprintln!("timeshare: trace: the kernel recorded {recorded} events but {} were read", capture.events.len());
    }
    if capture.dropped > 0 {
        eprintln!(
            "timeshare: trace: {} events dropped because the trace buffer ({} events) was full; a larger --trace-buffer keeps them",
            capture.dropped, capture.capacity
        );
    }
    let mut timeline = trace::Timeline::build(&capture.events, capture.tsc_hz, capture.dropped);
    let written = |path: &Path, result: std::io::Result<()>| match result {
        Ok(()) => true,
        Err(e) => {
            eprintln!("timeshare: {}: {}", path.display(), describe(&e));
            false
        }
    };
    let mut all_written = true;
    if let Some((path, file)) = json {
        let mut out = std::io::BufWriter::new(file);
        let warn = |left: usize| {
            eprintln!(
                "timeshare: trace: {} passes {} MB with {left} events still to write; --trace-limit SIZE caps it",
                path.display(),
                trace::WARN_BYTES / 1_000_000
            )
        };
        let result = trace::chrome_json(&timeline, &mut out, boot.trace_limit, trace::WARN_BYTES, warn);
        if let Ok(trace::Written { bytes, events, total, cut_at_ms: Some(at_ms) }) = result {
            eprintln!(
                "timeshare: trace: {} cut at --trace-limit: {bytes} bytes, {events} of {total} events; the {} events from {at_ms:.3} ms on were left out",
                path.display(),
                total - events
            );
        }
        all_written &= written(&path, result.and_then(|_| out.flush()));
    }
    if let Some((path, mut file)) = svg {
        if let Some(window) = boot.timeline_window {
            let to_ms = window.to_ms.unwrap_or(timeline.ms(timeline.end));
            timeline.window(window.from_ms, to_ms);
        }
        timeline.fit(boot.timeline_budget as usize);
        if let Some(merging) = timeline.merging {
            eprintln!(
                "timeshare: timeline: {} intervals are more than --timeline-budget {}: adjacent ones in the same state merged into {} (each lane's totals kept)",
                merging.before, merging.budget, merging.after
            );
        }
        let options = trace::SvgOptions { scheduler: scheduler(boot), title: title.to_string() };
        all_written &= written(&path, file.write_all(trace::svg(&timeline, &options).as_bytes()));
    }
    all_written
}

/// Writes the LDE tables (`--explain`: to stderr or `--explain-out`) and the HTML
/// report (`--report`); says on stderr what could not be done. False if a file
/// could not be written.
fn write_explanation(
    boot: &BootArgs,
    program: &FirstProgram,
    kernel: &Path,
    report: &session::Report,
    title: &str,
    scheduler: &str,
) -> bool {
    let symbols = |path: &Path, lines: bool| {
        explain::Symbols::open(path, lines).unwrap_or_else(|error| {
            eprintln!("timeshare: explain: no symbols: {error}");
            explain::Symbols::empty()
        })
    };
    let tables = explain::tables(&report.control.explain, &symbols(kernel, true), &symbols(program.host, false));
    let written = |path: &Path, result: std::io::Result<()>| {
        result.map_err(|e| eprintln!("timeshare: {}: {}", path.display(), describe(&e))).is_ok()
    };
    let mut all_written = true;
    if boot.explain || boot.explain_out.is_some() {
        let text = explain::render_text(&tables);
        match &boot.explain_out {
            Some(path) => all_written &= written(path, fs::write(path, text)),
            None => eprint!("{text}"),
        }
    }
    if let Some(path) = &boot.report {
        let events = report.trace.as_ref().map_or(&[][..], |capture| &capture.events[..]);
        let (tsc_hz, dropped) = report.trace.as_ref().map_or((1, 0), |capture| (capture.tsc_hz, capture.dropped));
        let timeline = trace::Timeline::build(events, tsc_hz, dropped);
        let options = trace::SvgOptions { scheduler: scheduler.to_string(), title: title.to_string() };
        let page = explain::report(&explain::ReportParts {
            title,
            tables: &tables,
            timeline_svg: &trace::svg(&timeline, &options),
            processes: &report.control.processes,
            syscall_counts: &syscall_counts(events),
        });
        all_written &= written(path, fs::write(path, page));
    }
    all_written
}

/// How many times each system call was made, most made first, from the trace.
fn syscall_counts(events: &[[u64; kernel_core::trace::EVENT_WORDS]]) -> Vec<(u64, u64)> {
    use kernel_core::trace::{Event, TrapReason, What};
    let mut counts = std::collections::BTreeMap::<u64, u64>::new();
    for event in events.iter().filter_map(|words| Event::decode(*words).ok()) {
        if let What::TrapEnter { reason: TrapReason::SystemCall, number, .. } = event.what {
            *counts.entry(number).or_default() += 1;
        }
    }
    let mut counts: Vec<(u64, u64)> = counts.into_iter().collect();
    counts.sort_by_key(|&(number, calls)| (std::cmp::Reverse(calls), number));
    counts
}

/// Tell the user why the kernel failed: the reason, the kernel log's tail (unless it was
/// already on stderr), and QEMU's own messages.
fn report_kernel_failure(reason: &str, boot: &BootArgs, report: &session::Report) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "timeshare: kernel failure: {reason}");
    if !boot.verbose || boot.log.is_some() {
        const SHOWN: usize = 30;
        let tail = &report.log_tail[report.log_tail.len().saturating_sub(SHOWN)..];
        if tail.is_empty() {
            let _ = writeln!(err, "timeshare: the kernel log is empty");
        } else {
            let _ = writeln!(err, "timeshare: the kernel log ends with:");
            for line in tail {
                let _ = writeln!(err, "  | {line}");
            }
        }
        if let Some(path) = &boot.log {
            let _ = writeln!(err, "timeshare: the whole kernel log is in {}", path.display());
        }
    }
    let qemu_said = report.qemu_stderr.trim_end();
    if !qemu_said.is_empty() && !boot.verbose {
        let _ = writeln!(err, "timeshare: QEMU said:");
        for line in qemu_said.lines() {
            let _ = writeln!(err, "  | {line}");
        }
    }
}

/// A fresh private directory for one run's files, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        use std::os::unix::fs::DirBuilderExt;
        use std::sync::atomic::{AtomicU32, Ordering};
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("timeshare-{}-{nanos:09}-{n}", std::process::id()));
            // create (not create_all): fails if the name is taken, so no two runs share it.
            match fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(TempDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::tests::run_args;

    #[test]
    fn kernel_options_for_a_run() {
        let run = run_args(&["run", "--quantum-ms", "7", "./hello", "a b", ""]);
        let options = kernel_options(&run.boot, "/bin/hello".into());
        assert_eq!(options.init, "/bin/hello");
        assert!(options.init_args.is_empty(), "the arguments travel in the initrd");
        assert_eq!(options.quantum_ms, 7);
        assert_eq!(cmdline::parse(&cmdline::render(&options)), Ok(options));
    }

    #[test]
    fn scheduling_options_reach_the_kernel_command_line() {
        let run = run_args(&[
            "run",
            "--sched",
            "mlfq",
            "--seed",
            "7",
            "--lottery-compensation",
            "off",
            "--mlfq-levels",
            "4",
            "--mlfq-quanta-ms",
            "5,50",
            "--mlfq-boost-ms",
            "0",
            "./p",
        ]);
        let options = kernel_options(&run.boot, "/bin/p".into());
        assert_eq!(options.sched, SchedPolicy::Mlfq);
        assert_eq!(options.seed, 7);
        assert_eq!(options.lottery_compensation, Switch::Off);
        assert_eq!((options.mlfq_levels, options.mlfq_boost_ms), (4, 0));
        assert_eq!(options.mlfq_quanta_ms, [5, 50]);
        let defaults = kernel_options(&run_args(&["run", "./p"]).boot, "/bin/p".into());
        assert_eq!(defaults.sched, SchedPolicy::RoundRobin);
        assert_eq!(defaults.lottery_compensation, Switch::On);
        assert_eq!(defaults.mlfq_quanta_ms, KernelOptions::default().mlfq_quanta_ms);
        for word in SchedPolicy::WORDS {
            assert_eq!(run_args(&["run", "--sched", word, "./p"]).boot.sched.map(SchedPolicy::word), Some(*word));
        }
    }

    #[test]
    fn demo_init_prefers_demo() {
        let progs = |names: &[&str]| names.iter().map(|n| (n.to_string(), PathBuf::from(n))).collect::<Vec<_>>();
        assert_eq!(demo_init(&progs(&["hello", "spin"])).as_deref(), Some("/bin/hello"));
        assert_eq!(demo_init(&progs(&["demo", "hello"])).as_deref(), Some("/bin/demo"));
        assert_eq!(demo_init(&progs(&["spin"])), None);
    }

    #[test]
    fn program_checks() {
        assert_eq!(check_program(b"#!/bin/sh\n").unwrap_err(), "not an ELF file");
        let dynamic = fs::read("/bin/sh").unwrap();
        assert!(check_program(&dynamic).unwrap_err().contains("dynamic"), "{:?}", check_program(&dynamic));
        let hello = Path::new(env!("TIMESHARE_USER_C_DIR")).join("hello");
        if hello.exists() {
            check_program(&fs::read(hello).unwrap()).unwrap();
        }
    }

    #[test]
    fn temp_dirs_are_fresh_and_removed() {
        let a = TempDir::new().unwrap();
        let b = TempDir::new().unwrap();
        assert_ne!(a.path(), b.path());
        let kept = a.path().to_path_buf();
        assert!(kept.is_dir());
        drop(a);
        assert!(!kept.exists());
    }
}
