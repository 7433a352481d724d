/* shares: three CPU-bound children run side by side for one second of wall time
 * (CLOCK_MONOTONIC, one common deadline); each then reads the CPU time it was given
 * (CLOCK_PROCESS_CPUTIME_ID) and sends it to the parent through a pipe. The parent
 * prints "fair" when the largest share is within 1.5x of the smallest, "unfair"
 * otherwise; the shares themselves go to stderr (they vary from run to run), as
 * "shares: A B C ms, max/min R". On a multi-core host each child may get a CPU of its
 * own: that is fair too. Exit status: 0 when fair, 1 when not, 2 on an error.
 *   shares [MS]  run for MS milliseconds instead of 1000. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

#define CHILDREN 3

struct report {
    int index;
    uint64_t cpu_ns;
    uint64_t loops;
};

int main(int argc, char **argv)
{
    long ms = argc > 1 ? atol(argv[1]) : 1000;
    struct report reports[CHILDREN];
    pid_t pids[CHILDREN];
    int p[2];

    if (ms <= 0 || pipe(p) != 0) {
        fprintf(stderr, "usage: shares [MS]\n");
        return 2;
    }
    uint64_t deadline = now_ns(CLOCK_MONOTONIC) + (uint64_t)ms * 1000000ULL;
    for (int i = 0; i < CHILDREN; i++) {
        fflush(stdout);
        pids[i] = fork();
        if (pids[i] < 0) {
            fprintf(stderr, "shares: fork: %s\n", strerror(errno));
            return 2;
        }
        if (pids[i] == 0) {
            struct report r = { i, 0, 0 };
            volatile uint64_t sink = 0;
            close(p[0]);
            /* Spin; look at the clock every few thousand steps only. */
            while (now_ns(CLOCK_MONOTONIC) < deadline) {
                for (int k = 0; k < 5000; k++)
                    sink += (uint64_t)k * 2654435761u;
                r.loops++;
            }
            r.cpu_ns = now_ns(CLOCK_PROCESS_CPUTIME_ID);
            write(p[1], &r, sizeof r);
            _exit(0);
        }
    }
    close(p[1]);
    for (int i = 0; i < CHILDREN; i++) {
        struct report r;
        if (read(p[0], &r, sizeof r) != sizeof r || r.index < 0 || r.index >= CHILDREN) {
            fprintf(stderr, "shares: a child did not report\n");
            return 2;
        }
        reports[r.index] = r;
    }
    for (int i = 0; i < CHILDREN; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "shares: child %d did not exit 0\n", i);
            return 2;
        }
    }

    uint64_t min = UINT64_MAX, max = 0;
    for (int i = 0; i < CHILDREN; i++) {
        if (reports[i].cpu_ns < min)
            min = reports[i].cpu_ns;
        if (reports[i].cpu_ns > max)
            max = reports[i].cpu_ns;
    }
    int fair = min > 0 && (double)max / (double)min < 1.5;
    fprintf(stderr, "shares: %llu %llu %llu ms, max/min %.3f (loops %llu %llu %llu)\n",
            (unsigned long long)(reports[0].cpu_ns / 1000000), (unsigned long long)(reports[1].cpu_ns / 1000000),
            (unsigned long long)(reports[2].cpu_ns / 1000000), min ? (double)max / (double)min : 0.0,
            (unsigned long long)reports[0].loops, (unsigned long long)reports[1].loops,
            (unsigned long long)reports[2].loops);
    printf("%s\n", fair ? "fair" : "unfair");
    return fair ? 0 : 1;
}
