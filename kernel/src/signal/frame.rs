//! Entering a handler and leaving it: the signal frame (see
//! `kernel_core::abi::sigframe`) built on the user stack for a handler, and
//! rt_sigreturn, which restores the context the frame saved.
//!
//! The frame is built from, and sigreturn checks, what user memory holds: a forged
//! frame cannot give the program kernel selectors, privileged RFLAGS bits or an XSAVE
//! image the kernel's own XRSTOR would fault on; a non-canonical rip or rsp is
//! caught by `enter_user`, as a #GP of the program.

use super::{SignalSet, SignalState, TrapRecord};
use crate::arch::x86_64::frame::TrapFrame;
use crate::arch::x86_64::{fpu, gdt};
use crate::mm::address_space::{Fault, ImageWords, UserWords};
use crate::mm::kstack::UserState;
use crate::process::Process;
use kernel_core::abi::sigframe::{self, xstate, AltStack, Register, Registers, ReturnContext, SigContext, UContext};
use kernel_core::abi::sigframe::{
    SIGINFO_OFFSET, SS_AUTODISARM, SS_DISABLE, UCONTEXT_OFFSET, UCONTEXT_REGISTERS, UCONTEXT_WORDS,
};
use kernel_core::abi::sigframe::{UC_FP_XSTATE, UC_SIGCONTEXT_SS, UC_STRICT_RESTORE_SS};
use kernel_core::abi::signal::{SigAction, SigInfo, SA_NODEFER, SA_ONSTACK, SA_RESTORER, SA_SIGINFO};

/// RFLAGS bits a handler starts without: direction, resume and trap flags.
const HANDLER_CLEARED_RFLAGS: u64 = (1 << 10) | (1 << 16) | (1 << 8);

/// Builds the signal frame (see `kernel_core::abi::sigframe`) for a handler of
/// `info`'s signal and points the program at the handler: rdi = signal, rsi =
/// &siginfo, rdx = &ucontext, rax = 0, rsp = the frame (whose first word, the
/// restorer, is the handler's return address), fresh FPU state (`xstate::reset`:
/// the save area's header says so, no copy of the initial state). The handler runs
/// with its sa_mask and (unless SA_NODEFER) its own signal blocked; an SS_AUTODISARM
/// alternate stack is disarmed until sigreturn. Err (nothing changed but user
/// memory) without SA_RESTORER, as Linux on x86_64, or when the stack cannot take
/// the frame.
///
/// `recorded` was read with the signal under the lock that picked it.
///
/// `#[inline]`: its one caller, `deliver`, is in another module, which may be
/// compiled in another codegen unit, where a plain function is not inlined.
#[inline]
pub(super) fn enter_handler(
    process: &Process,
    user: &mut UserState,
    handler: u64,
    info: &SigInfo,
    action: &SigAction,
    recorded: &Recorded,
) -> Result<(), ()> {
    if action.flags & SA_RESTORER == 0 {
        return Err(());
    }
    let Recorded { alt_stack, mask, trap } = *recorded;
    let layout = fpu::layout();
    let image_size = (user.fpu().len() + xstate::MAGIC2_SIZE) as u64;
    let place = sigframe::place(user.frame.rsp, action.flags & SA_ONSTACK != 0, &alt_stack, image_size).ok_or(())?;
    let context = UContext {
        flags: UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS,
        link: 0,
        stack: alt_stack.saved(),
        mcontext: SigContext {
            registers: registers_of(user.frame),
            cs: user.frame.code_segment(),
            gs: 0,
            fs: 0,
            ss: gdt::USER_DS,
            err: trap.error_code,
            trapno: trap.number,
            oldmask: mask.0,
            cr2: trap.address,
            fpstate: place.fpstate,
        },
        sigmask: mask.0,
    };
    // A fresh stack page the frame needs goes through the OOM policy, as the
    // program's own touch of it would.
    crate::oom::retrying(process, || {
        let mut memory = process.group.memory.lock();
        let memory = memory.as_mut().ok_or(Fault::Unmapped)?;
        // XSAVE straight into the frame where it can (one instruction); else the
        // area is copied there.
        let present = memory.save_fpu_to(place.fpstate)?;
        let write = |offset: usize, bytes: &[u8]| memory.write(place.fpstate + offset as u64, bytes);
        match present {
            Some(present) => xstate::complete_frame_image(present, layout.area_size(), layout.components(), write),
            None => xstate::write_frame_image(user.fpu(), layout.initial_state(), layout.components(), write),
        }?;
        memory.write_words(place.frame, || sigframe::frame_head(action.restorer, &context))?;
        if action.flags & SA_SIGINFO != 0 {
            memory.write(place.frame + SIGINFO_OFFSET, &info.to_bytes())?;
        }
        Ok::<(), Fault>(())
    })
    .map_err(drop)?;
    let signal = info.signo();
    let frame = &mut *user.frame;
    frame.rdi = u64::from(signal);
    frame.rsi = place.frame + SIGINFO_OFFSET;
    frame.rdx = place.frame + UCONTEXT_OFFSET;
    frame.rax = 0;
    frame.rip = handler;
    frame.rsp = place.frame;
    // Handlers run in 64-bit code, whatever the program was running (as on Linux:
    // the interrupted segment is in the frame, for rt_sigreturn).
    frame.set_code_segment(gdt::USER_CS);
    frame.set_user_rflags(frame.rflags & !HANDLER_CLEARED_RFLAGS);
    xstate::reset(user.fpu(), layout.initial_state());
    let mut state = process.signals.lock();
    state.saved_mask = None;
    let mut blocked = state.blocked.union(action.mask);
    if action.flags & SA_NODEFER == 0 {
        blocked.insert(signal);
    }
    state.set_blocked(blocked);
    if state.alt_stack.flags & SS_AUTODISARM != 0 {
        state.alt_stack = AltStack { base: 0, size: 0, flags: SS_DISABLE };
    }
    Ok(())
}

