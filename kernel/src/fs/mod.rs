//! Files and descriptors. A file is a `Box<dyn File>`: the console, a pipe end, a
//! file, directory or device of the root file system (`rootfs`), a file or
//! directory of /proc (`procfs`). Opening one makes an open file
//! description (`OpenFile`: the file, its status flags, its position); a process's
//! descriptor table (`fd_table.rs`) maps small integers to those. dup and fork share descriptions
//! (so the position and the flags), as Linux does; exec keeps the table minus the
//! close-on-exec descriptors.

pub mod console;
pub mod copy_out;
mod fd_table;
pub mod open;
pub mod pipe;
pub mod procfs;
pub mod rootfs;

pub use fd_table::FdTable;

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};
use spin::Mutex;

use crate::mm::address_space::{AddressSpace, UserBuffer};
use crate::sync::OrderedMutex;
use kernel_core::abi::errno::{EAGAIN, EBADF, EFAULT, EINVAL, ENOTDIR, ENOTTY, ESPIPE};
use kernel_core::abi::{
    seek_directory, seek_file, set_status_flags, Stat, Whence, DEFAULT_POLLMASK, O_ACCMODE, O_APPEND, O_NONBLOCK,
    O_PATH, O_RDONLY, O_RDWR, O_WRONLY, POLLERR, POLLHUP, POLLIN, POLLOUT,
};
use rootfs::NodeId;

/// A file. Access rights, O_NONBLOCK and the position are the open file
/// description's business (`OpenFile`), which calls these.
pub trait File: Send + Sync {
    /// Reads into `buffer` (a stream: pipes, the console, devices), blocking until
    /// at least one byte or end of file (0).
    fn read(&self, _buffer: &mut [u8]) -> Result<usize, i64> {
        Err(EBADF)
    }

    /// Writes from `bytes`, blocking until at least one byte is taken.
    fn write(&self, _bytes: &[u8]) -> Result<usize, i64> {
        Err(EBADF)
    }

    /// `read` straight into `out` (the caller's memory), for files that can copy
    /// there themselves (pipes, regular files): one copy instead of two, and a bad
    /// buffer fails the read (EFAULT) with the bytes left in the file. EAGAIN
    /// instead of waiting under O_NONBLOCK; a regular file reads at the
    /// description's position and moves it. None: the file cannot, the caller reads
    /// into a buffer.
    fn read_to(&self, _out: &mut UserBuffer, _open: &OpenFile) -> Option<Result<usize, i64>> {
        None
    }

    /// pread64 straight into `out`, at `offset`, for the regular files.
    fn read_to_at(&self, _offset: u64, _out: &mut UserBuffer) -> Option<Result<usize, i64>> {
        None
    }

    /// `write` straight from `from` (the caller's memory), as `read_to`: a fault
    /// part-way ends the write with the count so far (EFAULT if none).
    fn write_from(&self, _from: &UserBuffer, _open: &OpenFile, _limit: &dyn SizeLimit) -> Option<Result<usize, i64>> {
        None
    }

    /// pwrite64 straight from `from`, at `at`, for the regular files.
    fn write_from_at(&self, _at: WriteAt, _from: &UserBuffer, _limit: &dyn SizeLimit) -> Option<Result<usize, i64>> {
        None
    }

    /// Like `write`, but EAGAIN where `write` would wait for room (O_NONBLOCK). The
    /// default suits files whose `poll` says exactly when a write would not block
    /// and that then take all of it; a pipe, which may take only part, overrides it.
    fn write_nonblocking(&self, bytes: &[u8]) -> Result<usize, i64> {
        if self.poll() & (POLLOUT | POLLERR) == 0 {
            return Err(EAGAIN);
        }
        self.write(bytes)
    }

    /// A device-specific request, with its argument in the caller's memory.
    fn ioctl(&self, _request: u64, _argument: &IoctlArgument) -> Result<u64, i64> {
        Err(ENOTTY)
    }

