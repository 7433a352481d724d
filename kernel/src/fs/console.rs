//! The console: what a program's descriptors 0, 1 and 2 start on. Output goes out
//! COM1 (stdout) or the host's stderr channel, byte for byte. Input arrives on COM1,
//! by interrupt, into a buffer readers block on.
//!
//! Its input is a terminal or a stream, as the host's is (`console=` option): a
//! stream ends when the host CLI reports the end of its input on COM2, and is not a
//! tty for ioctls, as a pipe would not be on Linux.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use spin::{Lazy, Mutex, Once};

use super::File;
use crate::arch::x86_64::debugcon::{self, Channel};
use crate::arch::x86_64::serial;
use crate::mm::address_space::AddressSpace;
use crate::sched::{self, WaitChannel};
use kernel_core::abi::errno::{EFAULT, EINTR, ENOTTY};
use kernel_core::abi::{Termios, Winsize, TCGETS, TCSETS, TCSETSF, TCSETSW, TIOCGWINSZ};
use kernel_core::cmdline::ConsoleMode;

/// Where a console descriptor's output goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// COM1: the program's stdout on the host.
    Terminal,
    /// The host's stderr channel: what fd 2 starts as.
    ErrorChannel,
}

pub struct Console {
    output: Output,
}

struct Input {
    bytes: VecDeque<u8>,
    /// The host said its input ended (stream mode).
    ended: bool,
    settings: Termios,
}

static INPUT: Lazy<Mutex<Input>> = Lazy::new(|| Mutex::new(Input { bytes: VecDeque::new(), ended: false, settings: Termios::default() }));
static MODE: Once<ConsoleMode> = Once::new();

/// The host-control byte that means "the host's input has ended".
const END_OF_INPUT: u8 = b'e';

/// The size the console reports (TIOCGWINSZ).
const WINDOW: Winsize = Winsize { rows: 24, cols: 80, xpixel: 0, ypixel: 0 };

/// Sets the console mode (once, at boot) and takes in what arrived so far.
pub fn init(mode: ConsoleMode) {
    MODE.call_once(|| mode);
    receive();
    receive_host_control();
}

fn is_terminal() -> bool {
    MODE.get() == Some(&ConsoleMode::Terminal)
}

/// A console descriptor writing to `output`.
pub fn open(output: Output) -> Arc<dyn File> {
    Arc::new(Console { output })
}

/// COM1 interrupt: moves the received bytes into the buffer and wakes readers.
pub fn receive() {
    let mut received = false;
    while let Some(byte) = serial::try_read() {
        INPUT.lock().bytes.push_back(byte);
        received = true;
    }
    if received {
        sched::wake_all(WaitChannel::ConsoleInput);
    }
}

/// COM2 interrupt: control bytes from the host CLI.
pub fn receive_host_control() {
    while let Some(byte) = serial::try_read_host_control() {
        if byte == END_OF_INPUT {
            INPUT.lock().ended = true;
            sched::wake_all(WaitChannel::ConsoleInput);
        }
    }
}

impl File for Console {
    fn read(&self, buffer: &mut [u8]) -> Result<usize, i64> {
        if buffer.is_empty() {
            return Ok(0);
        }
        loop {
            {
                let mut input = INPUT.lock();
                if !input.bytes.is_empty() {
                    let count = buffer.len().min(input.bytes.len());
                    for (slot, byte) in buffer.iter_mut().zip(input.bytes.drain(..count)) {
                        *slot = byte;
                    }
                    return Ok(count);
                }
                if input.ended {
                    return Ok(0);
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
        if !is_terminal() {
            return Err(ENOTTY);
        }
        match request {
            TIOCGWINSZ => memory.write(argument, &WINDOW.to_bytes()).map_err(|_| EFAULT)?,
            TCGETS => memory.write(argument, &INPUT.lock().settings.to_bytes()).map_err(|_| EFAULT)?,
            TCSETS | TCSETSW | TCSETSF => {
                let mut raw = [0u8; Termios::SIZE];
                memory.read(argument, &mut raw).map_err(|_| EFAULT)?;
                INPUT.lock().settings = Termios::from_bytes(raw);
            }
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }
}
