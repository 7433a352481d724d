/* hostile_clone: clone's corners and RLIMIT_NOFILE, compared line by line with the
 * Linux host. Each case runs in a child of its own (so its children and signals are
 * its own) and prints lines that name no pid.
 *
 *   hostile_clone same all|CASE...     the cases, then "still running"
 *   hostile_clone limits all|CASE...   timeshare's own bounds, only as pid 1
 *
 * clone: CLONE_PARENT_SETTID at a bad address (Linux still creates the child and
 * returns its pid); the exit signal of the flags' low byte (SIGCHLD, another signal,
 * none; only SIGCHLD children are waited for without __WALL/__WCLONE); CLONE_SETTLS
 * outside user space (EPERM, no child). sigtimedwait for SIGCHLD, which is ignored
 * by default. RLIMIT_NOFILE: raised to 4096 and used, the hard limit's bound. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003

static const int named[] = { SIGCHLD, SIGUSR1, 0 };

static long raw_clone(unsigned long flags, void *ptid, unsigned long tls)
{
    return syscall(SYS_clone, flags, 0, ptid, 0, tls);
}

/* "a child" for a pid, else the errno's name. */
static const char *clone_result(long pid) { return pid > 0 ? "a child" : errno_name(errno); }

/* waitpid(-1, options) in words: "the child, exited N", or the errno's name. */
static const char *wait_any(int options, long child)
{
    static char text[96];
    int status;
    pid_t pid = waitpid(-1, &status, options);
    if (pid < 0)
        return errno_name(errno);
    snprintf(text, sizeof text, "%s, %s", pid == child ? "the child" : "another process", describe(status));
    return text;
}

/* A child that exits with `code` at once. */
static long clone_exiting(unsigned long flags, void *ptid, unsigned long tls, int code)
{
    fflush(stdout);
    long pid = raw_clone(flags, ptid, tls);
    if (pid == 0)
        _exit(code);
    return pid;
}

static void c_parent_settid_bad_address(void)
{
    void *unmapped = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(unmapped, 4096);
    struct {
        const char *name;
        void *ptid;
    } bad[] = { { "NULL", NULL }, { "unmapped", unmapped }, { "kernel", (void *)0xffff800000000000UL } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long pid = clone_exiting(SIGCHLD | CLONE_PARENT_SETTID, bad[i].ptid, 0, 7);
        printf("clone with CLONE_PARENT_SETTID at a %s address: %s\n", bad[i].name, clone_result(pid));
        printf("  waitpid: %s\n", wait_any(0, pid));
        printf("  waitpid again: %s\n", wait_any(0, pid));
    }
    pid_t tid = 0;
    long pid = clone_exiting(SIGCHLD | CLONE_PARENT_SETTID, &tid, 0, 7);
    printf("clone with CLONE_PARENT_SETTID at a good address: %s, the tid written: %s\n", clone_result(pid),
           yes(tid == pid));
    printf("  waitpid: %s\n", wait_any(0, pid));
}

/* Blocks SIGCHLD and SIGUSR1, so that whether the exit sent them is seen however
 * late they come (sigtimedwait). */
static void block_exit_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
}

/* The signal a child's exit sent, waiting up to `ms`: "SIGNAME, CLD_EXITED N from
 * the child" or "none". */
static const char *exit_signal_seen(long child, long ms)
{
    static char text[96];
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGUSR1);
    struct timespec timeout = { ms / 1000, (ms % 1000) * 1000000L };
    siginfo_t info;
    int signal = sigtimedwait(&set, &info, &timeout);
    if (signal < 0)
        return errno == EAGAIN ? "none" : errno_name(errno);
    snprintf(text, sizeof text, "%s, %s %d from the child: %s", signal_name_in(signal, named, "another signal"),
             info.si_code == CLD_EXITED ? "CLD_EXITED" : "another code", info.si_status, yes(info.si_pid == child));
    return text;
}

static void exit_signal_case(const char *what, unsigned long exit_signal)
{
    block_exit_signals();
    long pid = clone_exiting(exit_signal, NULL, 0, 9);
    printf("clone with exit signal %s: %s\n", what, clone_result(pid));
    printf("  waitpid(-1, 0): %s\n", wait_any(0, pid));
    printf("  waitpid(pid, 0): %s\n", errno_name(waitpid(pid, NULL, 0) < 0 ? errno : 0));
    printf("  waitpid(-1, __WCLONE): %s\n", wait_any(__WCLONE, pid));
    printf("  the signal its exit sent: %s\n", exit_signal_seen(pid, exit_signal == SIGUSR1 ? 5000 : 200));
    pid = clone_exiting(exit_signal, NULL, 0, 9);
    printf("  another such child, waitpid(-1, __WALL): %s\n", wait_any(__WALL, pid));
    exit_signal_seen(pid, exit_signal == SIGUSR1 ? 5000 : 0);
}

