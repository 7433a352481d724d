//! Terminal `ioctl`s and their structures (`struct termios` as the kernel's
//! `TCGETS` sees it, and `struct winsize`).

use crate::bytes::{pack, Fields};

pub const TCGETS: u64 = 0x5401;
pub const TCSETS: u64 = 0x5402;
pub const TCSETSW: u64 = 0x5403;
pub const TCSETSF: u64 = 0x5404;
pub const TIOCSCTTY: u64 = 0x540e;
pub const TIOCGPGRP: u64 = 0x540f;
pub const TIOCSPGRP: u64 = 0x5410;
pub const TIOCGWINSZ: u64 = 0x5413;
pub const TIOCSWINSZ: u64 = 0x5414;
pub const FIONREAD: u64 = 0x541b;
pub const FIONBIO: u64 = 0x5421;
pub const FIONCLEX: u64 = 0x5450;
pub const FIOCLEX: u64 = 0x5451;

// c_iflag
pub const INLCR: u32 = 0o100;
pub const IGNCR: u32 = 0o200;
pub const ICRNL: u32 = 0o400;
pub const IXON: u32 = 0o2000;
// c_oflag
pub const OPOST: u32 = 0o1;
pub const ONLCR: u32 = 0o4;
// c_cflag
pub const B38400: u32 = 0o17;
pub const CS8: u32 = 0o60;
pub const CREAD: u32 = 0o200;
// c_lflag
pub const ISIG: u32 = 0o1;
pub const ICANON: u32 = 0o2;
pub const ECHO: u32 = 0o10;
pub const ECHOE: u32 = 0o20;
pub const ECHOK: u32 = 0o40;
pub const ECHONL: u32 = 0o100;
pub const ECHOCTL: u32 = 0o1000;
pub const ECHOKE: u32 = 0o4000;
pub const NOFLSH: u32 = 0o200;
pub const IEXTEN: u32 = 0o10_0000;

// Indices into c_cc.
pub const VINTR: usize = 0;
pub const VQUIT: usize = 1;
pub const VERASE: usize = 2;
pub const VKILL: usize = 3;
pub const VEOF: usize = 4;
pub const VTIME: usize = 5;
pub const VMIN: usize = 6;
pub const VSWTC: usize = 7;
pub const VSTART: usize = 8;
pub const VSTOP: usize = 9;
pub const VSUSP: usize = 10;
pub const VEOL: usize = 11;
pub const VREPRINT: usize = 12;
pub const VDISCARD: usize = 13;
pub const VWERASE: usize = 14;
pub const VLNEXT: usize = 15;
pub const VEOL2: usize = 16;
/// The kernel's `struct termios` has 19 control characters (glibc's user-space
/// struct has 32 and converts; `TCGETS` itself uses this one).
pub const NCCS: usize = 19;

/// `struct winsize`: rows, columns, then pixel sizes, each 16 bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Winsize {
    pub rows: u16,
    pub cols: u16,
    pub xpixel: u16,
    pub ypixel: u16,
}

impl Winsize {
    pub const SIZE: usize = 8;

    /// The bytes `TIOCGWINSZ` copies to user memory.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        pack(&[
            &self.rows.to_le_bytes(),
            &self.cols.to_le_bytes(),
            &self.xpixel.to_le_bytes(),
            &self.ypixel.to_le_bytes(),
        ])
    }

    /// Reads the argument of `TIOCSWINSZ`; every bit pattern is a valid size.
    pub fn from_bytes(bytes: [u8; Self::SIZE]) -> Self {
        let mut fields = Fields::new(&bytes);
        Self { rows: fields.u16(), cols: fields.u16(), xpixel: fields.u16(), ypixel: fields.u16() }
    }
}

/// The kernel's `struct termios` (36 bytes): four 32-bit flag words, the line
/// discipline, then `NCCS` control characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Termios {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub line: u8,
    pub cc: [u8; NCCS],
}

