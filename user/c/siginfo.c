/* What a handler is told and under which mask it runs: SA_SIGINFO fields for
 * kill (SI_USER, si_pid, si_uid), sigqueue (SI_QUEUE, si_value), tgkill (SI_TKILL)
 * and a child's exit (SIGCHLD: CLD_EXITED, si_pid, si_status); the handler's own
 * signal and sa_mask blocked while it runs (not with SA_NODEFER); SA_RESETHAND;
 * SIGKILL/SIGSTOP cannot be caught. Pids are printed only as comparisons, so the
 * output is the same on Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

static siginfo_t last;
static sigset_t mask_inside;
static volatile int calls;

static void record(int signal, siginfo_t *info, void *context) {
    (void)signal;
    (void)context;
    last = *info;
    sigprocmask(SIG_BLOCK, NULL, &mask_inside);
    calls++;
}

static void install(int signal, int flags, const sigset_t *mask) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = record;
    action.sa_flags = SA_SIGINFO | flags;
    if (mask) action.sa_mask = *mask;
    if (sigaction(signal, &action, NULL) != 0) perror("sigaction");
}

int main(void) {
    pid_t me = getpid();
    long result;
    sigset_t extra;
    sigemptyset(&extra);
    sigaddset(&extra, SIGTERM);

    install(SIGUSR1, 0, &extra);
    kill(me, SIGUSR1);
    printf("kill: signo %d code %d (SI_USER %d) pid is mine %s uid is mine %s errno %d\n", last.si_signo,
           last.si_code, SI_USER, yes(last.si_pid == me), yes(last.si_uid == getuid()), last.si_errno);
    printf("  inside: SIGUSR1 blocked %s, sa_mask SIGTERM blocked %s, SIGUSR2 blocked %s\n",
           yes(sigismember(&mask_inside, SIGUSR1)), yes(sigismember(&mask_inside, SIGTERM)),
           yes(sigismember(&mask_inside, SIGUSR2)));
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("  after return: SIGUSR1 blocked %s, SIGTERM blocked %s\n", yes(sigismember(&now, SIGUSR1)),
           yes(sigismember(&now, SIGTERM)));

    install(SIGUSR2, SA_NODEFER | SA_RESETHAND, NULL);
    union sigval value = {.sival_int = 42};
    sigqueue(me, SIGUSR2, value);
    printf("sigqueue: signo %d code %d (SI_QUEUE %d) value %d pid is mine %s\n", last.si_signo, last.si_code,
           SI_QUEUE, last.si_value.sival_int, yes(last.si_pid == me));
    printf("  SA_NODEFER: SIGUSR2 blocked inside %s\n", yes(sigismember(&mask_inside, SIGUSR2)));
    struct sigaction now_action;
    sigaction(SIGUSR2, NULL, &now_action);
    printf("  SA_RESETHAND: handler now SIG_DFL %s\n", yes(now_action.sa_handler == SIG_DFL));

    siginfo_t forged;
    memset(&forged, 0, sizeof forged);
    forged.si_code = SI_USER;
    result = syscall(SYS_rt_sigqueueinfo, 999999, SIGUSR2, &forged);
    printf("rt_sigqueueinfo claiming SI_USER to another process: %ld errno %d (EPERM %d)\n", result, errno, EPERM);

    install(SIGWINCH, 0, NULL);
    syscall(SYS_tgkill, me, me, SIGWINCH);
    printf("tgkill: signo %d code %d (SI_TKILL %d) pid is mine %s\n", last.si_signo, last.si_code, SI_TKILL,
           yes(last.si_pid == me));
    result = syscall(SYS_tgkill, me + 100000, me, SIGWINCH);
    printf("tgkill to another group: %ld errno %d (ESRCH %d)\n", result, errno, ESRCH);
    result = syscall(SYS_tkill, 0, SIGWINCH);
    printf("tkill tid 0: %ld errno %d (EINVAL %d)\n", result, errno, EINVAL);

    /* The child's exit: SIGCHLD delivered while the parent waits in sigsuspend. */
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    install(SIGCHLD, 0, NULL);
    calls = 0;
    pid_t child = fork();
    if (child == 0) _exit(7);
    sigset_t wait_mask = old;
    sigdelset(&wait_mask, SIGCHLD);
    while (calls == 0) sigsuspend(&wait_mask);
    printf("SIGCHLD: signo %d code %d (CLD_EXITED %d) pid is the child %s status %d\n", last.si_signo, last.si_code,
           CLD_EXITED, yes(last.si_pid == child), last.si_status);
    int status;
    pid_t waited = waitpid(child, &status, 0);
    printf("  waitpid: %s, exit %d\n", yes(waited == child), WEXITSTATUS(status));

    calls = 0;
    child = fork();
    if (child == 0) {
        raise(SIGKILL);
        _exit(1);
    }
    while (calls == 0) sigsuspend(&wait_mask);
    printf("SIGCHLD: code %d (CLD_KILLED %d) status %d\n", last.si_code, CLD_KILLED, last.si_status);
    waitpid(child, &status, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_IGN;
    int done = sigaction(SIGKILL, &action, NULL);
    printf("sigaction(SIGKILL): %d errno %d (EINVAL %d)\n", done, errno, EINVAL);
    errno = 0;
    done = sigaction(SIGSTOP, &action, NULL);
    printf("sigaction(SIGSTOP): %d errno %d\n", done, errno);
    done = sigaction(SIGKILL, NULL, &action);
    printf("sigaction(SIGKILL, NULL, &old): %d, SIG_DFL %s\n", done, yes(action.sa_handler == SIG_DFL));
    errno = 0;
    done = sigaction(65, NULL, &action);
    printf("sigaction(65): %d errno %d\n", done, errno);
    errno = 0;
    result = syscall(SYS_rt_sigaction, SIGUSR1, NULL, &action, 4);
    printf("rt_sigaction with sigsetsize 4: %ld errno %d\n", result, errno);
    return 0;
}
