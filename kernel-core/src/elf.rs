//! Static x86_64 ELF executables: every check the loader needs before it maps a
//! single byte, and the plan it then follows (which bytes go where, with which
//! permissions, where execution starts and where the heap begins).
//!
//! The fixed ELF64 structures are read by hand with bounds-checked little-endian
//! reads: that is shorter than adapting a general ELF crate and keeps the
//! never-panic guarantee local.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::bytes::Fields;

/// Linux's `TASK_SIZE` on x86_64 (4-level paging): user addresses lie below it.
pub const USER_SPACE_END: u64 = 0x0000_7fff_ffff_f000;
pub const PAGE_SIZE: u64 = 4096;
/// Where a static-pie is placed: Linux's `ELF_ET_DYN_BASE` without ASLR, so it
/// lands where Linux (ASLR off) puts it.
pub const ET_DYN_LOAD_BIAS: u64 = 0x5555_5555_4000;
/// The lowest address a segment may use (Linux's default `mmap_min_addr`), so
/// that null-pointer dereferences always fault.
pub const MIN_SEGMENT_ADDRESS: u64 = 0x1_0000;
/// More program headers than any real static executable has; refusing more
/// bounds the work done on hostile files.
pub const MAX_PROGRAM_HEADERS: u16 = 64;

const ELF_MAGIC: [u8; 4] = *b"\x7fELF";
const ELF_HEADER_SIZE: usize = 64;
const PROGRAM_HEADER_SIZE: u16 = 56;
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const EV_CURRENT: u8 = 1;
const EM_X86_64: u16 = 62;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_PHDR: u32 = 6;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;
/// Longer interpreter strings are cut in the error message.
const MAX_INTERPRETER_LEN: usize = 256;

/// Access rights of a segment's pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegmentFlags {
    pub read: bool,
    pub write: bool,
    pub execute: bool,
}

/// One `PT_LOAD` segment, at its final (biased) address: `mem_size` bytes at
/// `vaddr`, the first `file_size` copied from `file_offset` and the rest zeroed.
/// The bytes around it in its first and last pages belong to no segment unless
/// another segment claims them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub mem_size: u64,
    pub file_offset: u64,
    pub file_size: u64,
    pub flags: SegmentFlags,
}

impl Segment {
    /// The first address past the segment (it never exceeds `USER_SPACE_END` in
    /// an `ElfImage`).
    pub fn end(&self) -> u64 {
        self.vaddr.saturating_add(self.mem_size)
    }

    /// Whether the `len` bytes from `address` all lie inside the segment.
    pub fn contains(&self, address: u64, len: u64) -> bool {
        address
            .checked_sub(self.vaddr)
            .and_then(|offset| offset.checked_add(len))
            .is_some_and(|end| end <= self.mem_size)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageKind {
    /// `ET_EXEC`: loaded at the addresses it names.
    Executable,
    /// `ET_DYN` without an interpreter: relocates itself, loaded near
    /// `ET_DYN_LOAD_BIAS`.
    StaticPie,
}

/// A validated executable and its load plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfImage {
    pub kind: ImageKind,
    /// Added to every address in the file (0 for `Executable`).
    pub load_bias: u64,
    pub entry: u64,
    /// Where the program headers are in memory, for `AT_PHDR` (0 when no segment
    /// maps them; glibc then finds them itself, musl cannot).
    pub phdr_vaddr: u64,
    pub phdr_entry_size: u16,
    pub phdr_count: u16,
    /// The `PT_LOAD` segments in file order; they do not overlap.
    pub segments: Vec<Segment>,
    /// The page-aligned end of the highest segment: where the heap (`brk`) starts.
    pub image_end: u64,
}

/// Why a file cannot run. Indices name program headers (counting from 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElfError {
    NotElf,
    TruncatedHeader { len: usize },
    NotElf64 { class: u8 },
    NotLittleEndian,
    UnsupportedVersion,
    WrongMachine { machine: u16 },
    NotAnExecutable { file_type: u16 },
    DynamicallyLinked { interpreter: String },
    BadProgramHeaderSize { size: u16 },
    TooManyProgramHeaders { count: u16 },
    ProgramHeadersOutsideFile,
    NoLoadableSegment,
    SegmentOutsideFile { index: usize },
    FileSizeExceedsMemSize { index: usize },
    MisalignedSegment { index: usize },
    SegmentOutsideUserSpace { index: usize },
    WritableAndExecutable { index: usize },
    SegmentsOverlap { first: usize, second: usize },
    SharedPageWritableAndExecutable { first: usize, second: usize },
    EntryNotExecutable { entry: u64 },
    ProgramHeadersNotLoaded,
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotElf => write!(f, "not an ELF file"),
            Self::TruncatedHeader { len } => {
                write!(f, "truncated ELF file: {len} bytes, shorter than the {ELF_HEADER_SIZE}-byte ELF64 header")
            }
            Self::NotElf64 { class: 1 } => {
                write!(f, "32-bit ELF file: timeshare runs 64-bit x86_64 programs only")
            }
            Self::NotElf64 { class } => write!(f, "unknown ELF class {class} (expected 64-bit)"),
            Self::NotLittleEndian => {
                write!(f, "big-endian ELF file: x86_64 programs are little-endian")
            }
            Self::UnsupportedVersion => write!(f, "unsupported ELF version (expected 1)"),
            Self::WrongMachine { machine } => match machine_name(*machine) {
                Some(name) => write!(f, "built for {name}, not x86_64"),
                None => write!(f, "built for machine type {machine}, not x86_64 (62)"),
            },
            Self::NotAnExecutable { file_type } => match file_type {
                1 => write!(f, "a relocatable object file (.o), not a linked executable"),
                3 => write!(f, "a shared library, not an executable"),
                4 => write!(f, "a core dump, not an executable"),
                other => write!(f, "ELF file type {other} is not an executable"),
            },
            Self::DynamicallyLinked { interpreter } => {
                write!(f, "dynamically linked (interpreter {interpreter}): timeshare runs static binaries only")
            }
            Self::BadProgramHeaderSize { size } => {
                write!(f, "program header entries are {size} bytes, expected {PROGRAM_HEADER_SIZE}")
            }
            Self::TooManyProgramHeaders { count } => {
                write!(f, "{count} program headers, more than the {MAX_PROGRAM_HEADERS} timeshare accepts")
            }
            Self::ProgramHeadersOutsideFile => {
                write!(f, "the program header table extends past the end of the file")
            }
            Self::NoLoadableSegment => write!(f, "no loadable (PT_LOAD) segment"),
            Self::SegmentOutsideFile { index } => {
                write!(f, "segment {index} extends past the end of the file")
            }
            Self::FileSizeExceedsMemSize { index } => {
                write!(f, "segment {index} has more file bytes than memory bytes")
            }
            Self::MisalignedSegment { index } => {
                write!(f, "segment {index}: address and file offset disagree modulo its alignment or the page size")
            }
            Self::SegmentOutsideUserSpace { index } => {
                write!(f, "segment {index} lies outside user space [{MIN_SEGMENT_ADDRESS:#x}, {USER_SPACE_END:#x})")
            }
            Self::WritableAndExecutable { index } => {
                write!(f, "segment {index} is both writable and executable (W^X)")
            }
            Self::SegmentsOverlap { first, second } => {
                write!(f, "segments {first} and {second} overlap in memory")
            }
            Self::SharedPageWritableAndExecutable { first, second } => {
                write!(f, "segments {first} and {second} share a page that would be writable and executable (W^X)")
            }
            Self::EntryNotExecutable { entry } => {
                write!(f, "entry point {entry:#x} is not inside an executable segment")
            }
            Self::ProgramHeadersNotLoaded => {
                write!(f, "PT_PHDR names memory that no loadable segment covers")
            }
        }
    }
}

