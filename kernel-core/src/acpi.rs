//! The CPUs the firmware describes: the ACPI RSDP, its XSDT (or RSDT), and the MADT's
//! Local APIC and Local x2APIC entries. Every table's checksum and length is checked
//! before anything in it is believed; the firmware's tables are read through
//! `PhysicalMemory`, which the kernel backs with its map of physical memory and the
//! tests with hand-made tables.
//!
//! Written here rather than with the `acpi` crate: that crate reaches tables through
//! an unsafe mapping handler and collects the processors into allocator-backed
//! vectors (its platform info needs the unstable `allocator_api`), while the kernel
//! reads the MADT at boot, before its heap exists, and this parser is a few hundred
//! lines of bounds-checked reads with no unsafe code.

/// The most CPUs the kernel runs on (the per-CPU tables are this long).
pub const MAX_CPUS: usize = 16;

/// Physical memory, as the parser reads it.
pub trait PhysicalMemory {
    /// The `length` bytes at physical `address`, or None if they are not readable.
    fn read(&self, address: u64, length: usize) -> Option<&[u8]>;
}

/// Why the firmware's description of the CPUs could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// No RSDP address was given, or what is there is not an RSDP.
    NoRsdp,
    /// A table's bytes do not sum to zero.
    BadChecksum([u8; 4]),
    /// A table is shorter than its header, or an entry runs past its end or is
    /// shorter than its type's layout.
    Truncated([u8; 4]),
    /// A table lies outside readable memory.
    Unreadable([u8; 4]),
    /// The XSDT/RSDT lists no MADT.
    NoMadt,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        fn name(signature: &[u8; 4]) -> &str {
            let printable = signature.iter().all(u8::is_ascii_alphanumeric);
            core::str::from_utf8(signature).ok().filter(|_| printable).unwrap_or("????")
        }
        match self {
            Error::NoRsdp => write!(f, "no ACPI RSDP"),
            Error::BadChecksum(table) => write!(f, "ACPI table {} has a bad checksum", name(table)),
            Error::Truncated(table) => write!(f, "ACPI table {} is truncated", name(table)),
            Error::Unreadable(table) => write!(f, "ACPI table {} lies outside memory", name(table)),
            Error::NoMadt => write!(f, "no ACPI MADT"),
        }
    }
}

/// One CPU the firmware lists as usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Cpu {
    /// Its local APIC id: where an IPI to it is addressed.
    pub apic_id: u32,
    /// Its ACPI processor UID.
    pub processor_uid: u32,
}

/// The usable CPUs in the MADT's order (the boot CPU is not necessarily first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cpus {
    list: [Cpu; MAX_CPUS],
    count: usize,
    /// Usable CPUs past MAX_CPUS, not in the list.
    pub beyond_limit: usize,
    /// The local APIC registers' physical address.
    pub local_apic_address: u64,
}

impl Cpus {
    pub fn as_slice(&self) -> &[Cpu] {
        &self.list[..self.count]
    }

    fn add(&mut self, cpu: Cpu) {
        if self.as_slice().iter().any(|known| known.apic_id == cpu.apic_id) {
            return;
        }
        match self.list.get_mut(self.count) {
            Some(slot) => {
                *slot = cpu;
                self.count += 1;
            }
            None => self.beyond_limit += 1,
        }
    }
}

const HEADER_LENGTH: usize = 36;
const RSDP_V1_LENGTH: usize = 20;
const RSDP_V2_LENGTH: usize = 36;
const MADT_ENTRIES_OFFSET: usize = 44;
const ENTRY_LOCAL_APIC: u8 = 0;
const ENTRY_LOCAL_X2APIC: u8 = 9;
const FLAG_ENABLED: u32 = 1 << 0;
const FLAG_ONLINE_CAPABLE: u32 = 1 << 1;

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(*bytes.get(at..)?.first_chunk()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(*bytes.get(at..)?.first_chunk()?))
}

fn sums_to_zero(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |sum, byte| sum.wrapping_add(*byte)) == 0
}

/// The CPUs of the MADT reached from the RSDP at physical `rsdp_address`.
pub fn cpus(memory: &impl PhysicalMemory, rsdp_address: u64) -> Result<Cpus, Error> {
    let madt = find_table(memory, rsdp_address, *b"APIC")?;
    parse_madt(madt)
}

