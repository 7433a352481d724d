//! How much of each Linux x86_64 system call timeshare implements. The kernel
//! checks at compile time that its dispatch table serves exactly the calls listed
//! here, so this list is the table's own description; `compatibility_table` turns
//! it into the docs page (docs/syscalls.md, kept current by a test).

use alloc::format;
use alloc::string::String;

use super::sysno::{self, *};

/// How completely a call behaves like Linux's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// As Linux, for everything a program can ask of it here.
    Full,
    /// Implemented, with the limits said.
    Partial(&'static str),
}

use Support::{Full, Partial};

const OPEN_LIMITS: &str =
    "O_TMPFILE is EOPNOTSUPP; O_CREAT through a dangling symlink is ENOENT (Linux creates the link's target); /proc/PID/fd/N (and /dev/stdin...) gives that descriptor's open file description itself (Linux opens the file anew, with a position of its own)";
const PROC_CWD: &str = "a directory below /proc (other than /proc itself) cannot be the working directory: ENOTDIR";
const MKNOD_TYPES: &str =
    "regular files and the character devices the kernel has (null, zero, full, random, urandom, tty, console); other devices, FIFOs and sockets are EPERM";
const NODELESS: &str = "on a pipe or the console the call succeeds but fstat does not show the change";
const WAIT4_USAGE: &str =
    "rusage counts CPU times, maximum resident size, minor faults and context switches of the child's threads and of the children it reaped (Linux's RUSAGE_BOTH); the other fields are 0";
const GETRUSAGE_USAGE: &str =
    "rusage counts CPU times, maximum resident size, minor faults and context switches (RUSAGE_SELF: every thread of the process, those that ended too; RUSAGE_THREAD: the caller's; RUSAGE_CHILDREN: the reaped children's, with what they reaped); the other fields are 0";
const LIMITS: &str =
    "limits are recorded and reported; enforced are the descriptor (1024) and process (RLIMIT_NPROC, from memory as Linux's, for root too) limits and the stack size";

