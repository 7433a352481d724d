/* pause() returns -1/EINTR once a handled signal arrives, here from a child (there
 * is no alarm yet): the child signals every 10 ms until the parent kills it, so one
 * signal surely arrives while the parent is paused. A signal the process ignores
 * does not end the pause: the child first sends SIGCHLD-like noise (SIGURG, default
 * ignored) and SIGUSR2 (SIG_IGN). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int handled;

static void on_usr1(int signal) {
    (void)signal;
    handled++;
}

int main(void) {
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, SIG_IGN);
    pid_t parent = getpid();
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        struct timespec gap = {0, 10 * 1000 * 1000};
        for (int i = 0; i < 5; i++) {
            nanosleep(&gap, NULL);
            kill(parent, SIGURG);
            kill(parent, SIGUSR2);
        }
        for (;;) {
            nanosleep(&gap, NULL);
            kill(parent, SIGUSR1);
        }
    }
    int result = pause();
    int error = errno;
    printf("pause: %d %s, handler ran: %s\n", result, error == EINTR ? "EINTR" : strerror(error),
           handled > 0 ? "yes" : "no");
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    printf("child killed by signal %d\n", WTERMSIG(status));
    return 0;
}
