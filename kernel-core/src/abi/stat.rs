//! What `stat` and `getdents64` copy out: `struct stat` (x86_64) and
//! `struct linux_dirent64`, and the device numbers in them.

use super::time::Timespec;
use crate::cpio::{S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK};

/// A device number as Linux encodes `dev_t` for user space (`new_encode_dev`): the
/// minor's low 8 bits, the major's 12, then the rest of each.
pub const fn makedev(major: u32, minor: u32) -> u64 {
    let (major, minor) = (major as u64, minor as u64);
    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12) | ((major & !0xfff) << 32)
}

/// `struct stat` of x86_64: 144 bytes. Field order and offsets as this host's
/// `<sys/stat.h>` (glibc and musl alike) lays them out: dev 0, ino 8, nlink 16,
/// mode 24, uid 28, gid 32, rdev 40, size 48, blksize 56, blocks 64, atime 72,
/// mtime 88, ctime 104, then 24 reserved bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub nlink: u64,
    /// File type (`S_IFMT` bits) and permissions.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: i64,
    pub blksize: i64,
    /// 512-byte blocks allocated.
    pub blocks: i64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
}

impl Stat {
    pub const SIZE: usize = 144;

    /// What the kernel writes to user memory, as the 18 little-endian words of
    /// the C struct. Inlined, so the words go from the fields' registers straight
    /// to the caller's memory (`AddressSpace::write_words`), with no image between.
    #[inline]
    pub fn to_words(&self) -> [u64; Self::SIZE / 8] {
        [
            self.dev,
            self.ino,
            self.nlink,
            u64::from(self.mode) | u64::from(self.uid) << 32,
            // gid, then 4 bytes of padding.
            u64::from(self.gid),
            self.rdev,
            self.size as u64,
            self.blksize as u64,
            self.blocks as u64,
            self.atime.sec as u64,
            self.atime.nsec as u64,
            self.mtime.sec as u64,
            self.mtime.nsec as u64,
            self.ctime.sec as u64,
            self.ctime.nsec as u64,
            // Reserved.
            0,
            0,
            0,
        ]
    }
}

// `d_type` values.
pub const DT_UNKNOWN: u8 = 0;
pub const DT_FIFO: u8 = 1;
pub const DT_CHR: u8 = 2;
pub const DT_DIR: u8 = 4;
pub const DT_BLK: u8 = 6;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;
pub const DT_SOCK: u8 = 12;

/// The `d_type` of a file with `mode` (Linux's `S_DT`: the type bits shifted).
pub fn dirent_type(mode: u32) -> u8 {
    match mode & S_IFMT {
        S_IFIFO => DT_FIFO,
        S_IFCHR => DT_CHR,
        S_IFDIR => DT_DIR,
        S_IFBLK => DT_BLK,
        S_IFREG => DT_REG,
        S_IFLNK => DT_LNK,
        S_IFSOCK => DT_SOCK,
        _ => DT_UNKNOWN,
    }
}

/// The fixed part of a `linux_dirent64`: d_ino (8), d_off (8), d_reclen (2),
/// d_type (1); the NUL-terminated name follows.
const DIRENT64_HEADER: usize = 19;

/// One `getdents64` record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dirent64<'a> {
    pub ino: u64,
    /// The position of the *next* record (what `lseek` or `seekdir` take to resume
    /// after this one).
    pub next_offset: i64,
    pub kind: u8,
    pub name: &'a [u8],
}

