//! Segments: the GDT and the TSS. In long mode segments no longer translate
//! addresses, but they still carry the privilege level (CS.RPL is the CPL), and the
//! TSS tells the CPU which stack to use when an interrupt takes it from ring 3 to
//! ring 0 (RSP0) and for the faults that must not use a possibly broken stack (IST).
//!
//! The layout is Linux's, so user programs see the same CS/SS values in signal
//! frames, and SYSCALL/SYSRET find their selectors where STAR says:
//! SYSCALL loads CS = STAR[47:32] = 0x10, SS = +8; SYSRET loads SS = STAR[63:48] + 8 =
//! 0x2b and CS = STAR[63:48] + 16 = 0x33.

use x86_64::instructions::segmentation::{Segment, CS, DS, ES, FS, GS, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::PrivilegeLevel;

pub const KERNEL_CS: u16 = 0x10;
pub const KERNEL_DS: u16 = 0x18;
/// The 32-bit user code segment (a program may far-jump to it: compatibility mode).
pub const USER32_CS: u16 = 0x23;
pub const USER_DS: u16 = 0x2b;
pub const USER_CS: u16 = 0x33;
const TSS_SELECTOR: u16 = 0x40;

/// Raw descriptors: 32-bit kernel code (unused, keeps Linux's numbering), 64-bit
/// kernel code, kernel data, 32-bit user code (SYSRET's base), user data, 64-bit user code.
const KERNEL32_CODE: u64 = 0x00cf_9b00_0000_ffff;
const KERNEL_CODE: u64 = 0x00af_9b00_0000_ffff;
const KERNEL_DATA: u64 = 0x00cf_9300_0000_ffff;
const USER32_CODE: u64 = 0x00cf_fb00_0000_ffff;
const USER_DATA: u64 = 0x00cf_f300_0000_ffff;
const USER_CODE: u64 = 0x00af_fb00_0000_ffff;

/// Fills `gdt` with the kernel's layout and this CPU's TSS, loads it, and reloads every
/// segment register. Invariant afterwards: CS = KERNEL_CS, SS = KERNEL_DS, TR = the TSS.
///
/// # Safety
/// `tss` must stay at its address for as long as the CPU runs (it is per-CPU, static).
pub unsafe fn load(gdt: &'static mut GlobalDescriptorTable<10>, tss: *const TaskStateSegment) {
    for raw in [KERNEL32_CODE, KERNEL_CODE, KERNEL_DATA, USER32_CODE, USER_DATA, USER_CODE, 0] {
        gdt.append(Descriptor::UserSegment(raw));
    }
    // SAFETY: the caller guarantees the TSS lives as long as the CPU uses it.
    let tss_selector = gdt.append(unsafe { Descriptor::tss_segment_unchecked(tss) });
    debug_assert_eq!(tss_selector.0, TSS_SELECTOR);
    gdt.load();
    // SAFETY: the selectors name the descriptors just loaded, with the right types.
    unsafe {
        CS::set_reg(SegmentSelector::new(KERNEL_CS >> 3, PrivilegeLevel::Ring0));
        let data = SegmentSelector::new(KERNEL_DS >> 3, PrivilegeLevel::Ring0);
        SS::set_reg(data);
        DS::set_reg(data);
        ES::set_reg(data);
        let null = SegmentSelector(0);
        FS::set_reg(null);
        GS::set_reg(null);
        load_tss(SegmentSelector(TSS_SELECTOR));
    }
}
