//! The kernel log as syslog(2) shows it: the most recent lines in a ring that
//! forgets the oldest whole lines first, each line prefixed as Linux's printk
//! records are read (`<6>[    1.234567] text`), and the decoding of a syslog call's
//! action and arguments, as Linux's `do_syslog` checks them.

use core::fmt;

use crate::abi::errno::EINVAL;
use crate::cmdline::LogLevel;

/// Linux's `KERN_*` level number of a log level (the kernel facility is 0, so
/// this is the whole `<N>` of a record).
pub fn syslog_level(level: LogLevel) -> u8 {
    match level {
        LogLevel::Error => 3,
        LogLevel::Warn => 4,
        LogLevel::Info => 6,
        LogLevel::Debug | LogLevel::Trace => 7,
    }
}

/// The start of a record's text as READ_ALL shows it: `<level>[seconds.micros] `,
/// the seconds right-aligned in five columns (BusyBox's dmesg strips the `<level>`).
pub struct RecordPrefix {
    pub level: LogLevel,
    pub uptime_ns: u64,
}

impl fmt::Display for RecordPrefix {
    fn fmt(&self, out: &mut fmt::Formatter) -> fmt::Result {
        let micros = self.uptime_ns / 1000;
        write!(out, "<{}>[{:5}.{:06}] ", syslog_level(self.level), micros / 1_000_000, micros % 1_000_000)
    }
}

/// The most recent `N` bytes of log text, in whole lines. Offsets count every
/// byte ever pushed, so the readers' positions stay meaningful as the ring turns.
pub struct LogRing<const N: usize> {
    bytes: [u8; N],
    /// The first byte still kept: always a line's start.
    oldest: u64,
    /// One past the newest byte.
    end: u64,
    /// Where READ_ALL starts: CLEAR and READ_CLEAR move it to the end.
    cleared: u64,
    /// Where the consuming READ goes on.
    unread: u64,
}

impl<const N: usize> Default for LogRing<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> LogRing<N> {
    pub const CAPACITY: usize = N;

    pub const fn new() -> Self {
        Self { bytes: [0; N], oldest: 0, end: 0, cleared: 0, unread: 0 }
    }

    fn index(offset: u64) -> usize {
        (offset % N as u64) as usize
    }

    /// The offset just past the first newline at or after `from` (the end if none).
    fn next_line(&self, from: u64) -> u64 {
        (from..self.end).find(|&at| self.bytes[Self::index(at)] == b'\n').map_or(self.end, |at| at + 1)
    }

    /// Appends text (whole lines, ending in a newline), forgetting the oldest lines
    /// it needs room for. A line longer than the ring keeps its end.
    pub fn push(&mut self, text: &[u8]) {
        let text = &text[text.len().saturating_sub(N)..];
        while self.end + text.len() as u64 - self.oldest > N as u64 {
            self.oldest = self.next_line(self.oldest);
        }
        let start = Self::index(self.end);
        let first = text.len().min(N - start);
        self.bytes[start..start + first].copy_from_slice(&text[..first]);
        self.bytes[..text.len() - first].copy_from_slice(&text[first..]);
        self.end += text.len() as u64;
    }

    /// Copies the kept bytes `[from, to)` into the start of `out`.
    fn copy(&self, from: u64, to: u64, out: &mut [u8]) -> usize {
        let length = (to - from) as usize;
        let start = Self::index(from);
        let first = length.min(N - start);
        out[..first].copy_from_slice(&self.bytes[start..start + first]);
        out[first..length].copy_from_slice(&self.bytes[..length - first]);
        length
    }

    /// READ_ALL (and READ_CLEAR with `clear`): the most recent whole lines since the
    /// last clear that fit in `out`, without consuming them.
    pub fn read_all(&mut self, out: &mut [u8], clear: bool) -> usize {
        let mut from = self.cleared.max(self.oldest);
        while self.end - from > out.len() as u64 {
            from = self.next_line(from);
        }
        let length = self.copy(from, self.end, out);
        if clear {
            self.cleared = self.end;
        }
        length
    }

