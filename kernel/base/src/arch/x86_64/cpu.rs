//! What this CPU can do, and the control-register settings that follow from it.

use core::arch::asm;
use core::arch::x86_64::{__cpuid, __cpuid_count};
use spin::Once;
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};

/// CPU features the kernel cares about, read once from CPUID.
pub struct Features {
    pub pcid: bool,
    pub smep: bool,
    pub smap: bool,
    pub xsave: bool,
    pub rdrand: bool,
    /// User-Mode Instruction Prevention: sgdt, sidt, sldt, smsw and str fault in
    /// user mode (and are emulated with harmless values: `kernel_core::umip`).
    pub umip: bool,
    /// RDTSCP, through which the vDSO's getcpu reads the CPU's number from
    /// IA32_TSC_AUX (`set_cpu_number`).
    pub rdtscp: bool,
    /// AT_HWCAP for user programs: CPUID.1:EDX, as Linux reports it.
    pub hwcap: u64,
}

static FEATURES: Once<Features> = Once::new();

/// The features of the boot CPU (detected on first use).
#[inline]
pub fn features() -> &'static Features {
    FEATURES.call_once(|| {
        let (leaf1, leaf7) = (__cpuid(1), __cpuid_count(7, 0));
        let extended = __cpuid(0x8000_0000).eax >= 0x8000_0001;
        let extended_leaf1 = if extended { __cpuid(0x8000_0001).edx } else { 0 };
        Features {
            pcid: leaf1.ecx & (1 << 17) != 0,
            smep: leaf7.ebx & (1 << 7) != 0,
            smap: leaf7.ebx & (1 << 20) != 0,
            xsave: leaf1.ecx & (1 << 26) != 0,
            rdrand: leaf1.ecx & (1 << 30) != 0,
            umip: leaf7.ecx & (1 << 2) != 0,
            rdtscp: extended_leaf1 & (1 << 27) != 0,
            hwcap: u64::from(leaf1.edx),
        }
    })
}

/// Turns on the protections and features the rest of the kernel assumes: global
/// kernel pages, PCIDs, SMEP and SMAP (the kernel never touches user memory through
/// user addresses, so SMAP needs no stac/clac anywhere), UMIP (the descriptor tables'
/// addresses are not the program's business), XSAVE; and alignment checking for
/// programs that ask for it with RFLAGS.AC (#AC, SIGBUS, as on Linux), which never
/// applies to the kernel: the CPU checks alignment only at CPL 3, and the kernel
/// runs with AC clear anyway (every entry clears it).
pub fn enable_features() {
    let features = features();
    let mut flags = Cr4::read() | Cr4Flags::PAGE_GLOBAL;
    if features.xsave {
        flags |= Cr4Flags::OSXSAVE;
    }
    if features.smep {
        flags |= Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION;
    }
    if features.smap {
        flags |= Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION;
    }
    if features.umip {
        flags |= Cr4Flags::USER_MODE_INSTRUCTION_PREVENTION;
    }
    // SAFETY: AM only lets RFLAGS.AC turn on alignment checks in ring 3.
    unsafe { Cr0::update(|cr0| cr0.insert(Cr0Flags::ALIGNMENT_MASK)) };
    // SAFETY: every flag set is supported (checked above) and compatible with the
    // kernel's code; PCIDE is set separately once CR3's low bits are known to be zero.
    unsafe { Cr4::write(flags) };
}

/// IA32_TSC_AUX: what RDTSCP returns in ECX.
const TSC_AUX: u32 = 0xc000_0103;

/// Makes RDTSCP (and RDPID) in user mode say which CPU this is, as Linux does
/// for getcpu (its node, in bits 12 and up, is always 0 here). Each CPU, once.
pub fn set_cpu_number(number: usize) {
    if features().rdtscp {
        // SAFETY: the MSR exists when RDTSCP does; its value only feeds RDTSCP
        // and RDPID.
        unsafe { x86_64::registers::model_specific::Msr::new(TSC_AUX).write(number as u64) };
    }
}

/// Reads the time-stamp counter.
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC only reads a counter (CR4.TSD is clear, so it is allowed).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// A hardware random number, if the CPU has RDRAND and it delivers.
#[inline]
pub fn rdrand() -> Option<u64> {
    if !features().rdrand {
        return None;
    }
    for _ in 0..10 {
        let value: u64;
        let ok: u8;
        // SAFETY: RDRAND exists (checked); it writes only the named registers.
        unsafe { asm!("rdrand {v}", "setc {ok}", v = out(reg) value, ok = out(reg_byte) ok, options(nomem, nostack)) };
        if ok != 0 {
            return Some(value);
        }
    }
    None
}

/// Waits for the next interrupt with interrupts enabled only for that wait. The
/// kernel otherwise always runs with interrupts off, so this is the one place an
/// interrupt can arrive in kernel mode; the kernel's target (x86_64-unknown-none)
/// uses no red zone, so the frame the CPU pushes here overwrites nothing live.
pub fn wait_for_interrupt() {
    // SAFETY: `sti; hlt` halts until an interrupt, whose handler runs and returns here;
    // `cli` restores the kernel's interrupts-off invariant.
    unsafe { asm!("sti", "hlt", "cli", options(nomem, nostack)) };
}

/// Lets the interrupts pending on this CPU in, then goes back to interrupts off:
/// a kernel loop that must answer them as a program would (a self-test's).
pub fn allow_interrupts_for_an_instruction() {
    // SAFETY: STI takes effect after the next instruction, so the NOP is the one
    // window; `cli` restores the kernel's interrupts-off invariant. No red zone, as
    // for `wait_for_interrupt`.
    unsafe { asm!("sti", "nop", "cli", options(nomem, nostack)) };
}

/// The faulting linear address of the last page fault.
pub fn read_cr2() -> u64 {
    let value: u64;
    // SAFETY: reading CR2 has no side effects.
    unsafe { asm!("mov {}, cr2", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}
