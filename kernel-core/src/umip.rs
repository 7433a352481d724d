//! The instructions UMIP (User-Mode Instruction Prevention, CR4.UMIP) refuses in
//! user mode: sgdt, sidt, smsw, sldt and str, which would otherwise tell a program
//! where the kernel keeps its descriptor tables. With UMIP on, each raises #GP;
//! Linux (arch/x86/kernel/umip.c) then emulates it for the program with dummy
//! values, and so does timeshare: this module decodes the faulting instruction of a
//! 64-bit program and says what to store where.

/// What Linux answers, in 64-bit mode: sgdt and sidt give a limit of 0 and these
/// bases, in the kernel's half but nowhere the kernel is.
pub const DUMMY_GDT_BASE: u64 = 0xffff_ffff_fffe_0000;
pub const DUMMY_IDT_BASE: u64 = 0xffff_ffff_ffff_0000;
/// smsw: CR0 as Linux runs with it (PE MP ET NE WP AM PG).
pub const DUMMY_CR0: u64 = 0x8005_0033;
/// str: the TSS selector (Linux's and timeshare's, GDT entry 8); sldt: no LDT.
pub const DUMMY_TR: u64 = 0x40;
pub const DUMMY_LDTR: u64 = 0;

/// The longest x86 instruction.
pub const MAX_INSTRUCTION_LENGTH: usize = 15;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guarded {
    Sgdt,
    Sidt,
    Smsw,
    Sldt,
    Str,
}

/// A segment override that means something in 64-bit mode (the others' bases are 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment {
    Flat,
    Fs,
    Gs,
}

/// A memory operand: segment base + base + index * scale + displacement, cut to 32
/// bits with the address-size prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryOperand {
    pub segment: Segment,
    /// A general register (0 rax .. 15 r15), or None for no base.
    pub base: Option<u8>,
    /// rip-relative: the base is the address of the next instruction.
    pub rip_relative: bool,
    /// A general register and its scale (1, 2, 4, 8).
    pub index: Option<(u8, u8)>,
    pub displacement: i32,
    pub address_32: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    /// A general register (0 rax .. 15 r15), of which the low `size` bytes are
    /// written (2, 4 or 8: Linux copies that many and leaves the rest as it was).
    Register {
        number: u8,
        size: usize,
    },
    Memory(MemoryOperand),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub instruction: Guarded,
    pub operand: Operand,
    pub length: usize,
}

/// Decodes `bytes` (the instruction at the faulting rip, up to 15 bytes, fewer if
/// the mapping ends) as one of the guarded instructions in 64-bit mode. None for
/// anything else, or a form Linux does not emulate (sgdt/sidt to a register): the
/// #GP is then the program's SIGSEGV.
pub fn decode(bytes: &[u8]) -> Option<Decoded> {
    let bytes = &bytes[..bytes.len().min(MAX_INSTRUCTION_LENGTH)];
    let mut at = 0;
    let (mut segment, mut operand_16, mut address_32) = (Segment::Flat, false, false);
    loop {
        match *bytes.get(at)? {
            0x64 => segment = Segment::Fs,
            0x65 => segment = Segment::Gs,
            0x26 | 0x2e | 0x36 | 0x3e => segment = Segment::Flat,
            0x66 => operand_16 = true,
            0x67 => address_32 = true,
            0xf2 | 0xf3 => {}
            _ => break,
        }
        at += 1;
    }
    // A REX prefix counts only right before the opcode.
    let rex = match *bytes.get(at)? {
        rex @ 0x40..=0x4f => {
            at += 1;
            rex
        }
        _ => 0,
    };
    let (rex_w, rex_x, rex_b) = (rex & 8 != 0, (rex >> 1) & 1, rex & 1);
    if *bytes.get(at)? != 0x0f {
        return None;
    }
    let group = *bytes.get(at + 1)?;
    let modrm = *bytes.get(at + 2)?;
    at += 3;
    let (mode, reg, rm) = (modrm >> 6, (modrm >> 3) & 7, modrm & 7);
    let instruction = match (group, reg) {
        (0x01, 0) => Guarded::Sgdt,
        (0x01, 1) => Guarded::Sidt,
        (0x01, 4) => Guarded::Smsw,
        (0x00, 0) => Guarded::Sldt,
        (0x00, 1) => Guarded::Str,
        _ => return None,
    };
    if mode == 3 {
        // 0F 01 with mod 3 encodes other instructions (and sgdt/sidt have no
        // register form).
        if matches!(instruction, Guarded::Sgdt | Guarded::Sidt) {
            return None;
        }
        let size = if rex_w {
            8
        } else if operand_16 {
            2
        } else {
            4
        };
        let operand = Operand::Register { number: rm | rex_b << 3, size };
        return Some(Decoded { instruction, operand, length: at });
    }
    let mut memory =
        MemoryOperand { segment, base: None, rip_relative: false, index: None, displacement: 0, address_32 };
    let mut displacement_size = match mode {
        1 => 1,
        2 => 4,
        _ => 0,
    };
    if rm == 4 {
        let sib = *bytes.get(at)?;
        at += 1;
        let (scale, index, base) = (1u8 << (sib >> 6), ((sib >> 3) & 7) | rex_x << 3, sib & 7);
        if index != 4 {
            memory.index = Some((index, scale));
        }
        if base == 5 && mode == 0 {
            displacement_size = 4;
        } else {
            memory.base = Some(base | rex_b << 3);
        }
    } else if rm == 5 && mode == 0 {
        memory.rip_relative = true;
        displacement_size = 4;
    } else {
        memory.base = Some(rm | rex_b << 3);
    }
    let displacement = bytes.get(at..at + displacement_size)?;
    memory.displacement = match *displacement {
        [byte] => i32::from(byte as i8),
        [a, b, c, d] => i32::from_le_bytes([a, b, c, d]),
        _ => 0,
    };
    at += displacement_size;
    Some(Decoded { instruction, operand: Operand::Memory(memory), length: at })
}

