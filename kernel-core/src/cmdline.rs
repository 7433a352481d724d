//! The kernel command line, parsed into typed options. The host CLI writes it
//! with `render` and the kernel reads it with `parse`, so the two always agree.
//!
//! Syntax: whitespace-separated words.
//! ```text
//! init=/bin/sh log=debug quantum_ms=5 sched=rr seed=42 trace=65536 env=HOME=/ env=TERM=vt100 -- -c echo%20hi
//! ```
//! - `key=value` options; each may appear once, except `env`, which adds one
//!   environment string per occurrence (`PATH=/bin` is the default when none is
//!   given). The bare word `noenv` starts init with an empty environment.
//! - After `--`, each word is one argument of init (argv[1..]).
//! - Values of `init` and `env` and the arguments after `--` are
//!   percent-encoded (see `encode_arg`), so any byte string fits in a word.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

/// Declares an enum of command-line keywords together with its word table, so
/// that adding a value is adding one line.
macro_rules! keyword_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$variant_meta:meta])* $variant:ident => $word:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// Every accepted word, in declaration order.
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            /// The word that names this value on the command line.
            pub fn word(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)+
                }
            }

            /// The value named by `word`, or `None` if no value has that name.
            pub fn from_word(word: &str) -> Option<Self> {
                match word {
                    $($word => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

keyword_enum! {
    /// How much the kernel logs; each level includes the ones before it, so
    /// `message_level <= configured_level` decides whether a message is shown.
    pub enum LogLevel {
        Error => "error",
        Warn => "warn",
        Info => "info",
        Debug => "debug",
        Trace => "trace",
    }
}

keyword_enum! {
    /// What the console's input is on the host, which decides what the program's
    /// standard input is: a terminal (line editing, echo, Ctrl-C, Ctrl-D as end of
    /// input) or a plain byte stream that ends when the host's input ends (a pipe or
    /// a file: no echo). Which descriptors are ttys is `ttys=`.
    pub enum ConsoleMode {
        Terminal => "tty",
        Stream => "pipe",
    }
}

keyword_enum! {
    /// A feature that is on or off.
    pub enum Switch {
        Off => "off",
        On => "on",
    }
}

keyword_enum! {
    /// A check the kernel makes on purpose right before the first process starts
    /// (`selftest=`): it does what must end the machine, so that a test can see the
    /// protection really holds (the CPU faults, the kernel reports it and fails),
    /// and that a kernel failure really fails the run.
    pub enum SelfTest {
        /// Panic at once.
        Panic => "panic",
        /// Read a user page from the kernel: SMAP must fault.
        Smap => "smap",
        /// Run a user page's code in the kernel: SMEP must fault.
        Smep => "smep",
        /// Run a kernel data page's bytes: NX must fault.
        Nx => "nx",
        /// Write the kernel's text: the page is read-only (CR0.WP), it must fault.
        Text => "text",
        /// Write the guard page below a kernel stack: it is unmapped, it must fault.
        Guard => "guard",
        /// Make CPU 1 panic while the boot CPU holds the kernel log's lock: the
        /// report must still print (the panic path never waits for a lock).
        ApPanic => "ap-panic",
        /// Once the first program runs, make every CPU but the boot CPU fail at
        /// the same moment (at a timer tick that interrupted a program): the
        /// first failure stops the machine, the others must not deadlock or
        /// print over it, and the boot CPU, running the program, is stopped too.
        PanicAll => "panic-all",
        /// The other CPUs read a user page in a loop (its translation cached) while
        /// the boot CPU gives it a new frame with a new value, over and over: after
        /// each change's TLB shootdown no CPU may read the old value.
        TlbShootdown => "tlb-shootdown",
        /// Take an address space's lock while holding the run queue's, against the
        /// lock order: a debug kernel's checker must stop it, naming both.
        LockOrder => "lock-order",
    }
}

keyword_enum! {
    /// The scheduling policy.
    pub enum SchedPolicy {
        /// Round robin: every runnable process gets one quantum in turn.
        RoundRobin => "rr",
        /// Multi-level feedback queue (OSTEP's five rules; `mlfq_*` options).
        Mlfq => "mlfq",
        /// Stride scheduling: deterministic proportional share by nice weight.
        Stride => "stride",
        /// Lottery scheduling: proportional share by a seeded draw of nice-weighted tickets.
        Lottery => "lottery",
        /// Virtual-runtime fair share (CFS-like), weighted by nice.
        Fair => "fair",
        /// Earliest eligible virtual deadline first (Linux 6.6's fair class).
        Eevdf => "eevdf",
    }
}

/// Everything the command line configures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelOptions {
    /// The absolute path of the first program.
    pub init: String,
    /// Its arguments after `argv[0]` (which is `init`).
    pub init_args: Vec<Vec<u8>>,
    /// Its environment strings.
    pub init_env: Vec<Vec<u8>>,
    pub log_level: LogLevel,
    /// The scheduling quantum, `QUANTUM_MS_RANGE`.
    pub quantum_ms: u32,
    pub sched: SchedPolicy,
    /// Seeds every pseudo-random choice, so runs are reproducible.
    pub seed: u64,
    /// Lottery: whether a task that blocked after a fraction f of its quantum
    /// holds 1/f times its tickets until it next wins (compensation tickets).
    pub lottery_compensation: Switch,
    pub console: ConsoleMode,
    /// Which of the first program's descriptors 0, 1 and 2 are a terminal (those
    /// of the host's that are one): `ttys=012`, `ttys=1`, `ttys=none`.
    pub terminal_fds: [bool; 3],
    /// The terminal's size at boot, the host terminal's (`winsize=COLSxROWS`).
    pub window: WindowSize,
    /// MLFQ: the number of priority levels, `MLFQ_LEVELS_RANGE`.
    pub mlfq_levels: u32,
    /// MLFQ: the quantum (= allotment) of each level in ms, top level first; the
    /// last one repeats for the levels below, extra ones are unused. 1 to
    /// `MLFQ_MAX_LEVELS` values, each in `QUANTUM_MS_RANGE`.
    pub mlfq_quanta_ms: Vec<u32>,
    /// MLFQ: the priority boost period in ms (0: never), up to `MLFQ_BOOST_MS_MAX`.
    pub mlfq_boost_ms: u32,
    /// The event trace's ring, in events (`TRACE_EVENTS_RANGE`, a power of two), or
    /// 0 for no trace (see `crate::trace`).
    pub trace_events: u32,
    /// How many system calls the LDE explanation follows (`crate::explain`'s records
    /// on the control channel), or 0 for no explanation at all.
    pub explain_syscalls: u32,
    /// Whether each process's accounting goes to the host when it exits (the
    /// `process` control records behind the demo's table and `--stats`).
    pub accounting: Switch,
    /// A self-test to fail on purpose before the first process (none normally).
    pub selftest: Option<SelfTest>,
    /// Paths sent back to the host at power-off (`crate::copyout`), in order.
    pub copy_out: Vec<Vec<u8>>,
    /// Pids are below this (Linux's /proc/sys/kernel/pid_max), then wrap.
    pub pid_max: u32,
}

/// A terminal's size in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSize {
    pub cols: u16,
    pub rows: u16,
}

/// The system call counts `explain` accepts (0: off).
pub const EXPLAIN_SYSCALLS_MAX: u32 = 1000;

/// The ring sizes `trace` accepts besides 0 (off).
pub const TRACE_EVENTS_RANGE: core::ops::RangeInclusive<u32> = crate::trace::MIN_CAPACITY..=crate::trace::MAX_CAPACITY;

/// The longest command line the kernel takes: QEMU's PVH loader copies it into a
/// 4096-byte buffer, NUL included (a longer one is cut, or overwrites the start
/// info). The first program's arguments therefore travel in the initrd
/// (`crate::bootargs`), which keeps the line this short.
pub const MAX_LEN: usize = 4095;

/// The quanta `quantum_ms` accepts.
pub const QUANTUM_MS_RANGE: core::ops::RangeInclusive<u32> = 1..=1000;
/// The most MLFQ levels.
pub const MLFQ_MAX_LEVELS: u32 = 16;
/// The MLFQ level counts `mlfq_levels` accepts.
pub const MLFQ_LEVELS_RANGE: core::ops::RangeInclusive<u32> = 1..=MLFQ_MAX_LEVELS;
/// The longest boost period `mlfq_boost_ms` accepts (one hour).
pub const MLFQ_BOOST_MS_MAX: u32 = 3_600_000;

impl Default for KernelOptions {
    /// The options of an empty command line.
    fn default() -> Self {
        Self {
            init: "/bin/init".to_string(),
            init_args: Vec::new(),
            init_env: vec![b"PATH=/bin".to_vec()],
            log_level: LogLevel::Info,
            quantum_ms: 10,
            sched: SchedPolicy::RoundRobin,
            seed: 1,
            lottery_compensation: Switch::On,
            console: ConsoleMode::Terminal,
            terminal_fds: [true; 3],
            window: WindowSize { cols: 80, rows: 24 },
            mlfq_levels: 3,
            mlfq_quanta_ms: vec![10, 20, 40],
            mlfq_boost_ms: 100,
            trace_events: 0,
            explain_syscalls: 0,
            accounting: Switch::Off,
            selftest: None,
            copy_out: Vec::new(),
            pid_max: crate::pids::PID_MAX_DEFAULT,
        }
    }
}

/// The word that makes the environment empty.
const NO_ENV: &str = "noenv";
/// Every option key.
const KEYS: [&str; 20] = [
    "init",
    "log",
    "quantum_ms",
    "sched",
    "seed",
    "lottery_compensation",
    "console",
    "ttys",
    "winsize",
    "trace",
    "explain",
    "accounting",
    "mlfq_levels",
    "mlfq_quanta_ms",
    "mlfq_boost_ms",
    "selftest",
    "env",
    NO_ENV,
    "copyout",
    "pid_max",
];
/// The word that ends the options; every later word is an argument of init.
const ARGS_SEPARATOR: &str = "--";
/// The encoding of an empty argument: `%` followed by a non-hex character, so it
/// cannot be confused with an escaped byte.
const EMPTY_ARG: &str = "%_";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CmdlineError {
    UnknownOption {
        word: String,
    },
    DuplicateOption {
        key: &'static str,
    },
    MissingValue {
        key: &'static str,
    },
    BadValue {
        key: &'static str,
        value: String,
        expected: String,
    },
    /// `noenv` together with `env=...`.
    ConflictingOptions {
        first: &'static str,
        second: &'static str,
    },
    BadEncoding {
        word: String,
    },
}

impl fmt::Display for CmdlineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownOption { word } => {
                write!(f, "unknown kernel option `{word}` (known: {})", KEYS.join(", "))
            }
            Self::DuplicateOption { key } => write!(f, "kernel option `{key}` given twice"),
            Self::MissingValue { key } => write!(f, "kernel option `{key}` needs a value: `{key}=...`"),
            Self::BadValue { key, value, expected } => {
                write!(f, "bad value `{value}` for {key}: expected {expected}")
            }
            Self::ConflictingOptions { first, second } => {
                write!(f, "kernel options `{first}` and `{second}` contradict each other")
            }
            Self::BadEncoding { word } => write!(
                f,
                "bad percent-encoding in `{word}`: `%` must be followed by two hex digits, or be the whole word `{EMPTY_ARG}`"
            ),
        }
    }
}

