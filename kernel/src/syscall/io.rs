//! Descriptor I/O: read, write and their vector and positioned forms, lseek,
//! sendfile, ioctl, fcntl, close, dup, pipe.
//!
//! A little over 500 lines with reason: most of it is the copy path read, write and
//! their forms share (chunking, the small-copy fast path, scatter and gather).

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use super::Context;
use crate::fs::{pipe, IoctlArgument, OpenFile, Positioning, SizeLimit};
use crate::mm::address_space::{Access, UserBuffer, USER_END};
use crate::mm::PAGE_SIZE;
use kernel_core::abi::errno::{EBADF, EFAULT, EINVAL, ESPIPE};
use kernel_core::abi::signal::SIGXFSZ;
use kernel_core::abi::{
    decode_fcntl, decode_whence, FcntlCommand, Iovec, Whence, FD_CLOEXEC, FIOCLEX, FIONBIO, FIONCLEX, IOV_MAX,
    O_APPEND, O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_WRONLY, RLIMIT_FSIZE,
};

/// Bytes moved through the kernel per step of a read or write.
const CHUNK: usize = 64 * 1024;
/// The most one read, write or sendfile moves (Linux's MAX_RW_COUNT).
const MAX_RW_COUNT: u64 = 0x7fff_f000;

/// Linux's access_ok: the whole buffer must lie in user space, or the call fails
/// with EFAULT before doing anything (a blocking read must not wait first).
pub(super) fn check_user_range(address: u64, length: u64) -> Result<(), i64> {
    // Compared with what is left above `address`: no sum that could wrap to test.
    if address <= USER_END && length <= USER_END - address {
        Ok(())
    } else {
        Err(EFAULT)
    }
}

/// RLIMIT_FSIZE: how far the caller may write a regular file.
pub(super) fn file_size_limit(context: &Context) -> u64 {
    context.group.details.lock().limits[RLIMIT_FSIZE as usize].current
}

/// A write or truncate went past RLIMIT_FSIZE: SIGXFSZ to the calling thread, as
/// on Linux (the call fails with EFBIG).
pub(super) fn note_size_limit_exceeded(context: &Context) {
    crate::signal::send_to_caller(context.process, SIGXFSZ);
}

/// The caller's RLIMIT_FSIZE, for its writes.
struct CallerLimit<'c, 'a, 'u>(&'c Context<'a, 'u>);

impl SizeLimit for CallerLimit<'_, '_, '_> {
    fn limit(&self) -> u64 {
        file_size_limit(self.0)
    }

    fn exceeded(&self) {
        note_size_limit_exceeded(self.0);
    }
}

/// The open file of descriptor `fd` (not an O_PATH one: EBADF).
fn file(context: &Context, fd: u64) -> Result<Arc<OpenFile>, i64> {
    context.group.files.lock().get(fd)
}

/// The open file of descriptor `fd` for read (`allowed`: `OpenFile::readable`)
/// or write (`writable`): EBADF unless open for that, checked before the buffer
/// as Linux's vfs_read and vfs_write do. The access check refuses an O_PATH
/// descriptor with the same EBADF, so the lookup leaves that to it.
fn file_to_transfer(context: &Context, fd: u64, allowed: fn(&OpenFile) -> bool) -> Result<Arc<OpenFile>, i64> {
    let files = context.group.files.lock();
    let file = files.borrow_path(fd)?;
    // Checked before a reference is taken: a refusal has none to give back.
    if allowed(file) {
        Ok(file.clone())
    } else {
        Err(EBADF)
    }
}

/// The total length of `buffers`, capped at MAX_RW_COUNT, after checking that each
/// lies in user space.
fn total_length(buffers: &[Iovec]) -> Result<u64, i64> {
    let mut total = 0u64;
    for buffer in buffers {
        check_user_range(buffer.base, buffer.len)?;
        total = total.saturating_add(buffer.len);
    }
    Ok(total.min(MAX_RW_COUNT))
}

