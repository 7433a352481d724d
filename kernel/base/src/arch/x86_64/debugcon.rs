//! Write-only byte channels to the host: QEMU `isa-debugcon` devices, one `out` per
//! byte and no status polling. The CLI connects each port to a different place, so
//! the kernel log and machine-readable records never mix with the program's output
//! (which travels in the console's ring in shared memory: `kernel_core::hostio`),
//! and the ring's two doorbells are ports of their own.

use super::port;

/// A debugcon port, fixed by the contract with the host CLI.
#[derive(Clone, Copy)]
pub enum Channel {
    /// The host's doorbell: the console's output ring has records for it.
    OutputDoorbell = kernel_core::hostio::OUTPUT_DOORBELL_PORT as isize,
    /// The kernel log, text lines.
    KernelLog = 0xea,
    /// Control records for the host (`exit N`, `signal N`, `panic`, trace data).
    Control = 0xeb,
    /// The host's doorbell: the console's input ring has room again.
    InputDoorbell = kernel_core::hostio::INPUT_DOORBELL_PORT as isize,
}

/// Sends bytes to a channel.
pub fn write(channel: Channel, bytes: &[u8]) {
    for &byte in bytes {
        port::outb(channel as u16, byte);
    }
}
