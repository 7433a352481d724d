//! The one dispatcher: every entry from user mode ends here, says why it happened
//! (`ReturnReason`), is handled, and leaves by return-from-trap (`enter_user`).
//! This loop *is* a process's life in the kernel: limited direct execution, one trap
//! at a time.

use alloc::sync::Arc;

use crate::arch::x86_64::entry;
use crate::arch::x86_64::frame::{Exception, ReturnReason, PAGE_FAULT_VECTOR};
use crate::arch::x86_64::{apic, cpu, gdt, tls};
use crate::fs::console;
use crate::mm::address_space::{Access, Fault};
use crate::mm::kstack::UserState;
use crate::mm::PAGE_SIZE;
use crate::process::{Mode, Process, Stats};
use crate::{sched, signal, syscall, trace};
use kernel_core::abi::signal::{fpe_code, SigInfo, SIGBUS, SIGFPE, SIGILL, SIGSEGV, SIGTRAP, SI_KERNEL};
use kernel_core::abi::signal::{BUS_ADRALN, BUS_ADRERR, FPE_INTDIV, ILL_ILLOPN, SEGV_ACCERR, SEGV_MAPERR, TRAP_TRACE};
use kernel_core::trace::{TrapReason, What};

/// Runs the program until it exits: return to user mode, take the next trap, handle
/// it, deliver signals, repeat. Returns once the process has begun to exit.
///
/// Invariant: `process` is the current process and `user` its own saved state.
pub fn serve(process: &Arc<Process>, user: &mut UserState) {
    // Built once: every trip lends the same handler to `enter_user` (which records
    // its address in the stack header) and to the full path's dispatch.
    let mut handler = syscall::FastPath(syscall::Context { process, group: &process.group, user: user.reborrow() });
    loop {
        process.charge(Mode::Kernel);
        // Tracing is switched on before the first program runs and off at power-off:
        // one read on each side of the program's run.
        if trace::enabled() {
            trace::record(process.tid(), || What::TrapExit);
            crate::explain::returning_to_user(process, handler.0.user.frame);
        }
        let reason = entry::enter_user(&mut handler);
        process.charge(Mode::User);
        let traced = trace::enabled();
        if traced {
            record_entry(process, reason);
        }
        let context = &mut handler.0;
        match reason {
            // No stretch of the tick is armed here: while one is, the CPU's SYSCALL
            // entry diverts every call, and ends it, before any table entry runs.
            ReturnReason::SystemCall { served: false } => syscall::dispatch_recorded(context, traced, false),
            ReturnReason::SystemCall { served: true } => {}
            ReturnReason::Exception(exception) => {
                sched::end_tick_stretch();
                let user = &mut context.user;
                let rip = user.frame.rip;
                let signal = fault(process, user, exception);
                if traced {
                    let address = match exception {
                        Exception::PageFault { address, .. } => address,
                        _ => 0,
                    };
                    let error_code = user.frame.error_code;
                    crate::explain::exception(process, exception.vector(), address, rip, error_code, signal);
                }
            }
            ReturnReason::Interrupt(vector) => interrupt_from_user(vector),
        }
        signal::deliver(process, &mut context.user);
        // The exiting bit is set with the exit status (`Process::begin_exit`), and
        // stays: one load, where the status itself is behind a lock.
        if process.signals.exiting() {
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
    trace::record(process.tid(), || What::TrapEnter { reason, number: u64::from(number), argument });
}

/// A CPU exception in user mode. A page fault the address space can resolve
/// (demand paging, copy-on-write) is fixed and the instruction retried; anything
/// else gets the signal, si_code and si_addr Linux sends for it (a page fault outside
/// every region SEGV_MAPERR, one against a region's protection SEGV_ACCERR, one
/// past the end of a mapped file SIGBUS with BUS_ADRERR), and the
/// trap number, error code and fault address go to the signal frame's sigcontext.
/// Returns the signal sent (None: resolved, the instruction runs again).
fn fault(process: &Process, user: &mut UserState, exception: Exception) -> Option<u8> {
    Stats::add(&process.stats.counts.faults, 1);
    if matches!(exception, Exception::GeneralProtection { .. }) && emulate_umip_instruction(process, user) {
        return None;
    }
    let rip = user.frame.rip;
    let from_kernel = |signal| SigInfo::sent(signal, SI_KERNEL, 0, 0);
    let (info, address) = match exception {
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
                process.group.memory.lock().as_mut().map(|memory| memory.fault_in(address, Some(kind)))
            };
            let info = match resolved {
                Some(Ok(_)) => return None,
                // No frame left for programs: the OOM killer frees some (the access
                // is then retried) or ends this process.
                Some(Err(Fault::OutOfMemory)) => {
                    crate::oom::reclaim_for(process);
                    return None;
                }
                Some(Err(Fault::PastEnd)) => SigInfo::fault(SIGBUS, BUS_ADRERR, address),
                Some(Err(Fault::Protection)) => SigInfo::fault(SIGSEGV, SEGV_ACCERR, address),
                Some(Err(Fault::Unmapped)) | None => SigInfo::fault(SIGSEGV, SEGV_MAPERR, address),
            };
            (info, address)
        }
        Exception::DivideError => (SigInfo::fault(SIGFPE, FPE_INTDIV, rip), 0),
        Exception::X87Floating => {
            let fpu = user.fpu();
            let word = |at: usize| u16::from_le_bytes([fpu[at], fpu[at + 1]]);
            let (control, status) = (word(0), word(2));
            (SigInfo::fault(SIGFPE, fpe_code(Some((status, control)), 0), rip), 0)
        }
        Exception::SimdFloating => {
            let fpu = user.fpu();
            let mxcsr = u32::from_le_bytes([fpu[24], fpu[25], fpu[26], fpu[27]]);
            (SigInfo::fault(SIGFPE, fpe_code(None, mxcsr), rip), 0)
        }
        Exception::Debug => (SigInfo::fault(SIGTRAP, TRAP_TRACE, rip), 0),
        Exception::Breakpoint => (from_kernel(SIGTRAP), 0),
        Exception::InvalidOpcode => (SigInfo::fault(SIGILL, ILL_ILLOPN, rip), 0),
        Exception::AlignmentCheck => (SigInfo::fault(SIGBUS, BUS_ADRALN, 0), 0),
        Exception::SegmentNotPresent => (from_kernel(SIGBUS), 0),
        Exception::StackSegment => (from_kernel(SIGBUS), 0),
        Exception::GeneralProtection { .. } => (from_kernel(SIGSEGV), 0),
        Exception::Overflow => (from_kernel(SIGSEGV), 0),
        Exception::BoundRange => (from_kernel(SIGSEGV), 0),
        Exception::DeviceNotAvailable => (from_kernel(SIGSEGV), 0),
        Exception::InvalidTss => (from_kernel(SIGSEGV), 0),
        Exception::Other { .. } => (from_kernel(SIGSEGV), 0),
    };
    let trap = signal::TrapRecord { number: u64::from(exception.vector()), error_code: user.frame.error_code, address };
    // As Linux's show_unhandled_signals: only a fault that ends the program is
    // logged. One its handler takes is the program's business (a garbage collector's
    // write barrier, a JIT's guard page), and logging it would cost more than the
    // fault and its delivery together.
    if !signal::force_fault(process, info, trap) {
        info!(
            "pid {} ({}): {exception} at rip {:#x}: {}",
            process.tid(),
            process.name(),
            rip,
            kernel_core::abi::signal::name(info.signo()).unwrap_or("signal")
        );
    }
    Some(info.signo())
}

