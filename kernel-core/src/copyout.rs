//! Files copied back to the host after the program ends (`timeshare run
//! --copy-out GUEST[:HOST]`): the control-channel records the kernel sends at
//! power-off, one line each, and the CLI reads. For the `index`-th requested path:
//!
//! ```text
//! copyout INDEX missing            nothing there
//! copyout INDEX dir PATH MODE      a directory (PATH relative to the request, %_ for itself)
//! copyout INDEX file PATH MODE     a regular file, whose bytes follow in data records
//! copyout INDEX data HEX           the next bytes of that file
//! copyout INDEX link PATH TARGET   a symbolic link
//! copyout INDEX end                all of it was sent
//! ```
//!
//! PATH and TARGET are percent-encoded (`cmdline::encode_arg`), MODE is octal
//! (permission bits), HEX lowercase. Directories come before what they hold.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::cmdline::{decode_arg, encode_arg};

/// The most file bytes one data record carries.
pub const DATA_CHUNK: usize = 2048;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Missing,
    Directory { path: Vec<u8>, mode: u32 },
    File { path: Vec<u8>, mode: u32 },
    Data(Vec<u8>),
    Symlink { path: Vec<u8>, target: Vec<u8> },
    End,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Which `--copy-out` it answers, from 0.
    pub index: u32,
    pub item: Item,
}

impl Record {
    /// The line, newline included.
    pub fn line(&self) -> String {
        let index = self.index;
        match &self.item {
            Item::Missing => format!("copyout {index} missing\n"),
            Item::Directory { path, mode } => format!("copyout {index} dir {} {mode:o}\n", encode_arg(path)),
            Item::File { path, mode } => format!("copyout {index} file {} {mode:o}\n", encode_arg(path)),
            Item::Data(bytes) => {
                let mut line = format!("copyout {index} data ");
                for byte in bytes {
                    line.push_str(&format!("{byte:02x}"));
                }
                line.push('\n');
                line
            }
            Item::Symlink { path, target } => {
                format!("copyout {index} link {} {}\n", encode_arg(path), encode_arg(target))
            }
            Item::End => format!("copyout {index} end\n"),
        }
    }

    /// Reads a line `line` wrote; None for anything else.
    pub fn parse(line: &str) -> Option<Record> {
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        let (&"copyout", [index, kind, rest @ ..]) = (words.first()?, &words[1..]) else { return None };
        let index = index.parse().ok()?;
        let mode = |word: &str| u32::from_str_radix(word, 8).ok().filter(|mode| *mode <= 0o7777);
        let item = match (*kind, rest) {
            ("missing", []) => Item::Missing,
            ("end", []) => Item::End,
            ("dir", [path, bits]) => Item::Directory { path: decode_arg(path).ok()?, mode: mode(bits)? },
            ("file", [path, bits]) => Item::File { path: decode_arg(path).ok()?, mode: mode(bits)? },
            ("link", [path, target]) => {
                Item::Symlink { path: decode_arg(path).ok()?, target: decode_arg(target).ok()? }
            }
            ("data", [hex]) if hex.len() % 2 == 0 => Item::Data(
                (0..hex.len())
                    .step_by(2)
                    .map(|at| u8::from_str_radix(hex.get(at..at + 2)?, 16).ok())
                    .collect::<Option<_>>()?,
            ),
            _ => return None,
        };
        Some(Record { index, item })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn records_read_back_as_written() {
        let records = vec![
            Item::Missing,
            Item::Directory { path: Vec::new(), mode: 0o755 },
            Item::File { path: b"sub/a file".to_vec(), mode: 0o644 },
            Item::Data(vec![0, 1, 0xfe, 0xff]),
            Item::Symlink { path: b"l".to_vec(), target: b"../x y".to_vec() },
            Item::End,
        ];
        for (index, item) in records.into_iter().enumerate() {
            let record = Record { index: index as u32, item };
            assert_eq!(Record::parse(&record.line()), Some(record.clone()), "{}", record.line());
        }
        assert_eq!(Record { index: 3, item: Item::Data(vec![0xab, 0x01]) }.line(), "copyout 3 data ab01\n");
        assert_eq!(
            Record { index: 0, item: Item::Directory { path: Vec::new(), mode: 0o1777 } }.line(),
            "copyout 0 dir %_ 1777\n"
        );
    }

    #[test]
    fn other_lines_are_not_records() {
        for line in [
            "exit 0",
            "copyout",
            "copyout x end",
            "copyout 1 data abc",
            "copyout 1 data zz",
            "copyout 1 dir a 99999",
            "copyout 1 end extra",
            "copyout 1 file a",
        ] {
            assert_eq!(Record::parse(line), None, "{line}");
        }
    }
}