/// `total_length` of one buffer, for read and write: no array to build.
fn transfer_length(address: u64, length: u64) -> Result<u64, i64> {
    check_user_range(address, length)?;
    Ok(length.min(MAX_RW_COUNT))
}

/// Transfers up to this size use a buffer on the kernel stack (most of them: a
/// pipe round trip moves one byte each way), larger ones one on the heap.
const SMALL: usize = 128;

/// A zeroed scratch buffer of `length` bytes: `small` when it fits, else `large`.
fn scratch<'a>(small: &'a mut [u8; SMALL], large: &'a mut Vec<u8>, length: usize) -> &'a mut [u8] {
    if length <= SMALL {
        &mut small[..length]
    } else {
        large.resize(length, 0);
        large
    }
}

/// Reads with `read` into the user `buffers` (one for read, several for readv,
/// filled in order). One call for a stream, which returns what is there now (so a
/// readv never waits for more once a first read returned something); for a file
/// that never blocks (`repeat`), calls until the buffers are full or the file ends.
/// Each call asks for no more than the buffers can take (see `writable_prefix`), so
/// a bad buffer costs no data: EFAULT if not one byte fits, else a short count.
/// An error after some bytes ends the read with their count.
/// Out of line: inlined into `read`, its buffers made every pipe read set up a
/// large stack frame it does not use.
#[inline(never)]
fn read_to_user(
    context: &Context,
    buffers: &[Iovec],
    repeat: bool,
    mut read: impl FnMut(&mut [u8]) -> Result<usize, i64>,
) -> Result<u64, i64> {
    let total = total_length(buffers)?;
    if let [only] = buffers {
        if fits_one_page(only) {
            return read_small(context, only, &mut read);
        }
    }
    let mut done = 0u64;
    loop {
        let chunk = (total - done).min(CHUNK as u64) as usize;
        let writable = writable_prefix(context, buffers, done, chunk);
        if writable == 0 && chunk > 0 {
            return if done > 0 { Ok(done) } else { Err(EFAULT) };
        }
        let mut small = [0u8; SMALL];
        let mut large = Vec::new();
        let buffer = scratch(&mut small, &mut large, writable);
        let count = match read(buffer) {
            Ok(count) => count,
            Err(_) if done > 0 => break,
            Err(errno) => return Err(errno),
        };
        if let Err(errno) = scatter(context, buffers, done, &buffer[..count]) {
            return if done > 0 { Ok(done) } else { Err(errno) };
        }
        done += count as u64;
        if !repeat || count < chunk || done == total {
            break;
        }
    }
    Ok(done)
}

/// Whether `buffer` is small and inside one page: the common case (a pipe round
/// trip moves one byte each way), served without the general machinery below.
fn fits_one_page(buffer: &Iovec) -> bool {
    buffer.len <= SMALL as u64 && buffer.base % PAGE_SIZE + buffer.len <= PAGE_SIZE
}

/// `read_to_user` for one small buffer in one page: the page is made writable
/// first (so a bad buffer costs no data), then one read and one copy.
fn read_small(
    context: &Context,
    buffer: &Iovec,
    read: &mut impl FnMut(&mut [u8]) -> Result<usize, i64>,
) -> Result<u64, i64> {
    if buffer.len > 0 && context.user_memory(|memory| memory.prepare(buffer.base, Access::Write)).is_err() {
        return Err(EFAULT);
    }
    let mut bytes = [0u8; SMALL];
    let count = read(&mut bytes[..buffer.len as usize])?;
    context.copy_out(buffer.base, &bytes[..count])?;
    Ok(count as u64)
}

/// `write_from_user` for one small buffer in one page: one copy, one write.
fn write_small(context: &Context, file: &OpenFile, buffer: &Iovec) -> Result<u64, i64> {
    let mut bytes = [0u8; SMALL];
    let bytes = &mut bytes[..buffer.len as usize];
    context.copy_in(buffer.base, bytes)?;
    Ok(file.write(bytes, &CallerLimit(context))? as u64)
}

