//! sched_setattr / sched_getattr (Linux 6.12+ semantics, where `sched_runtime`
//! sets a SCHED_OTHER task's request size, its "slice"): the `struct sched_attr`
//! layout, the checks Linux makes in its order, and what a call changes.
//!
//! What timeshare keeps per thread is `SchedSettings` (the policy, a custom
//! slice, the reset-on-fork flag) beside the nice value it already had. Only the
//! time-sharing policies exist: SCHED_FIFO, SCHED_RR and SCHED_DEADLINE are
//! checked as Linux checks them, then refused with EPERM, as Linux refuses a
//! process without CAP_SYS_NICE. Utilization clamps are refused with EOPNOTSUPP,
//! as by a Linux built without CONFIG_UCLAMP_TASK.

use super::errno::{E2BIG, EINVAL, EOPNOTSUPP, EPERM};

pub const SCHED_NORMAL: u32 = 0;
pub const SCHED_FIFO: u32 = 1;
pub const SCHED_RR: u32 = 2;
pub const SCHED_BATCH: u32 = 3;
pub const SCHED_IDLE: u32 = 5;
pub const SCHED_DEADLINE: u32 = 6;

pub const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;
pub const SCHED_FLAG_KEEP_POLICY: u64 = 0x08;
pub const SCHED_FLAG_KEEP_PARAMS: u64 = 0x10;
pub const SCHED_FLAG_UTIL_CLAMP: u64 = 0x60;
/// Every flag Linux knows (reset on fork, reclaim, DL overrun, keep policy and
/// params, the two clamps).
pub const SCHED_FLAG_ALL: u64 = 0x7f;

/// The first `struct sched_attr` (without the utilization clamps).
pub const SCHED_ATTR_SIZE_VER0: u32 = 48;
/// The `struct sched_attr` Linux knows, clamps included.
pub const SCHED_ATTR_SIZE_VER1: u32 = 56;
/// The largest size either call accepts (a page).
pub const SCHED_ATTR_MAX_SIZE: u32 = 4096;

/// The shortest and longest slices Linux accepts (it clamps to them).
pub const MIN_SLICE_NS: u64 = 100_000;
pub const MAX_SLICE_NS: u64 = 100_000_000;

/// The highest real-time priority (MAX_RT_PRIO - 1).
const MAX_RT_PRIORITY: u32 = 99;

/// `struct sched_attr`, field by field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedAttr {
    pub size: u32,
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
    pub util_min: u32,
    pub util_max: u32,
}

impl SchedAttr {
    /// Decodes the bytes a user passed (`bytes`: its first
    /// `SCHED_ATTR_SIZE_VER1` bytes; a shorter copy leaves zeros behind).
    pub fn from_bytes(bytes: &[u8; SCHED_ATTR_SIZE_VER1 as usize]) -> SchedAttr {
        let u32_at = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let u64_at = |at: usize| u64::from(u32_at(at)) | (u64::from(u32_at(at + 4)) << 32);
        SchedAttr {
            size: u32_at(0),
            policy: u32_at(4),
            flags: u64_at(8),
            nice: u32_at(16) as i32,
            priority: u32_at(20),
            runtime: u64_at(24),
            deadline: u64_at(32),
            period: u64_at(40),
            util_min: u32_at(48),
            util_max: u32_at(52),
        }
    }

    pub fn to_bytes(&self) -> [u8; SCHED_ATTR_SIZE_VER1 as usize] {
        let mut bytes = [0u8; SCHED_ATTR_SIZE_VER1 as usize];
        bytes[0..4].copy_from_slice(&self.size.to_le_bytes());
        bytes[4..8].copy_from_slice(&self.policy.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.flags.to_le_bytes());
        bytes[16..20].copy_from_slice(&self.nice.to_le_bytes());
        bytes[20..24].copy_from_slice(&self.priority.to_le_bytes());
        bytes[24..32].copy_from_slice(&self.runtime.to_le_bytes());
        bytes[32..40].copy_from_slice(&self.deadline.to_le_bytes());
        bytes[40..48].copy_from_slice(&self.period.to_le_bytes());
        bytes[48..52].copy_from_slice(&self.util_min.to_le_bytes());
        bytes[52..56].copy_from_slice(&self.util_max.to_le_bytes());
        bytes
    }
}

