//! timeshare: a small x86_64 kernel that virtualizes the CPU by limited direct
//! execution. `main` is the boot sequence, and reads as the LDE protocol's "at boot"
//! column: install the trap table, start the timer, then create the first process
//! and return-from-trap into it.
//!
//! The kernel proper is safe Rust: all code the compiler cannot check (`asm!`, raw
//! pointers, device and MMU access) lives in the base crate, `timeshare_base`, behind
//! safe types.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[macro_use]
extern crate timeshare_base;

mod explain;
mod fs;
mod futex;
mod oom;
mod process;
mod random;
mod sched;
mod signal;
mod smp;
mod syscall;
mod trace;
mod trap;

use timeshare_base::{arch, fail, log, mm, sync, time};

use alloc::vec::Vec;

use arch::x86_64::debugcon::{self, Channel};
use arch::x86_64::{apic, entry, ioapic, percpu, pic, serial};
use kernel_core::bootargs;
use kernel_core::cmdline::{self, SelfTest, Switch};
use kernel_core::initstack::{self, Strings};
use timeshare_base::BootInfo;

/// APIC timer interrupts per second: the scheduler's tick.
const TICK_HZ: u64 = 1000;

/// The boot sequence, given what the machine has (memory map, command line,
/// initrd), on the boot stack with the boot page tables and interrupts off; never
/// returns.
pub fn main(boot: BootInfo) -> ! {
    timeshare_base::register_panic_report(report_current_program);
    arch::x86_64::stop::register_running_pid(sched::current_pid);

    // Memory: frames, the kernel heap, and page tables of our own.
    let memory = mm::init(&boot);
    mm::address_space::register_reclaim_for_running(oom::reclaim_for_running);

    // The trap table: segments and TSS, the IDT for all 256 vectors, SYSCALL; and
    // the CPU features the kernel relies on (SMEP, SMAP, XSAVE for the user's FPU):
    // what every CPU sets up for itself (arch/x86_64/smp.rs).
    arch::x86_64::smp::init_this_cpu(percpu::PerCpu::boot_cpu());
    entry::register_kernel_interrupt(trap::interrupt_in_kernel);

    let cmdline = mm::physical_bytes(boot.cmdline);
    if cmdline.len() > cmdline::MAX_LEN {
        fail(format_args!("the kernel command line is longer than {} bytes: QEMU cuts it", cmdline::MAX_LEN));
    }
    let cmdline = core::str::from_utf8(cmdline).unwrap_or("");
    let options = match cmdline::parse(cmdline) {
        Ok(options) => options,
        Err(error) => fail(format_args!("bad kernel command line: {error}")),
    };
    log::set_level(options.log_level);
    process::lifecycle::report_exits(options.accounting == Switch::On);
    random::seed(options.seed);
    process::set_limits(memory.total_frames as u64, options.pid_max);
    info!("timeshare: {} MiB free, command line `{cmdline}`", memory.total_frames * 4096 >> 20);
    // The protections limited direct execution relies on, checked where they live.
    mm::selftest::check();

    // The timer: calibrated against the PIT, then ticking before any program runs,
    // so no program can keep the CPU.
    pic::disable();
    apic::init(memory.apic_registers);
    ioapic::init(memory.ioapic_registers);
    let rates = apic::calibrate();
    time::init(rates.tsc_hz);
    info!(
        "tsc {} MHz, apic timer {} MHz, quantum {} ms, sched {}",
        rates.tsc_hz / 1_000_000,
        rates.apic_timer_hz / 1_000_000,
        options.quantum_ms,
        options.sched.word()
    );
    let timer_counts = (rates.apic_timer_hz / TICK_HZ) as u32;
    apic::start_periodic_timer(timer_counts, rates.tsc_hz / TICK_HZ);
    // The other CPUs the firmware lists, each set up as this one and answering an
    // IPI; they run the scheduler once it is set up (smp.rs).
    arch::x86_64::smp::boot_cpu_online();
    let online = arch::x86_64::smp::start_application_processors(&boot, smp::ap_main);
    let (answered, broadcast_answered) = smp::ping_application_processors();
    info!(
        "cpus online: {online}; ping IPIs answered: {answered} of {0}, broadcast: {broadcast_answered} of {0}",
        online - 1
    );
    trace::init(options.trace_events, rates.tsc_hz);
    explain::init(
        options.explain_syscalls,
        explain::Boot {
            timer_vector: apic::TIMER_VECTOR,
            timer_counts,
            apic_timer_hz: rates.apic_timer_hz,
            tick_hz: TICK_HZ,
            policy: options.sched.word(),
            quantum_ms: options.quantum_ms,
        },
    );
    // The scheduling policy (`sched=`, kernel-core/src/sched): who runs next.
    sched::init(|| kernel_core::sched::from_options(&options, TICK_HZ as u32));

    // The console, by interrupt; then the host may start sending input.
    serial::init();
    if let Err(error) = fs::console::init(&options) {
        fail(format_args!("console: {error}"));
    }
    debugcon::write(Channel::Control, b"ready\n");

    // The file system from the initrd: the archive, then maybe the first program's
    // argv and envp.
    let Some(initrd) = boot.initrd else { fail(format_args!("no initrd: nothing to run")) };
    let (archive, init_strings) = match bootargs::split(mm::physical_bytes(initrd)) {
        Ok(split) => split,
        Err(error) => fail(format_args!("bad initrd: {error}")),
    };
    match fs::rootfs::init(archive) {
        Ok(files) => info!("initrd: {files} entries"),
        Err(error) => fail(format_args!("bad initrd: {error}")),
    }
    fs::copy_out::init(options.copy_out.clone());

    // `selftest=`: a forbidden access on purpose, which must end the machine.
    match options.selftest {
        Some(SelfTest::ApPanic) => smp::panic_on_another_cpu(),
        Some(SelfTest::PanicAll) => smp::arm_panic_all(),
        Some(SelfTest::TlbShootdown) => mm::selftest::tlb_shootdown(),
        Some(test) => mm::selftest::run(test),
        None => {}
    }

    // The first process: a process-list entry, memory, the program, its stack with
    // argv, and a kernel stack holding the registers it starts with. Its argv and
    // envp come from the initrd, or else from the command line (a kernel booted by
    // hand with `-append`).
    let path = options.init.as_bytes();
    let mut from_cmdline = Vec::new();
    let strings = match init_strings {
        Some(strings) => strings,
        None => {
            let argv = core::iter::once(path).chain(options.init_args.iter().map(Vec::as_slice));
            let envp = options.init_env.iter().map(Vec::as_slice);
            if let Err(error) =
                argv.chain(envp).try_for_each(|string| initstack::push_string(&mut from_cmdline, string))
            {
                fail(format_args!("cannot run {}: {error}", options.init));
            }
            Strings::new(&from_cmdline, options.init_args.len() + 1, options.init_env.len())
                .expect("one NUL-terminated string for each")
        }
    };
    if let Err(errno) = process::exec::spawn_init(path, strings) {
        fail(format_args!("cannot run {}: {}", options.init, kernel_core::abi::errno::name(errno).unwrap_or("error")));
    }

    // Return-from-trap into it, through the scheduler; this CPU idles here after.
    sched::run()
}

/// The panic report's line about the program the kernel was serving, and its
/// registers when it last entered the kernel: a system call's number and arguments
/// reproduce it.
fn report_current_program() {
    if let Some(pid) = sched::current_pid() {
        match entry::last_user_entry() {
            Some(frame) => {
                let (number, args) = frame.syscall_args();
                error!(
                    "current: pid {pid}; its last entry from user mode: rax {number:#x} (its system call, if it made one), \
                     rdi {:#x} rsi {:#x} rdx {:#x} r10 {:#x} r8 {:#x} r9 {:#x}, rip {:#x} rsp {:#x}",
                    args[0], args[1], args[2], args[3], args[4], args[5], frame.rip, frame.rsp
                );
            }
            None => error!("current: pid {pid}"),
        }
    }
}
