//! System calls, by Linux x86_64 number (MISSION.md points 3-4). The number selects
//! a handler from one table; anything not in it returns -ENOSYS. Handlers see the
//! caller's registers and reach its memory only through the copy-in/copy-out API of
//! `AddressSpace`, so a bad pointer is an EFAULT, never a kernel fault.

mod fs;
mod group;
mod info;
mod io;
mod memory;
mod poll;
mod priority;
mod process;
mod resource;
mod signal;
mod time;

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::arch::x86_64::entry::{SyscallExit, SystemCallHandler};
use crate::arch::x86_64::frame::TrapFrame;
use crate::mm::address_space::{AddressSpace, StringFault};
use crate::mm::kstack::UserState;
use crate::process::{Process, Stats};
use kernel_core::abi::errno::{EFAULT, ENAMETOOLONG, ENOSYS};
use kernel_core::abi::support::SUPPORT;
use kernel_core::abi::sysno;
use kernel_core::trace::{TrapReason, What};

/// What a handler gets: the calling process and its saved user state.
pub struct Context<'a, 'u> {
    pub process: &'a Arc<Process>,
    pub user: UserState<'u>,
}

/// A handler: the six argument registers in, the result or a (positive) errno out.
type Handler = fn(&mut Context, &[u64; 6]) -> Result<u64, i64>;

/// Every implemented call. Keep sorted by number.
const HANDLERS: &[(usize, Handler)] = &[
    (sysno::READ, io::read),
    (sysno::WRITE, io::write),
    (sysno::OPEN, fs::open),
    (sysno::CLOSE, io::close),
    (sysno::STAT, fs::stat),
    (sysno::FSTAT, fs::fstat),
    (sysno::LSTAT, fs::lstat),
    (sysno::POLL, poll::poll),
    (sysno::LSEEK, io::lseek),
    (sysno::MMAP, memory::mmap),
    (sysno::MPROTECT, memory::mprotect),
    (sysno::MUNMAP, memory::munmap),
    (sysno::BRK, memory::brk),
    (sysno::RT_SIGACTION, signal::rt_sigaction),
    (sysno::RT_SIGPROCMASK, signal::rt_sigprocmask),
    (sysno::RT_SIGRETURN, signal::rt_sigreturn),
    (sysno::IOCTL, io::ioctl),
    (sysno::PREAD64, io::pread64),
    (sysno::READV, io::readv),
    (sysno::WRITEV, io::writev),
    (sysno::ACCESS, fs::access),
    (sysno::PIPE, io::pipe),
    (sysno::SELECT, poll::select),
    (sysno::SCHED_YIELD, process::sched_yield),
    (sysno::DUP, io::dup),
    (sysno::DUP2, io::dup2),
    (sysno::PAUSE, signal::pause),
    (sysno::NANOSLEEP, time::nanosleep),
    (sysno::GETPID, process::getpid),
    (sysno::SENDFILE, io::sendfile),
    (sysno::CLONE, process::clone),
    (sysno::FORK, process::fork),
    (sysno::VFORK, process::vfork),
    (sysno::EXECVE, process::execve),
    (sysno::EXIT, process::exit),
    (sysno::WAIT4, process::wait4),
    (sysno::KILL, process::kill),
    (sysno::UNAME, info::uname),
    (sysno::FCNTL, io::fcntl),
    (sysno::GETCWD, fs::getcwd),
    (sysno::CHDIR, fs::chdir),
    (sysno::FCHDIR, fs::fchdir),
    (sysno::READLINK, fs::readlink),
    (sysno::UMASK, resource::umask),
    (sysno::GETTIMEOFDAY, time::gettimeofday),
    (sysno::GETRLIMIT, resource::getrlimit),
    (sysno::GETRUSAGE, resource::getrusage),
    (sysno::SYSINFO, info::sysinfo),
    (sysno::TIMES, resource::times),
    (sysno::GETUID, info::getuid),
    (sysno::GETGID, info::getuid),
    (sysno::GETEUID, info::getuid),
    (sysno::GETEGID, info::getuid),
    (sysno::SETPGID, group::setpgid),
    (sysno::GETPPID, process::getppid),
    (sysno::GETPGRP, group::getpgrp),
    (sysno::SETSID, group::setsid),
    (sysno::GETPGID, group::getpgid),
    (sysno::GETSID, group::getsid),
    (sysno::RT_SIGPENDING, signal::rt_sigpending),
    (sysno::RT_SIGTIMEDWAIT, signal::rt_sigtimedwait),
    (sysno::RT_SIGQUEUEINFO, signal::rt_sigqueueinfo),
    (sysno::RT_SIGSUSPEND, signal::rt_sigsuspend),
    (sysno::SIGALTSTACK, signal::sigaltstack),
    (sysno::GETPRIORITY, priority::getpriority),
    (sysno::SETPRIORITY, priority::setpriority),
    (sysno::PRCTL, process::prctl),
    (sysno::ARCH_PRCTL, process::arch_prctl),
    (sysno::SETRLIMIT, resource::setrlimit),
    (sysno::GETTID, process::getpid),
    (sysno::TKILL, signal::tkill),
    (sysno::TIME, time::time),
    (sysno::SCHED_SETAFFINITY, resource::sched_setaffinity),
    (sysno::SCHED_GETAFFINITY, resource::sched_getaffinity),
    (sysno::GETDENTS64, fs::getdents64),
    (sysno::SET_TID_ADDRESS, process::set_tid_address),
    (sysno::RESTART_SYSCALL, time::restart_syscall),
    (sysno::CLOCK_GETTIME, time::clock_gettime),
    (sysno::CLOCK_GETRES, time::clock_getres),
    (sysno::CLOCK_NANOSLEEP, time::clock_nanosleep),
    (sysno::EXIT_GROUP, process::exit),
    (sysno::TGKILL, signal::tgkill),
    (sysno::OPENAT, fs::openat),
    (sysno::NEWFSTATAT, fs::newfstatat),
    (sysno::READLINKAT, fs::readlinkat),
    (sysno::FACCESSAT, fs::faccessat),
    (sysno::PSELECT6, poll::pselect6),
    (sysno::PPOLL, poll::ppoll),
    (sysno::DUP3, io::dup3),
    (sysno::PIPE2, io::pipe2),
    (sysno::PRLIMIT64, resource::prlimit64),
    (sysno::GETRANDOM, info::getrandom),
    (sysno::FACCESSAT2, fs::faccessat2),
];

