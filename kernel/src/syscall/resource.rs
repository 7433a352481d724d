//! Resources: limits, usage, the file-creation mask, CPU affinity, which CPU.

use super::Context;
use crate::arch::x86_64::smp;
use crate::process::{self, Process};
use crate::sched;
use crate::time;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;
use kernel_core::abi::errno::{EFAULT, EINVAL, ESRCH};
use kernel_core::abi::{
    check_new_limit, decode_resource, Rlimit, RLIMIT_AS, RLIMIT_NOFILE, RLIMIT_STACK, RUSAGE_CHILDREN, RUSAGE_SELF,
    RUSAGE_THREAD,
};
use kernel_core::sched::balance::{all_cpus, CpuMask};

/// prlimit64(pid, resource, new, old): reads and/or sets a limit of the caller or
/// of another process (every process runs as root, so any may be changed). Raising
/// a hard limit is allowed (root), as on Linux, RLIMIT_NOFILE's up to `NR_OPEN`.
pub fn prlimit64(context: &mut Context) -> Result<u64, i64> {
    let arguments = context.arguments();
    prlimit64_of(context, arguments)
}

/// `prlimit64` of `arguments`: also the older calls it extends, with theirs.
fn prlimit64_of(context: &mut Context, [pid, resource, new_address, old_address, ..]: [u64; 6]) -> Result<u64, i64> {
    let resource = decode_resource(resource)?;
    let pid = match pid as i32 {
        0 => context.process.pid(),
        pid if pid > 0 => pid as u32,
        _ => return Err(EINVAL),
    };
    let target = process::find(pid).filter(|process| process.exit_status().is_none()).ok_or(ESRCH)?;
    let new = if new_address != 0 {
        let mut raw = [0u8; Rlimit::SIZE];
        context.copy_in(new_address, &mut raw)?;
        Some(check_new_limit(resource, Rlimit::from_bytes(raw)?)?)
    } else {
        None
    };
    let old = {
        let mut details = target.group.details.lock();
        let old = details.limits[resource];
        if let Some(new) = new {
            details.limits[resource] = new;
        }
        old
    };
    // The limits the kernel enforces (as Linux does) take effect at once.
    if let Some(new) = new {
        if resource == RLIMIT_AS as usize {
            if let Some(memory) = target.group.memory.lock().as_mut() {
                memory.set_size_limit(new.current);
            }
        } else if resource == RLIMIT_STACK as usize {
            if let Some(memory) = target.group.memory.lock().as_mut() {
                memory.set_stack_limit(new.current);
            }
        } else if resource == RLIMIT_NOFILE as usize {
            target.group.files.lock().set_limit(new.current);
        }
    }
    if old_address != 0 {
        context.copy_out(old_address, &old.to_bytes())?;
    }
    Ok(0)
}

pub fn getrlimit(context: &mut Context) -> Result<u64, i64> {
    let [resource, address, ..] = context.arguments();
    // Unlike prlimit64's, getrlimit's pointer is not optional.
    if address == 0 {
        return Err(EFAULT);
    }
    prlimit64_of(context, [0, resource, 0, address, 0, 0])
}

pub fn setrlimit(context: &mut Context) -> Result<u64, i64> {
    let [resource, address, ..] = context.arguments();
    if address == 0 {
        return Err(EFAULT);
    }
    prlimit64_of(context, [0, resource, address, 0, 0, 0])
}

/// getrusage: the whole process's usage (its threads', those that ended too), the
/// calling thread's, or its reaped children's (with what they reaped).
pub fn getrusage(context: &mut Context) -> Result<u64, i64> {
    let [who, address, ..] = context.arguments();
    let usage = match who as i32 {
        RUSAGE_SELF => process::process_usage(context.process).rusage(),
        RUSAGE_THREAD => context.process.thread_usage().rusage(),
        RUSAGE_CHILDREN => context.group.children.load().rusage(),
        _ => return Err(EINVAL),
    };
    context.copy_out(address, &usage.to_bytes())?;
    Ok(0)
}

