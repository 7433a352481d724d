//! Four-level x86_64 page tables, walked through the direct map. A `PageTableTree`
//! is just the physical address of a PML4; who owns which part of it is decided by
//! the callers (`kernel_map` for the shared upper half, `AddressSpace` for the user
//! half).

use alloc::vec::Vec;
use x86_64::structures::paging::page_table::PageTableEntry;
use x86_64::structures::paging::{PageTable, PageTableFlags as Flags};
use x86_64::PhysAddr;

use super::frame::{self, Frame};
use super::{phys_to_virt, PAGE_SIZE};

/// Flags of the intermediate entries: leaf entries alone decide permissions.
const USER_TABLE: Flags = Flags::PRESENT.union(Flags::WRITABLE).union(Flags::USER_ACCESSIBLE);
const KERNEL_TABLE: Flags = Flags::PRESENT.union(Flags::WRITABLE);
/// Bytes one page table (level 1) maps: 512 pages, 2 MiB.
const LEAF_TABLE_SPAN: u64 = 512 * PAGE_SIZE;

/// Out of physical memory while building a table.
#[derive(Debug)]
pub struct OutOfMemory;

/// A page-table tree, by the physical address of its root (PML4).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PageTableTree(pub u64);

/// The index of `address` in the table of `level` (4 = PML4 ... 1 = PT).
pub fn index(address: u64, level: u32) -> usize {
    ((address >> (12 + 9 * (level - 1))) & 511) as usize
}

/// The table stored in a frame.
///
/// # Safety
/// `frame` must hold a page table and the caller must not create two live mutable
/// references to the same table.
pub unsafe fn table(frame: u64) -> &'static mut PageTable {
    // SAFETY: the caller's contract; the direct map covers all RAM.
    unsafe { &mut *(phys_to_virt(frame) as *mut PageTable) }
}

impl PageTableTree {
    /// The 4 KiB leaf entry for `address`. With `tables`, missing intermediate tables
    /// are created (user ones in the lower half) and recorded there; without, an
    /// absent one ends the walk with None.
    pub fn leaf(
        self,
        address: u64,
        tables: Option<&mut Vec<Frame>>,
    ) -> Result<Option<&'static mut PageTableEntry>, OutOfMemory> {
        self.entry(address, 1, tables)
    }

    /// The entry for `address` in the table of `level` (1 = PT, 2 = PD), walking (and
    /// with `tables`, building) the levels above it. None if the walk meets an absent
    /// entry without `tables`, or a huge page above `level`.
    pub fn entry(
        self,
        address: u64,
        level: u32,
        tables: Option<&mut Vec<Frame>>,
    ) -> Result<Option<&'static mut PageTableEntry>, OutOfMemory> {
        let Some(table_address) = self.table_of(address, level, tables)? else { return Ok(None) };
        // SAFETY: a page table of this tree (`table_of`); the one reference made to it here.
        Ok(Some(unsafe { &mut table(table_address)[index(address, level)] }))
    }

    /// The page table (1 = PT) holding `address`'s leaf, created with the tables
    /// above it as `leaf` does: for a caller that fills many neighbouring leaves
    /// with one walk.
    pub fn leaf_table(self, address: u64, tables: &mut Vec<Frame>) -> Result<&'static mut PageTable, OutOfMemory> {
        let table_address = self.table_of(address, 1, Some(tables))?.ok_or(OutOfMemory)?;
        // SAFETY: a page table of this tree (`table_of`); the caller holds the only
        // reference made to it, as `entry`'s callers hold theirs.
        Ok(unsafe { table(table_address) })
    }

    /// The physical address of the table of `level` on `address`'s walk, as
    /// `entry` finds (and with `tables`, builds) it.
    fn table_of(
        self,
        address: u64,
        level: u32,
        mut tables: Option<&mut Vec<Frame>>,
    ) -> Result<Option<u64>, OutOfMemory> {
        let table_flags = if address >> 47 == 0 { USER_TABLE } else { KERNEL_TABLE };
        let mut table_address = self.0;
        for upper in (level + 1..=4).rev() {
            // SAFETY: table_address is the root or came from a present non-huge entry, so
            // it is a page table of this tree; the reference does not outlive this step.
            let entry = unsafe { &mut table(table_address)[index(address, upper)] };
            if entry.is_unused() {
                let Some(created) = tables.as_deref_mut() else { return Ok(None) };
                let new_table = frame::alloc_zeroed().ok_or(OutOfMemory)?;
                created.push(new_table);
                entry.set_addr(PhysAddr::new(new_table.address()), table_flags);
            } else if entry.flags().contains(Flags::HUGE_PAGE) {
                return Ok(None);
            }
            table_address = entry.addr().as_u64();
        }
        Ok(Some(table_address))
    }

    /// Maps the 4 KiB page at `address` to `frame` with `flags`, creating the tables
    /// on the way (recorded in `tables`).
    pub fn map(self, address: u64, frame: Frame, flags: Flags, tables: &mut Vec<Frame>) -> Result<(), OutOfMemory> {
        let entry = self.leaf(address, Some(tables))?.ok_or(OutOfMemory)?;
        entry.set_addr(PhysAddr::new(frame.address()), flags | Flags::PRESENT);
        Ok(())
    }

    /// The frame and flags `address` is mapped to, if it is (4 KiB pages only).
    pub fn translate(self, address: u64) -> Option<(Frame, Flags)> {
        let entry = self.leaf(address, None).ok()??;
        (!entry.is_unused()).then(|| (Frame::from_address(entry.addr().as_u64()), entry.flags()))
    }

    /// Removes the mapping of `address` and returns what it was. The caller flushes
    /// the TLB and releases the frame.
    pub fn unmap(self, address: u64) -> Option<(Frame, Flags)> {
        let entry = self.leaf(address, None).ok()??;
        if entry.is_unused() {
            return None;
        }
        let old = (Frame::from_address(entry.addr().as_u64()), entry.flags());
        entry.set_unused();
        Some(old)
    }
}

