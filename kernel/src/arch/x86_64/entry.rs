//! Crossing the privilege boundary, both ways.
//!
//! `enter_user` is return-from-trap: it restores the user registers saved in the
//! process's trap frame (at the top of its kernel stack) and drops to ring 3 with
//! SYSRET or IRETQ. It "returns" only when the program traps back in, by SYSCALL,
//! an exception or an interrupt: the entry code pushes the user registers into that
//! same trap frame, saves the user's FPU/SSE/AVX state, switches back to the kernel
//! stack pointer `enter_user` left behind, and returns *why* as a `ReturnReason`.
//!
//! Kernel stack of a process, top down:
//!   [TrapFrame: user registers] [FPU save area] [kernel frames ... enter_user]
//! TSS.RSP0 and the per-CPU `kernel_stack_top` point just above the TrapFrame, so
//! the hardware's push (SS, RSP, RFLAGS, CS, RIP, error code) and the stub's pushes
//! fill exactly the TrapFrame.

use core::arch::global_asm;
use core::mem::{offset_of, size_of};
use x86_64::registers::model_specific::{LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::{PrivilegeLevel, VirtAddr};

use super::{cpu, gdt, percpu};

/// The `vector` value the SYSCALL entry records (not an IDT vector).
const SYSCALL_VECTOR: u64 = 256;

/// The user registers, as saved on the kernel stack at every entry from ring 3.
#[derive(Clone, Copy, Default, Debug)]
#[repr(C)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// Which entry: an IDT vector, or SYSCALL_VECTOR.
    vector: u64,
    pub error_code: u64,
    pub rip: u64,
    cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    ss: u64,
}

const _: () = assert!(size_of::<TrapFrame>() % 16 == 0);
pub const TRAP_FRAME_SIZE: u64 = size_of::<TrapFrame>() as u64;

/// User RFLAGS bits a program may set through a signal frame (Linux's FIX_EFLAGS:
/// CF PF AF ZF SF TF DF OF RF AC).
/// IF is always set in user mode; IOPL, NT, VM and the rest are never allowed.
const USER_RFLAGS_MASK: u64 = 0x0005_0dd5;
const RFLAGS_IF: u64 = 1 << 9;

impl TrapFrame {
    /// A frame that starts a program at `entry` with stack pointer `stack`: every
    /// general register zero (as Linux starts a new image), user selectors,
    /// interrupts enabled.
    pub fn new_user(entry: u64, stack: u64) -> TrapFrame {
        TrapFrame {
            rip: entry,
            rsp: stack,
            cs: u64::from(gdt::USER_CS),
            ss: u64::from(gdt::USER_DS),
            rflags: RFLAGS_IF,
            vector: SYSCALL_VECTOR,
            ..TrapFrame::default()
        }
    }

    /// Replaces RFLAGS with a value that came from the program (a signal frame),
    /// keeping only the bits a program may control.
    pub fn set_user_rflags(&mut self, value: u64) {
        self.rflags = (value & USER_RFLAGS_MASK) | RFLAGS_IF;
    }

    /// The system call number and its six arguments, in the Linux x86_64 ABI.
    pub fn syscall_args(&self) -> (u64, [u64; 6]) {
        (self.rax, [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9])
    }
}

/// A CPU exception raised by the program.
#[derive(Clone, Copy, Debug)]
pub enum Exception {
    DivideError,
    Debug,
    Breakpoint,
    Overflow,
    BoundRange,
    InvalidOpcode,
    DeviceNotAvailable,
    InvalidTss,
    SegmentNotPresent,
    StackSegment,
    GeneralProtection { error_code: u64 },
    PageFault { address: u64, access: PageFaultAccess },
    X87Floating,
    AlignmentCheck,
    SimdFloating,
    /// Any other vector below 32 (reserved or machine-level).
    Other { vector: u8 },
}

impl core::fmt::Display for Exception {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            Exception::DivideError => write!(f, "divide error"),
            Exception::Debug => write!(f, "debug trap"),
            Exception::Breakpoint => write!(f, "breakpoint"),
            Exception::Overflow => write!(f, "overflow"),
            Exception::BoundRange => write!(f, "bound range exceeded"),
            Exception::InvalidOpcode => write!(f, "invalid opcode"),
            Exception::DeviceNotAvailable => write!(f, "device not available"),
            Exception::InvalidTss => write!(f, "invalid TSS"),
            Exception::SegmentNotPresent => write!(f, "segment not present"),
            Exception::StackSegment => write!(f, "stack-segment fault"),
            Exception::GeneralProtection { error_code } => write!(f, "general protection fault (error {error_code:#x})"),
            Exception::PageFault { address, access } => {
                let kind = if access.instruction_fetch { "execute" } else if access.write { "write" } else { "read" };
                let why = if access.present { "protection violation" } else { "not mapped" };
                write!(f, "page fault: {kind} at {address:#x} ({why})")
            }
            Exception::X87Floating => write!(f, "x87 floating-point error"),
            Exception::AlignmentCheck => write!(f, "alignment check"),
            Exception::SimdFloating => write!(f, "SIMD floating-point error"),
            Exception::Other { vector } => write!(f, "exception {vector}"),
        }
    }
}

