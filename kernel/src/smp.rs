//! The other CPUs, once the base has started them (`arch::x86_64::smp`): what they
//! run, and the inter-processor interrupt's meaning.
//!
//! This stage brings them up and proves each answers an IPI; it does not yet run
//! processes there: an application processor idles (`ap_main`), taking its own
//! timer interrupt and nothing else, and only the boot CPU runs the scheduler and
//! its tick (`trap::interrupt_in_kernel` checks the CPU). sched_getaffinity says so
//! (CPU 0 only).

use core::sync::atomic::{AtomicU32, Ordering};

use crate::arch::x86_64::{apic, cpu, percpu::PerCpu, smp};
use crate::time;
use kernel_core::acpi::MAX_CPUS;

/// Interrupts on `apic::IPI_VECTOR` each CPU has taken.
static IPIS_RECEIVED: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];

/// How long the boot CPU waits for a CPU to answer its ping.
const PING_TIMEOUT_NS: u64 = 1_000_000_000;

/// What an application processor runs once it is set up, interrupts still off: the
/// idle loop, until the scheduler runs on it.
pub fn ap_main(_cpu: usize) -> ! {
    loop {
        cpu::wait_for_interrupt();
    }
}

/// The IPI's handler (on the CPU that received it): counts it.
pub fn ipi_received() {
    if let Some(count) = IPIS_RECEIVED.get(PerCpu::this().id()) {
        count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Whether this is the boot CPU (the one that runs the scheduler and its tick).
pub fn on_boot_cpu() -> bool {
    PerCpu::this().id() == 0
}

/// Pings each application processor with an IPI addressed to it and waits (with a
/// timeout, and without blocking the others: they take interrupts while this CPU
/// spins) until it answers, logging each CPU that is online and answered ("cpu N
/// online (apic id X)"); then pings them all at once (all-but-self) and waits for
/// every one. Returns how many answered each way.
pub fn ping_application_processors() -> (usize, usize) {
    let mut answered = 0;
    for number in 1..smp::online_count() {
        let apic_id = smp::apic_id(number).unwrap_or(u32::MAX);
        let before = IPIS_RECEIVED[number].load(Ordering::Relaxed);
        smp::send_ipi(number, apic::IPI_VECTOR);
        if wait_for_answers(&[(number, before)]) == 1 {
            answered += 1;
            info!("cpu {number} online (apic id {apic_id})");
        } else {
            warn!("cpu {number} (apic id {apic_id}) did not answer its ping IPI");
        }
    }
    let before: alloc::vec::Vec<(usize, u32)> =
        (1..smp::online_count()).map(|number| (number, IPIS_RECEIVED[number].load(Ordering::Relaxed))).collect();
    smp::send_ipi_all_but_self(apic::IPI_VECTOR);
    (answered, wait_for_answers(&before))
}

/// Waits until each (CPU, count before the ping) has taken another IPI, or the
/// timeout; returns how many did.
fn wait_for_answers(pinged: &[(usize, u32)]) -> usize {
    let answered =
        || pinged.iter().filter(|&&(number, before)| IPIS_RECEIVED[number].load(Ordering::Relaxed) != before).count();
    let deadline = time::monotonic_ns() + PING_TIMEOUT_NS;
    while answered() < pinged.len() && time::monotonic_ns() < deadline {
        core::hint::spin_loop();
    }
    answered()
}

/// The online CPUs: (number, local APIC id).
pub fn online() -> impl Iterator<Item = (usize, u32)> {
    (0..smp::online_count()).filter_map(|number| Some((number, smp::apic_id(number)?)))
}
