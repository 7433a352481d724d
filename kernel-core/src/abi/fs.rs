//! `open` flags and the `*at` conventions (directory fd, `AT_*` flags), the open
//! file description's status flags (`fcntl`), `lseek` and `access` arguments.

use super::errno::{EBADF, EINVAL, ENXIO};

pub const O_RDONLY: u32 = 0o0;
pub const O_WRONLY: u32 = 0o1;
pub const O_RDWR: u32 = 0o2;
pub const O_ACCMODE: u32 = 0o3;
pub const O_CREAT: u32 = 0o100;
pub const O_EXCL: u32 = 0o200;
pub const O_NOCTTY: u32 = 0o400;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_DSYNC: u32 = 0o1_0000;
pub const O_ASYNC: u32 = 0o2_0000;
pub const O_DIRECT: u32 = 0o4_0000;
pub const O_LARGEFILE: u32 = 0o10_0000;
pub const O_DIRECTORY: u32 = 0o20_0000;
pub const O_NOFOLLOW: u32 = 0o40_0000;
pub const O_NOATIME: u32 = 0o100_0000;
pub const O_CLOEXEC: u32 = 0o200_0000;
pub const O_SYNC: u32 = 0o400_0000 | O_DSYNC;
pub const O_PATH: u32 = 0o1000_0000;
pub const O_TMPFILE: u32 = 0o2000_0000 | O_DIRECTORY;

/// Every flag `open` knows (Linux's `VALID_OPEN_FLAGS`); other bits are ignored.
const VALID_OPEN_FLAGS: u32 = O_ACCMODE
    | O_CREAT
    | O_EXCL
    | O_NOCTTY
    | O_TRUNC
    | O_APPEND
    | O_NONBLOCK
    | O_SYNC
    | O_DSYNC
    | O_ASYNC
    | O_DIRECT
    | O_LARGEFILE
    | O_DIRECTORY
    | O_NOFOLLOW
    | O_NOATIME
    | O_CLOEXEC
    | O_PATH
    | O_TMPFILE;
/// Flags that act only while opening and are not kept in the open file description.
const OPEN_TIME_FLAGS: u32 = O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC;
/// The status flags `F_SETFL` may change. (Linux's list also has O_ASYNC, O_DIRECT
/// and O_NOATIME; timeshare has no signal-driven I/O, no caches to bypass and no
/// access times, so it ignores them like unknown bits.)
pub const SETFL_FLAGS: u32 = O_APPEND | O_NONBLOCK;

/// The directory fd meaning "relative to the current directory" (a C `int`).
pub const AT_FDCWD: i32 = -100;
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
pub const AT_REMOVEDIR: u32 = 0x200;
pub const AT_EACCESS: u32 = 0x200;
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
pub const AT_NO_AUTOMOUNT: u32 = 0x800;
pub const AT_EMPTY_PATH: u32 = 0x1000;

/// A decoded `open`/`openat` flags argument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenRequest {
    /// The fd may be read (`O_RDONLY`, `O_RDWR`).
    pub read: bool,
    /// The fd may be written (`O_WRONLY`, `O_RDWR`).
    pub write: bool,
    pub create: bool,
    /// Fail with `EEXIST` if the file exists; only set together with `create`.
    pub exclusive: bool,
    pub truncate: bool,
    pub append: bool,
    pub nonblocking: bool,
    /// Fail with `ENOTDIR` unless the path names a directory.
    pub directory: bool,
    /// Fail with `ELOOP` if the last path component is a symlink.
    pub no_follow: bool,
    pub close_on_exec: bool,
    /// `O_PATH`: an fd that only names the file; no reading or writing.
    pub path_only: bool,
    /// `O_TMPFILE`: an unnamed file in the given directory; a file system without
    /// support answers `EOPNOTSUPP`.
    pub tmpfile: bool,
    /// The open checks write permission (Linux's `MAY_WRITE` in `acc_mode`): a
    /// write access mode, access mode 3, or `O_TRUNC`.
    pub needs_write: bool,
    /// The status flags the open file description starts with, as `F_GETFL`
    /// reports them: the flags minus those that act only at open time, plus
    /// `O_LARGEFILE` (implied on 64-bit); for `O_PATH`, only `O_PATH`,
    /// `O_DIRECTORY` and `O_NOFOLLOW`.
    pub status: u32,
}

