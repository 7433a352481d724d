//! System calls, by Linux x86_64 number. The number selects
//! a handler from one table; anything not in it returns -ENOSYS. Handlers see the
//! caller's registers and reach its memory only through the copy-in/copy-out API of
//! `AddressSpace`, so a bad pointer is an EFAULT, never a kernel fault.

mod fs;
mod fs_change;
mod group;
pub(crate) mod info;
mod io;
mod memory;
mod poll;
mod priority;
mod process;
mod resource;
mod signal;
mod syslog;
mod thread;
mod time;
pub mod unimplemented;

use alloc::vec::Vec;
use core::mem::MaybeUninit;

use crate::arch::x86_64::entry::{Served, SyscallExit, SystemCallEntry, SystemCallHandler, SYSCALL_TABLE_SIZE};
use crate::arch::x86_64::frame::TrapFrame;
use crate::mm::address_space::{AddressSpace, Fault, StringFault};
use crate::mm::kstack::UserState;
use crate::process::{Process, Stats, ThreadGroup};
use kernel_core::abi::errno::{EFAULT, ENAMETOOLONG, ENOSYS};
use kernel_core::abi::support::SUPPORT;
use kernel_core::abi::sysno;
use kernel_core::trace::{TrapReason, What};

/// What a handler gets: the calling thread, its process (`process.group`, one
/// load nearer for the calls that use the descriptors or the memory on every
/// transfer), and its saved user state.
pub struct Context<'a, 'u> {
    pub process: &'a Process,
    pub group: &'a ThreadGroup,
    pub user: UserState<'u>,
}

/// A handler: the result or a (positive) errno out. It reads its arguments from the
/// caller's registers (`Context::arguments`), each only if it uses it.
type Handler = fn(&mut Context) -> Result<u64, i64>;

/// Defines `HANDLERS`, every implemented call by number (keep sorted), and
/// `FAST_ENTRIES`, the same calls as fast-path table entries: each entry is its own
/// function with its handler inlined or called directly, so a call on the fast path
/// costs the entry code's one indirect call.
macro_rules! system_calls {
    ($($number:ident => $handler:path,)*) => {
        const HANDLERS: &[(usize, Handler)] = &[$((sysno::$number, $handler),)*];
        const FAST_ENTRIES: &[(usize, FastEntry)] = &[$((sysno::$number, {
            extern "C" fn entry(path: &mut FastPath) -> Served {
                path.serve($handler)
            }
            entry
        }),)*];
    };
}