    /// Whether and how the file has a position.
    fn positioning(&self) -> Positioning {
        Positioning::Stream
    }

    /// Reads at byte (or, for a directory, entry) `offset`: the read of files whose
    /// positioning is `Sized` or `Directory`, which never block.
    fn read_at(&self, _offset: u64, _buffer: &mut [u8]) -> Result<usize, i64> {
        Err(ESPIPE)
    }

    /// The size, for files whose positioning is `Sized` (lseek's SEEK_END).
    fn size(&self) -> u64 {
        0
    }

    /// Writes at `at`, the write of files whose positioning is `Sized`, no further
    /// than `limit` (RLIMIT_FSIZE: EFBIG at it); returns the count and the position
    /// after the bytes written.
    fn write_at(&self, _at: WriteAt, _bytes: &[u8], _limit: &dyn SizeLimit) -> Result<(usize, u64), i64> {
        Err(EBADF)
    }

    /// ftruncate: EINVAL for all but regular files.
    fn truncate(&self, _length: u64) -> Result<(), i64> {
        Err(EINVAL)
    }

    /// Fills `out` with `linux_dirent64` records from entry `*position` on,
    /// advancing it; returns the bytes used (0 at the end). EINVAL when not even
    /// one record fits; ENOTDIR for anything but a directory.
    fn read_directory(&self, _position: &mut u64, _out: &mut [u8]) -> Result<usize, i64> {
        Err(ENOTDIR)
    }

    /// What poll reports now (POLLIN, POLLOUT, POLLHUP, POLLERR...). Files that never
    /// block are always ready.
    fn poll(&self) -> u16 {
        DEFAULT_POLLMASK
    }

    /// `poll` for a caller that blocks on `WaitChannel::Poll` next if nothing is
    /// ready: the file's next event must wake it (a pipe notes that a poller
    /// waits). A poll that will not block (a zero timeout, an O_NONBLOCK check)
    /// calls `poll` and leaves no such note, which would cost a needless wake later.
    fn poll_to_block(&self) -> u16 {
        self.poll()
    }

    /// What fstat reports.
    fn stat(&self) -> Stat;

    /// The node whose `Tree::stat` fstat reports (the tree's own files,
    /// directories and devices, and the /proc mount point, which stat by path
    /// reports as the tree's node too: their `node`), for fstat to make the words
    /// it copies out straight from the node's fields; None for a file that makes
    /// its own.
    fn stat_node(&self) -> Option<NodeId> {
        self.node()
    }

    /// What a /proc/PID/fd/N link names when the file is no node of the tree (a
    /// node's is its path): Linux's name for it (`pipe:[N]`, `/dev/console`...).
    fn link_name(&self) -> alloc::string::String {
        alloc::string::String::new()
    }

    /// The node of the root file system this file is (None for pipes and the
    /// console): a directory fd names where `*at` paths start, fchdir goes there,
    /// the f* calls (fchmod, futimens...) change it.
    fn node(&self) -> Option<NodeId> {
        None
    }

    /// What mmap maps of it: None (the default) for files that cannot be mapped
    /// (ENODEV: pipes, the console, directories, /proc).
    fn mapping(&self) -> Option<MapSource> {
        None
    }

    /// Called when the last descriptor for this open file is closed.
    fn release(&self) {}
}

/// What mmap of a file maps.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MapSource {
    /// A regular file's pages.
    Pages(NodeId),
    /// /dev/zero: anonymous memory (shared or private as the mapping is).
    Zeros,
}

/// Where a pipe's read puts bytes: a kernel buffer, or user memory.
pub trait Sink {
    /// Bytes it takes.
    fn len(&self) -> usize;

    /// Copies `bytes` in from byte `offset` on (within `len`); returns how many it
    /// took: fewer where user memory refuses them, from there on.
    fn put(&mut self, offset: usize, bytes: &[u8]) -> usize;

    /// After a `put` that took fewer: whether it refused for want of a frame and
    /// the OOM policy has freed memory since, so that the copy may go on (see
    /// `UserBuffer::reclaimed_memory`). The caller must hold no lock.
    fn reclaimed_memory(&self) -> bool {
        false
    }
}

