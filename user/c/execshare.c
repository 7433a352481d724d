/* A program's read-only pages after exec: several processes running one program
 * file all see its bytes; a process that makes its own copy writable (mprotect)
 * and writes it changes only its own view (not the other processes', not the
 * file's: a later exec sees the bytes as built). With --memory, also prints how
 * much free memory each running copy took (/proc/meminfo's MemFree), which the
 * test bounds under timeshare: a kernel that shares the file's frames pays for
 * the program's read-only data once, not once per process.
 *
 *   execshare [--memory]          the parent: starts the copies, checks, reports
 *   execshare --copy READY        one copy: checks, writes its own page, tells the
 *                                 parent on fd READY, waits for stdin's end
 *   execshare --fresh             a later exec: the bytes are as built
 */

#include <stdlib.h>
#include <sys/mman.h>

#include "include/testlib.h"

#define COPIES 6
#define TABLE_SIZE (1 << 20)

/* Read-only data as large as a real program's text: stored in the file whole. */
static const unsigned char table[TABLE_SIZE] __attribute__((aligned(4096))) = {11, 22, 33, [TABLE_SIZE - 1] = 44};

/* Whether the table holds what the file does; `first` is what its first byte
 * should be (a copy that wrote its own page expects its own value there). */
static int table_as_built(unsigned char first)
{
    unsigned long sum = 0;
    for (size_t i = 1; i < TABLE_SIZE; i++)
        sum += ((const volatile unsigned char *)table)[i];
    return ((const volatile unsigned char *)table)[0] == first && sum == 22 + 33 + 44;
}

static long free_kib(void)
{
    char text[4096];
    int fd = open("/proc/meminfo", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return -1;
    text[n] = 0;
    char *line = strstr(text, "MemFree:");
    return line ? strtol(line + strlen("MemFree:"), NULL, 10) : -1;
}

static int copy(int ready)
{
    int ok = table_as_built(11);
    unsigned char *page = (unsigned char *)table;
    ok = ok && mprotect(page, 4096, PROT_READ | PROT_WRITE) == 0;
    if (ok)
        ((volatile unsigned char *)page)[0] = 99;
    char byte = ok ? 'y' : 'n';
    write_full(ready, &byte, 1);
    char end;
    while (read(0, &end, 1) > 0)
        ;
    return ok && table_as_built(99) ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--copy") == 0)
        return copy(atoi(argv[2]));
    if (argc == 2 && strcmp(argv[1], "--fresh") == 0)
        return table_as_built(11) ? 0 : 1;
    int memory = argc == 2 && strcmp(argv[1], "--memory") == 0;

    int hold[2], ready[2];
    if (pipe(hold) || pipe(ready))
        return 2;
    long before = free_kib();
    pid_t copies[COPIES];
    for (int i = 0; i < COPIES; i++) {
        copies[i] = fork_or_die();
        if (copies[i] == 0) {
            dup2(hold[0], 0);
            close(hold[1]);
            close(ready[0]);
            char fd[16];
            snprintf(fd, sizeof fd, "%d", ready[1]);
            execl("/proc/self/exe", "execshare", "--copy", fd, (char *)NULL);
            _exit(127);
        }
    }
    close(hold[0]);
    close(ready[1]);
    int ready_copies = 0;
    for (int i = 0; i < COPIES; i++) {
        char byte = 'n';
        read_full(ready[0], &byte, 1);
        ready_copies += byte == 'y';
    }
    /* Every copy has exec'd and written its page, and waits. */
    long after = free_kib();
    printf("copies that saw the program's bytes and wrote their own page: %d of %d\n", ready_copies, COPIES);
    printf("the parent's bytes after the copies wrote theirs: %s\n", table_as_built(11) ? "as built" : "CHANGED");
    close(hold[1]);
    int ended_well = 0;
    for (int i = 0; i < COPIES; i++) {
        int status;
        ended_well += waitpid(copies[i], &status, 0) == copies[i] && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    printf("copies that kept their own page to the end: %d of %d\n", ended_well, COPIES);
    pid_t fresh = fork_or_die();
    if (fresh == 0) {
        execl("/proc/self/exe", "execshare", "--fresh", (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(fresh, &status, 0);
    printf("a later exec of the file: %s\n", describe(status));
    if (memory)
        printf("free memory each running copy took: %ld KiB (its read-only table: %d KiB)\n",
               (before - after) / COPIES, TABLE_SIZE >> 10);
    return 0;
}
