//! Crossing the privilege boundary, both ways.
//!
//! `enter_user` is return-from-trap: it restores the user registers saved in the
//! process's trap frame (at the top of its kernel stack) and drops to ring 3 with
//! SYSRET or IRETQ. It "returns" only when the program traps back in, by SYSCALL,
//! an exception or an interrupt: the entry code pushes the user registers into that
//! same trap frame, saves the user's FPU/SSE/AVX state (but on the system call fast
//! path: see `fpu`), switches back to the kernel stack pointer `enter_user` left
//! behind, and returns *why* as a `ReturnReason`.
//!
//! Kernel stack of a process, top down:
//!   [StackHeader] [TrapFrame: user registers] [FPU save area] [kernel frames ... enter_user]
//! TSS.RSP0 points just above the TrapFrame (and the per-CPU `trap_frame` at it), so
//! the hardware's push (SS, RSP, RFLAGS, CS, RIP, error code) and the stub's pushes
//! fill exactly the TrapFrame. The entry code finds the header at a fixed offset
//! from the trap frame, so what it holds follows the process across context
//! switches with nothing copied.
//!
//! Over 500 lines with reason: it is one `global_asm!` block (entry and exit paths
//! share its macros and labels) and the Rust interface bound to its layout, one
//! contract that would be harder to check split in two.

use core::arch::global_asm;
use core::mem::offset_of;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use x86_64::registers::model_specific::{LStar, Msr, SFMask, Star};
use x86_64::registers::rflags::RFlags;
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::{PrivilegeLevel, VirtAddr};

use super::frame::{Exception, ReturnReason, TrapFrame, SYSCALL_SERVED_VECTOR, SYSCALL_VECTOR, TRAP_FRAME_SIZE};
use super::{apic, cpu, gdt, percpu, tlb};

