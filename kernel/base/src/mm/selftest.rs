//! Are the kernel's protections really on? `check` looks at boot, from the control
//! registers and the kernel's own page tables (SMEP, SMAP, NX, write protection,
//! per-section permissions of the kernel image, the unmapped guard page under
//! kernel stacks) and says so in the log, loudly if one is missing. `run` (the
//! debug-only `selftest=` option) goes further: it makes the forbidden access on
//! purpose, so that a test sees the CPU refuse it (the kernel's fault report and
//! failure), or the kernel's own report that it was not refused.

use alloc::vec::Vec;
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags};
use x86_64::structures::paging::PageTableFlags as Flags;

use core::sync::atomic::{AtomicU64, Ordering};

use super::address_space::{AddressSpace, Protection};
use super::kernel_tree;
use super::kstack::KernelStack;
use crate::arch::x86_64::percpu::PerCpu;
use crate::arch::x86_64::{cpu, smp, tlb};
use crate::sync::{class, OrderedMutex};
use crate::time;
use kernel_core::acpi::MAX_CPUS;
use kernel_core::cmdline::SelfTest;

extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
}

/// Kernel data the `nx` test tries to run: `ret`, in a writable, non-executable page.
static mut NOT_CODE: [u8; 16] = [0xc3; 16];

/// Checks the protections the kernel relies on and logs what it found: one line,
/// or an error line per missing protection. Returns how many are missing.
pub fn check() -> usize {
    let mut missing = Vec::new();
    let cr0 = Cr0::read();
    let cr4 = Cr4::read();
    let efer = Efer::read();
    let cpu = crate::arch::x86_64::cpu::features();
    if !cr0.contains(Cr0Flags::WRITE_PROTECT) {
        missing.push("CR0.WP (the kernel could write read-only pages)");
    }
    if !efer.contains(EferFlags::NO_EXECUTE_ENABLE) {
        missing.push("EFER.NXE (no page is non-executable)");
    }
    if cpu.smep && !cr4.contains(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION) {
        missing.push("CR4.SMEP (the kernel could run user code)");
    }
    if cpu.smap && !cr4.contains(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION) {
        missing.push("CR4.SMAP (the kernel could touch user memory directly)");
    }
    if cpu.umip && !cr4.contains(Cr4Flags::USER_MODE_INSTRUCTION_PREVENTION) {
        missing.push("CR4.UMIP (programs could read where the descriptor tables are)");
    }
    if !cr0.contains(Cr0Flags::ALIGNMENT_MASK) {
        missing.push("CR0.AM (a program's RFLAGS.AC would not check alignment)");
    }
    let tree = kernel_tree();
    let flags_at = |address: u64| tree.translate(address).map(|(_, flags)| flags);
    let text = &raw const __text_start as u64;
    let rodata = &raw const __text_end as u64;
    let data = &raw const __rodata_end as u64;
    match flags_at(text) {
        Some(flags) if !flags.contains(Flags::WRITABLE) && !flags.contains(Flags::NO_EXECUTE) => {}
        _ => missing.push("kernel text read-only and executable"),
    }
    match flags_at(rodata) {
        Some(flags) if !flags.contains(Flags::WRITABLE) && flags.contains(Flags::NO_EXECUTE) => {}
        _ => missing.push("kernel read-only data neither writable nor executable"),
    }
    match flags_at(data) {
        Some(flags) if flags.contains(Flags::NO_EXECUTE) => {}
        _ => missing.push("kernel data not executable"),
    }
    if [text, rodata, data]
        .iter()
        .any(|&address| flags_at(address).is_some_and(|flags| flags.contains(Flags::USER_ACCESSIBLE)))
    {
        missing.push("the kernel image out of user mode's reach");
    }
    match KernelStack::new() {
        Some(stack) if flags_at(stack.guard_page()).is_none() && flags_at(stack.guard_page() + 4096).is_some() => {}
        Some(_) => missing.push("an unmapped guard page under each kernel stack"),
        None => {}
    }
    if missing.is_empty() {
        info!(
            "protections: CR0.WP, EFER.NXE{}{}; kernel text r-x, rodata r--, data rw- (no user access); kernel stack guard pages unmapped",
            if cpu.smep { ", SMEP" } else { " (no SMEP on this CPU)" },
            if cpu.smap { ", SMAP" } else { " (no SMAP on this CPU)" },
        );
        info!(
            "user-mode limits: CR0.AM (alignment checks on RFLAGS.AC){}",
            if cpu.umip { ", UMIP (sgdt, sidt, sldt, smsw, str emulated)" } else { " (no UMIP on this CPU)" }
        );
    }
    for what in &missing {
        error!("protection missing: {what}");
    }
    missing.len()
}

