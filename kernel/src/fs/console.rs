//! The console: what a program's descriptors 0, 1 and 2 start on, and /dev/console
//! and /dev/tty. Its bytes travel to and from the host CLI in two rings in guest RAM
//! that the host maps too (protocol, and why this mechanism: `kernel_core::hostio`):
//! one output ring carries every write to fd 1 and fd 2 (and the terminal's echo) as
//! records in the order of the writes, so the host puts them out in that order
//! whether they go to one place or two; the input ring carries the host's stdin and
//! then its end, so the end never overtakes a byte. Either ring full blocks its
//! producer: a slow host reader blocks the program's writes, a program that does not
//! read stops the host reading its stdin.
//!
//! Input is a terminal or a stream, as the host's stdin is (`console=` option). A
//! terminal runs the line discipline (`kernel_core::tty`: line editing, echo,
//! Ctrl-C/Ctrl-\/Ctrl-Z as signals to the foreground group, Ctrl-D as end of input)
//! on each byte as it arrives; a stream passes bytes through to readers, straight
//! from the ring. Each of descriptors 0, 1 and 2 is a tty (the terminal ioctls work
//! on it) exactly when the host's is (`ttys=`); the window size is the host
//! terminal's, and a resize on the host sends SIGWINCH to the foreground group.
//!
//! Lock order: `WRITER`, then `OUTPUT` (a write's turn, then one record at a time);
//! `INPUT` is never held with either (echo is collected under `INPUT` and written
//! after), nor while signals are sent or the process table is read.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::AtomicU64;
use spin::{Lazy, Mutex, Once};

use super::{File, IoctlArgument};
use crate::arch::x86_64::debugcon::{self, Channel as Port};
use crate::arch::x86_64::{port, serial};
use crate::process::{self, Pid, INIT_PID};
use crate::sched::{self, WaitChannel};
use crate::signal;
use kernel_core::abi::errno::{EINVAL, EIO, ENOTTY, EPERM, EPIPE};
use kernel_core::abi::signal::{ERESTARTSYS, SIGPIPE, SIGWINCH};
use kernel_core::abi::{makedev, Stat, POLLERR, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
use kernel_core::abi::{
    Termios, Winsize, FIONREAD, TCGETS, TCSETS, TCSETSF, TCSETSW, TIOCGPGRP, TIOCGWINSZ, TIOCSPGRP,
};
use kernel_core::cmdline::{ConsoleMode, KernelOptions};
use kernel_core::cpio::S_IFCHR;
use kernel_core::hostio::{self, Kind};
use kernel_core::tty::{LineDiscipline, ReadOutcome};

/// Which of the program's standard streams a console descriptor is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdin,
    Stdout,
    Stderr,
    /// /dev/console or /dev/tty opened by name: the terminal itself.
    Device,
}

pub struct Console {
    stream: Stream,
    /// Whether the terminal ioctls work on it (the host's descriptor is a terminal).
    tty: bool,
}

struct Input {
    /// Terminal mode: the line discipline (editing, echo, signal keys).
    discipline: LineDiscipline,
    /// Stream mode: the bytes of the input ring's first record already read.
    offset: usize,
    /// The host's input ended (its end record was read).
    ended: bool,
    /// The terminal's foreground process group (TIOCGPGRP/TIOCSPGRP): where the
    /// signal keys and SIGWINCH go.
    foreground_group: Pid,
    /// The terminal's size (TIOCGWINSZ), the host terminal's.
    window: Winsize,
}

static INPUT: Lazy<Mutex<Input>> = Lazy::new(|| {
    Mutex::new(Input {
        discipline: LineDiscipline::default(),
        offset: 0,
        ended: false,
        foreground_group: INIT_PID,
        window: Winsize::default(),
    })
});

/// The channel's words, in the kernel heap (physically contiguous, so one range of
/// the host's memory file).
static CHANNEL: Once<hostio::Channel<'static>> = Once::new();
static MODE: Once<ConsoleMode> = Once::new();
static TERMINAL_FDS: Once<[bool; 3]> = Once::new();

/// Serializes the output ring's producers (writers and the interrupt's echo): each
/// record is written and published whole under it.
static OUTPUT: Mutex<()> = Mutex::new(());
/// The process whose write is going out: a write's records follow each other in the
/// ring (as Linux's tty write lock keeps a write whole), even when it waits for room.
static WRITER: Mutex<Option<Pid>> = Mutex::new(None);

