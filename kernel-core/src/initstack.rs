//! The initial user stack of a new program, laid out byte for byte as Linux's
//! `fs/exec.c` and `fs/binfmt_elf.c` (`create_elf_tables`) lay it out with ASLR
//! off, so that libc start-up code finds everything where it expects.
//!
//! From `stack_top` down:
//! ```text
//!   8 zero bytes (end marker)
//!   execfn string                       <- AT_EXECFN
//!   envp strings, then argv strings     (argv[0] lowest), each NUL-terminated
//!   padding to 16 bytes
//!   "x86_64\0"                          <- AT_PLATFORM
//!   16 random bytes                     <- AT_RANDOM
//!   padding so that the final sp is 16-byte aligned
//!   auxv (type, value) pairs ending with AT_NULL
//!   envp pointers, NULL
//!   argv pointers, NULL
//!   argc                                <- initial_sp
//! ```

use core::fmt;
use core::ops::Range;

/// Linux's room for the strings of an exec and their pointers: a quarter of the
/// default 8 MiB stack limit (`bprm_stack_limits` in fs/exec.c). More is `E2BIG`.
pub const ARG_SPACE: usize = 2 << 20;
/// The longest single string, its NUL included (Linux's `MAX_ARG_STRLEN`, 32
/// pages). Longer is `E2BIG`.
pub const MAX_ARG_STRLEN: usize = 32 * 4096;

const AT_NULL: u64 = 0;
const AT_PHDR: u64 = 3;
const AT_PHENT: u64 = 4;
const AT_PHNUM: u64 = 5;
const AT_PAGESZ: u64 = 6;
const AT_BASE: u64 = 7;
const AT_FLAGS: u64 = 8;
const AT_ENTRY: u64 = 9;
const AT_UID: u64 = 11;
const AT_EUID: u64 = 12;
const AT_GID: u64 = 13;
const AT_EGID: u64 = 14;
const AT_PLATFORM: u64 = 15;
const AT_HWCAP: u64 = 16;
const AT_CLKTCK: u64 = 17;
const AT_SECURE: u64 = 23;
const AT_RANDOM: u64 = 25;
const AT_HWCAP2: u64 = 26;
const AT_EXECFN: u64 = 31;
const AT_SYSINFO_EHDR: u64 = 33;

const PLATFORM: &[u8] = b"x86_64\0";
const END_MARKER: [u8; 8] = [0; 8];
const WORD: u64 = 8;
const STACK_ALIGN: u64 = 16;
/// The auxiliary vector entries `build` writes, AT_NULL included.
const AUX_ENTRIES: usize = 20;

/// The per-program values of the auxiliary vector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuxValues {
    pub phdr: u64,
    pub phent: u64,
    pub phnum: u64,
    pub entry: u64,
    /// The interpreter's load address; 0 for static programs.
    pub base: u64,
    /// Also used for the effective uid (timeshare has no set-uid programs).
    pub uid: u64,
    /// Also used for the effective gid.
    pub gid: u64,
    pub hwcap: u64,
    /// The `times()` tick rate; 100 on Linux.
    pub clock_ticks: u64,
    /// Where the vDSO's ELF header is mapped.
    pub sysinfo_ehdr: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackError {
    /// The strings and their pointers exceed `ARG_SPACE`, or one string exceeds
    /// `MAX_ARG_STRLEN`.
    TooBig,
    /// A string contains a NUL byte, which would silently cut it short.
    InteriorNul,
    /// The image would extend below address 0.
    StackTopTooLow,
}

impl StackError {
    /// The errno `execve` reports for this error.
    pub fn errno(self) -> i64 {
        use crate::abi::errno::{E2BIG, EFAULT, EINVAL};
        match self {
            Self::TooBig => E2BIG,
            Self::InteriorNul => EINVAL,
            Self::StackTopTooLow => EFAULT,
        }
    }
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooBig => write!(
                f,
                "argument list too long (Linux's limits: {ARG_SPACE} bytes of strings, NULs and 8-byte pointers \
                 in all, {MAX_ARG_STRLEN} bytes per string with its NUL)"
            ),
            Self::InteriorNul => write!(f, "an argument or environment string contains a NUL byte"),
            Self::StackTopTooLow => write!(f, "the stack top is too low to hold the arguments"),
        }
    }
}

