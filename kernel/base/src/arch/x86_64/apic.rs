//! The local APIC (xAPIC, through MMIO): the per-CPU interrupt controller, and its
//! timer, which is what takes the CPU back from a program that never gives it up
//! (the non-cooperative way to regain control). Programmed at boot with privileged
//! MMIO writes.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::{cpu, port};

/// The vector of the timer interrupt.
pub const TIMER_VECTOR: u8 = 32;
/// The vector of COM1 (the host's doorbell for the console).
pub const CONSOLE_VECTOR: u8 = 36;
/// The vector of the inter-processor interrupt one CPU sends another (the kernel's
/// interrupt handler decides what it means).
pub const IPI_VECTOR: u8 = 0xf0;
/// The vector of a TLB shootdown request (`tlb`), served by the base itself.
pub const TLB_VECTOR: u8 = 0xf1;
/// The vector the APIC uses for spurious interrupts (no EOI needed).
pub const SPURIOUS_VECTOR: u8 = 255;

/// Physical address of the xAPIC registers on every PC (not relocated by QEMU).
pub const PHYSICAL_BASE: u64 = 0xfee0_0000;

const REGISTER_ID: u64 = 0x20;
const REGISTER_EOI: u64 = 0xb0;
const REGISTER_SPURIOUS: u64 = 0xf0;
const REGISTER_INTERRUPT_COMMAND_LOW: u64 = 0x300;
const REGISTER_INTERRUPT_COMMAND_HIGH: u64 = 0x310;
const REGISTER_LVT_TIMER: u64 = 0x320;
const REGISTER_TIMER_INITIAL: u64 = 0x380;
const REGISTER_TIMER_CURRENT: u64 = 0x390;
const REGISTER_TIMER_DIVIDE: u64 = 0x3e0;

const APIC_ENABLE: u32 = 1 << 8;
const LVT_MASKED: u32 = 1 << 16;
const LVT_PERIODIC: u32 = 1 << 17;
const DIVIDE_BY_1: u32 = 0b1011;

/// The interrupt command register's fields (Intel SDM vol. 3, "Issuing
/// Interprocessor Interrupts").
const DELIVERY_FIXED: u32 = 0b000 << 8;
const DELIVERY_NMI: u32 = 0b100 << 8;
const DELIVERY_INIT: u32 = 0b101 << 8;
const DELIVERY_STARTUP: u32 = 0b110 << 8;
const DELIVERY_PENDING: u32 = 1 << 12;
const LEVEL_ASSERT: u32 = 1 << 14;
const TRIGGER_LEVEL: u32 = 1 << 15;
const SHORTHAND_ALL_BUT_SELF: u32 = 0b11 << 18;

static BASE: AtomicU64 = AtomicU64::new(0);
/// The timer's period in APIC timer counts, the same on every CPU (calibrated once).
static TIMER_PERIOD: AtomicU32 = AtomicU32::new(0);
/// The timer's period in TSC cycles, and when the boot CPU's started: the phase
/// the other CPUs' timers take (`start_timer_in_step`).
static TIMER_PERIOD_TSC_CYCLES: AtomicU64 = AtomicU64::new(0);
static TIMER_EPOCH_TSC: AtomicU64 = AtomicU64::new(0);

#[inline]
fn write(register: u64, value: u32) {
    let address = BASE.load(Ordering::Relaxed) + register;
    // SAFETY: `init` stored the virtual address where memory::init mapped the APIC's
    // registers (uncached); the register offsets are architectural.
    unsafe { (address as *mut u32).write_volatile(value) }
}

fn read(register: u64) -> u32 {
    let address = BASE.load(Ordering::Relaxed) + register;
    // SAFETY: as for `write`.
    unsafe { (address as *const u32).read_volatile() }
}

/// Enables the boot CPU's APIC, whose registers (every CPU sees its own there) are
/// mapped at `virtual_base`.
pub fn init(virtual_base: u64) {
    BASE.store(virtual_base, Ordering::Relaxed);
    enable_this_cpu();
}

/// Enables this CPU's APIC, its timer masked.
pub fn enable_this_cpu() {
    write(REGISTER_SPURIOUS, APIC_ENABLE | u32::from(SPURIOUS_VECTOR));
    write(REGISTER_LVT_TIMER, LVT_MASKED);
}

