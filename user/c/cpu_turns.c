/* cpu_turns CPUS MS: one process pinned to each of CPUS CPUs spins through one
 * window of MS ms (by CLOCK_MONOTONIC), counting the rounds of its loop; every CPU
 * must have made progress alike. Under QEMU's -icount the CPUs are emulated in
 * turn on one thread and the clock counts instructions, so a CPU the emulator
 * seldom gives a turn counts few rounds in the same window: the slowest spinner
 * must count at least a quarter of the fastest's rounds (about as many measured).
 * The counts go to stderr. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

/* Time for every spinner to be pinned and waiting before the window opens. */
#define WINDOW_LEAD_MS 50
#define MAX_SPINNERS 16

static uint64_t spin_through(int cpu, uint64_t open_ns, uint64_t close_ns)
{
    if (allow_only_cpu(cpu) != 0)
        _exit(1);
    while (now_ns(CLOCK_MONOTONIC) < open_ns)
        ;
    uint64_t rounds = 0;
    while (now_ns(CLOCK_MONOTONIC) < close_ns)
        rounds++;
    return rounds;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: cpu_turns CPUS MS\n");
        return 2;
    }
    int cpus = atoi(argv[1]);
    uint64_t ms = strtoull(argv[2], NULL, 10);
    if (cpus < 1 || cpus > MAX_SPINNERS) {
        fprintf(stderr, "cpu_turns: 1 to %d CPUs\n", MAX_SPINNERS);
        return 2;
    }
    int results[2];
    if (pipe(results) != 0)
        return 1;
    uint64_t open_ns = now_ns(CLOCK_MONOTONIC) + WINDOW_LEAD_MS * 1000000ULL;
    uint64_t close_ns = open_ns + ms * 1000000ULL;
    for (int cpu = 0; cpu < cpus; cpu++) {
        pid_t child = fork();
        if (child < 0)
            return 1;
        if (child == 0) {
            uint64_t report[2] = { (uint64_t)cpu, spin_through(cpu, open_ns, close_ns) };
            _exit(write(results[1], report, sizeof report) != sizeof report);
        }
    }
    uint64_t rounds[MAX_SPINNERS] = { 0 };
    int ok = 1;
    for (int i = 0; i < cpus; i++) {
        int status;
        uint64_t report[2];
        if (read(results[0], report, sizeof report) != sizeof report || report[0] >= (uint64_t)cpus)
            return 1;
        rounds[report[0]] = report[1];
        ok &= wait(&status) > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    uint64_t fewest = rounds[0], most = rounds[0];
    for (int cpu = 0; cpu < cpus; cpu++) {
        fprintf(stderr, "cpu %d: %llu rounds\n", cpu, (unsigned long long)rounds[cpu]);
        fewest = rounds[cpu] < fewest ? rounds[cpu] : fewest;
        most = rounds[cpu] > most ? rounds[cpu] : most;
    }
    ok &= most > 0 && fewest * 4 >= most;
    printf("a spinner on each of %d CPUs progresses alike: %s\n", cpus, yes(ok));
    return !ok;
}
