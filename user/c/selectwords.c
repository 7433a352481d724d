/* select over descriptors spread across several 64-bit words of the fd_sets: the
 * same descriptor in the read and the write set, descriptors either side of a word's
 * edge, and a bit for a closed descriptor at or past nfds, which select must not look
 * at (no EBADF). Prints what select returns and which bits it leaves set; the same
 * output on Linux. */
#include "include/testlib.h"

#include <sys/select.h>

/* The descriptors the test places a pipe's ends at: either side of 64 and 128. */
static const int read_ends[] = {5, 63, 64, 127};
static const int write_ends[] = {6, 62, 65, 128};
enum { PIPES = sizeof read_ends / sizeof read_ends[0], CLOSED = 140 };

static void print_set(const char *name, const fd_set *set, int nfds)
{
    printf(" %s:", name);
    for (int fd = 0; fd < nfds; fd++)
        if (FD_ISSET(fd, set))
            printf(" %d", fd);
}

static void try_select(const char *what, int nfds, int with_closed)
{
    fd_set readable, writable;
    FD_ZERO(&readable);
    FD_ZERO(&writable);
    for (int i = 0; i < PIPES; i++) {
        FD_SET(read_ends[i], &readable);
        FD_SET(write_ends[i], &readable); /* a write end is never readable */
        FD_SET(write_ends[i], &writable);
    }
    if (with_closed)
        FD_SET(CLOSED, &readable);
    struct timeval zero = {0, 0};
    int result = select(nfds, &readable, &writable, NULL, &zero);
    printf("%s: %d%s", what, result, result < 0 ? (errno == EBADF ? " EBADF" : " error") : "");
    if (result >= 0) {
        print_set("read", &readable, 192);
        print_set("write", &writable, 192);
    }
    printf("\n");
}

int main(void)
{
    for (int i = 0; i < PIPES; i++) {
        int p[2];
        if (pipe(p) != 0 || dup2(p[0], read_ends[i]) < 0 || dup2(p[1], write_ends[i]) < 0)
            return 2;
        close(p[0]);
        close(p[1]);
    }
    if (write(write_ends[1], "x", 1) != 1 || write(write_ends[3], "y", 1) != 1)
        return 2;
    close(CLOSED);
    try_select("all of them", 129, 0);
    try_select("nfds 64", 64, 0);
    try_select("nfds 128, a closed fd past it", 128, 1);
    try_select("nfds 141, the closed fd in", 141, 1);
    return 0;
}