/// Makes the channel, announces it to the host (`console ring=PHYS capacity=WORDS`
/// on the control channel) and takes the console's settings. Once, at boot, before
/// `ready`. Err: no memory for the rings.
pub fn init(options: &KernelOptions) -> Result<(), &'static str> {
    MODE.call_once(|| options.console);
    TERMINAL_FDS.call_once(|| options.terminal_fds);
    let length = hostio::channel_words(hostio::CAPACITY);
    let mut words: Vec<AtomicU64> = Vec::new();
    words.try_reserve_exact(length).map_err(|_| "no memory for the console's rings")?;
    words.extend((0..length).map(|_| AtomicU64::new(0)));
    let words: &'static [AtomicU64] = words.leak();
    let channel = *CHANNEL
        .call_once(|| hostio::Channel::new(words, hostio::CAPACITY, port::shared_memory_fence).expect("sized above"));
    let window = Winsize { rows: options.window.rows, cols: options.window.cols, xpixel: 0, ypixel: 0 };
    INPUT.lock().window = window;
    channel.set_window(window);
    channel.initialize();
    let physical =
        crate::mm::direct_map_physical(words.as_ptr() as u64).expect("the kernel heap lies in the direct map");
    let record = alloc::format!("console ring={physical:#x} capacity={}\n", hostio::CAPACITY);
    debugcon::write(Port::Control, record.as_bytes());
    if is_terminal() {
        // Typed keys are taken as they come, read or not (Ctrl-C must work).
        channel.input.wait_for_records();
    }
    receive();
    Ok(())
}

/// Whether the console is a terminal (as the host's input is): then it is the
/// controlling terminal /dev/tty opens.
pub fn is_terminal() -> bool {
    MODE.get() == Some(&ConsoleMode::Terminal)
}

/// Whether the host gave the guest a terminal (one of its descriptors 0, 1 and 2
/// is one): then /dev/tty and /dev/console open it, and without one /dev/tty is
/// ENXIO, as for a process without a controlling terminal.
pub fn has_terminal() -> bool {
    TERMINAL_FDS.get().is_some_and(|fds| fds.contains(&true))
}

fn channel() -> Option<hostio::Channel<'static>> {
    CHANNEL.get().copied()
}

/// A console descriptor for `stream`.
pub fn open(stream: Stream) -> Box<dyn File> {
    let fds = TERMINAL_FDS.get().copied().unwrap_or_default();
    let tty = match stream {
        Stream::Stdin => fds[0],
        Stream::Stdout => fds[1],
        Stream::Stderr => fds[2],
        Stream::Device => has_terminal(),
    };
    Box::new(Console { stream, tty })
}

/// COM1 interrupt: the host rang. Its input goes through the line discipline
/// (terminal), readers and writers waiting on the rings wake, and a new window size
/// is taken, with SIGWINCH to the foreground group.
pub fn receive() {
    serial::drain_doorbell();
    let Some(channel) = channel() else { return };
    sched::wake_all(WaitChannel::ConsoleOutput);
    let mut echo = Vec::new();
    let mut signals = Vec::new();
    let mut input = INPUT.lock();
    let table_requested = is_terminal() && take_typed_input(&channel, &mut input, &mut echo, &mut signals);
    let window = channel.window();
    if window != input.window {
        input.window = window;
        if TERMINAL_FDS.get().is_some_and(|fds| fds.contains(&true)) {
            signals.push((SIGWINCH, input.foreground_group));
        }
    }
    drop(input);
    if table_requested {
        echo.extend_from_slice(process::table_dump().as_bytes());
    }
    if !echo.is_empty() {
        write_record(&channel, Kind::Terminal, &echo);
    }
    for (signal, group) in signals {
        signal::send_to_group(group, signal);
    }
    sched::wake_all(WaitChannel::ConsoleInput);
}

