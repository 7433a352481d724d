/* nproc (for timeshare, where this program is pid 1 and alone): the process limit
 * follows memory as on Linux. Prints whether RLIMIT_NPROC's soft and hard limits
 * agree, then forks children that pause until fork fails, and whether it failed
 * with EAGAIN exactly at the limit (the children and this process counted); then
 * kills and reaps them all. The limit itself goes to stderr ("limit N").
 * Exit status: failed checks. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

int main(void)
{
    struct rlimit limit;
    getrlimit(RLIMIT_NPROC, &limit);
    fprintf(stderr, "limit %llu\n", (unsigned long long)limit.rlim_cur);
    printf("RLIMIT_NPROC soft and hard agree: %s\n", yes(limit.rlim_cur == limit.rlim_max));
    pid_t *kids = calloc(limit.rlim_cur + 1, sizeof *kids);
    rlim_t n = 0;
    pid_t pid = 0;
    fflush(stdout);
    while (n <= limit.rlim_cur && (pid = fork()) > 0)
        kids[n++] = pid;
    if (pid == 0)
        for (;;)
            pause();
    int error = errno;
    printf("fork until it fails: %s\n", pid < 0 && error == EAGAIN ? "EAGAIN" : strerror(error));
    printf("processes at the peak: RLIMIT_NPROC: %s\n", yes(n + 1 == limit.rlim_cur));
    for (rlim_t i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    rlim_t reaped = 0;
    while (wait(NULL) > 0)
        reaped++;
    printf("all killed and reaped: %s\n", yes(reaped == n));
    return (error != EAGAIN) + (n + 1 != limit.rlim_cur) + (reaped != n);
}