/// A thread's scheduling settings beyond its nice value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedSettings {
    /// SCHED_NORMAL, SCHED_BATCH or SCHED_IDLE.
    pub policy: u32,
    /// The slice sched_setattr set (clamped), None for the default.
    pub custom_slice_ns: Option<u64>,
    /// SCHED_FLAG_RESET_ON_FORK: its children start from the defaults.
    pub reset_on_fork: bool,
}

impl SchedSettings {
    /// Its slice: the custom one, or `default_slice_ns`.
    pub fn slice_ns(&self, default_slice_ns: u64) -> u64 {
        self.custom_slice_ns.unwrap_or(default_slice_ns)
    }

    /// The nice value whose weight the scheduling policy gives a thread of nice
    /// `nice`: SCHED_IDLE threads get the lightest (nice 19; Linux gives them a
    /// weight of 3 where nice 19 is 15).
    pub fn effective_nice(&self, nice: i8) -> i8 {
        if self.policy == SCHED_IDLE {
            *crate::sched::NICE_RANGE.end()
        } else {
            nice
        }
    }

    /// What a child forked by this thread starts with (its settings and nice), as
    /// Linux's sched_fork: everything is inherited, unless reset-on-fork is set,
    /// which drops a negative nice to 0, the custom slice and the flag itself.
    pub fn forked(&self, nice: i8) -> (SchedSettings, i8) {
        if self.reset_on_fork {
            (SchedSettings { policy: self.policy, custom_slice_ns: None, reset_on_fork: false }, nice.max(0))
        } else {
            (*self, nice)
        }
    }

    /// sched_getattr's answer for a thread with these settings and nice value
    /// (`size` is set by the copy).
    pub fn report(&self, nice: i8, default_slice_ns: u64) -> SchedAttr {
        SchedAttr {
            policy: self.policy,
            flags: if self.reset_on_fork { SCHED_FLAG_RESET_ON_FORK } else { 0 },
            nice: i32::from(nice),
            runtime: self.slice_ns(default_slice_ns),
            ..SchedAttr::default()
        }
    }
}

/// How many bytes of its `struct sched_attr` sched_setattr reads, from the size
/// field: 0 means the first version; below it or above a page is E2BIG (the
/// caller then writes `SCHED_ATTR_SIZE_VER1` back into the size field, as Linux).
pub fn setattr_copy_size(size: u32) -> Result<u32, i64> {
    let size = if size == 0 { SCHED_ATTR_SIZE_VER0 } else { size };
    if (SCHED_ATTR_SIZE_VER0..=SCHED_ATTR_MAX_SIZE).contains(&size) {
        Ok(size)
    } else {
        Err(E2BIG)
    }
}

/// sched_setattr's checks of the copied `attr` (read as `size` bytes) that come
/// before the target is looked up; returns the attribute with its nice value
/// clamped.
pub fn check_setattr(attr: SchedAttr, size: u32) -> Result<SchedAttr, i64> {
    if attr.flags & SCHED_FLAG_UTIL_CLAMP != 0 && size < SCHED_ATTR_SIZE_VER1 {
        return Err(EINVAL);
    }
    if (attr.policy as i32) < 0 {
        return Err(EINVAL);
    }
    let nice = crate::sched::clamp_nice(i64::from(attr.nice));
    Ok(SchedAttr { nice: i32::from(nice), ..attr })
}