/// Decodes the flags of `open`/`openat` (a C `int`) as Linux's
/// `build_open_flags` does: unknown bits are ignored, access mode 3 grants
/// neither read nor write, `O_EXCL` without `O_CREAT` means nothing, and `O_PATH`
/// keeps only `O_DIRECTORY`, `O_NOFOLLOW` and `O_CLOEXEC`. Synchronous-I/O and
/// caching hints have no effect here.
pub fn decode_open(flags: u64) -> OpenRequest {
    let flags = super::uint_arg(flags);
    let has = |flag: u32| flags & flag == flag;
    if has(O_PATH) {
        return OpenRequest {
            directory: has(O_DIRECTORY),
            no_follow: has(O_NOFOLLOW),
            close_on_exec: has(O_CLOEXEC),
            path_only: true,
            status: flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW),
            ..OpenRequest::default()
        };
    }
    let access = flags & O_ACCMODE;
    let tmpfile = has(O_TMPFILE);
    let truncate = has(O_TRUNC);
    OpenRequest {
        read: access == O_RDONLY || access == O_RDWR,
        write: access == O_WRONLY || access == O_RDWR,
        create: has(O_CREAT),
        exclusive: has(O_CREAT | O_EXCL),
        truncate,
        append: has(O_APPEND),
        nonblocking: has(O_NONBLOCK),
        directory: has(O_DIRECTORY) && !tmpfile,
        no_follow: has(O_NOFOLLOW),
        close_on_exec: has(O_CLOEXEC),
        path_only: false,
        tmpfile,
        needs_write: access != O_RDONLY || truncate,
        status: (flags & VALID_OPEN_FLAGS & !OPEN_TIME_FLAGS) | O_LARGEFILE,
    }
}

/// The status flags after `F_SETFL` with argument `requested`: the changeable
/// ones (`SETFL_FLAGS`) taken from `requested`, the rest kept from `current`.
pub fn set_status_flags(current: u32, requested: u64) -> u32 {
    (current & !SETFL_FLAGS) | (super::uint_arg(requested) & SETFL_FLAGS)
}

// `fcntl` commands and the descriptor flag.
pub const F_DUPFD: u32 = 0;
pub const F_GETFD: u32 = 1;
pub const F_SETFD: u32 = 2;
pub const F_GETFL: u32 = 3;
pub const F_SETFL: u32 = 4;
pub const F_DUPFD_CLOEXEC: u32 = 1030;
pub const FD_CLOEXEC: u64 = 1;

/// A decoded `fcntl` command (a C `int`), for the commands timeshare serves;
/// others are `EINVAL`, as Linux answers commands it does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FcntlCommand {
    /// F_DUPFD / F_DUPFD_CLOEXEC: a new descriptor at or above the argument.
    Duplicate {
        close_on_exec: bool,
    },
    GetDescriptorFlags,
    SetDescriptorFlags,
    GetStatusFlags,
    SetStatusFlags,
}

impl FcntlCommand {
    /// Whether the command works on an `O_PATH` descriptor (Linux's
    /// `check_fcntl_cmd`); the others fail with `EBADF` there.
    pub fn allowed_on_path(self) -> bool {
        !matches!(self, FcntlCommand::SetStatusFlags)
    }
}

/// Decodes `fcntl`'s command argument.
pub fn decode_fcntl(raw: u64) -> Result<FcntlCommand, i64> {
    match super::uint_arg(raw) {
        F_DUPFD => Ok(FcntlCommand::Duplicate { close_on_exec: false }),
        F_DUPFD_CLOEXEC => Ok(FcntlCommand::Duplicate { close_on_exec: true }),
        F_GETFD => Ok(FcntlCommand::GetDescriptorFlags),
        F_SETFD => Ok(FcntlCommand::SetDescriptorFlags),
        F_GETFL => Ok(FcntlCommand::GetStatusFlags),
        F_SETFL => Ok(FcntlCommand::SetStatusFlags),
        _ => Err(EINVAL),
    }
}

