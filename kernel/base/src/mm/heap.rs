//! The kernel heap (`alloc`): `talc` over one contiguous region of RAM reserved at
//! boot, reached through the direct map.
//!
//! Why talc and not a buddy allocator: a buddy allocator's free looks for the freed
//! block's buddy in its size's free list, a walk as long as that list, so the cost
//! of every small free (and of the rows that make many: fork, open and close, file
//! creation) grew with the fragmentation that earlier work left behind. Talc frees
//! in O(1) (boundary tags merge the neighbours directly), allocates from segregated
//! bins found by a bitfield scan, and rounds a request up to a word rather than to a
//! power of two, so the same heap also holds more. The heap lock is a leaf (see
//! docs/locks.md) and is only ever taken with interrupts off, as all kernel code runs.

use talc::source::Manual;
use talc::TalcLock;

#[global_allocator]
static HEAP: TalcLock<spin::Mutex<()>, Manual> = TalcLock::new(Manual);

/// Gives the allocator its region. Called once by `mm::init`.
pub(super) fn init(start: u64, size: usize) {
    // SAFETY: the region is RAM removed from the frame pool, mapped (direct map) for
    // the kernel's lifetime, and handed over exactly once.
    let claimed = unsafe { HEAP.lock().claim(start as *mut u8, size) };
    assert!(claimed.is_some(), "kernel heap: region too small");
}

/// Heap bytes in use (allocations with their headers and alignment) and in all.
#[inline]
pub fn usage() -> (usize, usize) {
    let counters = *HEAP.lock().counters();
    (counters.claimed_bytes - counters.available_bytes, counters.claimed_bytes)
}

/// The part of the heap programs' requests may not take: what the kernel itself
/// needs to keep going (creating and ending processes, signals, scheduling,
/// logging) when programs have asked for all the rest.
fn reserve(total: usize) -> usize {
    (total / 8).max(512 << 10)
}

/// Heap bytes free beyond the reserve. Calls that make the kernel keep something
/// for a program (a mapping's record, a pipe's buffer, a descriptor, a process)
/// check this first and fail as Linux does when memory is short (ENOMEM, ENFILE,
/// EAGAIN), so that no program, nor all of them together, can exhaust the heap:
/// an allocation failure in the kernel is a panic.
#[inline]
pub fn spare() -> usize {
    let (used, total) = usage();
    total.saturating_sub(used).saturating_sub(reserve(total))
}
