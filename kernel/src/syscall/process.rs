//! Process life: identity, fork/vfork/clone, execve, exit, wait4, kill, yield, and
//! the thread-pointer calls every static program makes at startup.

use alloc::vec::Vec;

use super::Context;
use crate::arch::x86_64::tls;
use crate::fs::rootfs::PATH_MAX;
use crate::mm::address_space::USER_END;
use crate::process::lifecycle::{self, ChildSetup, WaitTarget};
use crate::process::{self, exec, ExitStatus, Pid};
use crate::sched::{self, WaitChannel};
use crate::signal;
use kernel_core::abi::errno::{E2BIG, EINVAL, ENAMETOOLONG, ENOMEM, ENOSYS, EPERM, ESRCH};
use kernel_core::abi::wait::decode_wait4_options;
use kernel_core::abi::{
    decode_clone, signal as signals, CloneKind, ARCH_GET_FS, ARCH_GET_GS, ARCH_SET_FS, ARCH_SET_GS,
};
use kernel_core::initstack::{self, ArgSpace, StackError, Strings, MAX_ARG_STRLEN};

pub fn getpid(context: &mut Context) -> Result<u64, i64> {
    Ok(u64::from(context.process.pid()))
}

pub fn gettid(context: &mut Context) -> Result<u64, i64> {
    Ok(u64::from(context.process.tid()))
}

pub fn getppid(context: &mut Context) -> Result<u64, i64> {
    Ok(u64::from(context.process.parent()))
}

pub fn sched_yield(context: &mut Context) -> Result<u64, i64> {
    sched::yield_cpu(context.process);
    Ok(0)
}

/// exit: ends the calling thread only (its process ends with its last thread).
pub fn exit(context: &mut Context) -> Result<u64, i64> {
    let [status, ..] = context.arguments();
    context.process.begin_exit(ExitStatus::Exited(status as u8));
    Ok(0)
}

/// exit_group: ends every thread of the process.
pub fn exit_group(context: &mut Context) -> Result<u64, i64> {
    let [status, ..] = context.arguments();
    lifecycle::exit_group(context.process, ExitStatus::Exited(status as u8));
    Ok(0)
}

pub fn set_tid_address(context: &mut Context) -> Result<u64, i64> {
    let [address, ..] = context.arguments();
    context.process.thread.lock().clear_child_tid = address;
    Ok(u64::from(context.process.tid()))
}

/// A base for FS or GS (arch_prctl, CLONE_SETTLS) must be a user address below the
/// top page: EPERM otherwise, as Linux (TASK_SIZE_MAX).
fn check_segment_base(address: u64) -> Result<u64, i64> {
    if address >= USER_END {
        return Err(EPERM);
    }
    Ok(address)
}

pub fn arch_prctl(context: &mut Context) -> Result<u64, i64> {
    let [code, address, ..] = context.arguments();
    let process = context.process;
    match code {
        ARCH_SET_FS | ARCH_SET_GS => {
            check_segment_base(address)?;
            process.segments.change_running(|segments| {
                if code == ARCH_SET_FS {
                    segments.set_fs_base(address)
                } else {
                    segments.set_gs_base(address)
                }
            });
            Ok(0)
        }
        ARCH_GET_FS | ARCH_GET_GS => {
            let base = if code == ARCH_GET_FS { tls::running_fs_base() } else { tls::running_gs_base() };
            context.copy_out(address, &base.to_le_bytes())?;
            Ok(0)
        }
        _ => Err(EINVAL),
    }
}

pub fn fork(context: &mut Context) -> Result<u64, i64> {
    let child = lifecycle::fork(context.process, &mut context.user, &ChildSetup::FORK)?;
    Ok(u64::from(child.tid()))
}

/// vfork, as a fork whose parent then waits until the child execs or exits: the
/// same observable behaviour for every program that uses vfork as POSIX allows
/// (the child only calls execve or _exit), without sharing the address space.
pub fn vfork(context: &mut Context) -> Result<u64, i64> {
    let child = lifecycle::fork(context.process, &mut context.user, &ChildSetup::FORK)?;
    wait_for_vfork_child(child.tid());
    Ok(u64::from(child.tid()))
}

fn wait_for_vfork_child(child: Pid) {
    // The child may already have exec'd or exited; its table entry then says so.
    loop {
        let wait = sched::prepare(WaitChannel::VforkDone(child));
        if !process::find(child).is_some_and(|child| child.exit_status().is_none() && !child_has_execed(&child)) {
            break;
        }
        if wait.block().is_err() {
            break;
        }
    }
}

fn child_has_execed(child: &process::Process) -> bool {
    child.group.details.lock().execed
}

