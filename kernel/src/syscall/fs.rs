//! Path calls on the read-only tree: open, stat and its relatives, getdents64,
//! readlink, access, getcwd, chdir. Paths are resolved as Linux resolves them
//! (`initrd::Tree::resolve`); a `*at` call's directory fd is ignored for an
//! absolute path, as on Linux.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use super::io::check_user_range;
use super::Context;
use crate::fs::initrd::{self, NodeId, NodeKind, Origin, PATH_MAX};
use crate::fs::{open, OpenFile};
use kernel_core::abi::errno::{EACCES, EINVAL, ENOENT, ENOTDIR, ERANGE, EROFS};
use kernel_core::abi::{
    decode_access, decode_dirfd, decode_faccessat2_flags, decode_open, decode_stat_flags, AtFlags, DirFd, Stat,
    AT_FDCWD, AT_SYMLINK_NOFOLLOW,
};
use kernel_core::cpio::{S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};

/// The most a getdents64 call fills at once; a bigger buffer just gets this much.
const DIRENT_CHUNK: usize = 64 * 1024;

/// Reads a path argument: EFAULT for a bad pointer, ENAMETOOLONG when it does not
/// fit PATH_MAX bytes with its NUL. An empty path comes back as is: whether that is
/// ENOENT or the directory fd itself (AT_EMPTY_PATH) is the caller's business.
fn read_path(context: &Context, address: u64) -> Result<Vec<u8>, i64> {
    context.read_string(address, PATH_MAX - 1)
}

/// Where a `*at` call resolves `path` from: for a relative path, the directory
/// open as `dirfd` (EBADF if none, ENOTDIR if not a directory) or the cwd for
/// AT_FDCWD; `dirfd` is not looked at for an absolute path.
fn origin(context: &Context, dirfd: u64, path: &[u8]) -> Result<Origin, i64> {
    let mut origin = context.process.origin();
    if path.first() == Some(&b'/') {
        return Ok(origin);
    }
    if let DirFd::Fd(fd) = decode_dirfd(dirfd)? {
        let file = context.group.files.lock().get_path(u64::from(fd))?;
        origin.start = file.file.node().filter(|&node| initrd::tree().is_directory(node)).ok_or(ENOTDIR)?;
    }
    Ok(origin)
}

/// What a path call acts on: a node of the tree, or (AT_EMPTY_PATH on a fd) an
/// open file, which may be a pipe or the console.
enum Target {
    Node(NodeId),
    File(Arc<OpenFile>),
}

impl Target {
    /// What stat reports for it.
    fn stat(&self) -> Stat {
        match self {
            Target::Node(node) => initrd::tree().stat(*node),
            Target::File(file) => file.file.stat(),
        }
    }

    /// The node, if the target is one of the tree's.
    fn node(&self) -> Option<NodeId> {
        match self {
            Target::Node(node) => Some(*node),
            Target::File(file) => file.file.node(),
        }
    }
}

/// Finds what `path` names for a `*at` call with `flags`. An empty path is
/// ENOENT (before `dirfd` is looked at), unless AT_EMPTY_PATH makes it name
/// `dirfd` itself (the cwd for AT_FDCWD).
fn lookup(context: &Context, dirfd: u64, path: &[u8], flags: AtFlags) -> Result<Target, i64> {
    if path.is_empty() {
        if !flags.empty_path {
            return Err(ENOENT);
        }
        return match decode_dirfd(dirfd)? {
            DirFd::Cwd => Ok(Target::Node(context.group.details.lock().cwd)),
            DirFd::Fd(fd) => Ok(Target::File(context.group.files.lock().get_path(u64::from(fd))?)),
        };
    }
    let origin = origin(context, dirfd, path)?;
    initrd::tree().resolve(origin, path, flags.follow).map(Target::Node)
}

/// open: openat relative to the cwd.
pub fn open(context: &mut Context, &[path, flags, mode, ..]: &[u64; 6]) -> Result<u64, i64> {
    openat(context, &[AT_FDCWD as u64, path, flags, mode, 0, 0])
}

/// openat: see `fs::open::open` for the checks; the new descriptor is the lowest
/// free one, close-on-exec with O_CLOEXEC. The mode (for O_CREAT) never matters:
/// nothing can be created.
pub fn openat(context: &mut Context, &[dirfd, path, flags, _mode, ..]: &[u64; 6]) -> Result<u64, i64> {
    let request = decode_open(flags);
    let path = read_path(context, path)?;
    if path.is_empty() {
        return Err(ENOENT);
    }
    let origin = origin(context, dirfd, &path)?;
    let file = open::open(origin, &path, &request)?;
    context.group.files.lock().insert(file, request.close_on_exec)
}

/// Copies `stat` to user address `address`.
fn copy_stat(context: &Context, address: u64, stat: &Stat) -> Result<u64, i64> {
    context.copy_out(address, &stat.to_bytes())?;
    Ok(0)
}

/// stat: newfstatat relative to the cwd, following a final symlink.
pub fn stat(context: &mut Context, &[path, address, ..]: &[u64; 6]) -> Result<u64, i64> {
    newfstatat(context, &[AT_FDCWD as u64, path, address, 0, 0, 0])
}

/// lstat: newfstatat relative to the cwd, not following a final symlink.
pub fn lstat(context: &mut Context, &[path, address, ..]: &[u64; 6]) -> Result<u64, i64> {
    newfstatat(context, &[AT_FDCWD as u64, path, address, u64::from(AT_SYMLINK_NOFOLLOW), 0, 0])
}

/// fstat: works on every descriptor, O_PATH ones included.
pub fn fstat(context: &mut Context, &[fd, address, ..]: &[u64; 6]) -> Result<u64, i64> {
    let file = context.group.files.lock().get_path(fd)?;
    copy_stat(context, address, &file.file.stat())
}

