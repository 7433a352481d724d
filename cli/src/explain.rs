//! `--explain`: the textbook's two limited-direct-execution tables ("LDE protocol
//! without interrupts" and "with a timer interrupt"), each row filled with values
//! from this run. The kernel sends the values (`explain` control records,
//! kernel/src/explain.rs); here they are resolved against the kernel's ELF and
//! DWARF (symbols, file:line) and the program's symbols, and each row gets the one
//! sentence that says why the step exists.

mod html;
mod symbols;

use std::fmt::Write as _;
use std::path::Path;

use crate::control::ExplainRecord;
use crate::trace::syscall_name;
pub use html::{report, ReportParts};
pub use symbols::Symbols;

/// The table's three columns, as the book heads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// OS @ boot (kernel mode).
    OsBoot,
    /// OS @ run (kernel mode).
    OsRun,
    Hardware,
    /// Program (user mode).
    Program,
}

impl Column {
    pub fn heading(self) -> &'static str {
        match self {
            Column::OsBoot => "OS @ boot (kernel mode)",
            Column::OsRun => "OS @ run (kernel mode)",
            Column::Hardware => "Hardware",
            Column::Program => "Program (user mode)",
        }
    }
}

/// A place in the source that a row names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// Relative to the repository when the file is in it.
    pub path: String,
    pub line: Option<u32>,
    /// What is there (a function, a label).
    pub what: String,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line} ({})", self.path, self.what),
            None => write!(f, "{} ({})", self.path, self.what),
        }
    }
}

/// One row: a step of the protocol, in one column.
#[derive(Clone, Debug)]
pub struct Row {
    pub column: Column,
    /// The step in the book's words.
    pub step: String,
    /// What this run did, one line each.
    pub values: Vec<String>,
    /// Why the step exists.
    pub note: &'static str,
    pub sources: Vec<Source>,
}

/// One of the two tables.
#[derive(Clone, Debug)]
pub struct Table {
    pub title: &'static str,
    pub rows: Vec<Row>,
}