/// Parses a kernel command line. Unknown keys, repeated keys (other than `env`),
/// missing or malformed values and bad percent-encoding are errors naming the
/// offending word; an empty line gives `KernelOptions::default()`.
pub fn parse(cmdline: &str) -> Result<KernelOptions, CmdlineError> {
    let mut options = KernelOptions::default();
    let mut seen: Vec<&'static str> = Vec::new();
    let mut env: Option<Vec<Vec<u8>>> = None;
    let mut words = cmdline.split_ascii_whitespace();
    for word in words.by_ref() {
        if word == ARGS_SEPARATOR {
            break;
        }
        let (key, value) = match word.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (word, None),
        };
        let key = known_key(key).ok_or_else(|| CmdlineError::UnknownOption { word: word.to_string() })?;
        if key != "env" && key != "copyout" {
            if seen.contains(&key) {
                return Err(CmdlineError::DuplicateOption { key });
            }
            seen.push(key);
        }
        if key == NO_ENV {
            if let Some(value) = value {
                return Err(bad_value(key, value, "no value (a bare word)"));
            }
            if env.is_some() {
                return Err(CmdlineError::ConflictingOptions { first: "env", second: NO_ENV });
            }
            env = Some(Vec::new());
            continue;
        }
        let value = value.ok_or(CmdlineError::MissingValue { key })?;
        match key {
            "init" => options.init = parse_init(value)?,
            "log" => {
                options.log_level =
                    LogLevel::from_word(value).ok_or_else(|| bad_value(key, value, &one_of(LogLevel::WORDS)))?;
            }
            "quantum_ms" => {
                options.quantum_ms = parse_decimal(value)
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| QUANTUM_MS_RANGE.contains(n))
                    .ok_or_else(|| bad_value(key, value, "1..=1000"))?;
            }
            "sched" => {
                options.sched =
                    SchedPolicy::from_word(value).ok_or_else(|| bad_value(key, value, &one_of(SchedPolicy::WORDS)))?;
            }
            "pid_max" => {
                use crate::pids::{PID_MAX_LIMIT, PID_MAX_MIN};
                options.pid_max = parse_decimal(value)
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| (PID_MAX_MIN..=PID_MAX_LIMIT).contains(n))
                    .ok_or_else(|| bad_value(key, value, "301..=4194304"))?;
            }
            "seed" => {
                options.seed =
                    parse_decimal(value).ok_or_else(|| bad_value(key, value, "a decimal number up to 2^64-1"))?;
            }
            "console" => {
                options.console =
                    ConsoleMode::from_word(value).ok_or_else(|| bad_value(key, value, &one_of(ConsoleMode::WORDS)))?;
            }
            "ttys" => {
                options.terminal_fds = parse_terminal_fds(value)
                    .ok_or_else(|| bad_value(key, value, "some of 0, 1, 2 (as 012), or none"))?;
            }
            "winsize" => {
                options.window =
                    parse_window(value).ok_or_else(|| bad_value(key, value, "COLSxROWS, such as 80x24"))?;
            }
            "mlfq_levels" => {
                options.mlfq_levels = parse_decimal(value)
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| MLFQ_LEVELS_RANGE.contains(n))
                    .ok_or_else(|| bad_value(key, value, "1..=16"))?;
            }
            "mlfq_quanta_ms" => {
                options.mlfq_quanta_ms = parse_quanta(value).ok_or_else(|| {
                    bad_value(key, value, "1 to 16 comma-separated numbers in 1..=1000, such as 10,20,40")
                })?;
            }
            "mlfq_boost_ms" => {
                options.mlfq_boost_ms = parse_decimal(value)
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| *n <= MLFQ_BOOST_MS_MAX)
                    .ok_or_else(|| bad_value(key, value, "0..=3600000 (0: never)"))?;
            }
            "lottery_compensation" => {
                options.lottery_compensation =
                    Switch::from_word(value).ok_or_else(|| bad_value(key, value, &one_of(Switch::WORDS)))?;
            }
            "accounting" => {
                options.accounting =
                    Switch::from_word(value).ok_or_else(|| bad_value(key, value, &one_of(Switch::WORDS)))?;
            }
            "selftest" => {
                options.selftest =
                    Some(SelfTest::from_word(value).ok_or_else(|| bad_value(key, value, &one_of(SelfTest::WORDS)))?);
            }
            "trace" => {
                options.trace_events = parse_decimal(value)
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|&n| n == 0 || (TRACE_EVENTS_RANGE.contains(&n) && n.is_power_of_two()))
                    .ok_or_else(|| bad_value(key, value, "0 (off) or a power of two from 8 to 4194304"))?;
            }
            "explain" => {
                options.explain_syscalls = parse_decimal(value)
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|&n| n <= EXPLAIN_SYSCALLS_MAX)
                    .ok_or_else(|| bad_value(key, value, "0 (off) to 1000 system calls"))?;
            }
            "copyout" => options.copy_out.push(decode_arg(value)?),
            _ => {
                if seen.contains(&NO_ENV) {
                    return Err(CmdlineError::ConflictingOptions { first: NO_ENV, second: "env" });
                }
                env.get_or_insert_with(Vec::new).push(decode_arg(value)?);
            }
        }
    }
    if let Some(env) = env {
        options.init_env = env;
    }
    options.init_args = words.map(decode_arg).collect::<Result<_, _>>()?;
    Ok(options)
}

