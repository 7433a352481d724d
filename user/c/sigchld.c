/* What a parent's SIGCHLD disposition does to its children's ends: by default a
 * child stays a zombie until waited for; with SIGCHLD ignored, or SA_NOCLDWAIT, no
 * zombie is kept: wait() blocks until the children are gone and then fails with
 * ECHILD, and a parent that never waits can fork far more children than the process
 * table holds. With SA_NOCLDWAIT a handler still hears SIGCHLD. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int heard;

static void on_chld(int signal) {
    (void)signal;
    heard++;
}

static void children(int count, int code) {
    for (int i = 0; i < count; i++) {
        pid_t child = fork();
        if (child == 0) _exit(code);
        if (child < 0) {
            printf("fork %d failed: %s\n", i, strerror(errno));
            return;
        }
    }
}

int main(void) {
    fflush(stdout);
    children(1, 5);
    int status;
    pid_t waited = wait(&status);
    printf("default: wait gives the child %s, exit %d\n", waited > 0 ? "yes" : "no", WEXITSTATUS(status));

    signal(SIGCHLD, SIG_IGN);
    children(3, 0);
    waited = wait(&status);
    printf("SIGCHLD ignored: wait %d %s\n", (int)waited, errno == ECHILD ? "ECHILD" : strerror(errno));
    children(600, 0);
    printf("SIGCHLD ignored: 600 children forked, none waited for\n");
    while (wait(NULL) > 0) {}

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_chld;
    action.sa_flags = SA_NOCLDWAIT;
    sigaction(SIGCHLD, &action, NULL);
    children(2, 0);
    do {
        waited = wait(&status);
    } while (waited < 0 && errno == EINTR);
    printf("SA_NOCLDWAIT: wait %d %s, handler heard SIGCHLD %s\n", (int)waited,
           errno == ECHILD ? "ECHILD" : strerror(errno), heard > 0 ? "yes" : "no");

    signal(SIGCHLD, SIG_DFL);
    children(1, 9);
    waited = wait(&status);
    printf("default again: wait gives the child %s, exit %d\n", waited > 0 ? "yes" : "no", WEXITSTATUS(status));
    return 0;
}
