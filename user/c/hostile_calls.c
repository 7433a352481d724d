/* hostile_calls: system calls handed what no program should hand them. Each case
 * runs in a child of its own (so a case that wrongly kills its process is seen as
 * such, and the others still run) and prints one line; the output is the same on
 * Linux and on timeshare, byte for byte.
 *
 *   hostile_calls pointers   every implemented call that takes a pointer, with a
 *                            NULL, a kernel, an unmapped and a half-mapped one
 *                            (a buffer that runs off the end of its mapping): the
 *                            errno (EFAULT), or the count a partial copy gives
 *   hostile_calls sizes      huge lengths and counts, zero lengths
 *   hostile_calls fds        negative, closed, huge descriptors; the upper half of
 *                            a descriptor register (ignored: it is an int)
 *   hostile_calls numbers    unknown system call numbers (ENOSYS), and the upper
 *                            half of rax (ignored, as Linux does)
 *   hostile_calls CASE...    only those cases (by name)
 *   --exec-target=PATH       an executable file that is not a program (execve's
 *                            pointer cases need one: ENOEXEC unless they fail first)
 * Every line is "NAME: RESULT"; the last line is "still running". Exit status 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

#define KERNEL ((void *)0xffffffff80000000UL)

static char *page;     /* one mapped page; the page after it is unmapped */
static char *unmapped; /* The result of a raw call as text: the errno's name, or the value. */
static const char *result(long r)
{
    static char text[8][48];
    static int next;
    char *out = text[next++ % 8];
    if (r == -1)
        snprintf(out, 48, "%s", errno_name(errno));
    else
        snprintf(out, 48, "%ld", r);
    return out;
}

/* A pointer of each kind: the half-mapped one leaves `room` bytes before the end of
 * the mapping (what a struct of more than `room` bytes runs off). */
enum { P_NULL, P_KERNEL, P_UNMAPPED, P_HALF, KINDS };
static const char *const kind_names[] = { "null", "kernel", "unmapped", "half" };

static void *bad(int kind, size_t room)
{
    switch (kind) {
    case P_NULL: return NULL;
    case P_KERNEL: return KERNEL;
    case P_UNMAPPED: return unmapped;
    default: return page + 4096 - room;
    }
}

/* A half-mapped string: `text` (no NUL) ending exactly at the end of the mapping. */
static char *half_string(const char *text)
{
    size_t n = strlen(text);
    memcpy(page + 4096 - n, text, n);
    return page + 4096 - n;
}

typedef long (*Probe)(int kind);

static void probe(const char *name, Probe f)
{
    printf("%s:", name);
    for (int kind = 0; kind < KINDS; kind++) {
        errno = 0;
        long r = f(kind);
        printf(" %s=%s", kind_names[kind], result(r));
    }
    printf("\n");
}

/* ---- One probe per call (and argument) ---- */

static int pipe_with(const char *data, int fds[2])
{
    if (pipe(fds) != 0)
        return -1;
    if (data && write(fds[1], data, strlen(data)) < 0)
        return -1;
    return 0;
}

static void close2(int fds[2])
{
    close(fds[0]);
    close(fds[1]);
}

/* syscall(n, FD, a, b) where FD is end `end` of a new pipe that holds `data` (NULL:
 * nothing); the pipe is closed again, errno kept (the probe's result). */
static long on_pipe(const char *data, int end, long n, long a, long b)
{
    int p[2];
    pipe_with(data, p);
    long r = syscall(n, p[end], a, b);
    int e = errno;
    close2(p);
    errno = e;
    return r;
}

