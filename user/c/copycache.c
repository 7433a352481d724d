/* The kernel's copies to and from user memory see every mapping change at once,
 * though it keeps the translations of the pages it copied to last: a page the
 * kernel just wrote (read from /dev/zero into it), then made read-only, refuses
 * the next such write (EFAULT), also right after a read from it; one made PROT_NONE refuses a write(2) from it
 * into a pipe; one unmapped refuses both. A change to a neighbouring page leaves a page's own
 * rights alone. Each copy moves argv[1] bytes (16 unless given, at most 16: a
 * copy of a few bytes takes a shorter way in the kernel). The output is Linux's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "include/testlib.h"

#define PAGE 4096UL

/* read(2) of `n` bytes from /dev/zero into `at`: "ok" or the errno's name. */
static const char *fill(int zero, char *at, size_t n)
{
    return read(zero, at, n) == (ssize_t)n ? "ok" : errno_name(errno);
}

/* write(2) of `n` bytes from `at` into a pipe (emptied again): /dev/null would
 * not read them. */
static const char *drain(const int pipe_ends[2], char *at, size_t n)
{
    static char back[16];
    if (write(pipe_ends[1], at, n) != (ssize_t)n)
        return errno_name(errno);
    return read(pipe_ends[0], back, n) == (ssize_t)n ? "ok" : errno_name(errno);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 16;
    if (n == 0 || n > 16) {
        fprintf(stderr, "copycache: 1 to 16 bytes\n");
        return 2;
    }
    int zero = open("/dev/zero", O_RDONLY), pipe_ends[2];
    char *pages = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (zero < 0 || pipe(pipe_ends) != 0 || pages == MAP_FAILED) {
        perror("setup");
        return 1;
    }
    char *first = pages, *second = pages + PAGE;
    /* Nothing printed until the end: no other copy comes between a page's and
     * the change to it. */
    const char *said[10];
    said[0] = fill(zero, first, n);
    mprotect(first, PAGE, PROT_READ);
    said[1] = fill(zero, first, n);
    said[2] = drain(pipe_ends, first, n);
    /* A write from it into the pipe, the last copy before the fill (drained
     * after). */
    static char back[16];
    said[9] = write(pipe_ends[1], first, n) == (ssize_t)n ? fill(zero, first, n) : errno_name(errno);
    if (read(pipe_ends[0], back, n) != (ssize_t)n)
        said[9] = "the pipe lost the bytes";
    said[3] = fill(zero, second, n);
    mprotect(first, PAGE, PROT_READ | PROT_WRITE);
    said[4] = fill(zero, first, n);
    mprotect(second, PAGE, PROT_NONE);
    said[5] = fill(zero, first, n);
    said[6] = drain(pipe_ends, second, n);
    said[7] = drain(pipe_ends, first, n);
    munmap(first, PAGE);
    said[8] = fill(zero, first, n);
    printf("fill a writable page: %s\n", said[0]);
    printf("fill it made read-only: %s\n", said[1]);
    printf("drain it: %s\n", said[2]);
    printf("fill it right after a write from it: %s\n", said[9]);
    printf("fill its writable neighbour: %s\n", said[3]);
    printf("fill it made writable again: %s\n", said[4]);
    printf("fill it beside a PROT_NONE neighbour: %s\n", said[5]);
    printf("drain the PROT_NONE neighbour: %s\n", said[6]);
    printf("drain it beside it: %s\n", said[7]);
    printf("fill it unmapped: %s\n", said[8]);
    return 0;
}