/// Where a pipe's write takes bytes from: a kernel buffer, or user memory.
pub trait Source {
    /// Bytes it holds.
    fn len(&self) -> usize;

    /// Copies into `out` its bytes from `offset` on (within `len`); returns how
    /// many it gave: fewer where user memory refuses them, from there on.
    fn get(&self, offset: usize, out: &mut [u8]) -> usize;

    /// As `Sink::reclaimed_memory`, after a `get` that gave fewer.
    fn reclaimed_memory(&self) -> bool {
        false
    }
}

/// A kernel buffer, which takes all it is given.
impl Sink for [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn put(&mut self, offset: usize, bytes: &[u8]) -> usize {
        self[offset..offset + bytes.len()].copy_from_slice(bytes);
        bytes.len()
    }
}

/// A kernel buffer, which gives all it is asked for.
impl Source for [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn get(&self, offset: usize, out: &mut [u8]) -> usize {
        out.copy_from_slice(&self[offset..offset + out.len()]);
        out.len()
    }
}

/// The caller's memory. Its copies are inlined into the pipe's: a one-byte copy
/// is a lock, a compare and a memcpy, which a call would outweigh.
impl Sink for UserBuffer<'_> {
    fn len(&self) -> usize {
        self.length()
    }

    #[inline(always)]
    fn put(&mut self, offset: usize, bytes: &[u8]) -> usize {
        self.write_prefix(offset, bytes)
    }

    fn reclaimed_memory(&self) -> bool {
        UserBuffer::reclaimed_memory(self)
    }
}

/// The caller's memory.
impl Source for UserBuffer<'_> {
    fn len(&self) -> usize {
        self.length()
    }

    #[inline(always)]
    fn get(&self, offset: usize, out: &mut [u8]) -> usize {
        self.read_prefix(offset, out)
    }

    fn reclaimed_memory(&self) -> bool {
        UserBuffer::reclaimed_memory(self)
    }
}

/// RLIMIT_FSIZE as a write to a regular file sees it: looked up only by those
/// writes, so that the others do not pay for it.
pub trait SizeLimit {
    /// The size no write may reach.
    fn limit(&self) -> u64;

    /// A write was refused for reaching it (EFBIG): Linux sends SIGXFSZ.
    fn exceeded(&self);
}

/// Where a write to a `Sized` file goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WriteAt {
    Offset(u64),
    /// The end, wherever it is when the bytes go in (O_APPEND).
    End,
}

/// How a file's position behaves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Positioning {
    /// Pipes and terminals: no position; lseek and pread fail with ESPIPE.
    Stream,
    /// Devices such as /dev/null: reads ignore the position, lseek leaves it at 0
    /// and pread reads as read does.
    Ignored,
    /// A regular file (`File::size` bytes): reads and writes happen at the
    /// position, which lseek moves anywhere from 0 (also past the end).
    Sized,
    /// A directory: the position counts the entries getdents64 has returned.
    Directory,
}

/// An open file description, shared by dup'ed and inherited descriptors: the
/// file, its status flags (access mode, O_APPEND, O_NONBLOCK... as F_GETFL reports
/// them) and its position. The file's `release` runs when the last descriptor
/// closes (pipes use it to signal EOF).
pub struct OpenFile {
    /// Boxed, not shared: one open file description owns its file (descriptors
    /// share the description), and a box's contents need no offset worked out
    /// from the vtable's alignment on every call, as an `Arc<dyn>`'s do.
    pub file: Box<dyn File>,
    status: AtomicU32,
    position: Mutex<u64>,
}

impl OpenFile {
    /// A description of `file` with status flags `status` (an `OpenRequest`'s
    /// status, or an access mode such as O_RDWR), at position 0.
    pub fn new(file: Box<dyn File>, status: u32) -> Arc<OpenFile> {
        Arc::new(OpenFile { file, status: AtomicU32::new(status), position: Mutex::new(0) })
    }

