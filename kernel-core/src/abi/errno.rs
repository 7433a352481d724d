//! Linux error numbers (asm-generic/errno-base.h and errno.h). Syscalls return
//! them negated; the values here are positive.

numbered_names! { i64;
    EPERM = 1,
    ENOENT = 2,
    ESRCH = 3,
    EINTR = 4,
    EIO = 5,
    ENXIO = 6,
    E2BIG = 7,
    ENOEXEC = 8,
    EBADF = 9,
    ECHILD = 10,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    ENOTBLK = 15,
    EBUSY = 16,
    EEXIST = 17,
    EXDEV = 18,
    ENODEV = 19,
    ENOTDIR = 20,
    EISDIR = 21,
    EINVAL = 22,
    ENFILE = 23,
    EMFILE = 24,
    ENOTTY = 25,
    ETXTBSY = 26,
    EFBIG = 27,
    ENOSPC = 28,
    ESPIPE = 29,
    EROFS = 30,
    EMLINK = 31,
    EPIPE = 32,
    EDOM = 33,
    ERANGE = 34,
    EDEADLK = 35,
    ENAMETOOLONG = 36,
    ENOLCK = 37,
    ENOSYS = 38,
    ENOTEMPTY = 39,
    ELOOP = 40,
    ENOMSG = 42,
    EIDRM = 43,
    ECHRNG = 44,
    EL2NSYNC = 45,
    EL3HLT = 46,
    EL3RST = 47,
    ELNRNG = 48,
    EUNATCH = 49,
    ENOCSI = 50,
    EL2HLT = 51,
    EBADE = 52,
    EBADR = 53,
    EXFULL = 54,
    ENOANO = 55,
    EBADRQC = 56,
    EBADSLT = 57,
    EBFONT = 59,
    ENOSTR = 60,
    ENODATA = 61,
    ETIME = 62,
    ENOSR = 63,
    ENONET = 64,
    ENOPKG = 65,
    EREMOTE = 66,
    ENOLINK = 67,
    EADV = 68,
    ESRMNT = 69,
    ECOMM = 70,
    EPROTO = 71,
    EMULTIHOP = 72,
    EDOTDOT = 73,
    EBADMSG = 74,
    EOVERFLOW = 75,
    ENOTUNIQ = 76,
    EBADFD = 77,
    EREMCHG = 78,
    ELIBACC = 79,
    ELIBBAD = 80,
    ELIBSCN = 81,
    ELIBMAX = 82,
    ELIBEXEC = 83,
    EILSEQ = 84,
    ERESTART = 85,
    ESTRPIPE = 86,
    EUSERS = 87,
    ENOTSOCK = 88,
    EDESTADDRREQ = 89,
    EMSGSIZE = 90,
    EPROTOTYPE = 91,
    ENOPROTOOPT = 92,
    EPROTONOSUPPORT = 93,
    ESOCKTNOSUPPORT = 94,
    EOPNOTSUPP = 95,
    EPFNOSUPPORT = 96,
    EAFNOSUPPORT = 97,
    EADDRINUSE = 98,
    EADDRNOTAVAIL = 99,
    ENETDOWN = 100,
    ENETUNREACH = 101,
    ENETRESET = 102,
    ECONNABORTED = 103,
    ECONNRESET = 104,
    ENOBUFS = 105,
    EISCONN = 106,
    ENOTCONN = 107,
    ESHUTDOWN = 108,
    ETOOMANYREFS = 109,
    ETIMEDOUT = 110,
    ECONNREFUSED = 111,
    EHOSTDOWN = 112,
    EHOSTUNREACH = 113,
    EALREADY = 114,
    EINPROGRESS = 115,
    ESTALE = 116,
    EUCLEAN = 117,
    ENOTNAM = 118,
    ENAVAIL = 119,
    EISNAM = 120,
    EREMOTEIO = 121,
    EDQUOT = 122,
    ENOMEDIUM = 123,
    EMEDIUMTYPE = 124,
    ECANCELED = 125,
    ENOKEY = 126,
    EKEYEXPIRED = 127,
    EKEYREVOKED = 128,
    EKEYREJECTED = 129,
    EOWNERDEAD = 130,
    ENOTRECOVERABLE = 131,
    ERFKILL = 132,
    EHWPOISON = 133,
}

/// Same number as `EAGAIN`: Linux defines it as an alias.
pub const EWOULDBLOCK: i64 = EAGAIN;
/// Same number as `EDEADLK`: Linux defines it as an alias.
pub const EDEADLOCK: i64 = EDEADLK;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_linux() {
        assert_eq!((EPERM, ENOENT, ESRCH, EINTR, EIO), (1, 2, 3, 4, 5));
        assert_eq!((E2BIG, ENOEXEC, EBADF, ECHILD, EAGAIN), (7, 8, 9, 10, 11));
        assert_eq!((ENOMEM, EACCES, EFAULT, EEXIST, EXDEV), (12, 13, 14, 17, 18));
        assert_eq!((ENOTDIR, EISDIR, EINVAL, EMFILE, ENOTTY), (20, 21, 22, 24, 25));
        assert_eq!((ESPIPE, EPIPE, ERANGE, EDEADLK, ENAMETOOLONG), (29, 32, 34, 35, 36));
        assert_eq!((ENOSYS, ENOTEMPTY, ELOOP, EOPNOTSUPP, ETIMEDOUT), (38, 39, 40, 95, 110));
        assert_eq!((EOWNERDEAD, ENOTRECOVERABLE, EHWPOISON), (130, 131, 133));
        assert_eq!((EWOULDBLOCK, EDEADLOCK), (EAGAIN, EDEADLK));
    }

    #[test]
    fn every_number_from_1_to_133_has_a_name_except_the_two_gaps() {
        // 41 and 58 are unused in Linux (old EWOULDBLOCK and EDEADLOCK slots).
        for errno in 1..=133 {
            assert_eq!(name(errno).is_some(), errno != 41 && errno != 58, "errno {errno}");
        }
    }

    #[test]
    fn names_are_the_constant_spellings() {
        for &(value, konst, text) in TABLE {
            assert_eq!(konst, text);
            assert_eq!(name(value), Some(text));
        }
        assert_eq!(name(ENOENT), Some("ENOENT"));
    }

    #[test]
    fn unknown_numbers_have_no_name() {
        for errno in [0, -1, -22, 134, 512, i64::MAX, i64::MIN] {
            assert_eq!(name(errno), None);
        }
    }

    #[test]
    fn table_matches_the_host_headers_when_present() {
        let Ok(base) = std::fs::read_to_string("/usr/include/asm-generic/errno-base.h") else {
            return;
        };
        let rest = std::fs::read_to_string("/usr/include/asm-generic/errno.h").unwrap_or_default();
        for line in base.lines().chain(rest.lines()) {
            let words: std::vec::Vec<&str> = line.split_whitespace().collect();
            if let ["#define", konst, value, ..] = words.as_slice() {
                if let Ok(value) = value.parse::<i64>() {
                    assert_eq!(name(value), Some(*konst), "{konst}");
                }
            }
        }
    }
}