/* syscall(n, FD, a, b, c) where FD is open(path, flags); closed again, errno kept. */
static long on_file(const char *path, int flags, long n, long a, long b, long c)
{
    int fd = open(path, flags);
    long r = syscall(n, fd, a, b, c);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

static long p_read(int k) { return on_pipe("0123456789abcdef", 0, SYS_read, (long)bad(k, 8), 16); }
static long p_write(int k) { return on_pipe(NULL, 1, SYS_write, (long)bad(k, 8), 16); }
static long p_readv_array(int k) { return on_pipe("0123456789abcdef", 0, SYS_readv, (long)bad(k, 8), 1); }

static long p_readv_buffer(int k)
{
    struct iovec v = { bad(k, 8), 16 };
    return on_pipe("0123456789abcdef", 0, SYS_readv, (long)&v, 1);
}

static long p_writev_array(int k) { return on_pipe(NULL, 1, SYS_writev, (long)bad(k, 8), 1); }

static long p_writev_buffer(int k)
{
    struct iovec v[2] = { { "abc", 3 }, { bad(k, 8), 16 } };
    return on_pipe(NULL, 1, SYS_writev, (long)v, 2);
}

static long p_pread(int k) { return on_file("/proc/self/exe", O_RDONLY, SYS_pread64, (long)bad(k, 8), 16, 0); }

static long p_open(int k)
{
    void *path = k == P_HALF ? half_string("/de") : bad(k, 0);
    long r = syscall(SYS_open, path, O_RDONLY);
    if (r >= 0)
        close((int)r);
    return r;
}

static long p_openat(int k)
{
    void *path = k == P_HALF ? half_string("/de") : bad(k, 0);
    long r = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
    if (r >= 0)
        close((int)r);
    return r;
}

static long p_stat_path(int k)
{
    static char buf[256];
    return syscall(SYS_stat, k == P_HALF ? half_string("/") : bad(k, 0), buf);
}

static long p_stat_buffer(int k) { return syscall(SYS_stat, "/", bad(k, 64)); }
static long p_lstat_buffer(int k) { return syscall(SYS_lstat, "/", bad(k, 64)); }

static long p_fstat(int k) { return on_file("/dev/null", O_RDONLY, SYS_fstat, (long)bad(k, 64), 0, 0); }

static long p_newfstatat_path(int k)
{
    static char buf[256];
    return syscall(SYS_newfstatat, AT_FDCWD, k == P_HALF ? half_string("/") : bad(k, 0), buf, 0);
}

static long p_newfstatat_buffer(int k) { return syscall(SYS_newfstatat, AT_FDCWD, "/", bad(k, 64), 0); }

static long p_getdents64(int k) { return on_file("/", O_RDONLY | O_DIRECTORY, SYS_getdents64, (long)bad(k, 16), 4096, 0); }

static long p_readlink_path(int k)
{
    static char buf[64];
    return syscall(SYS_readlink, k == P_HALF ? half_string("/proc/self/ex") : bad(k, 0), buf, sizeof buf);
}

static long p_readlink_buffer(int k)
{
    /* The target of /dev/stdin would differ; /proc/self/exe is a link on both. A
     * half buffer of 4 bytes: the call fails or copies what fits. */
    return syscall(SYS_readlink, "/proc/self/exe", bad(k, 4), 64) < 0 ? -1 : 0;
}

static long p_getcwd(int k) { return syscall(SYS_getcwd, bad(k, 1), 4096) < 0 ? -1 : 0; }
static long p_uname(int k) { return syscall(SYS_uname, bad(k, 100)); }
static long p_clock_gettime(int k) { return syscall(SYS_clock_gettime, CLOCK_MONOTONIC, bad(k, 8)); }
static long p_clock_getres(int k) { return syscall(SYS_clock_getres, CLOCK_MONOTONIC, bad(k, 8)); }
static long p_gettimeofday(int k) { return syscall(SYS_gettimeofday, bad(k, 8), NULL); }
static long p_gettimeofday_zone(int k)
{
    struct timeval tv;
    return syscall(SYS_gettimeofday, &tv, bad(k, 4));
}
static long p_time(int k) { return syscall(SYS_time, bad(k, 4)) < 0 ? -1 : 0; }
static long p_nanosleep(int k) { return syscall(SYS_nanosleep, bad(k, 8), NULL); }
static long p_clock_nanosleep(int k)
{
    long r = syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, bad(k, 8), NULL);
    /* The raw call returns the error number itself. */
    if (r > 0) {
        errno = (int)r;
        return -1;
    }
    return r;
}

/* pipe (`n`: pipe, or pipe2 with `flags`) with a bad array: fails, and leaves no
 * descriptor behind (the next open gets the same lowest number as before): -2 if
 * it left one. */
static long pipe_leaves_nothing(long n, int k, long flags)
{
    int before = open("/dev/null", O_RDONLY);
    close(before);
    long r = syscall(n, bad(k, 4), flags);
    int e = errno;
    int after = open("/dev/null", O_RDONLY);
    close(after);
    errno = e;
    return r == -1 && after != before ? -2 : r;
}

static long p_pipe(int k) { return pipe_leaves_nothing(SYS_pipe, k, 0); }
static long p_pipe2(int k) { return pipe_leaves_nothing(SYS_pipe2, k, O_CLOEXEC); }

/* wait4 with a bad status pointer: the child is reaped all the same (a second wait4
 * finds nothing: ECHILD), as Linux does. */
static long p_wait4_status(int k)
{
    pid_t child = fork();
    if (child == 0)
        _exit(7);
    long r = syscall(SYS_wait4, child, bad(k, 2), 0, NULL);
    int e = errno;
    long again = syscall(SYS_wait4, child, NULL, WNOHANG, NULL);
    int again_errno = errno;
    if (r == -1 && !(again == -1 && again_errno == ECHILD))
        return -3;
    errno = e;
    return r == child ? 0 : r;
}

static long p_wait4_rusage(int k)
{
    pid_t child = fork();
    if (child == 0)
        _exit(7);
    long r = syscall(SYS_wait4, child, NULL, 0, bad(k, 64));
    return r == child ? 0 : r;
}

/* execve's target: an executable file that is not a program (given with
 * --exec-target), so that no execve here can succeed: ENOEXEC unless the arguments
 * fail first (Linux opens the file before it reads argv and envp). */