    /// READ: the oldest unread whole lines that fit in `out` (part of the first one
    /// when even it does not fit), which are then read.
    pub fn read_unread(&mut self, out: &mut [u8]) -> usize {
        let from = self.unread.max(self.oldest);
        let mut to = from;
        loop {
            let next = self.next_line(to);
            if next == to || next - from > out.len() as u64 {
                break;
            }
            to = next;
        }
        if to == from {
            to = from + (self.end - from).min(out.len() as u64);
        }
        self.unread = to;
        self.copy(from, to, out)
    }

    /// CLEAR: READ_ALL shows only what is logged from now on.
    pub fn clear(&mut self) {
        self.cleared = self.end;
    }

    /// The bytes kept (READ_ALL never returns more).
    pub fn len(&self) -> usize {
        (self.end - self.oldest) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.oldest
    }

    /// SIZE_UNREAD: the bytes READ has yet to return.
    pub fn unread_len(&self) -> usize {
        (self.end - self.unread.max(self.oldest)) as usize
    }
}

/// One syslog(2) call, its arguments checked as Linux checks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyslogRequest {
    /// CLOSE, OPEN, CONSOLE_OFF, CONSOLE_ON and a valid CONSOLE_LEVEL: 0, nothing
    /// else (timeshare's log goes to its own channel, never to the console).
    Nothing,
    /// READ: up to `length` unread bytes, consumed.
    Read {
        buffer: u64,
        length: usize,
    },
    /// READ_ALL, or READ_CLEAR with `clear`.
    ReadAll {
        buffer: u64,
        length: usize,
        clear: bool,
    },
    Clear,
    SizeUnread,
    SizeBuffer,
}