/// Every implemented call, by number (strictly increasing).
pub const SUPPORT: &[(usize, Support)] = &[
    (READ, Full),
    (WRITE, Full),
    (OPEN, Partial(OPEN_LIMITS)),
    (CLOSE, Full),
    (STAT, Full),
    (FSTAT, Full),
    (LSTAT, Full),
    (POLL, Full),
    (LSEEK, Full),
    (MMAP, Partial("anonymous memory (private and shared), regular files and /dev/zero as Linux maps them, other files ENODEV; but a file's pages within its end are mapped when the mapping is made, so a page then past the end stays SIGBUS after the file grows, and a truncate leaves the pages already mapped in place until munmap (their frames are reference-counted, never freed while mapped); /proc/PID/maps names no file; mremap is ENOSYS")),
    (MPROTECT, Full),
    (MUNMAP, Full),
    (BRK, Full),
    (RT_SIGACTION, Full),
    (RT_SIGPROCMASK, Full),
    (RT_SIGRETURN, Full),
    (IOCTL, Partial("terminal (TCGETS, TCSETS*, TIOCGWINSZ: the host terminal's size, TIOCGPGRP, TIOCSPGRP) on a console descriptor whose host side is a terminal, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX; anything else (TIOCSWINSZ included) ENOTTY")),
    (PREAD64, Full),
    (PWRITE64, Full),
    (READV, Full),
    (WRITEV, Full),
    (ACCESS, Full),
    (PIPE, Full),
    (SELECT, Full),
    (SCHED_YIELD, Full),
    (MSYNC, Full),
    (DUP, Full),
    (DUP2, Full),
    (PAUSE, Full),
    (NANOSLEEP, Full),
    (GETPID, Full),
    (SENDFILE, Partial("the input must be a regular file (otherwise EINVAL, as Linux for such inputs)")),
    (CLONE, Partial("fork-like flags, and threads (CLONE_THREAD, which must share descriptors and cwd: CLONE_FILES and CLONE_FS, else EINVAL); a shared address space without CLONE_THREAD or CLONE_VFORK is ENOSYS; CLONE_VM|CLONE_VFORK runs as vfork below; clone3 is ENOSYS (the C libraries fall back to clone)")),
    (FORK, Full),
    (VFORK, Partial("the child gets a copy-on-write copy of the address space (not the parent's own), and the parent waits until it execs or exits")),
    (EXECVE, Full),
    (EXIT, Full),
    (WAIT4, Partial(WAIT4_USAGE)),
    (KILL, Full),
    (UNAME, Full),
    (FCNTL, Partial("F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL (O_APPEND, O_NONBLOCK); locks, owners, leases and pipe sizes are EINVAL")),
    (FSYNC, Full),
    (FDATASYNC, Full),
    (TRUNCATE, Full),
    (FTRUNCATE, Full),
    (GETCWD, Full),
    (CHDIR, Partial(PROC_CWD)),
    (FCHDIR, Partial(PROC_CWD)),
    (RENAME, Full),
    (MKDIR, Full),
    (RMDIR, Full),
    (CREAT, Full),
    (LINK, Full),
    (UNLINK, Full),
    (SYMLINK, Full),
    (READLINK, Full),
    (CHMOD, Full),
    (FCHMOD, Partial(NODELESS)),
    (CHOWN, Full),
    (FCHOWN, Partial(NODELESS)),
    (LCHOWN, Full),
    (UMASK, Full),
    (GETTIMEOFDAY, Full),
    (GETRLIMIT, Full),
    (GETRUSAGE, Partial(GETRUSAGE_USAGE)),
    (SYSINFO, Partial("no swap, shared or buffer memory (0)")),
    (TIMES, Full),
    (GETUID, Full),
    (SYSLOG, Partial("the most recent 64 KiB of the kernel log as Linux's records read (`<6>[    1.234567] text`); READ does not wait for new lines (it returns 0 when nothing is unread); the console level actions succeed and change nothing (the log never goes to the console)")),
    (GETGID, Full),
    (GETEUID, Full),
    (GETEGID, Full),
    (SETPGID, Full),
    (GETPPID, Full),
    (GETPGRP, Full),
    (SETSID, Full),
    (GETPGID, Full),
    (GETSID, Full),
    (RT_SIGPENDING, Full),
    (RT_SIGTIMEDWAIT, Full),
    (RT_SIGQUEUEINFO, Partial("real-time signals do not queue: one sent while the same one is pending is lost, as for standard signals; the handler gets the sender's header and the union's first 32 bytes, the rest zero (as Linux for every known layout; Linux's E2BIG for nonzero bytes there with an unknown code is not done)")),
    (RT_SIGSUSPEND, Full),
    (SIGALTSTACK, Full),
    (UTIME, Full),
    (MKNOD, Partial(MKNOD_TYPES)),
    (STATFS, Full),
    (FSTATFS, Partial("pipes and the console report the root file system")),
    (GETPRIORITY, Full),
    (SETPRIORITY, Full),
    (PRCTL, Partial("PR_SET_NAME and PR_GET_NAME; PR_SET_CHILD_SUBREAPER and PR_GET_CHILD_SUBREAPER (orphans among the descendants are re-parented to the nearest live subreaper, else to pid 1; not inherited by fork, as on Linux); other options are EINVAL")),
    (ARCH_PRCTL, Partial("ARCH_SET_FS, ARCH_GET_FS, ARCH_SET_GS, ARCH_GET_GS; other codes are EINVAL")),
    (SETRLIMIT, Partial(LIMITS)),
    (SYNC, Full),
    (GETTID, Full),
    (TKILL, Full),
    (TIME, Full),
    (FUTEX, Partial("WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, WAIT_BITSET, WAKE_BITSET, with FUTEX_PRIVATE_FLAG (keyed apart from shared operations, as Linux) and FUTEX_CLOCK_REALTIME; the priority-inheritance operations are ENOSYS; a wait with a timeout that a signal interrupts is EINTR, not restarted")),
    (SCHED_SETAFFINITY, Partial("the first 8 bytes of the mask count (up to 64 CPUs, as Linux's cpumask_size); EINVAL if it names no online CPU; the caller leaves a CPU it excludes at once, another thread at its next tick there (or its next wake)")),
    (SCHED_GETAFFINITY, Full),
    (GETDENTS64, Full),
    (SET_TID_ADDRESS, Full),
    (RESTART_SYSCALL, Full),
    (CLOCK_GETTIME, Full),
    (CLOCK_GETRES, Full),
    (CLOCK_NANOSLEEP, Full),
    (EXIT_GROUP, Full),
    (TGKILL, Full),
    (UTIMES, Full),
    (OPENAT, Partial(OPEN_LIMITS)),
    (MKDIRAT, Full),
    (MKNODAT, Partial(MKNOD_TYPES)),
    (FCHOWNAT, Full),
    (FUTIMESAT, Full),
    (NEWFSTATAT, Full),
    (UNLINKAT, Full),
    (RENAMEAT, Full),
    (LINKAT, Full),
    (SYMLINKAT, Full),
    (READLINKAT, Full),
    (FCHMODAT, Full),
    (FACCESSAT, Full),
    (PSELECT6, Full),
    (PPOLL, Full),
    (SET_ROBUST_LIST, Full),
    (GET_ROBUST_LIST, Full),
    (UTIMENSAT, Partial(NODELESS)),
    (FALLOCATE, Partial("EOPNOTSUPP, as Linux's ramfs")),
    (DUP3, Full),
    (PIPE2, Full),
    (PRLIMIT64, Partial(LIMITS)),
    (SYNCFS, Full),
    (GETCPU, Full),
    (SCHED_SETATTR, Partial("SCHED_OTHER, SCHED_BATCH and SCHED_IDLE with sched_nice and sched_runtime (the slice, as Linux 6.12+; EEVDF's request size), SCHED_FLAG_RESET_ON_FORK, KEEP_POLICY and KEEP_PARAMS; SCHED_FIFO, SCHED_RR and SCHED_DEADLINE are EPERM (as for a process without CAP_SYS_NICE), utilization clamps EOPNOTSUPP (as a Linux without uclamp); SCHED_BATCH is scheduled as SCHED_OTHER, SCHED_IDLE with the weight of nice 19")),
    (SCHED_GETATTR, Full),
    (RENAMEAT2, Full),
    (GETRANDOM, Full),
    (FACCESSAT2, Full),
];

