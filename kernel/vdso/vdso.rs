//! The vDSO: the functions Linux's vDSO exports (version LINUX_2.6), run in user
//! mode in every process, reading the clock page the kernel maps read-only just
//! below this image. Built by kernel/base/build.rs into a shared object the kernel
//! embeds and maps at exec.
//!
//! It is user code: it may touch only the clock page and the caller's pointers,
//! exactly as the C library would write through them (a bad pointer faults in
//! the program, as with Linux's vDSO). Whatever the clock page cannot answer
//! goes to the real system call, so errno stays the kernel's.
#![no_std]
#![no_main]

#[path = "../../kernel-core/src/clock.rs"]
mod clock;

use clock::ClockPage;

const SYS_GETTIMEOFDAY: u64 = 96;
const SYS_TIME: u64 = 201;
const SYS_CLOCK_GETTIME: u64 = 228;
const SYS_GETCPU: u64 = 309;
const NANOS_PER_SECOND: u64 = 1_000_000_000;
const NANOS_PER_MICROSECOND: u64 = 1_000;

#[repr(C)]
pub struct Timespec {
    seconds: i64,
    nanoseconds: i64,
}

#[repr(C)]
pub struct Timeval {
    seconds: i64,
    microseconds: i64,
}

#[repr(C)]
pub struct Timezone {
    minutes_west: i32,
    dst_time: i32,
}

/// The clock page: the page below this image's first byte.
#[inline(always)]
fn clock_page() -> &'static ClockPage {
    let address: usize;
    // SAFETY: a RIP-relative address computation (no memory access); the linker
    // script puts `__vvar_page` one page below the image, where the kernel maps
    // the clock page with every copy of the image.
    unsafe { core::arch::asm!("lea {}, [rip + __vvar_page]", out(reg) address, options(nomem, nostack, pure)) };
    // SAFETY: the kernel keeps the clock page mapped readable for as long as the
    // image is (the two come and go together at exec); a `ClockPage` is all
    // atomics, so the kernel's concurrent writes are no data race.
    unsafe { &*(address as *const ClockPage) }
}

#[inline(always)]
fn rdtsc() -> u64 {
    // SAFETY: RDTSC only reads a counter; the kernel leaves CR4.TSD clear so it
    // runs in user mode.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// The system call `number` with two arguments.
#[inline(always)]
fn syscall2(number: u64, first: u64, second: u64) -> i64 {
    let result: i64;
    // SAFETY: the SYSCALL instruction with the Linux calling convention (it
    // clobbers rcx and r11); the kernel checks every argument.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") number as i64 => result,
            in("rdi") first,
            in("rsi") second,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    result
}

#[no_mangle]
pub extern "C" fn __vdso_clock_gettime(clock: i32, time: *mut Timespec) -> i64 {
    let Some(nanoseconds) = clock_page().read().clock_ns(clock, rdtsc()) else {
        return syscall2(SYS_CLOCK_GETTIME, clock as i64 as u64, time as u64);
    };
    // SAFETY: the caller's pointer, written as the C library itself would.
    unsafe {
        time.write(Timespec {
            seconds: (nanoseconds / NANOS_PER_SECOND) as i64,
            nanoseconds: (nanoseconds % NANOS_PER_SECOND) as i64,
        })
    };
    0
}

#[no_mangle]
pub extern "C" fn __vdso_gettimeofday(time: *mut Timeval, zone: *mut Timezone) -> i64 {
    let values = clock_page().read();
    if values.conversion.mult == 0 {
        return syscall2(SYS_GETTIMEOFDAY, time as u64, zone as u64);
    }
    let nanoseconds = values.realtime_ns(rdtsc());
    // SAFETY: the caller's pointers (each may be null), written as the C library
    // itself would.
    unsafe {
        if let Some(time) = time.as_mut() {
            time.seconds = (nanoseconds / NANOS_PER_SECOND) as i64;
            time.microseconds = (nanoseconds % NANOS_PER_SECOND / NANOS_PER_MICROSECOND) as i64;
        }
        if let Some(zone) = zone.as_mut() {
            zone.minutes_west = 0;
            zone.dst_time = 0;
        }
    }
    0
}

#[no_mangle]
pub extern "C" fn __vdso_time(time: *mut i64) -> i64 {
    let values = clock_page().read();
    if values.conversion.mult == 0 {
        return syscall2(SYS_TIME, time as u64, 0);
    }
    let seconds = (values.realtime_ns(rdtsc()) / NANOS_PER_SECOND) as i64;
    // SAFETY: the caller's pointer (may be null), written as the C library would.
    if let Some(time) = unsafe { time.as_mut() } {
        *time = seconds;
    }
    seconds
}

#[no_mangle]
pub extern "C" fn __vdso_getcpu(cpu: *mut u32, node: *mut u32, _cache: *mut u8) -> i64 {
    if !clock_page().read().cpu_number_in_tsc_aux {
        return syscall2(SYS_GETCPU, cpu as u64, node as u64);
    }
    let mut number = 0u32;
    // SAFETY: RDTSCP reads the TSC and IA32_TSC_AUX, which the kernel set to the
    // CPU's number on each CPU (it says so in the clock page).
    unsafe { core::arch::x86_64::__rdtscp(&mut number) };
    // SAFETY: the caller's pointers (each may be null), written as the C library
    // itself would.
    unsafe {
        if let Some(cpu) = cpu.as_mut() {
            *cpu = number;
        }
        if let Some(node) = node.as_mut() {
            *node = 0;
        }
    }
    0
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // Nothing here can panic (no indexing, no overflow checks in release); should
    // that change, the program gets SIGILL rather than a hang.
    // SAFETY: UD2 only raises #UD.
    unsafe { core::arch::asm!("ud2", options(noreturn)) }
}