system_calls! {
    READ => io::read,
    WRITE => io::write,
    OPEN => fs::open,
    CLOSE => io::close,
    STAT => fs::stat,
    FSTAT => fs::fstat,
    LSTAT => fs::lstat,
    POLL => poll::poll,
    LSEEK => io::lseek,
    MMAP => memory::mmap,
    MPROTECT => memory::mprotect,
    MUNMAP => memory::munmap,
    BRK => memory::brk,
    RT_SIGACTION => signal::rt_sigaction,
    RT_SIGPROCMASK => signal::rt_sigprocmask,
    RT_SIGRETURN => signal::rt_sigreturn,
    IOCTL => io::ioctl,
    PREAD64 => io::pread64,
    PWRITE64 => io::pwrite64,
    READV => io::readv,
    WRITEV => io::writev,
    ACCESS => fs::access,
    PIPE => io::pipe,
    SELECT => poll::select,
    SCHED_YIELD => process::sched_yield,
    MSYNC => memory::msync,
    DUP => io::dup,
    DUP2 => io::dup2,
    PAUSE => signal::pause,
    NANOSLEEP => time::nanosleep,
    GETPID => process::getpid,
    SENDFILE => io::sendfile,
    CLONE => process::clone,
    FORK => process::fork,
    VFORK => process::vfork,
    EXECVE => process::execve,
    EXIT => process::exit,
    WAIT4 => process::wait4,
    KILL => process::kill,
    UNAME => info::uname,
    FCNTL => io::fcntl,
    FSYNC => fs_change::fsync,
    FDATASYNC => fs_change::fsync,
    TRUNCATE => fs_change::truncate,
    FTRUNCATE => fs_change::ftruncate,
    GETCWD => fs::getcwd,
    CHDIR => fs::chdir,
    FCHDIR => fs::fchdir,
    RENAME => fs_change::rename,
    MKDIR => fs_change::mkdir,
    RMDIR => fs_change::rmdir,
    CREAT => fs::creat,
    LINK => fs_change::link,
    UNLINK => fs_change::unlink,
    SYMLINK => fs_change::symlink,
    READLINK => fs::readlink,
    CHMOD => fs_change::chmod,
    FCHMOD => fs_change::fchmod,
    CHOWN => fs_change::chown,
    FCHOWN => fs_change::fchown,
    LCHOWN => fs_change::lchown,
    UMASK => resource::umask,
    GETTIMEOFDAY => time::gettimeofday,
    GETRLIMIT => resource::getrlimit,
    GETRUSAGE => resource::getrusage,
    SYSINFO => info::sysinfo,
    TIMES => resource::times,
    GETUID => info::getuid,
    SYSLOG => syslog::syslog,
    GETGID => info::getuid,
    GETEUID => info::getuid,
    GETEGID => info::getuid,
    SETPGID => group::setpgid,
    GETPPID => process::getppid,
    GETPGRP => group::getpgrp,
    SETSID => group::setsid,
    GETPGID => group::getpgid,
    GETSID => group::getsid,
    RT_SIGPENDING => signal::rt_sigpending,
    RT_SIGTIMEDWAIT => signal::rt_sigtimedwait,
    RT_SIGQUEUEINFO => signal::rt_sigqueueinfo,
    RT_SIGSUSPEND => signal::rt_sigsuspend,
    SIGALTSTACK => signal::sigaltstack,
    UTIME => fs_change::utime,
    MKNOD => fs_change::mknod,
    STATFS => fs_change::statfs,
    FSTATFS => fs_change::fstatfs,
    GETPRIORITY => priority::getpriority,
    SETPRIORITY => priority::setpriority,
    PRCTL => process::prctl,
    ARCH_PRCTL => process::arch_prctl,
    SETRLIMIT => resource::setrlimit,
    SYNC => fs_change::sync,
    GETTID => process::gettid,
    TKILL => signal::tkill,
    TIME => time::time,
    FUTEX => thread::futex,
    SCHED_SETAFFINITY => resource::sched_setaffinity,
    SCHED_GETAFFINITY => resource::sched_getaffinity,
    GETDENTS64 => fs::getdents64,
    SET_TID_ADDRESS => process::set_tid_address,
    RESTART_SYSCALL => time::restart_syscall,
    CLOCK_GETTIME => time::clock_gettime,
    CLOCK_GETRES => time::clock_getres,
    CLOCK_NANOSLEEP => time::clock_nanosleep,
    EXIT_GROUP => process::exit_group,
    TGKILL => signal::tgkill,
    UTIMES => fs_change::utimes,
    OPENAT => fs::openat,
    MKDIRAT => fs_change::mkdirat,
    MKNODAT => fs_change::mknodat,
    FCHOWNAT => fs_change::fchownat,
    FUTIMESAT => fs_change::futimesat,
    NEWFSTATAT => fs::newfstatat,
    UNLINKAT => fs_change::unlinkat,
    RENAMEAT => fs_change::renameat,
    LINKAT => fs_change::linkat,
    SYMLINKAT => fs_change::symlinkat,
    READLINKAT => fs::readlinkat,
    FCHMODAT => fs_change::fchmodat,
    FACCESSAT => fs::faccessat,
    PSELECT6 => poll::pselect6,
    PPOLL => poll::ppoll,
    SET_ROBUST_LIST => thread::set_robust_list,
    GET_ROBUST_LIST => thread::get_robust_list,
    UTIMENSAT => fs_change::utimensat,
    FALLOCATE => fs_change::fallocate,
    DUP3 => io::dup3,
    PIPE2 => io::pipe2,
    PRLIMIT64 => resource::prlimit64,
    SYNCFS => fs_change::syncfs,
    GETCPU => resource::getcpu,
    SCHED_SETATTR => priority::sched_setattr,
    SCHED_GETATTR => priority::sched_getattr,
    RENAMEAT2 => fs_change::renameat2,
    GETRANDOM => info::getrandom,
    FACCESSAT2 => fs::faccessat2,
}

