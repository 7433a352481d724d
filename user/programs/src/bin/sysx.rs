//! `sysx`: a system-call exerciser. Each check prints `ok NAME` or `FAIL NAME: DETAIL`;
//! the exit status is the number of failures. Every check holds on Linux, so the same
//! binary is a conformance test for timeshare's system-call layer: results, error
//! codes, argument validation (bad user pointers must fail with EFAULT, never reach
//! kernel memory), and that user state (%fs base, SSE registers) survives the kernel.
//!
//! Run it with stdout on a pipe, file or terminal, not /dev/null: writes to /dev/null
//! succeed without looking at the buffer, so the EFAULT checks would fail.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use core::arch::asm;
use rt::println;
use rt::syscall::{self as sys, Timespec, Timeval, errno, mmap_flags as map, prot};

rt::entry!(main);

/// A check's outcome: `Err` carries the detail printed after `FAIL name:`.
type Check = Result<(), String>;

/// A named check.
type Test = (&'static str, fn() -> Check);

/// An address in the kernel's half of the address space (the start of timeshare's
/// kernel image; also kernel memory on Linux).
const KERNEL_ADDR: usize = 0xffff_ffff_8000_0000;
const PAGE: usize = 4096;

fn main(_args: rt::Args) -> i32 {
    let checks: [Test; 25] = [
        ("getpid", getpid),
        ("getppid", getppid),
        ("gettid", gettid),
        ("ids", ids),
        ("uname", uname),
        ("clock_monotonic", clock_monotonic),
        ("gettimeofday", gettimeofday),
        ("clock_invalid", clock_invalid),
        ("brk", brk),
        ("mmap", mmap),
        ("mmap_bad_flags", mmap_bad_flags),
        ("write_null", write_null),
        ("write_kernel", write_kernel),
        ("write_unmapped", write_unmapped),
        ("read_kernel", read_kernel),
        ("enosys", enosys),
        ("arch_prctl_fs", arch_prctl_fs),
        ("ioctl_tiocgwinsz", ioctl_tiocgwinsz),
        ("rt_sigprocmask", rt_sigprocmask),
        ("writev", writev),
        ("sse_preserved", sse_preserved),
        ("nanosleep", nanosleep),
        ("sched_yield", sched_yield),
        ("write_partial_fault", write_partial_fault),
        ("heap", heap),
    ];
    let mut failures = 0;
    for (name, check) in checks {
        match check() {
            Ok(()) => println!("ok {name}"),
            Err(detail) => {
                println!("FAIL {name}: {detail}");
                failures += 1;
            }
        }
    }
    failures
}

/// `Err(detail)` unless `cond` holds.
fn ensure(cond: bool, detail: impl FnOnce() -> String) -> Check {
    if cond { Ok(()) } else { Err(detail()) }
}

/// `Ok` if a call returned exactly `-err`.
fn expect_errno(what: &str, ret: isize, err: isize) -> Check {
    ensure(ret == -err, || format!("{what} returned {ret}, expected {}", -err))
}

fn getpid() -> Check {
    let pid = sys::getpid();
    ensure(pid > 0, || format!("getpid() = {pid}"))
}

fn getppid() -> Check {
    let ppid = sys::getppid();
    ensure(ppid >= 0, || format!("getppid() = {ppid}"))
}

fn gettid() -> Check {
    let (tid, pid) = (sys::gettid(), sys::getpid());
    ensure(tid == pid, || format!("gettid() = {tid}, getpid() = {pid}"))
}

/// uid == euid and gid == egid, all valid.
fn ids() -> Check {
    let (uid, euid) = (sys::getuid(), sys::geteuid());
    let (gid, egid) = (sys::getgid(), sys::getegid());
    ensure(uid >= 0 && uid == euid && gid >= 0 && gid == egid, || {
        format!("uid {uid} euid {euid} gid {gid} egid {egid}")
    })
}

fn uname() -> Check {
    // SAFETY: Utsname is plain bytes, for which all zeros is a valid value.
    let mut u: sys::Utsname = unsafe { core::mem::zeroed() };
    let ret = sys::uname(&mut u);
    ensure(ret == 0 && u.sysname[0] != 0, || format!("uname returned {ret}"))
}

/// Two CLOCK_MONOTONIC readings in a row never go backwards.
fn clock_monotonic() -> Check {
    let (mut t1, mut t2) = (Timespec::default(), Timespec::default());
    let r1 = sys::clock_gettime(sys::clock::MONOTONIC, &mut t1);
    let r2 = sys::clock_gettime(sys::clock::MONOTONIC, &mut t2);
    ensure(r1 == 0 && r2 == 0, || format!("clock_gettime returned {r1}, {r2}"))?;
    ensure((0..1_000_000_000).contains(&t1.tv_nsec) && t1 <= t2, || format!("{t1:?} then {t2:?}"))
}

fn gettimeofday() -> Check {
    let mut tv = Timeval::default();
    let ret = sys::gettimeofday(&mut tv);
    ensure(ret == 0 && (0..1_000_000).contains(&tv.tv_usec), || format!("gettimeofday returned {ret}, {tv:?}"))
}

fn clock_invalid() -> Check {
    let mut ts = Timespec::default();
    expect_errno("clock_gettime(1000)", sys::clock_gettime(1000, &mut ts), errno::EINVAL)
}

/// Grow the break by 64 KiB: the new memory is zero and writable; shrink it back.
fn brk() -> Check {
    const GROW: usize = 64 * 1024;
    // SAFETY: asking for the break (0) changes nothing.
    let start = unsafe { sys::brk(0) };
    ensure(start > 0, || format!("brk(0) = {start}"))?;
    let start = start as usize;
    // SAFETY: nothing in this program uses the break area (rt's heap uses mmap).
    let grown = unsafe { sys::brk(start + GROW) };
    ensure(grown as usize == start + GROW, || format!("brk(+64K) = {grown:#x}, was {start:#x}"))?;
    // SAFETY: the kernel just made [start, start + GROW) ours, readable and writable.
    let mem = unsafe { core::slice::from_raw_parts_mut(start as *mut u8, GROW) };
    ensure(mem.iter().all(|&b| b == 0), || String::from("new memory is not zero"))?;
    mem.fill(0x5a);
    ensure(mem.iter().all(|&b| b == 0x5a), || String::from("new memory did not keep writes"))?;
    // SAFETY: `mem` is not used again.
    let shrunk = unsafe { sys::brk(start) };
    ensure(shrunk as usize == start, || format!("brk(back) = {shrunk:#x}, wanted {start:#x}"))
}

/// Map 3 anonymous pages: zero and writable; then mprotect to read-only and munmap.
fn mmap() -> Check {
    const LEN: usize = 3 * PAGE;
    // SAFETY: a fresh mapping where the kernel chooses cannot disturb our memory.
    let addr = unsafe { sys::mmap(0, LEN, prot::READ | prot::WRITE, map::PRIVATE | map::ANONYMOUS, -1, 0) };
    ensure(addr > 0 && (addr as usize).is_multiple_of(PAGE), || format!("mmap returned {addr:#x}"))?;
    // SAFETY: the kernel just mapped LEN readable, writable bytes at addr.
    let mem = unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, LEN) };
    ensure(mem.iter().all(|&b| b == 0), || String::from("new mapping is not zero"))?;
    mem.fill(0xa5);
    ensure(mem.iter().all(|&b| b == 0xa5), || String::from("mapping did not keep writes"))?;
    // SAFETY: from here on the memory is only read.
    let ret = unsafe { sys::mprotect(addr as usize, LEN, prot::READ) };
    ensure(ret == 0, || format!("mprotect(PROT_READ) returned {ret}"))?;
    ensure(mem[LEN - 1] == 0xa5, || String::from("read-only mapping lost its contents"))?;
    // SAFETY: `mem` is not used again.
    let ret = unsafe { sys::munmap(addr as usize, LEN) };
    ensure(ret == 0, || format!("munmap returned {ret}"))
}

