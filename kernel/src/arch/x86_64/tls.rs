//! The user's thread-local storage bases: FS (what arch_prctl(ARCH_SET_FS) sets and
//! every musl/glibc program uses for TLS) and GS. While the kernel runs, the user's
//! GS base sits in KERNEL_GS_BASE (swapgs exchanges it with the per-CPU pointer).

use x86_64::registers::model_specific::{FsBase, KernelGsBase};
use x86_64::VirtAddr;

use super::percpu::PerCpu;

/// Loads the next program's FS and GS bases (both checked canonical by arch_prctl).
/// An MSR write is skipped when the value is already there: after fork, parent and
/// child have the same TLS pointer, so a switch between them writes nothing.
pub fn set_user_tls(fs_base: u64, gs_base: u64) {
    let cpu = PerCpu::this();
    let (loaded_fs, loaded_gs) = cpu.user_tls();
    if fs_base != loaded_fs {
        FsBase::write(VirtAddr::new_truncate(fs_base));
    }
    if gs_base != loaded_gs {
        KernelGsBase::write(VirtAddr::new_truncate(gs_base));
    }
    cpu.set_user_tls(fs_base, gs_base);
}
