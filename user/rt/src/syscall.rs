//! System calls: the raw `syscall` instruction and typed wrappers, Linux x86_64 ABI.
//!
//! The ABI: rax = system call number; arguments in rdi, rsi, rdx, r10, r8, r9; the
//! result comes back in rax; the kernel overwrites rcx (return address) and r11 (saved
//! rflags) and preserves every other register. A result in -4095..=-1 is a negative
//! errno; every function here returns the kernel's result unchanged (as `isize`).

use core::arch::asm;
use core::marker::PhantomData;

/// System call numbers (Linux `arch/x86/entry/syscalls/syscall_64.tbl`).
pub mod nr {
    pub const READ: usize = 0;
    pub const WRITE: usize = 1;
    pub const CLOSE: usize = 3;
    pub const MMAP: usize = 9;
    pub const MPROTECT: usize = 10;
    pub const MUNMAP: usize = 11;
    pub const BRK: usize = 12;
    pub const RT_SIGPROCMASK: usize = 14;
    pub const IOCTL: usize = 16;
    pub const WRITEV: usize = 20;
    pub const SCHED_YIELD: usize = 24;
    pub const DUP2: usize = 33;
    pub const NANOSLEEP: usize = 35;
    pub const GETPID: usize = 39;
    pub const CLONE: usize = 56;
    pub const EXECVE: usize = 59;
    pub const EXIT: usize = 60;
    pub const WAIT4: usize = 61;
    pub const KILL: usize = 62;
    pub const UNAME: usize = 63;
    pub const GETTIMEOFDAY: usize = 96;
    pub const GETUID: usize = 102;
    pub const GETGID: usize = 104;
    pub const GETEUID: usize = 107;
    pub const GETEGID: usize = 108;
    pub const GETPPID: usize = 110;
    pub const ARCH_PRCTL: usize = 158;
    pub const GETTID: usize = 186;
    pub const CLOCK_GETTIME: usize = 228;
    pub const EXIT_GROUP: usize = 231;
    pub const PIPE2: usize = 293;
}

/// Error numbers; the kernel returns them negated.
pub mod errno {
    pub const EINTR: isize = 4;
    pub const EIO: isize = 5;
    pub const ECHILD: isize = 10;
    pub const EFAULT: isize = 14;
    pub const EINVAL: isize = 22;
    pub const ENOTTY: isize = 25;
    pub const ENOSYS: isize = 38;
}

/// `mmap`/`mprotect` protection bits.
pub mod prot {
    pub const READ: usize = 1;
    pub const WRITE: usize = 2;
}

/// `mmap` flags.
pub mod mmap_flags {
    pub const PRIVATE: usize = 0x02;
    pub const ANONYMOUS: usize = 0x20;
}

/// Clock ids for `clock_gettime`.
pub mod clock {
    pub const MONOTONIC: usize = 1;
    pub const PROCESS_CPUTIME_ID: usize = 2;
}

/// Signal numbers and `rt_sigprocmask` operations.
pub mod signal {
    pub const SIGKILL: i32 = 9;
    pub const SIGCHLD: i32 = 17;
    pub const SIG_BLOCK: usize = 0;
}

/// `arch_prctl` codes.
pub mod arch {
    pub const SET_FS: usize = 0x1002;
    pub const GET_FS: usize = 0x1003;
}

/// `ioctl` request: get the terminal window size (fills a [`Winsize`]).
pub const TIOCGWINSZ: usize = 0x5413;

// ---------------------------------------------------------------------------------
// Raw system calls. They are unsafe because a system call can do anything the process
// itself may do: write any of its memory, unmap it, end it. The caller must make sure
// the call and its arguments keep the program's memory as Rust expects it.
// ---------------------------------------------------------------------------------

