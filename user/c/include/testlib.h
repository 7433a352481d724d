/* testlib.h: the helpers several of the C test programs in user/c share. Header only
 * (static functions), so that each program is still one .c file built on its own:
 * include it as "include/testlib.h" after the system headers. A program uses what it
 * needs; the compiler drops the rest. */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The number of failed checks: most programs print FAIL lines, count them here and
 * return the count as their exit status. */
static int failures __attribute__((unused));

/* ---- Time ---- */

static inline uint64_t now_ns(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* Sleeps `ms` milliseconds, going back to sleep for the rest when a signal handler
 * interrupts it. */
static inline void sleep_ms(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* The smallest gap between two back-to-back TSC reads (of 100,000): a spinning
 * loop's own step, against which a longer gap is time the CPU spent elsewhere. */
static inline uint64_t smallest_tsc_gap(void)
{
    uint64_t prev = rdtsc(), smallest = ~0ULL;
    for (int i = 0; i < 100000; i++) {
        uint64_t t = rdtsc();
        if (t - prev < smallest)
            smallest = t - prev;
        prev = t;
    }
    return smallest;
}

/* getpid by the SYSCALL instruction itself: no libc wrapper, no caching. */
static inline long raw_getpid(void)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"((long)SYS_getpid) : "rcx", "r11", "memory");
    return r;
}

/* ---- Output ---- */

static inline const char *yes(int condition) { return condition ? "yes" : "no"; }

/* "what: yes", or "what: no" and one more failure. */
static inline void report(const char *what, int ok)
{
    printf("%s: %s\n", what, yes(ok));
    if (!ok)
        failures++;
}

/* The name of errno value `e` ("EFAULT"), "no error" for 0, else "errno N" (a
 * static buffer: one at a time). */
static inline const char *errno_name(int e)
{
    switch (e) {
    case 0: return "no error";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG";
    case ENOEXEC: return "ENOEXEC";
    case EBADF: return "EBADF";
    case ECHILD: return "ECHILD";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ENOTTY: return "ENOTTY";
    case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS";
    case ERANGE: return "ERANGE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ELOOP: return "ELOOP";
    case EBUSY: return "EBUSY";
    case EDEADLK: return "EDEADLK";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EOWNERDEAD: return "EOWNERDEAD";
    default: {
        static char text[32];
        snprintf(text, sizeof text, "errno %d", e);
        return text;
    }
    }
}

/* Prints "what = result", or "what = -1 ENAME" for a failed call. */
static inline void show(const char *what, long result)
{
    if (result < 0)
        printf("%s = -1 %s\n", what, errno_name(errno));
    else
        printf("%s = %ld\n", what, result);
}

/* A call's result in words: the number it returned, or the errno's name (a
 * static buffer: one result per expression). */
static inline const char *call_result(long r)
{
    static char text[32];
    if (r < 0)
        return errno_name(errno);
    snprintf(text, sizeof text, "%ld", r);
    return text;
}

/* Prints "== title" and the file's text (what one read of up to 4 KiB returns;
 * nothing if it cannot be opened): /proc files, which are read whole. */
static inline void print_file(const char *title, const char *path)
{
    char text[4096];
    int fd = open(path, O_RDONLY);
    ssize_t length = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
    text[length < 0 ? 0 : length] = 0;
    printf("== %s\n%s", title, text);
    if (fd >= 0)
        close(fd);
}

/* ---- Processes ---- */

/* fork, with stdout flushed first (so that the child does not print the parent's
 * buffered lines again); a failed fork ends the program: "FAIL fork", status 100. */
static inline pid_t fork_or_die(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("FAIL fork: %s\n", strerror(errno));
        exit(100);
    }
    return pid;
}

/* A wait status in words: "exited N", "killed by signal N", or else `raw` and the value
 * in hex (a static buffer: one at a time). */
