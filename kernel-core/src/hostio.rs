//! The console's channel to the host: two rings of records in guest RAM, which the
//! host CLI maps too (guest RAM is a memory file it shares with QEMU). The kernel
//! writes and the host reads the *output* ring (what programs write to fd 1 and 2,
//! and the terminal's echo); the host writes and the kernel reads the *input* ring
//! (the host's stdin, then its end). Both sides run this module's code on the same
//! words, so they always agree on the layout.
//!
//! Why a shared-memory ring rather than the UART or virtio-console: a UART moves one
//! byte per emulated port access (0.34 MB/s through QEMU), and with the end of input
//! on a second channel, that end could overtake the data. A ring moves a write's
//! bytes with plain stores, carries fd 1, fd 2 and the end of input in the one
//! order they happened, and its fixed size is the back-pressure: a full ring blocks
//! the writer. virtio-console would give the same with a PCI device, virtqueues and
//! their negotiation to drive from the kernel; the ring is the trace ring's
//! mechanism again (`crate::trace`), a page of protocol.
//!
//! # Layout
//! `HEADER_WORDS` words of channel header, then each ring's `RING_HEADER_WORDS`
//! words (output first), then the output ring's `capacity` data words, then the
//! input ring's. Every word is a little-endian `u64` accessed atomically.
//!
//! # Records
//! A record is one header word (`kind` in bits 0..8, its length in bytes in bits
//! 32..64) and its bytes in the words after it, eight to a word, the last word
//! padded. Word positions count from 0 since boot; position `p` is data word
//! `p % capacity`, so a record may wrap around the end.
//!
//! # Indices and doorbells
//! Each ring has four words, each written by one side only: `HEAD` (producer: words
//! published), `TAIL` (consumer: words consumed), and two *wait* words, virtio's
//! event indices: a consumer that found the ring empty writes `CONSUMER_WAIT = TAIL`
//! and sleeps; a producer that moves `HEAD` across it rings the consumer's doorbell.
//! A producer that found no room writes `PRODUCER_WAIT = TAIL` and sleeps; a
//! consumer that moves `TAIL` across it rings the producer's doorbell. Each side
//! writes its word, then (after a full fence) looks again before sleeping, so a
//! doorbell is never missed; and it is rung once per sleep, not once per record.
//! No word is ever read-modified-written by both sides (QEMU's single-threaded TCG
//! does not make a guest's atomic instructions atomic against the host).
//! The kernel's doorbell is an interrupt (a byte on COM1), the host's a byte the
//! kernel writes to an I/O port (`OUTPUT_DOORBELL_PORT`, `INPUT_DOORBELL_PORT`).

use core::sync::atomic::{fence, AtomicU64, Ordering};

use crate::abi::Winsize;

/// `MAGIC` in the channel's first word: "TSHOSTIO".
pub const MAGIC: u64 = u64::from_le_bytes(*b"TSHOSTIO");
/// Channel header words.
pub const MAGIC_WORD: usize = 0;
/// Each ring's capacity in data words.
pub const CAPACITY_WORD: usize = 1;
/// Written by the host: `STDOUT_CLOSED` and `STDERR_CLOSED`, once its write to
/// that stream failed (a reader that went away): the program's next write there
/// gets EPIPE.
pub const CLOSED_WORD: usize = 2;
/// Written by the host: the terminal's window size (`Winsize` as its 8 bytes),
/// when the host terminal was resized.
pub const WINDOW_WORD: usize = 3;
pub const HEADER_WORDS: usize = 8;

pub const STDOUT_CLOSED: u64 = 1 << 1;
pub const STDERR_CLOSED: u64 = 1 << 2;

/// Ring header words, relative to the ring's header.
const HEAD: usize = 0;
const TAIL: usize = 1;
const CONSUMER_WAIT: usize = 2;
const PRODUCER_WAIT: usize = 3;
pub const RING_HEADER_WORDS: usize = 4;

/// The I/O ports the kernel writes a byte to, to ring the host's doorbell: the
/// output ring has records, or the input ring has room.
pub const OUTPUT_DOORBELL_PORT: u16 = 0xe9;
pub const INPUT_DOORBELL_PORT: u16 = 0xec;

/// Data words in each ring: 128 KiB, a few of the host's pipe buffers' worth, so a
/// stream keeps moving while the other side is busy for a moment.
pub const CAPACITY: usize = 16 * 1024;

/// The words of a whole channel of `capacity` data words per ring.
pub const fn channel_words(capacity: usize) -> usize {
    HEADER_WORDS + 2 * RING_HEADER_WORDS + 2 * capacity
}

