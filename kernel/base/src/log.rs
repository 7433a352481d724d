//! The kernel log: text lines with a level, on their own channel to the host (never
//! mixed with the program's output). `error!`, `warn!`, `info!`, `debug!`, `trace!`
//! format into a fixed buffer, so logging works before the heap exists and cannot
//! fail for lack of memory.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU8, Ordering};

use crate::arch::x86_64::debugcon::{self, Channel};
pub use kernel_core::cmdline::LogLevel;

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
}

#[macro_export]
macro_rules! error { ($($arg:tt)*) => { $crate::log::write($crate::log::LogLevel::Error, format_args!($($arg)*)) } }
#[macro_export]
macro_rules! info { ($($arg:tt)*) => { $crate::log::write($crate::log::LogLevel::Info, format_args!($($arg)*)) } }
#[macro_export]
macro_rules! debug { ($($arg:tt)*) => { $crate::log::write($crate::log::LogLevel::Debug, format_args!($($arg)*)) } }
