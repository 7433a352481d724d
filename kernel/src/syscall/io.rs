//! Descriptor I/O: read, write and their vector forms, ioctl, close, dup, pipe.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use super::Context;
use crate::fs::{pipe, File};
use crate::mm::address_space::USER_END;
use crate::mm::PAGE_SIZE;
use kernel_core::abi::errno::{EFAULT, EINVAL};
use kernel_core::abi::{Iovec, IOV_MAX, O_CLOEXEC};

/// Bytes moved through the kernel per step of a read or write.
const CHUNK: usize = 64 * 1024;

/// Linux's access_ok: the whole buffer must lie in user space, or the call fails
/// with EFAULT before doing anything (a blocking read must not wait first).
fn check_user_range(address: u64, length: u64) -> Result<(), i64> {
    match address.checked_add(length) {
        Some(end) if end <= USER_END => Ok(()),
        _ => Err(EFAULT),
    }
}

fn file(context: &Context, fd: u64) -> Result<Arc<dyn File>, i64> {
    context.process.files.lock().get(fd)
}

/// Reads once from `file` into user memory at `address` (up to `length` bytes).
fn read_into(context: &Context, file: &dyn File, address: u64, length: u64) -> Result<u64, i64> {
    check_user_range(address, length)?;
    let mut buffer = vec![0u8; (length as usize).min(CHUNK)];
    let count = file.read(&mut buffer)?;
    context.copy_out(address, &buffer[..count])?;
    Ok(count as u64)
}

/// Writes user memory at `[address, address + length)` to `file`, chunk by chunk.
/// Stops at a short write; a fault part-way writes what came before it (the count
/// returned says how much), as on Linux.
fn write_from(context: &Context, file: &dyn File, address: u64, length: u64) -> Result<u64, i64> {
    check_user_range(address, length)?;
    let mut done = 0u64;
    while done < length {
        let chunk = (length - done).min(CHUNK as u64) as usize;
        let mut buffer: Vec<u8> = vec![0u8; chunk];
        let readable = readable_prefix(context, address + done, &mut buffer);
        if readable == 0 {
            return if done > 0 { Ok(done) } else { Err(EFAULT) };
        }
        let written = file.write(&buffer[..readable])?;
        done += written as u64;
        if written < chunk {
            break;
        }
    }
    Ok(done)
}

/// Copies as much of `buffer.len()` bytes from user `address` as can be read, page
/// by page, and returns how many.
fn readable_prefix(context: &Context, address: u64, buffer: &mut [u8]) -> usize {
    let mut copied = 0;
    while copied < buffer.len() {
        let cursor = address + copied as u64;
        let piece = (PAGE_SIZE - cursor % PAGE_SIZE).min((buffer.len() - copied) as u64) as usize;
        if context.copy_in(cursor, &mut buffer[copied..copied + piece]).is_err() {
            break;
        }
        copied += piece;
    }
    copied
}

pub fn read(context: &mut Context, [fd, address, length, ..]: [u64; 6]) -> Result<u64, i64> {
    let file = file(context, fd)?;
    read_into(context, &*file, address, length)
}

pub fn write(context: &mut Context, [fd, address, length, ..]: [u64; 6]) -> Result<u64, i64> {
    let file = file(context, fd)?;
    write_from(context, &*file, address, length)
}

/// The iovec array of readv/writev.
fn read_iovecs(context: &Context, address: u64, count: u64) -> Result<Vec<Iovec>, i64> {
    if count > IOV_MAX as u64 {
        return Err(EINVAL);
    }
    let mut raw = vec![0u8; count as usize * Iovec::SIZE];
    context.copy_in(address, &mut raw)?;
    let iovecs: Vec<Iovec> = raw.chunks_exact(Iovec::SIZE).map(|bytes| Iovec::from_bytes(bytes.try_into().expect("chunk of Iovec::SIZE"))).collect();
    let mut total: u64 = 0;
    for iovec in &iovecs {
        total = total.checked_add(iovec.len).filter(|&total| total <= isize::MAX as u64).ok_or(EINVAL)?;
    }
    Ok(iovecs)
}

pub fn readv(context: &mut Context, [fd, address, count, ..]: [u64; 6]) -> Result<u64, i64> {
    let file = file(context, fd)?;
    let iovecs = read_iovecs(context, address, count)?;
    let mut total = 0;
    for iovec in iovecs.iter().filter(|iovec| iovec.len > 0) {
        let count = read_into(context, &*file, iovec.base, iovec.len)?;
        total += count;
        if count < iovec.len {
            break;
        }
    }
    Ok(total)
}

pub fn writev(context: &mut Context, [fd, address, count, ..]: [u64; 6]) -> Result<u64, i64> {
    let file = file(context, fd)?;
    let iovecs = read_iovecs(context, address, count)?;
    let mut total = 0;
    for iovec in iovecs.iter().filter(|iovec| iovec.len > 0) {
        let result = write_from(context, &*file, iovec.base, iovec.len);
        let count = match result {
            Ok(count) => count,
            Err(_) if total > 0 => break,
            Err(errno) => return Err(errno),
        };
        total += count;
        if count < iovec.len {
            break;
        }
    }
    Ok(total)
}

pub fn ioctl(context: &mut Context, [fd, request, argument, ..]: [u64; 6]) -> Result<u64, i64> {
    let file = file(context, fd)?;
    context.memory(|memory| file.ioctl(request, argument, memory))
}

pub fn close(context: &mut Context, [fd, ..]: [u64; 6]) -> Result<u64, i64> {
    context.process.files.lock().close(fd).map(|()| 0)
}

pub fn dup(context: &mut Context, [fd, ..]: [u64; 6]) -> Result<u64, i64> {
    context.process.files.lock().duplicate(fd, 0, false)
}

pub fn dup2(context: &mut Context, [old, new, ..]: [u64; 6]) -> Result<u64, i64> {
    let mut files = context.process.files.lock();
    if old == new {
        files.get(old)?;
        return Ok(new);
    }
    files.duplicate_to(old, new, false)
}

pub fn dup3(context: &mut Context, [old, new, flags, ..]: [u64; 6]) -> Result<u64, i64> {
    if old == new || flags & !u64::from(O_CLOEXEC) != 0 {
        return Err(EINVAL);
    }
    context.process.files.lock().duplicate_to(old, new, flags != 0)
}

pub fn pipe(context: &mut Context, [address, ..]: [u64; 6]) -> Result<u64, i64> {
    pipe2(context, [address, 0, 0, 0, 0, 0])
}

pub fn pipe2(context: &mut Context, [address, flags, ..]: [u64; 6]) -> Result<u64, i64> {
    if flags & !u64::from(O_CLOEXEC) != 0 {
        return Err(EINVAL);
    }
    let close_on_exec = flags != 0;
    let (read_end, write_end) = pipe::create();
    let (read_fd, write_fd) = {
        let mut files = context.process.files.lock();
        let read_fd = files.insert(read_end, close_on_exec)?;
        match files.insert(write_end, close_on_exec) {
            Ok(write_fd) => (read_fd, write_fd),
            Err(errno) => {
                files.close(read_fd)?;
                return Err(errno);
            }
        }
    };
    let mut fds = [0u8; 8];
    fds[..4].copy_from_slice(&(read_fd as u32).to_le_bytes());
    fds[4..].copy_from_slice(&(write_fd as u32).to_le_bytes());
    if let Err(errno) = context.copy_out(address, &fds) {
        let mut files = context.process.files.lock();
        files.close(read_fd)?;
        files.close(write_fd)?;
        return Err(errno);
    }
    Ok(0)
}