/// The teaching notes, one per step, written once here and shown beside the values.
mod why {
    pub const TRAP_TABLE: &str = "The kernel tells the CPU where every trap goes before any program runs, with lidt, a privileged instruction: a program cannot point the CPU at code of its own choosing, so every way into ring 0 leads to the kernel's code.";
    pub const SYSCALL_HANDLER: &str = "SYSCALL does not take an address from the program: the CPU jumps to LSTAR, which only ring 0 can write, so a system call is a controlled door into the kernel, not a jump to anywhere.";
    pub const PROCESS_ENTRY: &str = "The process table is how the kernel knows what exists to run; each process gets a kernel stack of its own, where its traps land (TSS.RSP0) so that one program's trap never overwrites another's state.";
    pub const LOAD: &str = "The program's bytes go into a fresh address space, each segment with only the permissions its ELF header asks for (code not writable, data not executable), so the program can touch its own memory and nothing else.";
    pub const USER_STACK: &str = "A C program expects argc, argv, envp and the auxiliary vector on its stack at its first instruction, laid out as Linux lays them: that is the contract that lets the same binary run on both kernels.";
    pub const FILL_KERNEL_STACK: &str = "The kernel starts a program the way it resumes one: it builds the registers a trap would have saved (rip = the ELF entry, rsp = the new stack, interrupts on) so that the ordinary return-from-trap starts it.";
    pub const RETURN_FROM_TRAP: &str = "Only a return-from-trap instruction (SYSRET or IRETQ) lowers the privilege level: it loads the user's rip, rsp and flags and switches to ring 3 in one indivisible step.";
    pub const TO_USER: &str = "From here the program runs directly on the CPU at full speed; the kernel is not involved again until the program traps or an interrupt arrives.";
    pub const SYSCALL: &str = "A program in ring 3 cannot do I/O or touch kernel memory: to get anything done it asks the kernel with the syscall instruction, number in rax, arguments in rdi, rsi, rdx, r10, r8, r9.";
    pub const HARDWARE_SAVES: &str = "The hardware saves only what it must overwrite to get into the kernel (rip into rcx, rflags into r11, and the privilege level); the kernel's entry code saves the other registers itself, onto the process's kernel stack, before any Rust code can clobber them.";
    pub const HANDLE_SYSCALL: &str = "The kernel, not the program, decides what the number means: a table indexed by the number, checked against its size, picks the handler, which validates every argument before acting on it.";
    pub const BACK_TO_USER: &str = "Return-from-trap restores the saved registers and resumes the program at the instruction after its syscall, in ring 3 again, with the result in rax.";
    pub const EXCEPTION: &str = "A program that does something it may not (touch an unmapped page, divide by zero) traps like a system call, but involuntarily: the CPU saves its state and runs the kernel's handler for that vector.";
    pub const EXCEPTION_HANDLED: &str = "The kernel decides what the fault means: a page it can supply (demand paging) is mapped and the instruction retried; otherwise the offender alone gets a signal, and no other process is affected.";
    pub const START_TIMER: &str = "A program in for(;;) never traps by itself: the timer interrupt, programmed before any program runs and impossible for ring 3 to mask, is the only way the kernel is sure to get the CPU back.";
    pub const TIMER_TICKS: &str = "The timer fires periodically whatever the program does; each tick is a trap into the kernel, which charges it against the running process's quantum.";
    pub const PROCESS_A: &str =
        "Process A runs directly on the CPU and needs no help from the kernel, until the timer interrupts it.";
    pub const TIMER_INTERRUPT: &str = "An interrupt can come between any two instructions, so the hardware itself pushes what it needs to resume A (ss, rsp, rflags, cs, rip) on A's kernel stack before running the handler; the entry code then saves the general registers.";
    pub const SWITCH: &str = "A context switch is a second, different save: the user registers are already in A's trap frame; switch() saves A's kernel registers (callee-saved ones and the stack pointer) and loads B's, so the kernel finishes the trap on B's kernel stack and returns into B.";
    pub const INTO_B: &str = "The return-from-trap is the same instruction as for a system call, but on B's kernel stack: it pops B's saved registers, and B resumes exactly where its own last trap left it.";
    pub const PROCESS_B: &str =
        "Process B runs, unaware it was ever stopped: time sharing is invisible to the programs.";
}

/// Where each step lives: a file and the function (or assembly label) in it.
mod at {
    pub const IDT_LOAD: (&str, &str) = ("kernel/base/src/arch/x86_64/idt.rs", "load");
    pub const INIT_SYSCALL: (&str, &str) = ("kernel/base/src/arch/x86_64/entry.rs", "init_syscall");
    pub const CREATE: (&str, &str) = ("kernel/src/process/mod.rs", "create");
    pub const EXEC_LOAD: (&str, &str) = ("kernel/src/process/exec.rs", "load");
    pub const STACK_BUILD: (&str, &str) = ("kernel-core/src/initstack.rs", "build");
    pub const NEW_USER: (&str, &str) = ("kernel/base/src/arch/x86_64/frame.rs", "new_user");
    pub const PREPARE: (&str, &str) = ("kernel/base/src/mm/kstack.rs", "prepare");
    pub const ENTER_USER: (&str, &str) = ("kernel/base/src/arch/x86_64/entry.rs", "enter_user");
    pub const ENTER_USER_MODE: (&str, &str) = ("kernel/base/src/arch/x86_64/entry.rs", "enter_user_mode");
    pub const SYSCALL_ENTRY: (&str, &str) = ("kernel/base/src/arch/x86_64/entry.rs", "syscall_entry");
    pub const DISPATCH: (&str, &str) = ("kernel/src/syscall/mod.rs", "dispatch");
    pub const SYSCALL_SYSRET: (&str, &str) = ("kernel/base/src/arch/x86_64/entry.rs", "syscall_sysret");
    pub const TRAP_COMMON: (&str, &str) = ("kernel/base/src/arch/x86_64/entry.rs", "trap_common");
    pub const FAULT: (&str, &str) = ("kernel/src/trap.rs", "fault");
    pub const TIMER_START: (&str, &str) = ("kernel/base/src/arch/x86_64/apic.rs", "start_periodic_timer");
    pub const TICK: (&str, &str) = ("kernel/src/sched.rs", "tick_while_running");
    pub const SWITCH_AWAY: (&str, &str) = ("kernel/src/sched.rs", "switch_away");
    pub const SWITCH: (&str, &str) = ("kernel/base/src/arch/x86_64/switch.rs", "switch_kernel_stacks");
    pub const SERVE: (&str, &str) = ("kernel/src/trap.rs", "serve");
}

