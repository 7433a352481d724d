#![no_std]
#![no_main]


extern crate freestanding;

mod arch;

use core::panic::PanicInfo;

#[no_mangle]
extern "C" fn kernel_start(start_info_phys: u64) -> ! {
    for b in b"timeshare: hello\n" {
        arch::x86_64::port::outb(0xe9, *b); arch::x86_64::port::outb(0xea, *b); arch::x86_64::port::outb(0xeb, *b);
    }
    let _ = start_info_phys;
    arch::x86_64::port::outb(0xf4, 0);
    loop {}
}

#[panic_handler]
fn panic(_info: &PanicInfo) -> ! {
    loop {}
}