/// The static spelling of an option key, or `None` if it is not one.
fn known_key(key: &str) -> Option<&'static str> {
    KEYS.into_iter().find(|known| *known == key)
}

fn bad_value(key: &'static str, value: &str, expected: &str) -> CmdlineError {
    CmdlineError::BadValue { key, value: value.to_string(), expected: expected.to_string() }
}

/// "one of a, b, c": the expectation for a keyword value.
fn one_of(words: &[&str]) -> String {
    alloc::format!("one of {}", words.join(", "))
}

/// A decimal `u64` made of digits only (no sign, no spaces).
fn parse_decimal(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// A comma-separated list of 1 to `MLFQ_MAX_LEVELS` quanta in `QUANTUM_MS_RANGE`.
fn parse_quanta(value: &str) -> Option<Vec<u32>> {
    let quanta = value
        .split(',')
        .map(|part| parse_decimal(part).and_then(|n| u32::try_from(n).ok()).filter(|n| QUANTUM_MS_RANGE.contains(n)))
        .collect::<Option<Vec<u32>>>()?;
    (quanta.len() <= MLFQ_MAX_LEVELS as usize).then_some(quanta)
}

/// `012`, `1`, `02`, ... (ascending, each at most once), or `none`.
fn parse_terminal_fds(value: &str) -> Option<[bool; 3]> {
    let mut fds = [false; 3];
    if value == "none" {
        return Some(fds);
    }
    let mut last = None;
    for byte in value.bytes() {
        let fd = usize::from(byte.checked_sub(b'0')?);
        if fd > 2 || last.is_some_and(|last| fd <= last) {
            return None;
        }
        fds[fd] = true;
        last = Some(fd);
    }
    last.map(|_| fds)
}

fn render_terminal_fds(fds: [bool; 3]) -> String {
    let listed: String = (0..3).filter(|&fd| fds[fd]).map(|fd| char::from(b'0' + fd as u8)).collect();
    if listed.is_empty() {
        "none".to_string()
    } else {
        listed
    }
}

/// `COLSxROWS`, each a number up to 65535.
fn parse_window(value: &str) -> Option<WindowSize> {
    let (cols, rows) = value.split_once('x')?;
    let number = |text: &str| parse_decimal(text).and_then(|n| u16::try_from(n).ok());
    Some(WindowSize { cols: number(cols)?, rows: number(rows)? })
}

/// The init path: percent-decoded, UTF-8, absolute.
fn parse_init(value: &str) -> Result<String, CmdlineError> {
    let expected = "an absolute path such as /bin/init";
    let path = String::from_utf8(decode_arg(value)?).map_err(|_| bad_value("init", value, expected))?;
    if !path.starts_with('/') {
        return Err(bad_value("init", value, expected));
    }
    Ok(path)
}

/// Encodes a byte string as one command-line word: printable ASCII other than
/// `%` (0x21..=0x7e) stays as is, every other byte (whitespace, control bytes,
/// `%`, bytes >= 0x7f) becomes `%XX` with two uppercase hex digits, and the empty
/// string becomes `%_`. `decode_arg` inverts it exactly.
pub fn encode_arg(arg: &[u8]) -> String {
    let mut word = String::with_capacity(arg.len());
    encode_arg_into(arg, |piece| word.push_str(piece));
    word
}

/// `encode_arg` without allocating: hands the encoded word to `emit` piece by piece
/// (each piece one character or one `%XX`).
pub fn encode_arg_into(arg: &[u8], mut emit: impl FnMut(&str)) {
    if arg.is_empty() {
        emit(EMPTY_ARG);
        return;
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in arg {
        if (0x21..=0x7e).contains(&byte) && byte != b'%' {
            let single = [byte];
            emit(core::str::from_utf8(&single).unwrap_or("?"));
        } else {
            let escaped = [
                b'%',
                HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0'),
                HEX.get(usize::from(byte & 0xf)).copied().unwrap_or(b'0'),
            ];
            emit(core::str::from_utf8(&escaped).unwrap_or("?"));
        }
    }
}

/// Decodes one word written by `encode_arg`: `%XX` (either case) is the byte XX,
/// the whole word `%_` is the empty string, any other character stands for its
/// own UTF-8 bytes. Any other `%` is `BadEncoding`.
pub fn decode_arg(word: &str) -> Result<Vec<u8>, CmdlineError> {
    if word == EMPTY_ARG {
        return Ok(Vec::new());
    }
    let bad = || CmdlineError::BadEncoding { word: word.to_string() };
    let mut bytes = word.bytes();
    let mut decoded = Vec::with_capacity(word.len());
    while let Some(byte) = bytes.next() {
        if byte != b'%' {
            decoded.push(byte);
            continue;
        }
        let high = bytes.next().and_then(hex_value).ok_or_else(bad)?;
        let low = bytes.next().and_then(hex_value).ok_or_else(bad)?;
        decoded.push(high << 4 | low);
    }
    Ok(decoded)
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).and_then(|value| u8::try_from(value).ok())
}

/// `1,2,3`.
fn join_numbers(numbers: &[u32]) -> String {
    numbers.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

/// Writes `options` as a command line that `parse` turns back into the same
/// options (for every value `parse` can produce). All options are written out,
/// so the line documents the whole configuration.
pub fn render(options: &KernelOptions) -> String {
    let mut words: Vec<String> = vec![
        alloc::format!("init={}", encode_arg(options.init.as_bytes())),
        alloc::format!("log={}", options.log_level.word()),
        alloc::format!("quantum_ms={}", options.quantum_ms),
        alloc::format!("sched={}", options.sched.word()),
        alloc::format!("seed={}", options.seed),
        alloc::format!("lottery_compensation={}", options.lottery_compensation.word()),
        alloc::format!("console={}", options.console.word()),
        alloc::format!("ttys={}", render_terminal_fds(options.terminal_fds)),
        alloc::format!("winsize={}x{}", options.window.cols, options.window.rows),
        alloc::format!("mlfq_levels={}", options.mlfq_levels),
        alloc::format!("mlfq_quanta_ms={}", join_numbers(&options.mlfq_quanta_ms)),
        alloc::format!("mlfq_boost_ms={}", options.mlfq_boost_ms),
        alloc::format!("trace={}", options.trace_events),
        alloc::format!("accounting={}", options.accounting.word()),
        alloc::format!("pid_max={}", options.pid_max),
    ];
    if options.explain_syscalls != 0 {
        words.push(alloc::format!("explain={}", options.explain_syscalls));
    }
    if let Some(test) = options.selftest {
        words.push(alloc::format!("selftest={}", test.word()));
    }
    if options.init_env.is_empty() {
        words.push(NO_ENV.to_string());
    }
    words.extend(options.init_env.iter().map(|var| alloc::format!("env={}", encode_arg(var))));
    words.extend(options.copy_out.iter().map(|path| alloc::format!("copyout={}", encode_arg(path))));
    if !options.init_args.is_empty() {
        words.push(ARGS_SEPARATOR.to_string());
        words.extend(options.init_args.iter().map(|arg| encode_arg(arg)));
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Rng;

    #[test]
    fn empty_line_gives_defaults() {
        let options = parse("").unwrap();
        assert_eq!(options, KernelOptions::default());
        assert_eq!(options.init, "/bin/init");
        assert_eq!(options.init_env, [b"PATH=/bin".to_vec()]);
        assert_eq!(options.log_level, LogLevel::Info);
        assert_eq!(options.quantum_ms, 10);
        assert_eq!(options.sched, SchedPolicy::RoundRobin);
        assert_eq!(options.seed, 1);
        assert_eq!(parse(" \t\n ").unwrap(), KernelOptions::default());
    }

    #[test]
    fn every_option() {
        let line = "init=/bin/sh log=trace quantum_ms=1000 sched=rr seed=18446744073709551615 console=pipe \
                    ttys=1 winsize=132x50 trace=64 explain=3 accounting=on env=HOME=/ env=A%20B=c -- -c echo%20hi %_";
        let options = parse(line).unwrap();
        assert_eq!(
            options,
            KernelOptions {
                init: "/bin/sh".into(),
                init_args: vec![b"-c".to_vec(), b"echo hi".to_vec(), Vec::new()],
                init_env: vec![b"HOME=/".to_vec(), b"A B=c".to_vec()],
                log_level: LogLevel::Trace,
                quantum_ms: 1000,
                sched: SchedPolicy::RoundRobin,
                seed: u64::MAX,
                lottery_compensation: Switch::On,
                console: ConsoleMode::Stream,
                terminal_fds: [false, true, false],
                window: WindowSize { cols: 132, rows: 50 },
                trace_events: 64,
                explain_syscalls: 3,
                accounting: Switch::On,
                selftest: None,
                mlfq_levels: 3,
                mlfq_quanta_ms: vec![10, 20, 40],
                mlfq_boost_ms: 100,
                copy_out: Vec::new(),
                pid_max: 32_768,
            }
        );
    }

    #[test]
    fn terminal_fds_and_window_size() {
        assert_eq!(parse("ttys=02").unwrap().terminal_fds, [true, false, true]);
        assert_eq!(parse("ttys=none").unwrap().terminal_fds, [false; 3]);
        for bad in ["", "3", "10", "00", "0,1", "none1", "x"] {
            assert!(
                matches!(parse(&alloc::format!("ttys={bad}")), Err(CmdlineError::BadValue { key: "ttys", .. })),
                "{bad}"
            );
        }
        assert_eq!(parse("winsize=200x60").unwrap().window, WindowSize { cols: 200, rows: 60 });
        for bad in ["", "80", "80x", "x24", "65536x1", "80x24x1", "-1x2"] {
            assert!(
                matches!(parse(&alloc::format!("winsize={bad}")), Err(CmdlineError::BadValue { key: "winsize", .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn words_after_the_separator_are_arguments_even_if_they_look_like_options() {
        let options = parse("-- init=/x -- noenv").unwrap();
        assert_eq!(options.init, "/bin/init");
        assert_eq!(options.init_args, [b"init=/x".to_vec(), b"--".to_vec(), b"noenv".to_vec()]);
        assert!(parse("--").unwrap().init_args.is_empty());
    }

    #[test]
    fn log_levels_are_ordered_by_verbosity() {
        for (word, level) in [
            ("error", LogLevel::Error),
            ("warn", LogLevel::Warn),
            ("info", LogLevel::Info),
            ("debug", LogLevel::Debug),
            ("trace", LogLevel::Trace),
        ] {
            assert_eq!(parse(&alloc::format!("log={word}")).unwrap().log_level, level);
            assert_eq!(LogLevel::from_word(word), Some(level));
            assert_eq!(level.word(), word);
        }
        assert!(LogLevel::Error < LogLevel::Warn && LogLevel::Debug < LogLevel::Trace);
        assert_eq!(LogLevel::WORDS, ["error", "warn", "info", "debug", "trace"]);
        assert_eq!(LogLevel::from_word("INFO"), None);
    }

    #[test]
    fn unknown_options_name_the_word() {
        let error = parse("log=info foo").unwrap_err();
        assert_eq!(error, CmdlineError::UnknownOption { word: "foo".into() });
        assert_eq!(
            error.to_string(),
            "unknown kernel option `foo` (known: init, log, quantum_ms, sched, seed, lottery_compensation, console, ttys, winsize, trace, explain, accounting, mlfq_levels, mlfq_quanta_ms, mlfq_boost_ms, selftest, env, noenv, copyout, pid_max)"
        );
        assert!(matches!(parse("quantum=5"), Err(CmdlineError::UnknownOption { word }) if word == "quantum=5"));
        assert!(matches!(parse("=5"), Err(CmdlineError::UnknownOption { .. })));
        assert!(matches!(parse("-"), Err(CmdlineError::UnknownOption { .. })));
    }

    #[test]
    fn bad_values_name_the_value_and_the_expectation() {
        let error = parse("quantum_ms=abc").unwrap_err();
        assert_eq!(error.to_string(), "bad value `abc` for quantum_ms: expected 1..=1000");
        for bad in ["0", "1001", "-1", "+5", " ", "", "4294967306", "99999999999999999999999"] {
            let line = alloc::format!("quantum_ms={bad}");
            assert!(matches!(parse(&line), Err(CmdlineError::BadValue { key: "quantum_ms", .. })), "{line}");
        }
        assert_eq!(parse("quantum_ms=1").unwrap().quantum_ms, 1);
        assert_eq!(
            parse("log=loud").unwrap_err().to_string(),
            "bad value `loud` for log: expected one of error, warn, info, debug, trace"
        );
        assert_eq!(
            parse("sched=cfs").unwrap_err().to_string(),
            "bad value `cfs` for sched: expected one of rr, mlfq, stride, lottery, fair, eevdf"
        );
        assert!(matches!(parse("seed=0x10"), Err(CmdlineError::BadValue { key: "seed", .. })));
        assert_eq!(parse("pid_max=400").unwrap().pid_max, 400);
        assert_eq!(parse("").unwrap().pid_max, 32_768);
        assert!(matches!(parse("pid_max=300"), Err(CmdlineError::BadValue { key: "pid_max", .. })));
        assert!(matches!(parse("pid_max=4194305"), Err(CmdlineError::BadValue { key: "pid_max", .. })));
        assert!(matches!(parse("seed=18446744073709551616"), Err(CmdlineError::BadValue { .. })));
        assert!(matches!(parse("init=bin/sh"), Err(CmdlineError::BadValue { key: "init", .. })));
        assert!(matches!(parse("init=%_"), Err(CmdlineError::BadValue { key: "init", .. })));
        assert!(matches!(parse("init=/bin/%FF"), Err(CmdlineError::BadValue { key: "init", .. })));
        assert_eq!(parse("init=/my%20bin/x").unwrap().init, "/my bin/x");
    }

    #[test]
    fn trace_rings_are_off_or_a_power_of_two() {
        assert_eq!(parse("").unwrap().trace_events, 0);
        assert_eq!(parse("trace=0").unwrap().trace_events, 0);
        assert_eq!(parse("trace=8").unwrap().trace_events, 8);
        assert_eq!(parse("trace=4194304").unwrap().trace_events, 1 << 22);
        for bad in ["4", "12", "8388608", "-8", "x", "", "65536k"] {
            let line = alloc::format!("trace={bad}");
            assert!(matches!(parse(&line), Err(CmdlineError::BadValue { key: "trace", .. })), "{line}");
        }
    }

    #[test]
    fn explain_follows_up_to_a_thousand_calls() {
        assert_eq!(parse("").unwrap().explain_syscalls, 0);
        assert_eq!(parse("explain=3").unwrap().explain_syscalls, 3);
        assert_eq!(parse("explain=1000").unwrap().explain_syscalls, 1000);
        for bad in ["1001", "-1", "x", ""] {
            let line = alloc::format!("explain={bad}");
            assert!(matches!(parse(&line), Err(CmdlineError::BadValue { key: "explain", .. })), "{line}");
        }
    }

    #[test]
    fn scheduling_policies_and_their_knobs() {
        for (word, policy) in [
            ("rr", SchedPolicy::RoundRobin),
            ("mlfq", SchedPolicy::Mlfq),
            ("stride", SchedPolicy::Stride),
            ("lottery", SchedPolicy::Lottery),
            ("fair", SchedPolicy::Fair),
            ("eevdf", SchedPolicy::Eevdf),
        ] {
            assert_eq!(parse(&alloc::format!("sched={word}")).unwrap().sched, policy);
        }
        assert_eq!(parse("").unwrap().lottery_compensation, Switch::On);
        assert_eq!(parse("lottery_compensation=off").unwrap().lottery_compensation, Switch::Off);
        assert!(matches!(
            parse("lottery_compensation=no"),
            Err(CmdlineError::BadValue { key: "lottery_compensation", .. })
        ));
        let options = parse("sched=mlfq mlfq_levels=4 mlfq_quanta_ms=5,1000 mlfq_boost_ms=0").unwrap();
        assert_eq!((options.mlfq_levels, options.mlfq_boost_ms), (4, 0));
        assert_eq!(options.mlfq_quanta_ms, [5, 1000]);
        assert_eq!(parse("mlfq_boost_ms=3600000").unwrap().mlfq_boost_ms, MLFQ_BOOST_MS_MAX);
        let sixteen = alloc::format!("mlfq_quanta_ms={}", ["7"; 16].join(","));
        assert_eq!(parse(&sixteen).unwrap().mlfq_quanta_ms, [7; 16]);
        let seventeen = alloc::format!("mlfq_quanta_ms={}", ["7"; 17].join(","));
        for (key, bad) in [
            ("mlfq_levels", "mlfq_levels=0"),
            ("mlfq_levels", "mlfq_levels=17"),
            ("mlfq_levels", "mlfq_levels=x"),
            ("mlfq_quanta_ms", "mlfq_quanta_ms="),
            ("mlfq_quanta_ms", "mlfq_quanta_ms=10,"),
            ("mlfq_quanta_ms", "mlfq_quanta_ms=,10"),
            ("mlfq_quanta_ms", "mlfq_quanta_ms=0"),
            ("mlfq_quanta_ms", "mlfq_quanta_ms=10,1001"),
            ("mlfq_quanta_ms", "mlfq_quanta_ms=10;20"),
            ("mlfq_quanta_ms", seventeen.as_str()),
            ("mlfq_boost_ms", "mlfq_boost_ms=3600001"),
            ("mlfq_boost_ms", "mlfq_boost_ms=-1"),
        ] {
            assert!(matches!(parse(bad), Err(CmdlineError::BadValue { key: k, .. }) if k == key), "{bad}");
        }
    }

    #[test]
    fn duplicates_and_missing_values() {
        assert_eq!(parse("seed=1 seed=2"), Err(CmdlineError::DuplicateOption { key: "seed" }));
        assert_eq!(parse("noenv noenv"), Err(CmdlineError::DuplicateOption { key: "noenv" }));
        assert_eq!(parse("init"), Err(CmdlineError::MissingValue { key: "init" }));
        assert_eq!(parse("env"), Err(CmdlineError::MissingValue { key: "env" }));
        assert!(parse("seed=1 -- seed=2").is_ok());
        assert_eq!(CmdlineError::DuplicateOption { key: "seed" }.to_string(), "kernel option `seed` given twice");
    }

    #[test]
    fn environment_options() {
        assert_eq!(parse("env=A=1 env=A=1").unwrap().init_env, [b"A=1".to_vec(), b"A=1".to_vec()]);
        assert_eq!(parse("copyout=/tmp/a copyout=/b%20c").unwrap().copy_out, [b"/tmp/a".to_vec(), b"/b c".to_vec()]);
        assert_eq!(parse("env=%_").unwrap().init_env, [Vec::new()]);
        assert_eq!(parse("env=").unwrap().init_env, [Vec::new()], "an empty value is an empty string");
        assert!(parse("noenv").unwrap().init_env.is_empty());
        assert_eq!(parse("noenv env=A=1"), Err(CmdlineError::ConflictingOptions { first: "noenv", second: "env" }));
        assert_eq!(parse("env=A=1 noenv"), Err(CmdlineError::ConflictingOptions { first: "env", second: "noenv" }));
        assert_eq!(
            parse("env= noenv").unwrap_err().to_string(),
            "kernel options `env` and `noenv` contradict each other"
        );
        assert!(matches!(parse("noenv=1"), Err(CmdlineError::BadValue { key: "noenv", .. })));
    }

    #[test]
    fn encoding_examples() {
        assert_eq!(encode_arg(b"hello"), "hello");
        assert_eq!(encode_arg(b""), "%_");
        assert_eq!(encode_arg(b"a b\tc\n"), "a%20b%09c%0A");
        assert_eq!(encode_arg(b"100%"), "100%25");
        assert_eq!(encode_arg(&[0, 0x7f, 0x80, 0xff]), "%00%7F%80%FF");
        assert_eq!(encode_arg("é".as_bytes()), "%C3%A9");
        assert_eq!(encode_arg(b"%_"), "%25_");
        assert_eq!(encode_arg(b"!~=-"), "!~=-");
    }

    #[test]
    fn decoding_examples_and_errors() {
        assert_eq!(decode_arg("a%20b").unwrap(), b"a b");
        assert_eq!(decode_arg("%c3%A9").unwrap(), "é".as_bytes());
        assert_eq!(decode_arg("é").unwrap(), "é".as_bytes());
        assert_eq!(decode_arg("%_").unwrap(), b"");
        assert_eq!(decode_arg("").unwrap(), b"");
        for bad in ["%", "%2", "%zz", "%2g", "a%_", "%_a", "%%", "%é0", "100%"] {
            assert_eq!(decode_arg(bad), Err(CmdlineError::BadEncoding { word: bad.into() }), "{bad}");
        }
        assert!(matches!(parse("-- ok %4"), Err(CmdlineError::BadEncoding { word }) if word == "%4"));
        assert!(matches!(parse("env=%"), Err(CmdlineError::BadEncoding { .. })));
    }

    #[test]
    fn every_byte_string_round_trips() {
        for byte in 0..=255u8 {
            let arg = [byte, b'x', byte];
            let word = encode_arg(&arg);
            assert!(!word.contains(|c: char| c.is_ascii_whitespace()), "{word}");
            assert_eq!(decode_arg(&word).unwrap(), arg);
        }
        let mut rng = Rng::new(3);
        for _ in 0..2_000 {
            let arg: Vec<u8> = (0..rng.below(12)).map(|_| rng.next_u64() as u8).collect();
            let word = encode_arg(&arg);
            assert_eq!(decode_arg(&word).unwrap(), arg);
            assert_eq!(word.split_ascii_whitespace().count(), 1);
        }
    }

    #[test]
    fn render_then_parse_is_identity() {
        let mut cases = vec![
            KernelOptions::default(),
            KernelOptions { init_env: Vec::new(), ..KernelOptions::default() },
            KernelOptions {
                init: "/bin/with space/%sh".into(),
                init_args: vec![Vec::new(), b"--".to_vec(), b"noenv".to_vec(), vec![0, 0xff, b' ']],
                init_env: vec![Vec::new(), b"X= y".to_vec()],
                log_level: LogLevel::Error,
                quantum_ms: 1,
                sched: SchedPolicy::RoundRobin,
                seed: 0,
                lottery_compensation: Switch::Off,
                console: ConsoleMode::Stream,
                terminal_fds: [false; 3],
                window: WindowSize { cols: 0, rows: 65535 },
                trace_events: 1 << 22,
                explain_syscalls: EXPLAIN_SYSCALLS_MAX,
                accounting: Switch::Off,
                selftest: Some(SelfTest::Guard),
                mlfq_levels: 16,
                mlfq_quanta_ms: vec![1],
                mlfq_boost_ms: 0,
                copy_out: vec![b"/tmp/out dir".to_vec(), Vec::new()],
                pid_max: crate::pids::PID_MAX_MIN,
            },
        ];
        let mut rng = Rng::new(5);
        for _ in 0..500 {
            let random_bytes = |rng: &mut Rng| (0..rng.below(6)).map(|_| rng.next_u64() as u8).collect::<Vec<u8>>();
            cases.push(KernelOptions {
                init: alloc::format!("/{}", rng.next_u64()),
                init_args: (0..rng.below(4)).map(|_| random_bytes(&mut rng)).collect(),
                init_env: (0..rng.below(4)).map(|_| random_bytes(&mut rng)).collect(),
                log_level: LogLevel::from_word(LogLevel::WORDS[rng.below(5) as usize]).unwrap(),
                quantum_ms: 1 + rng.below(1000) as u32,
                sched: SchedPolicy::from_word(SchedPolicy::WORDS[rng.below(6) as usize]).unwrap(),
                seed: rng.next_u64(),
                lottery_compensation: Switch::from_word(Switch::WORDS[rng.below(2) as usize]).unwrap(),
                console: ConsoleMode::from_word(ConsoleMode::WORDS[rng.below(2) as usize]).unwrap(),
                terminal_fds: [rng.below(2) == 0, rng.below(2) == 0, rng.below(2) == 0],
                window: WindowSize { cols: rng.next_u64() as u16, rows: rng.next_u64() as u16 },
                trace_events: if rng.below(2) == 0 { 0 } else { 8 << rng.below(20) },
                explain_syscalls: rng.below(u64::from(EXPLAIN_SYSCALLS_MAX) + 1) as u32,
                accounting: Switch::from_word(Switch::WORDS[rng.below(2) as usize]).unwrap(),
                selftest: match rng.below(SelfTest::WORDS.len() as u64 + 1) as usize {
                    0 => None,
                    n => SelfTest::from_word(SelfTest::WORDS[n - 1]),
                },
                mlfq_levels: 1 + rng.below(16) as u32,
                mlfq_quanta_ms: (0..1 + rng.below(16)).map(|_| 1 + rng.below(1000) as u32).collect(),
                mlfq_boost_ms: rng.below(u64::from(MLFQ_BOOST_MS_MAX) + 1) as u32,
                copy_out: (0..rng.below(3)).map(|_| random_bytes(&mut rng)).collect(),
                pid_max: crate::pids::PID_MAX_MIN
                    + rng.below(u64::from(crate::pids::PID_MAX_LIMIT - crate::pids::PID_MAX_MIN) + 1) as u32,
            });
        }
        for options in cases {
            let line = render(&options);
            assert_eq!(parse(&line).as_ref(), Ok(&options), "{line}");
        }
        assert_eq!(
            render(&KernelOptions::default()),
            "init=/bin/init log=info quantum_ms=10 sched=rr seed=1 lottery_compensation=on console=tty ttys=012 winsize=80x24 mlfq_levels=3 mlfq_quanta_ms=10,20,40 mlfq_boost_ms=100 trace=0 accounting=off pid_max=32768 env=PATH=/bin"
        );
    }

    #[test]
    fn hostile_lines_never_panic() {
        let alphabet = ["=", "%", "--", " ", "env", "noenv", "init", "/", "%_", "é", "\t", "seed", "9", "%4", "log"];
        let mut rng = Rng::new(11);
        for _ in 0..20_000 {
            let line: String =
                (0..rng.below(10)).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect();
            let _ = parse(&line);
            let _ = decode_arg(&line);
        }
    }
}
