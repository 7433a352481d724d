/* The mask: a blocked signal stays pending (sigpending) and is delivered as soon
 * as it is unblocked, before sigprocmask returns; several pending signals arrive
 * lowest number first; SIGKILL/SIGSTOP cannot be blocked; setting SIG_IGN discards
 * a pending signal; sigsuspend waits with a temporary mask; sigtimedwait and
 * sigwaitinfo take a signal without running its handler. A fork child inherits
 * the handlers and the mask but not the pending signals; execve keeps the mask and
 * ignored signals, and resets caught ones to SIG_DFL. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

static char order[64];
static volatile int count;

static void note(int signal) {
    order[count++] = signal == SIGUSR1 ? '1' : signal == SIGUSR2 ? '2' : signal == SIGTERM ? 'T' : '?';
}

static sigset_t only(int signal) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal);
    return set;
}

static int after_exec(void) {
    struct sigaction usr1, usr2;
    sigaction(SIGUSR1, NULL, &usr1);
    sigaction(SIGUSR2, NULL, &usr2);
    sigset_t mask, pending;
    sigprocmask(SIG_BLOCK, NULL, &mask);
    sigpending(&pending);
    printf("after exec: SIGUSR1 handler reset to SIG_DFL %s, SIGUSR2 still SIG_IGN %s, SIGTERM still blocked %s, "
           "SIGTERM still pending %s\n",
           yes(usr1.sa_handler == SIG_DFL), yes(usr2.sa_handler == SIG_IGN), yes(sigismember(&mask, SIGTERM)),
           yes(sigismember(&pending, SIGTERM)));
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "after-exec") == 0) return after_exec();
    signal(SIGUSR1, note);
    signal(SIGUSR2, note);
    signal(SIGTERM, note);

    sigset_t both = only(SIGUSR1);
    sigaddset(&both, SIGUSR2);
    sigprocmask(SIG_BLOCK, &both, NULL);
    raise(SIGUSR2);
    raise(SIGUSR1);
    raise(SIGUSR1);
    sigset_t pending;
    sigpending(&pending);
    printf("blocked: delivered %d, pending USR1 %s USR2 %s\n", count, yes(sigismember(&pending, SIGUSR1)),
           yes(sigismember(&pending, SIGUSR2)));
    sigprocmask(SIG_UNBLOCK, &both, NULL);
    order[count] = 0;
    printf("unblocked: delivered %d in order %s (a signal pending twice arrives once)\n", count, order);

    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    sigset_t mask;
    sigprocmask(SIG_BLOCK, NULL, &mask);
    printf("block everything: SIGKILL blocked %s, SIGSTOP blocked %s, SIGTERM blocked %s\n",
           yes(sigismember(&mask, SIGKILL)), yes(sigismember(&mask, SIGSTOP)), yes(sigismember(&mask, SIGTERM)));
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    sigset_t usr1 = only(SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    raise(SIGUSR1);
    signal(SIGUSR1, SIG_IGN);
    sigpending(&pending);
    printf("SIG_IGN discards a pending signal: %s\n", yes(!sigismember(&pending, SIGUSR1)));
    signal(SIGUSR1, note);
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);

    count = 0;
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    raise(SIGUSR1);
    sigset_t wait_mask = none;
    sigaddset(&wait_mask, SIGUSR2);
    sigsuspend(&wait_mask);
    sigprocmask(SIG_BLOCK, NULL, &mask);
    printf("sigsuspend: delivered %d, old mask back (SIGUSR1 blocked %s, SIGUSR2 blocked %s)\n", count,
           yes(sigismember(&mask, SIGUSR1)), yes(sigismember(&mask, SIGUSR2)));
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);

    /* sigtimedwait: takes a pending signal of the set (blocked) without its handler. */
    count = 0;
    sigset_t usr2 = only(SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, NULL);
    struct timespec zero = {0, 0}, short_wait = {0, 30 * 1000 * 1000};
    int taken = sigtimedwait(&usr2, NULL, &zero);
    printf("sigtimedwait, nothing pending, no wait: %d %s\n", taken, errno == EAGAIN ? "EAGAIN" : strerror(errno));
    taken = sigtimedwait(&usr2, NULL, &short_wait);
    printf("sigtimedwait 30 ms, nothing comes: %d %s\n", taken, errno == EAGAIN ? "EAGAIN" : strerror(errno));
    union sigval value = {.sival_int = 7};
    sigqueue(getpid(), SIGUSR2, value);
    siginfo_t info;
    taken = sigwaitinfo(&usr2, &info);
    sigpending(&pending);
    printf("sigwaitinfo: %d, code %d (SI_QUEUE %d) value %d, handler ran %d time(s), still pending %s\n", taken,
           info.si_code, SI_QUEUE, info.si_value.sival_int, count, yes(sigismember(&pending, SIGUSR2)));
    sigprocmask(SIG_UNBLOCK, &usr2, NULL);

    /* fork: handlers and mask inherited, pending signals not. */
    sigset_t term = only(SIGTERM);
    sigprocmask(SIG_BLOCK, &term, NULL);
    raise(SIGTERM);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        struct sigaction action;
        sigaction(SIGUSR1, NULL, &action);
        sigpending(&pending);
        sigprocmask(SIG_BLOCK, NULL, &mask);
        printf("fork child: handler inherited %s, SIGTERM blocked %s, SIGTERM pending %s\n",
               yes(action.sa_handler == note), yes(sigismember(&mask, SIGTERM)), yes(sigismember(&pending, SIGTERM)));
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);

    signal(SIGUSR2, SIG_IGN);
    fflush(stdout);
    char *args[] = {argv[0], "after-exec", NULL};
    execv("/proc/self/exe", args);
    perror("execv");
    return 1;
}
