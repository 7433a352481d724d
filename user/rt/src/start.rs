//! Process entry: from the kernel's initial stack to the program's `main`.
//!
//! Linux (and timeshare) start a program at `_start` with every register except rsp
//! meaningless and rsp pointing at this layout, lowest address first:
//! ```text
//! argc | argv[0] .. argv[argc-1] | NULL | envp[0] .. | NULL | auxv pairs .. | AT_NULL
//! ```

use core::ffi::CStr;

core::arch::global_asm!(
    ".globl _start",
    ".type _start, @function",
    "_start:",
    // A zero frame pointer marks the outermost frame for debuggers.
    "    xor ebp, ebp",
    // First argument: the initial stack pointer, which points at argc.
    "    mov rdi, rsp",
    // The ABI wants rsp 16-byte aligned at a call; the kernel promises that too, but
    // aligning costs one instruction.
    "    and rsp, -16",
    "    call {start}",
    // rt_start never returns.
    "    ud2",
    start = sym rt_start,
);

unsafe extern "Rust" {
    /// The program's main function, defined by [`entry!`](crate::entry).
    safe fn __rt_main(args: Args) -> i32;
}

/// Called by `_start` with the initial stack pointer: build [`Args`], run the
/// program's main, and end the process with its return value as the exit status.
///
/// # Safety
/// `sp` must be the initial stack pointer the kernel gave the process.
unsafe extern "C" fn rt_start(sp: *const usize) -> ! {
    // SAFETY: the kernel lays out argc, then argc argv pointers and a NULL, then the
    // environment pointers, all readable; see the module comment.
    let args = unsafe {
        let argc = *sp;
        let argv = sp.add(1) as *const *const u8;
        Args { argc, argv, envp: argv.add(argc + 1) }
    };
    crate::syscall::exit_group(__rt_main(args))
}

/// Declare the program's main function: `rt::entry!(main)` where
/// `fn main(args: rt::Args) -> i32`. The returned value is the exit status.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        fn __rt_main(args: $crate::Args) -> i32 {
            $main(args)
        }
    };
}

/// The program's command-line arguments and environment, as the kernel passed them.
/// Items are byte strings without their NUL; they live as long as the process.
#[derive(Clone, Copy)]
pub struct Args {
    argc: usize,
    argv: *const *const u8,
    envp: *const *const u8,
}

impl Args {
    /// The number of arguments (argc), including the program name.
    pub fn len(&self) -> usize {
        self.argc
    }

    /// Whether there are no arguments at all (not even a program name).
    pub fn is_empty(&self) -> bool {
        self.argc == 0
    }

    /// Argument `i` (0 is the program name), or `None` if `i >= argc`.
    pub fn get(&self, i: usize) -> Option<&'static [u8]> {
        self.iter().nth(i)
    }

    /// Argument `i` as text, or `None` if it is missing or not UTF-8.
    pub fn get_str(&self, i: usize) -> Option<&'static str> {
        core::str::from_utf8(self.get(i)?).ok()
    }

    /// All arguments, in order.
    pub fn iter(&self) -> CStrs {
        CStrs(self.argv)
    }

    /// The environment strings (`NAME=value`), in order.
    pub fn env(&self) -> CStrs {
        CStrs(self.envp)
    }
}

/// An iterator over a NULL-terminated array of C strings that live for the whole
/// process (argv or envp), yielding each string's bytes without the NUL.
pub struct CStrs(*const *const u8);

impl Iterator for CStrs {
    type Item = &'static [u8];

    fn next(&mut self) -> Option<&'static [u8]> {
        // SAFETY: self.0 points into a NULL-terminated array from the initial stack and
        // never moves past the NULL; every non-NULL entry is a NUL-terminated string
        // that the process never frees or changes.
        unsafe {
            let s = *self.0;
            if s.is_null() {
                return None;
            }
            self.0 = self.0.add(1);
            Some(CStr::from_ptr(s.cast()).to_bytes())
        }
    }
}
