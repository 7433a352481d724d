//! Files and descriptors. An open file is an `Arc<dyn File>`: the console, a pipe
//! end, a file or directory of the initrd. A process's descriptor table maps small
//! integers to them; fork copies the table (sharing the open files, as Linux does),
//! exec keeps it minus the close-on-exec ones.

pub mod console;
pub mod initrd;
pub mod pipe;

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::mm::address_space::AddressSpace;
use kernel_core::abi::errno::{EBADF, EINVAL, EMFILE, ENOTTY, ESPIPE};

/// Descriptors a process may have open (RLIMIT_NOFILE).
pub const MAX_DESCRIPTORS: usize = 1024;

/// An open file.
pub trait File: Send + Sync {
    /// Reads into `buffer`, blocking until at least one byte or end of file (0).
    fn read(&self, _buffer: &mut [u8]) -> Result<usize, i64> {
        Err(EBADF)
    }

    /// Writes from `bytes`, blocking until at least one byte is taken.
    fn write(&self, _bytes: &[u8]) -> Result<usize, i64> {
        Err(EBADF)
    }

    /// A device-specific request; `memory` is the caller's, for the argument.
    fn ioctl(&self, _request: u64, _argument: u64, _memory: &mut AddressSpace) -> Result<u64, i64> {
        Err(ENOTTY)
    }

    /// Moves the file position (lseek); only regular files and directories have one.
    fn seek(&self, _position: SeekFrom) -> Result<u64, i64> {
        Err(ESPIPE)
    }

    /// Called when the last descriptor for this open file is closed.
    fn release(&self) {}
}

/// An lseek request.
pub enum SeekFrom {
    Start(u64),
    Current(i64),
    End(i64),
}

/// One descriptor: the open file and its close-on-exec flag.
#[derive(Clone)]
pub struct Descriptor {
    pub file: Arc<OpenFile>,
    pub close_on_exec: bool,
}

/// An open file description, shared by dup'ed and inherited descriptors. Its
/// `release` runs when the last of them closes (pipes use it to signal EOF).
pub struct OpenFile {
    pub file: Arc<dyn File>,
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        self.file.release();
    }
}

/// A process's descriptor table.
#[derive(Clone, Default)]
pub struct FdTable {
    slots: Vec<Option<Descriptor>>,
}

impl FdTable {
    /// The descriptor `fd`.
    pub fn get(&self, fd: u64) -> Result<Arc<dyn File>, i64> {
        let descriptor = usize::try_from(fd).ok().and_then(|fd| self.slots.get(fd)).and_then(Option::as_ref).ok_or(EBADF)?;
        Ok(descriptor.file.file.clone())
    }

    fn descriptor(&self, fd: u64) -> Result<&Descriptor, i64> {
        usize::try_from(fd).ok().and_then(|fd| self.slots.get(fd)).and_then(Option::as_ref).ok_or(EBADF)
    }

    /// Installs `file` at the lowest free descriptor number ≥ `minimum`.
    pub fn insert_from(&mut self, minimum: usize, file: Arc<OpenFile>, close_on_exec: bool) -> Result<u64, i64> {
        if minimum >= MAX_DESCRIPTORS {
            return Err(EINVAL);
        }
        let fd = (minimum..MAX_DESCRIPTORS)
            .find(|&fd| self.slots.get(fd).is_none_or(Option::is_none))
            .ok_or(EMFILE)?;
        if fd >= self.slots.len() {
            self.slots.resize(fd + 1, None);
        }
        self.slots[fd] = Some(Descriptor { file, close_on_exec });
        Ok(fd as u64)
    }

    /// Installs a new open file at the lowest free number.
    pub fn insert(&mut self, file: Arc<dyn File>, close_on_exec: bool) -> Result<u64, i64> {
        self.insert_from(0, Arc::new(OpenFile { file }), close_on_exec)
    }

    /// Closes `fd`.
    pub fn close(&mut self, fd: u64) -> Result<(), i64> {
        self.descriptor(fd)?;
        self.slots[fd as usize] = None;
        Ok(())
    }

    /// dup: a new descriptor (≥ `minimum`) for the same open file.
    pub fn duplicate(&mut self, fd: u64, minimum: usize, close_on_exec: bool) -> Result<u64, i64> {
        let file = self.descriptor(fd)?.file.clone();
        self.insert_from(minimum, file, close_on_exec)
    }

    /// dup2/dup3: makes `new` refer to the open file of `old`, closing `new` first.
    pub fn duplicate_to(&mut self, old: u64, new: u64, close_on_exec: bool) -> Result<u64, i64> {
        let file = self.descriptor(old)?.file.clone();
        let new_index = usize::try_from(new).ok().filter(|&fd| fd < MAX_DESCRIPTORS).ok_or(EBADF)?;
        if new_index >= self.slots.len() {
            self.slots.resize(new_index + 1, None);
        }
        self.slots[new_index] = Some(Descriptor { file, close_on_exec });
        Ok(new)
    }

    /// The close-on-exec flag of `fd`.
    pub fn close_on_exec(&self, fd: u64) -> Result<bool, i64> {
        Ok(self.descriptor(fd)?.close_on_exec)
    }

    pub fn set_close_on_exec(&mut self, fd: u64, value: bool) -> Result<(), i64> {
        self.descriptor(fd)?;
        if let Some(Some(descriptor)) = self.slots.get_mut(fd as usize) {
            descriptor.close_on_exec = value;
        }
        Ok(())
    }

    /// Closes every descriptor marked close-on-exec (execve).
    pub fn close_on_exec_all(&mut self) {
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|descriptor| descriptor.close_on_exec) {
                *slot = None;
            }
        }
    }

    /// Closes everything (exit).
    pub fn close_all(&mut self) {
        self.slots.clear();
    }
}
