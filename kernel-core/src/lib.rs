//! Policy, not mechanism: everything here is safe `no_std` code that the kernel
//! links and the host unit-tests (ELF and cpio parsing, the initial user stack,
//! the kernel command line, syscall argument decoding, scheduling policies, the
//! event trace's format, the initrd's file tree and path resolution, the regions
//! of an address space).
//!
//! Every parser here faces hostile input (user memory, files in the initrd, the
//! command line), so no function panics on any input: reads are bounds-checked and
//! arithmetic is checked.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod abi;
pub mod acpi;
pub mod bootargs;
mod bytes;
pub mod clock;
pub mod cmdline;
pub mod copyout;
pub mod cpio;
pub mod elf;
pub mod file_pages;
pub mod heap_class;
pub mod hostio;
pub mod initstack;
pub mod klog;
pub mod loadavg;
pub mod numberset;
pub mod pids;
pub mod procfs;
pub mod range_holds;
pub mod record;
pub mod region;
pub mod sched;
#[cfg(test)]
mod test_support;
pub mod trace;
pub mod tree;
pub mod tty;
pub mod umip;