impl SyslogRequest {
    /// Decodes `syslog(kind, buffer, length)` (both `kind` and `length` are C ints).
    pub fn decode(kind: u64, buffer: u64, length: u64) -> Result<Self, i64> {
        let length = length as i32;
        let read_length = || if buffer == 0 || length < 0 { Err(EINVAL) } else { Ok(length as usize) };
        Ok(match kind as i32 {
            0 | 1 | 6 | 7 => Self::Nothing,
            2 => Self::Read { buffer, length: read_length()? },
            3 | 4 => Self::ReadAll { buffer, length: read_length()?, clear: kind as i32 == 4 },
            5 => Self::Clear,
            8 if (1..=8).contains(&length) => Self::Nothing,
            9 => Self::SizeUnread,
            10 => Self::SizeBuffer,
            _ => return Err(EINVAL),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec;

    fn read_all<const N: usize>(ring: &mut LogRing<N>, length: usize) -> std::string::String {
        let mut out = vec![0; length];
        let got = ring.read_all(&mut out, false);
        std::string::String::from_utf8(out[..got].to_vec()).unwrap()
    }

    #[test]
    fn the_prefix_is_linuxs_record_prefix() {
        let prefix = RecordPrefix { level: LogLevel::Info, uptime_ns: 1_234_567_890 };
        assert_eq!(format!("{prefix}"), "<6>[    1.234567] ");
        let prefix = RecordPrefix { level: LogLevel::Error, uptime_ns: 123_456_000_001_000 };
        assert_eq!(format!("{prefix}"), "<3>[123456.000001] ");
        assert_eq!(syslog_level(LogLevel::Warn), 4);
        assert_eq!(syslog_level(LogLevel::Trace), 7);
    }

    #[test]
    fn the_ring_forgets_the_oldest_whole_lines() {
        let mut ring = LogRing::<16>::new();
        ring.push(b"one\n");
        ring.push(b"two\n");
        ring.push(b"three\n");
        assert_eq!(read_all(&mut ring, 64), "one\ntwo\nthree\n");
        ring.push(b"four\n");
        assert_eq!(read_all(&mut ring, 64), "two\nthree\nfour\n");
        assert_eq!(ring.len(), 15);
        ring.push(b"a line too long for it\n");
        assert_eq!(read_all(&mut ring, 64), "too long for it\n");
    }

    #[test]
    fn read_all_returns_the_newest_lines_that_fit_and_can_clear() {
        let mut ring = LogRing::<64>::new();
        for line in ["first\n", "second\n", "third\n"] {
            ring.push(line.as_bytes());
        }
        assert_eq!(read_all(&mut ring, 12), "third\n");
        assert_eq!(read_all(&mut ring, 13), "second\nthird\n");
        assert_eq!(read_all(&mut ring, 3), "");
        let mut out = [0; 64];
        assert_eq!(ring.read_all(&mut out, true), 19);
        assert_eq!(read_all(&mut ring, 64), "");
        ring.push(b"fourth\n");
        assert_eq!(read_all(&mut ring, 64), "fourth\n");
        ring.push(b"fifth\n");
        ring.clear();
        assert_eq!(read_all(&mut ring, 64), "");
    }

    #[test]
    fn read_consumes_whole_lines_and_size_unread_follows() {
        let mut ring = LogRing::<64>::new();
        ring.push(b"alpha\n");
        ring.push(b"beta\n");
        assert_eq!(ring.unread_len(), 11);
        let mut out = [0; 8];
        assert_eq!(ring.read_unread(&mut out), 6);
        assert_eq!(&out[..6], b"alpha\n");
        assert_eq!(ring.unread_len(), 5);
        ring.clear();
        assert_eq!(ring.unread_len(), 5, "CLEAR leaves READ's position alone, as on Linux");
        let mut small = [0; 3];
        assert_eq!(ring.read_unread(&mut small), 3, "a line longer than the buffer comes in parts");
        assert_eq!(&small, b"bet");
        assert_eq!(ring.read_unread(&mut out), 2);
        assert_eq!(ring.read_unread(&mut out), 0);
        assert_eq!(ring.unread_len(), 0);
    }

    #[test]
    fn syslog_arguments_are_checked_as_linux_checks_them() {
        use SyslogRequest::*;
        assert_eq!(SyslogRequest::decode(0, 0, 0), Ok(Nothing));
        assert_eq!(SyslogRequest::decode(1, 0, 0), Ok(Nothing));
        assert_eq!(SyslogRequest::decode(2, 0x1000, 5), Ok(Read { buffer: 0x1000, length: 5 }));
        assert_eq!(SyslogRequest::decode(3, 0x1000, 0), Ok(ReadAll { buffer: 0x1000, length: 0, clear: false }));
        assert_eq!(SyslogRequest::decode(4, 0x1000, 9), Ok(ReadAll { buffer: 0x1000, length: 9, clear: true }));
        for kind in [2, 3, 4] {
            assert_eq!(SyslogRequest::decode(kind, 0, 10), Err(EINVAL), "NULL buffer");
            assert_eq!(SyslogRequest::decode(kind, 0, 0), Err(EINVAL), "NULL buffer, no length");
            assert_eq!(SyslogRequest::decode(kind, 0x1000, (-1i64) as u64), Err(EINVAL), "negative length");
        }
        assert_eq!(SyslogRequest::decode(5, 0, 0), Ok(Clear));
        assert_eq!(SyslogRequest::decode(8, 0, 1), Ok(Nothing));
        assert_eq!(SyslogRequest::decode(8, 0, 8), Ok(Nothing));
        assert_eq!(SyslogRequest::decode(8, 0, 0), Err(EINVAL));
        assert_eq!(SyslogRequest::decode(8, 0, 9), Err(EINVAL));
        assert_eq!(SyslogRequest::decode(9, 0, 0), Ok(SizeUnread));
        assert_eq!(SyslogRequest::decode(10, 0, 0), Ok(SizeBuffer));
        assert_eq!(SyslogRequest::decode(11, 0, 0), Err(EINVAL));
        assert_eq!(SyslogRequest::decode((-1i64) as u64, 0, 0), Err(EINVAL));
        assert_eq!(SyslogRequest::decode(1 << 32 | 10, 0, 0), Ok(SizeBuffer), "the action is a C int");
    }
}
