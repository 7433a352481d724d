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
//! where a selector is not null), and the incoming program's bases are always
//! written (its selectors where they differ from the CPU's): no base is ever assumed
//! to still be there.

use core::arch::asm;
use core::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use x86_64::registers::model_specific::Msr;

const FS_BASE: u32 = 0xc000_0100;
const KERNEL_GS_BASE: u32 = 0xc000_0102;

/// One program's segment registers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct UserSegments {
    selectors: Selectors,
    fs_base: u64,
    gs_base: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Selectors {
    ds: u16,
    es: u16,
    fs: u16,
    gs: u16,
}

impl Selectors {
    const NULL: Selectors = Selectors { ds: 0, es: 0, fs: 0, gs: 0 };

    /// The selectors in the CPU's registers now.
    #[inline(always)]
    fn loaded() -> Selectors {
        let (ds, es, fs, gs): (u16, u16, u16, u16);
        // SAFETY: reading segment registers has no side effect.
        unsafe {
            asm!("mov {0:x}, ds", "mov {1:x}, es", "mov {2:x}, fs", "mov {3:x}, gs",
                 out(reg) ds, out(reg) es, out(reg) fs, out(reg) gs, options(nomem, nostack, preserves_flags));
        }
        Selectors { ds, es, fs, gs }
    }

    /// Loads the selectors that differ from `loaded` (what the CPU holds).
    #[inline(always)]
    fn load_over(self, loaded: Selectors) {
        // SAFETY: each selector was accepted by the CPU in ring 3 when the program
        // loaded it (or is null), so it names a data or readable code segment of the
        // GDT, which ring 0 may load too; in 64-bit mode the kernel does not address
        // memory through ds, es or fs. gs is loaded between two swapgs, so that the
        // load sets the user's GS base and not the per-CPU pointer's; interrupts are
        // off in the kernel, so nothing runs between them.
        unsafe {
            if self.ds != loaded.ds {
                asm!("mov ds, {0:x}", in(reg) self.ds, options(nostack, preserves_flags));
            }
            if self.es != loaded.es {
                asm!("mov es, {0:x}", in(reg) self.es, options(nostack, preserves_flags));
            }
            if self.fs != loaded.fs {
                asm!("mov fs, {0:x}", in(reg) self.fs, options(nostack, preserves_flags));
            }
            if self.gs != loaded.gs {
                asm!("swapgs", "mov gs, {0:x}", "swapgs", in(reg) self.gs, options(nostack, preserves_flags));
            }
        }
    }
}

impl UserSegments {
    /// What a new program starts with (Linux's start_thread): null selectors, bases 0.
    pub const fn new() -> UserSegments {
        UserSegments { selectors: Selectors::NULL, fs_base: 0, gs_base: 0 }
    }

    /// arch_prctl(ARCH_SET_FS) or clone's TLS: the FS base, with a null selector (as
    /// on Linux; a selector would override the base at the next switch).
    pub fn set_fs_base(&mut self, base: u64) {
        self.selectors.fs = 0;
        self.fs_base = base;
    }

    /// arch_prctl(ARCH_SET_GS): the same for GS.
    pub fn set_gs_base(&mut self, base: u64) {
        self.selectors.gs = 0;
        self.gs_base = base;
    }

    /// Hands this state to the CPU, whose selectors are `loaded`: the selectors that
    /// differ, then both bases, always (after the selectors, whose loads set the
    /// bases too).
    #[inline(always)]
    fn load_over(&self, loaded: Selectors) {
        self.selectors.load_over(loaded);
        // SAFETY: the bases are canonical user addresses (arch_prctl and clone check
        // them) or 0; writing them changes only what the program's fs and gs address.
        unsafe {
            Msr::new(FS_BASE).write(self.fs_base);
            Msr::new(KERNEL_GS_BASE).write(self.gs_base);
        }
    }
}