/// What is left of `ARG_SPACE` while the strings of one exec are gathered,
/// charged as Linux charges them: first a pointer for each string (at least one
/// for argv, which gets an empty `argv[0]` when it has none), then each string
/// with its NUL, the program's path included.
#[derive(Clone, Copy, Debug)]
pub struct ArgSpace {
    left: usize,
}

impl ArgSpace {
    /// The space left once the pointers of `argc` arguments and `envc`
    /// environment strings are charged.
    pub fn new(argc: usize, envc: usize) -> Result<ArgSpace, StackError> {
        let pointers = argc.max(1).checked_add(envc).and_then(|n| n.checked_mul(WORD as usize));
        match pointers {
            Some(pointers) if pointers < ARG_SPACE => Ok(ArgSpace { left: ARG_SPACE - pointers }),
            _ => Err(StackError::TooBig),
        }
    }

    /// The most strings any exec can have: each needs a pointer in `ARG_SPACE`.
    pub const MAX_STRINGS: usize = ARG_SPACE / WORD as usize - 1;

    /// The bytes of strings (NULs included) that may still be charged.
    pub fn left(&self) -> usize {
        self.left
    }

    /// Charges a string of `length` bytes (without its NUL).
    pub fn take(&mut self, length: usize) -> Result<(), StackError> {
        let bytes = length.saturating_add(1);
        if bytes > MAX_ARG_STRLEN {
            return Err(StackError::TooBig);
        }
        self.left = self.left.checked_sub(bytes).ok_or(StackError::TooBig)?;
        Ok(())
    }
}

/// A program's argv and envp strings, each NUL-terminated, back to back (argv
/// first): the bytes its initial stack holds above the tables, as Linux gathers
/// them for exec, so that they go onto the stack in one piece and a string costs
/// no more memory than its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Strings<'a> {
    bytes: &'a [u8],
    argc: usize,
    envc: usize,
}

impl<'a> Strings<'a> {
    /// `bytes` as `argc` arguments then `envc` environment strings; `None` unless
    /// it is exactly that many NUL-terminated strings.
    pub fn new(bytes: &'a [u8], argc: usize, envc: usize) -> Option<Strings<'a>> {
        let terminated = bytes.last().is_none_or(|&last| last == 0);
        let count = bytes.iter().filter(|&&byte| byte == 0).count();
        (terminated && Some(count) == argc.checked_add(envc)).then_some(Strings { bytes, argc, envc })
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn argc(&self) -> usize {
        self.argc
    }

    pub fn envc(&self) -> usize {
        self.envc
    }

    /// Every string, without its NUL: argv's, then envp's.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + Clone {
        let bytes = self.bytes;
        bytes.split_inclusive(|&byte| byte == 0).map(|string| &string[..string.len() - 1])
    }

    /// Whether a program may start with these strings and `execfn` as its path
    /// under Linux's limits (`ArgSpace`).
    pub fn check_limits(&self, execfn: &[u8]) -> Result<(), StackError> {
        let mut space = ArgSpace::new(self.argc, self.envc)?;
        space.take(execfn.len())?;
        self.iter().try_for_each(|string| space.take(string.len()))
    }
}

/// Appends `string` and its NUL to `bytes`, the contents of a `Strings`.
pub fn push_string(bytes: &mut alloc::vec::Vec<u8>, string: &[u8]) -> Result<(), StackError> {
    if string.contains(&0) {
        return Err(StackError::InteriorNul);
    }
    bytes.extend_from_slice(string);
    bytes.push(0);
    Ok(())
}

/// The initial stack of a program, ready to be stored: it spans `[initial_sp,
/// stack_top)`, starts 16-byte aligned with argc at `initial_sp`, and every
/// pointer in it points inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackImage<'a> {
    pub initial_sp: u64,
    strings: Strings<'a>,
    strings_address: u64,
    execfn: &'a [u8],
    random: [u8; 16],
    random_address: u64,
    auxv: [(u64, u64); AUX_ENTRIES],
}

