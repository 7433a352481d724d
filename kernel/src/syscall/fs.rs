//! Path calls that look: open, stat and its relatives, getdents64, readlink,
//! access, getcwd, chdir (those that change the tree are in `fs_change.rs`).
//! Paths are resolved as Linux resolves them (`kernel_core::tree::Tree::resolve`),
//! under the root file system's lock (`rootfs::with_origin`); a `*at` call's
//! directory fd is ignored for an absolute path, as on Linux.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use super::io::check_user_range;
use super::Context;
use crate::fs::open::Opened;
use crate::fs::procfs::{self, Reached};
use crate::fs::rootfs::{self, Held, NodeId, NodeKind, Origin, Tree, CROSSES_MOUNT, PATH_MAX};
use crate::fs::{open, OpenFile};
use kernel_core::abi::errno::{EACCES, EINVAL, ENOENT, ENOTDIR, ERANGE};
use kernel_core::abi::{
    decode_access, decode_dirfd, decode_faccessat2_flags, decode_open, decode_stat_flags, AtFlags, DirFd, OpenRequest,
    Stat, AT_FDCWD, AT_SYMLINK_NOFOLLOW, O_CREAT, O_TRUNC, O_WRONLY,
};
use kernel_core::cpio::{S_IFDIR, S_IFMT};
use kernel_core::procfs::ProcPath;

/// The most a getdents64 call fills at once; a bigger buffer just gets this much.
const DIRENT_CHUNK: usize = 64 * 1024;

/// Reads a path argument: EFAULT for a bad pointer, ENAMETOOLONG when it does not
/// fit PATH_MAX bytes with its NUL. An empty path comes back as is: whether that is
/// ENOENT or the directory fd itself (AT_EMPTY_PATH) is the caller's business.
pub(super) fn read_path(context: &Context, address: u64) -> Result<Vec<u8>, i64> {
    context.read_string(address, PATH_MAX - 1)
}

/// The directory a `*at` call's relative `path` starts from: None for the cwd
/// (AT_FDCWD, or any absolute path), else the file open as `dirfd` (EBADF if
/// none), whose node `at_path` checks is a directory. The open file is held by
/// the caller until the tree is unlocked (dropping it may take the lock).
pub(super) fn start_file(context: &Context, dirfd: u64, path: &[u8]) -> Result<Option<Arc<OpenFile>>, i64> {
    if path.first() == Some(&b'/') {
        return Ok(None);
    }
    match decode_dirfd(dirfd)? {
        DirFd::Cwd => Ok(None),
        DirFd::Fd(fd) => Ok(Some(context.group.files.lock().get_path(u64::from(fd))?)),
    }
}

/// The origin `start` (from `start_file`) makes of the process's `origin`:
/// ENOTDIR for a descriptor that is not a directory.
pub(super) fn origin_from(tree: &Tree, origin: Origin, start: &Option<Arc<OpenFile>>) -> Result<Origin, i64> {
    match start {
        None => Ok(origin),
        Some(file) => {
            let node = file.file.node().filter(|&node| tree.is_directory(node)).ok_or(ENOTDIR)?;
            Ok(Origin { start: node })
        }
    }
}

/// Runs `f` on the locked tree with the origin a `*at` call's `dirfd` and `path`
/// give (see `start_file`).
pub(super) fn at_path<T>(
    context: &Context,
    dirfd: u64,
    path: &[u8],
    f: impl FnOnce(&mut Tree, Origin) -> Result<T, i64>,
) -> Result<T, i64> {
    let start = start_file(context, dirfd, path)?;
    let result = rootfs::with_origin(context.process, |tree, origin| f(tree, origin_from(tree, origin, &start)?));
    drop(start);
    result
}

