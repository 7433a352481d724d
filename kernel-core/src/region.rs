//! The regions of a user address space: which pages a program may use and how,
//! as non-overlapping ranges `[start, end)` of pages, each with a protection and
//! a kind. Pure bookkeeping: the kernel keeps the page tables and the frames and
//! asks this which pages change (mmap, munmap, mprotect, brk, stack growth).
//!
//! The map is kept canonical, as Linux merges anonymous mappings: two adjacent
//! regions never have the same protection and kind (they are one region), so the
//! regions are a function of which pages are mapped how, and their count (limited
//! to `MAX_REGIONS`, Linux's vm.max_map_count) is what Linux would count.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use core::ops::Range;

pub const PAGE_SIZE: u64 = 4096;
/// User addresses are below this (Linux's TASK_SIZE).
pub const USER_END: u64 = 0x0000_7fff_ffff_f000;
/// mmap places mappings top-down from here.
pub const MMAP_TOP: u64 = 0x0000_7fff_f7ff_f000;
/// Nothing is mapped below this (Linux's vm.mmap_min_addr).
pub const MMAP_MIN: u64 = 0x1_0000;
/// The most regions one address space may have (Linux's default
/// vm.max_map_count): more is ENOMEM, as on Linux.
pub const MAX_REGIONS: usize = 65530;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Protection {
    pub read: bool,
    pub write: bool,
    pub execute: bool,
}

impl Protection {
    pub const READ_WRITE: Protection = Protection { read: true, write: true, execute: false };

    pub fn is_none(self) -> bool {
        !self.read && !self.write && !self.execute
    }
}

/// What a region is, beyond its protection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// Zero-filled on first touch: the image, the heap, mmap.
    Anonymous,
    /// The stack: a fault just below it extends it down, within RLIMIT_STACK.
    Stack,
    /// Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS, MAP_SHARED of
    /// /dev/zero): zero-filled on first touch, and fork shares its pages rather
    /// than copying them on write.
    SharedAnonymous,
    /// A file's pages: those within the file's end are mapped when the mapping is
    /// made, a page past it faults with SIGBUS. `shared` (MAP_SHARED): stores
    /// reach the file's pages, and fork shares them; else each page is copied on
    /// its first write. `may_write`: whether mprotect may add PROT_WRITE (never to
    /// a shared mapping of a descriptor not open for writing: EACCES).
    File { shared: bool, may_write: bool },
    /// The clock page the vDSO reads (Linux's `[vvar]`): the kernel's, mapped
    /// with the image, never writable nor executable (mprotect: EACCES).
    Vvar,
    /// The vDSO's image (`[vdso]`): the kernel's pages, mapped at exec, shared
    /// by every process; a store (after mprotect) copies the page first.
    Vdso,
}

impl Kind {
    /// Whether fork shares the pages (no copy on write).
    pub fn is_shared(self) -> bool {
        matches!(self, Kind::SharedAnonymous | Kind::File { shared: true, .. })
    }

    /// Whether every page that can be is mapped when the region is made (a
    /// file's, the vDSO's), so that a fault on an empty one is a page past the
    /// end, not a page to zero.
    pub fn maps_its_pages_at_once(self) -> bool {
        matches!(self, Kind::File { .. } | Kind::Vvar | Kind::Vdso)
    }
}

/// One region.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Region {
    pub start: u64,
    pub end: u64,
    pub protection: Protection,
    pub kind: Kind,
}

/// Where an mmap may go.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Placement {
    /// Anywhere; the address is a hint.
    Hint(u64),
    /// Exactly here, replacing what was there (MAP_FIXED).
    Replace(u64),
    /// Exactly here, failing if something is there (MAP_FIXED_NOREPLACE).
    NoReplace(u64),
}

/// Why an mmap/munmap/mprotect was refused (the syscall layer maps it to errno).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MapError {
    InvalidArgument,
    NoMemory,
    Exists,
    /// mprotect asked for PROT_WRITE on a shared mapping that may not be written.
    Access,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Attributes {
    protection: Protection,
    kind: Kind,
}

#[derive(Clone, Copy, Debug)]
struct Piece {
    end: u64,
    attributes: Attributes,
}

/// `Regions::recent`: a region by its start and piece, and when known, the
/// protections that would make it alike the region right below or above it
/// (`alike_protections`).
#[derive(Clone, Copy, Debug)]
struct Recent {
    start: u64,
    piece: Piece,
    alike_neighbours: Option<u8>,
}

/// What an operation does to the pages of a range.
#[derive(Clone, Copy)]
enum Change {
    /// They are no longer mapped (munmap, a lowered break).
    Remove,
    /// They are all mapped with these attributes, whatever was there (mmap).
    Fill(Attributes),
    /// The mapped ones take this protection and keep their kind (mprotect).
    Protect(Protection),
}

/// What a change would do to the regions (`Regions::survey`).
struct Survey {
    /// Bytes of regions inside the range.
    inside: u64,
    /// How many regions there would be after it.
    count_after: usize,
    /// Whether two regions would be alike side by side after it (to be merged).
    joins: bool,
}

/// The regions of one address space, the program break, and the limits on them.
#[derive(Clone, Debug)]
pub struct Regions {
    /// By start address; never overlapping, never two adjacent alike.
    by_start: BTreeMap<u64, Piece>,
    /// The region a fault or an mprotect last found (a fault tends to fall where
    /// the last one did; lmbench's prot fault mprotects one page back and forth),
    /// copied out of `by_start`: a hit costs no walk of the tree. While set it is
    /// exactly `by_start`'s entry, and its alike neighbours, when recorded, are
    /// those of the regions touching it: every other change to `by_start` forgets it
    /// (`change`, `fill_free`, the stack's growth).
    recent: Option<Recent>,
    /// Bytes the regions cover.
    bytes: u64,
    /// RLIMIT_AS: the most bytes the regions may cover (u64::MAX: no limit).
    size_limit: u64,
    /// RLIMIT_STACK: how far below its top the stack may grow.
    stack_limit: u64,
    max_count: usize,
    /// Where the break starts (the page after the image) and where it is.
    break_start: u64,
    break_end: u64,
}

impl Default for Regions {
    fn default() -> Self {
        Self::new()
    }
}

impl Regions {
    /// No regions, no limits but `MAX_REGIONS`, the stack limit Linux's default.
    pub fn new() -> Regions {
        Regions {
            by_start: BTreeMap::new(),
            recent: None,
            bytes: 0,
            size_limit: u64::MAX,
            stack_limit: DEFAULT_STACK_LIMIT,
            max_count: MAX_REGIONS,
            break_start: 0,
            break_end: 0,
        }
    }

    /// How many regions there are.
    pub fn count(&self) -> usize {
        self.by_start.len()
    }

    /// Bytes the regions cover.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Sets RLIMIT_AS: regions already there stay; growth beyond it (mmap, brk,
    /// the stack) fails from now on.
    pub fn set_size_limit(&mut self, bytes: u64) {
        self.size_limit = bytes;
    }