impl Decoded {
    /// The bytes Linux stores for the instruction: sgdt/sidt a 2-byte limit and an
    /// 8-byte base; the others their value, as wide as the register operand, or 2
    /// bytes to memory.
    pub fn result(&self) -> ([u8; 10], usize) {
        let mut bytes = [0u8; 10];
        let table_base = match self.instruction {
            Guarded::Sgdt => Some(DUMMY_GDT_BASE),
            Guarded::Sidt => Some(DUMMY_IDT_BASE),
            _ => None,
        };
        if let Some(base) = table_base {
            bytes[2..].copy_from_slice(&base.to_le_bytes());
            return (bytes, 10);
        }
        let value = match self.instruction {
            Guarded::Smsw => DUMMY_CR0,
            Guarded::Str => DUMMY_TR,
            _ => DUMMY_LDTR,
        };
        let size = match self.operand {
            Operand::Register { size, .. } => size,
            Operand::Memory(_) => 2,
        };
        bytes[..8].copy_from_slice(&value.to_le_bytes());
        (bytes, size)
    }
}

impl MemoryOperand {
    /// The linear address, given the general registers (0 rax .. 15 r15), the
    /// address of the next instruction, and the FS and GS bases.
    pub fn address(&self, registers: &[u64; 16], next_rip: u64, fs_base: u64, gs_base: u64) -> u64 {
        let register = |number: u8| registers[usize::from(number & 15)];
        let base = if self.rip_relative { next_rip } else { self.base.map_or(0, register) };
        let index = self.index.map_or(0, |(number, scale)| register(number).wrapping_mul(u64::from(scale)));
        let mut offset = base.wrapping_add(index).wrapping_add(self.displacement as i64 as u64);
        if self.address_32 {
            offset &= u64::from(u32::MAX);
        }
        let segment_base = match self.segment {
            Segment::Flat => 0,
            Segment::Fs => fs_base,
            Segment::Gs => gs_base,
        };
        segment_base.wrapping_add(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(base: Option<u8>, index: Option<(u8, u8)>, displacement: i32) -> Operand {
        Operand::Memory(MemoryOperand {
            segment: Segment::Flat,
            base,
            rip_relative: false,
            index,
            displacement,
            address_32: false,
        })
    }

    #[test]
    fn decodes_the_forms_compilers_emit() {
        // sgdt 0x16(%rsp)
        let sgdt = decode(&[0x0f, 0x01, 0x44, 0x24, 0x16, 0x90]).unwrap();
        assert_eq!(sgdt, Decoded { instruction: Guarded::Sgdt, operand: memory(Some(4), None, 0x16), length: 5 });
        // sidt 0x16(%rsp)
        assert_eq!(decode(&[0x0f, 0x01, 0x4c, 0x24, 0x16]).unwrap().instruction, Guarded::Sidt);
        // smsw %rsi, smsw %esi, smsw %si
        let register = |bytes: &[u8]| decode(bytes).unwrap().operand;
        assert_eq!(register(&[0x48, 0x0f, 0x01, 0xe6]), Operand::Register { number: 6, size: 8 });
        assert_eq!(register(&[0x0f, 0x01, 0xe6]), Operand::Register { number: 6, size: 4 });
        assert_eq!(register(&[0x66, 0x0f, 0x01, 0xe6]), Operand::Register { number: 6, size: 2 });
        // str %r9d, sldt %esi
        assert_eq!(decode(&[0x41, 0x0f, 0x00, 0xc9]).unwrap().instruction, Guarded::Str);
        assert_eq!(register(&[0x41, 0x0f, 0x00, 0xc9]), Operand::Register { number: 9, size: 4 });
        assert_eq!(decode(&[0x0f, 0x00, 0xc6]).unwrap().instruction, Guarded::Sldt);
        // str 0x14(%rsp): 5 bytes
        assert_eq!(decode(&[0x0f, 0x00, 0x4c, 0x24, 0x14]).unwrap().length, 5);
    }

    #[test]
    fn computes_addresses_with_every_part() {
        let mut registers = [0u64; 16];
        registers[0] = 0x1000; // rax
        registers[13] = 0x20; // r13
                              // sgdt %fs:0x38(,%rax,1)
        let decoded = decode(&[0x64, 0x0f, 0x01, 0x04, 0x05, 0x38, 0, 0, 0]).unwrap();
        let Operand::Memory(operand) = decoded.operand else { panic!() };
        assert_eq!((operand.base, operand.index, decoded.length), (None, Some((0, 1)), 9));
        assert_eq!(operand.address(&registers, 0, 0x7000_0000, 0), 0x7000_1038);
        // sgdt -8(%rax,%r13,8)
        let decoded = decode(&[0x42, 0x0f, 0x01, 0x44, 0xe8, 0xf8]).unwrap();
        let Operand::Memory(operand) = decoded.operand else { panic!() };
        assert_eq!(operand.address(&registers, 0, 0, 0), 0x1000 + 0x100 - 8);
        // sidt 0x10(%rip)
        let decoded = decode(&[0x0f, 0x01, 0x0d, 0x10, 0, 0, 0]).unwrap();
        let Operand::Memory(operand) = decoded.operand else { panic!() };
        assert!(operand.rip_relative);
        assert_eq!(operand.address(&registers, 0x401007, 0, 0), 0x401017);
        // sgdt (%r13) with REX.B: mod 0, rm 5 is r13, not rip-relative
        let decoded = decode(&[0x41, 0x0f, 0x01, 0x45, 0x00]).unwrap();
        let Operand::Memory(operand) = decoded.operand else { panic!() };
        assert_eq!(operand.address(&registers, 0, 0, 0), 0x20);
        // addr32 sgdt -1(%eax): wraps within 32 bits
        registers[0] = 0x1_0000_0000;
        let decoded = decode(&[0x67, 0x0f, 0x01, 0x40, 0xff]).unwrap();
        let Operand::Memory(operand) = decoded.operand else { panic!() };
        assert_eq!(operand.address(&registers, 0, 0, 0), 0xffff_ffff);
        // sgdt %gs:(%rax), past the 32 bits
        let decoded = decode(&[0x65, 0x0f, 0x01, 0x00]).unwrap();
        let Operand::Memory(operand) = decoded.operand else { panic!() };
        assert_eq!(operand.address(&registers, 0, 1, 0x5000), 0x1_0000_5000);
    }

    #[test]
    fn answers_as_linux() {
        let (bytes, size) = decode(&[0x0f, 0x01, 0x00]).unwrap().result();
        assert_eq!(
            (size, &bytes[..2], u64::from_le_bytes(bytes[2..].try_into().unwrap())),
            (10, &[0, 0][..], DUMMY_GDT_BASE)
        );
        let (bytes, size) = decode(&[0x0f, 0x01, 0x08]).unwrap().result();
        assert_eq!((size, u64::from_le_bytes(bytes[2..].try_into().unwrap())), (10, DUMMY_IDT_BASE));
        assert_eq!(decode(&[0x48, 0x0f, 0x01, 0xe0]).unwrap().result(), ([0x33, 0, 5, 0x80, 0, 0, 0, 0, 0, 0], 8));
        assert_eq!(decode(&[0x0f, 0x01, 0x20]).unwrap().result().1, 2);
        assert_eq!(decode(&[0x0f, 0x00, 0xc8]).unwrap().result(), ([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0], 4));
        assert_eq!(decode(&[0x0f, 0x00, 0x00]).unwrap().result(), ([0; 10], 2));
    }

    #[test]
    fn refuses_everything_else() {
        for bytes in [
            &[0x0f, 0x01, 0xc0][..],   // sgdt to a register: vmcall's encoding
            &[0x0f, 0x01, 0xc8],       // monitor
            &[0x0f, 0x01, 0xf8],       // swapgs
            &[0x0f, 0x01, 0x10],       // lgdt
            &[0x0f, 0x00, 0x10],       // lldt
            &[0x0f, 0x05],             // syscall
            &[0xf4],                   // hlt
            &[0x0f, 0x01],             // cut short
            &[0x0f, 0x01, 0x44],       // no SIB
            &[0x0f, 0x01, 0x80, 0, 0], // cut displacement
            &[],
            &[0x66; 20], // prefixes past 15 bytes
        ] {
            assert_eq!(decode(bytes), None, "{bytes:x?}");
        }
    }
}
