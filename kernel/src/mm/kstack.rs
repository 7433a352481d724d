//! Kernel stacks, one per process, in their own virtual region with an unmapped guard
//! page below each, so an overflow faults instead of corrupting a neighbour.
//!
//! The top of each stack holds the entry code's header and the process's saved
//! user state (see `arch::x86_64::entry`): the trap frame, and below it the FPU
//! save area; the kernel thread's own frames grow down from below those.

use alloc::vec::Vec;
use core::mem::size_of;
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Mutex;
use x86_64::structures::paging::PageTableFlags as Flags;

use super::frame;
use super::{kernel_tree, KERNEL_STACKS_BASE, PAGE_SIZE};
use crate::arch::x86_64::entry::{StackHeader, STACK_HEADER_SIZE};
use crate::arch::x86_64::frame::{TrapFrame, TRAP_FRAME_SIZE};
use crate::arch::x86_64::fpu;
use crate::arch::x86_64::paging;
use crate::arch::x86_64::switch::KernelContext;

/// 16 KiB of stack per process.
const STACK_PAGES: u64 = 4;
/// Each slot is the stack plus its guard page.
const SLOT_SIZE: u64 = (STACK_PAGES + 1) * PAGE_SIZE;

struct Slots {
    next_unused: u64,
    released: Vec<u64>,
}

static SLOTS: Mutex<Slots> = Mutex::new(Slots { next_unused: 0, released: Vec::new() });

/// A process's kernel stack.
pub struct KernelStack {
    slot: u64,
    /// Set once the kernel thread has taken its `UserState`.
    claimed: AtomicBool,
}

/// The user state saved on a kernel stack: the trap frame and the FPU area. Only the
/// process's own kernel thread holds it (it is handed out once).
pub struct UserState<'a> {
    pub frame: &'a mut TrapFrame,
    pub fpu: &'a mut [u8],
}

impl UserState<'_> {
    /// The same state, lent for a shorter while (to a system call's context).
    pub fn reborrow(&mut self) -> UserState<'_> {
        UserState { frame: &mut *self.frame, fpu: &mut *self.fpu }
    }
}

impl KernelStack {
    /// Allocates and maps a stack. None when out of frames.
    pub fn new() -> Option<KernelStack> {
        let slot = {
            let mut slots = SLOTS.lock();
            slots.released.pop().unwrap_or_else(|| {
                slots.next_unused += 1;
                slots.next_unused - 1
            })
        };
        let stack = KernelStack { slot, claimed: AtomicBool::new(false) };
        let flags = Flags::PRESENT | Flags::WRITABLE | Flags::NO_EXECUTE | Flags::GLOBAL;
        for page in 0..STACK_PAGES {
            // On failure, Drop unmaps whatever was mapped so far.
            let frame = frame::alloc()?;
            // The tables made here (under the shared upper half) stay for good.
            if kernel_tree().map(stack.bottom() + page * PAGE_SIZE, frame, flags, &mut Vec::new()).is_err() {
                frame::release(frame);
                return None;
            }
        }
        Some(stack)
    }

    /// Lowest mapped address (the guard page is just below).
    fn bottom(&self) -> u64 {
        KERNEL_STACKS_BASE + self.slot * SLOT_SIZE + PAGE_SIZE
    }

    /// The unmapped page just below the stack.
    pub fn guard_page(&self) -> u64 {
        self.bottom() - PAGE_SIZE
    }

    /// One past the trap frame, just below the entry code's header at the very
    /// top: TSS.RSP0 while this process runs.
    pub fn frame_end(&self) -> u64 {
        self.bottom() + STACK_PAGES * PAGE_SIZE - STACK_HEADER_SIZE
    }

    fn frame_address(&self) -> u64 {
        self.frame_end() - TRAP_FRAME_SIZE
    }

    /// Where the FPU state is saved: 64-byte aligned, just below the trap frame.
    pub fn fpu_area(&self) -> u64 {
        (self.frame_address() - fpu::area_size() as u64) & !(fpu::AREA_ALIGN as u64 - 1)
    }

    /// Writes the user state a new process starts with (and a header saying its
    /// thread has not entered user mode yet), and returns the kernel
    /// context that starts its kernel thread at `entry`. Must be called before the
    /// thread runs (panics if the state was already claimed).
    pub fn prepare(&self, frame: &TrapFrame, fpu_state: &[u8], entry: extern "C" fn() -> !) -> KernelContext {
        assert!(!self.claimed.load(Ordering::Relaxed), "preparing a running kernel stack");
        assert_eq!(fpu_state.len(), fpu::area_size());
        // SAFETY: the stack is mapped and not in use by any thread (not claimed); the
        // header, frame and FPU area lie inside it and do not overlap; the context
        // goes below the FPU area.
        unsafe {
            (self.frame_end() as *mut StackHeader).write(StackHeader::new());
            (self.frame_address() as *mut TrapFrame).write(*frame);
            core::ptr::copy_nonoverlapping(fpu_state.as_ptr(), self.fpu_area() as *mut u8, fpu_state.len());
            KernelContext::new(self.fpu_area(), entry)
        }
    }

    /// Hands the saved user state to the process's kernel thread. Once only.
    pub fn claim_user_state(&self) -> UserState<'_> {
        let already = self.claimed.swap(true, Ordering::Relaxed);
        assert!(!already, "user state claimed twice");
        const _: () = assert!(size_of::<TrapFrame>() as u64 == TRAP_FRAME_SIZE);
        // SAFETY: the areas are inside this mapped stack, properly aligned, and the
        // `claimed` flag guarantees these are the only references ever made to them.
        unsafe {
            UserState {
                frame: &mut *(self.frame_address() as *mut TrapFrame),
                fpu: core::slice::from_raw_parts_mut(self.fpu_area() as *mut u8, fpu::area_size()),
            }
        }
    }
}

impl Drop for KernelStack {
    /// Unmaps and frees the stack. The owner guarantees no thread runs on it anymore.
    fn drop(&mut self) {
        for page in 0..STACK_PAGES {
            let address = self.bottom() + page * PAGE_SIZE;
            if let Some((frame, _)) = kernel_tree().unmap(address) {
                paging::flush_page(address);
                frame::release(frame);
            }
        }
        SLOTS.lock().released.push(self.slot);
    }
}
