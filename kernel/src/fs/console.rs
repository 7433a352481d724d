//! The console: the terminal a program's descriptors 0, 1 and 2 start on. Output to
//! it goes out COM1 (stdout) or the stderr channel, byte for byte; input arrives on
//! COM1 and is polled into a buffer from the timer tick and the idle loop.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use spin::{Lazy, Mutex};

use super::File;
use crate::arch::x86_64::debugcon::{self, Channel};
use crate::arch::x86_64::serial;
use crate::mm::address_space::AddressSpace;
use crate::sched::{self, WaitChannel};
use kernel_core::abi::errno::{EFAULT, EINTR, ENOTTY};
use kernel_core::abi::{Termios, Winsize, TCGETS, TCSETS, TCSETSF, TCSETSW, TIOCGWINSZ};

/// Where a console descriptor's output goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The terminal (COM1): the program's stdout on the host.
    Terminal,
    /// The host's stderr channel: what fd 2 starts as.
    ErrorChannel,
}

pub struct Console {
    output: Output,
}

struct Terminal {
    input: VecDeque<u8>,
    settings: Termios,
}

static TERMINAL: Lazy<Mutex<Terminal>> = Lazy::new(|| Mutex::new(Terminal { input: VecDeque::new(), settings: Termios::default() }));

/// The size the console reports (TIOCGWINSZ).
const WINDOW: Winsize = Winsize { rows: 24, cols: 80, xpixel: 0, ypixel: 0 };

/// A console descriptor writing to `output`.
pub fn open(output: Output) -> Arc<dyn File> {
    Arc::new(Console { output })
}

/// Moves bytes the UART received into the input buffer and wakes readers.
pub fn poll_input() {
    let mut received = false;
    while let Some(byte) = serial::try_read() {
        TERMINAL.lock().input.push_back(byte);
        received = true;
    }
    if received {
        sched::wake_all(WaitChannel::ConsoleInput);
    }
}

impl File for Console {
    fn read(&self, buffer: &mut [u8]) -> Result<usize, i64> {
        if buffer.is_empty() {
            return Ok(0);
        }
        loop {
            {
                let mut terminal = TERMINAL.lock();
                if !terminal.input.is_empty() {
                    let count = buffer.len().min(terminal.input.len());
                    for (slot, byte) in buffer.iter_mut().zip(terminal.input.drain(..count)) {
                        *slot = byte;
                    }
                    return Ok(count);
                }
            }
            sched::block(WaitChannel::ConsoleInput).map_err(|_| EINTR)?;
        }
    }

    fn write(&self, bytes: &[u8]) -> Result<usize, i64> {
        match self.output {
            Output::Terminal => serial::write(bytes),
            Output::ErrorChannel => debugcon::write(Channel::ProgramStderr, bytes),
        }
        Ok(bytes.len())
    }

    fn ioctl(&self, request: u64, argument: u64, memory: &mut AddressSpace) -> Result<u64, i64> {
        match request {
            TIOCGWINSZ => memory.write(argument, &WINDOW.to_bytes()).map_err(|_| EFAULT)?,
            TCGETS => memory.write(argument, &TERMINAL.lock().settings.to_bytes()).map_err(|_| EFAULT)?,
            TCSETS | TCSETSW | TCSETSF => {
                let mut raw = [0u8; Termios::SIZE];
                memory.read(argument, &mut raw).map_err(|_| EFAULT)?;
                TERMINAL.lock().settings = Termios::from_bytes(raw);
            }
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }
}
