/* nullcall: the cost of a null system call. Times N getpid() calls (default 100000)
 * with CLOCK_MONOTONIC and prints "N calls, T ns, P ns per call" on stdout. Under
 * `timeshare run --icount` guest time counts instructions, so P is the instructions
 * one round trip into the kernel and back takes (used to measure what tracing costs,
 * on and off). Exit status 0, or 2 for a bad argument.
 *   nullcall [N] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    if (n <= 0) {
        fprintf(stderr, "usage: nullcall [N]\n");
        return 2;
    }
    uint64_t start = now_ns(CLOCK_MONOTONIC);
    for (long i = 0; i < n; i++)
        syscall(SYS_getpid); /* not getpid(): no libc caching, one trap per call */
    uint64_t elapsed = now_ns(CLOCK_MONOTONIC) - start;
    printf("%ld calls, %llu ns, %llu ns per call\n", n, (unsigned long long)elapsed,
           (unsigned long long)(elapsed / (uint64_t)n));
    return 0;
}
