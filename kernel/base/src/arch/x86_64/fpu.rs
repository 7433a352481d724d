//! The program's FPU/SSE/AVX registers. The kernel is built soft-float (target
//! x86_64-unknown-none): its code never touches these registers, so a system call
//! served on the fast path leaves them live, untouched, as Linux does. They go to the
//! process's save area (XSAVE; one per process, on its kernel stack) only when
//! something needs them there:
//! - every other entry from user mode (interrupts, exceptions, and system calls that
//!   take the full path), which may inspect or rewrite the state (signals, exec,
//!   fork, fault reports);
//! - a context switch (`save_live`), before another program's state is loaded;
//! - the kernel's own AVX copies (`borrow_vector_registers`).
//!
//! Invariant: while the kernel runs, the per-CPU "saved" flag says where the running
//! program's state is: clear, in the registers; set, in its area, and the way back to
//! user mode reloads it (XRSTOR) from there.

use core::arch::asm;
use core::arch::x86_64::__cpuid_count;
use spin::Once;

use super::cpu;
use super::percpu::PerCpu;

/// XCR0 components enabled for programs: x87, SSE, AVX, and AVX-512 when present
/// (opmask, upper ZMM halves, ZMM16-31). Glibc and musl read XCR0 to pick code paths.
const WANTED_COMPONENTS: u64 = 0b1110_0111;

/// The FPU parameters this CPU's XSAVE works with, found once at boot (`init`):
/// read together (`layout`), so that a user of several pays one look-up.
pub struct Layout {
    /// The components enabled in XCR0.
    components: u64,
    /// Bytes the XSAVE area needs for the enabled components.
    size: usize,
    /// `mxcsr_mask`, read from `initial` once.
    mxcsr_mask: u32,
    /// The area as it is after `fninit` and a default MXCSR: a new program's state.
    initial: alloc::vec::Vec<u8>,
}

static LAYOUT: Once<Layout> = Once::new();

/// Alignment XSAVE requires of its area.
pub const AREA_ALIGN: usize = 64;

/// Bytes every XSAVE area has at least: the legacy region and the header.
pub const MIN_AREA_SIZE: usize = 576;

/// Enables every supported component in XCR0 on this CPU; the first call (the
/// boot CPU's) also records the initial state. Runs on each CPU after
/// `cpu::enable_features` set CR4.OSXSAVE, and after the heap.
pub fn init() {
    assert!(cpu::features().xsave, "this CPU lacks XSAVE; run QEMU with -cpu max");
    let supported = __cpuid_count(0xd, 0);
    let components = (u64::from(supported.edx) << 32 | u64::from(supported.eax)) & WANTED_COMPONENTS;
    // SAFETY: CR4.OSXSAVE is set, and `components` only holds supported bits
    // including x87 and SSE, which XSETBV requires.
    unsafe {
        asm!("xsetbv", in("ecx") 0, in("eax") components as u32, in("edx") (components >> 32) as u32,
             options(nomem, nostack));
    }
    LAYOUT.call_once(|| {
        // EBX of leaf 0xd now reports the size for the enabled set.
        let size = __cpuid_count(0xd, 0).ebx as usize;
        assert!(size >= MIN_AREA_SIZE, "XSAVE reports an area smaller than its legacy region and header");
        let mut initial = alloc::vec![0u8; size + AREA_ALIGN];
        let offset = initial.as_ptr().align_offset(AREA_ALIGN);
        // SAFETY: the area is `size` bytes at a 64-byte boundary inside `initial`;
        // fninit and ldmxcsr only reset this CPU's (still unused) FPU registers.
        unsafe {
            let mxcsr: u32 = 0x1f80;
            asm!("fninit", "ldmxcsr [{mxcsr}]", "xsave64 [{area}]",
                 mxcsr = in(reg) &mxcsr, area = in(reg) initial.as_mut_ptr().add(offset),
                 in("eax") u32::MAX, in("edx") u32::MAX, options(nostack));
        }
        initial.drain(..offset);
        initial.truncate(size);
        let stored_mask = u32::from_le_bytes([initial[28], initial[29], initial[30], initial[31]]);
        let mxcsr_mask = if stored_mask == 0 { 0xffbf } else { stored_mask };
        Layout { components, size, mxcsr_mask, initial }
    });
}

/// Saves the running program's FPU state to its area if it is still live in the
/// registers (a fast-path system call), so that the registers are free and the area
/// is the state. The way back to user mode then reloads it.
pub fn save_live() {
    let cpu = PerCpu::this();
    if cpu.fpu_saved() {
        return;
    }
    // SAFETY: the flag is clear only after a fast-path SYSCALL left the program's
    // state in the registers, and until it is saved here or the program resumes; the
    // per-CPU area is still that process's (`set_user_context` saves before changing
    // it): 64-byte aligned, `area_size` bytes on its kernel stack.
    unsafe {
        asm!("xsave64 [{area}]", area = in(reg) cpu.fpu_area(), in("eax") u32::MAX, in("edx") u32::MAX,
             options(nostack));
    }
    cpu.set_fpu_saved();
}

