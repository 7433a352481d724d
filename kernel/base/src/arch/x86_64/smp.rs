//! The other CPUs (application processors): each started by the boot CPU with the MP
//! specification's INIT, SIPI, SIPI sequence, one at a time, into a real-mode
//! trampoline copied to a low page. The trampoline reaches 32-bit protected mode and
//! joins the boot CPU's way into long mode (`boot.rs`), which hands it to
//! `ap_entry` on the kernel's page tables and a stack of its own; there it sets
//! itself up exactly as the boot CPU did (`init_this_cpu`), says it is online, and
//! runs the kernel's entry for it.
//!
//! Which CPU is which: the kernel numbers CPUs 0.. in the order they came online (the
//! boot CPU is 0, and the number is `PerCpu::id`); each has its local APIC id, where
//! interrupts to it are addressed.

use core::arch::global_asm;
use core::sync::atomic::{fence, AtomicPtr, AtomicU32, AtomicUsize, Ordering};

use kernel_core::acpi::MAX_CPUS;

use super::apic::{self, Destination};
use super::percpu::{self, PerCpu};
use super::{cpu, entry, fpu, idt, paging, pvh::BootInfo};
use crate::mm::{self, kstack::KernelStack, PAGE_SIZE};
use crate::time;

/// The low page the trampoline is copied to: below 1 MiB (a SIPI's start address is
/// its vector times 4 KiB), in conventional memory that the frame allocator never
/// hands out (`mm::init` keeps the first MiB) and the firmware leaves free.
const TRAMPOLINE_PAGE: u64 = 0x8000;
/// The mailbox at the end of the trampoline page: what the boot CPU leaves the
/// starting CPU (the kernel's page-table root, the top of its stack, its number).
pub(super) const MAILBOX_ROOT: u64 = TRAMPOLINE_PAGE + 0xfe8;
pub(super) const MAILBOX_STACK: u64 = TRAMPOLINE_PAGE + 0xff0;
pub(super) const MAILBOX_CPU: u64 = TRAMPOLINE_PAGE + 0xff8;

// Real mode at TRAMPOLINE_PAGE (CS = its segment, IP = 0): load a flat GDT, enter
// protected mode, and jump to the shared 32-bit path with EBP = 1. Addresses inside
// the page are the label's offset from the start plus TRAMPOLINE_PAGE.
global_asm!(
    r#"
    .section .rodata.ap_trampoline, "a"
    .code16
    .global ap_trampoline_start
ap_trampoline_start:
    cli
    cld
    mov %cs, %ax
    mov %ax, %ds
    lgdtl ap_gdt_pointer - ap_trampoline_start
    mov %cr0, %eax
    or $1, %eax                  /* PE */
    mov %eax, %cr0
    ljmpl $0x08, ${page} + (ap_protected_mode - ap_trampoline_start)

    .code32
ap_protected_mode:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $1, %ebp                 /* an application processor */
    mov $enter_long_mode, %eax
    jmp *%eax

    .balign 8
ap_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff     /* 0x08: 32-bit flat code */
    .quad 0x00cf92000000ffff     /* 0x10: flat data */
ap_gdt_pointer:
    .word ap_gdt_pointer - ap_gdt - 1
    .long {page} + (ap_gdt - ap_trampoline_start)
    .global ap_trampoline_end
ap_trampoline_end:
    .code64
    "#,
    page = const TRAMPOLINE_PAGE,
    options(att_syntax)
);

extern "C" {
    static ap_trampoline_start: u8;
    static ap_trampoline_end: u8;
}

/// Each CPU's data by number (null: not online). Written by the boot CPU before it
/// starts the CPU, read by that CPU in `ap_entry`.
static PER_CPU: [AtomicPtr<PerCpu>; MAX_CPUS] = [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_CPUS];
/// Each online CPU's local APIC id, by number.
static APIC_IDS: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];
/// CPUs online: numbers 0..ONLINE. A starting CPU makes it its number + 1.
static ONLINE: AtomicUsize = AtomicUsize::new(0);
/// The kernel's entry for an application processor, given its number.
static AP_MAIN: spin::Once<fn(usize) -> !> = spin::Once::new();