/// A mapping must be either private or shared.
fn mmap_bad_flags() -> Check {
    // SAFETY: the call must fail; if it wrongly succeeds it only adds a mapping.
    let ret = unsafe { sys::mmap(0, PAGE, prot::READ | prot::WRITE, map::ANONYMOUS, -1, 0) };
    expect_errno("mmap(MAP_ANONYMOUS only)", ret, errno::EINVAL)
}

fn write_null() -> Check {
    // SAFETY: the kernel must refuse to read address 0 (nothing is mapped there).
    let ret = unsafe { sys::syscall3(sys::nr::WRITE, 1, 0, 5) };
    expect_errno("write(1, NULL, 5)", ret, errno::EFAULT)
}

fn write_kernel() -> Check {
    // SAFETY: the kernel must refuse to take data from its own memory.
    let ret = unsafe { sys::syscall3(sys::nr::WRITE, 1, KERNEL_ADDR, 5) };
    expect_errno("write(1, kernel address, 5)", ret, errno::EFAULT)
}

fn write_unmapped() -> Check {
    // SAFETY: nothing is mapped at 0x10000 (programs are linked at 0x400000).
    let ret = unsafe { sys::syscall3(sys::nr::WRITE, 1, 0x10000, 1) };
    expect_errno("write(1, 0x10000, 1)", ret, errno::EFAULT)
}