/// Terminal mode: every byte in the input ring through the line discipline (echo
/// into `echo`, signal keys into `signals`), then a doorbell asked for the next.
/// Returns whether the process table key was typed (the caller prints the table
/// once it holds no console lock: the table takes the process list's).
fn take_typed_input(
    channel: &hostio::Channel<'static>,
    input: &mut Input,
    echo: &mut Vec<u8>,
    signals: &mut Vec<(u8, Pid)>,
) -> bool {
    let mut room_doorbell = false;
    let mut table_requested = false;
    loop {
        let record = match channel.input.peek() {
            Ok(Some(record)) => record,
            Ok(None) if channel.input.wait_for_records() => break,
            Ok(None) => continue,
            Err(hostio::Corrupt) => {
                input.ended = true;
                break;
            }
        };
        let mut bytes = [0u8; 64];
        let mut offset = 0;
        while offset < record.length {
            let count = channel.input.copy_out(&record, offset, &mut bytes);
            offset += count;
            for &byte in &bytes[..count] {
                if input.discipline.is_process_table_key(byte) {
                    table_requested = true;
                } else if let Some(signal) = input.discipline.receive(byte, echo) {
                    signals.push((signal, input.foreground_group));
                }
            }
        }
        if record.kind == Kind::EndOfInput {
            input.ended = true;
        }
        room_doorbell |= channel.input.consume(&record);
    }
    if room_doorbell {
        debugcon::write(Port::InputDoorbell, &[1]);
    }
    table_requested
}

/// Puts one record out if it fits whole or in part; how many bytes it took (None:
/// no room). Rings the host when it sleeps.
fn write_record(channel: &hostio::Channel<'static>, kind: Kind, bytes: &[u8]) -> Option<usize> {
    let pushed = {
        let _producer = OUTPUT.lock();
        channel.output.push(kind, bytes)
    };
    let (taken, doorbell) = pushed?;
    if doorbell {
        debugcon::write(Port::OutputDoorbell, &[1]);
    }
    Some(taken)
}

/// The turn to write, held for one write; given back (and the next writer woken)
/// when dropped, however the write ends.
struct WriterTurn;

impl WriterTurn {
    fn take() -> Result<WriterTurn, i64> {
        let me = sched::current_pid();
        loop {
            let wait = sched::prepare(WaitChannel::ConsoleOutput);
            {
                let mut writer = WRITER.lock();
                if writer.is_none() {
                    *writer = me;
                    return Ok(WriterTurn);
                }
            }
            wait.block().map_err(|_| ERESTARTSYS)?;
        }
    }
}

impl Drop for WriterTurn {
    fn drop(&mut self) {
        *WRITER.lock() = None;
        sched::wake_all(WaitChannel::ConsoleOutput);
    }
}

/// The host-side stream a kind of record goes to, and the bit the host sets in the
/// channel header once that stream is closed.
fn closed_bit(kind: Kind) -> u64 {
    match kind {
        Kind::Stdout => hostio::STDOUT_CLOSED,
        Kind::Stderr => hostio::STDERR_CLOSED,
        _ => 0,
    }
}

/// A write of `bytes` to the host's `kind` stream: all of it, waiting for room as
/// long as it takes, unless a signal cuts it short (the count so far, or
/// ERESTARTSYS if none). EPIPE and SIGPIPE once the host's stream is closed.
fn write_stream(kind: Kind, bytes: &[u8]) -> Result<usize, i64> {
    let Some(channel) = channel() else { return Err(EIO) };
    if bytes.is_empty() {
        return Ok(0);
    }
    let _turn = WriterTurn::take()?;
    let mut written = 0;
    while written < bytes.len() {
        if channel.closed() & closed_bit(kind) != 0 {
            if written > 0 {
                return Ok(written);
            }
            signal::send_to_caller(&sched::current(), SIGPIPE);
            return Err(EPIPE);
        }
        let rest = &bytes[written..];
        let wait = sched::prepare(WaitChannel::ConsoleOutput);
        match write_record(&channel, kind, rest) {
            Some(taken) => written += taken,
            None => {
                if channel.output.wait_for_room(rest.len()) && wait.block().is_err() {
                    return if written > 0 { Ok(written) } else { Err(ERESTARTSYS) };
                }
            }
        }
    }
    Ok(written)
}

