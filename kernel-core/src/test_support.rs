//! Helpers shared by the unit tests.

/// A deterministic xorshift64 generator: reproducible hostile inputs without a
/// dependency.
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator whose sequence is fixed by `seed` (0 is replaced: xorshift
    /// would stay at 0 forever).
    pub(crate) fn new(seed: u64) -> Self {
        Self(if seed == 0 { 0x9e37_79b9_7f4a_7c15 } else { seed })
    }

    /// The next pseudo-random value.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A pseudo-random value below `bound` (0 when `bound` is 0).
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.next_u64().checked_rem(bound).unwrap_or(0)
    }
}
