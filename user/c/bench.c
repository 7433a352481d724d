/* bench: the benchmark programs of `timeshare bench` (docs/bench.md), one static binary
 * that runs unchanged on timeshare (as /bin/bench) and on Linux (as /init).
 *
 *   bench [--scale X] [--check] [NAME...]   run the benchmarks (all, or those NAMEd)
 *   bench --list                            the row names, one a line
 *   bench --exit-now                        exit 42 at once (fork+execve+wait execs this)
 *
 * Each benchmark times many iterations of one operation with CLOCK_MONOTONIC and prints
 * one line per figure, easy to parse:
 *     bench NAME VALUE UNIT        e.g. "bench null-syscall 122.4 ns"
 *     bench-error NAME REASON      the figure could not be had (a check failed, a call
 *                                  is missing, the benchmark died)
 * then "bench-done FAILURES" at the end. Every benchmark checks its own work (bytes
 * arrive in order, children exit with the expected status, every signal ran its
 * handler): a failed check is a bench-error, never a figure.
 *
 * Each benchmark group runs in a child process of its own, so a crash (say, a signal
 * that kills instead of reaching its handler) costs only its rows, and no benchmark
 * runs as pid 1 (which Linux treats specially). --scale multiplies every iteration
 * count (default 1). --check adds the slower checks (whole 4 KiB buffers compared,
 * sched_yield must alternate the two processes) and makes the exit status 1 when any
 * row failed. As pid 1 (init on Linux) the program powers the machine off at the end
 * instead of exiting (exiting init panics Linux); where that call does not exist it
 * exits. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "include/futex.h"
#include "include/testlib.h"

/* ---- output -------------------------------------------------------------------- */

static int check_mode;
static double scale = 1.0;
static char *self_path;
static char **self_envp;
/* CLOCK_MONOTONIC and the TSC as main began: the boot figures. */
static uint64_t boot_ns, boot_tsc;

