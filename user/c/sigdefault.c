/* The default action of every standard signal (and a few real-time ones, not the
 * ones the C libraries reserve for themselves: 32 to 34), seen by the parent
 * through waitpid: each child raises one signal on itself. Terminating
 * signals end it (WTERMSIG); SIGCHLD, SIGCONT, SIGURG and SIGWINCH are ignored; the
 * stop signals stop it (the child first leaves for its own process group, so the
 * terminal's stop signals are not discarded as they are in an orphaned group) until
 * SIGCONT. With "self N", the program raises N on itself: the exit status is then
 * 128+N. The core-dump flag is not printed: Linux sets it only if a core file was
 * actually written, which depends on the host's limits. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void try_signal(int signal) {
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        setpgid(0, 0);
        raise(signal);
        _exit(0);
    }
    int status;
    waitpid(child, &status, WUNTRACED);
    printf("%s (%d): ", signal < 32 ? strsignal(signal) : "real-time", signal);
    if (WIFSTOPPED(status)) {
        printf("stopped by %d, ", WSTOPSIG(status));
        kill(child, SIGCONT);
        waitpid(child, &status, 0);
    }
    if (WIFSIGNALED(status)) {
        printf("killed by signal %d\n", WTERMSIG(status));
    } else {
        printf("exited %d\n", WEXITSTATUS(status));
    }
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "self") == 0) {
        raise(atoi(argv[2]));
        printf("survived signal %s\n", argv[2]);
        return 0;
    }
    for (int signal = 1; signal <= 31; signal++) try_signal(signal);
    try_signal(35);
    try_signal(40);
    try_signal(64);
    return 0;
}