/// clone: a new process with the fork-like flags (optionally on a new stack, with a
/// TLS pointer, writing its tid where asked, and reporting its exit with the signal
/// of the flags' low byte), or a new thread with CLONE_THREAD (the same, in the
/// caller's process). Shared-memory processes are not supported: ENOSYS; flags
/// that need sharing timeshare does not do: EINVAL; a TLS pointer outside user
/// space: EPERM, and no child.
pub fn clone(context: &mut Context) -> Result<u64, i64> {
    let [flags, stack, parent_tid, child_tid, tls_pointer, _] = context.arguments();
    let request = decode_clone(flags)?;
    if request.unsupported_flags != 0 {
        return Err(EINVAL);
    }
    if request.kind == CloneKind::SharedMemory {
        return Err(ENOSYS);
    }
    let setup = ChildSetup {
        exit_signal: request.exit_signal,
        stack: Some(stack).filter(|&stack| stack != 0),
        fs_base: if request.set_tls { Some(check_segment_base(tls_pointer)?) } else { None },
        parent_tid: if request.parent_settid { parent_tid } else { 0 },
        set_child_tid: if request.child_settid { child_tid } else { 0 },
        clear_child_tid: if request.child_cleartid { child_tid } else { 0 },
    };
    let child = if request.kind == CloneKind::Thread {
        lifecycle::spawn_thread(context.process, &mut context.user, &setup)?
    } else {
        lifecycle::fork(context.process, &mut context.user, &setup)?
    };
    if request.kind == CloneKind::Vfork {
        wait_for_vfork_child(child.tid());
    }
    Ok(u64::from(child.tid()))
}

/// Counts the pointers of a NULL-terminated array (argv or envp), as Linux does
/// before it copies anything; E2BIG once they alone would fill the argument space
/// (`ArgSpace::MAX_STRINGS`), so a program cannot keep the kernel counting.
fn count_pointers(context: &Context, address: u64) -> Result<usize, i64> {
    if address == 0 {
        return Ok(0);
    }
    let mut count = 0usize;
    while context.read_u64(address.wrapping_add(8 * count as u64))? != 0 {
        count += 1;
        if count > ArgSpace::MAX_STRINGS {
            return Err(E2BIG);
        }
    }
    Ok(count)
}

/// Appends the first `count` strings of the array at `address` to `strings` (the
/// contents of an `initstack::Strings`), charging each to `space`: E2BIG as soon as
/// one would not fit Linux's limits, so a program cannot make the kernel copy more
/// than those 2 MiB; ENOMEM when the kernel heap cannot hold the copy (a failed
/// kernel allocation would be a panic).
fn read_strings(
    context: &Context,
    address: u64,
    count: usize,
    space: &mut ArgSpace,
    strings: &mut Vec<u8>,
) -> Result<(), i64> {
    for index in 0..count {
        let pointer = context.read_u64(address.wrapping_add(8 * index as u64))?;
        // Room for the longest string's copy and its growth on the way.
        if crate::mm::heap::spare() < 2 * MAX_ARG_STRLEN {
            return Err(ENOMEM);
        }
        // One string longer than Linux's MAX_ARG_STRLEN is "argument list too long".
        let string = context.read_string(pointer, MAX_ARG_STRLEN - 1).map_err(|errno| {
            if errno == ENAMETOOLONG {
                E2BIG
            } else {
                errno
            }
        })?;
        space.take(string.len()).map_err(StackError::errno)?;
        // Room grows by doubling, but never past what the limits leave: 2 MiB of
        // strings take one 2 MiB block of the heap, not the next power of two.
        let needed = string.len() + 1;
        if strings.capacity() - strings.len() < needed {
            let most = strings.len() + needed + space.left();
            let wanted = (2 * strings.capacity()).max(strings.len() + needed).min(most);
            strings.try_reserve_exact(wanted - strings.len()).map_err(|_| ENOMEM)?;
        }
        initstack::push_string(strings, &string).map_err(StackError::errno)?;
    }
    Ok(())
}

pub fn execve(context: &mut Context) -> Result<u64, i64> {
    let [path, argv, envp, ..] = context.arguments();
    let path = context.read_string(path, PATH_MAX - 1)?;
    let argc = count_pointers(context, argv)?;
    let envc = count_pointers(context, envp)?;
    let mut space = ArgSpace::new(argc, envc).map_err(StackError::errno)?;
    space.take(path.len()).map_err(StackError::errno)?;
    let mut strings = Vec::new();
    read_strings(context, argv, argc, &mut space, &mut strings)?;
    // As Linux since 5.18: a program never starts with argc 0 (an empty argv gets
    // one empty string), which programs that assume argv[0] exists rely on.
    if argc == 0 {
        space.take(0).map_err(StackError::errno)?;
        initstack::push_string(&mut strings, b"").map_err(StackError::errno)?;
    }
    read_strings(context, envp, envc, &mut space, &mut strings)?;
    let strings = Strings::new(&strings, argc.max(1), envc).expect("one NUL-terminated string for each");
    let image = exec::load(&path, Some(context.process), strings)?;
    lifecycle::end_other_threads(context.process);
    if context.process.exit_status().is_some() {
        // Killed while the others ended: the process ends instead.
        return Ok(0);
    }
    exec::replace_image(context.process, &mut context.user, image);
    Ok(0)
}

