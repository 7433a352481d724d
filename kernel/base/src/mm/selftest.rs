//! Are the kernel's protections really on? `check` looks at boot, from the control
//! registers and the kernel's own page tables (SMEP, SMAP, NX, write protection,
//! per-section permissions of the kernel image, the unmapped guard page under
//! kernel stacks) and says so in the log, loudly if one is missing. `run` (the
//! debug-only `selftest=` option) goes further: it makes the forbidden access on
//! purpose, so that a test sees the CPU refuse it (the kernel's fault report and
//! failure), or the kernel's own report that it was not refused.

use alloc::vec::Vec;
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags};
use x86_64::structures::paging::PageTableFlags as Flags;

use super::address_space::{AddressSpace, Protection};
use super::kernel_tree;
use super::kstack::KernelStack;
use kernel_core::cmdline::SelfTest;

extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
}

/// Kernel data the `nx` test tries to run: `ret`, in a writable, non-executable page.
static mut NOT_CODE: [u8; 16] = [0xc3; 16];

/// Checks the protections the kernel relies on and logs what it found: one line,
/// or an error line per missing protection. Returns how many are missing.
pub fn check() -> usize {
    let mut missing = Vec::new();
    let cr0 = Cr0::read();
    let cr4 = Cr4::read();
    let efer = Efer::read();
    let cpu = crate::arch::x86_64::cpu::features();
    if !cr0.contains(Cr0Flags::WRITE_PROTECT) {
        missing.push("CR0.WP (the kernel could write read-only pages)");
    }
    if !efer.contains(EferFlags::NO_EXECUTE_ENABLE) {
        missing.push("EFER.NXE (no page is non-executable)");
    }
    if cpu.smep && !cr4.contains(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION) {
        missing.push("CR4.SMEP (the kernel could run user code)");
    }
    if cpu.smap && !cr4.contains(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION) {
        missing.push("CR4.SMAP (the kernel could touch user memory directly)");
    }
    if cpu.umip && !cr4.contains(Cr4Flags::USER_MODE_INSTRUCTION_PREVENTION) {
        missing.push("CR4.UMIP (programs could read where the descriptor tables are)");
    }
    if !cr0.contains(Cr0Flags::ALIGNMENT_MASK) {
        missing.push("CR0.AM (a program's RFLAGS.AC would not check alignment)");
    }
    let tree = kernel_tree();
    let flags_at = |address: u64| tree.translate(address).map(|(_, flags)| flags);
    let text = &raw const __text_start as u64;
    let rodata = &raw const __text_end as u64;
    let data = &raw const __rodata_end as u64;
    match flags_at(text) {
        Some(flags) if !flags.contains(Flags::WRITABLE) && !flags.contains(Flags::NO_EXECUTE) => {}
        _ => missing.push("kernel text read-only and executable"),
    }
    match flags_at(rodata) {
        Some(flags) if !flags.contains(Flags::WRITABLE) && flags.contains(Flags::NO_EXECUTE) => {}
        _ => missing.push("kernel read-only data neither writable nor executable"),
    }
    match flags_at(data) {
        Some(flags) if flags.contains(Flags::NO_EXECUTE) => {}
        _ => missing.push("kernel data not executable"),
    }
    if [text, rodata, data]
        .iter()
        .any(|&address| flags_at(address).is_some_and(|flags| flags.contains(Flags::USER_ACCESSIBLE)))
    {
        missing.push("the kernel image out of user mode's reach");
    }
    match KernelStack::new() {
        Some(stack) if flags_at(stack.guard_page()).is_none() && flags_at(stack.guard_page() + 4096).is_some() => {}
        Some(_) => missing.push("an unmapped guard page under each kernel stack"),
        None => {}
    }
    if missing.is_empty() {
        info!(
            "protections: CR0.WP, EFER.NXE{}{}; kernel text r-x, rodata r--, data rw- (no user access); kernel stack guard pages unmapped",
            if cpu.smep { ", SMEP" } else { " (no SMEP on this CPU)" },
            if cpu.smap { ", SMAP" } else { " (no SMAP on this CPU)" },
        );
        info!(
            "user-mode limits: CR0.AM (alignment checks on RFLAGS.AC){}",
            if cpu.umip { ", UMIP (sgdt, sidt, sldt, smsw, str emulated)" } else { " (no UMIP on this CPU)" }
        );
    }
    for what in &missing {
        error!("protection missing: {what}");
    }
    missing.len()
}

