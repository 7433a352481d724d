//! Resource limits (getrlimit/setrlimit/prlimit64), usage (getrusage, wait4) and
//! priorities (getpriority/setpriority).

use super::errno::{EINVAL, EPERM, ESRCH};
use super::time::Timeval;

pub const RLIMIT_CPU: u32 = 0;
pub const RLIMIT_FSIZE: u32 = 1;
pub const RLIMIT_DATA: u32 = 2;
pub const RLIMIT_STACK: u32 = 3;
pub const RLIMIT_CORE: u32 = 4;
pub const RLIMIT_RSS: u32 = 5;
pub const RLIMIT_NPROC: u32 = 6;
pub const RLIMIT_NOFILE: u32 = 7;
pub const RLIMIT_MEMLOCK: u32 = 8;
pub const RLIMIT_AS: u32 = 9;
pub const RLIMIT_LOCKS: u32 = 10;
pub const RLIMIT_SIGPENDING: u32 = 11;
pub const RLIMIT_MSGQUEUE: u32 = 12;
pub const RLIMIT_NICE: u32 = 13;
pub const RLIMIT_RTPRIO: u32 = 14;
pub const RLIMIT_RTTIME: u32 = 15;
/// Number of resources (valid ones are `0..RLIM_NLIMITS`).
pub const RLIM_NLIMITS: usize = 16;
pub const RLIM_INFINITY: u64 = u64::MAX;

pub const RUSAGE_SELF: i32 = 0;
pub const RUSAGE_CHILDREN: i32 = -1;
pub const RUSAGE_THREAD: i32 = 1;

/// `struct rlimit` (16 bytes): soft then hard limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    pub current: u64,
    pub maximum: u64,
}

impl Rlimit {
    pub const SIZE: usize = 16;
    pub const UNLIMITED: Rlimit = Rlimit { current: RLIM_INFINITY, maximum: RLIM_INFINITY };

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut bytes = [0u8; Self::SIZE];
        bytes[..8].copy_from_slice(&self.current.to_le_bytes());
        bytes[8..].copy_from_slice(&self.maximum.to_le_bytes());
        bytes
    }

    /// Reads a limit to set: EINVAL when the soft limit exceeds the hard one, as Linux.
    pub fn from_bytes(bytes: [u8; Self::SIZE]) -> Result<Rlimit, i64> {
        let mut current = [0u8; 8];
        let mut maximum = [0u8; 8];
        current.copy_from_slice(&bytes[..8]);
        maximum.copy_from_slice(&bytes[8..]);
        let limit = Rlimit { current: u64::from_le_bytes(current), maximum: u64::from_le_bytes(maximum) };
        if limit.current > limit.maximum {
            return Err(EINVAL);
        }
        Ok(limit)
    }
}

/// RLIMIT_NOFILE of the first process, soft and hard (Linux's INR_OPEN_CUR and
/// INR_OPEN_MAX).
pub const NOFILE_DEFAULT: Rlimit = Rlimit { current: 1024, maximum: 4096 };
/// The most descriptors a process may be allowed (Linux's default fs.nr_open).
pub const NR_OPEN: u64 = 1 << 20;

/// Whether `new` may become `resource`'s limit (Linux's `do_prlimit`, for a
/// process that may raise hard limits): RLIMIT_NOFILE's hard limit is at most
/// `NR_OPEN`, EPERM above.
pub fn check_new_limit(resource: usize, new: Rlimit) -> Result<Rlimit, i64> {
    if resource == RLIMIT_NOFILE as usize && new.maximum > NR_OPEN {
        return Err(EPERM);
    }
    Ok(new)
}

/// The resource number in a raw argument, or EINVAL.
pub fn decode_resource(raw: u64) -> Result<usize, i64> {
    usize::try_from(super::uint_arg(raw)).ok().filter(|&resource| resource < RLIM_NLIMITS).ok_or(EINVAL)
}

/// What timeshare counts of a process's resource use, as `struct rusage` reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rusage {
    pub user_ns: u64,
    pub system_ns: u64,
    pub max_rss_kib: u64,
    pub minor_faults: u64,
    pub voluntary_switches: u64,
    pub involuntary_switches: u64,
}

impl Rusage {
    pub const SIZE: usize = 144;

    /// `struct rusage`: two timevals, then 14 longs of which ru_maxrss (index 0),
    /// ru_minflt (4), ru_nvcsw (12) and ru_nivcsw (13) are counted; the rest are 0.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut bytes = [0u8; Self::SIZE];
        bytes[..16].copy_from_slice(&Timeval::from_nanos(self.user_ns).to_bytes());
        bytes[16..32].copy_from_slice(&Timeval::from_nanos(self.system_ns).to_bytes());
        for (index, value) in [
            (0, self.max_rss_kib),
            (4, self.minor_faults),
            (12, self.voluntary_switches),
            (13, self.involuntary_switches),
        ] {
            let offset = 32 + 8 * index;
            bytes[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
        }
        bytes
    }
}

// getpriority/setpriority: what `who` names.
pub const PRIO_PROCESS: i32 = 0;
pub const PRIO_PGRP: i32 = 1;
pub const PRIO_USER: i32 = 2;

