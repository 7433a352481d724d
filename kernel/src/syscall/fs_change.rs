//! Path calls that change the root file system: mkdir, mknod, unlink, rmdir,
//! rename, link, symlink (names); chmod, chown, utime and truncate (a file's
//! attributes and size); fsync and sync; statfs; each in its legacy and `*at`
//! forms, as musl calls the first and glibc the second. The tree does the work
//! and finds the errors (`kernel_core::tree`); these decode the arguments and
//! take the lock.

use super::fs::{at_path, on_file, on_target, origin_from, read_path, start_file, umask, Target};
use super::io::{file_size_limit, note_size_limit_exceeded};
use super::Context;
use crate::fs::rootfs::{self, Device, NodeKind, Parent, Tree};
use kernel_core::abi::errno::{EACCES, EBADF, EEXIST, EFAULT, EFBIG, EINVAL, EISDIR, ENOENT, EOPNOTSUPP, EPERM};
use kernel_core::abi::{
    decode_change_flags, decode_dirfd, decode_linkat_flags, decode_rename_flags, decode_unlinkat_flags, decode_utimens,
    decode_utimes, AtFlags, DirFd, Statfs, TimeChange, AT_FDCWD, AT_SYMLINK_NOFOLLOW, PROC_SUPER_MAGIC, TMPFS_MAGIC,
};
use kernel_core::cpio::{S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use kernel_core::tree::{empty_directory, empty_file, RenameFlags, BLOCK_SIZE, MODE_BITS, NAME_MAX};

const CWD: u64 = AT_FDCWD as u64;

/// The last component of `path` for a call that creates a name other than a
/// directory (mknod, link, symlink): a trailing slash is EEXIST when the name
/// exists, else ENOENT, as Linux's `filename_create` answers.
fn new_name<'p>(tree: &Tree, parent: Parent<'p>) -> Result<Parent<'p>, i64> {
    if parent.is_special() || tree.child(parent.directory, parent.name).is_some() {
        return Err(EEXIST);
    }
    if parent.trailing_slash {
        return Err(ENOENT);
    }
    Ok(parent)
}

/// mkdir: mkdirat relative to the cwd.
pub fn mkdir(context: &mut Context) -> Result<u64, i64> {
    let [path, mode, ..] = context.arguments();
    mkdirat_of(context, [CWD, path, mode, 0, 0, 0])
}

/// mkdirat: a directory with `mode`'s permission and sticky bits less the umask.
pub fn mkdirat(context: &mut Context) -> Result<u64, i64> {
    let arguments = context.arguments();
    mkdirat_of(context, arguments)
}

/// `mkdirat` of `arguments`: also the older calls it extends, with theirs.
fn mkdirat_of(context: &mut Context, [dirfd, path, mode, ..]: [u64; 6]) -> Result<u64, i64> {
    let path = read_path(context, path)?;
    let mode = S_IFDIR | (mode as u32 & 0o1777 & !umask(context));
    at_path(context, dirfd, &path, |tree, origin| {
        let parent = tree.resolve_parent(origin, &path)?;
        tree.create(parent.directory, parent.name, empty_directory(), mode, rootfs::now())
    })?;
    Ok(0)
}

/// mknod: mknodat relative to the cwd.
pub fn mknod(context: &mut Context) -> Result<u64, i64> {
    let [path, mode, device, ..] = context.arguments();
    mknodat_of(context, [CWD, path, mode, device, 0, 0])
}

/// mknodat: a regular file (type 0 or S_IFREG), or a node of one of the
/// character devices the kernel has (/dev's: null, zero, full, random, urandom,
/// tty, console). EPERM for other devices, FIFOs and sockets (timeshare has no
/// such files) and for a directory, as Linux; EINVAL for an unknown type.
pub fn mknodat(context: &mut Context) -> Result<u64, i64> {
    let arguments = context.arguments();
    mknodat_of(context, arguments)
}