/// The repository this `timeshare` was built from, for the sources rows name.
fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."))
}

/// `(file, function)` as a source with its line, found in the repository (the
/// line of `fn NAME` or of the assembly label `NAME:`).
fn source((path, what): (&str, &str)) -> Source {
    let text = std::fs::read_to_string(repository().join(path)).unwrap_or_default();
    let line = text.lines().position(|line| {
        let line = line.trim_start();
        let line = line.strip_prefix("pub ").unwrap_or(line);
        let line = line.strip_prefix("extern \"C\" ").unwrap_or(line);
        line.strip_prefix("fn ")
            .is_some_and(|rest| rest.starts_with(what) && rest[what.len()..].starts_with(['(', '<']))
            || line.strip_prefix(what).is_some_and(|rest| rest == ":")
    });
    Source { path: path.to_string(), line: line.map(|index| index as u32 + 1), what: what.to_string() }
}

/// A result as a C caller sees it: a value, or -1 with errno.
fn describe_result(result: u64) -> String {
    let signed = result as i64;
    if (-4095..0).contains(&signed) {
        let errno = kernel_core::abi::errno::name(-signed).unwrap_or("an errno");
        format!("{signed} (-{errno})")
    } else if (0..1 << 20).contains(&signed) {
        format!("{signed}")
    } else {
        format!("{result:#x}")
    }
}

/// The protection of an IDT vector, for the boot row.
fn vector_name(vector: u64) -> &'static str {
    match vector {
        0 => "#DE divide error",
        6 => "#UD invalid opcode",
        13 => "#GP general protection",
        14 => "#PF page fault",
        32 => "timer",
        255 => "spurious",
        _ => "",
    }
}

/// The records of one run, found by kind.
struct Records<'a>(&'a [ExplainRecord]);

impl<'a> Records<'a> {
    fn first(&self, kind: &str) -> Option<&'a ExplainRecord> {
        self.0.iter().find(|record| record.kind == kind)
    }

    fn all(&self, kind: &'a str) -> impl Iterator<Item = &'a ExplainRecord> + 'a {
        self.0.iter().filter(move |record| record.kind == kind)
    }
}

/// A value of a record, or a mark that says it is missing.
fn value(record: Option<&ExplainRecord>, key: &str) -> u64 {
    record.and_then(|record| record.number(key)).unwrap_or(0)
}

fn text<'a>(record: Option<&'a ExplainRecord>, key: &str) -> &'a str {
    record.and_then(|record| record.text(key)).unwrap_or("?")
}

