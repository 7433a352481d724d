//! Values held for ranges of addresses: what a file mapping keeps alive for as
//! long as any page of it is mapped (the open file description it was made
//! from, as Linux's vma keeps its `vm_file`). Unmapping part of a range keeps
//! the value for the rest; unmapping its middle leaves two ranges, each holding
//! a clone.

use alloc::vec::Vec;
use core::ops::Range;

/// Values, each held for a range of addresses (ranges may overlap only if the
/// caller adds them so; `release` cuts every range it meets).
#[derive(Clone, Debug)]
pub struct RangeHolds<T> {
    holds: Vec<(Range<u64>, T)>,
}

impl<T> Default for RangeHolds<T> {
    fn default() -> RangeHolds<T> {
        RangeHolds { holds: Vec::new() }
    }
}

impl<T: Clone> RangeHolds<T> {
    /// Holds `value` for `range` (empty ranges hold nothing).
    pub fn hold(&mut self, range: Range<u64>, value: T) {
        if !range.is_empty() {
            self.holds.push((range, value));
        }
    }

    /// Cuts `range` out of every held range; returns the values no range holds
    /// any more, for the caller to drop where it may (dropping one may take
    /// locks the caller holds now).
    #[must_use]
    #[inline]
    pub fn release(&mut self, range: Range<u64>) -> Vec<T> {
        // Most address spaces map no file: munmap of anonymous memory pays a test.
        if self.holds.is_empty() {
            return Vec::new();
        }
        self.release_from_holds(range)
    }

    fn release_from_holds(&mut self, range: Range<u64>) -> Vec<T> {
        let mut released = Vec::new();
        let mut index = 0;
        while index < self.holds.len() {
            let held = self.holds[index].0.clone();
            if held.end <= range.start || range.end <= held.start {
                index += 1;
                continue;
            }
            let before = held.start..range.start.max(held.start);
            let after = range.end.min(held.end)..held.end;
            match (before.is_empty(), after.is_empty()) {
                (true, true) => released.push(self.holds.swap_remove(index).1),
                (false, true) => {
                    self.holds[index].0 = before;
                    index += 1;
                }
                (true, false) => {
                    self.holds[index].0 = after;
                    index += 1;
                }
                (false, false) => {
                    let value = self.holds[index].1.clone();
                    self.holds[index].0 = before;
                    self.holds.push((after, value));
                    index += 1;
                }
            }
        }
        released
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::rc::Rc;

    #[test]
    fn a_value_stays_held_until_its_whole_range_is_released() {
        let mut holds = RangeHolds::default();
        let file = Rc::new(7);
        holds.hold(0x1000..0x5000, file.clone());
        assert!(holds.release(0x1000..0x2000).is_empty());
        assert!(holds.release(0x4000..0x9000).is_empty());
        assert_eq!(Rc::strong_count(&file), 2);
        assert!(holds.release(0..0x1000).is_empty());
        let released = holds.release(0x2000..0x4000);
        assert_eq!(released.len(), 1);
        drop(released);
        assert!(holds.release(0..u64::MAX).is_empty());
        assert_eq!(Rc::strong_count(&file), 1);
    }

    #[test]
    fn releasing_the_middle_leaves_two_ranges_each_holding_the_value() {
        let mut holds = RangeHolds::default();
        let file = Rc::new(7);
        holds.hold(0x1000..0x4000, file.clone());
        assert!(holds.release(0x2000..0x3000).is_empty());
        assert_eq!(Rc::strong_count(&file), 3);
        assert_eq!(holds.release(0x1000..0x2000).len(), 1);
        assert_eq!(Rc::strong_count(&file), 2);
        assert_eq!(holds.release(0..0x10000).len(), 1);
        assert_eq!(Rc::strong_count(&file), 1);
    }

    #[test]
    fn one_release_cuts_every_range_it_meets_and_a_copy_holds_its_own() {
        let mut holds = RangeHolds::default();
        let (first, second) = (Rc::new(1), Rc::new(2));
        holds.hold(0x1000..0x2000, first.clone());
        holds.hold(0x3000..0x4000, second.clone());
        holds.hold(0x5000..0x5000, second.clone());
        let copy = holds.clone();
        assert_eq!(Rc::strong_count(&first), 3);
        assert_eq!(holds.release(0x1800..0x3800).len(), 0);
        let released: Vec<i32> = holds.release(0..0x10000).iter().map(|value| **value).collect();
        assert_eq!(released.len(), 2);
        assert_eq!(Rc::strong_count(&first), 2);
        assert_eq!(copy.clone().release(0..0x10000).len(), 2);
    }
}
