//! "newc" cpio archives, the format of the initrd: read by the kernel, written by
//! the host CLI.
//!
//! Each entry is a 110-byte ASCII header (`070701` then 13 fields of 8 hex
//! digits), the NUL-terminated name padded to a multiple of 4 bytes (counted from
//! the header start), then the data padded to a multiple of 4. The entry named
//! `TRAILER!!!` ends the archive.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::bytes::Fields;

pub const S_IFMT: u32 = 0o170_000;
pub const S_IFSOCK: u32 = 0o140_000;
pub const S_IFLNK: u32 = 0o120_000;
pub const S_IFREG: u32 = 0o100_000;
pub const S_IFBLK: u32 = 0o060_000;
pub const S_IFDIR: u32 = 0o040_000;
pub const S_IFCHR: u32 = 0o020_000;
pub const S_IFIFO: u32 = 0o010_000;
/// Permission, set-id and sticky bits: everything in a mode but the file type.
const PERMISSION_BITS: u32 = 0o7777;

const MAGIC: [u8; 6] = *b"070701";
const HEADER_LEN: usize = 110;
const TRAILER: &str = "TRAILER!!!";

/// One archive member, borrowing from the archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Relative, without a leading `./` or `/` or a trailing `/`; `""` is the
    /// root (`.`). Never contains empty, `.` or `..` components.
    pub path: &'a str,
    /// File type (`S_IFMT` bits) and permissions.
    pub mode: u32,
    /// The file contents, or the target of a symlink. For hard-linked files
    /// only the last link of a group carries the data (the others are empty).
    pub data: &'a [u8],
    pub inode: u32,
    pub uid: u32,
    pub gid: u32,
    /// How many entries name this file (hard links share `inode`).
    pub links: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CpioError {
    /// A header, name or data runs past the end of the archive.
    Truncated {
        offset: usize,
    },
    BadMagic {
        offset: usize,
    },
    BadHeaderField {
        offset: usize,
        field: &'static str,
    },
    /// A name size of 0: not even room for the NUL.
    EmptyName {
        offset: usize,
    },
    /// A name that is not NUL-terminated, contains a NUL, or is not UTF-8.
    BadName {
        offset: usize,
    },
    /// A path with an empty, `.` or `..` component.
    BadPath {
        path: String,
    },
    /// The archive ends without a `TRAILER!!!` entry.
    MissingTrailer {
        offset: usize,
    },
    /// A file or name too large for the format's 32-bit sizes.
    TooLarge {
        path: String,
    },
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { offset } => write!(f, "cpio archive truncated in the entry at offset {offset}"),
            Self::BadMagic { offset } => write!(
                f,
                "no cpio \"newc\" header at offset {offset} (expected magic 070701; create archives with `cpio -H newc`)"
            ),
            Self::BadHeaderField { offset, field } => {
                write!(f, "cpio header at offset {offset}: field `{field}` is not 8 hex digits")
            }
            Self::EmptyName { offset } => write!(f, "cpio entry at offset {offset} has an empty name"),
            Self::BadName { offset } => write!(
                f,
                "cpio entry at offset {offset}: the name is not NUL-terminated UTF-8 without inner NULs"
            ),
            Self::BadPath { path } => {
                write!(f, "cpio path `{path}` has an empty, `.` or `..` component")
            }
            Self::MissingTrailer { offset } => {
                write!(f, "cpio archive ends at offset {offset} without a TRAILER!!! entry")
            }
            Self::TooLarge { path } => write!(f, "`{path}` is too large for a cpio archive (4 GiB limit)"),
        }
    }
}

/// Iterates over the entries of a newc archive, stopping after `TRAILER!!!`
/// (bytes after it are ignored). A malformed entry yields one `Err` and ends the
/// iteration, so it always terminates.
pub fn entries(archive: &[u8]) -> Entries<'_> {
    Entries { archive, offset: 0, finished: false }
}

/// The iterator returned by `entries`.
pub struct Entries<'a> {
    archive: &'a [u8],
    offset: usize,
    finished: bool,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, CpioError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match read_entry(self.archive, self.offset) {
            Ok(Some((entry, next_offset))) => {
                self.offset = next_offset;
                Some(Ok(entry))
            }
            Ok(None) => {
                self.finished = true;
                None
            }
            Err(error) => {
                self.finished = true;
                Some(Err(error))
            }
        }
    }
}

impl core::iter::FusedIterator for Entries<'_> {}