/// sched_setattr on a thread with `settings` and `nice`, once `check_setattr`
/// passed and the thread was found: its new settings and nice value, or the
/// error Linux returns.
pub fn apply_setattr(settings: SchedSettings, nice: i8, attr: &SchedAttr) -> Result<(SchedSettings, i8), i64> {
    let keep_policy = attr.flags & SCHED_FLAG_KEEP_POLICY != 0;
    let policy = if keep_policy { settings.policy } else { attr.policy };
    let reset_on_fork = if keep_policy { settings.reset_on_fork } else { attr.flags & SCHED_FLAG_RESET_ON_FORK != 0 };
    if !matches!(policy, SCHED_NORMAL | SCHED_FIFO | SCHED_RR | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE) {
        return Err(EINVAL);
    }
    if attr.flags & !SCHED_FLAG_ALL != 0 || attr.priority > MAX_RT_PRIORITY {
        return Err(EINVAL);
    }
    let real_time = matches!(policy, SCHED_FIFO | SCHED_RR);
    if real_time != (attr.priority != 0) {
        return Err(EINVAL);
    }
    if real_time || policy == SCHED_DEADLINE {
        return Err(EPERM);
    }
    if attr.flags & SCHED_FLAG_UTIL_CLAMP != 0 {
        return Err(EOPNOTSUPP);
    }
    // KEEP_PARAMS keeps everything but the reset-on-fork flag: Linux then skips
    // setting the policy too, which is one of the parameters it keeps.
    if attr.flags & SCHED_FLAG_KEEP_PARAMS != 0 {
        return Ok((SchedSettings { reset_on_fork, ..settings }, nice));
    }
    // Nice and slice are SCHED_NORMAL's and SCHED_BATCH's: SCHED_IDLE keeps them.
    if policy == SCHED_IDLE {
        return Ok((SchedSettings { policy, reset_on_fork, ..settings }, nice));
    }
    let custom_slice_ns = (attr.runtime != 0).then(|| attr.runtime.clamp(MIN_SLICE_NS, MAX_SLICE_NS));
    Ok((SchedSettings { policy, custom_slice_ns, reset_on_fork }, crate::sched::clamp_nice(i64::from(attr.nice))))
}

