//! `clone` flags, decoded into the process-creation shapes the kernel models.

use super::errno::EINVAL;

/// The low byte of the flags: the signal the parent gets when the child exits.
pub const CSIGNAL: u32 = 0xff;
pub const CLONE_VM: u32 = 0x100;
pub const CLONE_FS: u32 = 0x200;
pub const CLONE_FILES: u32 = 0x400;
pub const CLONE_SIGHAND: u32 = 0x800;
pub const CLONE_PIDFD: u32 = 0x1000;
pub const CLONE_PTRACE: u32 = 0x2000;
pub const CLONE_VFORK: u32 = 0x4000;
pub const CLONE_PARENT: u32 = 0x8000;
pub const CLONE_THREAD: u32 = 0x1_0000;
pub const CLONE_NEWNS: u32 = 0x2_0000;
pub const CLONE_SYSVSEM: u32 = 0x4_0000;
pub const CLONE_SETTLS: u32 = 0x8_0000;
pub const CLONE_PARENT_SETTID: u32 = 0x10_0000;
pub const CLONE_CHILD_CLEARTID: u32 = 0x20_0000;
pub const CLONE_DETACHED: u32 = 0x40_0000;
pub const CLONE_UNTRACED: u32 = 0x80_0000;
pub const CLONE_CHILD_SETTID: u32 = 0x100_0000;
pub const CLONE_NEWCGROUP: u32 = 0x200_0000;
pub const CLONE_NEWUTS: u32 = 0x400_0000;
pub const CLONE_NEWIPC: u32 = 0x800_0000;
pub const CLONE_NEWUSER: u32 = 0x1000_0000;
pub const CLONE_NEWPID: u32 = 0x2000_0000;
pub const CLONE_NEWNET: u32 = 0x4000_0000;
pub const CLONE_IO: u32 = 0x8000_0000;

/// Flags that ask for sharing or isolation beyond the fork-like subset. Flags that
/// only matter to features timeshare lacks (ptrace, System V semaphores, I/O
/// priorities) and the ignored `CLONE_DETACHED` are not in this set.
const BEYOND_FORK: u32 = CLONE_FS
    | CLONE_FILES
    | CLONE_SIGHAND
    | CLONE_PIDFD
    | CLONE_PARENT
    | CLONE_NEWNS
    | CLONE_NEWCGROUP
    | CLONE_NEWUTS
    | CLONE_NEWIPC
    | CLONE_NEWUSER
    | CLONE_NEWPID
    | CLONE_NEWNET;

/// What a thread shares with the other threads of its process beyond memory and
/// signal handlers (`CLONE_VM`, `CLONE_SIGHAND`, which `CLONE_THREAD` requires).
pub const THREAD_SHARING: u32 = CLONE_FS | CLONE_FILES;

/// What kind of task a `clone` creates, by what the child shares with its parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloneKind {
    /// A new process with a copy of the parent's memory (`fork`).
    Fork,
    /// A new process sharing the parent's memory while the parent sleeps until
    /// the child calls `execve` or exits (`CLONE_VM | CLONE_VFORK`: `vfork`,
    /// `posix_spawn`).
    Vfork,
    /// A thread in the parent's thread group (`CLONE_THREAD`).
    Thread,
    /// A new process sharing the parent's memory with both running
    /// (`CLONE_VM` without `CLONE_VFORK` or `CLONE_THREAD`).
    SharedMemory,
}

/// A decoded `clone` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloneRequest {
    pub kind: CloneKind,
    /// Sent to the parent when the child exits; 0, or a number that is no signal
    /// (above 64, which clone takes as Linux's does), sends nothing. Always 0 for
    /// threads, which Linux never reports by signal.
    pub exit_signal: u8,
    /// Set the child's FS base (TLS) from the `tls` argument.
    pub set_tls: bool,
    /// Store the child's tid at `parent_tid` in the parent's memory.
    pub parent_settid: bool,
    /// Store the child's tid at `child_tid` in the child's memory.
    pub child_settid: bool,
    /// On child exit, zero `child_tid` in its memory and futex-wake it.
    pub child_cleartid: bool,
    /// Requested flags outside the fork-like subset (sharing files, namespaces,
    /// pidfds, ...), plus `CLONE_VFORK` when it comes without `CLONE_VM`. For a
    /// thread, the sharing threads do (`THREAD_SHARING`) is in the subset, and
    /// what it lacks of it is reported instead: timeshare's threads always share
    /// their descriptors and cwd, as every C library's threads do. A kernel
    /// that does not implement them must refuse a request where this is nonzero
    /// rather than quietly not share.
    pub unsupported_flags: u32,
}

