//! Physical memory, one 4 KiB frame at a time. Free frames form a stack threaded
//! through the frames themselves (each free frame holds the address of the next, read
//! through the direct map), so allocating and freeing are O(1). A reference count per
//! frame lets copy-on-write fork share a frame between address spaces.

use spin::Mutex;

use super::{phys_to_virt, PAGE_SIZE};
use crate::arch::x86_64::fpu;

/// A physical frame, by its (page-aligned) physical address.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Frame(u64);

impl Frame {
    pub fn from_address(address: u64) -> Frame {
        debug_assert_eq!(address % PAGE_SIZE, 0);
        Frame(address)
    }

    pub fn address(self) -> u64 {
        self.0
    }

    /// The frame's bytes, through the direct map.
    pub fn bytes(self) -> *mut u8 {
        phys_to_virt(self.0) as *mut u8
    }

    fn number(self) -> usize {
        (self.0 / PAGE_SIZE) as usize
    }
}

struct FrameAllocator {
    /// Physical address of the first free frame, 0 when none is left.
    free_head: u64,
    free_count: usize,
    /// Frames ever given to the allocator.
    total_count: usize,
    /// Reference count per frame number; 0 for free or unmanaged frames.
    references: &'static mut [u16],
}

static FRAMES: Mutex<FrameAllocator> =
    Mutex::new(FrameAllocator { free_head: 0, free_count: 0, total_count: 0, references: &mut [] });

/// Hands the allocator its reference-count table (one u16 per frame, zeroed, covering
/// every managed frame number). Called once by `memory::init`.
pub(super) fn init(references: &'static mut [u16]) {
    FRAMES.lock().references = references;
}

/// Adds a frame that is free RAM to the pool. Used at boot only.
pub(super) fn add_free(frame: Frame) {
    let mut frames = FRAMES.lock();
    let head = frames.free_head;
    // SAFETY: the frame is free RAM reachable through the direct map; nothing else
    // references it, so its first word may hold the link.
    unsafe { (frame.bytes() as *mut u64).write(head) };
    frames.free_head = frame.address();
    frames.free_count += 1;
    frames.total_count += 1;
}

/// Takes a frame (contents undefined) with reference count 1.
pub fn alloc() -> Option<Frame> {
    let mut frames = FRAMES.lock();
    if frames.free_head == 0 {
        return None;
    }
    let frame = Frame(frames.free_head);
    // SAFETY: a free frame's first word holds the next free frame's address (add_free
    // and free keep this invariant), and the frame is ours now.
    frames.free_head = unsafe { (frame.bytes() as *const u64).read() };
    frames.free_count -= 1;
    frames.references[frame.number()] = 1;
    Some(frame)
}

/// Takes a frame for a program's page (demand paging, copy-on-write), unless that
/// would leave fewer than the kernel's reserve: programs may not take the frames
/// the kernel needs to go on (page tables, kernel stacks for fork, the exit of the
/// processes the OOM killer ends), however much they ask for.
pub fn alloc_for_user() -> Option<Frame> {
    {
        let frames = FRAMES.lock();
        if frames.free_count <= user_reserve(frames.total_count) {
            return None;
        }
    }
    alloc()
}

/// The frames programs' pages may not take: 1/64 of memory, at least 1 MiB.
fn user_reserve(total: usize) -> usize {
    (total / 64).max(256)
}

/// `alloc_for_user`, filled with zeros.
pub fn alloc_for_user_zeroed() -> Option<Frame> {
    let frame = alloc_for_user()?;
    zero(frame);
    Some(frame)
}

/// Takes a frame filled with zeros.
pub fn alloc_zeroed() -> Option<Frame> {
    let frame = alloc()?;
    zero(frame);
    Some(frame)
}

/// Adds one reference to a frame that is in use (a copy-on-write share).
pub fn share(frame: Frame) {
    let mut frames = FRAMES.lock();
    let count = &mut frames.references[frame.number()];
    debug_assert!(*count > 0, "sharing a free frame");
    *count += 1;
}

/// The number of references to a frame in use.
pub fn references(frame: Frame) -> u16 {
    FRAMES.lock().references[frame.number()]
}

/// Drops one reference; the last one returns the frame to the pool.
pub fn release(frame: Frame) {
    let mut frames = FRAMES.lock();
    let count = &mut frames.references[frame.number()];
    debug_assert!(*count > 0, "releasing a free frame");
    *count -= 1;
    if *count == 0 {
        let head = frames.free_head;
        // SAFETY: the last reference is gone, so the frame is unused memory that is ours
        // to link into the free stack.
        unsafe { (frame.bytes() as *mut u64).write(head) };
        frames.free_head = frame.address();
        frames.free_count += 1;
    }
}

/// How many frames the allocator manages.
#[inline]
pub fn total_count() -> usize {
    FRAMES.lock().total_count
}

/// How many frames are free now.
#[inline]
pub fn free_count() -> usize {
    FRAMES.lock().free_count
}

