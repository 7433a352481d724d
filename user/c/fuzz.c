/* fuzz: a system-call fuzzer. `timeshare fuzz` boots it as the first process.
 *
 *   fuzz run CALLS SEED [WORKERS]
 *       Forks WORKERS processes (default 4) that issue CALLS random system calls
 *       between them: numbers across the whole table 0..462 and beyond (unknown
 *       numbers, -1, 0xffffffff, the x32 bit), arguments biased toward edge values
 *       (0, -1, small numbers, page sizes, huge sizes, valid pointers into the
 *       worker's own buffers, NULL, unmapped, half-mapped, kernel and
 *       non-canonical pointers, descriptors open and closed, paths). Workers may
 *       die (a signal they sent themselves, a buffer they unmapped, a forged signal
 *       frame): they are respawned with the next generation. A few calls in a
 *       thousand are operations done in a child of the worker: a forged signal
 *       frame, a trip into 32-bit code (with syscall, sysenter or int $0x80 there,
 *       or a loop the timer interrupts), a segment register load, RFLAGS games (TF,
 *       AC, NT, IOPL, DF), a sequence of brk/mmap/munmap/mprotect/fork with the
 *       kernel copying into and out of the pages, or a sequence of raw threads
 *       (clone with its own asm entry, no libc in the threads) making futex calls
 *       on shared and bad words, tkill-ing one another, having their stacks
 *       unmapped under them, unmapping their own, and ending by exit or exit_group
 *       at random points. A worker that stops
 *       making progress (blocked, stopped, looping) is killed from outside after
 *       WATCHDOG_MS and respawned. At the end every process is killed and reaped,
 *       and the invariants are checked: no child or zombie left (wait4: ECHILD;
 *       sysinfo: one process), the runner's own memory unchanged (canary pages every
 *       worker inherited, checked during the run and at its end), free memory back
 *       to the baseline taken before the run (sysinfo freeram, plus what files
 *       hold), and the console still answers. The runner, pid 1, uses the TLS pointer every worker
 *       inherits: a worker's register state leaking into it ends the run.
 *   fuzz print SEED WORKER GEN FROM COUNT
 *       Prints the calls FROM..FROM+COUNT of that worker generation without making
 *       them: the calls depend only on (SEED, WORKER, GEN), so a run can be
 *       replayed on paper, on any machine (the host CLI uses it after a failure).
 *
 * Lines on stdout (the host CLI reads them; everything starts with "fuzz: "):
 *   fuzz: start calls=N seed=S workers=W
 *   fuzz: spawn w=I gen=G pid=P
 *   fuzz: progress DONE TOTAL w0=GEN:AT w1=... (AT: calls of the generation
 *         reported so far; the worker reports every REPORT_EVERY calls)
 *   fuzz: ended w=I gen=G pid=P status=... after=AT
 *   fuzz: invariant NAME ok|FAIL ...
 *   fuzz: done calls=N deaths=D watchdog=K
 * Exit status 0 when every invariant held, 1 otherwise (the failure lines and the
 * last calls of every worker say what), 2 for usage errors.
 *
 * It is written for timeshare, where it runs as pid 1; on another system it
 * refuses `run` unless it is pid 1 (it kills every other process at the end). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/futex.h"
#include "include/rawthread.h"

typedef uint64_t u64;

#define MAX_WORKERS 16
/* A worker reports its progress to the parent every this many calls. */
#define REPORT_EVERY 64
/* A worker that reports nothing for this long is killed (and respawned). */
#define WATCHDOG_MS 1500
/* The worker's descriptor for its progress reports; no fuzzed call may name it. */
#define PROGRESS_FD 1021
/* Descriptors from here on are closed after the call that made them. */
#define HIGH_FD 64

/* The worker's memory, at fixed addresses so that the calls are the same in every
 * run and in `print`: the buffers (valid pointers), with an unmapped guard page
 * after them; the arena, whose last page is unmapped (half-mapped pointers), and
 * which the memory calls are pointed at; a big address where a huge mapping may be. */
#define BUFFERS ((u64)0x30000000)
#define BUFFERS_SIZE ((u64)32 * 4096)
#define ARENA ((u64)0x10000000)
#define ARENA_SIZE ((u64)16 * 4096)
#define ARENA_END (ARENA + ARENA_SIZE - 4096) /* the unmapped last page */
#define BIG ((u64)0x200000000)
/* The buffers start with structures the calls point at (timespecs, iovecs, argv),
 * read-only (only `prepare` writes them); the other valid pointers go past them. */
#define STRUCTURES_SIZE ((u64)0x4000)

/* ---- Raw system calls (include/rawthread.h): no libc wrapper, no errno ---- */

static __attribute__((noreturn)) void raw_exit(int status)
{
    for (;;)
        sys1(SYS_exit, status);
}

/* ---- The generator: a pure function of (seed, worker, generation) ---- */

