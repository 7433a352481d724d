/* initsig: init (pid 1) is special, as on Linux. It gets no signal it has no handler
 * for, from anyone: SIGKILL and SIGSTOP from its children included, and a signal it
 * kept blocked is dropped when unblocked; a signal it handles is delivered; kill(-1)
 * reaches every process but init and the caller; kill(0, SIGSTOP) from a child stops
 * the rest of init's group but not init. A fault of its own still ends it.
 *
 *   initsig all     every case, then "still running" (status 0)
 *   initsig fault   init ignores and blocks SIGSEGV, then writes to NULL: killed
 *
 * Only as the first process of timeshare: on a host this is not pid 1 (status 2). */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

static const int named[] = { SIGKILL, SIGTERM, SIGSTOP, SIGINT, SIGUSR1, SIGUSR2, SIGSEGV, SIGCONT, SIGHUP, 0 };

static const char *name(int s) { return signal_name_in(s, named, "another signal"); }

/* "stopped by SIGNAME", or how else the wait status says it ended. */
static const char *stop_text(int status)
{
    static char text[64];
    if (!WIFSTOPPED(status))
        return describe(status);
    snprintf(text, sizeof text, "stopped by %s", name(WSTOPSIG(status)));
    return text;
}

/* Whether `signal` is pending for init (a dropped signal is not). */
static int pending(int signal)
{
    sigset_t set;
    sigpending(&set);
    return sigismember(&set, signal);
}

/* A child that sends `signal` to init, exits with kill's errno (0: it succeeded). */
static void child_sends_to_init(int signal)
{
    pid_t child = fork_or_die();
    if (child == 0)
        _exit(kill(1, signal) == 0 ? 0 : errno);
    int status;
    waitpid(child, &status, 0);
    /* A system call more: whatever is deliverable is acted on by its return. */
    getppid();
    printf("a child's kill(1, %s): %s; init still running; pending: %s\n", name(signal), describe(status),
           yes(pending(signal)));
}

static void c_unhandled_from_a_child(void)
{
    const int signals[] = { SIGKILL, SIGTERM, SIGSTOP, SIGINT, SIGUSR1, SIGHUP, SIGSEGV, SIGCONT };
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        child_sends_to_init(signals[i]);
}

static void c_unhandled_from_itself(void)
{
    printf("raise(SIGTERM) in init: %s; still running\n", errno_name(raise(SIGTERM) == 0 ? 0 : errno));
}

static void c_blocked_then_unblocked(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    printf("init blocks SIGTERM\n");
    child_sends_to_init(SIGTERM);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    printf("init unblocks it: still running; pending: %s\n", yes(pending(SIGTERM)));
}

static volatile sig_atomic_t handled_signal, handled_from;

static void on_signal(int signal, siginfo_t *info, void *context)
{
    (void)context;
    handled_signal = signal;
    handled_from = info->si_pid;
}

static void c_handled(void)
{
    handle_signal(SIGUSR1, on_signal, 0);
    pid_t child = fork_or_die();
    if (child == 0)
        _exit(kill(1, SIGUSR1) == 0 ? 0 : errno);
    int status;
    waitpid(child, &status, 0);
    getppid();
    printf("with a handler, a child's SIGUSR1: handled %s, from the child: %s\n", name(handled_signal),
           yes(handled_from == child));
    signal(SIGUSR1, SIG_DFL);
}

/* rt_sigtimedwait for a signal init has no handler for: it arrives while init
 * waits, unblocked for the wait, and is taken, not dropped. */
static void c_waited_for(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    pid_t child = fork_or_die();
    if (child == 0) {
        sleep_ms(100);
        _exit(kill(1, SIGUSR2) == 0 ? 0 : errno);
    }
    struct timespec timeout = { 5, 0 };
    int taken = sigtimedwait(&set, NULL, &timeout);
    waitpid(child, NULL, 0);
    printf("sigtimedwait for SIGUSR2, sent while init waits: %s\n", taken > 0 ? name(taken) : errno_name(errno));
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* Children that wait until a signal ends them. */
static pid_t sleeper(void)
{
    pid_t child = fork_or_die();
    if (child == 0) {
        for (;;)
            pause();
    }
    return child;
}

static void c_kill_everyone(void)
{
    pid_t sleepers[3];
    for (int i = 0; i < 3; i++)
        sleepers[i] = sleeper();
    pid_t killer = fork_or_die();
    if (killer == 0)
        _exit(kill(-1, SIGKILL) == 0 ? 5 : 100 + errno);
    int status;
    waitpid(killer, &status, 0);
    printf("a child's kill(-1, SIGKILL): the caller %s\n", describe(status));
    for (int i = 0; i < 3; i++) {
        waitpid(sleepers[i], &status, 0);
        printf("another child: %s\n", describe(status));
    }
    getppid();
    printf("init: still running\n");
}

static void c_stop_the_group(void)
{
    pid_t sleepers[2];
    for (int i = 0; i < 2; i++)
        sleepers[i] = sleeper();
    pid_t stopper = fork_or_die();
    if (stopper == 0)
        _exit(kill(0, SIGSTOP) == 0 ? 6 : 100 + errno);
    int status;
    waitpid(stopper, &status, WUNTRACED);
    printf("a child's kill(0, SIGSTOP): the caller %s\n", stop_text(status));
    for (int i = 0; i < 2; i++) {
        waitpid(sleepers[i], &status, WUNTRACED);
        printf("another child of the group: %s\n", stop_text(status));
    }
    getppid();
    printf("init: still running, not stopped\n");
    kill(stopper, SIGCONT);
    waitpid(stopper, &status, 0);
    printf("the caller, continued by init: %s\n", describe(status));
    for (int i = 0; i < 2; i++) {
        kill(sleepers[i], SIGKILL);
        waitpid(sleepers[i], &status, 0);
        printf("another child, killed by init: %s\n", describe(status));
    }
}

/* init's own fault ends it even with SIGSEGV ignored and blocked (Linux forces it). */
static void fault(void)
{
    signal(SIGSEGV, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSEGV);
    sigprocmask(SIG_BLOCK, &set, NULL);
    printf("init writes to NULL\n");
    fflush(stdout);
    *(volatile int *)0 = 1;
    printf("FAIL: init survived its own fault\n");
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "all") && strcmp(argv[1], "fault"))) {
        fprintf(stderr, "usage: initsig all|fault\n");
        return 2;
    }
    if (getpid() != 1) {
        fprintf(stderr, "initsig: only as the first process of timeshare (pid 1)\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(argv[1], "fault")) {
        fault();
        return 1;
    }
    c_unhandled_from_a_child();
    c_unhandled_from_itself();
    c_blocked_then_unblocked();
    c_handled();
    c_waited_for();
    c_kill_everyone();
    c_stop_the_group();
    printf("still running\n");
    return 0;
}