/// A #GP from an instruction UMIP refuses in user mode (sgdt, sidt, smsw, sldt,
/// str) is emulated as Linux emulates it for a 64-bit program: the dummy values
/// `kernel_core::umip` gives are stored in the operand and the program goes on
/// after the instruction; an operand in memory the program cannot write is its
/// SIGSEGV (SEGV_MAPERR at that address, as Linux reports it). False, with nothing
/// done, for any other #GP (also in 32-bit code, whose encoding this does not
/// decode: the program gets its SIGSEGV).
fn emulate_umip_instruction(process: &Process, user: &mut UserState) -> bool {
    use kernel_core::umip::{self, Operand};
    if !cpu::features().umip || user.frame.code_segment() != gdt::USER_CS {
        return false;
    }
    let rip = user.frame.rip;
    let mut code = [0u8; umip::MAX_INSTRUCTION_LENGTH];
    // The instruction may end where its mapping does: then read up to the page's end.
    let fetched = process.group.memory.lock().as_mut().map_or(0, |memory| {
        let to_page_end = code.len().min((PAGE_SIZE - rip % PAGE_SIZE) as usize);
        [code.len(), to_page_end].into_iter().find(|&length| memory.read(rip, &mut code[..length]).is_ok()).unwrap_or(0)
    });
    let Some(decoded) = umip::decode(&code[..fetched]) else { return false };
    let (bytes, size) = decoded.result();
    let next_rip = rip.wrapping_add(decoded.length as u64);
    match decoded.operand {
        Operand::Register { number, size } => {
            let register = user.frame.general_register_mut(number);
            let mut value = register.to_le_bytes();
            value[..size].copy_from_slice(&bytes[..size]);
            *register = u64::from_le_bytes(value);
        }
        Operand::Memory(operand) => {
            let registers = user.frame.general_registers();
            let address = operand.address(&registers, next_rip, tls::running_fs_base(), tls::running_gs_base());
            let written = process
                .group
                .memory
                .lock()
                .as_mut()
                .is_some_and(|memory| memory.write(address, &bytes[..size]).is_ok());
            if !written {
                const PF_WRITE_USER: u64 = 0x6;
                let trap =
                    signal::TrapRecord { number: u64::from(PAGE_FAULT_VECTOR), error_code: PF_WRITE_USER, address };
                signal::force_fault(process, SigInfo::fault(SIGSEGV, SEGV_MAPERR, address), trap);
                return true;
            }
        }
    }
    user.frame.rip = next_rip;
    true
}

/// A device interrupt that arrived while the program ran. The timer may take the
/// CPU away from it (preemption).
fn interrupt_from_user(vector: u8) {
    if vector == apic::TIMER_VECTOR {
        device_interrupt(vector);
        crate::smp::panic_all_if_armed();
        sched::tick_while_running();
    } else {
        sched::end_tick_stretch();
        device_interrupt(vector);
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
        apic::TIMER_VECTOR => {}
        apic::IPI_VECTOR => crate::smp::ipi_received(),
        other => debug!("unexpected interrupt vector {other}"),
    }
    apic::end_of_interrupt();
}