/// Lays out the initial stack below `stack_top` for a program started with
/// `strings` (its argv and envp), `execfn` (the path given to `execve`), 16
/// `random` bytes for `AT_RANDOM`, and `aux`.
pub fn build<'a>(
    stack_top: u64,
    strings: Strings<'a>,
    execfn: &'a [u8],
    random: [u8; 16],
    aux: &AuxValues,
) -> Result<StackImage<'a>, StackError> {
    if execfn.contains(&0) {
        return Err(StackError::InteriorNul);
    }
    strings.check_limits(execfn)?;

    // Addresses, from the top down. Every size is now bounded (by ARG_SPACE),
    // so only subtractions from `stack_top` can fail.
    let below = |address: u64, size: usize| -> Result<u64, StackError> {
        address.checked_sub(size as u64).ok_or(StackError::StackTopTooLow)
    };
    let execfn_address = below(below(stack_top, END_MARKER.len())?, execfn.len() + 1)?;
    let strings_address = below(execfn_address, strings.bytes.len())?;
    let aligned_below_strings = align_down(strings_address);
    let platform_address = below(aligned_below_strings, PLATFORM.len())?;
    let random_address = below(platform_address, random.len())?;
    let word_count = 1 + (strings.argc + 1) + (strings.envc + 1) + 2 * AUX_ENTRIES;
    let initial_sp = align_down(below(random_address, word_count * WORD as usize)?);
    // Linux's order: the architecture's entries (the vDSO) first.
    let auxv = [
        (AT_SYSINFO_EHDR, aux.sysinfo_ehdr),
        (AT_HWCAP, aux.hwcap),
        (AT_PAGESZ, crate::elf::PAGE_SIZE),
        (AT_CLKTCK, aux.clock_ticks),
        (AT_PHDR, aux.phdr),
        (AT_PHENT, aux.phent),
        (AT_PHNUM, aux.phnum),
        (AT_BASE, aux.base),
        (AT_FLAGS, 0),
        (AT_ENTRY, aux.entry),
        (AT_UID, aux.uid),
        (AT_EUID, aux.uid),
        (AT_GID, aux.gid),
        (AT_EGID, aux.gid),
        (AT_SECURE, 0),
        (AT_RANDOM, random_address),
        (AT_HWCAP2, 0),
        (AT_EXECFN, execfn_address),
        (AT_PLATFORM, platform_address),
        (AT_NULL, 0),
    ];
    Ok(StackImage { initial_sp, strings, strings_address, execfn, random, random_address, auxv })
}

/// Where the initial stack's tables start: what a C runtime finds from its first
/// rsp (argc there, then the NULL-terminated argv and envp, then auxv's pairs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackTables {
    pub argc: u64,
    pub argv: u64,
    pub envp: u64,
    pub auxv: u64,
}

