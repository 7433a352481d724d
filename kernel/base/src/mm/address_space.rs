//! A user address space: its page-table tree (the lower half private, the upper half
//! the kernel's), the regions the program may use, and (in `user_copy`) the one API
//! through which the kernel reads and writes user memory.
//!
//! User memory is never touched through user addresses (SMAP stays on and no
//! stac/clac is needed): every access walks the tree, checks the region's
//! permissions, faults the page in if it is allowed, and copies through the direct
//! map. A bad user pointer therefore becomes an error value, never a kernel fault.
//!
//! This file holds the address space itself: the tree, the regions, faults, fork,
//! and the translations it caches for the copies.

mod user_copy;

pub use user_copy::{register_reclaim_for_running, ImageWords, StringFault, UserBuffer, UserWords};

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Range;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::structures::paging::page_table::PageTableEntry;
use x86_64::structures::paging::PageTableFlags as Flags;
use x86_64::PhysAddr;

use super::frame::{self, Frame};
use super::page_table::{index as paging_index, OutOfMemory, PageTableTree};
use super::{kernel_tree, PAGE_SIZE};
use crate::arch::x86_64::tlb::{self, CpuSet};
use crate::arch::x86_64::{paging, smp};
use kernel_core::range_holds::RangeHolds;
use kernel_core::region::Regions;
pub use kernel_core::region::{Kind, MapError, Placement, Protection, USER_END};

/// The initial stack ends here, right below the vDSO (`map_vdso`), which ends
/// where user space does. (Linux randomises both.)
pub const STACK_TOP: u64 = USER_END - crate::vdso::FOOTPRINT;
/// The stack region's size at exec; it grows down on demand within RLIMIT_STACK,
/// so only the part a program uses is ever walked (fork, exit).
const INITIAL_STACK_SIZE: u64 = 128 << 10;
/// A software bit in the leaf entry: read-only because the frame is shared after
/// fork, to be copied on the first write.
const COPY_ON_WRITE: Flags = Flags::BIT_9;

/// Leaf flags for a page of this protection. PROT_NONE pages stay mapped but
/// unreachable from user mode (no U bit), so they keep their contents.
fn leaf_flags(protection: Protection) -> Flags {
    let mut flags = Flags::PRESENT;
    if !protection.is_none() {
        flags |= Flags::USER_ACCESSIBLE;
    }
    if protection.write {
        flags |= Flags::WRITABLE;
    }
    if !protection.execute {
        flags |= Flags::NO_EXECUTE;
    }
    flags
}

/// The kind of user access being made.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    Read,
    Write,
    Execute,
}

/// Why a user access was refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fault {
    /// No region covers the address (SIGSEGV with SEGV_MAPERR; -EFAULT).
    Unmapped,
    /// A region covers it, but not for this kind of access (SEGV_ACCERR; -EFAULT).
    Protection,
    /// The access was allowed but no frame was left to back it.
    OutOfMemory,
    /// A page of a file mapping past the file's end (SIGBUS with BUS_ADRERR;
    /// -EFAULT).
    PastEnd,
}