static void c_exit_signal_none(void) { exit_signal_case("0", 0); }
static void c_exit_signal_sigusr1(void) { exit_signal_case("SIGUSR1", SIGUSR1); }
static void c_exit_signal_not_a_signal(void) { exit_signal_case("65", 65); }
static void c_exit_signal_255(void) { exit_signal_case("255", 255); }

static void c_exit_signal_sigchld(void)
{
    block_exit_signals();
    long pid = clone_exiting(SIGCHLD, NULL, 0, 9);
    printf("clone with exit signal SIGCHLD: %s\n", clone_result(pid));
    printf("  waitpid(-1, __WCLONE): %s\n", wait_any(__WCLONE | WNOHANG, pid));
    printf("  waitpid(-1, 0): %s\n", wait_any(0, pid));
    printf("  the signal its exit sent: %s\n", exit_signal_seen(pid, 5000));
}

/* clone(CLONE_SETTLS, tls) by the SYSCALL instruction, the child reading its FS base
 * back the same way (its libc's TLS is gone, and so is its stack protector's
 * canary): it exits 0 if the base is `tls`, 1 if not. */
__attribute__((noinline, no_stack_protector)) static long clone_with_tls(unsigned long tls)
{
    long r;
    register unsigned long r10 __asm__("r10") = 0;
    register unsigned long r8 __asm__("r8") = tls;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"((long)SYS_clone), "D"((unsigned long)(SIGCHLD | CLONE_SETTLS)), "S"(0UL), "d"(0UL),
                       "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    if (r == 0) {
        unsigned long base = 0;
        long got;
        __asm__ volatile("syscall"
                         : "=a"(got)
                         : "a"((long)SYS_arch_prctl), "D"((long)ARCH_GET_FS), "S"(&base)
                         : "rcx", "r11", "memory");
        __asm__ volatile("syscall" : : "a"((long)SYS_exit), "D"((long)(base == tls ? 0 : 1)) : "rcx", "r11", "memory");
        __builtin_unreachable();
    }
    if (r < 0) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

static void c_settls_outside_user_space(void)
{
    struct {
        const char *name;
        unsigned long tls;
    } bad[] = {
        { "1<<47", 1UL << 47 },
        { "the top page of user space", 0x7ffffffff000UL },
        { "the kernel", 0xffff800000000000UL },
        { "-1", ~0UL },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fflush(stdout);
        long pid = clone_with_tls(bad[i].tls);
        printf("clone with CLONE_SETTLS at %s: %s\n", bad[i].name, clone_result(pid));
        printf("  then waitpid(-1, __WALL): %s\n", wait_any(__WALL, pid));
        printf("arch_prctl(ARCH_SET_FS, %s): %s\n", bad[i].name,
               errno_name(syscall(SYS_arch_prctl, ARCH_SET_FS, bad[i].tls) < 0 ? errno : 0));
    }
    static char area[4096];
    fflush(stdout);
    long pid = clone_with_tls((unsigned long)area);
    printf("clone with CLONE_SETTLS at a user address: %s\n", clone_result(pid));
    printf("  the child, checking its FS base is that: %s\n", wait_any(0, pid));
}

/* sigtimedwait for SIGCHLD, whose default action ignores it: the exit of a child
 * that outlives the start of the wait is still taken. */
static void c_sigtimedwait_for_sigchld(void)
{
    block_exit_signals();
    fflush(stdout);
    pid_t child = fork_or_die();
    if (child == 0) {
        sleep_ms(100);
        _exit(4);
    }
    printf("sigtimedwait for SIGCHLD (ignored by default): %s\n", exit_signal_seen(child, 5000));
    waitpid(child, NULL, 0);
}

/* Descriptors are ints; the highest of a run of dups, and how the run ended. */
static int dup_until_refused(int *highest)
{
    int fd;
    while ((fd = dup(0)) >= 0)
        *highest = fd;
    return errno;
}

