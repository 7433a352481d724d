/* forkwait: fork, vfork and wait4 with Linux semantics. Children end in different
 * ways (exit codes, SIGTERM, SIGKILL) and the parent decodes each wait status with
 * WIFEXITED/WEXITSTATUS/WIFSIGNALED/WTERMSIG; WNOHANG on a running child returns 0;
 * a zombie keeps its status until it is waited for; an orphan is re-parented to the
 * reaper (pid 1 on timeshare, this process on Linux, where it makes itself a child
 * subreaper) which can then wait for it; with no children left, wait fails with
 * ECHILD. The output is the same on every run (no pids, no times) and the exit
 * status is the number of FAIL lines. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

static void fail(const char *what)
{
    printf("FAIL %s\n", what);
    failures++;
}

/* waitpid(pid) and the decoded status; "wait failed: ERR" when it fails. */
static const char *wait_for(pid_t pid)
{
    int status;
    pid_t got = waitpid(pid, &status, 0);
    if (got != pid) {
        static char text[64];
        snprintf(text, sizeof text, "wait failed: %s", got < 0 ? strerror(errno) : "wrong pid");
        failures++;
        return text;
    }
    return describe(status);
}

/* waitpid that must fail with ECHILD. */
static void no_child(const char *what, pid_t pid, int options)
{
    int status;
    errno = 0;
    pid_t got = waitpid(pid, &status, options);
    int error = errno;
    printf("%s: %d %s\n", what, (int)got, error == ECHILD ? "ECHILD" : strerror(error));
    if (got != -1 || error != ECHILD)
        failures++;
}

static int compare_ints(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

int main(void)
{
    static const int codes[] = { 0, 1, 42, 200, 255 };
    pid_t pids[5];
    int status;

    /* 1. Children with different exit codes, each waited for by pid (in reverse). */
    for (int i = 0; i < 5; i++) {
        pids[i] = fork_or_die();
        if (pids[i] == 0)
            _exit(codes[i]);
    }
    for (int i = 4; i >= 0; i--)
        printf("child exiting with %d: %s\n", codes[i], wait_for(pids[i]));

    /* 2. wait(-1) collects any child: three statuses, in whatever order. */
    {
        int got[3], n = 0;
        for (int i = 0; i < 3; i++)
            if (fork_or_die() == 0)
                _exit(10 + i);
        for (int i = 0; i < 3; i++) {
            pid_t pid = wait(&status);
            if (pid > 0 && WIFEXITED(status))
                got[n++] = WEXITSTATUS(status);
        }
        qsort(got, n, sizeof got[0], compare_ints);
        printf("wait(-1) three times:");
        for (int i = 0; i < n; i++)
            printf(" %d", got[i]);
        printf("\n");
    }

    /* 3. SIGTERM and SIGKILL on children asleep in nanosleep (default actions). */
    {
        pid_t term = fork_or_die();
        if (term == 0) {
            sleep_ms(10000);
            _exit(0);
        }
        pid_t killed = fork_or_die();
        if (killed == 0) {
            sleep_ms(10000);
            _exit(0);
        }
        if (kill(term, SIGTERM) != 0 || kill(killed, SIGKILL) != 0)
            fail("kill");
        printf("sleeping child sent SIGTERM: %s\n", wait_for(term));
        printf("sleeping child sent SIGKILL: %s\n", wait_for(killed));
    }

    /* 4. WNOHANG on a running child (blocked in read on a pipe) returns 0; the child
     * exits when the pipe's last writer closes, and is then collected. */
    {
        int p[2];
        char c;
        if (pipe(p) != 0)
            fail("pipe");
        pid_t child = fork_or_die();
        if (child == 0) {
            close(p[1]);
            _exit(read(p[0], &c, 1) == 0 ? 5 : 6);
        }
        close(p[0]);
        pid_t got = waitpid(child, &status, WNOHANG);
        printf("WNOHANG on a running child: %d\n", (int)got);
        close(p[1]);
        printf("child after EOF on its pipe: %s\n", wait_for(child));
    }

    /* 5. A zombie keeps its exit status until it is waited for. */
    {
        pid_t child = fork_or_die();
        if (child == 0)
            _exit(77);
        sleep_ms(20);
        printf("zombie waited for later: %s\n", wait_for(child));
    }

    /* 6. vfork: the parent resumes when the child exits. */
    {
        fflush(stdout);
        pid_t child = vfork();
        if (child == 0)
            _exit(7);
        if (child < 0)
            fail("vfork");
        printf("vfork child: %s\n", wait_for(child));
    }

    /* 7. An orphan is re-parented to the reaper, which can wait for it. */
    {
        int p[2];
        pid_t reaper = getpid(), grandchild = 0;
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); /* Linux; ENOSYS where we are pid 1 */
        if (pipe(p) != 0)
            fail("pipe");
        pid_t child = fork_or_die();
        if (child == 0) {
            pid_t g = fork();
            if (g == 0) {
                /* Wait (at most 10 s) until the parent has gone, then report. */
                pid_t parent = getppid();
                for (int i = 0; i < 10000 && parent != reaper; i++) {
                    sleep_ms(1);
                    parent = getppid();
                }
                char answer = parent == reaper ? 'y' : 'n';
                write(p[1], &answer, 1);
                _exit(9);
            }
            write(p[1], &g, sizeof g);
            _exit(g > 0 ? 0 : 1);
        }
        close(p[1]);
        printf("middle child: %s\n", wait_for(child));
        char answer = '?';
        if (read(p[0], &grandchild, sizeof grandchild) != sizeof grandchild || read(p[0], &answer, 1) != 1)
            fail("orphan report");
        printf("orphan re-parented to the reaper: %s\n", answer == 'y' ? "yes" : "no");
        printf("orphan waited for by the reaper: %s\n", wait_for(grandchild));
        close(p[0]);
    }

    /* 8. No children left: ECHILD, with and without WNOHANG, for -1 and for a pid. */
    no_child("wait with no children", -1, 0);
    no_child("WNOHANG with no children", -1, WNOHANG);
    no_child("wait for a pid that is not a child", getpid(), 0);

    printf("%s\n", failures ? "FAIL" : "done");
    return failures;
}