/// How long a started CPU has to say it is online before it is given up.
const START_TIMEOUT_NS: u64 = 1_000_000_000;

/// What `init_this_cpu` sets up, on `cpu`, which must be the CPU running it: its
/// segments and TSS, its GS base, the shared trap table, the SYSCALL MSRs, the
/// control-register features and XCR0, its number for RDTSCP. The boot CPU runs it once (with
/// `PerCpu::boot_cpu`), each application processor once in `ap_entry`.
pub fn init_this_cpu(cpu: &'static PerCpu) {
    percpu::load(cpu);
    idt::load();
    entry::init_syscall();
    cpu::enable_features();
    cpu::set_cpu_number(cpu.id());
    fpu::init();
}

/// Marks the boot CPU online (CPU 0). After `apic::init`.
pub fn boot_cpu_online() {
    APIC_IDS[0].store(apic::id(), Ordering::Relaxed);
    PER_CPU[0].store(core::ptr::from_ref(PerCpu::boot_cpu()).cast_mut(), Ordering::Relaxed);
    ONLINE.store(1, Ordering::Release);
}

/// Starts every CPU the firmware lists (`boot.cpus`) besides this one, one at a
/// time; each ends in `ap_main` with its number. A CPU that does not come up within
/// a second is sent INIT again (so it cannot wake later on the next one's stack),
/// reported and skipped. Returns how many CPUs are online, this one included.
///
/// Must run on the boot CPU after `boot_cpu_online`, the heap, the trap table and
/// the timer's calibration.
pub fn start_application_processors(boot: &BootInfo, ap_main: fn(usize) -> !) -> usize {
    AP_MAIN.call_once(|| ap_main);
    let cpus = match &boot.cpus {
        Ok(cpus) => cpus,
        Err(error) => {
            warn!("{error}: running on the boot CPU only");
            return online_count();
        }
    };
    if cpus.beyond_limit > 0 {
        warn!("{} CPUs past the limit of {MAX_CPUS} left off", cpus.beyond_limit);
    }
    let trampoline = TRAMPOLINE_PAGE..TRAMPOLINE_PAGE + PAGE_SIZE;
    let in_use = boot.reserved().iter().any(|range| range.start < trampoline.end && trampoline.start < range.end);
    let has_ram = boot.ram().iter().any(|range| range.start <= trampoline.start && trampoline.end <= range.end);
    if in_use || !has_ram {
        warn!("the trampoline page {:#x} is not free RAM: running on the boot CPU only", TRAMPOLINE_PAGE);
        return online_count();
    }
    copy_trampoline();

    let boot_apic_id = apic::id();
    for firmware_cpu in cpus.as_slice().iter().filter(|cpu| cpu.apic_id != boot_apic_id) {
        let number = online_count();
        let Ok(apic_id) = u8::try_from(firmware_cpu.apic_id) else {
            warn!("cpu with x2APIC id {} is out of the xAPIC's reach: skipped", firmware_cpu.apic_id);
            continue;
        };
        let (Some(per_cpu), Some(stack)) = (PerCpu::allocate(number), KernelStack::new()) else {
            warn!("no memory for cpu {number} (apic id {apic_id}): skipped");
            continue;
        };
        // The stack is the CPU's for good (its idle loop runs on it).
        let stack_top = stack.frame_end();
        core::mem::forget(stack);
        PER_CPU[number].store(core::ptr::from_ref(per_cpu).cast_mut(), Ordering::Relaxed);
        APIC_IDS[number].store(apic_id.into(), Ordering::Relaxed);
        write_mailbox(MAILBOX_ROOT, mm::kernel_tree().0);
        write_mailbox(MAILBOX_STACK, stack_top);
        write_mailbox(MAILBOX_CPU, number as u64);
        fence(Ordering::SeqCst);

        // The MP specification asks for 10 ms after INIT and 200 us after each SIPI,
        // for the CPUs of its day; Linux waits after INIT only on CPUs older than
        // family 6 (every CPU with long mode is newer) and 10 us after each SIPI. The
        // 10 ms made each CPU cost its own boot's worth of time.
        apic::send_init(apic_id);
        for _ in 0..2 {
            apic::send_startup(apic_id, (TRAMPOLINE_PAGE >> 12) as u8);
            delay_ns(10_000);
        }
        let deadline = time::monotonic_ns() + START_TIMEOUT_NS;
        while online_count() == number && time::monotonic_ns() < deadline {
            core::hint::spin_loop();
        }
        if online_count() == number {
            apic::send_init(apic_id);
            PER_CPU[number].store(core::ptr::null_mut(), Ordering::Relaxed);
            warn!("cpu {number} (apic id {apic_id}) did not come up: skipped");
        }
    }
    online_count()
}