// `lseek` origins.
pub const SEEK_SET: u32 = 0;
pub const SEEK_CUR: u32 = 1;
pub const SEEK_END: u32 = 2;
pub const SEEK_DATA: u32 = 3;
pub const SEEK_HOLE: u32 = 4;

/// Where an `lseek` offset counts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whence {
    Set,
    Current,
    End,
    /// The next data at or after the offset (a file without holes: the offset).
    Data,
    /// The next hole at or after the offset (a file without holes: its end).
    Hole,
}

/// Decodes `lseek`'s `whence` (a C `unsigned int`); anything else is `EINVAL`.
pub fn decode_whence(raw: u64) -> Result<Whence, i64> {
    match super::uint_arg(raw) {
        SEEK_SET => Ok(Whence::Set),
        SEEK_CUR => Ok(Whence::Current),
        SEEK_END => Ok(Whence::End),
        SEEK_DATA => Ok(Whence::Data),
        SEEK_HOLE => Ok(Whence::Hole),
        _ => Err(EINVAL),
    }
}

/// The position `lseek` moves a regular file of `size` bytes to, from position
/// `current`, as Linux's `generic_file_llseek` computes it: a result below 0 (or
/// past `i64::MAX`) is `EINVAL`; `SEEK_DATA`/`SEEK_HOLE` at or past the end are
/// `ENXIO`. Positions past the end are allowed.
pub fn seek_file(whence: Whence, offset: i64, current: u64, size: u64) -> Result<u64, i64> {
    let base = match whence {
        Whence::Set => 0,
        Whence::Current => current,
        Whence::End => size,
        Whence::Data | Whence::Hole => {
            let offset = u64::try_from(offset).map_err(|_| ENXIO)?;
            if offset >= size {
                return Err(ENXIO);
            }
            return Ok(if whence == Whence::Data { offset } else { size });
        }
    };
    let target = i64::try_from(base).ok().and_then(|base| base.checked_add(offset)).ok_or(EINVAL)?;
    u64::try_from(target).map_err(|_| EINVAL)
}

/// The position `lseek` moves a directory to (Linux's `dcache_dir_lseek`, the
/// in-memory file systems' rule): from the start or the current position only;
/// `SEEK_END` and the others are `EINVAL`, as is a negative result. The position
/// counts entries, so one past the end just reads nothing more.
pub fn seek_directory(whence: Whence, offset: i64, current: u64) -> Result<u64, i64> {
    match whence {
        Whence::Set | Whence::Current => seek_file(whence, offset, current, 0),
        Whence::End | Whence::Data | Whence::Hole => Err(EINVAL),
    }
}

// `access` modes.
pub const F_OK: u32 = 0;
pub const X_OK: u32 = 1;
pub const W_OK: u32 = 2;
pub const R_OK: u32 = 4;

/// A decoded `access`/`faccessat` mode (a C `int`): which permissions to check.
/// Bits other than `R_OK | W_OK | X_OK` are `EINVAL`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccessRequest {
    pub read: bool,
    pub write: bool,
    pub execute: bool,
}

/// Decodes the mode of `access`/`faccessat`/`faccessat2`.
pub fn decode_access(raw: u64) -> Result<AccessRequest, i64> {
    let mode = super::uint_arg(raw);
    if mode & !(R_OK | W_OK | X_OK) != 0 {
        return Err(EINVAL);
    }
    Ok(AccessRequest { read: mode & R_OK != 0, write: mode & W_OK != 0, execute: mode & X_OK != 0 })
}

/// The directory a `*at` path is relative to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirFd {
    /// `AT_FDCWD`: the current directory.
    Cwd,
    /// An open directory fd (not yet checked to exist).
    Fd(u32),
}

/// Decodes the `dirfd` argument (a C `int`) of a `*at` call: `AT_FDCWD`, a
/// non-negative fd, or `EBADF` for any other negative value.
pub fn decode_dirfd(raw: u64) -> Result<DirFd, i64> {
    match super::int_arg(raw) {
        AT_FDCWD => Ok(DirFd::Cwd),
        fd => u32::try_from(fd).map(DirFd::Fd).map_err(|_| EBADF),
    }
}

