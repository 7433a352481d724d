//! `mmap`, `mprotect` and `msync` arguments, decoded as Linux's `do_mmap`,
//! `do_mprotect_pkey` and `msync` do.

use core::ops::Range;

use super::errno::{EINVAL, ENOMEM, EOPNOTSUPP, EOVERFLOW};

pub const PROT_NONE: u64 = 0x0;
pub const PROT_READ: u64 = 0x1;
pub const PROT_WRITE: u64 = 0x2;
pub const PROT_EXEC: u64 = 0x4;
pub const PROT_SEM: u64 = 0x8;
pub const PROT_GROWSDOWN: u64 = 0x0100_0000;
pub const PROT_GROWSUP: u64 = 0x0200_0000;

pub const MAP_SHARED: u64 = 0x01;
pub const MAP_PRIVATE: u64 = 0x02;
pub const MAP_SHARED_VALIDATE: u64 = 0x03;
pub const MAP_TYPE: u64 = 0x0f;
pub const MAP_FIXED: u64 = 0x10;
pub const MAP_ANONYMOUS: u64 = 0x20;
pub const MAP_32BIT: u64 = 0x40;
pub const MAP_GROWSDOWN: u64 = 0x100;
pub const MAP_DENYWRITE: u64 = 0x800;
pub const MAP_EXECUTABLE: u64 = 0x1000;
pub const MAP_LOCKED: u64 = 0x2000;
pub const MAP_NORESERVE: u64 = 0x4000;
pub const MAP_POPULATE: u64 = 0x8000;
pub const MAP_NONBLOCK: u64 = 0x1_0000;
pub const MAP_STACK: u64 = 0x2_0000;
pub const MAP_HUGETLB: u64 = 0x4_0000;
pub const MAP_SYNC: u64 = 0x8_0000;
pub const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
pub const MAP_UNINITIALIZED: u64 = 0x400_0000;
/// The huge page size field (bits 26..32) that accompanies `MAP_HUGETLB`.
const MAP_HUGE_SIZE_MASK: u64 = 0x3f << 26;

/// Flags `MAP_SHARED_VALIDATE` accepts (Linux `LEGACY_MAP_MASK`, plus
/// `MAP_FIXED_NOREPLACE`); any other bit is `EOPNOTSUPP` there, while plain
/// `MAP_SHARED` and `MAP_PRIVATE` silently ignore unknown bits.
const VALIDATED_MAP_FLAGS: u64 = MAP_SHARED
    | MAP_PRIVATE
    | MAP_FIXED
    | MAP_ANONYMOUS
    | MAP_DENYWRITE
    | MAP_EXECUTABLE
    | MAP_UNINITIALIZED
    | MAP_GROWSDOWN
    | MAP_LOCKED
    | MAP_NORESERVE
    | MAP_POPULATE
    | MAP_NONBLOCK
    | MAP_STACK
    | MAP_HUGETLB
    | MAP_32BIT
    | MAP_HUGE_SIZE_MASK
    | MAP_FIXED_NOREPLACE;

/// Page access rights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
    pub execute: bool,
}

impl Prot {
    /// The rights named by the `PROT_READ`/`PROT_WRITE`/`PROT_EXEC` bits; other
    /// bits are the caller's to check.
    fn from_bits(prot: u64) -> Self {
        Self { read: prot & PROT_READ != 0, write: prot & PROT_WRITE != 0, execute: prot & PROT_EXEC != 0 }
    }
}

/// Whether writes to the mapping are seen by other mappings of the same object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    Shared,
    Private,
}

/// How the address argument is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fixed {
    /// A hint: the kernel picks the address when the hint does not fit.
    No,
    /// Exactly this address, unmapping whatever was there (`MAP_FIXED`).
    Replace,
    /// Exactly this address, failing with `EEXIST` if anything is mapped there
    /// (`MAP_FIXED_NOREPLACE`).
    NoReplace,
}

/// A decoded `mmap` request; address, length, fd and offset are the caller's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmapRequest {
    pub prot: Prot,
    pub sharing: Sharing,
    pub fixed: Fixed,
    /// Zero-filled memory, not backed by the fd (which is then ignored).
    pub anonymous: bool,
}

