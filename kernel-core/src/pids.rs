//! How many processes a machine takes and which pid each gets, as Linux decides:
//! the thread limit follows memory (`threads_max`), RLIMIT_NPROC defaults to half of
//! it, and pids are handed out in increasing order below pid_max, then wrap around
//! to just above the reserved ones, skipping every pid still in use.

/// Linux's default /proc/sys/kernel/pid_max.
pub const PID_MAX_DEFAULT: u32 = 32_768;
/// The pids a wrap skips: the low ones daemons started at boot hold (Linux's
/// RESERVED_PIDS).
pub const RESERVED_PIDS: u32 = 300;
/// The smallest pid_max Linux accepts (PID_MAX_MIN on x86_64: RESERVED_PIDS + 1).
pub const PID_MAX_MIN: u32 = RESERVED_PIDS + 1;
/// The largest pid_max Linux accepts on 64-bit machines (PID_MAX_LIMIT, 4 Mi).
pub const PID_MAX_LIMIT: u32 = 4 * 1024 * 1024;

/// The size of a kernel stack (Linux's THREAD_SIZE on x86_64), in bytes.
const THREAD_SIZE: u64 = 16 * 1024;
const PAGE_SIZE: u64 = 4096;
/// Linux's bounds on max_threads (MIN_THREADS; MAX_THREADS is FUTEX_TID_MASK).
const MIN_THREADS: u64 = 20;
const MAX_THREADS: u64 = 0x3fff_ffff;

/// Linux's max_threads (/proc/sys/kernel/threads-max) for a machine with
/// `total_pages` pages of RAM: the thread structures may take at most an eighth
/// of memory (set_max_threads in kernel/fork.c).
pub fn threads_max(total_pages: u64) -> u64 {
    (total_pages / (8 * THREAD_SIZE / PAGE_SIZE)).clamp(MIN_THREADS, MAX_THREADS)
}

/// The RLIMIT_NPROC init starts with (soft and hard): half of max_threads, as
/// Linux's fork_init sets it.
pub fn default_nproc(threads_max: u64) -> u64 {
    threads_max / 2
}

/// The pid after the last one handed out, `last`, below `pid_max` for which
/// `in_use` is false: the next one up, or after a wrap the first one from
/// RESERVED_PIDS up (Linux's alloc_pid, whose cyclic search starts above the
/// reserved pids once it has gone past them). None when every candidate is in use.
pub fn next_free(last: u32, pid_max: u32, in_use: impl Fn(u32) -> bool) -> Option<u32> {
    let lowest = if last >= RESERVED_PIDS { RESERVED_PIDS } else { 1 };
    let candidates = pid_max.saturating_sub(lowest);
    let mut pid = last;
    for _ in 0..candidates {
        pid = if pid + 1 >= pid_max { lowest } else { pid + 1 };
        if !in_use(pid) {
            return Some(pid);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn threads_max_is_an_eighth_of_memory_in_kernel_stacks() {
        // 1 GiB: 262,144 pages; 32 pages per thread (8 x 16 KiB).
        assert_eq!(threads_max(262_144), 8192);
        assert_eq!(default_nproc(threads_max(262_144)), 4096);
        // 256 MiB.
        assert_eq!(threads_max(65_536), 2048);
        assert_eq!(threads_max(100), MIN_THREADS);
        assert_eq!(threads_max(u64::MAX), MAX_THREADS);
    }

    #[test]
    fn pids_go_up_then_wrap_above_the_reserved_ones() {
        let free = |_| false;
        assert_eq!(next_free(0, PID_MAX_DEFAULT, free), Some(1));
        assert_eq!(next_free(1, PID_MAX_DEFAULT, free), Some(2));
        assert_eq!(next_free(PID_MAX_DEFAULT - 2, PID_MAX_DEFAULT, free), Some(PID_MAX_DEFAULT - 1));
        assert_eq!(next_free(PID_MAX_DEFAULT - 1, PID_MAX_DEFAULT, free), Some(RESERVED_PIDS));
        assert_eq!(next_free(400, 401, free), Some(RESERVED_PIDS));
    }

    #[test]
    fn pids_in_use_are_skipped_across_the_wrap() {
        let taken: Vec<u32> = (398..401).chain(300..305).collect();
        assert_eq!(next_free(397, 401, |pid| taken.contains(&pid)), Some(305));
        // Before the first wrap, the low pids are candidates too.
        assert_eq!(next_free(5, 401, |pid| pid == 6), Some(7));
    }

    #[test]
    fn no_pid_when_every_one_is_in_use() {
        assert_eq!(next_free(350, 401, |_| true), None);
        assert_eq!(next_free(350, 401, |pid| pid != 349), Some(349));
    }
}
