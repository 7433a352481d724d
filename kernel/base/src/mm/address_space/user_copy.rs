//! The user-memory copies: the one API through which the kernel reads and writes
//! user memory (`AddressSpace::read`, `write`, `read_c_string`, the loader's `load`),
//! and `UserBuffer`, through which a file copies straight to or from a process's
//! memory. Each copy first tries the address space's cached translation
//! (`cached_bytes`), then goes page by page through `user_frame`, which faults pages
//! in; either way it copies through the direct map, never through a user address.

use alloc::vec::Vec;
use core::mem::MaybeUninit;

use super::{allows, Access, AddressSpace, Fault, USER_END};
use crate::arch::x86_64::fpu;
use crate::mm::frame::{self, Frame};
use crate::mm::PAGE_SIZE;
use crate::sync::OrderedMutex;

/// Why a user string could not be read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StringFault {
    Fault(Fault),
    TooLong,
}

impl AddressSpace {
    /// Writes `bytes` at `address` for the loader, regardless of the region's write
    /// permission (a read-only text segment still has to be filled once).
    pub fn load(&mut self, address: u64, bytes: &[u8]) -> Result<(), Fault> {
        self.copy_pages(address, bytes.len(), None, |frame, offset, range| {
            let piece = &bytes[range];
            // SAFETY: `frame` backs the page; the piece fits in it from `offset`.
            unsafe { copy_bytes(piece.as_ptr(), frame.bytes().add(offset), piece.len()) };
        })
    }

    /// Copies user memory at `address` into `buffer`.
    #[inline]
    pub fn read(&mut self, address: u64, buffer: &mut [u8]) -> Result<(), Fault> {
        self.fetch(address, buffer).1
    }

