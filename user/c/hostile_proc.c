/* hostile_proc: processes that try to take the machine: loops that never yield,
 * fork bombs, memory hogs, programs that pile up kernel objects (mappings, pipes,
 * zombies), and a process that leaves strange FPU state for the next one.
 *
 *   hostile_proc same CASE...   cases whose output is the same on Linux (loops
 *                               killed from outside, resource limits Linux
 *                               enforces, FPU state isolation)
 *   hostile_proc limits CASE... cases that run into timeshare's own limits (Linux's
 *                               differ by nature: process count, memory, kernel
 *                               objects); the lines say what timeshare guarantees
 *   CASE "all" runs every case of the group. Each case runs in a child of its own;
 *   the last line is "still running". Exit status 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

static const char *self_path;

static const char *status_text(int status)
{
    static const int named[] = { SIGKILL, SIGTERM, SIGSEGV, SIGBUS, 0 };
    return status_in_words(status, named);
}

static pid_t spawn_spinner(int block_everything)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (block_everything) {
            sigset_t all;
            sigfillset(&all);
            sigprocmask(SIG_BLOCK, &all, NULL);
            for (int s = 1; s < NSIG; s++)
                signal(s, SIG_IGN);
        }
        for (volatile unsigned long i = 0;; i++)
            ;
    }
    return pid;
}

/* ---- Same as Linux ---- */

/* A loop left to spin 30 ms, then sent `signal`: how it ended. */
static const char *loop_sent(int signal)
{
    pid_t pid = spawn_spinner(0);
    sleep_ms(30);
    kill(pid, signal);
    int status;
    waitpid(pid, &status, 0);
    return status_text(status);
}

static void c_loop_sigkill(void)
{
    printf("a loop that never makes a system call, sent SIGKILL: %s\n", loop_sent(SIGKILL));
}

static void c_loop_sigterm(void)
{
    printf("a loop sent SIGTERM: %s\n", loop_sent(SIGTERM));
}

static void c_loop_blocking_everything(void)
{
    pid_t pid = spawn_spinner(1);
    sleep_ms(30);
    kill(pid, SIGTERM); /* ignored */
    kill(pid, SIGINT);  /* ignored */
    sleep_ms(30);
    int status;
    printf("a loop that blocks and ignores every signal, after SIGTERM and SIGINT: %s\n",
           waitpid(pid, &status, WNOHANG) == 0 ? "still running" : status_text(status));
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    printf("then SIGKILL: %s\n", status_text(status));
}

static void c_stopped_loop(void)
{
    pid_t pid = spawn_spinner(1);
    sleep_ms(20);
    kill(pid, SIGSTOP);
    int status;
    waitpid(pid, &status, WUNTRACED);
    printf("a loop sent SIGSTOP: %s\n", WIFSTOPPED(status) ? "stopped" : status_text(status));
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    printf("stopped, then SIGKILL: %s\n", status_text(status));
}

/* Three loops on one CPU: the parent and a sleeping sibling still get their turns. */
static void c_loops_do_not_starve(void)
{
    pid_t spinners[3];
    for (int i = 0; i < 3; i++)
        spinners[i] = spawn_spinner(0);
    pid_t sleeper = fork();
    if (sleeper == 0) {
        for (int i = 0; i < 5; i++)
            sleep_ms(10);
        _exit(7);
    }
    int status;
    waitpid(sleeper, &status, 0);
    printf("a child that sleeps 5 times 10 ms beside 3 loops: %s\n", status_text(status));
    long sum = 0;
    for (int i = 0; i < 1000; i++)
        sum += getpid() > 0;
    printf("the parent made 1000 system calls meanwhile: %s\n", sum == 1000 ? "yes" : "no");
    for (int i = 0; i < 3; i++) {
        kill(spinners[i], SIGKILL);
        waitpid(spinners[i], &status, 0);
    }
    printf("the loops, sent SIGKILL: %s\n", status_text(status));
}

