/* heap_reuse: memory the kernel heap got back in small pieces serves a large request.
 * timeshare only, as pid 1 (the figures are timeshare's heap's, and the host's test
 * runner may not raise its descriptor limit).
 *
 * The program opens "/" until the kernel refuses (ENFILE: the heap spares no more),
 * so that the heap is mostly small open-file records, closes them all, fills pipes
 * with 64 KiB each (a 64 KiB buffer per pipe, one large allocation) until the kernel
 * makes a writer wait, closes them and forks. What the closes freed counts as free
 * (`heap::spare`), so the pipes' buffers must get it: a heap that kept it in its
 * small blocks would fail a large allocation the admission check allowed, a kernel
 * panic. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "include/testlib.h"

#define PIPE_BYTES 65536

static char chunk[PIPE_BYTES];

int main(void)
{
    if (getpid() != 1) {
        fprintf(stderr, "heap_reuse: runs only as the first process of timeshare\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct rlimit limit = { 1 << 20, 1 << 20 };
    printf("setrlimit RLIMIT_NOFILE 1<<20: %s\n", errno_name(setrlimit(RLIMIT_NOFILE, &limit) ? errno : 0));

    int opened = 0, refusal;
    for (;;) {
        if (open("/", O_RDONLY) < 0) {
            refusal = errno;
            break;
        }
        opened++;
    }
    printf("open \"/\" until refused with ENFILE, after more than 10000: %s\n",
           yes(refusal == ENFILE && opened > 10000));
    for (int fd = 3; fd < 3 + opened; fd++)
        close(fd);

    long held = 0;
    int pipes = 0;
    for (;;) {
        int p[2];
        if (pipe2(p, O_NONBLOCK) < 0)
            break;
        ssize_t written = write(p[1], chunk, PIPE_BYTES);
        if (written <= 0)
            break;
        held += written;
        pipes++;
        if (written < PIPE_BYTES)
            break;
    }
    /* The files took nearly all the heap beyond its reserve: 64 KiB per descriptor
     * would be 8 MiB for every 128 files closed. */
    printf("then pipes of 64 KiB each until a writer waits: more than 64 of them: %s\n", yes(pipes > 64));
    for (int fd = 3; fd < 3 + 2 * (pipes + 1); fd++)
        close(fd);
    pid_t child = fork_or_die();
    if (child == 0)
        _exit(3);
    int status;
    waitpid(child, &status, 0);
    printf("then a fork: %s\n", describe(status));
    return 0;
}
