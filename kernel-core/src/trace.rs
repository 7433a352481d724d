//! The kernel event trace: its binary format and the ring that carries it to the
//! host. The kernel encodes (`Event::encode`), the host CLI decodes
//! (`Event::decode`), so the two always agree on the layout.
//!
//! # Events
//! Every event is 32 bytes, four little-endian 64-bit words:
//! ```text
//! word 0   TSC timestamp (rdtsc when the event happened)
//! word 1   bits 0..8 kind, 8..16 CPU, 16..32 aux (a small per-kind field), 32..64 pid
//! word 2   arg0 (per kind)
//! word 3   arg1 (per kind)
//! ```
//! `pid` is the process the event is about; 0 stands for the CPU's idle loop. The
//! kinds and their fields are those of `What`. A program name does not fit in one
//! event: it travels as `Name` chunks of 16 bytes right after the `Create` or `Exec`
//! event it belongs to (names longer than `MAX_NAME` bytes are cut there).
//!
//! # The ring
//! A region of guest RAM the host reads while the machine runs (its memory is a
//! file the host CLI maps too): a header of `HEADER_WORDS` words, then `capacity`
//! event slots. Event number `i` (counting from 0 since boot) lives in slot
//! `i % capacity`. The kernel alone writes `HEAD` (events written so far) and
//! `DROPPED`; the host alone writes `TAIL` (events it has copied out). The kernel
//! writes an event only when `HEAD - TAIL < capacity`, so it never overwrites what
//! the host has not read; when the ring is full the event is dropped and counted.
//! Both sides publish with release stores and read the other's word with acquire
//! loads, so the host never sees a `HEAD` covering an event not yet written.

/// Bytes in one event.
pub const EVENT_BYTES: usize = 32;
/// 64-bit words in one event.
pub const EVENT_WORDS: usize = 4;
/// Longest program name carried in full (16 chunks of 16 bytes, less one byte so
/// the length fits in a byte).
pub const MAX_NAME: usize = 255;
/// Name bytes per `Name` event.
pub const NAME_CHUNK: usize = 16;

/// `MAGIC` in the ring's first word: "TSTRACE1".
pub const MAGIC: u64 = u64::from_le_bytes(*b"TSTRACE1");
/// Words before the first event slot.
pub const HEADER_WORDS: usize = 8;
/// Header word indices.
pub const MAGIC_WORD: usize = 0;
pub const CAPACITY_WORD: usize = 1;
pub const HEAD_WORD: usize = 2;
pub const TAIL_WORD: usize = 3;
pub const DROPPED_WORD: usize = 4;
/// The TSC frequency in Hz, for turning timestamps into time.
pub const TSC_HZ_WORD: usize = 5;

/// The smallest and largest ring capacities (events) the kernel accepts; a
/// capacity is a power of two, so a slot is found with a mask.
pub const MIN_CAPACITY: u32 = 8;
pub const MAX_CAPACITY: u32 = 1 << 22;

/// The index of the first word of the slot that holds event number `index`.
pub fn slot_word(index: u64, capacity: u64) -> usize {
    let slot = index & capacity.saturating_sub(1);
    HEADER_WORDS + (slot as usize) * EVENT_WORDS
}

/// Words a ring of `capacity` events occupies, header included.
pub fn ring_words(capacity: u32) -> usize {
    HEADER_WORDS + capacity as usize * EVENT_WORDS
}

/// Why the CPU entered the kernel from user mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapReason {
    /// SYSCALL: arg0 is the system call number, arg1 its first argument.
    SystemCall = 0,
    /// A CPU exception: arg0 is the vector, arg1 the faulting address (page faults).
    Exception = 1,
    /// A device interrupt: arg0 is the vector. With pid 0 it came while the CPU idled.
    Interrupt = 2,
}

/// Why a context switch happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchReason {
    /// The timer interrupt found the quantum used up.
    Preempted = 0,
    /// The process gave the CPU up and stays runnable (sched_yield).
    Yielded = 1,
    /// The process waits for something (pipe, child, sleep, input).
    Blocked = 2,
    /// The process exited.
    Exited = 3,
    /// The idle loop found a runnable process.
    Dispatched = 4,
}

