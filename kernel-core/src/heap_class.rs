//! The kernel heap's size classes: small requests (the records the kernel makes and
//! drops on every fork, open and path lookup) are served from a free list per power
//! of two, 16 to 2048 bytes, in front of the general allocator. Taking a block from
//! such a list and giving it back are O(1) and touch nothing else.

/// Classes are powers of two from this size up.
pub const SMALLEST: usize = 16;

/// How many classes there are: 16, 32, ..., 2048 bytes.
pub const CLASSES: usize = 8;

/// Every class block is aligned to this (the general allocator's blocks are
/// asked for with it); a request for a stricter alignment is not served by a class.
pub const CLASS_ALIGN: usize = 16;

/// The size of class `class`'s blocks.
pub const fn class_size(class: usize) -> usize {
    SMALLEST << class
}

/// The class that serves a request of `size` bytes aligned to `align`, or `None`
/// when the request is too large or too strictly aligned for any.
#[inline]
pub fn class_of(size: usize, align: usize) -> Option<usize> {
    if size > class_size(CLASSES - 1) || align > CLASS_ALIGN {
        return None;
    }
    let rounded = size.max(SMALLEST).next_power_of_two();
    Some((rounded.trailing_zeros() - SMALLEST.trailing_zeros()) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_size_goes_to_the_smallest_class_that_holds_it() {
        assert_eq!(class_of(1, 1), Some(0));
        assert_eq!(class_of(16, 8), Some(0));
        assert_eq!(class_of(17, 8), Some(1));
        assert_eq!(class_of(32, 16), Some(1));
        assert_eq!(class_of(100, 8), Some(3));
        assert_eq!(class_of(1025, 8), Some(7));
        assert_eq!(class_of(2048, 16), Some(7));
        for size in 1..=2048 {
            let class = class_of(size, 8).unwrap();
            assert!(class_size(class) >= size);
            assert!(class == 0 || class_size(class - 1) < size, "size {size} in class {class}");
        }
    }

    #[test]
    fn large_or_strictly_aligned_requests_have_no_class() {
        assert_eq!(class_of(2049, 8), None);
        assert_eq!(class_of(4096, 4096), None);
        assert_eq!(class_of(64, 32), None);
        assert_eq!(class_of(64, 4096), None);
    }

    #[test]
    fn classes_are_aligned_to_their_block_alignment() {
        for class in 0..CLASSES {
            assert_eq!(class_size(class) % CLASS_ALIGN, 0);
        }
    }
}
