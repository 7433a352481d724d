//! Everything that is x86_64-specific, and the only home of `asm!`: the PVH entry,
//! segments and the TSS, the trap table and the user/kernel crossing, the context
//! switch, the MMU registers, the FPU, the APIC timer and the devices on I/O ports.

pub mod apic;
mod boot;
pub mod cpu;
pub mod debugcon;
pub mod entry;
pub mod fpu;
pub mod frame;
pub mod gdt;
pub mod idt;
pub mod ioapic;
pub mod paging;
pub mod percpu;
pub mod pic;
pub mod port;
pub mod power;
pub mod pvh;
pub mod rtc;
pub mod serial;
pub mod smp;
pub mod stop;
pub mod switch;
pub mod tlb;
pub mod tls;