/// What the `AT_*` flags of a path call ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AtFlags {
    /// Follow a final symlink (no `AT_SYMLINK_NOFOLLOW`).
    pub follow: bool,
    /// An empty path names the directory fd itself (`AT_EMPTY_PATH`).
    pub empty_path: bool,
}

/// Decodes `AT_*` flags, of which only those in `valid` are allowed (else `EINVAL`,
/// as Linux checks before looking at the path).
fn decode_at_flags(raw: u64, valid: u32) -> Result<AtFlags, i64> {
    let flags = super::uint_arg(raw);
    if flags & !valid != 0 {
        return Err(EINVAL);
    }
    Ok(AtFlags { follow: flags & AT_SYMLINK_NOFOLLOW == 0, empty_path: flags & AT_EMPTY_PATH != 0 })
}

/// Decodes the flags of `faccessat2`: `AT_EACCESS`, `AT_SYMLINK_NOFOLLOW` and
/// `AT_EMPTY_PATH`. (`AT_EACCESS` changes nothing when real and effective ids are
/// equal, as they always are on timeshare.)
pub fn decode_faccessat2_flags(raw: u64) -> Result<AtFlags, i64> {
    decode_at_flags(raw, AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)
}

/// Decodes the flags of `newfstatat`: `AT_SYMLINK_NOFOLLOW`, `AT_EMPTY_PATH` and
/// `AT_NO_AUTOMOUNT` (meaningless without automounts).
pub fn decode_stat_flags(raw: u64) -> Result<AtFlags, i64> {
    decode_at_flags(raw, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT)
}

/// Decodes the flags of `fchownat` and `utimensat`: `AT_SYMLINK_NOFOLLOW` and
/// `AT_EMPTY_PATH`.
pub fn decode_change_flags(raw: u64) -> Result<AtFlags, i64> {
    decode_at_flags(raw, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)
}

/// Decodes the flags of `linkat`: the old path's final symlink is followed only
/// with `AT_SYMLINK_FOLLOW`; `AT_EMPTY_PATH` links the file open as `olddirfd`.
pub fn decode_linkat_flags(raw: u64) -> Result<AtFlags, i64> {
    let flags = super::uint_arg(raw);
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(EINVAL);
    }
    Ok(AtFlags { follow: flags & AT_SYMLINK_FOLLOW != 0, empty_path: flags & AT_EMPTY_PATH != 0 })
}

/// What `unlinkat` removes: a directory with `AT_REMOVEDIR` (rmdir), else a
/// name of a non-directory (unlink); other bits are EINVAL.
pub fn decode_unlinkat_flags(raw: u64) -> Result<bool, i64> {
    match super::uint_arg(raw) {
        0 => Ok(false),
        AT_REMOVEDIR => Ok(true),
        _ => Err(EINVAL),
    }
}

pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;
pub const RENAME_WHITEOUT: u32 = 4;

/// Decodes the flags of `renameat2`: RENAME_NOREPLACE or RENAME_EXCHANGE (not
/// both); RENAME_WHITEOUT (overlay file systems' business) and unknown bits are
/// EINVAL.
pub fn decode_rename_flags(raw: u64) -> Result<crate::tree::RenameFlags, i64> {
    let flags = super::uint_arg(raw);
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0 || flags == RENAME_NOREPLACE | RENAME_EXCHANGE {
        return Err(EINVAL);
    }
    Ok(crate::tree::RenameFlags { no_replace: flags & RENAME_NOREPLACE != 0, exchange: flags & RENAME_EXCHANGE != 0 })
}

/// `utimensat`'s `tv_nsec` meaning "the current time".
pub const UTIME_NOW: i64 = (1 << 30) - 1;
/// `utimensat`'s `tv_nsec` meaning "leave this time alone".
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

/// One of the times `utimensat` sets: None leaves it alone.
pub type TimeChange = Option<super::Timespec>;

