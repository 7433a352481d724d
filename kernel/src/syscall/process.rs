//! Process life: identity, fork/vfork/clone, execve, exit, wait4, kill, yield, and
//! the thread-pointer calls every static program makes at startup.

use alloc::vec::Vec;

use super::Context;
use crate::arch::x86_64::tls;
use crate::fs::initrd::PATH_MAX;
use crate::mm::address_space::USER_END;
use crate::process::lifecycle::{self, WaitTarget};
use crate::process::{self, exec, ExitStatus, Pid};
use crate::sched::{self, WaitChannel};
use crate::signal;
use kernel_core::abi::errno::{E2BIG, EINVAL, ENAMETOOLONG, ENOSYS, EPERM, ESRCH};
use kernel_core::abi::wait::decode_wait4_options;
use kernel_core::abi::{
    decode_clone, signal as signals, CloneKind, ARCH_GET_FS, ARCH_GET_GS, ARCH_SET_FS, ARCH_SET_GS,
};
use kernel_core::initstack::MAX_ARG_COUNT;
use kernel_core::sched::Arrival;

pub fn getpid(context: &mut Context, _args: &[u64; 6]) -> Result<u64, i64> {
    Ok(u64::from(context.process.pid))
}

pub fn getppid(context: &mut Context, _args: &[u64; 6]) -> Result<u64, i64> {
    Ok(u64::from(process::parent_of(context.process.pid)))
}

pub fn sched_yield(_context: &mut Context, _args: &[u64; 6]) -> Result<u64, i64> {
    sched::yield_cpu(Arrival::Yielded);
    Ok(0)
}

pub fn exit(context: &mut Context, &[status, ..]: &[u64; 6]) -> Result<u64, i64> {
    context.process.begin_exit(ExitStatus::Exited(status as u8));
    Ok(0)
}

pub fn set_tid_address(context: &mut Context, &[address, ..]: &[u64; 6]) -> Result<u64, i64> {
    context.process.details.lock().clear_child_tid = address;
    Ok(u64::from(context.process.pid))
}