/// The table with `signature` listed by the RSDP's XSDT (or RSDT for ACPI 1.0),
/// checked.
fn find_table(memory: &impl PhysicalMemory, rsdp_address: u64, signature: [u8; 4]) -> Result<&[u8], Error> {
    if rsdp_address == 0 {
        return Err(Error::NoRsdp);
    }
    let rsdp = memory.read(rsdp_address, RSDP_V1_LENGTH).ok_or(Error::NoRsdp)?;
    if !rsdp.starts_with(b"RSD PTR ") {
        return Err(Error::NoRsdp);
    }
    if !sums_to_zero(rsdp) {
        return Err(Error::BadChecksum(*b"RSDP"));
    }
    let revision = rsdp.get(15).copied().unwrap_or(0);
    let (root, root_signature, entry_size) = if revision >= 2 {
        let extended = memory.read(rsdp_address, RSDP_V2_LENGTH).ok_or(Error::Unreadable(*b"RSDP"))?;
        if !sums_to_zero(extended) {
            return Err(Error::BadChecksum(*b"RSDP"));
        }
        (table(memory, u64_at(extended, 24).unwrap_or(0), *b"XSDT")?, *b"XSDT", 8)
    } else {
        (table(memory, u64::from(u32_at(rsdp, 16).unwrap_or(0)), *b"RSDT")?, *b"RSDT", 4)
    };
    let entries = root.get(HEADER_LENGTH..).unwrap_or(&[]);
    for entry in entries.chunks_exact(entry_size) {
        let address = if entry_size == 8 { u64_at(entry, 0) } else { u32_at(entry, 0).map(u64::from) };
        let Some(address) = address else { continue };
        // A listed table outside memory is the root table's fault.
        let header = memory.read(address, 4).ok_or(Error::Unreadable(root_signature))?;
        if header == signature {
            return table(memory, address, signature);
        }
    }
    Err(Error::NoMadt)
}

/// The whole table at `address`, which must carry `signature`, with its length and
/// checksum checked.
fn table(memory: &impl PhysicalMemory, address: u64, signature: [u8; 4]) -> Result<&[u8], Error> {
    let header = memory.read(address, HEADER_LENGTH).ok_or(Error::Unreadable(signature))?;
    if header.get(..4) != Some(&signature[..]) {
        return Err(Error::Unreadable(signature));
    }
    let length = u32_at(header, 4).unwrap_or(0) as usize;
    if length < HEADER_LENGTH {
        return Err(Error::Truncated(signature));
    }
    let bytes = memory.read(address, length).ok_or(Error::Unreadable(signature))?;
    if !sums_to_zero(bytes) {
        return Err(Error::BadChecksum(signature));
    }
    Ok(bytes)
}