/// The architecture names worth spelling out when refusing a foreign binary.
fn machine_name(machine: u16) -> Option<&'static str> {
    Some(match machine {
        2 => "SPARC",
        3 => "32-bit x86 (i386)",
        8 => "MIPS",
        20 => "PowerPC",
        21 => "64-bit PowerPC",
        22 => "IBM S/390",
        40 => "32-bit ARM",
        43 => "SPARC V9",
        50 => "IA-64",
        183 => "AArch64 (64-bit ARM)",
        243 => "RISC-V",
        258 => "LoongArch",
        _ => return None,
    })
}

/// The ELF header fields the loader uses.
struct Header {
    file_type: u16,
    entry: u64,
    phoff: u64,
    phnum: u16,
}

/// One program header, as in the file (addresses not yet biased).
struct ProgramHeader {
    index: usize,
    kind: u32,
    flags: SegmentFlags,
    offset: u64,
    vaddr: u64,
    file_size: u64,
    mem_size: u64,
    align: u64,
}

impl ProgramHeader {
    /// Whether the file holds all of `[offset, offset + file_size)`.
    fn inside(&self, file: &File) -> bool {
        self.offset.checked_add(self.file_size).is_some_and(|end| end <= file.len)
    }
}

/// The file being parsed: its length and a way to read it, so that the loader
/// can parse a file it does not hold in one piece (the pages of a file system)
/// while reading only the headers.
struct File<'a> {
    len: u64,
    /// Fills the buffer from the offset; only called on ranges inside the file.
    read: &'a mut dyn FnMut(u64, &mut [u8]),
}

impl File<'_> {
    /// The `length` bytes at `offset`, if the file holds them all.
    fn bytes(&mut self, offset: u64, length: usize) -> Option<Vec<u8>> {
        let end = offset.checked_add(u64::try_from(length).ok()?)?;
        if end > self.len {
            return None;
        }
        let mut bytes = vec![0; length];
        (self.read)(offset, &mut bytes);
        Some(bytes)
    }
}

/// Validates `file` as a static x86_64 executable (`ET_EXEC`, or `ET_DYN` without
/// an interpreter, i.e. static-pie) and returns its load plan. On success every
/// segment lies inside the file and inside `[MIN_SEGMENT_ADDRESS,
/// USER_SPACE_END)`, segments do not overlap, no page would be both writable and
/// executable, and the entry point lies in an executable segment.
pub fn parse(file: &[u8]) -> Result<ElfImage, ElfError> {
    parse_from(file.len() as u64, &mut |offset, buffer| {
        let start = offset as usize;
        buffer.copy_from_slice(&file[start..start + buffer.len()]);
    })
}

/// `parse` of a file of `len` bytes that `read(offset, buffer)` fills `buffer`
/// from (only ever inside the file): only the ELF header, the program header
/// table and a `PT_INTERP` path are read.
pub fn parse_from(len: u64, read: &mut dyn FnMut(u64, &mut [u8])) -> Result<ElfImage, ElfError> {
    let file = &mut File { len, read };
    let header = read_header(file)?;
    let program_headers = read_program_headers(file, &header)?;
    if let Some(interp) = program_headers.iter().find(|p| p.kind == PT_INTERP) {
        return Err(ElfError::DynamicallyLinked { interpreter: interpreter_path(file, interp) });
    }
    let loads: Vec<&ProgramHeader> = program_headers.iter().filter(|p| p.kind == PT_LOAD).collect();
    for load in &loads {
        check_segment(file, load)?;
    }
    let (kind, load_bias) = match header.file_type {
        ET_EXEC => (ImageKind::Executable, 0),
        _ => (ImageKind::StaticPie, static_pie_bias(&loads)?),
    };
    let placed = loads
        .iter()
        .map(|load| place(load, load_bias).map(|segment| (load.index, segment)))
        .collect::<Result<Vec<_>, _>>()?;
    check_no_overlap(&placed)?;
    check_shared_pages(&placed)?;

    let entry = header.entry.checked_add(load_bias);
    let entry_is_executable =
        entry.is_some_and(|entry| placed.iter().any(|(_, s)| s.flags.execute && s.contains(entry, 1)));
    let entry = match entry {
        Some(entry) if entry_is_executable => entry,
        _ => return Err(ElfError::EntryNotExecutable { entry: header.entry }),
    };
    let phdr_vaddr = phdr_vaddr(&header, &program_headers, &placed, load_bias)?;
    let image_end = placed.iter().map(|(_, s)| page_up(s.end())).max().unwrap_or(0);
    Ok(ElfImage {
        kind,
        load_bias,
        entry,
        phdr_vaddr,
        phdr_entry_size: PROGRAM_HEADER_SIZE,
        phdr_count: header.phnum,
        segments: placed.into_iter().map(|(_, segment)| segment).collect(),
        image_end,
    })
}