/// The user memory `length` bytes of `buffers` (taken as one sequence) occupy from
/// byte `offset` on: (address, length) pieces, in order, none crossing a page.
/// The buffers lie in user space (`total_length` checked them).
fn pieces(buffers: &[Iovec], offset: u64, length: usize) -> impl Iterator<Item = (u64, usize)> + '_ {
    let mut skip = offset;
    let mut left = length as u64;
    buffers.iter().flat_map(move |buffer| {
        let start = skip.min(buffer.len);
        skip -= start;
        let take = (buffer.len - start).min(left);
        left -= take;
        let (first, end) = (buffer.base + start, buffer.base + start + take);
        core::iter::successors((take > 0).then_some(first), move |&address| {
            let next = (address / PAGE_SIZE + 1) * PAGE_SIZE;
            (next < end).then_some(next)
        })
        .map(move |address| (address, (((address / PAGE_SIZE + 1) * PAGE_SIZE).min(end) - address) as usize))
    })
}

/// How many of `length` bytes of the user `buffers` from byte `offset` on can be
/// written, page by page, faulting the pages in as the copy will. Asking a file for
/// no more than that is how a read into a bad buffer leaves the data where it was
/// (in the pipe, or after the position), as Linux does when its copy fails.
fn writable_prefix(context: &Context, buffers: &[Iovec], offset: u64, length: usize) -> usize {
    let mut writable = 0;
    for (address, length) in pieces(buffers, offset, length) {
        if context.user_memory(|memory| memory.prepare(address, Access::Write)).is_err() {
            break;
        }
        writable += length;
    }
    writable
}

/// Copies `bytes` into the user `buffers`, from byte `offset` of their
/// concatenation on.
fn scatter(context: &Context, buffers: &[Iovec], offset: u64, bytes: &[u8]) -> Result<(), i64> {
    let mut copied = 0;
    for (address, length) in pieces(buffers, offset, bytes.len()) {
        context.copy_out(address, &bytes[copied..copied + length])?;
        copied += length;
    }
    Ok(())
}

/// Writes the user `buffers` (in order) to `file`, chunk by chunk. Stops at a short
/// write; a fault or an error part-way ends the write with the count so far (only
/// an error before any byte is returned as such), as on Linux.
fn write_from_user(context: &Context, file: &OpenFile, buffers: &[Iovec]) -> Result<u64, i64> {
    let total = total_length(buffers)?;
    if let [only] = buffers {
        if fits_one_page(only) {
            return write_small(context, file, only);
        }
    }
    let mut done = 0u64;
    while done < total {
        let chunk = (total - done).min(CHUNK as u64) as usize;
        let mut small = [0u8; SMALL];
        let mut large = Vec::new();
        let buffer = scratch(&mut small, &mut large, chunk);
        let readable = gather(context, buffers, done, buffer);
        if readable == 0 {
            return if done > 0 { Ok(done) } else { Err(EFAULT) };
        }
        let written = match file.write(&buffer[..readable], &CallerLimit(context)) {
            Ok(written) => written,
            Err(_) if done > 0 => break,
            Err(errno) => return Err(errno),
        };
        done += written as u64;
        if written < chunk {
            break;
        }
    }
    Ok(done)
}

/// Copies into `out` the bytes of the user `buffers` from byte `offset` of their
/// concatenation on, page by page, stopping at the first unreadable page; returns
/// how many it copied.
fn gather(context: &Context, buffers: &[Iovec], offset: u64, out: &mut [u8]) -> usize {
    let mut copied = 0;
    for (address, length) in pieces(buffers, offset, out.len()) {
        if context.copy_in(address, &mut out[copied..copied + length]).is_err() {
            break;
        }
        copied += length;
    }
    copied
}

/// Whether reads of `file` never block, so one read call may be repeated to fill
/// the buffers (regular files, directories, /dev/zero).
fn never_blocks(file: &OpenFile) -> bool {
    file.file.positioning() != Positioning::Stream
}

