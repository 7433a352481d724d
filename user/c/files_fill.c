/* files_fill: a file that fills the memory files may take. A bystander process
 * fills 8 MiB with a pattern first; then a file in /tmp grows by 64 KiB writes
 * until a write fails: it must fail with ENOSPC (a short write first, maybe),
 * never kill anyone or fault. The bystander's memory is checked intact, and it
 * can still take more; unlinking the file gives its memory back, so the same size
 * can be written again. timeshare only (the host would fill its disk). Exit
 * status 0. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

#define BYSTANDER_BYTES (8 << 20)

/* Writes 64 KiB blocks to `path` until a write fails; returns the bytes written
 * and leaves the failing errno in *error. */
static long long fill(const char *path, int *error)
{
    static char block[64 << 10];
    memset(block, 0x5a, sizeof block);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    long long total = 0;
    for (;;) {
        ssize_t written = write(fd, block, sizeof block);
        if (written < 0) {
            *error = errno;
            break;
        }
        total += written;
    }
    close(fd);
    return total;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int ready[2], go[2];
    pipe(ready);
    pipe(go);
    pid_t bystander = fork();
    if (bystander == 0) {
        unsigned char *memory = malloc(BYSTANDER_BYTES);
        for (size_t i = 0; i < BYSTANDER_BYTES; i++)
            memory[i] = (unsigned char)(i * 7);
        write(ready[1], "r", 1);
        char byte;
        read(go[0], &byte, 1);
        for (size_t i = 0; i < BYSTANDER_BYTES; i++)
            if (memory[i] != (unsigned char)(i * 7))
                _exit(1);
        unsigned char *more = malloc(1 << 20);
        memset(more, 1, 1 << 20);
        _exit(more[12345] == 1 ? 0 : 2);
    }
    char byte;
    read(ready[0], &byte, 1);

    int error = 0;
    long long first = fill("/tmp/big", &error);
    printf("the file stopped with %s after more than 1 MiB: %s\n", errno_name(error), yes(first > (1 << 20)));
    struct statfs fs;
    statfs("/tmp", &fs);
    printf("statfs: no block free: %s\n", yes(fs.f_bfree < 16));
    int small = open("/tmp/small", O_WRONLY | O_CREAT, 0644);
    show("another file's write", write(small, "x", 1));
    close(small);

    write(go[1], "g", 1);
    int status;
    waitpid(bystander, &status, 0);
    printf("the bystander: %s\n", describe(status));

    show("unlink the file", unlink("/tmp/big"));
    statfs("/tmp", &fs);
    printf("statfs: blocks free again: %s\n", yes(fs.f_bfree * fs.f_bsize >= (unsigned long long)first));
    long long second = fill("/tmp/big", &error);
    printf("written again: %s, as much: %s\n", errno_name(error), yes(second >= first - (64 << 10)));
    unlink("/tmp/big");
    return 0;
}
