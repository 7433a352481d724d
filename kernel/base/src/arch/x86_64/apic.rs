//! The local APIC (xAPIC, through MMIO): the per-CPU interrupt controller, and its
//! timer, which is what takes the CPU back from a program that never gives it up
//! (the non-cooperative way to regain control). Programmed at boot with privileged
//! MMIO writes.

use core::sync::atomic::{AtomicU64, Ordering};

use super::{cpu, port};

/// The vector of the timer interrupt.
pub const TIMER_VECTOR: u8 = 32;
/// The vector of COM1 (the host's doorbell for the console).
pub const CONSOLE_VECTOR: u8 = 36;
/// The vector the APIC uses for spurious interrupts (no EOI needed).
pub const SPURIOUS_VECTOR: u8 = 255;

/// Physical address of the xAPIC registers on every PC (not relocated by QEMU).
pub const PHYSICAL_BASE: u64 = 0xfee0_0000;

const REGISTER_EOI: u64 = 0xb0;
const REGISTER_SPURIOUS: u64 = 0xf0;
const REGISTER_LVT_TIMER: u64 = 0x320;
const REGISTER_TIMER_INITIAL: u64 = 0x380;
const REGISTER_TIMER_CURRENT: u64 = 0x390;
const REGISTER_TIMER_DIVIDE: u64 = 0x3e0;

const APIC_ENABLE: u32 = 1 << 8;
const LVT_MASKED: u32 = 1 << 16;
const LVT_PERIODIC: u32 = 1 << 17;
const DIVIDE_BY_1: u32 = 0b1011;

static BASE: AtomicU64 = AtomicU64::new(0);

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

/// Enables this CPU's APIC, whose registers are mapped at `virtual_base`.
pub fn init(virtual_base: u64) {
    BASE.store(virtual_base, Ordering::Relaxed);
    write(REGISTER_SPURIOUS, APIC_ENABLE | u32::from(SPURIOUS_VECTOR));
    write(REGISTER_LVT_TIMER, LVT_MASKED);
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

/// Starts the periodic timer interrupt: `TIMER_VECTOR` every `period_counts` APIC
/// timer counts.
pub fn start_periodic_timer(period_counts: u32) {
    write(REGISTER_TIMER_DIVIDE, DIVIDE_BY_1);
    write(REGISTER_LVT_TIMER, LVT_PERIODIC | u32::from(TIMER_VECTOR));
    write(REGISTER_TIMER_INITIAL, period_counts.max(1));
}

/// Tells the APIC the current interrupt has been handled, so it can deliver the next.
#[inline]
pub fn end_of_interrupt() {
    write(REGISTER_EOI, 0);
}