/// Decodes `mmap`'s `prot` and `flags` as Linux does: unknown `prot` bits are
/// ignored; the mapping type must be exactly one of `MAP_SHARED`, `MAP_PRIVATE`,
/// `MAP_SHARED_VALIDATE` (`EINVAL` otherwise, and for an anonymous
/// `MAP_SHARED_VALIDATE`); `MAP_GROWSDOWN` is `EINVAL` except on anonymous
/// private mappings;
/// `MAP_SHARED_VALIDATE` refuses unknown flags and `MAP_SYNC` (timeshare has no
/// DAX files) with `EOPNOTSUPP`. `MAP_HUGETLB` fails with `ENOMEM`, as on a Linux
/// host with no huge pages reserved. Hints (`MAP_POPULATE`, `MAP_NORESERVE`,
/// `MAP_STACK`, ...) are accepted and have no effect.
pub fn decode_mmap(prot: u64, flags: u64) -> Result<MmapRequest, i64> {
    let anonymous = flags & MAP_ANONYMOUS != 0;
    let sharing = match (flags & MAP_TYPE, anonymous) {
        (MAP_PRIVATE, _) => Sharing::Private,
        (MAP_SHARED, _) => Sharing::Shared,
        (MAP_SHARED_VALIDATE, false) if flags & !VALIDATED_MAP_FLAGS != 0 => return Err(EOPNOTSUPP),
        (MAP_SHARED_VALIDATE, false) => Sharing::Shared,
        _ => return Err(EINVAL),
    };
    if flags & MAP_GROWSDOWN != 0 && !(anonymous && sharing == Sharing::Private) {
        return Err(EINVAL);
    }
    if flags & MAP_HUGETLB != 0 {
        return Err(ENOMEM);
    }
    let fixed = if flags & MAP_FIXED_NOREPLACE != 0 {
        Fixed::NoReplace
    } else if flags & MAP_FIXED != 0 {
        Fixed::Replace
    } else {
        Fixed::No
    };
    Ok(MmapRequest { prot: Prot::from_bits(prot), sharing, fixed, anonymous })
}

/// Decodes `mprotect`'s `prot` as Linux does: any bit beyond read, write, exec
/// and `PROT_SEM` is `EINVAL`. `PROT_GROWSDOWN`/`PROT_GROWSUP` are `EINVAL` too:
/// Linux accepts them only on grows-down mappings, which timeshare never creates.
pub fn decode_mprotect(prot: u64) -> Result<Prot, i64> {
    if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM) != 0 {
        return Err(EINVAL);
    }
    Ok(Prot::from_bits(prot))
}

pub const MS_ASYNC: u64 = 1;
pub const MS_INVALIDATE: u64 = 2;
pub const MS_SYNC: u64 = 4;

const PAGE_SIZE: u64 = 4096;

/// Checks `mmap`'s file `offset` (EINVAL unless page-aligned: Linux checks it
/// first, for anonymous mappings too).
pub fn check_mmap_offset(offset: u64) -> Result<(), i64> {
    if offset % PAGE_SIZE != 0 {
        return Err(EINVAL);
    }
    Ok(())
}

/// Checks a file mapping of `length` bytes (not 0) at page-aligned `offset` as
/// Linux's `file_mmap_ok` does for a regular file: EOVERFLOW when its end lies
/// past the largest file offset (`i64::MAX`).
pub fn check_file_mapping(offset: u64, length: u64) -> Result<(), i64> {
    let length = length.checked_next_multiple_of(PAGE_SIZE).ok_or(ENOMEM)?;
    match (i64::MAX as u64).checked_sub(length) {
        Some(room) if offset <= room => Ok(()),
        _ => Err(EOVERFLOW),
    }
}

