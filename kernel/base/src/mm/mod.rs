//! Memory: physical frames, the kernel's page tables and heap, kernel stacks, and
//! user address spaces with the one API through which the kernel touches user memory.
//!
//! Virtual layout (the upper half is shared by every address space):
//!   0x0000_0000_0000_0000 .. 0x0000_7fff_ffff_f000   user space
//!   0xffff_8000_0000_0000 ..                          direct map of all RAM
//!   0xffff_ff00_0000_0000 ..                          kernel stacks, with guard pages
//!   0xffff_ff7f_0000_0000 ..                          device registers (uncached)
//!   0xffff_ffff_8000_0000 ..                          the kernel image

pub mod address_space;
pub mod frame;
pub mod heap;
pub mod kstack;
mod page_table;
pub mod selftest;

use x86_64::structures::paging::PageTableFlags as Flags;
use x86_64::PhysAddr;

use crate::arch::x86_64::{
    apic, ioapic, paging,
    pvh::{BootInfo, PhysRange},
};
use frame::Frame;
use page_table::PageTableTree;

pub const PAGE_SIZE: u64 = 4096;
const HUGE_PAGE_SIZE: u64 = 2 << 20;
pub const DIRECT_MAP_BASE: u64 = 0xffff_8000_0000_0000;
pub const KERNEL_STACKS_BASE: u64 = 0xffff_ff00_0000_0000;
const DEVICE_REGISTERS_BASE: u64 = 0xffff_ff7f_0000_0000;
const KERNEL_VMA: u64 = 0xffff_ffff_8000_0000;
/// The boot page tables reach this far into physical memory.
const BOOT_MAPPED: u64 = 4 << 30;

/// The kernel-space address of physical memory at `address`.
#[inline]
pub fn phys_to_virt(address: u64) -> u64 {
    DIRECT_MAP_BASE + address
}

/// The physical address behind a direct-map address, or None for any other. The
/// kernel heap lies in the direct map (one physically contiguous region), so this
/// is how the host is told where a heap buffer is in guest RAM.
#[inline]
pub fn direct_map_physical(address: u64) -> Option<u64> {
    (DIRECT_MAP_BASE..KERNEL_STACKS_BASE).contains(&address).then(|| address - DIRECT_MAP_BASE)
}

extern "C" {
    static __kernel_phys_start: u8;
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
    static __kernel_end: u8;
}

fn symbol_address(symbol: *const u8) -> u64 {
    symbol as u64
}

/// The kernel's own tree: its upper half is copied into every address space.
static KERNEL_TREE: spin::Once<PageTableTree> = spin::Once::new();

/// What `init` produced that later boot steps need.
pub struct Memory {
    /// Virtual addresses of the local APIC's and the I/O APIC's registers.
    pub apic_registers: u64,
    pub ioapic_registers: u64,
    /// Free frames when the first process is about to be created.
    pub total_frames: usize,
}

/// Up to this many disjoint free ranges are tracked during boot.
const MAX_RANGES: usize = 128;

/// A set of free physical ranges, built by removing what is in use from the RAM map.
struct FreeRanges {
    ranges: [PhysRange; MAX_RANGES],
    count: usize,
}

impl FreeRanges {
    fn from_ram(ram: &[PhysRange]) -> FreeRanges {
        let mut set = FreeRanges { ranges: [PhysRange::default(); MAX_RANGES], count: 0 };
        for range in ram {
            let start = range.start.next_multiple_of(PAGE_SIZE);
            let end = range.end & !(PAGE_SIZE - 1);
            if start < end && set.count < MAX_RANGES {
                set.ranges[set.count] = PhysRange { start, end };
                set.count += 1;
            }
        }
        set
    }

