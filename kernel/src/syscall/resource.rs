//! Resources: limits, usage, the file-creation mask, CPU affinity, which CPU.

use super::Context;
use crate::process::{self, Stats};
use crate::time;
use kernel_core::abi::errno::{EFAULT, EINVAL, ESRCH};
use kernel_core::abi::{
    check_new_limit, decode_resource, Rlimit, Rusage, RLIMIT_AS, RLIMIT_NOFILE, RLIMIT_STACK, RUSAGE_CHILDREN,
    RUSAGE_SELF, RUSAGE_THREAD,
};

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

/// The usage of the reaped children of `process`.
fn children_usage(process: &process::Process) -> Rusage {
    Rusage {
        user_ns: time::cycles_to_ns(Stats::load(&process.stats.children_user_cycles)),
        system_ns: time::cycles_to_ns(Stats::load(&process.stats.children_system_cycles)),
        ..Rusage::default()
    }
}

pub fn getrusage(context: &mut Context) -> Result<u64, i64> {
    let [who, address, ..] = context.arguments();
    let usage = match who as i32 {
        RUSAGE_SELF | RUSAGE_THREAD => context.process.usage(),
        RUSAGE_CHILDREN => children_usage(context.process),
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
        let own = context.process.usage();
        let children = children_usage(context.process);
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

/// The CPUs a process may run on: the one CPU there is.
const CPU_MASK: u64 = 1;

/// sched_getaffinity: writes the mask (8 bytes) and returns its size, as Linux does.
pub fn sched_getaffinity(context: &mut Context) -> Result<u64, i64> {
    let [pid, length, address, ..] = context.arguments();
    if pid != 0 && process::find(pid as u32).is_none() {
        return Err(ESRCH);
    }
    if length < 8 || length % 8 != 0 {
        return Err(EINVAL);
    }
    context.copy_out(address, &CPU_MASK.to_le_bytes())?;
    Ok(8)
}

/// getcpu(cpu, node, cache): the CPU the caller runs on, and its NUMA node
/// (always 0), each stored if its pointer is not null; the cache argument is
/// unused, as on Linux. The vDSO's getcpu answers the same without the call.
pub fn getcpu(context: &mut Context) -> Result<u64, i64> {
    let [cpu_address, node_address, ..] = context.arguments();
    let cpu = crate::arch::x86_64::percpu::current_id().unwrap_or(0) as u32;
    if cpu_address != 0 {
        context.copy_out(cpu_address, &cpu.to_le_bytes())?;
    }
    if node_address != 0 {
        context.copy_out(node_address, &0u32.to_le_bytes())?;
    }
    Ok(0)
}

/// sched_setaffinity: accepted when the mask includes the one CPU.
pub fn sched_setaffinity(context: &mut Context) -> Result<u64, i64> {
    let [pid, length, address, ..] = context.arguments();
    if pid != 0 && process::find(pid as u32).is_none() {
        return Err(ESRCH);
    }
    if length == 0 {
        return Err(EINVAL);
    }
    let mut first = [0u8; 1];
    context.copy_in(address, &mut first)?;
    if u64::from(first[0]) & CPU_MASK == 0 {
        return Err(EINVAL);
    }
    Ok(0)
}