impl Dirent64<'_> {
    /// The record's length: header, name, NUL, padded to 8 bytes as Linux pads.
    pub fn record_len(&self) -> usize {
        (DIRENT64_HEADER + self.name.len() + 1).next_multiple_of(8)
    }

    /// Writes the record at the start of `out` and returns its length, or `None`
    /// (writing nothing) when it does not fit or is too long for `d_reclen`.
    pub fn write_to(&self, out: &mut [u8]) -> Option<usize> {
        let length = self.record_len();
        let record_len = u16::try_from(length).ok()?;
        let slot = out.get_mut(..length)?;
        slot.fill(0);
        let header =
            [&self.ino.to_le_bytes()[..], &self.next_offset.to_le_bytes(), &record_len.to_le_bytes(), &[self.kind]];
        for (target, byte) in slot.iter_mut().zip(header.iter().flat_map(|part| part.iter()).chain(self.name)) {
            *target = *byte;
        }
        Some(length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn device_numbers_as_linux_encodes_them() {
        // stat("/dev/null").st_rdev on Linux is 0x103; /dev/tty 0x500.
        assert_eq!(makedev(1, 3), 0x103);
        assert_eq!(makedev(5, 0), 0x500);
        assert_eq!(makedev(136, 0), 0x8800);
        assert_eq!(makedev(0x1234, 0x56789), 0x1000_5672_3489);
        assert_eq!(makedev(u32::MAX, u32::MAX), u64::MAX);
    }

    #[test]
    fn stat_layout_matches_the_c_struct() {
        let stat = Stat {
            dev: 1,
            ino: 2,
            nlink: 3,
            mode: 4,
            uid: 5,
            gid: 6,
            rdev: 7,
            size: 8,
            blksize: 9,
            blocks: 10,
            atime: Timespec { sec: 11, nsec: 12 },
            mtime: Timespec { sec: 13, nsec: 14 },
            ctime: Timespec { sec: 15, nsec: 16 },
        };
        let bytes: Vec<u8> = stat.to_words().iter().flat_map(|word| word.to_le_bytes()).collect();
        let u64_at = |offset: usize| u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap());
        let u32_at = |offset: usize| u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap());
        assert_eq!((u64_at(0), u64_at(8), u64_at(16)), (1, 2, 3));
        assert_eq!((u32_at(24), u32_at(28), u32_at(32), u32_at(36)), (4, 5, 6, 0));
        assert_eq!((u64_at(40), u64_at(48), u64_at(56), u64_at(64)), (7, 8, 9, 10));
        assert_eq!((u64_at(72), u64_at(80), u64_at(88), u64_at(96)), (11, 12, 13, 14));
        assert_eq!((u64_at(104), u64_at(112)), (15, 16));
        assert_eq!(bytes[120..], [0; 24]);
    }

    #[test]
    fn dirent_types() {
        assert_eq!(dirent_type(S_IFDIR | 0o755), DT_DIR);
        assert_eq!(dirent_type(S_IFREG | 0o644), DT_REG);
        assert_eq!(dirent_type(S_IFLNK | 0o777), DT_LNK);
        assert_eq!(dirent_type(S_IFCHR | 0o666), DT_CHR);
        assert_eq!(dirent_type(S_IFIFO), DT_FIFO);
        assert_eq!(dirent_type(0), DT_UNKNOWN);
        // Linux's S_DT: (mode >> 12) & 15.
        for mode in [S_IFIFO, S_IFCHR, S_IFDIR, S_IFBLK, S_IFREG, S_IFLNK, S_IFSOCK] {
            assert_eq!(u32::from(dirent_type(mode)), (mode >> 12) & 15);
        }
    }

    #[test]
    fn dirent64_layout() {
        let record = Dirent64 { ino: 0x0102, next_offset: 3, kind: DT_REG, name: b"hello" };
        // 19 + 5 + 1 = 25, padded to 32 (what glibc's readdir walks by d_reclen).
        assert_eq!(record.record_len(), 32);
        let mut out = vec![0xaa; 40];
        assert_eq!(record.write_to(&mut out), Some(32));
        assert_eq!(out[..8], 0x0102u64.to_le_bytes());
        assert_eq!(out[8..16], 3i64.to_le_bytes());
        assert_eq!(out[16..18], 32u16.to_le_bytes());
        assert_eq!(out[18], DT_REG);
        assert_eq!(&out[19..25], b"hello\0");
        assert_eq!(out[25..32], [0; 7]);
        assert_eq!(out[32..], [0xaa; 8], "nothing written past the record");
        // "." takes 24 bytes: 19 + 1 + 1 = 21, padded.
        assert_eq!(Dirent64 { ino: 1, next_offset: 1, kind: DT_DIR, name: b"." }.record_len(), 24);
    }

    #[test]
    fn a_record_that_does_not_fit_writes_nothing() {
        let record = Dirent64 { ino: 1, next_offset: 1, kind: DT_DIR, name: b"name" };
        let mut out = vec![0xaa; 23];
        assert_eq!(record.write_to(&mut out), None);
        assert_eq!(out, vec![0xaa; 23]);
        let long = vec![b'x'; 70_000];
        let record = Dirent64 { name: &long, ..record };
        assert_eq!(record.write_to(&mut vec![0; 80_000]), None, "d_reclen is 16 bits");
    }
}
