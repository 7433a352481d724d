/* polltest: poll, ppoll, select and pselect on pipes, regular files and
 * /dev/null, as Linux answers them: revents (POLLIN, POLLOUT, POLLHUP, POLLERR,
 * POLLNVAL), timeouts of 0, N ms and forever, waits ended by a child writing to one
 * of several pipes, select's fd_sets and the time left it writes back, EBADF, and
 * ppoll's temporary signal mask (the handler runs, the old mask comes back).
 * Times are only compared with generous bounds, so the output is the same on every
 * run; exit status 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Monotonic milliseconds. */
static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Forks a child that sleeps `ms`, writes one byte to `fd` and exits. */
static pid_t write_later(int fd, long ms)
{
    pid_t child = fork();
    if (child == 0) {
        sleep_ms(ms);
        write(fd, "w", 1);
        _exit(0);
    }
    return child;
}

/* Polls `count` entries with `timeout` and prints the result and each revents. */
static void show_poll(const char *what, struct pollfd *fds, int count, int timeout)
{
    int result = poll(fds, count, timeout);
    printf("%s: %d", what, result);
    if (result < 0)
        printf(" %s", errno == EINTR ? "EINTR" : errno == EINVAL ? "EINVAL" : "other");
    for (int i = 0; i < count; i++)
        printf(" [%#x]", fds[i].revents);
    printf("\n");
}