/// Decodes the `flags` argument of `clone(2)` (only its low 32 bits count, as in
/// Linux). Returns `EINVAL` for the combinations Linux's `copy_process` rejects
/// (`CLONE_SIGHAND` without `CLONE_VM`, `CLONE_THREAD` without `CLONE_SIGHAND`,
/// `CLONE_FS` with `CLONE_NEWNS` or `CLONE_NEWUSER`, a thread in new user or pid
/// namespaces, `CLONE_PIDFD` with `CLONE_THREAD`/`CLONE_DETACHED` or (sharing its
/// pointer in `clone(2)`) `CLONE_PARENT_SETTID`). Any exit signal byte is taken,
/// as Linux's `clone` takes it (only `clone3` checks it).
pub fn decode_clone(flags: u64) -> Result<CloneRequest, i64> {
    let flags = super::uint_arg(flags);
    let has = |flag: u32| flags & flag == flag;
    let rejected = has(CLONE_NEWNS | CLONE_FS)
        || has(CLONE_NEWUSER | CLONE_FS)
        || (has(CLONE_THREAD) && !has(CLONE_SIGHAND))
        || (has(CLONE_SIGHAND) && !has(CLONE_VM))
        || (has(CLONE_THREAD) && flags & (CLONE_NEWUSER | CLONE_NEWPID) != 0)
        || (has(CLONE_PIDFD) && flags & (CLONE_THREAD | CLONE_DETACHED) != 0)
        || has(CLONE_PIDFD | CLONE_PARENT_SETTID);
    let exit_signal = (flags & CSIGNAL) as u8;
    if rejected {
        return Err(EINVAL);
    }
    let kind = if has(CLONE_THREAD) {
        CloneKind::Thread
    } else if has(CLONE_VM | CLONE_VFORK) {
        CloneKind::Vfork
    } else if has(CLONE_VM) {
        CloneKind::SharedMemory
    } else {
        CloneKind::Fork
    };
    let vfork_without_shared_memory = if kind == CloneKind::Fork { flags & CLONE_VFORK } else { 0 };
    let unsupported_flags = if kind == CloneKind::Thread {
        (flags & BEYOND_FORK & !(THREAD_SHARING | CLONE_SIGHAND)) | (THREAD_SHARING & !flags)
    } else {
        (flags & BEYOND_FORK) | vfork_without_shared_memory
    };
    Ok(CloneRequest {
        kind,
        exit_signal: if kind == CloneKind::Thread { 0 } else { exit_signal },
        set_tls: has(CLONE_SETTLS),
        parent_settid: has(CLONE_PARENT_SETTID),
        child_settid: has(CLONE_CHILD_SETTID),
        child_cleartid: has(CLONE_CHILD_CLEARTID),
        unsupported_flags,
    })
}

#[cfg(test)]
mod tests {
    use super::super::signal::SIGCHLD;
    use super::*;
    use crate::test_support::Rng;

    const CHLD: u32 = SIGCHLD as u32;

    fn decode(flags: u32) -> Result<CloneRequest, i64> {
        decode_clone(u64::from(flags))
    }

    #[test]
    fn plain_fork_as_libc_issues_it() {
        // glibc's fork(): CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD.
        let request = decode(CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CHLD).unwrap();
        assert_eq!(
            request,
            CloneRequest {
                kind: CloneKind::Fork,
                exit_signal: SIGCHLD,
                set_tls: false,
                parent_settid: false,
                child_settid: true,
                child_cleartid: true,
                unsupported_flags: 0,
            }
        );
        assert_eq!(decode(CHLD).unwrap().kind, CloneKind::Fork);
        assert_eq!(decode(0).unwrap().exit_signal, 0);
    }

