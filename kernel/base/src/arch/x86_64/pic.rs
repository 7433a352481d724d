//! The legacy 8259 PICs. The firmware leaves them mapped onto exception vectors
//! (IRQ0 on vector 8, the double fault's); the kernel uses the local APIC instead, so
//! it moves them out of the way and masks every line.

use super::port;

/// Remaps both PICs to vectors 0x70-0x7f and masks all their interrupts.
pub fn disable() {
    const MASTER_COMMAND: u16 = 0x20;
    const MASTER_DATA: u16 = 0x21;
    const SLAVE_COMMAND: u16 = 0xa0;
    const SLAVE_DATA: u16 = 0xa1;
    // ICW1 (init, expect ICW4), ICW2 (vector base), ICW3 (cascade wiring), ICW4 (8086 mode).
    for (command, data, base, cascade) in [(MASTER_COMMAND, MASTER_DATA, 0x70, 4), (SLAVE_COMMAND, SLAVE_DATA, 0x78, 2)]
    {
        port::outb(command, 0x11);
        port::outb(data, base);
        port::outb(data, cascade);
        port::outb(data, 0x01);
        port::outb(data, 0xff);
    }
}
