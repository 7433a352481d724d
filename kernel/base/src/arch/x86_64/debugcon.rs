//! Write-only byte channels to the host: QEMU `isa-debugcon` devices, one `out` per
//! byte and no status polling. The CLI connects each port to a different place, so
//! the program's stderr, the kernel log and machine-readable records never mix with
//! the program's stdout (which goes through the COM1 UART, see `serial`).

use super::port;

/// A debugcon port, fixed by the contract with the host CLI.
#[derive(Clone, Copy)]
pub enum Channel {
    /// The program's standard error (fd 2 when it is the console).
    ProgramStderr = 0xe9,
    /// The kernel log, text lines.
    KernelLog = 0xea,
    /// Control records for the host (`exit N`, `signal N`, `panic`, trace data).
    Control = 0xeb,
}

/// Sends bytes to a channel.
pub fn write(channel: Channel, bytes: &[u8]) {
    for &byte in bytes {
        port::outb(channel as u16, byte);
    }
}