/* One line straight to fd 1 (no stdio buffers to duplicate across fork). */
static void out(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n > (int)sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    for (int done = 0; done < n;) {
        ssize_t w = write(1, line + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        done += w;
    }
}

/* The status of the group being run: 0, or 3 once a bench-error was printed. */
static int group_status;

static void figure(const char *name, double value, const char *unit)
{
    out("bench %s %.3f %s", name, value, unit);
}

/* Report NAME's error and leave the (void) benchmark function. */
#define FAIL(...)              \
    do {                       \
        error(__VA_ARGS__);    \
        return;                \
    } while (0)

static void error(const char *name, const char *fmt, ...)
{
    char reason[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    out("bench-error %s %s", name, reason);
    group_status = 3;
}

/* An iteration count: BASE times the scale, at least MIN. */
static long count(long base, long min)
{
    double n = (double)base * scale;
    if (n < (double)min)
        return min;
    if (n > 1e12)
        return 1000000000000L;
    return (long)n;
}

/* Wait for PID; true when it exited with EXPECTED, else a bench-error for NAME. */
static int reap(const char *name, pid_t pid, int expected)
{
    int status;
    pid_t got;
    while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (got != pid) {
        error(name, "waitpid: %s", strerror(errno));
        return 0;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != expected) {
        error(name, "child %s (expected exit %d)", describe_as(status, "wait status"), expected);
        return 0;
    }
    return 1;
}

/* ---- null system call ---------------------------------------------------------- */

static void bench_null_syscall(void)
{
    const char *name = "null-syscall";
    long n = count(200000, 100);
    long pid = getpid(), bad = 0;
    for (long i = 0; i < n / 10 + 10; i++)
        bad += raw_getpid() != pid;
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    for (long i = 0; i < n; i++)
        bad += raw_getpid() != pid;
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    if (bad)
        FAIL(name, "getpid returned something else than %ld %ld times", pid, bad);
    figure(name, (double)(t1 - t0) / n, "ns");
}

/* ---- 1-byte write to /dev/null ------------------------------------------------- */

static int open_dev_null(void)
{
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0 && errno == ENOENT) {
        /* Linux's initramfs may have no /dev/null: make one. */
        mkdir("/dev", 0755);
        mknod("/dev/null", S_IFCHR | 0666, makedev(1, 3));
        fd = open("/dev/null", O_WRONLY);
    }
    return fd;
}

static void bench_write_devnull(void)
{
    const char *name = "write-devnull";
    int fd = open_dev_null();
    if (fd < 0)
        FAIL(name, "open /dev/null: %s", strerror(errno));
    long n = count(100000, 100), bad = 0;
    char byte = 'x';
    for (long i = 0; i < n / 10 + 10; i++)
        bad += write(fd, &byte, 1) != 1;
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    for (long i = 0; i < n; i++)
        bad += write(fd, &byte, 1) != 1;
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    close(fd);
    if (bad)
        FAIL(name, "%ld writes did not write 1 byte", bad);
    figure(name, (double)(t1 - t0) / n, "ns");
}

/* ---- 4 KiB through a pipe ------------------------------------------------------ */

#define PAGE 4096

/* Stamp iteration I into a buffer: every 8-byte word holds I ^ its index. */
static void stamp(uint64_t *buf, uint64_t i)
{
    for (int w = 0; w < PAGE / 8; w++)
        buf[w] = i ^ (uint64_t)w;
}

static int stamped(const uint64_t *buf, uint64_t i)
{
    if (!check_mode) /* the first and last words only: keep the loop about the kernel */
        return buf[0] == i && buf[PAGE / 8 - 1] == (i ^ (PAGE / 8 - 1));
    for (int w = 0; w < PAGE / 8; w++)
        if (buf[w] != (i ^ (uint64_t)w))
            return 0;
    return 1;
}

/* One process, one pipe: write 4 KiB then read it back (the pipe never blocks).
 * pipe-write-read-4k times the pair; pipe-read-4k times each read alone with the TSC
 * around it, less what an empty pair of TSC reads costs. */
static void bench_pipe_4k(void)
{
    const char *both = "pipe-write-read-4k", *rd = "pipe-read-4k";
    int p[2];
    if (pipe(p) != 0) {
        error(both, "pipe: %s", strerror(errno));
        FAIL(rd, "pipe: %s", strerror(errno));
    }
    static uint64_t wbuf[PAGE / 8], rbuf[PAGE / 8];
    long n = count(20000, 50), bad = 0;
    for (long i = 0; i < n / 10 + 10; i++) {
        wbuf[0] = i;
        bad += write(p[1], wbuf, PAGE) != PAGE;
        bad += read(p[0], rbuf, PAGE) != PAGE;
    }
    if (bad) {
        error(both, "a 4 KiB write or read was short or failed (%s)", strerror(errno));
        FAIL(rd, "a 4 KiB write or read was short or failed");
    }

    uint64_t t0 = now_ns(CLOCK_MONOTONIC), c0 = rdtsc();
    for (long i = 0; i < n; i++) {
        if (check_mode)
            stamp(wbuf, i);
        else
            wbuf[0] = i, wbuf[PAGE / 8 - 1] = i ^ (PAGE / 8 - 1);
        bad += write(p[1], wbuf, PAGE) != PAGE;
        bad += read(p[0], rbuf, PAGE) != PAGE || !stamped(rbuf, i);
    }
    uint64_t t1 = now_ns(CLOCK_MONOTONIC), c1 = rdtsc();
    if (bad)
        error(both, "%ld of %ld 4 KiB transfers were short or wrong", bad, n);
    else
        figure(both, (double)(t1 - t0) / n, "ns");

    /* TSC ticks per ns, from the loop above (exactly 1 under QEMU -icount shift=0). */
    double tsc_per_ns = t1 > t0 ? (double)(c1 - c0) / (double)(t1 - t0) : 0;
    uint64_t empty = 0, reads = 0;
    for (long i = 0; i < n; i++) {
        uint64_t a = rdtsc();
        uint64_t b = rdtsc();
        empty += b - a;
    }
    for (long i = 0; i < n; i++) {
        wbuf[0] = i, wbuf[PAGE / 8 - 1] = i ^ (PAGE / 8 - 1);
        bad += write(p[1], wbuf, PAGE) != PAGE;
        uint64_t a = rdtsc();
        ssize_t r = read(p[0], rbuf, PAGE);
        uint64_t b = rdtsc();
        reads += b - a;
        bad += r != PAGE || rbuf[0] != (uint64_t)i;
    }
    close(p[0]);
    close(p[1]);
    if (bad)
        FAIL(rd, "%ld 4 KiB transfers were short or wrong", bad);
    if (tsc_per_ns <= 0)
        FAIL(rd, "the TSC did not advance");
    double ticks = reads > empty ? (double)(reads - empty) : 0;
    figure(rd, ticks / tsc_per_ns / n, "ns");
}

/* ---- context switch: sched_yield ping-pong ------------------------------------- */

/* Two processes on one CPU each call sched_yield N times: every call hands the CPU to
 * the other. Figure: elapsed / (2N), one switch (yield call included). With --check,
 * both record the TSC after each yield and the parent checks that the child ran
 * between its yields (when both are on one CPU). */
static void bench_yield(void)
{
    const char *name = "yield-switch";
    long n = count(20000, 50);
    int ready[2], back[2];
    uint64_t *mine = 0;
    if (check_mode) {
        /* Pin to one CPU (a no-op in the single-CPU guests). */
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &set);
        sched_setaffinity(0, sizeof set, &set);
        mine = mmap(0, n * sizeof *mine, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mine == MAP_FAILED)
            FAIL(name, "mmap: %s", strerror(errno));
    }
    if (pipe(ready) != 0 || pipe(back) != 0)
        FAIL(name, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        FAIL(name, "fork: %s", strerror(errno));
    if (pid == 0) {
        char go = 'g';
        if (write_full(ready[1], &go, 1) != 0)
            _exit(1);
        for (long i = 0; i < n; i++) {
            sched_yield();
            if (mine)
                mine[i] = rdtsc();
        }
        if (mine && write_full(back[1], mine, n * sizeof *mine) != 0)
            _exit(2);
        _exit(0);
    }
    char go;
    if (read_full(ready[0], &go, 1) != 0 || go != 'g') {
        reap(name, pid, 0);
        FAIL(name, "the child did not start");
    }
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    for (long i = 0; i < n; i++) {
        sched_yield();
        if (mine)
            mine[i] = rdtsc();
    }
    uint64_t *theirs = 0;
    if (mine) {
        theirs = mmap(0, n * sizeof *theirs, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (theirs == MAP_FAILED || read_full(back[0], theirs, n * sizeof *theirs) != 0) {
            reap(name, pid, 0);
            FAIL(name, "the child's timestamps did not arrive");
        }
    }
    int ok = reap(name, pid, 0);
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    if (!ok)
        return;
    if (mine) {
        /* How many gaps between two of our yields hold at least one of the child's. */
        long alternated = 0, j = 0;
        for (long i = 1; i < n; i++) {
            while (j < n && theirs[j] <= mine[i - 1])
                j++;
            if (j < n && theirs[j] < mine[i])
                alternated++;
        }
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        cpu_set_t set;
        int pinned = sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1;
        if ((pinned || cpus == 1) && alternated * 2 < n - 1)
            FAIL(name, "sched_yield did not switch: the child ran between only %ld of %ld yields",
                 alternated, n - 1);
    }
    figure(name, (double)(t1 - t0) / (2.0 * n), "ns");
}

/* ---- context switch: pipe ping-pong -------------------------------------------- */

static int pin_to_cpu(int cpu);

/* The CPUs the run may use: counted by main before it pins the run to CPU 0. */
static int usable_cpus_at_start = 1;

static int usable_cpus(void)
{
    return usable_cpus_at_start;
}

/* A byte goes to the child through one pipe and comes back through another: a round
 * trip is two switches and four system calls. The child checks the sequence it
 * receives, the parent the sequence it gets back. */

/* One byte there and back between two processes; with APART, the parent on CPU 0
 * and the child on CPU 1 (pipe-pingpong-cross-cpu). */
static void pipe_pingpong(const char *name, int apart)
{
    long n = count(10000, 50), warm = n / 10 + 10;
    int down[2], up[2];
    if (pipe(down) != 0 || pipe(up) != 0)
        FAIL(name, "pipe: %s", strerror(errno));
    if (apart && pin_to_cpu(0) != 0)
        FAIL(name, "sched_setaffinity: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        FAIL(name, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (apart && pin_to_cpu(1) != 0)
            _exit(4);
        close(down[1]);
        close(up[0]);
        long wrong = 0;
        for (long i = 0; i < warm + n; i++) {
            unsigned char b;
            if (read_full(down[0], &b, 1) != 0)
                _exit(2);
            wrong += b != (unsigned char)i;
            b ^= 0x5a;
            if (write_full(up[1], &b, 1) != 0)
                _exit(3);
        }
        _exit(wrong ? 1 : 0);
    }
    close(down[0]);
    close(up[1]);
    long wrong = 0, broken = 0;
    uint64_t t0 = 0;
    for (long i = 0; i < warm + n && !broken; i++) {
        if (i == warm)
            t0 = now_ns(CLOCK_MONOTONIC);
        unsigned char b = (unsigned char)i;
        if (write_full(down[1], &b, 1) != 0 || read_full(up[0], &b, 1) != 0)
            broken = 1;
        wrong += b != (unsigned char)(i ^ 0x5a);
    }
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    close(down[1]);
    close(up[0]);
    if (!reap(name, pid, 0))
        return;
    if (broken)
        FAIL(name, "a pipe read or write failed");
    if (wrong)
        FAIL(name, "%ld bytes came back wrong or out of order", wrong);
    figure(name, (double)(t1 - t0) / n, "ns");
}

static void bench_pipe_pingpong(void)
{
    pipe_pingpong("pipe-pingpong", 0);
}

/* ---- lmbench lat_ctx: a token around a ring of processes ----------------------- */

#define STOP 0xffffffffu

/* Member m of a ring of MEMBERS: reads the token from IN and writes it, plus one, to
 * OUT, until the STOP token has gone round; the token it sees must be m mod MEMBERS.
 * Exits 1 if it was not, 2 or 3 if a read or write failed. */
static void ring_member(int members, int m, int in, int out)
{
    long wrong = 0;
    for (;;) {
        uint32_t token;
        if (read_full(in, &token, sizeof token) != 0)
            _exit(2);
        if (token != STOP) {
            wrong += token % members != (uint32_t)m;
            token++;
        }
        if (write_full(out, &token, sizeof token) != 0)
            _exit(3);
        if (token == STOP)
            _exit(wrong ? 1 : 0);
    }
}

/* Member i reads the token from pipe i and writes it, plus one, to pipe i+1 mod N; so
 * the token seen by member i is always i mod N. Member 0 is this process. Figure: per
 * hop (one pipe read + write + switch); lmbench's own lat_ctx subtracts the pipe
 * overhead and this does not. The pipes are made one member at a time, so that no
 * process holds more than a few descriptors, however long the ring. */
static void bench_ring(int members)
{
    char name[32];
    snprintf(name, sizeof name, "lat-ctx-%d", members);
    long rounds = count(20000 / members, 10);
    int first[2], second[2];
    if (pipe(first) != 0 || pipe(second) != 0)
        FAIL(name, "pipe: %s", strerror(errno));
    /* This process reads pipe 0 and writes pipe 1; the last member writes pipe 0. */
    int in = first[0], to = second[1], last_out = first[1];
    int next_in = second[0];
    pid_t *pids = calloc(members, sizeof *pids);
    for (int m = 1; m < members; m++) {
        int member_in = next_in, member_out = last_out, made[2] = {-1, -1};
        if (m + 1 < members) {
            if (pipe(made) != 0)
                FAIL(name, "pipe: %s", strerror(errno));
            member_out = made[1];
        }
        pids[m] = fork();
        if (pids[m] < 0)
            FAIL(name, "fork: %s", strerror(errno));
        if (pids[m] == 0) {
            int open_fds[] = {in, to, last_out, member_in, made[0], made[1]};
            for (size_t i = 0; i < sizeof open_fds / sizeof open_fds[0]; i++)
                if (open_fds[i] >= 0 && open_fds[i] != member_in && open_fds[i] != member_out)
                    close(open_fds[i]);
            ring_member(members, m, member_in, member_out);
        }
        close(member_in);
        if (made[1] >= 0)
            close(made[1]);
        next_in = made[0];
    }
    close(last_out);
    uint32_t token = 1;
    long wrong = 0, broken = 0;
    uint64_t t0 = 0;
    for (long r = 0; r < rounds + 1 && !broken; r++) {
        if (r == 1) /* round 0 warms up */
            t0 = now_ns(CLOCK_MONOTONIC);
        if (write_full(to, &token, sizeof token) != 0 || read_full(in, &token, sizeof token) != 0)
            broken = 1;
        wrong += token % members != 0;
        token++;
    }
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    uint32_t stop = STOP;
    write_full(to, &stop, sizeof stop);
    read_full(in, &stop, sizeof stop);
    close(in);
    close(to);
    int ok = 1;
    for (int m = 1; m < members; m++)
        ok &= reap(name, pids[m], 0);
    free(pids);
    if (!ok)
        return;
    if (broken)
        FAIL(name, "a pipe read or write failed");
    if (wrong || token != (uint32_t)(members * (rounds + 1) + 1))
        FAIL(name, "the token went astray (%ld wrong)", wrong);
    figure(name, (double)(t1 - t0) / ((double)rounds * members), "ns");
}

static void bench_lat_ctx(void)
{
    static const int rings[] = {2, 4, 8, 16, 24, 32, 64};
    for (size_t i = 0; i < sizeof rings / sizeof rings[0]; i++)
        bench_ring(rings[i]);
}

/* ---- process creation ---------------------------------------------------------- */

static void bench_fork(void)
{
    const char *name = "fork-exit-wait";
    long n = count(1000, 10);
    uint64_t t0 = 0;
    for (long i = 0; i < n + 5; i++) {
        if (i == 5)
            t0 = now_ns(CLOCK_MONOTONIC);
        pid_t pid = fork();
        if (pid < 0)
            FAIL(name, "fork: %s", strerror(errno));
        if (pid == 0)
            _exit(7);
        if (!reap(name, pid, 7))
            return;
    }
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    figure(name, (double)(t1 - t0) / n, "ns");
}

/* The child execs this very program with --exit-now, which exits 42 at once. */
static void bench_exec(void)
{
    const char *name = "fork-exec-wait";
    long n = count(300, 5);
    char *argv[] = {self_path, "--exit-now", 0};
    uint64_t t0 = 0;
    for (long i = 0; i < n + 2; i++) {
        if (i == 2)
            t0 = now_ns(CLOCK_MONOTONIC);
        pid_t pid = fork();
        if (pid < 0)
            FAIL(name, "fork: %s", strerror(errno));
        if (pid == 0) {
            execve(self_path, argv, self_envp);
            _exit(127);
        }
        if (!reap(name, pid, 42))
            return;
    }
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    figure(name, (double)(t1 - t0) / n, "ns");
}

/* ---- signal delivery round trip ------------------------------------------------ */

static volatile long handled;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        handled++;
}

/* kill(self) with a handler installed: the kernel delivers the signal on the way out
 * of kill, the handler runs in user mode, and sigreturn comes back into the kernel. */
static void bench_signal(void)
{
    const char *name = "signal-roundtrip";
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, 0) != 0)
        FAIL(name, "sigaction: %s", strerror(errno));
    pid_t self = getpid();
    long n = count(20000, 50), warm = n / 10 + 10, bad = 0;
    for (long i = 0; i < warm; i++)
        bad += kill(self, SIGUSR1) != 0;
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    for (long i = 0; i < n; i++)
        bad += kill(self, SIGUSR1) != 0;
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    if (bad)
        FAIL(name, "kill failed %ld times (%s)", bad, strerror(errno));
    if (handled != warm + n)
        FAIL(name, "the handler ran %ld times for %ld signals", (long)handled, warm + n);
    figure(name, (double)(t1 - t0) / n, "ns");
}

