//! Clock ids and the time structures of `clock_gettime`, `nanosleep` and
//! `gettimeofday`.

use super::errno::EINVAL;
use crate::bytes::{pack, Fields};

pub use crate::clock::{
    CLOCK_BOOTTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC_RAW, CLOCK_PROCESS_CPUTIME_ID,
    CLOCK_REALTIME, CLOCK_REALTIME_COARSE, CLOCK_THREAD_CPUTIME_ID,
};

const NANOS_PER_SEC: u64 = 1_000_000_000;
const NANOS_PER_MICRO: u64 = 1_000;

/// The clocks timeshare serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockId {
    Realtime,
    Monotonic,
    ProcessCputime,
    ThreadCputime,
    MonotonicRaw,
    RealtimeCoarse,
    MonotonicCoarse,
    Boottime,
}

/// Decodes a `clockid_t` argument (a C `int`). The alarm clocks, `CLOCK_TAI` and
/// the negative ids Linux uses for other processes' CPU clocks are `EINVAL`:
/// timeshare does not serve them.
pub fn decode_clock(raw: u64) -> Result<ClockId, i64> {
    match super::int_arg(raw) {
        CLOCK_REALTIME => Ok(ClockId::Realtime),
        CLOCK_MONOTONIC => Ok(ClockId::Monotonic),
        CLOCK_PROCESS_CPUTIME_ID => Ok(ClockId::ProcessCputime),
        CLOCK_THREAD_CPUTIME_ID => Ok(ClockId::ThreadCputime),
        CLOCK_MONOTONIC_RAW => Ok(ClockId::MonotonicRaw),
        CLOCK_REALTIME_COARSE => Ok(ClockId::RealtimeCoarse),
        CLOCK_MONOTONIC_COARSE => Ok(ClockId::MonotonicCoarse),
        CLOCK_BOOTTIME => Ok(ClockId::Boottime),
        _ => Err(EINVAL),
    }
}

/// `struct timespec`: 16 bytes, `tv_sec` then `tv_nsec`, both 64-bit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

impl Timespec {
    /// `nanos` nanoseconds split into seconds and nanoseconds.
    pub fn from_nanos(nanos: u64) -> Self {
        let (sec, nsec) = split_nanos(nanos);
        Self { sec, nsec: nsec as i64 }
    }

    /// The total in nanoseconds, saturating at `u64::MAX`; negative fields count
    /// as zero.
    pub fn as_nanos(&self) -> u64 {
        let sec = u64::try_from(self.sec).unwrap_or(0);
        let nsec = u64::try_from(self.nsec).unwrap_or(0);
        sec.saturating_mul(NANOS_PER_SEC).saturating_add(nsec)
    }

    /// The bytes the kernel copies to user memory.
    pub fn to_bytes(&self) -> [u8; 16] {
        pack(&[&self.sec.to_le_bytes(), &self.nsec.to_le_bytes()])
    }

    /// Reads a user-supplied timespec, valid as Linux's `timespec64_valid`
    /// demands (`sec >= 0`, `0 <= nsec < 1e9`), else `EINVAL`.
    pub fn from_bytes(bytes: [u8; 16]) -> Result<Self, i64> {
        let mut fields = Fields::new(&bytes);
        let timespec = Self { sec: fields.i64(), nsec: fields.i64() };
        let nsec_valid = u64::try_from(timespec.nsec).is_ok_and(|nsec| nsec < NANOS_PER_SEC);
        if timespec.sec < 0 || !nsec_valid {
            return Err(EINVAL);
        }
        Ok(timespec)
    }
}

/// `struct timeval`: 16 bytes, `tv_sec` then `tv_usec`, both 64-bit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeval {
    pub sec: i64,
    pub usec: i64,
}

impl Timeval {
    /// `nanos` nanoseconds as seconds and whole microseconds (rounded down).
    pub fn from_nanos(nanos: u64) -> Self {
        let (sec, nsec) = split_nanos(nanos);
        Self { sec, usec: (nsec / NANOS_PER_MICRO) as i64 }
    }

    /// The bytes the kernel copies to user memory.
    pub fn to_bytes(&self) -> [u8; 16] {
        pack(&[&self.sec.to_le_bytes(), &self.usec.to_le_bytes()])
    }

    /// Reads a user-supplied timeval (select's timeout) as Linux's select does:
    /// whole seconds in `usec` carry into `sec` (1 s + 1000000 us is 2 s), and the
    /// result must be a valid time (`sec >= 0`, `0 <= usec < 1e6`), else `EINVAL`.
    pub fn from_bytes(bytes: [u8; 16]) -> Result<Self, i64> {
        let mut fields = Fields::new(&bytes);
        let (sec, usec) = (fields.i64(), fields.i64());
        const MICROS_PER_SEC: i64 = (NANOS_PER_SEC / NANOS_PER_MICRO) as i64;
        let timeval = Self { sec: sec.saturating_add(usec / MICROS_PER_SEC), usec: usec % MICROS_PER_SEC };
        if timeval.sec < 0 || timeval.usec < 0 {
            return Err(EINVAL);
        }
        Ok(timeval)
    }