impl Default for Termios {
    /// A console in cooked mode, as Linux's `tty_std_termios` minus flow control
    /// and modem hang-up (a console has neither): CR→NL on input, NL→CRNL on
    /// output, 8 bits, line editing with echo and signal keys, `^C ^\ DEL ^U ^D`.
    fn default() -> Self {
        let mut cc = [0u8; NCCS];
        for (index, value) in [
            (VINTR, 0x03),
            (VQUIT, 0x1c),
            (VERASE, 0x7f),
            (VKILL, 0x15),
            (VEOF, 0x04),
            (VTIME, 0),
            (VMIN, 1),
            (VSTART, 0x11),
            (VSTOP, 0x13),
            (VSUSP, 0x1a),
            (VREPRINT, 0x12),
            (VDISCARD, 0x0f),
            (VWERASE, 0x17),
            (VLNEXT, 0x16),
        ] {
            if let Some(slot) = cc.get_mut(index) {
                *slot = value;
            }
        }
        Self {
            iflag: ICRNL,
            oflag: OPOST | ONLCR,
            cflag: B38400 | CS8 | CREAD,
            lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | IEXTEN | ECHOCTL | ECHOKE,
            line: 0,
            cc,
        }
    }
}

impl Termios {
    pub const SIZE: usize = 36;

    /// The bytes `TCGETS` copies to user memory.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        pack(&[
            &self.iflag.to_le_bytes(),
            &self.oflag.to_le_bytes(),
            &self.cflag.to_le_bytes(),
            &self.lflag.to_le_bytes(),
            &[self.line],
            &self.cc,
        ])
    }

    /// Reads the argument of `TCSETS*`; every bit pattern is representable
    /// (flags the line discipline does not implement simply have no effect).
    pub fn from_bytes(bytes: [u8; Self::SIZE]) -> Self {
        let mut fields = Fields::new(&bytes);
        Self {
            iflag: fields.u32(),
            oflag: fields.u32(),
            cflag: fields.u32(),
            lflag: fields.u32(),
            line: u8::from_le_bytes(fields.take()),
            cc: fields.take(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_match_linux() {
        assert_eq!((TCGETS, TCSETS, TCSETSW, TCSETSF), (0x5401, 0x5402, 0x5403, 0x5404));
        assert_eq!((TIOCGPGRP, TIOCSPGRP, TIOCGWINSZ, TIOCSWINSZ), (0x540f, 0x5410, 0x5413, 0x5414));
        assert_eq!(FIONREAD, 0x541b);
    }

    #[test]
    fn winsize_layout_and_round_trip() {
        let size = Winsize { rows: 24, cols: 80, xpixel: 0x1234, ypixel: 0xffff };
        let bytes = size.to_bytes();
        assert_eq!(bytes, [24, 0, 80, 0, 0x34, 0x12, 0xff, 0xff]);
        assert_eq!(Winsize::from_bytes(bytes), size);
    }

    #[test]
    fn default_termios_is_a_cooked_console() {
        let termios = Termios::default();
        assert_eq!(termios.iflag, 0o400);
        assert_eq!(termios.oflag, 0o5);
        assert_eq!(termios.cflag, 0o277);
        assert_eq!(termios.lflag, 0o105073);
        assert_eq!(termios.line, 0);
        assert_eq!(termios.cc, [3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0, 0, 0]);
    }

    #[test]
    fn termios_layout_and_round_trip() {
        let termios = Termios::default();
        let bytes = termios.to_bytes();
        assert_eq!(bytes.len(), 36);
        assert_eq!(bytes[..4], 0o400u32.to_le_bytes());
        assert_eq!(bytes[12..16], termios.lflag.to_le_bytes());
        assert_eq!(bytes[16], 0, "c_line");
        assert_eq!(bytes[17 + VINTR], 3);
        assert_eq!(bytes[17 + VMIN], 1);
        assert_eq!(Termios::from_bytes(bytes), termios);

        let mut raw = [0u8; Termios::SIZE];
        for (index, byte) in raw.iter_mut().enumerate() {
            *byte = index as u8;
        }
        assert_eq!(Termios::from_bytes(raw).to_bytes(), raw);
    }
}
