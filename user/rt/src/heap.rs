//! The global allocator, so `Vec`, `String` and `format!` work.
//!
//! A bump allocator: it hands out memory from a chunk obtained with `mmap`, moving a
//! pointer forward, and maps a fresh chunk when the current one is used up. Freed
//! memory is never reused. That is fine for short test programs and keeps the code
//! trivially correct. It uses `mmap`, not `brk`, so programs may test `brk` freely.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;

use crate::syscall::{self, mmap_flags as map, prot};

/// The smallest chunk to map at a time: 64 KiB.
const CHUNK: usize = 64 * 1024;
const PAGE: usize = 4096;

/// Free space in the current chunk: `next..end` (both 0 before the first allocation).
struct Bump {
    next: Cell<usize>,
    end: Cell<usize>,
}

// SAFETY: an rt program has exactly one thread: rt offers no way to start another, and
// a forked child gets its own copy of the address space. So the cells are never
// accessed concurrently.
unsafe impl Sync for Bump {}

#[global_allocator]
static HEAP: Bump = Bump { next: Cell::new(0), end: Cell::new(0) };

// SAFETY: alloc returns either null or a block of `layout.size()` bytes aligned to
// `layout.align()` inside a private read/write mapping that no other block overlaps
// (the bump pointer only moves forward, and chunks are never unmapped).
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let fits = |next: usize| {
            let start = next.checked_next_multiple_of(layout.align())?;
            let end = start.checked_add(layout.size())?;
            (end <= self.end.get()).then_some((start, end))
        };
        let (start, end) = match fits(self.next.get()) {
            Some(block) => block,
            None => {
                // Map a chunk big enough for this block even at the worst alignment.
                let Some(len) =
                    layout.size().checked_add(layout.align()).and_then(|n| n.max(CHUNK).checked_next_multiple_of(PAGE))
                else {
                    return core::ptr::null_mut();
                };
                // SAFETY: a fresh anonymous mapping at an address the kernel picks
                // cannot disturb any existing memory.
                let base =
                    unsafe { syscall::mmap(0, len, prot::READ | prot::WRITE, map::PRIVATE | map::ANONYMOUS, -1, 0) };
                if base < 0 {
                    return core::ptr::null_mut();
                }
                self.end.set(base as usize + len);
                // The chunk holds size + align bytes, so the aligned block fits.
                let start = (base as usize).next_multiple_of(layout.align());
                (start, start + layout.size())
            }
        };
        self.next.set(end);
        start as *mut u8
    }

    /// Freed memory is not reused (see the module comment).
    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}
