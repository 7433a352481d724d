/* orphans: processes that outlive their parent, as on Linux.
 *   orphans nowait     the first program of OSTEP's process chapter without its wait:
 *                      the parent prints and exits at once; its child prints after a
 *                      short sleep. Both lines appear.
 *   orphans subreaper  prctl(PR_SET_CHILD_SUBREAPER): a grandchild whose parent
 *                      exits is re-parented to this process, which waits for it.
 *   orphans stuck      the parent exits at once, leaving a child (named "daemon")
 *                      blocked for good: a run that cannot end by itself.
 * Exit status: the number of failed checks (0 in nowait and stuck). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

static int without_wait(void)
{
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        printf("FAIL fork: %s\n", strerror(errno));
        return 1;
    }
    if (child == 0) {
        /* Long enough for the parent to be gone. */
        sleep_ms(200);
        printf("child: still running after its parent exited\n");
        return 0;
    }
    printf("parent: exits without waiting for its child\n");
    return 0;
}

/* The status of `child`, reaped, as a word: "exited N", "killed by N", or the error. */
static const char *reaped(pid_t child)
{
    static char text[64];
    int status;
    pid_t got = waitpid(child, &status, 0);
    if (got < 0)
        snprintf(text, sizeof text, "%s", errno == ECHILD ? "ECHILD" : strerror(errno));
    else if (WIFEXITED(status))
        snprintf(text, sizeof text, "exited %d", WEXITSTATUS(status));
    else
        snprintf(text, sizeof text, "killed by %d", WTERMSIG(status));
    return text;
}

static int subreaper(void)
{
    int flag = -1;
    prctl(PR_GET_CHILD_SUBREAPER, &flag);
    printf("PR_GET_CHILD_SUBREAPER at first: %d\n", flag);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        printf("FAIL PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
    prctl(PR_GET_CHILD_SUBREAPER, &flag);
    printf("PR_GET_CHILD_SUBREAPER after setting it: %d\n", flag);
    printf("PR_GET_CHILD_SUBREAPER to a bad address: %s\n",
           prctl(PR_GET_CHILD_SUBREAPER, (int *)8) == -1 && errno == EFAULT ? "EFAULT" : "no error");

    pid_t me = getpid();
    int channel[2];
    if (pipe(channel) != 0)
        return 1;
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        int inherited = -1;
        prctl(PR_GET_CHILD_SUBREAPER, &inherited);
        pid_t grandchild = fork();
        if (grandchild == 0) {
            pid_t parent = getppid();
            for (int i = 0; i < 500 && getppid() == parent; i++)
                sleep_ms(10);
            _exit(getppid() == me ? 7 : 1);
        }
        if (write(channel[1], &grandchild, sizeof grandchild) != sizeof grandchild)
            _exit(1);
        _exit(inherited == 0 ? 5 : 6);
    }
    close(channel[1]);
    pid_t grandchild = 0;
    if (read(channel[0], &grandchild, sizeof grandchild) != sizeof grandchild)
        printf("FAIL no grandchild pid\n");
    printf("the child (not a subreaper by inheritance, exits at once): %s\n", reaped(child));
    printf("the grandchild, adopted by this subreaper and waited for: %s\n", reaped(grandchild));
    printf("then waitpid(-1): %s\n", reaped(-1));

    prctl(PR_SET_CHILD_SUBREAPER, 0);
    prctl(PR_GET_CHILD_SUBREAPER, &flag);
    printf("PR_GET_CHILD_SUBREAPER after clearing it: %d\n", flag);
    return 0;
}

static int stuck(void)
{
    fflush(stdout);
    if (fork() == 0) {
        prctl(PR_SET_NAME, "daemon");
        for (;;)
            pause();
    }
    printf("parent: exits, its child blocked for good\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "nowait") == 0)
        return without_wait();
    if (strcmp(mode, "subreaper") == 0)
        return subreaper();
    if (strcmp(mode, "stuck") == 0)
        return stuck();
    fprintf(stderr, "usage: orphans nowait|subreaper|stuck\n");
    return 2;
}
