//! The kernel log: text lines with a level, on their own channel to the host (never
//! mixed with the program's output). `error!`, `warn!`, `info!`, `debug!`, `trace!`
//! format into a fixed buffer, so logging works before the heap exists and cannot
//! fail for lack of memory.
//!
//! Each line is also kept, as Linux's printk records read, in `RECENT` (the most
//! recent 64 KiB) for syslog(2). Its lock is the innermost of all: held only to
//! copy bytes in or out, never while formatting, faulting or logging.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use kernel_core::klog::{LogRing, RecordPrefix};

use crate::arch::x86_64::debugcon::{self, Channel};
use crate::sync::{class, OrderedMutex};
pub use kernel_core::cmdline::LogLevel;

/// The kernel log syslog(2) reads (Linux's default `log_buf_len` is larger; 64 KiB
/// holds far more than a timeshare boot logs).
pub type RecentLog = LogRing<{ 64 * 1024 }>;

static RECENT: OrderedMutex<RecentLog> = OrderedMutex::new(class::KERNEL_LOG, RecentLog::new());

/// Runs `action` on the kept log under its lock; `action` must only copy.
pub fn with_recent<R>(action: impl FnOnce(&mut RecentLog) -> R) -> R {
    action(&mut RECENT.lock())
}

/// Linux's longest formatted record (`PRINTKRB_RECORD_MAX`, its prefix included);
/// longer lines are kept cut there, with their newline.
const RECORD_MAX: usize = 1024;

/// One record being formatted, cut at `RECORD_MAX` bytes.
struct RecordWriter {
    buffer: [u8; RECORD_MAX],
    length: usize,
}

impl Write for RecordWriter {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let room = (RECORD_MAX - 1 - self.length).min(text.len());
        self.buffer[self.length..self.length + room].copy_from_slice(&text.as_bytes()[..room]);
        self.length += room;
        Ok(())
    }
}

/// Keeps one line in `RECENT`, formatted first so the lock covers only the copy.
fn keep(level: LogLevel, args: fmt::Arguments) {
    let mut record = RecordWriter { buffer: [0; RECORD_MAX], length: 0 };
    let _ = write!(record, "{}{args}", RecordPrefix { level, uptime_ns: crate::time::monotonic_ns() });
    record.buffer[record.length] = b'\n';
    record.length += 1;
    if PANICKING.load(Ordering::Relaxed) {
        // The CPU that holds the lock may be the one that panicked, or another that
        // never lets go: the line is already on the log channel, so it is kept only
        // if the lock is free.
        if let Some(mut recent) = RECENT.try_lock() {
            recent.push(&record.buffer[..record.length]);
        }
        return;
    }
    RECENT.lock().push(&record.buffer[..record.length]);
}

/// Set when a CPU panics: from then on logging never waits for a lock.
static PANICKING: AtomicBool = AtomicBool::new(false);

/// Makes logging lock-free (a panic's report must print whatever another CPU holds).
pub fn start_panic() {
    PANICKING.store(true, Ordering::Relaxed);
}

/// Whether a CPU panicked: locks shared with the panic's report are no longer
/// waited for.
pub fn panicking() -> bool {
    PANICKING.load(Ordering::Relaxed)
}

static MAX_LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Info as u8);

/// Sets the most verbose level that is written.
pub fn set_level(level: LogLevel) {
    MAX_LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether messages at `level` are written.
pub fn enabled(level: LogLevel) -> bool {
    level as u8 <= MAX_LEVEL.load(Ordering::Relaxed)
}

/// A line buffer that writes to the log channel when full and when dropped.
struct LineWriter {
    buffer: [u8; 256],
    length: usize,
}

impl LineWriter {
    fn flush(&mut self) {
        debugcon::write(Channel::KernelLog, &self.buffer[..self.length]);
        self.length = 0;
    }
}

impl Write for LineWriter {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for &byte in text.as_bytes() {
            if self.length == self.buffer.len() {
                self.flush();
            }
            self.buffer[self.length] = byte;
            self.length += 1;
        }
        Ok(())
    }
}

/// Writes one log line (the macros call this).
pub fn write(level: LogLevel, args: fmt::Arguments) {
    if !enabled(level) {
        return;
    }
    let mut line = LineWriter { buffer: [0; 256], length: 0 };
    let tag = match level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
        LogLevel::Trace => "trace",
    };
    let _ =
        write!(line, "[{:>6}.{:03}] {tag}: {args}\n", crate::time::uptime_ms() / 1000, crate::time::uptime_ms() % 1000);
    line.flush();
    keep(level, args);
}

#[macro_export]
macro_rules! error { ($($arg:tt)*) => { $crate::log::write($crate::log::LogLevel::Error, format_args!($($arg)*)) } }
#[macro_export]
macro_rules! warn { ($($arg:tt)*) => { $crate::log::write($crate::log::LogLevel::Warn, format_args!($($arg)*)) } }
#[macro_export]
macro_rules! info { ($($arg:tt)*) => { $crate::log::write($crate::log::LogLevel::Info, format_args!($($arg)*)) } }
#[macro_export]
macro_rules! debug { ($($arg:tt)*) => { $crate::log::write($crate::log::LogLevel::Debug, format_args!($($arg)*)) } }
