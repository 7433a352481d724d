//! `rt`: the smallest runtime that lets a `#![no_std] #![no_main]` Rust program run as a
//! static Linux x86_64 executable, on Linux or on timeshare.
//!
//! What a program gets:
//! - an entry point: `_start` (in [`start`]) reads argc/argv/envp from the initial stack
//!   and calls the function named in [`entry!`]; its return value becomes the exit status;
//! - [`syscall`]: raw `syscall0..syscall6` and typed wrappers, by Linux x86_64 number;
//! - [`print!`], [`println!`], [`eprint!`], [`eprintln!`] writing to fd 1 and fd 2;
//! - a panic handler (message to fd 2, exit status 101);
//! - a heap, so `alloc::vec::Vec`, `String` and `format!` work.
//!
//! A program looks like this:
//! ```text
//! #![no_std]
//! #![no_main]
//! rt::entry!(main);
//! fn main(args: rt::Args) -> i32 { rt::println!("{} args", args.len()); 0 }
//! ```
#![no_std]

// Precompiled core/alloc call memcpy, memset, ... and name rust_eh_personality; the
// `freestanding` crate defines them. Naming it here links it into every program.
extern crate freestanding;

mod heap;
pub mod io;
pub mod start;
pub mod syscall;

pub use io::Lossy;
pub use start::Args;

/// Print the panic message to fd 2 and end the process with status 101, as Rust's
/// standard library does for a panic on the main thread.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    eprintln!("{info}");
    syscall::exit_group(101)
}
