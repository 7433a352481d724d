//! The timeshare kernel's base: everything that needs `unsafe` or `asm!`, behind safe
//! types. The PVH entry, segments and the trap table, the user/kernel crossing and
//! the context switch, per-CPU data, the APIC and the devices on I/O ports (`arch`);
//! frames, page tables, the kernel heap, kernel stacks and the one API through which
//! the kernel touches user memory (`mm`); the clock and the log.
//!
//! The base never names the kernel's types. It calls up into the kernel in five
//! places only, each a function the kernel hands over: `kernel_main` at boot (defined
//! by the image, which links the two), the interrupt-in-kernel handler
//! (`arch::x86_64::entry::register_kernel_interrupt`), the panic report's line
//! about the current program (`register_panic_report`), the pid a CPU stopped by
//! a kernel failure was running (`arch::x86_64::stop::register_running_pid`), and
//! what the other CPUs run once started
//! (`arch::x86_64::smp::start_application_processors`).
#![no_std]

extern crate alloc;
extern crate freestanding;

#[macro_use]
pub mod log;
pub mod arch;
pub mod mm;
pub mod sync;
pub mod time;
pub mod vdso;

use core::panic::PanicInfo;

use arch::x86_64::debugcon::{self, Channel};
use arch::x86_64::power::{self, Shutdown};
pub use arch::x86_64::pvh::BootInfo;
use arch::x86_64::{pvh, stop};

extern "Rust" {
    /// The kernel's boot sequence, after the base read what the machine has. The
    /// image defines it (a `#[no_mangle]` function cannot live in the kernel, which
    /// forbids unsafe code).
    fn kernel_main(boot: BootInfo) -> !;
}

/// Entered from the PVH trampoline in 64-bit mode on the boot stack, with the boot
/// page tables and interrupts off; never returns.
#[no_mangle]
extern "C" fn kernel_start(start_info: u64) -> ! {
    time::mark_boot();
    let boot = pvh::read(start_info);
    // SAFETY: `kernel_main` is defined once, by the image, with exactly this
    // signature; it is safe Rust.
    unsafe { kernel_main(boot) }
}

/// Ends the boot with a clear message (on the log and the control channel).
pub fn fail(message: core::fmt::Arguments) -> ! {
    end_in_failure(|| error!("{message}"))
}

/// A kernel failure on this CPU: stops the other CPUs (or, if one failed first,
/// stops this one silently), logs `report` and every CPU's state, and ends the
/// machine.
fn end_in_failure(report: impl FnOnce()) -> ! {
    log::start_panic();
    let stop = stop::stop_other_cpus();
    report();
    stop.report_cpus();
    debugcon::write(Channel::Control, b"panic\n");
    power::shutdown(Shutdown::Failure)
}

/// What the kernel adds to a panic's report (which program it was serving).
static PANIC_REPORT: spin::Once<fn()> = spin::Once::new();

/// Registers what the kernel adds to a panic's report. Once, at boot.
pub fn register_panic_report(report: fn()) {
    PANIC_REPORT.call_once(|| report);
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    end_in_failure(|| {
        match arch::x86_64::percpu::current_id() {
            Some(cpu) => error!("kernel panic on cpu {cpu}: {info}"),
            None => error!("kernel panic: {info}"),
        }
        if let Some(report) = PANIC_REPORT.get() {
            report();
        }
    })
}
