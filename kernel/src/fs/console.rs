//! The console: what a program's descriptors 0, 1 and 2 start on. Output goes out
//! COM1 (stdout) or the host's stderr channel, byte for byte. Input arrives on COM1,
//! by interrupt, into a buffer readers block on.
//!
//! Its input is a terminal or a stream, as the host's is (`console=` option). A
//! terminal runs the line discipline (`kernel_core::tty`: line editing, echo,
//! Ctrl-C/Ctrl-\/Ctrl-Z as signals to the foreground group, Ctrl-D as end of input).
//! A stream passes bytes through, ends when the host CLI reports the end of its input
//! on COM2, and is not a tty for ioctls, as a pipe would not be on Linux.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use spin::{Lazy, Mutex, Once};

use super::File;
use crate::arch::x86_64::debugcon::{self, Channel};
use crate::arch::x86_64::serial;
use crate::mm::address_space::AddressSpace;
use crate::process::{self, Pid, INIT_PID};
use crate::sched::{self, WaitChannel};
use crate::signal;
use kernel_core::abi::errno::{EFAULT, EINVAL, ENOTTY, EPERM};
use kernel_core::abi::signal::ERESTARTSYS;
use kernel_core::abi::{makedev, Stat, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
use kernel_core::abi::{
    Termios, Winsize, FIONREAD, TCGETS, TCSETS, TCSETSF, TCSETSW, TIOCGPGRP, TIOCGWINSZ, TIOCSPGRP,
};
use kernel_core::cmdline::ConsoleMode;
use kernel_core::cpio::S_IFCHR;
use kernel_core::tty::{LineDiscipline, ReadOutcome};

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
    /// Terminal mode: the line discipline (editing, echo, signal keys).
    discipline: LineDiscipline,
    /// Stream mode: bytes as they came, and whether the host's input ended.
    stream: VecDeque<u8>,
    ended: bool,
    /// The terminal's foreground process group (TIOCGPGRP/TIOCSPGRP): where the
    /// signal keys send their signals.
    foreground_group: Pid,
}

static INPUT: Lazy<Mutex<Input>> = Lazy::new(|| {
    Mutex::new(Input {
        discipline: LineDiscipline::default(),
        stream: VecDeque::new(),
        ended: false,
        foreground_group: INIT_PID,
    })
});
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

/// Whether the console is a terminal (as the host's input is): then it is the
/// controlling terminal /dev/tty opens.
pub fn is_terminal() -> bool {
    MODE.get() == Some(&ConsoleMode::Terminal)
}

/// A console descriptor writing to `output`.
pub fn open(output: Output) -> Box<dyn File> {
    Box::new(Console { output })
}

/// COM1 interrupt: passes the received bytes through the line discipline (terminal)
/// or queues them (stream), echoes, signals the foreground group for the signal
/// keys, prints the process table for Ctrl-P, and wakes readers.
pub fn receive() {
    let mut echo = Vec::new();
    let mut signals = Vec::new();
    let mut received = false;
    while let Some(byte) = serial::try_read() {
        received = true;
        let mut input = INPUT.lock();
        if is_terminal() && input.discipline.is_process_table_key(byte) {
            drop(input);
            echo.extend_from_slice(process::table_dump().as_bytes());
        } else if is_terminal() {
            if let Some(signal) = input.discipline.receive(byte, &mut echo) {
                signals.push((signal, input.foreground_group));
            }
        } else {
            input.stream.push_back(byte);
        }
    }
    if !echo.is_empty() {
        serial::write(&echo);
    }
    for (signal, group) in signals {
        signal::send_to_group(group, signal);
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

/// One attempt to read: Some(count) (0 at end of file), or None when nothing is
/// there yet.
fn try_read(buffer: &mut [u8]) -> Option<usize> {
    let mut input = INPUT.lock();
    if is_terminal() {
        return match input.discipline.read(buffer) {
            ReadOutcome::Data(count) => Some(count),
            ReadOutcome::EndOfFile => Some(0),
            ReadOutcome::Empty => None,
        };
    }
    if input.stream.is_empty() {
        return input.ended.then_some(0);
    }
    let count = buffer.len().min(input.stream.len());
    for (slot, byte) in buffer.iter_mut().zip(input.stream.drain(..count)) {
        *slot = byte;
    }
    Some(count)
}

impl File for Console {
    fn read(&self, buffer: &mut [u8]) -> Result<usize, i64> {
        if buffer.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(count) = try_read(buffer) {
                return Ok(count);
            }
            sched::block(WaitChannel::ConsoleInput).map_err(|_| ERESTARTSYS)?;
        }
    }

    /// Readable when a read would not wait: a line or end of file in terminal mode,
    /// a byte or the end of the host's input in stream mode. Always writable.
    fn poll(&self) -> u16 {
        let input = INPUT.lock();
        let readable =
            if is_terminal() { input.discipline.readable() } else { !input.stream.is_empty() || input.ended };
        let readable = if readable { POLLIN | POLLRDNORM } else { 0 };
        readable | POLLOUT | POLLWRNORM
    }

    /// What Linux reports for /dev/console: a character device, 5:1.
    fn stat(&self) -> Stat {
        Stat {
            dev: makedev(0, 6),
            ino: 1,
            nlink: 1,
            mode: S_IFCHR | 0o600,
            rdev: makedev(5, 1),
            blksize: 1024,
            ..Stat::default()
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
        let write = |memory: &mut AddressSpace, bytes: &[u8]| memory.write(argument, bytes).map_err(|_| EFAULT);
        if request == FIONREAD {
            let input = INPUT.lock();
            let unread = if is_terminal() { input.discipline.unread_bytes() } else { input.stream.len() };
            drop(input);
            write(memory, &(unread as i32).to_le_bytes())?;
            return Ok(0);
        }
        if !is_terminal() {
            return Err(ENOTTY);
        }
        match request {
            TIOCGWINSZ => write(memory, &WINDOW.to_bytes())?,
            TCGETS => {
                let settings = INPUT.lock().discipline.settings();
                write(memory, &settings.to_bytes())?;
            }
            TCSETS | TCSETSW | TCSETSF => {
                let mut raw = [0u8; Termios::SIZE];
                memory.read(argument, &mut raw).map_err(|_| EFAULT)?;
                INPUT.lock().discipline.set_settings(Termios::from_bytes(raw), request == TCSETSF);
            }
            TIOCGPGRP => {
                let group = INPUT.lock().foreground_group;
                write(memory, &group.to_le_bytes())?;
            }
            TIOCSPGRP => {
                let mut raw = [0u8; 4];
                memory.read(argument, &mut raw).map_err(|_| EFAULT)?;
                let group = i32::from_le_bytes(raw);
                if group < 0 {
                    return Err(EINVAL);
                }
                if process::members_of_group(group as Pid).is_empty() {
                    return Err(EPERM);
                }
                INPUT.lock().foreground_group = group as Pid;
            }
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }
}