/// Table size: every x86_64 number fits (the highest is in the 460s), and the last
/// entry is free for the numbers past the end (see `SystemCallEntry`).
const TABLE_SIZE: usize = SYSCALL_TABLE_SIZE;

/// The table indexed by number, built at compile time from `HANDLERS` (which must
/// be strictly sorted: a duplicate or misplaced entry fails the build).
static TABLE: [Handler; TABLE_SIZE] = {
    let mut table = [not_implemented as Handler; TABLE_SIZE];
    let mut implemented = [false; TABLE_SIZE];
    let mut index = 0;
    while index < HANDLERS.len() {
        assert!(index == 0 || HANDLERS[index - 1].0 < HANDLERS[index].0, "HANDLERS must be sorted by number");
        table[HANDLERS[index].0] = HANDLERS[index].1;
        implemented[HANDLERS[index].0] = true;
        index += 1;
    }
    // The published support list (docs/syscalls.md comes from it) must name exactly
    // the calls served here.
    assert!(SUPPORT.len() == HANDLERS.len(), "kernel_core::abi::support::SUPPORT and HANDLERS list different calls");
    let mut index = 0;
    while index < SUPPORT.len() {
        assert!(implemented[SUPPORT[index].0], "a call in SUPPORT has no handler");
        index += 1;
    }
    assert!(!implemented[TABLE_SIZE - 1], "the last number serves those past the table: it must have no call");
    table
};

/// A fast-path table entry (`SystemCallEntry` of `FastPath`, for any lifetimes).
type FastEntry = for<'r, 'a, 'u> extern "C" fn(&'r mut FastPath<'a, 'u>) -> Served;

/// A fast-path table: `calls` by number, `Defer` for the calls that need the full
/// frame (`FULL_FRAME`), `others` for every other number.
const fn fast_table(calls: &[(usize, FastEntry)], others: FastEntry) -> [FastEntry; TABLE_SIZE] {
    extern "C" fn defer(_: &mut FastPath) -> Served {
        Served::DEFER
    }
    let mut table = [others; TABLE_SIZE];
    let mut index = 0;
    while index < calls.len() {
        table[calls[index].0] = calls[index].1;
        index += 1;
    }
    let mut index = 0;
    while index < FULL_FRAME.len() {
        table[FULL_FRAME[index]] = defer;
        index += 1;
    }
    table
}

/// The fast path's table: `FAST_ENTRIES`, and -ENOSYS for numbers without a call.
static FAST_TABLE: [FastEntry; TABLE_SIZE] = {
    extern "C" fn unknown(path: &mut FastPath) -> Served {
        path.serve(not_implemented)
    }
    fast_table(FAST_ENTRIES, unknown)
};

/// The fast path's table with tracing on: every number through the recorded
/// dispatch (tracing is switched on at boot, before any program runs).
static TRACED_TABLE: [FastEntry; TABLE_SIZE] = {
    extern "C" fn traced(path: &mut FastPath) -> Served {
        path.serve_traced()
    }
    fast_table(&[], traced)
};

/// The handler of system call `number` (`not_implemented` for an unknown one). As
/// on Linux, the number is an int: the upper half of rax is not part of it.
fn handler_of(number: u64) -> Handler {
    TABLE.get(number as u32 as usize).copied().unwrap_or(not_implemented)
}

/// What every number without a call of its own answers, as on Linux.
fn not_implemented(_: &mut Context) -> Result<u64, i64> {
    Err(ENOSYS)
}