impl StackImage<'_> {
    /// The addresses of argc, argv, envp and auxv in this image.
    pub fn tables(&self) -> StackTables {
        let argv = self.initial_sp + WORD;
        let envp = argv + (self.strings.argc as u64 + 1) * WORD;
        let auxv = envp + (self.strings.envc as u64 + 1) * WORD;
        StackTables { argc: self.strings.argc as u64, argv, envp, auxv }
    }

    /// Where argv's strings lie, NULs included (Linux's arg_start..arg_end:
    /// /proc/PID/cmdline), and envp's after them (env_start..env_end: environ).
    pub fn string_areas(&self) -> (Range<u64>, Range<u64>) {
        let bytes = self.strings.bytes;
        let argv_length =
            bytes.split_inclusive(|&byte| byte == 0).take(self.strings.argc).map(<[u8]>::len).sum::<usize>();
        let middle = self.strings_address + argv_length as u64;
        (self.strings_address..middle, middle..self.strings_address + bytes.len() as u64)
    }

    /// Hands the image to `store` as (address, bytes) pieces, from `initial_sp`
    /// up, gaps included (as zeros): the tables in small chunks and the strings in
    /// one piece, so that no copy of the whole image is ever made.
    pub fn store<E>(&self, mut store: impl FnMut(u64, &[u8]) -> Result<(), E>) -> Result<(), E> {
        const ZEROS: [u8; STACK_ALIGN as usize] = [0; STACK_ALIGN as usize];
        let mut chunk = [0u8; 512];
        let mut used = 0;
        let mut address = self.initial_sp;
        let pointers = self.strings.iter().scan(self.strings_address, |next, string| {
            let pointer = *next;
            *next += string.len() as u64 + 1;
            Some(pointer)
        });
        let (argv, envp) = (pointers.clone().take(self.strings.argc), pointers.skip(self.strings.argc));
        let words = core::iter::once(self.strings.argc as u64)
            .chain(argv)
            .chain([0])
            .chain(envp)
            .chain([0])
            .chain(self.auxv.iter().flat_map(|&(key, value)| [key, value]));
        for word in words {
            chunk[used..used + WORD as usize].copy_from_slice(&word.to_le_bytes());
            used += WORD as usize;
            if used == chunk.len() {
                store(address, &chunk)?;
                address += used as u64;
                used = 0;
            }
        }
        store(address, &chunk[..used])?;
        address += used as u64;
        // Both gaps are alignment padding, under 16 bytes.
        store(address, &ZEROS[..(self.random_address - address) as usize])?;
        store(self.random_address, &self.random)?;
        let platform_address = self.random_address + self.random.len() as u64;
        store(platform_address, PLATFORM)?;
        let platform_end = platform_address + PLATFORM.len() as u64;
        store(platform_end, &ZEROS[..(self.strings_address - platform_end) as usize])?;
        store(self.strings_address, self.strings.bytes)?;
        let execfn_address = self.strings_address + self.strings.bytes.len() as u64;
        store(execfn_address, self.execfn)?;
        let nul_and_marker = [0u8; 1 + END_MARKER.len()];
        store(execfn_address + self.execfn.len() as u64, &nul_and_marker)
    }
}

