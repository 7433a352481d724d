/* killspin: a child spinning in for(;;) with no system calls never gives up the CPU;
 * the parent still gets it back (its sleep ends: only a timer interrupt can take the
 * CPU from the spinner), kills the spinner and collects its status. First with
 * SIGKILL, then SIGTERM, then two spinners at once. kill(pid, 0) probes a live child
 * and a zombie (0), and a reaped one (ESRCH). The spinner's CPU time (from wait4's
 * rusage) shows it really ran while the parent slept. Output is the same on every
 * run; details (CPU times) go to stderr. Exit status: number of failures. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

/* A child that tells the parent it runs (one byte on `ready`), then spins forever. */
static pid_t spinner(int ready)
{
    pid_t pid = fork_or_die();
    if (pid == 0) {
        write(ready, "r", 1);
        for (;;)
            __asm__ volatile("" ::: "memory");
    }
    return pid;
}

static long cpu_ms(const struct rusage *u)
{
    return (u->ru_utime.tv_sec + u->ru_stime.tv_sec) * 1000L +
           (u->ru_utime.tv_usec + u->ru_stime.tv_usec) / 1000L;
}

/* Kill `pid` with `signal`, wait for it, print how it ended; returns its CPU ms. */
static long kill_and_wait(const char *what, pid_t pid, int signal)
{
    struct rusage usage;
    int status;
    memset(&usage, 0, sizeof usage);
    if (kill(pid, signal) != 0) {
        printf("FAIL kill %s: %s\n", what, strerror(errno));
        failures++;
    }
    if (wait4(pid, &status, 0, &usage) != pid) {
        printf("FAIL wait %s: %s\n", what, strerror(errno));
        failures++;
        return 0;
    }
    printf("%s: %s\n", what, describe(status));
    if (!WIFSIGNALED(status) || WTERMSIG(status) != signal)
        failures++;
    fprintf(stderr, "killspin: %s used %ld ms of CPU\n", what, cpu_ms(&usage));
    return cpu_ms(&usage);
}

static void ran(const char *what, long ms)
{
    /* The parent slept 100 ms and nothing else of ours was runnable (on one CPU):
     * the spinner had most of it. A wide margin (a loaded host shares CPU 0 with
     * others): any CPU time at all means the spinner was still spinning when
     * preemption gave the parent the CPU back. */
    printf("%s ran while the parent slept: %s\n", what, ms >= 5 ? "yes" : "no");
    if (ms < 5)
        failures++;
}

int main(void)
{
    int p[2];
    char c;

    if (pipe(p) != 0) {
        printf("FAIL pipe\n");
        return 1;
    }

    /* 1. SIGKILL. */
    pid_t a = spinner(p[1]);
    read(p[0], &c, 1);
    sleep_ms(100);
    printf("kill(spinner, 0): %d\n", kill(a, 0));
    ran("spinner", kill_and_wait("spinner sent SIGKILL", a, SIGKILL));
    errno = 0;
    int r = kill(a, 0);
    printf("kill(reaped spinner, 0): %d %s\n", r, errno == ESRCH ? "ESRCH" : strerror(errno));
    if (r != -1 || errno != ESRCH)
        failures++;

    /* 2. SIGTERM. */
    a = spinner(p[1]);
    read(p[0], &c, 1);
    sleep_ms(100);
    ran("spinner", kill_and_wait("spinner sent SIGTERM", a, SIGTERM));

    /* 3. Two spinners at once; the parent sleeps, wakes, kills both. */
    a = spinner(p[1]);
    pid_t b = spinner(p[1]);
    read(p[0], &c, 1);
    read(p[0], &c, 1);
    sleep_ms(100);
    long ma = kill_and_wait("first of two spinners, SIGKILL", a, SIGKILL);
    long mb = kill_and_wait("second of two spinners, SIGTERM", b, SIGTERM);
    ran("the pair", ma + mb);

    /* 4. A zombie still answers kill(pid, 0). */
    fflush(stdout);
    pid_t z = fork();
    if (z == 0)
        _exit(0);
    sleep_ms(20);
    printf("kill(zombie, 0): %d\n", kill(z, 0));
    waitpid(z, NULL, 0);

    printf("%s\n", failures ? "FAIL" : "done");
    return failures;
}
