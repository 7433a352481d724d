/* argmax: execve's limits on arguments, as Linux has them with the default 8 MiB stack
 * limit: 2 MiB for the strings (NULs included, the program's path too) and their
 * 8-byte pointers (argv's, at least one, and envp's), 128 KiB per string with its NUL.
 *   argmax           re-executes itself with argument lists at and just past each
 *                    limit and prints what execve said (or what the new image saw)
 *   argmax --child   what the re-executed image runs: prints its argc and the total
 *                    length of its arguments, then exits 0
 * The program re-executes itself through argv[0] (timeshare starts it as /bin/argmax)
 * or, where that path does not exist (a Linux host), /proc/self/exe; the path's own
 * length is charged, so each side fills exactly its own space. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

extern char **environ;

#define ARG_SPACE (2L << 20)
#define MAX_ARG_STRLEN (32L * 4096)

static const char *self;

/* The bytes `environ` and the path cost: strings with NULs and envp's pointers. */
static long fixed_cost(void)
{
    long cost = (long)strlen(self) + 1;
    for (char **e = environ; *e; e++)
        cost += (long)strlen(*e) + 1 + 8;
    return cost;
}

/* Re-executes this program with `argv` in a child: the child's line says what
 * happened (the new image's, or execve's error). */
static void attempt(const char *what, char **argv)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execve(self, argv, environ);
        printf("%s: execve: %s\n", what, errno == E2BIG ? "E2BIG" : strerror(errno));
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("FAIL %s: the child ended with status %#x\n", what, status);
        failures++;
    }
}

/* Every argv below is built in these (static: the program allocates nothing). */
static char pool[ARG_SPACE];
static char *vector[ARG_SPACE / 8 + 3];

/* An argv of `count` strings after argv[0] and "--child" whose bytes (NULs and
 * pointers included) total `bytes` with the fixed cost, spread evenly. */
static char **filled(long count, long bytes)
{
    long room = bytes - fixed_cost() - 8 * (count + 2) - (long)(strlen(self) + 1) - (long)sizeof "--child";
    char *next = pool;
    vector[0] = (char *)self;
    vector[1] = "--child";
    for (long i = 0; i < count; i++) {
        long length = room / count + (i < room % count ? 1 : 0) - 1;
        vector[i + 2] = next;
        memset(next, 'a' + i % 26, length);
        next[length] = 0;
        next += length + 1;
    }
    vector[count + 2] = NULL;
    return vector;
}

static void one_string(const char *what, long length)
{
    memset(pool, 's', length);
    pool[length] = 0;
    char *argv[] = { (char *)self, "--child", pool, NULL };
    attempt(what, argv);
}

int main(int argc, char **argv)
{
    self = access(argv[0], X_OK) == 0 ? argv[0] : "/proc/self/exe";
    if (argc >= 2 && strcmp(argv[1], "--child") == 0) {
        /* What execve charged: the same on both sides when the space is full. */
        long total = fixed_cost(), longest = 0;
        for (int i = 0; i < argc; i++) {
            long length = (long)strlen(argv[i]);
            total += length + 1 + 8;
            longest = length > longest ? length : longest;
        }
        if (total == ARG_SPACE)
            printf("child: argc %d, 2 MiB exactly\n", argc);
        else
            printf("child: argc %d, the longest string %ld bytes\n", argc, longest);
        return 0;
    }

    attempt("100 strings filling 2 MiB exactly", filled(100, ARG_SPACE));
    attempt("100 strings, 1 byte past 2 MiB", filled(100, ARG_SPACE + 1));
    attempt("20000 strings filling 2 MiB exactly", filled(20000, ARG_SPACE));
    attempt("200000 strings filling 2 MiB exactly", filled(200000, ARG_SPACE));
    one_string("one string of 128 KiB with its NUL", MAX_ARG_STRLEN - 1);
    one_string("one string of 128 KiB + 1 with its NUL", MAX_ARG_STRLEN);

    /* More pointers than the space can hold: refused before any string is copied. */
    long many = ARG_SPACE / 8 + 1;
    for (long i = 0; i < many; i++)
        vector[i] = "";
    vector[many] = NULL;
    attempt("262145 empty strings", vector);
    return failures;
}