/// `mknodat` of `arguments`: also the older calls it extends, with theirs.
fn mknodat_of(context: &mut Context, [dirfd, path, mode, device, ..]: [u64; 6]) -> Result<u64, i64> {
    let path = read_path(context, path)?;
    let mode = mode as u32;
    let permissions = mode & MODE_BITS & !umask(context);
    at_path(context, dirfd, &path, |tree, origin| {
        let kind = match mode & S_IFMT {
            0 | S_IFREG => (empty_file(), S_IFREG),
            S_IFCHR => (NodeKind::Device(Device::from_number(device).ok_or(EPERM)?), S_IFCHR),
            S_IFDIR => return Err(EPERM),
            0o010000 | 0o060000 | 0o140000 => return Err(EPERM),
            _ => return Err(EINVAL),
        };
        let parent = new_name(tree, tree.resolve_parent(origin, &path)?)?;
        tree.create(parent.directory, parent.name, kind.0, kind.1 | permissions, rootfs::now())
    })?;
    Ok(0)
}

/// unlink: unlinkat relative to the cwd, without flags.
pub fn unlink(context: &mut Context) -> Result<u64, i64> {
    let [path, ..] = context.arguments();
    unlinkat_of(context, [CWD, path, 0, 0, 0, 0])
}

/// rmdir: unlinkat relative to the cwd with AT_REMOVEDIR.
pub fn rmdir(context: &mut Context) -> Result<u64, i64> {
    let [path, ..] = context.arguments();
    let path = read_path(context, path)?;
    remove(context, CWD, &path, true)
}

/// unlinkat: removes a name (a file open elsewhere lives on until its last
/// close), or with AT_REMOVEDIR an empty directory.
pub fn unlinkat(context: &mut Context) -> Result<u64, i64> {
    let arguments = context.arguments();
    unlinkat_of(context, arguments)
}

/// `unlinkat` of `arguments`: also the older calls it extends, with theirs.
fn unlinkat_of(context: &mut Context, [dirfd, path, flags, ..]: [u64; 6]) -> Result<u64, i64> {
    let directory = decode_unlinkat_flags(flags)?;
    let path = read_path(context, path)?;
    remove(context, dirfd, &path, directory)
}

fn remove(context: &Context, dirfd: u64, path: &[u8], directory: bool) -> Result<u64, i64> {
    at_path(context, dirfd, path, |tree, origin| {
        let parent = tree.resolve_parent(origin, path)?;
        if directory {
            tree.rmdir(parent, rootfs::now())
        } else {
            tree.unlink(parent, rootfs::now())
        }
    })?;
    Ok(0)
}

/// rename: renameat2 relative to the cwd, without flags.
pub fn rename(context: &mut Context) -> Result<u64, i64> {
    let [old, new, ..] = context.arguments();
    renameat2_of(context, [CWD, old, CWD, new, 0, 0])
}

/// renameat: renameat2 without flags.
pub fn renameat(context: &mut Context) -> Result<u64, i64> {
    let [old_dirfd, old, new_dirfd, new, ..] = context.arguments();
    renameat2_of(context, [old_dirfd, old, new_dirfd, new, 0, 0])
}

/// renameat2 with RENAME_NOREPLACE or RENAME_EXCHANGE: see `Tree::rename`.
pub fn renameat2(context: &mut Context) -> Result<u64, i64> {
    let arguments = context.arguments();
    renameat2_of(context, arguments)
}

/// `renameat2` of `arguments`: also the older calls it extends, with theirs.
fn renameat2_of(context: &mut Context, [old_dirfd, old, new_dirfd, new, flags, ..]: [u64; 6]) -> Result<u64, i64> {
    let flags: RenameFlags = decode_rename_flags(flags)?;
    let old = read_path(context, old)?;
    let new = read_path(context, new)?;
    let old_start = start_file(context, old_dirfd, &old)?;
    let new_start = start_file(context, new_dirfd, &new)?;
    rootfs::with_origin(context.process, |tree, origin| {
        let from = tree.resolve_parent(origin_from(tree, origin, &old_start)?, &old)?;
        let to = tree.resolve_parent(origin_from(tree, origin, &new_start)?, &new)?;
        tree.rename(from, to, flags, rootfs::now())
    })?;
    drop((old_start, new_start));
    Ok(0)
}