/// What a record carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Output to the terminal itself (echo, the process table): where the host's
    /// terminal is.
    Terminal = 0,
    /// Output written to fd 1 / fd 2 (the host's stdout / stderr).
    Stdout = 1,
    Stderr = 2,
    /// Bytes of the host's stdin.
    Input = 3,
    /// The host's stdin ended (after every byte of it).
    EndOfInput = 4,
}

impl Kind {
    fn from_byte(byte: u8) -> Option<Kind> {
        [Kind::Terminal, Kind::Stdout, Kind::Stderr, Kind::Input, Kind::EndOfInput]
            .into_iter()
            .find(|k| *k as u8 == byte)
    }
}

/// One record's place: its kind, its length in bytes and its first data word's
/// position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    pub kind: Kind,
    pub length: usize,
    data: u64,
    /// The position after the record.
    end: u64,
}

/// Why a ring cannot be read: the other side wrote what no producer writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corrupt;

/// One of the two rings, seen from either side.
#[derive(Clone, Copy)]
pub struct Ring<'a> {
    header: &'a [AtomicU64],
    data: &'a [AtomicU64],
    /// A full barrier that orders this side's stores before its later loads as the
    /// other side sees them.
    fence: fn(),
}

/// The host's fence: its CPU's.
pub fn cpu_fence() {
    fence(Ordering::SeqCst);
}

/// The channel's two rings and its header, in a channel's words (see the layout).
#[derive(Clone, Copy)]
pub struct Channel<'a> {
    pub header: &'a [AtomicU64],
    pub output: Ring<'a>,
    pub input: Ring<'a>,
}

impl<'a> Channel<'a> {
    /// The channel laid out in `words` (`channel_words(capacity)` of them), or None
    /// if they are too few; `fence` is this side's full barrier (see the module).
    pub fn new(words: &'a [AtomicU64], capacity: usize, fence: fn()) -> Option<Channel<'a>> {
        if capacity < 2 || words.len() < channel_words(capacity) {
            return None;
        }
        let (header, rest) = words.split_at(HEADER_WORDS);
        let (output_header, rest) = rest.split_at(RING_HEADER_WORDS);
        let (input_header, rest) = rest.split_at(RING_HEADER_WORDS);
        let (output_data, rest) = rest.split_at(capacity);
        let input_data = rest.get(..capacity)?;
        Some(Channel {
            header,
            output: Ring { header: output_header, data: output_data, fence },
            input: Ring { header: input_header, data: input_data, fence },
        })
    }

    /// The kernel's side: writes the header of a fresh channel.
    pub fn initialize(&self) {
        self.header[CAPACITY_WORD].store(self.output.data.len() as u64, Ordering::Relaxed);
        self.header[MAGIC_WORD].store(MAGIC, Ordering::Release);
    }

    /// The host's side: whether these words hold a channel of `capacity`.
    pub fn is_initialized(&self) -> bool {
        self.header[MAGIC_WORD].load(Ordering::Acquire) == MAGIC
            && self.header[CAPACITY_WORD].load(Ordering::Relaxed) == self.output.data.len() as u64
    }

    pub fn closed(&self) -> u64 {
        self.header[CLOSED_WORD].load(Ordering::Acquire)
    }

    /// The host's side: marks `streams` (`STDOUT_CLOSED`, `STDERR_CLOSED`) closed.
    pub fn close(&self, streams: u64) {
        let closed = self.closed() | streams;
        self.header[CLOSED_WORD].store(closed, Ordering::Release);
    }

    pub fn window(&self) -> Winsize {
        Winsize::from_bytes(self.header[WINDOW_WORD].load(Ordering::Acquire).to_le_bytes())
    }

    pub fn set_window(&self, size: Winsize) {
        self.header[WINDOW_WORD].store(u64::from_le_bytes(size.to_bytes()), Ordering::Release);
    }
}

/// Whether a move of an index from `old` to `new` crosses `wait` (`old <= wait <
/// new`, in wrapping arithmetic): the side waiting there must be woken.
pub fn crosses(wait: u64, old: u64, new: u64) -> bool {
    new.wrapping_sub(wait).wrapping_sub(1) < new.wrapping_sub(old)
}

/// Data words a record of `length` bytes takes, its header included.
pub const fn record_words(length: usize) -> usize {
    1 + length.div_ceil(8)
}

impl Ring<'_> {
    fn word(&self, position: u64) -> &AtomicU64 {
        &self.data[(position % self.data.len() as u64) as usize]
    }

    fn head(&self) -> u64 {
        self.header[HEAD].load(Ordering::Acquire)
    }

