/* hostile CASE: programs that misbehave in ways beyond a single bad instruction; the
 * kernel must end (or refuse) only the offender, with Linux's result, and go on.
 *   stack      a child recurses until its stack overflows: killed by SIGSEGV.
 *   corebit    the raw wait status of a child killed by SIGSEGV: Linux sets the
 *              core-dump bit (0x80) only when a core file was written, so with no
 *              core written (RLIMIT_CORE 0, set here; timeshare writes none) it is 0xb.
 *   readfault  read() from a pipe holding "abc" into an unmapped buffer fails with
 *              EFAULT and leaves the bytes in the pipe (Linux): the next read gets them.
 *   e2big      execve with one 200000-byte argument (over Linux's 128 KiB limit for one
 *              string) and with 300000 arguments: E2BIG both times.
 *   oom        (timeshare only) a child maps and touches memory until the kernel has
 *              none left: the child is killed (any signal), the kernel survives, and a
 *              new child can still be forked.
 *   forkbomb   (timeshare only) fork until fork fails (EAGAIN or ENOMEM), then kill
 *              every other process (kill(-1, SIGKILL)), reap them all, and fork again.
 * The output is the same on every run; this process ends with "still running" and
 * status 0 unless something failed. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

static int wait_for(pid_t pid)
{
    int status = -1;
    if (waitpid(pid, &status, 0) != pid) {
        printf("FAIL wait: %s\n", strerror(errno));
        failures++;
    }
    return status;
}

/* Deep recursion with a frame the compiler cannot drop. */
static int recurse(int n)
{
    volatile char frame[4096];
    frame[0] = (char)n;
    return n ? recurse(n - 1) + frame[0] : 0;
}

/* execve of this program: argv[0] (as timeshare starts it, /bin/hostile), or where
 * no file has that name (a Linux host) /proc/self/exe. Returns with errno set. */
static void exec_self(const char *argv0, char *const args[], char *const env[])
{
    errno = 0;
    syscall(SYS_execve, argv0, args, env);
    if (errno == ENOENT)
        syscall(SYS_execve, "/proc/self/exe", args, env);
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";

    if (!strcmp(c, "stack")) {
        no_core_files();
        pid_t pid = fork_or_die();
        if (pid == 0) {
            recurse(1 << 22); /* 16 GiB of frames */
            _exit(0);
        }
        int status = wait_for(pid);
        printf("stack overflow: %s\n", describe(status));
        failures += !(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    } else if (!strcmp(c, "corebit")) {
        no_core_files();
        pid_t pid = fork_or_die();
        if (pid == 0) {
            *(volatile int *)0 = 1;
            _exit(0);
        }
        int status = wait_for(pid);
        printf("null write: raw wait status 0x%x, WCOREDUMP %s\n", status, WCOREDUMP(status) ? "yes" : "no");
        failures += status != SIGSEGV;
    } else if (!strcmp(c, "readfault")) {
        int p[2];
        char buffer[4] = { 0 };
        if (pipe(p) != 0 || write(p[1], "abc", 3) != 3)
            return 100;
        errno = 0;
        long r = read(p[0], (void *)8, 3);
        int e = errno;
        printf("read into an unmapped buffer: %ld %s\n", r, r < 0 ? errno_name(e) : "");
        failures += !(r == -1 && e == EFAULT);
        close(p[1]); /* so that a lost "abc" shows as EOF, not a hang */
        r = read(p[0], buffer, 3);
        printf("then read: %ld \"%s\"\n", r, buffer);
        failures += !(r == 3 && !strcmp(buffer, "abc"));
    } else if (!strcmp(c, "e2big")) {
        static char big[200000];
        static char *many[300001];
        char *env[] = { NULL };
        memset(big, 'a', sizeof big - 1);
        char *args[] = { "x", big, NULL };
        exec_self(argv[0], args, env);
        printf("execve with a 199999-byte argument: %s\n", errno_name(errno));
        failures += errno != E2BIG;
        many[0] = "x";
        for (int i = 1; i < 300000; i++)
            many[i] = "abcdefg";
        exec_self(argv[0], many, env);
        printf("execve with 300000 arguments: %s\n", errno_name(errno));
        failures += errno != E2BIG;
    } else if (!strcmp(c, "oom")) {
        pid_t pid = fork_or_die();
        if (pid == 0) {
            for (;;) {
                char *b = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (b == MAP_FAILED)
                    _exit(9); /* the mapping was refused: fine too */
                memset(b, 1, 16 << 20);
            }
        }
        int status = wait_for(pid);
        printf("memory hog: %s\n", WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 9) ? "stopped" : describe(status));
        pid = fork_or_die();
        if (pid == 0)
            _exit(3);
        status = wait_for(pid);
        printf("a new child after that: %s\n", describe(status));
        failures += !(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    } else if (!strcmp(c, "forkbomb")) {
        int n = 0;
        pid_t pid;
        fflush(stdout);
        while ((pid = fork()) > 0)
            n++;
        if (pid == 0)
            for (;;) {
                struct timespec t = { 1000, 0 };
                nanosleep(&t, NULL);
            }
        int e = errno;
        printf("fork eventually failed: %s\n", e == EAGAIN || e == ENOMEM ? "EAGAIN or ENOMEM" : strerror(e));
        fprintf(stderr, "hostile: %d children before fork failed with %s\n", n, errno_name(e));
        kill(-1, SIGKILL);
        int reaped = 0;
        while (wait(NULL) > 0)
            reaped++;
        printf("every child killed and reaped: %s\n", reaped == n ? "yes" : "no");
        failures += reaped != n;
        pid = fork_or_die();
        if (pid == 0)
            _exit(3);
        int status = wait_for(pid);
        printf("a new child after that: %s\n", describe(status));
        failures += !(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    } else {
        fprintf(stderr, "usage: hostile stack|corebit|readfault|e2big|oom|forkbomb\n");
        return 2;
    }
    printf("still running\n");
    return failures;
}