/// Reads the entry at `offset`: the entry and the offset of the next one, or
/// `None` at the trailer.
fn read_entry(archive: &[u8], offset: usize) -> Result<Option<(Entry<'_>, usize)>, CpioError> {
    if offset >= archive.len() {
        return Err(CpioError::MissingTrailer { offset });
    }
    let truncated = || CpioError::Truncated { offset };
    let name_start = offset.checked_add(HEADER_LEN).ok_or_else(truncated)?;
    let header = archive.get(offset..name_start).ok_or_else(truncated)?;
    let mut fields = Fields::new(header);
    if fields.take::<6>() != MAGIC {
        return Err(CpioError::BadMagic { offset });
    }
    let mut next_field =
        |field: &'static str| parse_hex(&fields.take::<8>()).ok_or(CpioError::BadHeaderField { offset, field });
    let inode = next_field("ino")?;
    let mode = next_field("mode")?;
    let uid = next_field("uid")?;
    let gid = next_field("gid")?;
    let links = next_field("nlink")?;
    let mtime = next_field("mtime")?;
    let filesize = next_field("filesize")?;
    for field in ["devmajor", "devminor", "rdevmajor", "rdevminor"] {
        next_field(field)?;
    }
    let namesize = next_field("namesize")?;
    next_field("check")?;
    if namesize == 0 {
        return Err(CpioError::EmptyName { offset });
    }

    let name_end = name_start.checked_add(namesize as usize).ok_or_else(truncated)?;
    let name = match archive.get(name_start..name_end).ok_or_else(truncated)?.split_last() {
        Some((0, name)) if !name.contains(&0) => {
            core::str::from_utf8(name).map_err(|_| CpioError::BadName { offset })?
        }
        _ => return Err(CpioError::BadName { offset }),
    };
    if name == TRAILER {
        return Ok(None);
    }
    let data_start = align4(name_end).ok_or_else(truncated)?;
    let data_end = data_start.checked_add(filesize as usize).ok_or_else(truncated)?;
    let data = archive.get(data_start..data_end).ok_or_else(truncated)?;
    let path = normalize(name).ok_or_else(|| CpioError::BadPath { path: name.to_string() })?;
    let next_offset = align4(data_end).ok_or_else(truncated)?;
    Ok(Some((Entry { path, mode, data, inode, uid, gid, links, mtime }, next_offset)))
}

/// Eight ASCII hex digits (either case), nothing else.
fn parse_hex(digits: &[u8; 8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |value, &digit| {
        let nibble = char::from(digit).to_digit(16)?;
        Some(value << 4 | nibble)
    })
}

/// `offset` rounded up to a multiple of 4, if that fits.
fn align4(offset: usize) -> Option<usize> {
    Some(offset.checked_add(3)? & !3)
}

/// The canonical form of an archive path: leading `./` and `/` and trailing `/`
/// removed, `.` (or nothing) as `""`. `None` if a component is empty, `.` or
/// `..`, which could escape or alias directories.
fn normalize(name: &str) -> Option<&str> {
    let mut path = name;
    while let Some(rest) = path.strip_prefix("./").or_else(|| path.strip_prefix('/')) {
        path = rest;
    }
    let path = path.trim_end_matches('/');
    if path.is_empty() || path == "." {
        return Some("");
    }
    path.split('/').all(|component| !matches!(component, "" | "." | "..")).then_some(path)
}

/// The header fields of an entry `Writer::add_entry` writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub inode: u32,
    /// File type and permissions.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub links: u32,
    /// Seconds since the epoch.
    pub mtime: u32,
}

/// Builds a newc archive. Paths are normalized as `Entry::path` is (so `/bin/sh`
/// and `./bin/sh` are stored as `bin/sh` and `""` as `.`); inode numbers are
/// distinct, starting at 1; directories have 2 links, everything else 1; uid,
/// gid and mtime are 0, so the output depends only on the calls made.
#[derive(Debug, Default)]
pub struct Writer {
    bytes: Vec<u8>,
    entry_count: u32,
}

