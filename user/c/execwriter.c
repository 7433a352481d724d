/* A mapping of a file keeps the open file description it was made from, so one
 * made through a descriptor open for writing keeps the file open for writing
 * after the descriptor is closed: exec of the file is ETXTBSY until the last
 * such mapping goes (munmap, exit, exec; a fork's copy counts too). And while a
 * process runs the file, no descriptor can be opened for writing (ETXTBSY), so
 * no mapping can write it (EACCES through a read-only descriptor).
 *
 *   execwriter                the cases, on a copy of this program in /tmp
 *   execwriter --exit         a copy exec'd by the cases: exits 0
 *   execwriter --wait         a copy run by the cases: says 'y' on stdout, then
 *                             waits for stdin's end
 */

#include <stdlib.h>
#include <sys/mman.h>

#include "include/testlib.h"

#define LENGTH (4 * 4096)

static char copy_path[64];

static const char *outcome_name(int e)
{
    return e == ETXTBSY ? "ETXTBSY" : errno_name(e);
}

/* Execs the copy in a child: "exits 0", or the errno its execve failed with. */
static const char *exec_copy(void)
{
    pid_t child = fork_or_die();
    if (child == 0) {
        char *args[] = {copy_path, "--exit", NULL};
        execve(copy_path, args, (char *[]){NULL});
        _exit(100 + errno);
    }
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status))
        return "lost";
    int code = WEXITSTATUS(status);
    return code == 0 ? "exits 0" : code >= 100 ? outcome_name(code - 100) : "other exit";
}

static void line(const char *what, const char *result) { printf("%s: %s\n", what, result); }

/* Maps the copy's first LENGTH bytes through a descriptor opened with `flags`,
 * then closes the descriptor: the mapping is all that is left of it. */
static void *map_copy(int flags, int prot, int sharing)
{
    int fd = open(copy_path, flags);
    if (fd < 0)
        return MAP_FAILED;
    void *at = mmap(NULL, LENGTH, prot, sharing, fd, 0);
    close(fd);
    return at;
}

/* Runs the copy with --wait: returns the pipe whose closing ends it once it
 * said it runs, or -1. */
static int run_copy(pid_t *child)
{
    int input[2], ready[2];
    if (pipe(input) || pipe(ready))
        return -1;
    *child = fork_or_die();
    if (*child == 0) {
        dup2(input[0], 0);
        dup2(ready[1], 1);
        close(input[1]);
        char *args[] = {copy_path, "--wait", NULL};
        execve(copy_path, args, (char *[]){NULL});
        _exit(1);
    }
    close(input[0]);
    close(ready[1]);
    char byte = 0;
    read_full(ready[0], &byte, 1);
    close(ready[0]);
    return byte == 'y' ? input[1] : -1;
}

