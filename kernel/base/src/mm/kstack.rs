//! Kernel stacks, one per process, in their own virtual region with an unmapped guard
//! page below each, so an overflow faults instead of corrupting a neighbour.
//!
//! The top of each stack holds its owner (the kernel's record of the process whose
//! kernel thread runs on it: a `StackOwner`, of a type the base does not know), the
//! entry code's header and the process's saved user state (see
//! `arch::x86_64::entry`): the trap frame, and below it the FPU save area; the
//! kernel thread's own frames grow down from below those.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::TypeId;
use core::mem::size_of;
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Mutex;
use x86_64::structures::paging::PageTableFlags as Flags;

use super::frame;
use super::{kernel_tree, KERNEL_STACKS_BASE, PAGE_SIZE};
use crate::arch::x86_64::entry::StackHeader;
use crate::arch::x86_64::fpu;
use crate::arch::x86_64::frame::{TrapFrame, TRAP_FRAME_SIZE};
use crate::arch::x86_64::percpu::PerCpu;
use crate::arch::x86_64::switch::KernelContext;
use crate::arch::x86_64::tlb;

/// 16 KiB of stack per process.
const STACK_PAGES: u64 = 4;
/// Each slot is the stack plus its guard page.
const SLOT_SIZE: u64 = (STACK_PAGES + 1) * PAGE_SIZE;

struct Slots {
    next_unused: u64,
    released: Vec<u64>,
}

static SLOTS: Mutex<Slots> = Mutex::new(Slots { next_unused: 0, released: Vec::new() });

/// What the top of a kernel stack holds above the trap frame: the entry code's
/// header, then the stack's owner and the owner's type (checked by
/// `with_running_owner` before it lends the owner out as one): `NoOwner` until
/// `set_owner`, with a null owner.
#[repr(C)]
struct Crown {
    entry: StackHeader,
    owner: *const (),
    owner_type: &'static TypeId,
}

/// `T`'s `TypeId`, in a constant: the crown keeps a reference to it, so that the
/// switch's check is one comparison of addresses (the same type's constant may be
/// duplicated, hence the comparison of the ids behind unequal addresses).
#[inline(always)]
fn type_key<T: 'static>() -> &'static TypeId {
    const { &TypeId::of::<T>() }
}

/// The owner type of a stack that has none yet (private: no `StackOwner`).
enum NoOwner {}

/// What owns a kernel stack: the record of the process whose kernel thread runs on
/// it, which holds the stack (so lives as long as it).
pub trait StackOwner: Sync + 'static {
    /// The stack it holds.
    fn kernel_stack(&self) -> &KernelStack;
}

/// The room the crown takes (a multiple of 16: the trap frame below ends where
/// the CPU's aligned interrupt push begins).
const CROWN_SIZE: u64 = size_of::<Crown>().next_multiple_of(16) as u64;

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
    fpu: &'a mut [u8],
}

impl UserState<'_> {
    /// The program's FPU state, in its save area (saved there first if it was still
    /// live in the registers: see `fpu`). A change reaches the program when it returns.
    pub fn fpu(&mut self) -> &mut [u8] {
        fpu::save_live();
        self.fpu
    }

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
    #[inline]
    fn bottom(&self) -> u64 {
        KERNEL_STACKS_BASE + self.slot * SLOT_SIZE + PAGE_SIZE
    }

    /// The unmapped page just below the stack.
    pub fn guard_page(&self) -> u64 {
        self.bottom() - PAGE_SIZE
    }

    /// One past the trap frame, just below the crown at the very top: TSS.RSP0
    /// while this process runs.
    #[inline]
    pub fn frame_end(&self) -> u64 {
        self.bottom() + STACK_PAGES * PAGE_SIZE - CROWN_SIZE
    }

    #[inline]
    fn frame_address(&self) -> u64 {
        self.frame_end() - TRAP_FRAME_SIZE
    }

    /// Where the FPU state is saved: 64-byte aligned, just below the trap frame.
    #[inline]
    pub fn fpu_area(&self) -> u64 {
        (self.frame_address() - fpu::layout().area_size() as u64) & !(fpu::AREA_ALIGN as u64 - 1)
    }

    /// Writes the user state a new process starts with (and a header saying its
    /// thread has not entered user mode yet), and returns the kernel
    /// context that starts its kernel thread at `entry`. Must be called before the
    /// thread runs (panics if the state was already claimed).
    pub fn prepare(&self, frame: &TrapFrame, fpu_state: &[u8], entry: extern "C" fn() -> !) -> KernelContext {
        assert!(!self.claimed.load(Ordering::Relaxed), "preparing a running kernel stack");
        assert_eq!(fpu_state.len(), fpu::layout().area_size());
        // SAFETY: the stack is mapped and not in use by any thread (not claimed); the
        // header, frame and FPU area lie inside it and do not overlap; the context
        // goes below the FPU area.
        unsafe {
            (self.frame_end() as *mut Crown).write(Crown {
                entry: StackHeader::new(),
                owner: core::ptr::null(),
                owner_type: type_key::<NoOwner>(),
            });
            (self.frame_address() as *mut TrapFrame).write(*frame);
            core::ptr::copy_nonoverlapping(fpu_state.as_ptr(), self.fpu_area() as *mut u8, fpu_state.len());
            KernelContext::new(self.fpu_area(), entry)
        }
    }

    /// Records `owner` as the owner of the stack it holds, for `with_running_owner`.
    /// Must be called before the stack's thread runs (panics after). The owner
    /// lives in its `Arc` (it must not be moved out of it while the stack is in use).
    pub fn set_owner<T: StackOwner>(owner: &Arc<T>) {
        let stack = owner.kernel_stack();
        assert!(!stack.claimed.load(Ordering::Relaxed), "a running kernel stack changing owner");
        // SAFETY: the crown lies inside this mapped stack, which no thread runs on
        // yet (not claimed), so nothing reads it meanwhile.
        unsafe {
            let crown = stack.frame_end() as *mut Crown;
            (*crown).owner = Arc::as_ptr(owner).cast();
            (*crown).owner_type = type_key::<T>();
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
                fpu: core::slice::from_raw_parts_mut(self.fpu_area() as *mut u8, fpu::layout().area_size()),
            }
        }
    }
}

