//! The host side of the console's channel (protocol and why this mechanism:
//! `kernel_core::hostio`): two rings in guest RAM, which is a memory file we map.
//!
//! - The output thread takes the output ring's records in order and writes each to
//!   our stdout or stderr (the terminal's echo to the terminal) as it comes, so fd 1
//!   and fd 2 keep the order of the program's writes even when both are one pipe.
//!   A stream whose write fails (its reader went away) is marked closed in the
//!   channel header, and its later records are dropped: the program's next write
//!   there gets EPIPE. After QEMU has exited it drains what is left, so nothing the
//!   program wrote before the power-off is lost.
//! - The input thread puts our stdin in the input ring, then its end, after the
//!   last byte. A full ring stops it reading: the program's pace sets ours.
//! - Each side sleeps when it has nothing to do and is woken by the other's doorbell:
//!   the kernel writes a byte to an I/O port (a socket here), we send one byte on
//!   COM1 (an interrupt there).

use std::io::{self, Read, Write};
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};

use kernel_core::abi::Winsize;
use kernel_core::hostio::{self, Channel, Kind, Record};

use crate::session::{Escape, Ready};
use crate::terminal;
use crate::trace_ring::GuestRam;

/// What the threads share: guest RAM, where the kernel said the channel is, and
/// the guest's doorbell.
pub struct HostIo {
    ram: Arc<GuestRam>,
    /// The channel's guest physical address and ring capacity in words, once the
    /// kernel has announced it (`console ring=...` on the control channel).
    location: OnceLock<(u64, usize)>,
    /// COM1: a byte here interrupts the kernel.
    guest_doorbell: UnixStream,
}

impl HostIo {
    pub fn new(ram: Arc<GuestRam>, guest_doorbell: UnixStream) -> HostIo {
        HostIo { ram, location: OnceLock::new(), guest_doorbell }
    }

    /// The kernel's announcement; later ones are ignored.
    pub fn announce(&self, physical: u64, capacity: usize) {
        let _ = self.location.set((physical, capacity));
    }

    /// The channel, once announced and where it was said to be.
    fn channel(&self) -> Option<Channel<'_>> {
        let &(physical, capacity) = self.location.get()?;
        let words = self.ram.words(physical, hostio::channel_words(capacity))?;
        Channel::new(words, capacity, hostio::cpu_fence).filter(Channel::is_initialized)
    }

    fn ring_guest(&self) {
        let _ = (&self.guest_doorbell).write(&[1]);
    }

    /// Tells the kernel the host terminal's new size (it sends SIGWINCH).
    fn resize(&self, size: Winsize) {
        if let Some(channel) = self.channel() {
            channel.set_window(size);
            self.ring_guest();
        }
    }
}

/// Where one record's bytes go on the host.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Destination {
    Stdout,
    Stderr,
    /// The host's stdin, a terminal (echo goes to the terminal even when stdout is
    /// redirected).
    Stdin,
}

impl Destination {
    fn fd(self) -> i32 {
        match self {
            Destination::Stdin => libc::STDIN_FILENO,
            Destination::Stdout => libc::STDOUT_FILENO,
            Destination::Stderr => libc::STDERR_FILENO,
        }
    }

    /// The channel's closed bit when writing here failed.
    fn closed_bit(self) -> u64 {
        match self {
            Destination::Stdout => hostio::STDOUT_CLOSED,
            Destination::Stderr => hostio::STDERR_CLOSED,
            Destination::Stdin => 0,
        }
    }

    /// Where the terminal itself is: stdout if it is one (then echo and output keep
    /// their order on screen), else stdin or stderr if one is, else stdout.
    fn terminal() -> Destination {
        let tty = |fd| terminal::is_terminal(fd);
        if tty(libc::STDOUT_FILENO) {
            Destination::Stdout
        } else if tty(libc::STDIN_FILENO) {
            Destination::Stdin
        } else if tty(libc::STDERR_FILENO) {
            Destination::Stderr
        } else {
            Destination::Stdout
        }
    }
}

/// Bytes for one destination, written out together.
struct Pending {
    destination: Destination,
    bytes: Vec<u8>,
    /// Destinations whose write failed: their bytes are dropped from then on.
    failed: Vec<Destination>,
}

/// How many bytes the output thread gathers before writing.
const WRITE_BATCH: usize = 64 * 1024;

impl Pending {
    fn add(&mut self, destination: Destination, bytes: impl FnOnce(&mut Vec<u8>), channel: &Channel) {
        if self.failed.contains(&destination) {
            return;
        }
        if destination != self.destination || self.bytes.len() >= WRITE_BATCH {
            self.flush(channel);
            self.destination = destination;
        }
        bytes(&mut self.bytes);
    }

    fn flush(&mut self, channel: &Channel) {
        if self.bytes.is_empty() {
            return;
        }
        // SAFETY: the standard descriptors stay open for the whole process, and
        // ManuallyDrop keeps this File from closing its descriptor.
        let mut out = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(self.destination.fd()) });
        if out.write_all(&self.bytes).is_err() {
            self.failed.push(self.destination);
            channel.close(self.destination.closed_bit());
        }
        self.bytes.clear();
    }
}

