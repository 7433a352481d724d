/* sleeps: nanosleep and clock_nanosleep are timer-driven wake-ups.
 *   1. nanosleep(30 ms) lasts at least 30 ms of CLOCK_MONOTONIC and costs (almost) no
 *      CPU time; nanosleep(0) returns at once; a bad tv_nsec is EINVAL.
 *   2. clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) returns at or after its
 *      deadline; a deadline in the past returns at once.
 *   3. Four children sleep until one common base time plus 90, 0, 60 and 30 ms
 *      (absolute deadlines) and then write their number to a pipe: the parent reads
 *      them in deadline order, 1 3 2 0.
 * Output is the same on every run (timings on stderr). Exit status: failures. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

static struct timespec timespec_of(uint64_t ns)
{
    struct timespec t = { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) };
    return t;
}

int main(void)
{
    /* 1. nanosleep. */
    {
        struct timespec t = timespec_of(30000000);
        uint64_t t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
        int r = nanosleep(&t, NULL);
        uint64_t t1 = now_ns(CLOCK_MONOTONIC), c1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
        fprintf(stderr, "sleeps: nanosleep(30 ms) took %llu us, %llu us of CPU\n",
                (unsigned long long)(t1 - t0) / 1000, (unsigned long long)(c1 - c0) / 1000);
        report("nanosleep(30 ms) returned 0", r == 0);
        report("nanosleep(30 ms) lasted at least 30 ms", t1 - t0 >= 30000000ULL);
        report("nanosleep(30 ms) used no CPU (< 10 ms)", c1 - c0 < 10000000ULL);

        struct timespec zero = { 0, 0 };
        report("nanosleep(0) returned 0", nanosleep(&zero, NULL) == 0);
        struct timespec bad = { 0, 1000000000L };
        errno = 0;
        int b = nanosleep(&bad, NULL);
        report("nanosleep with tv_nsec = 1e9 fails with EINVAL", b == -1 && errno == EINVAL);
        struct timespec negative = { -1, 0 };
        errno = 0;
        b = nanosleep(&negative, NULL);
        report("nanosleep with tv_sec = -1 fails with EINVAL", b == -1 && errno == EINVAL);
    }

    /* 2. clock_nanosleep with an absolute deadline. */
    {
        uint64_t deadline = now_ns(CLOCK_MONOTONIC) + 30000000ULL;
        struct timespec t = timespec_of(deadline);
        int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
        uint64_t after = now_ns(CLOCK_MONOTONIC);
        report("clock_nanosleep(TIMER_ABSTIME) returned 0", r == 0);
        report("clock_nanosleep(TIMER_ABSTIME) returned at or after its deadline", after >= deadline);
        t = timespec_of(after - 1000000ULL);
        uint64_t t0 = now_ns(CLOCK_MONOTONIC);
        r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
        uint64_t t1 = now_ns(CLOCK_MONOTONIC);
        fprintf(stderr, "sleeps: clock_nanosleep to a past deadline took %llu us\n", (unsigned long long)(t1 - t0) / 1000);
        report("clock_nanosleep to a past deadline returned 0", r == 0);
    }

    /* 3. Sleepers wake in deadline order. */
    {
        static const int offsets_ms[4] = { 90, 0, 60, 30 };
        int p[2];
        char order[5] = { 0 };
        if (pipe(p) != 0)
            return 100;
        uint64_t base = now_ns(CLOCK_MONOTONIC) + 50000000ULL;
        pid_t pids[4];
        for (int i = 0; i < 4; i++) {
            fflush(stdout);
            pids[i] = fork();
            if (pids[i] < 0)
                return 100;
            if (pids[i] == 0) {
                struct timespec t = timespec_of(base + (uint64_t)offsets_ms[i] * 1000000ULL);
                while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
                    ;
                char digit = (char)('0' + i);
                write(p[1], &digit, 1);
                _exit(0);
            }
        }
        close(p[1]);
        size_t got = 0;
        ssize_t n;
        while (got < 4 && (n = read(p[0], order + got, 4 - got)) > 0)
            got += (size_t)n;
        for (int i = 0; i < 4; i++)
            waitpid(pids[i], NULL, 0);
        printf("sleepers woke in the order %c %c %c %c\n", order[0], order[1], order[2], order[3]);
        if (strcmp(order, "1320") != 0)
            failures++;
        close(p[0]);
    }

    printf("%s\n", failures ? "FAIL" : "done");
    return failures;
}
