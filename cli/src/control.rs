//! The control channel (debugcon at port 0xeb): text lines from the kernel, one record per
//! line, parsed by their first word. Unknown kinds are ignored so that the kernel can add
//! records (trace data) without breaking an older CLI.

/// One line of the control channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// `exit <code>`: the first process exited normally with this status (0..=255).
    Exit(u8),
    /// `signal <n>`: a signal ended the first process.
    Signal(u8),
    /// `panic`: the kernel failed; the kernel log says why.
    Panic,
    /// `ready`: the console takes input from now on.
    Ready,
    /// `process key=value...`: one process's accounting, when it exited.
    Process(ProcessRecord),
    /// `trace ...`: about the event trace (see `TraceRecord`).
    Trace(TraceRecord),
    /// `cpu id=N busy_ns=.. idle_ns=.. switches=.. migrations=..`: at power-off,
    /// what one CPU did.
    Cpu(CpuRecord),
    /// `killed signal=N ...`: what raised the signal that is ending the first process.
    Killed(Death),
    /// `unimplemented pid=P number=N name=..`: process P called system call N, which
    /// returned ENOSYS, for the first time.
    Unimplemented(UnimplementedCall),
    /// `unimplemented-total number=N calls=C`: at power-off, C calls of N in all
    /// returned ENOSYS.
    UnimplementedTotal { number: u32, calls: u64 },
    /// `copyout ...`: a file sent back for `--copy-out` (see `kernel_core::copyout`).
    CopyOut(kernel_core::copyout::Record),
    /// `console ring=PHYS capacity=WORDS`: the console's channel is at guest
    /// physical address PHYS, each ring WORDS words (`kernel_core::hostio`).
    Console { physical: u64, capacity: usize },
    /// `still-running exit=N|signal=N processes=..`: the first process has ended
    /// so, and these processes keep the run going (sent every few seconds).
    StillRunning { init: ProgramEnd, processes: String },
    /// `explain KIND key=value...`: a value behind a row of the LDE tables
    /// (kernel/src/explain.rs).
    Explain(ExplainRecord),
    /// Anything else (a kind this CLI does not know, or a malformed known kind).
    Other(String),
}

/// One `explain` record: its kind (`boot`, `segment`, `stack`, `process`,
/// `syscall`, `preempt`, `exception`) and its fields, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainRecord {
    pub kind: String,
    pub fields: Vec<(String, String)>,
}

impl ExplainRecord {
    fn parse(line: &str) -> Option<ExplainRecord> {
        let mut words = line.split_ascii_whitespace().skip(1);
        let kind = words.next()?.to_string();
        let fields = words
            .map(|word| word.split_once('=').map(|(key, value)| (key.to_string(), value.to_string())))
            .collect::<Option<Vec<_>>>()?;
        Some(ExplainRecord { kind, fields })
    }

    /// The value of field `key`, as sent.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(name, _)| name == key).map(|(_, value)| value.as_str())
    }

    /// The number in field `key`: hexadecimal with `0x`, else decimal (negative
    /// ones, a system call's -errno, as their two's complement).
    pub fn number(&self, key: &str) -> Option<u64> {
        let text = self.text(key)?;
        match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => text.parse::<u64>().ok().or_else(|| text.parse::<i64>().ok().map(|n| n as u64)),
        }
    }
}

