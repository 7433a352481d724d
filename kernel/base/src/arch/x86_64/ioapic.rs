//! The I/O APIC: routes the PC's legacy device interrupt lines (here the two UARTs)
//! to vectors on a CPU's local APIC.

use core::sync::atomic::{AtomicU64, Ordering};

/// Physical address of the I/O APIC on QEMU's PC machine.
pub const PHYSICAL_BASE: u64 = 0xfec0_0000;

const REGISTER_SELECT: u64 = 0x00;
const REGISTER_WINDOW: u64 = 0x10;
const REDIRECTION_TABLE: u32 = 0x10;

static BASE: AtomicU64 = AtomicU64::new(0);

fn write(register: u32, value: u32) {
    let base = BASE.load(Ordering::Relaxed);
    // SAFETY: `init` stored where memory::init mapped the I/O APIC (uncached); the
    // select/window pair is its architectural access method.
    unsafe {
        ((base + REGISTER_SELECT) as *mut u32).write_volatile(register);
        ((base + REGISTER_WINDOW) as *mut u32).write_volatile(value);
    }
}

/// Remembers where the I/O APIC's registers are mapped.
pub fn init(virtual_base: u64) {
    BASE.store(virtual_base, Ordering::Relaxed);
}

/// Delivers ISA interrupt line `irq` (edge-triggered, active high) as `vector` to the
/// local APIC with id `apic_id`.
pub fn route(irq: u8, vector: u8, apic_id: u8) {
    let entry = REDIRECTION_TABLE + 2 * u32::from(irq);
    write(entry + 1, u32::from(apic_id) << 24);
    write(entry, u32::from(vector));
}