/// Saves the running program's FPU state with one XSAVE (standard format, every
/// enabled component) at `target`, wherever it is now: the registers, or its area
/// (then reloaded from there first: XRSTOR and XSAVE are two instructions, where a
/// copy of the area is one per 8 to 128 bytes under `-icount`). XSAVE writes only
/// XSTATE_BV of the header, so the header's 64 bytes are cleared first (reserved
/// bytes and XCOMP_BV must be zero for XRSTOR to take the image). The area and the
/// per-CPU flag are left as they were: the state there is the same. Returns the
/// image's XSTATE_BV (the components it holds), read back from `target`, so that
/// the caller needs no copy from it to learn that. Plain XSAVE, never XSAVEOPT:
/// it writes the registers of every component, those in their initial state
/// too, so the image's legacy region is whole whatever XSTATE_BV says
/// (`xstate::complete_frame_image` relies on that).
///
/// # Safety
///
/// `target` is 64-byte aligned and writable for `area_size` bytes, through a kernel
/// mapping, and no Rust reference to those bytes is live.
pub unsafe fn save_to(target: *mut u8) -> u64 {
    let cpu = PerCpu::this();
    let header = target.wrapping_add(512).cast::<u64>();
    for word in 0..8 {
        // SAFETY: the header is bytes 512..576 of the caller's `area_size` bytes
        // (at least 576: XSAVE's legacy region and header), 8-aligned.
        unsafe { header.add(word).write(0) };
    }
    // SAFETY: when the flag is set the area (64-byte aligned, `area_size` bytes on
    // the process's kernel stack) holds the program's state as XSAVE wrote it (or
    // as `xstate::reset`/`restore` left it, which XRSTOR takes); loading it changes
    // only the program's registers, which the kernel's soft-float code never uses.
    // The caller's promise covers the XSAVE.
    unsafe {
        if cpu.fpu_saved() {
            asm!("xrstor64 [{area}]", area = in(reg) cpu.fpu_area(), in("eax") u32::MAX, in("edx") u32::MAX,
                 options(nostack, readonly));
        }
        asm!("xsave64 [{target}]", target = in(reg) target, in("eax") u32::MAX, in("edx") u32::MAX,
             options(nostack));
    }
    // SAFETY: XSTATE_BV is the header's first word, which XSAVE just wrote
    // (volatile: the bytes are the program's, which another thread may change).
    unsafe { header.read_volatile() }
}

// `load_image`'s XRSTOR straight from user memory, whose one possible fault (#GP:
// an image another thread or process changed after it was checked) `kernel_trap`
// turns into a return of 0 (`fault_fixup`), as Linux's exception table does for
// its XRSTOR from a signal frame.
core::arch::global_asm!(
    r#"
    .section .text.load_fpu_image, "ax"
    .global load_fpu_image, load_fpu_image_xrstor, load_fpu_image_refused
load_fpu_image:
    mov $-1, %eax
    mov $-1, %edx
load_fpu_image_xrstor:
    xrstor64 (%rdi)
    xsave64 (%rsi)
    mov $1, %eax
    ret
load_fpu_image_refused:
    xor %eax, %eax
    ret
    "#,
    options(att_syntax)
);

extern "C" {
    /// XRSTOR from `image` (rdi), then XSAVE to `area` (rsi): 1, or 0 if the
    /// XRSTOR faulted.
    fn load_fpu_image(image: *const u8, area: *mut u8) -> u32;
    static load_fpu_image_xrstor: u8;
    static load_fpu_image_refused: u8;
}

/// Where a fault in kernel mode at `rip` resumes, if it is one the kernel expects:
/// `load_image`'s XRSTOR refusing its image (#GP, vector 13).
pub(super) fn fault_fixup(vector: u64, rip: u64) -> Option<u64> {
    let xrstor = &raw const load_fpu_image_xrstor as u64;
    (vector == 13 && rip == xrstor).then(|| &raw const load_fpu_image_refused as u64)
}

/// Loads the running program's FPU state from the XSAVE image (standard format) at
/// `image` with one XRSTOR, then saves it to the process's area with one XSAVE
/// (the way back to user mode loads from there): two instructions where copying
/// the image into the area is one per 8 to 128 bytes under `-icount`. False, the
/// registers and the area unchanged, when XRSTOR refused the image (`fault_fixup`).
///
/// # Safety
///
/// `image` is 64-byte aligned and readable for `area_size` bytes through a kernel
/// mapping that stays mapped meanwhile (what it holds may change under it: XRSTOR
/// checks it as it loads).
pub unsafe fn load_image(image: *const u8) -> bool {
    let cpu = PerCpu::this();
    // SAFETY: the caller's promise covers the image; the area is the running
    // process's (64-byte aligned, `area_size` bytes on its kernel stack), and is
    // its state once written; the registers are the program's alone.
    let loaded = unsafe { load_fpu_image(image, cpu.fpu_area() as *mut u8) } != 0;
    if loaded {
        cpu.set_fpu_saved();
    }
    loaded
}

/// Lends the vector registers to the kernel's own copies: true, with the program's
/// state saved (`save_live`), when AVX is enabled (XCR0); false, touching nothing,
/// when it is not (or before `init`).
pub fn borrow_vector_registers() -> bool {
    let avx = LAYOUT.get().is_some_and(|layout| layout.components & 0b100 != 0);
    if avx {
        save_live();
    }
    avx
}

/// The FPU parameters (`init` ran at boot).
#[inline]
pub fn layout() -> &'static Layout {
    LAYOUT.get().expect("fpu::init ran at boot")
}

impl Layout {
    /// Size in bytes of one process's save area.
    #[inline]
    pub fn area_size(&self) -> usize {
        self.size
    }

    /// The XSAVE components enabled in XCR0: what an XSAVE image may hold and what
    /// the entry code's XRSTOR restores.
    #[inline]
    pub fn components(&self) -> u64 {
        self.components
    }

    /// The MXCSR bits this CPU supports: the MXCSR_MASK XSAVE stored in the initial
    /// state, or 0xffbf when it stored 0 (as the SDM says to assume). Loading MXCSR
    /// with any other bit set faults.
    #[inline]
    pub fn mxcsr_mask(&self) -> u32 {
        self.mxcsr_mask
    }

    /// The FPU state a freshly exec'd program starts with.
    #[inline]
    pub fn initial_state(&self) -> &[u8] {
        &self.initial
    }
}