impl SwitchReason {
    /// A short description for people (legends, slice arguments).
    pub fn describe(self) -> &'static str {
        match self {
            SwitchReason::Preempted => "preempted (quantum expired)",
            SwitchReason::Yielded => "yielded",
            SwitchReason::Blocked => "blocked",
            SwitchReason::Exited => "exited",
            SwitchReason::Dispatched => "dispatched from idle",
        }
    }
}

/// What a process blocked on (the kernel's wait channels, by kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitKind {
    /// A child to change state (wait4).
    Children = 0,
    /// A sleep deadline (nanosleep).
    Sleep = 1,
    /// A vfork child to exec or exit.
    VforkDone = 2,
    /// A pipe to get data.
    PipeReadable = 3,
    /// A pipe to get room.
    PipeWritable = 4,
    /// Console input.
    ConsoleInput = 5,
    /// SIGCONT (the process is stopped).
    Stopped = 6,
    /// Any of the files a poll or select watches.
    Poll = 7,
    /// Room in the console's output ring, or the turn to write to it.
    ConsoleOutput = 8,
    /// A futex word to be woken (futex WAIT).
    Futex = 9,
    /// A channel this decoder does not know.
    Other = 255,
}

impl WaitKind {
    fn from_code(code: u64) -> WaitKind {
        match code {
            0 => WaitKind::Children,
            1 => WaitKind::Sleep,
            2 => WaitKind::VforkDone,
            3 => WaitKind::PipeReadable,
            4 => WaitKind::PipeWritable,
            5 => WaitKind::ConsoleInput,
            8 => WaitKind::ConsoleOutput,
            6 => WaitKind::Stopped,
            7 => WaitKind::Poll,
            9 => WaitKind::Futex,
            _ => WaitKind::Other,
        }
    }

    /// A short description for people.
    pub fn describe(self) -> &'static str {
        match self {
            WaitKind::Children => "child",
            WaitKind::Sleep => "sleep",
            WaitKind::VforkDone => "vfork",
            WaitKind::PipeReadable => "pipe read",
            WaitKind::PipeWritable => "pipe write",
            WaitKind::ConsoleInput => "console input",
            WaitKind::ConsoleOutput => "console output",
            WaitKind::Stopped => "stopped",
            WaitKind::Poll => "poll",
            WaitKind::Futex => "futex",
            WaitKind::Other => "other",
        }
    }
}

/// What happened, with its per-kind fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    /// Kind 1. The CPU entered the kernel (aux: reason).
    TrapEnter { reason: TrapReason, number: u64, argument: u64 },
    /// Kind 2. Return-from-trap into the process's user mode.
    TrapExit,
    /// Kind 3. A system call finished (arg0: number, arg1: result or -errno).
    SyscallExit { number: u64, result: i64 },
    /// Kind 4. The policy was asked for the next process (arg0: the chosen pid, 0
    /// for none; arg1: processes still queued). `pid` is who asked (0: idle).
    Schedule { chosen: u32, queued: u64 },
    /// Kind 5. Context switch from `pid` (0: idle) to `to` (0: idle) (aux: reason).
    Switch { to: u32, reason: SwitchReason },
    /// Kind 6. Thread `pid` was created by `parent` (0 for the first) in process
    /// `process` (arg0: parent, arg1: process): a new process when that is `pid`
    /// itself (or 0, as recorded before threads), else a new thread of it.
    Create { parent: u32, process: u32 },
    /// Kind 7. Process `pid` replaced its program (execve).
    Exec,
    /// Kind 8. Bytes `[chunk * 16, chunk * 16 + 16)` of `pid`'s program name, whose
    /// whole length is `length` (aux: chunk << 8 | length; arg0, arg1: the bytes).
    Name { chunk: u8, length: u8, bytes: [u8; NAME_CHUNK] },
    /// Kind 9. Process `pid` exited (arg0: its wait status).
    Exit { status: u64 },
    /// Kind 10. Process `pid` blocked (aux: wait kind; arg0: the channel's detail).
    Block { wait: WaitKind, detail: u64 },
    /// Kind 11. Process `pid` was made runnable again (aux: wait kind; arg0: 1 when a
    /// signal cut the wait short).
    Wake { wait: WaitKind, interrupted: bool },
    /// Kind 12. A policy with priority levels put `pid` at `level` (aux; 0 is the
    /// top): when it became runnable the first time and when a tick moved it.
    Level { level: u8 },
    /// Kind 13. The policy moved every task to the top level (a priority boost);
    /// arg0: boosts so far. `pid` is the task that was running.
    Boost { count: u64 },
}

