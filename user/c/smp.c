/* smp: work that shows (or needs) several CPUs at once (for timeshare's --cpus N;
 * it runs on a host too).
 *   smp hogs N MS        N children each spin until they have had MS ms of CPU;
 *                        prints "parallel: yes" when their CPU times add up to more
 *                        than 1.3 times the wall time they took together, else
 *                        "parallel: no" (figures on stderr).
 *   smp threads N ITER   N threads each add 1 to a mutex-guarded counter ITER times
 *                        and hand a token round through a condition variable; prints
 *                        whether both counts came out exact.
 *   smp storm N ROUNDS   a ring of N processes passes a byte round through pipes
 *                        ROUNDS times (each pass a wake of the next process, on
 *                        whichever CPU it is); prints whether every byte arrived.
 *   smp pinned CPU       pins itself to CPU (sched_setaffinity), spins a while, and
 *                        prints the processor field of /proc/self/stat each time.
 *   smp migrate MS       pins itself to CPU 0, spins MS ms of CPU, pins itself to
 *                        CPU 1 and spins MS ms more (a task that must move between
 *                        CPUs); prints the CPU set it ends with.
 * Exit status: failed checks. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

/* Spins until the process has had `ms` ms of CPU, reading its CPU clock only every
 * 200,000 iterations: a few system calls, so that a traced run stays short. */
static void spin_cpu_ms(uint64_t ms)
{
    uint64_t until = now_ns(CLOCK_PROCESS_CPUTIME_ID) + ms * 1000000ULL;
    volatile uint64_t work = 0;
    while (now_ns(CLOCK_PROCESS_CPUTIME_ID) < until)
        for (int i = 0; i < 200000; i++)
            work++;
}

/* Allows this thread only `cpu` (sched_setaffinity). */
static int pin(int cpu)
{
    return allow_only_cpu(cpu) != 0;
}

static int hogs(int n, uint64_t ms)
{
    uint64_t start = now_ns(CLOCK_MONOTONIC);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0) {
            spin_cpu_ms(ms);
            _exit(0);
        }
    }
    uint64_t cpu_us = 0;
    int status;
    struct rusage usage;
    for (int i = 0; i < n; i++) {
        if (wait4(-1, &status, 0, &usage) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return 1;
        cpu_us += usage.ru_utime.tv_sec * 1000000ULL + usage.ru_utime.tv_usec + usage.ru_stime.tv_sec * 1000000ULL
            + usage.ru_stime.tv_usec;
    }
    uint64_t wall_us = (now_ns(CLOCK_MONOTONIC) - start) / 1000;
    fprintf(stderr, "hogs: %d x %llu ms: cpu %llu us, wall %llu us\n", n, (unsigned long long)ms,
            (unsigned long long)cpu_us, (unsigned long long)wall_us);
    printf("parallel: %s\n", cpu_us * 10 > wall_us * 13 ? "yes" : "no");
    return 0;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn;
static long handoffs;
static int thread_count;
static long iterations;

static void *worker(void *argument)
{
    int me = (int)(long)argument;
    for (long i = 0; i < iterations; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    /* The token goes round: each thread waits for its turn ROUNDS times. */
    for (int round = 0; round < 20; round++) {
        pthread_mutex_lock(&lock);
        while (turn != me)
            pthread_cond_wait(&turn_changed, &lock);
        handoffs++;
        turn = (turn + 1) % thread_count;
        pthread_cond_broadcast(&turn_changed);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static int threads(int n, long iter)
{
    pthread_t ids[64];
    if (n > 64)
        n = 64;
    thread_count = n;
    iterations = iter;
    for (int i = 0; i < n; i++)
        if (pthread_create(&ids[i], NULL, worker, (void *)(long)i) != 0)
            return 1;
    for (int i = 0; i < n; i++)
        pthread_join(ids[i], NULL);
    int exact = counter == n * iter && handoffs == n * 20L;
    if (!exact)
        fprintf(stderr, "threads: counter %ld of %ld, handoffs %ld of %ld\n", counter, n * iter, handoffs, n * 20L);
    printf("counts exact: %s\n", exact ? "yes" : "no");
    return !exact;
}

static int storm(int n, int rounds)
{
    int (*pipes)[2] = calloc(n, sizeof *pipes);
    for (int i = 0; i < n; i++)
        if (pipe(pipes[i]) != 0)
            return 1;
    for (int i = 1; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0) {
            /* Process i reads from pipe i and writes to pipe (i + 1) % n. */
            char byte;
            for (int r = 0; r < rounds; r++) {
                if (read(pipes[i][0], &byte, 1) != 1)
                    _exit(1);
                if (write(pipes[(i + 1) % n][1], &byte, 1) != 1)
                    _exit(1);
            }
            _exit(0);
        }
    }
    int lost = 0;
    for (int r = 0; r < rounds; r++) {
        char byte = (char)r;
        if (write(pipes[1 % n][1], &byte, 1) != 1 || read(pipes[0][0], &byte, 1) != 1 || byte != (char)r)
            lost++;
    }
    int status, failed = 0;
    for (int i = 1; i < n; i++)
        if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed++;
    printf("every byte arrived: %s\n", lost == 0 && failed == 0 ? "yes" : "no");
    return lost + failed;
}

/* Field 39 of /proc/self/stat: the CPU the task last ran on. */
static int processor(void)
{
    char text[1024];
    FILE *stat = fopen("/proc/self/stat", "r");
    if (!stat)
        return -1;
    size_t length = fread(text, 1, sizeof text - 1, stat);
    fclose(stat);
    text[length] = 0;
    char *field = strrchr(text, ')');
    int number = 2;
    while (field && number < 39) {
        field = strchr(field + 1, ' ');
        number++;
    }
    return field ? atoi(field + 1) : -1;
}

static int pinned(int cpu)
{
    if (pin(cpu) != 0)
        return 1;
    for (int i = 0; i < 5; i++) {
        spin_cpu_ms(20);
        printf("processor: %d\n", processor());
    }
    return 0;
}

/* A task that must move: pinned to CPU 0 for `ms` ms of CPU, then to CPU 1 for as
 * long; prints the CPUs it is allowed at the end. */
static int migrate(uint64_t ms)
{
    if (pin(0) != 0)
        return 1;
    spin_cpu_ms(ms);
    if (pin(1) != 0)
        return 1;
    spin_cpu_ms(ms);
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    printf("allowed:");
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &set))
            printf(" %d", cpu);
    printf("\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "hogs") == 0)
        return hogs(atoi(argv[2]), strtoull(argv[3], NULL, 10));
    if (argc == 4 && strcmp(argv[1], "threads") == 0)
        return threads(atoi(argv[2]), atol(argv[3]));
    if (argc == 4 && strcmp(argv[1], "storm") == 0)
        return storm(atoi(argv[2]), atoi(argv[3]));
    if (argc == 3 && strcmp(argv[1], "pinned") == 0)
        return pinned(atoi(argv[2]));
    if (argc == 3 && strcmp(argv[1], "migrate") == 0)
        return migrate(strtoull(argv[2], NULL, 10));
    fprintf(stderr, "usage: smp hogs N MS | threads N ITER | storm N ROUNDS | pinned CPU | migrate MS\n");
    return 2;
}