pub fn wait4(context: &mut Context) -> Result<u64, i64> {
    let [pid, status_address, options, usage_address, ..] = context.arguments();
    let options = decode_wait4_options(options)?;
    let target = match pid as i32 {
        // -INT_MIN names no process group (Linux's check).
        i32::MIN => return Err(ESRCH),
        -1 => WaitTarget::Any,
        0 => WaitTarget::Group(process::group_and_session(context.process.pid()).map_or(0, |(group, _)| group)),
        pid if pid > 0 => WaitTarget::Pid(pid as Pid),
        pid => WaitTarget::Group(pid.unsigned_abs()),
    };
    let Some(report) = lifecycle::wait(context.process.pid(), target, options)? else { return Ok(0) };
    if status_address != 0 {
        context.copy_out(status_address, &report.status.to_le_bytes())?;
    }
    if usage_address != 0 {
        context.copy_out(usage_address, &report.usage.to_bytes())?;
    }
    Ok(u64::from(report.pid))
}

pub fn kill(context: &mut Context) -> Result<u64, i64> {
    let [pid, signal_number, ..] = context.arguments();
    let signal_number = match signal_number as i32 {
        0 => None,
        _ => Some(signals::decode(signal_number).ok_or(EINVAL)?),
    };
    let send = |target: &process::Process| {
        if let Some(signal_number) = signal_number {
            signal::send(target, signal_number, context.process);
        }
    };
    if pid as i32 > 0 {
        // One process (the common case, kept free of the group lists' allocation).
        // The caller's own tid is the thread `find` would return: no table lock.
        if pid as i32 as Pid == context.process.tid() {
            send(context.process);
            return Ok(0);
        }
        send(&*process::find(pid as i32 as Pid).ok_or(ESRCH)?);
        return Ok(0);
    }
    let targets: Vec<Pid> = match pid as i32 {
        0 => process::group_and_session(context.process.pid())
            .map(|(group, _)| process::members_of_group(group))
            .unwrap_or_default(),
        // Every process but init and the caller's, as Linux.
        -1 => process::list()
            .into_iter()
            .filter(|(pid, _, zombie, target)| {
                target.is_leader() && *pid != process::INIT_PID && *pid != context.process.pid() && !zombie
            })
            .map(|(pid, ..)| pid)
            .collect(),
        group => process::members_of_group(group.unsigned_abs()),
    };
    let mut found = false;
    for target in targets.into_iter().filter_map(process::find) {
        if target.exit_status().is_some() {
            continue;
        }
        found = true;
        send(&target);
    }
    if found {
        Ok(0)
    } else {
        Err(ESRCH)
    }
}

const PR_SET_NAME: u64 = 15;
const PR_GET_NAME: u64 = 16;
const PR_SET_CHILD_SUBREAPER: u64 = 36;
const PR_GET_CHILD_SUBREAPER: u64 = 37;
/// The size of a process name (comm), NUL included.
const TASK_COMM_LEN: usize = 16;

/// prctl: the process name (PR_SET_NAME/PR_GET_NAME) and whether the process
/// adopts its descendants' orphans (PR_SET/GET_CHILD_SUBREAPER); other options are
/// EINVAL.
pub fn prctl(context: &mut Context) -> Result<u64, i64> {
    let [option, address, ..] = context.arguments();
    match option {
        PR_SET_NAME => {
            let mut name = [0u8; TASK_COMM_LEN];
            let length = {
                let mut length = 0;
                while length < TASK_COMM_LEN - 1 {
                    let mut byte = [0u8; 1];
                    context.copy_in(address + length as u64, &mut byte)?;
                    if byte[0] == 0 {
                        break;
                    }
                    name[length] = byte[0];
                    length += 1;
                }
                length
            };
            let name = alloc::string::String::from_utf8_lossy(&name[..length]).into_owned();
            crate::trace::record_name(context.process.tid(), &name);
            context.process.thread.lock().name = name;
            Ok(0)
        }
        PR_GET_NAME => {
            let mut name = [0u8; TASK_COMM_LEN];
            let current = context.process.name();
            let length = current.len().min(TASK_COMM_LEN - 1);
            name[..length].copy_from_slice(&current.as_bytes()[..length]);
            context.copy_out(address, &name)?;
            Ok(0)
        }
        PR_SET_CHILD_SUBREAPER => {
            context.process.group.set_child_subreaper(address != 0);
            Ok(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            let subreaper = i32::from(context.process.group.is_child_subreaper());
            context.copy_out(address, &subreaper.to_ne_bytes())?;
            Ok(0)
        }
        _ => Err(EINVAL),
    }
}
