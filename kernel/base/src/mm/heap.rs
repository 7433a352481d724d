//! The kernel heap (`alloc`): free lists per size class (`kernel_core::heap_class`)
//! in front of `talc`, over one contiguous region of RAM reserved at boot, reached
//! through the direct map.
//!
//! Why this shape. The heap was a buddy allocator, whose free looks for the freed
//! block's buddy in its size's free list: a walk as long as that list, so the cost of
//! every small free (and of the rows that make many: fork, open and close, file
//! creation) grew with the fragmentation earlier work left behind. Talc alone frees
//! in O(1) (boundary tags merge the neighbours directly) but its allocation path
//! (bins, a bitfield scan, splitting, tags) cost more than the buddy's on the small
//! sizes the kernel uses most: measured alone it made fork-1000 11% cheaper and
//! fork-exit-wait and file-create-delete 2% dearer. A small request therefore takes a
//! block from its class's list and a free pushes it back, both O(1) whatever the
//! history; a list is refilled from talc one block at a time (a miss costs one talc
//! allocation, no worse than talc alone, and a batch would only hold more memory).
//!
//! Blocks on the lists count as free (`usage`), and they are usable: when talc cannot
//! serve a request, every list is given back to it (O(1) a block, and talc merges
//! them with their neighbours) and the request tried again. So a program that opens
//! thousands of files and closes them leaves no memory stranded in a class that
//! `spare` promised to others.
//!
//! One spin lock guards the lists and talc together. It is a leaf (docs/locks.md):
//! nothing is locked under it, and the kernel takes it only with interrupts off, as
//! all kernel code runs, so an interrupt cannot find its own CPU holding it.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{null_mut, NonNull};

use kernel_core::heap_class::{class_of, class_size, CLASSES, CLASS_ALIGN};
use spin::Mutex;
use talc::base::Talc;
use talc::source::Manual;
use talc::DefaultBinning;

#[global_allocator]
static HEAP: Heap = Heap(Mutex::new(State { talc: Talc::new(Manual), free: [None; CLASSES], cached: 0 }));

struct Heap(Mutex<State>);

struct State {
    talc: Talc<Manual, DefaultBinning>,
    /// Each class's free blocks, linked through their first word.
    free: [Option<NonNull<FreeBlock>>; CLASSES],
    /// Bytes in the blocks on the lists.
    cached: usize,
}

struct FreeBlock {
    next: Option<NonNull<FreeBlock>>,
}

// SAFETY: the lists point only into the heap's own region, which no other code
// touches while a block is on a list; the state is reached only under the heap's lock.
unsafe impl Send for State {}

fn class_layout(class: usize) -> Layout {
    // The sizes are powers of two no smaller than the alignment, itself a power of two.
    Layout::from_size_align(class_size(class), CLASS_ALIGN).expect("a class's layout is valid")
}

impl State {
    /// A block of class `class`: from its list, or a new one.
    fn take(&mut self, class: usize) -> *mut u8 {
        match self.free[class] {
            Some(block) => {
                // SAFETY: a block on a list is one of this heap's, free, and holds its
                // link, written by `give`.
                self.free[class] = unsafe { block.as_ref().next };
                self.cached -= class_size(class);
                block.as_ptr().cast()
            }
            None => self.allocate(class_layout(class)),
        }
    }

    /// Puts a freed block of class `class` on its list.
    ///
    /// # Safety
    /// `ptr` is a block of this heap of that class, no longer used by anyone.
    unsafe fn give(&mut self, class: usize, ptr: *mut u8) {
        let block = ptr.cast::<FreeBlock>();
        // SAFETY: the block is at least 16 bytes, aligned to 16, and the caller's to reuse.
        unsafe { block.write(FreeBlock { next: self.free[class] }) };
        self.free[class] = NonNull::new(block);
        self.cached += class_size(class);
    }

    /// Talc's block for `layout`; when talc has none, after giving it every list.
    fn allocate(&mut self, layout: Layout) -> *mut u8 {
        // SAFETY: `layout` has a non-zero size (GlobalAlloc's callers' promise, or a class's).
        if let Some(ptr) = unsafe { self.talc.allocate(layout) } {
            return ptr.as_ptr();
        }
        if self.cached == 0 {
            return null_mut();
        }
        self.release_lists();
        // SAFETY: as above.
        unsafe { self.talc.allocate(layout) }.map_or(null_mut(), NonNull::as_ptr)
    }

    /// Gives every block on the lists back to talc.
    fn release_lists(&mut self) {
        for class in 0..CLASSES {
            while let Some(block) = self.free[class] {
                // SAFETY: as in `take`; the block came from talc with the class's layout.
                unsafe {
                    self.free[class] = block.as_ref().next;
                    self.talc.deallocate(block.as_ptr().cast(), class_layout(class));
                }
            }
        }
        self.cached = 0;
    }
}

// SAFETY: every block handed out is talc's, or a class block (talc's, of the class's
// size and alignment, which cover the request's) off a list and handed out once; a
// freed block goes back where its layout says it came from.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut state = self.0.lock();
        match class_of(layout.size(), layout.align()) {
            Some(class) => state.take(class),
            None => state.allocate(layout),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let mut state = self.0.lock();
        match class_of(layout.size(), layout.align()) {
            // SAFETY: the caller's: `ptr` was allocated with `layout`, so from this class.
            Some(class) => unsafe { state.give(class, ptr) },
            // SAFETY: the caller's: `ptr` is talc's, allocated with `layout`.
            None => unsafe { state.talc.deallocate(ptr, layout) },
        }
    }

    /// In place when it can be (a class block already holds a size of its class;
    /// talc grows or shrinks a large block into its neighbours when they are free):
    /// a growing Vec (a pipe's buffer, a descriptor table) then copies nothing.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let class = class_of(layout.size(), layout.align());
        let new_class = class_of(new_size, layout.align());
        if class.is_some() && class == new_class {
            return ptr;
        }
        // SAFETY: the caller's: `ptr` is talc's (no class), allocated with `layout`,
        // and `new_size` is not zero.
        if class.is_none()
            && new_class.is_none()
            && unsafe { self.0.lock().talc.try_realloc_in_place(ptr, layout, new_size) }
        {
            return ptr;
        }
        // SAFETY: the caller's: `new_size`, rounded up to the alignment, does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as the default `realloc`: a new block, the old bytes that fit
        // copied, the old block freed.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

/// Gives the allocator its region. Called once by `mm::init`.
pub(super) fn init(start: u64, size: usize) {
    // SAFETY: the region is RAM removed from the frame pool, mapped (direct map) for
    // the kernel's lifetime, and handed over exactly once.
    let claimed = unsafe { HEAP.0.lock().talc.claim(start as *mut u8, size) };
    assert!(claimed.is_some(), "kernel heap: region too small");
}

/// Heap bytes in use (allocations with their headers and alignment, not the blocks
/// waiting on the class lists) and in all.
#[inline]
pub fn usage() -> (usize, usize) {
    let state = HEAP.0.lock();
    let counters = state.talc.counters();
    (counters.claimed_bytes - counters.available_bytes - state.cached, counters.claimed_bytes)
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