global_asm!(
    r#"
    /* The System V callee-saved registers, pushed and popped back: the kernel's in
       enter_user_mode, the last six fields of a TrapFrame for the program's. */
    .macro push_callee_saved
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    .endm
    .macro pop_callee_saved
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    .endm

    /* The general registers of a TrapFrame, pushed in the reverse of its field
       order (so the last push, r15, is its first field) and popped back. */
    .macro push_general_registers
    push %rax
    push %rcx
    push %r11
    push %r9
    push %r8
    push %r10
    push %rdx
    push %rsi
    push %rdi
    push_callee_saved
    .endm
    .macro pop_general_registers
    pop_callee_saved
    pop %rdi
    pop %rsi
    pop %rdx
    pop %r10
    pop %r8
    pop %r9
    pop %r11
    pop %rcx
    pop %rax
    .endm

    /* The program's FPU/SSE/AVX state to this CPU's FPU area (every component the
       CPU enables), noted in the per-CPU flag (see fpu.rs): clobbers rdi, rax, rdx. */
    .macro save_user_fpu
    mov %gs:{fpu_area}, %rdi
    mov $-1, %eax
    mov $-1, %edx
    xsave64 (%rdi)
    movb $1, %gs:{fpu_saved}
    .endm
    /* And back, through the scratch register given: clobbers it, rax, rdx. */
    .macro restore_user_fpu scratch
    mov %gs:{fpu_area}, \scratch
    mov $-1, %eax
    mov $-1, %edx
    xrstor64 (\scratch)
    movb $0, %gs:{fpu_saved}
    .endm

    /* SYSCALL's way in, shared by both entries: the caller-saved registers to
       the frame, rdi the handler and rsp below the serve loop's frames. */
    .macro save_system_call_frame
    swapgs
    mov %rsp, %gs:{user_rsp}
    /* Just above the frame's rsp: two pushes store the user's rsp (memory to
       memory, with no register free yet) and rflags; rsp is then at the frame's
       rflags, which the offsets below are relative to. */
    mov %gs:{syscall_stack}, %rsp
    pushq %gs:{user_rsp}
    push %r11
    mov %rcx, {s_rip}(%rsp)
    mov %rax, {s_rax}(%rsp)
    mov %rdi, {s_rdi}(%rsp)
    mov %rsi, {s_rsi}(%rsp)
    mov %rdx, {s_rdx}(%rsp)
    mov %r10, {s_r10}(%rsp)
    mov %r8, {s_r8}(%rsp)
    mov %r9, {s_r9}(%rsp)
    /* The entry runs below the serve loop's frames (the resume rsp is 16-byte
       aligned, as a call needs), given the handler, which holds the frame. */
    mov {s_handler}(%rsp), %rdi
    mov {s_resume}(%rsp), %rsp
    .endm

    .section .text.entry, "ax"

    /* SYSCALL: rcx = user rip, r11 = user rflags, rsp still the user's; interrupts
       are off (FMASK). The fast path: save only what the kernel's Rust code may
       clobber (the caller-saved general registers; it preserves the callee-saved
       ones, and never touches the vector registers), call the entry for the number
       in the table the serve loop registered, and SYSRET straight back. */
    .global syscall_entry
syscall_entry:
    save_system_call_frame
    cmp ${table_size}, %rax
    jae syscall_past_table
syscall_call:
    /* The entry returns a `Served`: the result in rax, how to return in dl. */
    call *{table}(,%rax,8)
syscall_served:
    mov %gs:{trap_frame}, %rsp
    /* One test for both reasons not to SYSRET at once: the exit byte leaves its
       bit 0 to the FPU flag (0 or 1). */
    or %gs:{fpu_saved}, %dl
    jnz syscall_not_straight_back
syscall_sysret:
    mov {f_rdi}(%rsp), %rdi
    mov {f_rsi}(%rsp), %rsi
    mov {f_rdx}(%rsp), %rdx
    mov {f_r10}(%rsp), %r10
    mov {f_r8}(%rsp), %r8
    mov {f_r9}(%rsp), %r9
    mov {f_rip}(%rsp), %rcx
    mov {f_rflags}(%rsp), %r11
    mov {f_rsp}(%rsp), %rsp
    swapgs
    sysretq
syscall_not_straight_back:
    test $~1, %dl
    jnz syscall_slow_return
    /* The handler gave the vector registers away (it blocked, or copied with AVX). */
    mov %rax, {f_rax}(%rsp)
    restore_user_fpu %rdi
    mov {f_rax}(%rsp), %rax
    jmp syscall_sysret
    /* The number is an int, as on Linux: rax's upper half is not part of it (checked
       here only, so that a number in the table costs one compare). Past the table's
       end, no call has one: the last entry is for such. */
syscall_past_table:
    mov %eax, %eax
    cmp ${table_size}, %rax
    jb syscall_call
    mov ${table_last}, %eax
    jmp syscall_call

    /* SYSCALL while this CPU diverts system calls (`divert_system_calls`): the
       same frame, then the handler's `diverted`, which ends the diversion; then
       back to the SYSCALL instruction with the registers it had (rcx and r11 are
       SYSCALL's anyway), so the call comes in again, through `syscall_entry`,
       as Linux restarts a call. */
    .global syscall_diverted_entry
syscall_diverted_entry:
    save_system_call_frame
    call *{diverted}(%rip)
    mov %gs:{trap_frame}, %rsp
    mov {f_rax}(%rsp), %rax      /* the number, for the call again */
    subq $2, {f_rip}(%rsp)       /* SYSCALL is 2 bytes */
    xor %edx, %edx               /* straight back (but for the FPU flag) */
    jmp syscall_served

    /* The handler asked for the full path: complete the frame (the callee-saved
       registers still hold the program's values), note whether the call was already
       served, and return out of enter_user_mode into the serve loop. */
syscall_slow_return:
    mov %rbx, {f_rbx}(%rsp)
    mov %rbp, {f_rbp}(%rsp)
    mov %r12, {f_r12}(%rsp)
    mov %r13, {f_r13}(%rsp)
    mov %r14, {f_r14}(%rsp)
    mov %r15, {f_r15}(%rsp)
    mov {f_rip}(%rsp), %rcx
    mov %rcx, {f_rcx}(%rsp)
    mov {f_rflags}(%rsp), %rcx
    mov %rcx, {f_r11}(%rsp)
    movq $0, {f_error}(%rsp)
    /* SYSCALL comes from 64-bit code only (CSTAR refuses 32-bit code's): the code
       segment an earlier interrupt left in the frame may be 32-bit code's. */
    movq ${user_cs}, {f_cs}(%rsp)
    movq ${syscall_vector}, {f_vector}(%rsp)
    test ${exit_defer}, %dl
    jnz 1f
    mov %rax, {f_rax}(%rsp)      /* served: its result */
    movq ${served_vector}, {f_vector}(%rsp)
1:
    cmpb $0, %gs:{fpu_saved}
    je arrived_from_user         /* still live: save it, as every full path does */
    jmp resume_kernel

    /* SYSCALL from 32-bit code (CSTAR). timeshare has no ia32 system calls; an Intel
       CPU refuses SYSCALL outside 64-bit mode (#UD), so the program gets what it
       would get there: the invalid-opcode exception, at the 2-byte instruction. The
       CPU did not switch stacks and the user's rsp means nothing to ring 0: exactly
       as on the 64-bit entry, the stack becomes this CPU's trap frame, where the
       hardware frame an interrupt would have pushed is built by hand. rcx and r11
       are the user rip and rflags now: their old values are gone (an Intel CPU
       would have kept them), and the frame shows those. */
    .global syscall32_entry
syscall32_entry:
    swapgs
    mov %rsp, %gs:{user_rsp}
    mov %gs:{trap_frame}, %rsp
    add ${frame_size}, %rsp
    pushq ${user_ss}
    pushq %gs:{user_rsp}
    push %r11                    /* rflags */
    pushq ${user32_cs}
    lea -2(%rcx), %rcx           /* back to the SYSCALL instruction */
    push %rcx
    pushq $0                     /* error code */
    pushq ${invalid_opcode}      /* vector */
    push_general_registers       /* FMASK cleared DF and AC, as on the 64-bit entry */
    jmp arrived_from_user

    /* Every IDT stub jumps here with [rsp] = vector, error code, then the CPU's frame. */
    .global trap_common
trap_common:
    cmpq ${nmi_vector}, (%rsp)
    je nmi_entry
    testb $3, 24(%rsp)           /* CS of the interrupted code: ring 3? */
    jz trap_in_kernel
    swapgs
    push_general_registers
    cld                          /* interrupt gates keep the user's DF and AC */
    pushfq
    andq $~(1 << 18), (%rsp)
    popfq

arrived_from_user:
    save_user_fpu
    /* rsp is at the trap frame on both ways here. */
resume_kernel:
    mov {h_resume}(%rsp), %rsp
    add $8, %rsp                 /* the alignment slot */
    pop_callee_saved
    ret                          /* out of enter_user_mode, into the kernel */

    /* enter_user_mode(frame: rdi): save the kernel's callee-saved registers, restore
       the program's state from its frame and FPU area, and return-from-trap. */
    .global enter_user_mode
enter_user_mode:
    push_callee_saved
    sub $8, %rsp                 /* aligns the resume rsp to 16 for the fast path's call */
    mov %rsp, {h_resume}(%rdi)
    restore_user_fpu %rsi
    mov %rdi, %rsp
    cmpq ${syscall_vector}, {f_vector}(%rsp)
    jb 1f
    /* SYSRET fast path: the rip was checked canonical by enter_user. */
    pop_general_registers
    mov 16(%rsp), %rcx           /* rip */
    mov 32(%rsp), %r11           /* rflags */
    mov 40(%rsp), %rsp           /* the user's stack */
    swapgs
    sysretq
1:
    pop_general_registers
    add $16, %rsp                /* vector, error code */
    swapgs
    iretq

    /* A trap while in ring 0: an interrupt during `wait_for_interrupt`, or a kernel
       bug. No stack switch, no swapgs: GS already points at the per-CPU data. */
trap_in_kernel:
    push_general_registers
    cld
    mov %rsp, %rdi
    call {kernel_trap}
    pop_general_registers
    add $16, %rsp
    iretq

    /* An NMI (on its IST stack), which never returns: it can come at any
       instruction, also between SYSCALL and SWAPGS or between SWAPGS and the
       return to user mode, so the ring of the interrupted code does not tell which
       GS is live; the GS base does (the kernel's per-CPU data is in the upper half,
       a user GS base never is). */
nmi_entry:
    push_general_registers
    cld
    mov $0xc0000101, %ecx        /* IA32_GS_BASE */
    rdmsr
    test %edx, %edx
    js 1f
    swapgs
1:
    mov %rsp, %rdi
    call {nmi_received}
    ud2
    "#,
    user_rsp = const percpu::OFFSET_USER_RSP_SCRATCH,
    fpu_area = const percpu::OFFSET_FPU_AREA,
    fpu_saved = const percpu::OFFSET_FPU_SAVED,
    h_resume = const TRAP_FRAME_SIZE as usize + offset_of!(StackHeader, resume_rsp),
    syscall_stack = const percpu::OFFSET_SYSCALL_STACK,
    s_rip = const from_rflags(offset_of!(TrapFrame, rip)),
    s_rax = const from_rflags(offset_of!(TrapFrame, rax)),
    s_rdi = const from_rflags(offset_of!(TrapFrame, rdi)),
    s_rsi = const from_rflags(offset_of!(TrapFrame, rsi)),
    s_rdx = const from_rflags(offset_of!(TrapFrame, rdx)),
    s_r10 = const from_rflags(offset_of!(TrapFrame, r10)),
    s_r8 = const from_rflags(offset_of!(TrapFrame, r8)),
    s_r9 = const from_rflags(offset_of!(TrapFrame, r9)),
    s_handler = const from_rflags(TRAP_FRAME_SIZE as usize + offset_of!(StackHeader, handler)),
    s_resume = const from_rflags(TRAP_FRAME_SIZE as usize + offset_of!(StackHeader, resume_rsp)),
    table = sym SYSCALL_TABLE,
    diverted = sym DIVERTED_ENTRY,
    table_size = const SYSCALL_TABLE_SIZE,
    table_last = const SYSCALL_TABLE_SIZE - 1,
    syscall_vector = const SYSCALL_VECTOR,
    served_vector = const SYSCALL_SERVED_VECTOR,
    exit_defer = const SyscallExit::DEFER.0,
    trap_frame = const percpu::OFFSET_TRAP_FRAME,
    frame_size = const TRAP_FRAME_SIZE,
    user_ss = const gdt::USER_DS,
    user32_cs = const gdt::USER32_CS,
    user_cs = const gdt::USER_CS,
    invalid_opcode = const Exception::InvalidOpcode.vector(),
    f_rip = const offset_of!(TrapFrame, rip),
    f_rflags = const offset_of!(TrapFrame, rflags),
    f_rsp = const offset_of!(TrapFrame, rsp),
    f_cs = const offset_of!(TrapFrame, cs),
    f_vector = const offset_of!(TrapFrame, vector),
    f_error = const offset_of!(TrapFrame, error_code),
    f_rax = const offset_of!(TrapFrame, rax),
    f_rbx = const offset_of!(TrapFrame, rbx),
    f_rcx = const offset_of!(TrapFrame, rcx),
    f_rdx = const offset_of!(TrapFrame, rdx),
    f_rsi = const offset_of!(TrapFrame, rsi),
    f_rdi = const offset_of!(TrapFrame, rdi),
    f_rbp = const offset_of!(TrapFrame, rbp),
    f_r8 = const offset_of!(TrapFrame, r8),
    f_r9 = const offset_of!(TrapFrame, r9),
    f_r10 = const offset_of!(TrapFrame, r10),
    f_r11 = const offset_of!(TrapFrame, r11),
    f_r12 = const offset_of!(TrapFrame, r12),
    f_r13 = const offset_of!(TrapFrame, r13),
    f_r14 = const offset_of!(TrapFrame, r14),
    f_r15 = const offset_of!(TrapFrame, r15),
    kernel_trap = sym kernel_trap,
    nmi_received = sym super::stop::nmi_received,
    nmi_vector = const super::stop::NMI_VECTOR,
    options(att_syntax)
);

