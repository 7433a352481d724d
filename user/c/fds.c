/* fds: the file-descriptor table with Linux semantics: dup takes the lowest free
 * number, dup2/dup3 onto a chosen number (closing what was there), dup2 of a fd onto
 * itself, EBADF for closed or out-of-range numbers, EINVAL for dup3 onto itself,
 * duplicates share one pipe end (EOF only when every write end is closed), and the
 * table is inherited across fork. Every check prints one line; the output is the
 * same on every run (no fd numbers: they depend on what the parent left open).
 * dup3 is called through syscall(): musl's dup3() checks its arguments itself.
 * Exit status: number of failures. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static void check(const char *what, int ok)
{
    printf("%s: %s\n", what, ok ? "ok" : "FAIL");
    if (!ok)
        failures++;
}

static int fails_with(long r, int e)
{
    return r == -1 && errno == e;
}

int main(void)
{
    int p[2];
    char buffer[16];

    check("pipe", pipe(p) == 0);
    int low = p[0] < p[1] ? p[0] : p[1];

    /* dup takes the lowest free number. */
    close(low);
    int d = dup(p[0] == low ? p[1] : p[0]);
    check("dup takes the lowest free number", d == low);
    close(d);
    check("pipe again", pipe(p) == 0);

    /* Duplicates share the pipe end. */
    int w2 = dup(p[1]);
    check("dup of the write end", w2 >= 0 && w2 != p[1]);
    check("write through the duplicate", write(w2, "abc", 3) == 3);
    check("read what the duplicate wrote", read(p[0], buffer, sizeof buffer) == 3 && memcmp(buffer, "abc", 3) == 0);
    close(p[1]);
    check("write through the duplicate after closing the original", write(w2, "de", 2) == 2);
    check("no EOF while a duplicate of the write end is open", read(p[0], buffer, sizeof buffer) == 2);
    close(w2);
    check("EOF when the last write end is closed", read(p[0], buffer, sizeof buffer) == 0);

    /* dup2 / dup3. */
    check("pipe again", pipe(p) == 0);
    errno = 0;
    check("dup2 onto itself returns the fd", dup2(p[1], p[1]) == p[1]);
    errno = 0;
    check("dup3 onto itself fails with EINVAL", fails_with(syscall(SYS_dup3, p[1], p[1], 0), EINVAL));
    errno = 0;
    check("dup3 with a bad flag fails with EINVAL", fails_with(syscall(SYS_dup3, p[1], 100, 0x1234), EINVAL));
    check("dup2 onto 100", dup2(p[1], 100) == 100);
    check("write to fd 100 reaches the pipe", write(100, "x", 1) == 1 && read(p[0], buffer, 1) == 1 && buffer[0] == 'x');
    int other[2];
    check("another pipe", pipe(other) == 0);
    check("dup2 onto an open fd replaces it", dup2(other[1], 100) == 100);
    check("fd 100 now writes to the other pipe", write(100, "y", 1) == 1 && read(other[0], buffer, 1) == 1 && buffer[0] == 'y');
    check("dup3 with O_CLOEXEC", syscall(SYS_dup3, p[1], 101, O_CLOEXEC) == 101);
    close(100);
    close(101);

    /* Bad numbers. */
    errno = 0;
    check("close of a closed fd fails with EBADF", fails_with(close(100), EBADF));
    errno = 0;
    check("close(-1) fails with EBADF", fails_with(close(-1), EBADF));
    errno = 0;
    check("dup of a closed fd fails with EBADF", fails_with(dup(100), EBADF));
    errno = 0;
    check("dup2 of a closed fd fails with EBADF", fails_with(dup2(100, 101), EBADF));
    errno = 0;
    check("dup2 onto a huge fd fails with EBADF", fails_with(dup2(p[1], 1 << 30), EBADF));
    errno = 0;
    check("write to a closed fd fails with EBADF", fails_with(write(100, "x", 1), EBADF));
    errno = 0;
    check("read from a closed fd fails with EBADF", fails_with(read(100, buffer, 1), EBADF));
    errno = 0;
    check("read from a pipe's write end fails with EBADF", fails_with(read(p[1], buffer, 1), EBADF));
    errno = 0;
    check("write to a pipe's read end fails with EBADF", fails_with(write(p[0], "x", 1), EBADF));
    errno = 0;
    check("pipe2 with a bad flag fails with EINVAL", fails_with(pipe2(other, 0x1234), EINVAL));
    errno = 0;
    check("pipe with a NULL array fails with EFAULT", fails_with(pipe(NULL), EFAULT));

    /* The table is inherited across fork; the child's closes do not affect ours. */
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        int ok = write(p[1], "child", 5) == 5;
        close(p[0]);
        close(p[1]);
        _exit(ok ? 0 : 1);
    }
    int status;
    check("the child wrote through the inherited fd", waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    check("and the parent reads it", read(p[0], buffer, sizeof buffer) == 5 && memcmp(buffer, "child", 5) == 0);
    check("the parent's fds are still open after the child closed its copies", write(p[1], "z", 1) == 1);

    printf("%s\n", failures ? "FAIL" : "done");
    return failures;
}
