/* threadshare: two processes share the CPU, one spinning with one thread, the
 * other with THREADS threads:
 *
 *   threadshare MS [THREADS]
 *
 * Each child spins until a common deadline MS milliseconds away (CLOCK_MONOTONIC)
 * and reports its CPU time, the sum of its threads' (each thread's
 * CLOCK_THREAD_CPUTIME_ID at its end), through a pipe. Prints on stdout:
 *
 *   single_ms 498
 *   multi_ms 501
 *   multi/single 1.01
 *
 * Exit status: 0, or 2 on an error. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

#define MAX_THREADS 8

static uint64_t deadline;
static uint64_t thread_cpu[MAX_THREADS];

/* Spins until the deadline, then records this thread's CPU time in *slot. */
static void *spin(void *slot)
{
    volatile uint64_t sink = 0;
    while (now_ns(CLOCK_MONOTONIC) < deadline)
        for (int k = 0; k < 5000; k++)
            sink += (uint64_t)k * 2654435761u;
    *(uint64_t *)slot = now_ns(CLOCK_THREAD_CPUTIME_ID);
    return NULL;
}

/* Forks a child that spins with `threads` threads and writes its CPU time. */
static pid_t spinner(int threads, int report)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    pthread_t others[MAX_THREADS];
    for (int i = 1; i < threads; i++)
        if (pthread_create(&others[i], NULL, spin, &thread_cpu[i]) != 0)
            _exit(2);
    spin(&thread_cpu[0]);
    uint64_t cpu = thread_cpu[0];
    for (int i = 1; i < threads; i++) {
        pthread_join(others[i], NULL);
        cpu += thread_cpu[i];
    }
    write(report, &cpu, sizeof cpu);
    _exit(0);
}

int main(int argc, char **argv)
{
    long ms = argc > 1 ? atol(argv[1]) : 1000;
    int threads = argc > 2 ? atoi(argv[2]) : 3;
    if (ms <= 0 || threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "usage: threadshare MS [THREADS]\n");
        return 2;
    }
    int single[2], multi[2];
    if (pipe(single) != 0 || pipe(multi) != 0)
        return 2;
    deadline = now_ns(CLOCK_MONOTONIC) + (uint64_t)ms * 1000000ULL;
    pid_t a = spinner(1, single[1]);
    pid_t b = spinner(threads, multi[1]);
    uint64_t single_ns, multi_ns;
    if (read(single[0], &single_ns, sizeof single_ns) != sizeof single_ns ||
        read(multi[0], &multi_ns, sizeof multi_ns) != sizeof multi_ns)
        return 2;
    int status_a, status_b;
    if (waitpid(a, &status_a, 0) != a || waitpid(b, &status_b, 0) != b || !WIFEXITED(status_a) ||
        !WIFEXITED(status_b) || WEXITSTATUS(status_a) || WEXITSTATUS(status_b))
        return 2;
    printf("single_ms %llu\nmulti_ms %llu\nmulti/single %.2f\n", (unsigned long long)(single_ns / 1000000),
           (unsigned long long)(multi_ns / 1000000), (double)multi_ns / (double)(single_ns ? single_ns : 1));
    return 0;
}
