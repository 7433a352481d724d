//! The control channel (debugcon at port 0xeb): text lines from the kernel, one record per
//! line, parsed by their first word. Unknown kinds are ignored so that the kernel can add
//! records (trace data) without breaking an older CLI.

/// One line of the control channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// `exit <code>`: the first process exited normally with this status (0..=255).
    Exit(u8),
    /// `signal <n>`: a signal ended the first process.
    Signal(u8),
    /// `panic`: the kernel failed; the kernel log says why.
    Panic,
    /// `ready`: the console takes input from now on.
    Ready,
    /// Anything else (a kind this CLI does not know, or a malformed known kind).
    Other(String),
}

impl Record {
    pub fn parse(line: &str) -> Record {
        let line = line.trim_end_matches(['\r', '\n']);
        let mut words = line.split_ascii_whitespace();
        let kind = words.next().unwrap_or("");
        let arg = words.next();
        let rest_empty = words.next().is_none();
        match (kind, arg) {
            ("exit", Some(code)) if rest_empty => match code.parse::<u8>() {
                Ok(code) => Record::Exit(code),
                Err(_) => Record::Other(line.to_string()),
            },
            ("signal", Some(n)) if rest_empty => match n.parse::<u8>() {
                Ok(n) if (1..=127).contains(&n) => Record::Signal(n),
                _ => Record::Other(line.to_string()),
            },
            ("panic", _) => Record::Panic,
            ("ready", None) => Record::Ready,
            _ => Record::Other(line.to_string()),
        }
    }
}

/// What the control channel said about the run, folded over all its records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// The first `exit` or `signal` record.
    pub end: Option<ProgramEnd>,
    /// Whether a `panic` record came (at any point: it wins over an earlier `exit`).
    pub panicked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramEnd {
    Exited(u8),
    Signaled(u8),
}

impl Summary {
    pub fn add(&mut self, record: &Record) {
        match *record {
            Record::Exit(code) => {
                self.end.get_or_insert(ProgramEnd::Exited(code));
            }
            Record::Signal(n) => {
                self.end.get_or_insert(ProgramEnd::Signaled(n));
            }
            Record::Panic => self.panicked = true,
            Record::Ready | Record::Other(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_known_kinds() {
        assert_eq!(Record::parse("exit 0\n"), Record::Exit(0));
        assert_eq!(Record::parse("exit 255"), Record::Exit(255));
        assert_eq!(Record::parse("signal 9\r\n"), Record::Signal(9));
        assert_eq!(Record::parse("panic"), Record::Panic);
        assert_eq!(Record::parse("panic at mm/frame.rs:12"), Record::Panic);
    }

    #[test]
    fn unknown_and_malformed_lines_are_other() {
        for line in [
            "",
            "trace 1 2 3",
            "exit",
            "exit 256",
            "exit -1",
            "exit 3 4",
            "signal 0",
            "signal x",
            "timeshare: hello",
            "EXIT 1",
        ] {
            assert!(matches!(Record::parse(line), Record::Other(_)), "{line:?}");
        }
    }

    #[test]
    fn summary_keeps_the_first_end_and_any_panic() {
        let mut s = Summary::default();
        for line in ["trace x", "exit 3", "signal 9", "exit 4"] {
            s.add(&Record::parse(line));
        }
        assert_eq!(
            s,
            Summary {
                end: Some(ProgramEnd::Exited(3)),
                panicked: false
            }
        );
        s.add(&Record::Panic);
        assert!(s.panicked);
    }
}