    #[test]
    fn vfork_and_posix_spawn() {
        let request = decode(CLONE_VM | CLONE_VFORK | CHLD).unwrap();
        assert_eq!(request.kind, CloneKind::Vfork);
        assert_eq!(request.unsupported_flags, 0);
    }

    #[test]
    fn vfork_without_shared_memory_is_flagged_unsupported() {
        let request = decode(CLONE_VFORK | CHLD).unwrap();
        assert_eq!(request.kind, CloneKind::Fork);
        assert_eq!(request.unsupported_flags, CLONE_VFORK);
    }

    #[test]
    fn threads_as_libc_creates_them() {
        // glibc's pthread_create flags.
        let flags = CLONE_VM
            | CLONE_FS
            | CLONE_FILES
            | CLONE_SIGHAND
            | CLONE_THREAD
            | CLONE_SYSVSEM
            | CLONE_SETTLS
            | CLONE_PARENT_SETTID
            | CLONE_CHILD_CLEARTID;
        let request = decode(flags).unwrap();
        assert_eq!(request.kind, CloneKind::Thread);
        assert!(request.set_tls && request.parent_settid && request.child_cleartid);
        assert_eq!(request.exit_signal, 0);
        assert_eq!(request.unsupported_flags, 0);
        // musl adds the legacy CLONE_DETACHED, which is ignored.
        assert_eq!(decode(flags | CLONE_DETACHED).unwrap().unsupported_flags, 0);
    }

    #[test]
    fn threads_that_would_not_share_descriptors_or_cwd_are_unsupported() {
        let thread = CLONE_VM | CLONE_SIGHAND | CLONE_THREAD;
        assert_eq!(decode(thread | CLONE_FS).unwrap().unsupported_flags, CLONE_FILES);
        assert_eq!(decode(thread | CLONE_FILES).unwrap().unsupported_flags, CLONE_FS);
        assert_eq!(decode(thread | THREAD_SHARING | CLONE_NEWUTS).unwrap().unsupported_flags, CLONE_NEWUTS);
    }

    #[test]
    fn shared_memory_process() {
        assert_eq!(decode(CLONE_VM | CHLD).unwrap().kind, CloneKind::SharedMemory);
    }

    #[test]
    fn combinations_linux_rejects() {
        for flags in [
            CLONE_SIGHAND,
            CLONE_THREAD | CLONE_VM,
            CLONE_THREAD,
            CLONE_NEWNS | CLONE_FS,
            CLONE_NEWUSER | CLONE_FS,
            CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWPID,
            CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWUSER,
            CLONE_PIDFD | CLONE_DETACHED,
            CLONE_PIDFD | CLONE_PARENT_SETTID,
            CLONE_PIDFD | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM,
        ] {
            assert_eq!(decode(flags | CHLD), Err(EINVAL), "flags {flags:#x}");
        }
    }

    #[test]
    fn any_exit_signal_byte_is_taken_as_linux_clone_takes_it() {
        assert_eq!(decode(64).unwrap().exit_signal, 64);
        assert_eq!(decode(65).unwrap().exit_signal, 65);
        assert_eq!(decode(0xff).unwrap().exit_signal, 0xff);
    }

    #[test]
    fn namespaces_and_sharing_are_reported_unsupported() {
        let request = decode(CLONE_NEWPID | CLONE_FILES | CLONE_PTRACE | CLONE_IO | CHLD).unwrap();
        assert_eq!(request.kind, CloneKind::Fork);
        assert_eq!(request.unsupported_flags, CLONE_NEWPID | CLONE_FILES);
    }

    #[test]
    fn upper_half_of_the_register_is_ignored() {
        assert_eq!(decode_clone(0xffff_ffff_0000_0000 | u64::from(CHLD)), decode(CHLD));
    }

    #[test]
    fn no_flag_combination_panics() {
        let mut rng = Rng::new(1);
        for _ in 0..100_000 {
            let _ = decode_clone(rng.next_u64());
        }
    }
}