/// `offset` (into the frame, or past it into the header) from the frame's rflags,
/// where the SYSCALL entry's rsp is once it has pushed the user's rsp and rflags.
const fn from_rflags(offset: usize) -> isize {
    offset as isize - offset_of!(TrapFrame, rflags) as isize
}

// The two pushes of the SYSCALL entry: from just above the frame's rsp
// (`PerCpu::syscall_stack`), they fill its rsp and then its rflags.
const _: () = assert!(offset_of!(TrapFrame, rsp) + 8 == offset_of!(TrapFrame, ss));
const _: () = assert!(offset_of!(TrapFrame, rflags) + 8 == offset_of!(TrapFrame, rsp));

/// What the entry code keeps about a process's kernel thread, just above its trap
/// frame (see the module's stack layout): per process by construction, where the
/// per-CPU data would have to be saved and restored at every switch.
#[repr(C, align(16))]
pub struct StackHeader {
    /// Where the kernel thread waits in `enter_user_mode` while the program runs: a
    /// trap from user mode resumes there, and the fast path's handler runs below it.
    resume_rsp: u64,
    /// The system-call handler `enter_user` registered.
    handler: u64,
}

impl StackHeader {
    /// The header of a thread that has not entered user mode yet.
    pub const fn new() -> StackHeader {
        StackHeader { resume_rsp: 0, handler: 0 }
    }
}

