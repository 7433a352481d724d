//! COM1, driven through the `uart_16550` crate, as the host's doorbell: the host CLI
//! sends a byte when it has put input in the console's ring, made room in it, or
//! changed what the console's shared header says (`kernel_core::hostio`). The bytes
//! mean nothing; their interrupt (routed by the I/O APIC) is the message.

use spin::Mutex;
use uart_16550::SerialPort;

use super::{apic, ioapic};

const COM1: u16 = 0x3f8;
const COM1_IRQ: u8 = 4;

// SAFETY: 0x3f8 is COM1 on the PC machine QEMU emulates, and only this module uses it.
static DOORBELL: Mutex<SerialPort> = Mutex::new(unsafe { SerialPort::new(COM1) });

/// Sets the UART to 8-N-1 with FIFOs and receive interrupts on, and routes its
/// interrupt to this CPU. The caller then drains what arrived before, so the (edge
/// triggered) interrupt line can rise again for the next byte.
pub fn init() {
    DOORBELL.lock().init();
    ioapic::route(COM1_IRQ, apic::CONSOLE_VECTOR, 0);
}

/// Takes every doorbell byte waiting, so that the next one raises the interrupt again.
pub fn drain_doorbell() {
    let mut port = DOORBELL.lock();
    while port.try_receive().is_ok() {}
}