/// Decodes `msync`'s arguments as Linux does: flags other than `MS_ASYNC`,
/// `MS_INVALIDATE`, `MS_SYNC`, an address not page-aligned, and `MS_ASYNC` with
/// `MS_SYNC` are EINVAL; the length is rounded up to pages (wrapping, as
/// Linux's does), a range that then wraps is ENOMEM. Returns the pages
/// `[start, end)`, every one of which must be mapped (ENOMEM).
pub fn decode_msync(address: u64, length: u64, flags: u64) -> Result<Range<u64>, i64> {
    if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || address % PAGE_SIZE != 0
        || (flags & MS_ASYNC != 0 && flags & MS_SYNC != 0)
    {
        return Err(EINVAL);
    }
    let length = length.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
    let end = address.wrapping_add(length);
    if end < address {
        return Err(ENOMEM);
    }
    Ok(address..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RW: u64 = PROT_READ | PROT_WRITE;

    fn request(prot: Prot, sharing: Sharing, fixed: Fixed, anonymous: bool) -> MmapRequest {
        MmapRequest { prot, sharing, fixed, anonymous }
    }

    #[test]
    fn malloc_style_anonymous_private_mapping() {
        let rw = Prot { read: true, write: true, execute: false };
        assert_eq!(decode_mmap(RW, MAP_PRIVATE | MAP_ANONYMOUS), Ok(request(rw, Sharing::Private, Fixed::No, true)));
    }

    #[test]
    fn prot_bits_decode_and_unknown_prot_bits_are_ignored_by_mmap() {
        let rx = Prot { read: true, write: false, execute: true };
        let flags = MAP_PRIVATE | MAP_ANONYMOUS;
        assert_eq!(decode_mmap(PROT_READ | PROT_EXEC, flags).map(|r| r.prot), Ok(rx));
        assert_eq!(decode_mmap(PROT_NONE, flags).map(|r| r.prot), Ok(Prot::default()));
        assert_eq!(decode_mmap(u64::MAX, flags).map(|r| r.prot.write), Ok(true));
    }

    #[test]
    fn mapping_type_must_be_exactly_one() {
        assert_eq!(decode_mmap(RW, MAP_ANONYMOUS), Err(EINVAL));
        assert_eq!(decode_mmap(RW, 0), Err(EINVAL));
        for bad_type in [0x4, 0x5, 0x8, 0xf] {
            assert_eq!(decode_mmap(RW, bad_type), Err(EINVAL), "type {bad_type:#x}");
        }
        assert_eq!(decode_mmap(RW, MAP_SHARED).map(|r| r.sharing), Ok(Sharing::Shared));
        assert_eq!(decode_mmap(RW, MAP_SHARED_VALIDATE).map(|r| r.sharing), Ok(Sharing::Shared));
    }

    #[test]
    fn shared_validate_refuses_unknown_flags_but_legacy_types_ignore_them() {
        let unknown = 1 << 40;
        assert_eq!(decode_mmap(RW, MAP_SHARED_VALIDATE | unknown), Err(EOPNOTSUPP));
        assert_eq!(decode_mmap(RW, MAP_SHARED_VALIDATE | MAP_SYNC), Err(EOPNOTSUPP));
        assert!(decode_mmap(RW, MAP_SHARED | unknown | MAP_SYNC).is_ok());
        assert!(decode_mmap(RW, MAP_PRIVATE | unknown).is_ok());
        assert!(decode_mmap(RW, MAP_SHARED_VALIDATE | MAP_POPULATE | MAP_FIXED).is_ok());
    }

    #[test]
    fn anonymous_special_cases() {
        let anon = MAP_ANONYMOUS;
        assert_eq!(decode_mmap(RW, MAP_SHARED_VALIDATE | anon), Err(EINVAL));
        assert_eq!(decode_mmap(RW, MAP_SHARED | anon | MAP_GROWSDOWN), Err(EINVAL));
        assert!(decode_mmap(RW, MAP_PRIVATE | anon | MAP_GROWSDOWN).is_ok());
        assert_eq!(decode_mmap(RW, MAP_PRIVATE | MAP_GROWSDOWN), Err(EINVAL), "file-backed");
        assert_eq!(
            decode_mmap(RW, MAP_SHARED | anon),
            Ok(request(Prot { read: true, write: true, execute: false }, Sharing::Shared, Fixed::No, true))
        );
    }

    #[test]
    fn fixed_variants() {
        let base = MAP_PRIVATE | MAP_ANONYMOUS;
        let fixed = |flags| decode_mmap(RW, flags).map(|r| r.fixed);
        assert_eq!(fixed(base | MAP_FIXED), Ok(Fixed::Replace));
        assert_eq!(fixed(base | MAP_FIXED_NOREPLACE), Ok(Fixed::NoReplace));
        assert_eq!(fixed(base | MAP_FIXED | MAP_FIXED_NOREPLACE), Ok(Fixed::NoReplace));
        assert_eq!(fixed(base | MAP_STACK | MAP_NORESERVE | MAP_POPULATE), Ok(Fixed::No));
    }

    #[test]
    fn huge_pages_are_out_of_memory() {
        assert_eq!(decode_mmap(RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB), Err(ENOMEM));
    }

    #[test]
    fn mprotect_is_strict() {
        assert_eq!(decode_mprotect(PROT_READ), Ok(Prot { read: true, write: false, execute: false }));
        assert_eq!(decode_mprotect(PROT_NONE), Ok(Prot::default()));
        assert_eq!(decode_mprotect(RW | PROT_EXEC | PROT_SEM).map(|p| p.execute), Ok(true));
        assert_eq!(decode_mprotect(0x10), Err(EINVAL));
        assert_eq!(decode_mprotect(PROT_READ | PROT_GROWSDOWN), Err(EINVAL));
        assert_eq!(decode_mprotect(PROT_GROWSDOWN | PROT_GROWSUP), Err(EINVAL));
        assert_eq!(decode_mprotect(1 << 63), Err(EINVAL));
    }

    #[test]
    fn msync_and_file_mapping_checks_are_linuxs() {
        assert_eq!(decode_msync(0x1000, 1, MS_SYNC), Ok(0x1000..0x2000));
        assert_eq!(decode_msync(0x1000, 0, 0), Ok(0x1000..0x1000));
        assert_eq!(decode_msync(0x1001, 1, 0), Err(EINVAL));
        assert_eq!(decode_msync(0x1000, 1, MS_ASYNC | MS_SYNC), Err(EINVAL));
        assert_eq!(decode_msync(0x1000, 1, 8), Err(EINVAL));
        assert_eq!(decode_msync(0x2000, u64::MAX - 0x1000, MS_ASYNC), Err(ENOMEM));
        assert_eq!(decode_msync(0x1000, u64::MAX, MS_INVALIDATE), Ok(0x1000..0x1000));
        assert_eq!(check_mmap_offset(4095), Err(EINVAL));
        assert_eq!(check_mmap_offset(8192), Ok(()));
        assert_eq!(check_file_mapping(0, 1), Ok(()));
        assert_eq!(check_file_mapping(i64::MAX as u64 & !4095, 4096), Err(EOVERFLOW));
        assert_eq!(check_file_mapping(1 << 62, 1 << 62), Err(EOVERFLOW));
        assert_eq!(check_file_mapping(0, u64::MAX), Err(ENOMEM));
    }
}
