//! `poll`/`ppoll` and `select`/`pselect6`: the event bits, `struct pollfd`, the
//! `fd_set` bitmaps, and how their timeouts read.

use crate::bytes::{pack, Fields};

pub const POLLIN: u16 = 0x1;
pub const POLLPRI: u16 = 0x2;
pub const POLLOUT: u16 = 0x4;
pub const POLLERR: u16 = 0x8;
pub const POLLHUP: u16 = 0x10;
pub const POLLNVAL: u16 = 0x20;
pub const POLLRDNORM: u16 = 0x40;
pub const POLLRDBAND: u16 = 0x80;
pub const POLLWRNORM: u16 = 0x100;
pub const POLLWRBAND: u16 = 0x200;

/// What a file that never blocks reports (Linux's `DEFAULT_POLLMASK`): regular
/// files, directories, /dev/null.
pub const DEFAULT_POLLMASK: u16 = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

/// The events a poller is told about: those it asked for, plus POLLERR and POLLHUP,
/// which are always reported (Linux's filter in `do_pollfd`).
pub fn reported(requested: u16, ready: u16) -> u16 {
    ready & (requested | POLLERR | POLLHUP)
}

/// `struct pollfd`: 8 bytes, `int fd; short events; short revents;`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pollfd {
    /// Negative: the entry is skipped (revents 0).
    pub fd: i32,
    pub events: u16,
    pub revents: u16,
}

impl Pollfd {
    pub const SIZE: usize = 8;

    /// Reads one entry as copied from user memory.
    pub fn from_bytes(bytes: [u8; Self::SIZE]) -> Self {
        let mut fields = Fields::new(&bytes);
        Self { fd: fields.u32() as i32, events: fields.u16(), revents: fields.u16() }
    }

    /// The bytes copied back (the kernel only changes `revents`).
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        pack(&[&self.fd.to_le_bytes(), &self.events.to_le_bytes(), &self.revents.to_le_bytes()])
    }
}

/// Answers, in place, the `struct pollfd` entries of `entries` (as copied from user
/// memory, `Pollfd::SIZE` bytes each; a partial last entry is left alone): an entry
/// with a negative fd gets revents 0, any other `revents_of(fd, events)`. Returns
/// how many entries have revents. The bytes go back to the caller as they are: one
/// buffer, no entry decoded into another.
pub fn answer_entries(entries: &mut [u8], mut revents_of: impl FnMut(i32, u16) -> u16) -> usize {
    let mut ready = 0;
    for entry in entries.as_chunks_mut::<{ Pollfd::SIZE }>().0 {
        // One load for fd and events.
        let word = u64::from_le_bytes(*entry);
        let fd = word as u32 as i32;
        let revents = if fd < 0 { 0 } else { revents_of(fd, (word >> 32) as u16) };
        entry[6..8].copy_from_slice(&revents.to_le_bytes());
        ready += usize::from(revents != 0);
    }
    ready
}

/// `poll`'s timeout (a C `int`, milliseconds) in nanoseconds; `None` for a
/// negative one, which means "wait forever".
pub fn poll_timeout_ns(raw: u64) -> Option<u64> {
    u64::try_from(super::int_arg(raw)).ok().map(|ms| ms * 1_000_000)
}

/// The events that make a descriptor ready for each of `select`'s three sets
/// (Linux's `POLLIN_SET`, `POLLOUT_SET`, `POLLEX_SET`).
pub const SELECT_READ: u16 = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
pub const SELECT_WRITE: u16 = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
pub const SELECT_EXCEPT: u16 = POLLPRI;

/// The descriptors a C `fd_set` holds (glibc's and musl's `FD_SETSIZE`).
pub const FD_SETSIZE: usize = 1024;

/// An `fd_set` of `select`, as many 64-bit words as `nfds` needs (the kernel only
/// reads and writes that prefix of the caller's bitmap, as Linux does).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FdSet {
    words: Words,
}

/// The words of an `FdSet`: in place up to `FD_SETSIZE` (1024) descriptors, the
/// size of every `fd_set` a C program declares, so an ordinary select takes
/// nothing from the heap; on the heap past it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Words {
    Inline { words: [u64; Words::INLINE], len: usize },
    Heap(alloc::vec::Vec<u64>),
}