/// link: linkat relative to the cwd, without flags.
pub fn link(context: &mut Context) -> Result<u64, i64> {
    let [old, new, ..] = context.arguments();
    linkat_of(context, [CWD, old, CWD, new, 0, 0])
}

/// linkat: another name for the file `old` names (its final symlink itself,
/// unless AT_SYMLINK_FOLLOW; with AT_EMPTY_PATH and an empty `old`, the file open
/// as `old_dirfd`). EPERM for a directory.
pub fn linkat(context: &mut Context) -> Result<u64, i64> {
    let arguments = context.arguments();
    linkat_of(context, arguments)
}

/// `linkat` of `arguments`: also the older calls it extends, with theirs.
fn linkat_of(context: &mut Context, [old_dirfd, old, new_dirfd, new, flags, ..]: [u64; 6]) -> Result<u64, i64> {
    let flags = decode_linkat_flags(flags)?;
    let old = read_path(context, old)?;
    let new = read_path(context, new)?;
    if old.is_empty() && !flags.empty_path {
        return Err(ENOENT);
    }
    let old_start = match (old.is_empty(), decode_dirfd(old_dirfd)?) {
        // Linking the cwd: a directory.
        (true, DirFd::Cwd) => return Err(EPERM),
        (true, DirFd::Fd(fd)) => Some(context.group.files.lock().get_path(u64::from(fd))?),
        (false, _) => start_file(context, old_dirfd, &old)?,
    };
    let new_start = start_file(context, new_dirfd, &new)?;
    rootfs::with_origin(context.process, |tree, origin| {
        let node = match &old_start {
            Some(file) if old.is_empty() => file.file.node().ok_or(ENOENT)?,
            _ => tree.resolve(origin_from(tree, origin, &old_start)?, &old, flags.follow)?,
        };
        let parent = new_name(tree, tree.resolve_parent(origin_from(tree, origin, &new_start)?, &new)?)?;
        tree.link(node, parent.directory, parent.name, rootfs::now())
    })?;
    drop((old_start, new_start));
    Ok(0)
}

/// symlink: symlinkat relative to the cwd.
pub fn symlink(context: &mut Context) -> Result<u64, i64> {
    let [target, path, ..] = context.arguments();
    symlinkat_of(context, [target, CWD, path, 0, 0, 0])
}

/// symlinkat: a link holding `target` (ENOENT if empty), mode 0777.
pub fn symlinkat(context: &mut Context) -> Result<u64, i64> {
    let arguments = context.arguments();
    symlinkat_of(context, arguments)
}

/// `symlinkat` of `arguments`: also the older calls it extends, with theirs.
fn symlinkat_of(context: &mut Context, [target, dirfd, path, ..]: [u64; 6]) -> Result<u64, i64> {
    let target = read_path(context, target)?;
    let path = read_path(context, path)?;
    if target.is_empty() {
        return Err(ENOENT);
    }
    at_path(context, dirfd, &path, |tree, origin| {
        let parent = new_name(tree, tree.resolve_parent(origin, &path)?)?;
        tree.create(parent.directory, parent.name, NodeKind::Symlink(target), S_IFLNK | 0o777, rootfs::now())
    })?;
    Ok(0)
}

/// Runs `change` on the node `target` is. Descriptors that are no node (pipes,
/// the console) keep no attributes here: the call succeeds, as on Linux, but
/// fstat will not show the change.
fn change(target: Target, change: impl FnOnce(&mut Tree, usize)) -> Result<u64, i64> {
    match target {
        Target::Node(tree, node) => {
            change(tree, node);
            Ok(0)
        }
        Target::Other(_) => Ok(0),
        // Linux's /proc refuses a change of mode, owner or times.
        Target::Proc(_) => Err(EPERM),
    }
}

/// chmod: fchmodat relative to the cwd.
pub fn chmod(context: &mut Context) -> Result<u64, i64> {
    let [path, mode, ..] = context.arguments();
    fchmodat_of(context, [CWD, path, mode, 0, 0, 0])
}

/// fchmod: on the file open as `fd` (not an O_PATH descriptor: EBADF).
pub fn fchmod(context: &mut Context) -> Result<u64, i64> {
    let [fd, mode, ..] = context.arguments();
    let file = context.group.files.lock().get(fd)?;
    on_file(&file, |target| change(target, |tree, node| tree.set_mode(node, mode as u32, rootfs::now())))
}

