/* fdjuggle: descriptors as Linux keeps them. fcntl (F_DUPFD, F_DUPFD_CLOEXEC,
 * F_GETFD/F_SETFD, F_GETFL/F_SETFL), status flags shared by duplicates,
 * O_NONBLOCK on pipes (EAGAIN, a full pipe, end of file), pipe2 flags, the generic
 * ioctls (FIOCLEX, FIONCLEX, FIONBIO, FIONREAD), stdout redirected with dup2 into
 * a pipe (in this process, and in a child that execs a program whose output the
 * parent reads), close-on-exec honoured by execve, the lowest free number reused.
 * The child programs are this one again, run through /proc/self/exe. Output is the
 * same on every run; exit status 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

/* Runs this program again (through /proc/self/exe) with `arguments`, with
 * stdout on `out` (if not -1); returns its exit status. */
static int run_self(char *const arguments[], int out)
{
    pid_t child = fork();
    if (child == 0) {
        if (out >= 0)
            dup2(out, 1);
        execv("/proc/self/exe", arguments);
        _exit(127);
    }
    int status;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* After the exec: which of the descriptors named in argv survived, and the status
 * flags of those that did. */
static int after_exec(int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        int fd = atoi(argv[i]);
        int flags = fcntl(fd, F_GETFD);
        if (flags < 0)
            printf("after exec: fd %d is closed\n", fd);
        else
            printf("after exec: fd %d is open, FD_CLOEXEC %d, status %#x\n", fd, flags, fcntl(fd, F_GETFL) & ~O_LARGEFILE);
    }
    return 0;
}

static void duplicating(void)
{
    int null = open("/dev/null", O_RDONLY);
    show("F_DUPFD 100", fcntl(null, F_DUPFD, 100));
    show("F_DUPFD 100 again", fcntl(null, F_DUPFD, 100));
    show("F_DUPFD_CLOEXEC 100", fcntl(null, F_DUPFD_CLOEXEC, 100));
    show("F_GETFD 100", fcntl(100, F_GETFD));
    show("F_GETFD 102", fcntl(102, F_GETFD));
    show("F_SETFD 100 FD_CLOEXEC", fcntl(100, F_SETFD, FD_CLOEXEC));
    show("F_GETFD 100", fcntl(100, F_GETFD));
    show("F_SETFD 100 0", fcntl(100, F_SETFD, 0));
    show("F_GETFD 100", fcntl(100, F_GETFD));
    show("F_DUPFD -1", fcntl(null, F_DUPFD, -1));
    show("F_DUPFD 0x7fffffff", fcntl(null, F_DUPFD, 0x7fffffff));
    show("F_GETFD on a closed fd", fcntl(99, F_GETFD));
    show("unknown command 12345", fcntl(null, 12345, 0));
    show("ioctl FIOCLEX", ioctl(101, FIOCLEX));
    show("F_GETFD 101", fcntl(101, F_GETFD));
    show("ioctl FIONCLEX", ioctl(101, FIONCLEX));
    show("F_GETFD 101", fcntl(101, F_GETFD));
    close(100);
    close(101);
    close(102);
    /* The lowest free number is reused. */
    close(0);
    show("open after close(0)", open("/dev/null", O_RDONLY));
    close(null);
}