/// Reads and checks the ELF header, up to (not including) the program headers.
fn read_header(file: &mut File) -> Result<Header, ElfError> {
    if file.bytes(0, ELF_MAGIC.len()).as_deref() != Some(&ELF_MAGIC[..]) {
        return Err(ElfError::NotElf);
    }
    let len = usize::try_from(file.len).unwrap_or(usize::MAX);
    let bytes = file.bytes(0, ELF_HEADER_SIZE).ok_or(ElfError::TruncatedHeader { len })?;
    let mut fields = Fields::new(&bytes);
    let [_, _, _, _, class, data, ident_version, ..] = fields.take::<16>();
    let file_type = fields.u16();
    let machine = fields.u16();
    let version = fields.u32();
    let entry = fields.u64();
    let phoff = fields.u64();
    let _section_headers_offset = fields.u64();
    let _flags = fields.u32();
    let _header_size = fields.u16();
    let phentsize = fields.u16();
    let phnum = fields.u16();

    if class != ELFCLASS64 {
        return Err(ElfError::NotElf64 { class });
    }
    if data != ELFDATA2LSB {
        return Err(ElfError::NotLittleEndian);
    }
    if ident_version != EV_CURRENT || version != u32::from(EV_CURRENT) {
        return Err(ElfError::UnsupportedVersion);
    }
    if machine != EM_X86_64 {
        return Err(ElfError::WrongMachine { machine });
    }
    if file_type != ET_EXEC && file_type != ET_DYN {
        return Err(ElfError::NotAnExecutable { file_type });
    }
    if phentsize != PROGRAM_HEADER_SIZE {
        return Err(ElfError::BadProgramHeaderSize { size: phentsize });
    }
    if phnum > MAX_PROGRAM_HEADERS {
        return Err(ElfError::TooManyProgramHeaders { count: phnum });
    }
    Ok(Header { file_type, entry, phoff, phnum })
}

/// Reads every program header; the table must lie inside the file.
fn read_program_headers(file: &mut File, header: &Header) -> Result<Vec<ProgramHeader>, ElfError> {
    let table_len = usize::from(header.phnum) * usize::from(PROGRAM_HEADER_SIZE);
    let table = file.bytes(header.phoff, table_len).ok_or(ElfError::ProgramHeadersOutsideFile)?;
    let headers = table
        .chunks_exact(usize::from(PROGRAM_HEADER_SIZE))
        .enumerate()
        .map(|(index, bytes)| {
            let mut fields = Fields::new(bytes);
            let kind = fields.u32();
            let flags = fields.u32();
            let offset = fields.u64();
            let vaddr = fields.u64();
            let _paddr = fields.u64();
            ProgramHeader {
                index,
                kind,
                flags: SegmentFlags { read: flags & PF_R != 0, write: flags & PF_W != 0, execute: flags & PF_X != 0 },
                offset,
                vaddr,
                file_size: fields.u64(),
                mem_size: fields.u64(),
                align: fields.u64(),
            }
        })
        .collect::<Vec<_>>();
    if !headers.iter().any(|p| p.kind == PT_LOAD) {
        return Err(ElfError::NoLoadableSegment);
    }
    Ok(headers)
}

/// The interpreter path named by `PT_INTERP`, for the error message.
fn interpreter_path(file: &mut File, interp: &ProgramHeader) -> String {
    if !interp.inside(file) {
        return "<outside the file>".to_string();
    }
    // Only what the message shows is read (the file holds it: the whole is inside).
    let shown = interp.file_size.min(MAX_INTERPRETER_LEN as u64) as usize;
    let bytes = file.bytes(interp.offset, shown).unwrap_or_default();
    let path = bytes.split(|&b| b == 0).next().unwrap_or_default();
    String::from_utf8_lossy(path).into_owned()
}

/// The checks on one `PT_LOAD` that do not depend on where it is placed.
fn check_segment(file: &File, load: &ProgramHeader) -> Result<(), ElfError> {
    let index = load.index;
    if !load.inside(file) {
        return Err(ElfError::SegmentOutsideFile { index });
    }
    if load.file_size > load.mem_size {
        return Err(ElfError::FileSizeExceedsMemSize { index });
    }
    // The ELF rule (congruence modulo p_align) and the one mapping file pages
    // needs (congruence modulo the page size).
    let congruent = |modulus: u64| load.vaddr.checked_rem(modulus) == load.offset.checked_rem(modulus);
    if (load.align > 1 && !congruent(load.align)) || !congruent(PAGE_SIZE) {
        return Err(ElfError::MisalignedSegment { index });
    }
    if load.flags.write && load.flags.execute {
        return Err(ElfError::WritableAndExecutable { index });
    }
    Ok(())
}

/// The bias that moves a static-pie's lowest segment to `ET_DYN_LOAD_BIAS`, as
/// Linux computes it: the base is aligned down to the largest power-of-two
/// segment alignment (at least a page), then the bias is page-aligned.
fn static_pie_bias(loads: &[&ProgramHeader]) -> Result<u64, ElfError> {
    let alignment =
        loads.iter().map(|load| load.align).filter(|align| align.is_power_of_two()).fold(PAGE_SIZE, u64::max);
    let base = ET_DYN_LOAD_BIAS & !(alignment - 1);
    let lowest = loads.iter().min_by_key(|load| load.vaddr).ok_or(ElfError::NoLoadableSegment)?;
    base.checked_sub(lowest.vaddr).map(page_down).ok_or(ElfError::SegmentOutsideUserSpace { index: lowest.index })
}

/// The segment at its biased address, which must lie in user space.
fn place(load: &ProgramHeader, bias: u64) -> Result<Segment, ElfError> {
    let vaddr = load.vaddr.checked_add(bias);
    let end = vaddr.and_then(|vaddr| vaddr.checked_add(load.mem_size));
    match (vaddr, end) {
        (Some(vaddr), Some(end)) if vaddr >= MIN_SEGMENT_ADDRESS && end <= USER_SPACE_END => Ok(Segment {
            vaddr,
            mem_size: load.mem_size,
            file_offset: load.offset,
            file_size: load.file_size,
            flags: load.flags,
        }),
        _ => Err(ElfError::SegmentOutsideUserSpace { index: load.index }),
    }
}