/// One trace event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub tsc: u64,
    pub cpu: u8,
    pub pid: u32,
    pub what: What,
}

/// Why a 32-byte record is not an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    UnknownKind(u8),
    BadField { kind: u8 },
}

impl Event {
    /// The event as four words (see the module documentation). Inlined: the kernel
    /// encodes on its hot paths.
    #[inline]
    pub fn encode(&self) -> [u64; EVENT_WORDS] {
        let (kind, aux, arg0, arg1): (u8, u16, u64, u64) = match self.what {
            What::TrapEnter { reason, number, argument } => (1, reason as u16, number, argument),
            What::TrapExit => (2, 0, 0, 0),
            What::SyscallExit { number, result } => (3, 0, number, result as u64),
            What::Schedule { chosen, queued } => (4, 0, u64::from(chosen), queued),
            What::Switch { to, reason } => (5, reason as u16, u64::from(to), 0),
            What::Create { parent, process } => (6, 0, u64::from(parent), u64::from(process)),
            What::Exec => (7, 0, 0, 0),
            What::Name { chunk, length, bytes } => {
                let (low, high) = bytes.split_at(8);
                let word = |half: &[u8]| {
                    let mut array = [0u8; 8];
                    array.iter_mut().zip(half).for_each(|(slot, byte)| *slot = *byte);
                    u64::from_le_bytes(array)
                };
                (8, u16::from(chunk) << 8 | u16::from(length), word(low), word(high))
            }
            What::Exit { status } => (9, 0, status, 0),
            What::Block { wait, detail } => (10, wait as u16, detail, 0),
            What::Wake { wait, interrupted } => (11, wait as u16, u64::from(interrupted), 0),
            What::Level { level } => (12, u16::from(level), 0, 0),
            What::Boost { count } => (13, 0, count, 0),
        };
        let header = u64::from(kind) | u64::from(self.cpu) << 8 | u64::from(aux) << 16 | u64::from(self.pid) << 32;
        [self.tsc, header, arg0, arg1]
    }

    /// The event in four words, or why they are not one. Never panics.
    pub fn decode(words: [u64; EVENT_WORDS]) -> Result<Event, DecodeError> {
        let [tsc, header, arg0, arg1] = words;
        let kind = header as u8;
        let cpu = (header >> 8) as u8;
        let aux = (header >> 16) as u16;
        let pid = (header >> 32) as u32;
        let bad = DecodeError::BadField { kind };
        let small = |value: u64| u32::try_from(value).map_err(|_| bad);
        let what = match kind {
            1 => What::TrapEnter {
                reason: match aux {
                    0 => TrapReason::SystemCall,
                    1 => TrapReason::Exception,
                    2 => TrapReason::Interrupt,
                    _ => return Err(bad),
                },
                number: arg0,
                argument: arg1,
            },
            2 => What::TrapExit,
            3 => What::SyscallExit { number: arg0, result: arg1 as i64 },
            4 => What::Schedule { chosen: small(arg0)?, queued: arg1 },
            5 => What::Switch {
                to: small(arg0)?,
                reason: match aux {
                    0 => SwitchReason::Preempted,
                    1 => SwitchReason::Yielded,
                    2 => SwitchReason::Blocked,
                    3 => SwitchReason::Exited,
                    4 => SwitchReason::Dispatched,
                    _ => return Err(bad),
                },
            },
            6 => What::Create { parent: small(arg0)?, process: small(arg1)? },
            7 => What::Exec,
            8 => {
                let mut bytes = [0u8; NAME_CHUNK];
                let all = [arg0.to_le_bytes(), arg1.to_le_bytes()];
                bytes.iter_mut().zip(all.iter().flatten()).for_each(|(slot, byte)| *slot = *byte);
                What::Name { chunk: (aux >> 8) as u8, length: aux as u8, bytes }
            }
            9 => What::Exit { status: arg0 },
            10 => What::Block { wait: WaitKind::from_code(u64::from(aux)), detail: arg0 },
            11 => What::Wake { wait: WaitKind::from_code(u64::from(aux)), interrupted: arg0 != 0 },
            12 => What::Level { level: u8::try_from(aux).map_err(|_| bad)? },
            13 => What::Boost { count: arg0 },
            other => return Err(DecodeError::UnknownKind(other)),
        };
        Ok(Event { tsc, cpu, pid, what })
    }
}

