/* cputime: a process's CPU time is its threads' together, as on Linux.
 *
 * Two threads each spin for 150 ms of their own CPU time while the main thread
 * waits for them: the process's clock (CLOCK_PROCESS_CPUTIME_ID), getrusage
 * (RUSAGE_SELF), times() and /proc/self/stat count both threads, the main thread's
 * clock, RUSAGE_THREAD and /proc/self/task/TID/stat only its own. A child does the
 * same (this program again, /proc/self/exe exec'd: `cputime child`), with a grandchild it reaps
 * spinning 100 ms and its main thread leaving first (pthread_exit; the exec gives
 * musl's thread-list lock a clear-tid address a forked child would lack): wait4's
 * rusage counts the child's threads and the grandchild (Linux reports
 * RUSAGE_BOTH), and so do the parent's RUSAGE_CHILDREN and times() afterwards.
 * Prints yes/no lines, the same on Linux. Exit status 0. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

#define MS 1000000ULL

static void spin_own_cpu(uint64_t ns)
{
    uint64_t start = now_ns(CLOCK_THREAD_CPUTIME_ID);
    while (now_ns(CLOCK_THREAD_CPUTIME_ID) - start < ns) {
    }
}

static void *spinner(void *argument)
{
    (void)argument;
    spin_own_cpu(150 * MS);
    return NULL;
}

static uint64_t rusage_ns(int who)
{
    struct rusage usage;
    getrusage(who, &usage);
    return (uint64_t)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000ULL +
           (uint64_t)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000ULL;
}

/* utime + stime, in clock ticks, from a /proc stat file (fields 14 and 15). */
static long stat_ticks(const char *path)
{
    char text[1024] = {0};
    FILE *file = fopen(path, "r");
    if (!file)
        return -1;
    fread(text, 1, sizeof text - 1, file);
    fclose(file);
    char *field = strrchr(text, ')');
    long utime = 0, stime = 0;
    /* After ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime. */
    if (!field || sscanf(field + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime, &stime) != 2)
        return -1;
    return utime + stime;
}

static void two_spinners(void)
{
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&threads[i], NULL, spinner, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
}

/* The child: two spinners and a grandchild it reaps; its main thread leaves first. */
static void child(void)
{
    pid_t grandchild = fork();
    if (grandchild == 0) {
        spin_own_cpu(100 * MS);
        _exit(0);
    }
    waitpid(grandchild, NULL, 0);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&threads[i], NULL, spinner, NULL);
    pthread_exit(NULL);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 2 && strcmp(argv[1], "child") == 0)
        child();
    two_spinners();
    printf("the process's clock counts both threads: %s\n", yes(now_ns(CLOCK_PROCESS_CPUTIME_ID) >= 290 * MS));
    printf("the main thread's clock only its own: %s\n", yes(now_ns(CLOCK_THREAD_CPUTIME_ID) < 100 * MS));
    printf("RUSAGE_SELF counts both threads: %s\n", yes(rusage_ns(RUSAGE_SELF) >= 290 * MS));
    printf("RUSAGE_THREAD only the caller: %s\n", yes(rusage_ns(RUSAGE_THREAD) < 100 * MS));
    struct tms own;
    times(&own);
    printf("times() counts both threads: %s\n", yes(own.tms_utime + own.tms_stime >= 28));
    printf("/proc/self/stat counts both threads: %s\n", yes(stat_ticks("/proc/self/stat") >= 28));
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", (long)syscall(SYS_gettid));
    long main_ticks = stat_ticks(path);
    printf("/proc/self/task/TID/stat only the thread: %s\n", yes(main_ticks >= 0 && main_ticks < 10));

    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", argv[0], "child", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    struct rusage usage;
    wait4(pid, &status, 0, &usage);
    uint64_t child_ns = (uint64_t)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000ULL +
                        (uint64_t)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000ULL;
    printf("the child: %s\n", describe(status));
    printf("wait4's rusage counts its threads and its reaped child: %s\n", yes(child_ns >= 390 * MS));
    printf("RUSAGE_CHILDREN too: %s\n", yes(rusage_ns(RUSAGE_CHILDREN) >= 390 * MS));
    times(&own);
    printf("times() too: %s\n", yes(own.tms_cutime + own.tms_cstime >= 37));
    return 0;
}
