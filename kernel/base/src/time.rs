//! Kernel time: the TSC, calibrated at boot against the PIT, gives monotonic
//! nanoseconds; the RTC read at boot anchors wall-clock time; the timer tick counts
//! scheduler ticks.
//!
//! The clocks are read from the clock page (`vdso`), with the conversion the
//! vDSO uses too (`kernel_core::clock`): the system calls and the vDSO agree to
//! the nanosecond.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::x86_64::{cpu, rtc};
use crate::vdso;
use kernel_core::clock::{ClockValues, TscConversion};

static BOOT_TSC: AtomicU64 = AtomicU64::new(0);
static TICKS: AtomicU64 = AtomicU64::new(0);

/// Notes the TSC at kernel entry: the origin of CLOCK_MONOTONIC and of the log's
/// timestamps.
pub fn mark_boot() {
    BOOT_TSC.store(cpu::rdtsc(), Ordering::Relaxed);
}

/// Publishes the measured TSC frequency and the wall clock (the RTC's) on the
/// clock page. The page's only writer: once, at boot, before any program runs
/// and before the other CPUs start (nothing sets the clocks later).
pub fn init(tsc_hz: u64) {
    let Some(page) = vdso::init() else {
        crate::fail(format_args!("no memory for the vDSO"));
    };
    let mut values = ClockValues {
        boot_tsc: BOOT_TSC.load(Ordering::Relaxed),
        conversion: TscConversion::from_hz(tsc_hz),
        realtime_offset_ns: 0,
        cpu_number_in_tsc_aux: cpu::features().rdtscp,
    };
    values.realtime_offset_ns = rtc::read_epoch_seconds() * 1_000_000_000 - values.monotonic_ns(cpu::rdtsc());
    page.publish(&values);
}

/// The clock page's values (None before calibration). Out of line: the
/// seqlock's retry loop (inlined into the vDSO, where every instruction counts)
/// would otherwise be copied into every kernel function that reads the time, and
/// their callers', swelling them and their register pressure for a read that
/// costs a system call anyway.
#[inline(never)]
fn clock() -> Option<ClockValues> {
    vdso::clock_page().map(|page| page.read())
}

/// Converts TSC cycles to nanoseconds (0 before calibration).
#[inline]
pub fn cycles_to_ns(cycles: u64) -> u64 {
    clock().map_or(0, |clock| clock.conversion.to_ns(cycles))
}

/// Nanoseconds since boot (CLOCK_MONOTONIC).
#[inline]
pub fn monotonic_ns() -> u64 {
    clock().map_or(0, |clock| clock.monotonic_ns(cpu::rdtsc()))
}

/// Nanoseconds since the Unix epoch (CLOCK_REALTIME).
#[inline]
pub fn realtime_ns() -> u64 {
    clock().map_or(0, |clock| clock.realtime_ns(cpu::rdtsc()))
}

/// Milliseconds since boot, for log lines.
#[inline]
pub fn uptime_ms() -> u64 {
    monotonic_ns() / 1_000_000
}

/// Counts `ticks` timer ticks (more than one when the timer skipped interrupts
/// nobody needed) and returns the new count.
#[inline]
pub fn count_ticks(ticks: u64) -> u64 {
    TICKS.fetch_add(ticks, Ordering::Relaxed) + ticks
}
