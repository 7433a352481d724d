//! The context switch: the kernel's own register save (the second of the two). The
//! user registers were already saved by the trap into the trap frame; here we save
//! the *kernel* registers of one process's kernel thread and load another's, so the
//! final return-from-trap resumes the other program.

use core::arch::global_asm;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

global_asm!(
    r#"
    .section .text.switch, "ax"
    /* switch_kernel_stacks(from: rdi, to: rsi), two KernelContexts (rsp at 0, the
       `running` byte at 8): the System V callee-saved registers go on the old stack,
       its rsp into from's slot, then from's `running` is cleared: from then on another
       CPU may resume it (x86 keeps the two stores in order; nothing below touches
       this stack again). If `to` is still being saved by another CPU (made runnable
       before that CPU's switch away from it finished), wait for its `running` to
       clear; then mark it running and take its stack. */
    .global switch_kernel_stacks
switch_kernel_stacks:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    movb $0, 8(%rdi)
1:  cmpb $0, 8(%rsi)
    jne 2f
    movb $1, 8(%rsi)
    mov (%rsi), %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret
2:  pause
    jmp 1b
    "#,
    options(att_syntax)
);

extern "C" {
    fn switch_kernel_stacks(from: *const KernelContext, to: *const KernelContext);
}

/// A suspended kernel thread: the stack pointer at which `switch_kernel_stacks`
/// left its callee-saved registers and return address. Its layout is the switch's
/// (`rsp` at offset 0, `running` at 8).
#[repr(C)]
pub struct KernelContext {
    rsp: UnsafeCell<u64>,
    /// Set while a CPU runs the thread, from the switch to it until its next switch
    /// away has saved `rsp` (Linux's `on_cpu`): a thread made runnable while it is
    /// still switching away on one CPU is not resumed on another before that.
    running: AtomicBool,
}

// SAFETY: a context is written only by the CPU switching away from it and read only by
// the CPU switching to it, which waits for `running` to clear first (`switch`), so
// no thread runs on two CPUs.
unsafe impl Sync for KernelContext {}

/// Number of registers `switch_kernel_stacks` pops before `ret`.
const SAVED_REGISTERS: usize = 6;

impl KernelContext {
    /// A context that will not be switched to (the slot a switch saves into).
    pub const fn empty() -> KernelContext {
        KernelContext { rsp: UnsafeCell::new(0), running: AtomicBool::new(false) }
    }

    /// A context that, when switched to, starts `entry` on the stack below
    /// `stack_top` (16-byte aligned), as if `entry` had just been called.
    ///
    /// # Safety
    /// `[stack_top - 64, stack_top)` must be writable memory that belongs to the new
    /// thread's stack and stays allocated while the thread can run.
    pub unsafe fn new(stack_top: u64, entry: extern "C" fn() -> !) -> KernelContext {
        // At `entry`, rsp must be 8 mod 16 as after a call: put the return slot at a
        // 16-byte boundary and the six zeroed register slots just below it.
        let return_slot = (stack_top - 16) & !15;
        let rsp = return_slot - (SAVED_REGISTERS as u64) * 8;
        // SAFETY: the caller guarantees these bytes are this stack's.
        unsafe {
            let registers = rsp as *mut u64;
            for index in 0..SAVED_REGISTERS {
                registers.add(index).write(0);
            }
            (return_slot as *mut u64).write(entry as usize as u64);
        }
        KernelContext { rsp: UnsafeCell::new(rsp), running: AtomicBool::new(false) }
    }
}

impl KernelContext {
    /// Waits until no CPU runs this thread any more: its last switch away saved it.
    /// The reaper of an exited thread waits so before freeing its stack, on which
    /// the thread's final switch may still be running on another CPU. Inlined (a
    /// test, on every switch), the wait itself out of line.
    #[inline(always)]
    pub fn wait_until_switched_out(&self) {
        if self.running.load(Ordering::Acquire) {
            self.spin_until_switched_out();
        }
    }

    /// Whether a CPU still runs this thread: switched to it, and not yet through
    /// its next switch away (which saves it).
    #[inline(always)]
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// Answers TLB shootdowns while it waits, as every wait with interrupts off
    /// must: the CPU it waits for may be waiting for a lock whose holder waits for
    /// this CPU's acknowledgement (seen: three CPUs deadlocked so until the
    /// shootdown's 5 s timeout failed the kernel).
    #[cold]
    #[inline(never)]
    fn spin_until_switched_out(&self) {
        while self.running.load(Ordering::Acquire) {
            super::tlb::service();
            core::hint::spin_loop();
        }
    }

    /// The stack pointer at which the thread was last suspended (or will start).
    pub fn saved_stack_pointer(&self) -> u64 {
        // SAFETY: a plain read of the cell; only the switch writes it, and only the
        // thread that owns it runs that switch, on this CPU with interrupts off.
        unsafe { *self.rsp.get() }
    }

    /// Where the suspended thread resumes: the return address `switch_kernel_stacks`
    /// will `ret` to, above its six saved registers. None if that stack word is not
    /// mapped (a context never saved).
    pub fn saved_return_address(&self) -> Option<u64> {
        let slot = self.saved_stack_pointer().checked_add(SAVED_REGISTERS as u64 * 8)?;
        crate::mm::kernel_tree().translate(slot & !0xfff)?;
        // SAFETY: the word is mapped (checked just above) and 8-byte aligned (the
        // saved rsp is); it is read, not written, and any value is a valid u64.
        Some(unsafe { core::ptr::read_volatile(slot as *const u64) })
    }
}

/// Saves the running kernel thread into `from` and resumes `to`. Returns when some
/// other thread switches back to `from`.
///
/// If `to` is still switching away on another CPU (it was made runnable before its
/// switch saved it), waits until that switch has saved its registers.
///
/// Invariant (the scheduler's): `to` was saved by a previous `switch` or made by
/// `KernelContext::new`, or is being saved by one now, and only this CPU resumes
/// it; interrupts are off.
#[inline(always)]
pub fn switch(from: &KernelContext, to: &KernelContext) {
    debug_assert!(!x86_64::instructions::interrupts::are_enabled(), "a switch with interrupts on");
    debug_assert!(!core::ptr::eq(from, to), "a switch to the running thread itself");
    // SAFETY: `to` holds a valid suspended stack (invariant above), whose save the
    // switch waits to be complete (`running` clear) before it takes it; `from`'s cells
    // are ours to write since we are the thread running in it. The offsets the
    // assembly uses are the `repr(C)` layout's (checked below).
    unsafe { switch_kernel_stacks(from, to) }
}

const _: () = {
    assert!(core::mem::offset_of!(KernelContext, rsp) == 0);
    assert!(core::mem::offset_of!(KernelContext, running) == 8);
};