/// Fills a frame with zeros: 32 bytes per store with AVX when the CPU has it (the
/// program's vector registers are saved first: `fpu::borrow_vector_registers`),
/// else 8 with `rep stosq`. Under `-icount` every store, or every iteration
/// of a string instruction, counts, so wide stores matter.
pub fn zero(frame: Frame) {
    if fpu::borrow_vector_registers() {
        // SAFETY: the frame is a whole, 32-byte aligned page of RAM owned by the
        // caller, reached through the direct map; AVX is enabled (XCR0); ymm0 is
        // declared clobbered (the kernel keeps nothing in the upper halves).
        unsafe {
            core::arch::asm!(
                "vpxor xmm0, xmm0, xmm0",
                "2:",
                "vmovdqa [{page}], ymm0",
                "vmovdqa [{page} + 32], ymm0",
                "vmovdqa [{page} + 64], ymm0",
                "vmovdqa [{page} + 96], ymm0",
                "vmovdqa [{page} + 128], ymm0",
                "vmovdqa [{page} + 160], ymm0",
                "vmovdqa [{page} + 192], ymm0",
                "vmovdqa [{page} + 224], ymm0",
                "add {page}, 256",
                "dec {count:e}",
                "jnz 2b",
                "vzeroupper",
                page = inout(reg) frame.bytes() => _,
                count = inout(reg) PAGE_SIZE / 256 => _,
                out("xmm0") _,
                options(nostack),
            );
        }
        return;
    }
    // SAFETY: as above; DF is clear in the kernel.
    unsafe {
        core::arch::asm!("rep stosq", inout("rcx") PAGE_SIZE / 8 => _, inout("rdi") frame.bytes() => _,
                         in("rax") 0u64, options(nostack, preserves_flags));
    }
}

/// Copies one frame's contents into another, as wide as `zero` stores.
pub fn copy(from: Frame, to: Frame) {
    // SAFETY: both are whole pages of RAM reached through the direct map; `to` is
    // owned by the caller and distinct from `from`.
    unsafe { copy_wide(from.bytes(), to.bytes(), PAGE_SIZE as usize) }
}

/// Copies `length` bytes from `from` to `to`, 128 a step with AVX when the CPU has
/// it (the program's vector registers are saved first), the rest with
/// memcpy. Under `-icount` every step of memcpy's `rep movsq` counts, so a 4 KiB
/// page is 512 of them against 32 loops of 12 instructions here. For page copies
/// and long copies to or from user memory (`AddressSpace`).
///
/// # Safety
///
/// `from` is readable and `to` writable for `length` bytes, through kernel
/// mappings, and the two ranges do not overlap.
#[inline(never)]
pub unsafe fn copy_wide(mut from: *const u8, mut to: *mut u8, length: usize) {
    let mut rest = length;
    if length >= 128 && fpu::borrow_vector_registers() {
        // SAFETY: the caller's promise covers the `length / 128 * 128` bytes
        // copied here; AVX is enabled (XCR0) and the registers used are declared
        // clobbered.
        unsafe {
            core::arch::asm!(
                "2:",
                "vmovdqu ymm0, [{from}]",
                "vmovdqu ymm1, [{from} + 32]",
                "vmovdqu ymm2, [{from} + 64]",
                "vmovdqu ymm3, [{from} + 96]",
                "vmovdqu [{to}], ymm0",
                "vmovdqu [{to} + 32], ymm1",
                "vmovdqu [{to} + 64], ymm2",
                "vmovdqu [{to} + 96], ymm3",
                "add {from}, 128",
                "add {to}, 128",
                "dec {count}",
                "jnz 2b",
                "vzeroupper",
                from = inout(reg) from,
                to = inout(reg) to,
                count = inout(reg) length / 128 => _,
                out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
                options(nostack),
            );
        }
        rest = length % 128;
    }
    // SAFETY: the last `rest` bytes of the caller's range, where the loop left
    // `from` and `to`.
    unsafe { core::ptr::copy_nonoverlapping(from, to, rest) };
}

/// A frame holding a page of a file's data: zeroed when taken (from the frames
/// programs may use, so files and programs share one bound), its bytes reached
/// only through this value, given back when it is dropped.
pub struct FilePage(Frame);

impl FilePage {
    /// The frame, for a memory mapping to share (`frame::share` takes its own
    /// reference, so the page outlives the file's hold on it while mapped).
    pub fn frame(&self) -> Frame {
        self.0
    }
}

impl kernel_core::tree::Page for FilePage {
    fn zeroed() -> Option<FilePage> {
        alloc_for_user_zeroed().map(FilePage)
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: the frame is a whole page of RAM reached through the direct map,
        // owned by this value alone (taken by `zeroed`, released by `drop`); the
        // borrow of `self` keeps it alive and unchanged meanwhile.
        unsafe { core::slice::from_raw_parts(self.0.bytes(), PAGE_SIZE as usize) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; the exclusive borrow of `self` makes this the
        // only reference to the page's bytes.
        unsafe { core::slice::from_raw_parts_mut(self.0.bytes(), PAGE_SIZE as usize) }
    }
}

impl Drop for FilePage {
    fn drop(&mut self) {
        release(self.0);
    }
}
