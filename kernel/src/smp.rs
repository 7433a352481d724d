//! The other CPUs, once the base has started them (`arch::x86_64::smp`): what they
//! run (the scheduler's idle loop, as the boot CPU), and the inter-processor
//! interrupt's meaning: each CPU has a word of reasons (`REASONS`) the sender sets
//! before the IPI and the receiver takes in its handler.

use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use crate::arch::x86_64::{apic, percpu::PerCpu, smp};
use crate::{fail, time};
use kernel_core::acpi::MAX_CPUS;

/// Interrupts on `apic::IPI_VECTOR` each CPU has taken.
static IPIS_RECEIVED: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];

/// How long the boot CPU waits for a CPU to answer its ping.
const PING_TIMEOUT_NS: u64 = 1_000_000_000;

/// What an application processor runs once it is set up, interrupts still off: the
/// scheduler's idle loop (which halts until the scheduler is set up).
pub fn ap_main(_cpu: usize) -> ! {
    crate::sched::run()
}

/// Why each CPU was sent an IPI, bits of `RESCHEDULE` and the like; a ping carries
/// none.
static REASONS: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];

/// A task was queued for the CPU while it idled: its idle loop is to look at its
/// queue now rather than at its next tick. The interrupt itself does that (it ends
/// the halt), so the handler has nothing more to do for it.
const RESCHEDULE: u32 = 1 << 0;

/// Asks `cpu`, idle, to look at its run queue now: an IPI, unless one asking so is
/// already on its way.
pub fn request_reschedule(cpu: usize) {
    if REASONS[cpu].fetch_or(RESCHEDULE, Ordering::AcqRel) & RESCHEDULE == 0 {
        smp::send_ipi(cpu, apic::IPI_VECTOR);
    }
    // Even with the IPI sent earlier: the target may not have run since.
    let_other_cpus_run();
}

/// Gives the other CPUs a turn now, should they be emulated in turn on one host
/// thread. QEMU does that under `-icount` (single-threaded TCG, round robin),
/// where a CPU's turn lasts until the next timer deadline unless it halts or
/// pauses, and the CPUs after it in the round then get only what is left of that
/// budget: a CPU that never halts (programs spinning on it) leaves none, and an
/// idle CPU told by IPI that its queue holds a task would never run it. PAUSE ends
/// the turn there (QEMU's "let another CPU run"); on hardware it is a spin-wait
/// hint of a few cycles. Called where one CPU depends on another's progress: after
/// a task was queued for an idle CPU, and on a busy CPU's ticks (`take_turns`).
#[inline(always)]
pub fn let_other_cpus_run() {
    core::hint::spin_loop();
}

/// At a tick of busy `cpu`: lets the other CPUs run, unless the stretch to the
/// next tick is this CPU's. Under `-icount` QEMU starts each stretch between timer
/// deadlines with the first CPU of its round, and a CPU that pauses gives the rest
/// of the stretch to the CPUs after it; one that does not keeps it to the end. The
/// CPUs' ticks fall together (`apic::start_timer_in_step`), so every busy CPU
/// serves a tick at the start of the stretch it opens, and they take turns by the
/// tick's number: the CPU whose turn it is keeps the stretch, the others pause.
/// Each busy CPU so runs one stretch in as many as there are CPUs, wherever it is
/// in the round. Had every CPU paused at each tick, the last in the round (CPU 1
/// of two) would give away every stretch it ran in, its own tick being due at its
/// start: a program on it ran only in scraps, tens of times slower than its peer,
/// and a run waiting on it outlived its timeout.
pub fn take_turns(cpu: usize) {
    let online = smp::online_count().max(1) as u64;
    if apic::ticks_since_start() % online != cpu as u64 {
        let_other_cpus_run();
    }
}

