//! The first program's argv and envp, from the host to the kernel at the end of
//! the initrd, where any size up to Linux's exec limits fits (the kernel command
//! line is a few kilobytes at most; see `cmdline::MAX_LEN`):
//!
//! ```text
//!   the cpio archive (the file system)
//!   argv's then envp's strings, each NUL-terminated   (`initstack::Strings`)
//!   footer: MAGIC, strings' length, argc, envc          (each a u64, little-endian)
//! ```
//!
//! The kernel splits the footer and the strings off before it reads the archive,
//! so no program sees them as a file.

use alloc::vec::Vec;
use core::fmt;

use crate::initstack::{self, StackError, Strings};

const MAGIC: [u8; 8] = *b"TSARGV1\0";
const FOOTER_LEN: usize = MAGIC.len() + 3 * 8;

/// Appends `argv` and `envp` and the footer to `initrd`, refusing what Linux's
/// exec would refuse for a program at `execfn` (`Strings::check_limits`); then
/// `initrd` is left as it was.
pub fn append(initrd: &mut Vec<u8>, argv: &[&[u8]], envp: &[&[u8]], execfn: &[u8]) -> Result<(), StackError> {
    let start = initrd.len();
    let pushed = argv.iter().chain(envp).try_for_each(|string| initstack::push_string(initrd, string)).and_then(|()| {
        Strings::new(&initrd[start..], argv.len(), envp.len()).expect("pushed as counted").check_limits(execfn)
    });
    if let Err(error) = pushed {
        initrd.truncate(start);
        return Err(error);
    }
    let length = (initrd.len() - start) as u64;
    initrd.extend_from_slice(&MAGIC);
    for field in [length, argv.len() as u64, envp.len() as u64] {
        initrd.extend_from_slice(&field.to_le_bytes());
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadFooter;

impl fmt::Display for BadFooter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the initrd's argument footer does not describe the strings before it")
    }
}

/// The archive and, when the initrd ends with a footer, the strings it describes.
pub fn split(initrd: &[u8]) -> Result<(&[u8], Option<Strings<'_>>), BadFooter> {
    let Some(footer_start) = initrd.len().checked_sub(FOOTER_LEN) else { return Ok((initrd, None)) };
    let footer = &initrd[footer_start..];
    if footer[..MAGIC.len()] != MAGIC {
        return Ok((initrd, None));
    }
    let field = |index: usize| {
        let at = MAGIC.len() + 8 * index;
        usize::try_from(u64::from_le_bytes(footer[at..at + 8].try_into().expect("8 bytes"))).map_err(|_| BadFooter)
    };
    let (length, argc, envc) = (field(0)?, field(1)?, field(2)?);
    let strings_start = footer_start.checked_sub(length).ok_or(BadFooter)?;
    let strings = Strings::new(&initrd[strings_start..footer_start], argc, envc).ok_or(BadFooter)?;
    Ok((&initrd[..strings_start], Some(strings)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn strings_round_trip_after_the_archive() {
        let archive = b"070701...TRAILER!!!\0\0\0\0".to_vec();
        let mut initrd = archive.clone();
        append(&mut initrd, &[b"/bin/p", b"", b"a b"], &[b"PATH=/bin"], b"/bin/p").unwrap();
        let (rest, strings) = split(&initrd).unwrap();
        assert_eq!(rest, archive);
        let strings = strings.unwrap();
        assert_eq!((strings.argc(), strings.envc()), (3, 1));
        assert_eq!(strings.iter().collect::<Vec<_>>(), [&b"/bin/p"[..], b"", b"a b", b"PATH=/bin"]);
    }

    #[test]
    fn no_footer_is_the_whole_archive() {
        for initrd in [&b""[..], b"short", b"070701 and a long enough archive without a footer"] {
            assert_eq!(split(initrd), Ok((initrd, None)));
        }
    }

    #[test]
    fn a_footer_that_lies_is_refused() {
        let mut initrd = Vec::new();
        append(&mut initrd, &[b"/p", b"x"], &[], b"/p").unwrap();
        let footer = initrd.len() - FOOTER_LEN;
        for (field, value) in [(0, u64::MAX), (0, 1000), (0, 2), (1, 3), (2, 1), (1, u64::MAX)] {
            let mut bad = initrd.clone();
            let at = footer + MAGIC.len() + 8 * field;
            bad[at..at + 8].copy_from_slice(&value.to_le_bytes());
            assert_eq!(split(&bad), Err(BadFooter), "field {field} = {value}");
        }
    }

    #[test]
    fn what_linux_refuses_is_not_appended() {
        let mut initrd = b"archive".to_vec();
        let too_long = vec![b'x'; initstack::MAX_ARG_STRLEN];
        assert_eq!(append(&mut initrd, &[b"/p", &too_long], &[], b"/p"), Err(StackError::TooBig));
        assert_eq!(append(&mut initrd, &[b"/p", b"a\0b"], &[], b"/p"), Err(StackError::InteriorNul));
        assert_eq!(initrd, b"archive");
    }
}