/// `address` rounded down to the 16-byte stack alignment.
fn align_down(address: u64) -> u64 {
    address & !(STACK_ALIGN - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    const TOP: u64 = 0x7fff_ffff_f000;

    #[test]
    fn the_string_areas_hold_argv_then_envp() {
        let bytes = b"prog\0-x\0HOME=/\0";
        let strings = Strings::new(bytes, 2, 1).unwrap();
        let stack = build(TOP, strings, b"/bin/prog", [0; 16], &aux()).unwrap();
        let (arguments, environment) = stack.string_areas();
        assert_eq!(arguments.end - arguments.start, 8);
        assert_eq!(environment, arguments.end..arguments.end + 7);
        let stored = stored(&stack);
        let at = |address: u64| (address - stack.initial_sp) as usize;
        assert_eq!(&stored[at(arguments.start)..at(environment.end)], bytes);
    }

    #[test]
    fn the_tables_are_where_the_image_puts_them() {
        let bytes = b"prog\0-x\0HOME=/\0";
        let stack = build(TOP, Strings::new(bytes, 2, 1).unwrap(), b"/bin/prog", [0; 16], &aux()).unwrap();
        let stored = stored(&stack);
        let word = |address: u64| {
            let at = (address - stack.initial_sp) as usize;
            u64::from_le_bytes(stored[at..at + 8].try_into().unwrap())
        };
        let tables = stack.tables();
        assert_eq!((tables.argc, word(stack.initial_sp)), (2, 2));
        let (arguments, environment) = stack.string_areas();
        assert_eq!(word(tables.argv), arguments.start);
        assert_eq!(word(tables.argv + 16), 0, "argv ends with NULL");
        assert_eq!(word(tables.envp), environment.start);
        assert_eq!(word(tables.envp + 8), 0, "envp ends with NULL");
        assert_eq!(word(tables.auxv), AT_SYSINFO_EHDR, "auxv's first key");
    }

    fn aux() -> AuxValues {
        AuxValues {
            phdr: 0x400040,
            phent: 56,
            phnum: 4,
            entry: 0x401000,
            base: 0,
            uid: 1000,
            gid: 100,
            hwcap: 0x178b_fbff,
            clock_ticks: 100,
            sysinfo_ehdr: 0x7fff_f7ff_c000,
        }
    }

    /// Reads an image back as a C runtime would.
    struct Parsed {
        argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
        auxv: Vec<(u64, u64)>,
    }

    /// A stack image as the bytes `store` hands out.
    struct Image {
        bytes: Vec<u8>,
        initial_sp: u64,
    }

    /// `build` from separate strings, and the image stored into one buffer.
    fn image(
        top: u64,
        argv: &[&[u8]],
        envp: &[&[u8]],
        execfn: &[u8],
        random: [u8; 16],
        aux: &AuxValues,
    ) -> Result<Image, StackError> {
        let mut bytes = Vec::new();
        for string in argv.iter().chain(envp) {
            push_string(&mut bytes, string)?;
        }
        let strings = Strings::new(&bytes, argv.len(), envp.len()).expect("well-formed strings");
        let stack = build(top, strings, execfn, random, aux)?;
        Ok(Image { bytes: stored(&stack), initial_sp: stack.initial_sp })
    }

    /// The image stored into one buffer, from its initial sp up (each piece must
    /// follow the one before).
    fn stored(stack: &StackImage) -> Vec<u8> {
        let mut stored = Vec::new();
        stack
            .store(|address, piece| {
                assert_eq!(address, stack.initial_sp + stored.len() as u64, "pieces in order, without gaps");
                stored.extend_from_slice(piece);
                Ok::<(), ()>(())
            })
            .unwrap();
        stored
    }

    struct Reader<'a> {
        image: &'a Image,
    }

    impl Reader<'_> {
        fn offset(&self, address: u64) -> usize {
            assert!(address >= self.image.initial_sp, "{address:#x} below the image");
            let offset = (address - self.image.initial_sp) as usize;
            assert!(offset < self.image.bytes.len(), "{address:#x} above the image");
            offset
        }

        fn word(&self, address: u64) -> u64 {
            let offset = self.offset(address);
            u64::from_le_bytes(self.image.bytes[offset..offset + 8].try_into().unwrap())
        }

        fn string(&self, address: u64) -> Vec<u8> {
            let offset = self.offset(address);
            let rest = &self.image.bytes[offset..];
            rest[..rest.iter().position(|&b| b == 0).unwrap()].to_vec()
        }

        fn bytes(&self, address: u64, len: usize) -> &[u8] {
            let offset = self.offset(address);
            &self.image.bytes[offset..offset + len]
        }

        fn pointer_list(&self, mut address: u64) -> (Vec<Vec<u8>>, u64) {
            let mut strings = Vec::new();
            loop {
                let pointer = self.word(address);
                address += 8;
                if pointer == 0 {
                    return (strings, address);
                }
                strings.push(self.string(pointer));
            }
        }

        fn parse(&self) -> Parsed {
            let sp = self.image.initial_sp;
            let argc = self.word(sp);
            let (argv, after_argv) = self.pointer_list(sp + 8);
            assert_eq!(argv.len() as u64, argc);
            let (envp, mut address) = self.pointer_list(after_argv);
            let mut auxv = Vec::new();
            loop {
                let entry = (self.word(address), self.word(address + 8));
                address += 16;
                auxv.push(entry);
                if entry.0 == AT_NULL {
                    return Parsed { argv, envp, auxv };
                }
            }
        }
    }

    fn aux_value(parsed: &Parsed, key: u64) -> u64 {
        let matches: Vec<u64> = parsed.auxv.iter().filter(|(k, _)| *k == key).map(|(_, v)| *v).collect();
        assert_eq!(matches.len(), 1, "AT_{key} appears once");
        matches[0]
    }

    #[test]
    fn round_trips_through_a_c_runtime_view() {
        let random = *b"0123456789abcdef";
        let argv: [&[u8]; 3] = [b"/bin/sh", b"-c", b"echo hi"];
        let envp: [&[u8]; 2] = [b"PATH=/bin", b"HOME=/"];
        let image = image(TOP, &argv, &envp, b"/bin/sh", random, &aux()).unwrap();
        assert_eq!(image.initial_sp % 16, 0);
        assert_eq!(image.initial_sp + image.bytes.len() as u64, TOP);
        assert_eq!(image.bytes[image.bytes.len() - 8..], [0; 8], "end marker");

        let reader = Reader { image: &image };
        let parsed = reader.parse();
        assert_eq!(parsed.argv, argv.map(<[u8]>::to_vec));
        assert_eq!(parsed.envp, envp.map(<[u8]>::to_vec));
        let keys: Vec<u64> = parsed.auxv.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, [33, 16, 6, 17, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 23, 25, 26, 31, 15, 0]);
        assert_eq!(aux_value(&parsed, AT_SYSINFO_EHDR), 0x7fff_f7ff_c000);
        assert_eq!(aux_value(&parsed, AT_HWCAP), 0x178b_fbff);
        assert_eq!(aux_value(&parsed, AT_PAGESZ), 4096);
        assert_eq!(aux_value(&parsed, AT_CLKTCK), 100);
        assert_eq!(aux_value(&parsed, AT_PHDR), 0x400040);
        assert_eq!(aux_value(&parsed, AT_PHENT), 56);
        assert_eq!(aux_value(&parsed, AT_PHNUM), 4);
        assert_eq!(aux_value(&parsed, AT_BASE), 0);
        assert_eq!(aux_value(&parsed, AT_FLAGS), 0);
        assert_eq!(aux_value(&parsed, AT_ENTRY), 0x401000);
        assert_eq!(aux_value(&parsed, AT_UID), 1000);
        assert_eq!(aux_value(&parsed, AT_EUID), 1000);
        assert_eq!(aux_value(&parsed, AT_GID), 100);
        assert_eq!(aux_value(&parsed, AT_EGID), 100);
        assert_eq!(aux_value(&parsed, AT_SECURE), 0);
        assert_eq!(aux_value(&parsed, AT_HWCAP2), 0);
        assert_eq!(reader.bytes(aux_value(&parsed, AT_RANDOM), 16), random);
        assert_eq!(reader.string(aux_value(&parsed, AT_EXECFN)), b"/bin/sh");
        assert_eq!(reader.string(aux_value(&parsed, AT_PLATFORM)), b"x86_64");
        assert_eq!(aux_value(&parsed, AT_EXECFN), TOP - 8 - 8, "execfn sits just below the marker");
    }

    #[test]
    fn strings_are_laid_out_in_order_as_linux_does() {
        let image = image(TOP, &[b"a", b"bc"], &[b"X=1"], b"/x", [0; 16], &aux()).unwrap();
        let tail = &image.bytes[image.bytes.len() - (2 + 3 + 4 + 3 + 8)..];
        assert_eq!(tail, b"a\0bc\0X=1\0/x\0\0\0\0\0\0\0\0\0");
    }

    #[test]
    fn string_offsets_match_linux() {
        // Measured under Linux 6.x with `env -i A=1 BB=22 setarch -R ./st hello wo`:
        // distances below the stack top.
        let image = image(TOP, &[b"./st", b"hello", b"wo"], &[b"A=1", b"BB=22"], b"./st", [0; 16], &aux()).unwrap();
        let parsed = Reader { image: &image }.parse();
        let distance = |address: u64| TOP - address;
        assert_eq!(distance(aux_value(&parsed, AT_EXECFN)), 13);
        assert_eq!(distance(aux_value(&parsed, AT_PLATFORM)), 55);
        assert_eq!(distance(aux_value(&parsed, AT_RANDOM)), 71);
        let argv_pointers: Vec<u64> =
            (1..=3).map(|i| Reader { image: &image }.word(image.initial_sp + 8 * i)).collect();
        assert_eq!(argv_pointers.iter().map(|&p| distance(p)).collect::<Vec<_>>(), [37, 32, 26]);
        let envp_pointers: Vec<u64> =
            (5..=6).map(|i| Reader { image: &image }.word(image.initial_sp + 8 * i)).collect();
        assert_eq!(envp_pointers.iter().map(|&p| distance(p)).collect::<Vec<_>>(), [23, 19]);
        // Linux has three more auxv entries (MINSIGSTKSZ, two rseq): sp was 512 there.
        assert_eq!(distance(image.initial_sp), 512 - 3 * 16);
    }

    #[test]
    fn empty_argv_and_envp() {
        let image = image(TOP, &[], &[], b"", [7; 16], &aux()).unwrap();
        let parsed = Reader { image: &image }.parse();
        assert!(parsed.argv.is_empty() && parsed.envp.is_empty());
        assert_eq!(image.initial_sp % 16, 0);
        assert_eq!(image.bytes[..8], [0; 8], "argc is 0");
    }

    #[test]
    fn empty_strings_survive() {
        let image = image(TOP, &[b"", b"x"], &[b""], b"/p", [0; 16], &aux()).unwrap();
        let parsed = Reader { image: &image }.parse();
        assert_eq!(parsed.argv, vec![b"".to_vec(), b"x".to_vec()]);
        assert_eq!(parsed.envp, vec![b"".to_vec()]);
    }

    #[test]
    fn sp_is_aligned_for_every_string_length_and_unaligned_tops() {
        for top_offset in 0..16u64 {
            for len in 0..40usize {
                let arg = vec![b'a'; len];
                let args = [&arg[..]].repeat(len % 5);
                let image = image(TOP - top_offset, &args, &[b"E=1"], b"/e", [1; 16], &aux()).unwrap();
                assert_eq!(image.initial_sp % 16, 0);
                assert_eq!(image.initial_sp + image.bytes.len() as u64, TOP - top_offset);
                let parsed = Reader { image: &image }.parse();
                assert_eq!(parsed.argv.len(), len % 5);
            }
        }
    }

    #[test]
    fn linux_limits_on_bytes_and_pointers() {
        assert_eq!(StackError::TooBig.errno(), crate::abi::errno::E2BIG);
        // One argument and "/p": two pointers (argv's and... none for envp) and
        // the strings with their NULs fill ARG_SPACE exactly, as execve on Linux.
        let string_room = |argc: usize, envc: usize| ARG_SPACE - 8 * (argc.max(1) + envc) - "/p\0".len();
        let parts = 20;
        let part = string_room(parts, 0) / parts;
        let last = string_room(parts, 0) - part * (parts - 1);
        let mut strings: Vec<Vec<u8>> = (0..parts - 1).map(|_| vec![b'x'; part - 1]).collect();
        strings.push(vec![b'y'; last - 1]);
        let argv: Vec<&[u8]> = strings.iter().map(Vec::as_slice).collect();
        let fits = image(TOP, &argv, &[], b"/p", [0; 16], &aux()).unwrap();
        assert_eq!(Reader { image: &fits }.parse().argv, strings);
        strings.last_mut().unwrap().push(b'y');
        let argv: Vec<&[u8]> = strings.iter().map(Vec::as_slice).collect();
        assert_eq!(image(TOP, &argv, &[], b"/p", [0; 16], &aux()).err(), Some(StackError::TooBig));
        // The same bytes moved to the environment: the same limit.
        let (first, rest) = argv.split_at(1);
        assert_eq!(image(TOP, first, rest, b"/p", [0; 16], &aux()).err(), Some(StackError::TooBig));
        // An empty argv still costs one pointer (Linux gives it an empty argv[0]).
        let alone = vec![b'e'; MAX_ARG_STRLEN - 1];
        assert!(image(TOP, &[], &[&alone], b"/p", [0; 16], &aux()).is_ok());
    }

    #[test]
    fn one_string_is_at_most_max_arg_strlen() {
        let longest = vec![b'x'; MAX_ARG_STRLEN - 1];
        let parsed_argv = |image: &Image| Reader { image }.parse().argv;
        let fits = image(TOP, &[&longest], &[], b"/p", [0; 16], &aux()).unwrap();
        assert_eq!(parsed_argv(&fits), [longest.clone()]);
        let too_long = vec![b'x'; MAX_ARG_STRLEN];
        assert_eq!(image(TOP, &[&too_long], &[], b"/p", [0; 16], &aux()).err(), Some(StackError::TooBig));
        assert_eq!(image(TOP, &[b"a"], &[&too_long], b"/p", [0; 16], &aux()).err(), Some(StackError::TooBig));
        assert_eq!(image(TOP, &[b"a"], &[], &too_long, [0; 16], &aux()).err(), Some(StackError::TooBig));
    }

    #[test]
    fn many_small_strings_up_to_the_pointer_space() {
        // Strings of one byte cost 2 + 8 bytes each: far more than 8192 of them fit.
        let count = (ARG_SPACE - 8 - 3) / 10;
        let many: Vec<&[u8]> = vec![b"a"; count];
        let fits = image(TOP, &many, &[], b"/p", [0; 16], &aux()).unwrap();
        assert_eq!(Reader { image: &fits }.parse().argv.len(), count);
        let one_more: Vec<&[u8]> = vec![b"a"; count + 1];
        assert_eq!(image(TOP, &one_more, &[], b"/p", [0; 16], &aux()).err(), Some(StackError::TooBig));
        assert_eq!(ArgSpace::new(ArgSpace::MAX_STRINGS, 0).map(|_| ()), Ok(()));
        assert_eq!(ArgSpace::new(ArgSpace::MAX_STRINGS + 1, 0).map(|_| ()), Err(StackError::TooBig));
        assert_eq!(ArgSpace::new(usize::MAX, 1).map(|_| ()), Err(StackError::TooBig));
    }

    #[test]
    fn strings_must_be_exactly_the_counted_nul_terminated_strings() {
        assert!(Strings::new(b"", 0, 0).is_some());
        assert!(Strings::new(b"a\0\0b=c\0", 2, 1).is_some());
        assert!(Strings::new(b"a\0b", 1, 0).is_none(), "unterminated");
        assert!(Strings::new(b"a\0b\0", 1, 0).is_none(), "too many");
        assert!(Strings::new(b"a\0", 1, 1).is_none(), "too few");
        assert!(Strings::new(b"", usize::MAX, 1).is_none());
        let strings = Strings::new(b"a\0\0b=c\0", 2, 1).unwrap();
        assert_eq!(strings.iter().collect::<Vec<_>>(), [&b"a"[..], b"", b"b=c"]);
    }

    #[test]
    fn nul_bytes_inside_strings_are_refused() {
        let error = image(TOP, &[b"a\0b"], &[], b"/p", [0; 16], &aux());
        assert_eq!(error.err(), Some(StackError::InteriorNul));
        assert_eq!(image(TOP, &[], &[b"\0"], b"/p", [0; 16], &aux()).err(), Some(StackError::InteriorNul));
        assert_eq!(image(TOP, &[], &[], b"/p\0", [0; 16], &aux()).err(), Some(StackError::InteriorNul));
    }

    #[test]
    fn a_stack_top_near_zero_is_refused() {
        for top in [0, 8, 100, 300] {
            assert_eq!(image(top, &[b"arg"], &[], b"/p", [0; 16], &aux()).err(), Some(StackError::StackTopTooLow));
        }
        let lowest = image(0x1000, &[b"arg"], &[], b"/p", [0; 16], &aux()).unwrap();
        assert!(lowest.initial_sp > 0);
    }

    #[test]
    fn errors_have_messages_and_errnos() {
        for error in [StackError::TooBig, StackError::InteriorNul, StackError::StackTopTooLow] {
            assert!(!alloc::string::ToString::to_string(&error).is_empty());
            assert!(error.errno() > 0);
        }
    }
}
