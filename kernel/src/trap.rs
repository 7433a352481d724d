//! The one dispatcher: every entry from user mode ends here, says why it happened
//! (`ReturnReason`), is handled, and leaves by return-from-trap (`enter_user`).
//! This loop *is* a process's life in the kernel: limited direct execution, one trap
//! at a time.

use alloc::sync::Arc;

use crate::arch::x86_64::entry::{self, Exception, ReturnReason};
use crate::arch::x86_64::apic;
use crate::mm::address_space::Access;
use crate::mm::kstack::UserState;
use crate::process::{Mode, Process, Stats};
use crate::fs::console;
use crate::{sched, signal, syscall};
use kernel_core::abi::signal::{SIGBUS, SIGFPE, SIGILL, SIGSEGV, SIGTRAP};

/// Runs the program until it exits: return to user mode, take the next trap, handle
/// it, deliver signals, repeat. Returns once the process has begun to exit.
///
/// Invariant: `process` is the current process and `user` its own saved state.
pub fn serve(process: &Arc<Process>, user: &mut UserState) {
    loop {
        process.charge(Mode::Kernel);
        let reason = {
            let mut fast_path = syscall::FastPath { process, fpu: &mut *user.fpu };
            entry::enter_user(&mut *user.frame, &mut fast_path)
        };
        process.charge(Mode::User);
        match reason {
            ReturnReason::SystemCall { served: false } => syscall::dispatch(process, user),
            ReturnReason::SystemCall { served: true } => {}
            ReturnReason::Exception(exception) => fault(process, user, exception),
            ReturnReason::Interrupt(vector) => interrupt_from_user(vector),
        }
        signal::deliver(process, user);
        if process.exit_status().is_some() {
            return;
        }
    }
}

/// A CPU exception in user mode. A page fault the address space can resolve
/// (demand paging, copy-on-write) is fixed and the instruction retried; anything
/// else gets the signal Linux sends for it.
fn fault(process: &Process, user: &mut UserState, exception: Exception) {
    Stats::add(&process.stats.faults, 1);
    let signal = match exception {
        Exception::PageFault { address, access } => {
            let kind = if access.instruction_fetch {
                Access::Execute
            } else if access.write {
                Access::Write
            } else {
                Access::Read
            };
            let resolved = process.memory.lock().as_mut().map(|memory| memory.fault_in(address, Some(kind)));
            match resolved {
                Some(Ok(_)) => return,
                Some(Err(_)) => SIGSEGV,
                None => SIGSEGV,
            }
        }
        Exception::DivideError => SIGFPE,
        Exception::X87Floating | Exception::SimdFloating => SIGFPE,
        Exception::Debug | Exception::Breakpoint => SIGTRAP,
        Exception::InvalidOpcode => SIGILL,
        Exception::AlignmentCheck => SIGBUS,
        Exception::Overflow
        | Exception::BoundRange
        | Exception::GeneralProtection { .. }
        | Exception::StackSegment
        | Exception::SegmentNotPresent
        | Exception::InvalidTss
        | Exception::DeviceNotAvailable
        | Exception::Other { .. } => SIGSEGV,
    };
    info!("pid {} ({}): {exception} at rip {:#x}: {}", process.pid, process.name(), user.frame.rip,
          kernel_core::abi::signal::name(signal).unwrap_or("signal"));
    signal::force(process, signal);
}

/// A device interrupt that arrived while the program ran. The timer may take the
/// CPU away from it (preemption).
fn interrupt_from_user(vector: u8) {
    device_interrupt(vector);
    if vector == apic::TIMER_VECTOR {
        sched::tick_while_running();
    }
}

/// A device interrupt that arrived while the kernel idled (the only time interrupts
/// are enabled in kernel mode).
pub fn interrupt_in_kernel(vector: u8) {
    device_interrupt(vector);
    if vector == apic::TIMER_VECTOR {
        sched::tick_while_idle();
    }
}

/// What every device interrupt needs, wherever it arrived: the device's own
/// handling, then the end-of-interrupt to the APIC (not for spurious ones).
fn device_interrupt(vector: u8) {
    match vector {
        apic::SPURIOUS_VECTOR => return,
        apic::CONSOLE_VECTOR => console::receive(),
        apic::HOST_CONTROL_VECTOR => console::receive_host_control(),
        apic::TIMER_VECTOR => {}
        other => debug!("unexpected interrupt vector {other}"),
    }
    apic::end_of_interrupt();
}
