/* Process groups and sessions: setpgid/getpgid/getpgrp/setsid/getsid with Linux's
 * errors, and kill() to a whole group. Ids are printed only as comparisons (the
 * program's own group and session differ between a host shell and timeshare). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

static const char *error_name(int result) {
    if (result == 0) return "ok";
    switch (errno) {
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case EINVAL: return "EINVAL";
    case EACCES: return "EACCES";
    default: return strerror(errno);
    }
}

/* A child that waits for a byte on `gate` (or its end of file), then exits 0. */
static pid_t waiter(int gate[2]) {
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char byte;
        close(gate[1]);
        read(gate[0], &byte, 1);
        _exit(0);
    }
    return child;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "wait") == 0) {
        char byte;
        read(0, &byte, 1);
        return 0;
    }
    pid_t me = getpid();
    pid_t my_group = getpgrp();
    printf("getpgrp equals getpgid(0): %s, getpgid(me) too: %s\n", yes(my_group == getpgid(0)),
           yes(my_group == getpgid(me)));
    int result = getpgid(999999);
    printf("getpgid(no such process): %d %s\n", result, error_name(result));
    result = getsid(999999);
    printf("getsid(no such process): %d %s\n", result, error_name(result));
    result = setpgid(0, -1);
    printf("setpgid(0, -1): %s\n", error_name(result));

    int gate[2];
    pipe(gate);
    pid_t child = waiter(gate);
    printf("child starts in my group: %s, my session: %s\n", yes(getpgid(child) == my_group),
           yes(getsid(child) == getsid(0)));
    result = setpgid(child, child);
    printf("setpgid(child, child): %s, now its own group: %s\n", error_name(result), yes(getpgid(child) == child));
    result = setpgid(child, my_group);
    printf("and back to my group: %s\n", error_name(result));
    result = setpgid(child, 999999);
    printf("setpgid(child, no such group): %s\n", error_name(result));
    result = setpgid(999999, 0);
    printf("setpgid(no such process): %s\n", error_name(result));
    close(gate[0]);
    close(gate[1]);
    int status;
    waitpid(child, &status, 0);

    /* A child that made itself a group leader cannot setsid; its own child can. */
    fflush(stdout);
    child = fork();
    if (child == 0) {
        setpgid(0, 0);
        result = setsid();
        printf("group leader setsid: %s\n", error_name(result));
        fflush(stdout);
        pid_t grandchild = fork();
        if (grandchild == 0) {
            pid_t sid = setsid();
            printf("setsid in a non-leader: new session named after it %s, its own group %s, getsid(0) %s\n",
                   yes(sid == getpid()), yes(getpgrp() == getpid()), yes(getsid(0) == getpid()));
            result = setpgid(0, getppid());
            printf("setpgid into a group of another session: %s\n", error_name(result));
            fflush(stdout);
            _exit(0);
        }
        waitpid(grandchild, &status, 0);
        _exit(0);
    }
    waitpid(child, &status, 0);

    /* A grandchild is not mine to move; a child that exec'd is not either. */
    int report[2];
    pipe(report);
    pipe(gate);
    fflush(stdout);
    child = fork();
    if (child == 0) {
        pid_t grandchild = waiter(gate);
        close(gate[0]);
        close(gate[1]);
        write(report[1], &grandchild, sizeof grandchild);
        waitpid(grandchild, &status, 0);
        _exit(0);
    }
    pid_t grandchild = 0;
    read(report[0], &grandchild, sizeof grandchild);
    result = setpgid(grandchild, grandchild);
    printf("setpgid(grandchild): %s\n", error_name(result));
    close(gate[0]);
    close(gate[1]);
    waitpid(child, &status, 0);

    int input[2];
    pipe(input);
    fflush(stdout);
    child = fork();
    if (child == 0) {
        dup2(input[0], 0);
        close(input[1]);
        char *args[] = {argv[0], "wait", NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    close(input[0]);
    /* Until it has exec'd, setpgid succeeds; poll until it fails with EACCES. */
    do {
        result = setpgid(child, child);
    } while (result == 0);
    printf("setpgid(child after exec): %s\n", error_name(result));
    close(input[1]);
    waitpid(child, &status, 0);

    /* kill(-group): every member of the group, nobody else. */
    pipe(gate);
    pid_t first = waiter(gate);
    setpgid(first, first);
    pid_t second = waiter(gate);
    setpgid(second, first);
    pid_t outsider = waiter(gate);
    result = kill(-first, SIGTERM);
    printf("kill(-group, SIGTERM): %s\n", error_name(result));
    waitpid(first, &status, 0);
    printf("  first member: %s %d\n", WIFSIGNALED(status) ? "killed by" : "exited", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    waitpid(second, &status, 0);
    printf("  second member: %s %d\n", WIFSIGNALED(status) ? "killed by" : "exited", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    result = kill(-first, SIGTERM);
    printf("kill(-group) once it is empty: %s\n", error_name(result));
    close(gate[0]);
    close(gate[1]);
    waitpid(outsider, &status, 0);
    printf("  outsider: %s %d\n", WIFSIGNALED(status) ? "killed by" : "exited", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    return 0;
}