/// The processes a getpriority/setpriority call names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriorityTarget {
    /// One process (0: the caller).
    Process(u32),
    /// A process group (0: the caller's).
    Group(u32),
    /// Every process of a user (0: the caller's; every process runs as uid 0).
    User(u32),
}

/// Decodes (which, who): EINVAL for an unknown `which`, ESRCH for a negative
/// `who` (Linux finds no process, group or user by that id).
pub fn decode_priority_target(which: u64, who: u64) -> Result<PriorityTarget, i64> {
    let who = u32::try_from(super::int_arg(who)).map_err(|_| ESRCH)?;
    match super::int_arg(which) {
        PRIO_PROCESS => Ok(PriorityTarget::Process(who)),
        PRIO_PGRP => Ok(PriorityTarget::Group(who)),
        PRIO_USER => Ok(PriorityTarget::User(who)),
        _ => Err(EINVAL),
    }
}

/// The nice value setpriority sets for its `prio` argument (an int): clamped to
/// -20..=19, as Linux does.
pub fn nice_from_priority_arg(prio: u64) -> i8 {
    crate::sched::clamp_nice(i64::from(super::int_arg(prio)))
}

/// What the raw getpriority system call returns for the lowest nice value among
/// the targets: `20 - nice`, 1..=40, so that it is never negative (the C library
/// turns it back into a nice value).
pub fn priority_result(nice: i8) -> u64 {
    (20 - i64::from(crate::sched::clamp_nice(i64::from(nice)))) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_arguments() {
        assert_eq!(decode_priority_target(0, 0), Ok(PriorityTarget::Process(0)));
        assert_eq!(decode_priority_target(0, 42), Ok(PriorityTarget::Process(42)));
        assert_eq!(decode_priority_target(1, 7), Ok(PriorityTarget::Group(7)));
        assert_eq!(decode_priority_target(2, 0), Ok(PriorityTarget::User(0)));
        assert_eq!(decode_priority_target(0xffff_ffff_0000_0000, 5), Ok(PriorityTarget::Process(5)));
        assert_eq!(decode_priority_target(3, 0), Err(EINVAL));
        assert_eq!(decode_priority_target(u64::MAX, 0), Err(EINVAL));
        assert_eq!(decode_priority_target(0, u64::MAX), Err(ESRCH));
        assert_eq!(nice_from_priority_arg(5), 5);
        assert_eq!(nice_from_priority_arg(-100i64 as u64), -20);
        assert_eq!(nice_from_priority_arg(1000), 19);
        assert_eq!(nice_from_priority_arg(0x1_0000_0003), 3);
        assert_eq!(priority_result(0), 20);
        assert_eq!(priority_result(-20), 40);
        assert_eq!(priority_result(19), 1);
    }

    #[test]
    fn rlimit_round_trip_and_soft_above_hard_is_invalid() {
        let limit = Rlimit { current: 1024, maximum: 4096 };
        assert_eq!(Rlimit::from_bytes(limit.to_bytes()), Ok(limit));
        let inverted = Rlimit { current: 5, maximum: 4 };
        assert_eq!(Rlimit::from_bytes(inverted.to_bytes()), Err(EINVAL));
        assert_eq!(Rlimit::UNLIMITED.to_bytes(), [0xff; 16]);
    }

    #[test]
    fn the_descriptor_hard_limit_stops_at_nr_open() {
        let nofile = RLIMIT_NOFILE as usize;
        let at = Rlimit { current: 1024, maximum: NR_OPEN };
        assert_eq!(check_new_limit(nofile, at), Ok(at));
        assert_eq!(check_new_limit(nofile, Rlimit { current: 1024, maximum: NR_OPEN + 1 }), Err(EPERM));
        assert_eq!(check_new_limit(nofile, Rlimit::UNLIMITED), Err(EPERM));
        assert_eq!(check_new_limit(RLIMIT_AS as usize, Rlimit::UNLIMITED), Ok(Rlimit::UNLIMITED));
        assert!(NOFILE_DEFAULT.current <= NOFILE_DEFAULT.maximum && NOFILE_DEFAULT.maximum <= NR_OPEN);
    }

    #[test]
    fn resources_are_checked() {
        assert_eq!(decode_resource(7), Ok(7));
        assert_eq!(decode_resource(16), Err(EINVAL));
        assert_eq!(decode_resource(0xffff_ffff_0000_0003), Ok(3));
    }

    #[test]
    fn rusage_layout() {
        let usage = Rusage {
            user_ns: 1_500_000_000,
            system_ns: 2_000,
            max_rss_kib: 7,
            minor_faults: 9,
            voluntary_switches: 3,
            involuntary_switches: 4,
        };
        let bytes = usage.to_bytes();
        assert_eq!(&bytes[..8], &1u64.to_le_bytes());
        assert_eq!(&bytes[8..16], &500_000u64.to_le_bytes());
        assert_eq!(&bytes[24..32], &2u64.to_le_bytes());
        assert_eq!(&bytes[32..40], &7u64.to_le_bytes());
        assert_eq!(&bytes[64..72], &9u64.to_le_bytes());
        assert_eq!(&bytes[128..136], &3u64.to_le_bytes());
        assert_eq!(&bytes[136..144], &4u64.to_le_bytes());
    }
}
