//! Opening a path of the root file system (open/openat, creat), with Linux's
//! checks in Linux's order, and the files a node becomes once open: a regular
//! file, a directory, a device, or an O_PATH handle.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::console::{self, Stream};
use super::procfs;
use super::rootfs::{self, Device, Found, Held, NodeId, NodeKind, Origin, Tree};
use super::{File, MapSource, OpenFile, Positioning, Sink, SizeLimit, Source, WriteAt};
use crate::mm::address_space::UserBuffer;
use crate::mm::PAGE_SIZE;
use kernel_core::abi::errno::{
    EEXIST, EFAULT, EFBIG, EINVAL, EISDIR, ELOOP, ENOENT, ENOSPC, ENOTDIR, ENXIO, EOPNOTSUPP,
};
use kernel_core::abi::O_APPEND;
use kernel_core::abi::{OpenRequest, Stat};
use kernel_core::cpio::S_IFREG;
use kernel_core::tree::{empty_file, MODE_BITS};
use spin::Mutex;

/// Opens `path` as `request` asks, relative to `origin`, in the locked `tree`; a
/// file it creates gets permissions `mode` (the caller's umask applied). The
/// checks, in Linux's order (`path_openat`): an O_TMPFILE without write access is
/// EINVAL; with O_CREAT, a trailing slash is EISDIR, then the directory part must
/// resolve and a missing last name is created (an existing one with O_EXCL is
/// EEXIST, a directory EISDIR; a dangling symlink's target is created); without it the path must resolve (ENOENT,
/// ENOTDIR, ELOOP, ENAMETOOLONG); O_DIRECTORY wants a directory (ENOTDIR); a final
/// symlink not followed (O_NOFOLLOW) is ELOOP unless O_PATH; a directory opened
/// for writing is EISDIR; O_TRUNC empties a regular file. O_TMPFILE is
/// EOPNOTSUPP (in a directory). A path below /proc comes back as the rest of it
/// (`Opened::Mounted`), for procfs. The caller drops the result after unlocking.
pub fn open(tree: &mut Tree, origin: Origin, path: &[u8], request: &OpenRequest, mode: u32) -> Result<Opened, i64> {
    if request.tmpfile && !request.write {
        return Err(EINVAL);
    }
    let trailing_slash = path.last() == Some(&b'/');
    if request.create && trailing_slash {
        return Err(EISDIR);
    }
    // O_CREAT|O_EXCL never follows a final symlink: an existing link is EEXIST.
    let follow = !request.no_follow && !request.exclusive;
    let node = if request.create {
        let parent = match tree.resolve_parent(origin, path) {
            Ok(parent) => parent,
            // Nothing is created below /proc, but what is there opens (/dev/fd/1).
            Err(ENOENT) => match tree.lookup(origin, path, follow) {
                Ok(Found::Mounted(below)) => return Ok(Opened::Mounted(below)),
                _ => return Err(ENOENT),
            },
            Err(errno) => return Err(errno),
        };
        if parent.is_special() {
            return Err(EISDIR);
        }
        match tree.child(parent.directory, parent.name) {
            Some(_) if request.exclusive => return Err(EEXIST),
            Some(_) => match tree.lookup(origin, path, follow) {
                Ok(Found::Node(node)) => node,
                // An existing link into /proc (/dev/stdout).
                Ok(Found::Mounted(below)) => return Ok(Opened::Mounted(below)),
                // A dangling symlink: the file it names is created, as on Linux.
                Err(ENOENT) if follow => {
                    let (directory, name) = tree.dangling_link_end(parent.directory, parent.name)?;
                    tree.create(directory, &name, empty_file(), S_IFREG | (mode & MODE_BITS), rootfs::now())?
                }
                Err(errno) => return Err(errno),
            },
            None => {
                let now = rootfs::now();
                tree.create(parent.directory, parent.name, empty_file(), S_IFREG | (mode & MODE_BITS), now)?
            }
        }
    } else {
        match tree.lookup(origin, path, follow)? {
            Found::Node(node) => node,
            Found::Mounted(below) => return Ok(Opened::Mounted(below)),
        }
    };
    open_node(tree, node, request).map(Opened::File)
}

/// What `open` opened.
pub enum Opened {
    File(Arc<OpenFile>),
    /// A path below /proc (the part below it).
    Mounted(Vec<u8>),
}

