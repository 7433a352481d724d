/* priority: the nice value through getpriority/setpriority, as on Linux for root.
 * Output is the same on every run. Exit status: the number of failures. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

static int nice_of(int which, int who)
{
    errno = 0;
    int value = getpriority(which, who);
    return errno ? -100 : value;
}

int main(void)
{
    report("starts at nice 0", nice_of(PRIO_PROCESS, 0) == 0);
    report("setpriority(self, 5)", setpriority(PRIO_PROCESS, 0, 5) == 0);
    report("getpriority(self) is 5", nice_of(PRIO_PROCESS, 0) == 5);
    report("getpriority(own pid) is 5", nice_of(PRIO_PROCESS, getpid()) == 5);
    report("the raw system call returns 20 - nice = 15", syscall(SYS_getpriority, PRIO_PROCESS, 0) == 15);
    report("nice(3) returns 8", nice(3) == 8);
    report("setpriority(self, 100) clamps to 19", setpriority(PRIO_PROCESS, 0, 100) == 0 && nice_of(PRIO_PROCESS, 0) == 19);
    report("setpriority(self, -100) clamps to -20 (root)", setpriority(PRIO_PROCESS, 0, -100) == 0 && nice_of(PRIO_PROCESS, 0) == -20);
    report("the raw system call returns 40 at nice -20", syscall(SYS_getpriority, PRIO_PROCESS, 0) == 40);
    setpriority(PRIO_PROCESS, 0, 7);

    int down[2], up[2];
    pipe(down);
    pipe(up);
    pid_t child = fork();
    if (child == 0) {
        char byte;
        close(down[1]);
        close(up[0]);
        int inherited = nice_of(PRIO_PROCESS, 0);
        write(up[1], "x", 1);
        read(down[0], &byte, 1); /* until the parent has changed our nice value */
        _exit((inherited == 7 ? 0 : 1) | (nice_of(PRIO_PROCESS, 0) == 12 ? 0 : 2));
    }
    char byte;
    close(down[0]);
    close(up[1]);
    read(up[0], &byte, 1);
    report("setpriority(child, 12)", setpriority(PRIO_PROCESS, child, 12) == 0);
    report("getpriority(child) is 12", nice_of(PRIO_PROCESS, child) == 12);
    report("the parent is still at 7", nice_of(PRIO_PROCESS, 0) == 7);
    write(down[1], "x", 1);
    int status;
    waitpid(child, &status, 0);
    report("the child inherited 7 and then saw 12", WIFEXITED(status) && WEXITSTATUS(status) == 0);

    errno = 0;
    report("getpriority(no such pid) fails with ESRCH", getpriority(PRIO_PROCESS, 99999) == -1 && errno == ESRCH);
    errno = 0;
    report("setpriority(no such pid) fails with ESRCH", setpriority(PRIO_PROCESS, 99999, 1) == -1 && errno == ESRCH);
    errno = 0;
    report("getpriority(which = 7) fails with EINVAL", getpriority(7, 0) == -1 && errno == EINVAL);
    setpgid(0, 0); /* a group of its own */
    report("getpriority(own group) is 7", nice_of(PRIO_PGRP, 0) == 7);
    report("setpriority(own group, 3)", setpriority(PRIO_PGRP, 0, 3) == 0 && nice_of(PRIO_PROCESS, 0) == 3);
    report("getpriority(PRIO_USER, root) is at most 3", nice_of(PRIO_USER, 0) <= 3 && nice_of(PRIO_USER, 0) >= -20);
    report("sched_yield returns 0", sched_yield() == 0);
    cpu_set_t set;
    CPU_ZERO(&set);
    report("sched_getaffinity includes CPU 0", sched_getaffinity(0, sizeof set, &set) == 0 && CPU_ISSET(0, &set));
    printf("%s\n", failures ? "FAIL" : "done");
    return failures;
}