/// What a path call acts on: a node of the tree, an open file that is no node
/// (a pipe or the console: AT_EMPTY_PATH on a descriptor, or a /proc/PID/fd/N
/// link followed), or a file, directory or link of /proc.
pub(super) enum Target<'t> {
    Node(&'t mut Tree, NodeId),
    Other(&'t OpenFile),
    Proc(ProcPath),
}

/// Finds what `path` names for a `*at` call with `flags` and runs `f` on it, the
/// tree locked for a node. An empty path is ENOENT (before `dirfd` is looked
/// at), unless AT_EMPTY_PATH makes it name `dirfd` itself (the cwd for
/// AT_FDCWD).
pub(super) fn on_target<T>(
    context: &Context,
    dirfd: u64,
    path: &[u8],
    flags: AtFlags,
    mut f: impl FnMut(Target) -> Result<T, i64>,
) -> Result<T, i64> {
    if !path.is_empty() {
        let mut below = Vec::new();
        let result = at_path(context, dirfd, path, |tree, origin| {
            let node = tree.resolve_or_below(origin, path, flags.follow, &mut below)?;
            f(Target::Node(tree, node))
        });
        if !matches!(result, Err(CROSSES_MOUNT)) {
            return result;
        }
        return match procfs::reach(context.process, &below, flags.follow)? {
            Reached::Proc(path) => f(Target::Proc(path)),
            Reached::File(file) => f(Target::Other(&file)),
            Reached::Node(held) => {
                let result = f(Target::Node(&mut rootfs::lock(), held.id()));
                drop(held);
                result
            }
        };
    }
    if !flags.empty_path {
        return Err(ENOENT);
    }
    match decode_dirfd(dirfd)? {
        DirFd::Cwd => rootfs::with_origin(context.process, |tree, origin| f(Target::Node(tree, origin.start))),
        DirFd::Fd(fd) => {
            // Bound first: the descriptor table's lock is not held across the tree's.
            let file = context.group.files.lock().get_path(u64::from(fd))?;
            on_file(&file, f)
        }
    }
}

/// Runs `f` on the node `file` is (the tree locked), or on the file itself when
/// it is none.
pub(super) fn on_file<T>(file: &OpenFile, f: impl FnOnce(Target) -> Result<T, i64>) -> Result<T, i64> {
    match file.file.node() {
        Some(node) => f(Target::Node(&mut rootfs::lock(), node)),
        None => f(Target::Other(file)),
    }
}

/// The caller's umask.
pub(super) fn umask(context: &Context) -> u32 {
    context.group.details.lock().umask
}

/// open: openat relative to the cwd.
pub fn open(context: &mut Context) -> Result<u64, i64> {
    let [path, flags, mode, ..] = context.arguments();
    openat_of(context, [AT_FDCWD as u64, path, flags, mode, 0, 0])
}

/// creat: open with O_CREAT|O_WRONLY|O_TRUNC.
pub fn creat(context: &mut Context) -> Result<u64, i64> {
    let [path, mode, ..] = context.arguments();
    openat_of(context, [AT_FDCWD as u64, path, u64::from(O_CREAT | O_WRONLY | O_TRUNC), mode, 0, 0])
}

/// openat: see `fs::open::open` for the checks; the new descriptor is the lowest
/// free one, close-on-exec with O_CLOEXEC. A file it creates gets `mode` less the
/// umask.
pub fn openat(context: &mut Context) -> Result<u64, i64> {
    let arguments = context.arguments();
    openat_of(context, arguments)
}

/// `openat` of `arguments`: also the older calls it extends, with theirs.
fn openat_of(context: &mut Context, [dirfd, path, flags, mode, ..]: [u64; 6]) -> Result<u64, i64> {
    let request = decode_open(flags);
    let path = read_path(context, path)?;
    if path.is_empty() {
        return Err(ENOENT);
    }
    let mode = mode as u32 & !umask(context);
    let file = match at_path(context, dirfd, &path, |tree, origin| open::open(tree, origin, &path, &request, mode))? {
        Opened::File(file) => file,
        Opened::Mounted(below) => open_below_proc(context, &below, &request)?,
    };
    context.group.files.lock().insert(file, request.close_on_exec)
}

/// Opens `below` (a path below /proc). A followed `exe` or `cwd` opens the file
/// it leads to; a followed `fd/N` gives that descriptor's open file description
/// itself (Linux opens the file anew, with a description of its own).
fn open_below_proc(context: &Context, below: &[u8], request: &OpenRequest) -> Result<Arc<OpenFile>, i64> {
    let follow = !request.no_follow && !request.exclusive;
    match procfs::reach(context.process, below, follow)? {
        Reached::Proc(path) => procfs::open(path, request),
        Reached::File(file) => Ok(file),
        Reached::Node(held) => {
            let file = rootfs::with_origin(context.process, |tree, _| open::open_node(tree, held.id(), request));
            drop(held);
            file
        }
    }
}

/// Writes `stat` to user address `address`.
fn copy_stat(context: &Context, address: u64, stat: &Stat) -> Result<u64, i64> {
    context.write_words(address, || stat.to_words())?;
    Ok(0)
}

/// stat: newfstatat relative to the cwd, following a final symlink.
pub fn stat(context: &mut Context) -> Result<u64, i64> {
    let [path, address, ..] = context.arguments();
    newfstatat_of(context, [AT_FDCWD as u64, path, address, 0, 0, 0])
}

/// lstat: newfstatat relative to the cwd, not following a final symlink.
pub fn lstat(context: &mut Context) -> Result<u64, i64> {
    let [path, address, ..] = context.arguments();
    newfstatat_of(context, [AT_FDCWD as u64, path, address, u64::from(AT_SYMLINK_NOFOLLOW), 0, 0])
}

/// fstat: works on every descriptor, O_PATH ones included.
pub fn fstat(context: &mut Context) -> Result<u64, i64> {
    let [fd, address, ..] = context.arguments();
    let file = context.group.files.lock().get_path(fd)?;
    match file.file.stat_node() {
        // The words made from the node under the tree's lock, with no `Stat`
        // between (the tree's lock comes before the address space's: it is let go
        // before the copy, which may fault in a page of a file mapping).
        Some(node) => {
            let words = rootfs::lock().stat(node).to_words();
            context.write_words(address, || words).map(|()| 0)
        }
        None => copy_stat(context, address, &file.file.stat()),
    }
}

/// newfstatat with AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH and AT_NO_AUTOMOUNT.
pub fn newfstatat(context: &mut Context) -> Result<u64, i64> {
    let arguments = context.arguments();
    newfstatat_of(context, arguments)
}

/// `newfstatat` of `arguments`: also the older calls it extends, with theirs.
fn newfstatat_of(context: &mut Context, [dirfd, path, address, flags, ..]: [u64; 6]) -> Result<u64, i64> {
    let flags = decode_stat_flags(flags)?;
    let path = read_path(context, path)?;
    let stat = on_target(context, dirfd, &path, flags, |target| {
        Ok(match target {
            Target::Node(tree, node) => tree.stat(node),
            Target::Other(file) => file.file.stat(),
            Target::Proc(path) => procfs::stat(path),
        })
    })?;
    copy_stat(context, address, &stat)
}

/// getdents64: as many whole records as fit in `length` bytes, from the
/// directory's position on (`.` and `..` first). EFAULT for a buffer outside user
/// space, ENOTDIR for anything but a directory, EINVAL when not one record fits.
pub fn getdents64(context: &mut Context) -> Result<u64, i64> {
    let [fd, address, length, ..] = context.arguments();
    let file = context.group.files.lock().get(fd)?;
    let length = u64::from(length as u32);
    check_user_range(address, length)?;
    let mut buffer = vec![0u8; (length as usize).min(DIRENT_CHUNK)];
    let used = file.read_directory(&mut buffer)?;
    context.copy_out(address, &buffer[..used])?;
    Ok(used as u64)
}

/// readlink: readlinkat relative to the cwd.
pub fn readlink(context: &mut Context) -> Result<u64, i64> {
    let [path, address, size, ..] = context.arguments();
    readlinkat_of(context, [AT_FDCWD as u64, path, address, size, 0, 0])
}

/// readlinkat: the link's target, truncated to `size` bytes, without a NUL.
/// EINVAL for a size ≤ 0 or a path that is no link; an empty path names `dirfd`
/// (ENOENT unless that is an O_PATH descriptor of a link).
pub fn readlinkat(context: &mut Context) -> Result<u64, i64> {
    let arguments = context.arguments();
    readlinkat_of(context, arguments)
}

/// `readlinkat` of `arguments`: also the older calls it extends, with theirs.
fn readlinkat_of(context: &mut Context, [dirfd, path, address, size, ..]: [u64; 6]) -> Result<u64, i64> {
    let size = usize::try_from(size as i32).ok().filter(|&size| size > 0).ok_or(EINVAL)?;
    let path = read_path(context, path)?;
    let not_link = if path.is_empty() { ENOENT } else { EINVAL };
    let target =
        on_target(context, dirfd, &path, AtFlags { follow: false, empty_path: true }, |target| match target {
            Target::Node(tree, node) if matches!(tree.node(node).kind, NodeKind::Symlink(_)) => tree.link_target(node),
            Target::Proc(path) if path.is_link() => procfs::link_target(context.process, path),
            _ => Err(not_link),
        })?;
    let count = target.len().min(size);
    context.copy_out(address, &target[..count])?;
    Ok(count as u64)
}

/// access: faccessat2 relative to the cwd, without flags.
pub fn access(context: &mut Context) -> Result<u64, i64> {
    let [path, mode, ..] = context.arguments();
    faccessat2_of(context, [AT_FDCWD as u64, path, mode, 0, 0, 0])
}

/// faccessat: faccessat2 without flags (the system call has none).
pub fn faccessat(context: &mut Context) -> Result<u64, i64> {
    let [dirfd, path, mode, ..] = context.arguments();
    faccessat2_of(context, [dirfd, path, mode, 0, 0, 0])
}

/// faccessat2, for a process that is root (as every process is): reading and
/// writing are allowed whatever the permission bits; executing needs an x bit
/// somewhere, except for directories (EACCES).
pub fn faccessat2(context: &mut Context) -> Result<u64, i64> {
    let arguments = context.arguments();
    faccessat2_of(context, arguments)
}

/// `faccessat2` of `arguments`: also the older calls it extends, with theirs.
fn faccessat2_of(context: &mut Context, [dirfd, path, mode, flags, ..]: [u64; 6]) -> Result<u64, i64> {
    let wanted = decode_access(mode)?;
    let flags = decode_faccessat2_flags(flags)?;
    let path = read_path(context, path)?;
    let mode = on_target(context, dirfd, &path, flags, |target| {
        Ok(match target {
            Target::Node(tree, node) => tree.node(node).mode,
            Target::Other(file) => file.file.stat().mode,
            Target::Proc(path) => procfs::stat(path).mode,
        })
    })?;
    if wanted.execute && mode & S_IFMT != S_IFDIR && mode & 0o111 == 0 {
        return Err(EACCES);
    }
    Ok(0)
}

/// getcwd: the absolute path with its NUL; ERANGE when `size` is too small.
/// Returns the length copied, NUL included (the system call's convention).
/// ENOENT once the cwd has been removed, as on Linux.
pub fn getcwd(context: &mut Context) -> Result<u64, i64> {
    let [address, size, ..] = context.arguments();
    let mut path = rootfs::with_origin(context.process, |tree, origin| {
        if tree.is_removed(origin.start) {
            return Err(ENOENT);
        }
        Ok(tree.path_of(origin.start).into_bytes())
    })?;
    path.push(0);
    if (size as usize) < path.len() {
        return Err(ERANGE);
    }
    context.copy_out(address, &path)?;
    Ok(path.len() as u64)
}

/// A hold on the directory `target` is, to be the cwd; ENOTDIR unless it is one.
fn new_cwd(target: Target) -> Result<Held, i64> {
    match target {
        Target::Node(tree, node) if tree.is_directory(node) => Ok(Held::new(tree, node)),
        _ => Err(ENOTDIR),
    }
}

/// chdir: to the directory `path` names (symlinks followed).
pub fn chdir(context: &mut Context) -> Result<u64, i64> {
    let [path, ..] = context.arguments();
    let path = read_path(context, path)?;
    let cwd = on_target(context, AT_FDCWD as u64, &path, AtFlags { follow: true, empty_path: false }, new_cwd)?;
    context.group.details.lock().cwd = cwd;
    Ok(0)
}

/// fchdir: to the directory a descriptor (O_PATH ones included) names.
pub fn fchdir(context: &mut Context) -> Result<u64, i64> {
    let [fd, ..] = context.arguments();
    let file = context.group.files.lock().get_path(fd)?;
    let cwd = on_file(&file, new_cwd)?;
    context.group.details.lock().cwd = cwd;
    Ok(0)
}
