/* files_rootfs: what only timeshare's root file system answers, where a Linux
 * host's file system or terminal would differ: it is a tmpfs-like RAM file system
 * (statfs's f_type), O_TMPFILE and fallocate are EOPNOTSUPP, /dev/tty is ENXIO
 * when the console is not a terminal (no controlling terminal), new files carry
 * the wall clock's time, and /proc/mounts names the root and /proc. Exit status
 * 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct statfs fs;
    show("statfs /", statfs("/", &fs));
    printf("f_type %#lx, f_bsize %ld\n", (unsigned long)fs.f_type, (long)fs.f_bsize);
    show("O_TMPFILE in /tmp", open("/tmp", O_TMPFILE | O_RDWR, 0600));
    int fd = open("/tmp/f", O_RDWR | O_CREAT, 0644);
    show("fallocate", fallocate(fd, 0, 0, 4096));
    show("open /dev/tty", open("/dev/tty", O_RDWR));
    struct stat st;
    fstat(fd, &st);
    time_t now = time(NULL);
    printf("a new file's times are the wall clock's: %s\n",
           yes(now > 1600000000 && st.st_mtime <= now && st.st_mtime >= now - 5 && st.st_ctime == st.st_mtime));
    char mounts[128] = {0};
    int proc = open("/proc/mounts", O_RDONLY);
    read(proc, mounts, sizeof mounts - 1);
    printf("/proc/mounts: %s", mounts);
    return 0;
}
