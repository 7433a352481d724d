//! A program's segment registers, the part of its CPU state the trap frame does not
//! hold: the data segment selectors (ds, es, fs, gs) and the FS and GS bases (FS is
//! what arch_prctl(ARCH_SET_FS) sets and every musl/glibc program uses for TLS).
//! While the kernel runs, the user's GS base sits in KERNEL_GS_BASE (swapgs exchanges
//! it with the per-CPU pointer).
//!
//! A program may load any selector its privilege allows into these registers
//! (`mov %eax, %fs`), and a load also sets the register's base, behind the kernel's
//! back: from the descriptor (0 for every segment of this GDT), and to 0 for a null
//! selector (on Intel CPUs, and under QEMU). So, as Linux does at a context switch,
//! the outgoing program's selectors are read back from the CPU (with a base of 0
//! where a selector is not null), and the incoming program's selectors and bases are
//! all written: no value in these registers is ever assumed to still be there.

use core::arch::asm;
use x86_64::instructions::segmentation::{Segment, DS, ES, FS};
use x86_64::registers::model_specific::{FsBase, KernelGsBase};
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::VirtAddr;

/// One program's segment registers, while it is not running (or as of the last
/// `save_running`).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct UserSegments {
    selectors: Selectors,
    fs_base: u64,
    gs_base: u64,
}

#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct Selectors {
    ds: u16,
    es: u16,
    fs: u16,
    gs: u16,
}

impl Selectors {
    /// The selectors in the CPU's registers now.
    fn loaded() -> Selectors {
        let gs: u16;
        // SAFETY: reading a segment register has no side effect.
        unsafe { asm!("mov {0:x}, gs", out(reg) gs, options(nomem, nostack, preserves_flags)) };
        Selectors { ds: DS::get_reg().0, es: ES::get_reg().0, fs: FS::get_reg().0, gs }
    }
}

impl UserSegments {
    /// What a new program starts with (Linux's start_thread): null selectors, bases 0.
    pub const fn new() -> UserSegments {
        UserSegments { selectors: Selectors { ds: 0, es: 0, fs: 0, gs: 0 }, fs_base: 0, gs_base: 0 }
    }

    /// Records the selectors of the program running on this CPU, whose state this
    /// is. A selector that is not null made its base the descriptor's, 0; with a
    /// null one, the base the kernel last gave the program stands (as Linux keeps
    /// it: a program that loads a null selector changes only its own base, until
    /// its next switch).
    pub fn save_running(&mut self) {
        self.selectors = Selectors::loaded();
        if self.selectors.fs != 0 {
            self.fs_base = 0;
        }
        if self.selectors.gs != 0 {
            self.gs_base = 0;
        }
    }

    /// Hands this state to the CPU, for the program about to run on it: selectors
    /// that differ from the loaded ones are loaded, then both bases are written
    /// (after the selectors, whose loads set the bases too).
    pub fn load(&self) {
        let loaded = Selectors::loaded();
        let wanted = self.selectors;
        // SAFETY: each selector was accepted by the CPU in ring 3 when the program
        // loaded it (or is null), so it names a data or readable code segment of the
        // GDT, which ring 0 may load too; in 64-bit mode the kernel does not address
        // memory through ds, es or fs. gs is loaded between two swapgs, so that the
        // load sets the user's GS base and not the per-CPU pointer's; interrupts are
        // off in the kernel, so nothing runs between them.
        unsafe {
            if wanted.ds != loaded.ds {
                DS::set_reg(SegmentSelector(wanted.ds));
            }
            if wanted.es != loaded.es {
                ES::set_reg(SegmentSelector(wanted.es));
            }
            if wanted.fs != loaded.fs {
                FS::set_reg(SegmentSelector(wanted.fs));
            }
            if wanted.gs != loaded.gs {
                asm!("swapgs", "mov gs, {0:x}", "swapgs", in(reg) wanted.gs, options(nostack, preserves_flags));
            }
        }
        FsBase::write(VirtAddr::new_truncate(self.fs_base));
        KernelGsBase::write(VirtAddr::new_truncate(self.gs_base));
    }

    /// arch_prctl(ARCH_SET_FS) or clone's TLS: the FS base, with a null selector (as
    /// on Linux; a selector would override the base at the next switch). Takes
    /// effect at the next `load`.
    pub fn set_fs_base(&mut self, base: u64) {
        self.selectors.fs = 0;
        self.fs_base = base;
    }

    /// arch_prctl(ARCH_SET_GS): the same for GS.
    pub fn set_gs_base(&mut self, base: u64) {
        self.selectors.gs = 0;
        self.gs_base = base;
    }
}

/// The running program's FS base, as the CPU has it (arch_prctl(ARCH_GET_FS) reads
/// it there, as Linux does: a selector the program loaded may have changed it).
pub fn running_fs_base() -> u64 {
    FsBase::read().as_u64()
}

/// The running program's GS base (in KERNEL_GS_BASE while the kernel runs).
pub fn running_gs_base() -> u64 {
    KernelGsBase::read().as_u64()
}