extern "C" {
    fn syscall_entry();
    fn syscall_diverted_entry();
    fn syscall32_entry();
    fn enter_user_mode(frame: *mut TrapFrame);
}

/// Defines every instruction-level way into ring 0 besides the IDT: SYSCALL from
/// 64-bit code (LSTAR), from 32-bit code (CSTAR: refused as an invalid opcode, see
/// `syscall32_entry`), with which selectors (STAR), and which RFLAGS bits it clears
/// (FMASK: interrupts, trap, direction, alignment check, nested task, I/O privilege,
/// so the kernel starts in a known state); and SYSENTER, which timeshare does not
/// offer: a null SYSENTER_CS makes it a #GP in the program (SIGSEGV, as on Linux
/// without ia32 emulation), whatever the MSRs held at reset.
pub fn init_syscall() {
    let mask = RFlags::INTERRUPT_FLAG
        | RFlags::TRAP_FLAG
        | RFlags::DIRECTION_FLAG
        | RFlags::ALIGNMENT_CHECK
        | RFlags::NESTED_TASK
        | RFlags::IOPL_HIGH
        | RFlags::IOPL_LOW;
    SFMask::write(mask);
    LStar::write(VirtAddr::new(syscall_entry as *const () as u64));
    // SAFETY: CSTAR exists on every x86_64 CPU and only says where SYSCALL from
    // 32-bit code enters: at a stub that, like LSTAR's, trusts nothing of the
    // program's.
    unsafe { Msr::new(CSTAR).write(syscall32_entry as *const () as u64) };
    for sysenter_msr in [SYSENTER_CS, SYSENTER_ESP, SYSENTER_EIP] {
        // SAFETY: the SYSENTER MSRs exist on every x86_64 CPU; zero in all three
        // disables SYSENTER and affects nothing else.
        unsafe { Msr::new(sysenter_msr).write(0) };
    }
    Star::write(
        SegmentSelector::new(gdt::USER_CS >> 3, PrivilegeLevel::Ring3),
        SegmentSelector::new(gdt::USER_DS >> 3, PrivilegeLevel::Ring3),
        SegmentSelector::new(gdt::KERNEL_CS >> 3, PrivilegeLevel::Ring0),
        SegmentSelector::new(gdt::KERNEL_DS >> 3, PrivilegeLevel::Ring0),
    )
    .expect("the GDT layout matches what SYSCALL/SYSRET require");
}