impl Words {
    const INLINE: usize = FD_SETSIZE / 64;

    fn zeroed(len: usize) -> Self {
        match len {
            0..=Self::INLINE => Words::Inline { words: [0; Self::INLINE], len },
            _ => Words::Heap(alloc::vec![0; len]),
        }
    }
}

impl Default for Words {
    fn default() -> Self {
        Words::zeroed(0)
    }
}

impl core::ops::Deref for Words {
    type Target = [u64];

    fn deref(&self) -> &[u64] {
        match self {
            Words::Inline { words, len } => &words[..*len],
            Words::Heap(words) => words,
        }
    }
}

impl core::ops::DerefMut for Words {
    fn deref_mut(&mut self) -> &mut [u64] {
        match self {
            Words::Inline { words, len } => &mut words[..*len],
            Words::Heap(words) => words,
        }
    }
}

impl FdSet {
    /// The bytes of a bitmap covering `nfds` descriptors.
    pub const fn byte_len(nfds: usize) -> usize {
        nfds.div_ceil(64) * 8
    }

    /// An empty set covering `nfds` descriptors.
    pub fn empty(nfds: usize) -> Self {
        Self { words: Words::zeroed(nfds.div_ceil(64)) }
    }

    /// Reads a bitmap as copied from user memory (`byte_len(nfds)` bytes).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut words = Words::zeroed(bytes.len() / 8);
        let mut fields = Fields::new(bytes);
        words.iter_mut().for_each(|word| *word = fields.u64());
        Self { words }
    }

    /// One pass of select: `events_of(fd)` for every descriptor below `count` in at
    /// least one of `sets` (read, write, except), in increasing order; each set's
    /// result gets the descriptors whose events it wants (`SELECT_READ`...).
    /// Returns how many bits the results have, or the first error of `events_of`.
    /// Word by word, only the bits set (trailing_zeros), as Linux's `do_select`: a
    /// select of a few high descriptors costs no step per number below them; the
    /// bits of a last word past `count` are not looked at, as on Linux.
    pub fn select_pass<E>(
        sets: &[FdSet; 3],
        count: usize,
        results: &mut [FdSet; 3],
        mut events_of: impl FnMut(usize) -> Result<u16, E>,
    ) -> Result<usize, E> {
        const WANTED: [u16; 3] = [SELECT_READ, SELECT_WRITE, SELECT_EXCEPT];
        let mut ready = 0;
        for index in 0..count.div_ceil(64) {
            let below_count = count - index * 64;
            let in_range = if below_count >= 64 { u64::MAX } else { (1 << below_count) - 1 };
            let words: [u64; 3] =
                core::array::from_fn(|set| sets[set].words.get(index).map_or(0, |word| word & in_range));
            let mut left = words[0] | words[1] | words[2];
            while left != 0 {
                let bit = left.trailing_zeros();
                left &= left - 1;
                let events = events_of(index * 64 + bit as usize)?;
                // Most descriptors of a select are not ready: no look at the sets.
                if events == 0 {
                    continue;
                }
                for set in 0..3 {
                    if words[set] >> bit & 1 != 0 && events & WANTED[set] != 0 {
                        if let Some(word) = results[set].words.get_mut(index) {
                            *word |= 1 << bit;
                            ready += 1;
                        }
                    }
                }
            }
        }
        Ok(ready)
    }

    /// Empties the set, keeping its size.
    pub fn clear(&mut self) {
        self.words.fill(0);
    }

    /// Adds `fd` (ignored past the set's end).
    pub fn insert(&mut self, fd: usize) {
        if let Some(word) = self.words.get_mut(fd / 64) {
            *word |= 1 << (fd % 64);
        }
    }

    /// Writes the bitmap into `bytes` (`byte_len(nfds)` long: what is copied back
    /// to user memory).
    pub fn write_bytes(&self, bytes: &mut [u8]) {
        for (chunk, word) in bytes.chunks_exact_mut(8).zip(self.words.iter()) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_linux() {
        assert_eq!((POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL), (1, 2, 4, 8, 0x10, 0x20));
        assert_eq!((POLLRDNORM, POLLRDBAND, POLLWRNORM, POLLWRBAND), (0x40, 0x80, 0x100, 0x200));
    }

    #[test]
    fn errors_and_hangups_are_always_reported() {
        assert_eq!(reported(POLLIN, POLLIN | POLLOUT | POLLRDNORM), POLLIN);
        assert_eq!(reported(0, POLLHUP | POLLIN), POLLHUP);
        assert_eq!(reported(POLLOUT, POLLERR | POLLOUT), POLLERR | POLLOUT);
        assert_eq!(reported(0xffff, DEFAULT_POLLMASK), DEFAULT_POLLMASK);
    }

    #[test]
    fn pollfd_layout() {
        let bytes = [0xfe, 0xff, 0xff, 0xff, 0x05, 0x00, 0x20, 0x00];
        let pollfd = Pollfd::from_bytes(bytes);
        assert_eq!(pollfd, Pollfd { fd: -2, events: POLLIN | POLLOUT, revents: POLLNVAL });
        assert_eq!(pollfd.to_bytes(), bytes);
    }

    #[test]
    fn entries_are_answered_in_place() {
        let mut entries = [0u8; 3 * Pollfd::SIZE + 3];
        entries[..8].copy_from_slice(&Pollfd { fd: 4, events: POLLIN, revents: 0x7777 }.to_bytes());
        entries[8..16].copy_from_slice(&Pollfd { fd: -1, events: POLLIN, revents: 0x7777 }.to_bytes());
        entries[16..24].copy_from_slice(&Pollfd { fd: 9, events: POLLOUT, revents: 0x7777 }.to_bytes());
        entries[24..].copy_from_slice(&[1, 2, 3]);
        let mut asked = alloc::vec::Vec::new();
        let ready = answer_entries(&mut entries, |fd, events| {
            asked.push((fd, events));
            if fd == 4 {
                POLLIN
            } else {
                0
            }
        });
        assert_eq!(ready, 1);
        assert_eq!(asked, [(4, POLLIN), (9, POLLOUT)], "negative descriptors are skipped");
        assert_eq!(Pollfd::from_bytes(entries[..8].try_into().unwrap()).revents, POLLIN);
        assert_eq!(
            Pollfd::from_bytes(entries[8..16].try_into().unwrap()),
            Pollfd { fd: -1, events: POLLIN, revents: 0 }
        );
        assert_eq!(Pollfd::from_bytes(entries[16..24].try_into().unwrap()).revents, 0);
        assert_eq!(entries[24..], [1, 2, 3]);
    }

    #[test]
    fn timeouts() {
        assert_eq!(poll_timeout_ns(0), Some(0));
        assert_eq!(poll_timeout_ns(1500), Some(1_500_000_000));
        assert_eq!(poll_timeout_ns(0x7fff_ffff), Some(0x7fff_ffff * 1_000_000));
        assert_eq!(poll_timeout_ns(u64::MAX), None);
        assert_eq!(poll_timeout_ns(0xffff_ffff), None, "int -1");
        assert_eq!(poll_timeout_ns(0x1_0000_0005), Some(5_000_000), "upper half ignored");
    }

    #[test]
    fn fd_sets() {
        assert_eq!(FdSet::byte_len(0), 0);
        assert_eq!(FdSet::byte_len(1), 8);
        assert_eq!(FdSet::byte_len(65), 16);
        let mut bytes = [0u8; 16];
        bytes[0] = 0b101;
        bytes[8] = 1;
        let set = FdSet::from_bytes(&bytes);
        assert_eq!(passed(&[set, FdSet::default(), FdSet::default()], 128), [(0, 1), (2, 1), (64, 1)]);
        let mut out = FdSet::empty(65);
        out.insert(64);
        out.insert(2);
        out.insert(0);
        out.insert(5000);
        let mut written = [0xffu8; 16];
        out.write_bytes(&mut written);
        assert_eq!(written, bytes);
        out.clear();
        assert_eq!(out, FdSet::empty(65));
        assert_eq!(FdSet::from_bytes(&[1, 2, 3]), FdSet::default(), "a partial word is not read");
    }

    #[test]
    fn fd_sets_up_to_fd_setsize_are_in_place_and_larger_ones_alike() {
        assert!(matches!(FdSet::empty(1024).words, Words::Inline { len: 16, .. }));
        assert!(matches!(FdSet::from_bytes(&[0; 128]).words, Words::Inline { len: 16, .. }));
        assert!(matches!(FdSet::empty(1025).words, Words::Heap(ref words) if words.len() == 17));
        for nfds in [1, 1024, 1025, 5000] {
            let bytes: alloc::vec::Vec<u8> = (0..FdSet::byte_len(nfds)).map(|i| (i * 7 + 1) as u8).collect();
            let set = FdSet::from_bytes(&bytes);
            let mut written = alloc::vec![0; bytes.len()];
            set.write_bytes(&mut written);
            assert_eq!(written, bytes, "{nfds} descriptors");
            let mut last = FdSet::empty(nfds);
            last.insert(nfds - 1);
            assert_eq!(passed(&[last, FdSet::default(), FdSet::default()], nfds), [(nfds - 1, 1)]);
        }
    }

    /// The descriptors one `select_pass` asks about, with which sets hold them (bit
    /// i: `sets[i]`), checked against the results a file ready for everything gives.
    fn passed(sets: &[FdSet; 3], count: usize) -> alloc::vec::Vec<(usize, u8)> {
        let mut asked = alloc::vec::Vec::new();
        let mut results = [FdSet::empty(count), FdSet::empty(count), FdSet::empty(count)];
        let ready = FdSet::select_pass(sets, count, &mut results, |fd| {
            asked.push(fd);
            Ok::<u16, ()>(SELECT_READ | SELECT_WRITE | SELECT_EXCEPT)
        })
        .unwrap();
        let holders: alloc::vec::Vec<(usize, u8)> = asked
            .iter()
            .map(|&fd| {
                let holds = |set: &FdSet| set.words.get(fd / 64).is_some_and(|word| word >> (fd % 64) & 1 != 0);
                let of = |sets: &[FdSet; 3]| (0..3).fold(0u8, |bits, i| bits | u8::from(holds(&sets[i])) << i);
                assert_eq!(of(sets), of(&results), "a ready descriptor goes in each set that holds it");
                (fd, of(sets))
            })
            .collect();
        assert_eq!(ready, holders.iter().map(|(_, bits)| bits.count_ones() as usize).sum::<usize>());
        holders
    }

    #[test]
    fn select_passes_over_several_sets() {
        let mut read = FdSet::empty(200);
        let mut write = FdSet::empty(130);
        let except = FdSet::empty(0);
        for fd in [3, 63, 64, 199] {
            read.insert(fd);
        }
        for fd in [3, 5, 127, 128] {
            write.insert(fd);
        }
        let sets = [read, write, except];
        assert_eq!(
            passed(&sets, 200),
            [(3, 0b11), (5, 0b10), (63, 0b01), (64, 0b01), (127, 0b10), (128, 0b10), (199, 0b01)]
        );
        let below: alloc::vec::Vec<usize> = passed(&sets, 128).iter().map(|&(fd, _)| fd).collect();
        assert_eq!(below, [3, 5, 63, 64, 127], "bits at or past the count are not looked at");
        let full = FdSet::from_bytes(&[0xff; 16]);
        assert_eq!(passed(&[full.clone(), FdSet::default(), FdSet::default()], 65).len(), 65);
        assert_eq!(passed(&[full.clone(), FdSet::default(), FdSet::default()], 64).len(), 64);
        assert_eq!(passed(&[full, FdSet::default(), FdSet::default()], 1), [(0, 1)]);
        assert!(passed(&[FdSet::empty(500), FdSet::default(), FdSet::default()], 500).is_empty());
    }

    #[test]
    fn select_passes_report_only_wanted_events_and_stop_at_errors() {
        let mut read = FdSet::empty(64);
        let mut write = FdSet::empty(64);
        read.insert(1);
        read.insert(2);
        write.insert(2);
        let sets = [read, write, FdSet::empty(64)];
        let mut results = [FdSet::empty(64), FdSet::empty(64), FdSet::empty(64)];
        let ready =
            FdSet::select_pass(&sets, 64, &mut results, |fd| Ok::<u16, ()>(if fd == 2 { POLLOUT } else { POLLIN }));
        assert_eq!(ready, Ok(2));
        assert_eq!(results[0].words[0], 0b010);
        assert_eq!(results[1].words[0], 0b100);
        assert_eq!(FdSet::select_pass(&sets, 64, &mut results, |fd| if fd == 2 { Err(9) } else { Ok(0) }), Err(9));
    }
}
