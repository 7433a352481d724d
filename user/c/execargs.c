/* execargs: execve with Linux semantics.
 *   execargs [FILE...]   the checks below; each FILE is a file that is not a program
 *                        (text, empty, an ELF for another machine...): execve of it
 *                        must fail with ENOEXEC (it must exist and be executable),
 *                        and FILE/x with ENOTDIR.
 *   execargs --empty-argv  only execve of this program with argv {NULL} and NULL.
 *   execargs --child ... what the re-executed image runs: prints its argc, argv and
 *                        the variable X of its environment, then exits 0.
 *   execargs --fds W C   the re-executed image: writes "kept" to fd W (inherited
 *                        across execve) and reports whether fd C (opened O_CLOEXEC
 *                        before the execve) is closed.
 * The program re-executes itself through argv[0] (timeshare starts it as /bin/execargs)
 * or, where that path does not exist (a Linux host), /proc/self/exe: so the execve
 * checks below that need an existing program (a bad argv or envp) see one on both. Only basenames
 * are printed, so the output is the same on both. Exit status: number of failures. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

extern char **environ;

static const char *self;

static void wait_expect(pid_t pid, const char *what, int want_exit)
{
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        printf("FAIL %s: wait: %s\n", what, strerror(errno));
        failures++;
        return;
    }
    printf("%s: %s\n", what, describe(status));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != want_exit)
        failures++;
}

/* execve (the raw system call, so that libc checks nothing first) in a child, which
 * must fail with `want`; the child exits with the errno it got. */
static void exec_fails(const char *what, const char *path, char *const argv[], char *const envp[], int want)
{
    int status;
    pid_t pid = fork_or_die();
    if (pid == 0) {
        syscall(SYS_execve, path, argv, envp);
        _exit(errno);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        printf("FAIL execve %s: wait status 0x%x\n", what, status);
        failures++;
        return;
    }
    printf("execve %s: %s\n", what, errno_name(WEXITSTATUS(status)));
    if (WEXITSTATUS(status) != want)
        failures++;
}

/* execve of this program (`self`). Returns on failure. */
static void exec_self(char *const argv[], char *const envp[])
{
    syscall(SYS_execve, self, argv, envp);
}

/* The path of this program: argv[0] if execve can run it (timeshare starts it as
 * /bin/execargs), else (a Linux host, where no file has that name) /proc/self/exe. */
static const char *find_self(const char *argv0)
{
    int status;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = { "execargs", "--probe", NULL };
        char *env[] = { NULL };
        syscall(SYS_execve, argv0, args, env);
        _exit(1);
    }
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return argv0;
    return "/proc/self/exe";
}

/* Run the re-executed image in a child with `argv` and `envp`; it prints. */
static void run_child(const char *what, char *const argv[], char *const envp[])
{
    pid_t pid = fork_or_die();
    if (pid == 0) {
        exec_self(argv, envp);
        printf("FAIL execve %s: %s\n", self, strerror(errno));
        fflush(stdout);
        _exit(127);
    }
    wait_expect(pid, what, 0);
}

static int child_main(int argc, char **argv)
{
    const char *x = getenv("X");
    printf("  argc = %d\n", argc);
    for (int i = 0; i < argc && i < 8; i++) {
        size_t n = strlen(argv[i]);
        if (n > 40)
            printf("  argv[%d] = %zu bytes of '%c'\n", i, n, argv[i][0]);
        else
            printf("  argv[%d] = [%s]\n", i, argv[i]);
    }
    if (argc > 8)
        printf("  ... argv[%d] = [%s]\n", argc - 1, argv[argc - 1]);
    printf("  argv[argc] is %s\n", argv[argc] ? "not NULL" : "NULL");
    printf("  X = %s\n", x ? x : "(unset)");
    return 0;
}