/// read: see `OpenFile::read` (access mode, O_NONBLOCK, the position). Files that
/// can (pipes) copy straight into the buffer, the others through the kernel.
pub fn read(context: &mut Context) -> Result<u64, i64> {
    let [fd, address, length, ..] = context.arguments();
    let file = file_to_transfer(context, fd, OpenFile::readable)?;
    let length = transfer_length(address, length)?;
    if let Some(result) = file.read_to(&mut UserBuffer::new(&context.group.memory, address, length as usize)) {
        return result.map(|count| count as u64);
    }
    read_to_user(context, &[Iovec { base: address, len: length }], never_blocks(&file), |buffer| file.read(buffer))
}

/// write: see `OpenFile::write`; as read, straight from the buffer for pipes and
/// regular files.
pub fn write(context: &mut Context) -> Result<u64, i64> {
    let [fd, address, length, ..] = context.arguments();
    let file = file_to_transfer(context, fd, OpenFile::writable)?;
    let length = transfer_length(address, length)?;
    if let Some(result) =
        file.write_from(&UserBuffer::new(&context.group.memory, address, length as usize), &CallerLimit(context))
    {
        return result.map(|count| count as u64);
    }
    write_from_user(context, &file, &[Iovec { base: address, len: length }])
}

/// pread64: reads at `offset` without moving the position. EINVAL for a negative
/// offset, ESPIPE for pipes and terminals.
pub fn pread64(context: &mut Context) -> Result<u64, i64> {
    let [fd, address, length, offset, ..] = context.arguments();
    let offset = u64::try_from(offset as i64).map_err(|_| EINVAL)?;
    let file = file(context, fd)?;
    // An empty read makes the descriptor checks (ESPIPE, EBADF) before the buffer's.
    file.read_at(offset, &mut [])?;
    let length = transfer_length(address, length)?;
    let mut out = UserBuffer::new(&context.group.memory, address, length as usize);
    if let Some(result) = file.read_to_at(offset, &mut out) {
        return result.map(|count| count as u64);
    }
    let mut at = offset;
    read_to_user(context, &[Iovec { base: address, len: length }], true, |buffer| {
        let count = file.read_at(at, buffer)?;
        at += count as u64;
        Ok(count)
    })
}

/// pwrite64: writes at `offset` without moving the position (at the end for an
/// O_APPEND file, as Linux). EINVAL for a negative offset, ESPIPE for pipes and
/// terminals.
pub fn pwrite64(context: &mut Context) -> Result<u64, i64> {
    let [fd, address, length, offset, ..] = context.arguments();
    let offset = u64::try_from(offset as i64).map_err(|_| EINVAL)?;
    let file = file(context, fd)?;
    let limit = CallerLimit(context);
    // An empty write makes the descriptor checks (ESPIPE, EBADF) before the buffer's.
    file.write_at(offset, &[], &limit)?;
    let length = transfer_length(address, length)?;
    let from = UserBuffer::new(&context.group.memory, address, length as usize);
    let result = match file.write_from_at(offset, &from, &limit) {
        Some(result) => result,
        // Devices, whose writes ignore the offset.
        None => return write_from_user(context, &file, &[Iovec { base: address, len: length }]),
    };
    result.map(|count| count as u64)
}

/// The iovec array of readv/writev.
fn read_iovecs(context: &Context, address: u64, count: u64) -> Result<Vec<Iovec>, i64> {
    if count > IOV_MAX as u64 {
        return Err(EINVAL);
    }
    let mut raw = vec![0u8; count as usize * Iovec::SIZE];
    context.copy_in(address, &mut raw)?;
    let iovecs: Vec<Iovec> = raw
        .chunks_exact(Iovec::SIZE)
        .map(|bytes| Iovec::from_bytes(bytes.try_into().expect("chunk of Iovec::SIZE")))
        .collect();
    let mut total: u64 = 0;
    for iovec in &iovecs {
        total = total.checked_add(iovec.len).filter(|&total| total <= isize::MAX as u64).ok_or(EINVAL)?;
    }
    Ok(iovecs)
}

