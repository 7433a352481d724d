//! One QEMU run: start QEMU with its channels (`qemu`), serve them, wait for the end.
//!
//! Guest RAM is a memory file we map: the program's stdin, stdout and stderr travel
//! in the console's rings there, served by `host_io`'s threads. Every other channel
//! is a socketpair: QEMU inherits one end (`-chardev socket,fd=N`), a thread of ours
//! serves the other. QEMU itself never writes to our stdout (it goes to /dev/null), so
//! the host's stdout carries the program's bytes and nothing else; its stderr is
//! captured and only shown when something went wrong (or with --verbose). When QEMU
//! exits its ends close, so every thread sees EOF: joining the output thread (which
//! drains the ring one last time) guarantees that all output is out before
//! `timeshare` exits.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::control::{Record, Summary, TraceRecord};
use crate::host_io::{self, HostIo};
use crate::outcome::QemuEnd;
use crate::qemu::{self, ChannelFds, Machine};
use crate::terminal;
use crate::trace_ring::{self, Capture, GuestRam};

/// Where the kernel log (port 0xea) goes. A bounded tail is kept in memory in every case.
pub enum LogSink {
    Stderr,
    File(File),
    Memory,
}

pub struct Session<'a> {
    pub qemu: PathBuf,
    pub machine: &'a Machine,
    pub timeout: Option<Duration>,
    pub log: LogSink,
    /// Pass QEMU's own stderr through as it comes (otherwise shown only on failure).
    pub verbose: bool,
    /// Guest RAM, shared with us: the console's rings are there, and the trace ring.
    pub guest_ram: Arc<GuestRam>,
    /// Whether to read the kernel's trace ring.
    pub tracing: bool,
    /// Stop the machine if the kernel has not said `ready` by then (`--accel kvm`,
    /// where a host's KVM may accept the machine and never run the kernel).
    pub boot_deadline: Option<Duration>,
}

pub struct Report {
    pub end: QemuEnd,
    pub control: Summary,
    /// The last lines of the kernel log.
    pub log_tail: Vec<String>,
    /// What QEMU itself printed on its stderr (its tail).
    pub qemu_stderr: String,
    /// The kernel's event trace (when tracing).
    pub trace: Option<Capture>,
}

/// Lines of kernel log kept in memory for a failure report.
const LOG_TAIL_LINES: usize = 60;
/// Bytes of QEMU's own stderr kept.
const QEMU_STDERR_LIMIT: usize = 64 * 1024;
/// How often the waiting loop looks at QEMU, the clock and the signals.
const POLL: Duration = Duration::from_millis(5);

