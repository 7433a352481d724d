/* epipe: writes lines to stdout until a write fails, with a SIGPIPE handler
 * installed, then says on stderr how the write failed and whether SIGPIPE came.
 * Run with stdout on a pipe whose reader goes away: Linux gives EPIPE and SIGPIPE. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int signal)
{
    (void)signal;
    sigpipes++;
}

int main(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_sigpipe;
    sigaction(SIGPIPE, &action, 0);
    alarm(60);
    long lines = 0;
    for (;;) {
        if (write(1, "a line of output\n", 17) < 0)
            break;
        lines++;
    }
    int error = errno;
    fprintf(stderr, "write failed: %s, SIGPIPE %s\n", error == EPIPE ? "EPIPE" : strerror(error),
            sigpipes == 1 ? "once" : sigpipes ? "more than once" : "never");
    /* And the next write fails the same way. */
    int again = write(1, "x\n", 2) < 0 && errno == EPIPE;
    fprintf(stderr, "next write: %s, SIGPIPE %s\n", again ? "EPIPE" : "other",
            sigpipes == 2 ? "again" : "not again");
    return 0;
}