/// fchmodat: the permission, set-id and sticky bits become `mode`'s (symlinks
/// followed; the call has no flags).
pub fn fchmodat(context: &mut Context) -> Result<u64, i64> {
    let arguments = context.arguments();
    fchmodat_of(context, arguments)
}

/// `fchmodat` of `arguments`: also the older calls it extends, with theirs.
fn fchmodat_of(context: &mut Context, [dirfd, path, mode, ..]: [u64; 6]) -> Result<u64, i64> {
    let path = read_path(context, path)?;
    let flags = AtFlags { follow: true, empty_path: false };
    on_target(context, dirfd, &path, flags, |target| {
        change(target, |tree, node| tree.set_mode(node, mode as u32, rootfs::now()))
    })
}

/// An owner argument: -1 (as a 32-bit id) leaves it alone.
fn owner(id: u64) -> Option<u32> {
    Some(id as u32).filter(|&id| id != u32::MAX)
}

/// chown: fchownat relative to the cwd, following a final symlink.
pub fn chown(context: &mut Context) -> Result<u64, i64> {
    let [path, uid, gid, ..] = context.arguments();
    fchownat_of(context, [CWD, path, uid, gid, 0, 0])
}

/// lchown: fchownat relative to the cwd, on a final symlink itself.
pub fn lchown(context: &mut Context) -> Result<u64, i64> {
    let [path, uid, gid, ..] = context.arguments();
    fchownat_of(context, [CWD, path, uid, gid, u64::from(AT_SYMLINK_NOFOLLOW), 0])
}

/// fchown: on the file open as `fd`.
pub fn fchown(context: &mut Context) -> Result<u64, i64> {
    let [fd, uid, gid, ..] = context.arguments();
    let file = context.group.files.lock().get(fd)?;
    on_file(&file, |target| change(target, |tree, node| set_owner(tree, node, uid, gid)))
}

/// fchownat with AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH. Every process is root, so
/// any owner may be given; the ids are recorded, and stat reports them.
pub fn fchownat(context: &mut Context) -> Result<u64, i64> {
    let arguments = context.arguments();
    fchownat_of(context, arguments)
}

/// `fchownat` of `arguments`: also the older calls it extends, with theirs.
fn fchownat_of(context: &mut Context, [dirfd, path, uid, gid, flags, ..]: [u64; 6]) -> Result<u64, i64> {
    let flags = decode_change_flags(flags)?;
    let path = read_path(context, path)?;
    on_target(context, dirfd, &path, flags, |target| change(target, |tree, node| set_owner(tree, node, uid, gid)))
}

/// chown of one node: as on Linux, a regular file loses its set-user-ID bit, and
/// its set-group-ID bit if group-executable, when its owner changes.
fn set_owner(tree: &mut Tree, node: usize, uid: u64, gid: u64) {
    let now = rootfs::now();
    let (uid, gid) = (owner(uid), owner(gid));
    let mode = tree.node(node).mode;
    if mode & S_IFMT == S_IFREG && (uid.is_some() || gid.is_some()) {
        let group_executable = mode & 0o010 != 0;
        let cleared = 0o4000 | if group_executable { 0o2000 } else { 0 };
        tree.set_mode(node, mode & !cleared, now);
    }
    tree.set_owner(node, uid, gid, now);
}

/// The 32 bytes of two timespecs or timevals at `address` (None for a null
/// pointer).
fn read_times(context: &Context, address: u64) -> Result<Option<[u8; 32]>, i64> {
    if address == 0 {
        return Ok(None);
    }
    let mut raw = [0u8; 32];
    context.copy_in(address, &mut raw)?;
    Ok(Some(raw))
}

/// Sets the access and modification times of what `dirfd`/`path` name, unless
/// both are left alone (then not even the ctime changes, as on Linux).
fn set_times(
    context: &Context,
    dirfd: u64,
    path: &[u8],
    flags: AtFlags,
    (atime, mtime): (TimeChange, TimeChange),
) -> Result<u64, i64> {
    if atime.is_none() && mtime.is_none() {
        return on_target(context, dirfd, path, flags, |_| Ok(0));
    }
    on_target(context, dirfd, path, flags, |target| {
        change(target, |tree, node| tree.set_times(node, atime, mtime, rootfs::now()))
    })
}