/// What a handler's frame records of the signal state besides the registers:
/// the alternate stack, the mask to restore, the last fault's trap. Read with the
/// signal (`deliver`), under the lock that picked it, which nothing of this
/// thread's changes before the frame is written, so as not to take it again.
#[derive(Clone, Copy)]
pub(super) struct Recorded {
    alt_stack: AltStack,
    mask: SignalSet,
    trap: TrapRecord,
}

impl Recorded {
    pub(super) fn of(state: &SignalState) -> Recorded {
        Recorded { alt_stack: state.alt_stack, mask: state.saved_mask.unwrap_or(state.blocked), trap: state.last_trap }
    }
}

/// rt_sigreturn: restores the context saved in the frame at rsp - 8 (the handler's
/// `ret` popped the restorer address): registers, RFLAGS (the bits a program may
/// set), mask, FPU state, alternate stack. Returns the restored rax; the return to
/// user mode takes the IRETQ path, so rcx and r11 come back too. Err, with no
/// register, mask or stack restored, when the frame cannot be read or would make the
/// return fault: CS not one of the two user code segments (64- or 32-bit), SS not the user data one (Linux's IRET would fault on them),
/// or an XSAVE image XRSTOR would refuse (see `xstate::restore`: the FPU state is
/// then reset, as Linux resets it). The caller forces SIGSEGV.
pub fn sigreturn(process: &Process, user: &mut UserState) -> Result<u64, ()> {
    let frame = user.frame.rsp.wrapping_sub(8);
    let layout = fpu::layout();
    let ucontext = frame.wrapping_add(UCONTEXT_OFFSET);
    // One lock for the ucontext and the XSAVE image it points to. What is checked
    // (and the FPU state) comes first; the registers then go straight into the trap
    // frame, once nothing can refuse the frame, with nothing held across the load.
    let context = crate::oom::retrying(process, || {
        let mut memory = process.group.memory.lock();
        let memory = memory.as_mut().ok_or(Refusal::Fault(Fault::Unmapped))?;
        let context = memory.read_words_with(ucontext, |words: UserWords<'_, UCONTEXT_WORDS>| {
            ReturnContext::decode(|index| words.at(index))
        })?;
        let code_segment = context.cs | 3;
        if code_segment != gdt::USER_CS && code_segment != gdt::USER32_CS {
            return Err(Refusal::Frame);
        }
        // Without UC_STRICT_RESTORE_SS (an old frame format) Linux repairs a bad SS.
        if context.ss | 3 != gdt::USER_DS && context.flags & UC_STRICT_RESTORE_SS != 0 {
            return Err(Refusal::Frame);
        }
        match context.fpstate {
            // No image: the initial state, by the area's header as for a handler.
            0 => xstate::reset(user.fpu(), layout.initial_state()),
            address => {
                // XRSTOR straight from the frame where that is what `restore` would
                // install; else the image is copied and checked into the area.
                let in_place = |image: ImageWords| {
                    xstate::restorable_in_place(
                        |at| image.at(at),
                        layout.area_size(),
                        layout.components(),
                        layout.mxcsr_mask(),
                    )
                };
                match memory.load_fpu_from(address, in_place)? {
                    Some(true) => {}
                    // Changed under the check by another thread: refused as
                    // `restore` refuses, the FPU reset.
                    Some(false) => {
                        user.fpu().copy_from_slice(layout.initial_state());
                        return Err(Refusal::Frame);
                    }
                    None => {
                        let read =
                            |offset: usize, buffer: &mut [u8]| memory.read(address.wrapping_add(offset as u64), buffer);
                        let (area, initial) = (user.fpu(), layout.initial_state());
                        if !xstate::restore(address, area, initial, layout.components(), layout.mxcsr_mask(), read) {
                            return Err(Refusal::Frame);
                        }
                    }
                }
            }
        }
        // The same words, read under the same lock (none of them read above).
        let trap_frame = &mut *user.frame;
        memory.read_words_with(ucontext, |words: UserWords<'_, UCONTEXT_WORDS>| {
            set_registers(trap_frame, |index| words.at(UCONTEXT_REGISTERS + index))
        })?;
        Ok(context)
    })
    .map_err(drop)?;
    let restored = &mut *user.frame;
    restored.set_code_segment(context.cs | 3);
    restored.return_by_iret();
    let (rax, rsp) = (restored.rax, restored.rsp);
    let mut state = process.signals.lock();
    state.set_blocked(SignalSet(context.sigmask));
    state.sleep_restart = None;
    // Re-arms an SS_AUTODISARM stack; refusals (EPERM on the stack) are ignored, as
    // Linux's restore_altstack ignores them.
    if let Ok(stack) = state.alt_stack.replaced(context.stack, rsp) {
        state.alt_stack = stack;
    }
    Ok(rax)
}