/// Sends this CPU's system calls to the handler's `diverted` first (`divert`), or
/// straight to the table. LSTAR is per CPU: the calls of other CPUs,
/// and this CPU's once the diversion ends, pay nothing for it (one write of the
/// register each way instead of a test on every call).
pub fn divert_system_calls(divert: bool) {
    let entry: unsafe extern "C" fn() = if divert { syscall_diverted_entry } else { syscall_entry };
    // Both entries trust nothing of the program's, as `init_syscall` requires;
    // the diverting one calls the hook installed with the table, and SYSCALL only
    // comes from a program `enter_user` (which installs both) runs.
    LStar::write(VirtAddr::new(entry as *const () as u64));
}

/// The SYSCALL machine registers as the CPU holds them: LSTAR (the entry's
/// address), STAR (the kernel's and the user's selectors, bits 32..48 and 48..64)
/// and FMASK (the RFLAGS bits SYSCALL clears).
pub fn syscall_registers() -> (u64, u64, u64) {
    // SAFETY: STAR exists on every x86_64 CPU; reading it changes nothing.
    let star = unsafe { Msr::new(STAR).read() };
    (LStar::read().as_u64(), star, SFMask::read().bits())
}

/// IA32_STAR.
const STAR: u32 = 0xc000_0081;
/// IA32_CSTAR, and IA32_SYSENTER_CS, _ESP and _EIP.
const CSTAR: u32 = 0xc000_0083;
const SYSENTER_CS: u32 = 0x174;
const SYSENTER_ESP: u32 = 0x175;
const SYSENTER_EIP: u32 = 0x176;

/// How a system call served on the fast path returns to the program: one byte,
/// which the entry code tests in one instruction with the per-CPU FPU flag (0 or 1)
/// ORed into its bit 0, so no exit uses that bit (nor any above bit 7).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(transparent)]
pub struct SyscallExit(u32);

impl SyscallExit {
    /// Straight back with SYSRET: nothing else to do.
    pub const RESUME: SyscallExit = SyscallExit(0);
    /// Not served: it needs the complete register frame (fork, execve, sigreturn):
    /// return out of `enter_user` with `SystemCall { served: false }`.
    pub const DEFER: SyscallExit = SyscallExit(0x80);

    /// Served: straight back, but for an `Attention` with a reason set: then the
    /// kernel acts first (a signal, an exit), out of `enter_user` with `SystemCall {
    /// served: true }`.
    #[inline(always)]
    pub fn after(attention: &Attention) -> SyscallExit {
        SyscallExit(attention.0.load(Ordering::Relaxed))
    }

