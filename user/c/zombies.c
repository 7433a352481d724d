/* zombies (for timeshare, where this program is pid 1 and alone): 200 short-lived
 * forked children, each exiting at once and waited for, leave nothing behind: the
 * free-frame count (sysinfo freeram, in pages of mem_unit bytes) is back exactly where
 * it was, sysinfo counts one process again, and wait4(-1, WNOHANG) says ECHILD.
 * A first fork+wait warms up whatever the kernel allocates once. Then the same with
 * 50 children that all exist at once (zombies until reaped), and with a child that
 * grows its heap and maps memory before exiting, and with children that execve this
 * program again (argv[0], as timeshare starts it: /bin/zombies), and with children
 * killed by SIGKILL while asleep or spinning. Prints "frames returned" and
 * "no zombies", or FAIL lines with the numbers. Exit status: number of failures.
 *   zombies [N]  N children instead of 200. */
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

static void snapshot(unsigned long *freeram, unsigned *procs)
{
    struct sysinfo info;
    if (sysinfo(&info) != 0) {
        printf("FAIL sysinfo: %s\n", strerror(errno));
        exit(100);
    }
    *freeram = info.freeram;
    *procs = info.procs;
}

static void compare(const char *what, unsigned long before, unsigned long after, unsigned procs)
{
    int status;
    pid_t p;
    errno = 0;
    p = waitpid(-1, &status, WNOHANG);
    int error = errno;
    if (before == after) {
        printf("%s: frames returned\n", what);
    } else {
        printf("FAIL %s: freeram %lu before, %lu after (%ld)\n", what, before, after, (long)after - (long)before);
        failures++;
    }
    if (procs == 1 && p == -1 && error == ECHILD) {
        printf("%s: no zombies\n", what);
    } else {
        printf("FAIL %s: sysinfo procs %u (want 1), wait4(-1, WNOHANG) = %d (%s)\n", what, procs, (int)p,
               p == -1 ? strerror(error) : "a child was left");
        failures++;
    }
}

static void reap(pid_t pid, int want)
{
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != want) {
        printf("FAIL child %d: status 0x%x\n", (int)pid, status);
        failures++;
    }
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--exit") == 0) {
        /* The exec'd image: some memory, then exit 0. */
        char *heap = malloc(300000);
        if (!heap)
            return 1;
        memset(heap, 5, 300000);
        return 0;
    }
    int n = argc > 1 ? atoi(argv[1]) : 200;
    unsigned long before, after;
    unsigned procs;
    char what[64];

    if (getpid() != 1)
        fprintf(stderr, "zombies: not pid 1: the counts include other processes\n");

    /* Warm-up. */
    {
        pid_t pid = fork_or_die();
        if (pid == 0)
            _exit(0);
        reap(pid, 0);
    }

    /* 1. One after another. */
    snapshot(&before, &procs);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork_or_die();
        if (pid == 0)
            _exit(i & 0x7f);
        reap(pid, i & 0x7f);
    }
    snapshot(&after, &procs);
    snprintf(what, sizeof what, "%d children one after another", n);
    compare(what, before, after, procs);

    /* 2. Fifty at once: all exit, then all are reaped. */
    {
        pid_t pids[50];
        unsigned during;
        for (int i = 0; i < 50; i++) {
            pids[i] = fork_or_die();
            if (pids[i] == 0)
                _exit(3);
        }
        snapshot(&after, &during);
        printf("with 50 children forked, sysinfo counts %s\n", during == 51 ? "51 processes" : "WRONG");
        if (during != 51) {
            printf("FAIL procs %u\n", during);
            failures++;
        }
        for (int i = 0; i < 50; i++)
            reap(pids[i], 3);
        snapshot(&after, &procs);
        compare("50 children at once", before, after, procs);
    }

    /* 3. Children that use memory: a bigger heap, an anonymous mapping, their own
     * copies of the parent's touched pages. */
    {
        static char touched[256 * 1024];
        memset(touched, 1, sizeof touched);
        snapshot(&before, &procs);
        for (int i = 0; i < 20; i++) {
            pid_t pid = fork_or_die();
            if (pid == 0) {
                char *heap = malloc(1 << 20);
                char *map = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (!heap || map == MAP_FAILED)
                    _exit(1);
                memset(heap, 2, 1 << 20);
                memset(map, 3, 1 << 20);
                memset(touched, 4, sizeof touched);
                _exit(0);
            }
            reap(pid, 0);
        }
        snapshot(&after, &procs);
        compare("20 children using 2.25 MiB each", before, after, procs);
    }

    /* 4. Children that execve this program again (which then uses some memory and
     * exits): the replaced image and the new one are both given back. */
    snapshot(&before, &procs);
    for (int i = 0; i < 20; i++) {
        pid_t pid = fork_or_die();
        if (pid == 0) {
            char *args[] = { argv[0], "--exit", NULL };
            char *env[] = { NULL };
            execve(argv[0], args, env);
            _exit(127);
        }
        reap(pid, 0);
    }
    snapshot(&after, &procs);
    compare("20 children that execve", before, after, procs);

    /* 5. Children killed (SIGKILL) while asleep, and killed while spinning. */
    snapshot(&before, &procs);
    for (int i = 0; i < 20; i++) {
        pid_t pid = fork_or_die();
        if (pid == 0) {
            if (i & 1)
                for (;;)
                    __asm__ volatile("" ::: "memory");
            struct timespec t = { 10, 0 };
            nanosleep(&t, NULL);
            _exit(0);
        }
        struct timespec t = { 0, 2000000 };
        nanosleep(&t, NULL);
        kill(pid, SIGKILL);
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
            printf("FAIL killed child: status 0x%x\n", status);
            failures++;
        }
    }
    snapshot(&after, &procs);
    compare("20 children killed", before, after, procs);

    return failures;
}
