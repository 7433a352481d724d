/* Workloads whose CPUs the timeline and --stats show (cli/tests/smp_visible.rs):
 *   cpuvis hogs N MS    N children each spin until they have had MS ms of CPU,
 *                       reading the clock rarely (few system calls: a short trace);
 *                       prints "hogs done".
 *   cpuvis migrate MS   pins itself to CPU 0 (sched_setaffinity), spins MS ms of CPU,
 *                       then pins itself to CPU 1 and spins MS ms more: a task that
 *                       must move between CPUs. Prints the CPU set it ends with.
 * Exit status: 1 if a call failed. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

static void spin_cpu_ms(uint64_t ms)
{
    uint64_t until = now_ns(CLOCK_PROCESS_CPUTIME_ID) + ms * 1000000ULL;
    volatile uint64_t work = 0;
    while (now_ns(CLOCK_PROCESS_CPUTIME_ID) < until)
        for (int i = 0; i < 200000; i++)
            work++;
}

static int hogs(int n, uint64_t ms)
{
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0) {
            spin_cpu_ms(ms);
            _exit(0);
        }
    }
    int status;
    for (int i = 0; i < n; i++)
        if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return 1;
    printf("hogs done\n");
    return 0;
}

static int pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

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
    if (argc == 3 && strcmp(argv[1], "migrate") == 0)
        return migrate(strtoull(argv[2], NULL, 10));
    fprintf(stderr, "usage: cpuvis hogs N MS | cpuvis migrate MS\n");
    return 2;
}