/// Calls that need the program's complete register frame (they copy or replace it),
/// so the fast path defers them to the full path.
const FULL_FRAME: &[usize] =
    &[sysno::RT_SIGRETURN, sysno::CLONE, sysno::FORK, sysno::VFORK, sysno::EXECVE, sysno::EXECVEAT, sysno::CLONE3];

/// The fast path's handler: serves a process's system calls while it runs, in the
/// SYSCALL entry itself, and lets it continue with SYSRET unless something (a
/// signal, an exit) needs the kernel's full return path. It holds the handlers'
/// context ready-made, as every call on this path gets the same one.
pub struct FastPath<'a, 'u>(pub Context<'a, 'u>);

impl SystemCallHandler for FastPath<'_, '_> {
    fn frame(&mut self) -> &mut TrapFrame {
        self.0.user.frame
    }

    fn table(&self) -> &[SystemCallEntry<Self>; SYSCALL_TABLE_SIZE] {
        if crate::trace::enabled() {
            &TRACED_TABLE
        } else {
            &FAST_TABLE
        }
    }

    /// The timer skips ticks nobody needs (`sched::end_tick_stretch`): a call may
    /// change what the skipped ticks would have seen, so it ends the stretch
    /// first, which ends the diversion (the call is then made again, and served
    /// as any other).
    fn diverted(&mut self) {
        crate::sched::end_tick_stretch();
    }
}

impl FastPath<'_, '_> {
    /// Serves the call with `handler`: its result for rax (the entry code puts it
    /// there, and in the frame only for the full path), and whether the program
    /// may go straight back. Inlined into every table entry, where `handler` is a
    /// constant.
    #[inline(always)]
    fn serve(&mut self, handler: Handler) -> Served {
        let rax = result_of(&mut self.0, handler);
        Served { rax, exit: self.exit() }
    }

    /// `serve` of whatever the number is, recorded in the trace.
    fn serve_traced(&mut self) -> Served {
        dispatch_recorded(&mut self.0, true, true);
        let exit = self.exit();
        if exit.is_resume() {
            crate::trace::record(self.0.process.tid(), || What::TrapExit);
            crate::explain::returning_to_user(self.0.process, self.0.user.frame);
        }
        Served { rax: self.0.user.frame.rax, exit }
    }

    /// Straight back with SYSRET, unless the kernel must act first (a signal, an exit).
    #[inline(always)]
    fn exit(&self) -> SyscallExit {
        self.0.process.signals.syscall_exit()
    }
}

/// `dispatch`, with the call's entry (number, first argument) and its result in the
/// event trace when `tracing` (`trace::enabled()`, read by the caller), and in the
/// LDE explanation while it follows system calls (`fast_path`: called from the
/// SYSCALL entry's table).
#[inline(always)]
pub fn dispatch_recorded(context: &mut Context, tracing: bool, fast_path: bool) {
    let (number, args) = context.user.frame.syscall_args();
    let mut explained = None;
    if tracing {
        crate::trace::record(context.process.tid(), || What::TrapEnter {
            reason: TrapReason::SystemCall,
            number,
            argument: args[0],
        });
        explained = crate::explain::syscall_entered(context.user.frame, handler_of(number) as usize as u64);
    }
    dispatch(context);
    if tracing {
        crate::trace::record(context.process.tid(), || What::SyscallExit {
            number,
            result: context.user.frame.rax as i64,
        });
        if let Some(call) = explained {
            crate::explain::syscall_finished(call, context.process, context.user.frame, fast_path);
        }
    }
}

/// Serves the system call in the caller's registers; the result goes in rax.
pub fn dispatch(context: &mut Context) {
    serve(context, handler_of(context.user.frame.rax));
}

/// Runs `handler` on the caller's registers; the result goes in rax.
fn serve(context: &mut Context, handler: Handler) {
    context.user.frame.rax = result_of(context, handler);
}