    /// Whether the program goes straight back.
    pub fn is_resume(self) -> bool {
        self == SyscallExit::RESUME
    }
}

/// Why a thread must not go straight back to user mode after a system call
/// (`SyscallExit::after`): one bit of an `Attention` byte.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AttentionReason(u32);

impl AttentionReason {
    /// Reason `index` (0 to 5): the byte's bits 1 to 6, as the FPU flag and
    /// `SyscallExit::DEFER` have bits 0 and 7.
    pub const fn new(index: u32) -> AttentionReason {
        assert!(index < 6, "an attention byte has six reasons");
        AttentionReason(2 << index)
    }
}

/// The reasons a thread must not go straight back to user mode, in the encoding
/// of `SyscallExit` (zero: none), so that the fast path's exit is one load of it
/// (a whole word: a byte's load would be widened again for the return register).
pub struct Attention(AtomicU32);

/// Its methods are `#[inline]`: each is one atomic access, which the kernel crate
/// would otherwise call across the crate boundary.
impl Attention {
    pub const fn new() -> Attention {
        Attention(AtomicU32::new(0))
    }

    #[inline]
    pub fn set(&self, reason: AttentionReason) {
        self.0.fetch_or(reason.0, Ordering::Relaxed);
    }

    #[inline]
    pub fn clear(&self, reason: AttentionReason) {
        self.0.fetch_and(!reason.0, Ordering::Relaxed);
    }

    #[inline]
    pub fn is_set(&self, reason: AttentionReason) -> bool {
        self.0.load(Ordering::Relaxed) & reason.0 != 0
    }

    /// Whether any reason is set.
    #[inline]
    pub fn any(&self) -> bool {
        self.0.load(Ordering::Relaxed) != 0
    }
}

/// Entries in a system-call table: one per number below it. A number at or past
/// the end is served by the last entry, which no call's number reaches.
pub const SYSCALL_TABLE_SIZE: usize = 512;

/// The table the SYSCALL entry calls through, at an address the instruction
/// carries (so no load of it per call): a copy of the handler's, made by the first
/// `enter_user` (`install_table`). Zero until then, while no program has run.
static SYSCALL_TABLE: [AtomicUsize; SYSCALL_TABLE_SIZE] = [const { AtomicUsize::new(0) }; SYSCALL_TABLE_SIZE];

/// What the diverting SYSCALL entry calls (`divert_system_calls`): the installed
/// handler type's `diverted`, set with the table.
static DIVERTED_ENTRY: AtomicUsize = AtomicUsize::new(0);

/// `SystemCallHandler::diverted` as the entry code calls it.
extern "C" fn diverted_entry<H: SystemCallHandler>(handler: &mut H) {
    handler.diverted();
}

/// The table `SYSCALL_TABLE` is a copy of (its address; 0 before the copy): every
/// `enter_user` must come with that same table, whose entries take its handler's
/// type. Read on every way back to user mode, where one compare is all it costs.
static INSTALLED_TABLE: AtomicUsize = AtomicUsize::new(0);

/// Checks that `table` is the table installed, so that the entry code never hands
/// a handler to an entry made for another type; the first call installs it.
#[inline(always)]
fn install_table<H: SystemCallHandler>(table: &[SystemCallEntry<H>; SYSCALL_TABLE_SIZE]) {
    if INSTALLED_TABLE.load(Ordering::Acquire) != table.as_ptr() as usize {
        install_first_table(table);
    }
}

/// Copies the first table any `enter_user` brings into `SYSCALL_TABLE`, and its
/// handler's `diverted` into `DIVERTED_ENTRY` (once, even
/// if several CPUs bring it at once), and refuses another one later.
#[cold]
fn install_first_table<H: SystemCallHandler>(table: &[SystemCallEntry<H>; SYSCALL_TABLE_SIZE]) {
    static COPIED: spin::Once<usize> = spin::Once::new();
    let address = table.as_ptr() as usize;
    let copied = *COPIED.call_once(|| {
        for (slot, entry) in SYSCALL_TABLE.iter().zip(table) {
            slot.store(*entry as usize, Ordering::Relaxed);
        }
        let diverted: extern "C" fn(&mut H) = diverted_entry::<H>;
        DIVERTED_ENTRY.store(diverted as usize, Ordering::Relaxed);
        address
    });
    assert_eq!(copied, address, "enter_user with a system-call table other than the one installed");
    INSTALLED_TABLE.store(address, Ordering::Release);
}

