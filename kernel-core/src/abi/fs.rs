//! `open` flags and the `*at` conventions (directory fd, `AT_*` flags).

use super::errno::EBADF;

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
            ..OpenRequest::default()
        };
    }
    let access = flags & O_ACCMODE;
    let tmpfile = has(O_TMPFILE);
    OpenRequest {
        read: access == O_RDONLY || access == O_RDWR,
        write: access == O_WRONLY || access == O_RDWR,
        create: has(O_CREAT),
        exclusive: has(O_CREAT | O_EXCL),
        truncate: has(O_TRUNC),
        append: has(O_APPEND),
        nonblocking: has(O_NONBLOCK),
        directory: has(O_DIRECTORY) && !tmpfile,
        no_follow: has(O_NOFOLLOW),
        close_on_exec: has(O_CLOEXEC),
        path_only: false,
        tmpfile,
    }
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
                ..OpenRequest::default()
            }
        );
    }

    #[test]
    fn every_flag_decodes() {
        let request =
            open(O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_NONBLOCK | O_DIRECTORY | O_NOFOLLOW);
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
        let request =
            open(O_PATH | O_RDWR | O_CREAT | O_TRUNC | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        assert_eq!(
            request,
            OpenRequest {
                directory: true,
                no_follow: true,
                close_on_exec: true,
                path_only: true,
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
        assert_eq!(
            open(O_LARGEFILE | O_NOATIME | O_SYNC | O_DIRECT | O_NOCTTY | O_ASYNC),
            open(0)
        );
    }

    #[test]
    fn dirfd_decoding() {
        assert_eq!(decode_dirfd(AT_FDCWD as u64), Ok(DirFd::Cwd));
        assert_eq!(
            decode_dirfd(0xffff_ff9c),
            Ok(DirFd::Cwd),
            "int -100 zero-extended"
        );
        assert_eq!(decode_dirfd(3), Ok(DirFd::Fd(3)));
        assert_eq!(decode_dirfd(0x7fff_ffff), Ok(DirFd::Fd(0x7fff_ffff)));
        assert_eq!(decode_dirfd(u64::MAX), Err(EBADF));
        assert_eq!(decode_dirfd(0x8000_0000), Err(EBADF));
    }

    #[test]
    fn at_flag_values_match_linux() {
        assert_eq!(
            (AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, AT_REMOVEDIR),
            (0x100, 0x1000, 0x200)
        );
        assert_eq!(
            (O_CREAT, O_DIRECTORY, O_CLOEXEC, O_PATH),
            (0x40, 0x1_0000, 0x8_0000, 0x20_0000)
        );
    }
}
