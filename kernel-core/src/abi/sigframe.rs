//! The x86_64 signal frame as Linux builds it on the user stack (`struct rt_sigframe`:
//! arch/x86/include/asm/sigframe.h, uapi asm/ucontext.h, asm/sigcontext.h), where it
//! goes (the red zone, the alternate signal stack, alignment), and the XSAVE image
//! that follows it, so that musl and glibc handlers, `ucontext` readers and
//! `siglongjmp` out of a handler work unchanged.
//!
//! Frame, from the stack pointer the handler starts with, upwards:
//! ```text
//!   frame + 0    pretcode: the sa_restorer the handler's `ret` goes to (rt_sigreturn)
//!   frame + 8    struct ucontext (304 bytes): uc_flags, uc_link, uc_stack,
//!                uc_mcontext (struct sigcontext, 256 bytes), uc_sigmask
//!   frame + 312  siginfo_t (128 bytes)
//!   ...          padding
//!   fpstate      the XSAVE image (64-byte aligned) + FP_XSTATE_MAGIC2
//! ```
//! Decoding runs on what a program left in its memory for `rt_sigreturn`: it never
//! panics, and whatever it returns is checked again before the kernel uses it.

use crate::bytes::{pack, Fields};

/// Bytes below the stack pointer that leaf functions may use without moving it
/// (the System V red zone): a frame goes below them.
pub const RED_ZONE: u64 = 128;
pub const SIGCONTEXT_SIZE: usize = 256;
pub const UCONTEXT_SIZE: usize = 304;
pub const SIGCONTEXT_WORDS: usize = SIGCONTEXT_SIZE / 8;
pub const UCONTEXT_WORDS: usize = UCONTEXT_SIZE / 8;
/// Offset of `uc` in the frame (after pretcode).
pub const UCONTEXT_OFFSET: u64 = 8;
/// Offset of `info` in the frame.
pub const SIGINFO_OFFSET: u64 = UCONTEXT_OFFSET + UCONTEXT_SIZE as u64;
/// Words before the siginfo (`frame_head`).
pub const FRAME_HEAD_WORDS: usize = SIGINFO_OFFSET as usize / 8;
/// `sizeof(struct rt_sigframe)`.
pub const FRAME_SIZE: u64 = SIGINFO_OFFSET + 128;

// `uc_flags`: what Linux sets for a 64-bit program on a CPU with XSAVE.
pub const UC_FP_XSTATE: u64 = 0x1;
pub const UC_SIGCONTEXT_SS: u64 = 0x2;
pub const UC_STRICT_RESTORE_SS: u64 = 0x4;

// sigaltstack.
pub const SS_ONSTACK: i32 = 1;
pub const SS_DISABLE: i32 = 2;
pub const SS_AUTODISARM: i32 = 1 << 31;
pub const MINSIGSTKSZ: u64 = 2048;

/// The general registers of an interrupted context, as `struct sigcontext` holds
/// them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Registers {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub rflags: u64,
}

/// `struct sigcontext` (x86_64).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigContext {
    pub registers: Registers,
    pub cs: u16,
    pub gs: u16,
    pub fs: u16,
    pub ss: u16,
    pub err: u64,
    pub trapno: u64,
    pub oldmask: u64,
    pub cr2: u64,
    /// Address of the XSAVE image, 0 for none.
    pub fpstate: u64,
}

impl SigContext {
    /// The 256 bytes as 32 words, in Linux's field order (the four selectors share
    /// one word); `reserved1[8]` is zero.
    #[inline]
    pub fn to_words(&self) -> [u64; SIGCONTEXT_WORDS] {
        let r = &self.registers;
        let selectors =
            u64::from(self.cs) | u64::from(self.gs) << 16 | u64::from(self.fs) << 32 | u64::from(self.ss) << 48;
        [
            r.r8,
            r.r9,
            r.r10,
            r.r11,
            r.r12,
            r.r13,
            r.r14,
            r.r15,
            r.rdi,
            r.rsi,
            r.rbp,
            r.rbx,
            r.rdx,
            r.rax,
            r.rcx,
            r.rsp,
            r.rip,
            r.rflags,
            selectors,
            self.err,
            self.trapno,
            self.oldmask,
            self.cr2,
            self.fpstate,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ]
    }
}

/// One of `Registers`, as `Registers::decode_each` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Register {
    R8,
    R9,
    R10,
    R11,
    R12,
    R13,
    R14,
    R15,
    Rdi,
    Rsi,
    Rbp,
    Rbx,
    Rdx,
    Rax,
    Rcx,
    Rsp,
    Rip,
    Rflags,
}

impl Registers {
    /// Decodes the registers of `SigContext::to_words` from `word(index)` (an
    /// index in the sigcontext's words) a register at a time: `put(register,
    /// value)` right after its word is read, each read once, in the words' order,
    /// so that a reader straight from user memory stores each where it goes with
    /// none held meanwhile (a volatile read keeps every later store behind it:
    /// gathered in a `Registers` first, they would wait on the stack).
    #[inline(always)]
    pub fn decode_each(word: impl Fn(usize) -> u64, mut put: impl FnMut(Register, u64)) {
        put(Register::R8, word(0));
        put(Register::R9, word(1));
        put(Register::R10, word(2));
        put(Register::R11, word(3));
        put(Register::R12, word(4));
        put(Register::R13, word(5));
        put(Register::R14, word(6));
        put(Register::R15, word(7));
        put(Register::Rdi, word(8));
        put(Register::Rsi, word(9));
        put(Register::Rbp, word(10));
        put(Register::Rbx, word(11));
        put(Register::Rdx, word(12));
        put(Register::Rax, word(13));
        put(Register::Rcx, word(14));
        put(Register::Rsp, word(15));
        put(Register::Rip, word(16));
        put(Register::Rflags, word(17));
    }
}