/// A write whose buffer starts in mapped memory and runs into an unmapped page must
/// not crash the kernel: Linux writes the readable part (a short write) or returns
/// EFAULT. This check allows both and prints nothing that depends on which.
fn write_partial_fault() -> Check {
    // SAFETY: a fresh two-page mapping where the kernel chooses.
    let addr = unsafe { sys::mmap(0, 2 * PAGE, prot::READ | prot::WRITE, map::PRIVATE | map::ANONYMOUS, -1, 0) };
    ensure(addr > 0, || format!("mmap returned {addr}"))?;
    let addr = addr as usize;
    // SAFETY: the second page is ours and not used by anything.
    let ret = unsafe { sys::munmap(addr + PAGE, PAGE) };
    ensure(ret == 0, || format!("munmap returned {ret}"))?;
    // Hand the kernel the last 4 bytes of the mapped page plus 4 unmapped ones, writing
    // into a pipe so nothing appears on stdout.
    let mut fds = [0; 2];
    let ret = sys::pipe2(&mut fds, 0);
    ensure(ret == 0, || format!("pipe2 returned {ret}"))?;
    // SAFETY: the kernel only reads the buffer, and must check it.
    let ret = unsafe { sys::syscall3(sys::nr::WRITE, fds[1] as usize, addr + PAGE - 4, 8) };
    sys::close(fds[0]);
    sys::close(fds[1]);
    // SAFETY: the first page is not used again.
    unsafe { sys::munmap(addr, PAGE) };
    ensure(ret == -errno::EFAULT || (0..=4).contains(&ret), || {
        format!("write across into an unmapped page returned {ret}")
    })
}

/// read(2) into kernel memory must fail, even with data ready to be read.
fn read_kernel() -> Check {
    let mut fds = [0; 2];
    let ret = sys::pipe2(&mut fds, 0);
    ensure(ret == 0, || format!("pipe2 returned {ret}"))?;
    let wrote = sys::write(fds[1], b"data");
    // SAFETY: the kernel must refuse to store into its own memory.
    let ret = unsafe { sys::syscall3(sys::nr::READ, fds[0] as usize, KERNEL_ADDR, 4) };
    sys::close(fds[0]);
    sys::close(fds[1]);
    ensure(wrote == 4, || format!("write to pipe returned {wrote}"))?;
    expect_errno("read(pipe, kernel address, 4)", ret, errno::EFAULT)
}