impl PageTableTree {
    /// Calls `visit` with the address and entry of every present 4 KiB leaf mapping
    /// in `[start, end)` (a non-empty lower-half range), skipping absent subtrees
    /// whole and never looking at entries outside the range.
    pub fn for_each_leaf(self, start: u64, end: u64, mut visit: impl FnMut(u64, &mut PageTableEntry)) {
        if start >= end {
            return;
        }
        if start / LEAF_TABLE_SPAN != (end - 1) / LEAF_TABLE_SPAN {
            walk(self.0, 4, 0, start, end, &mut visit);
            return;
        }
        // The range lies in one page table (an mprotect or munmap of a few pages, as
        // most are): one descent to it rather than a scan of every level.
        let Ok(Some(table_address)) = self.table_of(start, 1, None) else { return };
        // SAFETY: a page table of this tree (`table_of`); the one reference made to it here.
        let entries = unsafe { table(table_address) };
        let table_start = start - start % LEAF_TABLE_SPAN;
        for slot in index(start, 1)..=index(end - 1, 1) {
            let entry = &mut entries[slot];
            if !entry.is_unused() {
                visit(table_start + slot as u64 * PAGE_SIZE, entry);
            }
        }
    }
}

/// Recursive helper of `for_each_leaf`: `table` is at `level` and maps the region
/// starting at `base`; only the entries overlapping `[start, end)` are looked at.
fn walk(
    table_address: u64,
    level: u32,
    base: u64,
    start: u64,
    end: u64,
    visit: &mut dyn FnMut(u64, &mut PageTableEntry),
) {
    let span = 1u64 << (12 + 9 * (level - 1));
    let first = (start.saturating_sub(base) / span) as usize;
    let last = ((end - 1).saturating_sub(base) / span).min(511) as usize;
    // SAFETY: `table_address` is a table of the tree (the root, or from a present
    // non-huge entry one level up); no other reference to it is live.
    let entries = unsafe { table(table_address) };
    for slot in first..=last {
        let entry = &mut entries[slot];
        if entry.is_unused() {
            continue;
        }
        let entry_start = base + slot as u64 * span;
        if level == 1 {
            visit(entry_start, entry);
        } else if !entry.flags().contains(Flags::HUGE_PAGE) {
            walk(
                entry.addr().as_u64(),
                level - 1,
                entry_start,
                start.max(entry_start),
                end.min(entry_start + span),
                visit,
            );
        }
    }
}