/// Why sigreturn refuses a frame: its memory (a fault, perhaps for want of a
/// frame, which the OOM policy may cure) or what it holds.
enum Refusal {
    Fault(Fault),
    Frame,
}

impl From<Fault> for Refusal {
    fn from(fault: Fault) -> Refusal {
        Refusal::Fault(fault)
    }
}

impl crate::oom::Outcome for Result<ReturnContext, Refusal> {
    fn wants_frame(&self) -> bool {
        matches!(self, Err(Refusal::Fault(Fault::OutOfMemory)))
    }
}

fn registers_of(frame: &TrapFrame) -> Registers {
    Registers {
        r8: frame.r8,
        r9: frame.r9,
        r10: frame.r10,
        r11: frame.r11,
        r12: frame.r12,
        r13: frame.r13,
        r14: frame.r14,
        r15: frame.r15,
        rdi: frame.rdi,
        rsi: frame.rsi,
        rbp: frame.rbp,
        rbx: frame.rbx,
        rdx: frame.rdx,
        rax: frame.rax,
        rcx: frame.rcx,
        rsp: frame.rsp,
        rip: frame.rip,
        rflags: frame.rflags,
    }
}

/// Loads the general registers, rip, rsp and RFLAGS (the bits a program may set:
/// see `set_user_rflags`) from the sigcontext's words `word(index)`, each straight
/// into the frame as it is read.
#[inline(always)]
fn set_registers(frame: &mut TrapFrame, word: impl Fn(usize) -> u64) {
    Registers::decode_each(word, |register, value| match register {
        Register::R8 => frame.r8 = value,
        Register::R9 => frame.r9 = value,
        Register::R10 => frame.r10 = value,
        Register::R11 => frame.r11 = value,
        Register::R12 => frame.r12 = value,
        Register::R13 => frame.r13 = value,
        Register::R14 => frame.r14 = value,
        Register::R15 => frame.r15 = value,
        Register::Rdi => frame.rdi = value,
        Register::Rsi => frame.rsi = value,
        Register::Rbp => frame.rbp = value,
        Register::Rbx => frame.rbx = value,
        Register::Rdx => frame.rdx = value,
        Register::Rax => frame.rax = value,
        Register::Rcx => frame.rcx = value,
        Register::Rsp => frame.rsp = value,
        Register::Rip => frame.rip = value,
        Register::Rflags => frame.set_user_rflags(value),
    });
}