fn enosys() -> Check {
    // SAFETY: no system call has number 9999.
    let ret = unsafe { sys::syscall0(9999) };
    expect_errno("syscall 9999", ret, errno::ENOSYS)
}

/// Set the %fs base, read it back, and load through %fs.
fn arch_prctl_fs() -> Check {
    static BLOCK: [u64; 2] = [0x1122_3344_5566_7788, 0x99aa_bbcc_ddee_ff00];
    let want = BLOCK.as_ptr() as usize;
    let (mut old, mut got) = (0u64, 0u64);
    // SAFETY: GET_FS stores into `old`, a writable u64. rt does not use %fs, so setting
    // it for a moment (and restoring it) cannot confuse anything.
    let (r1, r2, r3, seen) = unsafe {
        let r1 = sys::arch_prctl(sys::arch::GET_FS, &mut old as *mut u64 as usize);
        let r2 = sys::arch_prctl(sys::arch::SET_FS, want);
        let r3 = sys::arch_prctl(sys::arch::GET_FS, &mut got as *mut u64 as usize);
        let seen: u64;
        asm!("mov {}, qword ptr fs:[8]", out(reg) seen, options(nostack, readonly));
        sys::arch_prctl(sys::arch::SET_FS, old as usize);
        (r1, r2, r3, seen)
    };
    ensure(r1 == 0 && r2 == 0 && r3 == 0, || format!("arch_prctl returned {r1}, {r2}, {r3}"))?;
    ensure(got as usize == want, || format!("GET_FS gave {got:#x}, set {want:#x}"))?;
    ensure(seen == BLOCK[1], || format!("fs:[8] = {seen:#x}, expected {:#x}", BLOCK[1]))
}

/// Either a terminal (0) or not (-ENOTTY); which one depends on where stdout goes.
fn ioctl_tiocgwinsz() -> Check {
    let mut ws = sys::Winsize::default();
    // SAFETY: TIOCGWINSZ writes one Winsize.
    let ret = unsafe { sys::ioctl(1, sys::TIOCGWINSZ, &mut ws as *mut sys::Winsize as usize) };
    ensure(ret == 0 || ret == -errno::ENOTTY, || format!("ioctl returned {ret}"))
}

fn rt_sigprocmask() -> Check {
    let mut old = 0;
    let ret = sys::rt_sigprocmask(sys::signal::SIG_BLOCK, Some(&0), Some(&mut old));
    ensure(ret == 0, || format!("rt_sigprocmask returned {ret}"))
}

/// Three buffers, one system call, printed as the line `writev: abc`.
fn writev() -> Check {
    let iov = [sys::IoVec::new(b"writev: "), sys::IoVec::new(b"abc"), sys::IoVec::new(b"\n")];
    let ret = sys::writev(1, &iov);
    ensure(ret == 12, || format!("writev returned {ret}, expected 12"))
}