static inline const char *describe_as(int status, const char *raw)
{
    static char text[64];
    if (WIFEXITED(status))
        snprintf(text, sizeof text, "exited %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(text, sizeof text, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(text, sizeof text, "%s 0x%x", raw, status);
    return text;
}

static inline const char *describe(int status) { return describe_as(status, "status"); }

/* Runs the rest of main in a child (the program itself may be init under timeshare,
 * with no parent, every orphan's reaper): the parent waits for it, prints how it ended
 * and the "still running" line the host comparison ends with, and gets 1 (main then
 * returns 0); the child gets 0 and goes on. */
static inline int ran_in_tester_child(void)
{
    pid_t tester = fork_or_die();
    if (tester == 0)
        return 0;
    int status;
    waitpid(tester, &status, 0);
    printf("%s\n", describe(status));
    printf("still running\n");
    return 1;
}

/* No core files when a test kills its children on a Linux host (timeshare writes none
 * and has no setrlimit: ENOSYS, ignored). */
static inline void no_core_files(void)
{
    struct rlimit none = { 0, 0 };
    setrlimit(RLIMIT_CORE, &none);
}

/* ---- Pipes ---- */

/* Reads exactly `n` bytes (a signal's EINTR is retried): 0, or -1 on an error or EOF. */
static inline int read_full(int fd, void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = read(fd, (char *)buf + done, n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += r;
    }
    return 0;
}

/* Writes exactly `n` bytes (a signal's EINTR is retried): 0, or -1 on an error. */
static inline int write_full(int fd, const void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, (const char *)buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        done += w;
    }
    return 0;
}

/* ---- Signals ---- */

/* Allows the calling thread only CPU `cpu` (below 64): 0, or -1 after saying why. The
 * raw call with a one-word mask, so that programs need no _GNU_SOURCE for it. */
static inline int allow_only_cpu(int cpu)
{
    unsigned long mask = 1UL << cpu;
    if (syscall(SYS_sched_setaffinity, 0, sizeof mask, &mask) != 0) {
        printf("sched_setaffinity to CPU %d: %s\n", cpu, strerror(errno));
        return -1;
    }
    return 0;
}

/* sigaction(signal) with an SA_SIGINFO handler, `flags` added, an empty mask. */
static inline int handle_signal(int signal, void (*handler)(int, siginfo_t *, void *), int flags)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = handler;
    action.sa_flags = SA_SIGINFO | flags;
    return sigaction(signal, &action, NULL);
}

/* The name of signal `s` ("SIGSEGV") when it is one of `named` (a list ending in 0),
 * else `other`: each program names just the signals its expected output names. */
