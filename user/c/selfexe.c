/* selfexe: /proc/self/exe, a link to the running program: readlink names it,
 * stat and open reach it, O_NOFOLLOW refuses it, and execve through it runs the
 * program again, also after the program file is renamed (the link follows the
 * file, not the name). Run as /bin/selfexe: the host has no such path, so the test
 * compares this output with a fixed text. Exit status 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "again") == 0) {
        printf("run again through /proc/self/exe as %s\n", argv[0]);
        return 7;
    }
    char target[256] = {0};
    show("readlink /proc/self/exe", readlink("/proc/self/exe", target, sizeof target));
    printf("it names %s\n", target);
    memset(target, 0, sizeof target);
    show("readlink into 4 bytes", readlink("/proc/self/exe", target, 4));
    printf("truncated: %s\n", target);
    struct stat link, exe, program;
    lstat("/proc/self/exe", &link);
    stat("/proc/self/exe", &exe);
    stat("/bin/selfexe", &program);
    printf("lstat: a link: %s; stat: the program: %s\n", S_ISLNK(link.st_mode) ? "yes" : "no",
           exe.st_ino == program.st_ino && S_ISREG(exe.st_mode) ? "yes" : "no");
    show("open /proc/self/exe", open("/proc/self/exe", O_RDONLY) >= 0);
    show("open /proc/self/exe O_NOFOLLOW", open("/proc/self/exe", O_RDONLY | O_NOFOLLOW));
    int path = open("/proc/self/exe", O_PATH | O_NOFOLLOW);
    show("open /proc/self/exe O_PATH|O_NOFOLLOW", path >= 0);
    fstat(path, &link);
    printf("fstat of it: a link: %s\n", S_ISLNK(link.st_mode) ? "yes" : "no");
    show("access /proc/self/exe X_OK", access("/proc/self/exe", X_OK));
    show("access /proc/self/exe W_OK AT_SYMLINK_NOFOLLOW", faccessat(AT_FDCWD, "/proc/self/exe", W_OK, AT_SYMLINK_NOFOLLOW));
    show("rename the program", rename("/bin/selfexe", "/bin/moved"));
    memset(target, 0, sizeof target);
    readlink("/proc/self/exe", target, sizeof target);
    printf("now it names %s\n", target);
    show("stat /proc/self/fd/0", stat("/proc/self/fd/0", &link));
    show("stat /proc/self/exe/", stat("/proc/self/exe/", &link));

    pid_t child = fork();
    if (child == 0) {
        char *arguments[] = {"renamed", "again", NULL};
        execv("/proc/self/exe", arguments);
        _exit(127);
    }
    int status;
    waitpid(child, &status, 0);
    printf("exec of /proc/self/exe: exit %d\n", WEXITSTATUS(status));
    return 0;
}
