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

impl Exception {
    /// The exception's vector in the IDT.
    pub const fn vector(&self) -> u8 {
        match self {
            Exception::DivideError => 0,
            Exception::Debug => 1,
            Exception::Breakpoint => 3,
            Exception::Overflow => 4,
            Exception::BoundRange => 5,
            Exception::InvalidOpcode => 6,
            Exception::DeviceNotAvailable => 7,
            Exception::InvalidTss => 10,
            Exception::SegmentNotPresent => 11,
            Exception::StackSegment => 12,
            Exception::GeneralProtection { .. } => 13,
            Exception::PageFault { .. } => 14,
            Exception::X87Floating => 16,
            Exception::AlignmentCheck => 17,
            Exception::SimdFloating => 19,
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
    pub fn return_reason(&self) -> ReturnReason {
        let exception = match self.vector {
            SYSCALL_VECTOR => return ReturnReason::SystemCall { served: false },
            SYSCALL_SERVED_VECTOR => return ReturnReason::SystemCall { served: true },
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
            13 => Exception::GeneralProtection { error_code: self.error_code },
            14 => Exception::PageFault {
                address: cpu::read_cr2(),
                access: PageFaultAccess {
                    present: self.error_code & 1 != 0,
                    write: self.error_code & 2 != 0,
                    instruction_fetch: self.error_code & 16 != 0,
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
}
