/* diagnose: goes wrong in the ways `timeshare run` reports on stderr, with nothing on
 * its own stderr, so that all of it is timeshare's.
 *   diagnose segv    writes to address 0x10 (in crash_at_0x10): SIGSEGV, SEGV_MAPERR
 *   diagnose fpe     divides by zero (in divide): SIGFPE, FPE_INTDIV
 *   diagnose calls   makes calls timeshare does not implement (io_setup, io_destroy),
 *                    in itself, in a second thread (the same process: no new line)
 *                    and in a child, and one past Linux's last number;
 *                    prints "done" and exits 3
 * On Linux the same calls fail with EINVAL instead of ENOSYS; the output is the same. */
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) void crash_at_0x10(void)
{
    *(volatile int *)0x10 = 1;
}

__attribute__((noinline)) int divide(volatile int a, volatile int b)
{
    return a / b;
}

static void *io_setup_in_a_thread(void *unused)
{
    (void)unused;
    syscall(SYS_io_setup, 0, 0);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: diagnose segv|fpe|calls\n");
        return 2;
    }
    printf("before\n");
    fflush(stdout);
    switch (argv[1][0]) {
    case 's':
        crash_at_0x10();
        break;
    case 'f':
        printf("%d\n", divide(1, 0));
        break;
    case 'c': {
        syscall(SYS_io_setup, 0, 0);
        syscall(SYS_io_setup, 0, 0);
        pid_t child = fork();
        if (child == 0) {
            syscall(SYS_io_setup, 0, 0);
            _exit(0);
        }
        waitpid(child, 0, 0);
        pthread_t thread;
        if (pthread_create(&thread, NULL, io_setup_in_a_thread, NULL) == 0)
            pthread_join(thread, NULL);
        syscall(SYS_io_destroy, 0);
        syscall(1000);
        printf("done\n");
        return 3;
    }
    }
    return 1;
}