/// Runs `handler` on the caller's registers: the rax it returns. The number is
/// read from the frame only when the call failed: a handler returns its result
/// and leaves the frame's rax alone (execve and rt_sigreturn rewrite the frame
/// only once they cannot fail), so nothing holds it across the call.
#[inline(always)]
fn result_of(context: &mut Context, handler: Handler) -> u64 {
    Stats::add(&context.process.stats.system_calls, 1);
    match handler(context) {
        Ok(value) => value,
        Err(errno) => failed(context.process, context.user.frame.rax, errno),
    }
}

/// The rax of a failed call; a signal may have cut it short, and then
/// signal::deliver finishes it (restart or EINTR).
#[cold]
fn failed(process: &Process, number: u64, errno: i64) -> u64 {
    if errno == ENOSYS {
        unimplemented::called(process, number);
    }
    crate::signal::note_result(process, number, errno);
    (-errno) as u64
}

impl Context<'_, '_> {
    /// The six argument registers, as the program left them. A copy: handlers
    /// such as execve and sigreturn rewrite the frame they came from. Inlined, so
    /// a handler loads only the arguments it uses (a copy made for every call
    /// before the handler ran cost it twelve moves).
    #[inline(always)]
    pub fn arguments(&self) -> [u64; 6] {
        *self.user.frame.syscall_args().1
    }

    /// Runs `f` on the caller's address space.
    pub fn memory<T>(&self, f: impl FnOnce(&mut AddressSpace) -> T) -> T {
        let mut memory = self.group.memory.lock();
        f(memory.as_mut().expect("a running process has an address space"))
    }

    /// Runs `access` on the caller's address space, again while it fails for want
    /// of a frame and the OOM policy frees memory (`oom::retrying`): for accesses
    /// that fault pages in on the caller's behalf.
    pub fn user_memory<T: crate::oom::Outcome>(&self, mut access: impl FnMut(&mut AddressSpace) -> T) -> T {
        crate::oom::retrying(self.process, || self.memory(&mut access))
    }

    /// Copies `buffer.len()` bytes from user address `address`. Inlined: most
    /// copies are of a constant size (a struct, a word), which the copy then knows.
    #[inline]
    pub fn copy_in(&self, address: u64, buffer: &mut [u8]) -> Result<(), i64> {
        self.user_memory(|memory| memory.read(address, buffer)).map_err(|_| EFAULT)
    }

    /// `copy_in` into a buffer not yet initialized (`AddressSpace::read_uninit`):
    /// the buffer as bytes once copied.
    pub fn copy_in_uninit<'a>(&self, address: u64, mut buffer: &'a mut [MaybeUninit<u8>]) -> Result<&'a mut [u8], i64> {
        loop {
            match self.memory(|memory| memory.read_uninit(address, buffer)) {
                Ok(bytes) => return Ok(bytes),
                Err((Fault::OutOfMemory, back)) if crate::oom::reclaim_for(self.process) => buffer = back,
                Err(_) => return Err(EFAULT),
            }
        }
    }

    /// Copies `bytes` to user address `address`.
    #[inline]
    pub fn copy_out(&self, address: u64, bytes: &[u8]) -> Result<(), i64> {
        self.user_memory(|memory| memory.write(address, bytes)).map_err(|_| EFAULT)
    }

    /// Writes the words `words` makes to user address `address`, straight into
    /// the page (`AddressSpace::write_words`).
    #[inline]
    pub fn write_words<const N: usize>(&self, address: u64, words: impl Fn() -> [u64; N]) -> Result<(), i64> {
        self.user_memory(|memory| memory.write_words(address, &words)).map_err(|_| EFAULT)
    }

    /// Reads a u64 from user memory.
    pub fn read_u64(&self, address: u64) -> Result<u64, i64> {
        let mut bytes = [0u8; 8];
        self.copy_in(address, &mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    /// Reads a NUL-terminated string of at most `max` bytes.
    pub fn read_string(&self, address: u64, max: usize) -> Result<Vec<u8>, i64> {
        self.user_memory(|memory| memory.read_c_string(address, max)).map_err(|fault| match fault {
            StringFault::TooLong => ENAMETOOLONG,
            StringFault::Fault(_) => EFAULT,
        })
    }
}
