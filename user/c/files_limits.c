/* files_limits: what a program can make the root file system keep, and where it
 * stops.
 *
 *   files_limits sparse DIR
 *       A file written far into its size (a TiB in, and just below the largest
 *       size) takes one page a write, its hole nothing; reads of the hole are
 *       zeros; truncating gives the pages back.
 *       Prints the same on Linux's tmpfs (/dev/shm) as under timeshare.
 *   files_limits names DIR
 *       Names (empty files with long names, then symlinks with 4000-byte targets)
 *       made until one fails: the kernel keeps them in its own memory, so they must
 *       stop with ENOSPC, as tmpfs out of inodes, never take the kernel down; the
 *       system still forks and pipes; removing them gives the memory back (as many
 *       names fit again). timeshare only: Linux's tmpfs would take millions.
 * Exit status 0. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

#define TIB (1LL << 40)
#define LARGEST 0x7fffffffffffffffLL

static void sparse(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/sparse", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    struct stat st;
    show("pwrite a TiB in", pwrite(fd, "far", 3, TIB));
    fstat(fd, &st);
    printf("size %lld, blocks %lld\n", (long long)st.st_size, (long long)st.st_blocks);
    char bytes[6] = {0};
    show("pread across the hole's end", pread(fd, bytes, 5, TIB - 2));
    printf("read: %d %d %.3s\n", bytes[0], bytes[1], bytes + 2);
    show("pread in the hole", pread(fd, bytes, 4, TIB / 2));
    printf("read: %d %d %d %d\n", bytes[0], bytes[1], bytes[2], bytes[3]);
    show("pwrite just below the largest size", pwrite(fd, "end", 3, LARGEST - 3));
    fstat(fd, &st);
    printf("size %#llx, blocks %lld\n", (long long)st.st_size, (long long)st.st_blocks);
    show("ftruncate below the last page", ftruncate(fd, TIB + 1));
    fstat(fd, &st);
    printf("size %lld, blocks %lld\n", (long long)st.st_size, (long long)st.st_blocks);
    show("ftruncate to 0", ftruncate(fd, 0));
    fstat(fd, &st);
    printf("size %lld, blocks %lld\n", (long long)st.st_size, (long long)st.st_blocks);
    close(fd);
    unlink(path);
}

/* Makes names in DIR/names until one fails (empty files with names of 200
 * characters; with `target`, symlinks to it); returns how many, the errno in
 * *error. */
static long make_names(const char *dir, const char *target, int *error)
{
    char path[512];
    for (long count = 0;; count++) {
        snprintf(path, sizeof path, "%s/names/%0200ld", dir, count);
        int made = target ? symlink(target, path) : open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (made < 0) {
            *error = errno;
            return count;
        }
        if (!target)
            close(made);
    }
}

static void remove_names(const char *dir, long count)
{
    char path[512];
    for (long i = 0; i < count; i++) {
        snprintf(path, sizeof path, "%s/names/%0200ld", dir, i);
        unlink(path);
    }
}

/* A child that writes through a pipe: the system still makes processes and
 * buffers. */
static void still_works(void)
{
    int ends[2];
    if (pipe(ends) != 0) {
        printf("pipe: %s\n", errno_name(errno));
        return;
    }
    pid_t child = fork();
    if (child < 0) {
        printf("fork: %s\n", errno_name(errno));
        close(ends[0]);
        close(ends[1]);
        return;
    }
    if (child == 0) {
        _exit(write(ends[1], "ok", 2) == 2 ? 0 : 1);
    }
    char bytes[3] = {0};
    read(ends[0], bytes, 2);
    int status = 0;
    waitpid(child, &status, 0);
    printf("a child through a pipe: %s, %s\n", bytes, describe(status));
    close(ends[0]);
    close(ends[1]);
}

static void names(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/names", dir);
    mkdir(path, 0755);
    int error = 0;
    long files = make_names(dir, NULL, &error);
    printf("files stopped with %s after more than 1000: %s\n", errno_name(error), yes(files > 1000));
    still_works();
    remove_names(dir, files);
    long again = make_names(dir, NULL, &error);
    printf("after removing them, as many again: %s\n", yes(again >= files - files / 50));
    remove_names(dir, again);

    static char target[4001];
    memset(target, 't', sizeof target - 1);
    long links = make_names(dir, target, &error);
    printf("symlinks stopped with %s after more than 100: %s\n", errno_name(error), yes(links > 100));
    still_works();
    remove_names(dir, links);
    show("rmdir names", rmdir(path));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && strcmp(argv[1], "sparse") == 0)
        sparse(argv[2]);
    else if (argc == 3 && strcmp(argv[1], "names") == 0)
        names(argv[2]);
    else {
        fprintf(stderr, "usage: files_limits sparse|names DIR\n");
        return 2;
    }
    return 0;
}