impl Record {
    pub fn parse(line: &str) -> Record {
        let line = line.trim_end_matches(['\r', '\n']);
        let mut words = line.split_ascii_whitespace();
        let kind = words.next().unwrap_or("");
        let arg = words.next();
        let rest_empty = words.next().is_none();
        match (kind, arg) {
            ("exit", Some(code)) if rest_empty => match code.parse::<u8>() {
                Ok(code) => Record::Exit(code),
                Err(_) => Record::Other(line.to_string()),
            },
            ("signal", Some(n)) if rest_empty => match n.parse::<u8>() {
                Ok(n) if (1..=127).contains(&n) => Record::Signal(n),
                _ => Record::Other(line.to_string()),
            },
            ("panic", _) => Record::Panic,
            ("ready", None) => Record::Ready,
            ("process", Some(_)) => match ProcessRecord::parse(line) {
                Some(record) => Record::Process(record),
                None => Record::Other(line.to_string()),
            },
            ("console", Some(_)) => match parse_console(line) {
                Some((physical, capacity)) => Record::Console { physical, capacity },
                None => Record::Other(line.to_string()),
            },
            ("trace", Some(_)) => match TraceRecord::parse(line) {
                Some(record) => Record::Trace(record),
                None => Record::Other(line.to_string()),
            },
            ("cpu", Some(_)) => match CpuRecord::parse(line) {
                Some(record) => Record::Cpu(record),
                None => Record::Other(line.to_string()),
            },
            ("killed", Some(_)) => match Death::parse(line) {
                Some(death) => Record::Killed(death),
                None => Record::Other(line.to_string()),
            },
            ("unimplemented", Some(_)) => match UnimplementedCall::parse(line) {
                Some(call) => Record::Unimplemented(call),
                None => Record::Other(line.to_string()),
            },
            ("unimplemented-total", Some(_)) => {
                let fields = Fields::of(line);
                match (fields.number("number").and_then(|n| u32::try_from(n).ok()), fields.number("calls")) {
                    (Some(number), Some(calls)) if fields.0.len() == 2 => Record::UnimplementedTotal { number, calls },
                    _ => Record::Other(line.to_string()),
                }
            }
            ("still-running", Some(_)) => {
                let fields = Fields::of(line);
                let init = match (fields.number("exit"), fields.number("signal")) {
                    (Some(code), None) => u8::try_from(code).ok().map(ProgramEnd::Exited),
                    (None, Some(signal)) => u8::try_from(signal).ok().map(ProgramEnd::Signaled),
                    _ => None,
                };
                match (init, fields.text("processes")) {
                    (Some(init), Some(processes)) => Record::StillRunning { init, processes },
                    _ => Record::Other(line.to_string()),
                }
            }
            ("explain", Some(_)) => match ExplainRecord::parse(line) {
                Some(record) => Record::Explain(record),
                None => Record::Other(line.to_string()),
            },
            ("copyout", Some(_)) => match kernel_core::copyout::Record::parse(line) {
                Some(record) => Record::CopyOut(record),
                None => Record::Other(line.to_string()),
            },
            _ => Record::Other(line.to_string()),
        }
    }
}

/// `console ring=0xPHYS capacity=N`.
fn parse_console(line: &str) -> Option<(u64, usize)> {
    let mut words = line.split_ascii_whitespace().skip(1);
    let physical = u64::from_str_radix(words.next()?.strip_prefix("ring=0x")?, 16).ok()?;
    let capacity = words.next()?.strip_prefix("capacity=")?.parse().ok()?;
    words.next().is_none().then_some((physical, capacity))
}

/// One process's accounting, as the kernel reports it when the process exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessRecord {
    pub pid: u32,
    /// The thread the record is about (the kernel reports each thread as it exits);
    /// the pid for a process's first thread.
    pub tid: u32,
    pub ppid: u32,
    pub end: ProgramEnd,
    pub user_ns: u64,
    pub system_ns: u64,
    pub voluntary: u64,
    pub involuntary: u64,
    pub syscalls: u64,
    pub faults: u64,
    pub peak_kib: u64,
    pub name: String,
}

impl ProcessRecord {
    /// Parses `process pid=.. [tid=..] ppid=.. exit=N|signal=N user_ns=.. ... name=..`
    /// (the name percent-encoded as kernel_core::cmdline::encode_arg writes it).
    fn parse(line: &str) -> Option<ProcessRecord> {
        let fields = Fields::of(line);
        let number = |key: &str| fields.number(key);
        let end = match (number("exit"), number("signal")) {
            (Some(code), None) => ProgramEnd::Exited(u8::try_from(code).ok()?),
            (None, Some(signal)) => ProgramEnd::Signaled(u8::try_from(signal).ok()?),
            _ => return None,
        };
        let name = fields.text("name")?;
        let pid = u32::try_from(number("pid")?).ok()?;
        Some(ProcessRecord {
            pid,
            tid: number("tid").map_or(Some(pid), |tid| u32::try_from(tid).ok())?,
            ppid: u32::try_from(number("ppid")?).ok()?,
            end,
            user_ns: number("user_ns")?,
            system_ns: number("system_ns")?,
            voluntary: number("voluntary")?,
            involuntary: number("involuntary")?,
            syscalls: number("syscalls")?,
            faults: number("faults")?,
            peak_kib: number("peak_kib")?,
            name,
        })
    }
}