/// Table size: every x86_64 number fits (the highest is in the 460s).
const TABLE_SIZE: usize = 512;

/// The table indexed by number, built at compile time from `HANDLERS` (which must
/// be strictly sorted: a duplicate or misplaced entry fails the build).
static TABLE: [Entry; TABLE_SIZE] = {
    let mut table = [Entry::NONE; TABLE_SIZE];
    let mut implemented = [false; TABLE_SIZE];
    let mut index = 0;
    while index < HANDLERS.len() {
        assert!(index == 0 || HANDLERS[index - 1].0 < HANDLERS[index].0, "HANDLERS must be sorted by number");
        table[HANDLERS[index].0].handler = HANDLERS[index].1;
        implemented[HANDLERS[index].0] = true;
        index += 1;
    }
    let mut index = 0;
    while index < FULL_FRAME.len() {
        table[FULL_FRAME[index]].full_frame = true;
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
    table
};

/// What the table knows of one number.
#[derive(Clone, Copy)]
struct Entry {
    /// `not_implemented` for a number no call has.
    handler: Handler,
    /// Needs the complete register frame (see `FULL_FRAME`).
    full_frame: bool,
}

impl Entry {
    const NONE: Entry = Entry { handler: not_implemented, full_frame: false };

    /// The entry of system call `number` (NONE for an unknown one). As on Linux, the
    /// number is an int: the upper half of rax is not part of it.
    fn of(number: u64) -> Entry {
        TABLE.get(number as u32 as usize).copied().unwrap_or(Entry::NONE)
    }
}

/// What every number without a call of its own answers, as on Linux.
fn not_implemented(_: &mut Context, _: &[u64; 6]) -> Result<u64, i64> {
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

    fn system_call(&mut self) -> SyscallExit {
        let entry = Entry::of(self.0.user.frame.rax);
        if entry.full_frame {
            return SyscallExit::Defer;
        }
        if crate::trace::enabled() {
            return self.system_call_traced();
        }
        serve(&mut self.0, entry);
        if self.0.process.needs_attention() {
            SyscallExit::Finish
        } else {
            SyscallExit::Resume
        }
    }
}

impl FastPath<'_, '_> {
    /// `system_call` with tracing on: the same, recorded. Kept out of line so the
    /// usual path stays short.
    #[cold]
    #[inline(never)]
    fn system_call_traced(&mut self) -> SyscallExit {
        dispatch_recorded(&mut self.0, true);
        if self.0.process.needs_attention() {
            return SyscallExit::Finish;
        }
        crate::trace::record(self.0.process.pid, || What::TrapExit);
        SyscallExit::Resume
    }
}

/// `dispatch`, with the call's entry (number, first argument) and its result in the
/// event trace when `tracing` (`trace::enabled()`, read by the caller).
#[inline(always)]
pub fn dispatch_recorded(context: &mut Context, tracing: bool) {
    let (number, args) = context.user.frame.syscall_args();
    if tracing {
        crate::trace::record(context.process.pid, || What::TrapEnter {
            reason: TrapReason::SystemCall,
            number,
            argument: args[0],
        });
    }
    dispatch(context);
    if tracing {
        crate::trace::record(context.process.pid, || What::SyscallExit {
            number,
            result: context.user.frame.rax as i64,
        });
    }
}

/// Serves the system call in the caller's registers; the result goes in rax.
pub fn dispatch(context: &mut Context) {
    serve(context, Entry::of(context.user.frame.rax));
}

/// Runs the handler of `entry` on the caller's registers; the result goes in rax.
fn serve(context: &mut Context, entry: Entry) {
    Stats::add(&context.process.stats.system_calls, 1);
    let (number, arguments) = context.user.frame.syscall_args();
    // A copy (the adjacent registers make it three vector moves): handlers such as
    // execve and sigreturn rewrite the frame the arguments came from.
    let arguments = *arguments;
    let result = (entry.handler)(context, &arguments);
    context.user.frame.rax = match result {
        Ok(value) => value,
        Err(errno) => failed(context.process, number, errno),
    };
}

/// The rax of a failed call; a signal may have cut it short, and then
/// signal::deliver finishes it (restart or EINTR).
#[cold]
fn failed(process: &Process, number: u64, errno: i64) -> u64 {
    crate::signal::note_result(process, number, errno);
    (-errno) as u64
}

impl Context<'_, '_> {
    /// Runs `f` on the caller's address space.
    pub fn memory<T>(&self, f: impl FnOnce(&mut AddressSpace) -> T) -> T {
        let mut memory = self.process.memory.lock();
        f(memory.as_mut().expect("a running process has an address space"))
    }

    /// Copies `buffer.len()` bytes from user address `address`.
    pub fn copy_in(&self, address: u64, buffer: &mut [u8]) -> Result<(), i64> {
        self.memory(|memory| memory.read(address, buffer)).map_err(|_| EFAULT)
    }

    /// Copies `bytes` to user address `address`.
    pub fn copy_out(&self, address: u64, bytes: &[u8]) -> Result<(), i64> {
        self.memory(|memory| memory.write(address, bytes)).map_err(|_| EFAULT)
    }

    /// Reads a u64 from user memory.
    pub fn read_u64(&self, address: u64) -> Result<u64, i64> {
        let mut bytes = [0u8; 8];
        self.copy_in(address, &mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    /// Reads a NUL-terminated string of at most `max` bytes.
    pub fn read_string(&self, address: u64, max: usize) -> Result<Vec<u8>, i64> {
        self.memory(|memory| memory.read_c_string(address, max)).map_err(|fault| match fault {
            StringFault::TooLong => ENAMETOOLONG,
            StringFault::Fault(_) => EFAULT,
        })
    }
}