/// Stream mode: one attempt to read: Some(count) (0 at end of input), or None when
/// nothing is there yet (having asked the host to ring when there is).
fn try_read_stream(channel: &hostio::Channel<'static>, input: &mut Input, buffer: &mut [u8]) -> Option<usize> {
    let mut count = 0;
    let mut room_doorbell = false;
    while count < buffer.len() && !input.ended {
        let record = match channel.input.peek() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(hostio::Corrupt) => {
                input.ended = true;
                break;
            }
        };
        if record.kind == Kind::EndOfInput {
            input.ended = true;
        } else {
            let copied = channel.input.copy_out(&record, input.offset, &mut buffer[count..]);
            count += copied;
            input.offset += copied;
            if input.offset < record.length {
                break;
            }
        }
        input.offset = 0;
        room_doorbell |= channel.input.consume(&record);
    }
    if room_doorbell {
        debugcon::write(Port::InputDoorbell, &[1]);
    }
    if count > 0 || input.ended {
        return Some(count);
    }
    if channel.input.wait_for_records() {
        None
    } else {
        try_read_stream(channel, input, buffer)
    }
}

/// One attempt to read: Some(count) (0 at end of file), or None when nothing is
/// there yet.
fn try_read(buffer: &mut [u8]) -> Option<usize> {
    let channel = channel()?;
    let mut input = INPUT.lock();
    if !is_terminal() {
        return try_read_stream(&channel, &mut input, buffer);
    }
    match input.discipline.read(buffer) {
        ReadOutcome::Data(count) => Some(count),
        ReadOutcome::EndOfFile => Some(0),
        ReadOutcome::Empty => None,
    }
}

/// Whether a read would not wait (asking the host to ring when it would).
fn readable() -> bool {
    let Some(channel) = channel() else { return false };
    let input = INPUT.lock();
    if is_terminal() {
        return input.discipline.readable();
    }
    input.ended || !matches!(channel.input.peek(), Ok(None)) || !channel.input.wait_for_records()
}

impl Console {
    /// The host stream this descriptor's writes go to.
    fn output_kind(&self) -> Kind {
        match self.stream {
            Stream::Stdout => Kind::Stdout,
            Stream::Stderr => Kind::Stderr,
            Stream::Stdin | Stream::Device => Kind::Terminal,
        }
    }
}

impl File for Console {
    fn read(&self, buffer: &mut [u8]) -> Result<usize, i64> {
        if buffer.is_empty() {
            return Ok(0);
        }
        loop {
            let wait = sched::prepare(WaitChannel::ConsoleInput);
            if let Some(count) = try_read(buffer) {
                return Ok(count);
            }
            wait.block().map_err(|_| ERESTARTSYS)?;
        }
    }

    /// Readable when a read would not wait: a line or end of file in terminal mode,
    /// a byte or the end of the host's input in stream mode. Writable when the
    /// output ring has room; an error once the host's stream is closed (as a pipe
    /// without readers).
    fn poll(&self) -> u16 {
        let mut events = if readable() { POLLIN | POLLRDNORM } else { 0 };
        if let Some(channel) = channel() {
            let kind = self.output_kind();
            if channel.closed() & closed_bit(kind) != 0 {
                events |= POLLERR;
            } else if channel.output.room() >= hostio::record_words(8) || !channel.output.wait_for_room(8) {
                events |= POLLOUT | POLLWRNORM;
            }
        }
        events
    }

    fn link_name(&self) -> alloc::string::String {
        alloc::string::String::from("/dev/console")
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
        write_stream(self.output_kind(), bytes)
    }

    fn ioctl(&self, request: u64, argument: &IoctlArgument) -> Result<u64, i64> {
        if request == FIONREAD {
            let input = INPUT.lock();
            let unread = if is_terminal() {
                input.discipline.unread_bytes()
            } else {
                channel().map_or(0, |channel| channel.input.unread_bytes(Kind::Input, input.offset))
            };
            drop(input);
            argument.write(&(unread.min(i32::MAX as usize) as i32).to_le_bytes())?;
            return Ok(0);
        }
        if !self.tty {
            return Err(ENOTTY);
        }
        match request {
            TIOCGWINSZ => {
                let window = INPUT.lock().window;
                argument.write(&window.to_bytes())?
            }
            TCGETS => {
                let settings = INPUT.lock().discipline.settings();
                argument.write(&settings.to_bytes())?;
            }
            TCSETS | TCSETSW | TCSETSF => {
                let mut raw = [0u8; Termios::SIZE];
                argument.read(&mut raw)?;
                INPUT.lock().discipline.set_settings(Termios::from_bytes(raw), request == TCSETSF);
            }
            TIOCGPGRP => {
                let group = INPUT.lock().foreground_group;
                argument.write(&group.to_le_bytes())?;
            }
            TIOCSPGRP => {
                let mut raw = [0u8; 4];
                argument.read(&mut raw)?;
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
