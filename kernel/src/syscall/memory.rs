//! The program's memory: brk, mmap, munmap, mprotect.

use super::Context;
use crate::mm::address_space::{MapError, Placement, Protection};
use kernel_core::abi::errno::{EEXIST, EINVAL, ENODEV, ENOMEM};
use kernel_core::abi::{decode_mmap, decode_mprotect, Fixed, Prot, Sharing};

fn protection(prot: Prot) -> Protection {
    Protection { read: prot.read, write: prot.write, execute: prot.execute }
}

fn errno(error: MapError) -> i64 {
    match error {
        MapError::InvalidArgument => EINVAL,
        MapError::NoMemory => ENOMEM,
        MapError::Exists => EEXIST,
    }
}

pub fn brk(context: &mut Context, &[address, ..]: &[u64; 6]) -> Result<u64, i64> {
    Ok(context.memory(|memory| memory.set_break(address)))
}

/// Anonymous private mappings. File-backed and shared mappings are not supported
/// yet and fail with ENODEV, the errno Linux gives for a file that cannot be mapped.
pub fn mmap(context: &mut Context, &[address, length, prot, flags, _fd, _offset]: &[u64; 6]) -> Result<u64, i64> {
    let request = decode_mmap(prot, flags)?;
    if !request.anonymous || request.sharing == Sharing::Shared {
        return Err(ENODEV);
    }
    let placement = match request.fixed {
        Fixed::No => Placement::Hint(address),
        Fixed::Replace => Placement::Replace(address),
        Fixed::NoReplace => Placement::NoReplace(address),
    };
    context.memory(|memory| memory.map_anonymous(placement, length, protection(request.prot))).map_err(errno)
}

pub fn munmap(context: &mut Context, &[address, length, ..]: &[u64; 6]) -> Result<u64, i64> {
    context.memory(|memory| memory.unmap(address, length)).map(|()| 0).map_err(errno)
}

pub fn mprotect(context: &mut Context, &[address, length, prot, ..]: &[u64; 6]) -> Result<u64, i64> {
    let prot = decode_mprotect(prot)?;
    context.memory(|memory| memory.protect(address, length, protection(prot))).map(|()| 0).map_err(errno)
}