    /// The status flags (F_GETFL).
    pub fn status(&self) -> u32 {
        self.status.load(Ordering::Relaxed)
    }

    /// F_SETFL: changes O_APPEND and O_NONBLOCK to those in `requested`.
    pub fn set_status(&self, requested: u64) {
        self.status.store(set_status_flags(self.status(), requested), Ordering::Relaxed);
    }

    /// An O_PATH description: it only names a file.
    pub fn is_path_only(&self) -> bool {
        self.status() & O_PATH != 0
    }

    /// Open for reading (O_RDONLY or O_RDWR, not O_PATH). The flags are read
    /// once: every read and write asks.
    pub fn readable(&self) -> bool {
        // One mask and compare: with O_PATH set the masked value is neither.
        matches!(self.status() & (O_PATH | O_ACCMODE), O_RDONLY | O_RDWR)
    }

    /// Open for writing (O_WRONLY or O_RDWR, not O_PATH), as `readable`.
    pub fn writable(&self) -> bool {
        matches!(self.status() & (O_PATH | O_ACCMODE), O_WRONLY | O_RDWR)
    }

    /// Reads and writes fail with EAGAIN rather than wait (O_NONBLOCK).
    fn nonblocking(&self) -> bool {
        self.status() & O_NONBLOCK != 0
    }

    /// read: EBADF unless open for reading; EAGAIN instead of blocking under
    /// O_NONBLOCK (what poll reports decides: a file that is readable, hung up or
    /// in error does not block); at the position for files that have one, which
    /// then advances.
    pub fn read(&self, buffer: &mut [u8]) -> Result<usize, i64> {
        if !self.readable() {
            return Err(EBADF);
        }
        match self.file.positioning() {
            Positioning::Stream | Positioning::Ignored => {
                if self.nonblocking() && self.file.poll() & (POLLIN | POLLHUP | POLLERR) == 0 {
                    return Err(EAGAIN);
                }
                self.file.read(buffer)
            }
            Positioning::Sized | Positioning::Directory => {
                let mut position = self.position.lock();
                let count = self.file.read_at(*position, buffer)?;
                *position += count as u64;
                Ok(count)
            }
        }
    }

    /// `read` straight into the caller's memory, for the files that can (see
    /// `File::read_to`); None for the others, which `read` serves. The caller
    /// has checked `readable` (before the buffer, as Linux does).
    pub fn read_to(&self, out: &mut UserBuffer) -> Option<Result<usize, i64>> {
        self.file.read_to(out, self)
    }

    /// pread64 straight into the caller's memory, at `offset` (the position
    /// untouched), for the files that can; the caller has made pread's checks.
    pub fn read_to_at(&self, offset: u64, out: &mut UserBuffer) -> Option<Result<usize, i64>> {
        self.file.read_to_at(offset, out)
    }

    /// pwrite64 straight from the caller's memory, at `offset` (at the end under
    /// O_APPEND, as Linux), as `read_to_at`.
    pub fn write_from_at(&self, offset: u64, from: &UserBuffer, limit: &dyn SizeLimit) -> Option<Result<usize, i64>> {
        let at = if self.status() & O_APPEND != 0 { WriteAt::End } else { WriteAt::Offset(offset) };
        self.file.write_from_at(at, from, limit)
    }

    /// pread64: like read at `offset`, without using or moving the position; ESPIPE
    /// for streams (checked before the access mode, as Linux does).
    pub fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize, i64> {
        let positioning = self.file.positioning();
        if positioning == Positioning::Stream {
            return Err(ESPIPE);
        }
        if !self.readable() {
            return Err(EBADF);
        }
        match positioning {
            Positioning::Ignored => self.file.read(buffer),
            _ => self.file.read_at(offset, buffer),
        }
    }