/// The IPI's handler (on the CPU that received it): counts it and takes its
/// reasons.
pub fn ipi_received() {
    let cpu = PerCpu::this().id();
    if cpu == PANIC_ON_PING.load(Ordering::Relaxed) {
        panic!("selftest=ap-panic: a kernel panic on cpu {cpu} on purpose");
    }
    if let Some(count) = IPIS_RECEIVED.get(cpu) {
        count.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(reasons) = REASONS.get(cpu) {
        // RESCHEDULE: the interrupt has ended the idle loop's halt already.
        reasons.swap(0, Ordering::AcqRel);
    }
}

/// The CPU that panics on its next IPI (`selftest=ap-panic`); `usize::MAX`: none.
static PANIC_ON_PING: AtomicUsize = AtomicUsize::new(usize::MAX);

/// `selftest=ap-panic`: CPU 1 panics while this CPU holds the kernel log's lock
/// (which a panic's report would otherwise wait for, for ever); the report must
/// print and end the machine. Fails the boot after a few seconds otherwise.
pub fn panic_on_another_cpu() -> ! {
    if smp::online_count() < 2 {
        fail(format_args!("selftest=ap-panic needs a second CPU (--cpus 2)"));
    }
    PANIC_ON_PING.store(1, Ordering::Relaxed);
    // The lock is held across a wait here, against its rule (only copies under
    // it), exactly to show the panic path does not need it; it is never released.
    crate::log::with_recent(|_| {
        smp::send_ipi(1, apic::IPI_VECTOR);
        let deadline = time::monotonic_ns() + 5 * PING_TIMEOUT_NS;
        while time::monotonic_ns() < deadline {
            core::hint::spin_loop();
        }
        // This CPU holds the lock its own report would wait for.
        crate::log::start_panic();
        fail(format_args!("selftest=ap-panic: cpu 1 did not end the machine"))
    })
}

/// `selftest=panic-all`: when (monotonic ns) the application processors fail, set
/// at boot; 0: never.
static PANIC_ALL_AT: AtomicU64 = AtomicU64::new(0);
/// How long after boot `panic-all` strikes: long enough for the first program to
/// have started the processes that keep every CPU busy in user mode.
const PANIC_ALL_DELAY_NS: u64 = 1_000_000_000;
/// The application processors that reached the failure point of `panic-all`.
static PANIC_ALL_ARRIVED: AtomicUsize = AtomicUsize::new(0);
/// How long an application processor at the failure point waits for the others
/// (one that runs no program never comes): then it fails alone.
const PANIC_ALL_GATHER_NS: u64 = 1_000_000_000;

/// `selftest=panic-all`: the application processors fail together once programs
/// run (`panic_all_if_armed`); needs two of them, so that two failures race.
pub fn arm_panic_all() {
    if smp::online_count() < 3 {
        fail(format_args!("selftest=panic-all needs three CPUs (--cpus 3)"));
    }
    PANIC_ALL_AT.store(time::monotonic_ns() + PANIC_ALL_DELAY_NS, Ordering::Relaxed);
}

/// At a timer tick that interrupted a program: under `selftest=panic-all`, once its
/// time has come, an application processor waits (interrupts off) until the others are here too,
/// then all panic at once.
pub fn panic_all_if_armed() {
    let at = PANIC_ALL_AT.load(Ordering::Relaxed);
    if at == 0 || time::monotonic_ns() < at {
        return;
    }
    let cpu = PerCpu::this().id();
    if cpu == 0 {
        return;
    }
    PANIC_ALL_ARRIVED.fetch_add(1, Ordering::AcqRel);
    let deadline = time::monotonic_ns() + PANIC_ALL_GATHER_NS;
    while PANIC_ALL_ARRIVED.load(Ordering::Acquire) < smp::online_count() - 1 && time::monotonic_ns() < deadline {
        core::hint::spin_loop();
    }
    panic!("selftest=panic-all: cpu {cpu} fails with the others on purpose");
}

/// Pings each application processor with an IPI addressed to it and waits (with a
/// timeout, and without blocking the others: they take interrupts while this CPU
/// spins) until it answers, logging each CPU that is online and answered ("cpu N
/// online (apic id X)"); then pings them all at once (all-but-self) and waits for
/// every one. Returns how many answered each way.
pub fn ping_application_processors() -> (usize, usize) {
    let mut answered = 0;
    for (number, received) in IPIS_RECEIVED.iter().enumerate().take(smp::online_count()).skip(1) {
        let apic_id = smp::apic_id(number).unwrap_or(u32::MAX);
        let before = received.load(Ordering::Relaxed);
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