/// This CPU's local APIC id.
pub fn id() -> u32 {
    read(REGISTER_ID) >> 24
}

/// Clock rates measured against the PIT, whose 1.193182 MHz is the one frequency a
/// PC guarantees (and which QEMU derives from its virtual clock, so the result is
/// right under `-icount` too).
pub struct Calibration {
    pub tsc_hz: u64,
    pub apic_timer_hz: u64,
}

const PIT_HZ: u64 = 1_193_182;
/// 1 ms: short enough for a fast boot, long enough for ~0.1% precision.
const CALIBRATION_PIT_TICKS: u16 = 1193;

/// Windows measured; the shortest (in TSC cycles) is kept: on an emulator a host
/// stall inside a window can only lengthen it, never shorten it.
const CALIBRATION_WINDOWS: usize = 3;

/// Measures the TSC and APIC timer frequencies against PIT channel-2 countdowns.
pub fn calibrate() -> Calibration {
    let (tsc_elapsed, apic_elapsed) =
        (0..CALIBRATION_WINDOWS).map(|_| measure_window()).min_by_key(|&(tsc, _)| tsc).expect("at least one window");
    let scale = |count: u64| count * PIT_HZ / u64::from(CALIBRATION_PIT_TICKS);
    Calibration { tsc_hz: scale(tsc_elapsed), apic_timer_hz: scale(apic_elapsed) }
}

/// One PIT countdown of CALIBRATION_PIT_TICKS: the TSC cycles and APIC timer counts
/// that elapsed during it.
fn measure_window() -> (u64, u64) {
    const PORT_B: u16 = 0x61;
    const PIT_CHANNEL2: u16 = 0x42;
    const PIT_COMMAND: u16 = 0x43;
    // Gate off and speaker off, channel 2 in mode 0 (interrupt on terminal count).
    port::outb(PORT_B, port::inb(PORT_B) & !0b11);
    port::outb(PIT_COMMAND, 0b1011_0000);
    port::outb(PIT_CHANNEL2, CALIBRATION_PIT_TICKS as u8);
    port::outb(PIT_CHANNEL2, (CALIBRATION_PIT_TICKS >> 8) as u8);

    write(REGISTER_TIMER_DIVIDE, DIVIDE_BY_1);
    write(REGISTER_TIMER_INITIAL, u32::MAX);
    let tsc_start = cpu::rdtsc();
    port::outb(PORT_B, port::inb(PORT_B) | 1); // gate on: the countdown starts
    while port::inb(PORT_B) & 0x20 == 0 {}
    let tsc_end = cpu::rdtsc();
    let apic_elapsed = u64::from(u32::MAX - read(REGISTER_TIMER_CURRENT));
    write(REGISTER_TIMER_INITIAL, 0);
    (tsc_end - tsc_start, apic_elapsed)
}

/// Starts the periodic timer interrupt on the boot CPU: `TIMER_VECTOR` every
/// `period_counts` APIC timer counts, which last `period_tsc_cycles` TSC cycles.
/// The other CPUs' timers take the same period and phase (`start_timer_in_step`).
pub fn start_periodic_timer(period_counts: u32, period_tsc_cycles: u64) {
    TIMER_PERIOD.store(period_counts, Ordering::Relaxed);
    TIMER_PERIOD_TSC_CYCLES.store(period_tsc_cycles, Ordering::Relaxed);
    TIMER_EPOCH_TSC.store(cpu::rdtsc(), Ordering::Relaxed);
    program_periodic_timer(period_counts);
}

/// Starts an application processor's periodic timer in step with the boot CPU's:
/// every CPU's ticks fall at the same instants, so that a tick's number since the
/// boot CPU's timer started (`ticks_since_start`) is the same on each CPU that
/// serves it. Waits at most a period, once, at the CPU's start.
pub fn start_timer_in_step() {
    let period = TIMER_PERIOD_TSC_CYCLES.load(Ordering::Relaxed).max(1);
    let epoch = TIMER_EPOCH_TSC.load(Ordering::Relaxed);
    let now = cpu::rdtsc();
    let start = now.wrapping_add(period - now.wrapping_sub(epoch) % period);
    while (cpu::rdtsc().wrapping_sub(start) as i64) < 0 {
        core::hint::spin_loop();
    }
    restart_periodic_timer();
}