    /// `read` into a buffer not yet initialized, for a caller that would
    /// otherwise clear one only to overwrite it (poll's entries): the buffer as
    /// bytes once read; on a fault, the fault and the buffer back, to try again.
    #[inline]
    pub fn read_uninit<'a>(
        &mut self,
        address: u64,
        buffer: &'a mut [MaybeUninit<u8>],
    ) -> Result<&'a mut [u8], (Fault, &'a mut [MaybeUninit<u8>])> {
        // SAFETY: the slice is `buffer`'s bytes, for as long as `buffer` is
        // borrowed; `read` only writes it (never reads it), and a failed read
        // hands back the uninitialized view, never this one.
        let bytes = unsafe { core::slice::from_raw_parts_mut(buffer.as_mut_ptr().cast::<u8>(), buffer.len()) };
        match self.read(address, bytes) {
            Ok(()) => Ok(bytes),
            // SAFETY: as above, in the other direction: every byte is a valid
            // MaybeUninit, and `bytes` is not used again.
            Err(fault) => Err((fault, unsafe {
                core::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast::<MaybeUninit<u8>>(), bytes.len())
            })),
        }
    }

    /// Copies `bytes` into user memory at `address`.
    #[inline]
    pub fn write(&mut self, address: u64, bytes: &[u8]) -> Result<(), Fault> {
        self.store(address, bytes).1
    }

    /// Writes the words `words` makes (little-endian, as x86_64 keeps them) into
    /// user memory at `address`: where they lie in the cached translation's page,
    /// each straight into it as it is made, so a structure built from its fields
    /// (`struct stat`) needs no image in kernel memory and no copy of one. Else
    /// they are made into a buffer and copied page by page.
    #[inline(always)]
    pub fn write_words<const N: usize>(&mut self, address: u64, words: impl FnOnce() -> [u64; N]) -> Result<(), Fault> {
        if let Some(target) = self.cached_bytes(address, N * 8, Access::Write) {
            for (index, word) in words().into_iter().enumerate() {
                // SAFETY: `cached_bytes` gave the direct map's view of N words of
                // user memory, writable; any alignment will do.
                unsafe { target.cast::<u64>().add(index).write_unaligned(word) };
            }
            return Ok(());
        }
        let words = words();
        // SAFETY: N initialized words are N * 8 initialized bytes, which live as
        // long as `words`.
        let bytes = unsafe { core::slice::from_raw_parts(words.as_ptr().cast::<u8>(), N * 8) };
        self.store_pages(address, bytes).1
    }

    /// Saves the running program's FPU state (`fpu::save_to`: one XSAVE, standard
    /// format, its header cleared) straight into user memory at `address`, the
    /// XSAVE image of a signal frame, instead of copying the process's area there:
    /// the image's XSTATE_BV. Ok(None), writing nothing, where XSAVE cannot: an
    /// address that is not 64-byte aligned or an image that would cross a page (the
    /// caller copies the area instead). The write goes through the direct map under
    /// this address space's lock, which keeps the page mapped meanwhile, so no fault
    /// can reach it.
    pub fn save_fpu_to(&mut self, address: u64) -> Result<Option<u64>, Fault> {
        let size = fpu::layout().area_size() as u64;
        let offset = address % PAGE_SIZE;
        if address % fpu::AREA_ALIGN as u64 != 0 || offset + size > PAGE_SIZE {
            return Ok(None);
        }
        let target = match self.cached_bytes(address, size as usize, Access::Write) {
            Some(target) => target,
            None => self.user_frame(address, Some(Access::Write))?.bytes().wrapping_add(offset as usize),
        };
        // SAFETY: `target` is the direct map's view of the writable page at
        // `address` from `offset` on, where the image's `size` bytes fit, 64-byte
        // aligned as `address` is; no reference to user memory is held.
        Ok(Some(unsafe { fpu::save_to(target) }))
    }

    /// Loads the running program's FPU state straight from the XSAVE image in user
    /// memory at `address` (`fpu::load_image`: one XRSTOR), where `accepts` says
    /// XRSTOR may take it, given the image's words (`ImageWords`). None, loading
    /// nothing, where it may not, or where the image is not 64-byte aligned or
    /// crosses a page: the caller copies and checks it the long way. Some(false)
    /// when XRSTOR refused the image all the same (another thread changed it after
    /// `accepts` read it): the state is as it was. The image is read through the
    /// direct map under this address space's lock, which keeps the page mapped.
    pub fn load_fpu_from(
        &mut self,
        address: u64,
        accepts: impl FnOnce(ImageWords) -> bool,
    ) -> Result<Option<bool>, Fault> {
        let offset = address % PAGE_SIZE;
        let size = fpu::layout().area_size() as u64;
        if address % fpu::AREA_ALIGN as u64 != 0 || offset + size > PAGE_SIZE {
            return Ok(None);
        }
        let image = match self.cached_bytes(address, size as usize, Access::Read) {
            Some(image) => image,
            None => self.user_frame(address, Some(Access::Read))?.bytes().wrapping_add(offset as usize),
        };
        if !accepts(ImageWords { image, in_page: (PAGE_SIZE - offset) as usize }) {
            return Ok(None);
        }
        // SAFETY: the image is 64-byte aligned and its `size` bytes lie in the page,
        // which the lock on this address space keeps mapped.
        Ok(Some(unsafe { fpu::load_image(image) }))
    }

    /// Decodes N words (little-endian, as x86_64 keeps them) of user memory at
    /// `address` with `decode`, which reads each word it needs (`UserWords::at`):
    /// where they lie in the cached translation's page, straight from it, so a
    /// structure decoded from its fields (a signal frame's ucontext) needs no copy
    /// in kernel memory; else they are copied page by page first.
    #[inline(always)]
    pub fn read_words_with<const N: usize, R>(
        &mut self,
        address: u64,
        decode: impl FnOnce(UserWords<'_, N>) -> R,
    ) -> Result<R, Fault> {
        if let Some(source) = self.cached_bytes(address, N * 8, Access::Read) {
            return Ok(decode(UserWords { words: source, memory: core::marker::PhantomData }));
        }
        let words = self.read_words::<N>(address)?;
        Ok(decode(UserWords { words: words.as_ptr().cast(), memory: core::marker::PhantomData }))
    }

    /// `read_words_with`'s copy, page by page, where the cached translation does
    /// not cover the words.
    #[inline(never)]
    fn read_words<const N: usize>(&mut self, address: u64) -> Result<[u64; N], Fault> {
        // Not zeroed first: the read fills every byte, or fails and the words are
        // never looked at.
        let mut words = core::mem::MaybeUninit::<[u64; N]>::uninit();
        // SAFETY: the slice is the N * 8 bytes of `words`, and lives no longer; it
        // is only written (`fetch_pages` copies into it, never reads it).
        let bytes = unsafe { core::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), N * 8) };
        self.fetch_pages(address, bytes).1?;
        // SAFETY: the read succeeded, so it wrote all N * 8 bytes, and any bytes
        // make valid words.
        Ok(unsafe { words.assume_init() })
    }

    /// Writes `length` zero bytes into user memory at `address` (Linux's
    /// `clear_user`): how many it wrote before a fault (all of them if none). No
    /// kernel buffer of zeros to fill or walk for short clears.
    #[inline(always)]
    fn clear(&mut self, address: u64, length: usize) -> usize {
        if let Some(target) = self.cached_bytes(address, length, Access::Write) {
            // SAFETY: `cached_bytes` gave the direct map's view of that much user
            // memory, writable.
            unsafe { clear_bytes(target, length) };
            return length;
        }
        self.clear_pages(address, length)
    }

    /// `clear` page by page, faulting pages in, as `fetch_pages`.
    #[inline(never)]
    fn clear_pages(&mut self, address: u64, length: usize) -> usize {
        let mut cleared = 0;
        let result = self.copy_pages(address, length, Some(Access::Write), |frame, offset, range| {
            cleared = range.end;
            // SAFETY: `frame` backs the page; the piece fits in it from `offset`.
            unsafe { clear_bytes(frame.bytes().add(offset), range.len()) };
        });
        self.wanted_frame = result == Err(Fault::OutOfMemory);
        cleared
    }

    /// `read`, and how many bytes it copied before a fault (all of them if none):
    /// a read of a partly bad buffer takes the good part, as Linux's copies do.
    #[inline(always)]
    fn fetch(&mut self, address: u64, buffer: &mut [u8]) -> (usize, Result<(), Fault>) {
        if let Some(source) = self.cached_bytes(address, buffer.len(), Access::Read) {
            // SAFETY: `cached_bytes` gave the direct map's view of that much user
            // memory, readable; `buffer` is kernel memory, apart from it.
            unsafe { copy_bytes(source, buffer.as_mut_ptr(), buffer.len()) };
            return (buffer.len(), Ok(()));
        }
        self.fetch_pages(address, buffer)
    }

    /// `fetch` page by page, faulting pages in: what the cached translation does
    /// not cover.
    #[inline(never)]
    fn fetch_pages(&mut self, address: u64, buffer: &mut [u8]) -> (usize, Result<(), Fault>) {
        let mut copied = 0;
        let result = self.copy_pages(address, buffer.len(), Some(Access::Read), |frame, offset, range| {
            copied = range.end;
            let piece = &mut buffer[range];
            // SAFETY: as in `load`, in the other direction.
            unsafe { copy_bytes(frame.bytes().add(offset), piece.as_mut_ptr(), piece.len()) };
        });
        self.wanted_frame = result == Err(Fault::OutOfMemory);
        (copied, result)
    }

    /// `write`, and how many bytes it copied before a fault (all of them if none).
    #[inline(always)]
    fn store(&mut self, address: u64, bytes: &[u8]) -> (usize, Result<(), Fault>) {
        if let Some(target) = self.cached_bytes(address, bytes.len(), Access::Write) {
            // SAFETY: `cached_bytes` gave the direct map's view of that much user
            // memory, writable; `bytes` is kernel memory, apart from it.
            unsafe { copy_bytes(bytes.as_ptr(), target, bytes.len()) };
            return (bytes.len(), Ok(()));
        }
        self.store_pages(address, bytes)
    }

    /// `store` page by page, faulting pages in, as `fetch_pages`.
    #[inline(never)]
    fn store_pages(&mut self, address: u64, bytes: &[u8]) -> (usize, Result<(), Fault>) {
        let mut copied = 0;
        let result = self.copy_pages(address, bytes.len(), Some(Access::Write), |frame, offset, range| {
            copied = range.end;
            let piece = &bytes[range];
            // SAFETY: as in `load`.
            unsafe { copy_bytes(piece.as_ptr(), frame.bytes().add(offset), piece.len()) };
        });
        self.wanted_frame = result == Err(Fault::OutOfMemory);
        (copied, result)
    }

    /// Where the direct map shows user memory `[address, address + length)`, if
    /// it lies in one page whose translation is cached and that page takes
    /// `access` as it is: most copies are small and hit a page used just before,
    /// so they need no walk, no fault-in and no page loop.
    #[inline(always)]
    fn cached_bytes(&self, address: u64, length: usize, access: Access) -> Option<*mut u8> {
        let (page, frame, flags) = self.last_translation;
        let offset = address.wrapping_sub(page);
        if offset >= PAGE_SIZE || length as u64 > PAGE_SIZE - offset || !allows(flags, Some(access)) {
            return None;
        }
        Some(frame.bytes().wrapping_add(offset as usize))
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the NUL).
    pub fn read_c_string(&mut self, address: u64, max: usize) -> Result<Vec<u8>, StringFault> {
        let mut string = Vec::new();
        let mut cursor = address;
        loop {
            let frame = self.user_frame(cursor, Some(Access::Read)).map_err(StringFault::Fault)?;
            let offset = (cursor % PAGE_SIZE) as usize;
            // SAFETY: the frame backs the page at `cursor`; we read within it.
            let page = unsafe { core::slice::from_raw_parts(frame.bytes().add(offset), PAGE_SIZE as usize - offset) };
            match page.iter().position(|&byte| byte == 0) {
                Some(end) => {
                    string.extend_from_slice(&page[..end]);
                    return if string.len() > max { Err(StringFault::TooLong) } else { Ok(string) };
                }
                None => string.extend_from_slice(page),
            }
            if string.len() > max {
                return Err(StringFault::TooLong);
            }
            cursor += page.len() as u64;
        }
    }

    /// Runs `copy(frame, offset_in_frame, range_in_buffer)` for each page piece of
    /// `[address, address + length)`, after checking `access` (None: the loader).
    fn copy_pages(
        &mut self,
        address: u64,
        length: usize,
        access: Option<Access>,
        mut copy: impl FnMut(Frame, usize, core::ops::Range<usize>),
    ) -> Result<(), Fault> {
        let end = address.checked_add(length as u64).ok_or(Fault::Unmapped)?;
        if end > USER_END {
            return Err(Fault::Unmapped);
        }
        let mut cursor = address;
        while cursor < end {
            let page_end = (cursor / PAGE_SIZE + 1) * PAGE_SIZE;
            let piece_end = page_end.min(end);
            let frame = self.user_frame(cursor, access)?;
            let done = (cursor - address) as usize;
            copy(frame, (cursor % PAGE_SIZE) as usize, done..done + (piece_end - cursor) as usize);
            cursor = piece_end;
        }
        Ok(())
    }
}

