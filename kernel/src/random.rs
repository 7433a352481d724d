//! Random bytes for programs (AT_RANDOM, getrandom): RDRAND when the CPU has it,
//! otherwise a SplitMix64 generator seeded from the boot seed and the TSC.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::x86_64::cpu;

static STATE: AtomicU64 = AtomicU64::new(0);

/// Seeds the fallback generator (the `seed=` kernel option).
pub fn seed(seed: u64) {
    STATE.store(seed ^ cpu::rdtsc(), Ordering::Relaxed);
}

fn next_fallback() -> u64 {
    let mut z = STATE.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fills `buffer` with random bytes.
pub fn fill(buffer: &mut [u8]) {
    for chunk in buffer.chunks_mut(8) {
        let value = cpu::rdrand().unwrap_or_else(next_fallback).to_le_bytes();
        chunk.copy_from_slice(&value[..chunk.len()]);
    }
}
