//! Little-endian field packing and unpacking without indexing, so layout code
//! cannot panic whatever the input.

/// Concatenates `parts` into an `N`-byte array: bytes beyond `N` are dropped and a
/// short total leaves zero padding. Layout tests pin the total to `N` exactly.
/// Inlined: the parts' lengths are then constants, and the copies become plain
/// stores (without SSE, in the kernel, each would otherwise be a memcpy call).
#[inline(always)]
pub(crate) fn pack<const N: usize>(parts: &[&[u8]]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut at = 0;
    for part in parts {
        // Whole slices at a time: these layouts are built on signal delivery and
        // stat, where a byte-by-byte copy showed up in the instruction counts.
        let take = part.len().min(N - at);
        out[at..at + take].copy_from_slice(&part[..take]);
        at += take;
    }
    out
}

/// Reads consecutive fixed-width fields from the front of a byte slice.
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    /// Starts reading at the first byte of `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// The next `W` bytes, or zeros once the slice is exhausted. Callers size the
    /// slice before reading (a fixed array or a bounds-checked `get`), so the zero
    /// fallback only ever hides a layout bug that the unit tests catch.
    pub(crate) fn take<const W: usize>(&mut self) -> [u8; W] {
        match self.rest.split_first_chunk::<W>() {
            Some((head, tail)) => {
                self.rest = tail;
                *head
            }
            None => {
                self.rest = &[];
                [0; W]
            }
        }
    }

    /// The next little-endian `u16`.
    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }

    /// The next little-endian `u32`.
    pub(crate) fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }

    /// The next little-endian `u64`.
    pub(crate) fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }

    /// The next little-endian `i64`.
    pub(crate) fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_concatenates_truncates_and_pads() {
        assert_eq!(pack::<4>(&[&[1, 2], &[3, 4]]), [1, 2, 3, 4]);
        assert_eq!(pack::<3>(&[&[1, 2], &[3, 4]]), [1, 2, 3]);
        assert_eq!(pack::<5>(&[&[1], &[2]]), [1, 2, 0, 0, 0]);
        assert_eq!(pack::<2>(&[]), [0, 0]);
    }

    #[test]
    fn fields_read_little_endian_in_order() {
        let bytes = [1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0xff];
        let mut fields = Fields::new(&bytes);
        assert_eq!(fields.u16(), 1);
        assert_eq!(fields.u32(), 2);
        assert_eq!(fields.u64(), 3);
        assert_eq!(fields.take::<1>(), [0xff]);
    }

    #[test]
    fn fields_past_the_end_read_zeros() {
        let mut fields = Fields::new(&[7, 7, 7]);
        assert_eq!(fields.u32(), 0);
        assert_eq!(fields.take::<1>(), [0]);
        assert_eq!(Fields::new(&[0xff; 8]).i64(), -1);
    }
}
