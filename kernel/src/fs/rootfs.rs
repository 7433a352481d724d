//! The root file system: a RAM file system (`kernel_core::tree`: the tree, path
//! resolution and every change to it are policy there, unit-tested on the host),
//! filled at boot from the initrd (a newc cpio archive the host CLI packs) and
//! writable from then on, as Linux's rootfs. Files that are only read keep their
//! bytes where QEMU loaded the archive; written ones hold frames (`FilePage`), at
//! most half of memory (as tmpfs's default size), so a full file system leaves
//! programs room to run: a write that finds no frame fails with ENOSPC.
//!
//! One lock guards the whole tree (a second CPU's lookups wait; the tree is small
//! and its operations short). Lock order: a process's `details` (cwd and program)
//! or its descriptor table (closing a file lets go of its node), then an open
//! file's position, then the tree, then the caller's address space (a regular
//! file's read and write copy between its pages and user memory under the tree
//! lock), then the frame allocator and the heap. The tree lock is never held
//! while blocking or running the OOM policy (a copy user memory refuses for want
//! of a frame is retried after unlocking), and a `Held` is never dropped under it
//! (its drop takes it).

use spin::{Mutex, MutexGuard, Once};

use crate::mm::frame::{self, FilePage};
use crate::process::Process;
use crate::time;
use kernel_core::abi::Timespec;
use kernel_core::cpio::CpioError;
pub use kernel_core::tree::{Device, Found, NodeId, NodeKind, Origin, Parent, CROSSES_MOUNT, PATH_MAX, ROOT};

pub type Tree = kernel_core::tree::Tree<'static, FilePage>;

static TREE: Once<Mutex<Tree>> = Once::new();

/// Builds the tree from the archive, once, at boot; returns how many archive
/// entries it holds.
pub fn init(archive: &'static [u8]) -> Result<usize, CpioError> {
    let (mut tree, files) = Tree::from_archive(archive, frame::total_count() / 2, now())?;
    HEAP_KEPT_FROM_NAMES.call_once(|| crate::mm::heap::usage().1 / 4);
    tree.set_spare_memory(heap_for_names);
    TREE.call_once(|| Mutex::new(tree));
    Ok(files)
}

/// A quarter of the kernel heap, which names never take: kept for processes,
/// pipes and descriptors, so that a program that fills the file system with names
/// leaves the others able to fork.
static HEAP_KEPT_FROM_NAMES: Once<usize> = Once::new();

/// What the tree's names, nodes and symlink targets, which live on the kernel
/// heap, may still take of it: what the heap can spare (`heap::spare`) less
/// `HEAP_KEPT_FROM_NAMES`.
fn heap_for_names() -> usize {
    crate::mm::heap::spare().saturating_sub(HEAP_KEPT_FROM_NAMES.get().copied().unwrap_or(usize::MAX))
}

/// The tree, locked.
pub fn lock() -> MutexGuard<'static, Tree> {
    TREE.get().expect("rootfs::init ran at boot").lock()
}

/// The wall clock, for timestamps.
pub fn now() -> Timespec {
    Timespec::from_nanos(time::realtime_ns())
}

/// Runs `f` on the locked tree with `process`'s lookup origin (its cwd), which
/// stays valid meanwhile: it is held by the process, and letting go of a hold
/// takes the tree lock.
pub fn with_origin<T>(process: &Process, f: impl FnOnce(&mut Tree, Origin) -> T) -> T {
    let details = process.group.details.lock();
    let mut tree = lock();
    let origin = Origin { start: details.cwd.id() };
    drop(details);
    f(&mut tree, origin)
}

/// A hold on a node (a process's cwd or program, an open file): the node lives,
/// named or not, as long as this does.
#[derive(Debug)]
pub struct Held(NodeId);

impl Held {
    /// Holds `id` of the locked `tree`.
    pub fn new(tree: &mut Tree, id: NodeId) -> Held {
        tree.hold(id);
        Held(id)
    }

    pub fn id(&self) -> NodeId {
        self.0
    }
}

impl Clone for Held {
    fn clone(&self) -> Held {
        Held::new(&mut lock(), self.0)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        lock().release(self.0);
    }
}

/// A process's program file (Linux's exe_file): held, and counted among the
/// processes executing it while this lives (fork clones it), so that it cannot
/// be opened for writing meanwhile (ETXTBSY). Both counts change under one
/// lock: the clone at fork and the drop at exit are on every process's path.
#[derive(Debug)]
pub struct Program(NodeId);

impl Program {
    /// Executes `id` of the locked `tree`: ETXTBSY while it is open for writing.
    pub fn new(tree: &mut Tree, id: NodeId) -> Result<Program, i64> {
        tree.begin_execution(id)?;
        tree.hold(id);
        Ok(Program(id))
    }

    pub fn id(&self) -> NodeId {
        self.0
    }

    /// A hold of its own on the file (/proc/PID/exe leads there).
    pub fn hold(&self) -> Held {
        Held::new(&mut lock(), self.0)
    }
}

impl Clone for Program {
    fn clone(&self) -> Program {
        let mut tree = lock();
        tree.begin_execution(self.0).expect("a file being executed has no writers");
        tree.hold(self.0);
        Program(self.0)
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let mut tree = lock();
        tree.end_execution(self.0);
        tree.release(self.0);
    }
}
