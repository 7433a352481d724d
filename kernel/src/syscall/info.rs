//! Who and where: uname, the user and group ids.

use super::Context;
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