/// Make system call `nr` with no arguments.
/// # Safety
/// See the comment above the raw calls.
pub unsafe fn syscall0(nr: usize) -> isize {
    let ret;
    // SAFETY: the syscall instruction clobbers only rax, rcx and r11; the caller
    // vouches for the call's effect on memory.
    unsafe {
        asm!("syscall", inlateout("rax") nr as isize => ret,
             lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// Make system call `nr` with one argument.
/// # Safety
/// See the comment above the raw calls.
pub unsafe fn syscall1(nr: usize, a1: usize) -> isize {
    let ret;
    // SAFETY: as in syscall0.
    unsafe {
        asm!("syscall", inlateout("rax") nr as isize => ret, in("rdi") a1,
             lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// Make system call `nr` with two arguments.
/// # Safety
/// See the comment above the raw calls.
pub unsafe fn syscall2(nr: usize, a1: usize, a2: usize) -> isize {
    let ret;
    // SAFETY: as in syscall0.
    unsafe {
        asm!("syscall", inlateout("rax") nr as isize => ret, in("rdi") a1, in("rsi") a2,
             lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// Make system call `nr` with three arguments.
/// # Safety
/// See the comment above the raw calls.
pub unsafe fn syscall3(nr: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret;
    // SAFETY: as in syscall0.
    unsafe {
        asm!("syscall", inlateout("rax") nr as isize => ret, in("rdi") a1, in("rsi") a2,
             in("rdx") a3, lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// Make system call `nr` with four arguments (the fourth goes in r10, not rcx).
/// # Safety
/// See the comment above the raw calls.
pub unsafe fn syscall4(nr: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
    let ret;
    // SAFETY: as in syscall0.
    unsafe {
        asm!("syscall", inlateout("rax") nr as isize => ret, in("rdi") a1, in("rsi") a2,
             in("rdx") a3, in("r10") a4, lateout("rcx") _, lateout("r11") _,
             options(nostack));
    }
    ret
}

/// Make system call `nr` with five arguments.
/// # Safety
/// See the comment above the raw calls.
pub unsafe fn syscall5(nr: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize) -> isize {
    let ret;
    // SAFETY: as in syscall0.
    unsafe {
        asm!("syscall", inlateout("rax") nr as isize => ret, in("rdi") a1, in("rsi") a2,
             in("rdx") a3, in("r10") a4, in("r8") a5, lateout("rcx") _, lateout("r11") _,
             options(nostack));
    }
    ret
}

/// Make system call `nr` with six arguments.
/// # Safety
/// See the comment above the raw calls.
pub unsafe fn syscall6(nr: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize, a6: usize) -> isize {
    let ret;
    // SAFETY: as in syscall0.
    unsafe {
        asm!("syscall", inlateout("rax") nr as isize => ret, in("rdi") a1, in("rsi") a2,
             in("rdx") a3, in("r10") a4, in("r8") a5, in("r9") a6, lateout("rcx") _,
             lateout("r11") _, options(nostack));
    }
    ret
}

// ---------------------------------------------------------------------------------
// Typed wrappers. Safe ones take Rust references, so the kernel can only touch memory
// the borrow checker has handed over; the unsafe ones state their contract.
// ---------------------------------------------------------------------------------

/// `struct timespec`: seconds and nanoseconds.
#[repr(C)]
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Timespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}

/// `struct timeval`: seconds and microseconds.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Timeval {
    pub tv_sec: i64,
    pub tv_usec: i64,
}

/// `struct utsname`: six NUL-terminated fields of 65 bytes.
#[repr(C)]
pub struct Utsname {
    pub sysname: [u8; 65],
    pub nodename: [u8; 65],
    pub release: [u8; 65],
    pub version: [u8; 65],
    pub machine: [u8; 65],
    pub domainname: [u8; 65],
}

/// `struct winsize`, filled by `ioctl(fd, TIOCGWINSZ)`.
#[repr(C)]
#[derive(Default)]
pub struct Winsize {
    pub ws_row: u16,
    pub ws_col: u16,
    pub ws_xpixel: u16,
    pub ws_ypixel: u16,
}

/// `struct iovec` for [`writev`]: one buffer, borrowed for `'a`.
#[repr(C)]
pub struct IoVec<'a> {
    base: *const u8,
    len: usize,
    _buf: PhantomData<&'a [u8]>,
}

impl<'a> IoVec<'a> {
    /// An iovec describing `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        IoVec { base: buf.as_ptr(), len: buf.len(), _buf: PhantomData }
    }
}

/// Read up to `buf.len()` bytes from `fd` into `buf`; the number read, 0 at end of file.
pub fn read(fd: i32, buf: &mut [u8]) -> isize {
    // SAFETY: the kernel writes at most buf.len() bytes into buf, which we borrow mutably.
    unsafe { syscall3(nr::READ, fd as usize, buf.as_mut_ptr() as usize, buf.len()) }
}

/// Write up to `buf.len()` bytes of `buf` to `fd`; the number written.
pub fn write(fd: i32, buf: &[u8]) -> isize {
    // SAFETY: the kernel only reads buf.
    unsafe { syscall3(nr::WRITE, fd as usize, buf.as_ptr() as usize, buf.len()) }
}

/// Write the buffers of `iov`, in order, to `fd`; the total number of bytes written.
pub fn writev(fd: i32, iov: &[IoVec]) -> isize {
    // SAFETY: IoVec has the kernel's iovec layout, and every buffer it names is
    // borrowed for the duration of the call; the kernel only reads them.
    unsafe { syscall3(nr::WRITEV, fd as usize, iov.as_ptr() as usize, iov.len()) }
}

/// Close `fd`.
pub fn close(fd: i32) -> isize {
    // SAFETY: closing a descriptor touches no memory.
    unsafe { syscall1(nr::CLOSE, fd as usize) }
}

/// Make `new` refer to the same open file as `old` (closing `new` first); returns `new`.
pub fn dup2(old: i32, new: i32) -> isize {
    // SAFETY: touches only the descriptor table.
    unsafe { syscall2(nr::DUP2, old as usize, new as usize) }
}

/// Create a pipe: `fds[0]` is the read end, `fds[1]` the write end.
pub fn pipe2(fds: &mut [i32; 2], flags: usize) -> isize {
    // SAFETY: the kernel writes two ints into fds, which we borrow mutably.
    unsafe { syscall2(nr::PIPE2, fds.as_mut_ptr() as usize, flags) }
}

/// End the calling thread with `status`. In an rt program (one thread) this ends
/// the process too.
pub fn exit(status: i32) -> ! {
    // SAFETY: exit does not return, so it cannot break any invariant of ours.
    unsafe { syscall1(nr::EXIT, status as usize) };
    unreachable!("exit returned")
}

/// End the whole process with `status` (the low 8 bits reach the parent).
pub fn exit_group(status: i32) -> ! {
    // SAFETY: as for exit.
    unsafe { syscall1(nr::EXIT_GROUP, status as usize) };
    unreachable!("exit_group returned")
}

/// The process id.
pub fn getpid() -> isize {
    // SAFETY: touches no memory.
    unsafe { syscall0(nr::GETPID) }
}

/// The parent's process id.
pub fn getppid() -> isize {
    // SAFETY: touches no memory.
    unsafe { syscall0(nr::GETPPID) }
}

/// The thread id (equal to the pid in a single-threaded process).
pub fn gettid() -> isize {
    // SAFETY: touches no memory.
    unsafe { syscall0(nr::GETTID) }
}

/// The real user id.
pub fn getuid() -> isize {
    // SAFETY: touches no memory.
    unsafe { syscall0(nr::GETUID) }
}

/// The effective user id.
pub fn geteuid() -> isize {
    // SAFETY: touches no memory.
    unsafe { syscall0(nr::GETEUID) }
}

/// The real group id.
pub fn getgid() -> isize {
    // SAFETY: touches no memory.
    unsafe { syscall0(nr::GETGID) }
}

/// The effective group id.
pub fn getegid() -> isize {
    // SAFETY: touches no memory.
    unsafe { syscall0(nr::GETEGID) }
}

/// Give up the CPU to another runnable process, if there is one; returns 0.
pub fn sched_yield() -> isize {
    // SAFETY: touches no memory.
    unsafe { syscall0(nr::SCHED_YIELD) }
}

/// Create a child process that is a copy of this one (`clone(SIGCHLD)`, which is
/// what fork is on Linux). Returns the child's pid in the parent and 0 in the child.
pub fn fork() -> isize {
    // SAFETY: the child gets its own copy of the address space. An rt program has only
    // one thread, so no lock or half-done update can be copied mid-way.
    unsafe { syscall5(nr::CLONE, signal::SIGCHLD as usize, 0, 0, 0, 0) }
}

/// Wait for child `pid` (-1: any child) to end, storing its wait status in `status`;
/// returns the child's pid.
pub fn wait4(pid: isize, status: &mut i32, options: usize) -> isize {
    // SAFETY: the kernel writes one int into status; no rusage is requested.
    unsafe { syscall4(nr::WAIT4, pid as usize, status as *mut i32 as usize, options, 0) }
}

/// Replace this program with the one at `path`. Returns only on failure.
/// # Safety
/// `path` must be a NUL-terminated string; `argv` and `envp` must each point to an
/// array of pointers to NUL-terminated strings that ends with a null pointer.
pub unsafe fn execve(path: *const u8, argv: *const *const u8, envp: *const *const u8) -> isize {
    // SAFETY: the caller guarantees the strings and arrays are well-formed; the
    // kernel only reads them.
    unsafe { syscall3(nr::EXECVE, path as usize, argv as usize, envp as usize) }
}

/// Send signal `sig` to process `pid`.
pub fn kill(pid: isize, sig: i32) -> isize {
    // SAFETY: touches no memory of ours (a signal may end this process, which is fine).
    unsafe { syscall2(nr::KILL, pid as usize, sig as usize) }
}

/// Sleep for `req`; if interrupted, the time left is stored in `rem` (when given).
pub fn nanosleep(req: &Timespec, rem: Option<&mut Timespec>) -> isize {
    let rem = rem.map_or(0, |r| r as *mut Timespec as usize);
    // SAFETY: the kernel reads req and writes at most one Timespec into rem.
    unsafe { syscall2(nr::NANOSLEEP, req as *const Timespec as usize, rem) }
}

/// Read clock `clock` (see [`clock`]) into `ts`.
pub fn clock_gettime(clock: usize, ts: &mut Timespec) -> isize {
    // SAFETY: the kernel writes one Timespec into ts.
    unsafe { syscall2(nr::CLOCK_GETTIME, clock, ts as *mut Timespec as usize) }
}

/// Read the wall-clock time into `tv` (no time zone).
pub fn gettimeofday(tv: &mut Timeval) -> isize {
    // SAFETY: the kernel writes one Timeval into tv.
    unsafe { syscall2(nr::GETTIMEOFDAY, tv as *mut Timeval as usize, 0) }
}

/// Describe the system (kernel name, release, machine) in `buf`.
pub fn uname(buf: &mut Utsname) -> isize {
    // SAFETY: the kernel writes one Utsname into buf.
    unsafe { syscall1(nr::UNAME, buf as *mut Utsname as usize) }
}

/// Change the blocked-signal mask (`how`: e.g. [`signal::SIG_BLOCK`]) by `set`, storing
/// the previous mask in `old`; either may be omitted.
pub fn rt_sigprocmask(how: usize, set: Option<&u64>, old: Option<&mut u64>) -> isize {
    let set = set.map_or(0, |s| s as *const u64 as usize);
    let old = old.map_or(0, |o| o as *mut u64 as usize);
    // SAFETY: the kernel reads one u64 from set and writes one into old (size 8).
    unsafe { syscall4(nr::RT_SIGPROCMASK, how, set, old, 8) }
}

/// Set the program break to `addr` (0: only ask); returns the break now in effect,
/// which is the old one if the change was refused.
/// # Safety
/// Moving the break down unmaps memory: nothing may still use memory above the new
/// break.
pub unsafe fn brk(addr: usize) -> isize {
    // SAFETY: the caller guarantees no live memory is given up.
    unsafe { syscall1(nr::BRK, addr) }
}

/// Map memory; returns the address of the mapping.
/// # Safety
/// With `addr` non-zero and MAP_FIXED the mapping replaces whatever was there: it must
/// not be memory the program still uses. A file mapping needs a valid `fd`.
pub unsafe fn mmap(addr: usize, len: usize, prot: usize, flags: usize, fd: i32, offset: usize) -> isize {
    // SAFETY: the caller guarantees existing memory is not replaced under the program.
    unsafe { syscall6(nr::MMAP, addr, len, prot, flags, fd as usize, offset) }
}

/// Unmap `len` bytes at `addr`.
/// # Safety
/// Nothing may use that memory afterwards.
pub unsafe fn munmap(addr: usize, len: usize) -> isize {
    // SAFETY: the caller guarantees the memory is no longer used.
    unsafe { syscall2(nr::MUNMAP, addr, len) }
}

/// Change the protection of `len` bytes at `addr` to `prot`.
/// # Safety
/// The program must not access that memory in a way the new protection forbids
/// (it would be killed) nor execute it unless it holds code.
pub unsafe fn mprotect(addr: usize, len: usize, prot: usize) -> isize {
    // SAFETY: the caller guarantees the new protection matches the memory's use.
    unsafe { syscall3(nr::MPROTECT, addr, len, prot) }
}

/// Architecture-specific control: `arch::SET_FS` sets the %fs base to `addr`;
/// `arch::GET_FS` stores it at the address `addr`.
/// # Safety
/// For GET_FS, `addr` must point to a writable u64. Code that uses %fs (thread-local
/// storage) must still find what it expects there after SET_FS; rt itself does not use it.
pub unsafe fn arch_prctl(code: usize, addr: usize) -> isize {
    // SAFETY: the caller guarantees addr suits code.
    unsafe { syscall2(nr::ARCH_PRCTL, code, addr) }
}

/// Device-specific control `request` on `fd`.
/// # Safety
/// `arg` must be what `request` expects; when it is a pointer, it must point to memory
/// of the size and type the request reads or writes.
pub unsafe fn ioctl(fd: i32, request: usize, arg: usize) -> isize {
    // SAFETY: the caller guarantees arg suits request.
    unsafe { syscall3(nr::IOCTL, fd as usize, request, arg) }
}