/// What the faulting access was, from the page-fault error code.
#[derive(Clone, Copy, Debug)]
pub struct PageFaultAccess {
    /// The page was present (a protection violation, not a missing page).
    pub present: bool,
    pub write: bool,
    pub instruction_fetch: bool,
}

/// Why the CPU came back from user mode.
#[derive(Clone, Copy, Debug)]
pub enum ReturnReason {
    /// The program executed SYSCALL; number and arguments are in the trap frame.
    SystemCall,
    /// The program caused an exception.
    Exception(Exception),
    /// A device interrupted the program (the timer, for instance).
    Interrupt(u8),
}

global_asm!(
    r#"
    .section .rodata
    .balign 4
kernel_mxcsr:
    .long 0x1f80                 /* all SSE exceptions masked, round to nearest */

    .section .text.entry, "ax"

    /* SYSCALL: rcx = user rip, r11 = user rflags, rsp still the user's. Interrupts
       are off (FMASK). Build the same frame an interrupt would have built. */
    .global syscall_entry
syscall_entry:
    swapgs
    mov %rsp, %gs:{user_rsp}
    mov %gs:{stack_top}, %rsp
    pushq ${user_ds}
    pushq %gs:{user_rsp}
    push %r11
    pushq ${user_cs}
    push %rcx
    pushq $0
    pushq ${syscall_vector}
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    jmp arrived_from_user

    /* Every IDT stub jumps here with [rsp] = vector, error code, then the CPU's frame. */
    .global trap_common
trap_common:
    testb $3, 24(%rsp)           /* CS of the interrupted code: ring 3? */
    jz trap_in_kernel
    swapgs
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    cld                          /* interrupt gates keep the user's DF and AC */
    pushfq
    andq $~(1 << 18), (%rsp)
    popfq

arrived_from_user:
    mov %gs:{fpu_area}, %rdi
    mov $-1, %eax
    mov $-1, %edx
    xsave64 (%rdi)
    ldmxcsr kernel_mxcsr(%rip)
    mov %gs:{resume_rsp}, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret                          /* out of enter_user_mode, into the kernel */

    /* enter_user_mode(frame: rdi): save the kernel's callee-saved registers, restore
       the program's state from its frame and FPU area, and return-from-trap. */
    .global enter_user_mode
enter_user_mode:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %gs:{resume_rsp}
    mov %gs:{fpu_area}, %rsi
    mov $-1, %eax
    mov $-1, %edx
    xrstor64 (%rsi)
    mov %rdi, %rsp
    cmpq ${syscall_vector}, {vector_offset}(%rsp)
    jne 1f
    /* SYSRET fast path: the rip was checked canonical by enter_user. */
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    mov 16(%rsp), %rcx           /* rip */
    mov 32(%rsp), %r11           /* rflags */
    mov 40(%rsp), %rsp           /* the user's stack */
    swapgs
    sysretq
1:
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp                /* vector, error code */
    swapgs
    iretq

    /* A trap while in ring 0: an interrupt during `wait_for_interrupt`, or a kernel
       bug. No stack switch, no swapgs: GS already points at the per-CPU data. */
trap_in_kernel:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    cld
    mov %rsp, %rdi
    call {kernel_trap}
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp
    iretq
    "#,
    user_rsp = const percpu::OFFSET_USER_RSP_SCRATCH,
    stack_top = const percpu::OFFSET_KERNEL_STACK_TOP,
    fpu_area = const percpu::OFFSET_FPU_AREA,
    resume_rsp = const percpu::OFFSET_KERNEL_RESUME_RSP,
    user_ds = const gdt::USER_DS,
    user_cs = const gdt::USER_CS,
    syscall_vector = const SYSCALL_VECTOR,
    vector_offset = const offset_of!(TrapFrame, vector),
    kernel_trap = sym kernel_trap,
    options(att_syntax)
);

extern "C" {
    fn syscall_entry();
    fn enter_user_mode(frame: *mut TrapFrame);
}