static int make_copy(void)
{
    snprintf(copy_path, sizeof copy_path, "/tmp/execwriter-%d", (int)getpid());
    int from = open("/proc/self/exe", O_RDONLY);
    int to = open(copy_path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (from < 0 || to < 0)
        return -1;
    char buffer[8192];
    ssize_t n;
    while ((n = read(from, buffer, sizeof buffer)) > 0)
        if (write_full(to, buffer, n))
            return -1;
    close(from);
    return close(to);
}

static void writable_mappings_keep_a_writer(void)
{
    int fd = open(copy_path, O_RDWR);
    line("exec with a descriptor open for writing", exec_copy());
    close(fd);
    line("exec once it is closed", exec_copy());

    void *at = map_copy(O_RDWR, PROT_READ | PROT_WRITE, MAP_SHARED);
    line("exec with a shared writable mapping", exec_copy());
    munmap(at, 4096);
    line("exec after unmapping part of it", exec_copy());
    munmap(at, LENGTH);
    line("exec after unmapping all of it", exec_copy());
    at = map_copy(O_RDWR, PROT_READ | PROT_WRITE, MAP_SHARED);
    if (at != MAP_FAILED)
        mmap(at, LENGTH, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    line("exec after an anonymous MAP_FIXED mapping replaced it", exec_copy());
    munmap(at, LENGTH);

    at = map_copy(O_RDWR, PROT_READ, MAP_SHARED);
    line("exec with a shared read-only mapping through a writable descriptor", exec_copy());
    munmap(at, LENGTH);
    at = map_copy(O_RDWR, PROT_READ, MAP_PRIVATE);
    line("exec with a private mapping through a writable descriptor", exec_copy());
    munmap(at, LENGTH);
    at = map_copy(O_RDONLY, PROT_READ, MAP_SHARED);
    line("exec with a shared mapping through a read-only descriptor", exec_copy());
    if (at != MAP_FAILED)
        line("making that mapping writable", mprotect(at, LENGTH, PROT_READ | PROT_WRITE) ? outcome_name(errno) : "0");
    munmap(at, LENGTH);
    at = map_copy(O_RDONLY, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    line("exec with a private writable mapping through a read-only descriptor", exec_copy());
    munmap(at, LENGTH);
}

static void forks_copy_counts(void)
{
    void *at = map_copy(O_RDWR, PROT_READ | PROT_WRITE, MAP_SHARED);
    int hold[2];
    if (at == MAP_FAILED || pipe(hold))
        return;
    pid_t child = fork_or_die();
    if (child == 0) {
        close(hold[1]);
        char end;
        while (read(hold[0], &end, 1) > 0)
            ;
        _exit(0);
    }
    close(hold[0]);
    munmap(at, LENGTH);
    line("exec while a forked child keeps its copy of the mapping", exec_copy());
    close(hold[1]);
    waitpid(child, NULL, 0);
    line("exec after that child exits", exec_copy());
}

static void exec_drops_the_mapping(void)
{
    void *at = map_copy(O_RDWR, PROT_READ | PROT_WRITE, MAP_SHARED);
    int input[2], ready[2];
    if (at == MAP_FAILED || pipe(input) || pipe(ready))
        return;
    pid_t child = fork_or_die();
    if (child == 0) {
        dup2(input[0], 0);
        dup2(ready[1], 1);
        close(input[1]);
        char *args[] = {"/proc/self/exe", "--wait", NULL};
        execve("/proc/self/exe", args, (char *[]){NULL});
        _exit(1);
    }
    close(input[0]);
    close(ready[1]);
    munmap(at, LENGTH);
    char byte = 0;
    read_full(ready[0], &byte, 1);
    line("exec once a child holding the mapping has exec'd another program", byte == 'y' ? exec_copy() : "lost");
    close(input[1]);
    close(ready[0]);
    waitpid(child, NULL, 0);
}

static void running_file_refuses_writers(void)
{
    pid_t child;
    int end = run_copy(&child);
    if (end < 0) {
        line("running the copy", "failed");
        return;
    }
    int fd = open(copy_path, O_RDWR);
    line("opening it for reading and writing while it runs", fd < 0 ? outcome_name(errno) : "0");
    if (fd >= 0)
        close(fd);
    fd = open(copy_path, O_WRONLY);
    line("opening it for writing while it runs", fd < 0 ? outcome_name(errno) : "0");
    if (fd >= 0)
        close(fd);
    void *at = map_copy(O_RDONLY, PROT_READ | PROT_WRITE, MAP_SHARED);
    line("a shared writable mapping while it runs", at == MAP_FAILED ? outcome_name(errno) : "0");
    if (at != MAP_FAILED)
        munmap(at, LENGTH);
    at = map_copy(O_RDONLY, PROT_READ, MAP_SHARED);
    line("a shared read-only mapping while it runs", at == MAP_FAILED ? outcome_name(errno) : "0");
    if (at != MAP_FAILED) {
        line("making it writable", mprotect(at, LENGTH, PROT_READ | PROT_WRITE) ? outcome_name(errno) : "0");
        munmap(at, LENGTH);
    }
    close(end);
    waitpid(child, NULL, 0);
    fd = open(copy_path, O_RDWR);
    line("opening it for writing once it ended", fd < 0 ? outcome_name(errno) : "0");
    if (fd >= 0)
        close(fd);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--exit") == 0)
        return 0;
    if (argc == 2 && strcmp(argv[1], "--wait") == 0) {
        write_full(1, "y", 1);
        char end;
        while (read(0, &end, 1) > 0)
            ;
        return 0;
    }
    if (make_copy()) {
        printf("no copy in /tmp: %s\n", outcome_name(errno));
        return 1;
    }
    writable_mappings_keep_a_writer();
    forks_copy_counts();
    exec_drops_the_mapping();
    running_file_refuses_writers();
    unlink(copy_path);
    printf("still running\n");
    return 0;
}