/// Segments must not claim the same virtual byte twice.
fn check_no_overlap(placed: &[(usize, Segment)]) -> Result<(), ElfError> {
    let mut by_address: Vec<&(usize, Segment)> = placed.iter().collect();
    by_address.sort_by_key(|(_, segment)| segment.vaddr);
    // Sorted by start, disjointness of every neighbouring pair implies
    // disjointness of all pairs.
    for pair in by_address.windows(2) {
        if let [(first, a), (second, b)] = pair {
            if a.end() > b.vaddr {
                return Err(ElfError::SegmentsOverlap { first: *first, second: *second });
            }
        }
    }
    Ok(())
}

/// A page's permissions are the union of those of every segment touching it, so
/// a writable segment and an executable one must not share a page.
fn check_shared_pages(placed: &[(usize, Segment)]) -> Result<(), ElfError> {
    let pages = |s: &Segment| (page_down(s.vaddr), page_up(s.end()));
    for (position, (first, a)) in placed.iter().enumerate() {
        for (second, b) in placed.iter().skip(position + 1) {
            let ((a_start, a_end), (b_start, b_end)) = (pages(a), pages(b));
            let share_a_page = a_start < b_end && b_start < a_end;
            let writable = a.flags.write || b.flags.write;
            let executable = a.flags.execute || b.flags.execute;
            if share_a_page && writable && executable {
                let (first, second) = (*first.min(second), *first.max(second));
                return Err(ElfError::SharedPageWritableAndExecutable { first, second });
            }
        }
    }
    Ok(())
}

/// The in-memory address of the program header table: `PT_PHDR`'s address if
/// present (which must then lie inside a segment), else wherever the segment
/// containing the table's file bytes maps them (as Linux computes `AT_PHDR`),
/// else 0.
fn phdr_vaddr(
    header: &Header,
    program_headers: &[ProgramHeader],
    placed: &[(usize, Segment)],
    bias: u64,
) -> Result<u64, ElfError> {
    let table_len = u64::from(header.phnum) * u64::from(PROGRAM_HEADER_SIZE);
    if let Some(phdr) = program_headers.iter().find(|p| p.kind == PT_PHDR) {
        let start = phdr.vaddr.checked_add(bias);
        let inside = start.is_some_and(|start| placed.iter().any(|(_, s)| s.contains(start, table_len)));
        return match start {
            Some(start) if inside => Ok(start),
            _ => Err(ElfError::ProgramHeadersNotLoaded),
        };
    }
    let mapped = placed.iter().find_map(|(_, s)| {
        let offset = header.phoff.checked_sub(s.file_offset).filter(|&offset| offset < s.file_size)?;
        s.vaddr.checked_add(offset)
    });
    Ok(mapped.unwrap_or(0))
}

/// `address` rounded down to a page boundary.
fn page_down(address: u64) -> u64 {
    address & !(PAGE_SIZE - 1)
}

