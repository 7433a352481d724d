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

/// Held while a control record's bytes go out: each record is one line, and two
/// CPUs writing at once would interleave their bytes into lines the host cannot
/// parse (two processes exiting together lose their accounting). A leaf lock:
/// nothing is taken while it is held, and the kernel runs with interrupts off, so
/// no handler on this CPU can want it meanwhile.
static CONTROL: spin::Mutex<()> = spin::Mutex::new(());

/// Sends bytes to a channel; what goes to the control channel in one call arrives
/// whole. After a panic began, without waiting for the lock (the CPU holding it
/// may have been stopped).
pub fn write(channel: Channel, bytes: &[u8]) {
    let _whole = match channel {
        Channel::Control if !crate::log::panicking() => Some(CONTROL.lock()),
        _ => None,
    };
    for &byte in bytes {
        port::outb(channel as u16, byte);
    }
}