/// Clock ticks per second of times() (Linux's USER_HZ, also AT_CLKTCK).
const USER_HZ: u64 = 100;

/// times: CPU times in clock ticks; returns ticks since boot.
pub fn times(context: &mut Context) -> Result<u64, i64> {
    let [address, ..] = context.arguments();
    if address != 0 {
        let own = process::process_usage(context.process).rusage();
        let children = context.group.children.load().rusage();
        let ticks = |ns: u64| ns / (1_000_000_000 / USER_HZ);
        let mut buffer = [0u8; 32];
        for (slot, value) in
            buffer.chunks_exact_mut(8).zip([own.user_ns, own.system_ns, children.user_ns, children.system_ns])
        {
            slot.copy_from_slice(&ticks(value).to_le_bytes());
        }
        context.copy_out(address, &buffer)?;
    }
    Ok(time::monotonic_ns() / (1_000_000_000 / USER_HZ))
}

pub fn umask(context: &mut Context) -> Result<u64, i64> {
    let [mask, ..] = context.arguments();
    let mut details = context.group.details.lock();
    let old = details.umask;
    details.umask = mask as u32 & 0o777;
    Ok(u64::from(old))
}

/// The thread `tid` names for the affinity calls: the caller for 0.
fn affinity_target(context: &Context, tid: u64) -> Result<Arc<Process>, i64> {
    match tid {
        0 => process::find(context.process.tid()).ok_or(ESRCH),
        tid => u32::try_from(tid).ok().and_then(process::find).ok_or(ESRCH),
    }
}

/// sched_getaffinity: writes the thread's mask of online CPUs (8 bytes: up to 64
/// CPUs, as Linux's cpumask_size) and returns its size, as Linux does.
pub fn sched_getaffinity(context: &mut Context) -> Result<u64, i64> {
    let [tid, length, address, ..] = context.arguments();
    let target = affinity_target(context, tid)?;
    if length < 8 || length % 8 != 0 {
        return Err(EINVAL);
    }
    let mask = target.affinity.load(Ordering::Relaxed) & all_cpus(smp::online_count());
    context.copy_out(address, &u64::from(mask).to_le_bytes())?;
    Ok(8)
}

/// getcpu(cpu, node, cache): the CPU the caller runs on (it may be elsewhere by the
/// time it reads it, as on Linux) and NUMA node 0; the third argument is unused
/// since Linux 2.6.24. The vDSO's getcpu answers the same without the call.
pub fn getcpu(context: &mut Context) -> Result<u64, i64> {
    let [cpu, node, ..] = context.arguments();
    if cpu != 0 {
        context.copy_out(cpu, &(sched::cpu_index() as u32).to_le_bytes())?;
    }
    if node != 0 {
        context.copy_out(node, &0u32.to_le_bytes())?;
    }
    Ok(0)
}

/// sched_setaffinity: the thread may run on the online CPUs of the mask (of which
/// the first 8 bytes count, as Linux reads cpumask_size), EINVAL if none; a caller
/// the mask excludes from its CPU moves to another at once.
pub fn sched_setaffinity(context: &mut Context) -> Result<u64, i64> {
    let [tid, length, address, ..] = context.arguments();
    let target = affinity_target(context, tid)?;
    let mut bytes = [0u8; 8];
    let read = (length as usize).min(bytes.len());
    context.copy_in(address, &mut bytes[..read])?;
    let mask = (u64::from_le_bytes(bytes) & u64::from(all_cpus(smp::online_count()))) as CpuMask;
    if mask == 0 {
        return Err(EINVAL);
    }
    target.affinity.store(mask, Ordering::Relaxed);
    // Another thread, blocked, is placed by its new affinity when woken (its
    // home is read then); running or queued, it moves at its next tick.
    if target.tid() == context.process.tid() {
        sched::leave_disallowed_cpu(&target);
    }
    Ok(0)
}
