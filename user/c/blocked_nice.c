/* A nice value set while a thread is blocked counts where its wake places it.
 *
 * The main thread, on CPU 0, starts a sleeper that blocks on a pipe, then, while
 * it is blocked, sets its nice value to 19 and its affinity to CPU 1 only, where a
 * hog of nice 0 spins. The byte it then writes wakes the sleeper on CPU 1, which
 * spins beside the hog for a while. With the sleeper's nice value carried, CFS's
 * weights give it 15/1039 of the CPU (Linux: about 1.5 %); carried as it was when
 * it blocked (0), half. Prints whether the sleeper got under a fifth of the hog's
 * CPU time. Needs two CPUs. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int wake_pipe[2];
static volatile int stop;
static volatile pid_t sleeper_tid;

static int pin(pid_t tid, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(tid, sizeof set, &set);
}

static double thread_cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Spins until told to stop; returns its CPU time through the pointer it gets. */
static void spin(double *cpu_seconds)
{
    while (!stop)
        ;
    *cpu_seconds = thread_cpu_seconds();
}

static double hog_seconds, sleeper_seconds;
static double sleeper_start;

static void *hog(void *unused)
{
    (void)unused;
    if (pin(0, 1) != 0) {
        perror("sched_setaffinity");
        exit(2);
    }
    spin(&hog_seconds);
    return 0;
}

static void *sleeper(void *unused)
{
    (void)unused;
    sleeper_tid = (pid_t)syscall(SYS_gettid);
    char byte;
    if (read(wake_pipe[0], &byte, 1) != 1) {
        perror("read");
        exit(2);
    }
    sleeper_start = thread_cpu_seconds();
    spin(&sleeper_seconds);
    sleeper_seconds -= sleeper_start;
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, 0);
}

int main(void)
{
    if (pin(0, 0) != 0 || pipe(wake_pipe) != 0) {
        perror("setup");
        return 2;
    }
    pthread_t sleeping, hogging;
    pthread_create(&sleeping, 0, sleeper, 0);
    while (!sleeper_tid)
        sleep_ms(1);
    sleep_ms(50); /* long enough for it to block in its read */
    pthread_create(&hogging, 0, hog, 0);
    sleep_ms(50);
    if (setpriority(PRIO_PROCESS, sleeper_tid, 19) != 0 || pin(sleeper_tid, 1) != 0) {
        perror("setpriority/sched_setaffinity");
        return 2;
    }
    if (write(wake_pipe[1], "x", 1) != 1) {
        perror("write");
        return 2;
    }
    sleep_ms(400);
    stop = 1;
    pthread_join(sleeping, 0);
    pthread_join(hogging, 0);
    printf("niced sleeper under a fifth of the hog: %s\n", sleeper_seconds < hog_seconds / 5 ? "yes" : "no");
    return 0;
}