    fn tail(&self) -> u64 {
        self.header[TAIL].load(Ordering::Acquire)
    }

    /// Producer: the free data words.
    pub fn room(&self) -> usize {
        let used = self.header[HEAD].load(Ordering::Relaxed).wrapping_sub(self.tail());
        self.data.len().saturating_sub(used as usize)
    }

    /// Producer: the most bytes one record can take now (0: not even an empty
    /// record fits).
    pub fn room_for_bytes(&self) -> Option<usize> {
        self.room().checked_sub(1).map(|words| words * 8)
    }

    /// Producer: appends one record of `kind` with as many of `bytes` as fit (all of
    /// them, or at least one word's worth), and publishes it. Returns how many bytes
    /// it took (None: no room, the ring is unchanged) and whether the consumer's
    /// doorbell must be rung.
    pub fn push(&self, kind: Kind, bytes: &[u8]) -> Option<(usize, bool)> {
        let fits = self.room_for_bytes()?;
        if fits == 0 && !bytes.is_empty() {
            return None;
        }
        let taken = &bytes[..bytes.len().min(fits)];
        let head = self.header[HEAD].load(Ordering::Relaxed);
        self.word(head).store(kind as u64 | (taken.len() as u64) << 32, Ordering::Relaxed);
        let mut position = head + 1;
        for chunk in taken.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.word(position).store(u64::from_le_bytes(word), Ordering::Relaxed);
            position += 1;
        }
        self.header[HEAD].store(position, Ordering::Release);
        (self.fence)();
        let doorbell = crosses(self.header[CONSUMER_WAIT].load(Ordering::Relaxed), head, position);
        Some((taken.len(), doorbell))
    }

    /// Producer, before sleeping on a full ring: asks for the doorbell when the
    /// consumer frees words. Returns whether the ring is still too full for a record
    /// of `length` bytes (else do not sleep: look again).
    pub fn wait_for_room(&self, length: usize) -> bool {
        self.header[PRODUCER_WAIT].store(self.tail(), Ordering::Relaxed);
        (self.fence)();
        self.room() < record_words(length.min(8))
    }

    /// Consumer: the first record not yet consumed, if any.
    pub fn peek(&self) -> Result<Option<Record>, Corrupt> {
        let tail = self.header[TAIL].load(Ordering::Relaxed);
        let head = self.head();
        if head == tail {
            return Ok(None);
        }
        let word = self.word(tail).load(Ordering::Relaxed);
        let kind = Kind::from_byte(word as u8).ok_or(Corrupt)?;
        let length = (word >> 32) as usize;
        let end = tail + record_words(length) as u64;
        if head.wrapping_sub(tail) > self.data.len() as u64 || end.wrapping_sub(tail) > head.wrapping_sub(tail) {
            return Err(Corrupt);
        }
        Ok(Some(Record { kind, length, data: tail + 1, end }))
    }

    /// Consumer: copies `record`'s bytes from `offset` on into `into` (as many as
    /// fit); returns how many.
    pub fn copy_out(&self, record: &Record, offset: usize, into: &mut [u8]) -> usize {
        let count = into.len().min(record.length.saturating_sub(offset));
        let mut copied = 0;
        while copied < count {
            let at = offset + copied;
            let bytes = self.word(record.data + (at / 8) as u64).load(Ordering::Relaxed).to_le_bytes();
            let from = &bytes[at % 8..];
            let take = from.len().min(count - copied);
            into[copied..copied + take].copy_from_slice(&from[..take]);
            copied += take;
        }
        count
    }

    /// Consumer: the bytes of every published record of `kind`, less `offset`
    /// already read of the first (FIONREAD).
    pub fn unread_bytes(&self, kind: Kind, offset: usize) -> usize {
        let head = self.head();
        let mut position = self.header[TAIL].load(Ordering::Relaxed);
        let mut unread = 0usize;
        while position != head {
            let word = self.word(position).load(Ordering::Relaxed);
            let length = (word >> 32) as usize;
            if word as u8 == kind as u8 {
                unread = unread.saturating_add(length);
            }
            position = position.wrapping_add(record_words(length) as u64);
            if position.wrapping_sub(head) < self.data.len() as u64 && position != head {
                break; // past the head: not a record boundary (corrupt)
            }
        }
        unread.saturating_sub(offset)
    }

    /// Consumer: done with `record` (and every record before it). Returns whether
    /// the producer's doorbell must be rung.
    pub fn consume(&self, record: &Record) -> bool {
        let old = self.header[TAIL].load(Ordering::Relaxed);
        self.header[TAIL].store(record.end, Ordering::Release);
        (self.fence)();
        crosses(self.header[PRODUCER_WAIT].load(Ordering::Relaxed), old, record.end)
    }

    /// Consumer, before sleeping on an empty ring: asks for the doorbell when the
    /// producer publishes. Returns whether the ring is still empty (else do not
    /// sleep: look again).
    pub fn wait_for_records(&self) -> bool {
        let tail = self.header[TAIL].load(Ordering::Relaxed);
        self.header[CONSUMER_WAIT].store(tail, Ordering::Relaxed);
        (self.fence)();
        self.head() == tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use std::sync::Arc;

    fn zeroed_channel(capacity: usize) -> Vec<AtomicU64> {
        (0..channel_words(capacity)).map(|_| AtomicU64::new(0)).collect()
    }

    fn read_all(ring: &Ring, out: &mut Vec<(Kind, Vec<u8>)>) -> bool {
        let mut doorbell = false;
        while let Some(record) = ring.peek().unwrap() {
            let mut bytes = alloc::vec![0u8; record.length];
            assert_eq!(ring.copy_out(&record, 0, &mut bytes), record.length);
            out.push((record.kind, bytes));
            doorbell |= ring.consume(&record);
        }
        doorbell
    }

    #[test]
    fn crossing_an_index() {
        assert!(crosses(5, 5, 6));
        assert!(crosses(5, 3, 9));
        assert!(!crosses(5, 6, 9));
        assert!(!crosses(9, 3, 9));
        assert!(!crosses(2, 3, 9));
        assert!(crosses(u64::MAX, u64::MAX - 1, 2), "across the wrap");
        assert!(!crosses(7, 7, 7), "no move, no doorbell");
    }

    #[test]
    fn records_keep_their_kind_order_and_bytes_across_the_wrap() {
        let words = zeroed_channel(8);
        let channel = Channel::new(&words, 8, cpu_fence).unwrap();
        channel.initialize();
        assert!(channel.is_initialized());
        let ring = channel.output;
        let mut got = Vec::new();
        let mut sent = Vec::new();
        for round in 0..20u8 {
            let bytes: Vec<u8> = (0..round % 13).map(|i| round.wrapping_mul(31).wrapping_add(i)).collect();
            let kind = if round % 3 == 0 { Kind::Stderr } else { Kind::Stdout };
            let mut rest = &bytes[..];
            loop {
                match ring.push(kind, rest) {
                    Some((taken, _)) => {
                        sent.push((kind, rest[..taken].to_vec()));
                        rest = &rest[taken..];
                        if rest.is_empty() {
                            break;
                        }
                    }
                    None => {
                        read_all(&ring, &mut got);
                    }
                }
            }
        }
        read_all(&ring, &mut got);
        assert_eq!(got, sent);
        assert!(got.iter().any(|(_, bytes)| bytes.len() < 12), "long writes were split");
    }

    #[test]
    fn a_record_takes_what_fits_and_never_more_than_the_room() {
        let words = zeroed_channel(4);
        let ring = Channel::new(&words, 4, cpu_fence).unwrap().output;
        assert_eq!(ring.push(Kind::Stdout, b"0123456789abcdefXYZ"), Some((19, true)));
        assert_eq!(ring.room(), 0);
        assert_eq!(ring.push(Kind::Stdout, b"x"), None);
        assert_eq!(ring.push(Kind::EndOfInput, b""), None);
        let record = ring.peek().unwrap().unwrap();
        assert_eq!(ring.unread_bytes(Kind::Stdout, 3), 16);
        assert_eq!(ring.unread_bytes(Kind::Stderr, 0), 0);
        let mut part = [0u8; 5];
        assert_eq!(ring.copy_out(&record, 11, &mut part), 5);
        assert_eq!(&part, b"bcdef");
        ring.consume(&record);
        let words = words.iter().map(|w| w.load(Ordering::Relaxed)).collect::<Vec<_>>();
        assert_eq!(words[HEADER_WORDS + HEAD], 4);
        assert_eq!(words[HEADER_WORDS + TAIL], 4);
    }

    #[test]
    fn doorbells_ring_once_per_sleep() {
        let words = zeroed_channel(16);
        let ring = Channel::new(&words, 16, cpu_fence).unwrap().input;
        // The consumer sleeps on an empty ring: the next push rings, the one after not.
        assert!(ring.wait_for_records());
        assert_eq!(ring.push(Kind::Input, b"a"), Some((1, true)));
        assert_eq!(ring.push(Kind::Input, b"b"), Some((1, false)));
        let mut got = Vec::new();
        assert!(!ring.wait_for_records(), "not empty: do not sleep");
        assert_eq!(ring.push(Kind::Input, b"c"), Some((1, false)), "its wait was crossed already");
        // Fill it; the producer sleeps; consuming rings it once.
        while ring.push(Kind::Input, b"12345678").is_some() {}
        assert!(ring.wait_for_room(8));
        assert!(read_all(&ring, &mut got));
        assert!(!ring.wait_for_room(8), "room now: do not sleep");
        assert_eq!(
            got[..3],
            [(Kind::Input, b"a".to_vec()), (Kind::Input, b"b".to_vec()), (Kind::Input, b"c".to_vec())]
        );
    }

    #[test]
    fn the_host_sees_garbage_as_corrupt() {
        let words = zeroed_channel(8);
        let ring = Channel::new(&words, 8, cpu_fence).unwrap().output;
        ring.push(Kind::Stdout, b"abc").unwrap();
        words[HEADER_WORDS + 2 * RING_HEADER_WORDS].store(0xff, Ordering::Relaxed);
        assert_eq!(ring.peek(), Err(Corrupt));
        words[HEADER_WORDS + 2 * RING_HEADER_WORDS].store(1 | 1000 << 32, Ordering::Relaxed);
        assert_eq!(ring.peek(), Err(Corrupt), "longer than what was published");
        words[HEADER_WORDS + 2 * RING_HEADER_WORDS].store(1 | 3 << 32, Ordering::Relaxed);
        assert!(ring.peek().unwrap().is_some());
        words[HEADER_WORDS + HEAD].store(100, Ordering::Relaxed);
        assert_eq!(ring.peek(), Err(Corrupt), "a head past the ring's size");
    }

    #[test]
    fn channel_header_fields() {
        let words = zeroed_channel(8);
        assert!(Channel::new(&words, 9, cpu_fence).is_none());
        let channel = Channel::new(&words, 8, cpu_fence).unwrap();
        assert!(!channel.is_initialized());
        channel.close(STDOUT_CLOSED);
        channel.close(STDERR_CLOSED);
        assert_eq!(channel.closed(), STDOUT_CLOSED | STDERR_CLOSED);
        let size = Winsize { rows: 50, cols: 132, xpixel: 0, ypixel: 0 };
        channel.set_window(size);
        assert_eq!(channel.window(), size);
    }

    /// A producer and a consumer on two threads, each sleeping as the protocol says
    /// (here: spinning until the other side's doorbell flag is set): every byte
    /// arrives, in order.
    #[test]
    fn two_threads_move_every_byte_in_order() {
        use std::sync::atomic::AtomicBool;
        let words: Arc<Vec<AtomicU64>> = Arc::new(zeroed_channel(64));
        let total: usize = 200_000;
        let consumer_bell = Arc::new(AtomicBool::new(false));
        let producer_bell = Arc::new(AtomicBool::new(false));
        let producer = {
            let (words, consumer_bell, producer_bell) = (words.clone(), consumer_bell.clone(), producer_bell.clone());
            std::thread::spawn(move || {
                let ring = Channel::new(&words, 64, cpu_fence).unwrap().output;
                let data: Vec<u8> = (0..total).map(|i| (i * 7 % 251) as u8).collect();
                let mut sent = 0;
                while sent < total {
                    let chunk = &data[sent..total.min(sent + 1 + sent % 300)];
                    match ring.push(Kind::Stdout, chunk) {
                        Some((taken, bell)) => {
                            sent += taken;
                            if bell {
                                consumer_bell.store(true, Ordering::SeqCst);
                            }
                        }
                        None => {
                            if ring.wait_for_room(chunk.len()) {
                                while !producer_bell.swap(false, Ordering::SeqCst) {
                                    std::thread::yield_now();
                                }
                            }
                        }
                    }
                }
            })
        };
        let ring = Channel::new(&words, 64, cpu_fence).unwrap().output;
        let mut received = Vec::new();
        while received.len() < total {
            match ring.peek().unwrap() {
                Some(record) => {
                    let start = received.len();
                    received.resize(start + record.length, 0);
                    ring.copy_out(&record, 0, &mut received[start..]);
                    if ring.consume(&record) {
                        producer_bell.store(true, Ordering::SeqCst);
                    }
                }
                None => {
                    if ring.wait_for_records() {
                        while !consumer_bell.swap(false, Ordering::SeqCst) {
                            std::thread::yield_now();
                        }
                    }
                }
            }
        }
        producer.join().unwrap();
        assert!(received.iter().enumerate().all(|(i, &b)| b == (i * 7 % 251) as u8));
    }
}