/// CPUs online (numbered 0..this). Inlined: the scheduler's paths test it.
#[inline]
pub fn online_count() -> usize {
    ONLINE.load(Ordering::Acquire)
}

/// The local APIC id of online CPU `number`.
pub fn apic_id(number: usize) -> Option<u32> {
    (number < online_count()).then(|| APIC_IDS[number].load(Ordering::Relaxed))
}

/// Sends the interrupt `vector` to online CPU `number` (nothing if it is not).
pub fn send_ipi(number: usize, vector: u8) {
    if let Some(id) = apic_id(number).and_then(|id| u8::try_from(id).ok()) {
        apic::send_ipi(Destination::ApicId(id), vector);
    }
}

/// Sends the interrupt `vector` to every other CPU.
pub fn send_ipi_all_but_self(vector: u8) {
    if online_count() > 1 {
        apic::send_ipi(Destination::AllButSelf, vector);
    }
}

fn copy_trampoline() {
    let start = &raw const ap_trampoline_start;
    let length = &raw const ap_trampoline_end as usize - start as usize;
    assert!((length as u64) < MAILBOX_ROOT - TRAMPOLINE_PAGE, "the trampoline overlaps its mailbox");
    // SAFETY: the template is `length` bytes of read-only data; the page is free
    // conventional RAM (checked by the caller), reached through the direct map, and
    // no other CPU runs from it yet.
    unsafe { core::ptr::copy_nonoverlapping(start, mm::phys_to_virt(TRAMPOLINE_PAGE) as *mut u8, length) };
}

fn write_mailbox(address: u64, value: u64) {
    // SAFETY: the mailbox is in the trampoline page (free RAM, checked), 8-byte
    // aligned; the only CPU that reads it is the one about to be started.
    unsafe { (mm::phys_to_virt(address) as *mut u64).write_volatile(value) };
}

fn delay_ns(ns: u64) {
    let end = time::monotonic_ns() + ns;
    while time::monotonic_ns() < end {
        core::hint::spin_loop();
    }
}

/// An application processor's first Rust code: on the kernel's page tables and its
/// own stack, interrupts off. Sets the CPU up as the boot CPU is, starts its timer,
/// says it is online, and enters the kernel.
pub(super) extern "C" fn ap_entry(number: u64) -> ! {
    let number = number as usize;
    let per_cpu = PER_CPU.get(number).map(|slot| slot.load(Ordering::Relaxed)).unwrap_or(core::ptr::null_mut());
    // SAFETY: the boot CPU stored this CPU's PerCpu (leaked, never freed) before
    // starting it, and a CPU given up is sent INIT before the slot is cleared.
    let Some(per_cpu) = (unsafe { per_cpu.as_ref() }) else { crate::fail(format_args!("cpu {number} has no data")) };
    paging::enable_pcid();
    init_this_cpu(per_cpu);
    apic::enable_this_cpu();
    apic::start_timer_in_step();
    ONLINE.store(number + 1, Ordering::Release);
    let ap_main = AP_MAIN.get().expect("registered before any CPU starts");
    ap_main(number)
}
