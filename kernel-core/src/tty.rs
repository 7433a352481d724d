//! The terminal line discipline: what stands between the keys typed on a console and
//! the bytes a program reads from it (termios(3)). In canonical mode input is edited
//! a line at a time (erase, kill, word erase) and handed over at the end of a line or
//! on the EOF character; with ECHO the typed characters are echoed; with ISIG the
//! interrupt, quit and suspend characters become signals for the foreground process
//! group. In non-canonical ("raw") mode bytes pass straight through.
//!
//! Output is not post-processed (no ONLCR): the host's terminal does that, and the
//! program's stdout must reach the host byte for byte.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::abi::signal::{SIGINT, SIGQUIT, SIGTSTP};
use crate::abi::{
    Termios, ECHO, ECHOCTL, ECHOE, ECHOK, ECHONL, ICANON, ICRNL, IGNCR, INLCR, ISIG, NOFLSH, VEOF, VERASE, VINTR,
    VKILL, VMIN, VQUIT, VSUSP, VWERASE,
};

/// Ctrl-P: with ISIG on, asks the console for the process table (as in xv6; Linux
/// has no such key, BSD's is Ctrl-T).
pub const PROCESS_TABLE_KEY: u8 = 0x10;

/// Bytes a canonical line may hold (Linux's N_TTY_BUF_SIZE); further input is dropped.
pub const MAX_LINE: usize = 4096;
/// Bytes of unread input kept in total.
const MAX_PENDING: usize = 64 * 1024;
const BACKSPACE: u8 = 0x08;
const DELETE: u8 = 0x7f;

/// What a read may return.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReadOutcome {
    /// This many bytes were copied.
    Data(usize),
    /// End of file: EOF typed at the start of a line.
    EndOfFile,
    /// Nothing available yet: the reader must wait (or EAGAIN if non-blocking).
    Empty,
}

/// One unit of input ready for reading.
#[derive(Clone, PartialEq, Eq, Debug)]
enum Ready {
    /// A finished line (with its newline, unless it was ended by EOF), or, in
    /// non-canonical mode, bytes as they came.
    Bytes(Vec<u8>),
    EndOfFile,
}

/// The state of one terminal's input side.
#[derive(Clone, Debug)]
pub struct LineDiscipline {
    settings: Termios,
    /// The line being edited (canonical mode).
    line: Vec<u8>,
    ready: VecDeque<Ready>,
    pending_bytes: usize,
}

impl Default for LineDiscipline {
    fn default() -> Self {
        Self::new(Termios::default())
    }
}

impl LineDiscipline {
    pub fn new(settings: Termios) -> Self {
        Self { settings, line: Vec::new(), ready: VecDeque::new(), pending_bytes: 0 }
    }

    pub fn settings(&self) -> Termios {
        self.settings
    }

    /// Applies new settings (TCSETS). Leaving canonical mode hands over the line
    /// being edited, as Linux does; `flush` (TCSETSF) discards all pending input.
    pub fn set_settings(&mut self, settings: Termios, flush: bool) {
        let was_canonical = self.canonical();
        self.settings = settings;
        if flush {
            self.flush();
        } else if was_canonical && !self.canonical() && !self.line.is_empty() {
            let line = core::mem::take(&mut self.line);
            self.push_ready(line);
        }
    }

    fn flag(&self, lflag: u32) -> bool {
        self.settings.lflag & lflag != 0
    }

    fn canonical(&self) -> bool {
        self.flag(ICANON)
    }

    fn control(&self, index: usize) -> Option<u8> {
        self.settings.cc.get(index).copied().filter(|&c| c != 0)
    }

    /// Discards the line being edited and everything unread.
    pub fn flush(&mut self) {
        self.line.clear();
        self.ready.clear();
        self.pending_bytes = 0;
    }

    fn push_ready(&mut self, bytes: Vec<u8>) {
        self.pending_bytes = self.pending_bytes.saturating_add(bytes.len());
        self.ready.push_back(Ready::Bytes(bytes));
    }

