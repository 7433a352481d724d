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

use alloc::vec::Vec;
use core::fmt;

/// The most bytes of argument, environment and execfn strings (NULs included)
/// `build` accepts; more is `E2BIG`.
pub const MAX_ARG_BYTES: usize = 128 * 1024;
/// The most argv plus envp strings `build` accepts; more is `E2BIG`. Bounds the
/// pointer arrays at 64 KiB.
pub const MAX_ARG_COUNT: usize = 8 * 1024;

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

const PLATFORM: &[u8] = b"x86_64\0";
const END_MARKER: [u8; 8] = [0; 8];
const WORD: u64 = 8;
const STACK_ALIGN: u64 = 16;
/// The auxiliary vector entries `build` writes, AT_NULL included.
const AUX_ENTRIES: usize = 19;

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
}

/// The stack contents: `bytes` occupy `[stack_top - bytes.len(), stack_top)` and
/// `initial_sp` (16-byte aligned) is the first of them, where argc lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackImage {
    pub bytes: Vec<u8>,
    pub initial_sp: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackError {
    /// The strings exceed `MAX_ARG_BYTES` or there are more than `MAX_ARG_COUNT`
    /// of them.
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
            Self::TooBig => {
                write!(f, "argument list too long (at most {MAX_ARG_COUNT} strings and {MAX_ARG_BYTES} bytes)")
            }
            Self::InteriorNul => write!(f, "an argument or environment string contains a NUL byte"),
            Self::StackTopTooLow => write!(f, "the stack top is too low to hold the arguments"),
        }
    }
}