/// What a table entry answers: the call's result, which the entry code returns
/// in rax (and stores in the frame only when it takes the full path: a SYSRET
/// straight back needs no store and no load of it), and how to return. Returned in
/// rax and rdx (a 16-byte aggregate of integers, in the C calling convention).
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Served {
    pub rax: u64,
    pub exit: SyscallExit,
}

impl Served {
    /// Not served: the full path does it (`SyscallExit::DEFER`), with the frame's
    /// rax still the number.
    pub const DEFER: Served = Served { rax: 0, exit: SyscallExit::DEFER };
}

/// A table entry: serves the call in the handler's frame (number in rax) and
/// answers its result. The frame's callee-saved slots (rbx, rbp, r12-r15) are *not*
/// filled on this path, nor is its rax the result: a call that needs them must
/// answer `Served::DEFER` without doing anything.
///
/// The entry code calls it with the handler `enter_user` registered, as the only
/// live reference to it: `enter_user` holds the `&mut` for as long as the program
/// runs, the program cannot run during the call, and the entry code has finished
/// writing the frame.
pub type SystemCallEntry<H> = extern "C" fn(&mut H) -> Served;

/// What serves system calls while `enter_user` runs the program: it holds the
/// program's trap frame, which the entry code fills, and the table the entry code
/// calls by number, so a call costs one indirect call.
pub trait SystemCallHandler: Sized {
    /// The trap frame at the top of the current process's kernel stack.
    fn frame(&mut self) -> &mut TrapFrame;

    /// The entry of every number: the same table on every call (the first
    /// `enter_user` installs a copy the entry code calls through; another one later
    /// is a kernel bug, and panics).
    fn table(&self) -> &[SystemCallEntry<Self>; SYSCALL_TABLE_SIZE];

    /// Called, before the table, on a system call while this CPU diverts them
    /// (`divert_system_calls`), with the frame as a table entry gets it: it must
    /// end the diversion (and leave the frame as it is), and the program then
    /// makes the same call again, which the table serves.
    fn diverted(&mut self);
}

/// Whether `address` is a canonical lower-half (user) address.
fn is_user_canonical(address: u64) -> bool {
    address >> 47 == 0
}

/// Whether `address` is canonical (bits 63..47 all equal), in either half.
fn is_canonical(address: u64) -> bool {
    matches!((address as i64) >> 47, 0 | -1)
}

/// Runs the program described by `frame` (whose FPU state is in the area the per-CPU
/// data names) in ring 3 until it traps back into the kernel in a way `handler` does
/// not finish by itself, and says why. System calls go to `handler` first (the fast
/// path, which returns straight to the program when it can).
///
/// Invariant: `frame` is the trap frame at the top of the *current* process's kernel
/// stack, and `PerCpu::set_user_context` was called for that stack. The kernel never
/// returns to a non-canonical rip or rsp (SYSRET would fault in ring 0, IRETQ too):
/// such a frame is reported as the program's fault instead, the one Linux ends up
/// with: a #GP for a rip outside user space, a stack-segment fault (SIGBUS) for a
/// non-canonical rsp. Nor to a code segment but the two user ones. The fast
/// path's SYSRET needs no check: it returns to the instruction after a SYSCALL, and
/// user space ends a page below the canonical boundary (USER_END), so that address is
/// always canonical.
pub fn enter_user<H: SystemCallHandler>(handler: &mut H) -> ReturnReason {
    let frame = handler.frame();
    debug_assert_eq!(
        frame as *const TrapFrame as u64,
        percpu::PerCpu::this().trap_frame_address(),
        "enter_user with a frame that is not the current process's"
    );
    // Every writer of the code segment leaves 64-bit code's or 32-bit code's
    // (`TrapFrame::set_code_segment`): one compare for the usual, 64-bit case.
    if frame.code_segment() != gdt::USER_CS {
        leave_for_other_code_segment(frame);
    }
    if !is_user_canonical(frame.rip) {
        return ReturnReason::Exception(Exception::GeneralProtection { error_code: 0 });
    }
    if !is_canonical(frame.rsp) {
        // Linux returns with it, and the program's first use of its stack raises a
        // stack-segment fault (SIGBUS): report that fault now. (A canonical rsp in
        // the kernel's half returns as is: IRETQ and SYSRET do not look at it, and
        // the program's first push page-faults in user mode, as on Linux.)
        return ReturnReason::Exception(Exception::StackSegment);
    }
    frame.ss = u64::from(gdt::USER_DS);
    let frame: *mut TrapFrame = frame;
    install_table(handler.table());
    // SAFETY: the frame is the current process's, at the top of its kernel stack
    // (invariant), and the stack keeps the header just above it; only this thread
    // and the entry code, which cannot run now, touch that header. The handler it
    // records outlives the program's run: `handler` is borrowed for all of this
    // function. The installed table's entries take an `H` (`install_table`).
    unsafe {
        let header = &mut *(frame.byte_add(TRAP_FRAME_SIZE as usize) as *mut StackHeader);
        header.handler = handler as *mut H as u64;
    }
    // SAFETY: the frame holds a canonical user rip/rsp, user selectors and sanitized
    // RFLAGS (every writer goes through this module), so IRETQ/SYSRET cannot fault in
    // ring 0 or grant privilege; the kernel stack and FPU area are the current
    // process's (this function's invariant). enter_user_mode returns like a normal
    // function (callee-saved registers restored) when the program traps.
    unsafe { enter_user_mode(frame) };
    // A TLB shootdown request is the base's own: served, and straight back to the
    // program, which the kernel never hears of.
    while handler.frame().vector == u64::from(apic::TLB_VECTOR) {
        tlb::interrupt();
        let frame: *mut TrapFrame = handler.frame();
        // SAFETY: as above; the frame is as the interrupt left it.
        unsafe { enter_user_mode(frame) };
    }
    handler.frame().return_reason()
}