static void c_rlimit_nofile_raised(void)
{
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    /* Only 0, 1 and 2 open, as under timeshare (a host's test runner may leave more). */
    for (rlim_t fd = 3; fd < limit.rlim_cur; fd++)
        close((int)fd);
    printf("hard limit at least 4096: %s\n", yes(limit.rlim_max >= 4096));
    limit.rlim_cur = 4096;
    printf("setrlimit RLIMIT_NOFILE soft 4096: %s\n", errno_name(setrlimit(RLIMIT_NOFILE, &limit) ? errno : 0));
    int first = dup(0), highest = first, fd = first;
    for (int i = 1; i < 3000 && fd >= 0; i++)
        if ((fd = dup(0)) >= 0)
            highest = fd;
    printf("3000 dups: %s\n", fd < 0 ? errno_name(errno) : highest - first == 2999 ? "consecutive descriptors" : "gaps");
    int refusal = dup_until_refused(&highest);
    printf("dup until refused: %s, the highest descriptor %d\n", errno_name(refusal), highest);
    printf("dup2 onto 4096: %s\n", errno_name(dup2(0, 4096) < 0 ? errno : 0));
    printf("dup3 onto 4096: %s\n", errno_name(syscall(SYS_dup3, 0, 4096, 0) < 0 ? errno : 0));
    printf("dup2 onto 4095 (open): %s\n", dup2(0, 4095) == 4095 ? "4095" : errno_name(errno));
    printf("fcntl F_DUPFD from 4096: %s\n", errno_name(fcntl(0, F_DUPFD, 4096) < 0 ? errno : 0));
    printf("fcntl F_DUPFD from 100, all taken: %s\n", errno_name(fcntl(0, F_DUPFD, 100) < 0 ? errno : 0));
    int p[2];
    printf("pipe: %s\n", errno_name(pipe(p) < 0 ? errno : 0));
    printf("open: %s\n", errno_name(open("/", O_RDONLY) < 0 ? errno : 0));
    printf("poll of 4097 entries: %s\n", errno_name(poll(NULL, 4097, 0) < 0 ? errno : 0));
    for (fd = 1000; fd < 2000; fd++)
        close(fd);
    printf("after closing 1000..1999, dup: %d\n", dup(0));
    printf("fcntl F_DUPFD from 1500: %d\n", fcntl(0, F_DUPFD, 1500));
    printf("then dup: %d\n", dup(0));
    fflush(stdout);
    pid_t child = fork_or_die();
    if (child == 0)
        _exit(fcntl(4095, F_GETFD) == 0 && fcntl(1999, F_GETFD) < 0 ? 0 : 1);
    int status;
    waitpid(child, &status, 0);
    printf("a fork child has 4095 and not 1999: %s\n", describe(status));
    limit.rlim_cur = 100;
    printf("soft limit lowered to 100: %s\n", errno_name(setrlimit(RLIMIT_NOFILE, &limit) ? errno : 0));
    printf("  dup: %s\n", errno_name(dup(0) < 0 ? errno : 0));
    printf("  descriptor 4095 still open: %s\n", yes(fcntl(4095, F_GETFD) == 0));
    printf("  dup2 onto 100: %s\n", errno_name(dup2(0, 100) < 0 ? errno : 0));
    limit.rlim_cur = limit.rlim_max = RLIM_INFINITY;
    printf("hard limit RLIM_INFINITY: %s\n", errno_name(setrlimit(RLIMIT_NOFILE, &limit) ? errno : 0));
    limit.rlim_cur = 100;
    limit.rlim_max = (1 << 20) + 1;
    printf("hard limit 1<<20 + 1: %s\n", errno_name(setrlimit(RLIMIT_NOFILE, &limit) ? errno : 0));
}

/* timeshare only (the host's test runner may not raise its hard limit): the hard
 * limit up to nr_open, and a process that uses it all is refused before the
 * kernel heap runs short. */
static void c_rlimit_nofile_to_nr_open(void)
{
    struct rlimit limit = { 1 << 20, 1 << 20 };
    printf("setrlimit RLIMIT_NOFILE 1<<20: %s\n", errno_name(setrlimit(RLIMIT_NOFILE, &limit) ? errno : 0));
    fflush(stdout);
    pid_t child = fork_or_die();
    if (child == 0) {
        int highest = -1;
        int refusal = dup_until_refused(&highest);
        _exit(refusal == EMFILE ? highest == (1 << 20) - 1 : refusal == ENFILE ? highest >= 1 << 16 : 0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("a child dups until refused: EMFILE at 1<<20, or ENFILE past 1<<16: %s\n",
           yes(WIFEXITED(status) && WEXITSTATUS(status) == 1));
    int p[2];
    printf("then a pipe: %s\n", errno_name(pipe(p) < 0 ? errno : 0));
    child = fork_or_die();
    if (child == 0)
        _exit(3);
    waitpid(child, &status, 0);
    printf("then a fork: %s\n", describe(status));
}

static const struct grouped_case cases[] = {
    { "same", "parent-settid", c_parent_settid_bad_address },
    { "same", "exit-signal-sigchld", c_exit_signal_sigchld },
    { "same", "exit-signal-none", c_exit_signal_none },
    { "same", "exit-signal-sigusr1", c_exit_signal_sigusr1 },
    { "same", "exit-signal-65", c_exit_signal_not_a_signal },
    { "same", "exit-signal-255", c_exit_signal_255 },
    { "same", "settls", c_settls_outside_user_space },
    { "same", "sigtimedwait-sigchld", c_sigtimedwait_for_sigchld },
    { "same", "rlimit-nofile", c_rlimit_nofile_raised },
    { "limits", "rlimit-nofile-nr-open", c_rlimit_nofile_to_nr_open },
};
#define CASES (sizeof cases / sizeof cases[0])

int main(int argc, char **argv)
{
    return run_grouped_cases(cases, CASES, argc, argv, "hostile_clone", describe);
}