/// `stack_t`: `ss_sp`, `ss_flags` (an int, padded), `ss_size`; 24 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackT {
    pub sp: u64,
    pub flags: i32,
    pub size: u64,
}

impl StackT {
    pub const SIZE: usize = 24;

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        pack(&[&self.sp.to_le_bytes(), &self.flags.to_le_bytes(), &[0; 4], &self.size.to_le_bytes()])
    }

    pub fn from_bytes(raw: &[u8; Self::SIZE]) -> StackT {
        let mut f = Fields::new(raw);
        let sp = f.u64();
        let flags = f.u32() as i32;
        f.u32();
        StackT { sp, flags, size: f.u64() }
    }

    /// The three words of `to_bytes` (the padding after the flags is zero).
    #[inline]
    pub fn to_words(&self) -> [u64; 3] {
        [self.sp, u64::from(self.flags as u32), self.size]
    }

    /// `from_bytes` of the three words (the padding ignored).
    #[inline]
    pub fn from_words(words: &[u64; 3]) -> StackT {
        StackT { sp: words[0], flags: words[1] as u32 as i32, size: words[2] }
    }
}

/// The kernel's `struct ucontext` (x86_64): 304 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UContext {
    pub flags: u64,
    pub link: u64,
    pub stack: StackT,
    pub mcontext: SigContext,
    pub sigmask: u64,
}

impl UContext {
    /// The 304 bytes as 38 words (x86_64 keeps them little-endian), in Linux's
    /// field order: what the kernel stores into, and reads from, user memory
    /// without a byte image in between.
    #[inline]
    pub fn to_words(&self) -> [u64; UCONTEXT_WORDS] {
        let mut words = [0; UCONTEXT_WORDS];
        words[0] = self.flags;
        words[1] = self.link;
        words[2..5].copy_from_slice(&self.stack.to_words());
        words[5..5 + SIGCONTEXT_WORDS].copy_from_slice(&self.mcontext.to_words());
        words[UCONTEXT_WORDS - 1] = self.sigmask;
        words
    }
}

/// Where the sigcontext's registers start in the ucontext's words.
pub const UCONTEXT_REGISTERS: usize = 5;

/// What rt_sigreturn checks and restores of a ucontext besides the registers
/// (`Registers::decode`, from word `UCONTEXT_REGISTERS` on): decoded apart, so
/// that the checks and the FPU state come first and the registers can then go
/// straight to where they are restored, with nothing held across.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReturnContext {
    pub flags: u64,
    pub stack: StackT,
    pub cs: u16,
    pub ss: u16,
    /// Address of the XSAVE image, 0 for none.
    pub fpstate: u64,
    pub sigmask: u64,
}

impl ReturnContext {
    /// Decodes the ucontext's words `word(index)` (of `UContext::to_words`) that
    /// are not registers: each read once, and none of the registers' words.
    #[inline(always)]
    pub fn decode(word: impl Fn(usize) -> u64) -> ReturnContext {
        let selectors = word(UCONTEXT_REGISTERS + 18);
        ReturnContext {
            flags: word(0),
            stack: StackT::from_words(&[word(2), word(3), word(4)]),
            cs: selectors as u16,
            ss: (selectors >> 48) as u16,
            fpstate: word(UCONTEXT_REGISTERS + 23),
            sigmask: word(UCONTEXT_WORDS - 1),
        }
    }
}

/// The first `SIGINFO_OFFSET` bytes of a frame, as words: pretcode and the
/// ucontext. (The siginfo is written only for SA_SIGINFO handlers, as Linux does.)
#[inline]
pub fn frame_head(restorer: u64, context: &UContext) -> [u64; FRAME_HEAD_WORDS] {
    let mut words = [0; FRAME_HEAD_WORDS];
    words[0] = restorer;
    words[1..].copy_from_slice(&context.to_words());
    words
}

/// A process's alternate signal stack (sigaltstack), as Linux keeps it: base, size
/// (0 when disabled) and the flags it was set with (only SS_AUTODISARM matters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AltStack {
    pub base: u64,
    pub size: u64,
    pub flags: i32,
}

impl AltStack {
    /// Whether `sp` lies on the stack (`__on_sig_stack`: above the base, at most at
    /// its top, as a stack pointer that has pushed something would be).
    #[inline]
    pub fn contains(&self, sp: u64) -> bool {
        sp > self.base && sp - self.base <= self.size
    }

    /// Whether a program running at `sp` counts as running on the stack
    /// (`on_sig_stack`): never with SS_AUTODISARM, which disarms the stack while a
    /// handler runs on it.
    #[inline]
    pub fn is_on(&self, sp: u64) -> bool {
        self.flags & SS_AUTODISARM == 0 && self.contains(sp)
    }

    /// `sas_ss_flags(sp)`: SS_DISABLE, SS_ONSTACK, or 0 (usable).
    #[inline]
    pub fn state_at(&self, sp: u64) -> i32 {
        if self.size == 0 {
            SS_DISABLE
        } else if self.is_on(sp) {
            SS_ONSTACK
        } else {
            0
        }
    }

    /// What `sigaltstack` reports as the old stack for a program running at `sp`.
    pub fn report(&self, sp: u64) -> StackT {
        StackT { sp: self.base, flags: self.state_at(sp) | (self.flags & SS_AUTODISARM), size: self.size }
    }

    /// What a signal frame records in `uc_stack` (what sigreturn re-installs).
    pub fn saved(&self) -> StackT {
        StackT { sp: self.base, flags: self.flags, size: self.size }
    }