/// Opens `node` of the locked `tree` as `request` asks, with `open`'s checks
/// from O_TMPFILE on (the node is there: creating it is done).
pub fn open_node(tree: &mut Tree, node: NodeId, request: &OpenRequest) -> Result<Arc<OpenFile>, i64> {
    let is_directory = tree.is_directory(node);
    if request.tmpfile {
        return Err(if is_directory { EOPNOTSUPP } else { ENOTDIR });
    }
    if request.create && is_directory {
        return Err(EISDIR);
    }
    if request.directory && !is_directory {
        return Err(ENOTDIR);
    }
    if request.path_only {
        return Ok(OpenFile::new(Box::new(PathHandle(Held::new(tree, node))), request.status));
    }
    let device = match &tree.node(node).kind {
        NodeKind::Symlink(_) => return Err(ELOOP),
        NodeKind::Directory(_) if request.needs_write => return Err(EISDIR),
        NodeKind::Device(device) => Some(*device),
        _ => None,
    };
    let file: Box<dyn File> = match device {
        None if tree.is_mount_point(node) => procfs::open_mount_point(Held::new(tree, node)),
        None if is_directory => Box::new(Directory(Held::new(tree, node))),
        None => {
            // A writer, or a truncate, while a process executes the file: ETXTBSY.
            let writes = request.write || request.truncate;
            if writes {
                tree.begin_write(node)?;
            }
            let truncated = if request.truncate { tree.truncate(node, 0, rootfs::now()) } else { Ok(()) };
            // Only a description open for writing stays a writer (until dropped).
            if writes && (!request.write || truncated.is_err()) {
                tree.end_write(node);
            }
            truncated?;
            let node = Held::new(tree, node);
            if request.write {
                Box::new(RegularFile::<true>(node))
            } else {
                Box::new(RegularFile::<false>(node))
            }
        }
        Some(Device::Console) => console::open(Stream::Device),
        Some(Device::Tty) if console::has_terminal() => console::open(Stream::Device),
        Some(Device::Tty) => return Err(ENXIO),
        Some(Device::Full) => Box::new(FullDevice(Held::new(tree, node))),
        Some(device) => Box::new(DataDevice { node: Held::new(tree, node), device }),
    };
    Ok(OpenFile::new(file, request.status))
}

/// An open regular file of the root file system; `WRITER`: open for writing, it
/// counts among the node's writers (`Tree::begin_write`) until dropped. A type
/// parameter, not a field: a file opened only to be read stays one word, as
/// cheap to allocate and drop as the hold itself (open and close are on every
/// program's path).
struct RegularFile<const WRITER: bool>(Held);

impl<const WRITER: bool> Drop for RegularFile<WRITER> {
    fn drop(&mut self) {
        if WRITER {
            rootfs::lock().end_write(self.0.id());
        }
    }
}

impl<const WRITER: bool> RegularFile<WRITER> {
    /// Reads straight from the file's pages into the caller's memory, at
    /// `position`, which moves past the bytes read. A page the caller's memory
    /// refuses for want of a frame is retried once the OOM policy has freed some
    /// (no lock held meanwhile); a bad buffer ends the read short (EFAULT if
    /// nothing was read).
    fn read_into(&self, out: &mut UserBuffer, position: &Mutex<u64>) -> Result<usize, i64> {
        let mut done = 0;
        loop {
            let mut refused = false;
            {
                let mut position = position.lock();
                let wanted = out.length() - done;
                let count = rootfs::lock().read_with(self.0.id(), *position, wanted, rootfs::now(), |at, bytes| {
                    let taken = out.put(done + at, bytes);
                    refused = taken < bytes.len();
                    taken
                });
                *position += count as u64;
                done += count;
            }
            if !refused || !out.reclaimed_memory() {
                return if refused && done == 0 { Err(EFAULT) } else { Ok(done) };
            }
        }
    }

    /// Writes straight from the caller's memory into the file's pages, at
    /// `position` (or, for `WriteAt::End`, the end, under the tree's lock), which
    /// moves past the bytes written, short of `limit`; faults as `read_into`.
    fn write_into(
        &self,
        from: &UserBuffer,
        position: &Mutex<u64>,
        at: WriteAt,
        limit: &dyn SizeLimit,
    ) -> Result<usize, i64> {
        let mut done = 0;
        while done < from.length() {
            let mut refused = false;
            {
                let mut position = position.lock();
                let mut tree = rootfs::lock();
                let offset = if at == WriteAt::End { tree.size(self.0.id()) } else { *position };
                let size_limit = limit.limit();
                if offset >= size_limit {
                    if done > 0 {
                        return Ok(done);
                    }
                    drop(tree);
                    limit.exceeded();
                    return Err(EFBIG);
                }
                let wanted = ((from.length() - done) as u64).min(size_limit - offset) as usize;
                let written = tree.write_with(self.0.id(), offset, wanted, rootfs::now(), |at, page| {
                    let given = from.get(done + at, page);
                    refused = given < page.len();
                    given
                });
                let written = match written {
                    Ok(written) => written,
                    Err(_) if done > 0 => return Ok(done),
                    Err(errno) => return Err(errno),
                };
                *position = offset + written as u64;
                done += written;
                if !refused && written < wanted {
                    // Out of pages part-way, or at the size limit: a short write.
                    return Ok(done);
                }
            }
            if refused && !from.reclaimed_memory() {
                return if done == 0 { Err(EFAULT) } else { Ok(done) };
            }
        }
        Ok(done)
    }
}

