/* efault: hands write(2) a NULL buffer and a kernel address. The kernel must refuse
 * both with EFAULT rather than read the memory (or crash). Run with stdout on a pipe,
 * file or terminal: /dev/null accepts a write without looking at the buffer.
 * Then the same kernel address to a read or write on a descriptor not open for it
 * (the wrong end of a pipe, an O_PATH one): EBADF, which Linux checks first. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "include/testlib.h"

/* Make write(1, buf, 5) and print its result, and errno's name if it failed. */
static void try_write(const char *what, const void *buf)
{
    long ret;

    errno = 0;
    ret = syscall(SYS_write, 1, buf, 5);
    if (ret < 0)
        printf("write(1, %s, 5) = %ld %s\n", what, ret, errno_name(errno));
    else
        printf("write(1, %s, 5) = %ld\n", what, ret);
    fflush(stdout);
}

int main(void)
{
    void *kernel = (void *)0xffffffff80000000UL;
    int fds[2];
    int path;

    try_write("NULL", (void *)0);
    try_write("0xffffffff80000000", kernel);
    if (pipe(fds) != 0 || (path = open("/", O_PATH)) < 0)
        return 1;
    errno = 0;
    show("read(pipe's write end, kernel, 5)", syscall(SYS_read, fds[1], kernel, 5));
    errno = 0;
    show("write(pipe's read end, kernel, 5)", syscall(SYS_write, fds[0], kernel, 5));
    errno = 0;
    show("read(O_PATH, kernel, 5)", syscall(SYS_read, path, kernel, 5));
    errno = 0;
    show("write(O_PATH, kernel, 5)", syscall(SYS_write, path, kernel, 5));
    return 0;
}