impl Writer {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a directory with the permission bits of `mode` (its type bits are
    /// ignored). Fails with `BadPath` on a path `entries` would refuse.
    pub fn add_directory(&mut self, path: &str, mode: u32) -> Result<(), CpioError> {
        self.add(path, S_IFDIR | (mode & PERMISSION_BITS), 2, &[])
    }

    /// Adds a regular file with the permission bits of `mode`. Fails with
    /// `BadPath` on a path `entries` would refuse, `TooLarge` beyond 4 GiB.
    pub fn add_file(&mut self, path: &str, mode: u32, data: &[u8]) -> Result<(), CpioError> {
        self.add(path, S_IFREG | (mode & PERMISSION_BITS), 1, data)
    }

    /// Adds a symlink (mode 0777) pointing at `target`. Fails with `BadPath` on
    /// a path `entries` would refuse.
    pub fn add_symlink(&mut self, path: &str, target: &str) -> Result<(), CpioError> {
        self.add(path, S_IFLNK | 0o777, 1, target.as_bytes())
    }

    /// Adds an entry with every header field given (hard links share `inode`, the
    /// data on the last one, as newc has it). Fails as `add_file`.
    pub fn add_entry(&mut self, path: &str, header: Header, data: &[u8]) -> Result<(), CpioError> {
        let name = self.checked_name(path, data)?;
        self.push_entry(&name, &header, data);
        Ok(())
    }

    /// The archive, ended with its trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.push_entry(TRAILER, &Header { links: 1, ..Header::default() }, &[]);
        self.bytes
    }

    fn add(&mut self, path: &str, mode: u32, links: u32, data: &[u8]) -> Result<(), CpioError> {
        let name = self.checked_name(path, data)?;
        self.entry_count = self.entry_count.saturating_add(1);
        self.push_entry(&name, &Header { inode: self.entry_count, mode, links, ..Header::default() }, data);
        Ok(())
    }

    /// The name `path` is stored under, after checking that it and `data` fit.
    fn checked_name(&self, path: &str, data: &[u8]) -> Result<String, CpioError> {
        let bad_path = || CpioError::BadPath { path: path.to_string() };
        let normalized = normalize(path).filter(|p| !p.contains('\0') && *p != TRAILER).ok_or_else(bad_path)?;
        let name = if normalized.is_empty() { "." } else { normalized };
        let name_fits = name.len().checked_add(1).is_some_and(|size| u32::try_from(size).is_ok());
        if u32::try_from(data.len()).is_err() || !name_fits {
            return Err(CpioError::TooLarge { path: path.to_string() });
        }
        Ok(name.to_string())
    }