static const char *exec_target = "/nonexistent";

static long p_execve_path(int k)
{
    char *argv[] = { "x", NULL };
    return syscall(SYS_execve, k == P_HALF ? half_string("/bin/x") : bad(k, 0), argv, NULL);
}

static long p_execve_argv(int k)
{
    /* The half-mapped case: one valid pointer, then the array runs off the page.
     * A NULL argv is allowed (argc 0): ENOEXEC. */
    if (k == P_HALF) {
        char **argv = (char **)(page + 4096 - 8);
        argv[0] = "x";
        return syscall(SYS_execve, exec_target, argv, NULL);
    }
    return syscall(SYS_execve, exec_target, bad(k, 0), NULL);
}

static long p_execve_envp(int k)
{
    char *argv[] = { "x", NULL };
    if (k == P_HALF) {
        char **envp = (char **)(page + 4096 - 8);
        envp[0] = "A=b";
        return syscall(SYS_execve, exec_target, argv, envp);
    }
    return syscall(SYS_execve, exec_target, argv, bad(k, 0));
}

static long p_execve_string(int k)
{
    char *argv[] = { "x", k == P_HALF ? half_string("abc") : bad(k, 0), NULL };
    if (k == P_NULL)
        argv[1] = (char *)1; /* NULL would end the array */
    return syscall(SYS_execve, exec_target, argv, NULL);
}

static long p_sigaction_new(int k) { return syscall(SYS_rt_sigaction, SIGUSR1, bad(k, 8), NULL, 8); }
static long p_sigaction_old(int k) { return syscall(SYS_rt_sigaction, SIGUSR1, NULL, bad(k, 8), 8); }
static long p_sigprocmask_new(int k) { return syscall(SYS_rt_sigprocmask, SIG_BLOCK, bad(k, 4), NULL, 8); }
static long p_sigprocmask_old(int k) { return syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, bad(k, 4), 8); }
static long p_sigpending(int k) { return syscall(SYS_rt_sigpending, bad(k, 4), 8); }
static long p_sigsuspend(int k) { return syscall(SYS_rt_sigsuspend, bad(k, 4), 8); }
static long p_sigtimedwait(int k)
{
    struct timespec zero = { 0, 0 };
    return syscall(SYS_rt_sigtimedwait, bad(k, 4), NULL, &zero, 8);
}
static long p_sigtimedwait_timeout(int k)
{
    /* SIGUSR2 is pending (blocked), so a NULL timeout returns it at once. */
    uint64_t set = 1ULL << (SIGUSR2 - 1);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, NULL);
    kill(getpid(), SIGUSR2);
    return syscall(SYS_rt_sigtimedwait, &set, NULL, bad(k, 8), 8);
}
static long p_sigqueueinfo(int k) { return syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR2, bad(k, 8)); }
static long p_sigaltstack_new(int k) { return syscall(SYS_sigaltstack, bad(k, 8), NULL); }
static long p_sigaltstack_old(int k) { return syscall(SYS_sigaltstack, NULL, bad(k, 8)); }
static long p_poll(int k) { return syscall(SYS_poll, bad(k, 4), 1, 0); }
static long p_ppoll(int k)
{
    struct timespec zero = { 0, 0 };
    return syscall(SYS_ppoll, bad(k, 4), 1, &zero, NULL, 8);
}
static long p_ppoll_timeout(int k)
{
    struct pollfd p = { 0, POLLIN, 0 };
    return syscall(SYS_ppoll, &p, 1, bad(k, 8), NULL, 8);
}
static long p_select_set(int k)
{
    struct timeval zero = { 0, 0 };
    return syscall(SYS_select, 1, bad(k, 4), NULL, NULL, &zero);
}
static long p_select_timeout(int k)
{
    /* A readable descriptor, so that a NULL timeout (forever) returns at once. */
    int p[2];
    pipe_with("x", p);
    fd_set set;
    FD_ZERO(&set);
    FD_SET(p[0], &set);
    long r = syscall(SYS_select, p[0] + 1, &set, NULL, NULL, bad(k, 8));
    int e = errno;
    close2(p);
    errno = e;
    return r;
}
static long p_pselect6(int k)
{
    struct timespec zero = { 0, 0 };
    return syscall(SYS_pselect6, 1, bad(k, 4), NULL, NULL, &zero, NULL);
}
static long p_getrandom(int k) { return syscall(SYS_getrandom, bad(k, 8), 16, 0); }
static long p_prlimit_new(int k) { return syscall(SYS_prlimit64, 0, RLIMIT_CORE, bad(k, 8), NULL); }
static long p_prlimit_old(int k) { return syscall(SYS_prlimit64, 0, RLIMIT_CORE, NULL, bad(k, 8)); }
static long p_getrlimit(int k) { return syscall(SYS_getrlimit, RLIMIT_CORE, bad(k, 8)); }
static long p_setrlimit(int k) { return syscall(SYS_setrlimit, RLIMIT_CORE, bad(k, 8)); }
static long p_sysinfo(int k) { return syscall(SYS_sysinfo, bad(k, 64)); }
static long p_getrusage(int k) { return syscall(SYS_getrusage, RUSAGE_SELF, bad(k, 64)); }
static long p_times(int k) { return syscall(SYS_times, bad(k, 16)) == -1 ? -1 : 0; }
static long p_arch_prctl(int k) { return syscall(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, bad(k, 4)); }
static long p_ioctl_fionread(int k) { return on_pipe("abc", 0, SYS_ioctl, FIONREAD, (long)bad(k, 2)); }
static long p_ioctl_fionbio(int k) { return on_pipe(NULL, 0, SYS_ioctl, FIONBIO, (long)bad(k, 2)); }
/* Not a terminal (a pipe): ENOTTY before the pointer is looked at. */
static long p_ioctl_tcgets(int k) { return on_pipe(NULL, 0, SYS_ioctl, TCGETS, (long)bad(k, 8)); }
static long p_ioctl_tiocgwinsz(int k) { return on_pipe(NULL, 1, SYS_ioctl, TIOCGWINSZ, (long)bad(k, 4)); }
static long p_access(int k) { return syscall(SYS_access, k == P_HALF ? half_string("/") : bad(k, 0), F_OK); }
static long p_faccessat(int k) { return syscall(SYS_faccessat, AT_FDCWD, k == P_HALF ? half_string("/") : bad(k, 0), F_OK); }
static long p_chdir(int k) { return syscall(SYS_chdir, k == P_HALF ? half_string("/") : bad(k, 0)); }
static long p_getaffinity(int k) { return syscall(SYS_sched_getaffinity, 0, 8, bad(k, 4)); }
static long p_setaffinity(int k) { return syscall(SYS_sched_setaffinity, 0, 8, k == P_HALF ? bad(k, 0) : bad(k, 0)); }
static long p_prctl_set_name(int k) { return syscall(SYS_prctl, 15, k == P_HALF ? half_string("abc") : bad(k, 0)); }
static long p_prctl_get_name(int k) { return syscall(SYS_prctl, 16, bad(k, 8)); }
static long p_sendfile_offset(int k)
{
    int p[2];
    pipe_with(NULL, p);
    int fd = open("/proc/self/exe", O_RDONLY);
    long r = syscall(SYS_sendfile, p[1], fd, bad(k, 4), 16);
    int e = errno;
    close(fd);
    close2(p);
    errno = e;
    return r;
}

