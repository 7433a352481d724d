//! The MMU's registers: which page-table tree is live (CR3, tagged with a PCID so a
//! switch need not flush the other address spaces' TLB entries) and the TLB flush of
//! single pages.

use core::arch::asm;
use core::sync::atomic::{AtomicBool, Ordering};
use x86_64::registers::control::{Cr4, Cr4Flags};

use super::cpu;
use super::percpu::PerCpu;
use super::tlb::CpuSet;

/// Number of distinct PCIDs (12 bits). PCID 0 is the kernel's own tree's.
pub const PCID_COUNT: u16 = 4096;

static PCID_ENABLED: AtomicBool = AtomicBool::new(false);

/// Enables PCIDs if the CPU has them. Must run while CR3's PCID field is 0 (setting
/// CR4.PCIDE otherwise faults), i.e. right after the kernel's tree is loaded.
pub fn enable_pcid() {
    if cpu::features().pcid {
        // SAFETY: the CPU supports PCIDs and CR3[11:0] is 0 (caller's contract).
        unsafe { Cr4::update(|flags| flags.insert(Cr4Flags::PCID)) };
        PCID_ENABLED.store(true, Ordering::Relaxed);
    }
}

/// Makes the user address space `id` (unique, never reused, non-zero), whose tree
/// is rooted at physical `root` and whose CPU set is `cpus`, the live one (this CPU
/// joins the set first, see `tlb`). Its PCID is derived from the id; the
/// TLB entries tagged with that PCID are kept only if this CPU last used the PCID for
/// this same address space (every change to a live tree flushes the pages it
/// touches, so those entries are current).
///
/// Inlined: every context switch comes here.
///
/// # Safety
/// As for `activate`.
#[inline]
pub unsafe fn switch_address_space(root: u64, id: u64, cpus: &CpuSet) {
    let pcid = pcid_of(id);
    let this = PerCpu::this();
    cpus.add(this.id());
    let keep_tlb = this.claim_pcid(pcid, id);
    // SAFETY: the caller's contract.
    unsafe { activate(root, pcid, keep_tlb) };
}

/// The PCID of user address space `id`: the id's low bits, with 0 (the kernel's
/// PCID) folded onto 1: a mask rather than a division on every switch. Two spaces
/// sharing a PCID only cost a flush.
#[inline]
pub fn pcid_of(id: u64) -> u16 {
    ((id % u64::from(PCID_COUNT)) as u16).max(1)
}

/// Makes the tree rooted at physical `root` the live one, tagged with `pcid`. With
/// `keep_tlb`, the CPU keeps the TLB entries it has for that PCID.
///
/// # Safety
/// `root` must be a page-table tree that maps the kernel exactly as the current one
/// does (the shared upper half), or the next instruction faults.
pub unsafe fn activate(root: u64, pcid: u16, keep_tlb: bool) {
    let value = if PCID_ENABLED.load(Ordering::Relaxed) {
        root | u64::from(pcid % PCID_COUNT) | if keep_tlb { 1 << 63 } else { 0 }
    } else {
        root
    };
    // SAFETY: the caller guarantees the kernel stays mapped; the value is a valid CR3.
    unsafe { asm!("mov cr3, {}", in(reg) value, options(nostack, preserves_flags)) };
}

/// The physical root of the tree this CPU has loaded.
pub fn live_root() -> u64 {
    let value: u64;
    // SAFETY: reading CR3 has no side effects.
    unsafe { asm!("mov {}, cr3", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value & 0x000f_ffff_ffff_f000
}

/// Drops the TLB entry for one page of the current address space.
pub fn flush_page(address: u64) {
    // SAFETY: INVLPG only drops a cached translation.
    unsafe { asm!("invlpg [{}]", in(reg) address, options(nostack, preserves_flags)) };
}

/// Drops every non-global TLB entry of the current address space (after changing
/// many of its mappings at once, as fork does).
pub fn flush_address_space() {
    // SAFETY: rewriting CR3 with its own value (bit 63 clear: no "keep") only flushes.
    unsafe {
        let value: u64;
        asm!("mov {}, cr3", out(reg) value, options(nomem, nostack, preserves_flags));
        asm!("mov cr3, {}", in(reg) value & !(1 << 63), options(nostack, preserves_flags));
    }
}
