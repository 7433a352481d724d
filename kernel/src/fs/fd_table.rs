//! A process's descriptor table: the small integers system calls name files by,
//! each an open file description (`OpenFile`) shared with dup'ed and inherited
//! descriptors, and its close-on-exec flag. The system calls look descriptors up
//! here (`get`, `get_path`); open, pipe, dup and fcntl add them, close and exec
//! remove them; fork copies the table.
//!
//! Lock order: the table (`ThreadGroup::files`) comes before every lock of
//! docs/locks.md's table: poll and select call `File::poll` under it, and a close
//! releases a file (a pipe end takes its pipe's lock) under it.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::OpenFile;
use kernel_core::abi::errno::{EBADF, EINVAL, EMFILE, ENFILE, ENOMEM};
use kernel_core::abi::NOFILE_DEFAULT;

/// The slot of descriptor `fd`: a descriptor is a C `int` (or `unsigned int`), so
/// only the low half of its register counts, as on Linux.
fn index(fd: u64) -> usize {
    fd as u32 as usize
}

/// A process's descriptor table. It grows as descriptors are opened, up to
/// RLIMIT_NOFILE and to what the kernel heap can spare.
pub struct FdTable {
    /// Each descriptor's open file (None: not open). A slot is one word, so a
    /// lookup is a load and a test (poll and select make one per descriptor).
    files: Vec<Option<Arc<OpenFile>>>,
    /// Each descriptor's close-on-exec flag.
    close_on_exec: FlagBits,
    /// RLIMIT_NOFILE: new descriptors are below this.
    limit: usize,
    /// Every slot below this is in use (Linux's next_fd): the search for a free
    /// one starts here, so opening descriptors one after another is not quadratic.
    lowest_free: usize,
}

impl Default for FdTable {
    fn default() -> FdTable {
        FdTable {
            files: Vec::new(),
            close_on_exec: FlagBits::default(),
            limit: NOFILE_DEFAULT.current as usize,
            lowest_free: 0,
        }
    }
}

/// One bit per descriptor: the first 64 in a word of the table itself, the rest
/// in words allocated only when a process opens more. A second allocation per
/// table (a `Vec<bool>` beside `files`) cost each fork of a 1000-process run ~8k
/// instructions in the buddy allocator the kernel heap then was, whose frees walked a
/// size class's free list.
#[derive(Default)]
struct FlagBits {
    low: u64,
    /// Word `i` holds descriptors 64 * (i + 1) to 64 * (i + 2) - 1.
    high: Vec<u64>,
}

impl FlagBits {
    fn get(&self, fd: usize) -> bool {
        let word = if fd < 64 { self.low } else { self.high.get(fd / 64 - 1).copied().unwrap_or(0) };
        word & (1 << (fd % 64)) != 0
    }

    /// Sets descriptor `fd`'s bit (its word must be there: `cover`).
    fn set(&mut self, fd: usize, value: bool) {
        let word = if fd < 64 { &mut self.low } else { &mut self.high[fd / 64 - 1] };
        if value {
            *word |= 1 << (fd % 64);
        } else {
            *word &= !(1 << (fd % 64));
        }
    }

    /// Makes room for the bits of descriptors below `slots`.
    fn cover(&mut self, slots: usize) -> Result<(), alloc::collections::TryReserveError> {
        let words = slots.saturating_sub(1) / 64;
        if words > self.high.len() {
            self.high.try_reserve_exact(words - self.high.len())?;
            self.high.resize(words, 0);
        }
        Ok(())
    }

    /// The bits of descriptors below `slots`, for a fork child.
    fn try_clone(&self, slots: usize) -> Result<FlagBits, alloc::collections::TryReserveError> {
        let mut copy = FlagBits { low: self.low, high: Vec::new() };
        copy.cover(slots)?;
        let words = copy.high.len();
        copy.high.copy_from_slice(&self.high[..words]);
        Ok(copy)
    }
}