    /// Sets RLIMIT_STACK: from now on the stack grows to at most this many bytes
    /// below its top (its pages already there stay).
    pub fn set_stack_limit(&mut self, bytes: u64) {
        self.stack_limit = bytes;
    }

    /// Every region, by address.
    pub fn iter(&self) -> impl Iterator<Item = Region> + '_ {
        self.by_start.iter().map(|(&start, piece)| region(start, piece))
    }

    /// The regions joined where they touch and fork treats them alike: each run
    /// as `(start, end, shared)` (`Kind::is_shared`), by address. A walk of the
    /// page tables per run rather than per region (fork, exit) descends from the
    /// root once for neighbours such as the stack, `[vvar]` and `[vdso]`.
    pub fn runs(&self) -> impl Iterator<Item = (u64, u64, bool)> + '_ {
        let mut pieces = self.by_start.iter();
        let mut next_run = pieces.next();
        core::iter::from_fn(move || {
            let (&start, first) = next_run.take()?;
            let shared = first.attributes.kind.is_shared();
            let mut end = first.end;
            for (next_start, next) in pieces.by_ref() {
                if *next_start != end || next.attributes.kind.is_shared() != shared {
                    next_run = Some((next_start, next));
                    break;
                }
                end = next.end;
            }
            Some((start, end, shared))
        })
    }

    /// The region holding `address`.
    pub fn at(&self, address: u64) -> Option<Region> {
        self.by_start
            .range(..=address)
            .next_back()
            .filter(|(_, piece)| address < piece.end)
            .map(|(&start, piece)| region(start, piece))
    }

    /// Declares `[start, end)` (page-aligned, user space, free) usable: the
    /// loader's segments and stack.
    pub fn insert(&mut self, start: u64, end: u64, protection: Protection, kind: Kind) -> Result<(), MapError> {
        if start >= end || checked_range(start, end - start).is_err() {
            return Err(MapError::InvalidArgument);
        }
        if !self.is_free(start, end) {
            return Err(MapError::Exists);
        }
        self.fill_free(start, end, Attributes { protection, kind })
    }

    /// Sets where the program break starts, and puts it there.
    pub fn set_break_start(&mut self, address: u64) {
        self.break_start = address;
        self.break_end = address;
    }

    /// The program break.
    pub fn program_break(&self) -> u64 {
        self.break_end
    }

    /// /proc/PID/maps: a line per region, in Linux's layout (the address range,
    /// the permissions, private, no file: offset 0, device 00:00, inode 0), the
    /// stack named `[stack]` and the region the break is in `[heap]`.
    pub fn maps(&self) -> String {
        let mut text = String::new();
        for region in self.iter() {
            let flag = |allowed: bool, letter: char| if allowed { letter } else { '-' };
            let protection = region.protection;
            let in_heap =
                self.break_end > self.break_start && region.start < self.break_end && region.end > self.break_start;
            let name = match region.kind {
                Kind::Stack => "[stack]",
                Kind::Anonymous if in_heap => "[heap]",
                Kind::Anonymous | Kind::File { .. } => "",
                Kind::SharedAnonymous => "/dev/zero (deleted)",
                Kind::Vvar => "[vvar]",
                Kind::Vdso => "[vdso]",
            };
            let line = format!(
                "{:08x}-{:08x} {}{}{}{} 00000000 00:00 0",
                region.start,
                region.end,
                flag(protection.read, 'r'),
                flag(protection.write, 'w'),
                flag(protection.execute, 'x'),
                if region.kind.is_shared() { 's' } else { 'p' },
            );
            if name.is_empty() {
                text.push_str(&line);
            } else {
                text.push_str(&format!("{line:<73}{name}"));
            }
            text.push('\n');
        }
        text
    }

    /// Moves the program break, as Linux's brk: not below where it started; a
    /// lower break unmaps the pages above it (refused when none of them is
    /// mapped), a higher one maps `[old break, new break)` read-write, which must
    /// be free, and a page above it too. Returns the break (the old one when the
    /// request is refused) and the pages whose frames go.
    pub fn set_break(&mut self, requested: u64) -> (u64, Option<Range<u64>>) {
        let unchanged = (self.break_end, None);
        if requested < self.break_start || requested > USER_END {
            return unchanged;
        }
        let old_top = page_up(self.break_end);
        let new_top = page_up(requested);
        if new_top < old_top {
            if self.overlapping(new_top, old_top).next().is_none()
                || self.change(new_top, old_top, Change::Remove).is_err()
            {
                return unchanged;
            }
            self.break_end = requested;
            return (requested, Some(new_top..old_top));
        }
        if new_top > old_top {
            let heap = Attributes { protection: Protection::READ_WRITE, kind: Kind::Anonymous };
            if new_top + PAGE_SIZE > USER_END
                || !self.is_free(old_top, new_top + PAGE_SIZE)
                || !self.within_size_limit(new_top - old_top, 0)
                || self.fill_free(old_top, new_top, heap).is_err()
            {
                return unchanged;
            }
        }
        self.break_end = requested;
        (requested, None)
    }

    /// Places `length` bytes of new mapping (mmap) of `kind`: where it went. The
    /// pages of a MAP_FIXED mapping's range that were mapped go (the caller unmaps
    /// them).
    pub fn map(
        &mut self,
        placement: Placement,
        length: u64,
        protection: Protection,
        kind: Kind,
    ) -> Result<u64, MapError> {
        if length == 0 {
            return Err(MapError::InvalidArgument);
        }
        let length = length.checked_next_multiple_of(PAGE_SIZE).ok_or(MapError::NoMemory)?;
        let start = match placement {
            Placement::Replace(address) | Placement::NoReplace(address) => {
                let end = checked_range(address, length)?;
                if matches!(placement, Placement::NoReplace(_)) && !self.is_free(address, end) {
                    return Err(MapError::Exists);
                }
                address
            }
            Placement::Hint(hint) => {
                let hint = hint & !(PAGE_SIZE - 1);
                match checked_range(hint, length) {
                    Ok(end) if self.is_free(hint, end) => hint,
                    _ => self.find_gap(length).ok_or(MapError::NoMemory)?,
                }
            }
        };
        let end = start + length;
        let replaced = self.bytes_in(start, end);
        if !self.within_size_limit(length, replaced) {
            return Err(MapError::NoMemory);
        }
        let attributes = Attributes { protection, kind };
        if replaced == 0 {
            self.fill_free(start, end, attributes)?;
        } else {
            self.change(start, end, Change::Fill(attributes))?;
        }
        Ok(start)
    }

    /// Removes `[address, address + length)` (munmap): the pages whose frames go.
    pub fn unmap(&mut self, address: u64, length: u64) -> Result<Range<u64>, MapError> {
        if length == 0 {
            return Err(MapError::InvalidArgument);
        }
        let length = length.checked_next_multiple_of(PAGE_SIZE).ok_or(MapError::InvalidArgument)?;
        let end = checked_range(address, length).map_err(|_| MapError::InvalidArgument)?;
        self.change(address, end, Change::Remove)?;
        Ok(address..end)
    }

    /// Changes the protection of `[address, address + length)` (mprotect), every
    /// page of which must be mapped (else ENOMEM and nothing changes), and none of
    /// which may be a shared file mapping that may not be written if `protection`
    /// writes, nor the clock page if it writes or executes (else EACCES): the
    /// pages whose entries change. A change that cuts regions asks `room_for`
    /// whether that many more records fit (NoMemory if not); the common one,
    /// a whole region changed in place, needs none and does not ask.
    pub fn protect(
        &mut self,
        address: u64,
        length: u64,
        protection: Protection,
        room_for: impl Fn(usize) -> bool,
    ) -> Result<Range<u64>, MapError> {
        let length = length.checked_next_multiple_of(PAGE_SIZE).ok_or(MapError::NoMemory)?;
        let end = checked_range(address, length)?;
        if length == 0 {
            return Ok(address..address);
        }
        let refuses = |kind: Kind| match kind {
            Kind::File { may_write: false, .. } => protection.write,
            Kind::Vvar => protection.write || protection.execute,
            _ => false,
        };
        if self.protect_whole_region(address, end, protection, refuses)? {
            return Ok(address..end);
        }
        if self.overlapping(address, end).any(|(_, piece)| refuses(piece.attributes.kind)) {
            return Err(MapError::Access);
        }
        // The splits are counted only when the heap is short of the most they may take.
        if !room_for(2) && !room_for(self.splits(address, length)) {
            return Err(MapError::NoMemory);
        }
        self.change(address, end, Change::Protect(protection))?;
        Ok(address..end)
    }

    /// How many regions a change to `[address, address + length)` would cut in
    /// two (at most 2: one at each end).
    pub fn splits(&self, address: u64, length: u64) -> usize {
        let end = address.saturating_add(length).next_multiple_of(PAGE_SIZE);
        [address, end].iter().filter(|&&at| self.at(at).is_some_and(|region| region.start < at)).count()
    }

    /// mprotect's common case: exactly one whole region changes (Access if it
    /// `refuses` the protection: the only region in the range), and neither
    /// neighbour becomes alike (no split, no merge, the count unchanged). The
    /// region `recent` holds with its neighbours takes one lookup, to change it;
    /// any other one walk down from `end` that also makes the change. Ok(false),
    /// nothing changed, otherwise, for `change`.
    fn protect_whole_region(
        &mut self,
        start: u64,
        end: u64,
        protection: Protection,
        refuses: impl Fn(Kind) -> bool,
    ) -> Result<bool, MapError> {
        if let Some(recent) = self.recent.as_mut().filter(|recent| recent.start == start && recent.piece.end == end) {
            if let Some(alike) = recent.alike_neighbours {
                if refuses(recent.piece.attributes.kind) {
                    return Err(MapError::Access);
                }
                if alike & protection_bit(protection) != 0 {
                    return Ok(false);
                }
                recent.piece.attributes.protection = protection;
                if let Some(piece) = self.by_start.get_mut(&start) {
                    piece.attributes.protection = protection;
                }
                return Ok(true);
            }
        }
        let mut down = self.by_start.range_mut(..=end).rev();
        let mut next = down.next();
        let above = next.as_ref().filter(|(&above_start, _)| above_start == end).map(|(_, above)| above.attributes);
        if above.is_some() {
            next = down.next();
        }
        let Some((_, piece)) = next.filter(|(&s, piece)| s == start && piece.end == end) else {
            return Ok(false);
        };
        if refuses(piece.attributes.kind) {
            return Err(MapError::Access);
        }
        let below = down.next().filter(|(_, below)| below.end == start).map(|(_, below)| below.attributes);
        let alike = alike_protections(piece.attributes.kind, below, above);
        if alike & protection_bit(protection) != 0 {
            return Ok(false);
        }
        piece.attributes.protection = protection;
        let piece = *piece;
        self.recent = Some(Recent { start, piece, alike_neighbours: Some(alike) });
        Ok(true)
    }

    /// The region holding `address`, after extending the stack down to it if
    /// `address` lies below the stack (with nothing in between), within
    /// RLIMIT_STACK of the stack's top (as Linux, the end of the region that
    /// grows) and RLIMIT_AS.
    pub fn region_or_stack_growth(&mut self, address: u64) -> Option<Region> {
        if let Some(recent) = &self.recent {
            if recent.start <= address && address < recent.piece.end {
                return Some(region(recent.start, &recent.piece));
            }
        }
        let found = self.by_start.range(..=address).next_back().filter(|(_, piece)| address < piece.end);
        if let Some((&start, &piece)) = found {
            self.recent = Some(Recent { start, piece, alike_neighbours: None });
            return Some(region(start, &piece));
        }
        let (&start, &above) = self.by_start.range(address..).next()?;
        let page = address & !(PAGE_SIZE - 1);
        if above.attributes.kind != Kind::Stack
            || above.end - page > self.stack_limit
            || !self.within_size_limit(start - page, 0)
        {
            return None;
        }
        self.recent = None;
        self.by_start.remove(&start);
        self.by_start.insert(page, above);
        self.bytes += start - page;
        // It may now touch a piece of itself that mprotect split off below.
        self.merge(page.saturating_sub(1), page + 1);
        self.at(page)
    }

    /// Whether regions cover every page of `[start, end)` (msync's check).
    pub fn covers(&self, start: u64, end: u64) -> bool {
        self.bytes_in(start, end) == end.saturating_sub(start)
    }

    /// Whether no region overlaps `[start, end)`.
    pub fn is_free(&self, start: u64, end: u64) -> bool {
        self.overlapping(start, end).next().is_none()
    }

    /// The highest free gap of `length` bytes below MMAP_TOP, above MMAP_MIN.
    fn find_gap(&self, length: u64) -> Option<u64> {
        let mut gap_end = MMAP_TOP;
        for (&start, piece) in self.by_start.range(..MMAP_TOP).rev() {
            if piece.end <= gap_end && gap_end - piece.end >= length {
                return Some(gap_end - length);
            }
            gap_end = gap_end.min(start);
        }
        // A length near 2^64 must not wrap into a small one.
        MMAP_MIN.checked_add(length).is_some_and(|lowest_end| gap_end >= lowest_end).then(|| gap_end - length)
    }

    /// Whether `more` bytes of new regions fit under RLIMIT_AS, with `freed` bytes
    /// of the existing ones about to go (a MAP_FIXED mapping replaces them).
    fn within_size_limit(&self, more: u64, freed: u64) -> bool {
        self.bytes.saturating_sub(freed).saturating_add(more) <= self.size_limit
    }

    /// Bytes of regions inside `[start, end)`.
    fn bytes_in(&self, start: u64, end: u64) -> u64 {
        self.overlapping(start, end).map(|(&s, piece)| piece.end.min(end) - s.max(start)).sum()
    }

    /// The regions overlapping `[start, end)` (start <= end).
    fn overlapping(&self, start: u64, end: u64) -> impl Iterator<Item = (&u64, &Piece)> {
        let first =
            self.by_start.range(..=start).next_back().filter(|(_, piece)| piece.end > start).map_or(start, |(&s, _)| s);
        self.by_start.range(first..end.max(first))
    }

    /// Applies `change` to `[start, end)` (page-aligned), merging what becomes
    /// alike; refused (nothing changes) if the regions would be more than the
    /// limit, or for a protection change, if a page of the range is not mapped.
    fn change(&mut self, start: u64, end: u64, change: Change) -> Result<(), MapError> {
        debug_assert!(start <= end && end <= USER_END, "change of {start:#x}..{end:#x}");
        self.recent = None;
        let Survey { inside, count_after: after, joins } = self.survey(start, end, change);
        if let (Change::Protect(_), false) = (change, inside == end - start) {
            return Err(MapError::NoMemory);
        }
        if after > self.max_count {
            return Err(MapError::NoMemory);
        }
        self.split_at(start);
        self.split_at(end);
        match change {
            Change::Remove | Change::Fill(_) => {
                self.by_start.extract_if(start..end, |_, _| true).for_each(drop);
                self.bytes -= inside;
                if let Change::Fill(attributes) = change {
                    self.by_start.insert(start, Piece { end, attributes });
                    self.bytes += end - start;
                }
            }
            Change::Protect(protection) => {
                for (_, piece) in self.by_start.range_mut(start..end) {
                    piece.attributes.protection = protection;
                }
            }
        }
        if joins {
            self.merge(start.saturating_sub(1), end.saturating_add(1));
        }
        debug_assert_eq!(self.by_start.len(), after);
        Ok(())
    }

    /// `change` filling a free range (exec's segments, most mmaps): the region goes
    /// in and merges with alike neighbours, in fewer lookups than the general case;
    /// the count is computed only where the limit is near.
    fn fill_free(&mut self, start: u64, end: u64, attributes: Attributes) -> Result<(), MapError> {
        if self.by_start.len() >= self.max_count
            && self.survey(start, end, Change::Fill(attributes)).count_after > self.max_count
        {
            return Err(MapError::NoMemory);
        }
        self.recent = None;
        self.by_start.insert(start, Piece { end, attributes });
        self.bytes += end - start;
        self.merge(start.saturating_sub(1), end.saturating_add(1));
        Ok(())
    }

    /// What `change` to `[start, end)` would do, found in one walk over the
    /// regions touching the range, in order: the ones touching it are replaced by
    /// what is left of them and the new pieces, alike neighbours joined.
    fn survey(&self, start: u64, end: u64, change: Change) -> Survey {
        let mut inside = 0;
        let mut touched = 0;
        let mut parts = 0;
        let mut pieces = 0;
        let mut last: Option<(u64, Attributes)> = None;
        let mut push = |piece_start: u64, piece_end: u64, attributes: Attributes| {
            if piece_start >= piece_end {
                return;
            }
            parts += 1;
            if last != Some((piece_start, attributes)) {
                pieces += 1;
            }
            last = Some((piece_end, attributes));
        };
        let mut filled = false;
        for (&s, piece) in self.overlapping(start.saturating_sub(1), end.saturating_add(1)) {
            touched += 1;
            inside += piece.end.min(end).saturating_sub(s.max(start));
            push(s, piece.end.min(start), piece.attributes);
            match change {
                Change::Remove => {}
                // The new region goes after what is left below it, before what is above.
                Change::Fill(attributes) => {
                    if !filled && piece.end > start {
                        push(start, end, attributes);
                        filled = true;
                    }
                }
                Change::Protect(protection) => {
                    push(s.max(start), piece.end.min(end), Attributes { protection, ..piece.attributes })
                }
            }
            push(s.max(end), piece.end, piece.attributes);
        }
        if let (Change::Fill(attributes), false) = (change, filled) {
            push(start, end, attributes);
        }
        Survey { inside, count_after: self.by_start.len() - touched + pieces, joins: parts > pieces }
    }

    /// Splits the region containing `address` in two at it (nothing at a
    /// boundary).
    fn split_at(&mut self, address: u64) {
        if let Some((_, piece)) = self.by_start.range_mut(..address).next_back() {
            if piece.end > address {
                let above = *piece;
                piece.end = address;
                self.by_start.insert(address, above);
            }
        }
    }

    /// Merges the alike neighbours among the regions overlapping `[start, end)`.
    fn merge(&mut self, start: u64, end: u64) {
        // Most changes leave nothing alike side by side: one walk finds the first
        // pair, if any, before the lookups that joining takes.
        let mut previous: Option<(u64, Piece)> = None;
        let mut first_alike = None;
        for (&piece_start, &piece) in self.overlapping(start, end) {
            if let Some((previous_start, below)) = previous {
                if below.end == piece_start && below.attributes == piece.attributes {
                    first_alike = Some(previous_start);
                    break;
                }
            }
            previous = Some((piece_start, piece));
        }
        let Some(mut cursor) = first_alike else { return };
        loop {
            let mut from_cursor = self.by_start.range(cursor..);
            let (Some((_, &current)), Some((&next_start, &next))) = (from_cursor.next(), from_cursor.next()) else {
                return;
            };
            if next_start >= end {
                return;
            }
            if next_start == current.end && next.attributes == current.attributes {
                self.by_start.remove(&next_start);
                if let Some(joined) = self.by_start.get_mut(&cursor) {
                    joined.end = next.end;
                }
            } else {
                cursor = next_start;
            }
        }
    }
}