/// An XSAVE image in user memory as `AddressSpace::load_fpu_from` shows it to
/// its check: a word at a time, from the image to the end of its page, read
/// through the direct map while the address space is locked.
#[derive(Clone, Copy)]
pub struct ImageWords {
    image: *const u8,
    in_page: usize,
}

impl ImageWords {
    /// The word (little-endian) at byte `offset` of the image, a multiple of 8; 0
    /// for any other offset or one past the image's page.
    #[inline(always)]
    pub fn at(self, offset: usize) -> u64 {
        // The legacy region and header lie in the page (`load_fpu_from` saw the
        // whole image there, at least MIN_AREA_SIZE bytes): the check's fixed
        // offsets there need no test of the page's end.
        let in_page = offset < fpu::MIN_AREA_SIZE || offset.checked_add(8).is_some_and(|end| end <= self.in_page);
        if !in_page || offset % 8 != 0 {
            return 0;
        }
        // SAFETY: the 8 bytes at `offset` lie in the page, reached through the
        // direct map and kept mapped by the lock `load_fpu_from` holds, 8-aligned
        // as the image is; user memory may change under the read, hence volatile.
        unsafe { self.image.add(offset).cast::<u64>().read_volatile() }
    }
}

/// N words of user memory (or of a kernel copy of them) as
/// `AddressSpace::read_words_with` shows them to its decoder, for as long as it
/// runs: with the address space borrowed, the page stays mapped.
#[derive(Clone, Copy)]
pub struct UserWords<'a, const N: usize> {
    words: *const u8,
    memory: core::marker::PhantomData<&'a [u64; N]>,
}