/// Whole timer periods since the boot CPU's timer started: at a tick, that tick's
/// number, the same on every CPU (their timers are in step).
pub fn ticks_since_start() -> u64 {
    let period = TIMER_PERIOD_TSC_CYCLES.load(Ordering::Relaxed).max(1);
    cpu::rdtsc().wrapping_sub(TIMER_EPOCH_TSC.load(Ordering::Relaxed)) / period
}

fn program_periodic_timer(period_counts: u32) {
    write(REGISTER_TIMER_DIVIDE, DIVIDE_BY_1);
    write(REGISTER_LVT_TIMER, LVT_PERIODIC | u32::from(TIMER_VECTOR));
    write(REGISTER_TIMER_INITIAL, period_counts.max(1));
}

/// Tells the APIC the current interrupt has been handled, so it can deliver the next.
#[inline]
pub fn end_of_interrupt() {
    write(REGISTER_EOI, 0);
}

/// (Re)starts this CPU's periodic timer with the boot CPU's period (its
/// calibration holds for every CPU: they share the bus clock): at an application
/// processor's start (at its phase), and when a one-shot wait (`arm_timer_once`)
/// ends. The first
/// interrupt comes a period from now.
pub fn restart_periodic_timer() {
    program_periodic_timer(TIMER_PERIOD.load(Ordering::Relaxed));
}

/// The periodic timer's period in APIC timer counts (0 before it started).
pub fn timer_period() -> u32 {
    TIMER_PERIOD.load(Ordering::Relaxed)
}

/// Replaces this CPU's periodic timer by a single interrupt `counts` APIC timer
/// counts from now (one-shot mode); `restart_periodic_timer` goes back.
pub fn arm_timer_once(counts: u32) {
    write(REGISTER_LVT_TIMER, u32::from(TIMER_VECTOR));
    write(REGISTER_TIMER_INITIAL, counts.max(1));
}

/// The counts left before this CPU's timer fires (0 once a one-shot has fired).
pub fn timer_counts_left() -> u32 {
    read(REGISTER_TIMER_CURRENT)
}

/// Where an inter-processor interrupt goes.
#[derive(Clone, Copy, Debug)]
pub enum Destination {
    /// The CPU with this local APIC id (xAPIC: 0..=255).
    ApicId(u8),
    /// Every CPU but the sender.
    AllButSelf,
}

/// Sends the fixed-vector interrupt `vector` to `destination`, and waits (briefly:
/// the APIC accepts a command in a few bus cycles) until the APIC has sent it.
pub fn send_ipi(destination: Destination, vector: u8) {
    send_command(destination, DELIVERY_FIXED | u32::from(vector));
}

/// Sends a non-maskable interrupt to `destination` (it ignores the vector field:
/// the CPU takes vector 2, whatever its interrupt flag).
pub fn send_nmi(destination: Destination) {
    send_command(destination, DELIVERY_NMI);
}

/// Sends INIT to the CPU with APIC id `apic_id` (assert, then deassert, as the MP
/// specification's start-up sequence has it): the CPU resets and waits for a SIPI.
pub fn send_init(apic_id: u8) {
    send_command(Destination::ApicId(apic_id), DELIVERY_INIT | LEVEL_ASSERT | TRIGGER_LEVEL);
    send_command(Destination::ApicId(apic_id), DELIVERY_INIT | TRIGGER_LEVEL);
}

/// Sends a start-up IPI: the CPU with APIC id `apic_id`, waiting after INIT, starts
/// in real mode at physical address `page << 12`.
pub fn send_startup(apic_id: u8, page: u8) {
    send_command(Destination::ApicId(apic_id), DELIVERY_STARTUP | u32::from(page));
}

fn send_command(destination: Destination, command: u32) {
    let (high, shorthand) = match destination {
        Destination::ApicId(id) => (u32::from(id) << 24, 0),
        Destination::AllButSelf => (0, SHORTHAND_ALL_BUT_SELF),
    };
    // The kernel runs with interrupts off, so no handler on this CPU can write the
    // command registers between these two writes.
    write(REGISTER_INTERRUPT_COMMAND_HIGH, high);
    write(REGISTER_INTERRUPT_COMMAND_LOW, command | shorthand);
    while read(REGISTER_INTERRUPT_COMMAND_LOW) & DELIVERY_PENDING != 0 {
        core::hint::spin_loop();
    }
}
