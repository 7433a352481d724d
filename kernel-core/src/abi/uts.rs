//! `struct utsname`, the answer to `uname`.

/// The length of each `utsname` field including its terminating NUL.
const FIELD_LEN: usize = 65;

/// The six `uname` strings. Each is cut to 64 bytes so that its field keeps a
/// terminating NUL; a cut can split a multi-byte UTF-8 character, as on Linux.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Utsname<'a> {
    pub sysname: &'a str,
    pub nodename: &'a str,
    pub release: &'a str,
    pub version: &'a str,
    pub machine: &'a str,
    pub domainname: &'a str,
}

/// The size of `struct utsname`.
pub const UTSNAME_SIZE: usize = 6 * FIELD_LEN;

impl Utsname<'_> {
    /// The 390 bytes `uname` copies to user memory: six NUL-padded 65-byte fields.
    pub fn to_bytes(&self) -> [u8; UTSNAME_SIZE] {
        let fields = [self.sysname, self.nodename, self.release, self.version, self.machine, self.domainname];
        let mut out = [0u8; UTSNAME_SIZE];
        for (slot, text) in out.chunks_exact_mut(FIELD_LEN).zip(fields) {
            for (byte_slot, byte) in slot.iter_mut().zip(text.bytes().take(FIELD_LEN - 1)) {
                *byte_slot = byte;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    fn field(bytes: &[u8], index: usize) -> &[u8] {
        let field = &bytes[index * FIELD_LEN..(index + 1) * FIELD_LEN];
        let end = field.iter().position(|&b| b == 0).unwrap();
        &field[..end]
    }

    #[test]
    fn fields_land_at_65_byte_strides() {
        let uts = Utsname {
            sysname: "Linux",
            nodename: "timeshare",
            release: "6.1.0-timeshare",
            version: "#1 SMP",
            machine: "x86_64",
            domainname: "(none)",
        };
        let bytes = uts.to_bytes();
        assert_eq!(bytes.len(), 390);
        let expected: [&[u8]; 6] = [b"Linux", b"timeshare", b"6.1.0-timeshare", b"#1 SMP", b"x86_64", b"(none)"];
        for (index, text) in expected.iter().enumerate() {
            assert_eq!(field(&bytes, index), *text);
        }
        assert!(bytes[5..65].iter().all(|&b| b == 0));
    }

    #[test]
    fn long_fields_are_cut_to_keep_their_nul() {
        let long: String = core::iter::repeat_n('x', 100).collect();
        let bytes = Utsname { release: &long, ..Utsname::default() }.to_bytes();
        assert_eq!(field(&bytes, 2).len(), 64);
        assert_eq!(bytes[3 * FIELD_LEN - 1], 0);
        assert_eq!(field(&bytes, 3), b"");
    }
}