/// utime: `struct utimbuf` (access then modification time, whole seconds), or
/// now for a null pointer.
pub fn utime(context: &mut Context) -> Result<u64, i64> {
    let [path, address, ..] = context.arguments();
    let path = read_path(context, path)?;
    let times = if address == 0 {
        let now = rootfs::now();
        (Some(now), Some(now))
    } else {
        let mut raw = [0u8; 16];
        context.copy_in(address, &mut raw)?;
        let second = |bytes: &[u8]| i64::from_le_bytes(bytes.try_into().expect("8 bytes"));
        let time = |sec| Some(kernel_core::abi::Timespec { sec, nsec: 0 });
        (time(second(&raw[..8])), time(second(&raw[8..])))
    };
    set_times(context, CWD, &path, AtFlags { follow: true, empty_path: false }, times)
}

/// utimes: futimesat relative to the cwd.
pub fn utimes(context: &mut Context) -> Result<u64, i64> {
    let [path, address, ..] = context.arguments();
    futimesat_of(context, [CWD, path, address, 0, 0, 0])
}

/// futimesat: two timevals (access, modification), or now for a null pointer.
pub fn futimesat(context: &mut Context) -> Result<u64, i64> {
    let arguments = context.arguments();
    futimesat_of(context, arguments)
}

/// `futimesat` of `arguments`: also the older calls it extends, with theirs.
fn futimesat_of(context: &mut Context, [dirfd, path, address, ..]: [u64; 6]) -> Result<u64, i64> {
    let times = decode_utimes(read_times(context, address)?, rootfs::now())?;
    let path = read_path(context, path)?;
    set_times(context, dirfd, &path, AtFlags { follow: true, empty_path: false }, times)
}

/// utimensat: two timespecs with UTIME_NOW and UTIME_OMIT, or now for a null
/// pointer; a null path means `dirfd` itself (futimens; EINVAL with
/// AT_SYMLINK_NOFOLLOW).
pub fn utimensat(context: &mut Context) -> Result<u64, i64> {
    let [dirfd, path, address, flags, ..] = context.arguments();
    let mut flags = decode_change_flags(flags)?;
    let times = decode_utimens(read_times(context, address)?, rootfs::now())?;
    let path = if path == 0 {
        if !flags.follow {
            return Err(EINVAL);
        }
        if dirfd as i32 == AT_FDCWD {
            // Linux looks the missing path up.
            return Err(EFAULT);
        }
        flags.empty_path = true;
        alloc::vec::Vec::new()
    } else {
        read_path(context, path)?
    };
    set_times(context, dirfd, &path, flags, times)
}

/// truncate: the regular file `path` names (symlinks followed) gets `length`
/// bytes. EISDIR for a directory, EINVAL for other non-files or a negative
/// length, EFBIG (with SIGXFSZ) past RLIMIT_FSIZE.
pub fn truncate(context: &mut Context) -> Result<u64, i64> {
    let [path, length, ..] = context.arguments();
    let path = read_path(context, path)?;
    let length = u64::try_from(length as i64).map_err(|_| EINVAL)?;
    check_size_limit(context, length)?;
    on_target(context, CWD, &path, AtFlags { follow: true, empty_path: false }, |target| match target {
        Target::Node(tree, node) => match tree.node(node).kind {
            NodeKind::File(_) => {
                // A writer for the time of the change: ETXTBSY while executed.
                tree.begin_write(node)?;
                let result = tree.truncate(node, length, rootfs::now()).map(|()| 0);
                tree.end_write(node);
                result
            }
            NodeKind::Directory(_) => Err(EISDIR),
            _ => Err(EINVAL),
        },
        Target::Other(_) => Err(EINVAL),
        Target::Proc(path) if path.is_directory() => Err(EISDIR),
        Target::Proc(_) => Err(EACCES),
    })
}

