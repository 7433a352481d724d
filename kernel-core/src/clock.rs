//! The clocks' arithmetic and the page that publishes it: the one conversion from
//! TSC cycles to nanoseconds, which the kernel's system calls and the vDSO's
//! functions both use, so that a program mixing the two never sees time go back.
//!
//! The vDSO (kernel/vdso) compiles this very file into itself (`#[path]`): it may
//! use nothing but `core`, and nothing here may need relocations.

use core::sync::atomic::{fence, AtomicU64, Ordering};

pub const CLOCK_REALTIME: i32 = 0;
pub const CLOCK_MONOTONIC: i32 = 1;
pub const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
pub const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
pub const CLOCK_MONOTONIC_RAW: i32 = 4;
pub const CLOCK_REALTIME_COARSE: i32 = 5;
pub const CLOCK_MONOTONIC_COARSE: i32 = 6;
pub const CLOCK_BOOTTIME: i32 = 7;

const NANOS_PER_SECOND: u128 = 1_000_000_000;
/// The largest shift tried: `NANOS_PER_SECOND << (MAX_SHIFT + 1)` still fits a u128.
const MAX_SHIFT: u32 = 96;

/// Cycles to nanoseconds as a fixed-point multiply, `cycles * mult >> shift`:
/// no division on the clock's path (a u128 division is a library call of some
/// hundred cycles), and no drift from the exact quotient `cycles * 1e9 / hz`
/// (`mult` keeps 64 significant bits, see `from_hz`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TscConversion {
    pub mult: u64,
    pub shift: u32,
}

impl TscConversion {
    /// Before calibration: every duration is 0.
    pub const UNCALIBRATED: TscConversion = TscConversion { mult: 0, shift: 0 };

    /// The conversion for a counter of `hz` cycles a second: the largest shift
    /// keeping `mult = 1e9 * 2^shift / hz` below 2^64, so that `mult` has its top
    /// bit set and the product of 64-bit cycles with it fits a u128. The relative
    /// error of `mult` is then below 2^-63: under a nanosecond for any duration
    /// up to 2^63 ns (292 years).
    pub fn from_hz(hz: u64) -> TscConversion {
        let hz = u128::from(hz.max(1));
        let mut shift = 0;
        while shift < MAX_SHIFT && (NANOS_PER_SECOND << (shift + 1)) / hz <= u128::from(u64::MAX) {
            shift += 1;
        }
        TscConversion { mult: ((NANOS_PER_SECOND << shift) / hz) as u64, shift }
    }

    /// Nanoseconds in `cycles`, rounded down (never above the exact quotient).
    #[inline(always)]
    pub fn to_ns(self, cycles: u64) -> u64 {
        ((u128::from(cycles) * u128::from(self.mult)) >> self.shift) as u64
    }
}

/// What the clocks are computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockValues {
    /// The TSC at boot: CLOCK_MONOTONIC's origin.
    pub boot_tsc: u64,
    pub conversion: TscConversion,
    /// CLOCK_REALTIME minus CLOCK_MONOTONIC, in nanoseconds.
    pub realtime_offset_ns: u64,
    /// Whether RDTSCP's IA32_TSC_AUX holds the CPU's number (getcpu).
    pub cpu_number_in_tsc_aux: bool,
}

impl ClockValues {
    /// CLOCK_MONOTONIC when the TSC reads `tsc`.
    #[inline(always)]
    pub fn monotonic_ns(&self, tsc: u64) -> u64 {
        self.conversion.to_ns(tsc.wrapping_sub(self.boot_tsc))
    }

    /// CLOCK_REALTIME when the TSC reads `tsc`.
    #[inline(always)]
    pub fn realtime_ns(&self, tsc: u64) -> u64 {
        self.realtime_offset_ns.wrapping_add(self.monotonic_ns(tsc))
    }

    /// The clock `id` when the TSC reads `tsc`, for the clocks the TSC gives (the
    /// coarse ones too: this precise reading costs no more); None for the others
    /// (the CPU-time clocks, which only the kernel knows, and bad ids).
    #[inline(always)]
    pub fn clock_ns(&self, id: i32, tsc: u64) -> Option<u64> {
        match id {
            CLOCK_REALTIME | CLOCK_REALTIME_COARSE => Some(self.realtime_ns(tsc)),
            CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME => {
                Some(self.monotonic_ns(tsc))
            }
            _ => None,
        }
    }
}

/// The clock data page (Linux's vvar): `ClockValues` under a sequence counter,
/// written by the kernel and read, without a lock, by the kernel and by every
/// program through the vDSO (mapped read-only). All atomics: a page of zeros is
/// a valid, uncalibrated one.
#[repr(C)]
#[derive(Debug, Default)]
pub struct ClockPage {
    /// Odd while a write is under way; bumped by two for each write.
    sequence: AtomicU64,
    boot_tsc: AtomicU64,
    mult: AtomicU64,
    shift: AtomicU64,
    realtime_offset_ns: AtomicU64,
    cpu_number_in_tsc_aux: AtomicU64,
}

impl ClockPage {
    /// Publishes `values`. Writers must not overlap (the caller serializes them);
    /// readers on other CPUs may run at any time.
    pub fn publish(&self, values: &ClockValues) {
        let sequence = self.sequence.load(Ordering::Relaxed);
        self.sequence.store(sequence.wrapping_add(1), Ordering::Relaxed);
        // The odd count is visible before any field changes: a reader that saw a
        // new field (its acquire fence) then sees the count moved.
        fence(Ordering::Release);
        self.boot_tsc.store(values.boot_tsc, Ordering::Relaxed);
        self.mult.store(values.conversion.mult, Ordering::Relaxed);
        self.shift.store(u64::from(values.conversion.shift), Ordering::Relaxed);
        self.realtime_offset_ns.store(values.realtime_offset_ns, Ordering::Relaxed);
        self.cpu_number_in_tsc_aux.store(u64::from(values.cpu_number_in_tsc_aux), Ordering::Relaxed);
        self.sequence.store(sequence.wrapping_add(2), Ordering::Release);
    }

