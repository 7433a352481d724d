/* System calls a signal cuts short. A read blocked on an empty pipe, interrupted by
 * SIGUSR1 from a child: without SA_RESTART it fails with EINTR; with SA_RESTART it
 * goes on and returns the data the child writes afterwards. waitpid likewise. A
 * nanosleep interrupted by a handled signal fails with EINTR and the time left,
 * even with SA_RESTART; one interrupted by a stop and SIGCONT (no handler) sleeps
 * its full time. The child keeps signalling until the parent is done, so some
 * signal surely arrives while the parent is blocked. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

static volatile int handled;

static void on_usr1(int signal) {
    (void)signal;
    handled++;
}

static void handle(int flags) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_usr1;
    action.sa_flags = flags;
    sigaction(SIGUSR1, &action, NULL);
}

/* A child that sends SIGUSR1 to the parent every 10 ms, `count` times (forever if
 * 0), then writes "data" to `out` (if >= 0) and exits. */
static pid_t pester(int count, int out) {
    pid_t parent = getpid();
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        for (int sent = 0; count == 0 || sent < count; sent++) {
            sleep_ms(10);
            kill(parent, SIGUSR1);
        }
        if (out >= 0) write(out, "data", 4);
        _exit(0);
    }
    return child;
}

static long elapsed_ms(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

int main(void) {
    int ends[2];
    char buffer[16];
    int status;

    handle(0);
    if (pipe(ends) != 0) return 2;
    pid_t child = pester(0, -1);
    ssize_t got = read(ends[0], buffer, sizeof buffer);
    int error = errno;
    printf("read without SA_RESTART: %zd, %s\n", got, got < 0 && error == EINTR ? "EINTR" : "not EINTR");
    kill(child, SIGKILL);
    waitpid(child, &status, 0);

    handle(SA_RESTART);
    handled = 0;
    child = pester(5, ends[1]);
    got = read(ends[0], buffer, sizeof buffer);
    printf("read with SA_RESTART: %zd bytes \"%.*s\", handler ran: %s\n", got, (int)(got > 0 ? got : 0), buffer,
           handled > 0 ? "yes" : "no");
    waitpid(child, &status, 0);

    handled = 0;
    child = pester(5, -1);
    pid_t waited = waitpid(child, &status, 0);
    printf("waitpid with SA_RESTART: the child's pid %s, handler ran: %s\n", waited == child ? "yes" : "no",
           handled > 0 ? "yes" : "no");

    handle(0);
    child = pester(0, -1);
    do {
        waited = waitpid(child, &status, 0);
    } while (waited == child);
    error = errno;
    printf("waitpid without SA_RESTART: %d, %s\n", (int)waited, error == EINTR ? "EINTR" : strerror(error));
    kill(child, SIGKILL);
    waitpid(child, &status, 0);

    handle(SA_RESTART);
    child = pester(0, -1);
    struct timespec request = {10, 0}, left = {0, 0};
    int slept = nanosleep(&request, &left);
    error = errno;
    printf("nanosleep 10 s with SA_RESTART: %d, %s, time left between 1 and 10 s: %s\n", slept,
           error == EINTR ? "EINTR" : "not EINTR", left.tv_sec >= 1 && left.tv_sec < 10 ? "yes" : "no");
    kill(child, SIGKILL);
    waitpid(child, &status, 0);

    /* No handler runs: a stop and SIGCONT in the middle of a 300 ms sleep. */
    fflush(stdout);
    child = fork();
    if (child == 0) {
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        struct timespec nap = {0, 300 * 1000000};
        int result = nanosleep(&nap, NULL);
        long ms = elapsed_ms(&start);
        printf("nanosleep 300 ms, stopped and continued: %d, slept at least 300 ms: %s\n", result,
               ms >= 300 ? "yes" : "no");
        fflush(stdout);
        _exit(0);
    }
    sleep_ms(50);
    kill(child, SIGSTOP);
    waitpid(child, &status, WUNTRACED);
    kill(child, SIGCONT);
    waitpid(child, &status, 0);
    return 0;
}