/// A word at any alignment: what a volatile read of one unaligned word takes.
#[repr(C, packed)]
struct UnalignedWord(u64);

impl<const N: usize> UserWords<'_, N> {
    /// Word `index` (little-endian); 0 past the N words.
    #[inline(always)]
    pub fn at(self, index: usize) -> u64 {
        if index >= N {
            return 0;
        }
        // SAFETY: the N words at `words` are readable while the borrow lasts (see
        // the type); the packed type takes any alignment. User memory may change
        // under the read (another thread), hence volatile: each read is one load.
        unsafe { core::ptr::read_volatile(self.words.add(index * 8).cast::<UnalignedWord>()).0 }
    }
}

/// The kernel's OOM policy for the running process: true if memory is on its way
/// back, false if the process is to die. (Registered, rather than carried by each
/// `UserBuffer`, so that a buffer costs what its address space pointer does.)
static RECLAIM_FOR_RUNNING: spin::Once<fn() -> bool> = spin::Once::new();

/// Registers the kernel's OOM policy for the running process, which
/// `UserBuffer::reclaimed_memory` runs. Once, at boot, before any program runs.
pub fn register_reclaim_for_running(reclaim: fn() -> bool) {
    RECLAIM_FOR_RUNNING.call_once(|| reclaim);
}