/// The calls the vDSO serves too: through the C library they make no system
/// call (clock_gettime's CPU-time clocks and bad ids excepted, which the vDSO
/// passes on).
pub const SERVED_BY_THE_VDSO: &[usize] = &[GETTIMEOFDAY, TIME, CLOCK_GETTIME, GETCPU];

/// How `number` is supported; None: not implemented (ENOSYS).
pub fn support(number: usize) -> Option<Support> {
    SUPPORT.iter().find(|&&(implemented, _)| implemented == number).map(|&(_, support)| support)
}

/// The highest number the table covers (Linux x86_64's last, today).
const LAST_NUMBER: usize = 470;

/// The compatibility table, as Markdown: every Linux x86_64 system call by number
/// and name, and whether timeshare implements it fully, partially (and what is
/// missing), or not at all (ENOSYS).
pub fn compatibility_table() -> String {
    let full = SUPPORT.iter().filter(|(_, support)| *support == Full).count();
    let mut page = String::from("# System call compatibility\n\n");
    page.push_str("Generated from the kernel's system call table (`kernel-core/src/abi/support.rs`, which the kernel's dispatch table is checked against at compile time). ");
    page.push_str("Regenerate with `TIMESHARE_UPDATE_DOCS=1 cargo test -p kernel-core compatibility`.\n\n");
    page.push_str(&format!(
        "{} calls implemented ({} fully, {} partially); every other number returns -ENOSYS.\n\n",
        SUPPORT.len(),
        full,
        SUPPORT.len() - full
    ));
    page.push_str("The vDSO (mapped in every process, as Linux's) serves gettimeofday, time, clock_gettime and getcpu without a system call when a program calls them through its C library; clock_gettime passes the CPU-time clocks and bad ids on to the system call.\n\n");
    page.push_str("| nr | name | status | what is missing |\n|---:|---|---|---|\n");
    for number in 0..=LAST_NUMBER {
        let Some(name) = sysno::name(number) else { continue };
        let (status, note) = match support(number) {
            Some(Full) if SERVED_BY_THE_VDSO.contains(&number) => ("full", "(also in the vDSO)"),
            Some(Full) => ("full", ""),
            Some(Partial(note)) => ("partial", note),
            None => ("absent", "ENOSYS"),
        };
        page.push_str(&format!("| {number} | {name} | {status} | {note} |\n"));
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_without_duplicates_and_names_real_calls() {
        for pair in SUPPORT.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for &(number, _) in SUPPORT {
            assert!(sysno::name(number).is_some(), "{number} is not a Linux x86_64 system call");
        }
    }

    #[test]
    fn compatibility_table_in_the_docs_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/syscalls.md");
        let generated = compatibility_table();
        if std::env::var_os("TIMESHARE_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &generated).expect("write docs/syscalls.md");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/syscalls.md is out of date: run `TIMESHARE_UPDATE_DOCS=1 cargo test -p kernel-core compatibility`"
        );
    }
}