/// The way back to a frame whose code segment is not 64-bit code's: 32-bit code,
/// or (never left by a writer, checked all the same) any other selector, which
/// returns to 64-bit code. In 32-bit code the instruction pointer is EIP: its upper
/// half is not part of it (IRETQ would fault in ring 0 on a rip past the segment's
/// 4 GiB limit; the CPU Linux runs on drops the upper half, and so does this), and
/// only IRETQ returns to 32-bit code (SYSRET would resume it as 64-bit code).
#[cold]
fn leave_for_other_code_segment(frame: &mut TrapFrame) {
    frame.set_code_segment(frame.code_segment());
    if frame.code_segment() == gdt::USER32_CS {
        frame.rip &= u64::from(u32::MAX);
        frame.return_by_iret();
    }
}

/// The registers of the last entry from user mode on this CPU (the trap frame of
/// the process that ran last), for the panic report: the system call being served
/// (its number in rax, unless its result is already there) or where the program
/// was. None before any program ran, or if that kernel stack is gone.
pub fn last_user_entry() -> Option<TrapFrame> {
    let address = percpu::PerCpu::this().trap_frame_address();
    let mapped = |at: u64| crate::mm::kernel_tree().translate(at & !0xfff).is_some();
    if address == 0 || !mapped(address) || !mapped(address + TRAP_FRAME_SIZE - 1) {
        return None;
    }
    // SAFETY: the frame lies in a mapped kernel stack (checked just above), is
    // aligned, and any bit pattern is a valid TrapFrame; only read.
    Some(unsafe { core::ptr::read_volatile(address as *const TrapFrame) })
}

/// The kernel's handler for an interrupt taken in ring 0, given its vector.
static KERNEL_INTERRUPT: spin::Once<fn(u8)> = spin::Once::new();

/// Registers the kernel's handler for interrupts taken in ring 0 (while idle in
/// `wait_for_interrupt`). Once, at boot, before interrupts are enabled.
pub fn register_kernel_interrupt(handler: fn(u8)) {
    KERNEL_INTERRUPT.call_once(|| handler);
}

/// A trap taken in ring 0. Interrupts (only possible inside `wait_for_interrupt`)
/// are handed to the kernel; an exception is a kernel bug and ends the machine with
/// a register dump, never a silent hang, but for the one fault the kernel expects
/// (`fpu::fault_fixup`: an XRSTOR from user memory refusing its image).
extern "C" fn kernel_trap(frame: &mut TrapFrame) {
    if frame.vector == u64::from(apic::TLB_VECTOR) {
        tlb::interrupt();
        return;
    }
    if frame.vector >= 32 {
        let handler = KERNEL_INTERRUPT.get().expect("an interrupt in the kernel before its handler is registered");
        handler(frame.vector as u8);
        return;
    }
    if let Some(resume) = super::fpu::fault_fixup(frame.vector, frame.rip) {
        frame.rip = resume;
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
        frame.vector,
        frame.error_code,
        frame.rip,
        cr2,
        frame.rax,
        frame.rbx,
        frame.rcx,
        frame.rdx,
        frame.rsi,
        frame.rdi,
        frame.rbp,
        frame.rsp,
        frame.r8,
        frame.r9,
        frame.r10,
        frame.r11,
        frame.r12,
        frame.r13,
        frame.r14,
        frame.r15,
        frame.cs,
        frame.ss,
        frame.rflags
    );
}