    /// Appends one entry; the sizes were checked to fit 32 bits.
    fn push_entry(&mut self, name: &str, header: &Header, data: &[u8]) {
        let namesize = u32::try_from(name.len().saturating_add(1)).unwrap_or(u32::MAX);
        let filesize = u32::try_from(data.len()).unwrap_or(u32::MAX);
        self.bytes.extend_from_slice(&MAGIC);
        let Header { inode, mode, uid, gid, links, mtime } = *header;
        // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
        for value in [inode, mode, uid, gid, links, mtime, filesize, 0, 0, 0, 0, namesize, 0] {
            self.bytes.extend_from_slice(alloc::format!("{value:08X}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Rng;
    use alloc::vec;

    /// Header field positions (after the magic) used to forge entries.
    const MODE: usize = 1;
    const FILESIZE: usize = 6;
    const NAMESIZE: usize = 11;

    fn read_all(archive: &[u8]) -> Result<Vec<Entry<'_>>, CpioError> {
        entries(archive).collect()
    }

    fn sample() -> Vec<u8> {
        let mut writer = Writer::new();
        writer.add_directory("", 0o755).unwrap();
        writer.add_directory("bin", 0o755).unwrap();
        writer.add_file("bin/init", 0o755, b"\x7fELF...").unwrap();
        writer.add_file("/etc/motd", 0o644, b"hello\n").unwrap();
        writer.add_file("./empty", 0o600, b"").unwrap();
        writer.add_symlink("bin/sh", "busybox").unwrap();
        writer.finish()
    }

    #[test]
    fn writer_output_reads_back() {
        let archive = sample();
        assert_eq!(archive.len() % 4, 0);
        let all = read_all(&archive).unwrap();
        let summary: Vec<(&str, u32, &[u8], u32)> = all.iter().map(|e| (e.path, e.mode, e.data, e.inode)).collect();
        assert_eq!(
            summary,
            vec![
                ("", S_IFDIR | 0o755, &b""[..], 1),
                ("bin", S_IFDIR | 0o755, b"", 2),
                ("bin/init", S_IFREG | 0o755, b"\x7fELF...", 3),
                ("etc/motd", S_IFREG | 0o644, b"hello\n", 4),
                ("empty", S_IFREG | 0o600, b"", 5),
                ("bin/sh", S_IFLNK | 0o777, b"busybox", 6),
            ]
        );
    }

    #[test]
    fn writer_header_layout() {
        let mut writer = Writer::new();
        writer.add_directory("d", 0o40_755).unwrap();
        let archive = writer.finish();
        let header = core::str::from_utf8(&archive[..HEADER_LEN]).unwrap();
        assert_eq!(
            header,
            "070701\
             00000001000041ED000000000000000000000002000000000000000000000000\
             00000000000000000000000000000002\
             00000000"
        );
        // 110 + "d\0" = 112: already aligned; the trailer follows directly.
        assert_eq!(&archive[110..112], b"d\0");
        assert_eq!(&archive[112..118], b"070701");
        assert!(archive.windows(10).any(|w| w == TRAILER.as_bytes()));
    }

    #[test]
    fn name_and_data_padding_for_every_length() {
        let mut writer = Writer::new();
        let names = ["a", "ab", "abc", "abcd", "abcde"];
        for (index, name) in names.iter().enumerate() {
            writer.add_file(name, 0o644, &vec![b'x'; index]).unwrap();
        }
        let archive = writer.finish();
        let all = read_all(&archive).unwrap();
        assert_eq!(all.len(), names.len());
        for (index, entry) in all.iter().enumerate() {
            assert_eq!(entry.path, names[index]);
            assert_eq!(entry.data.len(), index);
        }
    }

    #[test]
    fn writer_refuses_bad_paths() {
        let mut writer = Writer::new();
        for bad in ["a/../b", "..", "a//b", "a/./b", "nul\0byte", "TRAILER!!!", "./TRAILER!!!"] {
            assert_eq!(writer.add_file(bad, 0o644, b""), Err(CpioError::BadPath { path: bad.into() }), "{bad}");
        }
        assert!(read_all(&writer.finish()).unwrap().is_empty());
    }

    #[test]
    fn paths_are_normalized() {
        for (name, path) in [
            (".", Some("")),
            ("", Some("")),
            ("/", Some("")),
            ("./", Some("")),
            ("././a", Some("a")),
            ("//a/b/", Some("a/b")),
            ("./.hidden", Some(".hidden")),
            ("a/...", Some("a/...")),
            ("..", None),
            ("../etc", None),
            ("a/..", None),
            ("a//b", None),
            ("a/./b", None),
            ("a/.", None),
        ] {
            assert_eq!(normalize(name), path, "{name:?}");
        }
    }

    /// A raw newc entry with arbitrary header field text, for hostile inputs.
    fn raw_entry(fields: [&str; 13], name: &[u8], data: &[u8]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        for field in fields {
            bytes.extend_from_slice(field.as_bytes());
        }
        bytes.extend_from_slice(name);
        while !bytes.len().is_multiple_of(4) {
            bytes.push(0);
        }
        bytes.extend_from_slice(data);
        while !bytes.len().is_multiple_of(4) {
            bytes.push(0);
        }
        bytes
    }

    fn fields_for(namesize: usize, filesize: usize) -> [String; 13] {
        let mut fields: [String; 13] = Default::default();
        for (index, field) in fields.iter_mut().enumerate() {
            *field = match index {
                MODE => alloc::format!("{:08x}", S_IFREG | 0o644),
                FILESIZE => alloc::format!("{filesize:08x}"),
                NAMESIZE => alloc::format!("{namesize:08x}"),
                _ => "00000000".into(),
            };
        }
        fields
    }

    fn entry_with(fields: &[String; 13], name: &[u8], data: &[u8]) -> Vec<u8> {
        raw_entry(fields.each_ref().map(String::as_str), name, data)
    }

    #[test]
    fn lowercase_hex_is_accepted() {
        let fields = fields_for(2, 3);
        let mut archive = entry_with(&fields, b"f\0", b"abc");
        archive.extend_from_slice(&Writer::new().finish());
        let all = read_all(&archive).unwrap();
        assert_eq!(all[0].data, b"abc");
        assert_eq!(all[0].mode, 0o100644);
    }

    #[test]
    fn bad_magic() {
        let mut archive = sample();
        archive[0] = b'1';
        assert_eq!(read_all(&archive), Err(CpioError::BadMagic { offset: 0 }));
        let odc = b"070707000000000000000000000000000000000000000000000000000000000000000000000000";
        assert_eq!(read_all(odc), Err(CpioError::Truncated { offset: 0 }));
        let mut odc = odc.to_vec();
        odc.resize(200, b'0');
        let error = read_all(&odc).unwrap_err();
        assert_eq!(error, CpioError::BadMagic { offset: 0 });
        assert!(error.to_string().contains("cpio -H newc"));
    }

    #[test]
    fn bad_magic_in_a_later_entry_reports_its_offset() {
        let mut archive = sample();
        // The root entry is a header and ".\0": 112 bytes, already aligned.
        let second = 112;
        assert_eq!(&archive[second..second + 6], b"070701");
        archive[second] = b'X';
        let results: Vec<_> = entries(&archive).collect();
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok());
        assert_eq!(results[1], Err(CpioError::BadMagic { offset: second }));
    }

    #[test]
    fn bad_hex_fields() {
        for (index, field, bad) in [
            (0, "ino", "0000000g"),
            (FILESIZE, "filesize", "+0000001"),
            (NAMESIZE, "namesize", " 0000002"),
            (12, "check", "0x000001"),
        ] {
            let mut fields = fields_for(2, 0);
            fields[index] = bad.into();
            let archive = entry_with(&fields, b"f\0", b"");
            assert_eq!(read_all(&archive), Err(CpioError::BadHeaderField { offset: 0, field }), "{bad}");
        }
        let error = CpioError::BadHeaderField { offset: 0, field: "filesize" };
        assert_eq!(error.to_string(), "cpio header at offset 0: field `filesize` is not 8 hex digits");
    }

    #[test]
    fn bad_names() {
        let empty = entry_with(&fields_for(0, 0), b"", b"");
        assert_eq!(read_all(&empty), Err(CpioError::EmptyName { offset: 0 }));
        let unterminated = entry_with(&fields_for(2, 0), b"ab", b"");
        assert_eq!(read_all(&unterminated), Err(CpioError::BadName { offset: 0 }));
        let inner_nul = entry_with(&fields_for(4, 0), b"a\0b\0", b"");
        assert_eq!(read_all(&inner_nul), Err(CpioError::BadName { offset: 0 }));
        let not_utf8 = entry_with(&fields_for(3, 0), b"\xff\xfe\0", b"");
        assert_eq!(read_all(&not_utf8), Err(CpioError::BadName { offset: 0 }));
        let escaping = entry_with(&fields_for(10, 0), b"../../etc\0", b"");
        assert_eq!(read_all(&escaping), Err(CpioError::BadPath { path: "../../etc".into() }));
    }

    #[test]
    fn sizes_beyond_the_archive_are_truncation() {
        let mut fields = fields_for(2, 0);
        fields[FILESIZE] = "ffffffff".into();
        let mut huge_file = entry_with(&fields, b"f\0", b"");
        huge_file.extend_from_slice(&Writer::new().finish());
        assert_eq!(read_all(&huge_file), Err(CpioError::Truncated { offset: 0 }));
        let mut fields = fields_for(2, 0);
        fields[NAMESIZE] = "FFFFFFFF".into();
        assert_eq!(read_all(&entry_with(&fields, b"f\0", b"")), Err(CpioError::Truncated { offset: 0 }));
    }

    #[test]
    fn missing_trailer() {
        let archive = sample();
        let without_trailer = &archive[..archive.len() - 124];
        let results: Vec<_> = entries(without_trailer).collect();
        assert_eq!(results.len(), 7);
        assert_eq!(results[6], Err(CpioError::MissingTrailer { offset: without_trailer.len() }));
        assert_eq!(read_all(b""), Err(CpioError::MissingTrailer { offset: 0 }));
    }

    #[test]
    fn bytes_after_the_trailer_are_ignored() {
        let mut archive = sample();
        archive.extend_from_slice(&[0; 512]);
        archive.extend_from_slice(b"garbage");
        assert_eq!(read_all(&archive).unwrap().len(), 6);
        assert_eq!(read_all(&Writer::new().finish()), Ok(Vec::new()));
    }

    #[test]
    fn every_truncation_ends_in_an_error_without_panicking() {
        let archive = sample();
        // The trailer's name ends 3 bytes before its padding does; from there on
        // the archive is complete.
        let complete = archive.len() - 3;
        for len in 0..=archive.len() {
            let results: Vec<_> = entries(&archive[..len]).collect();
            assert_eq!(results.last().is_some_and(Result::is_err), len < complete, "length {len}");
            assert!(results.len() <= 7);
        }
    }

    #[test]
    fn iteration_stops_after_an_error() {
        let mut archive = sample();
        archive[0] = b'x';
        let mut iterator = entries(&archive);
        assert!(iterator.next().unwrap().is_err());
        assert!(iterator.next().is_none());
        assert!(iterator.next().is_none());
    }

    #[test]
    fn random_corruption_never_panics_or_loops() {
        let archive = sample();
        let mut rng = Rng::new(99);
        for _ in 0..20_000 {
            let mut corrupt = archive.clone();
            for _ in 0..=rng.below(4) {
                let position = rng.below(corrupt.len() as u64) as usize;
                corrupt[position] = match rng.below(3) {
                    0 => b"0123456789abcdefF"[rng.below(17) as usize],
                    1 => 0,
                    _ => rng.next_u64() as u8,
                };
            }
            // Every entry consumes at least a header, so this bounds the count.
            assert!(entries(&corrupt).count() <= corrupt.len() / HEADER_LEN + 1);
        }
    }

    #[test]
    fn errors_have_messages() {
        for error in [
            CpioError::Truncated { offset: 4 },
            CpioError::EmptyName { offset: 4 },
            CpioError::BadName { offset: 4 },
            CpioError::BadPath { path: "../x".into() },
            CpioError::MissingTrailer { offset: 4 },
            CpioError::TooLarge { path: "big".into() },
        ] {
            assert!(error.to_string().len() > 15, "{error:?}");
        }
    }

    /// Archives made by GNU cpio (`find . | cpio -o -H newc`) read back with the
    /// right paths, types, permissions and contents.
    #[test]
    fn reads_gnu_cpio_output() {
        use std::os::unix::fs::{symlink, PermissionsExt};
        if std::process::Command::new("cpio").arg("--version").output().is_err() {
            std::eprintln!("skipping: the cpio tool is not installed");
            return;
        }
        let root = std::env::temp_dir().join(alloc::format!("kernel-core-cpio-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("bin/nested")).unwrap();
        std::fs::write(root.join("bin/hello"), b"#!/bin/sh\necho hello\n").unwrap();
        std::fs::set_permissions(root.join("bin/hello"), std::fs::Permissions::from_mode(0o751)).unwrap();
        std::fs::write(root.join("bin/nested/odd name.txt"), vec![7u8; 1001]).unwrap();
        std::fs::write(root.join("empty"), b"").unwrap();
        symlink("bin/hello", root.join("link")).unwrap();

        let output = std::process::Command::new("sh")
            .current_dir(&root)
            .args(["-c", "find . | LC_ALL=C sort | cpio -o -H newc --quiet"])
            .output();
        std::fs::remove_dir_all(&root).ok();
        let output = output.unwrap();
        assert!(output.status.success(), "{}", std::string::String::from_utf8_lossy(&output.stderr));

        let all = read_all(&output.stdout).unwrap();
        let find = |path: &str| *all.iter().find(|e| e.path == path).unwrap_or_else(|| panic!("{path} missing"));
        let paths: Vec<&str> = all.iter().map(|e| e.path).collect();
        assert_eq!(paths, ["", "bin", "bin/hello", "bin/nested", "bin/nested/odd name.txt", "empty", "link"]);
        assert_eq!(find("").mode & S_IFMT, S_IFDIR);
        assert_eq!(find("bin/nested").mode & S_IFMT, S_IFDIR);
        assert_eq!(find("bin/hello").mode, S_IFREG | 0o751);
        assert_eq!(find("bin/hello").data, b"#!/bin/sh\necho hello\n");
        assert_eq!(find("bin/nested/odd name.txt").data, vec![7u8; 1001]);
        assert_eq!(find("empty").data, b"");
        assert_eq!(find("link").mode & S_IFMT, S_IFLNK);
        assert_eq!(find("link").data, b"bin/hello");
        let mut inodes: Vec<u32> = all.iter().map(|e| e.inode).collect();
        inodes.sort_unstable();
        inodes.dedup();
        assert_eq!(inodes.len(), all.len());
    }

    /// GNU cpio accepts what `Writer` produces (`cpio -t` lists it).
    #[test]
    fn gnu_cpio_reads_writer_output() {
        use std::io::Write;
        let child = std::process::Command::new("cpio")
            .args(["-t", "--quiet"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            std::eprintln!("skipping: the cpio tool is not installed");
            return;
        };
        child.stdin.take().unwrap().write_all(&sample()).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", std::string::String::from_utf8_lossy(&output.stderr));
        assert_eq!(
            std::string::String::from_utf8(output.stdout).unwrap(),
            ".\nbin\nbin/init\netc/motd\nempty\nbin/sh\n"
        );
    }
}
