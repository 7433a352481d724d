//! Port I/O: the privileged `in`/`out` instructions (ring 3 gets #GP for them).

use core::arch::asm;

/// Writes one byte to an I/O port.
pub fn outb(port: u16, value: u8) {
    // SAFETY: only the kernel's own device drivers call this, on ports they own; a port
    // write cannot break Rust's memory model.
    unsafe { asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags)) }
}

/// Writes a 32-bit value to an I/O port.
pub fn outl(port: u16, value: u32) {
    // SAFETY: as for `outb`.
    unsafe { asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags)) }
}

/// Reads one byte from an I/O port.
pub fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: as for `outb`; reads have no memory effects.
    unsafe { asm!("in al, dx", out("al") value, in("dx") port, options(nomem, nostack, preserves_flags)) }
    value
}

/// A full memory barrier that holds against the host process too, for memory shared
/// with it (the console's rings). QEMU's TCG drops a guest's `mfence` when it runs
/// one vCPU (it emits barriers only for parallel vCPUs), so the vCPU thread's store
/// could still sit in the host CPU's store buffer when its next load runs; a port
/// access is a call into QEMU that takes its global lock, whose locked instructions
/// drain that buffer. The port is 0x80, the POST diagnostic port, which QEMU's PC
/// machine ignores (Linux's `io_delay` writes there too).
pub fn shared_memory_fence() {
    // SAFETY: `mfence` and a write to a port no device acts on; no `nomem`, so the
    // compiler keeps memory accesses on their side of it too.
    unsafe { asm!("mfence", "out 0x80, al", in("al") 0u8, options(nostack, preserves_flags)) }
}