static int fds_main(char **argv)
{
    int keep = atoi(argv[2]), cloexec = atoi(argv[3]);
    ssize_t w = write(keep, "kept", 4);
    errno = 0;
    ssize_t c = write(cloexec, "x", 1);
    const char *closed = c == -1 && errno == EBADF ? "closed" : "OPEN";
    write(keep, closed, strlen(closed));
    return w == 4 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (getenv("EXECARGS_EMPTY")) {
        /* Started with an empty argv: Linux (since 5.18) passes argc 1, argv[0] "". */
        printf("  argc = %d, argv[0] = %s\n", argc, argc ? argv[0] : "(none)");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--child") == 0)
        return child_main(argc, argv);
    if (argc == 4 && strcmp(argv[1], "--fds") == 0)
        return fds_main(argv);

    if (argc == 2 && strcmp(argv[1], "--probe") == 0)
        return 0;
    self = find_self(argv[0]);

    if (argc == 2 && strcmp(argv[1], "--empty-argv") == 0) {
        /* An empty argv, and a NULL one: Linux (since 5.18) starts the program with
         * argc 1 and argv[0] "" in both cases. */
        char *args[] = { NULL };
        char *env[] = { "EXECARGS_EMPTY=1", NULL };
        printf("execve with an empty argv:\n");
        run_child("child", args, env);
        printf("execve with a NULL argv:\n");
        run_child("child", NULL, env);
        return failures;
    }

    /* 1. argv and envp reach the new image. */
    {
        char *args[] = { "execargs", "--child", "alpha", "b c", "", "-x", NULL };
        char *env[] = { "X=from envp", "PATH=/bin", NULL };
        printf("execve with 6 arguments:\n");
        run_child("child", args, env);
    }
    {
        static char big[100000];
        memset(big, 'z', sizeof big - 1);
        char *args[] = { "execargs", "--child", big, NULL };
        char *env[] = { NULL };
        printf("execve with a 99999-byte argument, empty environment:\n");
        run_child("child", args, env);
    }
    {
        static char *args[1003];
        static char names[1000][8];
        args[0] = "execargs";
        args[1] = "--child";
        for (int i = 0; i < 1000; i++) {
            snprintf(names[i], sizeof names[i], "a%d", i);
            args[2 + i] = names[i];
        }
        args[1002] = NULL;
        char *env[] = { "X=1", NULL };
        printf("execve with 1002 arguments:\n");
        run_child("child", args, env);
    }

    /* 2. The fd table is kept across execve, except O_CLOEXEC descriptors. */
    {
        int keep[2], cloexec[2];
        char w[16], c[16], buffer[32] = { 0 };
        if (pipe(keep) != 0 || pipe2(cloexec, O_CLOEXEC) != 0) {
            printf("FAIL pipe\n");
            failures++;
        }
        snprintf(w, sizeof w, "%d", keep[1]);
        snprintf(c, sizeof c, "%d", cloexec[1]);
        pid_t pid = fork_or_die();
        if (pid == 0) {
            char *args[] = { "execargs", "--fds", w, c, NULL };
            close(keep[0]);
            close(cloexec[0]);
            exec_self(args, environ);
            _exit(127);
        }
        close(keep[1]);
        close(cloexec[1]);
        size_t got = 0;
        ssize_t r;
        while ((r = read(keep[0], buffer + got, sizeof buffer - 1 - got)) > 0)
            got += (size_t)r;
        printf("across execve, the inherited fd says \"%s\"\n", buffer);
        if (strcmp(buffer, "keptclosed") != 0)
            failures++;
        wait_expect(pid, "fd child", 0);
        close(keep[0]);
        close(cloexec[0]);
    }

    /* 3. Failures, each leaving the caller in its own image. */
    {
        char *args[] = { "x", NULL };
        char *env[] = { NULL };
        char long_path[5000];
        memset(long_path, 'a', sizeof long_path - 1);
        long_path[0] = '/';
        long_path[sizeof long_path - 1] = 0;
        exec_fails("of a missing file", "/bin/no-such-program", args, env, ENOENT);
        exec_fails("in a missing directory", "/no/such/dir/program", args, env, ENOENT);
        exec_fails("of \"\"", "", args, env, ENOENT);
        exec_fails("of a directory", "/bin", args, env, EACCES);
        exec_fails("of a NULL path", NULL, args, env, EFAULT);
        exec_fails("of a kernel-address path", (const char *)0xffffffff80000000UL, args, env, EFAULT);
        exec_fails("with a kernel-address argv", self, (char *const *)0xffffffff80000000UL, env, EFAULT);
        char *bad_args[] = { "x", (char *)8, NULL };
        exec_fails("with an unmapped argv[1]", self, bad_args, env, EFAULT);
        exec_fails("with a kernel-address envp", self, args, (char *const *)0xffffffff80000000UL, EFAULT);
        exec_fails("of a 4999-byte path", long_path, args, env, ENAMETOOLONG);
        if (argc > 1) {
            char through[4200];
            snprintf(through, sizeof through, "%s/x", argv[1]);
            exec_fails("of a path through a file", through, args, env, ENOTDIR);
        }
        for (int i = 1; i < argc; i++) {
            const char *base = strrchr(argv[i], '/');
            char what[128];
            snprintf(what, sizeof what, "of %s", base ? base + 1 : argv[i]);
            exec_fails(what, argv[i], args, env, ENOEXEC);
        }
    }

    printf("%s\n", failures ? "FAIL" : "done");
    return failures;
}
