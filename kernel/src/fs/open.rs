//! Opening a path of the tree (open/openat), with Linux's checks in Linux's order,
//! and the files a node becomes once open: a regular file, a directory, a device,
//! or an O_PATH handle. The tree is read-only: anything that would write to it
//! fails with EROFS, after the errors Linux finds first.

use alloc::boxed::Box;
use alloc::sync::Arc;

use super::console::{self, Stream};
use super::initrd::{self, Device, NodeId, NodeKind, Origin};
use super::{File, OpenFile, Positioning};
use crate::mm::address_space::UserBuffer;
use kernel_core::abi::errno::{EEXIST, EINVAL, EISDIR, ELOOP, ENOENT, ENOTDIR, EROFS};
use kernel_core::abi::{OpenRequest, Stat};

/// Opens `path` as `request` asks, relative to `origin`. The checks, in Linux's
/// order (`path_openat`): an O_TMPFILE without write access is EINVAL; the path
/// must resolve (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG), except that O_CREAT on a
/// missing last component in an existing directory would create a file (EROFS
/// here); with O_CREAT, a trailing slash is EISDIR, an existing file with O_EXCL
/// EEXIST, a directory EISDIR; O_DIRECTORY wants a directory (ENOTDIR); a final
/// symlink not followed (O_NOFOLLOW) is ELOOP unless O_PATH; then, for anything
/// that needs write permission, a directory is EISDIR and a regular file EROFS.
pub fn open(origin: Origin, path: &[u8], request: &OpenRequest) -> Result<Arc<OpenFile>, i64> {
    let tree = initrd::tree();
    if request.tmpfile && !request.write {
        return Err(EINVAL);
    }
    let trailing_slash = path.last() == Some(&b'/');
    if request.create && trailing_slash {
        return Err(EISDIR);
    }
    // O_CREAT|O_EXCL never follows a final symlink: an existing link is EEXIST.
    let follow = !request.no_follow && !request.exclusive;
    let node = match tree.resolve(origin, path, follow) {
        Ok(node) => node,
        Err(ENOENT) if request.create => {
            parent_exists(origin, path)?;
            return Err(EROFS);
        }
        Err(errno) => return Err(errno),
    };
    let is_directory = tree.is_directory(node);
    if request.tmpfile {
        return Err(if is_directory { EROFS } else { ENOTDIR });
    }
    if request.create {
        if request.exclusive {
            return Err(EEXIST);
        }
        if is_directory {
            return Err(EISDIR);
        }
    }
    if request.directory && !is_directory {
        return Err(ENOTDIR);
    }
    let kind = &tree.node(node).kind;
    if request.path_only {
        return Ok(OpenFile::new(Box::new(PathHandle(node)), request.status));
    }
    let file: Box<dyn File> = match kind {
        NodeKind::Symlink(_) | NodeKind::SelfExe => return Err(ELOOP),
        NodeKind::Directory(_) if request.needs_write => return Err(EISDIR),
        NodeKind::File(_) if request.needs_write => return Err(EROFS),
        NodeKind::Directory(_) => Box::new(Directory(node)),
        NodeKind::File(bytes) => Box::new(RegularFile { node, bytes }),
        NodeKind::Device(Device::Console | Device::Tty) => console::open(Stream::Device),
        NodeKind::Device(device @ (Device::Null | Device::Zero)) => Box::new(DataDevice { node, device: *device }),
    };
    Ok(OpenFile::new(file, request.status))
}

/// For O_CREAT on a path that does not resolve: Ok when only the last component
/// is missing (the directory it would go in exists), else the error of the
/// directory part (ENOENT, ENOTDIR, ELOOP...).
fn parent_exists(origin: Origin, path: &[u8]) -> Result<(), i64> {
    let directory = match path.iter().rposition(|&byte| byte == b'/') {
        Some(0) => return Ok(()),
        Some(slash) => initrd::tree().resolve(origin, &path[..slash], true)?,
        None => origin.start,
    };
    if initrd::tree().is_directory(directory) {
        Ok(())
    } else {
        Err(ENOTDIR)
    }
}

/// An open regular file of the initrd: its bytes, read in place.
struct RegularFile {
    node: NodeId,
    bytes: &'static [u8],
}

impl File for RegularFile {
    fn positioning(&self) -> Positioning {
        Positioning::Sized(self.bytes.len() as u64)
    }

    /// Copies from `offset` on; nothing at or past the end.
    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize, i64> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.bytes.len());
        let count = buffer.len().min(self.bytes.len() - start);
        buffer[..count].copy_from_slice(&self.bytes[start..start + count]);
        Ok(count)
    }

    fn stat(&self) -> Stat {
        initrd::tree().stat(self.node)
    }

    fn node(&self) -> Option<NodeId> {
        Some(self.node)
    }
}

/// An open directory: read with getdents64, never with read.
struct Directory(NodeId);

impl File for Directory {
    fn positioning(&self) -> Positioning {
        Positioning::Directory
    }

    fn read_at(&self, _offset: u64, _buffer: &mut [u8]) -> Result<usize, i64> {
        Err(EISDIR)
    }

    /// Packs as many whole records as fit; the position moves past them.
    fn read_directory(&self, position: &mut u64, out: &mut [u8]) -> Result<usize, i64> {
        let tree = initrd::tree();
        let mut used = 0;
        while let Some(entry) = tree.directory_entry(self.0, *position) {
            match entry.write_to(&mut out[used..]) {
                Some(length) => used += length,
                None if used == 0 => return Err(EINVAL),
                None => break,
            }
            *position += 1;
        }
        Ok(used)
    }

    fn stat(&self) -> Stat {
        initrd::tree().stat(self.0)
    }

    fn node(&self) -> Option<NodeId> {
        Some(self.0)
    }
}

/// /dev/null (reads end at once, writes vanish) or /dev/zero (reads give zeros,
/// writes vanish).
struct DataDevice {
    node: NodeId,
    device: Device,
}

impl File for DataDevice {
    fn read(&self, buffer: &mut [u8]) -> Result<usize, i64> {
        if self.device == Device::Null {
            return Ok(0);
        }
        buffer.fill(0);
        Ok(buffer.len())
    }

    fn write(&self, bytes: &[u8]) -> Result<usize, i64> {
        Ok(bytes.len())
    }

    /// /dev/null's reads end without touching the buffer, as on Linux (which only
    /// checks that it lies in user space); /dev/zero's fill it the usual way.
    fn read_to(&self, _out: &mut UserBuffer, _nonblocking: bool) -> Option<Result<usize, i64>> {
        (self.device == Device::Null).then_some(Ok(0))
    }

    /// Writes vanish unread, as on Linux.
    fn write_from(&self, from: &UserBuffer, _nonblocking: bool) -> Option<Result<usize, i64>> {
        Some(Ok(from.length()))
    }

    fn positioning(&self) -> Positioning {
        Positioning::Ignored
    }

    fn stat(&self) -> Stat {
        initrd::tree().stat(self.node)
    }

    fn node(&self) -> Option<NodeId> {
        Some(self.node)
    }
}

/// An O_PATH descriptor: names a node (for fstat, fchdir, `*at` calls) and does
/// nothing else; its description is neither readable nor writable.
struct PathHandle(NodeId);

impl File for PathHandle {
    fn stat(&self) -> Stat {
        initrd::tree().stat(self.0)
    }

    fn node(&self) -> Option<NodeId> {
        Some(self.0)
    }
}
