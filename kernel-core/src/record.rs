//! Control records: the one-line `kind key=value ...` messages the kernel sends the
//! host on its control channel (e.g. each process's accounting when it exits).
//! Built in a fixed buffer without allocating or `core::fmt`, because one is written
//! on every process exit and fork+exit is a path people measure.

use crate::cmdline::encode_arg_into;

/// Longest record; a longer one is cut (and still ends with a newline).
pub const MAX_RECORD: usize = 512;

/// A record being built.
pub struct Record {
    bytes: [u8; MAX_RECORD],
    length: usize,
}

impl Record {
    /// A record of `kind` (its first word).
    pub fn new(kind: &str) -> Record {
        let mut record = Record { bytes: [0; MAX_RECORD], length: 0 };
        record.push(kind.as_bytes());
        record
    }

    fn push(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            // One byte is kept free for the final newline.
            if self.length + 1 < MAX_RECORD {
                self.bytes[self.length] = byte;
                self.length += 1;
            }
        }
    }

    /// Appends ` key=value` with `value` in decimal.
    pub fn number(&mut self, key: &str, value: u64) -> &mut Record {
        self.push(b" ");
        self.push(key.as_bytes());
        self.push(b"=");
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut rest = value;
        loop {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        self.push(&digits[start..]);
        self
    }

    /// Appends ` key=value` with `value` percent-encoded as `cmdline::encode_arg`
    /// does (so it is one word whatever bytes it holds).
    pub fn text(&mut self, key: &str, value: &[u8]) -> &mut Record {
        self.push(b" ");
        self.push(key.as_bytes());
        self.push(b"=");
        let mut encoded = [0u8; 3];
        encode_arg_into(value, |piece| {
            let piece = piece.as_bytes();
            encoded[..piece.len()].copy_from_slice(piece);
            let length = piece.len();
            self.push(&encoded[..length]);
        });
        self
    }

    /// The finished line, newline included.
    pub fn line(&mut self) -> &[u8] {
        self.bytes[self.length] = b'\n';
        &self.bytes[..self.length + 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdline::{decode_arg, encode_arg};

    #[test]
    fn numbers_and_text_make_one_line() {
        let mut record = Record::new("process");
        record.number("pid", 0).number("big", u64::MAX).text("name", b"a b%");
        assert_eq!(record.line(), b"process pid=0 big=18446744073709551615 name=a%20b%25\n");
    }

    #[test]
    fn text_is_encoded_exactly_as_encode_arg_does() {
        for value in [&b""[..], b"plain", b"\x00\xff \t%", "caf\u{e9}".as_bytes()] {
            let mut record = Record::new("x");
            record.text("v", value);
            let line = record.line();
            let word = core::str::from_utf8(&line[4..line.len() - 1]).unwrap();
            assert_eq!(word, encode_arg(value));
            assert_eq!(decode_arg(word).unwrap(), value);
        }
    }

    #[test]
    fn an_overlong_record_is_cut_but_still_a_line() {
        let mut record = Record::new("x");
        let long = std::vec![b'a'; 2 * MAX_RECORD];
        record.text("v", &long);
        let line = record.line();
        assert_eq!(line.len(), MAX_RECORD);
        assert_eq!(line.last(), Some(&b'\n'));
    }
}