/// What one CPU did from boot to power-off (kernel/src/sched.rs `report_cpus`):
/// its time running tasks and idling (counted in timer ticks), the context
/// switches it made, and the tasks moved to it from another CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuRecord {
    pub id: u32,
    pub busy_ns: u64,
    pub idle_ns: u64,
    pub switches: u64,
    pub migrations: u64,
}

impl CpuRecord {
    fn parse(line: &str) -> Option<CpuRecord> {
        let fields = Fields::of(line);
        let record = CpuRecord {
            id: u32::try_from(fields.number("id")?).ok()?,
            busy_ns: fields.number("busy_ns")?,
            idle_ns: fields.number("idle_ns")?,
            switches: fields.number("switches")?,
            migrations: fields.number("migrations")?,
        };
        (fields.0.len() == 5).then_some(record)
    }
}

/// The `key=value` words of a record after its kind.
struct Fields<'a>(std::collections::HashMap<&'a str, &'a str>);

impl<'a> Fields<'a> {
    fn of(line: &'a str) -> Fields<'a> {
        Fields(line.split_ascii_whitespace().skip(1).filter_map(|word| word.split_once('=')).collect())
    }

    fn number(&self, key: &str) -> Option<u64> {
        self.0.get(key)?.parse().ok()
    }

    fn text(&self, key: &str) -> Option<String> {
        let bytes = kernel_core::cmdline::decode_arg(self.0.get(key)?).ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// What raised the signal that ended the first process (kernel/src/process/lifecycle.rs
/// `report_fatal_signal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Death {
    pub signal: u8,
    pub cause: DeathCause,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeathCause {
    /// The program's instruction at `rip` faulted, at `address` when the fault has one.
    Fault { rip: u64, address: Option<u64> },
    /// Process `pid` sent it.
    Sent { pid: u32 },
    /// The kernel raised it for another reason.
    Kernel,
}

impl Death {
    fn parse(line: &str) -> Option<Death> {
        let fields = Fields::of(line);
        let signal = u8::try_from(fields.number("signal")?).ok().filter(|n| (1..=127).contains(n))?;
        let (rip, address, sender) = (fields.number("rip"), fields.number("addr"), fields.number("sender"));
        let cause = match (rip, address, sender) {
            (Some(rip), address, None) => DeathCause::Fault { rip, address },
            (None, None, Some(pid)) => DeathCause::Sent { pid: u32::try_from(pid).ok()? },
            (None, None, None) => DeathCause::Kernel,
            _ => return None,
        };
        let known = 1 + usize::from(rip.is_some()) + usize::from(address.is_some()) + usize::from(sender.is_some());
        (fields.0.len() == known).then_some(Death { signal, cause })
    }
}

/// A process's first call of a system call that returned ENOSYS
/// (kernel/src/syscall/unimplemented.rs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnimplementedCall {
    pub pid: u32,
    pub number: u32,
    /// The process's name.
    pub name: String,
}

impl UnimplementedCall {
    fn parse(line: &str) -> Option<UnimplementedCall> {
        let fields = Fields::of(line);
        Some(UnimplementedCall {
            pid: u32::try_from(fields.number("pid")?).ok()?,
            number: u32::try_from(fields.number("number")?).ok()?,
            name: fields.text("name")?,
        })
    }
}

/// What the kernel says about its event trace (kernel/src/trace.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceRecord {
    /// `trace ring=PHYS events=N`: the ring is at guest physical address PHYS and
    /// holds N events; the host may start reading it.
    Ring { physical: u64, capacity: u32 },
    /// `trace events=N dropped=M`: at power-off, N events were recorded in all and M
    /// dropped because the ring was full.
    Totals { recorded: u64, dropped: u64 },
    /// `trace unavailable`: the kernel had no memory for the ring.
    Unavailable,
}

impl TraceRecord {
    fn parse(line: &str) -> Option<TraceRecord> {
        let mut words = line.split_ascii_whitespace().skip(1);
        let first = words.next()?;
        if first == "unavailable" {
            return words.next().is_none().then_some(TraceRecord::Unavailable);
        }
        let fields: std::collections::HashMap<&str, &str> =
            std::iter::once(first).chain(words).filter_map(|word| word.split_once('=')).collect();
        let number = |key: &str| -> Option<u64> {
            let text = *fields.get(key)?;
            match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => text.parse().ok(),
            }
        };
        match fields.len() {
            2 if fields.contains_key("ring") => {
                Some(TraceRecord::Ring { physical: number("ring")?, capacity: u32::try_from(number("events")?).ok()? })
            }
            2 => Some(TraceRecord::Totals { recorded: number("events")?, dropped: number("dropped")? }),
            _ => None,
        }
    }
}

