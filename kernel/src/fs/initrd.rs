//! The file system: the read-only tree built at boot from the initrd (a newc cpio
//! archive the host CLI packs). The tree itself, and path resolution over it, are
//! policy in `kernel_core::tree` (unit-tested on the host); this module holds the
//! one tree of the running kernel. File contents stay where QEMU loaded the
//! archive, in memory the frame allocator never hands out.

use spin::Once;

use kernel_core::cpio::CpioError;
pub use kernel_core::tree::{Device, NodeId, NodeKind, Origin, Tree, PATH_MAX, ROOT};

static TREE: Once<Tree<'static>> = Once::new();

/// Builds the tree from the archive, once, at boot; returns how many archive
/// entries it holds.
pub fn init(archive: &'static [u8]) -> Result<usize, CpioError> {
    let (tree, files) = Tree::from_archive(archive)?;
    TREE.call_once(|| tree);
    Ok(files)
}

/// The tree built at boot.
pub fn tree() -> &'static Tree<'static> {
    TREE.get().expect("initrd::init ran at boot")
}