/// newfstatat with AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH and AT_NO_AUTOMOUNT.
pub fn newfstatat(context: &mut Context, &[dirfd, path, address, flags, ..]: &[u64; 6]) -> Result<u64, i64> {
    let flags = decode_stat_flags(flags)?;
    let path = read_path(context, path)?;
    let target = lookup(context, dirfd, &path, flags)?;
    copy_stat(context, address, &target.stat())
}

/// getdents64: as many whole records as fit in `length` bytes, from the
/// directory's position on (`.` and `..` first). EFAULT for a buffer outside user
/// space, ENOTDIR for anything but a directory, EINVAL when not one record fits.
pub fn getdents64(context: &mut Context, &[fd, address, length, ..]: &[u64; 6]) -> Result<u64, i64> {
    let file = context.group.files.lock().get(fd)?;
    let length = u64::from(length as u32);
    check_user_range(address, length)?;
    let mut buffer = vec![0u8; (length as usize).min(DIRENT_CHUNK)];
    let used = file.read_directory(&mut buffer)?;
    context.copy_out(address, &buffer[..used])?;
    Ok(used as u64)
}

/// readlink: readlinkat relative to the cwd.
pub fn readlink(context: &mut Context, &[path, address, size, ..]: &[u64; 6]) -> Result<u64, i64> {
    readlinkat(context, &[AT_FDCWD as u64, path, address, size, 0, 0])
}

/// readlinkat: the link's target, truncated to `size` bytes, without a NUL.
/// EINVAL for a size ≤ 0 or a path that is no link; an empty path names `dirfd`
/// (ENOENT unless that is an O_PATH descriptor of a link).
pub fn readlinkat(context: &mut Context, &[dirfd, path, address, size, ..]: &[u64; 6]) -> Result<u64, i64> {
    let size = usize::try_from(size as i32).ok().filter(|&size| size > 0).ok_or(EINVAL)?;
    let path = read_path(context, path)?;
    let target = lookup(context, dirfd, &path, AtFlags { follow: false, empty_path: true })?;
    let tree = initrd::tree();
    let link = target.node().filter(|&node| matches!(tree.node(node).kind, NodeKind::Symlink(_) | NodeKind::SelfExe));
    let Some(node) = link else { return Err(if path.is_empty() { ENOENT } else { EINVAL }) };
    let target = tree.link_target(node, context.process.origin())?;
    let count = target.len().min(size);
    context.copy_out(address, &target[..count])?;
    Ok(count as u64)
}

/// access: faccessat2 relative to the cwd, without flags.
pub fn access(context: &mut Context, &[path, mode, ..]: &[u64; 6]) -> Result<u64, i64> {
    faccessat2(context, &[AT_FDCWD as u64, path, mode, 0, 0, 0])
}

/// faccessat: faccessat2 without flags (the system call has none).
pub fn faccessat(context: &mut Context, &[dirfd, path, mode, ..]: &[u64; 6]) -> Result<u64, i64> {
    faccessat2(context, &[dirfd, path, mode, 0, 0, 0])
}

/// faccessat2, for a process that is root (as every process is): reading and
/// writing are allowed by permission bits, but writing a regular file, directory
/// or link of the read-only tree is EROFS; executing needs an x bit somewhere,
/// except for directories (EACCES).
pub fn faccessat2(context: &mut Context, &[dirfd, path, mode, flags, ..]: &[u64; 6]) -> Result<u64, i64> {
    let wanted = decode_access(mode)?;
    let flags = decode_faccessat2_flags(flags)?;
    let path = read_path(context, path)?;
    let target = lookup(context, dirfd, &path, flags)?;
    let mode = target.stat().mode;
    let in_tree_storage = target.node().is_some() && matches!(mode & S_IFMT, S_IFREG | S_IFDIR | S_IFLNK);
    if wanted.write && in_tree_storage {
        return Err(EROFS);
    }
    if wanted.execute && mode & S_IFMT != S_IFDIR && mode & 0o111 == 0 {
        return Err(EACCES);
    }
    Ok(0)
}

/// getcwd: the absolute path with its NUL; ERANGE when `size` is too small.
/// Returns the length copied, NUL included (the system call's convention).
pub fn getcwd(context: &mut Context, &[address, size, ..]: &[u64; 6]) -> Result<u64, i64> {
    let cwd = context.group.details.lock().cwd;
    let mut path = initrd::tree().path_of(cwd).into_bytes();
    path.push(0);
    if (size as usize) < path.len() {
        return Err(ERANGE);
    }
    context.copy_out(address, &path)?;
    Ok(path.len() as u64)
}

/// Makes `node` the cwd; ENOTDIR unless it is a directory.
fn change_directory(context: &Context, node: Option<NodeId>) -> Result<u64, i64> {
    let node = node.filter(|&node| initrd::tree().is_directory(node)).ok_or(ENOTDIR)?;
    context.group.details.lock().cwd = node;
    Ok(0)
}

/// chdir: to the directory `path` names (symlinks followed).
pub fn chdir(context: &mut Context, &[path, ..]: &[u64; 6]) -> Result<u64, i64> {
    let path = read_path(context, path)?;
    let target = lookup(context, AT_FDCWD as u64, &path, AtFlags { follow: true, empty_path: false })?;
    change_directory(context, target.node())
}

/// fchdir: to the directory a descriptor (O_PATH ones included) names.
pub fn fchdir(context: &mut Context, &[fd, ..]: &[u64; 6]) -> Result<u64, i64> {
    let file = context.group.files.lock().get_path(fd)?;
    change_directory(context, file.file.node())
}