/// The `Name` events that carry `name` (cut to `MAX_NAME` bytes), in order.
pub fn name_chunks(name: &[u8]) -> impl Iterator<Item = What> + '_ {
    let name = name.get(..MAX_NAME).unwrap_or(name);
    let length = name.len() as u8;
    // An empty name still sends one (empty) chunk, so that it is known to be empty.
    let chunks = name.len().div_ceil(NAME_CHUNK).max(1);
    (0..chunks).map(move |chunk| {
        let mut bytes = [0u8; NAME_CHUNK];
        let start = chunk * NAME_CHUNK;
        let piece = name.get(start..name.len().min(start + NAME_CHUNK)).unwrap_or(&[]);
        bytes.iter_mut().zip(piece).for_each(|(slot, byte)| *slot = *byte);
        What::Name { chunk: chunk as u8, length, bytes }
    })
}

/// Puts a name back together from its `Name` chunks. Feed it every chunk of one
/// pid in order; it answers the name once the chunk holding its last byte came.
#[derive(Clone, Debug, Default)]
pub struct NameAssembler {
    bytes: alloc::vec::Vec<u8>,
}

impl NameAssembler {
    /// Takes one chunk; returns the whole name when this chunk completes it.
    /// Chunk 0 starts a new name (whatever came before); a chunk out of order is
    /// ignored.
    pub fn push(&mut self, chunk: u8, length: u8, bytes: &[u8; NAME_CHUNK]) -> Option<alloc::vec::Vec<u8>> {
        let start = usize::from(chunk) * NAME_CHUNK;
        if chunk == 0 {
            self.bytes.clear();
        } else if self.bytes.len() != start {
            return None;
        }
        let length = usize::from(length);
        let end = length.min(start + NAME_CHUNK);
        self.bytes.extend_from_slice(bytes.get(..end.saturating_sub(start)).unwrap_or(&[]));
        (self.bytes.len() == length).then(|| core::mem::take(&mut self.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Rng;
    use alloc::vec::Vec;

    fn every_kind() -> Vec<What> {
        let mut name = [0u8; NAME_CHUNK];
        name[..4].copy_from_slice(b"demo");
        Vec::from([
            What::TrapEnter { reason: TrapReason::SystemCall, number: 39, argument: u64::MAX },
            What::TrapEnter { reason: TrapReason::Exception, number: 14, argument: 0xdead_b000 },
            What::TrapEnter { reason: TrapReason::Interrupt, number: 32, argument: 0 },
            What::TrapExit,
            What::SyscallExit { number: 0, result: -14 },
            What::SyscallExit { number: 59, result: i64::MAX },
            What::Schedule { chosen: 3, queued: 7 },
            What::Schedule { chosen: 0, queued: 0 },
            What::Switch { to: 0, reason: SwitchReason::Blocked },
            What::Switch { to: u32::MAX, reason: SwitchReason::Preempted },
            What::Switch { to: 2, reason: SwitchReason::Yielded },
            What::Switch { to: 2, reason: SwitchReason::Exited },
            What::Switch { to: 2, reason: SwitchReason::Dispatched },
            What::Create { parent: 1, process: 2 },
            What::Exec,
            What::Name { chunk: 0, length: 4, bytes: name },
            What::Exit { status: 0x0900 },
            What::Block { wait: WaitKind::Sleep, detail: 5 },
            What::Block { wait: WaitKind::ConsoleInput, detail: 0 },
            What::Wake { wait: WaitKind::PipeReadable, interrupted: true },
            What::Wake { wait: WaitKind::Children, interrupted: false },
            What::Block { wait: WaitKind::VforkDone, detail: 1 },
            What::Wake { wait: WaitKind::PipeWritable, interrupted: false },
            What::Block { wait: WaitKind::Stopped, detail: 3 },
            What::Wake { wait: WaitKind::Poll, interrupted: true },
            What::Level { level: 0 },
            What::Level { level: 255 },
            What::Boost { count: u64::MAX },
        ])
    }

    #[test]
    fn every_kind_round_trips() {
        for (index, what) in every_kind().into_iter().enumerate() {
            let event = Event { tsc: 1_000 + index as u64, cpu: index as u8, pid: 7 * index as u32, what };
            assert_eq!(Event::decode(event.encode()), Ok(event), "{what:?}");
        }
    }

    #[test]
    fn the_layout_is_pinned() {
        let event = Event { tsc: 0x1122, cpu: 1, pid: 5, what: What::Switch { to: 6, reason: SwitchReason::Yielded } };
        assert_eq!(event.encode(), [0x1122, 5 << 32 | 1 << 16 | 1 << 8 | 5, 6, 0]);
        let enter = Event {
            tsc: 9,
            cpu: 0,
            pid: 1,
            what: What::TrapEnter { reason: TrapReason::Interrupt, number: 32, argument: 0 },
        };
        assert_eq!(enter.encode(), [9, 1 << 32 | 2 << 16 | 1, 32, 0]);
        assert_eq!(EVENT_BYTES, EVENT_WORDS * 8);
        assert_eq!(&MAGIC.to_le_bytes(), b"TSTRACE1");
    }

    #[test]
    fn bad_records_are_errors_never_panics() {
        assert_eq!(Event::decode([0, 0, 0, 0]), Err(DecodeError::UnknownKind(0)));
        assert_eq!(Event::decode([0, 200, 0, 0]), Err(DecodeError::UnknownKind(200)));
        assert_eq!(Event::decode([0, 1 | 9 << 16, 0, 0]), Err(DecodeError::BadField { kind: 1 }));
        assert_eq!(Event::decode([0, 5 | 9 << 16, 1, 0]), Err(DecodeError::BadField { kind: 5 }));
        assert_eq!(Event::decode([0, 5, 1 << 40, 0]), Err(DecodeError::BadField { kind: 5 }));
        assert_eq!(Event::decode([0, 12 | 256 << 16, 0, 0]), Err(DecodeError::BadField { kind: 12 }));
        let mut rng = Rng::new(17);
        for _ in 0..50_000 {
            let words = [rng.next_u64(), rng.next_u64() & 0xffff_ffff_ffff_ff0f, rng.next_u64(), rng.below(1 << 33)];
            if let Ok(event) = Event::decode(words) {
                // Whatever decodes re-encodes to an event that decodes the same.
                assert_eq!(Event::decode(event.encode()), Ok(event));
            }
        }
    }

    #[test]
    fn names_travel_in_chunks() {
        for length in [0usize, 1, 15, 16, 17, 40, 255, 256, 1000] {
            let name: Vec<u8> = (0..length).map(|index| b'a' + (index % 26) as u8).collect();
            let mut assembler = NameAssembler::default();
            let mut done = Vec::new();
            for what in name_chunks(&name) {
                let event = Event { tsc: 0, cpu: 0, pid: 1, what };
                let Ok(Event { what: What::Name { chunk, length, bytes }, .. }) = Event::decode(event.encode()) else {
                    panic!("a name chunk")
                };
                done.extend(assembler.push(chunk, length, &bytes));
            }
            assert_eq!(done, [name[..length.min(MAX_NAME)].to_vec()], "length {length}");
        }
    }

    #[test]
    fn the_assembler_survives_hostile_chunks() {
        let mut assembler = NameAssembler::default();
        assert_eq!(assembler.push(3, 200, &[b'x'; NAME_CHUNK]), None, "out of order");
        assert_eq!(assembler.push(0, 2, b"ab\0\0\0\0\0\0\0\0\0\0\0\0\0\0"), Some(b"ab".to_vec()));
        let mut rng = Rng::new(3);
        for _ in 0..20_000 {
            let bytes = [rng.next_u64() as u8; NAME_CHUNK];
            if let Some(name) = assembler.push(rng.below(20) as u8, rng.next_u64() as u8, &bytes) {
                assert!(name.len() <= MAX_NAME);
            }
        }
    }

    #[test]
    fn slots_wrap_around_the_ring() {
        assert_eq!(slot_word(0, 8), HEADER_WORDS);
        assert_eq!(slot_word(7, 8), HEADER_WORDS + 28);
        assert_eq!(slot_word(8, 8), HEADER_WORDS);
        assert_eq!(slot_word(u64::MAX, 8), HEADER_WORDS + 28);
        assert_eq!(slot_word(5, 0), HEADER_WORDS);
        assert_eq!(ring_words(8), HEADER_WORDS + 32);
    }
}