static void polling(void)
{
    int p[2];
    pipe(p);
    struct pollfd both[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    show_poll("empty pipe, both ends, timeout 0", both, 2, 0);
    struct pollfd in = {p[0], POLLIN, 0};
    long start = now_ms();
    show_poll("empty pipe, timeout 50", &in, 1, 50);
    long waited = now_ms() - start;
    printf("waited at least 50 ms: %s, less than 5 s: %s\n", waited >= 50 ? "yes" : "no", waited < 5000 ? "yes" : "no");
    write(p[1], "x", 1);
    show_poll("after a write", &in, 1, -1);
    struct pollfd all = {p[0], POLLIN | POLLOUT | POLLPRI, 0};
    show_poll("read end asked for everything", &all, 1, 0);
    close(p[1]);
    show_poll("writer gone, data left", &in, 1, 0);
    char c;
    read(p[0], &c, 1);
    show_poll("writer gone, drained", &in, 1, -1);
    struct pollfd none = {p[0], 0, 0};
    show_poll("writer gone, no events asked", &none, 1, 0);
    close(p[0]);

    pipe(p);
    close(p[0]);
    struct pollfd out = {p[1], POLLOUT, 0};
    show_poll("reader gone", &out, 1, 0);
    close(p[1]);

    struct pollfd odd[3] = {{-1, POLLIN, 0}, {99, POLLIN, 0}, {-5, POLLIN, 0}};
    show_poll("fd -1, closed fd 99, fd -5", odd, 3, 0);

    int file = open("/proc/self/exe", O_RDONLY);
    int null = open("/dev/null", O_WRONLY);
    struct pollfd files[2] = {{file, POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM | POLLPRI, 0},
                              {null, POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM, 0}};
    show_poll("a regular file and /dev/null", files, 2, -1);
    close(file);
    close(null);

    /* Blocking until a child writes, to one of two pipes. */
    int a[2], b[2];
    pipe(a);
    pipe(b);
    /* The clock starts before the fork: the child's 100 ms count from then, and a
     * parent that runs late after the fork must not see the write come early. */
    start = now_ms();
    pid_t child = write_later(b[1], 100);
    struct pollfd two[2] = {{a[0], POLLIN, 0}, {b[0], POLLIN, 0}};
    show_poll("two pipes, forever, the child writes the second", two, 2, -1);
    printf("woken after at least 100 ms: %s\n", now_ms() - start >= 100 ? "yes" : "no");
    waitpid(child, NULL, 0);
    read(b[0], &c, 1);
    child = write_later(a[1], 50);
    show_poll("two pipes, 10 s, the child writes the first", two, 2, 10000);
    waitpid(child, NULL, 0);
    read(a[0], &c, 1);
    /* A child that exits without writing closes its copy of the write end; the
     * parent still holds one, so nothing happens. */
    show_poll("nothing to read, timeout 20", two, 2, 20);
    close(a[1]);
    show_poll("first writer closed", two, 2, -1);
    close(a[0]);
    close(b[0]);
    close(b[1]);
}

static void show_set(const char *name, fd_set *set, int fd)
{
    printf(" %s:%s", name, FD_ISSET(fd, set) ? "set" : "clear");
}

static void selecting(void)
{
    int p[2];
    pipe(p);
    fd_set read_set, write_set;
    struct timeval timeout = {0, 30000};
    FD_ZERO(&read_set);
    FD_SET(p[0], &read_set);
    long start = now_ms();
    int result = select(p[0] + 1, &read_set, NULL, NULL, &timeout);
    printf("select on an empty pipe, 30 ms: %d, after at least 30 ms: %s, time left %ld.%06ld\n", result,
           now_ms() - start >= 30 ? "yes" : "no", (long)timeout.tv_sec, (long)timeout.tv_usec);
    write(p[1], "x", 1);
    FD_ZERO(&read_set);
    FD_SET(p[0], &read_set);
    FD_ZERO(&write_set);
    FD_SET(p[1], &write_set);
    FD_SET(p[0], &write_set);
    result = select(p[1] + 1, &read_set, &write_set, NULL, NULL);
    printf("select with data:  %d", result);
    show_set("read end readable", &read_set, p[0]);
    show_set("read end writable", &write_set, p[0]);
    show_set("write end writable", &write_set, p[1]);
    printf("\n");
    /* A low closed fd: Linux clamps nfds to the size of the process's fd table (64
     * slots at least, more once many fds were open), so a closed fd 99 gives EBADF in
     * one process and 0 in another. */
    int closed = dup(0);
    close(closed);
    FD_ZERO(&read_set);
    FD_SET(closed, &read_set);
    timeout = (struct timeval){0, 0};
    result = select(closed + 1, &read_set, NULL, NULL, &timeout);
    printf("select with a closed fd: %d %s\n", result, result < 0 && errno == EBADF ? "EBADF" : "");
    timeout = (struct timeval){0, 1000000};
    result = select(1, NULL, NULL, NULL, &timeout);
    printf("select with 1000000 us: %d %s\n", result, result < 0 && errno == EINVAL ? "EINVAL" : "");
    result = select(-1, NULL, NULL, NULL, NULL);
    printf("select with nfds -1: %d %s\n", result, result < 0 && errno == EINVAL ? "EINVAL" : "");
    char c;
    read(p[0], &c, 1);

    pid_t child = write_later(p[1], 100);
    FD_ZERO(&read_set);
    FD_SET(p[0], &read_set);
    struct timespec forever_ish = {10, 0};
    result = pselect(p[0] + 1, &read_set, NULL, NULL, &forever_ish, NULL);
    printf("pselect woken by the child: %d", result);
    show_set("read end", &read_set, p[0]);
    printf("\n");
    waitpid(child, NULL, 0);
    read(p[0], &c, 1);
    close(p[0]);
    close(p[1]);
}

static volatile sig_atomic_t handled;

static void on_usr1(int signal)
{
    (void)signal;
    handled++;
}

/* ppoll with a mask that admits SIGUSR1, which is blocked otherwise: the signal
 * ends the wait, its handler runs, and SIGUSR1 is blocked again afterwards. */
static void masking(void)
{
    struct sigaction action = {0};
    action.sa_handler = on_usr1;
    sigaction(SIGUSR1, &action, NULL);
    sigset_t usr1, empty, now;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    int p[2];
    pipe(p);
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        sleep_ms(50);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    struct pollfd in = {p[0], POLLIN, 0};
    int result = ppoll(&in, 1, NULL, &empty);
    printf("ppoll with SIGUSR1 admitted: %d %s, handler ran %d time(s)\n", result, result < 0 && errno == EINTR ? "EINTR" : "",
           (int)handled);
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("SIGUSR1 blocked again: %s\n", sigismember(&now, SIGUSR1) ? "yes" : "no");
    waitpid(child, NULL, 0);
    struct timespec short_wait = {0, 20000000};
    result = ppoll(&in, 1, &short_wait, &empty);
    printf("ppoll timing out: %d, time left %ld.%09ld\n", result, (long)short_wait.tv_sec, short_wait.tv_nsec);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    polling();
    selecting();
    masking();
    return 0;
}