/// Decodes `utimensat`'s two timespecs (`raw` None: a null pointer, both now):
/// UTIME_NOW is `now`, UTIME_OMIT leaves the time alone; any other nanoseconds
/// outside 0..1e9 (or a negative second) are EINVAL.
pub fn decode_utimens(raw: Option<[u8; 32]>, now: super::Timespec) -> Result<(TimeChange, TimeChange), i64> {
    let Some(raw) = raw else { return Ok((Some(now), Some(now))) };
    let decode = |bytes: &[u8]| -> Result<TimeChange, i64> {
        let bytes: [u8; 16] = bytes.try_into().expect("16 bytes");
        let nsec = i64::from_le_bytes(bytes[8..].try_into().expect("8 bytes"));
        match nsec {
            UTIME_NOW => Ok(Some(now)),
            UTIME_OMIT => Ok(None),
            _ => super::Timespec::from_bytes(bytes).map(Some),
        }
    };
    Ok((decode(&raw[..16])?, decode(&raw[16..])?))
}

/// Decodes `utimes`/`futimesat`'s two timevals (None: a null pointer, both
/// now): microseconds outside 0..1e6 or a negative second are EINVAL.
pub fn decode_utimes(raw: Option<[u8; 32]>, now: super::Timespec) -> Result<(TimeChange, TimeChange), i64> {
    let Some(raw) = raw else { return Ok((Some(now), Some(now))) };
    let decode = |bytes: &[u8]| -> Result<TimeChange, i64> {
        let sec = i64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        let usec = i64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
        if sec < 0 || !(0..1_000_000).contains(&usec) {
            return Err(EINVAL);
        }
        Ok(Some(super::Timespec { sec, nsec: usec * 1000 }))
    };
    Ok((decode(&raw[..16])?, decode(&raw[16..])?))
}

/// `struct statfs` of x86_64 (120 bytes), for a RAM file system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Statfs {
    pub kind: u64,
    pub block_size: u64,
    pub blocks: u64,
    pub blocks_free: u64,
    pub files: u64,
    pub files_free: u64,
    pub name_max: u64,
}

/// `f_type` of tmpfs, which the root file system is like (RAM, with a size limit).
pub const TMPFS_MAGIC: u64 = 0x0102_1994;
/// `f_type` of procfs.
pub const PROC_SUPER_MAGIC: u64 = 0x9fa0;

impl Statfs {
    pub const SIZE: usize = 120;

    /// The bytes the kernel copies to user memory: f_type, f_bsize, f_blocks,
    /// f_bfree, f_bavail (= f_bfree: nothing is reserved), f_files, f_ffree,
    /// f_fsid (0), f_namelen, f_frsize (= f_bsize), f_flags (0), f_spare.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut bytes = [0u8; Self::SIZE];
        let fields = [
            self.kind,
            self.block_size,
            self.blocks,
            self.blocks_free,
            self.blocks_free,
            self.files,
            self.files_free,
            0,
            self.name_max,
            self.block_size,
        ];
        for (slot, value) in bytes.chunks_exact_mut(8).zip(fields) {
            slot.copy_from_slice(&value.to_le_bytes());
        }
        bytes
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn open(flags: u32) -> OpenRequest {
        decode_open(u64::from(flags))
    }

    #[test]
    fn access_modes() {
        let mode = |flags| (open(flags).read, open(flags).write);
        assert_eq!(mode(O_RDONLY), (true, false));
        assert_eq!(mode(O_WRONLY), (false, true));
        assert_eq!(mode(O_RDWR), (true, true));
        assert_eq!(mode(O_ACCMODE), (false, false));
    }

    #[test]
    fn a_typical_creat_call() {
        assert_eq!(
            open(O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC),
            OpenRequest {
                write: true,
                create: true,
                truncate: true,
                close_on_exec: true,
                needs_write: true,
                status: O_WRONLY | O_LARGEFILE,
                ..OpenRequest::default()
            }
        );
    }

    #[test]
    fn every_flag_decodes() {
        let request = open(O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_NONBLOCK | O_DIRECTORY | O_NOFOLLOW);
        assert!(request.read && request.write && request.create && request.exclusive);
        assert!(request.append && request.nonblocking && request.directory && request.no_follow);
        assert!(!request.path_only && !request.tmpfile && !request.truncate);
    }

