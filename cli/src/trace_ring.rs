//! The host side of the kernel's trace ring (protocol: `kernel_core::trace`).
//!
//! With `--trace` or `--timeline`, guest RAM is a memory file (memfd) that this process
//! creates and QEMU maps shared; we map it too. When the kernel announces its ring on
//! the control channel (`trace ring=PHYS events=N`), the reader thread starts copying
//! events out of it every millisecond and moves the ring's `TAIL` on, so the kernel
//! can reuse the slots: the ring only overflows (and the kernel counts drops) when the
//! guest writes a whole ring's worth faster than we read. After QEMU has exited, the
//! reader drains what is left, so nothing recorded before power-off (or a crash, or
//! a timeout) is lost.
//!
//! Physical addresses are file offsets: the ring lies in the kernel heap, below 4 GiB,
//! where QEMU's `pc` machine maps guest RAM from offset 0 on.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use kernel_core::trace as format;

/// Guest RAM, as a memory file mapped into this process.
pub struct GuestRam {
    file: OwnedFd,
    base: *mut AtomicU64,
    bytes: usize,
}

// SAFETY: the mapping is only ever accessed through atomics (`words`), and it lives
// until the last `Arc<GuestRam>` is dropped.
unsafe impl Send for GuestRam {}
unsafe impl Sync for GuestRam {}

