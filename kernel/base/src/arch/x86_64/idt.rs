//! The trap table: an IDT entry for each of the 256 vectors, installed at boot with
//! the privileged `lidt`. Every entry points at a 16-byte stub that pushes a uniform
//! (error code, vector) pair and jumps to the common entry code in `entry.rs`, so the
//! kernel learns *which* trap happened without trusting anything the program chose.

use core::arch::global_asm;
use core::mem::size_of;
use x86_64::instructions::tables::{lidt, sidt};
use x86_64::structures::DescriptorTablePointer;
use x86_64::VirtAddr;

use super::{gdt, percpu};

// Vectors where the CPU pushes an error code itself; the other stubs push a 0.
// 8 #DF, 10 #TS, 11 #NP, 12 #SS, 13 #GP, 14 #PF, 17 #AC, 21 #CP, 29 #VC, 30 #SX.
global_asm!(
    r#"
    .section .text.trap_stubs, "ax"
    .balign 16
    .global trap_stubs
trap_stubs:
    .set vector, 0
    .rept 256
    .balign 16
    .if (vector == 8) || (vector == 10) || (vector == 11) || (vector == 12) || (vector == 13) || (vector == 14) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
    .else
    push $0
    .endif
    push $vector
    jmp trap_common
    .set vector, vector + 1
    .endr
    "#,
    options(att_syntax)
);

extern "C" {
    static trap_stubs: u8;
}
const STUB_SIZE: u64 = 16;

/// One 16-byte interrupt gate.
#[derive(Clone, Copy)]
#[repr(C)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attributes: u8,
    offset_middle: u16,
    offset_high: u32,
    reserved: u32,
}

/// Present, 64-bit interrupt gate (IF cleared on entry: the kernel runs with
/// interrupts off), callable by `int n` only from ring 0 ...
const INTERRUPT_GATE_KERNEL: u8 = 0x8e;
/// ... or also from ring 3, for the two vectors Linux lets user code raise with
/// `int3` and `into` (so they become SIGTRAP/SIGSEGV as on Linux, not #GP).
const INTERRUPT_GATE_USER: u8 = 0xee;

static mut IDT: [Gate; 256] =
    [Gate { offset_low: 0, selector: 0, ist: 0, type_attributes: 0, offset_middle: 0, offset_high: 0, reserved: 0 };
        256];

/// Fills the gates, once, before any CPU loads the table.
static FILLED: spin::Once = spin::Once::new();

/// Installs the trap table on this CPU: every CPU shares the one table. The gates
/// are filled by the first call (the boot CPU's).
pub fn load() {
    FILLED.call_once(|| {
        // SAFETY: `trap_stubs` is the label of the stub table above; the stubs are
        // STUB_SIZE apart. The IDT is written only here, once, before `lidt` hands
        // it to any CPU; afterwards it is only read (by the CPUs).
        let (stubs, idt) = unsafe { (&raw const trap_stubs as u64, &mut *(&raw mut IDT)) };
        for (vector, gate) in idt.iter_mut().enumerate() {
            let handler = stubs + vector as u64 * STUB_SIZE;
            let ist = match vector {
                2 => percpu::IST_NMI,
                8 => percpu::IST_DOUBLE_FAULT,
                18 => percpu::IST_MACHINE_CHECK,
                _ => 0,
            };
            *gate = Gate {
                offset_low: handler as u16,
                selector: gdt::KERNEL_CS,
                ist: ist as u8,
                type_attributes: if vector == 3 || vector == 4 { INTERRUPT_GATE_USER } else { INTERRUPT_GATE_KERNEL },
                offset_middle: (handler >> 16) as u16,
                offset_high: (handler >> 32) as u32,
                reserved: 0,
            };
        }
    });
    // SAFETY: the table is filled (above) and static; no one writes it any more.
    unsafe {
        lidt(&DescriptorTablePointer {
            limit: (size_of::<[Gate; 256]>() - 1) as u16,
            base: VirtAddr::new(&raw const IDT as u64),
        });
    }
}

/// The trap table as the CPU holds it (`sidt`): its base address and limit.
pub fn installed() -> (u64, u16) {
    let table = sidt();
    (table.base.as_u64(), table.limit)
}

/// Where the gate of `vector` sends the CPU: the address of its stub.
pub fn handler_address(vector: u8) -> u64 {
    // SAFETY: the IDT is written only by `load`, at boot before any reader; this
    // reads one gate of it by value.
    let gate = unsafe { (*(&raw const IDT))[usize::from(vector)] };
    u64::from(gate.offset_low) | u64::from(gate.offset_middle) << 16 | u64::from(gate.offset_high) << 32
}