impl<const WRITER: bool> File for RegularFile<WRITER> {
    fn positioning(&self) -> Positioning {
        Positioning::Sized
    }

    fn size(&self) -> u64 {
        rootfs::lock().size(self.0.id())
    }

    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize, i64> {
        Ok(rootfs::lock().read(self.0.id(), offset, buffer, rootfs::now()))
    }

    /// At `at` (the end for O_APPEND, looked up under the same lock as the write,
    /// so appenders never overwrite each other), short of `limit` (RLIMIT_FSIZE:
    /// EFBIG at it).
    fn write_at(&self, at: WriteAt, bytes: &[u8], limit: &dyn SizeLimit) -> Result<(usize, u64), i64> {
        let mut tree = rootfs::lock();
        let offset = match at {
            WriteAt::Offset(offset) => offset,
            WriteAt::End => tree.size(self.0.id()),
        };
        if bytes.is_empty() {
            return Ok((0, offset));
        }
        let size_limit = limit.limit();
        if offset >= size_limit {
            drop(tree);
            limit.exceeded();
            return Err(EFBIG);
        }
        let allowed = (bytes.len() as u64).min(size_limit - offset) as usize;
        let written = tree.write(self.0.id(), offset, &bytes[..allowed], rootfs::now())?;
        Ok((written, offset + written as u64))
    }

    fn read_to(&self, out: &mut UserBuffer, open: &OpenFile) -> Option<Result<usize, i64>> {
        Some(self.read_into(out, &open.position))
    }

    fn read_to_at(&self, offset: u64, out: &mut UserBuffer) -> Option<Result<usize, i64>> {
        Some(self.read_into(out, &Mutex::new(offset)))
    }

    fn write_from(&self, from: &UserBuffer, open: &OpenFile, limit: &dyn SizeLimit) -> Option<Result<usize, i64>> {
        let at = if open.status() & O_APPEND != 0 { WriteAt::End } else { WriteAt::Offset(0) };
        Some(self.write_into(from, &open.position, at, limit))
    }

    fn write_from_at(&self, at: WriteAt, from: &UserBuffer, limit: &dyn SizeLimit) -> Option<Result<usize, i64>> {
        let offset = if let WriteAt::Offset(offset) = at { offset } else { 0 };
        Some(self.write_into(from, &Mutex::new(offset), at, limit))
    }

    fn truncate(&self, length: u64) -> Result<(), i64> {
        rootfs::lock().truncate(self.0.id(), length, rootfs::now())
    }

    fn stat(&self) -> Stat {
        rootfs::lock().stat(self.0.id())
    }

    fn node(&self) -> Option<NodeId> {
        Some(self.0.id())
    }

    fn mapping(&self) -> Option<MapSource> {
        Some(MapSource::Pages(self.0.id()))
    }
}

/// An open directory: read with getdents64, never with read.
struct Directory(Held);

impl File for Directory {
    fn positioning(&self) -> Positioning {
        Positioning::Directory
    }

    fn read_at(&self, _offset: u64, _buffer: &mut [u8]) -> Result<usize, i64> {
        Err(EISDIR)
    }

    /// Packs as many whole records as fit; the position moves past them.
    fn read_directory(&self, position: &mut u64, out: &mut [u8]) -> Result<usize, i64> {
        let tree = rootfs::lock();
        let mut used = 0;
        while let Some(entry) = tree.directory_entry(self.0.id(), *position) {
            match entry.write_to(&mut out[used..]) {
                Some(length) => used += length,
                None if used == 0 => return Err(EINVAL),
                None => break,
            }
            *position = entry.next_offset as u64;
        }
        Ok(used)
    }

    fn stat(&self) -> Stat {
        rootfs::lock().stat(self.0.id())
    }