/// What the control channel said about the run, folded over all its records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// The first `exit` or `signal` record.
    pub end: Option<ProgramEnd>,
    /// Whether a `panic` record came (at any point: it wins over an earlier `exit`).
    pub panicked: bool,
    /// Whether the kernel said `ready` (it booted as far as its console).
    pub ready: bool,
    /// Every process that exited, in order.
    pub processes: Vec<ProcessRecord>,
    /// What each CPU did, told at power-off.
    pub cpus: Vec<CpuRecord>,
    /// The trace's totals at power-off (`trace events=N dropped=M`), when traced.
    pub trace_totals: Option<(u64, u64)>,
    /// What raised the signal that ended the first process, if one did.
    pub death: Option<Death>,
    /// Each process's first call of each system call that returned ENOSYS, in order.
    pub unimplemented: Vec<UnimplementedCall>,
    /// How many calls of each number returned ENOSYS in all (told at power-off).
    pub unimplemented_totals: Vec<(u32, u64)>,
    /// What the guest sent back for `--copy-out`, in order.
    pub copy_out: Vec<kernel_core::copyout::Record>,
    /// The LDE explanation's records (`--explain`), in order.
    pub explain: Vec<ExplainRecord>,
}

impl Summary {
    /// The per-thread table, threads under their process (the demo's closing table,
    /// `--stats`).
    pub fn process_table(&self) -> String {
        let mut table = String::from("  pid   tid  ppid  name          end        user ms   sys ms  switches (vol/invol)  syscalls  faults  peak KiB\n");
        let mut processes = self.processes.clone();
        processes.sort_by_key(|process| (process.pid, process.tid));
        for process in &processes {
            let end = match process.end {
                ProgramEnd::Exited(code) => format!("exit {code}"),
                ProgramEnd::Signaled(signal) => format!("signal {signal}"),
            };
            let ms = |ns: u64| ns as f64 / 1e6;
            table.push_str(&format!(
                "{:>5} {:>5} {:>5}  {:<12}  {:<9} {:>8.1} {:>8.1}  {:>9} / {:<9}  {:>8}  {:>6}  {:>8}\n",
                process.pid,
                process.tid,
                process.ppid,
                process.name,
                end,
                ms(process.user_ns),
                ms(process.system_ns),
                process.voluntary,
                process.involuntary,
                process.syscalls,
                process.faults,
                process.peak_kib
            ));
        }
        table
    }