/// ftruncate: as truncate, on a regular file open for writing (else EINVAL).
pub fn ftruncate(context: &mut Context) -> Result<u64, i64> {
    let [fd, length, ..] = context.arguments();
    let file = context.group.files.lock().get(fd)?;
    let length = u64::try_from(length as i64).map_err(|_| EINVAL)?;
    if !file.writable() {
        return Err(EINVAL);
    }
    check_size_limit(context, length)?;
    file.file.truncate(length)?;
    Ok(0)
}

/// EFBIG, with SIGXFSZ, for a length past RLIMIT_FSIZE.
fn check_size_limit(context: &Context, length: u64) -> Result<(), i64> {
    if length > file_size_limit(context) {
        note_size_limit_exceeded(context);
        return Err(EFBIG);
    }
    Ok(())
}

/// fsync and fdatasync: the files are in memory, nothing to write back; EINVAL
/// for descriptors with nothing to sync (pipes, terminals, devices), as Linux.
pub fn fsync(context: &mut Context) -> Result<u64, i64> {
    let [fd, ..] = context.arguments();
    let file = context.group.files.lock().get(fd)?;
    on_file(&file, |target| match target {
        Target::Node(tree, node) if matches!(tree.node(node).kind, NodeKind::File(_) | NodeKind::Directory(_)) => Ok(0),
        _ => Err(EINVAL),
    })
}

/// sync: nothing to write back.
pub fn sync(_context: &mut Context) -> Result<u64, i64> {
    Ok(0)
}

/// syncfs: nothing to write back, for any open descriptor.
pub fn syncfs(context: &mut Context) -> Result<u64, i64> {
    let [fd, ..] = context.arguments();
    context.group.files.lock().get(fd)?;
    Ok(0)
}

/// fallocate: EOPNOTSUPP (as Linux's ramfs) for a descriptor open for writing,
/// EBADF otherwise.
pub fn fallocate(context: &mut Context) -> Result<u64, i64> {
    let [fd, ..] = context.arguments();
    let file = context.group.files.lock().get(fd)?;
    if !file.writable() {
        return Err(EBADF);
    }
    Err(EOPNOTSUPP)
}

/// What statfs reports: the pages files may take and those still free (the
/// smaller of what the limit and memory leave), one inode per node in use
/// and as many free as pages.
fn statfs_of(tree: &Tree) -> Statfs {
    let usage = tree.usage();
    let free_frames = crate::mm::frame::free_count();
    let blocks_free = (usage.page_limit - usage.pages_used.min(usage.page_limit)).min(free_frames) as u64;
    Statfs {
        kind: TMPFS_MAGIC,
        block_size: BLOCK_SIZE,
        blocks: usage.page_limit as u64,
        blocks_free,
        files: usage.nodes as u64 + blocks_free,
        files_free: blocks_free,
        name_max: NAME_MAX as u64,
    }
}

/// statfs: the file system `path` is on (there is one).
pub fn statfs(context: &mut Context) -> Result<u64, i64> {
    let [path, address, ..] = context.arguments();
    let path = read_path(context, path)?;
    let statfs = on_target(context, CWD, &path, AtFlags { follow: true, empty_path: false }, |target| match target {
        Target::Node(tree, node) if !tree.is_mount_point(node) => Ok(statfs_of(tree)),
        // /proc: no blocks, no inodes to count (so df leaves it out, as on Linux).
        Target::Node(..) | Target::Proc(_) => Ok(Statfs {
            kind: PROC_SUPER_MAGIC,
            block_size: BLOCK_SIZE,
            name_max: NAME_MAX as u64,
            ..Statfs::default()
        }),
        Target::Other(_) => Err(ENOENT),
    })?;
    context.copy_out(address, &statfs.to_bytes())?;
    Ok(0)
}

/// fstatfs: the file system of an open file (pipes and the console report the
/// root's too; Linux's pipefs and devpts differ only in f_type).
pub fn fstatfs(context: &mut Context) -> Result<u64, i64> {
    let [fd, address, ..] = context.arguments();
    context.group.files.lock().get_path(fd)?;
    let statfs = statfs_of(&rootfs::lock());
    context.copy_out(address, &statfs.to_bytes())?;
    Ok(0)
}