/* ---- Sizes ---- */

static void sizes(void)
{
    char buf[64];
    int p[2];

    pipe_with("abc", p);
    printf("read of SIZE_MAX bytes into a small buffer: %s\n", result(syscall(SYS_read, p[0], buf, (size_t)-1)));
    printf("write of SIZE_MAX bytes: %s\n", result(syscall(SYS_write, p[1], buf, (size_t)-1)));
    printf("write of 1<<47 bytes from NULL: %s\n", result(syscall(SYS_write, p[1], NULL, 1UL << 47)));
    printf("read of 0 bytes into NULL: %s\n", result(syscall(SYS_read, p[0], NULL, 0)));
    printf("write of 0 bytes from a kernel address: %s\n", result(syscall(SYS_write, p[1], KERNEL, 0)));
    struct iovec many[2] = { { buf, 8 }, { buf, 8 } };
    printf("readv with 1025 vectors: %s\n", result(syscall(SYS_readv, p[0], many, 1025)));
    printf("readv with -1 vectors: %s\n", result(syscall(SYS_readv, p[0], many, -1)));
    struct iovec overflow[2] = { { buf, (size_t)1 << 63 }, { buf, (size_t)1 << 63 } };
    printf("writev whose lengths add up past SSIZE_MAX: %s\n", result(syscall(SYS_writev, p[1], overflow, 2)));
    printf("readv with 0 vectors: %s\n", result(syscall(SYS_readv, p[0], NULL, 0)));
    close2(p);

    /* A page with nothing mapped after it: the copies stop at the end of the page. */
    memset(page, 'x', 4096);
    int zero = open("/dev/zero", O_RDONLY);
    /* Linux checks the whole range against the end of user space first (access_ok),
     * so a count reaching past it is EFAULT at once; one that stays below (the gap
     * under the stack is at least 128 MiB) copies up to the end of the page. */
    printf("read of 1<<26 bytes of /dev/zero into the last page: %s\n", result(syscall(SYS_read, zero, page, 1UL << 26)));
    printf("read of 1<<47 bytes of /dev/zero into the last page: %s\n", result(syscall(SYS_read, zero, page, 1UL << 47)));
    close(zero);
    printf("getrandom of 1<<26 bytes into the last page: %s\n", result(syscall(SYS_getrandom, page, 1UL << 26, 0)));
    pipe_with(NULL, p);
    printf("write of 8192 bytes from the last page to a pipe: %s\n", result(syscall(SYS_write, p[1], page, 8192)));
    close2(p);

    /* Arguments worth a gigabyte: refused before the kernel copies them all. */
    static char big[120 * 1024];
    memset(big, 'a', sizeof big - 1);
    char **arguments = calloc(8002, sizeof *arguments);
    arguments[0] = "x";
    for (int i = 1; i <= 8000; i++)
        arguments[i] = big;
    printf("execve with 8000 arguments of 120 KiB: %s\n", result(syscall(SYS_execve, exec_target, arguments, NULL)));
    free(arguments);

    printf("mmap of 0 bytes: %s\n", result(syscall(SYS_mmap, NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == -1 ? -1 : 0));
    printf("mmap of 1<<62 bytes: %s\n", result(syscall(SYS_mmap, NULL, 1UL << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == -1 ? -1 : 0));
    printf("mmap of SIZE_MAX bytes: %s\n", result(syscall(SYS_mmap, NULL, (size_t)-1, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == -1 ? -1 : 0));
    printf("mmap MAP_FIXED over the kernel: %s\n",
           result(syscall(SYS_mmap, KERNEL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == -1 ? -1 : 0));
    printf("mmap MAP_FIXED across the end of user space: %s\n",
           result(syscall(SYS_mmap, (void *)0x7ffffffff000UL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == -1 ? -1 : 0));
    printf("munmap of 0 bytes: %s\n", result(syscall(SYS_munmap, page, 0)));
    printf("munmap of the kernel: %s\n", result(syscall(SYS_munmap, KERNEL, 4096)));
    printf("munmap of SIZE_MAX bytes: %s\n", result(syscall(SYS_munmap, page, (size_t)-1)));
    printf("mprotect of the kernel: %s\n", result(syscall(SYS_mprotect, KERNEL, 4096, PROT_READ | PROT_WRITE)));
    printf("mprotect with a misaligned address: %s\n", result(syscall(SYS_mprotect, page + 1, 4096, PROT_READ)));
    void *now = (void *)syscall(SYS_brk, 0);
    printf("brk to the kernel leaves the break: %s\n", (void *)syscall(SYS_brk, KERNEL) == now ? "yes" : "no");
    printf("brk to 1<<47 leaves the break: %s\n", (void *)syscall(SYS_brk, 1UL << 47) == now ? "yes" : "no");
    printf("getcwd into 0 bytes: %s\n", result(syscall(SYS_getcwd, buf, 0)));
    printf("getcwd into 1 byte: %s\n", result(syscall(SYS_getcwd, buf, 1)));
    printf("readlink into 0 bytes: %s\n", result(syscall(SYS_readlink, "/proc/self/exe", buf, 0)));
    printf("readlink into -1 bytes: %s\n", result(syscall(SYS_readlink, "/proc/self/exe", buf, -1)));
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    printf("getdents64 into 0 bytes: %s\n", result(syscall(SYS_getdents64, dir, buf, 0)));
    printf("getdents64 into 1 byte: %s\n", result(syscall(SYS_getdents64, dir, buf, 1)));
    close(dir);
    printf("poll of 1<<30 descriptors: %s\n", result(syscall(SYS_poll, buf, 1UL << 30, 0)));
    printf("poll of 0 descriptors at NULL: %s\n", result(syscall(SYS_poll, NULL, 0, 0)));
    printf("select with -1 descriptors: %s\n", result(syscall(SYS_select, -1, NULL, NULL, NULL, NULL)));
    struct timeval bad_usec = { 0, 1000000 };
    printf("select with 1000000 us: %s\n", result(syscall(SYS_select, 0, NULL, NULL, NULL, &bad_usec)));
    struct timespec bad_nsec = { 0, 1000000000 }, negative = { -1, 0 };
    printf("nanosleep of 1000000000 ns: %s\n", result(syscall(SYS_nanosleep, &bad_nsec, NULL)));
    printf("nanosleep of -1 s: %s\n", result(syscall(SYS_nanosleep, &negative, NULL)));
    printf("rt_sigprocmask with a 4-byte set: %s\n", result(syscall(SYS_rt_sigprocmask, SIG_BLOCK, buf, NULL, 4)));
    printf("rt_sigaction with a 16-byte set: %s\n", result(syscall(SYS_rt_sigaction, SIGUSR1, NULL, buf, 16)));
    printf("rt_sigaction of signal 0: %s\n", result(syscall(SYS_rt_sigaction, 0, NULL, buf, 8)));
    printf("rt_sigaction of signal 65: %s\n", result(syscall(SYS_rt_sigaction, 65, NULL, buf, 8)));
    printf("kill with signal 65: %s\n", result(syscall(SYS_kill, getpid(), 65)));
    printf("kill of pid INT_MIN: %s\n", result(syscall(SYS_kill, (long)INT32_MIN, 0)));
    printf("getrandom with unknown flags: %s\n", result(syscall(SYS_getrandom, buf, 8, 0x1000)));
    printf("prlimit64 of resource 1000: %s\n", result(syscall(SYS_prlimit64, 0, 1000, NULL, buf)));
    printf("clock_gettime of clock 1000: %s\n", result(syscall(SYS_clock_gettime, 1000, buf)));
    printf("clock_gettime of clock -1: %s\n", result(syscall(SYS_clock_gettime, -1, buf)));
    printf("wait4 with unknown options: %s\n", result(syscall(SYS_wait4, -1, NULL, 0x10000000, NULL)));
    printf("wait4 of INT_MIN: %s\n", result(syscall(SYS_wait4, (long)INT32_MIN, NULL, WNOHANG, NULL)));
    printf("lseek with whence 1000: %s\n", result(syscall(SYS_lseek, 0, 0, 1000)));
    printf("fcntl with command 100000: %s\n", result(syscall(SYS_fcntl, 0, 100000, 0)));
    printf("fcntl F_DUPFD to 1<<20: %s\n", result(syscall(SYS_fcntl, 0, F_DUPFD, 1 << 20)));
    printf("arch_prctl with code 0: %s\n", result(syscall(SYS_arch_prctl, 0, buf)));
    printf("arch_prctl ARCH_SET_FS to the kernel: %s\n", result(syscall(SYS_arch_prctl, 0x1002, KERNEL)));
    printf("arch_prctl ARCH_SET_FS non-canonical: %s\n", result(syscall(SYS_arch_prctl, 0x1002, 0x800000000000UL)));
}

/* ---- Descriptors ---- */

static void fds(void)
{
    char buf[8];
    int p[2];
    printf("read of -1: %s\n", result(syscall(SYS_read, -1, buf, 1)));
    printf("write to 1000: %s\n", result(syscall(SYS_write, 1000, "x", 1)));
    printf("write to 1<<20: %s\n", result(syscall(SYS_write, 1 << 20, "x", 1)));
    printf("write to INT_MAX: %s\n", result(syscall(SYS_write, 0x7fffffff, "x", 1)));
    printf("close of -1: %s\n", result(syscall(SYS_close, -1)));
    int fd = open("/dev/null", O_RDONLY);
    close(fd);
    printf("close of a closed descriptor: %s\n", result(syscall(SYS_close, fd)));
    printf("fstat of a closed descriptor: %s\n", result(syscall(SYS_fstat, fd, buf)));
    printf("dup of a closed descriptor: %s\n", result(syscall(SYS_dup, fd)));
    printf("dup2 of a closed descriptor: %s\n", result(syscall(SYS_dup2, fd, 20)));
    printf("dup2 onto -1: %s\n", result(syscall(SYS_dup2, 0, -1)));
    printf("dup2 onto 1<<20: %s\n", result(syscall(SYS_dup2, 0, 1 << 20)));
    printf("dup3 onto itself: %s\n", result(syscall(SYS_dup3, 0, 0, 0)));
    printf("fcntl of -5: %s\n", result(syscall(SYS_fcntl, -5, F_GETFL)));
    printf("ioctl of 99: %s\n", result(syscall(SYS_ioctl, 99, FIONREAD, buf)));
    printf("lseek of -1: %s\n", result(syscall(SYS_lseek, -1, 0, SEEK_SET)));
    printf("getdents64 of -1: %s\n", result(syscall(SYS_getdents64, -1, buf, sizeof buf)));
    printf("getdents64 of a pipe: %s\n", (pipe(p), result(syscall(SYS_getdents64, p[0], buf, sizeof buf))));
    printf("read from the write end of a pipe: %s\n", result(syscall(SYS_read, p[1], buf, 1)));
    printf("write to the read end of a pipe: %s\n", result(syscall(SYS_write, p[0], "x", 1)));
    printf("lseek on a pipe: %s\n", result(syscall(SYS_lseek, p[0], 0, SEEK_SET)));
    printf("pread64 on a pipe: %s\n", result(syscall(SYS_pread64, p[0], buf, 1, 0)));
    close2(p);
    printf("openat relative to -1: %s\n", result(syscall(SYS_openat, -1, "x", O_RDONLY)));
    int file = open("/proc/self/exe", O_RDONLY);
    printf("openat relative to a file: %s\n", result(syscall(SYS_openat, file, "x", O_RDONLY)));
    printf("read of a directory: %s\n", (fd = open("/", O_RDONLY | O_DIRECTORY), result(syscall(SYS_read, fd, buf, 1))));
    close(fd);
    close(file);
    struct pollfd polled[3] = { { -1, POLLIN, 0 }, { 1000, POLLIN, 0 }, { 0x7fffffff, POLLIN, 0 } };
    long n = syscall(SYS_poll, polled, 3, 0);
    printf("poll of -1, 1000, INT_MAX: %s, revents %d %d %d\n", result(n), polled[0].revents, polled[1].revents, polled[2].revents);
    /* (Below 64: Linux looks only at descriptors its table has room for.) */
    fd_set set;
    FD_ZERO(&set);
    FD_SET(40, &set);
    struct timeval zero = { 0, 0 };
    printf("select of a closed descriptor: %s\n", result(syscall(SYS_select, 41, &set, NULL, NULL, &zero)));
    /* A descriptor is an int: the upper half of the register is not part of it. */
    pipe(p);
    printf("write to fd | 1<<32: %s\n", result(syscall(SYS_write, (1L << 32) | p[1], "ab", 2)));
    printf("read from fd | 0xffffffff00000000: %s\n", result(syscall(SYS_read, 0xffffffff00000000L | p[0], buf, 2)));
    printf("dup2 onto fd | 1<<32 returns: %s\n", result(syscall(SYS_dup2, p[0], (1L << 32) | 30)));
    printf("close of fd | 1<<32: %s\n", result(syscall(SYS_close, (1L << 32) | 30)));
    close2(p);
    /* Every descriptor below the limit: then EMFILE. */
    struct rlimit limit = { 1024, 1024 };
    setrlimit(RLIMIT_NOFILE, &limit);
    long highest = -1, last;
    while ((last = syscall(SYS_dup, 0)) >= 0)
        highest = last;
    printf("dup until it fails: %s, the highest descriptor %ld\n", result(last), highest);
    printf("dup2 onto the limit: %s\n", result(syscall(SYS_dup2, 0, 1024)));
    printf("fcntl F_DUPFD from the limit: %s\n", result(syscall(SYS_fcntl, 0, F_DUPFD, 1024)));
    printf("pipe with no descriptor left: %s\n", result(syscall(SYS_pipe, p)));
    printf("open with no descriptor left: %s\n", result(syscall(SYS_open, "/", O_RDONLY)));
}

/* ---- System call numbers ---- */

static void numbers(void)
{
    /* Unused on x86_64 in every Linux so far (335, 423 and 463 are taken by newer ones). */
    static const long unknown[] = { 400, 470, 500, 511, 512, 513, 1000, 4096, 0x7fffffff, -1, -2, 0xffffffffL, 0x80000000L };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        printf("system call %ld: %s\n", unknown[i], result(syscall(unknown[i], 1, 2, 3, 4, 5, 6)));
    /* The number is an int: the upper half of rax is not part of it. */
    printf("system call getpid | 1<<32 is getpid: %s\n", syscall((1L << 32) | SYS_getpid) == getpid() ? "yes" : "no");
    printf("system call getppid | 0xffffffff00000000 is getppid: %s\n",
           syscall(0xffffffff00000000L | SYS_getppid) == getppid() ? "yes" : "no");
    /* The kernel keeps going after all of them. */
    printf("getpid still answers: %s\n", syscall(SYS_getpid) == getpid() ? "yes" : "no");
}

/* ---- The cases ---- */

struct Case {
    const char *name;
    const char *group;
    Probe probe;
    void (*run)(void);
};

static const struct Case cases[] = {
    { "read", "pointers", p_read, NULL },
    { "write", "pointers", p_write, NULL },
    { "readv array", "pointers", p_readv_array, NULL },
    { "readv buffer", "pointers", p_readv_buffer, NULL },
    { "writev array", "pointers", p_writev_array, NULL },
    { "writev buffer", "pointers", p_writev_buffer, NULL },
    { "pread64", "pointers", p_pread, NULL },
    { "open", "pointers", p_open, NULL },
    { "openat", "pointers", p_openat, NULL },
    { "stat path", "pointers", p_stat_path, NULL },
    { "stat buffer", "pointers", p_stat_buffer, NULL },
    { "lstat buffer", "pointers", p_lstat_buffer, NULL },
    { "fstat", "pointers", p_fstat, NULL },
    { "newfstatat path", "pointers", p_newfstatat_path, NULL },
    { "newfstatat buffer", "pointers", p_newfstatat_buffer, NULL },
    { "getdents64", "pointers", p_getdents64, NULL },
    { "readlink path", "pointers", p_readlink_path, NULL },
    { "readlink buffer", "pointers", p_readlink_buffer, NULL },
    { "getcwd", "pointers", p_getcwd, NULL },
    { "uname", "pointers", p_uname, NULL },
    { "clock_gettime", "pointers", p_clock_gettime, NULL },
    { "clock_getres", "pointers", p_clock_getres, NULL },
    { "gettimeofday", "pointers", p_gettimeofday, NULL },
    { "gettimeofday zone", "pointers", p_gettimeofday_zone, NULL },
    { "time", "pointers", p_time, NULL },
    { "nanosleep", "pointers", p_nanosleep, NULL },
    { "clock_nanosleep", "pointers", p_clock_nanosleep, NULL },
    { "pipe", "pointers", p_pipe, NULL },
    { "pipe2", "pointers", p_pipe2, NULL },
    { "wait4 status", "pointers", p_wait4_status, NULL },
    { "wait4 rusage", "pointers", p_wait4_rusage, NULL },
    { "execve path", "pointers", p_execve_path, NULL },
    { "execve argv", "pointers", p_execve_argv, NULL },
    { "execve envp", "pointers", p_execve_envp, NULL },
    { "execve argv string", "pointers", p_execve_string, NULL },
    { "rt_sigaction new", "pointers", p_sigaction_new, NULL },
    { "rt_sigaction old", "pointers", p_sigaction_old, NULL },
    { "rt_sigprocmask new", "pointers", p_sigprocmask_new, NULL },
    { "rt_sigprocmask old", "pointers", p_sigprocmask_old, NULL },
    { "rt_sigpending", "pointers", p_sigpending, NULL },
    { "rt_sigsuspend", "pointers", p_sigsuspend, NULL },
    { "rt_sigtimedwait set", "pointers", p_sigtimedwait, NULL },
    { "rt_sigtimedwait timeout", "pointers", p_sigtimedwait_timeout, NULL },
    { "rt_sigqueueinfo", "pointers", p_sigqueueinfo, NULL },
    { "sigaltstack new", "pointers", p_sigaltstack_new, NULL },
    { "sigaltstack old", "pointers", p_sigaltstack_old, NULL },
    { "poll", "pointers", p_poll, NULL },
    { "ppoll", "pointers", p_ppoll, NULL },
    { "ppoll timeout", "pointers", p_ppoll_timeout, NULL },
    { "select set", "pointers", p_select_set, NULL },
    { "select timeout", "pointers", p_select_timeout, NULL },
    { "pselect6", "pointers", p_pselect6, NULL },
    { "getrandom", "pointers", p_getrandom, NULL },
    { "prlimit64 new", "pointers", p_prlimit_new, NULL },
    { "prlimit64 old", "pointers", p_prlimit_old, NULL },
    { "getrlimit", "pointers", p_getrlimit, NULL },
    { "setrlimit", "pointers", p_setrlimit, NULL },
    { "sysinfo", "pointers", p_sysinfo, NULL },
    { "getrusage", "pointers", p_getrusage, NULL },
    { "times", "pointers", p_times, NULL },
    { "arch_prctl ARCH_GET_FS", "pointers", p_arch_prctl, NULL },
    { "ioctl FIONREAD", "pointers", p_ioctl_fionread, NULL },
    { "ioctl FIONBIO", "pointers", p_ioctl_fionbio, NULL },
    { "ioctl TCGETS on a pipe", "pointers", p_ioctl_tcgets, NULL },
    { "ioctl TIOCGWINSZ on a pipe", "pointers", p_ioctl_tiocgwinsz, NULL },
    { "access", "pointers", p_access, NULL },
    { "faccessat", "pointers", p_faccessat, NULL },
    { "chdir", "pointers", p_chdir, NULL },
    { "sched_getaffinity", "pointers", p_getaffinity, NULL },
    { "sched_setaffinity", "pointers", p_setaffinity, NULL },
    { "prctl PR_SET_NAME", "pointers", p_prctl_set_name, NULL },
    { "prctl PR_GET_NAME", "pointers", p_prctl_get_name, NULL },
    { "sendfile offset", "pointers", p_sendfile_offset, NULL },
    { "sizes", "sizes", NULL, sizes },
    { "fds", "fds", NULL, fds },
    { "numbers", "numbers", NULL, numbers },
};
#define CASES (sizeof cases / sizeof cases[0])

static void run_case(const struct Case *c)
{
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        printf("%s: fork failed: %s\n", c->name, strerror(errno));
        return;
    }
    if (child == 0) {
        if (c->probe)
            probe(c->name, c->probe);
        else
            c->run();
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    if (WIFSIGNALED(status))
        printf("%s: KILLED by signal %d\n", c->name, WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0)
        printf("%s: exited %d\n", c->name, WEXITSTATUS(status));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    page = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return 100;
    munmap(page + 4096, 2 * 4096);
    unmapped = page + 2 * 4096;
    no_core_files();

    /* Only what is asked for, by name: never everything by default (an execve that
     * wrongly succeeded must not start the whole suite again). */
    int ran = 0;
    for (int a = 1; a < argc; a++)
        if (!strncmp(argv[a], "--exec-target=", 14))
            exec_target = argv[a] + 14;
    for (size_t i = 0; i < CASES; i++) {
        int wanted = 0;
        for (int a = 1; a < argc; a++)
            wanted |= !strcmp(argv[a], cases[i].group) || !strcmp(argv[a], cases[i].name);
        if (wanted) {
            run_case(&cases[i]);
            ran++;
        }
    }
    if (!ran) {
        fprintf(stderr, "usage: hostile_calls [pointers|sizes|fds|numbers|CASE...]\n");
        return 2;
    }
    printf("still running\n");
    return 0;
}