/// Makes the access `test` names, which must fault (the kernel then reports the
/// fault and fails: `arch::x86_64::entry::kernel_trap`). If it does not, says which
/// protection is missing and fails all the same.
pub fn run(test: SelfTest) -> ! {
    const USER_PAGE: u64 = 0x40_0000;
    match test {
        SelfTest::Panic => panic!("selftest=panic: a kernel panic on purpose"),
        // It needs the kernel's IPI handler: the kernel runs it (smp.rs).
        SelfTest::ApPanic | SelfTest::PanicAll => {
            crate::fail(format_args!("selftest={} is run by the kernel", test.word()))
        }
        // It passes and the boot goes on: the kernel calls `tlb_shootdown`.
        SelfTest::TlbShootdown => crate::fail(format_args!("selftest=tlb-shootdown is run by `tlb_shootdown`")),
        SelfTest::Smap | SelfTest::Smep => {
            // A user page (user-accessible, executable, holding `ret`) in an address
            // space of its own, made current.
            let mut memory = AddressSpace::new().expect("memory for the self-test");
            memory
                .add_region(USER_PAGE, USER_PAGE + 4096, Protection { read: true, write: false, execute: true })
                .expect("a free page for the self-test");
            memory.load(USER_PAGE, &[0xc3]).expect("memory for the self-test");
            memory.activate();
            if test == SelfTest::Smap {
                info!("selftest=smap: reading user address {USER_PAGE:#x} from the kernel; SMAP must fault");
                // SAFETY: none; this read is meant to fault (SMAP). If it does not,
                // it reads a mapped page and the kernel stops below.
                let byte = unsafe { core::ptr::read_volatile(USER_PAGE as *const u8) };
                crate::fail(format_args!(
                    "selftest=smap: the kernel read user memory ({byte:#x}): SMAP is not enforced"
                ));
            } else {
                info!("selftest=smep: calling user address {USER_PAGE:#x} from the kernel; SMEP must fault");
                // SAFETY: none; this call is meant to fault (SMEP). If it does not,
                // the code is a lone `ret`.
                let code: extern "C" fn() = unsafe { core::mem::transmute(USER_PAGE as usize) };
                code();
                crate::fail(format_args!("selftest=smep: the kernel ran user code: SMEP is not enforced"));
            }
        }
        SelfTest::Nx => {
            let address = &raw const NOT_CODE as u64;
            info!("selftest=nx: calling kernel data at {address:#x}; NX must fault");
            // SAFETY: none; this call is meant to fault (the page is NX). If it does
            // not, the bytes are `ret`.
            let code: extern "C" fn() = unsafe { core::mem::transmute(address as usize) };
            code();
            crate::fail(format_args!("selftest=nx: the kernel ran its data: NX is not enforced"));
        }
        SelfTest::Text => {
            let address = run as *const () as u64;
            info!("selftest=text: writing the kernel's text at {address:#x}; the page is read-only, it must fault");
            // SAFETY: none; this write is meant to fault (read-only text, CR0.WP).
            // If it does not, it rewrites a byte with itself.
            unsafe {
                let byte = core::ptr::read_volatile(address as *const u8);
                core::ptr::write_volatile(address as *mut u8, byte);
            }
            crate::fail(format_args!("selftest=text: the kernel wrote its own text: it is not read-only"));
        }
        SelfTest::LockOrder => {
            let run_queue = OrderedMutex::new(class::RUN_QUEUE, ());
            let address_space = OrderedMutex::new(class::ADDRESS_SPACE, ());
            info!("selftest=lock-order: taking an address space's lock while holding the run queue's");
            let _outer = run_queue.lock();
            let _inner = address_space.lock();
            crate::fail(format_args!(
                "selftest=lock-order: two locks taken out of order unchecked (the lock order is checked \
                 with debug assertions only: --kernel-profile dev)"
            ));
        }
        SelfTest::Guard => {
            let stack = KernelStack::new().expect("memory for the self-test");
            let address = stack.guard_page() + 4096 - 8;
            info!("selftest=guard: writing {address:#x}, in the guard page under a kernel stack; it must fault");
            // SAFETY: none; this write is meant to fault (the guard page is not
            // mapped). If it is mapped after all, it writes a page nobody uses.
            unsafe { core::ptr::write_volatile(address as *mut u64, 0) };
            crate::fail(format_args!("selftest=guard: the guard page under a kernel stack is mapped"));
        }
    }
}