    /// A consistent copy of the values: retried while a write is under way or
    /// happened during the copy.
    #[inline(always)]
    pub fn read(&self) -> ClockValues {
        loop {
            let before = self.sequence.load(Ordering::Acquire);
            if before & 1 == 0 {
                let values = ClockValues {
                    boot_tsc: self.boot_tsc.load(Ordering::Relaxed),
                    conversion: TscConversion {
                        mult: self.mult.load(Ordering::Relaxed),
                        shift: self.shift.load(Ordering::Relaxed) as u32,
                    },
                    realtime_offset_ns: self.realtime_offset_ns.load(Ordering::Relaxed),
                    cpu_number_in_tsc_aux: self.cpu_number_in_tsc_aux.load(Ordering::Relaxed) != 0,
                };
                // The fields are read before the count is read again.
                fence(Ordering::Acquire);
                if self.sequence.load(Ordering::Relaxed) == before {
                    return values;
                }
            }
            core::hint::spin_loop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    /// TSC rates from a slow virtual counter to a fast CPU, and odd ones.
    const RATES: [u64; 8] =
        [1, 1_000_000, 100_000_000, 999_999_937, 1_000_000_000, 2_893_437_123, 3_000_000_000, 5_000_000_001];

    fn exact(cycles: u64, hz: u64) -> u128 {
        u128::from(cycles) * NANOS_PER_SECOND / u128::from(hz)
    }

    #[test]
    fn matches_the_exact_division_within_a_nanosecond_for_a_century() {
        for hz in RATES {
            let conversion = TscConversion::from_hz(hz);
            // A century of cycles, stepped unevenly, and its last cycles.
            let century = hz.saturating_mul(100 * 365 * 24 * 3600);
            let mut cycles = 0u64;
            while cycles < century {
                let converted = u128::from(conversion.to_ns(cycles));
                let wanted = exact(cycles, hz);
                assert!(
                    converted <= wanted && wanted - converted <= 1,
                    "hz {hz} cycles {cycles}: {converted} vs {wanted}"
                );
                cycles = cycles.saturating_add(cycles / 7 + 12_345);
            }
            for cycles in century - 1000..century {
                let wanted = exact(cycles, hz);
                assert!(wanted - u128::from(conversion.to_ns(cycles)) <= 1, "hz {hz} at {cycles}");
            }
        }
    }

    #[test]
    fn never_goes_back() {
        for hz in RATES {
            let conversion = TscConversion::from_hz(hz);
            let mut last = 0;
            for cycles in (0..2_000_000u64).chain((1u64 << 40)..(1 << 40) + 2_000_000) {
                let now = conversion.to_ns(cycles);
                assert!(now >= last, "hz {hz}: {cycles} cycles gave {now} after {last}");
                last = now;
            }
        }
    }

    #[test]
    fn mult_keeps_64_significant_bits() {
        for hz in RATES.into_iter().filter(|&hz| hz > 1) {
            let conversion = TscConversion::from_hz(hz);
            assert!(conversion.mult >> 63 == 1, "hz {hz}: {conversion:?}");
        }
        assert_eq!(TscConversion::UNCALIBRATED.to_ns(u64::MAX), 0);
    }

    #[test]
    fn clocks_from_the_values() {
        let values = ClockValues {
            boot_tsc: 1_000,
            conversion: TscConversion::from_hz(2_000_000_000),
            realtime_offset_ns: 1_700_000_000_000_000_000,
            cpu_number_in_tsc_aux: false,
        };
        assert_eq!(values.monotonic_ns(1_000), 0);
        assert_eq!(values.monotonic_ns(2_000_001_000), 1_000_000_000);
        assert_eq!(values.realtime_ns(2_000_001_000), 1_700_000_001_000_000_000);
        assert_eq!(values.clock_ns(CLOCK_BOOTTIME, 2_000_001_000), Some(1_000_000_000));
        assert_eq!(values.clock_ns(CLOCK_REALTIME_COARSE, 1_000), Some(1_700_000_000_000_000_000));
        for unserved in [CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, 8, 11, -1, -6] {
            assert_eq!(values.clock_ns(unserved, 1_000), None);
        }
    }

    #[test]
    fn a_page_of_zeros_reads_as_uncalibrated() {
        let values = ClockPage::default().read();
        assert_eq!(values.conversion, TscConversion::UNCALIBRATED);
        assert_eq!(values.monotonic_ns(12345), 0);
    }

    /// A reader racing the writer sees only whole publications: every field of
    /// each copy comes from the same one.
    #[test]
    fn readers_never_see_a_torn_write() {
        let page = Arc::new(ClockPage::default());
        let done = Arc::new(AtomicBool::new(false));
        let values = |n: u64| ClockValues {
            boot_tsc: n,
            conversion: TscConversion { mult: n, shift: (n % 64) as u32 },
            realtime_offset_ns: n,
            cpu_number_in_tsc_aux: n % 2 == 1,
        };
        let reader = {
            let (page, done) = (page.clone(), done.clone());
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !done.load(Ordering::Relaxed) || reads < 1000 {
                    let seen = page.read();
                    assert_eq!(seen, values(seen.boot_tsc));
                    reads += 1;
                }
            })
        };
        for n in 0..200_000 {
            page.publish(&values(n));
        }
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap();
        assert_eq!(page.read(), values(199_999));
    }
}