/// Programs the SYSCALL instruction: where it enters (LSTAR), with which selectors
/// (STAR), and which RFLAGS bits it clears (FMASK: interrupts, trap, direction,
/// alignment check, nested task, so the kernel starts in a known state).
pub fn init_syscall() {
    let mask = RFlags::INTERRUPT_FLAG | RFlags::TRAP_FLAG | RFlags::DIRECTION_FLAG
        | RFlags::ALIGNMENT_CHECK | RFlags::NESTED_TASK | RFlags::IOPL_HIGH | RFlags::IOPL_LOW;
    SFMask::write(mask);
    LStar::write(VirtAddr::new(syscall_entry as *const () as u64));
    Star::write(
        SegmentSelector::new(gdt::USER_CS >> 3, PrivilegeLevel::Ring3),
        SegmentSelector::new(gdt::USER_DS >> 3, PrivilegeLevel::Ring3),
        SegmentSelector::new(gdt::KERNEL_CS >> 3, PrivilegeLevel::Ring0),
        SegmentSelector::new(gdt::KERNEL_DS >> 3, PrivilegeLevel::Ring0),
    )
    .expect("the GDT layout matches what SYSCALL/SYSRET require");
}

/// Whether `address` is a canonical lower-half (user) address.
fn is_user_canonical(address: u64) -> bool {
    address >> 47 == 0
}

/// Runs the program described by `frame` (whose FPU state is in the area the per-CPU
/// data names) in ring 3 until it traps back into the kernel, and says why.
///
/// Invariant: `frame` is the trap frame at the top of the *current* process's kernel
/// stack, and `PerCpu::set_user_context` was called for that stack. The kernel never
/// returns to a non-canonical rip or rsp (SYSRET would fault in ring 0, IRETQ too):
/// such a frame is reported as a #GP of the program instead, as Linux does.
pub fn enter_user(frame: &mut TrapFrame) -> ReturnReason {
    if !is_user_canonical(frame.rip) || !is_user_canonical(frame.rsp) {
        return ReturnReason::Exception(Exception::GeneralProtection { error_code: 0 });
    }
    frame.cs = u64::from(gdt::USER_CS);
    frame.ss = u64::from(gdt::USER_DS);
    // SAFETY: the frame holds a canonical user rip/rsp, user selectors and sanitized
    // RFLAGS (every writer goes through this module), so IRETQ/SYSRET cannot fault in
    // ring 0 or grant privilege; the kernel stack and FPU area are the current
    // process's (this function's invariant). enter_user_mode returns like a normal
    // function (callee-saved registers restored) when the program traps.
    unsafe { enter_user_mode(frame) };
    decode(frame)
}

/// Reads the reason for the last entry from the frame the entry code filled.
fn decode(frame: &TrapFrame) -> ReturnReason {
    let exception = match frame.vector {
        SYSCALL_VECTOR => return ReturnReason::SystemCall,
        0 => Exception::DivideError,
        1 => Exception::Debug,
        3 => Exception::Breakpoint,
        4 => Exception::Overflow,
        5 => Exception::BoundRange,
        6 => Exception::InvalidOpcode,
        7 => Exception::DeviceNotAvailable,
        10 => Exception::InvalidTss,
        11 => Exception::SegmentNotPresent,
        12 => Exception::StackSegment,
        13 => Exception::GeneralProtection { error_code: frame.error_code },
        14 => Exception::PageFault {
            address: cpu::read_cr2(),
            access: PageFaultAccess {
                present: frame.error_code & 1 != 0,
                write: frame.error_code & 2 != 0,
                instruction_fetch: frame.error_code & 16 != 0,
            },
        },
        16 => Exception::X87Floating,
        17 => Exception::AlignmentCheck,
        19 => Exception::SimdFloating,
        vector @ 0..=31 => Exception::Other { vector: vector as u8 },
        vector => return ReturnReason::Interrupt(vector as u8),
    };
    ReturnReason::Exception(exception)
}

/// A trap taken in ring 0. Interrupts (only possible inside `wait_for_interrupt`)
/// are handed to the kernel; an exception is a kernel bug and ends the machine with
/// a register dump, never a silent hang.
extern "C" fn kernel_trap(frame: &mut TrapFrame) {
    if frame.vector >= 32 {
        crate::trap::interrupt_in_kernel(frame.vector as u8);
        return;
    }
    let cr2 = cpu::read_cr2();
    panic!(
        "kernel fault: vector {} error {:#x} at rip {:#x} (cr2 {:#x})\n\
         rax {:#018x} rbx {:#018x} rcx {:#018x} rdx {:#018x}\n\
         rsi {:#018x} rdi {:#018x} rbp {:#018x} rsp {:#018x}\n\
         r8  {:#018x} r9  {:#018x} r10 {:#018x} r11 {:#018x}\n\
         r12 {:#018x} r13 {:#018x} r14 {:#018x} r15 {:#018x}\n\
         cs {:#x} ss {:#x} rflags {:#x}",
        frame.vector, frame.error_code, frame.rip, cr2,
        frame.rax, frame.rbx, frame.rcx, frame.rdx,
        frame.rsi, frame.rdi, frame.rbp, frame.rsp,
        frame.r8, frame.r9, frame.r10, frame.r11,
        frame.r12, frame.r13, frame.r14, frame.r15,
        frame.cs, frame.ss, frame.rflags
    );
}
