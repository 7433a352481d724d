//! Who and where: uname, the user and group ids.

use super::Context;
use crate::mm::{frame, PAGE_SIZE};
use crate::{process, time};
use kernel_core::abi::Utsname;

/// The identity timeshare reports. The system name is "Linux" because programs
/// choose their system-call ABI by it (as gVisor and WSL do); the release says what
/// kernel this really is.
const UTSNAME: Utsname = Utsname {
    sysname: "Linux",
    nodename: "timeshare",
    release: "6.1.0-timeshare",
    version: "#1 timeshare",
    machine: "x86_64",
    domainname: "(none)",
};

pub fn uname(context: &mut Context, [address, ..]: [u64; 6]) -> Result<u64, i64> {
    context.copy_out(address, &UTSNAME.to_bytes())?;
    Ok(0)
}

/// Every process runs as root (uid = euid = gid = egid = 0, as the auxv says).
pub fn getuid(_context: &mut Context, _args: [u64; 6]) -> Result<u64, i64> {
    Ok(0)
}

/// sysinfo: uptime, memory in pages of 4 KiB, and the number of processes (zombies
/// included, as Linux counts them). timeshare has no load average or swap: 0.
pub fn sysinfo(context: &mut Context, [address, ..]: [u64; 6]) -> Result<u64, i64> {
    let mut info = [0u8; 112];
    let mut put = |offset: usize, value: u64| info[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
    put(0, time::monotonic_ns() / 1_000_000_000);
    put(32, frame::total_count() as u64);
    put(40, frame::free_count() as u64);
    info[80..82].copy_from_slice(&(process::count() as u16).to_le_bytes());
    info[104..108].copy_from_slice(&(PAGE_SIZE as u32).to_le_bytes());
    context.copy_out(address, &info)?;
    Ok(0)
}
