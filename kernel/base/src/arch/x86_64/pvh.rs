//! What QEMU tells the kernel at the PVH entry: `hvm_start_info` (Xen's public
//! `arch-x86/hvm/start_info.h`): the memory map, the command line and the modules
//! (the `-initrd` file is module 0). Read once at boot through the boot page tables'
//! identity map of the first 4 GiB, and copied into a `BootInfo` the kernel owns.

const START_INFO_MAGIC: u32 = 0x336e_c578;
/// The boot page tables identity-map this much; PVH puts everything below it.
const IDENTITY_MAPPED: u64 = 4 << 30;
pub const MAX_REGIONS: usize = 64;

#[repr(C)]
struct StartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    module_count: u32,
    module_list: u64,
    cmdline: u64,
    rsdp: u64,
    memory_map: u64,
    memory_map_entries: u32,
    reserved: u32,
}

#[repr(C)]
struct Module {
    address: u64,
    size: u64,
    cmdline: u64,
    reserved: u64,
}

#[repr(C)]
struct MemoryMapEntry {
    address: u64,
    size: u64,
    kind: u32,
    reserved: u32,
}

const MEMORY_RAM: u32 = 1;

/// A physical address range `[start, end)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PhysRange {
    pub start: u64,
    pub end: u64,
}

/// The facts the boot sequence needs, copied out of the start info.
pub struct BootInfo {
    /// Usable RAM, as the firmware reported it.
    pub ram: [PhysRange; MAX_REGIONS],
    pub ram_count: usize,
    /// Memory the kernel must not hand out: the start info and everything it points to.
    pub reserved: [PhysRange; 8],
    pub reserved_count: usize,
    pub cmdline: PhysRange,
    pub initrd: Option<PhysRange>,
    /// The CPUs the ACPI MADT lists (reached from the start info's RSDP).
    pub cpus: Result<acpi::Cpus, acpi::Error>,
}

impl BootInfo {
    pub fn ram(&self) -> &[PhysRange] {
        &self.ram[..self.ram_count]
    }

    pub fn reserved(&self) -> &[PhysRange] {
        &self.reserved[..self.reserved_count]
    }

    fn reserve(&mut self, start: u64, length: u64) {
        if length > 0 && self.reserved_count < self.reserved.len() {
            self.reserved[self.reserved_count] = PhysRange { start, end: start + length };
            self.reserved_count += 1;
        }
    }
}

/// Reads the start info at physical `address`. Panics (a clear boot failure) if the
/// magic or version is wrong or something lies outside the identity map.
///
/// Invariant: runs on the boot page tables, before `memory::init` drops the
/// identity map.
pub fn read(address: u64) -> BootInfo {
    let read_struct = |at: u64, size: u64| {
        assert!(at.checked_add(size).is_some_and(|end| end <= IDENTITY_MAPPED), "PVH data above 4 GiB");
        at
    };
    // SAFETY: QEMU passes a valid start info; every pointer is checked to lie in the
    // identity-mapped first 4 GiB before it is dereferenced, and the structures are
    // read-only firmware data nobody else touches during boot.
    unsafe {
        let info = &*(read_struct(address, size_of::<StartInfo>() as u64) as *const StartInfo);
        assert_eq!(
            info.magic, START_INFO_MAGIC,
            "not a PVH start info (QEMU writes a kernel command line over 4095 bytes across it)"
        );
        assert!(info.version >= 1, "PVH start info without a memory map");
        let mut boot = BootInfo {
            ram: [PhysRange::default(); MAX_REGIONS],
            ram_count: 0,
            reserved: [PhysRange::default(); 8],
            reserved_count: 0,
            cmdline: PhysRange::default(),
            initrd: None,
            cpus: Err(acpi::Error::NoRsdp),
        };
        boot.reserve(address, size_of::<StartInfo>() as u64);

        let entries = info.memory_map_entries as u64;
        let map_bytes = entries * size_of::<MemoryMapEntry>() as u64;
        let map = read_struct(info.memory_map, map_bytes) as *const MemoryMapEntry;
        boot.reserve(info.memory_map, map_bytes);
        for index in 0..entries as usize {
            let entry = &*map.add(index);
            if entry.kind == MEMORY_RAM && boot.ram_count < MAX_REGIONS {
                boot.ram[boot.ram_count] = PhysRange { start: entry.address, end: entry.address + entry.size };
                boot.ram_count += 1;
            }
        }

        if info.cmdline != 0 {
            let start = read_struct(info.cmdline, 1) as *const u8;
            // One byte past the longest line the kernel takes, so that a longer
            // one shows as such (the boot refuses it) instead of being cut.
            let mut length = 0;
            while length <= kernel_core::cmdline::MAX_LEN && *start.add(length) != 0 {
                length += 1;
            }
            boot.cmdline = PhysRange { start: info.cmdline, end: info.cmdline + length as u64 };
            boot.reserve(info.cmdline, length as u64 + 1);
        }

        if info.module_count > 0 {
            let list_bytes = u64::from(info.module_count) * size_of::<Module>() as u64;
            let modules = read_struct(info.module_list, list_bytes) as *const Module;
            boot.reserve(info.module_list, list_bytes);
            let initrd = &*modules;
            read_struct(initrd.address, initrd.size);
            boot.initrd = Some(PhysRange { start: initrd.address, end: initrd.address + initrd.size });
            boot.reserve(initrd.address, initrd.size);
        }
        boot.cpus = acpi::cpus(&IdentityMap, info.rsdp);
        boot
    }
}

/// Physical memory through the boot page tables' identity map of the first 4 GiB
/// (where the firmware keeps its ACPI tables).
struct IdentityMap;

impl acpi::PhysicalMemory for IdentityMap {
    fn read(&self, address: u64, length: usize) -> Option<&[u8]> {
        let end = address.checked_add(length as u64)?;
        // SAFETY: only within the identity map (checked), and only during boot
        // (`read`'s invariant), of firmware tables nobody writes; address 0 is refused.
        (address != 0 && end <= IDENTITY_MAPPED)
            .then(|| unsafe { core::slice::from_raw_parts(address as *const u8, length) })
    }
}

use core::mem::size_of;
use kernel_core::acpi;