impl From<OutOfMemory> for Fault {
    fn from(_: OutOfMemory) -> Fault {
        Fault::OutOfMemory
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What one region's record may take of the kernel heap (its share of a tree node).
const REGION_HEAP_COST: usize = 128;
/// What a fork takes of the kernel heap besides the regions' records (the process,
/// its descriptor table and signal state).
const FORK_HEAP_COST: usize = 64 << 10;

pub struct AddressSpace {
    /// Unique for the kernel's lifetime (the PCID bookkeeping relies on it).
    id: u64,
    /// The CPUs that may hold translations of it, which a change that removes or
    /// narrows one must reach (`tlb`).
    cpus: CpuSet,
    tree: PageTableTree,
    /// Every table of the lower half (the root excepted): what exit frees.
    tables: Vec<Frame>,
    /// The last user page the kernel translated (page, frame, flags): most system
    /// calls touch one buffer, often the same one again, and a small copy there
    /// checks only this (`cached_bytes`). `no_translation()` when there is none: a
    /// sentinel rather than an Option, so that check has no discriminant to test.
    last_translation: (u64, Frame, Flags),
    /// The pages translated before it, each in the slot its page number picks
    /// (`translation_slot`), for calls that alternate between a few pages (a
    /// 4 KiB buffer spans two; a read and a write of two buffers, four). A page's
    /// translation is forgotten by every change to its mapping
    /// (`forget_translations`).
    translations: [Option<(u64, Frame, Flags)>; TRANSLATION_SLOTS],
    /// Which pages the program may use and how, the break, and the limits on
    /// them: every mapped user page lies in a region (a page leaves the tree when
    /// it leaves the regions).
    regions: Regions,
    resident_pages: usize,
    peak_resident_pages: usize,
    /// Where the program's argv strings lie, and its envp strings (Linux's
    /// arg_start..arg_end and env_start..env_end), for /proc's cmdline and environ.
    string_areas: (Range<u64>, Range<u64>),
    /// Whether the last copy that went page by page (`fetch_pages`, `store_pages`:
    /// every copy that stops short does) stopped for want of a frame: see
    /// `UserBuffer::reclaimed_memory`. Kept here, on that out-of-line path, so that
    /// the copies that succeed pay nothing for it.
    wanted_frame: bool,
    /// Whether a shared anonymous region was ever mapped: only then has fork
    /// pages to back before sharing (`back_shared_anonymous_pages`).
    maps_shared_anonymous: bool,
    /// What each file mapping keeps alive while any page of it is mapped: the
    /// open file description it was made from (so one open for writing keeps the
    /// file open for writing, as Linux's mappings do: exec of it is ETXTBSY).
    /// Fork's copy holds them too. Given back to the caller when released (a
    /// last reference may take locks ordered before this address space's).
    file_holds: RangeHolds<FileHold>,
}

/// What a file mapping keeps alive (`AddressSpace::map_file`): opaque here.
pub type FileHold = Arc<dyn Send + Sync>;

impl AddressSpace {
    /// An empty address space: only the kernel's upper half is mapped.
    pub fn new() -> Result<AddressSpace, OutOfMemory> {
        // The kernel's root has an empty lower half: a copy of it is exactly an empty
        // address space sharing the kernel's upper half.
        let root = frame::alloc().ok_or(OutOfMemory)?;
        frame::copy(Frame::from_address(kernel_tree().0), root);
        Ok(AddressSpace {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            cpus: CpuSet::new(),
            tree: PageTableTree(root.address()),
            tables: Vec::new(),
            last_translation: no_translation(),
            translations: [None; TRANSLATION_SLOTS],
            regions: Regions::new(),
            resident_pages: 0,
            peak_resident_pages: 0,
            string_areas: (0..0, 0..0),
            wanted_frame: false,
            maps_shared_anonymous: false,
            file_holds: RangeHolds::default(),
        })
    }

    /// Sets RLIMIT_AS: the most bytes the regions may cover. Regions already there
    /// stay; growth beyond it (mmap, brk, the stack) fails from now on.
    pub fn set_size_limit(&mut self, bytes: u64) {
        self.regions.set_size_limit(bytes);
    }

    /// Sets RLIMIT_STACK: how far below its top the stack may grow from now on.
    pub fn set_stack_limit(&mut self, bytes: u64) {
        self.regions.set_stack_limit(bytes);
    }

    /// Makes this the CPU's address space.
    #[inline]
    pub fn activate(&self) {
        // SAFETY: the tree's upper half is the kernel's (copied in `new`).
        unsafe { paging::switch_address_space(self.tree.0, self.id, &self.cpus) };
    }

    /// Records where the program's argv and envp strings are (exec).
    pub fn set_string_areas(&mut self, areas: (Range<u64>, Range<u64>)) {
        self.string_areas = areas;
    }

    /// Where the program's argv and envp strings are.
    pub fn string_areas(&self) -> (Range<u64>, Range<u64>) {
        self.string_areas.clone()
    }

    /// /proc/PID/maps: its regions (`Regions::maps`).
    pub fn maps(&self) -> alloc::string::String {
        self.regions.maps()
    }

    /// Bytes its regions cover (the size of the address space /proc reports).
    pub fn mapped_bytes(&self) -> u64 {
        self.regions.bytes()
    }

    /// Pages currently backed by frames, and the most there ever were.
    pub fn resident_pages(&self) -> (usize, usize) {
        (self.resident_pages, self.peak_resident_pages)
    }

    /// Visits every page backed by a frame, once: the leaves of the tree inside the
    /// regions, which never overlap and hold every mapped page (see `regions`). A
    /// walk of the regions rather than of the whole lower half: a small program's
    /// tables hold thousands of empty entries, which fork and exit would otherwise
    /// read each time.
    fn for_each_mapped_page(&self, mut visit: impl FnMut(u64, &mut PageTableEntry)) {
        for (start, end, _) in self.regions.runs() {
            self.tree.for_each_leaf(start, end, &mut visit);
        }
    }

    fn count_mapped(&mut self, pages: isize) {
        self.resident_pages = self.resident_pages.saturating_add_signed(pages);
        self.peak_resident_pages = self.peak_resident_pages.max(self.resident_pages);
    }

    /// Declares `[start, end)` (page-aligned, free) usable with `protection`; pages
    /// are backed on first touch.
    pub fn add_region(&mut self, start: u64, end: u64, protection: Protection) -> Result<(), MapError> {
        self.regions.insert(start, end, protection, Kind::Anonymous)
    }

    /// Declares the stack: read-write, ending at `top`, growing down on demand
    /// within RLIMIT_STACK.
    pub fn add_stack(&mut self, top: u64) -> Result<(), MapError> {
        self.regions.insert(top - INITIAL_STACK_SIZE, top, Protection::READ_WRITE, Kind::Stack)
    }

    /// Maps the vDSO (`crate::vdso`) above the stack, at `STACK_TOP`: the clock
    /// page, read-only, and the image right above it (its code finds the page
    /// there), readable and executable, its pages copy-on-write should mprotect
    /// make them writable. Returns the image's address (AT_SYSINFO_EHDR).
    ///
    /// Beside the stack's top, its entries share the stack's page table (as on
    /// Linux before it moved the vDSO to the mmap area): placed anywhere else it
    /// would cost every exec and fork a table of its own to zero, and every exit
    /// one to free.
    pub fn map_vdso(&mut self) -> Result<u64, MapError> {
        let pages = crate::vdso::pages().ok_or(MapError::NoMemory)?;
        let image_length = pages.image.len() as u64 * PAGE_SIZE;
        let read_only = Protection { read: true, write: false, execute: false };
        let start = STACK_TOP;
        let image_start = start + PAGE_SIZE;
        self.regions.insert(start, image_start, read_only, Kind::Vvar)?;
        let read_execute = Protection { read: true, write: false, execute: true };
        self.regions.insert(image_start, image_start + image_length, read_execute, Kind::Vdso)?;
        let clock = (start, pages.clock, leaf_flags(read_only));
        let image_flags = leaf_flags(read_execute) | COPY_ON_WRITE;
        let image = pages.image.iter().zip((image_start..).step_by(PAGE_SIZE as usize));
        for (address, frame, flags) in
            core::iter::once(clock).chain(image.map(|(&frame, address)| (address, frame, image_flags)))
        {
            self.tree.map(address, frame, flags, &mut self.tables).map_err(|OutOfMemory| MapError::NoMemory)?;
            frame::share(frame);
            self.count_mapped(1);
        }
        Ok(image_start)
    }

    /// Sets where the program break starts (the page after the loaded image).
    pub fn set_heap_start(&mut self, address: u64) {
        self.regions.set_break_start(address);
    }

    /// Makes sure the user page at `address` can take `access` from the kernel (a
    /// write into a copy-on-write page gets its own copy now), without copying.
    pub fn prepare(&mut self, address: u64, access: Access) -> Result<(), Fault> {
        self.user_frame(address, Some(access)).map(|_| ())
    }

    /// The frame behind the user page at `address`, faulting it in if `access` is
    /// allowed (None: the loader, which may write anything inside a region).
    fn user_frame(&mut self, address: u64, access: Option<Access>) -> Result<Frame, Fault> {
        if address >= USER_END {
            return Err(Fault::Unmapped);
        }
        let page = address & !(PAGE_SIZE - 1);
        let slot = translation_slot(page);
        let translation = match (self.last_translation, self.translations[slot]) {
            ((cached, frame, flags), _) if cached == page => Some((frame, flags)),
            (_, Some((cached, frame, flags))) if cached == page => Some((frame, flags)),
            _ => self.tree.translate(page),
        };
        if let Some((frame, flags)) = translation {
            self.last_translation = (page, frame, flags);
            self.translations[slot] = Some((page, frame, flags));
            if allows(flags, access) {
                return Ok(frame);
            }
        }
        self.fault_in(address, access)
    }

    /// Resolves a fault at `address`: backs an untouched page with a zeroed frame,
    /// or gives a copy-on-write page its own copy. Fails if no region allows the
    /// access (None: the loader, allowed anywhere inside a region).
    pub fn fault_in(&mut self, address: u64, access: Option<Access>) -> Result<Frame, Fault> {
        let region = self.regions.region_or_stack_growth(address).ok_or(Fault::Unmapped)?;
        let protection = region.protection;
        let allowed = match access {
            Some(Access::Read) => !protection.is_none(),
            Some(Access::Write) => protection.write,
            Some(Access::Execute) => protection.execute,
            None => true,
        };
        if !allowed {
            return Err(Fault::Protection);
        }
        let page = address & !(PAGE_SIZE - 1);
        let wants_write = access == Some(Access::Write);
        // One walk finds the entry, or builds the tables down to it, for every outcome.
        let entry = self.tree.leaf(page, Some(&mut self.tables))?.ok_or(Fault::Unmapped)?;
        if entry.is_unused() {
            // A file mapping's pages within the file's end were mapped with it,
            // and the vDSO's all.
            if region.kind.maps_its_pages_at_once() {
                return Err(Fault::PastEnd);
            }
            let frame = frame::alloc_for_user_zeroed().ok_or(Fault::OutOfMemory)?;
            entry.set_addr(PhysAddr::new(frame.address()), leaf_flags(protection));
            self.count_mapped(1);
            return Ok(frame);
        }
        let (frame, flags) = (Frame::from_address(entry.addr().as_u64()), entry.flags());
        if wants_write && flags.contains(COPY_ON_WRITE) {
            self.break_sharing(page, entry, frame, protection)
        } else if access.is_none() || !wants_write || flags.contains(Flags::WRITABLE) {
            Ok(frame)
        } else {
            Err(Fault::Protection)
        }
    }

    /// Gives the copy-on-write page at `page` (its leaf `entry`, mapping `shared`) a
    /// frame of its own (or takes back the shared one if no one else holds it any
    /// more) and makes it writable.
    fn break_sharing(
        &mut self,
        page: u64,
        entry: &mut PageTableEntry,
        shared: Frame,
        protection: Protection,
    ) -> Result<Frame, Fault> {
        self.forget_translations(page..page + PAGE_SIZE);
        if frame::references(shared) == 1 {
            // Rights only widen: a stale read-only entry elsewhere faults, and the
            // fault finds the page writable.
            entry.set_addr(PhysAddr::new(shared.address()), leaf_flags(protection) | Flags::WRITABLE);
            paging::flush_page(page);
            return Ok(shared);
        }
        let copy = frame::alloc_for_user().ok_or(Fault::OutOfMemory)?;
        frame::copy(shared, copy);
        entry.set_addr(PhysAddr::new(copy.address()), leaf_flags(protection) | Flags::WRITABLE);
        // Every CPU drops the shared frame's translation before this thread writes
        // its copy (no other thread may read the old frame after that) and before
        // the reference is given back.
        self.flush(page..page + PAGE_SIZE);
        frame::release(shared);
        Ok(copy)
    }

    /// A copy of this address space sharing every frame: copy-on-write, but for
    /// the shared mappings' pages (MAP_SHARED), which both write. Its own writable
    /// private pages become read-only, and every CPU's TLB entries for them are
    /// flushed.
    pub fn fork(&mut self) -> Result<AddressSpace, OutOfMemory> {
        if super::heap::spare() < self.regions.count() * REGION_HEAP_COST + FORK_HEAP_COST {
            return Err(OutOfMemory);
        }
        if self.maps_shared_anonymous {
            self.back_shared_anonymous_pages()?;
        }
        self.forget_translations(0..USER_END);
        let mut child = AddressSpace::new()?;
        child.regions = self.regions.clone();
        child.maps_shared_anonymous = self.maps_shared_anonymous;
        child.file_holds = self.file_holds.clone();
        child.string_areas = self.string_areas.clone();
        let child_tree = child.tree;
        let child_tables = &mut child.tables;
        let mut result = Ok(());
        let mut shared = 0;
        for (start, end, is_shared) in self.regions.runs() {
            let copy_on_write = !is_shared;
            self.tree.for_each_leaf(start, end, |address, entry| {
                if result.is_err() {
                    return;
                }
                let mut flags = entry.flags();
                if copy_on_write && flags.contains(Flags::WRITABLE) {
                    flags = (flags - Flags::WRITABLE) | COPY_ON_WRITE;
                    entry.set_flags(flags);
                }
                let frame = Frame::from_address(entry.addr().as_u64());
                match child_tree.map(address, frame, flags, child_tables) {
                    Ok(()) => {
                        frame::share(frame);
                        shared += 1;
                    }
                    Err(error) => result = Err(error),
                }
            });
        }
        self.flush(0..USER_END);
        child.count_mapped(shared);
        result.map(|()| child)
    }

    /// Backs every untouched page of the shared anonymous regions with a zeroed
    /// frame, before fork shares them: a page first touched afterwards would
    /// otherwise be each process's own.
    fn back_shared_anonymous_pages(&mut self) -> Result<(), OutOfMemory> {
        let shared: Vec<(u64, u64)> = self
            .regions
            .iter()
            .filter(|region| region.kind == Kind::SharedAnonymous)
            .map(|region| (region.start, region.end))
            .collect();
        for (start, end) in shared {
            for page in (start..end).step_by(PAGE_SIZE as usize) {
                self.fault_in(page, None).map_err(|_| OutOfMemory)?;
            }
        }
        Ok(())
    }

    /// Moves the program break (brk). Returns the new break, or the old one when the
    /// request cannot be met, as Linux does (see `Regions::set_break`).
    pub fn set_break(&mut self, requested: u64) -> u64 {
        if !room_for_regions(1) {
            return self.regions.program_break();
        }
        let (now, released) = self.regions.set_break(requested);
        if let Some(pages) = released {
            self.unmap_pages(pages.start, pages.end);
        }
        now
    }

    /// Maps `length` bytes of zero-filled anonymous memory (mmap), private or
    /// shared (`Kind::Anonymous`, `Kind::SharedAnonymous`). Returns where (or
    /// why not), and what the file mappings it replaced no longer hold, for the
    /// caller to drop once it holds no lock: the last reference to an open file
    /// may take locks ordered before this address space's.
    pub fn map_anonymous(
        &mut self,
        placement: Placement,
        length: u64,
        protection: Protection,
        kind: Kind,
    ) -> (Result<u64, MapError>, Vec<FileHold>) {
        // The new region, and the pieces of the ones a MAP_FIXED mapping cuts.
        if !room_for_regions(3) {
            return (Err(MapError::NoMemory), Vec::new());
        }
        let start = match self.regions.map(placement, length, protection, kind) {
            Ok(start) => start,
            Err(error) => return (Err(error), Vec::new()),
        };
        self.maps_shared_anonymous |= kind == Kind::SharedAnonymous;
        let mut released = Vec::new();
        if let Placement::Replace(_) = placement {
            let end = start + length.next_multiple_of(PAGE_SIZE);
            self.unmap_pages(start, end);
            released = self.file_holds.release(start..end);
        }
        (Ok(start), released)
    }

    /// Maps `length` bytes of a file (mmap) as a region of `kind` (a
    /// `Kind::File`), its pages at once: `file_pages(n, install)` calls
    /// `install(frame)` with the frames of the mapping's first pages, in order, at
    /// most n, as long as it returns true (it refuses for want of a page table),
    /// and stops at the file's end (the pages after fault with `Fault::PastEnd`);
    /// it returns false when the file has no page to give (ENOMEM, the mapping
    /// undone). The mapping shares each frame (a reference each). A shared
    /// mapping writes the file's frames; a private one maps them copy-on-write,
    /// even read-only, so that mprotect never lets a store reach the file. The
    /// mapping keeps `hold` while any page of it is mapped. Returns as
    /// `map_anonymous`.
    pub fn map_file(
        &mut self,
        placement: Placement,
        length: u64,
        protection: Protection,
        kind: Kind,
        hold: FileHold,
        file_pages: impl FnOnce(u64, &mut dyn FnMut(Frame) -> bool) -> bool,
    ) -> (Result<u64, MapError>, Vec<FileHold>) {
        let (start, released) = match self.map_anonymous(placement, length, protection, kind) {
            (Ok(start), released) => (start, released),
            failed => return failed,
        };
        let end = start + length.next_multiple_of(PAGE_SIZE);
        let mut flags = leaf_flags(protection);
        if !kind.is_shared() {
            flags = (flags - Flags::WRITABLE) | COPY_ON_WRITE;
        }
        if self.install_file_pages(start, end, flags, file_pages).1 {
            self.file_holds.hold(start..end, hold);
            return (Ok(start), released);
        }
        // Undone as munmap would; should the region limit refuse even that, the
        // pages mapped so far stay, inside their region.
        if self.regions.unmap(start, end - start).is_ok() {
            self.unmap_pages(start, end);
        }
        (Err(MapError::NoMemory), released)
    }

    /// Maps the pages of `[start, end)`, inside a private region added by
    /// `add_region` and not yet touched, from a file's frames as far as
    /// `file_pages` gives them (as `map_file`'s), copy-on-write: exec shares a
    /// program file's pages rather than copying them. Returns where the pages it
    /// mapped end (`start` if none): the loader copies the rest. Nothing is
    /// undone, so a short mapping costs nothing but the copy.
    pub fn share_file_pages(
        &mut self,
        start: u64,
        end: u64,
        file_pages: impl FnOnce(u64, &mut dyn FnMut(Frame) -> bool) -> bool,
    ) -> u64 {
        let Some(region) = self.regions.at(start) else { return start };
        let flags = (leaf_flags(region.protection) - Flags::WRITABLE) | COPY_ON_WRITE;
        self.install_file_pages(start, end, flags, file_pages).0
    }

    /// Installs the frames `file_pages` hands over at `start` on, a reference
    /// each, with leaf `flags`, up to `end` or a want of page tables. Returns
    /// where the installed pages end, and whether all went in: `file_pages`
    /// returned true and no page table was wanting.
    fn install_file_pages(
        &mut self,
        start: u64,
        end: u64,
        flags: Flags,
        file_pages: impl FnOnce(u64, &mut dyn FnMut(Frame) -> bool) -> bool,
    ) -> (u64, bool) {
        let (tree, tables) = (self.tree, &mut self.tables);
        let mut page = start;
        let mut leaf_table = None;
        let mut out_of_tables = false;
        let mut install = |frame: Frame| {
            // One walk per page table: the next leaf is the next entry, until the
            // page starts a new table.
            if leaf_table.is_none() || paging_index(page, 1) == 0 {
                match tree.leaf_table(page, tables) {
                    Ok(table) => leaf_table = Some(table),
                    Err(OutOfMemory) => {
                        out_of_tables = true;
                        return false;
                    }
                }
            }
            if let Some(table) = leaf_table.as_deref_mut() {
                table[paging_index(page, 1)].set_addr(PhysAddr::new(frame.address()), flags);
            }
            frame::share(frame);
            page += PAGE_SIZE;
            true
        };
        let complete = file_pages((end - start) / PAGE_SIZE, &mut install);
        self.count_mapped(((page - start) / PAGE_SIZE) as isize);
        (page, complete && !out_of_tables)
    }

    /// Whether every page of `[start, end)` is mapped (msync).
    pub fn covers(&self, start: u64, end: u64) -> bool {
        self.regions.covers(start, end)
    }

    /// Removes `[address, address + length)` from the address space (munmap).
    /// Returns what the file mappings there no longer hold, as `map_anonymous`.
    pub fn unmap(&mut self, address: u64, length: u64) -> Result<Vec<FileHold>, MapError> {
        // Unmapping the middle of a region leaves two.
        if !room_for_regions(1) && self.regions.splits(address, length) == 2 {
            return Err(MapError::NoMemory);
        }
        let pages = self.regions.unmap(address, length)?;
        self.unmap_pages(pages.start, pages.end);
        Ok(self.file_holds.release(pages))
    }

    /// Changes the protection of `[address, address + length)` (mprotect). Every
    /// page of the range must be inside a region.
    pub fn protect(&mut self, address: u64, length: u64, protection: Protection) -> Result<(), MapError> {
        let pages = self.regions.protect(address, length, protection, room_for_regions)?;
        self.forget_translations(pages.clone());
        // One CPU: each changed page flushed here (a fresh range has none). More:
        // one shootdown for the range, if a page changed.
        let one_cpu = smp::online_count() == 1;
        let flags = leaf_flags(protection);
        let reprotect = |page: u64, entry: &mut PageTableEntry| {
            if entry.flags().contains(COPY_ON_WRITE) {
                entry.set_flags((flags - Flags::WRITABLE) | COPY_ON_WRITE);
            } else {
                entry.set_flags(flags);
            }
            if one_cpu {
                paging::flush_page(page);
            }
        };
        let mut changed = false;
        if pages.end - pages.start == PAGE_SIZE {
            // One page (a guard page, lmbench's prot fault): its entry found
            // straight, with no range walk.
            if let Ok(Some(entry)) = self.tree.leaf(pages.start, None) {
                if !entry.is_unused() {
                    reprotect(pages.start, entry);
                    changed = true;
                }
            }
        } else {
            self.tree.for_each_leaf(pages.start, pages.end, |page, entry| {
                reprotect(page, entry);
                changed = true;
            });
        }
        if changed && !one_cpu {
            self.flush(pages);
        }
        Ok(())
    }

    /// Drops the cached translations of `pages` (page-aligned): their mappings
    /// are about to change. The others stay: a signal handler's mprotect of one
    /// page keeps the stack page its frame is read back from.
    fn forget_translations(&mut self, pages: Range<u64>) {
        if pages.contains(&self.last_translation.0) {
            self.last_translation = no_translation();
        }
        // A page's translation can be only in the slot its number picks: a range
        // of fewer pages than slots (an mprotect of one page) looks at theirs alone.
        if pages.end.saturating_sub(pages.start) < TRANSLATION_SLOTS as u64 * PAGE_SIZE {
            for page in pages.step_by(PAGE_SIZE as usize) {
                let slot = &mut self.translations[translation_slot(page)];
                if slot.is_some_and(|(cached, _, _)| cached == page) {
                    *slot = None;
                }
            }
            return;
        }
        for slot in &mut self.translations {
            if slot.is_some_and(|(page, _, _)| pages.contains(&page)) {
                *slot = None;
            }
        }
    }

    /// Unmaps and releases every page in `[start, end)`. A frame is released only
    /// once no CPU can reach it: with other CPUs online, the pages are first made
    /// not present (keeping their frames' addresses, which no other entry of the
    /// tree has: an unused entry is zero), flushed everywhere at once, then
    /// released; with one CPU the local flush comes first and nothing waits.
    fn unmap_pages(&mut self, start: u64, end: u64) {
        self.forget_translations(start..end);
        if smp::online_count() > 1 {
            self.tree.for_each_leaf(start, end, |_, entry| entry.set_flags(entry.flags() - Flags::PRESENT));
            self.flush(start..end);
        }
        let mut released = 0;
        let one_cpu = smp::online_count() == 1;
        let few_pages = (end - start) / PAGE_SIZE <= tlb::FULL_FLUSH_PAGES;
        let flush_each = one_cpu && few_pages;
        self.tree.for_each_leaf(start, end, |page, entry| {
            frame::release(Frame::from_address(entry.addr().as_u64()));
            entry.set_unused();
            if flush_each {
                paging::flush_page(page);
            }
            released += 1;
        });
        if one_cpu && !few_pages && released > 0 {
            paging::flush_address_space();
        }
        self.count_mapped(-released);
    }

    /// Makes a change to the translations of `pages` (already in the tree) seen by
    /// every CPU that may have cached them, this one included, before it returns.
    fn flush(&self, pages: Range<u64>) {
        tlb::flush_space(self.id, self.tree.0, &self.cpus, pages);
    }
}

impl Drop for AddressSpace {
    /// Releases every frame and table of the lower half. The address space must not
    /// be live on any CPU (exit switches to the next one first; exec activates the
    /// new one); the CPUs that may still hold entries tagged with its PCID forget
    /// them first, so none is reused for a frame freed here.
    fn drop(&mut self) {
        if smp::online_count() > 1 {
            self.flush(0..USER_END);
        }
        let mut released = 0;
        self.for_each_mapped_page(|_, entry| {
            frame::release(Frame::from_address(entry.addr().as_u64()));
            released += 1;
        });
        debug_assert_eq!(released, self.resident_pages, "a page mapped outside the regions");
        for &table in &self.tables {
            frame::release(table);
        }
        frame::release(Frame::from_address(self.tree.0));
    }
}

/// `AddressSpace::last_translation` when there is none: the last page of the
/// address range, never a user page (`user_frame` never looks it up), and no
/// access allowed, so `cached_bytes` refuses every address in it.
fn no_translation() -> (u64, Frame, Flags) {
    (!(PAGE_SIZE - 1), Frame::from_address(0), Flags::empty())
}

/// Translations an address space keeps (a power of two).
const TRANSLATION_SLOTS: usize = 4;

/// The slot of `AddressSpace::translations` for the page holding `address`:
/// neighbouring pages get different ones.
fn translation_slot(address: u64) -> usize {
    (address / PAGE_SIZE) as usize % TRANSLATION_SLOTS
}

/// Whether a page whose leaf entry has `flags` takes `access` from the kernel as
/// it is (None: the loader, which may write anything).
fn allows(flags: Flags, access: Option<Access>) -> bool {
    match access {
        None => true,
        Some(Access::Write) => flags.contains(Flags::WRITABLE | Flags::USER_ACCESSIBLE),
        Some(_) => flags.contains(Flags::USER_ACCESSIBLE),
    }
}

/// Whether the kernel heap has room for `more` region records (see
/// `heap::spare`); their count limit is the regions' own.
fn room_for_regions(more: usize) -> bool {
    super::heap::spare() >= more * REGION_HEAP_COST
}