/// readv: one read spread over the buffers, in order.
pub fn readv(context: &mut Context) -> Result<u64, i64> {
    let [fd, address, count, ..] = context.arguments();
    let file = file(context, fd)?;
    let iovecs = read_iovecs(context, address, count)?;
    read_to_user(context, &iovecs, never_blocks(&file), |buffer| file.read(buffer))
}

/// writev: the buffers, in order, written as one sequence.
pub fn writev(context: &mut Context) -> Result<u64, i64> {
    let [fd, address, count, ..] = context.arguments();
    let file = file(context, fd)?;
    let iovecs = read_iovecs(context, address, count)?;
    write_from_user(context, &file, &iovecs)
}

/// lseek: EINVAL for an unknown `whence` (checked before ESPIPE, as Linux does).
pub fn lseek(context: &mut Context) -> Result<u64, i64> {
    let [fd, offset, whence, ..] = context.arguments();
    let file = file(context, fd)?;
    let whence = decode_whence(whence)?;
    file.seek(whence, offset as i64)
}

/// sendfile: copies up to `count` bytes from regular file `in_fd` (at `*offset`
/// when given, which is then updated, else at its position, which advances) to
/// `out_fd`. EINVAL for an input that is not a regular file (BusyBox then falls
/// back on read and write), ESPIPE for an offset on a stream, EINVAL for an output
/// opened with O_APPEND, as Linux answers.
pub fn sendfile(context: &mut Context) -> Result<u64, i64> {
    let [out_fd, in_fd, offset_address, count, ..] = context.arguments();
    // The checks in Linux's order (do_sendfile, then do_splice_direct).
    let input = file(context, in_fd)?;
    if !input.readable() {
        return Err(EBADF);
    }
    let offset = if offset_address != 0 {
        let offset = context.read_u64(offset_address)? as i64;
        if input.file.positioning() == Positioning::Stream {
            return Err(ESPIPE);
        }
        Some(u64::try_from(offset).map_err(|_| EINVAL)?)
    } else {
        None
    };
    let output = file(context, out_fd)?;
    if !output.writable() {
        return Err(EBADF);
    }
    if output.status() & O_APPEND != 0 || input.file.positioning() != Positioning::Sized {
        return Err(EINVAL);
    }
    let start = match offset {
        Some(offset) => offset,
        None => input.seek(Whence::Current, 0)?,
    };
    let count = count.min(MAX_RW_COUNT);
    let mut done = 0u64;
    let mut buffer = vec![0u8; CHUNK];
    while done < count {
        let chunk = (count - done).min(CHUNK as u64) as usize;
        let read = input.read_at(start + done, &mut buffer[..chunk])?;
        if read == 0 {
            break;
        }
        let written = match output.write(&buffer[..read], &CallerLimit(context)) {
            Ok(written) => written,
            Err(_) if done > 0 => break,
            Err(errno) => return Err(errno),
        };
        done += written as u64;
        if written < read {
            break;
        }
    }
    match offset {
        Some(_) => context.copy_out(offset_address, &(start + done).to_le_bytes())?,
        None => {
            input.seek(Whence::Set, (start + done) as i64)?;
        }
    }
    Ok(done)
}

/// ioctl: the requests Linux serves for every descriptor (FIOCLEX and FIONCLEX
/// set and clear close-on-exec, FIONBIO sets O_NONBLOCK from an int), then the
/// file's own.
pub fn ioctl(context: &mut Context) -> Result<u64, i64> {
    let [fd, request, argument, ..] = context.arguments();
    let file = file(context, fd)?;
    match request {
        FIOCLEX | FIONCLEX => {
            context.group.files.lock().set_close_on_exec(fd, request == FIOCLEX)?;
            Ok(0)
        }
        FIONBIO => {
            let mut value = [0u8; 4];
            context.copy_in(argument, &mut value)?;
            let others = file.status() & !O_NONBLOCK;
            let nonblocking = if value != [0; 4] { O_NONBLOCK } else { 0 };
            file.set_status(u64::from(others | nonblocking));
            Ok(0)
        }
        _ => file.file.ioctl(request, &IoctlArgument::new(&context.group.memory, argument)),
    }
}