/* ---- the timer tick ------------------------------------------------------------ */

/* A spinner reads the TSC in a tight loop. A gap much longer than one iteration is
 * time the CPU spent elsewhere: the timer interrupt (and whatever the kernel did on
 * it). Figures: the share of the CPU lost, the ticks per second, and the cost of one
 * (lost time / gaps). The TSC is converted to ns with CLOCK_MONOTONIC over the run. */
static void bench_timer(void)
{
    const char *share = "timer-tick-share", *rate = "timer-tick-rate", *cost = "timer-tick-cost";
    uint64_t small = smallest_tsc_gap();
    uint64_t t0 = now_ns(CLOCK_MONOTONIC), c0 = rdtsc();
    /* The spin's length in TSC ticks: calibrate on a first 10 ms (no clock calls
     * inside the measured loop: on a kernel without vDSO they are system calls). */
    uint64_t cal_ns = 10000000;
    while (now_ns(CLOCK_MONOTONIC) - t0 < cal_ns)
        ;
    uint64_t t1 = now_ns(CLOCK_MONOTONIC), c1 = rdtsc();
    double tsc_per_ns = (double)(c1 - c0) / (double)(t1 - t0);
    double spin_ns = 500e6 * scale;
    if (spin_ns < 20e6)
        spin_ns = 20e6;
    uint64_t threshold = small * 20;
    if ((double)threshold < 100 * tsc_per_ns)
        threshold = (uint64_t)(100 * tsc_per_ns);
    uint64_t length = (uint64_t)(spin_ns * tsc_per_ns);
    uint64_t lost = 0, gaps = 0;
    uint64_t s0 = now_ns(CLOCK_MONOTONIC), start = rdtsc();
    uint64_t prev = start;
    for (;;) {
        uint64_t t = rdtsc();
        uint64_t gap = t - prev;
        if (gap > threshold) {
            lost += gap;
            gaps++;
        }
        prev = t;
        if (t - start >= length)
            break;
    }
    uint64_t end = prev, s1 = now_ns(CLOCK_MONOTONIC);
    double total = (double)(end - start);
    double seconds = (double)(s1 - s0) / 1e9;
    if (total <= 0 || seconds <= 0) {
        error(share, "the TSC or the clock did not advance");
        error(rate, "the TSC or the clock did not advance");
        FAIL(cost, "the TSC or the clock did not advance");
    }
    figure(share, 100.0 * (double)lost / total, "%");
    figure(rate, (double)gaps / seconds, "Hz");
    if (gaps == 0)
        FAIL(cost, "no interruption seen in %.0f ms of spinning", seconds * 1e3);
    figure(cost, (double)lost / (double)gaps / tsc_per_ns, "ns");
}

/* ---- the console's throughput ---------------------------------------------------- */

/* MiB written to stdout in 64 KiB writes, timed from the first write to the return of
 * the last: the figure is ns per KiB (1e6 / it = MB/s). Stdout is the console on both
 * kernels, but not the same path: on timeshare the bytes go through a ring in shared
 * memory to `timeshare run`, which writes them to its stdout (the harness's pipe);
 * Linux's console is its serial port (ttyS0), which QEMU writes to its stdout. Both
 * block a writer when their buffers are full, so with many MiB the figure is the pace
 * at which the host takes the bytes; what is still buffered when the last write
 * returns is not counted (up to the ring's 128 KiB on timeshare, the tty's 4 KiB on
 * Linux). The bytes are lines of spaces (1023 and a newline: the harness skips them;
 * Linux's ONLCR adds one byte per KiB). */