    fn node(&self) -> Option<NodeId> {
        Some(self.0.id())
    }
}

/// /dev/null (reads end at once, writes vanish), /dev/zero (reads give zeros,
/// writes vanish), /dev/random and /dev/urandom (reads give random bytes, writes
/// vanish: the kernel's generator takes no seed from programs).
struct DataDevice {
    node: Held,
    device: Device,
}

impl File for DataDevice {
    fn read(&self, buffer: &mut [u8]) -> Result<usize, i64> {
        match self.device {
            Device::Null => return Ok(0),
            Device::Random | Device::Urandom => crate::random::fill(buffer),
            _ => buffer.fill(0),
        }
        Ok(buffer.len())
    }

    fn write(&self, bytes: &[u8]) -> Result<usize, i64> {
        Ok(bytes.len())
    }

    /// /dev/null's reads end without touching the buffer, as on Linux (which only
    /// checks that it lies in user space); /dev/zero's clear it in place; random
    /// bytes go through a kernel buffer.
    fn read_to(&self, out: &mut UserBuffer, _open: &OpenFile) -> Option<Result<usize, i64>> {
        match self.device {
            Device::Null => Some(Ok(0)),
            Device::Zero => Some(read_zeros(out)),
            _ => None,
        }
    }

    /// Writes vanish unread, as on Linux.
    fn write_from(&self, from: &UserBuffer, _open: &OpenFile, _limit: &dyn SizeLimit) -> Option<Result<usize, i64>> {
        Some(Ok(from.length()))
    }

    fn positioning(&self) -> Positioning {
        Positioning::Ignored
    }

    fn stat(&self) -> Stat {
        rootfs::lock().stat(self.node.id())
    }

    fn node(&self) -> Option<NodeId> {
        Some(self.node.id())
    }

    fn mapping(&self) -> Option<MapSource> {
        (self.device == Device::Zero).then_some(MapSource::Zeros)
    }
}

/// Zeros straight into the caller's memory, as Linux's clear_user: no kernel
/// buffer to fill first and copy from. A few bytes in a page just used inline
/// with no call (the usual read: lmbench's "null read" is one byte), anything
/// else out of line, so the inline path saves no registers.
#[inline(always)]
fn read_zeros(out: &mut UserBuffer) -> Result<usize, i64> {
    match out.clear_short() {
        Some(count) => Ok(count),
        None => read_zeros_by_page(out),
    }
}

/// `read_zeros` a page at a time, each with the address space locked. A partly
/// bad buffer gets the good part (EFAULT when that is nothing).
#[inline(never)]
fn read_zeros_by_page(out: &mut UserBuffer) -> Result<usize, i64> {
    let (mut done, mut wanted) = (0, 0);
    loop {
        if done < wanted && !out.reclaimed_memory() {
            return if done == 0 { Err(EFAULT) } else { Ok(done) };
        }
        if done == out.length() {
            return Ok(done);
        }
        wanted = done + (out.length() - done).min(PAGE_SIZE as usize);
        done += out.clear_prefix(done, wanted - done);
    }
}

/// /dev/full: reads give zeros, writes fail with ENOSPC.
struct FullDevice(Held);

impl File for FullDevice {
    fn read(&self, buffer: &mut [u8]) -> Result<usize, i64> {
        buffer.fill(0);
        Ok(buffer.len())
    }

    fn read_to(&self, out: &mut UserBuffer, _open: &OpenFile) -> Option<Result<usize, i64>> {
        Some(read_zeros(out))
    }

    fn write(&self, _bytes: &[u8]) -> Result<usize, i64> {
        Err(ENOSPC)
    }

    /// Writes fail unread, as on Linux.
    fn write_from(&self, _from: &UserBuffer, _open: &OpenFile, _limit: &dyn SizeLimit) -> Option<Result<usize, i64>> {
        Some(Err(ENOSPC))
    }

    fn positioning(&self) -> Positioning {
        Positioning::Ignored
    }

    fn stat(&self) -> Stat {
        rootfs::lock().stat(self.0.id())
    }

    fn node(&self) -> Option<NodeId> {
        Some(self.0.id())
    }
}

/// An O_PATH descriptor: names a node (for fstat, fchdir, `*at` calls) and does
/// nothing else; its description is neither readable nor writable.
struct PathHandle(Held);

impl File for PathHandle {
    fn stat(&self) -> Stat {
        rootfs::lock().stat(self.0.id())
    }

    fn node(&self) -> Option<NodeId> {
        Some(self.0.id())
    }
}