static void status_flags(void)
{
    int p[2];
    char buffer[4096];
    pipe(p);
    show("F_GETFL read end", fcntl(p[0], F_GETFL));
    show("F_GETFL write end", fcntl(p[1], F_GETFL));
    int copy = dup(p[0]);
    show("F_SETFL O_NONBLOCK", fcntl(p[0], F_SETFL, O_NONBLOCK));
    show("F_GETFL through the dup", fcntl(copy, F_GETFL));
    show("read an empty non-blocking pipe", read(copy, buffer, 1));
    show("F_SETFL O_APPEND|O_NONBLOCK|O_WRONLY", fcntl(copy, F_SETFL, O_APPEND | O_NONBLOCK | O_WRONLY));
    show("F_GETFL", fcntl(p[0], F_GETFL));
    show("F_SETFL 0", fcntl(p[0], F_SETFL, 0));
    show("F_GETFL through the dup", fcntl(copy, F_GETFL));
    int on = 1;
    show("ioctl FIONBIO 1", ioctl(p[1], FIONBIO, &on));
    show("F_GETFL write end", fcntl(p[1], F_GETFL));

    /* A non-blocking writer fills the pipe, then gets EAGAIN. */
    memset(buffer, 'z', sizeof buffer);
    long total = 0, n;
    while ((n = write(p[1], buffer, sizeof buffer)) > 0)
        total += n;
    printf("wrote %ld bytes before %s\n", total, errno == EAGAIN ? "EAGAIN" : "something else");
    int unread = -1;
    ioctl(p[0], FIONREAD, &unread);
    printf("FIONREAD: %d\n", unread);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    total = 0;
    while ((n = read(p[0], buffer, 1000)) > 0)
        total += n;
    printf("read %ld bytes before %s\n", total, n < 0 && errno == EAGAIN ? "EAGAIN" : "something else");
    close(p[1]);
    show("read a non-blocking pipe with no writer left", read(p[0], buffer, 1));
    close(p[0]);
    close(copy);

    show("pipe2 O_NONBLOCK|O_CLOEXEC", pipe2(p, O_NONBLOCK | O_CLOEXEC));
    show("F_GETFL read end", fcntl(p[0], F_GETFL));
    show("F_GETFL write end", fcntl(p[1], F_GETFL));
    show("F_GETFD read end", fcntl(p[0], F_GETFD));
    show("read it", read(p[0], buffer, 1));
    close(p[0]);
    close(p[1]);
    show("pipe2 with O_TRUNC", pipe2(p, O_TRUNC));
}

static void redirecting(void)
{
    int p[2];
    char buffer[256];
    /* In this process: stdout into a pipe and back. */
    pipe(p);
    int saved = dup(1);
    dup2(p[1], 1);
    printf("this line went through the pipe\n");
    dup2(saved, 1);
    close(saved);
    close(p[1]);
    long n = read(p[0], buffer, sizeof buffer);
    printf("read back: %.*s", (int)n, buffer);
    close(p[0]);

    /* A child's stdout into a pipe the parent reads until end of file. */
    pipe(p);
    char *writer[] = {"fdjuggle", "writer", NULL};
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    pid_t child = fork();
    if (child == 0) {
        dup2(p[1], 1);
        close(p[1]);
        execv("/proc/self/exe", writer);
        _exit(127);
    }
    close(p[1]);
    long total = 0;
    while ((n = read(p[0], buffer + total, sizeof buffer - 1 - total)) > 0)
        total += n;
    buffer[total] = 0;
    int status;
    waitpid(child, &status, 0);
    printf("the child wrote (%ld bytes, exit %d):\n%s", total, WEXITSTATUS(status), buffer);
    close(p[0]);
}

static void close_on_exec(void)
{
    int p[2];
    pipe(p);
    dup2(p[0], 110);
    dup3(p[0], 111, O_CLOEXEC);
    fcntl(p[1], F_DUPFD_CLOEXEC, 112);
    dup2(p[1], 113);
    fcntl(113, F_SETFL, O_NONBLOCK);
    int copy = fcntl(110, F_DUPFD, 114);
    fcntl(copy, F_SETFD, FD_CLOEXEC);
    close(p[0]);
    close(p[1]);
    char *arguments[] = {"fdjuggle", "after-exec", "110", "111", "112", "113", "114", NULL};
    printf("exec status %d\n", run_self(arguments, -1));
    /* The parent's descriptors are untouched by the child's exec. */
    show("parent's fd 111 still open", fcntl(111, F_GETFD));
    for (int fd = 110; fd <= 114; fd++)
        close(fd);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "writer") == 0) {
        printf("line one from the child\nline two from the child\n");
        return 3;
    }
    if (argc > 1 && strcmp(argv[1], "after-exec") == 0)
        return after_exec(argc, argv);
    duplicating();
    status_flags();
    redirecting();
    close_on_exec();
    return 0;
}
