//! The program's memory: brk, mmap, munmap, mprotect, msync.
//!
//! A file mapping shares the file's page frames (`FilePage`) with the root file
//! system: each mapped page holds a reference to its frame, taken when the
//! mapping is made (every page within the file's end is mapped then), so stores
//! through a MAP_SHARED mapping are the file's bytes, read(2) and write(2) see
//! and change what the mappings show, and the frame outlives the file's hold on
//! it: an unlinked file's mapped pages stay, and a truncate that drops a page
//! never frees a frame still mapped (the mappings keep the page they had until
//! munmap, where Linux would take it away).

use super::Context;
use crate::fs::rootfs;
use crate::fs::MapSource;
use crate::mm::address_space::{Kind, MapError, Placement, Protection};
use crate::mm::PAGE_SIZE;
use kernel_core::abi::errno::{EACCES, EEXIST, EINVAL, ENODEV, ENOMEM};
use kernel_core::abi::{
    check_file_mapping, check_mmap_offset, decode_mmap, decode_mprotect, decode_msync, Fixed, Prot, Sharing,
};

fn protection(prot: Prot) -> Protection {
    Protection { read: prot.read, write: prot.write, execute: prot.execute }
}

fn errno(error: MapError) -> i64 {
    match error {
        MapError::InvalidArgument => EINVAL,
        MapError::NoMemory => ENOMEM,
        MapError::Exists => EEXIST,
        MapError::Access => EACCES,
    }
}

pub fn brk(context: &mut Context) -> Result<u64, i64> {
    let [address, ..] = context.arguments();
    Ok(context.memory(|memory| memory.set_break(address)))
}

/// Anonymous mappings, private or shared; mappings of regular files and of
/// /dev/zero. The checks are Linux's, in its order: the offset's alignment
/// (EINVAL), the descriptor (EBADF), the length (EINVAL for 0), where it goes
/// (ENOMEM, EEXIST), a file range past the largest offset (EOVERFLOW), a shared
/// writable mapping of a descriptor not open for writing or any mapping of one not
/// open for reading (EACCES), then a file that cannot be mapped (ENODEV).
pub fn mmap(context: &mut Context) -> Result<u64, i64> {
    let [address, length, prot, flags, fd, offset] = context.arguments();
    let request = decode_mmap(prot, flags)?;
    check_mmap_offset(offset)?;
    let placement = match request.fixed {
        Fixed::No => Placement::Hint(address),
        Fixed::Replace => Placement::Replace(address),
        Fixed::NoReplace => Placement::NoReplace(address),
    };
    let protection = protection(request.prot);
    let shared = request.sharing == Sharing::Shared;
    let anonymous_kind = if shared { Kind::SharedAnonymous } else { Kind::Anonymous };
    if request.anonymous {
        let (result, _released) =
            context.memory(|memory| memory.map_anonymous(placement, length, protection, anonymous_kind));
        return result.map_err(errno);
    }
    let file = context.group.files.lock().get(fd)?;
    if length == 0 {
        return Err(EINVAL);
    }
    check_file_mapping(offset, length)?;
    if (shared && request.prot.write && !file.writable()) || !file.readable() {
        return Err(EACCES);
    }
    let node = match file.file.mapping().ok_or(ENODEV)? {
        MapSource::Zeros => {
            let (result, _released) =
                context.memory(|memory| memory.map_anonymous(placement, length, protection, anonymous_kind));
            return result.map_err(errno);
        }
        MapSource::Pages(node) => node,
    };
    let kind = Kind::File { shared, may_write: !shared || file.writable() };
    let first_page = offset / PAGE_SIZE;
    // The tree's lock before the address space's, and held while the mapping
    // takes its references to the file's frames. The mapping keeps the open file
    // description, as Linux's: one open for writing stays a writer of the file
    // (exec of it is ETXTBSY) until the last page of the mapping is gone.
    let mut tree = rootfs::lock();
    let (result, released) = context.memory(|memory| {
        memory.map_file(placement, length, protection, kind, file, |pages, install| {
            tree.pages_for_mapping(node, first_page, pages, |page| install(page.frame())).is_ok()
        })
    });
    drop(tree);
    drop(released);
    result.map_err(errno)
}

pub fn munmap(context: &mut Context) -> Result<u64, i64> {
    let [address, length, ..] = context.arguments();
    // What the unmapped file mappings held goes once no lock is held.
    context.memory(|memory| memory.unmap(address, length)).map(|_released| 0).map_err(errno)
}

pub fn mprotect(context: &mut Context) -> Result<u64, i64> {
    let [address, length, prot, ..] = context.arguments();
    let prot = decode_mprotect(prot)?;
    context.memory(|memory| memory.protect(address, length, protection(prot))).map(|()| 0).map_err(errno)
}

/// msync: the arguments checked as Linux does (`decode_msync`), ENOMEM when a
/// page of the range is not mapped. Nothing to write back: a shared mapping's
/// pages are the file's own, in RAM.
pub fn msync(context: &mut Context) -> Result<u64, i64> {
    let [address, length, flags, ..] = context.arguments();
    let range = decode_msync(address, length, flags)?;
    if range.is_empty() || context.memory(|memory| memory.covers(range.start, range.end)) {
        Ok(0)
    } else {
        Err(ENOMEM)
    }
}
