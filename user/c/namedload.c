/* namedload: a sleeper and two hogs, each naming itself with prctl(PR_SET_NAME), for
 * the timeline: the sleeper blocks in nanosleep again and again while the hogs share
 * the CPU (so each waits ready while the other runs).
 *
 * Usage: namedload [SPINS [NAPS]]: each hog spins SPINS million times through a loop
 * with no system call in it (default 30: some 100 ms under QEMU's emulation; a clock
 * read per turn would fill the trace); the sleeper sleeps NAPS times 3 ms (default
 * 30). Each child checks
 * that PR_GET_NAME reads back its name (cut to 15 bytes, as Linux's comm) and exits
 * 0 if so; the parent reaps them in the order it made them and prints one line each.
 * Exit status: the number of children that failed. */
#include <sys/prctl.h>

#include "include/testlib.h"

static void name_myself(const char *name)
{
    char got[32] = { 0 };
    prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
    if (prctl(PR_GET_NAME, (unsigned long)got, 0, 0, 0) != 0 || strncmp(got, name, 15) != 0 || strlen(got) > 15)
        _exit(2);
}

static void hog(const char *name, long millions)
{
    name_myself(name);
    for (volatile long spin = 0; spin < millions * 1000000L; spin++)
        ;
    _exit(0);
}

static void sleeper(const char *name, long naps)
{
    name_myself(name);
    for (long nap = 0; nap < naps; nap++)
        sleep_ms(3);
    _exit(0);
}

int main(int argc, char **argv)
{
    long spins = argc > 1 ? atol(argv[1]) : 30;
    long naps = argc > 2 ? atol(argv[2]) : 30;
    const char *names[] = { "sleeper", "hog-one", "hog-two-with-a-long-name" };
    pid_t children[3];
    for (int i = 0; i < 3; i++) {
        children[i] = fork();
        if (children[i] < 0) {
            perror("fork");
            return 100;
        }
        if (children[i] == 0) {
            if (i == 0)
                sleeper(names[i], naps);
            hog(names[i], spins);
        }
    }
    for (int i = 0; i < 3; i++) {
        int status = 0;
        waitpid(children[i], &status, 0);
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        printf("%.15s: %s\n", names[i], ok ? "named and done" : "FAIL");
        failures += !ok;
    }
    return failures;
}