/// fcntl: F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD/F_SETFD (FD_CLOEXEC), F_GETFL/F_SETFL
/// (O_APPEND and O_NONBLOCK change; the access mode is reported); other commands
/// are EINVAL. On an O_PATH descriptor all but F_SETFL work (that one is EBADF).
pub fn fcntl(context: &mut Context) -> Result<u64, i64> {
    let [fd, command, argument, ..] = context.arguments();
    let mut files = context.group.files.lock();
    let file = files.get_path(fd)?;
    let command = decode_fcntl(command)?;
    if file.is_path_only() && !command.allowed_on_path() {
        return Err(EBADF);
    }
    match command {
        FcntlCommand::Duplicate { close_on_exec } => {
            let minimum = usize::try_from(argument as i32).map_err(|_| EINVAL)?;
            files.duplicate(fd, minimum, close_on_exec)
        }
        FcntlCommand::GetDescriptorFlags => Ok(if files.close_on_exec(fd)? { FD_CLOEXEC } else { 0 }),
        FcntlCommand::SetDescriptorFlags => files.set_close_on_exec(fd, argument & FD_CLOEXEC != 0).map(|()| 0),
        FcntlCommand::GetStatusFlags => Ok(u64::from(file.status())),
        FcntlCommand::SetStatusFlags => {
            file.set_status(argument);
            Ok(0)
        }
    }
}

/// close: O_PATH descriptors included.
pub fn close(context: &mut Context) -> Result<u64, i64> {
    let [fd, ..] = context.arguments();
    context.group.files.lock().close(fd).map(|()| 0)
}

/// dup: the lowest free descriptor, sharing the open file description.
pub fn dup(context: &mut Context) -> Result<u64, i64> {
    let [fd, ..] = context.arguments();
    context.group.files.lock().duplicate(fd, 0, false)
}

/// dup2: onto `new` (closed first); onto itself only checks that `old` is open.
pub fn dup2(context: &mut Context) -> Result<u64, i64> {
    let [old, new, ..] = context.arguments();
    let mut files = context.group.files.lock();
    if old as u32 == new as u32 {
        files.get_path(old)?;
        return Ok(u64::from(new as u32));
    }
    files.duplicate_to(old, new, false)
}

/// dup3: dup2 with O_CLOEXEC; onto itself is EINVAL.
pub fn dup3(context: &mut Context) -> Result<u64, i64> {
    let [old, new, flags, ..] = context.arguments();
    if old as u32 == new as u32 || flags & !u64::from(O_CLOEXEC) != 0 {
        return Err(EINVAL);
    }
    context.group.files.lock().duplicate_to(old, new, flags != 0)
}

/// pipe: pipe2 without flags.
pub fn pipe(context: &mut Context) -> Result<u64, i64> {
    let [address, ..] = context.arguments();
    pipe2_of(context, [address, 0, 0, 0, 0, 0])
}

/// pipe2 with O_CLOEXEC and O_NONBLOCK (on both ends); other flags are EINVAL.
pub fn pipe2(context: &mut Context) -> Result<u64, i64> {
    let arguments = context.arguments();
    pipe2_of(context, arguments)
}

/// `pipe2` of `arguments`: also the older calls it extends, with theirs.
fn pipe2_of(context: &mut Context, [address, flags, ..]: [u64; 6]) -> Result<u64, i64> {
    if flags & !u64::from(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(EINVAL);
    }
    let close_on_exec = flags & u64::from(O_CLOEXEC) != 0;
    let nonblocking = flags as u32 & O_NONBLOCK;
    let (read_end, write_end) = pipe::create();
    let (read_fd, write_fd) = {
        let mut files = context.group.files.lock();
        let read_fd = files.insert(OpenFile::new(read_end, O_RDONLY | nonblocking), close_on_exec)?;
        match files.insert(OpenFile::new(write_end, O_WRONLY | nonblocking), close_on_exec) {
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
        let mut files = context.group.files.lock();
        files.close(read_fd)?;
        files.close(write_fd)?;
        return Err(errno);
    }
    Ok(0)
}
