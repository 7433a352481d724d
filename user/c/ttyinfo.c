/* ttyinfo: what a program sees of its terminal. Prints, to fd 1 and to fd 2, one
 * line: which of fds 0, 1, 2 are terminals (isatty) and the window size of each that
 * is (TIOCGWINSZ). With the argument `winch` it then prints `ready` and waits for
 * SIGWINCH (at most 30 s), and prints the new size it reads in the handler's wake. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t resized;

static void on_winch(int signal)
{
    (void)signal;
    resized = 1;
}

static void say(const char *line)
{
    for (int fd = 1; fd <= 2; fd++)
        if (write(fd, line, strlen(line)) < 0)
            _exit(1);
}

static void report(const char *what)
{
    char line[256];
    int n = snprintf(line, sizeof line, "%s:", what);
    for (int fd = 0; fd <= 2; fd++) {
        struct winsize size;
        if (!isatty(fd))
            n += snprintf(line + n, sizeof line - n, " %d=no", fd);
        else if (ioctl(fd, TIOCGWINSZ, &size) == 0)
            n += snprintf(line + n, sizeof line - n, " %d=%ux%u", fd, size.ws_col, size.ws_row);
        else
            n += snprintf(line + n, sizeof line - n, " %d=tty-without-size", fd);
    }
    snprintf(line + n, sizeof line - n, "\n");
    say(line);
}

int main(int argc, char **argv)
{
    report("ttys");
    if (argc < 2 || strcmp(argv[1], "winch") != 0)
        return 0;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_winch;
    sigaction(SIGWINCH, &action, 0);
    sigset_t blocked, old;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGWINCH);
    sigprocmask(SIG_BLOCK, &blocked, &old);
    say("ready\n");
    alarm(30);
    while (!resized)
        sigsuspend(&old);
    report("winch");
    return 0;
}