    /// The per-CPU table (`--stats`, the demo): busy and idle time, the share
    /// busy, switches, and tasks moved in from another CPU; a line of totals under
    /// several CPUs. Empty when the kernel told nothing.
    pub fn cpu_table(&self) -> String {
        if self.cpus.is_empty() {
            return String::new();
        }
        let mut table = String::from("  cpu   busy ms   idle ms  busy %  switches  migrations in\n");
        let row = |name: &str, busy: u64, idle: u64, switches: u64, migrations: u64| {
            let share = busy as f64 * 100.0 / (busy + idle).max(1) as f64;
            let ms = |ns: u64| ns as f64 / 1e6;
            format!("{name:>5} {:>9.1} {:>9.1} {share:>6.1}  {switches:>8}  {migrations:>13}\n", ms(busy), ms(idle))
        };
        let mut cpus = self.cpus.clone();
        cpus.sort_by_key(|cpu| cpu.id);
        for cpu in &cpus {
            table.push_str(&row(&cpu.id.to_string(), cpu.busy_ns, cpu.idle_ns, cpu.switches, cpu.migrations));
        }
        if cpus.len() > 1 {
            let sum = |field: fn(&CpuRecord) -> u64| cpus.iter().map(field).sum::<u64>();
            table.push_str(&row(
                "all",
                sum(|cpu| cpu.busy_ns),
                sum(|cpu| cpu.idle_ns),
                sum(|cpu| cpu.switches),
                sum(|cpu| cpu.migrations),
            ));
        }
        table
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramEnd {
    Exited(u8),
    Signaled(u8),
}

/// What the user is told while the run goes on after the first process ended
/// (a `still-running` record): why the command has not returned yet.
pub fn still_running_line(init: ProgramEnd, processes: &str) -> String {
    let end = match init {
        ProgramEnd::Exited(code) => format!("status {code}"),
        ProgramEnd::Signaled(signal) => format!("killed by signal {signal}"),
    };
    format!("timeshare: pid 1 exited ({end}); still running: {processes}")
}

impl Summary {
    pub fn add(&mut self, record: &Record) {
        match *record {
            Record::Exit(code) => {
                self.end.get_or_insert(ProgramEnd::Exited(code));
            }
            Record::Signal(n) => {
                self.end.get_or_insert(ProgramEnd::Signaled(n));
            }
            Record::Panic => self.panicked = true,
            Record::Process(ref process) => self.processes.push(process.clone()),
            Record::Cpu(cpu) => self.cpus.push(cpu),
            Record::Trace(TraceRecord::Totals { recorded, dropped }) => self.trace_totals = Some((recorded, dropped)),
            Record::Ready => self.ready = true,
            Record::Killed(death) => {
                self.death.get_or_insert(death);
            }
            Record::Unimplemented(ref call) => self.unimplemented.push(call.clone()),
            Record::UnimplementedTotal { number, calls } => self.unimplemented_totals.push((number, calls)),
            Record::CopyOut(ref record) => self.copy_out.push(record.clone()),
            Record::Explain(ref record) => self.explain.push(record.clone()),
            Record::Trace(_) | Record::Console { .. } | Record::StillRunning { .. } | Record::Other(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_known_kinds() {
        assert_eq!(Record::parse("exit 0\n"), Record::Exit(0));
        assert_eq!(Record::parse("exit 255"), Record::Exit(255));
        assert_eq!(Record::parse("signal 9\r\n"), Record::Signal(9));
        assert_eq!(Record::parse("panic"), Record::Panic);
        assert_eq!(Record::parse("panic at mm/frame.rs:12"), Record::Panic);
    }

    #[test]
    fn explain_records_keep_their_fields_in_order() {
        let Record::Explain(record) = Record::parse("explain syscall pid=1 number=39 result=-14 handler=0xffff8000\n")
        else {
            panic!("an explain record")
        };
        assert_eq!(record.kind, "syscall");
        assert_eq!(record.fields.first(), Some(&("pid".to_string(), "1".to_string())));
        assert_eq!(record.number("number"), Some(39));
        assert_eq!(record.number("result"), Some(-14i64 as u64));
        assert_eq!(record.number("handler"), Some(0xffff_8000));
        assert_eq!(record.number("missing"), None);
        assert!(matches!(Record::parse("explain syscall pid"), Record::Other(_)), "a word without a value");
        assert!(matches!(Record::parse("explain"), Record::Other(_)));
    }

    #[test]
    fn still_running_records_say_who_keeps_the_run_going() {
        let record = Record::parse("still-running exit=0 processes=pid%204%20(sleep),%20pid%205%20(sh)\n");
        let Record::StillRunning { init, processes } = record else { panic!("not parsed: {record:?}") };
        assert_eq!(
            still_running_line(init, &processes),
            "timeshare: pid 1 exited (status 0); still running: pid 4 (sleep), pid 5 (sh)"
        );
        let Record::StillRunning { init, processes } = Record::parse("still-running signal=9 processes=pid%202%20(x)")
        else {
            panic!("not parsed")
        };
        assert_eq!(
            still_running_line(init, &processes),
            "timeshare: pid 1 exited (killed by signal 9); still running: pid 2 (x)"
        );
        assert!(matches!(Record::parse("still-running processes=x"), Record::Other(_)));
    }

    #[test]
    fn process_records_parse_and_make_a_table() {
        let line = "process pid=3 ppid=1 exit=0 user_ns=183000000 system_ns=16500000 voluntary=0 involuntary=20 syscalls=43187 faults=1 peak_kib=28 name=my%20prog";
        let Record::Process(record) = Record::parse(line) else { panic!("a process record") };
        assert_eq!(
            (record.pid, record.tid, record.ppid, record.end, record.involuntary),
            (3, 3, 1, ProgramEnd::Exited(0), 20)
        );
        let thread = Record::parse("process pid=3 tid=7 ppid=1 exit=0 user_ns=1 system_ns=1 voluntary=0 involuntary=0 syscalls=1 faults=0 peak_kib=4 name=worker");
        assert!(matches!(thread, Record::Process(ProcessRecord { pid: 3, tid: 7, .. })));
        assert_eq!(record.name, "my prog");
        let killed = Record::parse("process pid=2 ppid=1 signal=9 user_ns=1 system_ns=1 voluntary=0 involuntary=0 syscalls=1 faults=0 peak_kib=4 name=spin");
        assert!(matches!(killed, Record::Process(ProcessRecord { end: ProgramEnd::Signaled(9), .. })));
        assert!(matches!(Record::parse("process pid=2"), Record::Other(_)));
        let mut summary = Summary::default();
        summary.add(&Record::Process(record));
        let table = summary.process_table();
        assert!(
            table
                .lines()
                .nth(1)
                .is_some_and(|row| row.contains("my prog") && row.contains("exit 0") && row.contains("183.0")),
            "{table}"
        );
    }

    #[test]
    fn cpu_records_parse_and_make_a_table() {
        let line = "cpu id=1 busy_ns=900000000 idle_ns=100000000 switches=42 migrations=3";
        let record = CpuRecord { id: 1, busy_ns: 900_000_000, idle_ns: 100_000_000, switches: 42, migrations: 3 };
        assert_eq!(Record::parse(line), Record::Cpu(record));
        assert!(matches!(Record::parse("cpu id=1 busy_ns=1"), Record::Other(_)));
        assert!(matches!(Record::parse(&format!("{line} extra=1")), Record::Other(_)));
        let mut summary = Summary::default();
        assert_eq!(summary.cpu_table(), "");
        summary.add(&Record::Cpu(CpuRecord { id: 0, busy_ns: 500_000_000, idle_ns: 500_000_000, ..record }));
        assert_eq!(summary.cpu_table().lines().count(), 2, "one CPU: no totals");
        summary.add(&Record::Cpu(record));
        let table = summary.cpu_table();
        let rows: Vec<Vec<&str>> = table.lines().skip(1).map(|row| row.split_whitespace().collect()).collect();
        assert_eq!(rows[0], ["0", "500.0", "500.0", "50.0", "42", "3"]);
        assert_eq!(rows[1], ["1", "900.0", "100.0", "90.0", "42", "3"]);
        assert_eq!(rows[2], ["all", "1400.0", "600.0", "70.0", "84", "6"]);
    }

    #[test]
    fn trace_records_parse() {
        assert_eq!(
            Record::parse("trace ring=0x1f00000 events=65536\n"),
            Record::Trace(TraceRecord::Ring { physical: 0x1f0_0000, capacity: 65536 })
        );
        assert_eq!(
            Record::parse("trace events=123 dropped=4"),
            Record::Trace(TraceRecord::Totals { recorded: 123, dropped: 4 })
        );
        assert_eq!(Record::parse("trace unavailable"), Record::Trace(TraceRecord::Unavailable));
        for bad in [
            "trace",
            "trace ring=x events=1",
            "trace events=1",
            "trace ring=0x10 events=1 extra=2",
            "trace unavailable now",
        ] {
            assert!(matches!(Record::parse(bad), Record::Other(_)), "{bad}");
        }
        let mut summary = Summary::default();
        summary.add(&Record::parse("trace events=10 dropped=2"));
        assert_eq!(summary.trace_totals, Some((10, 2)));
    }

    #[test]
    fn deaths_and_unimplemented_calls_parse() {
        assert_eq!(
            Record::parse("killed signal=11 rip=4198902 addr=16\n"),
            Record::Killed(Death { signal: 11, cause: DeathCause::Fault { rip: 0x4011f6, address: Some(16) } })
        );
        assert_eq!(
            Record::parse("killed signal=11 rip=4198902"),
            Record::Killed(Death { signal: 11, cause: DeathCause::Fault { rip: 0x4011f6, address: None } })
        );
        assert_eq!(
            Record::parse("killed signal=15 sender=3"),
            Record::Killed(Death { signal: 15, cause: DeathCause::Sent { pid: 3 } })
        );
        assert_eq!(Record::parse("killed signal=9"), Record::Killed(Death { signal: 9, cause: DeathCause::Kernel }));
        assert_eq!(
            Record::parse("unimplemented pid=3 number=435 name=my%20prog"),
            Record::Unimplemented(UnimplementedCall { pid: 3, number: 435, name: "my prog".into() })
        );
        assert_eq!(
            Record::parse("unimplemented-total number=83 calls=7"),
            Record::UnimplementedTotal { number: 83, calls: 7 }
        );
        for bad in [
            "killed",
            "killed signal=0",
            "killed signal=11 addr=16",
            "killed signal=11 rip=1 sender=2",
            "killed signal=11 rip=1 bogus=2",
            "unimplemented pid=3 number=1",
            "unimplemented-total number=83",
            "unimplemented-total number=83 calls=1 more=2",
        ] {
            assert!(matches!(Record::parse(bad), Record::Other(_)), "{bad}");
        }
        let mut summary = Summary::default();
        for line in [
            "killed signal=11 rip=1",
            "killed signal=9",
            "unimplemented pid=1 number=2 name=a",
            "unimplemented-total number=2 calls=3",
        ] {
            summary.add(&Record::parse(line));
        }
        assert_eq!(summary.death, Some(Death { signal: 11, cause: DeathCause::Fault { rip: 1, address: None } }));
        assert_eq!(summary.unimplemented.len(), 1);
        assert_eq!(summary.unimplemented_totals, [(2, 3)]);
    }

    #[test]
    fn console_records_parse() {
        assert_eq!(
            Record::parse("console ring=0x1f3000 capacity=16384\n"),
            Record::Console { physical: 0x1f_3000, capacity: 16384 }
        );
        for bad in ["console ring=12 capacity=1", "console ring=0x10", "console ring=0x10 capacity=1 more"] {
            assert!(matches!(Record::parse(bad), Record::Other(_)), "{bad}");
        }
    }

    #[test]
    fn unknown_and_malformed_lines_are_other() {
        for line in [
            "",
            "trace 1 2 3",
            "exit",
            "exit 256",
            "exit -1",
            "exit 3 4",
            "signal 0",
            "signal x",
            "timeshare: hello",
            "EXIT 1",
        ] {
            assert!(matches!(Record::parse(line), Record::Other(_)), "{line:?}");
        }
    }

    #[test]
    fn summary_keeps_the_first_end_and_any_panic() {
        let mut s = Summary::default();
        for line in ["trace x", "exit 3", "signal 9", "exit 4"] {
            s.add(&Record::parse(line));
        }
        assert_eq!(
            s,
            Summary {
                end: Some(ProgramEnd::Exited(3)),
                panicked: false,
                ready: false,
                processes: Vec::new(),
                trace_totals: None,
                ..Summary::default()
            }
        );
        s.add(&Record::Panic);
        assert!(s.panicked);
        s.add(&Record::parse("copyout 0 end\n"));
        assert_eq!(s.copy_out, [kernel_core::copyout::Record { index: 0, item: kernel_core::copyout::Item::End }]);
    }
}