impl Session<'_> {
    pub fn run(self) -> io::Result<Report> {
        let (guest_doorbell, guest_doorbell_qemu) = socketpair()?;
        let (output_doorbell, output_doorbell_qemu) = socketpair()?;
        let (input_doorbell, input_doorbell_qemu) = socketpair()?;
        let (klog, klog_guest) = socketpair()?;
        let (control, control_guest) = socketpair()?;
        let fds = ChannelFds {
            guest_doorbell: guest_doorbell_qemu.as_raw_fd(),
            output_doorbell: output_doorbell_qemu.as_raw_fd(),
            input_doorbell: input_doorbell_qemu.as_raw_fd(),
            klog: klog_guest.as_raw_fd(),
            control: control_guest.as_raw_fd(),
            guest_ram: self.guest_ram.raw_fd(),
        };
        let inherited =
            [fds.guest_doorbell, fds.output_doorbell, fds.input_doorbell, fds.klog, fds.control, fds.guest_ram];

        let mut command = Command::new(&self.qemu);
        command
            .args(qemu::arguments(self.machine, fds))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // Its own process group: a Ctrl-C on the terminal reaches only us, and we
            // decide (kill QEMU, restore the terminal, exit 130).
            .process_group(0);
        // SAFETY: only async-signal-safe calls (fcntl, prctl) between fork and exec.
        unsafe {
            command.pre_exec(move || {
                for &fd in &inherited {
                    if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                // If timeshare dies (even by SIGKILL), QEMU goes with it.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let started = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot start {}: {e}", self.qemu.display())))?;
        // Only QEMU holds the guest ends now: when it exits, our ends see EOF.
        drop((guest_doorbell_qemu, output_doorbell_qemu, input_doorbell_qemu, klog_guest, control_guest));

        let escaped = Arc::new(AtomicBool::new(false));
        let ready = Arc::new(Ready::default());
        let booted = ready.clone();
        let host_io = Arc::new(HostIo::new(self.guest_ram.clone(), guest_doorbell));
        let (console_announce, console_announced) = std::sync::mpsc::channel();
        let output_thread = host_io::spawn_output(host_io.clone(), console_announced, output_doorbell);
        host_io::spawn_input(host_io.clone(), input_doorbell, ready.clone(), escaped.clone());
        let klog_thread = spawn_log(klog, self.log);
        let machine_stopped = Arc::new(AtomicBool::new(false));
        let (trace_ring, trace_thread) = if self.tracing {
            let (announce, announced) = std::sync::mpsc::channel();
            (Some(announce), Some(trace_ring::spawn_reader(self.guest_ram, announced, machine_stopped.clone())))
        } else {
            (None, None)
        };
        let control_io = host_io.clone();
        let control_thread = thread::Builder::new().name("control".into()).spawn(move || {
            let announced = Announced { ready: &ready, console: (&control_io, console_announce), trace_ring };
            read_control(control, announced)
        })?;
        let qemu_stderr = child.stderr.take().expect("stderr is piped");
        let verbose = self.verbose;
        let qemu_stderr_thread =
            thread::Builder::new().name("qemu-stderr".into()).spawn(move || read_qemu_stderr(qemu_stderr, verbose))?;

        let deadlines = Deadlines { run: self.timeout, boot: self.boot_deadline.map(|boot| (boot, booted)) };
        let end = wait(&mut child, started, deadlines, &escaped, &host_io);
        machine_stopped.store(true, Ordering::SeqCst);
        let end = end?;

        let _ = output_thread.join();
        let log_tail = klog_thread.join().unwrap_or_default();
        let control = control_thread.join().unwrap_or_default();
        let qemu_stderr = qemu_stderr_thread.join().unwrap_or_default();
        let trace = trace_thread.map(|thread| thread.join().unwrap_or_default());
        Ok(Report { end, control, log_tail, qemu_stderr, trace })
    }
}

/// A connected pair of unix stream sockets, both ends close-on-exec, neither on 0, 1 or 2
/// (so that setting up QEMU's stdio cannot clobber them).
fn socketpair() -> io::Result<(UnixStream, OwnedFd)> {
    let (ours, theirs) = UnixStream::pair()?;
    Ok((UnixStream::from(above_stdio(ours.into())?), above_stdio(theirs.into())?))
}

fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor that we then own.
    let new: RawFd = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    use std::os::fd::FromRawFd;
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// When `wait` stops the machine by itself: at `--timeout`, and when the kernel has
/// not said `ready` by the boot deadline.
struct Deadlines {
    run: Option<Duration>,
    boot: Option<(Duration, Arc<Ready>)>,
}

/// Wait for QEMU to exit, a deadline, a signal, or the console escape (all but the
/// first kill QEMU), passing the host terminal's resizes on meanwhile.
fn wait(
    child: &mut Child,
    started: Instant,
    deadlines: Deadlines,
    escaped: &AtomicBool,
    host_io: &HostIo,
) -> io::Result<QemuEnd> {
    loop {
        host_io::follow_resizes(host_io);
        if let Some(status) = child.try_wait()? {
            return Ok(QemuEnd::Exited(status.code()));
        }
        let elapsed = started.elapsed();
        let reason = if deadlines.run.is_some_and(|t| elapsed >= t) {
            Some(QemuEnd::TimedOut)
        } else if let Some((boot, _)) =
            deadlines.boot.as_ref().filter(|(boot, ready)| elapsed >= *boot && !ready.arrived())
        {
            Some(QemuEnd::NotBooted(*boot))
        } else if let Some(signal) = terminal::received() {
            Some(QemuEnd::Interrupted(signal))
        } else if escaped.load(Ordering::SeqCst) {
            Some(QemuEnd::Escaped)
        } else {
            None
        };
        if let Some(reason) = reason {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(reason);
        }
        thread::sleep(POLL);
    }
}

/// Set once the kernel's `ready` record arrived: its console takes input from then on
/// (bytes sent earlier could be lost when it resets the UART).
#[derive(Default)]
pub struct Ready {
    arrived: std::sync::Mutex<bool>,
    changed: std::sync::Condvar,
}

impl Ready {
    fn announce(&self) {
        *self.arrived.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.changed.notify_all();
    }

    fn arrived(&self) -> bool {
        *self.arrived.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn wait(&self) {
        let mut arrived = self.arrived.lock().unwrap_or_else(|e| e.into_inner());
        while !*arrived {
            arrived = self.changed.wait(arrived).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// The console escape: Ctrl-A x quits, Ctrl-A Ctrl-A is a literal Ctrl-A, Ctrl-A followed
/// by anything else passes both through.
#[derive(Default)]
pub struct Escape {
    pending: bool,
}

pub const ESCAPE_KEY: u8 = 0x01; // Ctrl-A

impl Escape {
    /// Append to `out` what goes to the guest; true when the quit sequence was typed.
    pub fn filter(&mut self, input: &[u8], out: &mut Vec<u8>) -> bool {
        for &byte in input {
            if self.pending {
                self.pending = false;
                match byte {
                    b'x' | b'X' => return true,
                    ESCAPE_KEY => out.push(ESCAPE_KEY),
                    other => out.extend_from_slice(&[ESCAPE_KEY, other]),
                }
            } else if byte == ESCAPE_KEY {
                self.pending = true;
            } else {
                out.push(byte);
            }
        }
        false
    }
}

/// The kernel log: to its sink as it comes; the last lines kept for a failure report.
fn spawn_log(mut from: UnixStream, sink: LogSink) -> JoinHandle<Vec<String>> {
    thread::Builder::new()
        .name("klog".into())
        .spawn(move || {
            let mut sink: Option<Box<dyn Write>> = match sink {
                LogSink::Stderr => Some(Box::new(io::stderr())),
                LogSink::File(file) => Some(Box::new(file)),
                LogSink::Memory => None,
            };
            let mut tail = Tail::new(LOG_TAIL_LINES);
            let mut buf = [0u8; 8192];
            loop {
                match from.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        tail.push(&buf[..n]);
                        if let Some(out) = sink.as_mut() {
                            if out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
                                sink = None;
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            tail.into_lines()
        })
        .expect("spawn the kernel log thread")
}

/// The last `capacity` lines of a byte stream (an unfinished last line included).
pub struct Tail {
    capacity: usize,
    lines: std::collections::VecDeque<String>,
    partial: Vec<u8>,
}

/// Longest line kept (a runaway line without `\n` must not grow without bound).
const MAX_LINE: usize = 4096;

impl Tail {
    pub fn new(capacity: usize) -> Tail {
        Tail { capacity, lines: Default::default(), partial: Vec::new() }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if byte == b'\n' {
                let line = String::from_utf8_lossy(&self.partial).trim_end_matches('\r').to_string();
                self.partial.clear();
                self.lines.push_back(line);
                if self.lines.len() > self.capacity {
                    self.lines.pop_front();
                }
            } else if self.partial.len() < MAX_LINE {
                self.partial.push(byte);
            }
        }
    }

    pub fn into_lines(mut self) -> Vec<String> {
        if !self.partial.is_empty() {
            self.push(b"\n");
        }
        self.lines.into()
    }
}

/// Who waits for which of the kernel's announcements on the control channel.
struct Announced<'a> {
    ready: &'a Ready,
    /// Where the console's channel is: set in `HostIo`, then said to the output thread.
    console: (&'a HostIo, std::sync::mpsc::Sender<()>),
    /// Where the trace ring is, for the trace reader (when tracing).
    trace_ring: Option<std::sync::mpsc::Sender<(u64, u32)>>,
}

/// Read the control channel to its end, passing on the kernel's announcements.
fn read_control(from: UnixStream, announced: Announced) -> Summary {
    let Announced { ready, console: (host_io, console), trace_ring } = announced;
    let mut summary = Summary::default();
    let mut reader = io::BufReader::new(from);
    let mut line = Vec::new();
    loop {
        line.clear();
        match io::BufRead::read_until(&mut reader, b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let record = Record::parse(&String::from_utf8_lossy(&line));
                if record == Record::Ready {
                    ready.announce();
                }
                // Always said, --quiet or not: it explains a run that does not end.
                if let Record::StillRunning { init, ref processes } = record {
                    eprintln!("{}", crate::control::still_running_line(init, processes));
                }
                if let Record::Console { physical, capacity } = record {
                    host_io.announce(physical, capacity);
                    let _ = console.send(());
                }
                if let (Record::Trace(TraceRecord::Ring { physical, capacity }), Some(reader)) = (&record, &trace_ring)
                {
                    let _ = reader.send((*physical, *capacity));
                }
                summary.add(&record);
            }
        }
    }
    summary
}

fn read_qemu_stderr(mut from: std::process::ChildStderr, verbose: bool) -> String {
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if verbose {
                    let _ = io::stderr().write_all(&buf[..n]);
                }
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > QEMU_STDERR_LIMIT {
                    kept.drain(..kept.len() - QEMU_STDERR_LIMIT);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filtered(input: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut escape = Escape::default();
        let mut out = Vec::new();
        for chunk in input {
            if escape.filter(chunk, &mut out) {
                return (out, true);
            }
        }
        (out, false)
    }

    #[test]
    fn escape_sequence() {
        assert_eq!(filtered(&[b"ab\x03c\n"]), (b"ab\x03c\n".to_vec(), false));
        assert_eq!(filtered(&[b"ab\x01", b"xyz"]), (b"ab".to_vec(), true));
        assert_eq!(filtered(&[b"\x01\x01q"]), (b"\x01q".to_vec(), false));
        assert_eq!(filtered(&[b"\x01c"]), (b"\x01c".to_vec(), false));
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let mut tail = Tail::new(2);
        tail.push(b"one\ntwo\r\nth");
        tail.push(b"ree\nfour");
        assert_eq!(tail.into_lines(), ["three", "four"]);
        let mut tail = Tail::new(5);
        tail.push(&vec![b'x'; 10_000]);
        let lines = tail.into_lines();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].len(), MAX_LINE);
    }
}