/// sched_getattr's checks of its arguments, before the target is looked up.
pub fn check_getattr(address: u64, pid: i32, size: u32, flags: u32) -> Result<(), i64> {
    if address == 0 || pid < 0 || !(SCHED_ATTR_SIZE_VER0..=SCHED_ATTR_MAX_SIZE).contains(&size) || flags != 0 {
        return Err(EINVAL);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(policy: u32, nice: i32) -> SchedAttr {
        SchedAttr { size: SCHED_ATTR_SIZE_VER0, policy, nice, ..SchedAttr::default() }
    }

    #[test]
    fn the_layout_round_trips() {
        let attr = SchedAttr {
            size: 56,
            policy: 3,
            flags: 0x11,
            nice: -4,
            priority: 7,
            runtime: 5_000_000,
            deadline: 6,
            period: 7,
            util_min: 8,
            util_max: 1024,
        };
        let bytes = attr.to_bytes();
        assert_eq!(&bytes[16..20], &(-4i32).to_le_bytes());
        assert_eq!(&bytes[24..32], &5_000_000u64.to_le_bytes());
        assert_eq!(SchedAttr::from_bytes(&bytes), attr);
    }

    #[test]
    fn sizes_as_linux_reads_them() {
        assert_eq!(setattr_copy_size(0), Ok(48));
        assert_eq!(setattr_copy_size(48), Ok(48));
        assert_eq!(setattr_copy_size(4096), Ok(4096));
        assert_eq!(setattr_copy_size(47), Err(E2BIG));
        assert_eq!(setattr_copy_size(4097), Err(E2BIG));
        assert_eq!(check_getattr(8, 0, 48, 0), Ok(()));
        assert_eq!(check_getattr(0, 0, 48, 0), Err(EINVAL));
        assert_eq!(check_getattr(8, -1, 48, 0), Err(EINVAL));
        assert_eq!(check_getattr(8, 0, 47, 0), Err(EINVAL));
        assert_eq!(check_getattr(8, 0, 4097, 0), Err(EINVAL));
        assert_eq!(check_getattr(8, 0, 56, 1), Err(EINVAL));
    }

    #[test]
    fn nice_and_slice_are_set_and_clamped() {
        let start = SchedSettings::default();
        let checked = check_setattr(SchedAttr { runtime: 5_000_000, ..attr(SCHED_NORMAL, -40) }, 48).unwrap();
        let (settings, nice) = apply_setattr(start, 0, &checked).unwrap();
        assert_eq!((settings.custom_slice_ns, nice), (Some(5_000_000), -20));
        for (asked, got) in [(1, MIN_SLICE_NS), (u64::MAX, MAX_SLICE_NS), (0, 3)] {
            let (settings, _) = apply_setattr(start, 0, &SchedAttr { runtime: asked, ..attr(0, 0) }).unwrap();
            assert_eq!(settings.slice_ns(3), got);
        }
        assert_eq!(settings.report(nice, 3).runtime, 5_000_000);
        assert_eq!(settings.report(nice, 3).nice, -20);
    }

    #[test]
    fn policies_and_flags_as_linux_checks_them() {
        let start = SchedSettings::default();
        let apply = |attr: SchedAttr| apply_setattr(start, 2, &attr);
        assert_eq!(apply(attr(SCHED_BATCH, 4)).unwrap().0.policy, SCHED_BATCH);
        // SCHED_IDLE keeps the nice value it had.
        assert_eq!(apply(attr(SCHED_IDLE, 4)).unwrap(), (SchedSettings { policy: SCHED_IDLE, ..start }, 2));
        assert_eq!(apply(attr(4, 0)), Err(EINVAL));
        assert_eq!(apply(attr(7, 0)), Err(EINVAL));
        assert_eq!(check_setattr(attr(u32::MAX, 0), 48), Err(EINVAL));
        assert_eq!(apply(SchedAttr { priority: 1, ..attr(SCHED_NORMAL, 0) }), Err(EINVAL));
        assert_eq!(apply(attr(SCHED_FIFO, 0)), Err(EINVAL));
        assert_eq!(apply(SchedAttr { priority: 100, ..attr(SCHED_RR, 0) }), Err(EINVAL));
        assert_eq!(apply(SchedAttr { priority: 10, ..attr(SCHED_FIFO, 0) }), Err(EPERM));
        assert_eq!(apply(attr(SCHED_DEADLINE, 0)), Err(EPERM));
        assert_eq!(apply(SchedAttr { flags: 0x80, ..attr(0, 0) }), Err(EINVAL));
        assert_eq!(check_setattr(SchedAttr { flags: 0x20, ..attr(0, 0) }, 48), Err(EINVAL));
        assert_eq!(apply(SchedAttr { flags: 0x20, ..attr(0, 0) }), Err(EOPNOTSUPP));
        let kept = apply(SchedAttr { flags: SCHED_FLAG_KEEP_POLICY, ..attr(SCHED_IDLE, 9) }).unwrap();
        assert_eq!(kept, (start, 9));
        let reset = SchedAttr { flags: SCHED_FLAG_KEEP_PARAMS | SCHED_FLAG_RESET_ON_FORK, ..attr(SCHED_BATCH, 9) };
        assert_eq!(apply(reset).unwrap(), (SchedSettings { reset_on_fork: true, ..start }, 2));
    }

    #[test]
    fn reset_on_fork_gives_the_child_the_defaults() {
        let parent = SchedSettings { policy: SCHED_BATCH, custom_slice_ns: Some(9), reset_on_fork: true };
        assert_eq!(parent.forked(-5), (SchedSettings { policy: SCHED_BATCH, ..SchedSettings::default() }, 0));
        assert_eq!(parent.forked(5).1, 5);
        let plain = SchedSettings { reset_on_fork: false, ..parent };
        assert_eq!(plain.forked(-5), (plain, -5));
        assert_eq!(parent.report(0, 3).flags, SCHED_FLAG_RESET_ON_FORK);
        let idle = SchedSettings { policy: SCHED_IDLE, ..SchedSettings::default() };
        assert_eq!((idle.effective_nice(-3), plain.effective_nice(-3)), (19, -3));
    }
}
