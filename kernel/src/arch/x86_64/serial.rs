//! COM1, the console UART: the program's stdout goes out here byte for byte, and the
//! host's keystrokes come in. Driven through the `uart_16550` crate; received bytes
//! are polled (from the timer tick and the idle loop) rather than interrupt-driven,
//! which keeps the kernel free of an I/O APIC driver for one device.

use spin::Mutex;
use uart_16550::SerialPort;

const COM1: u16 = 0x3f8;

// SAFETY: 0x3f8 is COM1 on the PC machine QEMU emulates, and only this module uses it.
static PORT: Mutex<SerialPort> = Mutex::new(unsafe { SerialPort::new(COM1) });

/// Sets the UART to 8-N-1 with FIFOs on. Called once at boot.
pub fn init() {
    PORT.lock().init();
}

/// Sends bytes exactly as given (no newline translation: that is the line
/// discipline's business, not the wire's).
pub fn write(bytes: &[u8]) {
    let mut port = PORT.lock();
    for &byte in bytes {
        port.send_raw(byte);
    }
}

/// Returns the next received byte, if one is waiting.
pub fn try_read() -> Option<u8> {
    PORT.lock().try_receive().ok()
}