    /// `sigaltstack(new)` by a program running at `sp`, as Linux's `do_sigaltstack`:
    /// EPERM while running on the current stack, EINVAL for unknown modes, ENOMEM
    /// below MINSIGSTKSZ; SS_DISABLE forgets the stack.
    pub fn replaced(&self, new: StackT, sp: u64) -> Result<AltStack, i64> {
        use super::errno::{EINVAL, ENOMEM, EPERM};
        if self.is_on(sp) {
            return Err(EPERM);
        }
        match new.flags & !SS_AUTODISARM {
            SS_DISABLE => Ok(AltStack { base: 0, size: 0, flags: new.flags }),
            0 | SS_ONSTACK if new.size < MINSIGSTKSZ => Err(ENOMEM),
            0 | SS_ONSTACK => Ok(AltStack { base: new.sp, size: new.size, flags: new.flags }),
            _ => Err(EINVAL),
        }
    }
}

/// Where a signal frame goes: the frame itself (the handler's stack pointer) and
/// the XSAVE image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub frame: u64,
    pub fpstate: u64,
}

/// Places a frame for a program interrupted at stack pointer `sp`, with an XSAVE
/// image of `xstate_size` bytes (magic included), as Linux's `get_sigframe`: below
/// the red zone, or at the top of the alternate stack for an SA_ONSTACK handler
/// when that stack is usable and not already in use; the image 64-byte aligned; the
/// frame so that `(frame + 8) % 16 == 0`, as right after a call. None when the frame
/// would not fit (an address underflow, or an overflow of the alternate stack):
/// the signal then becomes a SIGSEGV.
/// Inlined: its one caller, signal delivery, is in the kernel crate.
#[inline]
pub fn place(sp: u64, on_stack: bool, alt: &AltStack, xstate_size: u64) -> Option<Placement> {
    let nested = alt.is_on(sp);
    let mut top = sp.checked_sub(RED_ZONE)?;
    let mut entering = false;
    if on_stack && alt.state_at(top) == 0 {
        top = alt.base.checked_add(alt.size)?;
        entering = true;
    }
    let fpstate = top.checked_sub(xstate_size)? & !63;
    let frame = (fpstate.checked_sub(FRAME_SIZE)? & !15).checked_sub(8)?;
    if (nested || entering) && !alt.contains(frame) {
        return None;
    }
    Some(Placement { frame, fpstate })
}

/// The XSAVE image in signal frames, in the standard (non-compacted) format:
/// the 512-byte legacy (FXSAVE) region, the 64-byte header, then the components.
pub mod xstate {

    pub const MAGIC1: u32 = 0x4650_5853;
    pub const MAGIC2: u32 = 0x4650_5845;
    pub const MAGIC2_SIZE: usize = 4;
    pub const LEGACY_SIZE: usize = 512;
    const HEADER_SIZE: usize = 64;
    /// The smallest XSAVE image (legacy region and header).
    pub const MIN_SIZE: usize = LEGACY_SIZE + HEADER_SIZE;
    /// x87 and SSE: the components the legacy region holds.
    pub const FP_SSE: u64 = 0b11;
    /// Where the legacy region's software-reserved bytes (`struct _fpx_sw_bytes`) are.
    const SW_BYTES: usize = 464;
    const MXCSR: usize = 24;
    /// Where the header's XSTATE_BV is: the components an image holds.
    pub const XSTATE_BV: usize = LEGACY_SIZE;
    const XCOMP_BV: usize = LEGACY_SIZE + 8;