/// `address` rounded up to a page boundary; only called on addresses at most
/// `USER_SPACE_END` (page-aligned), so it cannot overflow.
fn page_up(address: u64) -> u64 {
    page_down(address.saturating_add(PAGE_SIZE - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Rng;
    use alloc::format;
    use alloc::vec;

    const R: u32 = PF_R;
    const RW: u32 = PF_R | PF_W;
    const RX: u32 = PF_R | PF_X;

    #[derive(Clone)]
    struct Phdr {
        kind: u32,
        flags: u32,
        offset: u64,
        vaddr: u64,
        file_size: u64,
        mem_size: u64,
        align: u64,
    }

    fn load(flags: u32, offset: u64, vaddr: u64, file_size: u64, mem_size: u64) -> Phdr {
        Phdr { kind: PT_LOAD, flags, offset, vaddr, file_size, mem_size, align: PAGE_SIZE }
    }

    /// A synthetic ELF64 file: header, program headers at offset 64, then
    /// `contents` written at their offsets in a file of `file_len` bytes.
    #[derive(Clone)]
    struct TestElf {
        ident: [u8; 16],
        file_type: u16,
        machine: u16,
        version: u32,
        entry: u64,
        phoff: u64,
        phentsize: u16,
        phnum: Option<u16>,
        phdrs: Vec<Phdr>,
        contents: Vec<(usize, Vec<u8>)>,
        file_len: usize,
    }

    impl TestElf {
        /// A valid static executable: headers and text in one R+X segment at
        /// 0x400000, data and bss in an RW segment one page up.
        fn valid() -> Self {
            let mut ident = [0u8; 16];
            ident[..7].copy_from_slice(&[0x7f, b'E', b'L', b'F', ELFCLASS64, ELFDATA2LSB, EV_CURRENT]);
            Self {
                ident,
                file_type: ET_EXEC,
                machine: EM_X86_64,
                version: 1,
                entry: 0x400100,
                phoff: 64,
                phentsize: PROGRAM_HEADER_SIZE,
                phnum: None,
                phdrs: vec![load(RX, 0, 0x400000, 0x1000, 0x1000), load(RW, 0x1000, 0x401000, 0x100, 0x2000)],
                contents: Vec::new(),
                file_len: 0x1100,
            }
        }

        fn build(&self) -> Vec<u8> {
            let mut file = Vec::new();
            file.extend_from_slice(&self.ident);
            file.extend_from_slice(&self.file_type.to_le_bytes());
            file.extend_from_slice(&self.machine.to_le_bytes());
            file.extend_from_slice(&self.version.to_le_bytes());
            file.extend_from_slice(&self.entry.to_le_bytes());
            file.extend_from_slice(&self.phoff.to_le_bytes());
            file.extend_from_slice(&0u64.to_le_bytes());
            file.extend_from_slice(&0u32.to_le_bytes());
            file.extend_from_slice(&64u16.to_le_bytes());
            file.extend_from_slice(&self.phentsize.to_le_bytes());
            let phnum = self.phnum.unwrap_or(self.phdrs.len() as u16);
            file.extend_from_slice(&phnum.to_le_bytes());
            file.extend_from_slice(&[0; 6]);
            assert_eq!(file.len(), ELF_HEADER_SIZE);
            for p in &self.phdrs {
                file.extend_from_slice(&p.kind.to_le_bytes());
                file.extend_from_slice(&p.flags.to_le_bytes());
                for value in [p.offset, p.vaddr, p.vaddr, p.file_size, p.mem_size, p.align] {
                    file.extend_from_slice(&value.to_le_bytes());
                }
            }
            file.resize(self.file_len.max(file.len()), 0);
            for (offset, bytes) in &self.contents {
                file[*offset..*offset + bytes.len()].copy_from_slice(bytes);
            }
            file.truncate(self.file_len);
            file
        }

        fn parse(&self) -> Result<ElfImage, ElfError> {
            parse(&self.build())
        }

        fn with(mut self, change: impl FnOnce(&mut Self)) -> Self {
            change(&mut self);
            self
        }
    }

    #[test]
    fn valid_static_executable() {
        let image = TestElf::valid().parse().unwrap();
        assert_eq!(
            image,
            ElfImage {
                kind: ImageKind::Executable,
                load_bias: 0,
                entry: 0x400100,
                phdr_vaddr: 0x400040,
                phdr_entry_size: 56,
                phdr_count: 2,
                segments: vec![
                    Segment {
                        vaddr: 0x400000,
                        mem_size: 0x1000,
                        file_offset: 0,
                        file_size: 0x1000,
                        flags: SegmentFlags { read: true, write: false, execute: true },
                    },
                    Segment {
                        vaddr: 0x401000,
                        mem_size: 0x2000,
                        file_offset: 0x1000,
                        file_size: 0x100,
                        flags: SegmentFlags { read: true, write: true, execute: false },
                    },
                ],
                image_end: 0x403000,
            }
        );
    }

    #[test]
    fn static_pie_is_placed_at_the_linux_base() {
        let elf = TestElf::valid().with(|e| {
            e.file_type = ET_DYN;
            e.entry = 0x100;
            e.phdrs = vec![load(RX, 0, 0, 0x1000, 0x1000), load(RW, 0x1000, 0x1000, 0x100, 0x2000)];
        });
        let image = elf.parse().unwrap();
        assert_eq!(image.kind, ImageKind::StaticPie);
        assert_eq!(image.load_bias, ET_DYN_LOAD_BIAS);
        assert_eq!(image.entry, ET_DYN_LOAD_BIAS + 0x100);
        assert_eq!(image.phdr_vaddr, ET_DYN_LOAD_BIAS + 64);
        assert_eq!(image.segments[1].vaddr, ET_DYN_LOAD_BIAS + 0x1000);
        assert_eq!(image.image_end, ET_DYN_LOAD_BIAS + 0x3000);
    }

    #[test]
    fn static_pie_base_respects_large_alignment() {
        let elf = TestElf::valid().with(|e| {
            e.file_type = ET_DYN;
            e.entry = 0x100;
            e.phdrs = vec![load(RX, 0, 0, 0x1000, 0x1000)];
            e.phdrs[0].align = 0x20_0000;
            e.file_len = 0x1000;
        });
        assert_eq!(elf.parse().unwrap().load_bias, 0x5555_5540_0000);
    }

    #[test]
    fn static_pie_with_a_nonzero_first_address() {
        let elf = TestElf::valid().with(|e| {
            e.file_type = ET_DYN;
            e.phdrs = vec![load(RX, 0, 0x10000, 0x1000, 0x1000)];
            e.entry = 0x10100;
            e.file_len = 0x1000;
        });
        let image = elf.parse().unwrap();
        assert_eq!(image.segments[0].vaddr, ET_DYN_LOAD_BIAS);
        assert_eq!(image.entry, ET_DYN_LOAD_BIAS + 0x100);
    }

    #[test]
    fn static_pie_whose_addresses_exceed_the_base() {
        let elf = TestElf::valid().with(|e| {
            e.file_type = ET_DYN;
            e.phdrs = vec![load(RX, 0, 0x6000_0000_0000, 0x1000, 0x1000)];
            e.entry = 0x6000_0000_0100;
            e.file_len = 0x1000;
        });
        assert_eq!(elf.parse(), Err(ElfError::SegmentOutsideUserSpace { index: 0 }));
    }

    #[test]
    fn not_elf() {
        for file in [&b""[..], b"\x7fEL", b"#!/bin/sh\necho hi\n", b"MZ\x90\x00", &[0u8; 64]] {
            assert_eq!(parse(file), Err(ElfError::NotElf));
        }
        assert_eq!(ElfError::NotElf.to_string(), "not an ELF file");
    }

    #[test]
    fn truncated_header() {
        let file = TestElf::valid().build();
        assert_eq!(parse(&file[..40]), Err(ElfError::TruncatedHeader { len: 40 }));
        assert_eq!(parse(&file[..4]), Err(ElfError::TruncatedHeader { len: 4 }));
    }

    #[test]
    fn wrong_class_data_version_machine() {
        let elf = TestElf::valid();
        let error = elf.clone().with(|e| e.ident[4] = 1).parse().unwrap_err();
        assert_eq!(error, ElfError::NotElf64 { class: 1 });
        assert!(error.to_string().contains("32-bit"));
        assert_eq!(elf.clone().with(|e| e.ident[4] = 7).parse(), Err(ElfError::NotElf64 { class: 7 }));
        assert_eq!(elf.clone().with(|e| e.ident[5] = 2).parse(), Err(ElfError::NotLittleEndian));
        assert_eq!(elf.clone().with(|e| e.ident[6] = 0).parse(), Err(ElfError::UnsupportedVersion));
        assert_eq!(elf.clone().with(|e| e.version = 2).parse(), Err(ElfError::UnsupportedVersion));
        let error = elf.clone().with(|e| e.machine = 183).parse().unwrap_err();
        assert_eq!(error, ElfError::WrongMachine { machine: 183 });
        assert_eq!(error.to_string(), "built for AArch64 (64-bit ARM), not x86_64");
        let error = elf.with(|e| e.machine = 9999).parse().unwrap_err();
        assert!(error.to_string().contains("9999"));
    }

    #[test]
    fn not_an_executable() {
        for (file_type, words) in [(1, "relocatable"), (4, "core dump"), (0, "type 0"), (0xfe00, "type")] {
            let error = TestElf::valid().with(|e| e.file_type = file_type).parse().unwrap_err();
            assert_eq!(error, ElfError::NotAnExecutable { file_type });
            assert!(error.to_string().contains(words), "{error}");
        }
    }

    #[test]
    fn a_relocatable_object_is_named_even_without_program_headers() {
        let elf = TestElf::valid().with(|e| {
            e.file_type = 1;
            e.phentsize = 0;
            e.phdrs.clear();
        });
        assert_eq!(elf.parse(), Err(ElfError::NotAnExecutable { file_type: 1 }));
    }

    #[test]
    fn dynamically_linked_names_its_interpreter() {
        let interpreter = b"/lib/ld-musl-x86_64.so.1\0";
        let elf = TestElf::valid().with(|e| {
            e.phdrs.insert(
                0,
                Phdr {
                    kind: PT_INTERP,
                    flags: R,
                    offset: 0x300,
                    vaddr: 0x400300,
                    file_size: 25,
                    mem_size: 25,
                    align: 1,
                },
            );
            e.contents.push((0x300, interpreter.to_vec()));
        });
        let error = elf.parse().unwrap_err();
        assert_eq!(
            error.to_string(),
            "dynamically linked (interpreter /lib/ld-musl-x86_64.so.1): timeshare runs static binaries only"
        );
        let pie = elf.clone().with(|e| e.file_type = ET_DYN).parse().unwrap_err();
        assert!(matches!(pie, ElfError::DynamicallyLinked { .. }));
        let outside = elf.with(|e| e.phdrs[0].offset = 0x10_0000).parse().unwrap_err();
        assert_eq!(outside, ElfError::DynamicallyLinked { interpreter: "<outside the file>".into() });
    }

    #[test]
    fn program_header_table_problems() {
        let elf = TestElf::valid();
        assert_eq!(elf.clone().with(|e| e.phentsize = 32).parse(), Err(ElfError::BadProgramHeaderSize { size: 32 }));
        assert_eq!(
            elf.clone().with(|e| e.phnum = Some(65)).parse(),
            Err(ElfError::TooManyProgramHeaders { count: 65 })
        );
        assert_eq!(
            elf.clone().with(|e| e.phnum = Some(0xffff)).parse(),
            Err(ElfError::TooManyProgramHeaders { count: 0xffff })
        );
        assert_eq!(elf.clone().with(|e| e.phoff = 0x1100).parse(), Err(ElfError::ProgramHeadersOutsideFile));
        assert_eq!(elf.clone().with(|e| e.phoff = u64::MAX - 10).parse(), Err(ElfError::ProgramHeadersOutsideFile));
        assert_eq!(elf.clone().with(|e| e.phnum = Some(0)).parse(), Err(ElfError::NoLoadableSegment));
        let notes_only = elf.with(|e| {
            for p in &mut e.phdrs {
                p.kind = 4;
            }
        });
        assert_eq!(notes_only.parse(), Err(ElfError::NoLoadableSegment));
    }

    #[test]
    fn segment_outside_the_file() {
        let elf = TestElf::valid();
        assert_eq!(
            elf.clone().with(|e| e.phdrs[1].file_size = 0x101).parse(),
            Err(ElfError::SegmentOutsideFile { index: 1 })
        );
        assert_eq!(
            elf.with(|e| {
                e.phdrs[1].offset = u64::MAX - 0xfff;
                e.phdrs[1].vaddr = 0x401000 + (u64::MAX - 0xfff) % PAGE_SIZE;
            })
            .parse(),
            Err(ElfError::SegmentOutsideFile { index: 1 })
        );
    }

    #[test]
    fn file_size_must_not_exceed_memory_size() {
        let elf = TestElf::valid().with(|e| e.phdrs[1].mem_size = 0x80);
        assert_eq!(elf.parse(), Err(ElfError::FileSizeExceedsMemSize { index: 1 }));
    }

    #[test]
    fn misaligned_segments() {
        let elf = TestElf::valid();
        assert_eq!(
            elf.clone().with(|e| e.phdrs[1].vaddr = 0x401800).parse(),
            Err(ElfError::MisalignedSegment { index: 1 })
        );
        let two_meg = elf.clone().with(|e| {
            e.phdrs[1].align = 0x20_0000;
            e.phdrs[1].vaddr = 0x402000;
        });
        assert_eq!(two_meg.parse(), Err(ElfError::MisalignedSegment { index: 1 }));
        let unaligned_page = elf.clone().with(|e| {
            e.phdrs[1].align = 1;
            e.phdrs[1].vaddr = 0x401010;
        });
        assert_eq!(unaligned_page.parse(), Err(ElfError::MisalignedSegment { index: 1 }));
        let odd_alignment = elf.with(|e| e.phdrs[1].align = 0x3000);
        assert_eq!(odd_alignment.parse(), Err(ElfError::MisalignedSegment { index: 1 }));
    }

    #[test]
    fn segments_outside_user_space() {
        let elf = TestElf::valid();
        let null_page = elf.clone().with(|e| {
            e.phdrs[0].vaddr = 0;
            e.entry = 0x100;
        });
        assert_eq!(null_page.parse(), Err(ElfError::SegmentOutsideUserSpace { index: 0 }));
        let below_min = elf.clone().with(|e| {
            e.phdrs[0].vaddr = 0xf000;
            e.entry = 0xf100;
        });
        assert_eq!(below_min.parse(), Err(ElfError::SegmentOutsideUserSpace { index: 0 }));
        let at_min = elf.clone().with(|e| {
            e.phdrs[0].vaddr = 0x10000;
            e.entry = 0x10100;
        });
        assert!(at_min.parse().is_ok());
        let reaching_the_end = elf.clone().with(|e| e.phdrs[1].vaddr = USER_SPACE_END - 0x1000);
        assert_eq!(reaching_the_end.parse(), Err(ElfError::SegmentOutsideUserSpace { index: 1 }));
        let ending_at_the_end = elf.clone().with(|e| {
            e.phdrs[1].vaddr = USER_SPACE_END - 0x2000;
        });
        assert_eq!(ending_at_the_end.parse().unwrap().image_end, USER_SPACE_END);
        let kernel_half = elf.clone().with(|e| e.phdrs[1].vaddr = 0xffff_ffff_8000_0000);
        assert_eq!(kernel_half.parse(), Err(ElfError::SegmentOutsideUserSpace { index: 1 }));
        let wrapping = elf.with(|e| {
            e.phdrs[1].vaddr = 0xffff_ffff_ffff_f000;
            e.phdrs[1].mem_size = 0x2000;
        });
        assert_eq!(wrapping.parse(), Err(ElfError::SegmentOutsideUserSpace { index: 1 }));
    }

    #[test]
    fn writable_and_executable_segment() {
        let elf = TestElf::valid().with(|e| e.phdrs[1].flags = PF_R | PF_W | PF_X);
        let error = elf.parse().unwrap_err();
        assert_eq!(error, ElfError::WritableAndExecutable { index: 1 });
        assert!(error.to_string().contains("W^X"));
    }

    #[test]
    fn overlapping_segments() {
        let elf = TestElf::valid().with(|e| e.phdrs[1].vaddr = 0x400000);
        assert_eq!(elf.parse(), Err(ElfError::SegmentsOverlap { first: 0, second: 1 }));
        let contained = TestElf::valid().with(|e| {
            e.phdrs[0].mem_size = 0x10000;
            e.phdrs[1].flags = R;
        });
        assert_eq!(contained.parse(), Err(ElfError::SegmentsOverlap { first: 0, second: 1 }));
        let reversed = TestElf::valid().with(|e| {
            e.phdrs.swap(0, 1);
            e.phdrs[1].mem_size = 0x1800;
        });
        assert_eq!(reversed.parse(), Err(ElfError::SegmentsOverlap { first: 1, second: 0 }));
    }

    #[test]
    fn writable_and_executable_segments_sharing_a_page() {
        // Text ends at 0x400800, data starts at 0x400800 in the same page.
        let elf = TestElf::valid().with(|e| {
            e.phdrs[0].file_size = 0x800;
            e.phdrs[0].mem_size = 0x800;
            e.phdrs[1].offset = 0x800;
            e.phdrs[1].vaddr = 0x400800;
            e.phdrs[1].file_size = 0x100;
            e.phdrs[1].align = 1;
            e.file_len = 0x900;
        });
        assert_eq!(elf.parse(), Err(ElfError::SharedPageWritableAndExecutable { first: 0, second: 1 }));
        let read_only_neighbour = elf.with(|e| e.phdrs[1].flags = R);
        assert!(read_only_neighbour.parse().is_ok());
    }

    #[test]
    fn writable_and_executable_pages_via_a_third_segment() {
        // Three tiny segments in one page: R+X, R, R+W.
        let elf = TestElf::valid().with(|e| {
            e.phdrs = vec![
                load(RX, 0, 0x400000, 0x100, 0x100),
                load(R, 0x100, 0x400100, 0x100, 0x100),
                load(RW, 0x200, 0x400200, 0x100, 0x100),
            ];
            e.file_len = 0x300;
            e.entry = 0x400080;
        });
        assert_eq!(elf.parse(), Err(ElfError::SharedPageWritableAndExecutable { first: 0, second: 2 }));
    }

    #[test]
    fn entry_point_must_be_executable() {
        let elf = TestElf::valid();
        for entry in [0, 0x3fffff, 0x401000, 0x400000 + 0x1000, u64::MAX] {
            let error = elf.clone().with(|e| e.entry = entry).parse().unwrap_err();
            assert_eq!(error, ElfError::EntryNotExecutable { entry });
        }
        assert!(elf.clone().with(|e| e.entry = 0x400fff).parse().is_ok());
        let pie = elf.with(|e| {
            e.file_type = ET_DYN;
            e.phdrs[0].vaddr = 0;
            e.phdrs[1].vaddr = 0x1000;
            e.entry = u64::MAX - 5;
        });
        assert_eq!(pie.parse(), Err(ElfError::EntryNotExecutable { entry: u64::MAX - 5 }));
    }

    #[test]
    fn phdr_address_from_pt_phdr() {
        let with_phdr = |vaddr: u64| {
            TestElf::valid().with(|e| {
                e.phdrs.insert(
                    0,
                    Phdr { kind: PT_PHDR, flags: R, offset: 64, vaddr, file_size: 168, mem_size: 168, align: 8 },
                );
            })
        };
        assert_eq!(with_phdr(0x400040).parse().unwrap().phdr_vaddr, 0x400040);
        assert_eq!(with_phdr(0x400040).parse().unwrap().phdr_count, 3);
        assert_eq!(with_phdr(0x402000).parse().unwrap().phdr_vaddr, 0x402000, "inside the bss is still mapped");
        assert_eq!(with_phdr(0x300000).parse(), Err(ElfError::ProgramHeadersNotLoaded));
        assert_eq!(with_phdr(0x402fc0).parse(), Err(ElfError::ProgramHeadersNotLoaded), "runs off the end");
        assert_eq!(with_phdr(u64::MAX).parse(), Err(ElfError::ProgramHeadersNotLoaded));
    }

    #[test]
    fn phdr_address_when_no_segment_maps_the_headers() {
        let elf = TestElf::valid().with(|e| {
            e.phdrs[0].offset = 0x1000;
            e.phdrs[0].file_size = 0x100;
            e.phdrs[1].offset = 0x1000;
            e.phdrs[1].file_size = 0;
            e.file_len = 0x1100;
        });
        assert_eq!(elf.parse().unwrap().phdr_vaddr, 0);
    }

    #[test]
    fn zero_sized_and_bss_only_segments() {
        let elf = TestElf::valid().with(|e| {
            e.phdrs.push(load(RW, 0, 0x500000, 0, 0x3000));
            e.phdrs.push(load(R, 0, 0x600000, 0, 0));
        });
        let image = elf.parse().unwrap();
        assert_eq!(image.segments.len(), 4);
        assert_eq!(image.image_end, 0x600000);
    }

    #[test]
    fn every_truncation_of_a_valid_file_is_refused_without_panicking() {
        let file = TestElf::valid().build();
        for len in 0..file.len() {
            assert!(parse(&file[..len]).is_err(), "length {len}");
        }
    }

    #[test]
    fn random_corruption_never_panics() {
        let valid = TestElf::valid().build();
        let mut rng = Rng::new(7);
        for _ in 0..20_000 {
            let mut file = valid[..ELF_HEADER_SIZE + 2 * 56].to_vec();
            for _ in 0..=rng.below(8) {
                let position = rng.below(file.len() as u64) as usize;
                file[position] = rng.next_u64() as u8;
            }
            file.resize(valid.len(), 0);
            let _ = parse(&file);
        }
        for _ in 0..2_000 {
            let len = rng.below(300) as usize;
            let mut file: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            if file.len() >= 4 {
                file[..4].copy_from_slice(&ELF_MAGIC);
            }
            let _ = parse(&file);
        }
    }

    #[test]
    fn every_error_has_a_message() {
        let errors = [
            ElfError::ProgramHeadersOutsideFile,
            ElfError::NoLoadableSegment,
            ElfError::SegmentOutsideFile { index: 2 },
            ElfError::FileSizeExceedsMemSize { index: 2 },
            ElfError::MisalignedSegment { index: 2 },
            ElfError::SegmentOutsideUserSpace { index: 2 },
            ElfError::SegmentsOverlap { first: 1, second: 2 },
            ElfError::SharedPageWritableAndExecutable { first: 1, second: 2 },
            ElfError::EntryNotExecutable { entry: 0x1234 },
            ElfError::ProgramHeadersNotLoaded,
            ElfError::BadProgramHeaderSize { size: 3 },
            ElfError::TooManyProgramHeaders { count: 99 },
        ];
        for error in errors {
            let message = error.to_string();
            assert!(message.len() > 10, "{error:?}: {message}");
        }
        assert_eq!(
            ElfError::SegmentOutsideUserSpace { index: 3 }.to_string(),
            "segment 3 lies outside user space [0x10000, 0x7ffffffff000)"
        );
    }

    fn check_real_image(image: &ElfImage, file: &[u8]) {
        for segment in &image.segments {
            assert!(segment.vaddr >= MIN_SEGMENT_ADDRESS);
            assert!(segment.end() <= image.image_end);
            assert!((segment.file_offset + segment.file_size) as usize <= file.len());
        }
        assert_eq!(image.image_end % PAGE_SIZE, 0);
        assert_ne!(image.phdr_vaddr, 0);
    }

    #[test]
    fn busybox_if_installed() {
        let Ok(file) = std::fs::read("/bin/busybox") else {
            std::eprintln!("skipping: /bin/busybox is not installed");
            return;
        };
        let image = parse(&file).unwrap_or_else(|e| panic!("/bin/busybox: {e}"));
        check_real_image(&image, &file);
        if image.kind == ImageKind::Executable {
            assert_eq!(image.load_bias, 0);
            assert_eq!(image.phdr_vaddr, image.segments[0].vaddr + 64);
        }
    }

    /// Compiles a small program with `rustc` (always present where these tests
    /// run) as a static-pie and as a dynamically linked executable.
    #[test]
    fn binaries_built_by_rustc() {
        let dir = std::env::temp_dir().join(format!("kernel-core-elf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let source = dir.join("hello.rs");
        std::fs::write(&source, "fn main() { println!(\"hello\"); }").unwrap();
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
        let build = |output: &str, static_crt: bool| {
            let mut command = std::process::Command::new(&rustc);
            command.arg(&source).arg("-o").arg(dir.join(output));
            if static_crt {
                command.args(["-C", "target-feature=+crt-static"]);
            }
            let status = command.status().unwrap();
            assert!(status.success());
            std::fs::read(dir.join(output)).unwrap()
        };
        let static_pie = build("static", true);
        let dynamic = build("dynamic", false);
        std::fs::remove_dir_all(&dir).ok();

        let image = parse(&static_pie).unwrap_or_else(|e| panic!("static-pie: {e}"));
        assert_eq!(image.kind, ImageKind::StaticPie);
        assert_eq!(image.load_bias, ET_DYN_LOAD_BIAS);
        check_real_image(&image, &static_pie);

        let error = parse(&dynamic).unwrap_err();
        assert!(matches!(&error, ElfError::DynamicallyLinked { interpreter } if interpreter.contains("ld-linux")));
    }

    #[test]
    fn musl_static_binary_if_musl_gcc_is_installed() {
        let dir = std::env::temp_dir().join(format!("kernel-core-musl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("hello.c"), "int main(void) { return 0; }\n").unwrap();
        let status = std::process::Command::new("musl-gcc")
            .current_dir(&dir)
            .args(["-static", "-o", "hello", "hello.c"])
            .status();
        let file = std::fs::read(dir.join("hello"));
        std::fs::remove_dir_all(&dir).ok();
        let Ok(status) = status else {
            std::eprintln!("skipping: musl-gcc is not installed");
            return;
        };
        assert!(status.success());
        let file = file.unwrap();
        let image = parse(&file).unwrap_or_else(|e| panic!("musl static: {e}"));
        assert_eq!(image.kind, ImageKind::Executable);
        check_real_image(&image, &file);
    }
    #[test]
    fn parse_from_reads_only_the_headers_and_agrees_with_parse() {
        // A segment's bytes far past the headers: parsing must not read them (the
        // loader maps a file's pages without copying them into one buffer first).
        let elf = TestElf::valid().with(|elf| {
            elf.phdrs = vec![load(RX, 0, 0x400000, 0x1000, 0x1000), load(RW, 0x7000, 0x407000, 0x900, 0x2000)];
            elf.file_len = 0x7900;
        });
        let file = elf.build();
        let mut reads = Vec::new();
        let image = parse_from(file.len() as u64, &mut |offset, buffer| {
            reads.push(offset..offset + buffer.len() as u64);
            buffer.copy_from_slice(&file[offset as usize..offset as usize + buffer.len()]);
        });
        assert_eq!(image, parse(&file));
        let headers_end = ELF_HEADER_SIZE as u64 + 2 * u64::from(PROGRAM_HEADER_SIZE);
        assert!(reads.iter().all(|range| range.end <= headers_end), "read past the headers: {reads:?}");

        let mut truncated = file[..0x7000].to_vec();
        let error = parse_from(truncated.len() as u64, &mut |offset, buffer| {
            buffer.copy_from_slice(&truncated[offset as usize..offset as usize + buffer.len()]);
        });
        assert_eq!(error, Err(ElfError::SegmentOutsideFile { index: 1 }));
        truncated.truncate(10);
        assert_eq!(parse(&truncated), Err(ElfError::TruncatedHeader { len: 10 }));
    }
}
