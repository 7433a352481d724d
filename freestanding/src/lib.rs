//! Symbols that precompiled `core`/`alloc` expect from libc or libgcc, for the two
//! freestanding binaries: the kernel (target `x86_64-unknown-none`) and the Rust user
//! runtime (`x86_64-unknown-linux-gnu`). Shared here so neither keeps a copy.
//!
//! The memory functions are written with string instructions (`rep movsq`/`movsb`,
//! `rep stosq`/`stosb`) so LLVM cannot recognise a loop and turn it back into a call
//! to the very function it is in.
#![no_std]

use core::arch::asm;

/// # Safety
/// `dest` and `src` must be valid for `n` bytes and must not overlap.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees both ranges are valid and disjoint; DF is clear
    // by the ABI. Eight bytes per step, then the rest: a string instruction's
    // iterations each count under QEMU's -icount, so wide steps matter there.
    unsafe {
        asm!("rep movsq", "mov ecx, {tail:e}", "rep movsb",
             tail = in(reg) n % 8,
             inout("rcx") n / 8 => _, inout("rdi") dest => _, inout("rsi") src => _,
             options(nostack, preserves_flags));
    }
    dest
}

/// # Safety
/// `dest` and `src` must be valid for `n` bytes; they may overlap.
#[no_mangle]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if dest as usize <= src as usize || dest as usize - src as usize >= n {
        // dest is at or below src, or past its end: a forward copy never reads a byte
        // it wrote. (Vec::swap_remove of the last element moves it onto itself.)
        // SAFETY: as for memcpy, and the forward order is safe for this overlap.
        unsafe { memcpy(dest, src, n) }
    } else {
        // SAFETY: copy backwards with DF set, restoring DF before returning as the ABI
        // requires; the ranges are valid by the caller's guarantee (n > 0 here). As
        // memcpy, eight bytes per step: the top n % 8 bytes one at a time, then the
        // rest a word at a time, from the top down.
        unsafe {
            asm!("std", "rep movsb", "sub rsi, 7", "sub rdi, 7", "mov rcx, {words}", "rep movsq", "cld",
                 words = in(reg) n / 8,
                 inout("rcx") n % 8 => _, inout("rdi") dest.add(n - 1) => _,
                 inout("rsi") src.add(n - 1) => _, options(nostack));
        }
        dest
    }
}

/// # Safety
/// `dest` must be valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memset(dest: *mut u8, value: i32, n: usize) -> *mut u8 {
    let byte = value as u8 as u64;
    // SAFETY: the caller guarantees the range is valid; DF is clear by the ABI. As
    // memcpy: eight bytes per step (the byte repeated), then the rest.
    unsafe {
        asm!("rep stosq", "mov ecx, {tail:e}", "rep stosb",
             tail = in(reg) n % 8,
             inout("rcx") n / 8 => _, inout("rdi") dest => _, in("rax") byte * 0x0101_0101_0101_0101,
             options(nostack, preserves_flags));
    }
    dest
}

/// # Safety
/// `a` and `b` must be valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: i < n and both ranges are valid for n bytes.
        let (x, y) = unsafe { (a.add(i).read_volatile(), b.add(i).read_volatile()) };
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

/// # Safety
/// `a` and `b` must be valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}

/// # Safety
/// `s` must point to a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the string is NUL-terminated, so every byte up to the NUL is readable.
    while unsafe { s.add(n).read_volatile() } != 0 {
        n += 1;
    }
    n
}

/// Precompiled `alloc` names the unwinding personality even under panic=abort;
/// it is never called because nothing unwinds.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

/// Never reached under panic=abort; present only to satisfy the linker.
#[no_mangle]
pub extern "C" fn _Unwind_Resume() -> ! {
    loop {
        core::hint::spin_loop();
    }
}
