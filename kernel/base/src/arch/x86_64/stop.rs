//! Stopping every CPU on a kernel failure, so the failure report is the last thing
//! the machine does and shows what each CPU was doing.
//!
//! The first CPU to fail claims the stop (`FAILING_CPU`); a CPU that fails after
//! it prints nothing (two reports would interleave) and parks as if stopped. The
//! claimant sends a non-maskable interrupt to every other CPU: an NMI reaches a
//! CPU that runs with interrupts off (the kernel always does, except while idle),
//! spinning on a lock or in a shootdown's wait. Each records, in its own slot, the
//! interrupted context (rip, rsp, cs) and the pid it ran (the kernel's hook,
//! lock-free), then halts for good. The claimant waits for the slots at most
//! `ANSWER_TIMEOUT_NS` and prints one line per CPU, naming those that did not
//! answer.
//!
//! What an NMI cannot do: reach a CPU that is already handling an NMI or a machine
//! check (the CPU holds further NMIs until the `iretq` that never comes), one whose
//! local APIC is off, or one that is hung in the hardware (a triple fault has
//! already reset it). Those are named as not answering.

use core::arch::asm;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use kernel_core::acpi::MAX_CPUS;

use super::apic::{self, Destination};
use super::frame::TrapFrame;
use super::percpu::PerCpu;
use super::smp;
use crate::time;

/// The vector the CPU raises for an NMI.
pub const NMI_VECTOR: u64 = 2;

/// How long the failing CPU waits for the others to record their state: an NMI is
/// taken within microseconds, even on a loaded TCG host.
const ANSWER_TIMEOUT_NS: u64 = 100_000_000;

/// The CPU whose failure stops the machine; `NONE` until one fails.
static FAILING_CPU: AtomicUsize = AtomicUsize::new(NONE);
const NONE: usize = usize::MAX;

/// How a CPU came to stop.
const NOT_STOPPED: u8 = 0;
/// It took the stop NMI: `rip`, `rsp` and `cs` are the context it interrupted.
const INTERRUPTED: u8 = 1;
/// It failed itself after another CPU had: where it parked.
const FAILED_TOO: u8 = 2;

/// One CPU's state when it stopped, written once by that CPU (`how` last, with
/// Release) and read by the failing CPU.
struct StoppedState {
    how: AtomicU8,
    /// The pid it ran, 0 if none (idle, or booting: no process has pid 0).
    pid: AtomicU32,
    rip: AtomicU64,
    rsp: AtomicU64,
    cs: AtomicU64,
}

static STOPPED: [StoppedState; MAX_CPUS] = [const {
    StoppedState {
        how: AtomicU8::new(NOT_STOPPED),
        pid: AtomicU32::new(0),
        rip: AtomicU64::new(0),
        rsp: AtomicU64::new(0),
        cs: AtomicU64::new(0),
    }
}; MAX_CPUS];

/// The kernel's answer to "which pid runs on this CPU" (None: idle). It must not
/// take a lock: the CPU asking may have been stopped holding any.
static RUNNING_PID: spin::Once<fn() -> Option<u32>> = spin::Once::new();

/// Registers how a stopped CPU learns the pid it ran. Once, at boot.
pub fn register_running_pid(running_pid: fn() -> Option<u32>) {
    RUNNING_PID.call_once(|| running_pid);
}

fn running_pid() -> u32 {
    RUNNING_PID.get().and_then(|running| running()).unwrap_or(0)
}

/// The failing CPU's claim on the stop; `report_cpus` ends its report with the
/// other CPUs' state.
pub struct Stop {
    failing_cpu: usize,
    deadline_ns: u64,
}