static void bench_console(void)
{
    const char *name = "console-throughput";
    long kib = count(8192, 256) / 64 * 64;
    /* Allocated here, not static: a larger program image would cost every other
     * benchmark's fork a little. */
    const size_t size = 64 * 1024;
    char *block = malloc(size);
    if (!block)
        FAIL(name, "malloc: %s", strerror(errno));
    for (size_t i = 0; i < size; i++)
        block[i] = (i % 1024 == 1023) ? '\n' : ' ';
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    for (long written = 0; written < kib; written += 64) {
        for (size_t done = 0; done < size;) {
            ssize_t n = write(1, block + done, size - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                FAIL(name, "write: %s", n < 0 ? strerror(errno) : "wrote nothing");
            done += (size_t)n;
        }
    }
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    figure(name, (double)(t1 - t0) / (double)kib, "ns");
}

/* ---- boot ---------------------------------------------------------------------- */

/* CLOCK_MONOTONIC as main began: both kernels start it at boot, so it is the time from
 * the kernel's start to the first user instruction (as init). boot-poweron is the TSC
 * at the same moment, which counts from the machine's reset, firmware included (in ns
 * under QEMU -icount; converted with the TSC rate otherwise). */
static void bench_boot(void)
{
    figure("boot", (double)boot_ns, "ns");
    uint64_t t0 = now_ns(CLOCK_MONOTONIC), c0 = rdtsc();
    while (now_ns(CLOCK_MONOTONIC) - t0 < 5000000)
        ;
    uint64_t t1 = now_ns(CLOCK_MONOTONIC), c1 = rdtsc();
    double tsc_per_ns = (double)(c1 - c0) / (double)(t1 - t0);
    if (tsc_per_ns <= 0)
        FAIL("boot-poweron", "the TSC did not advance");
    figure("boot-poweron", (double)boot_tsc / tsc_per_ns, "ns");
}

/* ---- threads: creation, a futex hand-off, a contended mutex -------------------- */

/* A kernel without threads refuses pthread_create (musl reports EAGAIN): the rows
 * say so rather than just "Resource temporarily unavailable". */
static void no_thread(const char *name, int e)
{
    error(name, "pthread_create: %s (does the kernel have threads?)", strerror(e));
}

static void *return_arg(void *arg) { return arg; }

/* pthread_create of a thread that returns at once, and pthread_join of it: per pair. */
static void bench_thread_create(void)
{
    const char *name = "thread-create-join";
    long n = count(2000, 10);
    uint64_t t0 = 0;
    for (long i = 0; i < n + 10; i++) {
        if (i == 10)
            t0 = now_ns(CLOCK_MONOTONIC);
        pthread_t thread;
        void *back = NULL;
        int e = pthread_create(&thread, NULL, return_arg, (void *)i);
        if (e) {
            no_thread(name, e);
            return;
        }
        if ((e = pthread_join(thread, &back)) != 0)
            FAIL(name, "pthread_join: %s", strerror(e));
        if (back != (void *)i)
            FAIL(name, "thread %ld returned %ld", i, (long)back);
    }
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    figure(name, (double)(t1 - t0) / n, "ns");
}

/* The futex word the two threads of futex-pingpong hand back and forth: the main
 * thread writes odd values, the partner the next even one. */
static _Atomic int baton;
static long pingpong_rounds, pingpong_wrong;
static int pingpong_unpinned; /* the partner could not be pinned to CPU 1 */
static int pingpong_left_cpu0; /* with --check: a thread ran a round off CPU 0 */

static void futex_wait_while(_Atomic int *word, int value)
{
    while (atomic_load(word) == value)
        syscall(SYS_futex, word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, value, NULL, NULL, 0);
}

static void futex_store_wake(_Atomic int *word, int value)
{
    atomic_store(word, value);
    syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0);
}

static void *pingpong_partner(void *arg)
{
    if (arg && pin_to_cpu(1) != 0)
        pingpong_unpinned = 1;
    for (long i = 0; i < pingpong_rounds; i++) {
        futex_wait_while(&baton, 2 * (int)i);
        pingpong_wrong += atomic_load(&baton) != 2 * (int)i + 1;
        futex_store_wake(&baton, 2 * (int)i + 2);
        if (check_mode && sched_getcpu() != 0)
            pingpong_left_cpu0 = 1;
    }
    return NULL;
}

/* Two threads hand a token through FUTEX_WAIT/FUTEX_WAKE; on one CPU each hand-off
 * is a switch; with APART, the threads are pinned to CPUs 0 and 1 and each hand-off
 * wakes the other CPU. Figure: per round trip (two switches). */
static void futex_pingpong(const char *name, int apart)
{
    long n = count(10000, 50), warm = n / 10 + 10;
    pingpong_rounds = warm + n;
    pingpong_wrong = pingpong_unpinned = pingpong_left_cpu0 = 0;
    atomic_store(&baton, 0);
    if (apart && pin_to_cpu(0) != 0)
        FAIL(name, "sched_setaffinity: %s", strerror(errno));
    pthread_t partner;
    int e = pthread_create(&partner, NULL, pingpong_partner, apart ? &baton : NULL);
    if (e) {
        no_thread(name, e);
        return;
    }
    uint64_t t0 = 0;
    for (long i = 0; i < warm + n; i++) {
        if (i == warm)
            t0 = now_ns(CLOCK_MONOTONIC);
        futex_store_wake(&baton, 2 * (int)i + 1);
        futex_wait_while(&baton, 2 * (int)i + 1);
        if (check_mode && sched_getcpu() != 0)
            pingpong_left_cpu0 = 1;
    }
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    pthread_join(partner, NULL);
    if (pingpong_unpinned)
        FAIL(name, "sched_setaffinity to CPU 1 failed");
    /* A row of one CPU stays on the CPU main pinned the run to. */
    if (!apart && usable_cpus() > 1 && pingpong_left_cpu0)
        FAIL(name, "a thread ran off CPU 0, where the run is pinned");
    if (pingpong_wrong || atomic_load(&baton) != 2 * (int)(warm + n))
        FAIL(name, "the token went astray (%ld wrong)", pingpong_wrong);
    figure(name, (double)(t1 - t0) / n, "ns");
}

static void bench_futex_pingpong(void)
{
    futex_pingpong("futex-pingpong", 0);
}

static pthread_mutex_t contended = PTHREAD_MUTEX_INITIALIZER;
static long contended_count;

/* Each yields the CPU while it holds the mutex, so that on one CPU the other thread
 * runs, finds it taken and sleeps in the kernel (FUTEX_WAIT) until the unlock wakes
 * it; and yields again after the unlock, so that the one woken takes the mutex
 * before the unlocker comes back for it. The two then alternate, and every
 * acquisition is contended, not just the few a timer tick happens to split. */
static void *lock_unlock(void *arg)
{
    for (long i = 0; i < (long)arg; i++) {
        pthread_mutex_lock(&contended);
        contended_count++;
        sched_yield();
        pthread_mutex_unlock(&contended);
        sched_yield();
    }
    return NULL;
}

/* Two threads lock and unlock one mutex N times each, yielding the CPU while they
 * hold it. Figure: per lock/unlock pair (elapsed / 2N), the threads' creation
 * included (a small share of it). */
static void bench_mutex_contended(void)
{
    const char *name = "mutex-contended";
    long n = count(10000, 50);
    lock_unlock((void *)(n / 10)); /* warm up, alone */
    contended_count = 0;
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        int e = pthread_create(&threads[i], NULL, lock_unlock, (void *)n);
        if (e) {
            if (i == 1)
                pthread_join(threads[0], NULL);
            no_thread(name, e);
            return;
        }
    }
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    if (contended_count != 2 * n)
        FAIL(name, "%ld increments under the mutex, expected %ld", contended_count, 2 * n);
    figure(name, (double)(t1 - t0) / (2.0 * n), "ns");
}

/* futex-wake-crowd: 32 threads sleep, each on its own futex word, while the main
 * thread wakes a word nobody waits on (an unlock that finds a stale waiters flag, a
 * condition variable signalled with no waiter): what that wake costs next to a
 * crowd of waiters on other words. */
#define CROWD 32
static _Atomic int crowd_words[CROWD], crowd_asleep, crowd_lonely_word;

static void *crowd_waiter(void *arg)
{
    _Atomic int *word = arg;
    atomic_fetch_add(&crowd_asleep, 1);
    while (atomic_load(word) == 0)
        syscall(SYS_futex, word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0);
    return NULL;
}

static void bench_futex_wake_crowd(void)
{
    const char *name = "futex-wake-crowd";
    long n = count(100000, 1000);
    pthread_t threads[CROWD];
    int started = 0;
    for (; started < CROWD; started++) {
        atomic_store(&crowd_words[started], 0);
        int e = pthread_create(&threads[started], NULL, crowd_waiter, (void *)&crowd_words[started]);
        if (e) {
            no_thread(name, e);
            break;
        }
    }
    /* Every waiter into its FUTEX_WAIT: each has said so, then a sleep lets it go in. */
    while (started == CROWD && atomic_load(&crowd_asleep) < CROWD)
        sched_yield();
    struct timespec settle = {0, 10000000};
    nanosleep(&settle, NULL);
    long woken = 0;
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    for (long i = 0; started == CROWD && i < n; i++)
        woken += syscall(SYS_futex, &crowd_lonely_word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0);
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    for (int i = 0; i < started; i++) {
        atomic_store(&crowd_words[i], 1);
        syscall(SYS_futex, &crowd_words[i], FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0);
        pthread_join(threads[i], NULL);
    }
    if (started < CROWD)
        return;
    if (woken != 0)
        FAIL(name, "a wake of a word nobody waits on woke %ld", woken);
    figure(name, (double)(t1 - t0) / n, "ns");
}