    /// The total in nanoseconds, saturating at `u64::MAX`; negative fields count
    /// as zero.
    pub fn as_nanos(&self) -> u64 {
        Timespec { sec: self.sec, nsec: self.usec.saturating_mul(NANOS_PER_MICRO as i64) }.as_nanos()
    }
}

/// Whole seconds and the remaining nanoseconds (below 1e9). The seconds fit an
/// `i64`: `u64::MAX` nanoseconds is under 2^35 seconds.
fn split_nanos(nanos: u64) -> (i64, u64) {
    ((nanos / NANOS_PER_SEC) as i64, nanos % NANOS_PER_SEC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_ids() {
        assert_eq!(decode_clock(0), Ok(ClockId::Realtime));
        assert_eq!(decode_clock(1), Ok(ClockId::Monotonic));
        assert_eq!(decode_clock(2), Ok(ClockId::ProcessCputime));
        assert_eq!(decode_clock(3), Ok(ClockId::ThreadCputime));
        assert_eq!(decode_clock(4), Ok(ClockId::MonotonicRaw));
        assert_eq!(decode_clock(5), Ok(ClockId::RealtimeCoarse));
        assert_eq!(decode_clock(6), Ok(ClockId::MonotonicCoarse));
        assert_eq!(decode_clock(7), Ok(ClockId::Boottime));
        assert_eq!(decode_clock(0xffff_ffff_0000_0001), Ok(ClockId::Monotonic));
        for bad in [8, 9, 11, 12, u64::MAX, 0xffff_fffe, 0x8000_0000] {
            assert_eq!(decode_clock(bad), Err(EINVAL), "clock {bad:#x}");
        }
    }

    #[test]
    fn timespec_layout_and_round_trip() {
        let timespec = Timespec { sec: 0x0102_0304_0506_0708, nsec: 999_999_999 };
        let bytes = timespec.to_bytes();
        assert_eq!(bytes[..8], [8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(bytes[8..], 999_999_999i64.to_le_bytes());
        assert_eq!(Timespec::from_bytes(bytes), Ok(timespec));
    }

    #[test]
    fn timespec_validation() {
        let bytes = |sec: i64, nsec: i64| Timespec { sec, nsec }.to_bytes();
        assert!(Timespec::from_bytes(bytes(0, 0)).is_ok());
        assert_eq!(Timespec::from_bytes(bytes(0, 1_000_000_000)), Err(EINVAL));
        assert_eq!(Timespec::from_bytes(bytes(0, -1)), Err(EINVAL));
        assert_eq!(Timespec::from_bytes(bytes(-1, 0)), Err(EINVAL));
        assert_eq!(Timespec::from_bytes(bytes(i64::MIN, i64::MAX)), Err(EINVAL));
        assert!(Timespec::from_bytes(bytes(i64::MAX, 0)).is_ok());
    }

    #[test]
    fn nanosecond_conversions() {
        assert_eq!(Timespec::from_nanos(1_500_000_001), Timespec { sec: 1, nsec: 500_000_001 });
        assert_eq!(Timespec::from_nanos(u64::MAX).as_nanos(), u64::MAX);
        assert_eq!(Timespec { sec: i64::MAX, nsec: 5 }.as_nanos(), u64::MAX);
        assert_eq!(Timespec { sec: -5, nsec: -5 }.as_nanos(), 0);
        assert_eq!(Timespec { sec: 2, nsec: 3 }.as_nanos(), 2_000_000_003);
        assert_eq!(Timeval::from_nanos(2_000_001_999), Timeval { sec: 2, usec: 1 });
        assert_eq!(Timeval::from_nanos(u64::MAX).sec, 18_446_744_073);
    }

    #[test]
    fn timeval_validation_and_nanoseconds() {
        let bytes = |sec: i64, usec: i64| Timeval { sec, usec }.to_bytes();
        assert_eq!(Timeval::from_bytes(bytes(1, 999_999)), Ok(Timeval { sec: 1, usec: 999_999 }));
        assert_eq!(Timeval::from_bytes(bytes(0, 1_000_000)), Ok(Timeval { sec: 1, usec: 0 }));
        assert_eq!(Timeval::from_bytes(bytes(1, 2_500_000)), Ok(Timeval { sec: 3, usec: 500_000 }));
        assert_eq!(Timeval::from_bytes(bytes(2, -1_000_000)), Ok(Timeval { sec: 1, usec: 0 }));
        assert_eq!(Timeval::from_bytes(bytes(0, -1)), Err(EINVAL));
        assert_eq!(Timeval::from_bytes(bytes(0, -1_000_000)), Err(EINVAL));
        assert_eq!(Timeval::from_bytes(bytes(-1, 0)), Err(EINVAL));
        assert_eq!(Timeval { sec: 2, usec: 5 }.as_nanos(), 2_000_005_000);
        assert_eq!(Timeval { sec: i64::MAX, usec: 1 }.as_nanos(), u64::MAX);
    }

    #[test]
    fn timeval_layout() {
        let bytes = Timeval { sec: 1, usec: 2 }.to_bytes();
        assert_eq!(bytes, [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    }
}