/// Lays out the initial stack below `stack_top` for a program started with
/// `argv` and `envp` (strings without their NUL terminators, which `build`
/// adds), `execfn` (the path given to `execve`), 16 `random` bytes for
/// `AT_RANDOM`, and `aux`. The result starts 16-byte aligned with argc at
/// `initial_sp`, and every pointer in it points inside it.
pub fn build(
    stack_top: u64,
    argv: &[&[u8]],
    envp: &[&[u8]],
    execfn: &[u8],
    random: [u8; 16],
    aux: &AuxValues,
) -> Result<StackImage, StackError> {
    let strings: Vec<&[u8]> = argv.iter().chain(envp).copied().collect();
    if strings.len() > MAX_ARG_COUNT {
        return Err(StackError::TooBig);
    }
    if strings.iter().chain([&execfn]).any(|s| s.contains(&0)) {
        return Err(StackError::InteriorNul);
    }
    let nul_terminated_len = |s: &[u8]| s.len().saturating_add(1);
    let argument_bytes = strings.iter().fold(0usize, |total, s| total.saturating_add(nul_terminated_len(s)));
    let execfn_bytes = nul_terminated_len(execfn);
    if argument_bytes.saturating_add(execfn_bytes) > MAX_ARG_BYTES {
        return Err(StackError::TooBig);
    }

    // Addresses, from the top down. Every size is now bounded (by
    // MAX_ARG_BYTES and MAX_ARG_COUNT), so only subtractions from `stack_top`
    // can fail.
    let below = |address: u64, size: usize| -> Result<u64, StackError> {
        address.checked_sub(size as u64).ok_or(StackError::StackTopTooLow)
    };
    let execfn_address = below(below(stack_top, END_MARKER.len())?, execfn_bytes)?;
    let strings_address = below(execfn_address, argument_bytes)?;
    let aligned_below_strings = align_down(strings_address);
    let platform_address = below(aligned_below_strings, PLATFORM.len())?;
    let random_address = below(platform_address, random.len())?;
    let word_count = 1 + (argv.len() + 1) + (envp.len() + 1) + 2 * AUX_ENTRIES;
    let initial_sp = align_down(below(random_address, word_count * WORD as usize)?);

    let mut words = Vec::with_capacity(word_count);
    words.push(argv.len() as u64);
    let mut string_address = strings_address;
    let mut string_pointers = strings.iter().map(|s| {
        let address = string_address;
        string_address = string_address.saturating_add(nul_terminated_len(s) as u64);
        address
    });
    words.extend(string_pointers.by_ref().take(argv.len()));
    words.push(0);
    words.extend(string_pointers);
    words.push(0);
    let auxv: [(u64, u64); AUX_ENTRIES] = [
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
    words.extend(auxv.iter().flat_map(|&(key, value)| [key, value]));

    let mut bytes = Vec::new();
    bytes.extend(words.iter().flat_map(|word| word.to_le_bytes()));
    pad_to(&mut bytes, initial_sp, random_address);
    bytes.extend_from_slice(&random);
    bytes.extend_from_slice(PLATFORM);
    pad_to(&mut bytes, initial_sp, strings_address);
    for s in &strings {
        bytes.extend_from_slice(s);
        bytes.push(0);
    }
    bytes.extend_from_slice(execfn);
    bytes.push(0);
    bytes.extend_from_slice(&END_MARKER);
    Ok(StackImage { bytes, initial_sp })
}

/// `address` rounded down to the 16-byte stack alignment.
fn align_down(address: u64) -> u64 {
    address & !(STACK_ALIGN - 1)
}

/// Appends zeros until `bytes`, which starts at address `base`, reaches `address`.
fn pad_to(bytes: &mut Vec<u8>, base: u64, address: u64) {
    let target = address.saturating_sub(base);
    while (bytes.len() as u64) < target {
        bytes.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const TOP: u64 = 0x7fff_ffff_f000;

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
        }
    }

    /// Reads an image back as a C runtime would.
    struct Parsed {
        argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
        auxv: Vec<(u64, u64)>,
    }

    struct Reader<'a> {
        image: &'a StackImage,
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
        let image = build(TOP, &argv, &envp, b"/bin/sh", random, &aux()).unwrap();
        assert_eq!(image.initial_sp % 16, 0);
        assert_eq!(image.initial_sp + image.bytes.len() as u64, TOP);
        assert_eq!(image.bytes[image.bytes.len() - 8..], [0; 8], "end marker");

        let reader = Reader { image: &image };
        let parsed = reader.parse();
        assert_eq!(parsed.argv, argv.map(<[u8]>::to_vec));
        assert_eq!(parsed.envp, envp.map(<[u8]>::to_vec));
        let keys: Vec<u64> = parsed.auxv.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, [16, 6, 17, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 23, 25, 26, 31, 15, 0]);
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
        let image = build(TOP, &[b"a", b"bc"], &[b"X=1"], b"/x", [0; 16], &aux()).unwrap();
        let tail = &image.bytes[image.bytes.len() - (2 + 3 + 4 + 3 + 8)..];
        assert_eq!(tail, b"a\0bc\0X=1\0/x\0\0\0\0\0\0\0\0\0");
    }

    #[test]
    fn string_offsets_match_linux() {
        // Measured under Linux 6.x with `env -i A=1 BB=22 setarch -R ./st hello wo`:
        // distances below the stack top.
        let image = build(TOP, &[b"./st", b"hello", b"wo"], &[b"A=1", b"BB=22"], b"./st", [0; 16], &aux()).unwrap();
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
        // Linux has four more auxv entries (vDSO, MINSIGSTKSZ, two rseq): sp was 512 there.
        assert_eq!(distance(image.initial_sp), 512 - 4 * 16);
    }

    #[test]
    fn empty_argv_and_envp() {
        let image = build(TOP, &[], &[], b"", [7; 16], &aux()).unwrap();
        let parsed = Reader { image: &image }.parse();
        assert!(parsed.argv.is_empty() && parsed.envp.is_empty());
        assert_eq!(image.initial_sp % 16, 0);
        assert_eq!(image.bytes[..8], [0; 8], "argc is 0");
    }

    #[test]
    fn empty_strings_survive() {
        let image = build(TOP, &[b"", b"x"], &[b""], b"/p", [0; 16], &aux()).unwrap();
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
                let image = build(TOP - top_offset, &args, &[b"E=1"], b"/e", [1; 16], &aux()).unwrap();
                assert_eq!(image.initial_sp % 16, 0);
                assert_eq!(image.initial_sp + image.bytes.len() as u64, TOP - top_offset);
                let parsed = Reader { image: &image }.parse();
                assert_eq!(parsed.argv.len(), len % 5);
            }
        }
    }

    #[test]
    fn too_many_bytes_is_e2big() {
        let big = vec![b'x'; MAX_ARG_BYTES];
        assert_eq!(build(TOP, &[&big], &[], b"/p", [0; 16], &aux()), Err(StackError::TooBig));
        assert_eq!(StackError::TooBig.errno(), crate::abi::errno::E2BIG);
        // Exactly at the limit: argument + NUL + "/p" + NUL.
        let fits = vec![b'x'; MAX_ARG_BYTES - 4];
        assert!(build(TOP, &[&fits], &[], b"/p", [0; 16], &aux()).is_ok());
        let one_over = vec![b'x'; MAX_ARG_BYTES - 3];
        assert_eq!(build(TOP, &[&one_over], &[], b"/p", [0; 16], &aux()), Err(StackError::TooBig));
        let half = vec![b'x'; MAX_ARG_BYTES / 2];
        assert_eq!(build(TOP, &[&half], &[&half], b"", [0; 16], &aux()), Err(StackError::TooBig));
    }

    #[test]
    fn too_many_strings_is_e2big() {
        let many: Vec<&[u8]> = vec![b"a"; MAX_ARG_COUNT + 1];
        assert_eq!(build(TOP, &many, &[], b"/p", [0; 16], &aux()), Err(StackError::TooBig));
        let split = vec![&b"a"[..]; MAX_ARG_COUNT / 2 + 1];
        assert_eq!(build(TOP, &split, &split, b"/p", [0; 16], &aux()), Err(StackError::TooBig));
        let just_enough: Vec<&[u8]> = vec![b"a"; MAX_ARG_COUNT];
        let image = build(TOP, &just_enough, &[], b"/p", [0; 16], &aux()).unwrap();
        assert_eq!(Reader { image: &image }.parse().argv.len(), MAX_ARG_COUNT);
    }

    #[test]
    fn nul_bytes_inside_strings_are_refused() {
        let error = build(TOP, &[b"a\0b"], &[], b"/p", [0; 16], &aux());
        assert_eq!(error, Err(StackError::InteriorNul));
        assert_eq!(build(TOP, &[], &[b"\0"], b"/p", [0; 16], &aux()), Err(StackError::InteriorNul));
        assert_eq!(build(TOP, &[], &[], b"/p\0", [0; 16], &aux()), Err(StackError::InteriorNul));
    }

    #[test]
    fn a_stack_top_near_zero_is_refused() {
        for top in [0, 8, 100, 300] {
            assert_eq!(build(top, &[b"arg"], &[], b"/p", [0; 16], &aux()), Err(StackError::StackTopTooLow));
        }
        let lowest = build(0x1000, &[b"arg"], &[], b"/p", [0; 16], &aux()).unwrap();
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
