//! Who and where: uname, the user and group ids.

use super::Context;
use crate::mm::{frame, PAGE_SIZE};
use crate::{process, time};
use kernel_core::abi::errno::EINVAL;
use kernel_core::abi::Utsname;
use kernel_core::loadavg::FSHIFT;

/// sysinfo's load averages have this many fractional bits.
const SI_LOAD_SHIFT: u32 = 16;

/// The identity timeshare reports. The system name is "Linux" because programs
/// choose their system-call ABI by it (as gVisor and WSL do); the release says what
/// kernel this really is.
pub const UTSNAME: Utsname = Utsname {
    sysname: "Linux",
    nodename: "timeshare",
    release: "6.1.0-timeshare",
    version: "#1 timeshare",
    machine: "x86_64",
    domainname: "(none)",
};

pub fn uname(context: &mut Context) -> Result<u64, i64> {
    let [address, ..] = context.arguments();
    context.copy_out(address, &UTSNAME.to_bytes())?;
    Ok(0)
}

/// Every process runs as root (uid = euid = gid = egid = 0, as the auxv says).
pub fn getuid(_context: &mut Context) -> Result<u64, i64> {
    Ok(0)
}

/// sysinfo: uptime, the load average (16 fractional bits), memory in pages of 4
/// KiB, and the number of processes (zombies included, as Linux counts them).
/// timeshare has no swap: 0.
pub fn sysinfo(context: &mut Context) -> Result<u64, i64> {
    let [address, ..] = context.arguments();
    let mut info = [0u8; 112];
    let mut put = |offset: usize, value: u64| info[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
    put(0, time::monotonic_ns() / 1_000_000_000);
    let loads = crate::sched::load_average().fixed_point();
    for (index, load) in loads.into_iter().enumerate() {
        put(8 + 8 * index, load << (SI_LOAD_SHIFT - FSHIFT));
    }
    put(32, frame::total_count() as u64);
    put(40, frame::free_count() as u64);
    info[80..82].copy_from_slice(&(process::count() as u16).to_le_bytes());
    info[104..108].copy_from_slice(&(PAGE_SIZE as u32).to_le_bytes());
    context.copy_out(address, &info)?;
    Ok(0)
}

const GRND_NONBLOCK: u64 = 0x1;
const GRND_RANDOM: u64 = 0x2;
const GRND_INSECURE: u64 = 0x4;

/// getrandom: fills the buffer (the generator never blocks). Linux's limits: one
/// call returns at most 32 MiB - 1 bytes; GRND_RANDOM with GRND_INSECURE is EINVAL.
pub fn getrandom(context: &mut Context) -> Result<u64, i64> {
    let [address, length, flags, ..] = context.arguments();
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || flags & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE)
    {
        return Err(EINVAL);
    }
    let length = length.min((32 << 20) - 1);
    let mut chunk = [0u8; 256];
    let mut done = 0;
    while done < length {
        // Pieces end at page boundaries, so a buffer that runs off its mapping gets
        // every byte up to the end of it, as on Linux.
        let at = address.wrapping_add(done);
        let piece = (length - done).min(chunk.len() as u64).min(PAGE_SIZE - at % PAGE_SIZE) as usize;
        crate::random::fill(&mut chunk[..piece]);
        if let Err(errno) = context.copy_out(at, &chunk[..piece]) {
            return if done > 0 { Ok(done) } else { Err(errno) };
        }
        done += piece as u64;
    }
    Ok(done)
}
