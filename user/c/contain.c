/* contain: a misbehaving program ends only itself. For every case of the offend
 * program (privileged instructions, kernel and wild pointers, ud2, divide by zero,
 * int3) this forks and execs `OFFEND CASE`, and reports the signal that ended it;
 * meanwhile a bystander child sleeps through all of it and must still be alive at
 * the end (it then exits 0 when told to), and finally this process itself prints
 * "still running". Output is the same on every run.
 *   contain OFFEND   OFFEND: the path of the offend program (e.g. /bin/offend).
 * Exit status: the number of cases that did not end with the expected signal. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

static const struct {
    const char *name;
    int signal;
} cases[] = {
    { "cli", SIGSEGV },   { "hlt", SIGSEGV },    { "in", SIGSEGV },    { "out", SIGSEGV },
    { "cr3", SIGSEGV },   { "wrmsr", SIGSEGV },  { "lgdt", SIGSEGV },  { "kread", SIGSEGV },
    { "kwrite", SIGSEGV }, { "kjump", SIGSEGV }, { "null", SIGSEGV },  { "noncanon", SIGSEGV },
    { "ud2", SIGILL },    { "div0", SIGFPE },    { "int3", SIGTRAP },
};

/* The signals named in the output (any other: "?"). */
static const int named[] = { SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGKILL, 0 };

int main(int argc, char **argv)
{
    int go[2];
    char c;

    if (argc != 2) {
        fprintf(stderr, "usage: contain OFFEND\n");
        return 2;
    }
    no_core_files();

    /* The bystander: blocked reading `go` until the end. */
    if (pipe(go) != 0)
        return 100;
    fflush(stdout);
    pid_t bystander = fork();
    if (bystander < 0)
        return 100;
    if (bystander == 0) {
        close(go[1]);
        _exit(read(go[0], &c, 1) == 1 && c == 'x' ? 0 : 1);
    }
    close(go[0]);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status;
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            return 100;
        if (pid == 0) {
            char *args[] = { "offend", (char *)cases[i].name, NULL };
            char *env[] = { "PATH=/bin", NULL };
            close(go[1]);
            execve(argv[1], args, env);
            fprintf(stderr, "contain: execve %s: %s\n", argv[1], strerror(errno));
            _exit(127);
        }
        if (waitpid(pid, &status, 0) != pid) {
            printf("%-8s wait failed\n", cases[i].name);
            failures++;
        } else if (WIFSIGNALED(status)) {
            int s = WTERMSIG(status);
            printf("%-8s killed by signal %d (%s)\n", cases[i].name, s, signal_name_in(s, named, "?"));
            failures += s != cases[i].signal;
        } else {
            printf("%-8s exited %d\n", cases[i].name, WEXITSTATUS(status));
            failures++;
        }
    }

    /* The bystander must still be waiting (not ended by any of the above). */
    int status;
    pid_t done = waitpid(bystander, &status, WNOHANG);
    printf("bystander still alive: %s\n", done == 0 ? "yes" : "no");
    failures += done != 0;
    write(go[1], "x", 1);
    if (done == 0 && waitpid(bystander, &status, 0) == bystander && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        printf("bystander exited 0\n");
    else
        failures++;
    printf("still running\n");
    return failures;
}
