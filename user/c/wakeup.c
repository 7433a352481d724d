/* wakeup: how late is an interactive process woken beside CPU hogs?
 *
 *   wakeup MS [HOGS [SLEEP_MS]]
 *
 * forks HOGS (default 2) CPU-bound children that spin for MS milliseconds, then, for
 * those MS milliseconds, sleeps SLEEP_MS (default 5) at a time with nanosleep and
 * measures each wake-up's delay: how much later than asked it was running again
 * (CLOCK_MONOTONIC). The timer ticks every millisecond, so about 1 ms of delay is the
 * clock's granularity; the rest is the scheduler making it wait for the hogs.
 * Prints on stdout:
 *
 *   wakeups 180, worst delay 1043 us, mean 512 us
 *   worst_us 1043
 *   hogs cpu_ms 489 490
 *
 * Exit status: 0, or 2 on an error. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

#define MAX_HOGS 8

int main(int argc, char **argv)
{
    long ms = argc > 1 ? atol(argv[1]) : 1000;
    int hogs = argc > 2 ? atoi(argv[2]) : 2;
    long sleep_ms = argc > 3 ? atol(argv[3]) : 5;
    if (ms <= 0 || hogs < 0 || hogs > MAX_HOGS || sleep_ms <= 0) {
        fprintf(stderr, "usage: wakeup MS [HOGS [SLEEP_MS]]\n");
        return 2;
    }
    int results[2];
    pid_t pids[MAX_HOGS];
    if (pipe(results) != 0)
        return 2;
    uint64_t deadline = now_ns(CLOCK_MONOTONIC) + (uint64_t)ms * 1000000ULL;
    for (int i = 0; i < hogs; i++) {
        fflush(stdout);
        pids[i] = fork();
        if (pids[i] < 0)
            return 2;
        if (pids[i] == 0) {
            volatile uint64_t sink = 0;
            close(results[0]);
            uint64_t cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
            while (now_ns(CLOCK_MONOTONIC) < deadline)
                for (int k = 0; k < 5000; k++)
                    sink += (uint64_t)k * 2654435761u;
            uint64_t cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
            write(results[1], &cpu, sizeof cpu);
            _exit(0);
        }
    }
    close(results[1]);

    uint64_t worst = 0, sum = 0, count = 0;
    struct timespec nap = { sleep_ms / 1000, (sleep_ms % 1000) * 1000000L };
    while (now_ns(CLOCK_MONOTONIC) + (uint64_t)sleep_ms * 1000000ULL < deadline) {
        uint64_t before = now_ns(CLOCK_MONOTONIC);
        if (nanosleep(&nap, NULL) != 0) {
            perror("wakeup: nanosleep");
            return 2;
        }
        uint64_t late = now_ns(CLOCK_MONOTONIC) - before;
        late = late > (uint64_t)sleep_ms * 1000000ULL ? late - (uint64_t)sleep_ms * 1000000ULL : 0;
        if (late > worst)
            worst = late;
        sum += late;
        count++;
    }
    uint64_t hog_cpu[MAX_HOGS] = { 0 };
    for (int i = 0; i < hogs; i++) {
        if (read(results[0], &hog_cpu[i], sizeof hog_cpu[i]) != sizeof hog_cpu[i])
            return 2;
        int status;
        if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status))
            return 2;
    }
    printf("wakeups %llu, worst delay %llu us, mean %llu us\n", (unsigned long long)count,
           (unsigned long long)(worst / 1000), (unsigned long long)(count ? sum / count / 1000 : 0));
    printf("worst_us %llu\n", (unsigned long long)(worst / 1000));
    printf("hogs cpu_ms");
    for (int i = 0; i < hogs; i++)
        printf(" %llu", (unsigned long long)(hog_cpu[i] / 1000000));
    printf("\n");
    return count > 0 ? 0 : 2;
}