/// A process's segment registers while it is not running. Its owner is the
/// process's own kernel thread, which saves them when it switches away and changes
/// them for arch_prctl, clone, fork and execve (or its creator, before it first
/// runs); the CPU switching to the process only reads them, and the process cannot
/// run on two CPUs at once.
pub struct SavedSegments {
    ds: AtomicU16,
    es: AtomicU16,
    fs: AtomicU16,
    gs: AtomicU16,
    fs_base: AtomicU64,
    gs_base: AtomicU64,
}

impl SavedSegments {
    pub const fn new(segments: UserSegments) -> SavedSegments {
        let Selectors { ds, es, fs, gs } = segments.selectors;
        SavedSegments {
            ds: AtomicU16::new(ds),
            es: AtomicU16::new(es),
            fs: AtomicU16::new(fs),
            gs: AtomicU16::new(gs),
            fs_base: AtomicU64::new(segments.fs_base),
            gs_base: AtomicU64::new(segments.gs_base),
        }
    }

    #[inline(always)]
    pub fn get(&self) -> UserSegments {
        UserSegments {
            selectors: Selectors {
                ds: self.ds.load(Ordering::Relaxed),
                es: self.es.load(Ordering::Relaxed),
                fs: self.fs.load(Ordering::Relaxed),
                gs: self.gs.load(Ordering::Relaxed),
            },
            fs_base: self.fs_base.load(Ordering::Relaxed),
            gs_base: self.gs_base.load(Ordering::Relaxed),
        }
    }

    #[inline]
    fn set(&self, segments: UserSegments) {
        self.record_selectors(segments.selectors);
        self.fs_base.store(segments.fs_base, Ordering::Relaxed);
        self.gs_base.store(segments.gs_base, Ordering::Relaxed);
    }

    /// Records `selectors` as the program's, as it left them. A selector that is not
    /// null made its base the descriptor's, 0; with a null one, the base the kernel
    /// last gave the program stands (as Linux keeps it: a program that loads a null
    /// selector changes only its own base, until its next switch).
    #[inline(always)]
    fn record_selectors(&self, selectors: Selectors) {
        self.ds.store(selectors.ds, Ordering::Relaxed);
        self.es.store(selectors.es, Ordering::Relaxed);
        self.fs.store(selectors.fs, Ordering::Relaxed);
        self.gs.store(selectors.gs, Ordering::Relaxed);
        if selectors.fs != 0 {
            self.fs_base.store(0, Ordering::Relaxed);
        }
        if selectors.gs != 0 {
            self.gs_base.store(0, Ordering::Relaxed);
        }
    }

    /// Records the registers of the program running on this CPU, whose state this
    /// is (fork copies them).
    pub fn save_running(&self) {
        self.record_selectors(Selectors::loaded());
    }

    /// Hands the state to the CPU, for the process about to run on it.
    pub fn load(&self) {
        self.get().load_over(Selectors::loaded());
    }

    /// The context switch's part: saves the state of `self`, the process switching
    /// away, and hands `next`'s to the CPU (reading the CPU's selectors once).
    #[inline(always)]
    pub fn switch_to(&self, next: &SavedSegments) {
        let loaded = Selectors::loaded();
        self.record_selectors(loaded);
        next.get().load_over(loaded);
    }

    /// Changes the running process's state (`change` sees its registers as they
    /// are) and hands the result to the CPU at once.
    pub fn change_running(&self, change: impl FnOnce(&mut UserSegments)) {
        let loaded = Selectors::loaded();
        self.record_selectors(loaded);
        let mut segments = self.get();
        change(&mut segments);
        self.set(segments);
        segments.load_over(loaded);
    }
}

/// The running program's FS base, as the CPU has it (arch_prctl(ARCH_GET_FS) reads
/// it there, as Linux does: a selector the program loaded may have changed it).
pub fn running_fs_base() -> u64 {
    // SAFETY: reading FS_BASE has no side effect.
    unsafe { Msr::new(FS_BASE).read() }
}

/// The running program's GS base (in KERNEL_GS_BASE while the kernel runs).
pub fn running_gs_base() -> u64 {
    // SAFETY: reading KERNEL_GS_BASE has no side effect.
    unsafe { Msr::new(KERNEL_GS_BASE).read() }
}