    // Inlined, as every helper of `write_frame_image` and `restore` (a call costs
    // more than the load or store it makes).
    #[inline]
    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        bytes.get(at..at.wrapping_add(4)).and_then(|word| word.try_into().ok()).map_or(0, u32::from_le_bytes)
    }

    #[inline]
    fn u64_at(bytes: &[u8], at: usize) -> u64 {
        bytes.get(at..at.wrapping_add(8)).and_then(|word| word.try_into().ok()).map_or(0, u64::from_le_bytes)
    }

    #[inline]
    fn put(bytes: &mut [u8], at: usize, value: &[u8]) {
        if let Some(slot) = bytes.get_mut(at..at.saturating_add(value.len())) {
            slot.copy_from_slice(value);
        }
    }

    /// Bytes of the legacy region that hold x87 state (not MXCSR and its mask, at
    /// 24..32, which belong to SSE and AVX too) and SSE state (xmm0-15).
    const X87_RANGES: [core::ops::Range<usize>; 2] = [0..MXCSR, 32..160];
    const XMM_RANGE: core::ops::Range<usize> = 160..416;

    /// Writes, through `write(offset, bytes)`, the image a signal frame gets from a
    /// process's XSAVE `area` (XCR0 = `features`): the area, then Linux's parts of
    /// the image over it (`complete_frame_image`). Written in place rather than
    /// built in a buffer: the area (KiBs with AVX-512) is copied once, to its frame.
    /// An area whose XSTATE_BV says x87 or SSE is in its initial state (`reset`)
    /// may hold stale bytes there: the image gets those registers from `initial`,
    /// as XSAVE would have written them, since the frame marks them present.
    /// Inlined, as `restore`: the caller's `write` is the signal frame's copy.
    #[inline]
    pub fn write_frame_image<E>(
        area: &[u8],
        initial: &[u8],
        features: u64,
        mut write: impl FnMut(usize, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        write(0, area)?;
        let present = u64_at(area, XSTATE_BV);
        if area.len() >= MIN_SIZE && initial.len() >= MIN_SIZE {
            if present & 0b01 == 0 {
                for range in X87_RANGES {
                    write(range.start, &initial[range])?;
                }
            }
            if present & 0b10 == 0 {
                write(XMM_RANGE.start, &initial[XMM_RANGE])?;
            }
        }
        complete_frame_image(present, area.len(), features, write)
    }

    /// Makes an XSAVE image of `size` bytes already in a signal frame (XSAVE'd
    /// there, or copied from the area with its legacy region made whole by
    /// `write_frame_image`), whose XSTATE_BV is `present`, the image Linux gives a
    /// handler, through `write(offset, bytes)`: Linux's software bytes in the
    /// legacy region (magic1, the image's sizes and features) and XSTATE_BV with
    /// x87 and SSE always marked present (so a handler that edits only the legacy
    /// region is heard), one write for both, and MAGIC2 after it.
    ///
    /// An image XSAVE (not XSAVEOPT, XSAVEC or XSAVES) wrote needs nothing more in
    /// its legacy region: XSAVE has no init optimization, it writes every
    /// requested component's registers, those in their initial configuration
    /// included (XSTATE_BV then only says they were not in use). That is the image
    /// Linux's own XSAVE to a signal frame leaves, before it marks x87 and SSE
    /// present as here.
    #[inline]
    pub fn complete_frame_image<E>(
        present: u64,
        size: usize,
        features: u64,
        mut write: impl FnMut(usize, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if size >= MIN_SIZE {
            // Filled at fixed offsets (each a store or two), not `pack`ed from
            // slices: this is on every signal delivery.
            let mut software_bytes_and_header = [0u8; XSTATE_BV + 8 - SW_BYTES];
            let extended_size = (size as u32).saturating_add(MAGIC2_SIZE as u32);
            software_bytes_and_header[0..4].copy_from_slice(&MAGIC1.to_le_bytes());
            software_bytes_and_header[4..8].copy_from_slice(&extended_size.to_le_bytes());
            software_bytes_and_header[8..16].copy_from_slice(&features.to_le_bytes());
            software_bytes_and_header[16..20].copy_from_slice(&(size as u32).to_le_bytes());
            software_bytes_and_header[48..56].copy_from_slice(&(present | FP_SSE).to_le_bytes());
            write(SW_BYTES, &software_bytes_and_header)?;
        }
        write(size, &MAGIC2.to_le_bytes())
    }

    /// Puts `area` (a process's XSAVE area, standard format) in the state a signal
    /// handler starts with, `initial`'s, without copying it: XSTATE_BV 0 makes
    /// XRSTOR put every component in its initial state, and MXCSR, which XRSTOR
    /// loads whatever XSTATE_BV says, is `initial`'s. The other bytes are stale
    /// until the next XSAVE: readers go by XSTATE_BV (`write_frame_image`).
    #[inline]
    pub fn reset(area: &mut [u8], initial: &[u8]) {
        if area.len() < MIN_SIZE || initial.len() < MIN_SIZE {
            return;
        }
        area[MXCSR..MXCSR + 4].copy_from_slice(&initial[MXCSR..MXCSR + 4]);
        area[XSTATE_BV..XSTATE_BV + 8].fill(0);
    }

    /// Whether a frame's legacy region declares a full XSAVE image of exactly
    /// `area_size` bytes (then MAGIC2 is to be checked after it), rather than an
    /// FXSAVE-only one.
    #[inline]
    pub fn declares_full_image(legacy: &[u8], area_size: usize) -> bool {
        let magic1 = u32_at(legacy, SW_BYTES);
        let extended_size = u32_at(legacy, SW_BYTES + 4) as usize;
        let xstate_size = u32_at(legacy, SW_BYTES + 16) as usize;
        magic1 == MAGIC1 && xstate_size == area_size && extended_size == area_size + MAGIC2_SIZE
    }

    /// Whether XRSTOR (standard format, every component of XCR0 = `features`)
    /// straight from a frame's image, given as its words `word(offset)`, installs
    /// exactly what `restore` would install from it, and cannot fault: a full
    /// image of `area_size` bytes (Linux's markers, MAGIC2 after it) whose
    /// XSTATE_BV names only components it declares and XCR0 enables, whose header
    /// past XSTATE_BV is zero (`restore` would clear it), and whose MXCSR is within
    /// `mxcsr_mask`. Any other image takes `restore`'s way.
    #[inline]
    pub fn restorable_in_place(word: impl Fn(usize) -> u64, area_size: usize, features: u64, mxcsr_mask: u32) -> bool {
        let software = word(SW_BYTES);
        let magic1 = software as u32;
        let extended_size = (software >> 32) as usize;
        let declared = word(SW_BYTES + 8);
        let xstate_size = word(SW_BYTES + 16) as u32 as usize;
        if magic1 != MAGIC1 || xstate_size != area_size || extended_size != area_size + MAGIC2_SIZE {
            return false;
        }
        let present = word(XSTATE_BV);
        word(area_size) as u32 == MAGIC2
            && present & !(features & declared) == 0
            && word(XCOMP_BV) | word(XCOMP_BV + 8) == 0
            && word(MXCSR) as u32 & !mxcsr_mask == 0
    }

    /// Installs in `area` (a process's XSAVE area, as large as `initial`) the state
    /// `rt_sigreturn` takes from the frame image at user address `address`, read
    /// through `read(offset, buffer)`, and says whether it could. The image is full
    /// (its legacy region declares one of the area's size and MAGIC2 follows it) or
    /// FXSAVE-only: its x87/SSE state over the `initial` state. Components the image
    /// does not declare get their initial state, as on Linux.
    ///
    /// False where a read fails or where Linux's XRSTOR/FXRSTOR from that image
    /// would fault (the program then gets SIGSEGV); `area` then holds the `initial`
    /// state, as Linux resets the FPU when it refuses a frame's image.
    ///
    /// What it installs is what the kernel's own XRSTOR (standard format, all of
    /// XCR0 = `features`) is given on every return to user mode, so it must never
    /// fault: XSTATE_BV within `features`, XCOMP_BV and the next 8 header bytes zero
    /// (the remaining reserved header bytes are cleared, being ignored), MXCSR within
    /// `mxcsr_mask`. Alignment as the instructions require: 64 bytes for XRSTOR, 16
    /// for FXRSTOR.
    #[inline]
    pub fn restore<E>(
        address: u64,
        area: &mut [u8],
        initial: &[u8],
        features: u64,
        mxcsr_mask: u32,
        read: impl FnMut(usize, &mut [u8]) -> Result<(), E>,
    ) -> bool {
        if area.len() != initial.len() || area.len() < MIN_SIZE {
            return false;
        }
        let restored = read_checked(address, area, initial, features, mxcsr_mask, read).is_some();
        if !restored {
            area.copy_from_slice(initial);
        }
        restored
    }

    /// `restore` until its first refusal (None), which leaves `area` half written.
    #[inline]
    fn read_checked<E>(
        address: u64,
        area: &mut [u8],
        initial: &[u8],
        features: u64,
        mxcsr_mask: u32,
        mut read: impl FnMut(usize, &mut [u8]) -> Result<(), E>,
    ) -> Option<()> {
        let area_size = area.len();
        read(0, &mut area[..LEGACY_SIZE]).ok()?;
        let full = declares_full_image(area, area_size) && {
            let mut magic2 = [0u8; MAGIC2_SIZE];
            read(area_size, &mut magic2).ok()?;
            u32::from_le_bytes(magic2) == MAGIC2
        };
        let present = if full {
            if address % 64 != 0 {
                return None;
            }
            read(LEGACY_SIZE, &mut area[LEGACY_SIZE..]).ok()?;
            let declared = u64_at(area, SW_BYTES + 8);
            let present = u64_at(area, XSTATE_BV);
            if present & !features != 0 || u64_at(area, XCOMP_BV) != 0 || u64_at(area, XCOMP_BV + 8) != 0 {
                return None;
            }
            present & declared
        } else {
            if address % 16 != 0 {
                return None;
            }
            area[LEGACY_SIZE..].copy_from_slice(&initial[LEGACY_SIZE..]);
            FP_SSE
        };
        if u32_at(area, MXCSR) & !mxcsr_mask != 0 {
            return None;
        }
        area[XSTATE_BV..MIN_SIZE].fill(0);
        put(area, XSTATE_BV, &(present & features).to_le_bytes());
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::xstate::*;
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn structure_sizes_match_linux() {
        assert_eq!(SigContext::default().to_words().len() * 8, 256);
        assert_eq!(UContext::default().to_words().len() * 8, 304);
        assert_eq!(FRAME_SIZE, 440);
        assert_eq!(SIGINFO_OFFSET, 312);
        assert_eq!(StackT::SIZE, 24);
    }

    #[test]
    fn sigcontext_fields_sit_at_linux_offsets() {
        let registers = Registers {
            r8: 1,
            r9: 2,
            r10: 3,
            r11: 4,
            r12: 5,
            r13: 6,
            r14: 7,
            r15: 8,
            rdi: 9,
            rsi: 10,
            rbp: 11,
            rbx: 12,
            rdx: 13,
            rax: 14,
            rcx: 15,
            rsp: 16,
            rip: 17,
            rflags: 18,
        };
        let context = SigContext {
            registers,
            cs: 0x33,
            gs: 0,
            fs: 0,
            ss: 0x2b,
            err: 19,
            trapno: 20,
            oldmask: 21,
            cr2: 22,
            fpstate: 23,
        };
        let bytes = le_bytes(&context.to_words());
        let word = |offset: usize| u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap());
        for index in 0..18 {
            assert_eq!(word(index * 8), index as u64 + 1, "register {index}");
        }
        assert_eq!(&bytes[144..152], &[0x33, 0, 0, 0, 0, 0, 0x2b, 0]);
        assert_eq!((word(152), word(160), word(168), word(176), word(184)), (19, 20, 21, 22, 23));
        assert!(bytes[192..].iter().all(|&b| b == 0));
        assert_eq!(decoded_registers(|index| context.to_words()[index]), registers);
    }

    #[test]
    fn ucontext_round_trips_with_linux_offsets() {
        let context = UContext {
            flags: UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS,
            link: 0,
            stack: StackT { sp: 0x7000, flags: SS_AUTODISARM, size: 8192 },
            mcontext: SigContext { cr2: 0xabc, ..SigContext::default() },
            sigmask: 0x8000_0000_0000_0001,
        };
        let bytes = le_bytes(&context.to_words());
        assert_eq!(&bytes[..8], &7u64.to_le_bytes());
        assert_eq!(&bytes[16..24], &0x7000u64.to_le_bytes());
        assert_eq!(&bytes[24..28], &SS_AUTODISARM.to_le_bytes());
        assert_eq!(&bytes[32..40], &8192u64.to_le_bytes());
        assert_eq!(&bytes[40 + 176..40 + 184], &0xabcu64.to_le_bytes());
        assert_eq!(&bytes[296..304], &0x8000_0000_0000_0001u64.to_le_bytes());
        assert_eq!(&bytes[24..32], &le_bytes(&context.stack.to_words())[8..16]);
        assert_eq!(StackT::from_bytes(&context.stack.to_bytes()), StackT::from_words(&context.stack.to_words()));
        let words = context.to_words();
        let restored = ReturnContext::decode(|index| words[index]);
        let expected = ReturnContext {
            flags: context.flags,
            stack: context.stack,
            cs: context.mcontext.cs,
            ss: context.mcontext.ss,
            fpstate: context.mcontext.fpstate,
            sigmask: context.sigmask,
        };
        assert_eq!(restored, expected);
        assert_eq!(decoded_registers(|index| words[UCONTEXT_REGISTERS + index]), context.mcontext.registers);
        let head = le_bytes(&frame_head(0x401234, &context));
        assert_eq!(&head[..8], &0x401234u64.to_le_bytes());
        assert_eq!(&head[8..], &bytes[..]);
    }

    #[test]
    fn decoding_reads_no_word_twice() {
        // A word read twice from user memory could differ between the reads (another
        // thread writing the frame): what is checked must be what is used.
        // Nor between sigreturn's two decoders.
        let reads = core::cell::RefCell::new([0u32; UCONTEXT_WORDS]);
        let word = |index: usize| {
            reads.borrow_mut()[index] += 1;
            index as u64
        };
        ReturnContext::decode(word);
        decoded_registers(|index| word(UCONTEXT_REGISTERS + index));
        assert!(reads.into_inner().iter().all(|&count| count <= 1));
    }

    #[test]
    fn decoding_any_words_never_panics() {
        for fill in [0u64, 0x5555_5555_5555_5555, u64::MAX] {
            let context = ReturnContext::decode(|_| fill);
            assert_eq!(context.flags, fill);
            assert_eq!(context.ss, fill as u16);
            assert_eq!(decoded_registers(|_| fill).rflags, fill);
            let _ = StackT::from_bytes(&[fill as u8; 24]);
        }
    }

    /// What the words are in memory.
    fn le_bytes(words: &[u64]) -> Vec<u8> {
        words.iter().flat_map(|word| word.to_le_bytes()).collect()
    }

    /// The registers `Registers::decode_each` gives, gathered.
    fn decoded_registers(word: impl Fn(usize) -> u64) -> Registers {
        let mut registers = Registers::default();
        Registers::decode_each(word, |register, value| {
            let slot = match register {
                Register::R8 => &mut registers.r8,
                Register::R9 => &mut registers.r9,
                Register::R10 => &mut registers.r10,
                Register::R11 => &mut registers.r11,
                Register::R12 => &mut registers.r12,
                Register::R13 => &mut registers.r13,
                Register::R14 => &mut registers.r14,
                Register::R15 => &mut registers.r15,
                Register::Rdi => &mut registers.rdi,
                Register::Rsi => &mut registers.rsi,
                Register::Rbp => &mut registers.rbp,
                Register::Rbx => &mut registers.rbx,
                Register::Rdx => &mut registers.rdx,
                Register::Rax => &mut registers.rax,
                Register::Rcx => &mut registers.rcx,
                Register::Rsp => &mut registers.rsp,
                Register::Rip => &mut registers.rip,
                Register::Rflags => &mut registers.rflags,
            };
            *slot = value;
        });
        registers
    }

    #[test]
    fn frames_go_below_the_red_zone_aligned_as_after_a_call() {
        let none = AltStack::default();
        for sp in [0x7fff_ffff_e000u64, 0x7fff_ffff_dff8, 0x7fff_ffff_d123] {
            let placement = place(sp, false, &none, 836).unwrap();
            assert_eq!((placement.frame + 8) % 16, 0);
            assert_eq!(placement.fpstate % 64, 0);
            assert!(placement.fpstate + 836 <= sp - RED_ZONE);
            assert!(placement.frame + FRAME_SIZE <= placement.fpstate);
            assert!(placement.fpstate - (placement.frame + FRAME_SIZE) < 64 + 16);
        }
        assert_eq!(place(100, false, &none, 836), None);
        assert_eq!(place(0, false, &none, 836), None);
    }

    #[test]
    fn sa_onstack_switches_to_the_alternate_stack_once() {
        let alt = AltStack { base: 0x10_0000, size: 0x4000, flags: 0 };
        let sp = 0x7fff_0000_0000;
        let first = place(sp, true, &alt, 836).unwrap();
        assert!(alt.contains(first.frame) && first.fpstate + 836 <= 0x10_4000);
        // A handler without SA_ONSTACK stays on the current stack.
        assert!(place(sp, false, &alt, 836).unwrap().frame > 0x7ffe_0000_0000);
        // Nested: already on the alternate stack, continue below.
        let nested = place(first.frame, true, &alt, 836).unwrap();
        assert!(nested.frame < first.frame && alt.contains(nested.frame));
        // Overflowing it is a SIGSEGV, not a write below it.
        assert_eq!(place(0x10_0200, true, &alt, 836), None);
        // A stack too small for one frame.
        let tiny = AltStack { base: 0x10_0000, size: 1024, flags: 0 };
        assert_eq!(place(sp, true, &tiny, 836), None);
        // SS_AUTODISARM: never "on" it, so a new signal starts again at its top.
        let disarming = AltStack { flags: SS_AUTODISARM, ..alt };
        assert_eq!(place(first.frame, true, &disarming, 836), Some(first));
    }

    #[test]
    fn sigaltstack_rules_follow_linux() {
        use crate::abi::errno::{EINVAL, ENOMEM, EPERM};
        let none = AltStack::default();
        assert_eq!(none.report(0x1000).flags, SS_DISABLE);
        let set = none.replaced(StackT { sp: 0x10_0000, flags: 0, size: 0x4000 }, 0x7000_0000).unwrap();
        assert_eq!(set, AltStack { base: 0x10_0000, size: 0x4000, flags: 0 });
        assert_eq!(set.report(0x10_1000), StackT { sp: 0x10_0000, flags: SS_ONSTACK, size: 0x4000 });
        assert_eq!(set.report(0x7000_0000).flags, 0);
        assert_eq!(set.replaced(StackT::default(), 0x10_1000), Err(EPERM));
        assert_eq!(none.replaced(StackT { sp: 1, flags: 0, size: MINSIGSTKSZ - 1 }, 0), Err(ENOMEM));
        assert_eq!(none.replaced(StackT { sp: 1, flags: 4, size: 1 << 20 }, 0), Err(EINVAL));
        assert_eq!(none.replaced(StackT { sp: 1, flags: SS_ONSTACK, size: MINSIGSTKSZ }, 0).unwrap().size, MINSIGSTKSZ);
        let disabled = set.replaced(StackT { sp: 5, flags: SS_DISABLE, size: 5 }, 0).unwrap();
        assert_eq!((disabled.base, disabled.size), (0, 0));
        let auto = none.replaced(StackT { sp: 0x10_0000, flags: SS_AUTODISARM, size: 0x4000 }, 0).unwrap();
        assert_eq!(auto.report(0x10_1000).flags, SS_AUTODISARM);
        assert!(auto.replaced(StackT { flags: SS_DISABLE, ..StackT::default() }, 0x10_1000).is_ok());
    }

    const AREA: usize = 832;
    const FEATURES: u64 = 0b111;
    const MASK: u32 = 0xffff;

    fn initial() -> Vec<u8> {
        let mut area = alloc::vec![0u8; AREA];
        area[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        area[28..32].copy_from_slice(&MASK.to_le_bytes());
        area
    }

    /// The image `write_frame_image` writes, gathered in one buffer.
    fn frame_image(area: &[u8], features: u64) -> Vec<u8> {
        let mut image = alloc::vec![0u8; area.len() + MAGIC2_SIZE];
        write_frame_image(area, &initial(), features, |at, bytes| {
            image[at..at + bytes.len()].copy_from_slice(bytes);
            Ok::<(), ()>(())
        })
        .unwrap();
        image
    }

    /// `restore` from an image in memory (reads past its end fail), into an area
    /// that held other state: the installed area, or None (and then the area must
    /// hold the initial state).
    fn restore_from(address: u64, source: &[u8], initial: &[u8], features: u64, mask: u32) -> Option<Vec<u8>> {
        let mut area = alloc::vec![0x5a; initial.len()];
        let read = |at: usize, buffer: &mut [u8]| {
            buffer.copy_from_slice(source.get(at..at + buffer.len()).ok_or(())?);
            Ok::<(), ()>(())
        };
        if restore(address, &mut area, initial, features, mask, read) {
            return Some(area);
        }
        if initial.len() >= MIN_SIZE {
            assert_eq!(area, initial, "a refused image leaves the initial state");
        }
        None
    }

    #[test]
    fn frame_images_carry_linux_magic() {
        let mut area = initial();
        area[512] = 0b100;
        let image = frame_image(&area, FEATURES);
        assert_eq!(image.len(), AREA + 4);
        assert_eq!(&image[464..468], &MAGIC1.to_le_bytes());
        assert_eq!(&image[468..472], &(AREA as u32 + 4).to_le_bytes());
        assert_eq!(&image[472..480], &FEATURES.to_le_bytes());
        assert_eq!(&image[480..484], &(AREA as u32).to_le_bytes());
        assert_eq!(&image[AREA..], &MAGIC2.to_le_bytes());
        assert_eq!(image[512], 0b111);
        assert!(declares_full_image(&image, AREA));
        assert!(!declares_full_image(&image, AREA + 64));
        assert!(!declares_full_image(&area, AREA));
    }

    #[test]
    fn a_reset_area_frames_and_restores_as_the_initial_state() {
        let mut area = initial();
        area[0..2].copy_from_slice(&0x1234u16.to_le_bytes()); // FCW
        area[24..28].copy_from_slice(&0x9f80u32.to_le_bytes()); // MXCSR
        area[40] = 0x11; // st0
        area[160..176].copy_from_slice(&[7; 16]); // xmm0
        area[512] = 0b111;
        area[600] = 0x42; // ymm0's upper half
        reset(&mut area, &initial());
        assert_eq!(&area[24..28], &0x1f80u32.to_le_bytes());
        assert_eq!(&area[512..520], &[0; 8], "XRSTOR puts every component in its initial state");
        // A second frame built before the handler ran (the area not saved again):
        // the image holds the initial registers, not the stale ones, marked present.
        let image = frame_image(&area, FEATURES);
        assert_eq!(&image[..464], &initial()[..464]);
        assert_eq!(image[512], 0b011);
        let restored = restore_from(0x7000_0000, &image, &initial(), FEATURES, MASK).unwrap();
        assert_eq!(&restored[..464], &initial()[..464]);
        assert_eq!(restored[512], 0b011, "the upper halves stay in their initial state");
        // Only the component in its initial state comes from `initial`.
        let mut sse_only = initial();
        sse_only[0..2].copy_from_slice(&0x1234u16.to_le_bytes());
        sse_only[160..176].copy_from_slice(&[7; 16]);
        sse_only[512] = 0b010;
        let image = frame_image(&sse_only, FEATURES);
        assert_eq!(&image[0..2], &initial()[0..2]);
        assert_eq!(&image[160..176], &[7; 16]);
        // Too small an area is left alone.
        let mut short = alloc::vec![0x5a; 100];
        reset(&mut short, &initial());
        assert!(short.iter().all(|&byte| byte == 0x5a));
    }

    #[test]
    fn a_frame_image_restores_to_the_saved_state() {
        let mut area = initial();
        area[160..176].copy_from_slice(&[7; 16]); // xmm0
        area[512] = 0b111;
        let image = frame_image(&area, FEATURES);
        let restored = restore_from(0x7000_0040, &image, &initial(), FEATURES, MASK).unwrap();
        assert_eq!(&restored[..464], &area[..464]);
        assert_eq!(&restored[512..], &area[512..]);
    }

    #[test]
    fn images_xrstor_would_fault_on_are_refused() {
        let good = frame_image(&initial(), FEATURES);
        let refused = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut image = good.clone();
            edit(&mut image);
            restore_from(0x7000_0000, &image, &initial(), FEATURES, MASK).is_none()
        };
        assert!(!refused(&|_| {}));
        assert!(refused(&|image| image[24..28].copy_from_slice(&0xffff_ffffu32.to_le_bytes())));
        assert!(refused(&|image| image[512..520].copy_from_slice(&(1u64 << 63).to_le_bytes())));
        assert!(refused(&|image| image[512] = 0b1000));
        assert!(refused(&|image| image[520] = 1));
        assert!(refused(&|image| image[535] = 1));
        // Ignored reserved header bytes are cleared, not refused.
        let mut image = good.clone();
        image[540] = 9;
        assert_eq!(restore_from(0x7000_0000, &image, &initial(), FEATURES, MASK).unwrap()[540], 0);
        // Misaligned for XRSTOR.
        assert_eq!(restore_from(0x7000_0010, &good, &initial(), FEATURES, MASK), None);
    }

    #[test]
    fn only_images_restore_takes_unchanged_go_straight_to_xrstor() {
        let mut area = initial();
        area[512] = 0b111;
        let good = frame_image(&area, FEATURES);
        let in_place = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut image = good.clone();
            edit(&mut image);
            // The frame goes on past MAGIC2: a word read there takes 4 more bytes.
            image.extend_from_slice(&[0; 4]);
            let word = |at: usize| image.get(at..at + 8).map_or(0, |w| u64::from_le_bytes(w.try_into().unwrap()));
            restorable_in_place(word, AREA, FEATURES, MASK)
        };
        assert!(in_place(&|_| {}));
        // What XRSTOR would fault on, as `restore` refuses it.
        assert!(!in_place(&|image| image[24..28].copy_from_slice(&0xffff_ffffu32.to_le_bytes())));
        assert!(!in_place(&|image| image[512] = 0b1111));
        assert!(!in_place(&|image| image[520] = 1));
        assert!(!in_place(&|image| image[535] = 1));
        // Header bytes XRSTOR ignores (`restore` clears them): the same registers.
        assert!(in_place(&|image| image[540] = 9));
        // What `restore` changes on its way: a component present but not
        // declared, which it drops.
        assert!(!in_place(&|image| image[472..480].copy_from_slice(&0b011u64.to_le_bytes())));
        // Not a full image of this size: markers or MAGIC2 missing.
        assert!(!in_place(&|image| image[464] ^= 1));
        assert!(!in_place(&|image| image[AREA] ^= 1));
        assert!(!in_place(&|image| image[AREA..].fill(0)));
        // x87 or SSE in their initial state: XRSTOR initializes them, as `restore`.
        assert!(in_place(&|image| image[512] = 0b100));
    }

    #[test]
    fn legacy_only_images_restore_x87_and_sse_and_reset_the_rest() {
        let mut legacy = initial();
        legacy.truncate(LEGACY_SIZE);
        legacy[160] = 0x42;
        let mut start = initial();
        start[600] = 0x99;
        let restored = restore_from(0x7000_0010, &legacy, &start, FEATURES, MASK).unwrap();
        assert_eq!(restored[160], 0x42);
        assert_eq!(restored[512], 0b11);
        assert_eq!(restored[600], 0x99);
        assert_eq!(restore_from(0x7000_0008, &legacy, &start, FEATURES, MASK), None);
        legacy[24..28].copy_from_slice(&0x0001_0000u32.to_le_bytes());
        assert_eq!(restore_from(0x7000_0010, &legacy, &start, FEATURES, MASK), None);
        // A full image whose MAGIC2 is missing counts as legacy-only.
        let mut image = frame_image(&initial(), FEATURES);
        image[AREA] = 0;
        assert_eq!(restore_from(0x7000_0000, &image, &start, FEATURES, MASK).unwrap()[600], 0x99);
        // Too short to hold even the legacy region.
        assert_eq!(restore_from(0x7000_0000, &[0; 100], &start, FEATURES, MASK), None);
    }

    #[test]
    fn arbitrary_input_never_panics() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let length = (next() % (AREA as u64 + 64)) as usize;
            let source: Vec<u8> = (0..length).map(|_| next() as u8).collect();
            let _ = restore_from(next(), &source, &initial(), next(), next() as u32);
            let _ = restore_from(next() & !63, &source, &source, FEATURES, MASK);
            let _ = declares_full_image(&source, length);
            let _ = frame_image(&source, next());
            let alt = AltStack { base: next(), size: next(), flags: next() as i32 };
            let _ = place(next(), next() & 1 == 0, &alt, next());
            let _ = alt.replaced(StackT { sp: next(), flags: next() as i32, size: next() }, next());
            let _ = alt.report(next());
        }
    }

    #[test]
    fn restored_state_stays_within_the_enabled_features() {
        let mut image = frame_image(&initial(), FEATURES);
        image[472..480].copy_from_slice(&u64::MAX.to_le_bytes());
        let restored = restore_from(0x7000_0000, &image, &initial(), 0b11, MASK);
        // XSTATE_BV 0b011 (frame_image forced FP/SSE) within XCR0 0b11: accepted.
        assert_eq!(restored.unwrap()[512], 0b11);
    }
}
