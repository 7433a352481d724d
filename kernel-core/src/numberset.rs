//! A set of small numbers that several CPUs may add to at once without a lock: the
//! system calls a process was already reported for (one bit each).

use core::sync::atomic::{AtomicU64, Ordering};

/// The numbers `0..64 * WORDS`.
pub struct AtomicNumberSet<const WORDS: usize>([AtomicU64; WORDS]);

impl<const WORDS: usize> AtomicNumberSet<WORDS> {
    pub const fn new() -> Self {
        AtomicNumberSet([const { AtomicU64::new(0) }; WORDS])
    }

    /// Adds `number`; true if it was not in the set before (exactly one of several
    /// racing inserts of the same number gets true). False for a number past the
    /// set's range, which it cannot hold.
    pub fn insert(&self, number: usize) -> bool {
        let Some(word) = self.0.get(number / 64) else { return false };
        let bit = 1u64 << (number % 64);
        word.fetch_or(bit, Ordering::Relaxed) & bit == 0
    }
}

impl<const WORDS: usize> Default for AtomicNumberSet<WORDS> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_number_is_new_once() {
        let set = AtomicNumberSet::<2>::new();
        assert!(set.insert(0) && set.insert(63) && set.insert(64) && set.insert(127));
        assert!(!set.insert(0) && !set.insert(63) && !set.insert(64) && !set.insert(127));
        assert!(set.insert(5));
        assert!(!set.insert(128) && !set.insert(usize::MAX), "past the range");
    }

    #[test]
    fn racing_inserts_have_one_winner() {
        let set = std::sync::Arc::new(AtomicNumberSet::<8>::new());
        let winners: usize = (0..4)
            .map(|_| {
                let set = set.clone();
                std::thread::spawn(move || (0..512).filter(|&n| set.insert(n)).count())
            })
            .map(|thread| thread.join().unwrap())
            .sum();
        assert_eq!(winners, 512);
    }
}
