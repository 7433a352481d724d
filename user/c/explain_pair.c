/* explain_pair: the preempting workload of `timeshare run --explain`. Two
 * processes, parent and child, each do the same fixed amount of CPU-bound work
 * without a system call, so only the timer can switch between them. With the
 * argument `crash`, the child then writes to address 16 (SIGSEGV): the first
 * exception a process causes. The parent prints how its child ended; exit 0. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Enough iterations for several 10 ms quanta, with or without -icount. */
#define WORK 40000000UL

static void work(void) {
    volatile unsigned long sink = 0;
    for (unsigned long i = 0; i < WORK; i++) sink += i;
}

int main(int argc, char **argv) {
    int crash = argc > 1 && strcmp(argv[1], "crash") == 0;
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    work();
    if (child == 0) {
        if (crash) *(volatile int *)16 = 1;
        _exit(0);
    }
    int status;
    if (waitpid(child, &status, 0) != child) {
        perror("waitpid");
        return 1;
    }
    if (WIFSIGNALED(status))
        printf("child killed by signal %d\n", WTERMSIG(status));
    else
        printf("child exited %d\n", WEXITSTATUS(status));
    return 0;
}