    /// Removes `[start, end)` (rounded out to pages) from every range.
    fn remove(&mut self, start: u64, end: u64) {
        let start = start & !(PAGE_SIZE - 1);
        let end = end.next_multiple_of(PAGE_SIZE);
        let mut index = 0;
        while index < self.count {
            let range = self.ranges[index];
            if end <= range.start || start >= range.end {
                index += 1;
                continue;
            }
            let below = PhysRange { start: range.start, end: start.max(range.start) };
            let above = PhysRange { start: end.min(range.end), end: range.end };
            self.ranges[index] = below;
            if above.start < above.end && self.count < MAX_RANGES {
                self.ranges[self.count] = above;
                self.count += 1;
            }
            index += 1;
        }
    }

    /// Takes `pages` contiguous pages below the boot map's reach.
    fn take_contiguous(&mut self, pages: u64) -> u64 {
        let bytes = pages * PAGE_SIZE;
        let range = self.ranges[..self.count]
            .iter_mut()
            .find(|range| range.end - range.start >= bytes && range.start + bytes <= BOOT_MAPPED)
            .expect("not enough contiguous memory to boot");
        let start = range.start;
        range.start += bytes;
        start
    }

    fn iter(&self) -> impl Iterator<Item = PhysRange> + '_ {
        self.ranges[..self.count].iter().copied().filter(|range| range.start < range.end)
    }
}

/// Builds the kernel's memory: frame allocator, heap, and the final page tables
/// (direct map of all RAM, the kernel image with per-section permissions, device
/// registers), then switches to them, dropping the boot identity map.
///
/// Invariant: runs once, on the boot page tables, before anything allocates.
pub fn init(boot: &BootInfo) -> Memory {
    let mut free = FreeRanges::from_ram(boot.ram());
    free.remove(0, 1 << 20); // firmware and real-mode leftovers
    let kernel_start = symbol_address(&raw const __kernel_phys_start);
    let kernel_end = symbol_address(&raw const __kernel_end) - KERNEL_VMA;
    free.remove(kernel_start, kernel_end);
    for reserved in boot.reserved() {
        free.remove(reserved.start, reserved.end);
    }

    let highest = boot.ram().iter().map(|range| range.end).max().unwrap_or(0);
    let frame_count = (highest / PAGE_SIZE) as usize;
    let table_pages = ((frame_count * 2) as u64).div_ceil(PAGE_SIZE);
    let table_start = free.take_contiguous(table_pages);
    // SAFETY: the pages were just removed from the free set and lie in the boot map's
    // reach of the direct map; nothing else will ever use them.
    let references = unsafe {
        let table = phys_to_virt(table_start) as *mut u16;
        core::ptr::write_bytes(table, 0, frame_count);
        core::slice::from_raw_parts_mut(table, frame_count)
    };
    frame::init(references);

    let total_ram: u64 = boot.ram().iter().map(|range| range.end - range.start).sum();
    // Whole pages: the heap must not reach into the frame after its last page.
    let heap_bytes = (total_ram / 8).clamp(4 << 20, 64 << 20) & !(PAGE_SIZE - 1);
    let heap_start = free.take_contiguous(heap_bytes / PAGE_SIZE);
    heap::init(phys_to_virt(heap_start), heap_bytes as usize);

    let add_frames = |range: PhysRange, below_boot_map: bool| {
        let (start, end) = if below_boot_map {
            (range.start, range.end.min(BOOT_MAPPED))
        } else {
            (range.start.max(BOOT_MAPPED), range.end)
        };
        for address in (start..end).step_by(PAGE_SIZE as usize) {
            frame::add_free(Frame::from_address(address));
        }
    };
    for range in free.iter() {
        add_frames(range, true);
    }

    let tree = build_kernel_tree(boot);
    KERNEL_TREE.call_once(|| tree);
    // SAFETY: the new tree maps the kernel image, the direct map and the device
    // registers exactly as the code and data in use now expect (built just above).
    unsafe { paging::activate(tree.0, 0, false) };
    paging::enable_pcid();

    for range in free.iter() {
        add_frames(range, false);
    }
    Memory {
        apic_registers: DEVICE_REGISTERS_BASE,
        ioapic_registers: DEVICE_REGISTERS_BASE + PAGE_SIZE,
        total_frames: frame::free_count(),
    }
}