/// What one descriptor and its open file may take of the kernel heap.
const DESCRIPTOR_HEAP_COST: usize = 512;

/// The heap a table of `slots` slots takes.
fn slots_size(slots: usize) -> usize {
    slots.saturating_mul(core::mem::size_of::<Option<Arc<OpenFile>>>()).saturating_add(slots / 8)
}

impl FdTable {
    /// A copy for a fork child, as far as the highest open descriptor (Linux's
    /// `dup_fd`); ENOMEM when the kernel heap cannot spare it.
    pub fn try_clone(&self) -> Result<FdTable, i64> {
        let used = self.files.iter().rposition(Option::is_some).map_or(0, |last| last + 1);
        if crate::mm::heap::spare() < slots_size(used) {
            return Err(ENOMEM);
        }
        let mut files = Vec::new();
        files.try_reserve_exact(used).map_err(|_| ENOMEM)?;
        let close_on_exec = self.close_on_exec.try_clone(used).map_err(|_| ENOMEM)?;
        files.extend_from_slice(&self.files[..used]);
        Ok(FdTable { files, close_on_exec, limit: self.limit, lowest_free: self.lowest_free.min(used) })
    }

    /// The descriptors a process may have (RLIMIT_NOFILE's soft limit): poll takes
    /// no more entries than this.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// One more than the highest descriptor the table has room for so far (never
    /// less than any open descriptor): select looks no further.
    pub fn size(&self) -> usize {
        self.files.len()
    }

    /// The open file of descriptor `fd`, for a call that uses the file (read,
    /// ioctl, poll...): EBADF for a closed descriptor and for an O_PATH one, which
    /// only names a file (Linux's `fdget`).
    pub fn get(&self, fd: u64) -> Result<Arc<OpenFile>, i64> {
        self.borrow(fd).cloned()
    }

    /// `get` without taking a reference: for a caller that uses the file under the
    /// table's lock (poll's scan), which a reference count's two atomic updates per
    /// descriptor would outweigh.
    pub fn borrow(&self, fd: u64) -> Result<&Arc<OpenFile>, i64> {
        let file = self.borrow_path(fd)?;
        if file.is_path_only() {
            return Err(EBADF);
        }
        Ok(file)
    }

    /// The open file of descriptor `fd`, O_PATH ones included, for the calls that
    /// only need to know which file it is (fstat, fchdir, a `*at` directory,
    /// fcntl; Linux's `fdget_raw`).
    pub fn get_path(&self, fd: u64) -> Result<Arc<OpenFile>, i64> {
        self.borrow_path(fd).cloned()
    }

    /// `get_path` without taking a reference (see `borrow`).
    pub fn borrow_path(&self, fd: u64) -> Result<&Arc<OpenFile>, i64> {
        self.files.get(index(fd)).and_then(Option::as_ref).ok_or(EBADF)
    }