/// A buffer in a process's memory, checked to lie in user space, that a file
/// copies straight to or from (`fs::File::read_to`, `write_from`): each copy
/// locks the address space for its own length only, so the file may block
/// between copies. A copy that finds no frame for a page stops there, as at a bad
/// page: the file holds its own lock, under which the OOM policy (which gives the
/// CPU away) cannot run; the file drops it and asks `reclaimed_memory` whether to
/// go on.
pub struct UserBuffer<'a> {
    memory: &'a OrderedMutex<Option<AddressSpace>>,
    address: u64,
    length: usize,
}

impl<'a> UserBuffer<'a> {
    /// The `length` bytes at `address` (in user space) of `memory`, the running
    /// process's address space.
    pub fn new(memory: &'a OrderedMutex<Option<AddressSpace>>, address: u64, length: usize) -> UserBuffer<'a> {
        UserBuffer { memory, address, length }
    }

    /// Its length in bytes.
    pub fn length(&self) -> usize {
        self.length
    }

    /// Copies `bytes` in from byte `offset` on (within the length), page by page
    /// until one refuses: how many it took.
    #[inline(always)]
    pub fn write_prefix(&self, offset: usize, bytes: &[u8]) -> usize {
        self.space(|memory| memory.store(self.address + offset as u64, bytes).0)
    }

    /// Zeros `length` of its bytes from `offset` on (within the length), page by
    /// page until one refuses: how many it zeroed.
    #[inline(always)]
    pub fn clear_prefix(&self, offset: usize, length: usize) -> usize {
        self.space(|memory| memory.clear(self.address + offset as u64, length))
    }

    /// Zeros the whole buffer when that is quick: a few bytes (SHORT_COPY) in the
    /// page whose translation is cached, the address space free. None otherwise,
    /// untouched: the caller takes `clear_prefix`'s path. No call on the way, so a
    /// caller whose other paths are out of line saves no registers (lmbench's
    /// "null read" is a one-byte read of /dev/zero).
    #[inline(always)]
    pub fn clear_short(&self) -> Option<usize> {
        if self.length > SHORT_COPY {
            return None;
        }
        // A held lock sends the caller the long way, which waits for it: the
        // wait's loop makes a call.
        let mut memory = self.memory.try_lock()?;
        let target = memory.as_mut()?.cached_bytes(self.address, self.length, Access::Write)?;
        // SAFETY: `cached_bytes` gave the direct map's view of that much user
        // memory, writable; at most SHORT_COPY bytes.
        unsafe { clear_bytes(target, self.length) };
        Some(self.length)
    }

    /// Copies into `out` its bytes from `offset` on (within the length), page by
    /// page until one refuses: how many it gave (a partly bad buffer gives the
    /// good part, as Linux's copies do).
    #[inline(always)]
    pub fn read_prefix(&self, offset: usize, out: &mut [u8]) -> usize {
        self.space(|memory| memory.fetch(self.address + offset as u64, out).0)
    }

    /// Right after a copy that stopped short: whether it was for want of a frame
    /// and the OOM policy has freed memory since (as for the program's own fault),
    /// so the copy may go on from where it stopped. Run with no lock held. (Another
    /// thread's copy in between could change the answer: this copy then ends short,
    /// or the policy runs once more while memory is short anyway.)
    pub fn reclaimed_memory(&self) -> bool {
        let wanted = self.space(|memory| core::mem::take(&mut memory.wanted_frame));
        wanted && RECLAIM_FOR_RUNNING.get().is_some_and(|reclaim| reclaim())
    }

    /// Runs `f` on the address space, locked.
    #[inline(always)]
    fn space<T>(&self, f: impl FnOnce(&mut AddressSpace) -> T) -> T {
        f(self.memory.lock().as_mut().expect("a running process has an address space"))
    }
}

/// Copies `length` bytes from `from` to `to`: a few bytes with one `rep movsb`
/// in place (a pipe's one-byte copy: memcpy's call and its two string
/// instructions cost more than the copy), up to WIDE_COPY with memcpy (8 bytes a
/// step), more with `frame::copy_wide`.
///
/// # Safety
///
/// `from` and `to` are valid for `length` bytes (kernel memory, or user memory
/// through the direct map) and do not overlap.
#[inline(always)]
unsafe fn copy_bytes(from: *const u8, to: *mut u8, length: usize) {
    if length <= SHORT_COPY {
        // SAFETY: the caller's promise; DF is clear in the kernel.
        unsafe {
            core::arch::asm!("rep movsb", inout("rcx") length => _, inout("rsi") from => _, inout("rdi") to => _,
                             options(nostack, preserves_flags));
        }
    } else if length < WIDE_COPY {
        // SAFETY: the caller's promise.
        unsafe { core::ptr::copy_nonoverlapping(from, to, length) }
    } else {
        // SAFETY: the caller's promise.
        unsafe { frame::copy_wide(from, to, length) }
    }
}

/// Writes `length` zero bytes (at most a page) at `to`, as `copy_bytes` copies:
/// a few with one `rep stosb`, up to WIDE_COPY with memset, more with
/// `frame::copy_wide` from a page of zeros.
///
/// # Safety
///
/// `to` is valid for `length` bytes (kernel memory, or user memory through the
/// direct map), and `length` is at most PAGE_SIZE.
#[inline(always)]
unsafe fn clear_bytes(to: *mut u8, length: usize) {
    if length <= SHORT_COPY {
        // SAFETY: the caller's promise; DF is clear in the kernel.
        unsafe {
            core::arch::asm!("rep stosb", inout("rcx") length => _, inout("rdi") to => _, in("al") 0u8,
                             options(nostack, preserves_flags));
        }
    } else if length < WIDE_COPY {
        // SAFETY: the caller's promise.
        unsafe { core::ptr::write_bytes(to, 0, length) }
    } else {
        // SAFETY: the caller's promise; ZEROS holds a page, apart from user memory.
        unsafe { frame::copy_wide(ZEROS.as_ptr(), to, length) }
    }
}

/// What long clears copy from.
static ZEROS: [u8; PAGE_SIZE as usize] = [0; PAGE_SIZE as usize];

/// Copies of at most this many bytes are one `rep movsb`, which takes a step a
/// byte: under `-icount` that beats memcpy's call up to about here.
const SHORT_COPY: usize = 8;

/// Copies at least this many bytes 128 at a time (see `frame::copy_wide`).
const WIDE_COPY: usize = 256;
