//! The one dispatcher: every entry from user mode ends here, says why it happened
//! (`ReturnReason`), is handled, and leaves by return-from-trap (`enter_user`).
//! This loop *is* a process's life in the kernel: limited direct execution, one trap
//! at a time.

use alloc::sync::Arc;

use crate::arch::x86_64::apic;
use crate::arch::x86_64::entry;
use crate::arch::x86_64::frame::{Exception, ReturnReason};
use crate::fs::console;
use crate::mm::address_space::{Access, Fault};
use crate::mm::kstack::UserState;
use crate::process::{Mode, Process, Stats};
use crate::{sched, signal, syscall, trace};
use kernel_core::abi::signal::{fpe_code, SigInfo, SIGBUS, SIGFPE, SIGILL, SIGSEGV, SIGTRAP, SI_KERNEL};
use kernel_core::abi::signal::{BUS_ADRALN, FPE_INTDIV, ILL_ILLOPN, SEGV_ACCERR, SEGV_MAPERR, TRAP_TRACE};
use kernel_core::trace::{TrapReason, What};

/// Runs the program until it exits: return to user mode, take the next trap, handle
/// it, deliver signals, repeat. Returns once the process has begun to exit.
///
/// Invariant: `process` is the current process and `user` its own saved state.
pub fn serve(process: &Arc<Process>, user: &mut UserState) {
    loop {
        process.charge(Mode::Kernel);
        trace::record(process.pid, || What::TrapExit);
        let reason = entry::enter_user(&mut syscall::FastPath(syscall::Context { process, user: user.reborrow() }));
        process.charge(Mode::User);
        if trace::enabled() {
            record_entry(process, reason);
        }
        match reason {
            ReturnReason::SystemCall { served: false } => {
                syscall::dispatch_recorded(&mut syscall::Context { process, user: user.reborrow() }, trace::enabled())
            }
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

/// Records why the process trapped: an exception or an interrupt (a system call is
/// recorded by `syscall::dispatch_recorded`, with its number).
fn record_entry(process: &Process, reason: ReturnReason) {
    let (reason, number, argument) = match reason {
        ReturnReason::SystemCall { .. } => return,
        ReturnReason::Exception(exception) => {
            let address = match exception {
                Exception::PageFault { address, .. } => address,
                _ => 0,
            };
            (TrapReason::Exception, exception.vector(), address)
        }
        ReturnReason::Interrupt(vector) => (TrapReason::Interrupt, vector, 0),
    };
    trace::record(process.pid, || What::TrapEnter { reason, number: u64::from(number), argument });
}

/// A CPU exception in user mode. A page fault the address space can resolve
/// (demand paging, copy-on-write) is fixed and the instruction retried; anything
/// else gets the signal, si_code and si_addr Linux sends for it (a page fault outside
/// every region SEGV_MAPERR, one against a region's protection SEGV_ACCERR), and the
/// trap number, error code and fault address go to the signal frame's sigcontext.
fn fault(process: &Process, user: &mut UserState, exception: Exception) {
    Stats::add(&process.stats.faults, 1);
    let rip = user.frame.rip;
    let from_kernel = |signal| SigInfo::sent(signal, SI_KERNEL, 0, 0);
    let (info, trap_number, address) = match exception {
        Exception::PageFault { address, access } => {
            let kind = if access.instruction_fetch {
                Access::Execute
            } else if access.write {
                Access::Write
            } else {
                Access::Read
            };
            // An access the CPU made in supervisor mode (error code bit 2 clear) while
            // the program ran is an implicit one (a descriptor table; QEMU's IRETQ
            // reads its frame so, which SMAP refuses), and a reserved bit (bit 3)
            // is not the program's doing: nothing to fault in, and resolving it
            // would retry the instruction into the same fault forever.
            const PF_USER: u64 = 1 << 2;
            const PF_RESERVED: u64 = 1 << 3;
            let implicit = user.frame.error_code & PF_USER == 0 || user.frame.error_code & PF_RESERVED != 0;
            let resolved = if implicit {
                Some(Err(Fault::Protection))
            } else {
                process.memory.lock().as_mut().map(|memory| memory.fault_in(address, Some(kind)))
            };
            let code = match resolved {
                Some(Ok(_)) => return,
                // No frame left for programs: the OOM killer frees some (the access
                // is then retried) or ends this process.
                Some(Err(Fault::OutOfMemory)) => {
                    crate::oom::reclaim_for(process);
                    return;
                }
                Some(Err(Fault::Protection)) => SEGV_ACCERR,
                Some(Err(_)) | None => SEGV_MAPERR,
            };
            (SigInfo::fault(SIGSEGV, code, address), 14, address)
        }
        Exception::DivideError => (SigInfo::fault(SIGFPE, FPE_INTDIV, rip), 0, 0),
        Exception::X87Floating => {
            let fpu = user.fpu();
            let word = |at: usize| u16::from_le_bytes([fpu[at], fpu[at + 1]]);
            let (control, status) = (word(0), word(2));
            (SigInfo::fault(SIGFPE, fpe_code(Some((status, control)), 0), rip), 16, 0)
        }
        Exception::SimdFloating => {
            let fpu = user.fpu();
            let mxcsr = u32::from_le_bytes([fpu[24], fpu[25], fpu[26], fpu[27]]);
            (SigInfo::fault(SIGFPE, fpe_code(None, mxcsr), rip), 19, 0)
        }
        Exception::Debug => (SigInfo::fault(SIGTRAP, TRAP_TRACE, rip), 1, 0),
        Exception::Breakpoint => (from_kernel(SIGTRAP), 3, 0),
        Exception::InvalidOpcode => (SigInfo::fault(SIGILL, ILL_ILLOPN, rip), 6, 0),
        Exception::AlignmentCheck => (SigInfo::fault(SIGBUS, BUS_ADRALN, 0), 17, 0),
        Exception::SegmentNotPresent => (from_kernel(SIGBUS), 11, 0),
        Exception::StackSegment => (from_kernel(SIGBUS), 12, 0),
        Exception::GeneralProtection { .. } => (from_kernel(SIGSEGV), 13, 0),
        Exception::Overflow => (from_kernel(SIGSEGV), 4, 0),
        Exception::BoundRange => (from_kernel(SIGSEGV), 5, 0),
        Exception::DeviceNotAvailable => (from_kernel(SIGSEGV), 7, 0),
        Exception::InvalidTss => (from_kernel(SIGSEGV), 10, 0),
        Exception::Other { vector } => (from_kernel(SIGSEGV), u64::from(vector), 0),
    };
    info!(
        "pid {} ({}): {exception} at rip {:#x}: {}",
        process.pid,
        process.name(),
        rip,
        kernel_core::abi::signal::name(info.signo()).unwrap_or("signal")
    );
    let trap = signal::TrapRecord { number: trap_number, error_code: user.frame.error_code, address };
    signal::force_fault(process, info, trap);
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
    trace::record(0, || What::TrapEnter { reason: TrapReason::Interrupt, number: u64::from(vector), argument: 0 });
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
