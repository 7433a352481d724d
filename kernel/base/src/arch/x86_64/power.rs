//! Leaving the machine: QEMU's isa-debug-exit device (port 0xf4) ends QEMU with exit
//! code `(value << 1) | 1`. The host CLI reads 1 as "powered off" and 3 as "failed".

use super::port;

const DEBUG_EXIT_PORT: u16 = 0xf4;

/// How the kernel leaves QEMU.
#[derive(Clone, Copy)]
pub enum Shutdown {
    /// Orderly power-off after the first process ended (QEMU exits 1).
    PowerOff = 0,
    /// The kernel itself failed: a panic or a fault in kernel mode (QEMU exits 3).
    Failure = 1,
}

/// Ends the virtual machine. Never returns: if the exit device is missing, the CPU
/// halts with interrupts off, which QEMU shows as a hang the CLI's timeout catches.
pub fn shutdown(how: Shutdown) -> ! {
    port::outl(DEBUG_EXIT_PORT, how as u32);
    loop {
        // SAFETY: halting with interrupts disabled only stops this CPU.
        unsafe { core::arch::asm!("cli; hlt", options(nomem, nostack)) }
    }
}
