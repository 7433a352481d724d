/* pingpong: two processes hand the CPU to each other with sched_yield. The parent
 * forks one child; each then calls sched_yield N times (default 10), so on one CPU
 * with round robin they alternate: parent, child, parent, child... The child exits;
 * the parent waits for it and prints "pingpong: N yields each". A trace of this run
 * has a known switch sequence (cli/tests/trace.rs). Exit status 0, or 2 on an error.
 *   pingpong [N] */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10;
    if (n < 0) {
        fprintf(stderr, "usage: pingpong [N]\n");
        return 2;
    }
    pid_t child = fork();
    if (child < 0) {
        perror("pingpong: fork");
        return 2;
    }
    for (long i = 0; i < n; i++)
        sched_yield();
    if (child == 0)
        _exit(0);
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "pingpong: the child did not exit 0\n");
        return 2;
    }
    printf("pingpong: %ld yields each\n", n);
    return 0;
}