/// Builds the two tables from a run's records.
pub fn tables(records: &[ExplainRecord], kernel: &Symbols, program: &Symbols) -> [Table; 2] {
    let records = Records(records);
    let boot = records.first("boot");
    let process = records.first("process");
    let stack = records.first("stack");
    let star = value(boot, "star");
    let (kernel_cs, user_cs) = ((star >> 32) & 0xfffc, ((star >> 48) + 16) | 3);
    let kernel_at = |address: u64| kernel.describe(address);
    let user_at = |address: u64| program.describe(address);
    let gate = |vector: u64| value(boot, &format!("gate{vector}"));
    let row = |column, step: &str, values: Vec<String>, note, sources: Vec<Source>| Row {
        column,
        step: step.to_string(),
        values,
        note,
        sources,
    };
    let missing = |what: &str| vec![format!("(not recorded in this run: {what})")];

    let trap_table = || {
        let limit = value(boot, "idt_limit");
        let mut values = vec![format!(
            "lidt: the IDT at {:#x}, limit {limit} ({} gates of 16 bytes)",
            value(boot, "idt"),
            (limit + 1) / 16
        )];
        values.extend(
            [0, 6, 13, 14, 32, 255]
                .map(|vector| format!("vector {vector} ({}) → {}", vector_name(vector), kernel_at(gate(vector)))),
        );
        row(Column::OsBoot, "initialize trap table", values, why::TRAP_TABLE, vec![source(at::IDT_LOAD)])
    };
    let lstar = value(boot, "lstar");
    let syscall_handler = |also_timer: bool| {
        let mut values = vec![
            format!("LSTAR = {}", kernel_at(lstar)),
            format!(
                "STAR: SYSCALL loads CS {kernel_cs:#x} / SS {:#x} (ring 0), SYSRET CS {user_cs:#x} / SS {:#x} (ring 3)",
                kernel_cs + 8,
                user_cs - 8
            ),
            format!("FMASK = {:#x}: SYSCALL clears IF, TF, DF, AC, NT and IOPL", value(boot, "fmask")),
        ];
        if also_timer {
            values.push(format!("timer: vector {} → {}", value(boot, "timer_vector"), kernel_at(gate(32))));
        }
        let step = if also_timer {
            "remember addresses of syscall handler, timer handler"
        } else {
            "remember address of syscall handler"
        };
        row(Column::Hardware, step, values, why::SYSCALL_HANDLER, vec![source(at::INIT_SYSCALL)])
    };

    // Without interrupts: boot, the first process, its first system calls.
    let mut first = vec![trap_table(), syscall_handler(false)];
    let pid = text(process, "pid");
    first.push(row(
        Column::OsRun,
        "create entry for process list",
        match process {
            Some(_) => vec![
                format!("pid {pid} ({})", text(process, "name")),
                format!(
                    "its kernel stack {:#x}..{:#x}; TSS.RSP0 = {:#x} while it runs",
                    value(process, "kstack_bottom"),
                    value(process, "kstack_top"),
                    value(process, "kstack_top")
                ),
            ],
            None => missing("the first process"),
        },
        why::PROCESS_ENTRY,
        vec![source(at::CREATE)],
    ));
    let segments: Vec<String> = records
        .all("segment")
        .map(|segment| {
            format!(
                "segment {:#x}..{:#x} {} ({:#x} bytes from the file, {:#x} in memory)",
                value(Some(segment), "vaddr"),
                value(Some(segment), "vaddr") + value(Some(segment), "mem_size"),
                text(Some(segment), "flags"),
                value(Some(segment), "file_size"),
                value(Some(segment), "mem_size")
            )
        })
        .collect();
    first.push(row(
        Column::OsRun,
        "allocate memory, load program",
        if segments.is_empty() { missing("the ELF segments") } else { segments },
        why::LOAD,
        vec![source(at::EXEC_LOAD)],
    ));
    first.push(row(
        Column::OsRun,
        "set up user stack with argv",
        match stack {
            Some(_) => vec![
                format!(
                    "stack below {:#x}; rsp = {:#x} → argc = {}",
                    value(stack, "top"),
                    value(stack, "sp"),
                    value(stack, "argc")
                ),
                format!(
                    "argv at {:#x}, envp at {:#x}, auxv at {:#x}",
                    value(stack, "argv"),
                    value(stack, "envp"),
                    value(stack, "auxv")
                ),
            ],
            None => missing("the initial stack"),
        },
        why::USER_STACK,
        vec![source(at::STACK_BUILD)],
    ));
    let entry = value(process, "entry");
    first.push(row(
        Column::OsRun,
        "fill kernel stack with reg/PC",
        match process {
            Some(_) => vec![
                format!(
                    "trap frame at {:#x}: rip = {} (the ELF entry), rsp = {:#x}, rflags = {:#x} (IF), cs = {:#x}, ss = {:#x}",
                    value(process, "frame"),
                    user_at(entry),
                    value(process, "rsp"),
                    value(process, "rflags"),
                    value(process, "cs"),
                    value(process, "ss")
                ),
                format!(
                    "kernel context: rsp = {:#x}, switch() returns into {}",
                    value(process, "context_rsp"),
                    kernel_at(value(process, "context_return"))
                ),
            ],
            None => missing("the first process"),
        },
        why::FILL_KERNEL_STACK,
        vec![source(at::NEW_USER), source(at::PREPARE)],
    ));
    let enter_user_mode = kernel.address_of("enter_user_mode");
    first.push(row(
        Column::OsRun,
        "return-from-trap",
        vec![format!(
            "{} in enter_user_mode ({})",
            text(process, "return"),
            enter_user_mode.map_or_else(|| "?".to_string(), |address| format!("{address:#x}"))
        )],
        why::RETURN_FROM_TRAP,
        vec![source(at::ENTER_USER), source(at::ENTER_USER_MODE)],
    ));
    first.push(row(
        Column::Hardware,
        "restore regs from kernel stack, move to user mode, jump to main",
        vec![format!(
            "rip ← {}, rsp ← {:#x}, CPL 3 (cs {:#x})",
            user_at(entry),
            value(process, "rsp"),
            value(process, "cs")
        )],
        why::TO_USER,
        Vec::new(),
    ));
    let syscalls: Vec<&ExplainRecord> = records.all("syscall").collect();
    if syscalls.is_empty() {
        first.push(row(
            Column::Program,
            "run main(), call system call, trap into OS",
            missing("no system call"),
            why::SYSCALL,
            Vec::new(),
        ));
    }
    for (index, call) in syscalls.iter().enumerate() {
        let call = Some(*call);
        let number = value(call, "number");
        let return_rip = value(call, "rcx");
        let args = text(call, "args").replace(',', ", ");
        first.push(row(
            Column::Program,
            "call system call, trap into OS",
            vec![format!(
                "system call {} of pid {}: {}({args}): rax = {number}, `syscall` at {}",
                index + 1,
                text(call, "pid"),
                syscall_name(number),
                user_at(return_rip.wrapping_sub(2))
            )],
            why::SYSCALL,
            Vec::new(),
        ));
        first.push(row(
            Column::Hardware,
            "save regs to kernel stack, move to kernel mode, jump to trap handler",
            vec![
                format!(
                    "rcx ← {return_rip:#x} (the return rip), r11 ← {:#x} (rflags), CS ← {kernel_cs:#x}, SS ← {:#x} (ring 0), rip ← LSTAR = {}",
                    value(call, "r11"),
                    kernel_cs + 8,
                    kernel_at(lstar)
                ),
                format!(
                    "the entry code saves the registers in the trap frame at {:#x}, at the top of pid {}'s kernel stack (ends {:#x})",
                    value(call, "frame"),
                    text(call, "pid"),
                    value(call, "kstack_top")
                ),
            ],
            why::HARDWARE_SAVES,
            vec![source(at::SYSCALL_ENTRY)],
        ));
        let handler = value(call, "handler");
        let mut sources = vec![source(at::DISPATCH)];
        sources.extend(kernel.location(handler));
        let path = match text(call, "path") {
            "fast" => "the fast path: served inside the SYSCALL entry",
            "fast-then-full" => "the fast path, then the serve loop (the kernel had work: a signal, an exit)",
            _ => "the general path: out of enter_user into the serve loop (it needs the whole frame)",
        };
        first.push(row(
            Column::OsRun,
            "handle trap, do work of syscall, return-from-trap",
            vec![
                format!("handler {}", kernel_at(handler)),
                format!("result {} in rax; {path}", describe_result(value(call, "result"))),
            ],
            why::HANDLE_SYSCALL,
            sources,
        ));
        first.push(row(
            Column::Hardware,
            "restore regs from kernel stack, move to user mode, jump to PC after trap",
            vec![format!("{}: rip ← {}, CPL 3", text(call, "return"), user_at(value(call, "resume_rip")))],
            why::BACK_TO_USER,
            vec![source(at::SYSCALL_SYSRET)],
        ));
    }
    for fault in records.all("exception") {
        let fault = Some(fault);
        let vector = value(fault, "vector");
        first.push(row(
            Column::Program,
            "cause an exception",
            vec![format!(
                "pid {} ({}) at {}: vector {vector} ({}), address {:#x}",
                text(fault, "pid"),
                text(fault, "name"),
                user_at(value(fault, "rip")),
                vector_name(vector),
                value(fault, "address")
            )],
            why::EXCEPTION,
            Vec::new(),
        ));
        first.push(row(
            Column::Hardware,
            "save regs to kernel stack, move to kernel mode, jump to trap handler",
            vec![format!(
                "push ss, rsp, rflags, cs, rip and error code {:#x} below {:#x} (its kernel stack); rip ← gate {vector} = {}",
                value(fault, "error_code"),
                value(fault, "kstack_top"),
                kernel_at(gate(vector).max(value(boot, "gate0") + vector * 16))
            )],
            why::HARDWARE_SAVES,
            vec![source(at::TRAP_COMMON)],
        ));
        let signal = value(fault, "signal");
        first.push(row(
            Column::OsRun,
            "handle the trap",
            vec![if signal == 0 {
                "resolved: the page is mapped now and the instruction runs again".to_string()
            } else {
                format!(
                    "not resolvable: {} sent to pid {} alone",
                    kernel_core::abi::signal::name(signal as u8).unwrap_or("a signal"),
                    text(fault, "pid")
                )
            }],
            why::EXCEPTION_HANDLED,
            vec![source(at::FAULT)],
        ));
    }

    // With a timer interrupt: the first preemption.
    let preempt = records.first("preempt");
    let tick_hz = value(boot, "tick_hz").max(1);
    let mut second = vec![trap_table(), syscall_handler(true)];
    second.push(row(
        Column::OsBoot,
        "start interrupt timer",
        vec![
            format!(
                "local APIC timer: vector {}, periodic, {} counts of its {} Hz clock = every {} ms",
                value(boot, "timer_vector"),
                value(boot, "timer_counts"),
                value(boot, "apic_hz"),
                1000 / tick_hz
            ),
            format!("scheduler: policy {}, quantum {} ms", text(boot, "policy"), value(boot, "quantum_ms")),
        ],
        why::START_TIMER,
        vec![source(at::TIMER_START)],
    ));
    second.push(row(
        Column::Hardware,
        "start timer; interrupt CPU in X ms",
        vec![format!("X = {} ms: {tick_hz} interrupts a second, from before the first program runs", 1000 / tick_hz)],
        why::TIMER_TICKS,
        vec![source(at::TICK)],
    ));
    let none = || missing("no timer interrupt switched processes in this run");
    let (a, b) = (text(preempt, "from"), text(preempt, "to"));
    second.push(row(
        Column::Program,
        "Process A",
        match preempt {
            Some(_) => vec![format!(
                "pid {a} ({}) runs in user mode, at {} when the timer fires",
                text(preempt, "from_name"),
                user_at(value(preempt, "user_rip"))
            )],
            None => none(),
        },
        why::PROCESS_A,
        Vec::new(),
    ));
    second.push(row(
        Column::Hardware,
        "timer interrupt; save regs(A) to k-stack(A); move to kernel mode; jump to trap handler",
        match preempt {
            Some(_) => vec![
                format!(
                    "pushed on A's kernel stack (trap frame at {:#x}, stack top {:#x}): SS {:#x}, RSP {:#x}, RFLAGS {:#x}, CS {:#x}, RIP {:#x}",
                    value(preempt, "frame"),
                    value(preempt, "kstack_top"),
                    value(preempt, "user_ss"),
                    value(preempt, "user_rsp"),
                    value(preempt, "user_rflags"),
                    value(preempt, "user_cs"),
                    value(preempt, "user_rip")
                ),
                format!("rip ← gate 32 = {}, CPL 0", kernel_at(gate(32))),
            ],
            None => none(),
        },
        why::TIMER_INTERRUPT,
        vec![source(at::TRAP_COMMON)],
    ));
    second.push(row(
        Column::OsRun,
        "handle the trap; call switch(): save regs(A) → proc-struct(A), restore regs(B) ← proc-struct(B), switch to k-stack(B); return-from-trap (into B)",
        match preempt {
            Some(_) => vec![
                format!(
                    "policy {}: A's quantum ({} ms) expired → B = pid {b} ({})",
                    text(preempt, "policy"),
                    value(preempt, "quantum_ms"),
                    text(preempt, "to_name")
                ),
                format!(
                    "switch(): A's kernel registers saved at rsp {:#x}, to resume at {}",
                    value(preempt, "from_context_rsp"),
                    kernel_at(value(preempt, "from_context_return"))
                ),
                format!(
                    "B's restored from rsp {:#x}, returning into {}; B's kernel stack ends {:#x}",
                    value(preempt, "to_context_rsp"),
                    kernel_at(value(preempt, "to_context_return")),
                    value(preempt, "to_kstack_top")
                ),
                format!("return-from-trap into B: {}", text(preempt, "return")),
            ],
            None => none(),
        },
        why::SWITCH,
        vec![source(at::SWITCH_AWAY), source(at::SWITCH), source(at::SERVE)],
    ));
    second.push(row(
        Column::Hardware,
        "restore regs(B) ← k-stack(B); move to user mode; jump to B's PC",
        match preempt {
            Some(_) => vec![format!(
                "rip ← {}, rsp ← {:#x}, rflags ← {:#x}, CPL 3",
                user_at(value(preempt, "to_rip")),
                value(preempt, "to_rsp"),
                value(preempt, "to_rflags")
            )],
            None => none(),
        },
        why::INTO_B,
        vec![source(at::ENTER_USER_MODE)],
    ));
    second.push(row(
        Column::Program,
        "Process B",
        match preempt {
            Some(_) => vec![format!("pid {b} ({}) runs in user mode", text(preempt, "to_name"))],
            None => none(),
        },
        why::PROCESS_B,
        Vec::new(),
    ));
    [
        Table { title: "LDE protocol (without interrupts)", rows: first },
        Table { title: "LDE protocol (timer interrupt)", rows: second },
    ]
}

