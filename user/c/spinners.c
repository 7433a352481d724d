/* spinners: a thousand CPU-bound processes at once (for timeshare, where this
 * program is pid 1; it runs on a host too).
 *   spinners window N MS   N children spin together for MS ms of the clock; each
 *                          one's CPU time (wait4's rusage) is compared with the mean:
 *                          prints whether every child got within a factor of 2 of it.
 *   spinners share N MS    N children each spin until they have had MS ms of CPU;
 *                          prints whether all of them got there (none starved).
 * The children are all forked before any spins: they wait on a pipe for the start,
 * which carries the deadline. Figures go to stderr. Exit status: failed checks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

static uint64_t cpu_ns(void) { return now_ns(CLOCK_PROCESS_CPUTIME_ID); }

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "window") != 0 && strcmp(argv[1], "share") != 0)) {
        fprintf(stderr, "usage: spinners window|share N MS\n");
        return 2;
    }
    int windowed = strcmp(argv[1], "window") == 0;
    int n = atoi(argv[2]);
    uint64_t ms = strtoull(argv[3], NULL, 10);
    int start[2];
    if (pipe(start) != 0)
        return 1;
    pid_t *kids = calloc(n, sizeof *kids);
    fflush(stdout);
    for (int i = 0; i < n; i++) {
        kids[i] = fork();
        if (kids[i] < 0) {
            printf("fork %d: %s\n", i, strerror(errno));
            return 1;
        }
        if (kids[i] == 0) {
            close(start[1]);
            uint64_t deadline;
            if (read(start[0], &deadline, sizeof deadline) != sizeof deadline)
                _exit(3);
            if (windowed)
                while (now_ns(CLOCK_MONOTONIC) < deadline)
                    ;
            else
                while (cpu_ns() < ms * 1000000)
                    ;
            _exit(0);
        }
    }
    close(start[0]);
    uint64_t deadline = now_ns(CLOCK_MONOTONIC) + ms * 1000000;
    for (int i = 0; i < n; i++)
        write(start[1], &deadline, sizeof deadline);
    uint64_t *cpu_us = calloc(n, sizeof *cpu_us);
    int finished = 0;
    for (int i = 0; i < n; i++) {
        int status;
        struct rusage usage;
        if (wait4(kids[i], &status, 0, &usage) != kids[i]) {
            printf("wait4: %s\n", strerror(errno));
            return 1;
        }
        finished += WIFEXITED(status) && WEXITSTATUS(status) == 0;
        cpu_us[i] = usage.ru_utime.tv_sec * 1000000ULL + usage.ru_utime.tv_usec + usage.ru_stime.tv_sec * 1000000ULL +
                    usage.ru_stime.tv_usec;
    }
    uint64_t total = 0, least = UINT64_MAX, most = 0;
    for (int i = 0; i < n; i++) {
        total += cpu_us[i];
        least = cpu_us[i] < least ? cpu_us[i] : least;
        most = cpu_us[i] > most ? cpu_us[i] : most;
    }
    double mean = (double)total / n;
    fprintf(stderr, "spinners: CPU time per child: least %llu us, most %llu us, mean %.0f us\n",
            (unsigned long long)least, (unsigned long long)most, mean);
    printf("%d children spun: all finished: %s\n", n, yes(finished == n));
    int fair = least * 2 >= mean && most <= 2 * mean;
    if (windowed)
        printf("each one's CPU time within a factor of 2 of the mean: %s\n", yes(fair));
    return (finished != n) + (windowed && !fair);
}
