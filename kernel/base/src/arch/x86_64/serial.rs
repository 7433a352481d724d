//! The two UARTs, driven through the `uart_16550` crate. COM1 is the console: the
//! program's stdout goes out byte for byte, and the host's input comes in. COM2
//! carries control bytes from the host CLI to the kernel (the end of piped input).
//! Both raise an interrupt when bytes arrive (routed by the I/O APIC).

use spin::Mutex;
use uart_16550::SerialPort;

use core::sync::atomic::{AtomicBool, Ordering};

use super::{apic, ioapic, port};

const COM1: u16 = 0x3f8;
const COM2: u16 = 0x2f8;
const COM1_IRQ: u8 = 4;
const COM2_IRQ: u8 = 3;

// SAFETY: 0x3f8 and 0x2f8 are COM1 and COM2 on the PC machine QEMU emulates, and
// only this module uses them.
static CONSOLE: Mutex<SerialPort> = Mutex::new(unsafe { SerialPort::new(COM1) });
static HOST_CONTROL: Mutex<SerialPort> = Mutex::new(unsafe { SerialPort::new(COM2) });

/// Whether COM2 exists (a UART that is absent reads as all ones).
static HOST_CONTROL_PRESENT: AtomicBool = AtomicBool::new(false);

fn present(base: u16) -> bool {
    port::inb(base + 5) != 0xff
}

/// Sets the UARTs to 8-N-1 with FIFOs and receive interrupts on, and routes their
/// interrupts to this CPU. The caller then drains what arrived before, so the (edge
/// triggered) interrupt line can rise again for the next byte. A missing COM2 (QEMU
/// started by hand) is left alone.
pub fn init() {
    CONSOLE.lock().init();
    ioapic::route(COM1_IRQ, apic::CONSOLE_VECTOR, 0);
    if present(COM2) {
        HOST_CONTROL.lock().init();
        ioapic::route(COM2_IRQ, apic::HOST_CONTROL_VECTOR, 0);
        HOST_CONTROL_PRESENT.store(true, Ordering::Relaxed);
    }
}

/// Sends bytes exactly as given (no newline translation).
#[inline]
pub fn write(bytes: &[u8]) {
    let mut port = CONSOLE.lock();
    for &byte in bytes {
        port.send_raw(byte);
    }
}

/// Waits until the console UART has sent every byte it holds (transmitter empty),
/// so nothing written before a power-off is lost.
pub fn drain() {
    while port::inb(COM1 + 5) & 0x40 == 0 {
        core::hint::spin_loop();
    }
}

/// The next byte received on the console, if one is waiting.
#[inline]
pub fn try_read() -> Option<u8> {
    CONSOLE.lock().try_receive().ok()
}

/// The next control byte from the host, if one is waiting.
pub fn try_read_host_control() -> Option<u8> {
    if !HOST_CONTROL_PRESENT.load(Ordering::Relaxed) {
        return None;
    }
    HOST_CONTROL.lock().try_receive().ok()
}