/// The page `tlb_shootdown`'s readers read.
const SHOOTDOWN_PAGE: u64 = 0x40_0000;
/// How many times the boot CPU gives the page a new frame and value.
const SHOOTDOWN_ROUNDS: u64 = 64;
/// Reads each reader makes between two changes (so each change finds the page's
/// translation cached everywhere).
const READS_PER_ROUND: u64 = 64;
/// How long the boot CPU waits for the readers' progress before it gives up.
const READER_TIMEOUT_NS: u64 = 5_000_000_000;
/// `SHOOTDOWN_ROUND` when the readers are to stop.
const READERS_STOP: u64 = u64::MAX;

/// The readers' address space, which the boot CPU changes under its lock.
static SHOOTDOWN_SPACE: spin::Once<spin::Mutex<AddressSpace>> = spin::Once::new();
/// The value the page holds since the last change's shootdown returned: a reader
/// that sees this round must read at least this value.
static SHOOTDOWN_ROUND: AtomicU64 = AtomicU64::new(0);
/// Each reader's reads.
static READS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// The first stale read: (reader << 56) | (round << 28) | value; 0: none.
static STALE_READ: AtomicU64 = AtomicU64::new(0);
/// Readers that have stopped.
static READERS_DONE: AtomicU64 = AtomicU64::new(0);

/// `selftest=tlb-shootdown`: every other CPU makes a test address space live and
/// reads its one page in a loop (taking interrupts between reads, as a program
/// would); the boot CPU, round after round, forks the space (its page becomes
/// copy-on-write: rights narrowed) and writes the round's number into it (a new
/// frame replaces the shared one), each change shot down before it returns. No
/// reader may then read an older value through a translation it cached: that is a
/// kernel failure naming the reader, the round and the value. Passes with a log
/// line, and the boot goes on, while CPU 1 shoots at every other CPU until the
/// machine stops (`shoot_until_power_off`).
pub fn tlb_shootdown() {
    let readers = smp::online_count();
    if readers < 2 {
        crate::fail(format_args!("selftest=tlb-shootdown needs a second CPU (--cpus 2)"));
    }
    let mut space = AddressSpace::new().expect("memory for the self-test");
    space
        .add_region(SHOOTDOWN_PAGE, SHOOTDOWN_PAGE + 4096, Protection::READ_WRITE)
        .expect("a free page for the self-test");
    space.load(SHOOTDOWN_PAGE, &1u64.to_le_bytes()).expect("memory for the self-test");
    SHOOTDOWN_ROUND.store(1, Ordering::Release);
    let space = SHOOTDOWN_SPACE.call_once(|| spin::Mutex::new(space));
    let others = ((1u64 << readers) - 1) & !1;
    tlb::post_job(others, read_shootdown_page);

    // The copies share the old frames: kept until the end, so that no old frame is
    // handed out again as a new one (a stale read would then find the new value).
    let mut copies = Vec::new();
    for round in 2..=SHOOTDOWN_ROUNDS {
        wait_for_reads(readers, round - 1);
        let mut space = space.lock();
        copies.push(space.fork().expect("memory for the self-test"));
        space.write(SHOOTDOWN_PAGE, &round.to_le_bytes()).expect("memory for the self-test");
        drop(space);
        SHOOTDOWN_ROUND.store(round, Ordering::Release);
    }
    wait_for_reads(readers, SHOOTDOWN_ROUNDS);
    SHOOTDOWN_ROUND.store(READERS_STOP, Ordering::Release);
    let deadline = time::monotonic_ns() + READER_TIMEOUT_NS;
    while READERS_DONE.load(Ordering::Acquire) < readers as u64 - 1 && time::monotonic_ns() < deadline {
        core::hint::spin_loop();
    }
    let stale = STALE_READ.load(Ordering::Acquire);
    if stale != 0 {
        crate::fail(format_args!(
            "selftest=tlb-shootdown: cpu {} read {} after round {} was shot down: a stale translation",
            stale >> 56,
            stale & ((1 << 28) - 1),
            (stale >> 28) & ((1 << 28) - 1)
        ));
    }
    let reads: u64 = READS.iter().map(|reads| reads.load(Ordering::Relaxed)).sum();
    let answered: u64 = (1..readers).map(tlb::answered).sum();
    info!(
        "selftest=tlb-shootdown: {} cpus read the page {reads} times through {SHOOTDOWN_ROUNDS} rounds of \
         fork and copy-on-write, {answered} shootdowns answered: no stale read",
        readers - 1
    );
    drop(copies);
}