/// Starts the output thread: it waits for the channel (`announced` says it is
/// there; dropped unsaid, the machine stopped first), then copies records out until
/// the output doorbell's socket closes (QEMU exited), and drains once more.
pub fn spawn_output(io: Arc<HostIo>, announced: Receiver<()>, mut doorbell: UnixStream) -> JoinHandle<()> {
    thread::Builder::new()
        .name("output".into())
        .spawn(move || {
            if announced.recv().is_err() {
                return;
            }
            let Some(channel) = io.channel() else { return };
            let terminal = Destination::terminal();
            let mut pending = Pending { destination: Destination::Stdout, bytes: Vec::new(), failed: Vec::new() };
            let mut rings = [0u8; 64];
            loop {
                drain(&io, &channel, &mut pending, terminal);
                if !channel.output.wait_for_records() {
                    continue;
                }
                match doorbell.read(&mut rings) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            drain(&io, &channel, &mut pending, terminal);
        })
        .expect("spawn the output thread")
}

/// Writes out every record in the output ring.
fn drain(io: &HostIo, channel: &Channel, pending: &mut Pending, terminal: Destination) {
    let mut room_doorbell = false;
    loop {
        let record: Record = match channel.output.peek() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(hostio::Corrupt) => {
                eprintln!("timeshare: the console's output ring is corrupt; output stops here");
                pending.failed.extend([Destination::Stdout, Destination::Stderr, Destination::Stdin]);
                break;
            }
        };
        let destination = match record.kind {
            Kind::Stdout => Destination::Stdout,
            Kind::Stderr => Destination::Stderr,
            _ => terminal,
        };
        pending.add(
            destination,
            |bytes| {
                let start = bytes.len();
                bytes.resize(start + record.length, 0);
                channel.output.copy_out(&record, 0, &mut bytes[start..]);
            },
            channel,
        );
        room_doorbell |= channel.output.consume(&record);
        if room_doorbell && pending.bytes.len() >= WRITE_BATCH {
            // Let the kernel refill while we write.
            io.ring_guest();
            room_doorbell = false;
        }
    }
    pending.flush(channel);
    if room_doorbell {
        io.ring_guest();
    }
}

/// Host stdin to the input ring, once the kernel is ready for it; at EOF, the end
/// record. On a terminal (when we are its foreground job; in the background stdin
/// is not read at all), the escape Ctrl-A x asks to kill QEMU; Ctrl-A Ctrl-A sends
/// one Ctrl-A. Detached: a read from the terminal cannot be interrupted, and the
/// process exits when the run is over.
pub fn spawn_input(io: Arc<HostIo>, mut doorbell: UnixStream, ready: Arc<Ready>, escaped: Arc<AtomicBool>) {
    let interactive = terminal::stdin_is_terminal();
    if interactive && !terminal::stdin_is_our_terminal() {
        // A background job reading the terminal would be stopped (SIGTTIN).
        return;
    }
    let _ = thread::Builder::new().name("stdin".into()).spawn(move || {
        ready.wait();
        let Some(channel) = io.channel() else { return };
        let mut stdin = io::stdin().lock();
        let mut escape = Escape::default();
        let mut buf = vec![0u8; 64 * 1024];
        let mut filtered = Vec::new();
        loop {
            let n = match stdin.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => 0,
            };
            let bytes = if interactive && n > 0 {
                filtered.clear();
                if escape.filter(&buf[..n], &mut filtered) {
                    escaped.store(true, Ordering::SeqCst);
                    return;
                }
                &filtered[..]
            } else {
                &buf[..n]
            };
            let kind = if n == 0 { Kind::EndOfInput } else { Kind::Input };
            if !push_all(&io, &channel, kind, bytes, &mut doorbell) || n == 0 {
                return;
            }
        }
    });
}

/// Puts `bytes` in the input ring as records of `kind` (one empty record for an
/// empty `bytes`), waiting for room. False if the machine stopped first.
fn push_all(io: &HostIo, channel: &Channel, kind: Kind, mut bytes: &[u8], doorbell: &mut UnixStream) -> bool {
    let mut first = true;
    while first || !bytes.is_empty() {
        match channel.input.push(kind, bytes) {
            Some((taken, ring)) => {
                bytes = &bytes[taken..];
                first = false;
                if ring {
                    io.ring_guest();
                }
            }
            None if channel.input.wait_for_room(bytes.len()) => {
                if !matches!(doorbell.read(&mut [0u8; 64]), Ok(1..)) {
                    return false;
                }
            }
            None => {}
        }
    }
    true
}

/// The host terminal's size: that of the first of stdin, stdout, stderr that is a
/// terminal.
pub fn window_size() -> Option<Winsize> {
    [libc::STDIN_FILENO, libc::STDOUT_FILENO, libc::STDERR_FILENO].into_iter().find_map(|fd| {
        // SAFETY: TIOCGWINSZ fills the winsize it is given, nothing else.
        let mut size: libc::winsize = unsafe { std::mem::zeroed() };
        (unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0).then_some(Winsize {
            rows: size.ws_row,
            cols: size.ws_col,
            xpixel: size.ws_xpixel,
            ypixel: size.ws_ypixel,
        })
    })
}

/// Keeps the guest's window size in step with the host terminal's: called from the
/// session's waiting loop, it passes a resize (SIGWINCH) on once the channel is
/// there.
pub fn follow_resizes(io: &HostIo) {
    if io.channel().is_none() || !terminal::take_window_change() {
        return;
    }
    if let Some(size) = window_size() {
        io.resize(size);
    }
}