/// The usable CPUs of a checked MADT: Local APIC (type 0) and Local x2APIC (type 9)
/// entries flagged Enabled or Online Capable, each APIC id once.
pub fn parse_madt(madt: &[u8]) -> Result<Cpus, Error> {
    const MADT: [u8; 4] = *b"APIC";
    let truncated = Error::Truncated(MADT);
    let local_apic_address = u32_at(madt, HEADER_LENGTH).ok_or(truncated)?;
    let mut cpus = Cpus {
        list: [Cpu::default(); MAX_CPUS],
        count: 0,
        beyond_limit: 0,
        local_apic_address: local_apic_address.into(),
    };
    let mut rest = madt.get(MADT_ENTRIES_OFFSET..).ok_or(truncated)?;
    while !rest.is_empty() {
        let (&kind, &length) = match rest {
            [kind, length, ..] => (kind, length),
            _ => return Err(truncated),
        };
        let entry = rest.get(..usize::from(length)).filter(|_| length >= 2).ok_or(truncated)?;
        rest = &rest[entry.len()..];
        let (cpu, flags) = match kind {
            ENTRY_LOCAL_APIC => {
                let flags = u32_at(entry, 4).ok_or(truncated)?;
                (Cpu { apic_id: entry[3].into(), processor_uid: entry[2].into() }, flags)
            }
            ENTRY_LOCAL_X2APIC => {
                let processor_uid = u32_at(entry, 12).ok_or(truncated)?;
                let apic_id = u32_at(entry, 4).ok_or(truncated)?;
                (Cpu { apic_id, processor_uid }, u32_at(entry, 8).ok_or(truncated)?)
            }
            _ => continue,
        };
        if flags & (FLAG_ENABLED | FLAG_ONLINE_CAPABLE) != 0 {
            cpus.add(cpu);
        }
    }
    Ok(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use std::collections::BTreeMap;

    /// Tables at physical addresses.
    struct Memory(BTreeMap<u64, Vec<u8>>);

    impl PhysicalMemory for Memory {
        fn read(&self, address: u64, length: usize) -> Option<&[u8]> {
            let (start, bytes) = self.0.range(..=address).next_back()?;
            bytes.get((address - start) as usize..)?.get(..length)
        }
    }

    fn fix_checksum(bytes: &mut [u8], checksum_at: usize, over: usize) {
        bytes[checksum_at] = 0;
        let sum = bytes[..over].iter().fold(0u8, |sum, byte| sum.wrapping_add(*byte));
        bytes[checksum_at] = 0u8.wrapping_sub(sum);
    }

    fn sdt(signature: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0u8; HEADER_LENGTH];
        bytes[..4].copy_from_slice(signature);
        bytes[4..8].copy_from_slice(&((HEADER_LENGTH + body.len()) as u32).to_le_bytes());
        bytes[8] = 1;
        bytes.extend_from_slice(body);
        let length = bytes.len();
        fix_checksum(&mut bytes, 9, length);
        bytes
    }

    fn local_apic(uid: u8, apic_id: u8, flags: u32) -> Vec<u8> {
        let mut entry = vec![ENTRY_LOCAL_APIC, 8, uid, apic_id];
        entry.extend_from_slice(&flags.to_le_bytes());
        entry
    }

    fn x2apic(uid: u32, apic_id: u32, flags: u32) -> Vec<u8> {
        let mut entry = vec![ENTRY_LOCAL_X2APIC, 16, 0, 0];
        for field in [apic_id, flags, uid] {
            entry.extend_from_slice(&field.to_le_bytes());
        }
        entry
    }

    fn madt(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut body = 0xfee0_0000u32.to_le_bytes().to_vec();
        body.extend_from_slice(&1u32.to_le_bytes()); // PC-AT compatible
                                                     // An I/O APIC entry, which the parser passes over.
        body.extend_from_slice(&[1, 12, 0, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0]);
        for entry in entries {
            body.extend_from_slice(entry);
        }
        sdt(b"APIC", &body)
    }

    const RSDP_AT: u64 = 0xf_5000;
    const XSDT_AT: u64 = 0x7fe_0000;
    const FACP_AT: u64 = 0x7fe_1000;
    const MADT_AT: u64 = 0x7fe_2000;

    fn rsdp(revision: u8, root: u64) -> Vec<u8> {
        let mut bytes = b"RSD PTR ".to_vec();
        bytes.extend_from_slice(b"\0BOCHS ");
        bytes[8] = 0;
        bytes.truncate(15);
        bytes.push(revision);
        bytes.extend_from_slice(&(root as u32).to_le_bytes());
        bytes.extend_from_slice(&(RSDP_V2_LENGTH as u32).to_le_bytes());
        bytes.extend_from_slice(&root.to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        fix_checksum(&mut bytes, 8, RSDP_V1_LENGTH);
        fix_checksum(&mut bytes, 32, RSDP_V2_LENGTH);
        bytes
    }

    /// ACPI 2.0 tables: RSDP -> XSDT -> (FACP, MADT with `entries`).
    fn machine(entries: &[Vec<u8>]) -> Memory {
        let mut xsdt_body = FACP_AT.to_le_bytes().to_vec();
        xsdt_body.extend_from_slice(&MADT_AT.to_le_bytes());
        Memory(BTreeMap::from([
            (RSDP_AT, rsdp(2, XSDT_AT)),
            (XSDT_AT, sdt(b"XSDT", &xsdt_body)),
            (FACP_AT, sdt(b"FACP", &[0; 8])),
            (MADT_AT, madt(entries)),
        ]))
    }

    fn apic_ids(cpus: &Cpus) -> Vec<u32> {
        cpus.as_slice().iter().map(|cpu| cpu.apic_id).collect()
    }

    #[test]
    fn finds_the_enabled_cpus_through_the_xsdt() {
        let memory = machine(&[local_apic(0, 0, 1), local_apic(1, 1, 1), local_apic(2, 2, 1), local_apic(3, 3, 1)]);
        let cpus = cpus(&memory, RSDP_AT).unwrap();
        assert_eq!(apic_ids(&cpus), [0, 1, 2, 3]);
        assert_eq!(cpus.local_apic_address, 0xfee0_0000);
        assert_eq!(cpus.as_slice()[2], Cpu { apic_id: 2, processor_uid: 2 });
        assert_eq!(cpus.beyond_limit, 0);
    }

    #[test]
    fn acpi_1_uses_the_rsdt() {
        let rsdt_at = 0x7fe_3000;
        let mut memory = machine(&[local_apic(0, 0, 1), local_apic(1, 5, 1)]);
        memory.0.insert(RSDP_AT, rsdp(0, rsdt_at)[..RSDP_V1_LENGTH].to_vec());
        let mut body = (FACP_AT as u32).to_le_bytes().to_vec();
        body.extend_from_slice(&(MADT_AT as u32).to_le_bytes());
        memory.0.insert(rsdt_at, sdt(b"RSDT", &body));
        assert_eq!(apic_ids(&cpus(&memory, RSDP_AT).unwrap()), [0, 5]);
    }

    #[test]
    fn disabled_cpus_are_skipped_and_online_capable_ones_kept() {
        let memory = machine(&[local_apic(0, 0, 1), local_apic(1, 1, 0), local_apic(2, 2, FLAG_ONLINE_CAPABLE)]);
        assert_eq!(apic_ids(&cpus(&memory, RSDP_AT).unwrap()), [0, 2]);
    }

    #[test]
    fn x2apic_entries_give_32_bit_ids() {
        let memory = machine(&[local_apic(0, 0, 1), x2apic(1, 300, 1), x2apic(2, 301, 0), x2apic(3, 0, 1)]);
        let cpus = cpus(&memory, RSDP_AT).unwrap();
        // The disabled one is skipped, and an x2APIC entry repeating a known id too.
        assert_eq!(apic_ids(&cpus), [0, 300]);
        assert_eq!(cpus.as_slice()[1].processor_uid, 1);
    }

    #[test]
    fn cpus_past_the_limit_are_counted_not_listed() {
        let entries: Vec<_> = (0..20).map(|id| local_apic(id, id, 1)).collect();
        let cpus = cpus(&machine(&entries), RSDP_AT).unwrap();
        assert_eq!(cpus.as_slice().len(), MAX_CPUS);
        assert_eq!(cpus.beyond_limit, 4);
    }

    #[test]
    fn bad_checksums_are_refused() {
        let mut memory = machine(&[local_apic(0, 0, 1)]);
        memory.0.get_mut(&MADT_AT).unwrap()[40] ^= 1;
        assert_eq!(cpus(&memory, RSDP_AT), Err(Error::BadChecksum(*b"APIC")));

        let mut memory = machine(&[local_apic(0, 0, 1)]);
        memory.0.get_mut(&XSDT_AT).unwrap()[20] ^= 1;
        assert_eq!(cpus(&memory, RSDP_AT), Err(Error::BadChecksum(*b"XSDT")));

        let mut memory = machine(&[local_apic(0, 0, 1)]);
        memory.0.get_mut(&RSDP_AT).unwrap()[9] ^= 1;
        assert_eq!(cpus(&memory, RSDP_AT), Err(Error::BadChecksum(*b"RSDP")));

        let mut memory = machine(&[local_apic(0, 0, 1)]);
        memory.0.get_mut(&RSDP_AT).unwrap()[30] ^= 1;
        assert_eq!(cpus(&memory, RSDP_AT), Err(Error::BadChecksum(*b"RSDP")));
    }

    #[test]
    fn truncated_entries_are_refused() {
        // An x2APIC entry claiming 8 bytes, shorter than its layout.
        let mut short = x2apic(1, 1, 1);
        short[1] = 8;
        short.truncate(8);
        let memory = machine(&[local_apic(0, 0, 1), short]);
        assert_eq!(cpus(&memory, RSDP_AT), Err(Error::Truncated(*b"APIC")));

        // An entry running past the table's end.
        let mut long = local_apic(1, 1, 1);
        long[1] = 40;
        assert_eq!(cpus(&machine(&[long]), RSDP_AT), Err(Error::Truncated(*b"APIC")));

        // A zero-length entry (which would otherwise loop forever).
        assert_eq!(cpus(&machine(&[vec![0, 0]]), RSDP_AT), Err(Error::Truncated(*b"APIC")));

        // A table shorter than the MADT's fixed fields.
        assert_eq!(parse_madt(&sdt(b"APIC", &[0; 4])), Err(Error::Truncated(*b"APIC")));
    }

    #[test]
    fn missing_or_unreadable_tables_are_errors() {
        let memory = machine(&[local_apic(0, 0, 1)]);
        assert_eq!(cpus(&memory, 0), Err(Error::NoRsdp));
        assert_eq!(cpus(&memory, XSDT_AT), Err(Error::NoRsdp));
        assert_eq!(cpus(&memory, 0x1234), Err(Error::NoRsdp));

        let mut memory = machine(&[local_apic(0, 0, 1)]);
        memory.0.remove(&MADT_AT);
        assert_eq!(cpus(&memory, RSDP_AT), Err(Error::Unreadable(*b"XSDT")));

        let mut memory = machine(&[]);
        let mut body = FACP_AT.to_le_bytes().to_vec();
        body.extend_from_slice(&FACP_AT.to_le_bytes());
        memory.0.insert(XSDT_AT, sdt(b"XSDT", &body));
        assert_eq!(cpus(&memory, RSDP_AT), Err(Error::NoMadt));

        // A length field larger than the memory behind it.
        let mut memory = machine(&[local_apic(0, 0, 1)]);
        memory.0.get_mut(&MADT_AT).unwrap()[5] = 0x10;
        assert_eq!(cpus(&memory, RSDP_AT), Err(Error::Unreadable(*b"APIC")));
    }
}