/// Makes the access `test` names, which must fault (the kernel then reports the
/// fault and fails: `arch::x86_64::entry::kernel_trap`). If it does not, says which
/// protection is missing and fails all the same.
pub fn run(test: SelfTest) -> ! {
    const USER_PAGE: u64 = 0x40_0000;
    match test {
        SelfTest::Panic => panic!("selftest=panic: a kernel panic on purpose"),
        // It needs the kernel's IPI handler: the kernel runs it (smp.rs).
        SelfTest::ApPanic => crate::fail(format_args!("selftest=ap-panic is run by the kernel")),
        SelfTest::Smap | SelfTest::Smep => {
            // A user page (user-accessible, executable, holding `ret`) in an address
            // space of its own, made current.
            let mut memory = AddressSpace::new().expect("memory for the self-test");
            memory
                .add_region(USER_PAGE, USER_PAGE + 4096, Protection { read: true, write: false, execute: true })
                .expect("a free page for the self-test");
            memory.load(USER_PAGE, &[0xc3]).expect("memory for the self-test");
            memory.activate();
            if test == SelfTest::Smap {
                info!("selftest=smap: reading user address {USER_PAGE:#x} from the kernel; SMAP must fault");
                // SAFETY: none; this read is meant to fault (SMAP). If it does not,
                // it reads a mapped page and the kernel stops below.
                let byte = unsafe { core::ptr::read_volatile(USER_PAGE as *const u8) };
                crate::fail(format_args!(
                    "selftest=smap: the kernel read user memory ({byte:#x}): SMAP is not enforced"
                ));
            } else {
                info!("selftest=smep: calling user address {USER_PAGE:#x} from the kernel; SMEP must fault");
                // SAFETY: none; this call is meant to fault (SMEP). If it does not,
                // the code is a lone `ret`.
                let code: extern "C" fn() = unsafe { core::mem::transmute(USER_PAGE as usize) };
                code();
                crate::fail(format_args!("selftest=smep: the kernel ran user code: SMEP is not enforced"));
            }
        }
        SelfTest::Nx => {
            let address = &raw const NOT_CODE as u64;
            info!("selftest=nx: calling kernel data at {address:#x}; NX must fault");
            // SAFETY: none; this call is meant to fault (the page is NX). If it does
            // not, the bytes are `ret`.
            let code: extern "C" fn() = unsafe { core::mem::transmute(address as usize) };
            code();
            crate::fail(format_args!("selftest=nx: the kernel ran its data: NX is not enforced"));
        }
        SelfTest::Text => {
            let address = run as *const () as u64;
            info!("selftest=text: writing the kernel's text at {address:#x}; the page is read-only, it must fault");
            // SAFETY: none; this write is meant to fault (read-only text, CR0.WP).
            // If it does not, it rewrites a byte with itself.
            unsafe {
                let byte = core::ptr::read_volatile(address as *const u8);
                core::ptr::write_volatile(address as *mut u8, byte);
            }
            crate::fail(format_args!("selftest=text: the kernel wrote its own text: it is not read-only"));
        }
        SelfTest::Guard => {
            let stack = KernelStack::new().expect("memory for the self-test");
            let address = stack.guard_page() + 4096 - 8;
            info!("selftest=guard: writing {address:#x}, in the guard page under a kernel stack; it must fault");
            // SAFETY: none; this write is meant to fault (the guard page is not
            // mapped). If it is mapped after all, it writes a page nobody uses.
            unsafe { core::ptr::write_volatile(address as *mut u64, 0) };
            crate::fail(format_args!("selftest=guard: the guard page under a kernel stack is mapped"));
        }
    }
}
