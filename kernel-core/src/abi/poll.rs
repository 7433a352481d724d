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
/// memory, `Pollfd::SIZE` bytes each; a partial last entry is left alone): each
/// gets `revents_of(fd, events)`, its fd unsigned, a negative one included (2^31
/// or more: no descriptor table is that large, so `revents_of` finds no file and
/// answers `unopened_revents`, 0 for it). Returns how many entries have revents.
/// The bytes go back to the caller as they are: one buffer, no entry decoded into
/// another.
pub fn answer_entries(entries: &mut [u8], mut revents_of: impl FnMut(u32, u16) -> u16) -> usize {
    let mut ready = 0;
    for entry in entries.as_chunks_mut::<{ Pollfd::SIZE }>().0 {
        // One load for fd and events.
        let word = u64::from_le_bytes(*entry);
        let revents = revents_of(word as u32, (word >> 32) as u16);
        entry[6..8].copy_from_slice(&revents.to_le_bytes());
        ready += usize::from(revents != 0);
    }
    ready
}

/// The revents of a poll entry whose fd names no open file: POLLNVAL, but 0 for a
/// negative fd (as `answer_entries` hands it), which poll skips: how a program
/// leaves an entry out. Asked only when the lookup failed, so that the common
/// entry costs no test of the sign.
pub fn unopened_revents(fd: u32) -> u16 {
    if (fd as i32) < 0 {
        0
    } else {
        POLLNVAL
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

/// The descriptors a C `fd_set` holds (glibc's and musl's `FD_SETSIZE`).
pub const FD_SETSIZE: usize = 1024;

/// The bytes of an `fd_set` bitmap covering `nfds` descriptors: whole 64-bit words,
/// the prefix of the caller's bitmap the kernel reads and writes, as Linux does.
pub const fn fd_set_bytes(nfds: usize) -> usize {
    nfds.div_ceil(64) * 8
}

/// One pass of select over `bitmaps`: six bitmaps of `fd_set_bytes(count)` bytes
/// each, back to back, as copied from and to user memory: the read, write and
/// except sets asked about, then their results, which the pass rewrites.
/// `events_of(fd)` is asked for every descriptor below `count` in at least one
/// set, in increasing order; each result gets the descriptors whose events its set
/// wants (`SELECT_READ`...). Returns how many bits the results have, or the first
/// error of `events_of`.
///
/// Word by word, only the bits set (trailing_zeros), as Linux's `do_select`: a
/// select of a few high descriptors costs no step per number below them, a
/// descriptor with no events no look at the sets, and a result word is written
/// only when it has a bit. The bits of a last word past `count` are not looked
/// at, as on Linux.
///
/// Panics if `bitmaps` is shorter than the six bitmaps (the caller sizes it).
pub fn select_pass<E>(
    bitmaps: &mut [u8],
    count: usize,
    mut events_of: impl FnMut(usize) -> Result<u16, E>,
) -> Result<usize, E> {
    let set_bytes = fd_set_bytes(count);
    let (sets, results) = bitmaps[..6 * set_bytes].split_at_mut(3 * set_bytes);
    results.fill(0);
    let mut ready = 0;
    for index in 0..set_bytes / 8 {
        let below_count = count - index * 64;
        let in_range = if below_count >= 64 { u64::MAX } else { (1 << below_count) - 1 };
        let words: [u64; 3] = core::array::from_fn(|set| {
            let at = set * set_bytes + index * 8;
            u64::from_le_bytes(sets[at..at + 8].try_into().expect("8 bytes")) & in_range
        });
        let found = select_word(&words, index * 64, &mut ready, &mut events_of)?;
        for (set, &word) in found.iter().enumerate() {
            if word != 0 {
                let at = set * set_bytes + index * 8;
                results[at..at + 8].copy_from_slice(&word.to_le_bytes());
            }
        }
    }
    Ok(ready)
}

/// One word of `select_pass`: the descriptors from `first_fd` on whose bits are
/// set in any of the three `words`, asked in increasing order; returns the
/// result words and adds their bits to `ready`. Out of line, so that its loop,
/// one call of `events_of` a descriptor, has the callee-saved registers to itself
/// (the sets and results are touched only for a descriptor with events).
#[inline(never)]
fn select_word<E>(
    words: &[u64; 3],
    first_fd: usize,
    ready: &mut usize,
    events_of: &mut impl FnMut(usize) -> Result<u16, E>,
) -> Result<[u64; 3], E> {
    const WANTED: [u16; 3] = [SELECT_READ, SELECT_WRITE, SELECT_EXCEPT];
    let mut left = words[0] | words[1] | words[2];
    let mut found = [0u64; 3];
    while left != 0 {
        let bit = left.trailing_zeros();
        left &= left - 1;
        let events = events_of(first_fd + bit as usize)?;
        if events == 0 {
            continue;
        }
        for set in 0..3 {
            if words[set] >> bit & 1 != 0 && events & WANTED[set] != 0 {
                found[set] |= 1 << bit;
                *ready += 1;
            }
        }
    }
    Ok(found)
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
    fn unopened_descriptors_are_invalid_unless_negative() {
        assert_eq!(unopened_revents(7), POLLNVAL);
        assert_eq!(unopened_revents(i32::MAX as u32), POLLNVAL);
        assert_eq!(unopened_revents(-1i32 as u32), 0);
        assert_eq!(unopened_revents(i32::MIN as u32), 0);
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
            match fd {
                4 => POLLIN,
                9 => 0,
                // No file: how a table answers for every negative descriptor.
                _ => unopened_revents(fd),
            }
        });
        assert_eq!(ready, 1);
        assert_eq!(asked, [(4, POLLIN), (u32::MAX, POLLIN), (9, POLLOUT)], "each entry is asked, fd unsigned");
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
    fn fd_set_sizes() {
        assert_eq!(fd_set_bytes(0), 0);
        assert_eq!(fd_set_bytes(1), 8);
        assert_eq!(fd_set_bytes(64), 8);
        assert_eq!(fd_set_bytes(65), 16);
        assert_eq!(fd_set_bytes(FD_SETSIZE), 128);
    }

    /// Six bitmaps of `count` descriptors (see `select_pass`): the three sets with
    /// the descriptors of `members` (those at or past `count` left out), the
    /// results filled with garbage the pass must clear.
    fn bitmaps(count: usize, members: [&[usize]; 3]) -> alloc::vec::Vec<u8> {
        let set_bytes = fd_set_bytes(count);
        let mut bitmaps = alloc::vec![0xa5u8; 6 * set_bytes];
        bitmaps[..3 * set_bytes].fill(0);
        for (set, fds) in members.iter().enumerate() {
            for &fd in fds.iter().filter(|&&fd| fd < set_bytes * 8) {
                bitmaps[set * set_bytes + fd / 8] |= 1 << (fd % 8);
            }
        }
        bitmaps
    }

    /// The descriptors one `select_pass` asks about, with which sets hold them (bit
    /// i: set i), checked against the results a file ready for everything gives.
    fn passed(bitmaps: &mut [u8], count: usize) -> alloc::vec::Vec<(usize, u8)> {
        let mut asked = alloc::vec::Vec::new();
        let ready = select_pass(bitmaps, count, |fd| {
            asked.push(fd);
            Ok::<u16, ()>(SELECT_READ | SELECT_WRITE | SELECT_EXCEPT)
        })
        .unwrap();
        let set_bytes = fd_set_bytes(count);
        let holds = |bitmap: usize, fd: usize| bitmaps[bitmap * set_bytes + fd / 8] >> (fd % 8) & 1 != 0;
        let holders: alloc::vec::Vec<(usize, u8)> = asked
            .iter()
            .map(|&fd| {
                let of = |first: usize| (0..3).fold(0u8, |bits, i| bits | u8::from(holds(first + i, fd)) << i);
                assert_eq!(of(0), of(3), "a ready descriptor goes in each set that holds it");
                (fd, of(0))
            })
            .collect();
        assert_eq!(ready, holders.iter().map(|(_, bits)| bits.count_ones() as usize).sum::<usize>());
        let result_bits: u32 = bitmaps[3 * set_bytes..].iter().map(|byte| byte.count_ones()).sum();
        assert_eq!(result_bits as usize, ready, "nothing else is left in the results");
        holders
    }

    #[test]
    fn select_passes_over_several_sets() {
        let members: [&[usize]; 3] = [&[3, 63, 64, 199], &[3, 5, 127, 128], &[]];
        assert_eq!(
            passed(&mut bitmaps(200, members), 200),
            [(3, 0b11), (5, 0b10), (63, 0b01), (64, 0b01), (127, 0b10), (128, 0b10), (199, 0b01)]
        );
        let below: alloc::vec::Vec<usize> = passed(&mut bitmaps(128, members), 128).iter().map(|&(fd, _)| fd).collect();
        assert_eq!(below, [3, 5, 63, 64, 127], "bits at or past the count are not looked at");
        let all: alloc::vec::Vec<usize> = (0..128).collect();
        for (count, asked) in [(65, 65), (64, 64), (1, 1)] {
            let mut full = bitmaps(count, [&all, &[], &[]]);
            // Bits of the last word past the count are set too: not looked at.
            full[..fd_set_bytes(count)].fill(0xff);
            assert_eq!(passed(&mut full, count).len(), asked);
        }
        assert!(passed(&mut bitmaps(500, [&[], &[], &[]]), 500).is_empty());
        assert!(passed(&mut bitmaps(0, [&[], &[], &[]]), 0).is_empty());
        for nfds in [1, 1024, 1025, 5000] {
            assert_eq!(passed(&mut bitmaps(nfds, [&[nfds - 1], &[], &[]]), nfds), [(nfds - 1, 1)]);
        }
    }

    #[test]
    fn select_passes_report_only_wanted_events_and_stop_at_errors() {
        let mut sets = bitmaps(64, [&[1, 2], &[2], &[]]);
        let ready = select_pass(&mut sets, 64, |fd| Ok::<u16, ()>(if fd == 2 { POLLOUT } else { POLLIN }));
        assert_eq!(ready, Ok(2));
        assert_eq!(sets[24..], [0b010, 0, 0, 0, 0, 0, 0, 0, 0b100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(select_pass(&mut sets, 64, |fd| if fd == 2 { Err(9) } else { Ok(0) }), Err(9));
        let mut none_ready = bitmaps(64, [&[1, 2], &[2], &[]]);
        assert_eq!(select_pass(&mut none_ready, 64, |_| Ok::<u16, ()>(0)), Ok(0));
        assert!(none_ready[24..].iter().all(|&byte| byte == 0), "results cleared");
    }
}
