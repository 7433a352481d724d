//! The user's thread-local storage bases: FS (what arch_prctl(ARCH_SET_FS) sets and
//! every musl/glibc program uses for TLS) and GS. While the kernel runs, the user's
//! GS base sits in KERNEL_GS_BASE (swapgs exchanges it with the per-CPU pointer).

use x86_64::registers::model_specific::{FsBase, KernelGsBase};
use x86_64::VirtAddr;

/// Loads the next program's FS and GS bases (both checked canonical by arch_prctl).
pub fn set_user_tls(fs_base: u64, gs_base: u64) {
    FsBase::write(VirtAddr::new_truncate(fs_base));
    KernelGsBase::write(VirtAddr::new_truncate(gs_base));
}