    #[test]
    fn exclusive_needs_create() {
        assert!(!open(O_EXCL).exclusive);
        assert!(open(O_EXCL | O_CREAT).exclusive);
    }

    #[test]
    fn o_path_keeps_only_three_flags() {
        let request = open(O_PATH | O_RDWR | O_CREAT | O_TRUNC | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        assert_eq!(
            request,
            OpenRequest {
                directory: true,
                no_follow: true,
                close_on_exec: true,
                path_only: true,
                status: O_PATH | O_DIRECTORY | O_NOFOLLOW,
                ..OpenRequest::default()
            }
        );
    }

    #[test]
    fn tmpfile_is_not_a_directory_open() {
        let request = open(O_TMPFILE | O_RDWR);
        assert!(request.tmpfile && !request.directory);
        assert!(!open(O_DIRECTORY).tmpfile);
    }

    #[test]
    fn unknown_and_upper_bits_are_ignored() {
        assert_eq!(decode_open(0xffff_ffff_0000_0000), open(O_RDONLY));
        // Hints without effect here: only F_GETFL sees them.
        let hints = O_LARGEFILE | O_NOATIME | O_SYNC | O_DIRECT | O_ASYNC;
        assert_eq!(open(hints | O_NOCTTY), OpenRequest { status: hints, ..open(0) });
    }

    #[test]
    fn dirfd_decoding() {
        assert_eq!(decode_dirfd(AT_FDCWD as u64), Ok(DirFd::Cwd));
        assert_eq!(decode_dirfd(0xffff_ff9c), Ok(DirFd::Cwd), "int -100 zero-extended");
        assert_eq!(decode_dirfd(3), Ok(DirFd::Fd(3)));
        assert_eq!(decode_dirfd(0x7fff_ffff), Ok(DirFd::Fd(0x7fff_ffff)));
        assert_eq!(decode_dirfd(u64::MAX), Err(EBADF));
        assert_eq!(decode_dirfd(0x8000_0000), Err(EBADF));
    }

    #[test]
    fn status_flags_as_f_getfl_reports_them() {
        // Values seen with F_GETFL on Linux 6.18 after these opens.
        assert_eq!(open(O_RDONLY).status, 0x8000);
        assert_eq!(open(O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW).status, 0x38800);
        assert_eq!(open(O_WRONLY | O_APPEND | O_TRUNC | O_CREAT | O_EXCL | O_NOCTTY).status, 0x8401);
        assert_eq!(open(O_ACCMODE).status, 0x8003);
        assert_eq!(open(O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_RDWR).status, 0x230000);
        assert_eq!(open(O_PATH).status, O_PATH);
        assert_eq!(decode_open(0xffff_ffff_8000_0000).status, O_LARGEFILE);
    }

    #[test]
    fn write_permission_is_needed_for_writes_and_truncation() {
        assert!(!open(O_RDONLY).needs_write);
        assert!(!open(O_RDONLY | O_APPEND | O_CREAT).needs_write);
        for flags in [O_WRONLY, O_RDWR, O_ACCMODE, O_RDONLY | O_TRUNC] {
            assert!(open(flags).needs_write, "{flags:#o}");
        }
        assert!(!open(O_PATH | O_RDWR | O_TRUNC).needs_write);
    }

    #[test]
    fn setfl_changes_only_append_and_nonblock() {
        let current = O_LARGEFILE | O_RDWR | O_APPEND;
        assert_eq!(set_status_flags(current, 0), O_LARGEFILE | O_RDWR);
        assert_eq!(
            set_status_flags(current, u64::from(O_NONBLOCK | O_WRONLY | O_DIRECTORY | O_ASYNC)),
            O_LARGEFILE | O_RDWR | O_NONBLOCK
        );
        assert_eq!(set_status_flags(O_PATH, u64::MAX), O_PATH | O_APPEND | O_NONBLOCK);
    }

    #[test]
    fn fcntl_commands() {
        assert_eq!(decode_fcntl(0), Ok(FcntlCommand::Duplicate { close_on_exec: false }));
        assert_eq!(decode_fcntl(1030), Ok(FcntlCommand::Duplicate { close_on_exec: true }));
        assert_eq!(decode_fcntl(1), Ok(FcntlCommand::GetDescriptorFlags));
        assert_eq!(decode_fcntl(2), Ok(FcntlCommand::SetDescriptorFlags));
        assert_eq!(decode_fcntl(3), Ok(FcntlCommand::GetStatusFlags));
        assert_eq!(decode_fcntl(0x1_0000_0004), Ok(FcntlCommand::SetStatusFlags));
        for bad in [5, 6, 7, 999, 1031, u64::MAX] {
            assert_eq!(decode_fcntl(bad), Err(EINVAL), "{bad}");
        }
        assert!(!FcntlCommand::SetStatusFlags.allowed_on_path());
        assert!(FcntlCommand::GetStatusFlags.allowed_on_path());
    }

    #[test]
    fn lseek_on_a_file() {
        assert_eq!(decode_whence(7), Err(EINVAL));
        assert_eq!(decode_whence(0x1_0000_0002), Ok(Whence::End));
        assert_eq!(seek_file(Whence::Set, 5, 3, 10), Ok(5));
        assert_eq!(seek_file(Whence::Current, -3, 3, 10), Ok(0));
        assert_eq!(seek_file(Whence::Current, -4, 3, 10), Err(EINVAL));
        assert_eq!(seek_file(Whence::End, -1, 3, 10), Ok(9));
        assert_eq!(seek_file(Whence::End, 100, 3, 10), Ok(110));
        assert_eq!(seek_file(Whence::Set, -1, 3, 10), Err(EINVAL));
        assert_eq!(seek_file(Whence::Set, i64::MAX, 3, 10), Ok(i64::MAX as u64));
        assert_eq!(seek_file(Whence::End, i64::MAX, 0, 10), Err(EINVAL));
        assert_eq!(seek_file(Whence::Current, i64::MIN, u64::MAX, 10), Err(EINVAL));
        // Values seen on Linux with a 1221-byte file.
        assert_eq!(seek_file(Whence::Data, 3, 0, 1221), Ok(3));
        assert_eq!(seek_file(Whence::Hole, 3, 0, 1221), Ok(1221));
        assert_eq!(seek_file(Whence::Data, 300_000, 0, 1221), Err(ENXIO));
        assert_eq!(seek_file(Whence::Hole, -1, 0, 1221), Err(ENXIO));
    }

    #[test]
    fn lseek_on_a_directory() {
        assert_eq!(seek_directory(Whence::Set, 5, 2), Ok(5));
        assert_eq!(seek_directory(Whence::Current, 1, 2), Ok(3));
        assert_eq!(seek_directory(Whence::Current, -3, 2), Err(EINVAL));
        for whence in [Whence::End, Whence::Data, Whence::Hole] {
            assert_eq!(seek_directory(whence, 0, 2), Err(EINVAL));
        }
    }

    #[test]
    fn access_modes_and_flags() {
        assert_eq!(decode_access(0), Ok(AccessRequest::default()));
        assert_eq!(decode_access(7), Ok(AccessRequest { read: true, write: true, execute: true }));
        assert_eq!(decode_access(0x1_0000_0002).map(|mode| mode.write), Ok(true));
        assert_eq!(decode_access(8), Err(EINVAL));
        let follow = AtFlags { follow: true, empty_path: false };
        assert_eq!(decode_faccessat2_flags(u64::from(AT_EACCESS)), Ok(follow));
        assert_eq!(
            decode_faccessat2_flags(u64::from(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)),
            Ok(AtFlags { follow: false, empty_path: true })
        );
        assert_eq!(decode_faccessat2_flags(0x4), Err(EINVAL));
        assert_eq!(decode_stat_flags(u64::from(AT_NO_AUTOMOUNT)), Ok(follow));
        assert_eq!(decode_stat_flags(u64::from(AT_EACCESS)), Err(EINVAL));
    }

    #[test]
    fn at_flag_values_match_linux() {
        assert_eq!((AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, AT_REMOVEDIR), (0x100, 0x1000, 0x200));
        assert_eq!((O_CREAT, O_DIRECTORY, O_CLOEXEC, O_PATH), (0x40, 0x1_0000, 0x8_0000, 0x20_0000));
    }

    #[test]
    fn change_link_unlink_and_rename_flags() {
        assert_eq!(
            decode_change_flags(u64::from(AT_SYMLINK_NOFOLLOW)),
            Ok(AtFlags { follow: false, empty_path: false })
        );
        assert_eq!(decode_change_flags(u64::from(AT_REMOVEDIR)), Err(EINVAL));
        assert_eq!(decode_linkat_flags(0), Ok(AtFlags { follow: false, empty_path: false }), "links are not followed");
        assert_eq!(decode_linkat_flags(u64::from(AT_SYMLINK_FOLLOW)).map(|flags| flags.follow), Ok(true));
        assert_eq!(decode_linkat_flags(u64::from(AT_SYMLINK_NOFOLLOW)), Err(EINVAL));
        assert_eq!(decode_unlinkat_flags(0), Ok(false));
        assert_eq!(decode_unlinkat_flags(u64::from(AT_REMOVEDIR)), Ok(true));
        assert_eq!(decode_unlinkat_flags(1), Err(EINVAL));
        assert_eq!(decode_rename_flags(0).map(|flags| (flags.no_replace, flags.exchange)), Ok((false, false)));
        assert_eq!(decode_rename_flags(1).map(|flags| flags.no_replace), Ok(true));
        assert_eq!(decode_rename_flags(2).map(|flags| flags.exchange), Ok(true));
        assert_eq!(decode_rename_flags(3), Err(EINVAL));
        assert_eq!(decode_rename_flags(4), Err(EINVAL));
    }

    #[test]
    fn utime_arguments() {
        use super::super::Timespec;
        let now = Timespec { sec: 50, nsec: 7 };
        let pair = |first: (i64, i64), second: (i64, i64)| {
            let mut raw = [0u8; 32];
            for (index, (sec, sub)) in [first, second].into_iter().enumerate() {
                raw[index * 16..index * 16 + 8].copy_from_slice(&sec.to_le_bytes());
                raw[index * 16 + 8..index * 16 + 16].copy_from_slice(&sub.to_le_bytes());
            }
            Some(raw)
        };
        assert_eq!(decode_utimens(None, now), Ok((Some(now), Some(now))));
        assert_eq!(
            decode_utimens(pair((1, UTIME_NOW), (2, UTIME_OMIT)), now),
            Ok((Some(now), None)),
            "the seconds do not matter with UTIME_NOW or UTIME_OMIT"
        );
        assert_eq!(
            decode_utimens(pair((1, 5), (2, 6)), now),
            Ok((Some(Timespec { sec: 1, nsec: 5 }), Some(Timespec { sec: 2, nsec: 6 })))
        );
        assert_eq!(decode_utimens(pair((1, 1_000_000_000), (2, 6)), now), Err(EINVAL));
        assert_eq!(
            decode_utimes(pair((3, 4), (5, 999_999)), now),
            Ok((Some(Timespec { sec: 3, nsec: 4000 }), Some(Timespec { sec: 5, nsec: 999_999_000 })))
        );
        assert_eq!(decode_utimes(pair((3, 1_000_000), (5, 0)), now), Err(EINVAL));
        assert_eq!(decode_utimes(pair((-1, 0), (5, 0)), now), Err(EINVAL));
        assert_eq!(decode_utimes(None, now), Ok((Some(now), Some(now))));
    }

    #[test]
    fn statfs_layout() {
        let statfs = Statfs {
            kind: TMPFS_MAGIC,
            block_size: 4096,
            blocks: 100,
            blocks_free: 40,
            files: 9,
            files_free: 3,
            name_max: 255,
        };
        let bytes = statfs.to_bytes();
        let field = |index: usize| u64::from_le_bytes(bytes[index * 8..index * 8 + 8].try_into().unwrap());
        assert_eq!(
            (0..10).map(field).collect::<alloc::vec::Vec<_>>(),
            [TMPFS_MAGIC, 4096, 100, 40, 40, 9, 3, 0, 255, 4096]
        );
        assert!(bytes[80..].iter().all(|&byte| byte == 0));
    }
}