static void c_rlimit_as(void)
{
    struct rlimit limit = { 64 << 20, 64 << 20 };
    printf("setrlimit RLIMIT_AS 64 MiB: %s\n", setrlimit(RLIMIT_AS, &limit) == 0 ? "ok" : strerror(errno));
    void *small = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap of 16 MiB under it: %s\n", small != MAP_FAILED ? "ok" : strerror(errno));
    errno = 0;
    void *big = mmap(NULL, 128 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap of 128 MiB under it: %s\n", big != MAP_FAILED ? "ok" : errno == ENOMEM ? "ENOMEM" : strerror(errno));
    void *start = sbrk(0);
    errno = 0;
    void *grown = sbrk(100 << 20);
    printf("sbrk of 100 MiB under it: %s\n", grown != (void *)-1 ? "ok" : errno == ENOMEM ? "ENOMEM" : strerror(errno));
    printf("the break did not move: %s\n", sbrk(0) == start ? "yes" : "no");
    /* Many small ones, until the limit: the total stays under it. */
    long mapped = 0;
    while (mmap(NULL, 1 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED)
        mapped++;
    printf("1 MiB mappings until ENOMEM: %s, fewer than 64: %s\n", errno == ENOMEM ? "ENOMEM" : strerror(errno), mapped < 64 ? "yes" : "no");
}

static void c_rlimit_nofile(void)
{
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    rlim_t hard = limit.rlim_max;
    limit.rlim_cur = 16;
    printf("setrlimit RLIMIT_NOFILE 16: %s\n", setrlimit(RLIMIT_NOFILE, &limit) == 0 ? "ok" : strerror(errno));
    int highest = -1, fd;
    while ((fd = open("/", O_RDONLY)) >= 0)
        highest = fd;
    printf("open until it fails: %s, the highest descriptor %d\n", errno == EMFILE ? "EMFILE" : strerror(errno), highest);
    printf("dup2 onto 16: %s\n", dup2(0, 16) < 0 && errno == EBADF ? "EBADF" : "no error");
    printf("fcntl F_DUPFD from 16: %s\n", fcntl(0, F_DUPFD, 16) < 0 && errno == EINVAL ? "EINVAL" : "no error");
    close(highest);
    int p[2];
    printf("pipe with one descriptor free: %s\n", pipe(p) < 0 && errno == EMFILE ? "EMFILE" : "no error");
    printf("open with one descriptor free: %s\n", (fd = open("/", O_RDONLY)) == highest ? "the free one" : "another one");
    limit.rlim_cur = hard < 1024 ? hard : 1024;
    printf("raising it again (under the hard limit): %s\n", setrlimit(RLIMIT_NOFILE, &limit) == 0 ? "ok" : strerror(errno));
    printf("then open: %s\n", open("/", O_RDONLY) == 16 ? "descriptor 16" : "another one");
}

/* FPU state is per process: a child that sets unusual MXCSR (round down, flush to
 * zero, denormals are zero, exceptions unmasked), x87 control word (single
 * precision, round up, exceptions unmasked) and AVX registers, and keeps
 * checking them while another child checks it still has the defaults. */
static uint32_t get_mxcsr(void)
{
    uint32_t v;
    __asm__ volatile("stmxcsr %0" : "=m"(v));
    return v;
}
static uint16_t get_fcw(void)
{
    uint16_t v;
    __asm__ volatile("fnstcw %0" : "=m"(v));
    return v;
}
static int have_avx(void)
{
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!(c & (1u << 27)) || !(c & (1u << 28)))
        return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6) == 6;
}

