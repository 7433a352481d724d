//! `struct iovec`, the scatter/gather element of `readv` and `writev`.

use crate::bytes::Fields;

/// The most elements a `readv`/`writev` call may pass (Linux `UIO_MAXIOV`);
/// more is `EINVAL`.
pub const IOV_MAX: usize = 1024;

/// One user buffer: 16 bytes, `iov_base` then `iov_len`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Iovec {
    pub base: u64,
    pub len: u64,
}

impl Iovec {
    pub const SIZE: usize = 16;

    /// Reads one element as copied from user memory. The buffer it names is not
    /// checked here: the caller validates it like any other user pointer.
    pub fn from_bytes(bytes: [u8; Self::SIZE]) -> Self {
        let mut fields = Fields::new(&bytes);
        Self { base: fields.u64(), len: fields.u64() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_base_then_len() {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&0x7fff_0000_1000u64.to_le_bytes());
        bytes[8..].copy_from_slice(&42u64.to_le_bytes());
        assert_eq!(Iovec::from_bytes(bytes), Iovec { base: 0x7fff_0000_1000, len: 42 });
        assert_eq!(Iovec::from_bytes([0xff; 16]), Iovec { base: u64::MAX, len: u64::MAX });
    }
}