/// Linux's default RLIMIT_STACK.
pub const DEFAULT_STACK_LIMIT: u64 = 8 << 20;

/// One bit of a byte for each of the eight protections.
fn protection_bit(protection: Protection) -> u8 {
    1 << (u8::from(protection.read) | u8::from(protection.write) << 1 | u8::from(protection.execute) << 2)
}

/// The protections (`protection_bit`s) that would make a region of `kind`
/// alike its neighbour `below` or `above` (None: a gap there).
fn alike_protections(kind: Kind, below: Option<Attributes>, above: Option<Attributes>) -> u8 {
    [below, above]
        .into_iter()
        .flatten()
        .filter(|neighbour| neighbour.kind == kind)
        .fold(0, |bits, neighbour| bits | protection_bit(neighbour.protection))
}

fn region(start: u64, piece: &Piece) -> Region {
    Region { start, end: piece.end, protection: piece.attributes.protection, kind: piece.attributes.kind }
}

fn page_up(address: u64) -> u64 {
    address.next_multiple_of(PAGE_SIZE)
}

/// The end of `[address, address + length)`, if it is page-aligned and lies in
/// the part of user space mappings may use.
fn checked_range(address: u64, length: u64) -> Result<u64, MapError> {
    if address % PAGE_SIZE != 0 {
        return Err(MapError::InvalidArgument);
    }
    match address.checked_add(length) {
        Some(end) if end <= USER_END && address >= MMAP_MIN => Ok(end),
        _ => Err(MapError::NoMemory),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Rng;
    use alloc::vec::Vec;

    const P: u64 = PAGE_SIZE;

    #[test]
    fn maps_lists_each_region_in_linux_layout() {
        let mut regions = Regions::new();
        let read_only = Protection { read: true, write: false, execute: true };
        regions.insert(0x400000, 0x401000, read_only, Kind::Anonymous).unwrap();
        regions.set_break_start(0x402000);
        regions.set_break(0x403000);
        regions.insert(0x7ffd_0000, 0x7ffe_0000, Protection::READ_WRITE, Kind::Stack).unwrap();
        let expected = [
            "00400000-00401000 r-xp 00000000 00:00 0\n",
            "00402000-00403000 rw-p 00000000 00:00 0                                  [heap]\n",
            "7ffd0000-7ffe0000 rw-p 00000000 00:00 0                                  [stack]\n",
        ];
        assert_eq!(regions.maps(), expected.concat());
    }
    const BASE: u64 = 0x4000_0000;
    const RW: Protection = Protection::READ_WRITE;
    const RO: Protection = Protection { read: true, write: false, execute: false };
    const RX: Protection = Protection { read: true, write: false, execute: true };
    const NONE: Protection = Protection { read: false, write: false, execute: false };

    fn page(n: u64) -> u64 {
        BASE + n * P
    }

    fn list(regions: &Regions) -> Vec<(u64, u64, Protection, Kind)> {
        regions.iter().map(|r| ((r.start - BASE) / P, (r.end - BASE) / P, r.protection, r.kind)).collect()
    }

    fn heap_of(pages: u64) -> Regions {
        let mut regions = Regions::new();
        regions.insert(page(0), page(2), RX, Kind::Anonymous).unwrap();
        regions.set_break_start(page(2));
        assert_eq!(regions.set_break(page(2 + pages)), (page(2 + pages), None));
        regions
    }

    #[test]
    fn munmap_in_the_middle_splits_and_mprotect_back_merges() {
        let mut regions = heap_of(8);
        assert_eq!(regions.unmap(page(4), P), Ok(page(4)..page(5)));
        assert_eq!(regions.protect(page(6), P, RO, |_| true), Ok(page(6)..page(7)));
        assert_eq!(
            list(&regions),
            [
                (0, 2, RX, Kind::Anonymous),
                (2, 4, RW, Kind::Anonymous),
                (5, 6, RW, Kind::Anonymous),
                (6, 7, RO, Kind::Anonymous),
                (7, 10, RW, Kind::Anonymous)
            ]
        );
        regions.protect(page(6), P, RW, |_| true).unwrap();
        regions.map(Placement::Replace(page(4)), P, RW, Kind::Anonymous).unwrap();
        assert_eq!(list(&regions), [(0, 2, RX, Kind::Anonymous), (2, 10, RW, Kind::Anonymous)]);
        assert_eq!(regions.bytes(), 10 * P);
    }

    #[test]
    fn brk_grows_and_shrinks_only_between_the_old_and_new_break_after_a_cut() {
        let mut regions = heap_of(8);
        regions.unmap(page(4), P).unwrap();
        regions.protect(page(6), P, RO, |_| true).unwrap();
        // The regions above the cut stay as they are; the new pages join the last.
        assert_eq!(regions.set_break(page(14)), (page(14), None));
        assert_eq!(list(&regions)[4..], [(7, 14, RW, Kind::Anonymous)]);
        assert_eq!(regions.set_break(page(5)), (page(5), Some(page(5)..page(14))));
        assert_eq!(list(&regions), [(0, 2, RX, Kind::Anonymous), (2, 4, RW, Kind::Anonymous)]);
        assert_eq!(regions.bytes(), 4 * P);
        // Nothing mapped between the new and the old break: refused, as Linux.
        assert_eq!(regions.set_break(page(3) + 10), (page(5), None));
        // Back up over the hole.
        assert_eq!(regions.set_break(page(9)), (page(9), None));
        assert_eq!(
            list(&regions),
            [(0, 2, RX, Kind::Anonymous), (2, 4, RW, Kind::Anonymous), (5, 9, RW, Kind::Anonymous)]
        );
    }

    #[test]
    fn brk_refuses_below_its_start_and_up_to_another_mapping() {
        let mut regions = heap_of(0);
        assert_eq!(regions.set_break(page(2) - 1), (page(2), None));
        assert_eq!(regions.set_break(page(2) + 100), (page(2) + 100, None));
        assert_eq!(regions.program_break(), page(2) + 100);
        regions.map(Placement::Replace(page(10)), P, RO, Kind::Anonymous).unwrap();
        // A page must stay free between the break and the next mapping.
        assert_eq!(regions.set_break(page(10)).0, page(2) + 100);
        assert_eq!(regions.set_break(page(9) + 1).0, page(2) + 100);
        assert_eq!(regions.set_break(page(9)).0, page(9));
        assert_eq!(regions.set_break(page(30)).0, page(9));
        assert_eq!(regions.set_break(USER_END + 1).0, page(9));
    }

    #[test]
    fn map_fixed_over_pieces_replaces_them() {
        let mut regions = heap_of(8);
        regions.protect(page(5), 2 * P, RO, |_| true).unwrap();
        assert_eq!(regions.map(Placement::NoReplace(page(4)), 4 * P, NONE, Kind::Anonymous), Err(MapError::Exists));
        assert_eq!(regions.map(Placement::Replace(page(4)), 4 * P, NONE, Kind::Anonymous), Ok(page(4)));
        assert_eq!(
            list(&regions),
            [
                (0, 2, RX, Kind::Anonymous),
                (2, 4, RW, Kind::Anonymous),
                (4, 8, NONE, Kind::Anonymous),
                (8, 10, RW, Kind::Anonymous)
            ]
        );
        assert_eq!(regions.bytes(), 10 * P);
        assert_eq!(
            regions.map(Placement::Replace(page(4) + 1), P, RW, Kind::Anonymous),
            Err(MapError::InvalidArgument)
        );
        assert_eq!(regions.map(Placement::Replace(USER_END), P, RW, Kind::Anonymous), Err(MapError::NoMemory));
        assert_eq!(regions.map(Placement::Hint(0), 0, RW, Kind::Anonymous), Err(MapError::InvalidArgument));
    }

    #[test]
    fn mmap_places_top_down_and_takes_a_free_hint() {
        let mut regions = Regions::new();
        assert_eq!(regions.map(Placement::Hint(0), 2 * P, RW, Kind::Anonymous), Ok(MMAP_TOP - 2 * P));
        assert_eq!(regions.map(Placement::Hint(0), P, RO, Kind::Anonymous), Ok(MMAP_TOP - 3 * P));
        assert_eq!(regions.map(Placement::Hint(MMAP_TOP - 2 * P), P, RO, Kind::Anonymous), Ok(MMAP_TOP - 4 * P));
        assert_eq!(regions.map(Placement::Hint(page(3) + 5), P, RO, Kind::Anonymous), Ok(page(3)));
        assert_eq!(regions.count(), 3);
    }

    #[test]
    fn lengths_near_2_to_the_64_are_refused_without_wrapping() {
        let mut regions = heap_of(4);
        let before = list(&regions);
        for length in [u64::MAX, u64::MAX - P + 1, 1 << 63, USER_END, USER_END - MMAP_MIN + P] {
            for hint in [0, page(0), page(1) + 0x0d000, MMAP_TOP] {
                assert_eq!(
                    regions.map(Placement::Hint(hint), length, RW, Kind::Anonymous),
                    Err(MapError::NoMemory),
                    "{length:#x}"
                );
            }
            assert_eq!(regions.map(Placement::Replace(page(0)), length, RW, Kind::Anonymous), Err(MapError::NoMemory));
            assert_eq!(
                regions.map(Placement::NoReplace(page(0)), length, RW, Kind::Anonymous),
                Err(MapError::NoMemory)
            );
            assert!(regions.unmap(page(0), length).is_err());
            assert!(regions.protect(page(0), length, RO, |_| true).is_err());
        }
        assert_eq!(list(&regions), before);
    }

    #[test]
    fn mprotect_of_one_whole_region_changes_it_in_place_or_merges() {
        let mut regions = heap_of(10);
        regions.map(Placement::NoReplace(page(20)), P, RW, Kind::Anonymous).unwrap();
        regions.map(Placement::NoReplace(page(21)), P, RO, Kind::Anonymous).unwrap();
        regions.map(Placement::NoReplace(page(22)), P, RW, Kind::Anonymous).unwrap();
        let count = regions.count();
        assert_eq!(regions.protect(page(20), P, Protection { read: false, ..RO }, |_| true), Ok(page(20)..page(21)));
        assert_eq!(
            regions.at(page(20)).map(|r| (r.start, r.end, r.protection.read)),
            Some((page(20), page(21), false))
        );
        assert_eq!(regions.count(), count, "alone: changed in place");
        assert_eq!(regions.protect(page(21), P, RW, |_| true), Ok(page(21)..page(22)));
        assert_eq!(regions.at(page(21)).map(|r| (r.start, r.end)), Some((page(21), page(23))), "joined above");
        assert_eq!(regions.protect(page(20), P, RW, |_| true), Ok(page(20)..page(21)));
        assert_eq!(regions.at(page(22)).map(|r| (r.start, r.end)), Some((page(20), page(23))), "joined below");
        assert_eq!(regions.count(), count - 2);
    }

    #[test]
    fn mprotect_needs_every_page_mapped() {
        let mut regions = heap_of(4);
        regions.unmap(page(3), P).unwrap();
        assert_eq!(regions.protect(page(2), 3 * P, RO, |_| true), Err(MapError::NoMemory));
        assert_eq!(regions.protect(page(2) + 1, P, RO, |_| true), Err(MapError::InvalidArgument));
        assert_eq!(regions.protect(page(2), 0, RO, |_| true), Ok(page(2)..page(2)));
        assert_eq!(list(&regions)[1], (2, 3, RW, Kind::Anonymous));
    }

    #[test]
    fn the_region_limit_counts_what_would_be_after_merging() {
        let mut regions = heap_of(8);
        regions.max_count = 2;
        // A hole in the heap makes a third region: refused, nothing changed.
        assert_eq!(regions.unmap(page(4), P), Err(MapError::NoMemory));
        assert_eq!(regions.protect(page(4), P, RO, |_| true), Err(MapError::NoMemory));
        assert_eq!(regions.count(), 2);
        // Cutting the end off, or a mapping that merges, adds none.
        assert_eq!(regions.unmap(page(9), P), Ok(page(9)..page(10)));
        assert_eq!(regions.map(Placement::Replace(page(9)), P, RW, Kind::Anonymous), Ok(page(9)));
        assert_eq!(regions.map(Placement::Replace(page(10)), P, RW, Kind::Anonymous), Ok(page(10)));
        assert_eq!(regions.map(Placement::Replace(page(20)), P, RW, Kind::Anonymous), Err(MapError::NoMemory));
        assert_eq!(regions.count(), 2);
    }

    #[test]
    fn shared_and_file_mappings_keep_their_kind_and_write_permission() {
        const READ_ONLY_FILE: Kind = Kind::File { shared: true, may_write: false };
        const PRIVATE_FILE: Kind = Kind::File { shared: false, may_write: true };
        let mut regions = Regions::new();
        regions.map(Placement::Replace(page(0)), 4 * P, RO, READ_ONLY_FILE).unwrap();
        regions.map(Placement::Replace(page(4)), 2 * P, RW, Kind::SharedAnonymous).unwrap();
        regions.map(Placement::Replace(page(6)), 2 * P, RO, PRIVATE_FILE).unwrap();
        // Alike neighbours of other kinds stay apart.
        regions.map(Placement::Replace(page(8)), P, RO, Kind::Anonymous).unwrap();
        assert_eq!(regions.count(), 4);
        // Fork walks the neighbours it treats alike (shared or copy-on-write) at once.
        assert_eq!(regions.runs().collect::<Vec<_>>(), [(page(0), page(6), true), (page(6), page(9), false)]);
        assert!(READ_ONLY_FILE.is_shared() && Kind::SharedAnonymous.is_shared());
        assert!(!PRIVATE_FILE.is_shared() && !Kind::Anonymous.is_shared());
        // A shared mapping of a file not open for writing never becomes writable,
        // not even in part, and nothing changes; a private one does.
        assert_eq!(regions.protect(page(3), 2 * P, RW, |_| true), Err(MapError::Access));
        assert_eq!(list(&regions)[0], (0, 4, RO, READ_ONLY_FILE));
        // Nor does it as a whole (mprotect's one-region path).
        assert_eq!(regions.protect(page(0), 4 * P, RW, |_| true), Err(MapError::Access));
        assert_eq!(list(&regions)[0], (0, 4, RO, READ_ONLY_FILE));
        assert_eq!(regions.protect(page(0), P, NONE, |_| true), Ok(page(0)..page(1)));
        assert_eq!(regions.protect(page(6), P, RW, |_| true), Ok(page(6)..page(7)));
        assert_eq!(list(&regions)[2..4], [(4, 6, RW, Kind::SharedAnonymous), (6, 7, RW, PRIVATE_FILE)]);
        // Unmapping splits a file mapping into pieces of the same kind.
        regions.unmap(page(2), P).unwrap();
        assert_eq!(list(&regions)[1..3], [(1, 2, RO, READ_ONLY_FILE), (3, 4, RO, READ_ONLY_FILE)]);
        assert!(regions.covers(page(3), page(9)));
        assert!(!regions.covers(page(1), page(4)));
        assert!(regions.maps().lines().nth(3).unwrap().contains(" rw-s "));
    }

    #[test]
    fn the_stack_grows_down_within_its_limit() {
        let mut regions = Regions::new();
        regions.insert(page(100), page(104), RW, Kind::Stack).unwrap();
        regions.set_stack_limit(16 * P);
        assert_eq!(regions.region_or_stack_growth(page(101) + 8).map(|r| r.start), Some(page(100)));
        let grown = regions.region_or_stack_growth(page(90) + 8).unwrap();
        assert_eq!((grown.start, grown.end, grown.kind), (page(90), page(104), Kind::Stack));
        assert_eq!(regions.region_or_stack_growth(page(88)).map(|r| r.start), Some(page(88)));
        assert_eq!(regions.region_or_stack_growth(page(88) - 1), None);
        assert_eq!(regions.bytes(), 16 * P);
        // Not below another mapping.
        regions.map(Placement::Replace(page(80)), P, RW, Kind::Anonymous).unwrap();
        assert_eq!(regions.region_or_stack_growth(page(79)), None);
        // Within RLIMIT_AS.
        regions.set_stack_limit(u64::MAX);
        regions.set_size_limit(18 * P);
        assert_eq!(regions.region_or_stack_growth(page(87)).map(|r| r.start), Some(page(87)));
        assert_eq!(regions.region_or_stack_growth(page(86)), None);
    }

    #[test]
    fn rlimit_as_bounds_mmap_and_brk_counting_what_map_fixed_replaces() {
        let mut regions = heap_of(2);
        regions.set_size_limit(8 * P);
        assert_eq!(regions.set_break(page(9)).0, page(4));
        assert_eq!(regions.set_break(page(8)).0, page(8));
        assert_eq!(regions.map(Placement::Hint(0), P, RW, Kind::Anonymous), Err(MapError::NoMemory));
        assert_eq!(regions.map(Placement::Replace(page(4)), 2 * P, RO, Kind::Anonymous), Ok(page(4)));
    }

    // ---- The model: a page-by-page account, checked against the regions ----

    type Attributes = (Protection, Kind);

    /// What the regions should say, one page at a time, with the break and the
    /// limits; each operation written from Linux's rules, not from the code above.
    #[derive(Clone)]
    struct Model {
        pages: BTreeMap<u64, Attributes>,
        break_start: u64,
        break_end: u64,
        size_limit: u64,
        stack_limit: u64,
        max_count: usize,
    }

    impl Model {
        fn mapped(&self, start: u64, end: u64) -> usize {
            self.pages.range(start..end).count()
        }

        fn bytes(&self) -> u64 {
            self.pages.len() as u64 * P
        }

        /// The regions: maximal runs of adjacent pages mapped alike.
        fn runs(pages: &BTreeMap<u64, Attributes>) -> Vec<Region> {
            let mut runs: Vec<Region> = Vec::new();
            for (&at, &(protection, kind)) in pages {
                match runs.last_mut() {
                    Some(last) if last.end == at && last.protection == protection && last.kind == kind => last.end += P,
                    _ => runs.push(Region { start: at, end: at + P, protection, kind }),
                }
            }
            runs
        }

        /// Replaces the pages with `pages` unless that makes too many regions.
        fn commit(&mut self, pages: BTreeMap<u64, Attributes>) -> bool {
            if Self::runs(&pages).len() > self.max_count {
                return false;
            }
            self.pages = pages;
            true
        }

        fn with(&self, start: u64, end: u64, value: Option<Attributes>) -> BTreeMap<u64, Attributes> {
            let mut pages = self.pages.clone();
            for at in (start..end).step_by(P as usize) {
                match value {
                    Some(attributes) => pages.insert(at, attributes),
                    None => pages.remove(&at),
                };
            }
            pages
        }

        fn map(&mut self, placement: Placement, length: u64, protection: Protection) -> Result<u64, MapError> {
            if length == 0 {
                return Err(MapError::InvalidArgument);
            }
            let length = length.next_multiple_of(P);
            let in_range = |at: u64| at >= MMAP_MIN && at + length <= USER_END;
            let start = match placement {
                Placement::Replace(at) | Placement::NoReplace(at) => {
                    if at % P != 0 {
                        return Err(MapError::InvalidArgument);
                    }
                    if !in_range(at) {
                        return Err(MapError::NoMemory);
                    }
                    if matches!(placement, Placement::NoReplace(_)) && self.mapped(at, at + length) > 0 {
                        return Err(MapError::Exists);
                    }
                    at
                }
                Placement::Hint(hint) => {
                    let hint = hint & !(P - 1);
                    if in_range(hint) && self.mapped(hint, hint + length) == 0 {
                        hint
                    } else {
                        // The highest free run below MMAP_TOP.
                        let mut candidate = MMAP_TOP - length;
                        loop {
                            if candidate < MMAP_MIN {
                                return Err(MapError::NoMemory);
                            }
                            match self.pages.range(candidate..candidate + length).next_back() {
                                None => break candidate,
                                Some((&taken, _)) => candidate = taken.saturating_sub(length),
                            }
                        }
                    }
                }
            };
            let replaced = self.mapped(start, start + length) as u64 * P;
            if self.bytes() - replaced + length > self.size_limit {
                return Err(MapError::NoMemory);
            }
            let pages = self.with(start, start + length, Some((protection, Kind::Anonymous)));
            if !self.commit(pages) {
                return Err(MapError::NoMemory);
            }
            Ok(start)
        }

        fn unmap(&mut self, address: u64, length: u64) -> Result<(), MapError> {
            let length = length.next_multiple_of(P);
            if length == 0 || address % P != 0 || address < MMAP_MIN || address + length > USER_END {
                return Err(MapError::InvalidArgument);
            }
            let pages = self.with(address, address + length, None);
            if !self.commit(pages) {
                return Err(MapError::NoMemory);
            }
            Ok(())
        }

        fn protect(&mut self, address: u64, length: u64, protection: Protection) -> Result<(), MapError> {
            let length = length.next_multiple_of(P);
            if address % P != 0 {
                return Err(MapError::InvalidArgument);
            }
            if address < MMAP_MIN || address + length > USER_END {
                return Err(MapError::NoMemory);
            }
            if self.mapped(address, address + length) as u64 * P != length {
                return Err(MapError::NoMemory);
            }
            let mut pages = self.pages.clone();
            for (_, attributes) in pages.range_mut(address..address + length) {
                attributes.0 = protection;
            }
            if !self.commit(pages) {
                return Err(MapError::NoMemory);
            }
            Ok(())
        }

        fn set_break(&mut self, requested: u64) -> u64 {
            if requested < self.break_start || requested > USER_END {
                return self.break_end;
            }
            let (old_top, new_top) = (self.break_end.next_multiple_of(P), requested.next_multiple_of(P));
            if new_top < old_top {
                if self.mapped(new_top, old_top) == 0 || !self.commit(self.with(new_top, old_top, None)) {
                    return self.break_end;
                }
            } else if new_top > old_top {
                if new_top + P > USER_END
                    || self.mapped(old_top, new_top + P) > 0
                    || self.bytes() + (new_top - old_top) > self.size_limit
                    || !self.commit(self.with(old_top, new_top, Some((RW, Kind::Anonymous))))
                {
                    return self.break_end;
                }
            }
            self.break_end = requested;
            requested
        }

        fn fault(&mut self, address: u64) -> Option<Attributes> {
            let at = address & !(P - 1);
            if let Some(&attributes) = self.pages.get(&at) {
                return Some(attributes);
            }
            let (&above, &attributes) = self.pages.range(at..).next()?;
            let runs = Self::runs(&self.pages);
            let top = runs.iter().find(|run| run.start <= above && above < run.end)?.end;
            if attributes.1 != Kind::Stack
                || top - at > self.stack_limit
                || self.bytes() + (above - at) > self.size_limit
            {
                return None;
            }
            self.pages = self.with(at, above, Some(attributes));
            Some(attributes)
        }
    }

    fn check(regions: &Regions, model: &Model, step: usize) {
        let listed: Vec<Region> = regions.iter().collect();
        assert_eq!(listed, Model::runs(&model.pages), "step {step}: the regions differ from the pages");
        assert_eq!(regions.bytes(), model.bytes(), "step {step}");
        let mut runs: Vec<(u64, u64, bool)> = Vec::new();
        for (&at, &(_, kind)) in &model.pages {
            match runs.last_mut() {
                Some(last) if last.1 == at && last.2 == kind.is_shared() => last.1 += P,
                _ => runs.push((at, at + P, kind.is_shared())),
            }
        }
        assert_eq!(regions.runs().collect::<Vec<_>>(), runs, "step {step}: the runs differ from the pages");
        assert_eq!(regions.program_break(), model.break_end, "step {step}");
        assert!(regions.count() <= model.max_count, "step {step}");
        if let Some(recent) = regions.recent {
            let piece = regions.by_start.get(&recent.start).expect("the recent region is gone");
            assert_eq!((piece.end, piece.attributes), (recent.piece.end, recent.piece.attributes), "step {step}");
            if let Some(alike) = recent.alike_neighbours {
                let touching = |(_, piece): (&u64, &Piece)| piece.attributes;
                let below = regions.by_start.range(..recent.start).next_back().filter(|(_, p)| p.end == recent.start);
                let above = regions.by_start.get_key_value(&recent.piece.end);
                let kind = recent.piece.attributes.kind;
                assert_eq!(alike, alike_protections(kind, below.map(touching), above.map(touching)), "step {step}");
            }
        }
    }

    /// Random protection, address and length in a small window, so that
    /// operations keep landing on each other's pieces.
    fn protection(rng: &mut Rng) -> Protection {
        [RW, RO, RX, NONE][rng.below(4) as usize]
    }

    #[test]
    fn random_operations_agree_with_a_page_by_page_model() {
        const WINDOW: u64 = 48;
        for seed in 1..=60 {
            let mut rng = Rng::new(seed);
            let mut regions = Regions::new();
            regions.max_count = 6 + rng.below(10) as usize;
            regions.insert(page(0), page(2), RX, Kind::Anonymous).unwrap();
            regions.insert(page(2), page(3), RW, Kind::Anonymous).unwrap();
            regions.insert(page(WINDOW - 4), page(WINDOW), RW, Kind::Stack).unwrap();
            regions.set_break_start(page(3));
            let mut model = Model {
                pages: BTreeMap::new(),
                break_start: page(3),
                break_end: page(3),
                size_limit: u64::MAX,
                stack_limit: DEFAULT_STACK_LIMIT,
                max_count: regions.max_count,
            };
            model.pages = model.with(page(0), page(2), Some((RX, Kind::Anonymous)));
            model.pages = model.with(page(2), page(3), Some((RW, Kind::Anonymous)));
            model.pages = model.with(page(WINDOW - 4), page(WINDOW), Some((RW, Kind::Stack)));
            check(&regions, &model, 0);
            for step in 1..=400 {
                let address = page(rng.below(WINDOW + 4)) + if rng.below(16) == 0 { 1 + rng.below(P - 1) } else { 0 };
                let length = rng.below(8) * P + if rng.below(8) == 0 { rng.below(P) } else { 0 };
                match rng.below(10) {
                    0 | 1 => {
                        let placement = match rng.below(4) {
                            0 => Placement::Hint(if rng.below(2) == 0 { 0 } else { address }),
                            1 => Placement::NoReplace(address),
                            _ => Placement::Replace(address),
                        };
                        let prot = protection(&mut rng);
                        assert_eq!(
                            regions.map(placement, length, prot, Kind::Anonymous),
                            model.map(placement, length, prot),
                            "step {step}"
                        );
                    }
                    2 => assert_eq!(
                        regions.unmap(address, length).map(|_| ()),
                        model.unmap(address, length),
                        "step {step}"
                    ),
                    3 | 4 => {
                        let prot = protection(&mut rng);
                        assert_eq!(
                            regions.protect(address, length, prot, |_| true).map(|_| ()),
                            model.protect(address, length, prot),
                            "step {step}"
                        );
                    }
                    5 | 6 => {
                        let requested = page(rng.below(WINDOW)) + rng.below(P) * rng.below(2);
                        assert_eq!(regions.set_break(requested).0, model.set_break(requested), "step {step}");
                    }
                    7 => {
                        let expected = model.fault(address).map(|(protection, _)| protection);
                        assert_eq!(
                            regions.region_or_stack_growth(address).map(|r| r.protection),
                            expected,
                            "step {step}"
                        );
                    }
                    // A whole region's protection changed back and forth, faulted
                    // in between: the recent region's own path.
                    8 => {
                        let regions_now: Vec<Region> = regions.iter().collect();
                        let Some(&whole) = regions_now.get(rng.below(regions_now.len() as u64 + 1) as usize) else {
                            continue;
                        };
                        for _ in 0..2 {
                            let prot = protection(&mut rng);
                            let length = whole.end - whole.start;
                            assert_eq!(
                                regions.protect(whole.start, length, prot, |_| true).map(|_| ()),
                                model.protect(whole.start, length, prot),
                                "step {step}"
                            );
                            let inside = whole.start + rng.below(length / P) * P;
                            let expected = model.fault(inside).map(|(protection, _)| protection);
                            assert_eq!(
                                regions.region_or_stack_growth(inside).map(|r| r.protection),
                                expected,
                                "step {step}"
                            );
                        }
                    }
                    _ => match rng.below(3) {
                        // fork: the copy goes on in place of the original.
                        0 => regions = regions.clone(),
                        1 => {
                            let limit = (4 + rng.below(30)) * P;
                            regions.set_stack_limit(limit);
                            model.stack_limit = limit;
                        }
                        _ => {
                            let limit = if rng.below(2) == 0 { u64::MAX } else { (8 + rng.below(40)) * P };
                            regions.set_size_limit(limit);
                            model.size_limit = limit;
                        }
                    },
                }
                check(&regions, &model, step);
            }
        }
    }
}