static u64 splitmix(u64 *state)
{
    u64 z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static u64 generation_seed(u64 seed, int worker, int gen)
{
    u64 s = seed ^ ((u64)worker << 48) ^ ((u64)gen << 32);
    splitmix(&s);
    return splitmix(&s);
}

typedef struct {
    u64 s;
} Rng;

static u64 next(Rng *r) { return splitmix(&r->s); }
static u64 below(Rng *r, u64 n) { return n ? next(r) % n : 0; }
static int chance(Rng *r, int percent) { return (int)below(r, 100) < percent; }
#define PICK(r, array) ((array)[below(r, sizeof(array) / sizeof((array)[0]))])

/* Argument kinds. */
enum {
    K_ANY, /* anything */
    K_FD, K_DIRFD, K_PTR, K_OUT, K_LEN, K_INT, K_FLAGS, K_PID, K_SIG, K_ADDR, K_PATH, K_IOCTL, K_FCNTL,
    K_TIMESPEC, K_POLLMS, K_IOV, K_CODE, K_ZERO,
};

/* What a generated argument is, for printing. */
enum {
    C_NUM, C_FD, C_BUF, C_ARENA, C_BIG, C_PATH, C_TEXT, C_BAD, C_SELF, C_SELFNEG,
};

typedef struct {
    int cls;
    const char *what; /* for C_BAD and C_PATH: which */
    u64 value;
} Arg;

/* The operations besides a plain call, each but execve in a child of the worker:
 * a forged signal frame; a trip into 32-bit code (and a system call from there);
 * a segment register load; RFLAGS games; a sequence of memory calls. */
enum { OP_CALL, OP_SIGRETURN, OP_EXECVE, OP_COMPAT, OP_SEGMENT, OP_RFLAGS, OP_MEMORY, OP_THREADS };

typedef struct {
    int op;
    long number;
    Arg arg[6];
    u64 fill;   /* the other operations: seed of what they do */
} Call;

/* Per implemented (or common) call: its argument kinds, and a weight (0: never
 * chosen from the table; 1 rare, 10 usual). */
struct Spec {
    int number;
    int weight;
    unsigned char kind[6];
};

static const struct Spec specs[] = {
    { 0, 10, { K_FD, K_OUT, K_LEN } },                          /* read */
    { 1, 10, { K_FD, K_PTR, K_LEN } },                          /* write */
    { 2, 8, { K_PATH, K_FLAGS, K_INT } },                       /* open */
    { 3, 8, { K_FD } },                                         /* close */
    { 4, 8, { K_PATH, K_OUT } },                                /* stat */
    { 5, 8, { K_FD, K_OUT } },                                  /* fstat */
    { 6, 6, { K_PATH, K_OUT } },                                /* lstat */
    { 7, 6, { K_PTR, K_LEN, K_POLLMS } },                       /* poll */
    { 8, 6, { K_FD, K_ANY, K_INT } },                           /* lseek */
    { 9, 8, { K_ADDR, K_LEN, K_FLAGS, K_FLAGS, K_FD, K_ANY } }, /* mmap */
    { 10, 6, { K_ADDR, K_LEN, K_FLAGS } },                      /* mprotect */
    { 11, 6, { K_ADDR, K_LEN } },                               /* munmap */
    { 12, 6, { K_ADDR } },                                      /* brk */
    { 13, 8, { K_SIG, K_PTR, K_OUT, K_LEN } },                  /* rt_sigaction */
    { 14, 8, { K_INT, K_PTR, K_OUT, K_LEN } },                  /* rt_sigprocmask */
    { 16, 10, { K_FD, K_IOCTL, K_OUT } },                       /* ioctl */
    { 17, 6, { K_FD, K_OUT, K_LEN, K_ANY } },                   /* pread64 */
    { 18, 4, { K_FD, K_PTR, K_LEN, K_ANY } },                   /* pwrite64 */
    { 19, 8, { K_FD, K_IOV, K_LEN } },                          /* readv */
    { 20, 8, { K_FD, K_IOV, K_LEN } },                          /* writev */
    { 21, 6, { K_PATH, K_INT } },                               /* access */
    { 22, 4, { K_OUT } },                                       /* pipe */
    { 23, 4, { K_INT, K_OUT, K_OUT, K_OUT, K_TIMESPEC } },      /* select */
    { 24, 4, { 0 } },                                           /* sched_yield */
    { 25, 3, { K_ADDR, K_LEN, K_LEN, K_FLAGS, K_ADDR } },       /* mremap */
    { 28, 3, { K_ADDR, K_LEN, K_INT } },                        /* madvise */
    { 32, 6, { K_FD } },                                        /* dup */
    { 33, 6, { K_FD, K_FD } },                                  /* dup2 */
    { 34, 0, { 0 } },                                           /* pause: blocks */
    { 35, 3, { K_TIMESPEC, K_OUT } },                           /* nanosleep */
    { 37, 2, { K_INT } },                                       /* alarm */
    { 38, 2, { K_INT, K_PTR, K_OUT } },                         /* setitimer */
    { 39, 4, { 0 } },                                           /* getpid */
    { 40, 4, { K_FD, K_FD, K_OUT, K_LEN } },                    /* sendfile */
    { 56, 3, { K_FLAGS, K_ZERO, K_OUT, K_OUT, K_ANY } },        /* clone (no new stack) */
    { 57, 3, { 0 } },                                           /* fork */
    { 58, 2, { 0 } },                                           /* vfork */
    { 61, 4, { K_PID, K_OUT, K_FLAGS, K_OUT } },                /* wait4 */
    { 62, 2, { K_PID, K_SIG } },                                /* kill */
    { 63, 6, { K_OUT } },                                       /* uname */
    { 72, 8, { K_FD, K_FCNTL, K_ANY } },                        /* fcntl */
    { 79, 6, { K_OUT, K_LEN } },                                /* getcwd */
    { 80, 4, { K_PATH } },                                      /* chdir */
    { 81, 4, { K_FD } },                                        /* fchdir */
    { 89, 6, { K_PATH, K_OUT, K_LEN } },                        /* readlink */
    { 95, 3, { K_INT } },                                       /* umask */
    { 96, 6, { K_OUT, K_OUT } },                                /* gettimeofday */
    { 97, 4, { K_INT, K_OUT } },                                /* getrlimit */
    { 98, 4, { K_INT, K_OUT } },                                /* getrusage */
    { 99, 6, { K_OUT } },                                       /* sysinfo */
    { 100, 6, { K_OUT } },                                      /* times */
    { 102, 2, { 0 } },                                          /* getuid */
    { 109, 3, { K_PID, K_PID } },                               /* setpgid */
    { 110, 2, { 0 } },                                          /* getppid */
    { 112, 2, { 0 } },                                          /* setsid */
    { 121, 3, { K_PID } },                                      /* getpgid */
    { 124, 3, { K_PID } },                                      /* getsid */
    { 127, 4, { K_OUT, K_LEN } },                               /* rt_sigpending */
    { 128, 3, { K_PTR, K_OUT, K_TIMESPEC, K_LEN } },            /* rt_sigtimedwait */
    { 129, 2, { K_PID, K_SIG, K_PTR } },                        /* rt_sigqueueinfo */
    { 130, 0, { K_PTR, K_LEN } },                               /* rt_sigsuspend: blocks */
    { 131, 6, { K_PTR, K_OUT } },                               /* sigaltstack */
    { 140, 3, { K_INT, K_PID } },                               /* getpriority */
    { 141, 3, { K_INT, K_PID, K_INT } },                        /* setpriority */
    { 157, 4, { K_INT, K_PTR } },                               /* prctl */
    { 158, 6, { K_CODE, K_OUT } },                              /* arch_prctl */
    { 160, 4, { K_INT, K_PTR } },                               /* setrlimit */
    { 186, 2, { 0 } },                                          /* gettid */
    { 200, 2, { K_PID, K_SIG } },                               /* tkill */
    { 201, 4, { K_OUT } },                                      /* time */
    { 203, 3, { K_PID, K_LEN, K_PTR } },                        /* sched_setaffinity */
    { 204, 3, { K_PID, K_LEN, K_OUT } },                        /* sched_getaffinity */
    { 217, 8, { K_FD, K_OUT, K_LEN } },                         /* getdents64 */
    { 218, 2, { K_OUT } },                                      /* set_tid_address */
    { 219, 2, { 0 } },                                          /* restart_syscall */
    { 228, 8, { K_INT, K_OUT } },                               /* clock_gettime */
    { 229, 4, { K_INT, K_OUT } },                               /* clock_getres */
    { 230, 3, { K_INT, K_FLAGS, K_TIMESPEC, K_OUT } },          /* clock_nanosleep */
    { 234, 2, { K_PID, K_PID, K_SIG } },                        /* tgkill */
    { 257, 8, { K_DIRFD, K_PATH, K_FLAGS, K_INT } },            /* openat */
    { 262, 8, { K_DIRFD, K_PATH, K_OUT, K_FLAGS } },            /* newfstatat */
    { 267, 4, { K_DIRFD, K_PATH, K_OUT, K_LEN } },              /* readlinkat */
    { 269, 4, { K_DIRFD, K_PATH, K_INT } },                     /* faccessat */
    { 270, 4, { K_INT, K_OUT, K_OUT, K_OUT, K_TIMESPEC, K_PTR } }, /* pselect6 */
    { 271, 4, { K_PTR, K_LEN, K_TIMESPEC, K_PTR, K_LEN } },     /* ppoll */
    { 292, 4, { K_FD, K_FD, K_FLAGS } },                        /* dup3 */
    { 293, 4, { K_OUT, K_FLAGS } },                             /* pipe2 */
    { 302, 4, { K_PID, K_INT, K_PTR, K_OUT } },                 /* prlimit64 */
    { 318, 6, { K_OUT, K_LEN, K_FLAGS } },                      /* getrandom */
    { 435, 2, { K_PTR, K_LEN } },                               /* clone3 */
    { 439, 4, { K_DIRFD, K_PATH, K_INT, K_FLAGS } },            /* faccessat2 */
};
#define SPECS (sizeof specs / sizeof specs[0])

/* Never made as plain calls: exit, exit_group (the worker would just end),
 * rt_sigreturn and execve/execveat (special operations below). */
static int excluded(long n)
{
    return n == SYS_exit || n == SYS_exit_group || n == SYS_rt_sigreturn || n == SYS_execve || n == SYS_execveat;
}

static const struct Spec *spec_of(long n)
{
    for (size_t i = 0; i < SPECS; i++)
        if (specs[i].number == n)
            return &specs[i];
    return NULL;
}

static const char *const paths[] = {
    "/", "/bin", "/bin/fuzz", "/dev/null", "/dev/zero", "/proc/self/exe", "/proc/self", "/proc",
    "/nonexistent", "/bin/../bin/./fuzz", "bin", ".", "..", "", "/dev/null/x", "//bin//",
    "/fuzz/garbage", "/fuzz/empty", "/fuzz/truncated", "/fuzz/noexec",
};

static u64 path_buffer_address(void);

/* Edge values of a 64-bit argument. */
static const u64 edges[] = {
    0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 100, 127, 128, 255, 256, 511, 512, 1023, 1024,
    4095, 4096, 4097, 8192, 65535, 65536, 1 << 20, 1 << 24, 0x7fffffff, 0x80000000, 0xffffffff,
    0x100000000ULL, 1ULL << 40, 0x7fffffffffffffffULL, 0x8000000000000000ULL, (u64)-1, (u64)-2,
    (u64)-4096, (u64)-100, 0x7ffff000, 0xfffffffffULL,
};

struct Bad {
    const char *what;
    u64 address;
};
static const struct Bad bads[] = {
    { "null", 0 },
    { "one", 1 },
    { "low", 0xfff },
    { "page1", 0x1000 },
    { "unmapped", 0x20000000 },
    { "arena-end", ARENA_END },
    { "arena-end-1", ARENA_END - 1 },
    { "arena-end-4", ARENA_END - 4 },
    { "arena-end-8", ARENA_END - 8 },
    { "arena-end-100", ARENA_END - 100 },
    { "buffers-end-8", BUFFERS + BUFFERS_SIZE - 8 },
    { "user-end", 0x00007ffffffff000ULL },
    { "user-end-1", 0x00007fffffffefffULL },
    { "user-top", 0x00007fffffffffffULL },
    { "noncanon", 0x0000800000000000ULL },
    { "noncanon-high", 0x8000000000000000ULL },
    { "noncanon-dead", 0xdead000000000000ULL },
    { "kernel-text", 0xffffffff80000000ULL },
    { "kernel-text+1M", 0xffffffff80100000ULL },
    { "direct-map", 0xffff800000000000ULL },
    { "direct-map+1M", 0xffff800000100000ULL },
    { "kernel-stacks", 0xffffff0000001000ULL },
    { "devices", 0xffffff7f00000000ULL },
    { "minus-one", (u64)-1 },
    { "minus-page", (u64)-4096 },
};

static Arg num(u64 value) { return (Arg){ C_NUM, NULL, value }; }

static Arg bad_pointer(Rng *r)
{
    struct Bad b = PICK(r, bads);
    return (Arg){ C_BAD, b.what, b.address };
}

/* A pointer the worker may read and write: into the buffers (most often), the
 * arena, the big mapping; or read-only memory (text). */
static Arg good_pointer(Rng *r)
{
    int which = (int)below(r, 20);
    if (which < 12) {
        u64 offset = STRUCTURES_SIZE + (chance(r, 50) ? below(r, 8) * 4096 : below(r, BUFFERS_SIZE - STRUCTURES_SIZE));
        if (chance(r, 60))
            offset &= ~(u64)7;
        return (Arg){ C_BUF, NULL, BUFFERS + offset };
    }
    if (which < 16)
        return (Arg){ C_ARENA, NULL, ARENA + below(r, ARENA_SIZE - 4096) };
    if (which < 17)
        return (Arg){ C_BIG, NULL, BIG + below(r, 1 << 20) };
    return (Arg){ C_TEXT, NULL, (u64)(uintptr_t)&splitmix + below(r, 64) };
}

static Arg pointer(Rng *r)
{
    return chance(r, 70) ? good_pointer(r) : bad_pointer(r);
}

static Arg any(Rng *r)
{
    switch (below(r, 6)) {
    case 0: return pointer(r);
    case 1: return num(next(r));
    case 2: return num(below(r, 64));
    default: return num(PICK(r, edges));
    }
}

static Arg length(Rng *r)
{
    static const u64 lengths[] = {
        0, 1, 2, 7, 8, 16, 24, 64, 128, 144, 255, 256, 4095, 4096, 4097, 8192, 12288, 65536, 65537,
        1 << 20, 1 << 30, 0x7ffff000, 0x7fffffff, 0x80000000, 0xffffffff, 1ULL << 40,
        0x7fffffffffffffffULL, (u64)-1, (u64)-4096,
    };
    if (chance(r, 15))
        return num(below(r, 300));
    return num(PICK(r, lengths));
}

static Arg descriptor(Rng *r)
{
    static const u64 odd[] = { (u64)-1, (u64)-100, 1023, 1024, 1025, 4096, 65536, 0x7fffffff, 0x80000000,
                               0xffffffff, 0x100000003ULL, 0xffffffff00000003ULL, (u64)-2 };
    int which = (int)below(r, 10);
    if (which < 7)
        return (Arg){ C_FD, NULL, below(r, 9) };
    if (which < 9)
        return (Arg){ C_FD, NULL, 9 + below(r, 40) };
    return num(PICK(r, odd));
}

static Arg flags(Rng *r)
{
    switch (below(r, 8)) {
    case 0: return num(0);
    case 1: return num(below(r, 16));
    case 2: return num(1ULL << below(r, 32));
    case 3: return num(next(r));
    case 4: return num(next(r) & 0xffffffff);
    case 5: return num((u64)-1);
    default: return num(next(r) & next(r) & 0x3fffff);
    }
}

static Arg pid(Rng *r)
{
    switch (below(r, 10)) {
    case 0: case 1: case 2: return num(0);
    case 3: case 4: return (Arg){ C_SELF, NULL, 0 };
    case 5: return (Arg){ C_SELFNEG, NULL, 0 };
    case 6: return num(99999);
    case 7: return num((u64)(int64_t)INT32_MIN);
    case 8: return num(chance(r, 20) ? (u64)-1 : 0x7fffffff);
    default: return num(2000 + below(r, 1000));
    }
}

static Arg signal_number(Rng *r)
{
    static const u64 odd[] = { 65, 128, (u64)-1, 0x100000001ULL, 1000 };
    /* Ignored by default: SIGCHLD, SIGCONT, SIGURG, SIGWINCH. */
    static const u64 harmless[] = { 17, 18, 23, 28 };
    int which = (int)below(r, 100);
    if (which < 40)
        return num(0);
    if (which < 70)
        return num(PICK(r, harmless));
    if (which < 75)
        return num(PICK(r, odd));
    /* Self-inflicted deaths are fine (the worker is respawned) but must not
     * dominate: the default action of most signals ends the worker. */
    return num(1 + below(r, 64));
}

static Arg address(Rng *r)
{
    switch (below(r, 10)) {
    case 0: case 1: case 2: case 3: return (Arg){ C_ARENA, NULL, ARENA + below(r, 16) * 4096 + (chance(r, 10) ? 1 : 0) };
    case 4: return (Arg){ C_BIG, NULL, BIG };
    case 5: return num(0);
    case 6: return (Arg){ C_BUF, NULL, BUFFERS + below(r, 32) * 4096 };
    case 7: return bad_pointer(r);
    default: return num(PICK(r, edges) & ~(u64)0xfff);
    }
}

static Arg path(Rng *r)
{
    int which = (int)below(r, 20);
    if (which < 14) {
        int index = (int)below(r, sizeof paths / sizeof paths[0]);
        return (Arg){ C_PATH, paths[index], (u64)(uintptr_t)paths[index] };
    }
    if (which < 16)
        return (Arg){ C_PATH, "(longer than PATH_MAX)", path_buffer_address() };
    if (which < 17)
        return (Arg){ C_PATH, "(random bytes)", BUFFERS + below(r, BUFFERS_SIZE) };
    if (which < 18)
        return (Arg){ C_PATH, "(no NUL before the arena's end)", ARENA_END - 1 - below(r, 64) };
    return bad_pointer(r);
}

static Arg ioctl_request(Rng *r)
{
    static const u64 requests[] = {
        0x5401, 0x5402, 0x5403, 0x5404, 0x5405, 0x5406, 0x5409, 0x540b, 0x540e, 0x540f, 0x5410,
        0x5411, 0x5412, 0x5413, 0x5414, 0x541b, 0x5421, 0x5422, 0x5450, 0x5451, 0x5452, 0x80045430,
        0x40045431, 0x5429, 0x540a, 0,
    };
    if (chance(r, 15))
        return num(next(r) & 0xffffffff);
    return num(PICK(r, requests));
}

static Arg fcntl_command(Rng *r)
{
    static const u64 commands[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1024, 1025, 1026, 1030, 1031, 1032, 1033, 1034 };
    if (chance(r, 10))
        return num(next(r) & 0xffffffff);
    return num(PICK(r, commands));
}

/* Timespecs and iovecs the worker keeps ready in its buffers (see `prepare`):
 * BUFFERS + 0x0000: {0, 0}, {0, 1000}, {0, 999999}, {0, 1000000000}, {-1, 0},
 *                   {1 << 62, 0} (sleeps "forever": the watchdog's business), {0, -1},
 *                   {0, 999999999} (almost a second)
 * BUFFERS + 0x1000: iovecs: {buffers+0x4000, 16} {NULL, 0} {kernel, 8} {arena-end-4, 16}
 *                   {buffers+0x5000, 4096} {NULL, 1} ... */
#define TIMESPECS (BUFFERS + 0x0000)
#define IOVECS (BUFFERS + 0x1000)
#define TEXTS (BUFFERS + 0x2000)


static Arg timespec(Rng *r)
{
    int which = (int)below(r, 1000);
    if (which < 400)
        return (Arg){ C_BUF, NULL, TIMESPECS + 16 * below(r, 2) };
    if (which < 700)
        return (Arg){ C_BUF, NULL, TIMESPECS + 16 * (2 + below(r, 3)) };
    if (which < 720)
        return (Arg){ C_BUF, NULL, TIMESPECS + 16 * 6 };
    /* "Forever": {1 << 62, 0}, or NULL for the calls that wait; rarely (the
     * watchdog ends them). */
    if (which < 722)
        return (Arg){ C_BUF, NULL, TIMESPECS + 16 * 5 };
    if (which < 724)
        return (Arg){ C_BUF, NULL, TIMESPECS + 16 * 7 };
    if (which < 726)
        return num(0);
    return bad_pointer(r);
}

static Arg iovec(Rng *r)
{
    if (chance(r, 75))
        return (Arg){ C_BUF, NULL, IOVECS + 16 * below(r, 8) };
    return pointer(r);
}

static Arg arch_prctl_code(Rng *r)
{
    static const u64 codes[] = { 0x1001, 0x1002, 0x1003, 0x1004, 0x1011, 0x1012, 0x3001, 0, (u64)-1 };
    return num(PICK(r, codes));
}

static Arg argument(Rng *r, int kind)
{
    switch (kind) {
    case K_FD: return descriptor(r);
    case K_DIRFD: return chance(r, 40) ? num((u64)-100) : descriptor(r);
    case K_PTR: return chance(r, 10) ? num(0) : pointer(r);
    case K_OUT: return pointer(r);
    case K_LEN: return length(r);
    case K_INT: return chance(r, 60) ? num(below(r, 8)) : any(r);
    case K_FLAGS: return flags(r);
    case K_PID: return pid(r);
    case K_SIG: return signal_number(r);
    case K_ADDR: return address(r);
    case K_PATH: return path(r);
    case K_IOCTL: return ioctl_request(r);
    case K_FCNTL: return fcntl_command(r);
    case K_TIMESPEC: return timespec(r);
    case K_POLLMS: return num(below(r, 1000) < 997 ? below(r, 2) : (u64)-1);
    case K_IOV: return iovec(r);
    case K_CODE: return arch_prctl_code(r);
    case K_ZERO: return num(0);
    default: return any(r);
    }
}

static long call_number(Rng *r)
{
    static const long odd[] = { 463, 500, 511, 512, 513, 1000, 4096, -1, 0xffffffffL, 0x40000000L, 0x40000001L,
                                0x4000000fL, 0x7fffffffL, (long)0x8000000000000000ULL, 335, 400, 423 };
    int which = (int)below(r, 100);
    if (which < 75) {
        /* From the table, by weight. */
        static int total;
        if (!total)
            for (size_t i = 0; i < SPECS; i++)
                total += specs[i].weight;
        int pick = (int)below(r, (u64)total);
        for (size_t i = 0; i < SPECS; i++) {
            pick -= specs[i].weight;
            if (pick < 0)
                return specs[i].number;
        }
    }
    if (which < 95)
        return (long)below(r, 463);
    return PICK(r, odd);
}

static int blocks_forever(long n)
{
    return n == SYS_pause || n == SYS_rt_sigsuspend;
}

/* The next call of a generation. Depends only on the generator's state. */
static Call generate(Rng *r)
{
    Call call;
    memset(&call, 0, sizeof call);
    int special = (int)below(r, 1000);
    if (special < 4) {
        call.op = OP_SIGRETURN;
        call.number = SYS_rt_sigreturn;
        call.fill = next(r);
        return call;
    }
    if (special >= 32 && special < 44) {
        /* 12 in 1000: threads made by raw clone, futexes, exits. */
        call.op = OP_THREADS;
        call.number = -1;
        call.fill = next(r);
        return call;
    }
    if (special >= 8 && special < 32) {
        /* 4 in 1000 each, the memory sequences 12. */
        static const int ops[] = { OP_COMPAT, OP_SEGMENT, OP_RFLAGS, OP_MEMORY, OP_MEMORY, OP_MEMORY };
        call.op = ops[(special - 8) / 4];
        call.number = -1;
        call.fill = next(r);
        return call;
    }
    if (special < 8) {
        call.op = OP_EXECVE;
        call.number = SYS_execve;
        call.arg[0] = path(r);
        switch (below(r, 4)) {
        case 0: call.arg[1] = num(0); break;
        case 1: call.arg[1] = bad_pointer(r); break;
        case 2: call.arg[1] = (Arg){ C_BUF, NULL, TEXTS + 0x100 }; break; /* {"fuzz", NULL} */
        default: call.arg[1] = good_pointer(r); break;
        }
        call.arg[2] = chance(r, 50) ? num(0) : pointer(r);
        return call;
    }
    long n;
    do {
        n = call_number(r);
        /* The calls that only wait for a signal: rarely (the watchdog ends them). */
    } while (excluded(n) || (blocks_forever(n) && !chance(r, 2)));
    call.op = OP_CALL;
    call.number = n;
    const struct Spec *spec = spec_of(n);
    for (int i = 0; i < 6; i++)
        call.arg[i] = argument(r, spec ? spec->kind[i] : K_ANY);
    if (spec) {
        /* Unused trailing arguments: usually 0, sometimes garbage. */
        int used = 0;
        for (int i = 0; i < 6; i++)
            if (spec->kind[i])
                used = i + 1;
        for (int i = used; i < 6; i++)
            if (!chance(r, 10))
                call.arg[i] = num(0);
    }
    return call;
}

/* ---- Printing a call ---- */

static const char *call_name(long n)
{
    static const struct {
        long n;
        const char *name;
    } names[] = {
        { 0, "read" }, { 1, "write" }, { 2, "open" }, { 3, "close" }, { 4, "stat" }, { 5, "fstat" },
        { 6, "lstat" }, { 7, "poll" }, { 8, "lseek" }, { 9, "mmap" }, { 10, "mprotect" }, { 11, "munmap" },
        { 12, "brk" }, { 13, "rt_sigaction" }, { 14, "rt_sigprocmask" }, { 15, "rt_sigreturn" },
        { 16, "ioctl" }, { 17, "pread64" }, { 18, "pwrite64" }, { 19, "readv" }, { 20, "writev" },
        { 21, "access" }, { 22, "pipe" }, { 23, "select" }, { 24, "sched_yield" }, { 25, "mremap" },
        { 28, "madvise" }, { 32, "dup" }, { 33, "dup2" }, { 34, "pause" }, { 35, "nanosleep" },
        { 37, "alarm" }, { 38, "setitimer" }, { 39, "getpid" }, { 40, "sendfile" }, { 56, "clone" },
        { 57, "fork" }, { 58, "vfork" }, { 59, "execve" }, { 61, "wait4" }, { 62, "kill" }, { 63, "uname" },
        { 72, "fcntl" }, { 79, "getcwd" }, { 80, "chdir" }, { 81, "fchdir" }, { 89, "readlink" },
        { 95, "umask" }, { 96, "gettimeofday" }, { 97, "getrlimit" }, { 98, "getrusage" }, { 99, "sysinfo" },
        { 100, "times" }, { 102, "getuid" }, { 109, "setpgid" }, { 110, "getppid" }, { 112, "setsid" },
        { 121, "getpgid" }, { 124, "getsid" }, { 127, "rt_sigpending" }, { 128, "rt_sigtimedwait" },
        { 129, "rt_sigqueueinfo" }, { 130, "rt_sigsuspend" }, { 131, "sigaltstack" }, { 140, "getpriority" },
        { 141, "setpriority" }, { 157, "prctl" }, { 158, "arch_prctl" }, { 160, "setrlimit" }, { 186, "gettid" },
        { 200, "tkill" }, { 201, "time" }, { 203, "sched_setaffinity" }, { 204, "sched_getaffinity" },
        { 217, "getdents64" }, { 218, "set_tid_address" }, { 219, "restart_syscall" }, { 228, "clock_gettime" },
        { 229, "clock_getres" }, { 230, "clock_nanosleep" }, { 234, "tgkill" }, { 257, "openat" },
        { 262, "newfstatat" }, { 267, "readlinkat" }, { 269, "faccessat" }, { 270, "pselect6" },
        { 271, "ppoll" }, { 292, "dup3" }, { 293, "pipe2" }, { 302, "prlimit64" }, { 318, "getrandom" },
        { 435, "clone3" }, { 439, "faccessat2" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].n == n)
            return names[i].name;
    return NULL;
}

static void describe_arg(char *out, size_t size, const Arg *a)
{
    switch (a->cls) {
    case C_FD: snprintf(out, size, "fd %llu", (unsigned long long)a->value); break;
    case C_BUF: snprintf(out, size, "buffers+%#llx", (unsigned long long)(a->value - BUFFERS)); break;
    case C_ARENA: snprintf(out, size, "arena+%#llx", (unsigned long long)(a->value - ARENA)); break;
    case C_BIG: snprintf(out, size, "big+%#llx", (unsigned long long)(a->value - BIG)); break;
    case C_PATH: snprintf(out, size, "\"%s\"", a->what); break;
    case C_TEXT: snprintf(out, size, "text %#llx", (unsigned long long)a->value); break;
    case C_BAD: snprintf(out, size, "%s %#llx", a->what, (unsigned long long)a->value); break;
    case C_SELF: snprintf(out, size, "self"); break;
    case C_SELFNEG: snprintf(out, size, "-self"); break;
    default:
        if ((int64_t)a->value < 0 && (int64_t)a->value > -100000)
            snprintf(out, size, "%lld", (long long)a->value);
        else
            snprintf(out, size, "%#llx", (unsigned long long)a->value);
    }
}

static void describe(char *out, size_t size, const Call *call)
{
    const char *name = call_name(call->number);
    int used;
    static const char *const what[] = {
        [OP_SIGRETURN] = "rt_sigreturn with a forged frame",
        [OP_COMPAT] = "a trip into 32-bit code",
        [OP_SEGMENT] = "a segment register load",
        [OP_RFLAGS] = "RFLAGS games",
        [OP_MEMORY] = "a brk/mmap/munmap/mprotect/fork sequence",
        [OP_THREADS] = "a clone/futex/tkill/munmap/exit sequence of raw threads",
    };
    if (call->op != OP_CALL && call->op != OP_EXECVE) {
        snprintf(out, size, "%s (seeded %#llx), in a child", what[call->op], (unsigned long long)call->fill);
        return;
    }
    if (name)
        used = snprintf(out, size, "%s(", name);
    else
        used = snprintf(out, size, "syscall_%ld(", call->number);
    int shown = call->op == OP_EXECVE ? 3 : 6;
    while (shown > 1 && call->arg[shown - 1].cls == C_NUM && call->arg[shown - 1].value == 0)
        shown--;
    for (int i = 0; i < shown && used < (int)size; i++) {
        char text[96];
        describe_arg(text, sizeof text, &call->arg[i]);
        used += snprintf(out + used, size - used, "%s%s", i ? ", " : "", text);
    }
    if (used < (int)size)
        snprintf(out + used, size - used, ")");
}

/* ---- The worker ---- */

static char long_path[5000];

static u64 path_buffer_address(void)
{
    return (u64)(uintptr_t)long_path;
}

static pid_t self_pid;

static u64 value_of(const Arg *a)
{
    switch (a->cls) {
    case C_SELF: return (u64)self_pid;
    case C_SELFNEG: return (u64)-(int64_t)self_pid;
    default: return a->value;
    }
}

/* Maps (again) the buffers and the arena and fills them with what the calls expect
 * to find there: random bytes, timespecs, iovecs, and argv {"fuzz", NULL}. */
static void prepare(Rng *fill)
{
    /* Whatever a call mapped and filled at the big address goes: one worker must not
     * hold most of the memory for its whole life. */
    munmap((void *)BIG, (u64)1 << 32);
    void *b = mmap((void *)BUFFERS, BUFFERS_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    void *a = mmap((void *)ARENA, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (b == MAP_FAILED || a == MAP_FAILED)
        raw_exit(120);
    munmap((void *)ARENA_END, 4096);
    munmap((void *)(BUFFERS + BUFFERS_SIZE), 4096);
    u64 *words = (u64 *)BUFFERS;
    for (size_t i = 0; i < BUFFERS_SIZE / 8; i += 1 + (size_t)below(fill, 8))
        words[i] = next(fill);
    int64_t *ts = (int64_t *)TIMESPECS;
    const int64_t times[][2] = { { 0, 0 }, { 0, 1000 }, { 0, 999999 }, { 0, 1000000000 }, { -1, 0 },
                                 { (int64_t)1 << 62, 0 }, { 0, -1 }, { 0, 999999999 } };
    for (int i = 0; i < 8; i++) {
        ts[2 * i] = times[i][0];
        ts[2 * i + 1] = times[i][1];
    }
    u64 *iov = (u64 *)IOVECS;
    const u64 iovecs[][2] = { { BUFFERS + 0x4000, 16 }, { 0, 0 }, { 0xffffffff80000000ULL, 8 }, { ARENA_END - 4, 16 },
                              { BUFFERS + 0x5000, 4096 }, { 0, 1 }, { BUFFERS + 0x6000, 0x7fffffffffffffffULL },
                              { BUFFERS + 0x7000, 100 }, { TIMESPECS, 64 }, { 0, 0 } };
    for (int i = 0; i < 10; i++) {
        iov[2 * i] = iovecs[i][0];
        iov[2 * i + 1] = iovecs[i][1];
    }
    char *texts = (char *)TEXTS;
    strcpy(texts, "fuzz");
    u64 *argv = (u64 *)(TEXTS + 0x100);
    argv[0] = TEXTS;
    argv[1] = 0;
    /* Pointers to "PATH=/bin" and to nothing for envp-like uses. */
    strcpy(texts + 0x20, "PATH=/bin");
    mprotect((void *)BUFFERS, STRUCTURES_SIZE, PROT_READ);
}

/* Every descriptor the worker has (below HIGH_FD) becomes non-blocking, so that no
 * read or write on a pipe waits forever. */
static void nonblocking_all(void)
{
    for (int fd = 0; fd < HIGH_FD; fd++) {
        long flags = sys3(SYS_fcntl, fd, F_GETFL, 0);
        if (flags >= 0 && !(flags & O_NONBLOCK))
            sys3(SYS_fcntl, fd, F_SETFL, flags | O_NONBLOCK);
    }
}

static void close_high(void)
{
    for (int fd = 8; fd < 128; fd++)
        if (fd != PROGRESS_FD)
            sys1(SYS_close, fd);
}

/* Waits for a child the worker made, killing it if it takes too long. */
static void reap(pid_t child)
{
    for (int i = 0; i < 2000; i++) {
        long r = sys4(SYS_wait4, child, 0, WNOHANG | __WALL, 0);
        if (r == child || r == -ECHILD)
            return;
        sys0(SYS_sched_yield);
    }
    sys2(SYS_kill, child, SIGKILL);
    sys4(SYS_wait4, child, 0, __WALL, 0);
}

/* Runs `body(seed)` in a child of the worker and waits for it: what it does to its
 * own registers or memory may kill it, never the worker. */
static void in_child(void (*body)(u64), u64 seed)
{
    pid_t child = (pid_t)sys0(SYS_fork);
    if (child == 0) {
        body(seed);
        raw_exit(0);
    }
    if (child > 0)
        reap(child);
}

/* The landing place of a forged signal frame: exits without touching the stack. */
__asm__(".text\n"
        "fuzz_landing:\n"
        "  mov $60, %eax\n"
        "  mov $77, %edi\n"
        "  syscall\n"
        "  ud2\n");
extern char fuzz_landing[];

static unsigned char frame_area[8192] __attribute__((aligned(64)));
static unsigned char landing_stack[4096] __attribute__((aligned(16)));

/* rt_sigreturn with a frame of random bytes whose fields are pushed toward edge
 * values (a kernel CS, a non-canonical rip, a garbage XSAVE image). */
static void forged_sigreturn(u64 seed)
{
    Rng r = { seed };
    u64 *words = (u64 *)frame_area;
    for (size_t i = 0; i < sizeof frame_area / 8; i++)
        words[i] = chance(&r, 50) ? 0 : next(&r);
    /* The frame at rsp: [restorer][ucontext: flags, link, stack(24), mcontext(256), sigmask]
     * mcontext: r8..r15 rdi rsi rbp rbx rdx rax rcx rsp rip eflags cs/gs/fs/ss err trapno
     * oldmask cr2 fpstate reserved[8]. After `syscall`, rsp points at the ucontext - 8 + 8. */
    /* rt_sigreturn finds the ucontext at its rsp (the handler's `ret` popped the
     * restorer that precedes it). */
    u64 *uc = (u64 *)(frame_area + 2048);
    u64 *mc = uc + 5; /* after uc_flags, uc_link, uc_stack (ss_sp, ss_flags, ss_size) */
    static const u64 rips[] = { 0, 0xffffffff80000000ULL, 0x0000800000000000ULL, 0x8000000000000000ULL,
                                0x00007ffffffff000ULL, 0x00007fffffffeffeULL };
    mc[16] = chance(&r, 70) ? (u64)(uintptr_t)fuzz_landing : PICK(&r, rips);       /* rip */
    mc[15] = chance(&r, 80) ? (u64)(uintptr_t)(landing_stack + 2048) : next(&r); /* rsp */
    mc[17] = chance(&r, 50) ? 0x202 : next(&r);                                    /* eflags */
    static const uint16_t selectors[] = { 0x33, 0x33, 0x33, 0x10, 0x08, 0x2b, 0x23, 0x18, 0x00, 0x3b, 0xffff, 0x13, 0x30 };
    uint16_t *seg = (uint16_t *)&mc[18];
    seg[0] = PICK(&r, selectors); /* cs */
    seg[1] = 0;                   /* gs */
    seg[2] = 0;                   /* fs */
    seg[3] = chance(&r, 60) ? 0x2b : PICK(&r, selectors); /* ss */
    /* fpstate: none, a buffer of random bytes, an fxsave image with random MXCSR and
     * XSAVE header, or a bad pointer. */
    unsigned char *fp = frame_area + 4096;
    switch (below(&r, 5)) {
    case 0: mc[23] = 0; break;
    case 1: mc[23] = (u64)(uintptr_t)fp; break;
    case 2: {
        __asm__ volatile("fxsave64 %0" : "=m"(*(unsigned char(*)[512])fp));
        if (chance(&r, 70))
            *(uint32_t *)(fp + 24) = (uint32_t)next(&r); /* MXCSR */
        if (chance(&r, 50)) {
            /* sw_reserved: magic1 FP_XSTATE_MAGIC1, extended size, xfeatures, xstate size */
            uint32_t *sw = (uint32_t *)(fp + 464);
            sw[0] = 0x46505853;
            sw[1] = chance(&r, 50) ? 512 + 64 + 256 + 4 : (uint32_t)next(&r);
            *(u64 *)(sw + 2) = chance(&r, 50) ? 7 : next(&r);
            sw[4] = chance(&r, 50) ? 512 + 64 + 256 : (uint32_t)next(&r);
            *(u64 *)(fp + 512) = next(&r) & 0xff; /* XSTATE_BV */
            *(u64 *)(fp + 520) = chance(&r, 80) ? 0 : next(&r); /* XCOMP_BV */
        }
        mc[23] = (u64)(uintptr_t)fp;
        break;
    }
    case 3: mc[23] = 0xffffffff80000000ULL; break;
    default: mc[23] = (u64)(uintptr_t)(frame_area + sizeof frame_area - 16); break;
    }
    uc[0] = chance(&r, 50) ? 0x7 : next(&r); /* uc_flags: FP_XSTATE | SIGCONTEXT_SS | STRICT_RESTORE_SS */
    __asm__ volatile("mov %0, %%rsp\n"
                     "mov $15, %%eax\n"
                     "syscall\n"
                     "ud2\n"
                     :
                     : "r"(uc)
                     : "memory");
    __builtin_unreachable();
}

/* fuzz_compat(variant, eax, iterations): far-jumps into the 32-bit user code
 * segment (0x23) through memory (not lretq: QEMU's far return reads the user stack
 * as a supervisor access, which SMAP refuses), and there 0: `syscall`, 1: `sysenter`, 2: `int $0x80` with eax
 * as the number, 3: a loop long enough to be preempted; then jumps back to 64-bit
 * code and exits 0. 4 and 5: `sysenter` and `int $0x80` from 64-bit code. The
 * program is static and not PIE: its text lies below 4 GiB, where 32-bit code can
 * run. No memory is touched in 32-bit code (DS is null there). */
__asm__(".bss\n"
        "fuzz_far_pointer: .skip 8\n"
        ".text\n"
        "fuzz_compat:\n"
        "  mov %rsi, %rax\n"
        "  mov %rdx, %rcx\n"
        "  cmp $4, %edi\n"
        "  je 5f\n"
        "  cmp $5, %edi\n"
        "  je 6f\n"
        "  movl $fuzz_compat32, fuzz_far_pointer(%rip)\n"
        "  movw $0x23, fuzz_far_pointer+4(%rip)\n"
        "  ljmpl *fuzz_far_pointer(%rip)\n"
        "5:\n"
        "  sysenter\n"
        "  jmp fuzz_compat64\n"
        "6:\n"
        "  int $0x80\n"
        "  jmp fuzz_compat64\n"
        ".code32\n"
        "fuzz_compat32:\n"
        "  cmp $0, %edi\n"
        "  jne 1f\n"
        "  syscall\n"
        "  jmp 4f\n"
        "1:\n"
        "  cmp $1, %edi\n"
        "  jne 2f\n"
        "  sysenter\n"
        "  jmp 4f\n"
        "2:\n"
        "  cmp $2, %edi\n"
        "  jne 3f\n"
        "  int $0x80\n"
        "  jmp 4f\n"
        "3:\n"
        "  dec %ecx\n"
        "  jnz 3b\n"
        "4:\n"
        "  ljmp $0x33, $fuzz_compat64\n"
        ".code64\n"
        "fuzz_compat64:\n"
        "  mov $60, %eax\n"
        "  xor %edi, %edi\n"
        "  syscall\n"
        "  ud2\n");
extern void fuzz_compat(u64 variant, u64 eax, u64 iterations);

static void compat_trip(u64 seed)
{
    Rng r = { seed };
    /* Numbers of the i386 table (exit, getpid, write, ...) and garbage. */
    static const u64 numbers[] = { 1, 20, 4, 0, 0x7fffffff, 0xffffffff, 1000 };
    u64 variant = below(&r, 6), number = chance(&r, 80) ? PICK(&r, numbers) : next(&r) & 0xffffffff;
    fuzz_compat(variant, number, 1 + below(&r, 1 << 23));
}

/* Loads a data segment register with a selector of the kernel's, a user one, the
 * null one or garbage, then keeps making system calls (through switches) with
 * whatever base that left: the worker and its siblings share this TLS pointer,
 * and must not notice. */
static void segment_load(u64 seed)
{
    Rng r = { seed };
    static const uint16_t selectors[] = { 0, 0x2b, 0x23, 0x33, 0x10, 0x18, 0x3, 0x8, 0x13, 0x40, 0x43, 0xffff };
    uint16_t selector = chance(&r, 85) ? PICK(&r, selectors) : (uint16_t)next(&r);
    switch (below(&r, 5)) {
    case 0: __asm__ volatile("mov %0, %%fs" ::"r"(selector)); break;
    case 1: __asm__ volatile("mov %0, %%gs" ::"r"(selector)); break;
    case 2: __asm__ volatile("mov %0, %%ds" ::"r"(selector)); break;
    case 3: __asm__ volatile("mov %0, %%es" ::"r"(selector)); break;
    default: __asm__ volatile("mov %0, %%ss" ::"r"(selector)); break;
    }
    /* Only raw calls from here: libc's TLS may be gone. */
    for (u64 i = 0, n = below(&r, 50); i < n; i++)
        sys0(SYS_sched_yield);
}

/* Sets random RFLAGS bits (trap, direction, alignment check, nested task, IOPL,
 * resume, ID, and any others the CPU takes), then makes system calls and an
 * unaligned load, and exits, all without leaving the asm (the C ABI assumes DF
 * clear). TF ends it with SIGTRAP, AC with SIGBUS at the unaligned load, as on Linux. */
static void rflags_games(u64 seed)
{
    Rng r = { seed };
    static const u64 bits[] = { 0x100, 0x400, 0x40000, 0x4000, 0x3000, 0x10000, 0x200000, 0x200 };
    u64 set = 0;
    for (int i = 0, n = 1 + (int)below(&r, 3); i < n; i++)
        set |= PICK(&r, bits);
    if (chance(&r, 10))
        set = next(&r);
    static u64 unaligned[2];
    __asm__ volatile("pushfq\n"
                     "xor %0, (%%rsp)\n"
                     "popfq\n"
                     "mov $39, %%eax\n"
                     "syscall\n"
                     "mov $24, %%eax\n"
                     "syscall\n"
                     "mov 1(%1), %%rax\n"
                     "mov $60, %%eax\n"
                     "xor %%edi, %%edi\n"
                     "syscall\n"
                     :
                     : "r"(set), "r"(unaligned)
                     : "rax", "rcx", "rdi", "r11", "memory", "cc");
}

/* Where a memory sequence works: the heap from the break it inherited, and a window
 * of its own, each 64 pages with room for mappings to run past them. */
#define WINDOW ((u64)0x50000000)
#define WINDOW_PAGES 64

/* A sequence of brk, mmap (fixed, over the heap too), munmap, mprotect and forks,
 * with the kernel writing into and reading from the pages between (read from
 * /dev/zero, write to /dev/null: EFAULT where nothing is mapped), and now and then
 * a store of its own (which may fault: the child's SIGSEGV). Exits, so that the
 * kernel must take everything back exactly once. */
static void memory_sequence(u64 seed)
{
    Rng r = { seed };
    u64 heap = (u64)sys1(SYS_brk, 0);
    for (int step = 0, steps = 8 + (int)below(&r, 32); step < steps; step++) {
        u64 base = chance(&r, 50) ? heap : WINDOW;
        u64 address = base + below(&r, WINDOW_PAGES + 8) * 4096;
        u64 length = (1 + below(&r, 16)) * 4096;
        static const int protections[] = { PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC };
        int prot = PICK(&r, protections);
        switch (below(&r, 8)) {
        case 0: sys1(SYS_brk, heap + below(&r, WINDOW_PAGES + 8) * 4096 - (chance(&r, 10) ? 16 * 4096 : 0)); break;
        case 1: sys6(SYS_mmap, (long)address, (long)length, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0); break;
        case 2: sys2(SYS_munmap, address, length); break;
        case 3: sys3(SYS_mprotect, address, length, prot); break;
        case 4: sys3(SYS_read, 7, address, length); break;
        case 5: sys3(SYS_write, 0, address, length); break;
        case 6: {
            pid_t child = (pid_t)sys0(SYS_fork);
            if (child == 0) {
                sys3(SYS_read, 7, address, length);
                raw_exit(0);
            }
            if (child > 0)
                reap(child);
            break;
        }
        default:
            if (chance(&r, 30))
                *(volatile char *)address = 1;
            break;
        }
    }
}

/* ---- Threads: raw clone, futexes, signals, exits, stacks unmapped under them ---- */

/* The raw threads' stacks, at fixed addresses of the child that runs a sequence. */
#define THREAD_STACKS ((u64)0x60000000)
#define THREAD_STACK_SIZE ((u64)16 * 4096)
#define RAW_THREADS 6

/* What the threads of a sequence share: futex words, each thread's CLONE_CHILD_*TID
 * word (its tid while it runs, 0 once the kernel cleared it), a TLS area each
 * (CLONE_SETTLS; the code never reads through it), robust-list heads, and the seed
 * of each thread's own steps. */
static _Atomic int thread_words[8];
static _Atomic int thread_tids[RAW_THREADS];
static unsigned char thread_tls[RAW_THREADS][256] __attribute__((aligned(64)));
static u64 robust_heads[RAW_THREADS][3];
static u64 thread_seeds[RAW_THREADS];

/* munmap(base, length) then exit(0), without touching the stack in between: how
 * musl ends a detached thread whose stack it mapped. */
__asm__(".text\n"
        "fuzz_unmap_self_exit:\n"
        "  mov $11, %eax\n"
        "  syscall\n"
        "  mov $60, %eax\n"
        "  xor %edi, %edi\n"
        "  syscall\n"
        "  ud2\n");
extern __attribute__((noreturn)) void fuzz_unmap_self_exit(u64 base, u64 length);

static u64 stack_base(int i) { return THREAD_STACKS + (u64)i * (THREAD_STACK_SIZE + 4096); }

/* A futex word: a shared one mostly, else a thread's tid word, one off alignment, or
 * one not mapped at all. */
__attribute__((no_stack_protector)) static u64 futex_word(Rng *r)
{
    int which = (int)below(r, 20);
    if (which < 14)
        return (u64)(uintptr_t)&thread_words[below(r, 8)];
    if (which < 17)
        return (u64)(uintptr_t)&thread_tids[below(r, RAW_THREADS)];
    if (which < 18)
        return (u64)(uintptr_t)&thread_words[below(r, 8)] + 1 + below(r, 3);
    return PICK(r, bads).address;
}

/* One futex call with arguments from `r`: waits always with a timeout of at most
 * 3 ms (relative, or absolute by the clock FUTEX_CLOCK_REALTIME names), so that no
 * step blocks for long. */
__attribute__((no_stack_protector)) static void futex_step(Rng *r)
{
    u64 word = futex_word(r), other = futex_word(r);
    int private_flag = chance(r, 50) ? FUTEX_PRIVATE_FLAG : 0;
    struct timespec timeout = { 0, (long)below(r, 3000000) };
    if (chance(r, 20) && (word & 3) == 0 && word >= (u64)(uintptr_t)thread_words &&
        word < (u64)(uintptr_t)(thread_words + 8))
        __atomic_store_n((int *)(uintptr_t)word, (int)below(r, 4), __ATOMIC_SEQ_CST);
    int expected = (int)below(r, 4);
    switch (below(r, 8)) {
    case 0:
    case 1:
        sys6(SYS_futex, (long)word, FUTEX_WAIT | private_flag, expected, (long)&timeout, 0, 0);
        break;
    case 2: {
        int realtime = chance(r, 50);
        struct timespec now = { 0, 0 };
        sys2(SYS_clock_gettime, realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC, &now);
        now.tv_nsec += timeout.tv_nsec;
        if (now.tv_nsec >= 1000000000) {
            now.tv_sec++;
            now.tv_nsec -= 1000000000;
        }
        sys6(SYS_futex, (long)word, FUTEX_WAIT_BITSET | private_flag | (realtime ? FUTEX_CLOCK_REALTIME : 0), expected,
             (long)&now, 0, chance(r, 80) ? (long)FUTEX_BITSET_MATCH_ANY : (long)below(r, 16));
        break;
    }
    case 3:
    case 4:
        sys6(SYS_futex, (long)word, (chance(r, 80) ? FUTEX_WAKE : FUTEX_WAKE_BITSET) | private_flag,
             chance(r, 50) ? 1 : (long)below(r, 0x80000000), 0, 0, (long)below(r, 16));
        break;
    case 5:
        sys6(SYS_futex, (long)word, (chance(r, 50) ? FUTEX_REQUEUE : FUTEX_CMP_REQUEUE) | private_flag,
             (long)below(r, 3), (long)below(r, 4) - (chance(r, 10) ? 2 : 0), (long)other, expected);
        break;
    case 6:
        sys6(SYS_futex, (long)word, FUTEX_WAKE_OP | private_flag, (long)below(r, 3), (long)below(r, 3), (long)other,
             (long)FUTEX_OP(below(r, 6) | (chance(r, 20) ? FUTEX_OP_OPARG_SHIFT : 0), below(r, 0x1000), below(r, 7),
                            below(r, 0x1000)));
        break;
    default:
        /* A robust list: empty, pointing at a futex word (with a futex_offset of 0 or
         * garbage), or anywhere; the kernel walks it at the thread's exit. */
        {
            int me = (int)below(r, RAW_THREADS);
            robust_heads[me][0] = chance(r, 30) ? (u64)(uintptr_t)robust_heads[me] : futex_word(r);
            robust_heads[me][1] = chance(r, 70) ? 0 : next(r);
            robust_heads[me][2] = chance(r, 70) ? 0 : futex_word(r);
            sys2(SYS_set_robust_list, (long)robust_heads[me], chance(r, 90) ? 24 : (long)below(r, 64));
        }
        break;
    }
}

/* A signal for tkill: none (a probe), ones ignored by default, or ones that end the
 * whole thread group (its threads' script is then cut short). */
static int thread_signal(Rng *r)
{
    static const int signals[] = { 0, 0, SIGURG, SIGCHLD, SIGWINCH, SIGUSR1, SIGKILL, SIGSEGV };
    return PICK(r, signals);
}

/* The steps of raw thread `index`: futex calls, tkill of siblings, and an end: exit,
 * exit_group, or munmap of its own stack then exit. */
__attribute__((no_stack_protector)) static long thread_script(void *arg)
{
    int index = (int)(uintptr_t)arg;
    Rng r = { thread_seeds[index] };
    for (int step = 0, steps = 2 + (int)below(&r, 24); step < steps; step++) {
        switch (below(&r, 10)) {
        case 0:
            sys0(chance(&r, 50) ? SYS_sched_yield : SYS_gettid);
            break;
        case 1: {
            int target = __atomic_load_n(&thread_tids[below(&r, RAW_THREADS)], __ATOMIC_SEQ_CST);
            sys3(SYS_tgkill, sys0(SYS_getpid), target > 0 ? target : (int)sys0(SYS_gettid), thread_signal(&r));
            break;
        }
        default:
            futex_step(&r);
            break;
        }
    }
    switch (below(&r, 10)) {
    case 0:
        sys1(SYS_exit_group, below(&r, 256));
        break;
    case 1:
    case 2:
        fuzz_unmap_self_exit(stack_base(index), THREAD_STACK_SIZE);
    default:
        break;
    }
    return (long)below(&r, 256);
}

/* A child of the worker makes raw threads (clone with musl's flags, some taken away
 * or added, sometimes refused ones), and it and they make futex calls on shared and
 * bad words, tkill one another, unmap stacks under running threads, and exit or
 * exit_group at random points; the sequence ends with exit_group (or a plain exit,
 * leaving the process to its last thread). Nothing blocks for long: every wait has a
 * timeout, and the worker kills the child if it lingers. */
__attribute__((no_stack_protector)) static void thread_sequence(u64 seed)
{
    Rng r = { seed };
    for (int i = 0; i < RAW_THREADS; i++)
        sys6(SYS_mmap, (long)stack_base(i), (long)THREAD_STACK_SIZE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    for (int step = 0, steps = 4 + (int)below(&r, 40); step < steps; step++) {
        int i = (int)below(&r, RAW_THREADS);
        switch (below(&r, 12)) {
        case 0:
        case 1:
        case 2: {
            /* A stack still in use gets a second thread only now and then. */
            if (__atomic_load_n(&thread_tids[i], __ATOMIC_SEQ_CST) != 0 && !chance(&r, 10))
                break;
            u64 flags = RAW_THREAD_FLAGS;
            u64 tls = 0;
            if (chance(&r, 20))
                flags &= ~(u64)CLONE_CHILD_CLEARTID;
            if (chance(&r, 20))
                flags |= CLONE_CHILD_SETTID;
            if (chance(&r, 20)) {
                flags |= CLONE_SETTLS;
                tls = (u64)(uintptr_t)thread_tls[i];
            }
            if (chance(&r, 10))
                flags ^= 1ULL << below(&r, 32);
            thread_seeds[i] = next(&r);
            __atomic_store_n(&thread_tids[i], -1, __ATOMIC_SEQ_CST);
            long tid = raw_thread(flags, (void *)(uintptr_t)(stack_base(i) + THREAD_STACK_SIZE), NULL,
                                  (int *)&thread_tids[i], tls, thread_script, (void *)(uintptr_t)i);
            if (tid < 0)
                __atomic_store_n(&thread_tids[i], 0, __ATOMIC_SEQ_CST);
            else if (tid > 0 && !(flags & CLONE_VM))
                raw_exit(0); /* a flag flipped made it a process sharing nothing: leave it to its own */
            break;
        }
        case 3:
        case 4:
        case 5:
            futex_step(&r);
            break;
        case 6: {
            /* Wait (briefly) for thread i's exit: the kernel clears its tid word and wakes. */
            int tid = __atomic_load_n(&thread_tids[i], __ATOMIC_SEQ_CST);
            struct timespec timeout = { 0, 2000000 };
            if (tid != 0)
                sys6(SYS_futex, (long)&thread_tids[i], FUTEX_WAIT, tid, (long)&timeout, 0, 0);
            break;
        }
        case 7:
            /* Unmap (or make unwritable) a stack, maybe under a running thread, and
             * map it again later or not. */
            if (chance(&r, 50))
                sys2(SYS_munmap, stack_base(i), THREAD_STACK_SIZE);
            else
                sys3(SYS_mprotect, stack_base(i), THREAD_STACK_SIZE, chance(&r, 50) ? PROT_READ : PROT_NONE);
            if (chance(&r, 50))
                sys6(SYS_mmap, (long)stack_base(i), (long)THREAD_STACK_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            break;
        case 8: {
            /* At one of its own threads (running or ended), or at no task at all:
             * never at another process (the runner is pid 1). */
            int tid = __atomic_load_n(&thread_tids[i], __ATOMIC_SEQ_CST);
            static const long nobody[] = { 0, -1, 0x3fffffff };
            if (tid <= 0)
                tid = chance(&r, 50) ? (int)sys0(SYS_gettid) : (int)PICK(&r, nobody);
            if (chance(&r, 50))
                sys2(SYS_tkill, tid, thread_signal(&r));
            else
                sys3(SYS_tgkill, chance(&r, 80) ? sys0(SYS_getpid) : PICK(&r, nobody), tid, thread_signal(&r));
            break;
        }
        case 9:
            sys0(SYS_sched_yield);
            break;
        case 10:
            if (chance(&r, 30))
                sys1(SYS_exit_group, below(&r, 256));
            break;
        default:
            if (chance(&r, 30))
                raw_exit((int)below(&r, 256)); /* the main thread alone: the rest run on */
            break;
        }
    }
    if (chance(&r, 80))
        sys1(SYS_exit_group, 0);
}

/* The calls of one generation of worker `w`, `quota` of them, reporting progress
 * on PROGRESS_FD. */
static __attribute__((noreturn)) void worker(u64 seed, int w, int gen, long quota)
{
    self_pid = (pid_t)sys0(SYS_getpid);
    setpgid(0, 0); /* kill(0, ...) and the watchdog's kill(-pid) reach only this worker */
    Rng r = { generation_seed(seed, w, gen) };
    Rng fill = { generation_seed(seed, w, gen) ^ 0x5555555555555555ULL };
    memset(long_path, 'a', sizeof long_path - 1);
    for (int i = 0; i < (int)sizeof long_path - 1; i += 100)
        long_path[i] = '/';
    /* Descriptors: 0-2 /dev/null, 3-4 a pipe, 5 "/", 6 this program, 7 /dev/zero. */
    for (int fd = 0; fd < 128; fd++)
        if (fd != PROGRESS_FD)
            close(fd);
    open("/dev/null", O_RDWR);
    open("/dev/null", O_RDWR);
    open("/dev/null", O_RDWR);
    int p[2];
    pipe2(p, O_NONBLOCK);
    open("/", O_RDONLY | O_DIRECTORY);
    open("/proc/self/exe", O_RDONLY);
    open("/dev/zero", O_RDONLY);
    u64 fs_base = 0;
    sys2(SYS_arch_prctl, 0x1003, &fs_base);
    prepare(&fill);

    uint32_t unreported = 0;
    for (long done = 0; done < quota; done++) {
        Call call = generate(&r);
        u64 a[6];
        for (int i = 0; i < 6; i++)
            a[i] = value_of(&call.arg[i]);
        long n = call.number;
        /* Never name the progress descriptor. */
        for (int i = 0; i < 6; i++)
            if (a[i] == PROGRESS_FD || ((a[i] & 0xffffffff) == PROGRESS_FD && call.arg[i].cls == C_NUM))
                a[i] = 5;
        /* Never aim at the parent (pid 1 on timeshare) or its group. */
        if (n == SYS_kill || n == SYS_tkill || n == SYS_tgkill || n == SYS_rt_sigqueueinfo || n == SYS_setpgid ||
            n == SYS_prlimit64 || n == SYS_setpriority || n == SYS_wait4) {
            for (int i = 0; i < 3; i++) {
                int v = (int)a[i];
                if (v == 1 || (v == -1 && n != SYS_kill))
                    a[i] = (u64)self_pid;
            }
            if (n == SYS_setpgid && (int)a[1] != 0 && (int)a[1] != self_pid)
                a[1] = 0;
        }

        long result = 0;
        if (call.op == OP_SIGRETURN) {
            in_child(forged_sigreturn, call.fill);
        } else if (call.op == OP_COMPAT) {
            in_child(compat_trip, call.fill);
        } else if (call.op == OP_SEGMENT) {
            in_child(segment_load, call.fill);
        } else if (call.op == OP_RFLAGS) {
            in_child(rflags_games, call.fill);
        } else if (call.op == OP_MEMORY) {
            in_child(memory_sequence, call.fill);
        } else if (call.op == OP_THREADS) {
            in_child(thread_sequence, call.fill);
        } else if (call.op == OP_EXECVE) {
            result = sys3(SYS_execve, a[0], a[1], a[2]);
        } else {
            result = sys6(n, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
            if (n == SYS_fork || n == SYS_vfork || n == SYS_clone || n == SYS_clone3) {
                if (result == 0)
                    raw_exit(0);
                if (result > 0)
                    reap((pid_t)result);
            }
            /* Keep the worker able to go on: its TLS pointer, non-blocking pipes,
             * few descriptors. */
            if (n == SYS_arch_prctl)
                sys2(SYS_arch_prctl, 0x1002, fs_base);
            if (n == SYS_pipe || n == SYS_pipe2 || n == SYS_fcntl || n == SYS_ioctl || n == SYS_dup2 ||
                n == SYS_dup3)
                nonblocking_all();
            if (result >= HIGH_FD && result < 1024 && result != PROGRESS_FD &&
                (n == SYS_open || n == SYS_openat || n == SYS_dup || n == SYS_dup2 || n == SYS_dup3 ||
                 n == SYS_fcntl))
                sys1(SYS_close, result);
        }
        if (++unreported == REPORT_EVERY) {
            sys3(SYS_write, PROGRESS_FD, &unreported, sizeof unreported);
            unreported = 0;
        }
        if ((done & 255) == 255)
            prepare(&fill);
        if ((done & 2047) == 2047)
            close_high();
    }
    if (unreported)
        sys3(SYS_write, PROGRESS_FD, &unreported, sizeof unreported);
    raw_exit(0);
}

/* ---- The parent ---- */

struct Worker {
    pid_t pid;
    int gen;
    int fd;     /* read end of its progress pipe, -1 when not running */
    long done;  /* calls done by all its generations (as reported) */
    long at;    /* calls reported by the current generation */
    long quota; /* calls it must make in all */
    u64 last_ms;
};

static u64 now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (u64)t.tv_sec * 1000 + (u64)t.tv_nsec / 1000000;
}

/* Free memory plus what files hold: the calls may create and fill files, which
 * keep their memory after the run (as on Linux's rootfs), and that is no leak. */
static u64 free_bytes(int *procs)
{
    struct sysinfo info;
    if (sysinfo(&info) != 0)
        return 0;
    if (procs)
        *procs = info.procs;
    struct statfs fs;
    u64 in_files = statfs("/", &fs) == 0 ? (u64)(fs.f_blocks - fs.f_bfree) * fs.f_bsize : 0;
    return (u64)info.freeram * info.mem_unit + in_files;
}

static void print_window(u64 seed, int w, int gen, long from, long count)
{
    Rng r = { generation_seed(seed, w, gen) };
    char text[512];
    for (long i = 0; i < from + count; i++) {
        Call call = generate(&r);
        if (i >= from) {
            describe(text, sizeof text, &call);
            printf("fuzz:   w%d gen %d #%ld %s\n", w, gen, i, text);
        }
    }
}

/* ---- The runner's own memory, which nothing a worker does may change ---- */

/* Three canaries of the runner's, made before the baseline and inherited by every
 * worker copy-on-write: pages of its data, pages above its break (the workers'
 * memory sequences move their own inherited break over the same addresses), and a
 * mapping. */
#define CANARY_PAGES 16
#define CANARY_BYTES ((u64)CANARY_PAGES * 4096)
static unsigned char canary_inherited[CANARY_BYTES] __attribute__((aligned(4096)));
static unsigned char *canaries[3];

static void canary_fill(unsigned char *pages, u64 salt)
{
    u64 state = salt;
    for (u64 i = 0; i < CANARY_BYTES / 8; i++)
        ((u64 *)pages)[i] = splitmix(&state);
}

/* The pages of a canary whose bytes are no longer what `canary_fill` wrote. */
static int canary_damage(const unsigned char *pages, u64 salt)
{
    u64 state = salt;
    int damaged = 0;
    for (u64 page = 0; page < CANARY_PAGES; page++) {
        int same = 1;
        for (u64 i = 0; i < 4096 / 8; i++)
            same &= ((const u64 *)pages)[page * 512 + i] == splitmix(&state);
        damaged += !same;
    }
    return damaged;
}

static int canaries_damaged(u64 seed)
{
    int damaged = 0;
    for (int i = 0; i < 3; i++)
        if (canaries[i])
            damaged += canary_damage(canaries[i], seed + (u64)i);
    return damaged;
}

static int spawn(struct Worker *wk, int index, u64 seed)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    /* The parent's end never blocks: a child of the worker may keep the other end
     * open after the worker is gone (its reports then end with EAGAIN, not EOF). */
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        if (dup2(p[1], PROGRESS_FD) < 0)
            raw_exit(121);
        worker(seed, index, wk->gen, wk->quota - wk->done);
    }
    close(p[1]);
    wk->pid = pid;
    wk->fd = p[0];
    wk->at = 0;
    wk->last_ms = now_ms();
    printf("fuzz: spawn w=%d gen=%d pid=%d\n", index, wk->gen, pid);
    return 0;
}

/* Spawns a worker again. fork may fail for a while (EAGAIN, ENOMEM: another worker
 * may hold most of the memory, or be a fork bomb) until the other workers free what
 * they hold or are killed; only a fork that keeps failing is a failure. */
static void respawn(struct Worker *wk, int index, u64 seed, int *failures)
{
    for (int attempt = 0; attempt < 200; attempt++) {
        if (spawn(wk, index, seed) == 0)
            return;
        if (errno != EAGAIN && errno != ENOMEM)
            break;
        if (attempt == 0)
            printf("fuzz: fork of worker %d failed (%s); retrying\n", index, strerror(errno));
        /* Meanwhile, reap what ended (an orphan may be what holds the memory). */
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        struct timespec t = { 0, 20 * 1000 * 1000 };
        nanosleep(&t, NULL);
    }
    printf("fuzz: FAIL cannot respawn worker %d: %s\n", index, strerror(errno));
    (*failures)++;
}

static void status_text(char *out, size_t size, int status)
{
    if (WIFEXITED(status))
        snprintf(out, size, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, size, "signal %d", WTERMSIG(status));
    else
        snprintf(out, size, "status %#x", status);
}

/* Touches the stack this process will ever use, so that its growth during the run
 * is not taken for memory the kernel lost. */
static __attribute__((noinline)) void touch_stack(void)
{
    volatile char deep[64 * 1024];
    for (size_t i = 0; i < sizeof deep; i += 4096)
        deep[i] = 0;
}

static int run(long calls, u64 seed, int workers)
{
    struct Worker w[MAX_WORKERS];
    long deaths = 0, watchdog = 0, total = 0, next_report = 0;
    long report_every = calls / 100 > 1000 ? calls / 100 : 1000;
    int failures = 0;

    if (getpid() != 1) {
        fprintf(stderr, "fuzz: run it as the first process of timeshare (`timeshare fuzz`): it kills every other process at the end\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("fuzz: start calls=%ld seed=%llu workers=%d\n", calls, (unsigned long long)seed, workers);
    /* The orphans of the workers come here; SIGCHLD and SIGPIPE are of no interest. */
    signal(SIGPIPE, SIG_IGN);

    /* Warm up (a first fork and exit makes whatever the kernel keeps for good after
     * the first process it creates), then the baseline. */
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        waitpid(pid, NULL, 0);
    }
    touch_stack();
    canaries[0] = canary_inherited;
    u64 heap = (u64)sys1(SYS_brk, 0);
    if ((u64)sys1(SYS_brk, heap + CANARY_BYTES) == heap + CANARY_BYTES)
        canaries[1] = (unsigned char *)heap;
    void *mapped = mmap(NULL, CANARY_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped != MAP_FAILED)
        canaries[2] = mapped;
    for (int i = 0; i < 3; i++)
        if (canaries[i])
            canary_fill(canaries[i], seed + (u64)i);
    int procs = 0;
    u64 baseline = free_bytes(&procs);
    printf("fuzz: baseline free=%llu procs=%d\n", (unsigned long long)baseline, procs);

    for (int i = 0; i < workers; i++) {
        w[i] = (struct Worker){ .gen = 0, .fd = -1, .quota = calls / workers + (i < calls % workers) };
        if (w[i].quota > 0 && spawn(&w[i], i, seed) != 0) {
            printf("fuzz: FAIL cannot fork worker %d: %s\n", i, strerror(errno));
            return 1;
        }
    }

    int damage_seen = 0;
    u64 checked_ms = now_ms();

    for (;;) {
        if (!damage_seen && now_ms() - checked_ms >= 100) {
            checked_ms = now_ms();
            if ((damage_seen = canaries_damaged(seed)))
                printf("fuzz: the runner's memory changed at %ld calls (%d pages)\n", total, damage_seen);
        }
        struct pollfd fds[MAX_WORKERS];
        int running = 0;
        for (int i = 0; i < workers; i++) {
            fds[i] = (struct pollfd){ .fd = w[i].fd, .events = POLLIN };
            running += w[i].fd >= 0;
        }
        if (!running)
            break;
        poll(fds, (nfds_t)workers, 100);
        u64 now = now_ms();
        for (int i = 0; i < workers; i++) {
            if (w[i].fd < 0)
                continue;
            if (fds[i].revents & POLLIN) {
                uint32_t counts[64];
                ssize_t got = read(w[i].fd, counts, sizeof counts);
                for (ssize_t k = 0; k + 4 <= got; k += 4) {
                    uint32_t c = counts[k / 4];
                    w[i].at += c;
                    w[i].done += c;
                    total += c;
                }
                if (got > 0)
                    w[i].last_ms = now;
            }
            if (now - w[i].last_ms > WATCHDOG_MS) {
                /* No progress: blocked, stopped or looping. Ended from outside. */
                kill(-w[i].pid, SIGKILL);
                kill(w[i].pid, SIGKILL);
                watchdog++;
                w[i].last_ms = now;
                printf("fuzz: watchdog w=%d gen=%d pid=%d at=%ld: no progress for %d ms, killed; its calls since:\n", i,
                       w[i].gen, w[i].pid, w[i].at, WATCHDOG_MS);
                print_window(seed, i, w[i].gen, w[i].at, REPORT_EVERY);
            }
        }
        /* Reap: workers that ended, and orphans of theirs. */
        for (;;) {
            int status;
            pid_t pid = waitpid(-1, &status, WNOHANG | WUNTRACED);
            if (pid <= 0)
                break;
            if (WIFSTOPPED(status)) {
                kill(pid, SIGKILL);
                continue;
            }
            for (int i = 0; i < workers; i++) {
                if (w[i].pid != pid || w[i].fd < 0)
                    continue;
                /* Take the last reports before judging. */
                uint32_t counts[64];
                ssize_t got;
                while ((got = read(w[i].fd, counts, sizeof counts)) > 0)
                    for (ssize_t k = 0; k + 4 <= got; k += 4) {
                        w[i].at += counts[k / 4];
                        w[i].done += counts[k / 4];
                        total += counts[k / 4];
                    }
                close(w[i].fd);
                w[i].fd = -1;
                char text[64];
                status_text(text, sizeof text, status);
                int finished = w[i].done >= w[i].quota && WIFEXITED(status) && WEXITSTATUS(status) == 0;
                printf("fuzz: ended w=%d gen=%d pid=%d %s after=%ld\n", i, w[i].gen, pid, text, w[i].at);
                if (!finished) {
                    deaths++;
                    if (w[i].done < w[i].quota) {
                        w[i].gen++;
                        respawn(&w[i], i, seed, &failures);
                    }
                }
            }
        }
        if (total >= next_report) {
            char line[512];
            int used = snprintf(line, sizeof line, "fuzz: progress %ld %ld", total, calls);
            for (int i = 0; i < workers && used < (int)sizeof line; i++)
                used += snprintf(line + used, sizeof line - used, " w%d=%d:%ld", i, w[i].gen, w[i].at);
            printf("%s\n", line);
            next_report = total + report_every;
        }
    }

    /* Every process but this one ends (SIGKILL cannot be refused: within 10 s, or
     * the kernel failed to deliver it); then nothing may be left. */
    kill(-1, SIGKILL);
    int status;
    pid_t left = 0;
    for (int i = 0; i < 1000; i++) {
        while ((left = waitpid(-1, &status, WNOHANG)) > 0)
            ;
        if (left < 0)
            break;
        struct timespec t = { 0, 10 * 1000 * 1000 };
        nanosleep(&t, NULL);
    }
    errno = 0;
    left = waitpid(-1, &status, WNOHANG);
    int echild = left < 0 && errno == ECHILD;
    printf("fuzz: invariant no-children %s\n", echild ? "ok" : "FAIL (a process outlived SIGKILL for 10 s)");
    failures += !echild;
    int damaged = canaries_damaged(seed);
    int canaries_made = !!canaries[0] + !!canaries[1] + !!canaries[2];
    int intact = !damage_seen && !damaged && canaries_made == 3;
    printf("fuzz: invariant memory-intact %s pages=%d damaged=%d\n", intact ? "ok" : "FAIL",
           canaries_made * CANARY_PAGES, damage_seen > damaged ? damage_seen : damaged);
    failures += !intact;
    int procs_after = 0;
    u64 after = free_bytes(&procs_after);
    /* Reaping is immediate, but give the kernel a moment in case it frees lazily. */
    for (int i = 0; i < 20 && after != baseline; i++) {
        struct timespec t = { 0, 10 * 1000 * 1000 };
        nanosleep(&t, NULL);
        after = free_bytes(&procs_after);
    }
    printf("fuzz: invariant one-process %s procs=%d\n", procs_after == 1 ? "ok" : "FAIL", procs_after);
    failures += procs_after != 1;
    printf("fuzz: invariant free-memory %s baseline=%llu after=%llu\n", after == baseline ? "ok" : "FAIL",
           (unsigned long long)baseline, (unsigned long long)after);
    failures += after != baseline;
    fflush(stdout);
    const char line[] = "fuzz: invariant console ok\n";
    int console = write(1, line, sizeof line - 1) == (ssize_t)(sizeof line - 1);
    failures += !console;
    if (failures) {
        printf("fuzz: FAIL seed=%llu; the last calls of each worker:\n", (unsigned long long)seed);
        for (int i = 0; i < workers; i++) {
            long from = w[i].at > 16 ? w[i].at - 16 : 0;
            print_window(seed, i, w[i].gen, from, w[i].at - from + REPORT_EVERY);
        }
    }
    printf("fuzz: done calls=%ld deaths=%ld watchdog=%ld\n", total, deaths, watchdog);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "run")) {
        long calls = atol(argv[2]);
        u64 seed = strtoull(argv[3], NULL, 0);
        int workers = argc > 4 ? atoi(argv[4]) : 4;
        if (calls < 0 || workers < 1 || workers > MAX_WORKERS) {
            fprintf(stderr, "fuzz: bad arguments\n");
            return 2;
        }
        return run(calls, seed, workers);
    }
    if (argc == 7 && !strcmp(argv[1], "print")) {
        setvbuf(stdout, NULL, _IOFBF, 1 << 16);
        print_window(strtoull(argv[2], NULL, 0), atoi(argv[3]), atoi(argv[4]), atol(argv[5]), atol(argv[6]));
        return 0;
    }
    fprintf(stderr, "usage: fuzz run CALLS SEED [WORKERS] | fuzz print SEED WORKER GEN FROM COUNT\n");
    return 2;
}