static void c_fpu_isolation(void)
{
    int avx = have_avx();
    int go[2], done[2];
    pipe(go);
    pipe(done);
    fflush(stdout);
    pid_t odd = fork();
    if (odd == 0) {
        /* The odd one: unusual state, kept across many switches. */
        uint32_t mxcsr = 0x2000 | 0x8000 | 0x0040 | (0x1f80 & ~0x0280); /* RC down, FTZ, DAZ, OE and ZE unmasked */
        uint16_t fcw = 0x0800 | 0x0000 | (0x037f & ~0x0300) ;            /* RC up, single precision */
        __asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
        __asm__ volatile("fldcw %0" : : "m"(fcw));
        uint64_t pattern[4] = { 0x1111111111111111ULL, 0x2222222222222222ULL, 0x3333333333333333ULL, 0x4444444444444444ULL };
        if (avx)
            __asm__ volatile("vmovdqu %0, %%ymm7" : : "m"(pattern) : "xmm7");
        write(go[1], "g", 1);
        int ok = 1;
        for (int i = 0; i < 200; i++) {
            sched_yield();
            ok &= get_mxcsr() == mxcsr && get_fcw() == fcw;
        }
        uint64_t back[4] = { 0 };
        if (avx)
            __asm__ volatile("vmovdqu %%ymm7, %0" : "=m"(back));
        ok &= !avx || !memcmp(back, pattern, sizeof back);
        char c;
        read(done[0], &c, 1);
        _exit(ok ? 0 : 1);
    }
    pid_t plain = fork();
    if (plain == 0) {
        char c;
        read(go[0], &c, 1);
        int ok = 1;
        for (int i = 0; i < 200; i++) {
            sched_yield();
            ok &= get_mxcsr() == 0x1f80 && get_fcw() == 0x037f;
        }
        /* Its floating-point results are the default ones: 1/3 rounds to nearest. */
        volatile float third = 1.0f / 3.0f;
        volatile double tiny = 1e-310; /* a denormal: not flushed */
        ok &= third == 0x1.555556p-2f && tiny * 1.0 != 0.0;
        uint64_t zero[4];
        if (avx) {
            __asm__ volatile("vmovdqu %%ymm7, %0" : "=m"(zero));
            ok &= zero[2] != 0x3333333333333333ULL; /* not the other's */
        }
        write(done[1], "d", 1);
        _exit(ok ? 0 : 1);
    }
    int status;
    waitpid(plain, &status, 0);
    printf("a process beside one with odd MXCSR, x87 control word and ymm7 sees only its own: %s\n",
           WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "yes" : "no");
    waitpid(odd, &status, 0);
    printf("and that one keeps its odd state across 200 switches: %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "yes" : "no");
}

/* execve starts the new program with the default FPU state. */
static void c_fpu_after_exec(void)
{
    uint32_t mxcsr = 0x7f80;
    uint16_t fcw = 0x0c7f;
    __asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
    __asm__ volatile("fldcw %0" : : "m"(fcw));
    fflush(stdout);
    /* (argv[0] is /bin/hostile_proc under timeshare, which a Linux host lacks.) */
    char *argv[] = { (char *)self_path, "fpu-report", NULL };
    execv("/proc/self/exe", argv);
    printf("execv: %s\n", strerror(errno));
}

/* A signal handler runs with the default FPU state, and sigreturn gives back the
 * interrupted one. */
static volatile uint32_t handler_mxcsr;
static void record_mxcsr(int signal)
{
    (void)signal;
    handler_mxcsr = get_mxcsr();
    uint32_t other = 0x3f80;
    __asm__ volatile("ldmxcsr %0" : : "m"(other));
}
static void c_fpu_in_handlers(void)
{
    uint32_t mxcsr = 0x5f80;
    __asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
    signal(SIGUSR1, record_mxcsr);
    raise(SIGUSR1);
    printf("MXCSR in a handler: %#x; after it returns: %#x\n", handler_mxcsr, get_mxcsr());
}

/* ---- timeshare's limits ---- */

static long free_memory(int *procs)
{
    struct sysinfo info;
    sysinfo(&info);
    if (procs)
        *procs = info.procs;
    return (long)(info.freeram * info.mem_unit);
}

/* "WHAT: yes" when free memory is back to `before` (else "no", and both on stderr). */
static void memory_back(const char *what, long before, long after)
{
    printf("%s: %s\n", what, after >= before ? "yes" : "no");
    if (after < before)
        fprintf(stderr, "hostile_proc: free memory before %ld KiB, after %ld KiB\n", before >> 10, after >> 10);
}

/* A child that exits 3 at once: "a new child: exited 3" (fork still works). */
static void new_child(void)
{
    int status;
    pid_t child = fork();
    if (child == 0)
        _exit(3);
    waitpid(child, &status, 0);
    printf("a new child: %s\n", status_text(status));
}

/* `n` children (at most 32) at once, each exiting with what `child` returns: how
 * many of them exited 0. */
static int children_exiting_zero(int n, int (*child)(void))
{
    pid_t kids[32];
    fflush(stdout);
    for (int i = 0; i < n; i++) {
        kids[i] = fork();
        if (kids[i] == 0)
            _exit(child());
    }
    int ok = 0;
    for (int i = 0; i < n; i++) {
        int status;
        waitpid(kids[i], &status, 0);
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    return ok;
}

/* A bystander: echoes one byte back per byte it reads, until EOF. */
static pid_t spawn_bystander(int to[2], int from[2])
{
    pipe(to);
    pipe(from);
    pid_t pid = fork();
    if (pid == 0) {
        close(to[1]);
        close(from[0]);
        char c;
        while (read(to[0], &c, 1) == 1)
            write(from[1], &c, 1);
        _exit(0);
    }
    close(to[0]);
    close(from[1]);
    return pid;
}

static int bystander_answers(int to[2], int from[2])
{
    char c = 'x', back = 0;
    return write(to[1], &c, 1) == 1 && read(from[0], &back, 1) == 1 && back == 'x';
}

/* A fork bomb: a child forks until fork fails (its children only wait), while a
 * bystander keeps answering; then the bomb's root kills and reaps its children.
 * fork fails with EAGAIN at the process limit (RLIMIT_NPROC, from memory as on
 * Linux, enforced for root too), for everyone meanwhile, and
 * afterwards every process slot and every byte of memory comes back. */
/* Touches the stack this process will use, so that its growth is not taken for
 * memory the kernel lost. */
static __attribute__((noinline)) void touch_stack(void)
{
    volatile char deep[32 * 1024];
    for (size_t i = 0; i < sizeof deep; i += 4096)
        deep[i] = 0;
}

/* More children than any limit of the memory these tests give the machine. */
#define MAX_KIDS 8192

/* Forks children that pause for good until fork fails (errno says why) or
 * MAX_KIDS of them run; returns how many, their pids in `kids`. */
static int fork_until_failure(pid_t kids[MAX_KIDS])
{
    int n = 0;
    pid_t pid;
    while (n < MAX_KIDS && (pid = fork()) > 0)
        kids[n++] = pid;
    if (pid == 0)
        for (;;)
            pause();
    return n;
}

/* Forks as many children as it can, then kills and reaps them. */
static void warm_up_fork_bomb(void)
{
    static pid_t kids[MAX_KIDS];
    int n = fork_until_failure(kids);
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    while (n-- > 0)
        wait(NULL);
}

static void c_fork_bomb(void)
{
    int to[2], from[2];
    pid_t bystander = spawn_bystander(to, from);
    int procs_before;
    /* A first bomb, unmeasured: the kernel keeps the page tables it made for that
     * many kernel stacks, for good. */
    warm_up_fork_bomb();
    touch_stack();
    sleep_ms(10);
    long before = free_memory(&procs_before);
    int report[2], command[2];
    pipe(report);
    pipe(command);
    fflush(stdout);
    pid_t bomb = fork();
    if (bomb == 0) {
        close(report[0]);
        close(command[1]);
        static pid_t kids[MAX_KIDS];
        int n = fork_until_failure(kids);
        int e = errno;
        write(report[1], &e, sizeof e);
        char c;
        read(command[0], &c, 1);
        for (int i = 0; i < n; i++)
            kill(kids[i], SIGKILL);
        int reaped = 0;
        while (wait(NULL) > 0)
            reaped++;
        _exit(reaped == n ? 0 : 1);
    }
    close(report[1]);
    close(command[0]);
    int e = 0;
    read(report[0], &e, sizeof e);
    int procs_full;
    free_memory(&procs_full);
    printf("fork until it fails: %s\n", e == EAGAIN ? "EAGAIN" : strerror(e));
    struct rlimit nproc;
    getrlimit(RLIMIT_NPROC, &nproc);
    printf("processes at the peak: the limit, RLIMIT_NPROC: %s\n", (rlim_t)procs_full == nproc.rlim_cur ? "yes" : "no");
    pid_t other = fork();
    if (other == 0)
        _exit(3);
    int status;
    printf("fork by another process meanwhile: %s\n", other < 0 && errno == EAGAIN ? "EAGAIN" : "it worked");
    if (other > 0)
        waitpid(other, &status, 0);
    printf("the bystander still answers: %s\n", bystander_answers(to, from) ? "yes" : "no");
    write(command[1], "k", 1);
    waitpid(bomb, &status, 0);
    printf("the bomb killed and reaped all its children: %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "yes" : "no");
    int procs_after;
    long after = free_memory(&procs_after);
    printf("processes back to what they were: %s\n", procs_after == procs_before ? "yes" : "no");
    memory_back("free memory back to what it was", before, after);
    new_child();
    printf("the bystander still answers: %s\n", bystander_answers(to, from) ? "yes" : "no");
    close(to[1]);
    waitpid(bystander, &status, 0);
    printf("the bystander: %s\n", status_text(status));
}

/* A child that maps and touches memory until the kernel stops it: killed (the OOM
 * killer: SIGKILL) or refused (mmap ENOMEM: it exits 9). Returns its status. */
static int run_hog(void)
{
    fflush(stdout);
    pid_t hog = fork();
    if (hog == 0) {
        for (;;) {
            char *b = mmap(NULL, 8 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (b == MAP_FAILED)
                _exit(9);
            for (size_t i = 0; i < (8 << 20); i += 4096)
                b[i] = 1;
        }
    }
    int status = 0;
    waitpid(hog, &status, 0);
    return status;
}

/* A memory hog beside a bystander that has memory of its own: the hog is stopped,
 * the kernel survives, the bystander is unharmed, and everything comes back. (A
 * first hog, unmeasured, makes this process's own pages its own: a fork shares
 * them until one side writes.) */
static void c_memory_hog(void)
{
    int to[2], from[2];
    pid_t bystander = spawn_bystander(to, from);
    touch_stack();
    bystander_answers(to, from);
    run_hog();
    bystander_answers(to, from);
    long before = free_memory(NULL);
    int status = run_hog();
    printf("the hog: %s\n",
           WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? "killed by SIGKILL"
           : WIFEXITED(status) && WEXITSTATUS(status) == 9   ? "refused memory"
                                                              : status_text(status));
    printf("the bystander still answers: %s\n", bystander_answers(to, from) ? "yes" : "no");
    memory_back("free memory back to what it was", before, free_memory(NULL));
    new_child();
    close(to[1]);
    waitpid(bystander, &status, 0);
}

/* Several hogs at once, each touching 1 MiB at a time and then holding what it
 * got: the kernel keeps its reserve (fork still works), the OOM killer ends the
 * biggest, and once they are all killed everything comes back. */
static int hogs_together(void)
{
    pid_t hogs[8];
    fflush(stdout);
    for (int i = 0; i < 8; i++) {
        hogs[i] = fork();
        if (hogs[i] == 0) {
            for (;;) {
                char *b = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (b == MAP_FAILED)
                    for (;;)
                        pause(); /* refused: hold what it has */
                for (size_t j = 0; j < (1 << 20); j += 4096)
                    b[j] = 1;
            }
        }
    }
    sleep_ms(1500);
    pid_t child = fork();
    if (child == 0)
        _exit(3);
    int status = -1;
    if (child > 0)
        waitpid(child, &status, 0);
    for (int i = 0; i < 8; i++) {
        kill(hogs[i], SIGKILL);
        waitpid(hogs[i], NULL, 0);
    }
    return status;
}

static void c_memory_hogs_together(void)
{
    touch_stack();
    hogs_together();
    long before = free_memory(NULL);
    int status = hogs_together();
    printf("fork while 8 hogs hold the memory: %s\n", status >= 0 ? status_text(status) : strerror(errno));
    memory_back("every hog gone, free memory back to what it was", before, free_memory(NULL));
}

/* Mappings by the tens of thousands (the kernel keeps a record of each). */
static void c_many_mappings(void)
{
    char *base = (char *)0x100000000UL;
    long n;
    for (n = 0; n < 1000000; n++) {
        void *p = mmap(base + n * 4096, 4096, (n & 1) ? PROT_READ : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p == MAP_FAILED)
            break;
    }
    printf("mappings until mmap fails: %s, at most 65530: %s\n", errno == ENOMEM ? "ENOMEM" : strerror(errno), n <= 65530 ? "yes" : "no");
    printf("munmap of all of them: %s\n", munmap(base, n * 4096) == 0 ? "ok" : strerror(errno));
    printf("mmap again: %s\n", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED ? "ok" : strerror(errno));
}

/* The same in many processes at once: the kernel's own memory is shared by all. */
static int map_until_enomem(void)
{
    char *base = (char *)0x100000000UL;
    long n;
    for (n = 0; n < 70000; n++)
        if (mmap(base + n * 4096, 4096, (n & 1) ? PROT_READ : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
            break;
    return errno == ENOMEM ? 0 : 1;
}

static void c_many_mappings_everywhere(void)
{
    printf("32 processes mapping until ENOMEM: %d of 32 got ENOMEM\n", children_exiting_zero(32, map_until_enomem));
    printf("mmap afterwards: %s\n", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED ? "ok" : strerror(errno));
}

/* Pipes full of data, in many processes: pipe buffers are kernel memory too. */
static int fill_pipes_until_refused(void)
{
    static char buf[65536];
    int n, e = 0;
    for (n = 0; n < 600; n++) {
        int p[2];
        if (pipe2(p, O_NONBLOCK)) {
            e = errno;
            break;
        }
        ssize_t w;
        while ((w = write(p[1], buf, sizeof buf)) > 0)
            ;
        if (w < 0 && errno != EAGAIN) {
            e = errno;
            break;
        }
    }
    /* Stopped by EMFILE, ENFILE or ENOMEM: the kernel's limits, not a crash. */
    return e == EMFILE || e == ENFILE || e == ENOMEM ? 0 : 1;
}

static void c_many_full_pipes(void)
{
    printf("16 processes filling pipes until refused: %d of 16 were refused cleanly\n",
           children_exiting_zero(16, fill_pipes_until_refused));
    int p[2];
    printf("a pipe afterwards: %s\n", pipe(p) == 0 && write(p[1], "x", 1) == 1 ? "ok" : strerror(errno));
}

static void c_zombies(void)
{
    int procs_before;
    free_memory(&procs_before);
    int n;
    for (n = 0; n < 400; n++) {
        pid_t pid = fork();
        if (pid < 0)
            break;
        if (pid == 0)
            _exit(n & 0x7f);
    }
    sleep_ms(100);
    int procs;
    free_memory(&procs);
    printf("400 children exit unreaped: %d zombies\n", procs - procs_before);
    int reaped = 0, sum_ok = 1, status;
    pid_t pid;
    while ((pid = wait(&status)) > 0) {
        reaped++;
        sum_ok &= WIFEXITED(status);
    }
    free_memory(&procs);
    printf("reaped %d, all exited: %s; processes back: %s\n", reaped, sum_ok ? "yes" : "no", procs == procs_before ? "yes" : "no");
}

static const struct grouped_case cases[] = {
    { "same", "loop-sigkill", c_loop_sigkill },
    { "same", "loop-sigterm", c_loop_sigterm },
    { "same", "loop-blocking-everything", c_loop_blocking_everything },
    { "same", "stopped-loop", c_stopped_loop },
    { "same", "loops-do-not-starve", c_loops_do_not_starve },
    { "same", "rlimit-as", c_rlimit_as },
    { "same", "rlimit-nofile", c_rlimit_nofile },
    { "same", "fpu-isolation", c_fpu_isolation },
    { "same", "fpu-after-exec", c_fpu_after_exec },
    { "same", "fpu-in-handlers", c_fpu_in_handlers },
    { "limits", "fork-bomb", c_fork_bomb },
    { "limits", "memory-hog", c_memory_hog },
    { "limits", "memory-hogs-together", c_memory_hogs_together },
    { "limits", "many-mappings", c_many_mappings },
    { "limits", "many-mappings-everywhere", c_many_mappings_everywhere },
    { "limits", "many-full-pipes", c_many_full_pipes },
    { "limits", "zombies", c_zombies },
};
#define CASES (sizeof cases / sizeof cases[0])

int main(int argc, char **argv)
{
    self_path = argv[0];
    if (argc == 2 && !strcmp(argv[1], "fpu-report")) {
        printf("after execve: MXCSR %#x, x87 control word %#x\n", get_mxcsr(), get_fcw());
        return 0;
    }
    return run_grouped_cases(cases, CASES, argc, argv, "hostile_proc", status_text);
}