/// Starts a kernel failure on this CPU: if it is the first, stops the others (the
/// NMIs are on their way when this returns) and returns the claim; if another CPU
/// failed first, records where this one is and halts for good. A failure inside
/// the claimant's own report (a nested panic) returns a claim that stops no one
/// again.
pub fn stop_other_cpus() -> Stop {
    let cpu = super::percpu::current_id().unwrap_or(0);
    let deadline_ns = time::monotonic_ns() + ANSWER_TIMEOUT_NS;
    match FAILING_CPU.compare_exchange(NONE, cpu, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            if smp::online_count() > 1 {
                apic::send_nmi(Destination::AllButSelf);
            }
        }
        Err(first) if first == cpu => {}
        Err(_) => {
            let (rip, rsp): (u64, u64);
            // SAFETY: reads this instruction's address and the stack pointer only.
            unsafe {
                asm!("lea {rip}, [rip]", "mov {rsp}, rsp", rip = out(reg) rip, rsp = out(reg) rsp, options(nomem, nostack, preserves_flags))
            };
            let cs = u64::from(super::gdt::KERNEL_CS);
            record_and_halt(cpu, FAILED_TOO, rip, rsp, cs)
        }
    }
    Stop { failing_cpu: cpu, deadline_ns }
}

impl Stop {
    /// Waits (at most until the deadline) for every other online CPU to stop, then
    /// logs the "CPUs:" section: one line per CPU. Nothing with one CPU online.
    pub fn report_cpus(&self) {
        let online = smp::online_count();
        if online < 2 {
            return;
        }
        let all_stopped = || {
            (0..online).all(|cpu| cpu == self.failing_cpu || STOPPED[cpu].how.load(Ordering::Acquire) != NOT_STOPPED)
        };
        while !all_stopped() && time::monotonic_ns() < self.deadline_ns {
            core::hint::spin_loop();
        }
        error!("CPUs:");
        for (cpu, state) in STOPPED.iter().enumerate().take(online) {
            if cpu == self.failing_cpu {
                match running_pid() {
                    0 => error!("  cpu {cpu}: failed (this report), no process"),
                    pid => error!("  cpu {cpu}: failed (this report), running pid {pid}"),
                }
                continue;
            }
            let how = match state.how.load(Ordering::Acquire) {
                INTERRUPTED => "stopped",
                FAILED_TOO => "failed too (its report withheld), stopped",
                _ => {
                    error!("  cpu {cpu}: did not answer the stop NMI");
                    continue;
                }
            };
            let cs = state.cs.load(Ordering::Relaxed);
            let mode = if cs & 3 == 3 { "user" } else { "kernel" };
            let (rip, rsp) = (state.rip.load(Ordering::Relaxed), state.rsp.load(Ordering::Relaxed));
            match state.pid.load(Ordering::Relaxed) {
                0 => error!("  cpu {cpu}: {how} in {mode} mode at rip {rip:#x} rsp {rsp:#x} cs {cs:#x}, no process"),
                pid => error!(
                    "  cpu {cpu}: {how} in {mode} mode at rip {rip:#x} rsp {rsp:#x} cs {cs:#x}, running pid {pid}"
                ),
            }
        }
    }
}

fn record_and_halt(cpu: usize, how: u8, rip: u64, rsp: u64, cs: u64) -> ! {
    if let Some(state) = STOPPED.get(cpu) {
        // A CPU that parked after failing too takes the stop NMI in its halt: it
        // keeps the state of its own failure.
        if state.how.load(Ordering::Relaxed) == NOT_STOPPED {
            state.pid.store(running_pid(), Ordering::Relaxed);
            state.rip.store(rip, Ordering::Relaxed);
            state.rsp.store(rsp, Ordering::Relaxed);
            state.cs.store(cs, Ordering::Relaxed);
            state.how.store(how, Ordering::Release);
        }
    }
    loop {
        // SAFETY: halting with interrupts disabled only stops this CPU (an NMI
        // would wake it into `record_and_halt` again, which halts again).
        unsafe { asm!("cli; hlt", options(nomem, nostack)) }
    }
}

/// The NMI, on its own stack (IST) and with the kernel's GS (the entry code made
/// sure): the stop, when a CPU has failed; any other NMI is a failure itself (the
/// machine raises none otherwise: no watchdog, no NMI button).
pub(super) extern "C" fn nmi_received(frame: &TrapFrame) -> ! {
    let cpu = PerCpu::this().id();
    if FAILING_CPU.load(Ordering::Acquire) == NONE {
        panic!("an NMI on cpu {cpu} at rip {:#x} with no CPU failing", frame.rip);
    }
    record_and_halt(cpu, INTERRUPTED, frame.rip, frame.rsp, frame.cs)
}