    /// Whether a read would return something now (data or end of file).
    pub fn readable(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Bytes a read could return now (FIONREAD).
    pub fn unread_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Whether `byte` is the process-table key (`PROCESS_TABLE_KEY` while ISIG is
    /// on): the console then prints the table instead of passing the byte on.
    pub fn is_process_table_key(&self, byte: u8) -> bool {
        byte == PROCESS_TABLE_KEY && self.flag(ISIG)
    }

    /// Takes one received byte. Echo goes to `echo`; returns a signal the
    /// foreground process group must receive (ISIG), if the byte was one.
    pub fn receive(&mut self, byte: u8, echo: &mut Vec<u8>) -> Option<u8> {
        let iflag = self.settings.iflag;
        let byte = match byte {
            b'\r' if iflag & IGNCR != 0 => return None,
            b'\r' if iflag & ICRNL != 0 => b'\n',
            b'\n' if iflag & INLCR != 0 => b'\r',
            other => other,
        };
        if self.flag(ISIG) {
            let signal = [(VINTR, SIGINT), (VQUIT, SIGQUIT), (VSUSP, SIGTSTP)]
                .into_iter()
                .find(|&(index, _)| self.control(index) == Some(byte))
                .map(|(_, signal)| signal);
            if let Some(signal) = signal {
                if !self.flag(NOFLSH) {
                    self.flush();
                }
                self.echo_char(byte, echo);
                return Some(signal);
            }
        }
        if !self.canonical() {
            if self.pending_bytes < MAX_PENDING {
                self.push_ready(alloc::vec![byte]);
            }
            self.echo_char(byte, echo);
            return None;
        }
        if self.control(VERASE) == Some(byte) || (byte == BACKSPACE && self.control(VERASE) == Some(DELETE)) {
            if self.line.pop().is_some() {
                self.echo_erase(echo, 1);
            }
        } else if self.control(VWERASE) == Some(byte) {
            let keep = self.line.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(0, |end| {
                self.line[..end].iter().rposition(|c| c.is_ascii_whitespace()).map_or(0, |space| space + 1)
            });
            let erased = self.line.len() - keep;
            self.line.truncate(keep);
            self.echo_erase(echo, erased);
        } else if self.control(VKILL) == Some(byte) {
            let erased = self.line.len();
            self.line.clear();
            if self.flag(ECHOK) && !self.flag(ECHOE) {
                self.echo_char(byte, echo);
                if self.flag(ECHO) {
                    echo.push(b'\n');
                }
            } else {
                self.echo_erase(echo, erased);
            }
        } else if self.control(VEOF) == Some(byte) {
            let line = core::mem::take(&mut self.line);
            if line.is_empty() {
                self.ready.push_back(Ready::EndOfFile);
            } else {
                self.push_ready(line);
            }
        } else if byte == b'\n' {
            let mut line = core::mem::take(&mut self.line);
            line.push(b'\n');
            self.push_ready(line);
            if self.flag(ECHO) || self.flag(ECHONL) {
                echo.push(b'\n');
            }
        } else if self.line.len() < MAX_LINE - 1 {
            self.line.push(byte);
            self.echo_char(byte, echo);
        }
        None
    }

    /// Echoes one typed character: control characters as `^X` with ECHOCTL.
    fn echo_char(&self, byte: u8, echo: &mut Vec<u8>) {
        if !self.flag(ECHO) {
            return;
        }
        if byte < 0x20 && byte != b'\t' && byte != b'\n' && self.flag(ECHOCTL) {
            echo.extend_from_slice(&[b'^', byte + 0x40]);
        } else if byte == DELETE && self.flag(ECHOCTL) {
            echo.extend_from_slice(b"^?");
        } else {
            echo.push(byte);
        }
    }

    /// Erases `count` characters on the screen (backspace, space, backspace).
    fn echo_erase(&self, echo: &mut Vec<u8>, count: usize) {
        if self.flag(ECHO) && self.flag(ECHOE) {
            for _ in 0..count {
                echo.extend_from_slice(b"\x08 \x08");
            }
        }
    }

    /// Reads into `buffer`: in canonical mode at most one line; in non-canonical
    /// mode whatever is there (VMIN 0 makes an empty read return 0 bytes at once).
    pub fn read(&mut self, buffer: &mut [u8]) -> ReadOutcome {
        if buffer.is_empty() {
            return ReadOutcome::Data(0);
        }
        if !self.canonical() {
            if self.ready.is_empty() && self.control(VMIN).is_none() {
                return ReadOutcome::Data(0);
            }
            let mut copied = 0;
            while copied < buffer.len() {
                let Some(Ready::Bytes(bytes)) = self.ready.front_mut() else { break };
                copied += take_bytes(bytes, &mut buffer[copied..]);
                if bytes.is_empty() {
                    self.ready.pop_front();
                }
            }
            self.pending_bytes -= copied;
            return if copied == 0 { ReadOutcome::Empty } else { ReadOutcome::Data(copied) };
        }
        match self.ready.front_mut() {
            None => ReadOutcome::Empty,
            Some(Ready::EndOfFile) => {
                self.ready.pop_front();
                ReadOutcome::EndOfFile
            }
            Some(Ready::Bytes(bytes)) => {
                let copied = take_bytes(bytes, buffer);
                if bytes.is_empty() {
                    self.ready.pop_front();
                }
                self.pending_bytes -= copied;
                ReadOutcome::Data(copied)
            }
        }
    }
}

/// Moves the first bytes of `from` into `to`, returning how many.
fn take_bytes(from: &mut Vec<u8>, to: &mut [u8]) -> usize {
    let count = from.len().min(to.len());
    to[..count].copy_from_slice(&from[..count]);
    from.drain(..count);
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::Termios;
    use std::vec::Vec;

    /// Types `input`, returning (echo, signals).
    fn type_in(tty: &mut LineDiscipline, input: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut echo = Vec::new();
        let signals = input.iter().filter_map(|&byte| tty.receive(byte, &mut echo)).collect();
        (echo, signals)
    }

    fn read_all(tty: &mut LineDiscipline) -> Vec<ReadOutcome> {
        let mut outcomes = Vec::new();
        loop {
            let mut buffer = [0u8; 64];
            match tty.read(&mut buffer) {
                ReadOutcome::Empty => return outcomes,
                outcome => outcomes.push(outcome),
            }
        }
    }

    fn read_string(tty: &mut LineDiscipline) -> (Vec<u8>, ReadOutcome) {
        let mut buffer = [0u8; 64];
        let outcome = tty.read(&mut buffer);
        let bytes = match outcome {
            ReadOutcome::Data(n) => buffer[..n].to_vec(),
            _ => Vec::new(),
        };
        (bytes, outcome)
    }

    #[test]
    fn a_line_is_readable_only_when_finished_and_enter_is_a_newline() {
        let mut tty = LineDiscipline::default();
        let (echo, _) = type_in(&mut tty, b"ls -l");
        assert_eq!(echo, b"ls -l");
        assert!(!tty.readable());
        let (echo, _) = type_in(&mut tty, b"\r");
        assert_eq!(echo, b"\n");
        assert_eq!(read_string(&mut tty).0, b"ls -l\n");
    }

    #[test]
    fn ctrl_p_asks_for_the_process_table_only_with_isig() {
        let mut tty = LineDiscipline::default();
        assert!(tty.is_process_table_key(0x10));
        assert!(!tty.is_process_table_key(b'p'));
        let mut settings = tty.settings();
        settings.lflag &= !ISIG;
        tty.set_settings(settings, false);
        assert!(!tty.is_process_table_key(0x10));
    }

    #[test]
    fn one_read_returns_at_most_one_line() {
        let mut tty = LineDiscipline::default();
        type_in(&mut tty, b"one\ntwo\n");
        assert_eq!(read_string(&mut tty).0, b"one\n");
        assert_eq!(read_string(&mut tty).0, b"two\n");
        assert_eq!(read_string(&mut tty).1, ReadOutcome::Empty);
    }

    #[test]
    fn erase_kill_and_word_erase_edit_the_line() {
        let mut tty = LineDiscipline::default();
        let (echo, _) = type_in(&mut tty, b"abx\x7f");
        assert_eq!(echo, b"abx\x08 \x08");
        type_in(&mut tty, b"c d e\x17\x17f\n");
        assert_eq!(read_string(&mut tty).0, b"abc f\n");
        type_in(&mut tty, b"junk\x15ok\n");
        assert_eq!(read_string(&mut tty).0, b"ok\n");
        let (echo, _) = type_in(&mut tty, b"\x7f");
        assert!(echo.is_empty(), "erasing an empty line echoes nothing");
    }

    #[test]
    fn eof_at_line_start_is_end_of_file_and_elsewhere_hands_over_the_line() {
        let mut tty = LineDiscipline::default();
        type_in(&mut tty, b"partial\x04\x04");
        assert_eq!(read_all(&mut tty), [ReadOutcome::Data(7), ReadOutcome::EndOfFile]);
    }

    #[test]
    fn interrupt_flushes_and_signals() {
        let mut tty = LineDiscipline::default();
        let (echo, signals) = type_in(&mut tty, b"half a line\x03");
        assert_eq!(signals, [SIGINT]);
        assert!(echo.ends_with(b"^C"));
        assert!(!tty.readable());
        let (_, signals) = type_in(&mut tty, b"\x1c\x1a");
        assert_eq!(signals, [SIGQUIT, SIGTSTP]);
    }

    #[test]
    fn raw_mode_passes_bytes_through_without_echo_or_signals() {
        let mut tty = LineDiscipline::default();
        let mut raw = Termios::default();
        raw.lflag &= !(ICANON | ECHO | ISIG);
        raw.iflag &= !ICRNL;
        tty.set_settings(raw, false);
        let (echo, signals) = type_in(&mut tty, b"a\x03\r\x7f");
        assert!(echo.is_empty() && signals.is_empty());
        assert_eq!(read_string(&mut tty).0, b"a\x03\r\x7f");
    }

    #[test]
    fn leaving_canonical_mode_hands_over_the_partial_line_and_flush_drops_it() {
        let mut tty = LineDiscipline::default();
        type_in(&mut tty, b"typed");
        let mut raw = Termios::default();
        raw.lflag &= !ICANON;
        tty.set_settings(raw, false);
        assert_eq!(read_string(&mut tty).0, b"typed");
        type_in(&mut tty, b"more");
        tty.set_settings(raw, true);
        assert!(!tty.readable());
    }

    #[test]
    fn vmin_zero_returns_at_once() {
        let mut tty = LineDiscipline::default();
        let mut raw = Termios::default();
        raw.lflag &= !ICANON;
        raw.cc[VMIN] = 0;
        tty.set_settings(raw, false);
        assert_eq!(read_string(&mut tty).1, ReadOutcome::Data(0));
    }

    #[test]
    fn control_characters_echo_as_caret_letters_and_lines_are_bounded() {
        let mut tty = LineDiscipline::default();
        let (echo, _) = type_in(&mut tty, b"\x01");
        assert_eq!(echo, b"^A");
        let long: Vec<u8> = std::iter::repeat(b'x').take(MAX_LINE * 2).collect();
        type_in(&mut tty, &long);
        type_in(&mut tty, b"\n");
        let mut buffer = std::vec![0u8; MAX_LINE * 2];
        let ReadOutcome::Data(n) = tty.read(&mut buffer) else { panic!("a line") };
        assert_eq!(n, MAX_LINE);
    }
}