/// The tables as text, for a terminal or a file.
pub fn render_text(tables: &[Table]) -> String {
    let mut out = String::new();
    for table in tables {
        let _ = writeln!(out, "{} — from this run", table.title);
        for row in &table.rows {
            let _ = writeln!(out, "  [{}] {}", row.column.heading(), row.step);
            for value in &row.values {
                let _ = writeln!(out, "      {value}");
            }
            let _ = writeln!(out, "      why: {}", row.note);
            for source in &row.sources {
                let _ = writeln!(out, "      at: {source}");
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_found_at_their_definition() {
        for place in [at::IDT_LOAD, at::INIT_SYSCALL, at::SYSCALL_ENTRY, at::SWITCH, at::SWITCH_AWAY, at::STACK_BUILD] {
            let found = source(place);
            let line = found.line.unwrap_or_else(|| panic!("{place:?} not found"));
            let text = std::fs::read_to_string(repository().join(place.0)).unwrap();
            assert!(text.lines().nth(line as usize - 1).unwrap().contains(place.1), "{found}");
        }
    }

    #[test]
    fn results_read_as_a_c_caller_sees_them() {
        assert_eq!(describe_result(-14i64 as u64), "-14 (-EFAULT)");
        assert_eq!(describe_result(5), "5");
        assert_eq!(describe_result(0x4000_0000), "0x40000000");
    }

    #[test]
    fn a_run_without_records_still_gives_every_row() {
        let none = Symbols::empty();
        let [first, second] = tables(&[], &none, &none);
        assert_eq!(first.rows.len(), 9);
        assert_eq!(second.rows.len(), 9);
        assert!(render_text(&[first, second]).contains("not recorded in this run"));
    }
}
