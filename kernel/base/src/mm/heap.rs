//! The kernel heap (`alloc`): a buddy allocator over one contiguous region of RAM
//! reserved at boot, reached through the direct map.

use buddy_system_allocator::LockedHeap;

#[global_allocator]
static HEAP: LockedHeap<32> = LockedHeap::empty();

/// Gives the allocator its region. Called once by `mm::init`.
pub(super) fn init(start: u64, size: usize) {
    // SAFETY: the region is RAM removed from the frame pool, mapped (direct map) for
    // the kernel's lifetime, and handed over exactly once.
    unsafe { HEAP.lock().init(start as usize, size) };
}

/// Heap bytes in use and in all.
#[inline]
pub fn usage() -> (usize, usize) {
    let heap = HEAP.lock();
    (heap.stats_alloc_actual(), heap.stats_total_bytes())
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