/// Waits until every reader has read the page `READS_PER_ROUND` times in round
/// `round`.
fn wait_for_reads(readers: usize, round: u64) {
    let deadline = time::monotonic_ns() + READER_TIMEOUT_NS;
    let reads_before: Vec<u64> = READS.iter().map(|reads| reads.load(Ordering::Acquire)).collect();
    for cpu in 1..readers {
        while READS[cpu].load(Ordering::Acquire) < reads_before[cpu] + READS_PER_ROUND {
            if time::monotonic_ns() > deadline {
                crate::fail(format_args!("selftest=tlb-shootdown: cpu {cpu} stopped reading in round {round}"));
            }
            core::hint::spin_loop();
        }
    }
}

/// A reader (on another CPU, from its shootdown interrupt): makes the space live,
/// reads the page until told to stop, records the first stale value, and goes back
/// to the kernel's tree.
fn read_shootdown_page() {
    let this = PerCpu::this().id();
    SHOOTDOWN_SPACE.get().expect("posted after it is set").lock().activate();
    loop {
        let round = SHOOTDOWN_ROUND.load(Ordering::Acquire);
        if round == READERS_STOP {
            break;
        }
        let value = read_user_u64(SHOOTDOWN_PAGE);
        if value < round {
            let record = (this as u64) << 56 | round << 28 | value.min((1 << 28) - 1);
            let _ = STALE_READ.compare_exchange(0, record, Ordering::AcqRel, Ordering::Relaxed);
        }
        READS[this].fetch_add(1, Ordering::Release);
        // An interrupt window: shootdowns reach this CPU as on a running program.
        cpu::allow_interrupts_for_an_instruction();
    }
    super::activate_kernel_tree();
    READERS_DONE.fetch_add(1, Ordering::AcqRel);
    if this == 1 {
        shoot_until_power_off();
    }
}

/// How often CPU 1 shoots at the others once the readers stopped.
const SHOT_INTERVAL_NS: u64 = 100_000;
/// The longest a shootdown of CPU 1's may wait for its answers: far more than a
/// CPU takes from anywhere it may be (interrupts are off in the kernel only for
/// short stretches), far less than a program that never enters the kernel runs.
const SHOT_ANSWER_NS: u64 = 1_000_000_000;

/// CPU 1, after the readers: a shootdown (of a kernel page: harmless) at every other
/// CPU every `SHOT_INTERVAL_NS`, until power-off. The boot CPU answers wherever the
/// boot took it (the first program in user mode, its system calls, the idle loop),
/// and shoots back at this CPU (a kernel stack's release) while this one waits for
/// its answers. An answer that takes longer than `SHOT_ANSWER_NS` is a kernel
/// failure.
fn shoot_until_power_off() -> ! {
    let page = super::phys_to_virt(0);
    loop {
        let start = time::monotonic_ns();
        tlb::flush_kernel(page..page + 4096);
        let took = time::monotonic_ns() - start;
        if took > SHOT_ANSWER_NS {
            crate::fail(format_args!("selftest=tlb-shootdown: a shootdown from cpu 1 waited {} ms", took / 1_000_000));
        }
        let next = time::monotonic_ns() + SHOT_INTERVAL_NS;
        while time::monotonic_ns() < next {
            cpu::allow_interrupts_for_an_instruction();
        }
    }
}

/// Reads the user u64 at `address` from the kernel, through the live tree (and this
/// CPU's TLB), as the program would.
fn read_user_u64(address: u64) -> u64 {
    let value: u64;
    if Cr4::read().contains(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION) {
        // SAFETY: the page is mapped present in the live tree for as long as the
        // test runs (copy-on-write only ever replaces its frame); STAC lets this one
        // load past SMAP, and CLAC puts SMAP back.
        unsafe {
            core::arch::asm!("stac", "mov {}, [{}]", "clac", out(reg) value, in(reg) address, options(nostack, readonly))
        };
    } else {
        // SAFETY: as above; without SMAP the kernel reads user pages as they are.
        value = unsafe { core::ptr::read_volatile(address as *const u64) };
    }
    value
}