impl GuestRam {
    /// A fresh, zeroed memory file of `mib` MiB, mapped shared.
    pub fn create(mib: u32) -> io::Result<GuestRam> {
        let bytes = usize::try_from(u64::from(mib) << 20).map_err(|_| io::Error::other("guest RAM too large"))?;
        // SAFETY: memfd_create with a NUL-terminated name; the result is a new descriptor we own.
        let fd = unsafe { libc::memfd_create(c"timeshare-guest-ram".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by nothing else.
        let file = unsafe { OwnedFd::from_raw_fd(fd) };
        // Never on 0, 1 or 2, which QEMU's stdio setup would replace.
        let file = if file.as_raw_fd() > 2 {
            file
        } else {
            // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor that we then own.
            let moved = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
            if moved < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: as above: a new descriptor, ours alone.
            unsafe { OwnedFd::from_raw_fd(moved) }
        };
        // SAFETY: plain system calls on a descriptor we own.
        if unsafe { libc::ftruncate(file.as_raw_fd(), bytes as libc::off_t) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new shared mapping of the whole file; nothing else is at that address.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(GuestRam { file, base: base.cast(), bytes })
    }

    /// The descriptor QEMU inherits.
    pub fn raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// The 64-bit words `[physical, physical + 8 * count)` of guest RAM, if they are
    /// inside it and aligned.
    pub fn words(&self, physical: u64, count: usize) -> Option<&[AtomicU64]> {
        let start = usize::try_from(physical).ok()?;
        let end = count.checked_mul(8)?.checked_add(start)?;
        if start % 8 != 0 || end > self.bytes {
            return None;
        }
        // SAFETY: in bounds and aligned (checked above); the memory stays mapped while
        // `self` lives, and is only accessed atomically here and by the guest.
        Some(unsafe { std::slice::from_raw_parts(self.base.add(start / 8), count) })
    }
}

impl Drop for GuestRam {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `create` made; no reference into it
        // outlives `self` (`words` borrows `self`).
        unsafe { libc::munmap(self.base.cast(), self.bytes) };
    }
}

/// What the reader got out of the ring.
#[derive(Debug, Default)]
pub struct Capture {
    /// Every event copied out, in order, as the kernel encoded it.
    pub events: Vec<[u64; format::EVENT_WORDS]>,
    /// The TSC frequency the kernel measured.
    pub tsc_hz: u64,
    /// Events the kernel dropped because the ring was full.
    pub dropped: u64,
    /// The ring's size in events (0 when it was never announced).
    pub capacity: u32,
    /// Why reading stopped early, if it did (a ring that is not where it was said to be).
    pub error: Option<String>,
}

/// How often the reader looks at the ring.
const POLL: Duration = Duration::from_millis(1);

/// Starts the reader: it waits for the ring's announcement on `announced`, then copies
/// events out until `machine_stopped` is set, and drains the ring once more after.
pub fn spawn_reader(
    ram: Arc<GuestRam>,
    announced: Receiver<(u64, u32)>,
    machine_stopped: Arc<AtomicBool>,
) -> JoinHandle<Capture> {
    thread::Builder::new()
        .name("trace".into())
        .spawn(move || {
            let mut capture = Capture::default();
            let (physical, capacity) = loop {
                match announced.recv_timeout(POLL * 5) {
                    Ok(ring) => break ring,
                    Err(RecvTimeoutError::Timeout) if !machine_stopped.load(Ordering::SeqCst) => {}
                    Err(_) => match announced.try_recv() {
                        Ok(ring) => break ring,
                        Err(_) => return capture,
                    },
                }
            };
            capture.capacity = capacity;
            let Some(words) = ram.words(physical, format::ring_words(capacity)) else {
                capture.error = Some(format!("the trace ring at {physical:#x} is outside guest RAM"));
                return capture;
            };
            if words[format::MAGIC_WORD].load(Ordering::Acquire) != format::MAGIC
                || words[format::CAPACITY_WORD].load(Ordering::Relaxed) != u64::from(capacity)
            {
                capture.error = Some(format!("no trace ring at {physical:#x}"));
                return capture;
            }
            capture.tsc_hz = words[format::TSC_HZ_WORD].load(Ordering::Relaxed);
            loop {
                // Read the flag before draining: whatever the guest wrote before it
                // stopped is then in this drain or an earlier one.
                let stopped = machine_stopped.load(Ordering::SeqCst);
                let copied = drain(words, u64::from(capacity), &mut capture);
                if stopped || capture.error.is_some() {
                    break;
                }
                if copied == 0 {
                    thread::sleep(POLL);
                }
            }
            capture.dropped = words[format::DROPPED_WORD].load(Ordering::Relaxed);
            capture
        })
        .expect("spawn the trace reader")
}

/// Copies the events between `TAIL` and `HEAD` and moves `TAIL` to `HEAD`. Returns how
/// many were copied.
fn drain(words: &[AtomicU64], capacity: u64, capture: &mut Capture) -> u64 {
    let head = words[format::HEAD_WORD].load(Ordering::Acquire);
    let tail = words[format::TAIL_WORD].load(Ordering::Relaxed);
    let pending = head.wrapping_sub(tail);
    if pending > capacity {
        capture.error = Some(format!("the trace ring is inconsistent (head {head}, tail {tail})"));
        return 0;
    }
    for index in tail..head {
        let slot = format::slot_word(index, capacity);
        let mut event = [0u64; format::EVENT_WORDS];
        for (value, word) in event.iter_mut().zip(&words[slot..slot + format::EVENT_WORDS]) {
            *value = word.load(Ordering::Relaxed);
        }
        capture.events.push(event);
    }
    words[format::TAIL_WORD].store(head, Ordering::Release);
    pending
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel_core::trace::{Event, What};

    /// Plays the kernel's part on a ring in a `GuestRam`: writes `count` events the way
    /// kernel/src/trace.rs does, dropping when full.
    fn guest_writes(words: &[AtomicU64], capacity: u64, first: u64, count: u64) {
        for tsc in first..first + count {
            let head = words[format::HEAD_WORD].load(Ordering::Relaxed);
            let tail = words[format::TAIL_WORD].load(Ordering::Acquire);
            if head - tail >= capacity {
                words[format::DROPPED_WORD].fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let event = Event { tsc, cpu: 0, pid: 1, what: What::TrapExit }.encode();
            let slot = format::slot_word(head, capacity);
            for (word, value) in words[slot..].iter().zip(event) {
                word.store(value, Ordering::Relaxed);
            }
            words[format::HEAD_WORD].store(head + 1, Ordering::Release);
        }
    }

    #[test]
    fn the_reader_follows_the_guest_and_counts_drops() {
        let ram = Arc::new(GuestRam::create(1).unwrap());
        let physical = 4096;
        let capacity = 8u32;
        let words = ram.words(physical, format::ring_words(capacity)).unwrap();
        words[format::CAPACITY_WORD].store(8, Ordering::Relaxed);
        words[format::TSC_HZ_WORD].store(1_000_000_000, Ordering::Relaxed);
        words[format::MAGIC_WORD].store(format::MAGIC, Ordering::Release);

        let (send, receive) = std::sync::mpsc::channel();
        let stopped = Arc::new(AtomicBool::new(false));
        let reader = spawn_reader(ram.clone(), receive, stopped.clone());
        // 20 events before the reader looks: 8 fit, 12 are dropped. Then three rounds
        // of 6, each read before the next (so none is dropped).
        guest_writes(words, 8, 0, 20);
        send.send((physical, capacity)).unwrap();
        let mut read = 8;
        for round in 0..3 {
            while words[format::TAIL_WORD].load(Ordering::Acquire) < read {
                thread::sleep(Duration::from_millis(1));
            }
            guest_writes(words, 8, 20 + round * 6, 6);
            read += 6;
        }
        stopped.store(true, Ordering::SeqCst);
        let capture = reader.join().unwrap();
        assert_eq!(capture.error, None);
        assert_eq!(capture.tsc_hz, 1_000_000_000);
        assert_eq!(capture.dropped, 12);
        let stamps: Vec<u64> = capture.events.iter().map(|event| event[0]).collect();
        assert_eq!(stamps, (0..8).chain(20..38).collect::<Vec<u64>>());
    }

    #[test]
    fn a_ring_that_is_not_there_is_an_error() {
        let ram = Arc::new(GuestRam::create(1).unwrap());
        let (send, receive) = std::sync::mpsc::channel();
        let stopped = Arc::new(AtomicBool::new(true));
        send.send((1 << 30, 8)).unwrap();
        let capture = spawn_reader(ram.clone(), receive, stopped.clone()).join().unwrap();
        assert!(capture.error.unwrap().contains("outside guest RAM"));
        let (send, receive) = std::sync::mpsc::channel();
        send.send((0, 8)).unwrap();
        let capture = spawn_reader(ram, receive, stopped).join().unwrap();
        assert_eq!(capture.error.as_deref(), Some("no trace ring at 0x0"));
    }

    #[test]
    fn no_announcement_no_events() {
        let ram = Arc::new(GuestRam::create(1).unwrap());
        let (_send, receive) = std::sync::mpsc::channel();
        let capture = spawn_reader(ram, receive, Arc::new(AtomicBool::new(true))).join().unwrap();
        assert!(capture.events.is_empty() && capture.capacity == 0);
    }
}
