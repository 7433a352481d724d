//! Kernel time: the TSC, calibrated at boot against the PIT, gives monotonic
//! nanoseconds; the RTC read at boot anchors wall-clock time; the timer tick counts
//! scheduler ticks.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::x86_64::{cpu, rtc};

static TSC_HZ: AtomicU64 = AtomicU64::new(0);
static BOOT_TSC: AtomicU64 = AtomicU64::new(0);
static BOOT_EPOCH_NS: AtomicU64 = AtomicU64::new(0);
static TICKS: AtomicU64 = AtomicU64::new(0);

/// Notes the TSC at kernel entry: the origin of CLOCK_MONOTONIC and of the log's
/// timestamps.
pub fn mark_boot() {
    BOOT_TSC.store(cpu::rdtsc(), Ordering::Relaxed);
}

/// Records the measured TSC frequency and reads the wall clock.
pub fn init(tsc_hz: u64) {
    TSC_HZ.store(tsc_hz.max(1), Ordering::Relaxed);
    BOOT_EPOCH_NS.store(rtc::read_epoch_seconds() * 1_000_000_000 - monotonic_ns(), Ordering::Relaxed);
}

/// Converts TSC cycles to nanoseconds (0 before calibration).
#[inline]
pub fn cycles_to_ns(cycles: u64) -> u64 {
    let hz = TSC_HZ.load(Ordering::Relaxed);
    if hz == 0 {
        return 0;
    }
    (u128::from(cycles) * 1_000_000_000 / u128::from(hz)) as u64
}

/// Nanoseconds since boot (CLOCK_MONOTONIC).
#[inline]
pub fn monotonic_ns() -> u64 {
    cycles_to_ns(cpu::rdtsc().wrapping_sub(BOOT_TSC.load(Ordering::Relaxed)))
}

/// Nanoseconds since the Unix epoch (CLOCK_REALTIME).
#[inline]
pub fn realtime_ns() -> u64 {
    BOOT_EPOCH_NS.load(Ordering::Relaxed) + monotonic_ns()
}

/// Milliseconds since boot, for log lines.
#[inline]
pub fn uptime_ms() -> u64 {
    monotonic_ns() / 1_000_000
}

/// Counts one timer tick and returns the new count.
#[inline]
pub fn count_tick() -> u64 {
    TICKS.fetch_add(1, Ordering::Relaxed) + 1
}
