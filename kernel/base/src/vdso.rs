//! The vDSO: the image kernel/vdso builds into (see build.rs), copied once into
//! frames that every process maps at exec, and the clock page (Linux's vvar) its
//! functions read, which `time` publishes.
//!
//! Both are shared by every address space, read-only: a page of either is never
//! written through a user mapping (the image's pages are copy-on-write, should
//! mprotect make them writable; the clock page may never be), and the frames are
//! never freed (the references taken here are never given back).

use alloc::vec::Vec;
use spin::Once;

use crate::mm::frame::{self, Frame};
use crate::mm::PAGE_SIZE;
use kernel_core::clock::ClockPage;

/// The shared object, as the linker wrote it (file offsets are its addresses).
const IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vdso.so"));

/// The bytes the vDSO takes in every address space: the clock page and the image.
pub const FOOTPRINT: u64 = (1 + IMAGE.len().div_ceil(PAGE_SIZE as usize)) as u64 * PAGE_SIZE;

pub(crate) struct Pages {
    pub(crate) clock: Frame,
    pub(crate) image: Vec<Frame>,
}

static PAGES: Once<Pages> = Once::new();

/// Allocates the clock page and copies the image into frames, once, at boot
/// (before any program runs); None if memory is short.
pub fn init() -> Option<&'static ClockPage> {
    let clock = frame::alloc_zeroed()?;
    let mut image = Vec::new();
    for chunk in IMAGE.chunks(PAGE_SIZE as usize) {
        let page = frame::alloc_zeroed()?;
        // SAFETY: the frame is ours alone (just allocated) and a page long; the
        // chunk is at most a page.
        unsafe { core::ptr::copy_nonoverlapping(chunk.as_ptr(), page.bytes(), chunk.len()) };
        image.push(page);
    }
    PAGES.call_once(|| Pages { clock, image });
    clock_page()
}

/// The clock page, once `init` made it.
#[inline]
pub fn clock_page() -> Option<&'static ClockPage> {
    let clock = PAGES.get()?.clock;
    // SAFETY: the frame is never released (`PAGES` keeps its reference for
    // good), page-aligned, and was zeroed, which is a valid `ClockPage` (all
    // atomics); every access to it, the kernel's and the programs', is atomic.
    Some(unsafe { &*(clock.bytes() as *const ClockPage) })
}

/// The frames to map: the clock page and the image's.
pub(crate) fn pages() -> Option<&'static Pages> {
    PAGES.get()
}
