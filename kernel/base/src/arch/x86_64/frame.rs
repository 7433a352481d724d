//! The trap frame: the user registers every entry from ring 3 saves at the top of
//! the process's kernel stack (`entry`), and what they say about *why* the program
//! came back (`ReturnReason`, read by `TrapFrame::return_reason`).

use core::mem::{offset_of, size_of};

use super::{cpu, gdt};

/// The `vector` value the SYSCALL entry records (not an IDT vector) ...
pub(super) const SYSCALL_VECTOR: u64 = 256;
/// ... and the one for a call the fast path already served (only its aftermath, a
/// signal or an exit, is left to do).
pub(super) const SYSCALL_SERVED_VECTOR: u64 = 257;
/// The `vector` `return_by_iret` sets: any value below SYSCALL_VECTOR makes
/// `enter_user_mode` return with IRETQ, and no entry records this one (the next entry
/// overwrites it before `return_reason` reads it).
const RESTORED_CONTEXT: u64 = 255;

/// The user registers, as saved on the kernel stack at every entry from ring 3.
#[derive(Clone, Copy, Default, Debug)]
#[repr(C)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    /// The six system-call argument registers, in argument order and adjacent, so
    /// a handler reads them in place (`syscall_args`).
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub r10: u64,
    pub r8: u64,
    pub r9: u64,
    pub r11: u64,
    pub rcx: u64,
    pub rax: u64,
    /// Which entry: an IDT vector, or SYSCALL_VECTOR.
    pub(super) vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub(super) cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub(super) ss: u64,
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

    /// The code segment the program runs in: `gdt::USER_CS` (64-bit code) or
    /// `gdt::USER32_CS` (32-bit code, entered by a far jump).
    pub fn code_segment(&self) -> u16 {
        self.cs as u16
    }

    /// Sets the code segment the program returns to: `gdt::USER32_CS` resumes it in
    /// 32-bit code; anything else is taken as 64-bit code (`gdt::USER_CS`), the only
    /// other segment a program may run in.
    pub fn set_code_segment(&mut self, selector: u16) {
        let selector = if selector == gdt::USER32_CS { gdt::USER32_CS } else { gdt::USER_CS };
        self.cs = u64::from(selector);
    }

    /// The stack segment the program returns with.
    pub fn stack_segment(&self) -> u16 {
        self.ss as u16
    }

    /// Whether the next return to user mode is a SYSRET (else an IRETQ, which
    /// restores every register from the frame).
    pub fn returns_with_sysret(&self) -> bool {
        self.vector >= SYSCALL_VECTOR
    }

    /// Makes the next return to user mode restore every register from this frame
    /// with IRETQ. Needed when the frame no longer holds what SYSCALL left (rt_sigreturn
    /// installs a whole interrupted context): SYSRET would load rcx and r11 with rip
    /// and rflags instead of their saved values.
    pub fn return_by_iret(&mut self) {
        self.vector = RESTORED_CONTEXT;
    }

    /// The general registers in the instruction encoding's order (rax, rcx, rdx,
    /// rbx, rsp, rbp, rsi, rdi, r8 .. r15).
    pub fn general_registers(&self) -> [u64; 16] {
        let mut frame = *self;
        core::array::from_fn(|number| *frame.general_register_mut(number as u8))
    }

    /// General register `number` (0 rax .. 15 r15, as `general_registers`), to write.
    pub fn general_register_mut(&mut self, number: u8) -> &mut u64 {
        match number & 15 {
            0 => &mut self.rax,
            1 => &mut self.rcx,
            2 => &mut self.rdx,
            3 => &mut self.rbx,
            4 => &mut self.rsp,
            5 => &mut self.rbp,
            6 => &mut self.rsi,
            7 => &mut self.rdi,
            8 => &mut self.r8,
            9 => &mut self.r9,
            10 => &mut self.r10,
            11 => &mut self.r11,
            12 => &mut self.r12,
            13 => &mut self.r13,
            14 => &mut self.r14,
            _ => &mut self.r15,
        }
    }

    /// The system call number and its six arguments, in the Linux x86_64 ABI.
    pub fn syscall_args(&self) -> (u64, &[u64; 6]) {
        const _: () = assert!(
            offset_of!(TrapFrame, r9) - offset_of!(TrapFrame, rdi) == 5 * 8
                && offset_of!(TrapFrame, rsi) == offset_of!(TrapFrame, rdi) + 8
                && offset_of!(TrapFrame, rdx) == offset_of!(TrapFrame, rdi) + 16
                && offset_of!(TrapFrame, r10) == offset_of!(TrapFrame, rdi) + 24
                && offset_of!(TrapFrame, r8) == offset_of!(TrapFrame, rdi) + 32
        );
        // SAFETY: the struct is repr(C) and the six argument registers are adjacent
        // u64 fields in argument order (checked above), so they form a [u64; 6];
        // the borrow of `self` covers them.
        let arguments = unsafe { &*(&self.rdi as *const u64 as *const [u64; 6]) };
        (self.rax, arguments)
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
    GeneralProtection {
        error_code: u64,
    },
    PageFault {
        address: u64,
        access: PageFaultAccess,
    },
    X87Floating,
    AlignmentCheck,
    SimdFloating,
    /// Any other vector below 32 (reserved or machine-level).
    Other {
        vector: u8,
    },
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
            Exception::GeneralProtection { error_code } => {
                write!(f, "general protection fault (error {error_code:#x})")
            }
            Exception::PageFault { address, access } => {
                let kind = if access.instruction_fetch {
                    "execute"
                } else if access.write {
                    "write"
                } else {
                    "read"
                };
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

/// The exceptions' vectors in the IDT, named once for both directions
/// (`Exception::vector`, `TrapFrame::return_reason`).
const DIVIDE_ERROR: u8 = 0;
const DEBUG: u8 = 1;
const BREAKPOINT: u8 = 3;
const OVERFLOW: u8 = 4;
const BOUND_RANGE: u8 = 5;
const INVALID_OPCODE: u8 = 6;
const DEVICE_NOT_AVAILABLE: u8 = 7;
const INVALID_TSS: u8 = 10;
const SEGMENT_NOT_PRESENT: u8 = 11;
const STACK_SEGMENT: u8 = 12;
const GENERAL_PROTECTION: u8 = 13;
pub const PAGE_FAULT_VECTOR: u8 = 14;
const X87_FLOATING: u8 = 16;
const ALIGNMENT_CHECK: u8 = 17;
const SIMD_FLOATING: u8 = 19;

impl Exception {
    /// The exception's vector in the IDT.
    pub const fn vector(&self) -> u8 {
        match self {
            Exception::DivideError => DIVIDE_ERROR,
            Exception::Debug => DEBUG,
            Exception::Breakpoint => BREAKPOINT,
            Exception::Overflow => OVERFLOW,
            Exception::BoundRange => BOUND_RANGE,
            Exception::InvalidOpcode => INVALID_OPCODE,
            Exception::DeviceNotAvailable => DEVICE_NOT_AVAILABLE,
            Exception::InvalidTss => INVALID_TSS,
            Exception::SegmentNotPresent => SEGMENT_NOT_PRESENT,
            Exception::StackSegment => STACK_SEGMENT,
            Exception::GeneralProtection { .. } => GENERAL_PROTECTION,
            Exception::PageFault { .. } => PAGE_FAULT_VECTOR,
            Exception::X87Floating => X87_FLOATING,
            Exception::AlignmentCheck => ALIGNMENT_CHECK,
            Exception::SimdFloating => SIMD_FLOATING,
            Exception::Other { vector } => *vector,
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
    /// `served`: the fast path already ran it (its result is in rax).
    SystemCall { served: bool },
    /// The program caused an exception.
    Exception(Exception),
    /// A device interrupted the program (the timer, for instance).
    Interrupt(u8),
}

impl TrapFrame {
    /// Why the program came back, read from what the entry code recorded in this
    /// frame (and, for a page fault, CR2, which still holds that fault's address).
    #[inline]
    pub fn return_reason(&self) -> ReturnReason {
        let exception = match self.vector {
            SYSCALL_VECTOR => return ReturnReason::SystemCall { served: false },
            SYSCALL_SERVED_VECTOR => return ReturnReason::SystemCall { served: true },
            vector @ 0..=31 => self.exception(vector as u8),
            vector => return ReturnReason::Interrupt(vector as u8),
        };
        ReturnReason::Exception(exception)
    }

    /// The exception of `vector` (below 32), with what this frame and CR2 say
    /// about it.
    #[inline(always)]
    fn exception(&self, vector: u8) -> Exception {
        match vector {
            DIVIDE_ERROR => Exception::DivideError,
            DEBUG => Exception::Debug,
            BREAKPOINT => Exception::Breakpoint,
            OVERFLOW => Exception::Overflow,
            BOUND_RANGE => Exception::BoundRange,
            INVALID_OPCODE => Exception::InvalidOpcode,
            DEVICE_NOT_AVAILABLE => Exception::DeviceNotAvailable,
            INVALID_TSS => Exception::InvalidTss,
            SEGMENT_NOT_PRESENT => Exception::SegmentNotPresent,
            STACK_SEGMENT => Exception::StackSegment,
            GENERAL_PROTECTION => Exception::GeneralProtection { error_code: self.error_code },
            PAGE_FAULT_VECTOR => Exception::PageFault {
                address: cpu::read_cr2(),
                access: PageFaultAccess {
                    present: self.error_code & 1 != 0,
                    write: self.error_code & 2 != 0,
                    instruction_fetch: self.error_code & 16 != 0,
                },
            },
            X87_FLOATING => Exception::X87Floating,
            ALIGNMENT_CHECK => Exception::AlignmentCheck,
            SIMD_FLOATING => Exception::SimdFloating,
            vector => Exception::Other { vector },
        }
    }
}