/* ---- files in the root file system (RAM on both kernels) ----------------------- */

#define FILES_DIR "/bench-files"
#define FILES_PATH FILES_DIR "/sub/file"
#define MIB (1 << 20)

/* The buffers and the open file the rounds use: mapped, not static, since a larger
 * bss would slow every fork of the program. */
static char *file_data, *file_back;
static int file_fd;

/* Times N calls of ROUND (nonzero: it went wrong) after a tenth as many untimed
 * ones, and reports the figure per call. Inlined into each caller, so that ROUND is
 * too: the timed loop calls the path itself, as lmbench's loops do, not a function
 * through a pointer that then calls it (which both kernels would pay, ~8
 * instructions a round). */
static inline __attribute__((always_inline)) void time_rounds(const char *name, long n, int (*round)(long))
{
    long bad = 0;
    for (long i = 0; i < n / 10 + 2; i++)
        bad += round(i);
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    for (long i = 0; i < n; i++)
        bad += round(i);
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    if (bad)
        FAIL(name, "%ld rounds went wrong", bad);
    figure(name, (double)(t1 - t0) / n, "ns");
}

static int create_delete(long i)
{
    (void)i;
    int created = creat(FILES_DIR "/sub/new", 0644);
    return created < 0 || close(created) != 0 || unlink(FILES_DIR "/sub/new") != 0;
}

static int write_read_4k(long i)
{
    file_data[0] = (char)i;
    return pwrite(file_fd, file_data, PAGE, 0) != PAGE || pread(file_fd, file_back, PAGE, 0) != PAGE ||
           file_back[0] != (char)i;
}

static int write_1m(long i)
{
    (void)i;
    return ftruncate(file_fd, 0) != 0 || pwrite(file_fd, file_data, MIB, 0) != MIB;
}

static int stat_path(long i)
{
    (void)i;
    struct stat st;
    return stat(FILES_PATH, &st) != 0 || st.st_size != MIB;
}

static int open_close(long i)
{
    (void)i;
    int opened = open(FILES_PATH, O_RDONLY);
    return opened < 0 || close(opened) != 0;
}