pub fn arch_prctl(context: &mut Context, &[code, address, ..]: &[u64; 6]) -> Result<u64, i64> {
    let process = context.process;
    match code {
        ARCH_SET_FS | ARCH_SET_GS => {
            if address >= USER_END {
                return Err(EPERM);
            }
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

pub fn fork(context: &mut Context, _args: &[u64; 6]) -> Result<u64, i64> {
    let child = lifecycle::fork(context.process, &mut context.user)?;
    Ok(u64::from(child.pid))
}

/// vfork, as a fork whose parent then waits until the child execs or exits: the
/// same observable behaviour for every program that uses vfork as POSIX allows
/// (the child only calls execve or _exit), without sharing the address space.
pub fn vfork(context: &mut Context, _args: &[u64; 6]) -> Result<u64, i64> {
    let child = lifecycle::fork(context.process, &mut context.user)?;
    wait_for_vfork_child(child.pid);
    Ok(u64::from(child.pid))
}

fn wait_for_vfork_child(child: Pid) {
    // The child may already have exec'd or exited; its table entry then says so.
    while process::find(child).is_some_and(|child| child.exit_status().is_none() && !child_has_execed(&child)) {
        if sched::block(WaitChannel::VforkDone(child)).is_err() {
            break;
        }
    }
}

fn child_has_execed(child: &process::Process) -> bool {
    child.details.lock().execed
}

/// clone with the fork-like flags: a new process (optionally on a new stack, with a
/// TLS pointer, and writing its tid where asked). Threads and shared-memory clones
/// are not supported: ENOSYS; flags that need sharing timeshare does not do: EINVAL.
pub fn clone(
    context: &mut Context,
    &[flags, stack, parent_tid, child_tid, tls_pointer, _]: &[u64; 6],
) -> Result<u64, i64> {
    let request = decode_clone(flags)?;
    if request.unsupported_flags != 0 {
        return Err(EINVAL);
    }
    if matches!(request.kind, CloneKind::Thread | CloneKind::SharedMemory) {
        return Err(ENOSYS);
    }
    let mut frame = *context.user.frame;
    if stack != 0 {
        frame.rsp = stack;
    }
    let saved = core::mem::replace(context.user.frame, frame);
    let result = lifecycle::fork(context.process, &mut context.user);
    *context.user.frame = saved;
    let child = result?;
    if request.set_tls {
        child.segments.change(|segments| segments.set_fs_base(tls_pointer));
    }
    let tid = child.pid.to_le_bytes();
    if request.child_settid {
        child.memory.lock().as_mut().map(|memory| memory.write(child_tid, &tid));
    }
    if request.child_cleartid {
        child.details.lock().clear_child_tid = child_tid;
    }
    if request.parent_settid {
        context.copy_out(parent_tid, &tid)?;
    }
    if request.kind == CloneKind::Vfork {
        wait_for_vfork_child(child.pid);
    }
    Ok(u64::from(child.pid))
}

/// Reads a NULL-terminated array of string pointers (argv or envp), taking each
/// string's bytes (NUL included) from `budget`, which argv and envp share: E2BIG as
/// soon as they would not fit on the new stack (`initstack::MAX_ARG_BYTES`), so a
/// program cannot make the kernel copy more than that (8192 pointers to one long
/// string would otherwise be a gigabyte of kernel heap).
fn read_string_array(context: &Context, address: u64, budget: &mut usize) -> Result<Vec<Vec<u8>>, i64> {
    let mut strings = Vec::new();
    if address == 0 {
        return Ok(strings);
    }
    loop {
        let pointer = context.read_u64(address.wrapping_add(8 * strings.len() as u64))?;
        if pointer == 0 {
            return Ok(strings);
        }
        if strings.len() >= MAX_ARG_COUNT {
            return Err(E2BIG);
        }
        // One string longer than Linux's MAX_ARG_STRLEN is "argument list too long".
        let string =
            context
                .read_string(pointer, MAX_ARG_STRLEN)
                .map_err(|errno| if errno == ENAMETOOLONG { E2BIG } else { errno })?;
        *budget = budget.checked_sub(string.len() + 1).ok_or(E2BIG)?;
        strings.push(string);
    }
}

/// The longest single argument or environment string (Linux's MAX_ARG_STRLEN,
/// 32 pages, NUL included).
const MAX_ARG_STRLEN: usize = 32 * 4096 - 1;

pub fn execve(context: &mut Context, &[path, argv, envp, ..]: &[u64; 6]) -> Result<u64, i64> {
    let path = context.read_string(path, PATH_MAX - 1)?;
    let mut budget = kernel_core::initstack::MAX_ARG_BYTES;
    let mut argv = read_string_array(context, argv, &mut budget)?;
    let envp = read_string_array(context, envp, &mut budget)?;
    // As Linux since 5.18: a program never starts with argc 0 (an empty argv gets
    // one empty string), which programs that assume argv[0] exists rely on.
    if argv.is_empty() {
        argv.push(Vec::new());
    }
    let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    let envp: Vec<&[u8]> = envp.iter().map(Vec::as_slice).collect();
    let image = exec::load(&path, context.process.origin(), &argv, &envp)?;
    exec::replace_image(context.process, &mut context.user, image);
    Ok(0)
}

pub fn wait4(context: &mut Context, &[pid, status_address, options, usage_address, ..]: &[u64; 6]) -> Result<u64, i64> {
    let options = decode_wait4_options(options)?;
    let target = match pid as i32 {
        // -INT_MIN names no process group (Linux's check).
        i32::MIN => return Err(ESRCH),
        -1 => WaitTarget::Any,
        0 => WaitTarget::Group(process::group_and_session(context.process.pid).map_or(0, |(group, _)| group)),
        pid if pid > 0 => WaitTarget::Pid(pid as Pid),
        pid => WaitTarget::Group(pid.unsigned_abs()),
    };
    let Some(report) = lifecycle::wait(context.process.pid, target, options)? else { return Ok(0) };
    if status_address != 0 {
        context.copy_out(status_address, &report.status.to_le_bytes())?;
    }
    if usage_address != 0 {
        context.copy_out(usage_address, &report.usage.to_bytes())?;
    }
    Ok(u64::from(report.pid))
}

pub fn kill(context: &mut Context, &[pid, signal_number, ..]: &[u64; 6]) -> Result<u64, i64> {
    let signal_number = match signal_number as i32 {
        0 => None,
        _ => Some(signals::decode(signal_number).ok_or(EINVAL)?),
    };
    let send = |target: &process::Process| {
        if let Some(signal_number) = signal_number {
            signal::send(target, signal_number);
        }
    };
    if pid as i32 > 0 {
        // One process (the common case, kept free of the group lists' allocation).
        send(&*process::find(pid as i32 as Pid).ok_or(ESRCH)?);
        return Ok(0);
    }
    let targets: Vec<Pid> = match pid as i32 {
        0 => process::group_and_session(context.process.pid)
            .map(|(group, _)| process::members_of_group(group))
            .unwrap_or_default(),
        // Everyone but init and the caller, as Linux.
        -1 => process::list()
            .into_iter()
            .filter(|&(pid, _, zombie, _)| pid != process::INIT_PID && pid != context.process.pid && !zombie)
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
/// The size of a process name (comm), NUL included.
const TASK_COMM_LEN: usize = 16;

/// prctl: the process name (PR_SET_NAME/PR_GET_NAME); other options are EINVAL.
pub fn prctl(context: &mut Context, &[option, address, ..]: &[u64; 6]) -> Result<u64, i64> {
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
            context.process.details.lock().name = alloc::string::String::from_utf8_lossy(&name[..length]).into_owned();
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
        _ => Err(EINVAL),
    }
}
