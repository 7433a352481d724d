/* fsread DIR: reading files and listing directories, as Linux does it. DIR holds
 * a.txt ("hello\nworld\n"), big.bin (100000 bytes, byte i = i % 251), sub/b.txt
 * ("bee\n") and sub/deeper/c.txt ("sea\n"); the test builds the same tree on the
 * host and, with --add, in the guest, at the same absolute path. Covers open,
 * openat (directory fds, O_PATH), read, readv, pread, lseek, dup and fork sharing
 * the position, fstat/stat/lstat/fstatat, getdents64 (small buffers, rewinding),
 * readdir, getcwd/chdir/fchdir, access, /dev/null and /dev/zero, and the errors
 * ENOENT, ENOTDIR, EISDIR, EEXIST, ENAMETOOLONG, EBADF, EINVAL, ESPIPE, ERANGE.
 * Output is the same on every run and every system (no inode or device numbers,
 * no times, directory listings sorted); nothing that depends on the file system
 * being writable. Exit status: 0. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

static const char *dir;

/* DIR/name, in a static buffer (one at a time). */
static const char *in_dir(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void reading(void)
{
    char buffer[64];
    int fd = open(in_dir("a.txt"), O_RDONLY);
    show("open a.txt", fd >= 0);
    long n = read(fd, buffer, 5);
    printf("read 5: %ld \"%.*s\"\n", n, (int)n, buffer);
    n = read(fd, buffer, sizeof buffer);
    printf("read rest: %ld \"%.*s\"\n", n, (int)(n > 0 ? n - 1 : 0), buffer);
    show("read at end", read(fd, buffer, sizeof buffer));
    show("lseek SEEK_SET 6", lseek(fd, 6, SEEK_SET));
    n = read(fd, buffer, 5);
    printf("read after seek: \"%.*s\"\n", (int)n, buffer);
    show("lseek SEEK_CUR -3", lseek(fd, -3, SEEK_CUR));
    show("lseek SEEK_END -1", lseek(fd, -1, SEEK_END));
    show("lseek SEEK_END +100", lseek(fd, 100, SEEK_END));
    show("read past the end", read(fd, buffer, sizeof buffer));
    show("lseek to -1", lseek(fd, -1, SEEK_SET));
    show("lseek whence 7", lseek(fd, 0, 7));
    show("lseek SEEK_DATA 3", lseek(fd, 3, SEEK_DATA));
    show("lseek SEEK_HOLE 3", lseek(fd, 3, SEEK_HOLE));
    show("lseek SEEK_DATA 12", lseek(fd, 12, SEEK_DATA));
    show("pread 5 at 6", pread(fd, buffer, 5, 6));
    printf("pread got \"%.5s\"\n", buffer);
    show("position after pread", lseek(fd, 0, SEEK_CUR));
    show("pread at -1", pread(fd, buffer, 5, -1));
    show("pread past the end", pread(fd, buffer, 5, 1000));
    show("write to a read-only fd", write(fd, "x", 1));

    /* readv fills its buffers in order. */
    char first[3], second[20];
    struct iovec iov[2] = {{first, sizeof first}, {second, sizeof second}};
    lseek(fd, 0, SEEK_SET);
    n = readv(fd, iov, 2);
    printf("readv: %ld \"%.3s\" \"%.*s\"\n", n, first, (int)(n - 4), second);

    /* dup and fork share the open file description, so the position. */
    lseek(fd, 0, SEEK_SET);
    int copy = dup(fd);
    read(copy, buffer, 4);
    show("position seen through the original after reading the dup", lseek(fd, 0, SEEK_CUR));
    pid_t child = fork();
    if (child == 0) {
        read(fd, buffer, 2);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    show("position after the child read 2", lseek(copy, 0, SEEK_CUR));
    close(copy);
    close(fd);

    /* A big file, read whole at once and in odd pieces. */
    fd = open(in_dir("big.bin"), O_RDONLY);
    static unsigned char big[200000];
    n = read(fd, big, sizeof big);
    int good = n == 100000;
    for (long i = 0; good && i < n; i++)
        good = big[i] == i % 251;
    printf("big.bin in one read: %ld bytes, %s\n", n, good ? "right" : "WRONG");
    lseek(fd, 0, SEEK_SET);
    long total = 0, piece;
    good = 1;
    while ((piece = read(fd, big, 4099)) > 0) {
        for (long i = 0; good && i < piece; i++)
            good = big[i] == (total + i) % 251;
        total += piece;
    }
    printf("big.bin in 4099-byte reads: %ld bytes, %s\n", total, good ? "right" : "WRONG");
    close(fd);
}

static void print_stat(const char *what, const struct stat *st)
{
    const char *type = S_ISREG(st->st_mode) ? "file" : S_ISDIR(st->st_mode) ? "dir" : S_ISCHR(st->st_mode) ? "chr"
                       : S_ISLNK(st->st_mode) ? "link" : S_ISFIFO(st->st_mode) ? "fifo" : "other";
    printf("%s: %s mode %04o", what, type, (unsigned)(st->st_mode & 07777));
    if (S_ISREG(st->st_mode))
        printf(" size %lld links %ld blksize %ld", (long long)st->st_size, (long)st->st_nlink, (long)st->st_blksize);
    printf("\n");
}

static void stats(void)
{
    struct stat st, other;
    show("stat a.txt", stat(in_dir("a.txt"), &st));
    print_stat("a.txt", &st);
    show("stat big.bin", stat(in_dir("big.bin"), &st));
    print_stat("big.bin", &st);
    show("lstat sub", lstat(in_dir("sub"), &st));
    print_stat("sub", &st);
    int fd = open(in_dir("sub/b.txt"), O_RDONLY);
    show("fstat sub/b.txt", fstat(fd, &st));
    print_stat("sub/b.txt", &st);
    stat(in_dir("sub/b.txt"), &other);
    printf("fstat and stat agree on the inode: %s\n", st.st_ino == other.st_ino && st.st_dev == other.st_dev ? "yes" : "no");
    close(fd);
    int dfd = open(in_dir("sub"), O_RDONLY | O_DIRECTORY);
    show("fstatat(sub, deeper/c.txt)", fstatat(dfd, "deeper/c.txt", &st, 0));
    print_stat("deeper/c.txt", &st);
    show("fstatat(sub, \"\", AT_EMPTY_PATH)", fstatat(dfd, "", &st, AT_EMPTY_PATH));
    print_stat("sub via AT_EMPTY_PATH", &st);
    show("fstatat(sub, \"\", 0)", fstatat(dfd, "", &st, 0));
    show("fstatat bad flags", fstatat(dfd, "deeper", &st, 0x4));
    show("fstatat(file fd, name)", fstatat(open(in_dir("a.txt"), O_RDONLY), "x", &st, 0));
    show("fstatat(99, relative)", fstatat(99, "x", &st, 0));
    show("fstatat(99, absolute)", fstatat(99, in_dir("a.txt"), &st, 0));
    close(dfd);
    show("stat missing", stat(in_dir("missing"), &st));
    show("stat a.txt/x", stat(in_dir("a.txt/x"), &st));
    show("stat a.txt/", stat(in_dir("a.txt/"), &st));
    show("stat sub/", stat(in_dir("sub/"), &st));
    show("stat sub/./deeper/../b.txt", stat(in_dir("sub/./deeper/../b.txt"), &st));
    show("stat \"\"", stat("", &st));
    int p[2];
    pipe(p);
    fstat(p[0], &st);
    print_stat("pipe", &st);
    close(p[0]);
    close(p[1]);
    stat("/dev/null", &st);
    print_stat("/dev/null", &st);
    printf("/dev/null is 1:3: %s\n", st.st_rdev == makedev(1, 3) ? "yes" : "no");
}

static int compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists `path` with getdents64 using a buffer of `size` bytes; prints the names,
 * sorted, with their types. */
static void list(const char *path, size_t size)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    char buffer[4096];
    char *names[64];
    int count = 0, calls = 0;
    long n;
    while ((n = syscall(SYS_getdents64, fd, buffer, size)) > 0) {
        calls++;
        for (long offset = 0; offset < n;) {
            struct dirent64 *entry = (struct dirent64 *)(buffer + offset);
            char *name = malloc(300);
            snprintf(name, 300, "%s(%s)", entry->d_name,
                     entry->d_type == DT_DIR ? "dir" : entry->d_type == DT_REG ? "file" : "other");
            if (count < 64)
                names[count++] = name;
            offset += entry->d_reclen;
        }
    }
    if (n < 0)
        printf("getdents64 failed: %s\n", errno_name(errno));
    qsort(names, count, sizeof names[0], compare);
    printf("%s with %zu-byte buffer:", path == dir ? "DIR" : path + strlen(dir) + 1, size);
    for (int i = 0; i < count; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("%s\n", size < 100 && calls < 2 ? " (one call only?)" : "");
    close(fd);
}

static void listing(void)
{
    list(dir, sizeof(char[4096]));
    list(dir, 48);
    list(in_dir("sub"), 4096);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    char buffer[4096];
    /* At the start: ext4 answers differently at the end of a directory. */
    show("read on a directory", read(fd, buffer, 10));
    show("getdents64 bad buffer", syscall(SYS_getdents64, fd, (void *)0xffffffff80000000UL, 100));
    show("getdents64 with 10 bytes", syscall(SYS_getdents64, fd, buffer, 10));
    long first = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
    long again = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
    show("getdents64 at the end", again);
    show("lseek dir to 0", lseek(fd, 0, SEEK_SET));
    printf("listed the same again: %s\n", syscall(SYS_getdents64, fd, buffer, sizeof buffer) == first ? "yes" : "no");
    close(fd);
    fd = open(in_dir("a.txt"), O_RDONLY);
    show("getdents64 on a file", syscall(SYS_getdents64, fd, buffer, sizeof buffer));
    close(fd);

    /* readdir, recursively: every path under DIR, sorted. */
    char *paths[64];
    int count = 0;
    const char *stack[16] = {""};
    int depth = 1;
    while (depth > 0) {
        char *relative = (char *)stack[--depth];
        char full[4096];
        snprintf(full, sizeof full, "%s%s%s", dir, *relative ? "/" : "", relative);
        DIR *d = opendir(full);
        struct dirent *entry;
        while (d && (entry = readdir(d))) {
            if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
                continue;
            char *path = malloc(4096);
            snprintf(path, 4096, "%s%s%s", relative, *relative ? "/" : "", entry->d_name);
            if (count < 64)
                paths[count++] = path;
            if (entry->d_type == DT_DIR && depth < 16)
                stack[depth++] = path;
        }
        if (d)
            closedir(d);
    }
    qsort(paths, count, sizeof paths[0], compare);
    printf("tree:");
    for (int i = 0; i < count; i++)
        printf(" %s", paths[i]);
    printf("\n");
}

static void opening(void)
{
    char long_name[300], long_path[5000];
    memset(long_name, 'n', 256);
    long_name[256] = 0;
    show("open missing", open(in_dir("missing"), O_RDONLY));
    show("open missing/x", open(in_dir("missing/x"), O_RDONLY));
    show("open a.txt/x", open(in_dir("a.txt/x"), O_RDONLY));
    show("open a.txt/", open(in_dir("a.txt/"), O_RDONLY));
    show("open a.txt O_DIRECTORY", open(in_dir("a.txt"), O_RDONLY | O_DIRECTORY));
    show("open sub O_WRONLY", open(in_dir("sub"), O_WRONLY));
    show("open sub O_RDWR", open(in_dir("sub"), O_RDWR));
    show("open sub O_CREAT", open(in_dir("sub"), O_RDONLY | O_CREAT, 0644));
    show("open sub/ O_CREAT", open(in_dir("sub/"), O_RDONLY | O_CREAT, 0644));
    show("open sub O_RDONLY|O_TRUNC", open(in_dir("sub"), O_RDONLY | O_TRUNC));
    show("open a.txt O_CREAT|O_EXCL", open(in_dir("a.txt"), O_RDONLY | O_CREAT | O_EXCL, 0644));
    show("open sub O_CREAT|O_EXCL", open(in_dir("sub"), O_RDONLY | O_CREAT | O_EXCL, 0644));
    show("open missing/x O_CREAT", open(in_dir("missing/x"), O_WRONLY | O_CREAT, 0644));
    show("open a.txt/x O_CREAT", open(in_dir("a.txt/x"), O_WRONLY | O_CREAT, 0644));
    show("open a 256-byte name", open(in_dir(long_name), O_RDONLY));
    long_name[255] = 0;
    show("open a 255-byte name", open(in_dir(long_name), O_RDONLY));
    memset(long_path, '/', 4096);
    long_path[4096] = 0;
    show("open a 4096-byte path", open(long_path, O_RDONLY));
    long_path[4095] = 0;
    show("open a 4095-byte path", open(long_path, O_RDONLY) >= 0);
    show("open \"\"", open("", O_RDONLY));
    show("open NULL", open(NULL, O_RDONLY));
    show("open sub O_DIRECTORY", open(in_dir("sub"), O_RDONLY | O_DIRECTORY) >= 0);
    show("open sub/ O_RDONLY", open(in_dir("sub/"), O_RDONLY) >= 0);

    int sub = open(in_dir("sub"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd = openat(sub, "b.txt", O_RDONLY);
    char buffer[16] = {0};
    read(fd, buffer, sizeof buffer - 1);
    printf("openat(sub, b.txt) read \"%.3s\"\n", buffer);
    close(fd);
    show("openat(sub, ../a.txt)", openat(sub, "../a.txt", O_RDONLY) >= 0);
    show("openat(file fd, x)", openat(open(in_dir("a.txt"), O_RDONLY), "x", O_RDONLY));
    show("openat(-5, relative)", openat(-5, "x", O_RDONLY));
    show("openat(-5, absolute)", openat(-5, in_dir("a.txt"), O_RDONLY) >= 0);
    show("F_GETFL of a directory opened O_DIRECTORY|O_CLOEXEC", fcntl(sub, F_GETFL));
    show("F_GETFD of it", fcntl(sub, F_GETFD));
    close(sub);

    /* O_PATH: names the file, reads nothing; good for fstat, fchdir and *at. */
    int path = open(in_dir("sub"), O_PATH | O_DIRECTORY);
    struct stat st;
    show("O_PATH open", path >= 0);
    show("F_GETFL of O_PATH", fcntl(path, F_GETFL));
    show("fstat O_PATH", fstat(path, &st));
    print_stat("O_PATH sub", &st);
    show("read O_PATH", read(path, buffer, 1));
    show("getdents64 O_PATH", syscall(SYS_getdents64, path, buffer, sizeof buffer));
    show("lseek O_PATH", lseek(path, 0, SEEK_SET));
    show("F_SETFL on O_PATH", fcntl(path, F_SETFL, O_NONBLOCK));
    show("dup O_PATH", dup(path) >= 0);
    fd = openat(path, "deeper/c.txt", O_RDONLY);
    memset(buffer, 0, sizeof buffer);
    read(fd, buffer, sizeof buffer - 1);
    printf("openat(O_PATH sub, deeper/c.txt) read \"%.3s\"\n", buffer);
    close(fd);
    int file_path = open(in_dir("a.txt"), O_PATH);
    show("O_PATH of a file, F_GETFL", fcntl(file_path, F_GETFL));
    show("read it", read(file_path, buffer, 1));
    show("F_GETFL of a regular file", fcntl(open(in_dir("a.txt"), O_RDONLY | O_NONBLOCK | O_NOCTTY), F_GETFL));

    /* The devices. */
    int null = open("/dev/null", O_RDWR);
    show("read /dev/null", read(null, buffer, sizeof buffer));
    show("write /dev/null", write(null, "abc", 3));
    show("lseek /dev/null", lseek(null, 100, SEEK_SET));
    show("pread /dev/null", pread(null, buffer, 4, 0));
    show("F_GETFL /dev/null O_RDWR", fcntl(null, F_GETFL));
    int zero = open("/dev/zero", O_RDONLY);
    memset(buffer, 'x', sizeof buffer);
    show("read /dev/zero", read(zero, buffer, 8));
    printf("zeros: %s\n", memcmp(buffer, "\0\0\0\0\0\0\0\0xx", 10) == 0 ? "yes" : "no");
    show("write a read-only /dev/zero", write(zero, "a", 1));
    show("open /dev/null O_WRONLY|O_TRUNC", open("/dev/null", O_WRONLY | O_TRUNC) >= 0);
    int p[2];
    pipe(p);
    show("lseek on a pipe", lseek(p[0], 0, SEEK_SET));
    show("pread on a pipe read end", pread(p[0], buffer, 1, 0));
    show("pread on a pipe write end", pread(p[1], buffer, 1, 0));
    show("read on a pipe write end", read(p[1], buffer, 1));
}

static void directories(void)
{
    char cwd[4096];
    show("chdir DIR/sub", chdir(in_dir("sub")));
    getcwd(cwd, sizeof cwd);
    printf("getcwd is DIR/sub: %s\n", strcmp(cwd, in_dir("sub")) == 0 ? "yes" : cwd);
    show("open relative b.txt", open("b.txt", O_RDONLY) >= 0);
    show("chdir deeper/..", chdir("deeper/.."));
    show("chdir b.txt", chdir("b.txt"));
    show("chdir missing", chdir("missing"));
    show("chdir ..", chdir(".."));
    getcwd(cwd, sizeof cwd);
    printf("getcwd is DIR: %s\n", strcmp(cwd, dir) == 0 ? "yes" : cwd);
    show("getcwd with a 1-byte buffer", syscall(SYS_getcwd, cwd, 1));
    show("getcwd with an exact buffer", syscall(SYS_getcwd, cwd, strlen(dir) + 1));
    show("getcwd with one byte less", syscall(SYS_getcwd, cwd, strlen(dir)));
    int sub = open("sub", O_RDONLY);
    show("fchdir sub", fchdir(sub));
    getcwd(cwd, sizeof cwd);
    printf("getcwd after fchdir: %s\n", strcmp(cwd, in_dir("sub")) == 0 ? "DIR/sub" : cwd);
    show("fchdir to a file", fchdir(open("b.txt", O_RDONLY)));
    show("fchdir to a closed fd", fchdir(99));
    int p[2];
    pipe(p);
    show("fchdir to a pipe", fchdir(p[0]));
    chdir("/");
    getcwd(cwd, sizeof cwd);
    printf("getcwd at the root: %s\n", cwd);
    show("chdir /..", chdir("/.."));
    getcwd(cwd, sizeof cwd);
    printf("getcwd after /..: %s\n", cwd);
}

static void accessing(void)
{
    show("access a.txt F_OK", access(in_dir("a.txt"), F_OK));
    show("access a.txt R_OK", access(in_dir("a.txt"), R_OK));
    show("access a.txt X_OK", access(in_dir("a.txt"), X_OK));
    show("access sub X_OK", access(in_dir("sub"), X_OK));
    show("access missing", access(in_dir("missing"), F_OK));
    show("access mode 8", access(in_dir("a.txt"), 8));
    show("access /dev/null R_OK|W_OK", access("/dev/null", R_OK | W_OK));
    show("faccessat(sub, b.txt)", faccessat(open(in_dir("sub"), O_RDONLY), "b.txt", R_OK, 0));
    show("faccessat2 bad flags", syscall(439, AT_FDCWD, in_dir("a.txt"), R_OK, 0x4));
    show("readlink of a file", readlink(in_dir("a.txt"), (char[8]){0}, 8));
    show("readlink missing", readlink(in_dir("missing"), (char[8]){0}, 8));
    show("readlink with size 0", syscall(SYS_readlink, in_dir("a.txt"), (char[8]){0}, 0));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fsread DIR\n");
        return 2;
    }
    dir = argv[1];
    setvbuf(stdout, NULL, _IONBF, 0);
    reading();
    stats();
    listing();
    opening();
    accessing();
    directories();
    return 0;
}