/// The kernel's tree: direct map, image, device registers.
fn build_kernel_tree(boot: &BootInfo) -> PageTableTree {
    let root = frame::alloc_zeroed().expect("memory for the kernel's page tables");
    let tree = PageTableTree(root.address());
    let table_memory = "memory for the kernel's page tables";
    // The kernel's tables are never freed: nothing needs the list of them.
    let mut tables = alloc::vec::Vec::new();

    let data = Flags::PRESENT | Flags::WRITABLE | Flags::NO_EXECUTE | Flags::GLOBAL;
    for range in boot.ram() {
        let start = range.start & !(HUGE_PAGE_SIZE - 1);
        for physical in (start..range.end).step_by(HUGE_PAGE_SIZE as usize) {
            let entry =
                tree.entry(phys_to_virt(physical), 2, Some(&mut tables)).expect(table_memory).expect(table_memory);
            entry.set_addr(PhysAddr::new(physical), data | Flags::HUGE_PAGE);
        }
    }

    let text_start = symbol_address(&raw const __text_start);
    let text_end = symbol_address(&raw const __text_end);
    let rodata_end = symbol_address(&raw const __rodata_end);
    let image_end = symbol_address(&raw const __kernel_end);
    for virtual_address in (text_start..image_end).step_by(PAGE_SIZE as usize) {
        let flags = if virtual_address < text_end {
            Flags::PRESENT | Flags::GLOBAL
        } else if virtual_address < rodata_end {
            Flags::PRESENT | Flags::GLOBAL | Flags::NO_EXECUTE
        } else {
            data
        };
        let physical = Frame::from_address(virtual_address - KERNEL_VMA);
        tree.map(virtual_address, physical, flags, &mut tables).expect(table_memory);
    }

    let uncached = data | Flags::NO_CACHE | Flags::WRITE_THROUGH;
    tree.map(DEVICE_REGISTERS_BASE, Frame::from_address(apic::PHYSICAL_BASE), uncached, &mut tables)
        .expect(table_memory);
    tree.map(DEVICE_REGISTERS_BASE + PAGE_SIZE, Frame::from_address(ioapic::PHYSICAL_BASE), uncached, &mut tables)
        .expect(table_memory);
    tree
}

/// The kernel's page-table tree (its upper half is every address space's).
pub fn kernel_tree() -> PageTableTree {
    *KERNEL_TREE.get().expect("mm::init ran")
}

/// Switches to the kernel's own tree (no user half), so the current address space
/// can be freed (exit).
pub fn activate_kernel_tree() {
    // SAFETY: the kernel tree maps the kernel, the same as every address space's
    // upper half.
    unsafe { paging::activate(kernel_tree().0, 0, false) };
}

/// The bytes of physical memory `[start, end)`, which must be reserved for the
/// kernel's lifetime (the initrd and command line are, by `init`).
pub fn physical_bytes(range: PhysRange) -> &'static [u8] {
    // SAFETY: the range is RAM the frame allocator never hands out (the caller passes
    // a range from BootInfo::reserved), reached through the direct map, and nobody
    // writes it.
    unsafe { core::slice::from_raw_parts(phys_to_virt(range.start) as *const u8, (range.end - range.start) as usize) }
}

/// `buffer` cleared, as bytes: for a buffer on the stack of which a caller uses
/// only a part, so that only that part is cleared (`[0u8; N]` clears all N).
pub fn zeroed(buffer: &mut [core::mem::MaybeUninit<u8>]) -> &mut [u8] {
    // SAFETY: `buffer` is valid for writes of its length; once written with zeros
    // every byte is initialized, and the slice borrows `buffer` for its lifetime.
    unsafe {
        core::ptr::write_bytes(buffer.as_mut_ptr(), 0, buffer.len());
        core::slice::from_raw_parts_mut(buffer.as_mut_ptr().cast::<u8>(), buffer.len())
    }
}
