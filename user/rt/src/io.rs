//! Output: `write_all`, and the machinery behind `print!`/`println!`/`eprint!`/`eprintln!`.
//!
//! Each print formats into a buffer on the stack and hands it to the kernel with one
//! `write` when it fits, so a line printed by one call normally arrives in one piece.

use core::fmt;

use crate::syscall::{self, errno};

/// Write all of `buf` to `fd`, retrying after short writes and EINTR.
/// Returns the negative errno of the first failure; a write that makes no progress
/// counts as a failure (-EIO) so this cannot loop forever.
pub fn write_all(fd: i32, mut buf: &[u8]) -> Result<(), isize> {
    while !buf.is_empty() {
        match syscall::write(fd, buf) {
            n if n > 0 => buf = &buf[n as usize..],
            n if n == -errno::EINTR => {}
            0 => return Err(-errno::EIO),
            err => return Err(err),
        }
    }
    Ok(())
}

/// The size of the stack buffer one print call formats into; longer output is written
/// in pieces of this size.
const BUF_SIZE: usize = 512;

/// A `fmt::Write` sink that gathers text in a stack buffer and writes it to `fd` when
/// the buffer fills and when `flush` is called.
struct Writer {
    fd: i32,
    len: usize,
    buf: [u8; BUF_SIZE],
}

impl Writer {
    /// Write out what is buffered and empty the buffer. Errors are dropped: like
    /// `print!` in std there is nowhere to report them (std panics; we stay quiet).
    fn flush(&mut self) {
        let _ = write_all(self.fd, &self.buf[..self.len]);
        self.len = 0;
    }
}

impl fmt::Write for Writer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut bytes = s.as_bytes();
        while !bytes.is_empty() {
            if self.len == BUF_SIZE {
                self.flush();
            }
            let n = bytes.len().min(BUF_SIZE - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
            self.len += n;
            bytes = &bytes[n..];
        }
        Ok(())
    }
}

/// Format `args` and write the result to `fd`. Used by the print macros.
#[doc(hidden)]
pub fn _print(fd: i32, args: fmt::Arguments) {
    let mut w = Writer { fd, len: 0, buf: [0; BUF_SIZE] };
    let _ = fmt::Write::write_fmt(&mut w, args);
    w.flush();
}

/// Print to standard output (fd 1).
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::io::_print(1, format_args!($($arg)*)) };
}

/// Print to standard output (fd 1), followed by a newline.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::io::_print(1, format_args!("{}\n", format_args!($($arg)*))) };
}

/// Print to standard error (fd 2).
#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::io::_print(2, format_args!($($arg)*)) };
}

/// Print to standard error (fd 2), followed by a newline.
#[macro_export]
macro_rules! eprintln {
    () => { $crate::eprint!("\n") };
    ($($arg:tt)*) => { $crate::io::_print(2, format_args!("{}\n", format_args!($($arg)*))) };
}

/// Displays a byte string (an argument, an environment entry) as text: valid UTF-8 as
/// is, each invalid sequence as U+FFFD, like `String::from_utf8_lossy`.
pub struct Lossy<'a>(pub &'a [u8]);

impl fmt::Display for Lossy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("\u{FFFD}")?;
            }
        }
        Ok(())
    }
}
