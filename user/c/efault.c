/* efault: hands write(2) a NULL buffer and a kernel address. The kernel must refuse
 * both with EFAULT rather than read the memory (or crash). Run with stdout on a pipe,
 * file or terminal: /dev/null accepts a write without looking at the buffer. */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The symbolic name of an errno value, for the few this test can meet. */
static const char *errno_name(int e)
{
    switch (e) {
    case EFAULT: return "EFAULT";
    case EBADF:  return "EBADF";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    default:     return "other";
    }
}

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
    try_write("NULL", (void *)0);
    try_write("0xffffffff80000000", (void *)0xffffffff80000000UL);
    return 0;
}