    /// write: EBADF unless open for writing; EAGAIN instead of blocking under
    /// O_NONBLOCK; for a regular file, at the position (which advances) or, with
    /// O_APPEND, at the end, within `size_limit` (RLIMIT_FSIZE).
    pub fn write(&self, bytes: &[u8], limit: &dyn SizeLimit) -> Result<usize, i64> {
        if !self.writable() {
            return Err(EBADF);
        }
        if self.file.positioning() == Positioning::Sized {
            let mut position = self.position.lock();
            let at = if self.status() & O_APPEND != 0 { WriteAt::End } else { WriteAt::Offset(*position) };
            let (count, end) = self.file.write_at(at, bytes, limit)?;
            *position = end;
            return Ok(count);
        }
        if self.nonblocking() {
            self.file.write_nonblocking(bytes)
        } else {
            self.file.write(bytes)
        }
    }

    /// pwrite64: writes at `offset` without using or moving the position (ESPIPE
    /// for anything without one; Linux's pwrite ignores O_APPEND's end only when
    /// the file is not O_APPEND: with it, the bytes go at the end).
    pub fn write_at(&self, offset: u64, bytes: &[u8], limit: &dyn SizeLimit) -> Result<usize, i64> {
        let positioning = self.file.positioning();
        if positioning == Positioning::Stream {
            return Err(ESPIPE);
        }
        if !self.writable() {
            return Err(EBADF);
        }
        if positioning != Positioning::Sized {
            return self.file.write(bytes);
        }
        let at = if self.status() & O_APPEND != 0 { WriteAt::End } else { WriteAt::Offset(offset) };
        Ok(self.file.write_at(at, bytes, limit)?.0)
    }

    /// `write` straight from the caller's memory, as `read_to`, within
    /// `limit` (the caller has checked `writable`).
    pub fn write_from(&self, from: &UserBuffer, limit: &dyn SizeLimit) -> Option<Result<usize, i64>> {
        self.file.write_from(from, self, limit)
    }

    /// lseek: moves the position `offset` from `whence` and returns it.
    pub fn seek(&self, whence: Whence, offset: i64) -> Result<u64, i64> {
        let mut position = self.position.lock();
        *position = match self.file.positioning() {
            Positioning::Stream => return Err(ESPIPE),
            Positioning::Ignored => 0,
            Positioning::Sized => seek_file(whence, offset, *position, self.file.size())?,
            Positioning::Directory => seek_directory(whence, offset, *position)?,
        };
        Ok(*position)
    }

    /// getdents64: directory records from the position on, which advances.
    pub fn read_directory(&self, out: &mut [u8]) -> Result<usize, i64> {
        let mut position = self.position.lock();
        self.file.read_directory(&mut position, out)
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        self.file.release();
    }
}

/// An ioctl's argument: a user address, and the caller's memory, locked for each
/// copy only. A file takes its own lock before an address space's (a read or
/// write copies under it: the lock order, `sync`), so an ioctl may not be called
/// with the address space locked, nor lock it while holding its own lock.
pub struct IoctlArgument<'a> {
    memory: &'a OrderedMutex<Option<AddressSpace>>,
    address: u64,
}

impl<'a> IoctlArgument<'a> {
    pub fn new(memory: &'a OrderedMutex<Option<AddressSpace>>, address: u64) -> IoctlArgument<'a> {
        IoctlArgument { memory, address }
    }

    /// Copies the argument's first `out.len()` bytes in; EFAULT if it cannot.
    pub fn read(&self, out: &mut [u8]) -> Result<(), i64> {
        self.with_memory(|memory| memory.read(self.address, out))
    }

    /// Copies `bytes` out to the argument; EFAULT if it cannot.
    pub fn write(&self, bytes: &[u8]) -> Result<(), i64> {
        self.with_memory(|memory| memory.write(self.address, bytes))
    }

    fn with_memory<E>(&self, copy: impl FnOnce(&mut AddressSpace) -> Result<(), E>) -> Result<(), i64> {
        copy(self.memory.lock().as_mut().expect("a running process has an address space")).map_err(|_| EFAULT)
    }
}
