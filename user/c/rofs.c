/* rofs: what only a read-only file system answers, and /proc/self/exe. Every way
 * of writing to the tree fails with EROFS, after the errors Linux checks first
 * (ENOENT for a missing directory, EEXIST, EISDIR, EINVAL for O_TMPFILE without
 * write access); the devices stay writable. /proc/self/exe is a link to the running
 * program: readlink names it, stat and open reach it, O_NOFOLLOW refuses it, and
 * execve through it runs the program again. On Linux with a writable file system
 * the EROFS lines differ, so the test compares this output with a fixed text.
 * Run as /bin/rofs. Exit status 0. */
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
    show("open O_WRONLY", open("/bin/rofs", O_WRONLY));
    show("open O_RDWR", open("/bin/rofs", O_RDWR));
    show("open O_RDONLY|O_TRUNC", open("/bin/rofs", O_RDONLY | O_TRUNC));
    show("open access mode 3", open("/bin/rofs", 3));
    show("open O_RDONLY|O_APPEND", open("/bin/rofs", O_RDONLY | O_APPEND) >= 0);
    show("create /tmp/new", open("/tmp/new", O_WRONLY | O_CREAT, 0644));
    show("create /tmp/new read-only", open("/tmp/new", O_RDONLY | O_CREAT, 0644));
    show("create /missing/new", open("/missing/new", O_WRONLY | O_CREAT, 0644));
    show("create existing O_EXCL", open("/bin/rofs", O_WRONLY | O_CREAT | O_EXCL, 0644));
    show("create existing", open("/bin/rofs", O_WRONLY | O_CREAT, 0644));
    show("create existing read-only", open("/bin/rofs", O_RDONLY | O_CREAT, 0644) >= 0);
    show("open /tmp O_WRONLY", open("/tmp", O_WRONLY));
    show("O_TMPFILE in /tmp", open("/tmp", O_TMPFILE | O_RDWR, 0600));
    show("O_TMPFILE read-only", open("/tmp", O_TMPFILE | O_RDONLY, 0600));
    show("O_TMPFILE on a file", open("/bin/rofs", O_TMPFILE | O_RDWR, 0600));
    show("access W_OK", access("/bin/rofs", W_OK));
    show("access W_OK on /tmp", access("/tmp", W_OK));
    show("access X_OK", access("/bin/rofs", X_OK));
    show("access W_OK on /dev/null", access("/dev/null", W_OK));
    show("open /dev/null O_WRONLY", open("/dev/null", O_WRONLY) >= 0);
    show("open /dev/tty O_RDWR", open("/dev/tty", O_RDWR) >= 0);

    char target[256] = {0};
    show("readlink /proc/self/exe", readlink("/proc/self/exe", target, sizeof target));
    printf("it names %s\n", target);
    memset(target, 0, sizeof target);
    show("readlink into 4 bytes", readlink("/proc/self/exe", target, 4));
    printf("truncated: %s\n", target);
    struct stat link, exe, program;
    lstat("/proc/self/exe", &link);
    stat("/proc/self/exe", &exe);
    stat("/bin/rofs", &program);
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