    /// RLIMIT_NOFILE changed: new descriptors are below `limit` (those already
    /// open above it stay).
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = usize::try_from(limit).unwrap_or(usize::MAX);
    }

    /// Makes room for descriptor `fd` (below the limit): ENFILE when the kernel
    /// has no memory left for more open files (the system's file table is full),
    /// also when the table itself would have to grow beyond what the heap spares.
    fn make_room(&mut self, fd: usize) -> Result<(), i64> {
        let spare = crate::mm::heap::spare();
        if spare < DESCRIPTOR_HEAP_COST {
            return Err(ENFILE);
        }
        if fd < self.files.len() {
            return Ok(());
        }
        if fd >= self.files.capacity() {
            // Grown by doubling, as a Vec would, so that opening one after another
            // costs amortized constant time.
            let capacity = (fd + 1).max(self.files.capacity().saturating_mul(2)).min(self.limit);
            if spare < slots_size(capacity).saturating_add(DESCRIPTOR_HEAP_COST) {
                return Err(ENFILE);
            }
            self.files.try_reserve_exact(capacity - self.files.len()).map_err(|_| ENFILE)?;
        }
        self.close_on_exec.cover(fd + 1).map_err(|_| ENFILE)?;
        self.files.resize(fd + 1, None);
        Ok(())
    }

    /// Installs `file` at the lowest free descriptor number ≥ `minimum`: EINVAL if
    /// `minimum` is not below RLIMIT_NOFILE, EMFILE if every number from it up to
    /// the limit is taken, ENFILE when the kernel has no memory left for more open
    /// files (see `make_room`).
    pub fn insert_from(&mut self, minimum: usize, file: Arc<OpenFile>, close_on_exec: bool) -> Result<u64, i64> {
        if minimum >= self.limit {
            return Err(EINVAL);
        }
        let start = minimum.max(self.lowest_free);
        let fd = (start..self.limit).find(|&fd| self.files.get(fd).is_none_or(Option::is_none)).ok_or(EMFILE)?;
        self.make_room(fd)?;
        self.install(fd, file, close_on_exec);
        if start == self.lowest_free {
            self.lowest_free = fd + 1;
        }
        Ok(fd as u64)
    }

    /// Installs an open file at the lowest free number.
    pub fn insert(&mut self, file: Arc<OpenFile>, close_on_exec: bool) -> Result<u64, i64> {
        self.insert_from(0, file, close_on_exec)
    }

    /// Puts `file` in slot `fd` (which `make_room` made), closing what was there.
    fn install(&mut self, fd: usize, file: Arc<OpenFile>, close_on_exec: bool) {
        self.files[fd] = Some(file);
        self.close_on_exec.set(fd, close_on_exec);
    }

    /// Closes `fd`.
    pub fn close(&mut self, fd: u64) -> Result<(), i64> {
        self.borrow_path(fd)?;
        self.files[index(fd)] = None;
        self.lowest_free = self.lowest_free.min(index(fd));
        Ok(())
    }

    /// dup: a new descriptor (≥ `minimum`) for the same open file.
    pub fn duplicate(&mut self, fd: u64, minimum: usize, close_on_exec: bool) -> Result<u64, i64> {
        let file = self.borrow_path(fd)?.clone();
        self.insert_from(minimum, file, close_on_exec)
    }

    /// dup2/dup3: makes `new` refer to the open file of `old`, closing `new` first.
    pub fn duplicate_to(&mut self, old: u64, new: u64, close_on_exec: bool) -> Result<u64, i64> {
        let file = self.borrow_path(old)?.clone();
        let new_index = Some(index(new)).filter(|&fd| fd < self.limit).ok_or(EBADF)?;
        self.make_room(new_index)?;
        self.install(new_index, file, close_on_exec);
        Ok(new_index as u64)
    }

    /// The close-on-exec flag of `fd`.
    pub fn close_on_exec(&self, fd: u64) -> Result<bool, i64> {
        self.borrow_path(fd)?;
        Ok(self.close_on_exec.get(index(fd)))
    }

    /// Sets or clears the close-on-exec flag of `fd` (F_SETFD, FIOCLEX).
    pub fn set_close_on_exec(&mut self, fd: u64, value: bool) -> Result<(), i64> {
        self.borrow_path(fd)?;
        self.close_on_exec.set(index(fd), value);
        Ok(())
    }

    /// Closes every descriptor marked close-on-exec (execve).
    pub fn close_on_exec_all(&mut self) {
        for (fd, file) in self.files.iter_mut().enumerate() {
            if self.close_on_exec.get(fd) && file.take().is_some() {
                self.lowest_free = self.lowest_free.min(fd);
            }
        }
    }

    /// Closes everything (exit), and gives the table's memory back.
    pub fn close_all(&mut self) {
        self.files = Vec::new();
        self.close_on_exec = FlagBits::default();
        self.lowest_free = 0;
    }
}
