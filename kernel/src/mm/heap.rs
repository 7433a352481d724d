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
