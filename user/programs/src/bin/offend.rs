//! `offend CASE`: a misbehaving program. Each CASE tries one thing a user program must
//! not be able to do. The kernel must stop it (on Linux: kill it with a signal) and
//! carry on; if the program survives, it prints `survived CASE` and exits 0. Without a
//! CASE, or with an unknown one, it prints usage to stderr and exits 2.
//!
//! What each case does, the CPU exception it raises, and the signal that Linux 6.x kills
//! it with (checked by running every case natively):
//!
//! | CASE     | forbidden act                          | exception       | signal       |
//! |----------|----------------------------------------|-----------------|--------------|
//! | cli      | disable interrupts                     | #GP (IOPL < 3)  | SIGSEGV (11) |
//! | hlt      | halt the CPU                           | #GP (CPL 3)     | SIGSEGV (11) |
//! | in       | `inb` from port 0x60 (keyboard)        | #GP (no I/O)    | SIGSEGV (11) |
//! | out      | `outb` to port 0x80                    | #GP (no I/O)    | SIGSEGV (11) |
//! | cr3      | load CR3 (switch page tables)          | #GP (CPL 3)     | SIGSEGV (11) |
//! | wrmsr    | write MSR LSTAR (the syscall entry)    | #GP (CPL 3)     | SIGSEGV (11) |
//! | lgdt     | load a new GDT                         | #GP (CPL 3)     | SIGSEGV (11) |
//! | kread    | read 0xffffffff80000000                | #PF (U=0 page)  | SIGSEGV (11) |
//! | kwrite   | write 0xffffffff80000000               | #PF (U=0 page)  | SIGSEGV (11) |
//! | kjump    | jump to 0xffffffff80000000             | #PF (fetch)     | SIGSEGV (11) |
//! | null     | read address 0                         | #PF (unmapped)  | SIGSEGV (11) |
//! | noncanon | read 0x8000000000000000                | #GP (non-canon.)| SIGSEGV (11) |
//! | ud2      | execute the undefined instruction      | #UD             | SIGILL (4)   |
//! | div0     | divide by zero                         | #DE             | SIGFPE (8)   |
//! | int3     | breakpoint                             | #BP             | SIGTRAP (5)  |
//!
//! A shell reports these as exit status 128 + signal (139, 132, 136, 133).
//! Every act is inline assembly, so the compiler can neither remove it nor treat it as
//! undefined behaviour of the Rust program.
#![no_std]
#![no_main]

use core::arch::asm;
use rt::{eprintln, println};

rt::entry!(main);

/// Kernel memory: the start of timeshare's kernel image (kernel memory on Linux too).
const KERNEL_ADDR: usize = 0xffff_ffff_8000_0000;
/// The lowest non-canonical address with bit 63 set.
const NONCANONICAL: usize = 0x8000_0000_0000_0000;
/// IA32_LSTAR: where `syscall` jumps into the kernel.
const MSR_LSTAR: u32 = 0xc000_0082;

fn main(args: rt::Args) -> i32 {
    let case = match args.get_str(1) {
        Some(case) if args.len() == 2 => case,
        _ => return usage(),
    };
    // SAFETY (all cases): each act is forbidden in user mode, so the CPU faults before
    // it takes effect and the kernel ends the process. Were it ever to succeed, it
    // changes no memory or register that Rust relies on except where declared.
    unsafe {
        match case {
            "cli" => asm!("cli", options(nomem, nostack)),
            "hlt" => asm!("hlt", options(nomem, nostack)),
            "in" => asm!("in al, 0x60", out("al") _, options(nomem, nostack)),
            "out" => asm!("out 0x80, al", in("al") 0u8, options(nomem, nostack)),
            "cr3" => asm!("mov cr3, {}", in(reg) 0usize, options(nostack)),
            "wrmsr" => asm!("wrmsr", in("ecx") MSR_LSTAR, in("eax") 0, in("edx") 0,
                            options(nostack)),
            "lgdt" => {
                // A 10-byte GDT descriptor: limit 0, base 0.
                let descriptor = [0u8; 10];
                asm!("lgdt [{}]", in(reg) descriptor.as_ptr(), options(nostack));
            }
            "kread" => asm!("mov {}, qword ptr [{}]", out(reg) _, in(reg) KERNEL_ADDR,
                            options(nostack, readonly)),
            "kwrite" => asm!("mov qword ptr [{}], {}", in(reg) KERNEL_ADDR, in(reg) 0usize,
                             options(nostack)),
            "kjump" => asm!("jmp {}", in(reg) KERNEL_ADDR, options(noreturn)),
            "null" => asm!("mov {}, qword ptr [{}]", out(reg) _, in(reg) 0usize,
                           options(nostack, readonly)),
            "noncanon" => asm!("mov {}, qword ptr [{}]", out(reg) _, in(reg) NONCANONICAL,
                               options(nostack, readonly)),
            "ud2" => asm!("ud2", options(nomem, nostack)),
            "div0" => asm!("div {:r}", in(reg) 0u64, inout("rax") 1u64 => _,
                           inout("rdx") 0u64 => _, options(nomem, nostack)),
            "int3" => asm!("int3", options(nomem, nostack)),
            _ => return usage(),
        }
    }
    println!("survived {case}");
    0
}

/// Print usage to stderr; the exit status for a usage error.
fn usage() -> i32 {
    eprintln!("usage: offend CASE");
    eprintln!("CASE: cli hlt in out cr3 wrmsr lgdt kread kwrite kjump null noncanon ud2 div0 int3");
    2
}
