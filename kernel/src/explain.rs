//! The LDE explanation (`explain=N`, `timeshare run --explain`): the values behind
//! each row of the textbook's limited-direct-execution tables, taken from this run
//! and sent to the host as `explain KIND key=value...` lines on the control channel,
//! where `timeshare` resolves the addresses to symbols and prints the tables.
//!
//! What is recorded, once each: the trap table and SYSCALL registers at boot, the
//! first process as it is built, its first N system calls, the first timer
//! interrupt that switches processes, and the first exceptions (one resolved, one
//! that becomes a signal).
//!
//! Cost: nothing when off. Every hook but `boot` and the first process's is called
//! only where the trace is on (`trace::enabled()` branches the hot paths already
//! have), and the host turns the trace on with the explanation.
//!
//! Lock order: `STATE` is a leaf: nothing else is locked while it is held, and it
//! is never held while the process table or the run queue is locked.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use alloc::format;
use alloc::string::String;
use spin::Mutex;

use crate::arch::x86_64::debugcon::{self, Channel};
use crate::arch::x86_64::frame::TrapFrame;
use crate::arch::x86_64::percpu::PerCpu;
use crate::arch::x86_64::{entry, idt};
use crate::mm::kstack::StackOwner;
use crate::process::{self, Pid, Process};
use kernel_core::elf::Segment;
use kernel_core::initstack::StackTables;

/// Set by `init` when the host asked for the explanation.
static ON: AtomicBool = AtomicBool::new(false);
/// System calls still to explain.
static SYSCALLS_LEFT: AtomicU32 = AtomicU32::new(0);
/// The scheduling policy's name and quantum, for the preemption's explanation.
static POLICY: spin::Once<(&'static str, u32)> = spin::Once::new();
static STATE: Mutex<State> =
    Mutex::new(State { switch: SwitchStage::Waiting, resolved_fault: false, signal_fault: false });

struct State {
    switch: SwitchStage,
    /// Whether a page fault the kernel resolved was explained ...
    resolved_fault: bool,
    /// ... and an exception that became a signal.
    signal_fault: bool,
}

/// Where the explanation of the first preempting switch stands: the preempted
/// process's half is taken before the switch, the other once the next process
/// returns to user mode (only then is the preempted one's kernel context saved).
enum SwitchStage {
    Waiting,
    Pending { from: Pid, to: Pid, first_half: String },
    Done,
}

/// What the boot sequence set up, for the boot record.
pub struct Boot {
    pub timer_vector: u8,
    pub timer_counts: u32,
    pub apic_timer_hz: u64,
    pub tick_hz: u64,
    pub policy: &'static str,
    pub quantum_ms: u32,
}

/// Turns the explanation on for `syscalls` system calls (0: off) and sends the boot
/// record: the trap table and the SYSCALL registers as the CPU holds them, the
/// timer as programmed. Called once, after the trace is set up, before the first
/// process exists.
pub fn init(syscalls: u32, boot: Boot) {
    if syscalls == 0 {
        return;
    }
    if !crate::trace::enabled() {
        info!("explain: needs the event trace (trace=N); off");
        return;
    }
    POLICY.call_once(|| (boot.policy, boot.quantum_ms));
    SYSCALLS_LEFT.store(syscalls, Ordering::Relaxed);
    ON.store(true, Ordering::Relaxed);
    let (idt_base, idt_limit) = idt::installed();
    let gates: String = [0u8, 6, 13, 14, boot.timer_vector, 255]
        .iter()
        .map(|&vector| format!(" gate{vector}={:#x}", idt::handler_address(vector)))
        .collect();
    let (lstar, star, fmask) = entry::syscall_registers();
    send(&format!(
        "boot idt={idt_base:#x} idt_limit={idt_limit}{gates} lstar={lstar:#x} star={star:#x} fmask={fmask:#x} \
         timer_vector={} timer_counts={} apic_hz={} tick_hz={} policy={} quantum_ms={}",
        boot.timer_vector, boot.timer_counts, boot.apic_timer_hz, boot.tick_hz, boot.policy, boot.quantum_ms
    ));
}

/// Whether the explanation is on.
pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// The first program's segments and initial stack, as `exec::load` lays them out.
pub fn first_image(segments: &[Segment], stack_top: u64, initial_sp: u64, tables: StackTables) {
    if !on() {
        return;
    }
    for segment in segments {
        let flags = segment.flags;
        let permissions: String = [(flags.read, 'r'), (flags.write, 'w'), (flags.execute, 'x')]
            .iter()
            .map(|&(set, letter)| if set { letter } else { '-' })
            .collect();
        send(&format!(
            "segment vaddr={:#x} mem_size={:#x} file_size={:#x} flags={permissions}",
            segment.vaddr, segment.mem_size, segment.file_size
        ));
    }
    send(&format!(
        "stack top={stack_top:#x} sp={initial_sp:#x} argc={} argv={:#x} envp={:#x} auxv={:#x}",
        tables.argc, tables.argv, tables.envp, tables.auxv
    ));
}

/// The first process, created: its process-table entry, the trap frame it starts
/// from on its kernel stack, and the kernel context that starts its kernel thread.
pub fn first_process(process: &Process, frame: &TrapFrame) {
    if !on() {
        return;
    }
    let stack = process.kernel_stack();
    send(&format!(
        "process pid={} name={} entry={:#x} rsp={:#x} rflags={:#x} cs={:#x} ss={:#x} return={} \
         frame={:#x} kstack_bottom={:#x} kstack_top={:#x} context_rsp={:#x} context_return={:#x}",
        process.tid(),
        word(&process.name()),
        frame.rip,
        frame.rsp,
        frame.rflags,
        frame.code_segment(),
        frame.stack_segment(),
        return_instruction(frame),
        stack.frame_end() - crate::arch::x86_64::frame::TRAP_FRAME_SIZE,
        stack.guard_page() + crate::mm::PAGE_SIZE,
        stack.frame_end(),
        process.context.saved_stack_pointer(),
        process.context.saved_return_address().unwrap_or(0),
    ));
}

/// A system call on its way in, while there are calls left to explain.
pub struct SyscallEntry {
    number: u64,
    args: [u64; 6],
    rip: u64,
    rflags: u64,
    handler: u64,
}

/// Takes the entry half of a system call's explanation (None when enough were).
pub fn syscall_entered(frame: &TrapFrame, handler: u64) -> Option<SyscallEntry> {
    if !on() {
        return None;
    }
    SYSCALLS_LEFT.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(1)).ok()?;
    let (number, args) = frame.syscall_args();
    Some(SyscallEntry { number, args: *args, rip: frame.rip, rflags: frame.rflags, handler })
}