static inline const char *signal_name_in(int s, const int *named, const char *other)
{
    static const char *const names[] = {
        [SIGHUP] = "SIGHUP",   [SIGINT] = "SIGINT",       [SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",
        [SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT",     [SIGBUS] = "SIGBUS",   [SIGFPE] = "SIGFPE",
        [SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1",     [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
        [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM",     [SIGTERM] = "SIGTERM", [SIGCHLD] = "SIGCHLD",
        [SIGCONT] = "SIGCONT", [SIGSTOP] = "SIGSTOP",     [SIGTSTP] = "SIGTSTP", [SIGSYS] = "SIGSYS",
    };
    for (; *named; named++)
        if (*named == s && s > 0 && (size_t)s < sizeof names / sizeof names[0] && names[s])
            return names[s];
    return other;
}

/* A wait status in words, naming the signals of `named` (as signal_name_in):
 * "exited N", "killed by SIGNAME" or "killed by another signal", "status 0xN" (a
 * static buffer: one at a time). */
static inline const char *status_in_words(int status, const int *named)
{
    static char text[64];
    if (WIFEXITED(status))
        snprintf(text, sizeof text, "exited %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(text, sizeof text, "killed by %s", signal_name_in(WTERMSIG(status), named, "another signal"));
    else
        snprintf(text, sizeof text, "status %#x", status);
    return text;
}

/* ---- Cases in two groups, each in a child of its own (hostile_proc, hostile_mm,
 * hostile_clone): "same" ones print what Linux prints too; "limits" ones are for
 * timeshare alone, where the program is pid 1 (fork bombs, hogs, kernel tables) ---- */

struct grouped_case {
    const char *group;
    const char *name;
    void (*run)(void);
};

/* The main of such a program, `PROGRAM same|limits all|CASE...`: runs the group's
 * cases named, in their order, each in a child; one that does not exit 0 gets a
 * line "NAME: " and `status_text` of its status; then "still running", and 0.
 * The limits group refuses to run but as pid 1; usage errors return 2. */
static inline int run_grouped_cases(const struct grouped_case *cases, size_t count, int argc, char **argv,
                                    const char *program, const char *(*status_text)(int))
{
    if (argc < 3 || (strcmp(argv[1], "same") && strcmp(argv[1], "limits"))) {
        fprintf(stderr, "usage: %s same|limits all|CASE...\n", program);
        return 2;
    }
    if (!strcmp(argv[1], "limits") && getpid() != 1) {
        fprintf(stderr, "%s: the limits cases run only as the first process of timeshare\n", program);
        return 2;
    }
    no_core_files();
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < count; i++) {
        if (strcmp(cases[i].group, argv[1]))
            continue;
        int wanted = 0;
        for (int a = 2; a < argc; a++)
            wanted |= !strcmp(argv[a], "all") || !strcmp(argv[a], cases[i].name);
        if (!wanted)
            continue;
        pid_t child = fork_or_die();
        if (child == 0) {
            cases[i].run();
            fflush(stdout);
            _exit(0);
        }
        int status;
        waitpid(child, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            printf("%s: %s\n", cases[i].name, status_text(status));
    }
    printf("still running\n");
    return 0;
}

/* ---- Cases that each run in a child of their own (hostile_insn, hostile_sig) ---- */

struct child_case {
    const char *name;
    long (*run)(void);
};

/* Runs `c` in a child and prints how that ended: "NAME: killed by SIGNAME" (`named`
 * as for signal_name_in, any other signal "another signal"), "NAME: returned R" when
 * c->run returned R (sent through a pipe, as the parent prints everything), or
 * "NAME: exited N". */
static inline void run_child_case(const struct child_case *c, const int *named)
{
    int p[2];
    if (pipe(p) != 0)
        return;
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        close(p[0]);
        long r = c->run();
        write(p[1], &r, sizeof r);
        _exit(0);
    }
    close(p[1]);
    long r = 0;
    ssize_t got = read(p[0], &r, sizeof r);
    close(p[0]);
    int status;
    waitpid(child, &status, 0);
    if (WIFSIGNALED(status))
        printf("%s: killed by %s\n", c->name, signal_name_in(WTERMSIG(status), named, "another signal"));
    else if (got == sizeof r)
        printf("%s: returned %ld\n", c->name, r);
    else
        printf("%s: exited %d\n", c->name, WEXITSTATUS(status));
}

/* The main of such a program: runs the cases named on the command line ("all": every
 * one), in their order, then prints "still running" and returns 0; with no case
 * named, prints `usage` on stderr and returns 2. */
static inline int run_child_cases(const struct child_case *cases, size_t count, const int *named, int argc,
                                  char **argv, const char *usage)
{
    no_core_files();
    int ran = 0;
    for (size_t i = 0; i < count; i++) {
        int wanted = 0;
        for (int a = 1; a < argc; a++)
            wanted |= !strcmp(argv[a], "all") || !strcmp(argv[a], cases[i].name);
        if (wanted) {
            run_child_case(&cases[i], named);
            ran++;
        }
    }
    if (!ran) {
        fprintf(stderr, "%s\n", usage);
        return 2;
    }
    printf("still running\n");
    return 0;
}

#endif
