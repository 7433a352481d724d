/* Job control: SIGSTOP stops a child (it runs no more: the pipe it writes to stays
 * empty), waitpid(WUNTRACED) reports it once, SIGCONT continues it and
 * waitpid(WCONTINUED) reports that; the parent's SIGCHLD handler hears CLD_STOPPED,
 * CLD_CONTINUED, then CLD_KILLED (and CLD_CONTINUED even when SIGKILL follows
 * SIGCONT at once); with SA_NOCLDSTOP only the end. A stopped child dies of SIGKILL
 * at once, of SIGTERM only once continued. A stop signal discards a pending SIGCONT
 * and vice versa. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

static int codes[16];
static volatile int ncodes;

static void on_chld(int signal, siginfo_t *info, void *context) {
    (void)signal;
    (void)context;
    if (ncodes < 16) codes[ncodes++] = info->si_code;
}

static const char *job_status(int status) {
    static char text[64];
    if (WIFSTOPPED(status)) snprintf(text, sizeof text, "stopped by %d", WSTOPSIG(status));
    else if (WIFCONTINUED(status)) snprintf(text, sizeof text, "continued");
    else if (WIFSIGNALED(status)) snprintf(text, sizeof text, "killed by %d", WTERMSIG(status));
    else snprintf(text, sizeof text, "exited %d", WEXITSTATUS(status));
    return text;
}

static void print_codes(const char *what) {
    printf("%s: SIGCHLD codes", what);
    for (int i = 0; i < ncodes; i++) printf(" %s", codes[i] == CLD_STOPPED ? "CLD_STOPPED" : codes[i] == CLD_CONTINUED ? "CLD_CONTINUED" : codes[i] == CLD_KILLED ? "CLD_KILLED" : codes[i] == CLD_EXITED ? "CLD_EXITED" : "?");
    printf("\n");
}

/* A child writing a byte to the pipe every 5 ms. */
static pid_t writer(int out) {
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        for (;;) {
            write(out, "x", 1);
            sleep_ms(5);
        }
    }
    return child;
}

static int drain(int in) {
    char buffer[4096];
    int total = 0;
    ssize_t got;
    while ((got = read(in, buffer, sizeof buffer)) > 0) total += got;
    return total;
}

int main(void) {
    handle_signal(SIGCHLD, on_chld, SA_RESTART);

    int ends[2];
    if (pipe(ends) != 0) return 2;
    fcntl(ends[0], F_SETFL, O_NONBLOCK);
    pid_t child = writer(ends[1]);
    sleep_ms(20);
    kill(child, SIGSTOP);
    int status;
    pid_t waited = waitpid(child, &status, WUNTRACED);
    printf("after SIGSTOP: %s (the child: %s)\n", job_status(status), waited == child ? "yes" : "no");
    waited = waitpid(child, &status, WUNTRACED | WNOHANG);
    printf("reported once: waitpid again gives %d\n", (int)waited);
    drain(ends[0]);
    sleep_ms(100);
    int written = drain(ends[0]);
    printf("while stopped it wrote %s\n", written == 0 ? "nothing" : "something");
    kill(child, SIGCONT);
    waited = waitpid(child, &status, WCONTINUED);
    printf("after SIGCONT: %s\n", job_status(status));
    sleep_ms(50);
    printf("continued, it writes again: %s\n", drain(ends[0]) > 0 ? "yes" : "no");
    kill(child, SIGSTOP);
    waitpid(child, &status, WUNTRACED);
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    printf("stopped, then SIGKILL: %s\n", job_status(status));
    print_codes("with a handler");

    /* SIGCONT then SIGKILL: the parent hears of it by SIGCHLD, taken with
       sigwaitinfo. Whether that first SIGCHLD says CLD_CONTINUED or CLD_KILLED depends
       on whether the child ran between the two kills (it reports its own
       continuation, on Linux too), so only its arrival is printed. */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    child = writer(ends[1]);
    kill(child, SIGSTOP);
    waitpid(child, &status, WUNTRACED);
    siginfo_t info;
    sigwaitinfo(&chld, &info);
    kill(child, SIGCHLD);
    kill(child, SIGCONT);
    waitpid(child, &status, WCONTINUED);
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    sigwaitinfo(&chld, &info);
    printf("stopped, an ignored signal, SIGCONT, SIGKILL: %s, then a SIGCHLD: %s\n", job_status(status),
           info.si_code == CLD_CONTINUED || info.si_code == CLD_KILLED ? "yes" : "no");
    sigprocmask(SIG_UNBLOCK, &chld, NULL);

    /* A stopped process dies of SIGKILL at once, of SIGTERM only once continued. */
    child = writer(ends[1]);
    kill(child, SIGSTOP);
    waitpid(child, &status, WUNTRACED);
    kill(child, SIGTERM);
    sleep_ms(50);
    waited = waitpid(child, &status, WNOHANG);
    printf("stopped, then SIGTERM: still there %s", waited == 0 ? "yes" : "no");
    kill(child, SIGCONT);
    waitpid(child, &status, 0);
    printf(", after SIGCONT: %s\n", job_status(status));

    handle_signal(SIGCHLD, on_chld, SA_RESTART | SA_NOCLDSTOP);
    ncodes = 0;
    child = writer(ends[1]);
    kill(child, SIGSTOP);
    waitpid(child, &status, WUNTRACED);
    kill(child, SIGCONT);
    waitpid(child, &status, WCONTINUED);
    kill(child, SIGTERM);
    waitpid(child, &status, 0);
    printf("SA_NOCLDSTOP: %s\n", job_status(status));
    print_codes("SA_NOCLDSTOP");

    /* Sending a stop signal discards a pending SIGCONT, and sending SIGCONT discards
       pending stop signals, blocked or not. */
    sigset_t both, pending;
    sigemptyset(&both);
    sigaddset(&both, SIGCONT);
    sigaddset(&both, SIGTSTP);
    sigprocmask(SIG_BLOCK, &both, NULL);
    raise(SIGCONT);
    raise(SIGTSTP);
    sigpending(&pending);
    printf("SIGCONT then SIGTSTP: SIGCONT pending %s, SIGTSTP pending %s\n",
           sigismember(&pending, SIGCONT) ? "yes" : "no", sigismember(&pending, SIGTSTP) ? "yes" : "no");
    raise(SIGCONT);
    sigpending(&pending);
    printf("then SIGCONT: SIGCONT pending %s, SIGTSTP pending %s\n", sigismember(&pending, SIGCONT) ? "yes" : "no",
           sigismember(&pending, SIGTSTP) ? "yes" : "no");
    signal(SIGCONT, SIG_IGN);
    sigprocmask(SIG_UNBLOCK, &both, NULL);
    return 0;
}
