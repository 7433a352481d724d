//! `procs`: exercises the process system calls: fork, wait4, exit, pipe2, read/write
//! through a pipe, dup2, close, kill, nanosleep, execve. Like `sysx`, each check prints
//! `ok NAME` or `FAIL NAME: DETAIL` and the exit status is the number of failures.
//!
//! The `exec` check runs this same program again through `execve(argv[0], ...)`, so
//! argv[0] must be a path the kernel can open (e.g. `/bin/procs`). Run that way, with
//! the single argument `--exec-child`, it prints `exec child: argc 2` and exits 0.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use rt::println;
use rt::syscall::{self as sys, Timespec, errno};

rt::entry!(main);

/// A check's outcome: `Err` carries the detail printed after `FAIL name:`.
type Check = Result<(), String>;

/// A named check.
type Test<'a> = (&'static str, &'a dyn Fn() -> Check);

/// The argument that makes this program the exec check's child.
const EXEC_CHILD: &core::ffi::CStr = c"--exec-child";

fn main(args: rt::Args) -> i32 {
    if args.len() == 2 && args.get(1) == Some(EXEC_CHILD.to_bytes()) {
        println!("exec child: argc {}", args.len());
        return 0;
    }
    let exec_self = || exec(args);
    let checks: [Test; 6] = [
        ("fork_wait", &fork_wait),
        ("fork_copies_memory", &fork_copies_memory),
        ("pipe", &pipe),
        ("kill", &kill),
        ("exec", &exec_self),
        ("wait_no_child", &wait_no_child),
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

/// Fork, run `child` in the child and end it with the status `child` returns.
/// Returns the child's pid to the parent.
fn spawn(child: impl FnOnce() -> i32) -> Result<isize, String> {
    match sys::fork() {
        0 => sys::exit(child()),
        pid if pid > 0 => Ok(pid),
        err => Err(format!("fork returned {err}")),
    }
}

/// Wait for child `pid`; its wait status.
fn wait(pid: isize) -> Result<i32, String> {
    let mut status = 0;
    let ret = sys::wait4(pid, &mut status, 0);
    ensure(ret == pid, || format!("wait4({pid}) returned {ret}"))?;
    Ok(status)
}

/// A wait status in words: `exit N` or `signal N`.
fn describe(status: i32) -> String {
    match status & 0x7f {
        0 => format!("exit {}", (status >> 8) & 0xff),
        sig => format!("signal {sig}"),
    }
}

/// Read from `fd` until end of file.
fn read_to_end(fd: i32) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        match sys::read(fd, &mut buf) {
            0 => return Ok(out),
            n if n > 0 => out.extend_from_slice(&buf[..n as usize]),
            err => return Err(format!("read returned {err}")),
        }
    }
}

/// The child sees its parent's pid and its exit status reaches the parent.
fn fork_wait() -> Check {
    let parent = sys::getpid();
    let pid = spawn(|| if sys::getppid() == parent { 7 } else { 1 })?;
    let status = wait(pid)?;
    ensure(describe(status) == "exit 7", || format!("child ended with {}", describe(status)))
}

/// The child gets a copy of the parent's memory: its writes do not reach the parent.
fn fork_copies_memory() -> Check {
    let mut value = core::hint::black_box(42);
    let pid = spawn(|| {
        value = core::hint::black_box(99);
        core::hint::black_box(value)
    })?;
    let status = wait(pid)?;
    ensure(describe(status) == "exit 99", || format!("child ended with {}", describe(status)))?;
    ensure(core::hint::black_box(value) == 42, || format!("parent's value became {value}"))
}

/// Bytes written by a child into a pipe reach the parent, and the parent sees end of
/// file once every write end (the child's and its own) is closed.
fn pipe() -> Check {
    let mut fds = [0; 2];
    let ret = sys::pipe2(&mut fds, 0);
    ensure(ret == 0, || format!("pipe2 returned {ret}"))?;
    let pid = spawn(|| {
        sys::close(fds[0]);
        let ok = rt::io::write_all(fds[1], b"hello through a pipe").is_ok();
        if ok { 0 } else { 1 }
    })?;
    sys::close(fds[1]);
    let got = read_to_end(fds[0]);
    sys::close(fds[0]);
    let status = wait(pid)?;
    let got = got?;
    ensure(got == b"hello through a pipe" && status == 0, || {
        format!("read \"{}\", child ended with {}", rt::Lossy(&got), describe(status))
    })
}

/// SIGKILL ends a child that is asleep in nanosleep.
fn kill() -> Check {
    let pid = spawn(|| {
        loop {
            sys::nanosleep(&Timespec { tv_sec: 1, tv_nsec: 0 }, None);
        }
    })?;
    let ret = sys::kill(pid, sys::signal::SIGKILL);
    let status = wait(pid)?;
    ensure(ret == 0 && describe(status) == "signal 9", || {
        format!("kill returned {ret}, child ended with {}", describe(status))
    })
}

/// A child redirects its stdout into a pipe with dup2 and execs this program again;
/// the new program's output arrives through the pipe.
fn exec(args: rt::Args) -> Check {
    let Some(path) = args.get(0) else { return Err(String::from("no argv[0]")) };
    let mut fds = [0; 2];
    let ret = sys::pipe2(&mut fds, 0);
    ensure(ret == 0, || format!("pipe2 returned {ret}"))?;
    let pid = spawn(|| {
        sys::dup2(fds[1], 1);
        sys::close(fds[0]);
        sys::close(fds[1]);
        // argv[0] came from the initial stack, where it is NUL-terminated.
        let argv = [path.as_ptr(), EXEC_CHILD.as_ptr().cast(), core::ptr::null()];
        let envp = [core::ptr::null()];
        // SAFETY: the path and both arguments are NUL-terminated, and both arrays end
        // with a null pointer.
        let ret = unsafe { sys::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
        rt::eprintln!("procs: execve returned {ret}");
        127
    })?;
    sys::close(fds[1]);
    let got = read_to_end(fds[0]);
    sys::close(fds[0]);
    let status = wait(pid)?;
    let got = got?;
    ensure(got == b"exec child: argc 2\n" && status == 0, || {
        format!("read \"{}\", child ended with {}", rt::Lossy(&got), describe(status))
    })
}

/// With no children left, wait4 fails with ECHILD instead of blocking.
fn wait_no_child() -> Check {
    let mut status = 0;
    let ret = sys::wait4(-1, &mut status, 0);
    ensure(ret == -errno::ECHILD, || format!("wait4(-1) returned {ret}"))
}