/// Sends a system call's explanation, now that it returned (`fast_path`: served
/// in the SYSCALL entry itself).
pub fn syscall_finished(call: SyscallEntry, process: &Process, frame: &TrapFrame, fast_path: bool) {
    let args: String = call.args.iter().map(|arg| format!("{arg:#x}")).collect::<alloc::vec::Vec<_>>().join(",");
    // The fast path returns with SYSRET unless the kernel has work first, which
    // sends the process through the serve loop (`SyscallExit::after`).
    let path = match (fast_path, process.needs_attention()) {
        (true, false) => "fast",
        (true, true) => "fast-then-full",
        (false, _) => "full",
    };
    send(&format!(
        "syscall pid={} number={} args={args} rcx={:#x} r11={:#x} frame={:#x} kstack_top={:#x} handler={:#x} \
         result={} path={path} return={} resume_rip={:#x}",
        process.tid(),
        call.number,
        call.rip,
        call.rflags,
        PerCpu::this().trap_frame_address(),
        process.kernel_stack().frame_end(),
        call.handler,
        frame.rax as i64,
        return_instruction(frame),
        frame.rip,
    ));
}

/// The timer preempts `me` for `next`: the first half of the first preemption's
/// explanation (what the timer interrupt's entry saved of `me`, why the policy
/// chose another, where `next`'s kernel thread resumes).
pub fn switching(me: &Process, next: &Process) {
    if !on() || !matches!(STATE.lock().switch, SwitchStage::Waiting) {
        return;
    }
    // The per-CPU trap frame is still `me`'s: the timer's entry saved it there.
    let Some(frame) = entry::last_user_entry() else { return };
    let (policy, quantum_ms) = POLICY.get().copied().unwrap_or(("unknown", 0));
    // Built before `STATE` is taken again: the names take the threads' locks.
    let first_half = format!(
        "from={} from_name={} to={} to_name={} user_rip={:#x} user_rsp={:#x} user_rflags={:#x} user_cs={:#x} \
         user_ss={:#x} frame={:#x} kstack_top={:#x} policy={policy} quantum_ms={quantum_ms} to_context_rsp={:#x} \
         to_context_return={:#x}",
        me.tid(),
        word(&me.name()),
        next.tid(),
        word(&next.name()),
        frame.rip,
        frame.rsp,
        frame.rflags,
        frame.code_segment(),
        frame.stack_segment(),
        PerCpu::this().trap_frame_address(),
        me.kernel_stack().frame_end(),
        next.context.saved_stack_pointer(),
        next.context.saved_return_address().unwrap_or(0),
    );
    let mut state = STATE.lock();
    if matches!(state.switch, SwitchStage::Waiting) {
        state.switch = SwitchStage::Pending { from: me.tid(), to: next.tid(), first_half };
    }
}