/// Load distinct patterns into xmm0..xmm15, make 3000 system calls without touching
/// those registers, and check that they still hold the patterns. The kernel's own
/// code uses SSE, so it must save and restore the user's registers around it.
fn sse_preserved() -> Check {
    let mut before = [0u8; 256];
    for (i, b) in before.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37) ^ 0xa5;
    }
    let mut after = [0u8; 256];
    let mut ts = Timespec::default();
    // SAFETY: reads `before`, writes `after` (256 bytes each) and `ts` (one Timespec,
    // via clock_gettime); every register it changes is declared.
    unsafe {
        asm!(
            "movdqu xmm0, [{b}]", "movdqu xmm1, [{b} + 16]", "movdqu xmm2, [{b} + 32]",
            "movdqu xmm3, [{b} + 48]", "movdqu xmm4, [{b} + 64]", "movdqu xmm5, [{b} + 80]",
            "movdqu xmm6, [{b} + 96]", "movdqu xmm7, [{b} + 112]",
            "movdqu xmm8, [{b} + 128]", "movdqu xmm9, [{b} + 144]",
            "movdqu xmm10, [{b} + 160]", "movdqu xmm11, [{b} + 176]",
            "movdqu xmm12, [{b} + 192]", "movdqu xmm13, [{b} + 208]",
            "movdqu xmm14, [{b} + 224]", "movdqu xmm15, [{b} + 240]",
            "mov {n:e}, 1000",
            "2:",
            "mov eax, {getpid}", "syscall",
            "mov eax, {sched_yield}", "syscall",
            // rdi = CLOCK_MONOTONIC and rsi = &ts stay set: syscall preserves them.
            "mov eax, {clock_gettime}", "syscall",
            "dec {n:e}",
            "jnz 2b",
            "movdqu [{a}], xmm0", "movdqu [{a} + 16], xmm1", "movdqu [{a} + 32], xmm2",
            "movdqu [{a} + 48], xmm3", "movdqu [{a} + 64], xmm4", "movdqu [{a} + 80], xmm5",
            "movdqu [{a} + 96], xmm6", "movdqu [{a} + 112], xmm7",
            "movdqu [{a} + 128], xmm8", "movdqu [{a} + 144], xmm9",
            "movdqu [{a} + 160], xmm10", "movdqu [{a} + 176], xmm11",
            "movdqu [{a} + 192], xmm12", "movdqu [{a} + 208], xmm13",
            "movdqu [{a} + 224], xmm14", "movdqu [{a} + 240], xmm15",
            b = in(reg) before.as_ptr(),
            a = in(reg) after.as_mut_ptr(),
            n = out(reg) _,
            getpid = const sys::nr::GETPID,
            sched_yield = const sys::nr::SCHED_YIELD,
            clock_gettime = const sys::nr::CLOCK_GETTIME,
            in("rdi") sys::clock::MONOTONIC,
            in("rsi") &mut ts,
            out("rax") _, out("rcx") _, out("r11") _,
            out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
            out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _,
            out("xmm8") _, out("xmm9") _, out("xmm10") _, out("xmm11") _,
            out("xmm12") _, out("xmm13") _, out("xmm14") _, out("xmm15") _,
            options(nostack),
        );
    }
    match (0..16).find(|&r| before[r * 16..][..16] != after[r * 16..][..16]) {
        None => Ok(()),
        Some(r) => Err(format!("xmm{r} changed across system calls")),
    }
}

/// A 10 ms sleep returns 0 and takes at least 10 ms of CLOCK_MONOTONIC time.
fn nanosleep() -> Check {
    let (mut t1, mut t2) = (Timespec::default(), Timespec::default());
    sys::clock_gettime(sys::clock::MONOTONIC, &mut t1);
    let ret = sys::nanosleep(&Timespec { tv_sec: 0, tv_nsec: 10_000_000 }, None);
    sys::clock_gettime(sys::clock::MONOTONIC, &mut t2);
    let slept = (t2.tv_sec - t1.tv_sec) * 1_000_000_000 + (t2.tv_nsec - t1.tv_nsec);
    ensure(ret == 0 && slept >= 10_000_000, || format!("nanosleep returned {ret} after {slept} ns"))
}

fn sched_yield() -> Check {
    let ret = sys::sched_yield();
    ensure(ret == 0, || format!("sched_yield returned {ret}"))
}

/// The heap (rt's allocator over mmap) works: a Vec of 100000 elements grows and keeps
/// its contents.
fn heap() -> Check {
    let v: alloc::vec::Vec<u32> = (0..100_000).collect();
    let sum: u64 = v.iter().map(|&x| x as u64).sum();
    ensure(sum == 4_999_950_000, || format!("sum {sum}"))
}
