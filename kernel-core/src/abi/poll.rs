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

/// An `fd_set` of `select`, as many 64-bit words as `nfds` needs (the kernel only
/// reads and writes that prefix of the caller's bitmap, as Linux does).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FdSet {
    words: alloc::vec::Vec<u64>,
}

impl FdSet {
    /// The bytes of a bitmap covering `nfds` descriptors.
    pub fn byte_len(nfds: usize) -> usize {
        nfds.div_ceil(64) * 8
    }

    /// An empty set covering `nfds` descriptors.
    pub fn empty(nfds: usize) -> Self {
        Self { words: alloc::vec![0; nfds.div_ceil(64)] }
    }

    /// Reads a bitmap as copied from user memory (`byte_len(nfds)` bytes).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut fields = Fields::new(bytes);
        Self { words: (0..bytes.len() / 8).map(|_| fields.u64()).collect() }
    }

    /// Every descriptor below `count` in at least one of `sets` (up to 8), in
    /// increasing order, with which of them hold it (bit i: `sets[i]`); the bits of a
    /// last word past `count` are not looked at, as on Linux. One pass over their
    /// words, 64 descriptors at a time and only the bits set, as Linux's `do_select`:
    /// a select of a few high descriptors costs no step per number below them.
    pub fn members<const N: usize>(sets: &[FdSet; N], count: usize) -> impl Iterator<Item = (usize, u8)> + '_ {
        const { assert!(N <= 8, "holders has a bit per set") };
        let words = count.div_ceil(64);
        (0..words).flat_map(move |index| {
            let of_sets: [u64; N] = core::array::from_fn(|set| sets[set].words.get(index).copied().unwrap_or(0));
            let mut left = of_sets.iter().fold(0, |any, word| any | word);
            core::iter::from_fn(move || {
                let bit = left.trailing_zeros();
                if left == 0 || index * 64 + bit as usize >= count {
                    return None;
                }
                left &= left - 1;
                let holders = (0..N).fold(0u8, |holders, set| holders | (((of_sets[set] >> bit) & 1) as u8) << set);
                Some((index * 64 + bit as usize, holders))
            })
        })
    }

    /// Adds `fd` (ignored past the set's end).
    pub fn insert(&mut self, fd: usize) {
        if let Some(word) = self.words.get_mut(fd / 64) {
            *word |= 1 << (fd % 64);
        }
    }

    /// The bytes copied back to user memory.
    pub fn to_bytes(&self) -> alloc::vec::Vec<u8> {
        self.words.iter().flat_map(|word| word.to_le_bytes()).collect()
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
        let members: alloc::vec::Vec<(usize, u8)> = FdSet::members(&[set], 128).collect();
        assert_eq!(members, [(0, 1), (2, 1), (64, 1)]);
        let mut out = FdSet::empty(65);
        out.insert(64);
        out.insert(2);
        out.insert(0);
        out.insert(5000);
        assert_eq!(out.to_bytes(), bytes);
        assert_eq!(FdSet::from_bytes(&[1, 2, 3]), FdSet::default(), "a partial word is not read");
    }

    #[test]
    fn members_of_several_sets_say_which_hold_them() {
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
        let members: alloc::vec::Vec<(usize, u8)> = FdSet::members(&sets, 200).collect();
        assert_eq!(members, [(3, 0b11), (5, 0b10), (63, 0b01), (64, 0b01), (127, 0b10), (128, 0b10), (199, 0b01)]);
        let below: alloc::vec::Vec<usize> = FdSet::members(&sets, 128).map(|(fd, _)| fd).collect();
        assert_eq!(below, [3, 5, 63, 64, 127], "bits at or past the count are not looked at");
        assert_eq!(FdSet::members(&[FdSet::empty(500), FdSet::default()], 500).count(), 0);
        assert_eq!(FdSet::members::<0>(&[], 64).count(), 0);
    }
}