static void bench_files(void)
{
    file_data = mmap(NULL, MIB + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (file_data == MAP_FAILED)
        FAIL("file-create-delete", "mmap: %s", strerror(errno));
    file_back = file_data + MIB;
    memset(file_data, 'm', MIB);
    mkdir(FILES_DIR, 0755);
    mkdir(FILES_DIR "/sub", 0755);
    file_fd = open(FILES_PATH, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (file_fd < 0)
        FAIL("file-create-delete", "create %s: %s", FILES_PATH, strerror(errno));
    time_rounds("file-create-delete", count(5000, 10), create_delete);
    time_rounds("file-write-read-4k", count(20000, 10), write_read_4k);
    time_rounds("file-write-1m", count(200, 2), write_1m);
    time_rounds("stat-path", count(20000, 10), stat_path);
    time_rounds("open-close", count(20000, 10), open_close);
    close(file_fd);
    unlink(FILES_PATH);
}

/* ---- many processes: the ring at scale, a thousand children at once ------------- */

/* lat-ctx with 96 and 512 processes in the ring: the per-hop cost must not grow with
 * the number of processes (the scheduler's pick and wake stay cheap). */
static void bench_lat_ctx_many(void)
{
    bench_ring(96);
    bench_ring(512);
}

/* fork 1,000 children (each exits at once), then reap them all: per round. */
static void bench_fork_many(void)
{
    const char *name = "fork-1000";
    enum { CHILDREN = 1000 };
    static pid_t kids[CHILDREN];
    /* Linux lets root past RLIMIT_NPROC; timeshare enforces it for everyone, and
     * its default, from memory, is below 1,000 on a small machine. */
    struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_NPROC, &unlimited);
    long rounds = count(5, 1);
    uint64_t t0 = 0;
    for (long r = 0; r < rounds + 1; r++) {
        if (r == 1) /* round 0 warms up */
            t0 = now_ns(CLOCK_MONOTONIC);
        for (int i = 0; i < CHILDREN; i++) {
            kids[i] = fork();
            if (kids[i] < 0)
                FAIL(name, "fork %d: %s", i, strerror(errno));
            if (kids[i] == 0)
                _exit(7);
        }
        for (int i = 0; i < CHILDREN; i++)
            if (!reap(name, kids[i], 7))
                return;
    }
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    figure(name, (double)(t1 - t0) / rounds, "ns");
}

/* ---- the kernel log through syslog(2) ------------------------------------------ */

/* klogctl(READ_ALL) into a 16 KiB buffer (BusyBox dmesg's least), as dmesg reads
 * the log: per KiB returned, since each kernel's boot log has its own length. */
static void bench_syslog_read_all(void)
{
    const char *name = "syslog-read-all";
    static char text[16 * 1024];
    long n = count(2000, 10), bytes = 0;
    for (long i = 0; i < n / 10 + 1; i++)
        if (klogctl(3, text, sizeof text) <= 0)
            FAIL(name, "klogctl READ_ALL: %s", errno ? strerror(errno) : "empty");
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    for (long i = 0; i < n; i++) {
        int got = klogctl(3, text, sizeof text);
        if (got <= 0 || text[got - 1] != '\n')
            FAIL(name, "klogctl READ_ALL returned %d, not whole lines", got);
        bytes += got;
    }
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    figure(name, (double)(t1 - t0) / ((double)bytes / 1024), "ns");
}

/* ---- scheduling attributes: sched_setattr / sched_getattr ------------------------ */

/* sched_setattr of the caller (SCHED_OTHER, a nice value, a 3 ms slice) and
 * sched_getattr back, alternating two nice values so every set changes something:
 * per pair. The first version of struct sched_attr, as 6 words. */
static void bench_sched_setattr(void)
{
    const char *name = "sched-setattr";
    long n = count(20000, 100);
    uint64_t set[6] = { 48, 0, 0, 3000000, 0, 0 }, got[6];
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    for (long i = 0; i < n; i++) {
        set[2] = (uint32_t)(i & 1);
        if (syscall(SYS_sched_setattr, 0, set, 0) != 0 || syscall(SYS_sched_getattr, 0, got, 48, 0) != 0)
            FAIL(name, "sched_setattr/getattr: %s", strerror(errno));
        if ((uint32_t)got[2] != (uint32_t)(i & 1))
            FAIL(name, "read back nice %d after setting %ld", (int)(uint32_t)got[2], i & 1);
    }
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    set[2] = 0;
    syscall(SYS_sched_setattr, 0, set, 0);
    figure(name, (double)(t1 - t0) / n, "ns");
}

/* ---- memory-mapped files ------------------------------------------------------- */

/* mmap of a 4 MiB file (MAP_SHARED, read-only), a read of each page once, munmap:
 * per page. What a program that maps a file to read it pays per page (the page
 * faults, or whatever maps the pages instead of them, and the unmapping). */
static void bench_mmap_file_fault(void)
{
    const char *name = "mmap-file-fault";
    enum { FILE_PAGES = 1024 };
    const char *path = "/mmap-file-fault";
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        FAIL(name, "create %s: %s", path, strerror(errno));
    static char page[PAGE];
    long expected = 0;
    for (int i = 0; i < FILE_PAGES; i++) {
        expected += 'a' + i % 26;
        memset(page, 'a' + i % 26, PAGE);
        if (write(fd, page, PAGE) != PAGE)
            FAIL(name, "write: %s", strerror(errno));
    }
    long rounds = count(40, 4);
    uint64_t t0 = 0;
    for (long r = 0; r < rounds + 1; r++) {
        if (r == 1) /* round 0 warms up */
            t0 = now_ns(CLOCK_MONOTONIC);
        volatile char *mapped = mmap(NULL, FILE_PAGES * PAGE, PROT_READ, MAP_SHARED, fd, 0);
        if (mapped == MAP_FAILED)
            FAIL(name, "mmap: %s", strerror(errno));
        long sum = 0;
        for (int i = 0; i < FILE_PAGES; i++)
            sum += mapped[(long)i * PAGE + i % PAGE];
        if (sum != expected || munmap((void *)mapped, FILE_PAGES * PAGE) != 0)
            FAIL(name, "the mapping read %ld, not %ld", sum, expected);
    }
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    figure(name, (double)(t1 - t0) / ((double)rounds * FILE_PAGES), "ns");
    close(fd);
    unlink(path);
}

/* ---- common paths, lmbench's lat_syscall / lat_sig / lat_select / bw_* ---------- */

/* One call per round, through musl's wrappers (what programs call), not an inline
 * SYSCALL: each a path lmbench times. (Not gettid: musl answers it from the thread
 * descriptor, without a system call.) */
static pid_t parent_pid;
static int zero_fd, stat_fd;
static struct sigaction install_action;

static int getppid_round(long i)
{
    (void)i;
    return getppid() != parent_pid;
}

static int read_zero_round(long i)
{
    char byte = (char)(i | 1);
    return read(zero_fd, &byte, 1) != 1 || byte != 0;
}

static int fstat_round(long i)
{
    (void)i;
    struct stat st;
    return fstat(stat_fd, &st) != 0 || !S_ISREG(st.st_mode);
}

static int sigaction_round(long i)
{
    (void)i;
    struct sigaction old;
    return sigaction(SIGUSR1, &install_action, &old) != 0 || old.sa_handler != on_signal;
}

static void bench_libc_calls(void)
{
    parent_pid = getppid();
    time_rounds("getppid-libc", count(200000, 100), getppid_round);
    /* The Linux initramfs has /dev/zero too (linux::initramfs). */
    zero_fd = open("/dev/zero", O_RDONLY);
    if (zero_fd < 0)
        error("read-devzero-1", "open /dev/zero: %s", strerror(errno));
    else
        time_rounds("read-devzero-1", count(100000, 100), read_zero_round);
    stat_fd = open("/bench-fstat", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (stat_fd < 0)
        error("fstat", "create /bench-fstat: %s", strerror(errno));
    else
        time_rounds("fstat", count(100000, 100), fstat_round);
    unlink("/bench-fstat");
    install_action.sa_handler = on_signal;
    sigemptyset(&install_action.sa_mask);
    if (sigaction(SIGUSR1, &install_action, NULL) != 0)
        FAIL("sigaction-install", "sigaction: %s", strerror(errno));
    time_rounds("sigaction-install", count(100000, 100), sigaction_round);
}

/* ---- the vDSO's clocks: what programs call, through musl (Linux's vDSO there too) -- */

static uint64_t last_clock_ns;

static int clock_gettime_round(long i)
{
    (void)i;
    struct timespec t;
    uint64_t before = last_clock_ns;
    if (clock_gettime(CLOCK_MONOTONIC, &t) != 0)
        return 1;
    last_clock_ns = (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
    return last_clock_ns < before;
}

static int gettimeofday_round(long i)
{
    (void)i;
    struct timeval tv;
    return gettimeofday(&tv, NULL) != 0 || tv.tv_usec >= 1000000;
}

static void bench_vdso_clocks(void)
{
    time_rounds("clock_gettime", count(1000000, 100), clock_gettime_round);
    time_rounds("gettimeofday", count(1000000, 100), gettimeofday_round);
}

/* lmbench's "prot fault": a write to a read-only page raises SIGSEGV, whose handler
 * makes the page writable and returns, and the write is retried. Per round: the
 * mprotect that makes the page read-only again, the fault, the delivery, the
 * handler's mprotect and the sigreturn. */
static char *prot_page;
static volatile long prot_faults;

static void on_prot_fault(int sig, siginfo_t *info, void *context)
{
    (void)context;
    if (sig == SIGSEGV && info->si_addr == prot_page) {
        prot_faults++;
        mprotect(prot_page, PAGE, PROT_READ | PROT_WRITE);
    }
}

static int prot_fault_round(long i)
{
    long before = prot_faults;
    if (mprotect(prot_page, PAGE, PROT_READ) != 0)
        return 1;
    *(volatile char *)prot_page = (char)i;
    return prot_faults != before + 1 || prot_page[0] != (char)i;
}

static void bench_prot_fault(void)
{
    const char *name = "prot-fault-signal";
    prot_page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (prot_page == MAP_FAILED)
        FAIL(name, "mmap: %s", strerror(errno));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_prot_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, 0) != 0)
        FAIL(name, "sigaction: %s", strerror(errno));
    time_rounds(name, count(20000, 50), prot_fault_round);
}

/* poll and select of 100 pipe read ends, none ready, zero timeout: lmbench's
 * lat_select, the per-descriptor cost of both calls. */
#define WATCHED 100
static struct pollfd watched[WATCHED];
static fd_set watched_set;
static int watched_max;

static int poll_round(long i)
{
    (void)i;
    return poll(watched, WATCHED, 0) != 0;
}

static int select_round(long i)
{
    (void)i;
    fd_set readable = watched_set;
    struct timeval zero = {0, 0};
    return select(watched_max + 1, &readable, NULL, NULL, &zero) != 0;
}

static void bench_poll_select(void)
{
    FD_ZERO(&watched_set);
    for (int i = 0; i < WATCHED; i++) {
        int p[2];
        if (pipe(p) != 0) {
            error("poll-100", "pipe: %s", strerror(errno));
            FAIL("select-100", "pipe: %s", strerror(errno));
        }
        watched[i] = (struct pollfd){.fd = p[0], .events = POLLIN};
        FD_SET(p[0], &watched_set);
        if (p[0] > watched_max)
            watched_max = p[0];
    }
    time_rounds("poll-100", count(20000, 50), poll_round);
    time_rounds("select-100", count(20000, 50), select_round);
}

/* mmap of 512 KiB anonymous memory, nothing touched, munmap: lmbench's lat_mmap
 * without the file. */
static int mmap_round(long i)
{
    (void)i;
    void *mapped = mmap(NULL, 512 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return mapped == MAP_FAILED || munmap(mapped, 512 * 1024) != 0;
}

static void bench_mmap_512k(void)
{
    time_rounds("mmap-512k", count(20000, 50), mmap_round);
}

/* Bandwidth as ns per KiB (lower is better like every other row; MB/s = 1e6 / it),
 * in lmbench's 64 KiB transfers. */
#define CHUNK (64 * 1024)

/* bw_pipe: a child reads 64 KiB at a time what the parent writes 64 KiB at a time;
 * timed from the first write to the child's exit, which checks every byte's count. */
static void bench_pipe_bandwidth(void)
{
    const char *name = "pipe-bandwidth";
    long chunks = count(1024, 16);
    char *buf = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        FAIL(name, "mmap: %s", strerror(errno));
    memset(buf, 'p', CHUNK);
    int p[2];
    if (pipe(p) != 0)
        FAIL(name, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        FAIL(name, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(p[1]);
        long total = 0, wrong = 0;
        for (;;) {
            ssize_t got = read(p[0], buf, CHUNK);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                break;
            wrong += buf[0] != 'p' || buf[got - 1] != 'p';
            total += got;
        }
        _exit(total == chunks * CHUNK && !wrong ? 0 : 1);
    }
    close(p[0]);
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    for (long i = 0; i < chunks; i++)
        if (write_full(p[1], buf, CHUNK) != 0) {
            close(p[1]);
            reap(name, pid, 0);
            FAIL(name, "write: %s", strerror(errno));
        }
    close(p[1]);
    if (!reap(name, pid, 0))
        return;
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    figure(name, (double)(t1 - t0) / ((double)chunks * CHUNK / 1024), "ns");
}

/* bw_file_rd: a 4 MiB file read from the start in 64 KiB reads, again and again. */
static void bench_file_read_bandwidth(void)
{
    const char *name = "file-read-bandwidth";
    enum { FILE_CHUNKS = 64 };
    const char *path = "/bench-read-bandwidth";
    char *buf = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        FAIL(name, "mmap: %s", strerror(errno));
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        FAIL(name, "create %s: %s", path, strerror(errno));
    for (int i = 0; i < FILE_CHUNKS; i++) {
        memset(buf, 'a' + i % 26, CHUNK);
        if (write_full(fd, buf, CHUNK) != 0)
            FAIL(name, "write: %s", strerror(errno));
    }
    long rounds = count(16, 2), wrong = 0;
    uint64_t t0 = 0;
    for (long r = 0; r < rounds + 1; r++) {
        if (r == 1) /* round 0 warms up */
            t0 = now_ns(CLOCK_MONOTONIC);
        if (lseek(fd, 0, SEEK_SET) != 0)
            FAIL(name, "lseek: %s", strerror(errno));
        for (int i = 0; i < FILE_CHUNKS; i++)
            wrong += read(fd, buf, CHUNK) != CHUNK || buf[i] != 'a' + i % 26;
    }
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    close(fd);
    unlink(path);
    if (wrong)
        FAIL(name, "%ld 64 KiB reads were short or wrong", wrong);
    figure(name, (double)(t1 - t0) / ((double)rounds * FILE_CHUNKS * CHUNK / 1024), "ns");
}

static void bench_bandwidth(void)
{
    bench_pipe_bandwidth();
    bench_file_read_bandwidth();
}

/* lmbench's lat_proc shell: fork, and the child execs /bin/sh -c "this program
 * --exit-now" (the shell execs it in turn), the parent waits. Both kernels' initrds
 * have BusyBox as /bin/sh. */
static void bench_exec_sh(void)
{
    const char *name = "fork-exec-sh";
    long n = count(200, 5);
    /* In the shell, /proc/self/exe would be the shell: name this program's file. */
    char program[400] = {0}, command[512];
    if (strcmp(self_path, "/proc/self/exe") != 0 || readlink(self_path, program, sizeof program - 1) < 0)
        snprintf(program, sizeof program, "%s", self_path);
    snprintf(command, sizeof command, "%s --exit-now", program);
    char *argv[] = {"sh", "-c", command, 0};
    uint64_t t0 = 0;
    for (long i = 0; i < n + 2; i++) {
        if (i == 2)
            t0 = now_ns(CLOCK_MONOTONIC);
        pid_t pid = fork();
        if (pid < 0)
            FAIL(name, "fork: %s", strerror(errno));
        if (pid == 0) {
            execve("/bin/sh", argv, self_envp);
            _exit(127);
        }
        if (!reap(name, pid, 42))
            return;
    }
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    figure(name, (double)(t1 - t0) / n, "ns");
}

/* ---- several CPUs: cross-CPU wakes, scaling ----------------------------------- */

/* These rows need two CPUs or more: with one, each says so on a line of its own
 * ("bench-skip NAME ..."), which is neither a figure nor an error. */


/* Pins the calling thread to CPU (-1: every CPU the machine has, up to 64). */
static int pin_to_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu >= 0)
        CPU_SET(cpu, &set);
    else
        for (int c = 0; c < 64; c++)
            CPU_SET(c, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

/* True if there are at least two CPUs; else the ROWS say why they have no figure. */
static int two_cpus_or_skip(const char *const *rows, int count, int cpus)
{
    if (cpus >= 2)
        return 1;
    for (int r = 0; r < count; r++)
        out("bench-skip %s needs 2 CPUs (%d usable)", rows[r], cpus);
    return 0;
}

/* ipi-wakeup-latency: a thread pinned to CPU 1 waits on a futex (CPU 1 idles);
 * the main thread, on CPU 0, reads the TSC and wakes it; the woken thread reads the
 * TSC first thing. The TSCs of the CPUs agree (QEMU keeps them in step). */
static _Atomic int wakeup_word;
static long wakeup_rounds;
static _Atomic uint64_t wakeup_sent;
static uint64_t wakeup_ticks;
static int wakeup_unpinned;

static void *wakeup_sleeper(void *arg)
{
    (void)arg;
    wakeup_unpinned = pin_to_cpu(1) != 0;
    for (long i = 0; i < wakeup_rounds; i++) {
        futex_wait_while(&wakeup_word, 2 * (int)i);
        uint64_t woke = rdtsc();
        if (i > 0) /* the first wake found the thread not yet asleep */
            wakeup_ticks += woke - atomic_load(&wakeup_sent);
        futex_store_wake(&wakeup_word, 2 * (int)i + 2);
    }
    return NULL;
}

static void bench_ipi_wakeup(const char *name)
{
    long n = count(2000, 20);
    wakeup_rounds = n + 1;
    wakeup_ticks = 0;
    atomic_store(&wakeup_word, 0);
    if (pin_to_cpu(0) != 0)
        FAIL(name, "sched_setaffinity: %s", strerror(errno));
    pthread_t sleeper;
    int e = pthread_create(&sleeper, NULL, wakeup_sleeper, NULL);
    if (e) {
        no_thread(name, e);
        return;
    }
    uint64_t t0 = now_ns(CLOCK_MONOTONIC), c0 = rdtsc();
    for (long i = 0; i < n + 1; i++) {
        /* Time for the sleeper to block and its CPU to go idle. */
        uint64_t settle = now_ns(CLOCK_MONOTONIC) + 50000;
        while (now_ns(CLOCK_MONOTONIC) < settle)
            ;
        atomic_store(&wakeup_sent, rdtsc());
        futex_store_wake(&wakeup_word, 2 * (int)i + 1);
        futex_wait_while(&wakeup_word, 2 * (int)i + 1);
    }
    uint64_t t1 = now_ns(CLOCK_MONOTONIC), c1 = rdtsc();
    pthread_join(sleeper, NULL);
    if (wakeup_unpinned)
        FAIL(name, "sched_setaffinity to CPU 1 failed");
    if (atomic_load(&wakeup_word) != 2 * (int)(n + 1))
        FAIL(name, "the wakes went astray");
    double tsc_per_ns = t1 > t0 ? (double)(c1 - c0) / (double)(t1 - t0) : 0;
    if (tsc_per_ns <= 0)
        FAIL(name, "the TSC did not advance");
    figure(name, (double)wakeup_ticks / tsc_per_ns / n, "ns");
}

static void bench_cross_cpu(void)
{
    static const char *const rows[] = {"pipe-pingpong-cross-cpu", "futex-wake-cross-cpu", "ipi-wakeup-latency"};
    if (!two_cpus_or_skip(rows, 3, usable_cpus()))
        return;
    pipe_pingpong(rows[0], 1);
    futex_pingpong(rows[1], 1);
    bench_ipi_wakeup(rows[2]);
}

/* smp-scaling: the same CPU-bound work, one share per CPU, done by as many
 * processes (or threads) all pinned to CPU 0, then free to run on every CPU. */
static long scaling_work;

static void *spin_work(void *arg)
{
    for (volatile long i = 0; i < scaling_work; i++)
        ;
    return arg;
}

/* Wall time of WORKERS processes (THREADS: threads of this one) each spinning
 * scaling_work rounds, on CPU 0 only (ONE_CPU) or anywhere. 0 on failure. */
static uint64_t time_workers(const char *name, int workers, int threads, int one_cpu)
{
    if (pin_to_cpu(one_cpu ? 0 : -1) != 0) {
        error(name, "sched_setaffinity: %s", strerror(errno));
        return 0;
    }
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    pid_t pids[64];
    pthread_t tids[64];
    for (int w = 0; w < workers; w++) {
        if (threads) {
            int e = pthread_create(&tids[w], NULL, spin_work, NULL);
            if (e) {
                no_thread(name, e);
                return 0;
            }
            continue;
        }
        pids[w] = fork();
        if (pids[w] < 0) {
            error(name, "fork: %s", strerror(errno));
            return 0;
        }
        if (pids[w] == 0) {
            spin_work(NULL);
            _exit(0);
        }
    }
    for (int w = 0; w < workers; w++) {
        if (threads)
            pthread_join(tids[w], NULL);
        else if (!reap(name, pids[w], 0))
            return 0;
    }
    return now_ns(CLOCK_MONOTONIC) - t0;
}

/* The figure: how many times the work goes faster on every CPU than on one. */
static void scaling(const char *name, int workers, int threads)
{
    uint64_t one = time_workers(name, workers, threads, 1);
    uint64_t all = one ? time_workers(name, workers, threads, 0) : 0;
    if (one && all)
        figure(name, (double)one / (double)all, "x");
}

static void bench_smp_scaling(void)
{
    static const char *const rows[] = {"smp-scaling-procs", "smp-scaling-threads"};
    int cpus = usable_cpus();
    if (!two_cpus_or_skip(rows, 2, cpus))
        return;
    scaling_work = count(20000000, 100000);
    scaling(rows[0], cpus > 64 ? 64 : cpus, 0);
    scaling(rows[1], cpus > 64 ? 64 : cpus, 1);
}

/* ---- the table of benchmarks --------------------------------------------------- */

/* The most rows one group reports (lat-ctx). */
#define GROUP_ROWS 7

struct group {
    const char *name;
    void (*run)(void);
    const char *rows[GROUP_ROWS];
};

static const struct group groups[] = {
    {"boot", bench_boot, {"boot", "boot-poweron"}},
    {"null-syscall", bench_null_syscall, {"null-syscall"}},
    {"write-devnull", bench_write_devnull, {"write-devnull"}},
    {"pipe-4k", bench_pipe_4k, {"pipe-write-read-4k", "pipe-read-4k"}},
    {"yield-switch", bench_yield, {"yield-switch"}},
    {"pipe-pingpong", bench_pipe_pingpong, {"pipe-pingpong"}},
    {"lat-ctx",
     bench_lat_ctx,
     {"lat-ctx-2", "lat-ctx-4", "lat-ctx-8", "lat-ctx-16", "lat-ctx-24", "lat-ctx-32", "lat-ctx-64"}},
    {"fork-exit-wait", bench_fork, {"fork-exit-wait"}},
    {"fork-exec-wait", bench_exec, {"fork-exec-wait"}},
    {"signal-roundtrip", bench_signal, {"signal-roundtrip"}},
    {"timer-tick", bench_timer, {"timer-tick-share", "timer-tick-rate", "timer-tick-cost"}},
    {"thread-create-join", bench_thread_create, {"thread-create-join"}},
    {"futex-pingpong", bench_futex_pingpong, {"futex-pingpong"}},
    {"mutex-contended", bench_mutex_contended, {"mutex-contended"}},
    {"futex-wake-crowd", bench_futex_wake_crowd, {"futex-wake-crowd"}},
    {"files", bench_files, {"file-create-delete", "file-write-read-4k", "file-write-1m", "stat-path", "open-close"}},
    {"console-throughput", bench_console, {"console-throughput"}},
    {"lat-ctx-many", bench_lat_ctx_many, {"lat-ctx-96", "lat-ctx-512"}},
    {"fork-1000", bench_fork_many, {"fork-1000"}},
    {"syslog-read-all", bench_syslog_read_all, {"syslog-read-all"}},
    {"sched-setattr", bench_sched_setattr, {"sched-setattr"}},
    {"mmap-file-fault", bench_mmap_file_fault, {"mmap-file-fault"}},
    {"libc-calls", bench_libc_calls, {"getppid-libc", "read-devzero-1", "fstat", "sigaction-install"}},
    {"vdso-clocks", bench_vdso_clocks, {"clock_gettime", "gettimeofday"}},
    {"prot-fault-signal", bench_prot_fault, {"prot-fault-signal"}},
    {"poll-select", bench_poll_select, {"poll-100", "select-100"}},
    {"mmap-512k", bench_mmap_512k, {"mmap-512k"}},
    {"bandwidth", bench_bandwidth, {"pipe-bandwidth", "file-read-bandwidth"}},
    {"fork-exec-sh", bench_exec_sh, {"fork-exec-sh"}},
    {"smp-cross-cpu", bench_cross_cpu, {"pipe-pingpong-cross-cpu", "futex-wake-cross-cpu", "ipi-wakeup-latency"}},
    {"smp-scaling", bench_smp_scaling, {"smp-scaling-procs", "smp-scaling-threads"}},
};
#define GROUPS (sizeof groups / sizeof groups[0])

/* Is group G selected by NAMES (a group's name or one of its rows'; none = all)? */
static int selected(const struct group *g, char **names, int count)
{
    if (count == 0)
        return 1;
    for (int i = 0; i < count; i++) {
        if (strcmp(names[i], g->name) == 0)
            return 1;
        for (int r = 0; r < GROUP_ROWS && g->rows[r]; r++)
            if (strcmp(names[i], g->rows[r]) == 0)
                return 1;
    }
    return 0;
}

/* Run group G in a child; rows it could not report become bench-errors. */
static int run_group(const struct group *g)
{
    pid_t pid = fork();
    if (pid < 0) { /* no fork: run it here */
        group_status = 0;
        g->run();
        return group_status != 0;
    }
    if (pid == 0) {
        /* A benchmark that hangs is killed (SIGALRM) after a generous guest time, and
         * only its rows are lost (where the kernel has alarm). */
        alarm((unsigned)(120 + 240 * scale));
        group_status = 0;
        g->run();
        _exit(group_status);
    }
    int status;
    pid_t got;
    while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (got == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (got == pid && WIFEXITED(status) && WEXITSTATUS(status) == 3)
        return 1; /* it said what failed */
    for (int r = 0; r < GROUP_ROWS && g->rows[r]; r++)
        out("bench-error %s the benchmark process %s", g->rows[r],
            got == pid ? describe_as(status, "wait status") : "could not be waited for");
    return 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench [--scale X] [--check] [NAME...] | --list | --exit-now\n");
}

int main(int argc, char **argv, char **envp)
{
    boot_ns = now_ns(CLOCK_MONOTONIC);
    boot_tsc = rdtsc();
    if (argc > 1 && strcmp(argv[1], "--exit-now") == 0)
        _exit(42);
    /* The program's own path for fork-exec-wait: argv[0] (/init on Linux, /bin/bench on
     * timeshare), or, when that names no file (run natively with another argv[0]),
     * /proc/self/exe. */
    self_path = argv[0];
    if (access(self_path, X_OK) != 0 && access("/proc/self/exe", X_OK) == 0)
        self_path = "/proc/self/exe";
    self_envp = envp;

    char *names[64];
    int named = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0) {
            check_mode = 1;
        } else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc) {
            char *end;
            scale = strtod(argv[++i], &end);
            if (*end || !(scale > 0)) {
                usage();
                return 2;
            }
        } else if (strcmp(argv[i], "--list") == 0) {
            for (size_t g = 0; g < GROUPS; g++)
                for (int r = 0; r < GROUP_ROWS && groups[g].rows[r]; r++)
                    out("%s", groups[g].rows[r]);
            return 0;
        } else if (argv[i][0] == '-' || named == 64) {
            usage();
            return 2;
        } else {
            names[named++] = argv[i];
        }
    }
    for (int i = 0; i < named; i++) {
        int known = 0;
        for (size_t g = 0; g < GROUPS; g++)
            known |= selected(&groups[g], &names[i], 1);
        if (!known) {
            fprintf(stderr, "bench: no benchmark named %s\n", names[i]);
            usage();
            return 2;
        }
    }

    /* With several CPUs the rows of one CPU run pinned to CPU 0, so that each figure
     * is one CPU's cost, as with one CPU online, not wherever the scheduler puts the
     * two sides; the rows of several CPUs pin each of their threads themselves
     * (pin_to_cpu widens the set again). */
    cpu_set_t start_set;
    CPU_ZERO(&start_set);
    if (sched_getaffinity(0, sizeof start_set, &start_set) == 0)
        usable_cpus_at_start = CPU_COUNT(&start_set);
    if (usable_cpus_at_start > 1 && pin_to_cpu(0) != 0) {
        fprintf(stderr, "bench: sched_setaffinity to CPU 0: %s\n", strerror(errno));
        return 1;
    }

    int failures = 0;
    for (size_t g = 0; g < GROUPS; g++)
        if (selected(&groups[g], names, named))
            failures += run_group(&groups[g]);
    out("bench-done %d", failures);

    if (getpid() == 1) {
        /* init: power off (exiting would panic Linux). Let the console drain first. */
        tcdrain(1);
        sync();
        reboot(RB_POWER_OFF);
        /* Not there (timeshare): init's exit powers the machine off. */
    }
    return check_mode && failures ? 1 : 0;
}
