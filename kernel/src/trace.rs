//! The event trace (`trace=N` on the command line): every trap in and out, system
//! call results, scheduling decisions, context switches and why, process creation,
//! exec and exit, blocking and waking, as fixed-size events with TSC timestamps
//! (format and ring protocol: `kernel_core::trace`).
//!
//! Where the events go: a ring of N events in the kernel heap, which is physically
//! contiguous. The host CLI maps the guest's RAM (a file it shares with QEMU) and
//! copies events out of the ring while the machine runs, so a long run loses nothing
//! as long as the host keeps up; when the ring is full an event is dropped and
//! counted, never blocked on. After power-off the host drains what is left. The
//! kernel announces the ring on the control channel (`trace ring=PHYS events=N`)
//! and reports its totals there at power-off (`trace events=N dropped=M`).
//!
//! Cost when off: `record` is inlined at every call site as one load of a static
//! flag and a branch not taken; the event is only built when the flag is set. The
//! system call fast path reads the flag once for its three events. Measured with
//! user/c/nullcall under `--icount` (guest ns = instructions), a null system call
//! took 162 instructions with the hooks compiled out, 173 with tracing off and 392
//! with it on: about 73 instructions per event.

use crate::sync::{class, OrderedMutex};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use spin::Once;

use crate::arch::x86_64::cpu;
use crate::arch::x86_64::debugcon::{self, Channel};
use crate::arch::x86_64::percpu::PerCpu;
use crate::process::Pid;
use kernel_core::trace::{self as format, Event, What};

/// Set once the ring exists; cleared when the trace is finished (at power-off).
static ENABLED: AtomicBool = AtomicBool::new(false);
static RING: Once<Ring> = Once::new();

/// The ring: header words and event slots as atomics, because the host reads and
/// writes them while the kernel runs.
struct Ring {
    head: &'static AtomicU64,
    tail: &'static AtomicU64,
    dropped: &'static AtomicU64,
    /// `capacity` slots, a power of two.
    slots: &'static [[AtomicU64; format::EVENT_WORDS]],
    /// Serializes writers (one per CPU some day): a slot is filled and `HEAD`
    /// published under it.
    writer: OrderedMutex<()>,
}

/// Creates the ring of `capacity` events (0: tracing stays off) and announces it to
/// the host. Called once at boot, after the TSC is calibrated (`tsc_hz`), before
/// the first process exists. Without memory for the ring, tracing stays off and the
/// host is told so.
pub fn init(capacity: u32, tsc_hz: u64) {
    if capacity == 0 {
        return;
    }
    let length = format::ring_words(capacity);
    let mut words: Vec<AtomicU64> = Vec::new();
    if words.try_reserve_exact(length).is_err() {
        info!("trace: no memory for {capacity} events; tracing is off");
        debugcon::write(Channel::Control, b"trace unavailable\n");
        return;
    }
    words.extend((0..length).map(|_| AtomicU64::new(0)));
    let words: &'static [AtomicU64] = words.leak();
    words[format::CAPACITY_WORD].store(u64::from(capacity), Ordering::Relaxed);
    words[format::TSC_HZ_WORD].store(tsc_hz, Ordering::Relaxed);
    words[format::MAGIC_WORD].store(format::MAGIC, Ordering::Release);
    let physical =
        crate::mm::direct_map_physical(words.as_ptr() as u64).expect("the kernel heap lies in the direct map");
    let (header, slots) = words.split_at(format::HEADER_WORDS);
    RING.call_once(|| Ring {
        head: &header[format::HEAD_WORD],
        tail: &header[format::TAIL_WORD],
        dropped: &header[format::DROPPED_WORD],
        slots: slots.as_chunks().0,
        writer: OrderedMutex::new(class::TRACE_WRITER, ()),
    });
    ENABLED.store(true, Ordering::Release);
    info!("trace: {capacity} events at physical {physical:#x}");
    let record = alloc::format!("trace ring={physical:#x} events={capacity}\n");
    debugcon::write(Channel::Control, record.as_bytes());
}

/// Whether events are being recorded (for callers that would do extra work only
/// to describe an event).
#[inline(always)]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Records that `what()` happened to process `pid` (0: this CPU's idle loop), now.
/// The event is described by a closure so that, with tracing off, not even its
/// fields are computed.
#[inline(always)]
pub fn record(pid: Pid, what: impl FnOnce() -> What) {
    if enabled() {
        write(pid, what());
    }
}

/// Records `pid`'s program name, in as many events as it takes.
pub fn record_name(pid: Pid, name: &str) {
    if enabled() {
        for chunk in format::name_chunks(name.as_bytes()) {
            write(pid, chunk);
        }
    }
}

/// Puts one event in the ring, or counts it as dropped when the host has not yet
/// made room.
#[cold]
#[inline(never)]
fn write(pid: Pid, what: What) {
    let Some(ring) = RING.get() else { return };
    let event = Event { tsc: cpu::rdtsc(), cpu: PerCpu::this().id() as u8, pid, what }.encode();
    let _writer = ring.writer.lock();
    // Another CPU may have finished the trace since this one checked `enabled`.
    if !enabled() {
        return;
    }
    let head = ring.head.load(Ordering::Relaxed);
    let tail = ring.tail.load(Ordering::Acquire);
    let capacity = ring.slots.len() as u64;
    match ring.slots.get((head & capacity.wrapping_sub(1)) as usize) {
        Some(slot) if head.wrapping_sub(tail) < capacity => {
            for (word, value) in slot.iter().zip(event) {
                word.store(value, Ordering::Relaxed);
            }
            ring.head.store(head + 1, Ordering::Release);
        }
        _ => {
            ring.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Tells the host how many events were recorded and dropped (at power-off).
/// Recording stops first, so the totals are final whatever the other CPUs do.
pub fn finish() {
    let Some(ring) = RING.get() else { return };
    let (recorded, dropped) = {
        let _writer = ring.writer.lock();
        ENABLED.store(false, Ordering::Relaxed);
        (ring.head.load(Ordering::Relaxed), ring.dropped.load(Ordering::Relaxed))
    };
    let record = alloc::format!("trace events={recorded} dropped={dropped}\n");
    debugcon::write(Channel::Control, record.as_bytes());
}
