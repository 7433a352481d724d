//! The bootable kernel: the base (boot, traps, memory, devices) linked with the kernel
//! proper. The base's boot code calls `kernel_main` by name; it lives here because
//! `#[no_mangle]` is unsafe code, which the kernel proper forbids.
#![no_std]
#![no_main]

use timeshare_base::BootInfo;

// SAFETY: no other symbol is named `kernel_main`; the base declares it with this
// exact signature and calls it once, from `kernel_start`.
#[unsafe(no_mangle)]
fn kernel_main(boot: BootInfo) -> ! {
    timeshare_kernel::main(boot)
}