/// `process` returns to user mode with `frame`: if it is the process the first
/// preemption switched to, the preemption's explanation ends here, with the
/// preempted process's saved kernel context and the return-from-trap into this one.
pub fn returning_to_user(process: &Process, frame: &TrapFrame) {
    if !on() {
        return;
    }
    let (from, first_half) = {
        let mut state = STATE.lock();
        match &state.switch {
            SwitchStage::Pending { to, .. } if *to == process.tid() => {}
            _ => return,
        }
        match core::mem::replace(&mut state.switch, SwitchStage::Done) {
            SwitchStage::Pending { from, first_half, .. } => (from, first_half),
            _ => return,
        }
    };
    let (context_rsp, context_return) = process::find(from)
        .map(|preempted| (preempted.context.saved_stack_pointer(), preempted.context.saved_return_address()))
        .unwrap_or((0, None));
    send(&format!(
        "preempt {first_half} from_context_rsp={context_rsp:#x} from_context_return={:#x} \
         to_rip={:#x} to_rsp={:#x} to_rflags={:#x} to_kstack_top={:#x} return={}",
        context_return.unwrap_or(0),
        frame.rip,
        frame.rsp,
        frame.rflags,
        process.kernel_stack().frame_end(),
        return_instruction(frame),
    ));
}

/// An exception `process` caused at `rip` (`address`: the page fault's), and the
/// signal it became (None: the kernel resolved it and the instruction runs again).
pub fn exception(process: &Process, vector: u8, address: u64, rip: u64, error_code: u64, signal: Option<u8>) {
    if !on() {
        return;
    }
    {
        let mut state = STATE.lock();
        let seen = if signal.is_some() { &mut state.signal_fault } else { &mut state.resolved_fault };
        if core::mem::replace(seen, true) {
            return;
        }
    }
    send(&format!(
        "exception pid={} name={} vector={vector} address={address:#x} rip={rip:#x} error_code={error_code:#x} \
         signal={} kstack_top={:#x}",
        process.tid(),
        word(&process.name()),
        signal.unwrap_or(0),
        process.kernel_stack().frame_end(),
    ));
}

/// The instruction the next return to user mode with `frame` uses.
fn return_instruction(frame: &TrapFrame) -> &'static str {
    if frame.returns_with_sysret() {
        "sysretq"
    } else {
        "iretq"
    }
}

/// `text` as one word of a record (a program's name may hold spaces).
fn word(text: &str) -> String {
    text.chars().map(|character| if character.is_whitespace() || character == '=' { '_' } else { character }).collect()
}

fn send(record: &str) {
    debugcon::write(Channel::Control, format!("explain {record}\n").as_bytes());
}
