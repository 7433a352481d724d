/* SIGPIPE: writing to a pipe nobody reads. By default it kills the writer; with a
 * handler the write fails with EPIPE after the handler ran (SI_USER, from the
 * writer itself); ignored, the write just fails with EPIPE. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

static volatile int handled;
static volatile int code, from_self;

static void on_pipe(int signal, siginfo_t *info, void *context) {
    (void)signal;
    (void)context;
    handled++;
    code = info->si_code;
    from_self = info->si_pid == getpid();
}

/* A pipe whose read end is already closed. */
static int broken_pipe(void) {
    int ends[2];
    if (pipe(ends) != 0) return -1;
    close(ends[0]);
    return ends[1];
}

int main(void) {
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        int out = broken_pipe();
        write(out, "x", 1);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("default: %s %d\n", WIFSIGNALED(status) ? "killed by signal" : "exited", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));

    handle_signal(SIGPIPE, on_pipe, 0);
    int out = broken_pipe();
    ssize_t written = write(out, "x", 1);
    int error = errno;
    printf("handled: write %zd errno %s, handler ran %d time(s), si_code %d (SI_USER %d), from self %s\n", written,
           error == EPIPE ? "EPIPE" : strerror(error), handled, code, SI_USER, from_self ? "yes" : "no");

    signal(SIGPIPE, SIG_IGN);
    written = write(out, "xy", 2);
    error = errno;
    printf("ignored: write %zd errno %s, handler ran %d time(s)\n", written, error == EPIPE ? "EPIPE" : strerror(error),
           handled);

    /* Blocked: the write fails, SIGPIPE stays pending until unblocked. */
    handle_signal(SIGPIPE, on_pipe, 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigprocmask(SIG_BLOCK, &set, NULL);
    written = write(out, "x", 1);
    sigset_t pending;
    sigpending(&pending);
    printf("blocked: write %zd, pending %s, handler ran %d time(s)\n", written,
           sigismember(&pending, SIGPIPE) ? "yes" : "no", handled);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    printf("unblocked: handler ran %d time(s)\n", handled);
    return 0;
}
