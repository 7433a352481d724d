//! The Linux x86_64 system call ABI: numbers, flag decoding and the byte layouts
//! of the structures the kernel copies to and from user memory, so that the same
//! static binary behaves on timeshare as on Linux.
//!
//! Conventions: decoders take the raw 64-bit register value and return
//! `Err(errno)` with a *positive* errno (`errno::EINVAL`); the syscall layer
//! negates it. Where Linux declares an argument `int`, only its low 32 bits count
//! (as in Linux's syscall wrappers), whatever the upper half of the register holds.

/// Declares numbered constants and their `name` lookup from ONE list, so the
/// constants and the names cannot drift apart. Each row is `CONST = number` (the
/// name is the constant's spelling) or `CONST = number => "name"`. Tests get the
/// rows as `TABLE: &[(number, "CONST", "name")]`.
macro_rules! numbered_names {
    ($ty:ty; $($konst:ident = $value:literal $(=> $text:literal)?,)+) => {
        $(pub const $konst: $ty = $value;)+

        /// The name Linux gives `value`, or `None` if `value` names nothing here.
        pub fn name(value: $ty) -> Option<&'static str> {
            match value {
                $($value => Some(numbered_names!(@text $konst $($text)?)),)+
                _ => None,
            }
        }

        #[cfg(test)]
        const TABLE: &[($ty, &str, &str)] =
            &[$(($value, stringify!($konst), numbered_names!(@text $konst $($text)?)),)+];
    };
    (@text $konst:ident $text:literal) => { $text };
    (@text $konst:ident) => { stringify!($konst) };
}

mod clone;
pub mod errno;
mod fs;
pub mod futex;
mod io;
mod mmap;
mod poll;
mod resource;
pub mod sched_attr;
pub mod sigframe;
pub mod signal;
mod stat;
pub mod support;
pub mod sysno;
mod time;
mod tty;
mod uts;
pub mod wait;

pub use clone::*;
pub use fs::*;
pub use io::*;
pub use mmap::*;
pub use poll::*;
pub use resource::*;
pub use stat::*;
pub use time::*;
pub use tty::*;
pub use uts::*;

// `arch_prctl` codes: the FS base is how x86_64 programs find thread-local storage.
pub const ARCH_SET_GS: u64 = 0x1001;
pub const ARCH_SET_FS: u64 = 0x1002;
pub const ARCH_GET_FS: u64 = 0x1003;
pub const ARCH_GET_GS: u64 = 0x1004;

/// The low 32 bits of a register holding a C `int` argument, as a signed value.
/// The truncation is the ABI: the upper half of the register is not part of an
/// `int` argument.
pub fn int_arg(raw: u64) -> i32 {
    raw as u32 as i32
}

/// The low 32 bits of a register holding a C `unsigned int` argument.
fn uint_arg(raw: u64) -> u32 {
    raw as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_arguments_use_the_low_half_only() {
        assert_eq!(int_arg(0xffff_ffff_ffff_ff9c), -100);
        assert_eq!(int_arg(0x1234_5678_ffff_ff9c), -100);
        assert_eq!(int_arg(7), 7);
        assert_eq!(uint_arg(0xdead_beef_0000_0001), 1);
    }

    #[test]
    fn arch_prctl_codes_match_linux() {
        assert_eq!([ARCH_SET_GS, ARCH_SET_FS, ARCH_GET_FS, ARCH_GET_GS], [0x1001, 0x1002, 0x1003, 0x1004]);
    }
}