impl Drop for KernelStack {
    /// Unmaps and frees the stack. The owner guarantees no thread runs on it
    /// anymore; its frames are released once every CPU has dropped their
    /// translations (another CPU may have run the thread).
    fn drop(&mut self) {
        let mut frames = [None; STACK_PAGES as usize];
        for (page, frame) in frames.iter_mut().enumerate() {
            *frame = kernel_tree().unmap(self.bottom() + page as u64 * PAGE_SIZE).map(|(frame, _)| frame);
        }
        tlb::flush_kernel(self.bottom()..self.bottom() + STACK_PAGES * PAGE_SIZE);
        for frame in frames.into_iter().flatten() {
            frame::release(frame);
        }
        SLOTS.lock().released.push(self.slot);
    }
}

/// Runs `f` with the owner of the kernel stack this CPU is on (the process whose
/// kernel thread is running here), found without the kernel's process table (every
/// blocking system call and every switch asks). None if that owner is not a `T`,
/// on a CPU's boot stack (its idle loop), or between the switch's
/// `set_user_context` and its stack swap.
///
/// The stack is known as the one whose trap frame the per-CPU data names, checked
/// to contain the stack pointer. The owner is lent as its `Arc`, uncounted: `f`
/// clones it if it keeps a reference (a blocked thread's entry, for its waker),
/// without a second look-up.
#[inline(always)]
pub fn with_running_owner<T: StackOwner, R>(f: impl FnOnce(&Arc<T>) -> R) -> Option<R> {
    let frame = PerCpu::this().trap_frame_address();
    let rsp: u64;
    // SAFETY: reads the stack pointer, nothing else.
    unsafe { core::arch::asm!("mov {}, rsp", out(reg) rsp, options(nomem, nostack, preserves_flags)) };
    // Below the frame and within the stack's pages under it (unsigned: a stack
    // pointer above the frame wraps to a large distance, as does any kernel stack
    // pointer from frame 0, before any process ran).
    const BELOW_FRAME: u64 = STACK_PAGES * PAGE_SIZE - CROWN_SIZE - TRAP_FRAME_SIZE;
    if frame.wrapping_sub(rsp) > BELOW_FRAME {
        return None;
    }
    // SAFETY: the CPU runs on the stack whose frame `frame` is, so that stack is
    // mapped, its crown (just above the frame) was written by `prepare` and
    // `set_owner` before its thread first ran, its owner is a `T` (the type just
    // checked), and alive: it holds the stack, and the kernel thread running here
    // keeps a reference to it (its `kernel_thread` frame, then the process table's
    // entry, which is reaped only after this thread switched away for good). The
    // thread's frames above `f`'s stay put while it is switched out, so the
    // reference holds for all of `f`.
    // (A stack whose `set_owner` was missed has owner type `NoOwner`, which is no
    // `StackOwner`: it reads as none.)
    // The owner pointer is `Arc::as_ptr` of the `Arc` it lives in (`set_owner`):
    // taken back as an `Arc` that is never dropped (`ManuallyDrop`), it leaves the
    // counts as they were, and a clone `f` makes counts one more.
    let owner = unsafe {
        let crown = &*((frame + TRAP_FRAME_SIZE) as *const Crown);
        let wanted = type_key::<T>();
        if !core::ptr::eq(crown.owner_type, wanted) && *crown.owner_type != *wanted {
            return None;
        }
        core::mem::ManuallyDrop::new(Arc::from_raw(crown.owner.cast::<T>()))
    };
    Some(f(&owner))
}

/// The owner of the kernel stack this CPU is on (`with_running_owner`), as a
/// reference of the caller's own: what a thread leaves for another CPU to find it
/// by without the kernel's process table (a futex waiter's entry, for its waker).
#[inline(always)]
pub fn running_owner<T: StackOwner>() -> Option<Arc<T>> {
    with_running_owner(Arc::clone)
}
