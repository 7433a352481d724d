/* nicehogs: CPU-bound children at given nice values share the CPU; how much did each
 * get? The workload of docs/scheduling.md, run the same way in the host simulator
 * (`timeshare sched-sim`) and in the kernel:
 *
 *   nicehogs MS NICE [NICE...]
 *
 * forks one child per NICE; each sets its nice value with setpriority, waits for a
 * common start, spins until a common deadline MS milliseconds later (CLOCK_MONOTONIC)
 * and reports the CPU time it was given (CLOCK_PROCESS_CPUTIME_ID) through a pipe.
 * The parent only waits meanwhile. It prints, on stdout:
 *
 *   child 0 nice 0: 745 ms cpu, 74.6% (weight 75.3%)
 *   ...
 *   cpu_ms 745 254
 *   first/second 2.93
 *   max/min 2.93
 *
 * "weight" is the share Linux's nice-to-weight table promises (stride, lottery and
 * fair aim for it; rr and mlfq ignore nice). On a machine with several CPUs the
 * children may each get a CPU of their own: pin it to one (taskset -c 0) to compare.
 * Exit status: 0, or 2 on an error. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

#define MAX_CHILDREN 16

static const int weights[40] = {
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916,
    9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991, 1586, 1277,
    1024, 820, 655, 526, 423, 335, 272, 215, 172, 137,
    110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
};

struct report {
    int index;
    int nice;
    uint64_t cpu_ns;
    uint64_t loops;
};

int main(int argc, char **argv)
{
    if (argc < 3 || argc - 2 > MAX_CHILDREN || atol(argv[1]) <= 0) {
        fprintf(stderr, "usage: nicehogs MS NICE [NICE...] (at most %d)\n", MAX_CHILDREN);
        return 2;
    }
    long ms = atol(argv[1]);
    int n = argc - 2;
    int nices[MAX_CHILDREN];
    pid_t pids[MAX_CHILDREN];
    struct report reports[MAX_CHILDREN];
    int go[2], results[2];
    if (pipe(go) != 0 || pipe(results) != 0) {
        perror("nicehogs: pipe");
        return 2;
    }
    for (int i = 0; i < n; i++) {
        nices[i] = atoi(argv[i + 2]);
        if (nices[i] < -20 || nices[i] > 19) {
            fprintf(stderr, "nicehogs: nice %d is not in -20..19\n", nices[i]);
            return 2;
        }
    }
    for (int i = 0; i < n; i++) {
        fflush(stdout);
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("nicehogs: fork");
            return 2;
        }
        if (pids[i] == 0) {
            struct report r = { i, nices[i], 0, 0 };
            uint64_t deadline;
            volatile uint64_t sink = 0;
            close(go[1]);
            close(results[0]);
            if (setpriority(PRIO_PROCESS, 0, nices[i]) != 0) {
                fprintf(stderr, "nicehogs: setpriority(%d): %s\n", nices[i], strerror(errno));
                _exit(2);
            }
            errno = 0;
            int got = getpriority(PRIO_PROCESS, 0);
            if (got != nices[i] || errno != 0) {
                fprintf(stderr, "nicehogs: getpriority says %d, not %d\n", got, nices[i]);
                _exit(2);
            }
            if (read_full(go[0], &deadline, sizeof deadline) != 0)
                _exit(2);
            uint64_t cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
            while (now_ns(CLOCK_MONOTONIC) < deadline) {
                for (int k = 0; k < 5000; k++)
                    sink += (uint64_t)k * 2654435761u;
                r.loops++;
            }
            r.cpu_ns = now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
            write(results[1], &r, sizeof r);
            _exit(0);
        }
    }
    close(go[0]);
    close(results[1]);
    /* Start everyone at once, with one deadline. */
    uint64_t deadline = now_ns(CLOCK_MONOTONIC) + (uint64_t)ms * 1000000ULL;
    for (int i = 0; i < n; i++)
        write(go[1], &deadline, sizeof deadline);
    close(go[1]);
    for (int i = 0; i < n; i++) {
        struct report r;
        if (read_full(results[0], &r, sizeof r) != 0 || r.index < 0 || r.index >= n) {
            fprintf(stderr, "nicehogs: a child did not report\n");
            return 2;
        }
        reports[r.index] = r;
    }
    for (int i = 0; i < n; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "nicehogs: child %d failed\n", i);
            return 2;
        }
    }

    uint64_t total = 0, min = UINT64_MAX, max = 0;
    double total_weight = 0;
    for (int i = 0; i < n; i++) {
        total += reports[i].cpu_ns;
        total_weight += weights[nices[i] + 20];
        if (reports[i].cpu_ns < min)
            min = reports[i].cpu_ns;
        if (reports[i].cpu_ns > max)
            max = reports[i].cpu_ns;
    }
    for (int i = 0; i < n; i++)
        printf("child %d nice %d: %llu ms cpu, %.1f%% (weight %.1f%%)\n", i, nices[i],
               (unsigned long long)(reports[i].cpu_ns / 1000000), total ? 100.0 * reports[i].cpu_ns / total : 0.0,
               100.0 * weights[nices[i] + 20] / total_weight);
    printf("cpu_ms");
    for (int i = 0; i < n; i++)
        printf(" %llu", (unsigned long long)(reports[i].cpu_ns / 1000000));
    printf("\n");
    if (n >= 2)
        printf("first/second %.2f\n", reports[1].cpu_ns ? (double)reports[0].cpu_ns / reports[1].cpu_ns : 0.0);
    printf("max/min %.2f\n", min ? (double)max / min : 0.0);
    return 0;
}
