/* files_calls: the calls that create, change and remove files, each with the
 * errors Linux gives, on relative paths under the directory given as argv[1] (a
 * fresh DIR/t is made), so the output is the same on the host and under timeshare:
 * open's O_CREAT/O_EXCL/O_TRUNC/O_APPEND, creat, mkdir, rmdir, unlink, rename and
 * renameat2, link, symlink, readlink, chmod and umask, chown, truncate,
 * utimensat/utimes/utime and the times writes and name changes set, fsync, pwrite,
 * sendfile between files, statfs, mknod, the devices, and RLIMIT_FSIZE.
 * Only fields that do not depend on the machine are printed. Exit status 0. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include "include/testlib.h"

static void put(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write_full(fd, text, strlen(text));
    close(fd);
}

/* The file's contents, as a string (a static buffer: one at a time). */
static const char *contents(const char *path)
{
    static char text[256];
    memset(text, 0, sizeof text);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return errno_name(errno);
    ssize_t count = read(fd, text, sizeof text - 1);
    close(fd);
    for (ssize_t i = 0; i < count; i++)
        if (text[i] == 0)
            text[i] = '0';
    return text;
}

static void show_stat(const char *what, const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        printf("%s: %s\n", what, errno_name(errno));
        return;
    }
    printf("%s: mode %o size %lld nlink %lu uid %u gid %u\n", what, st.st_mode, (long long)st.st_size,
           (unsigned long)st.st_nlink, st.st_uid, st.st_gid);
}

static long long mtime_of(const char *path)
{
    struct stat st;
    lstat(path, &st);
    return (long long)st.st_mtim.tv_sec;
}

static long long ctime_of(const char *path)
{
    struct stat st;
    lstat(path, &st);
    return (long long)st.st_ctim.tv_sec;
}

/* Sets a path's times to a fixed past, so a later change shows as a later time
 * whatever the clock's granularity. */
static void age(const char *path)
{
    struct timespec times[2] = { { 1000, 0 }, { 1000, 0 } };
    utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW);
}

static void names_and_removal(void)
{
    show("mkdir d", mkdir("d", 0755));
    show("mkdir d again", mkdir("d", 0755));
    show("mkdir d/e/", mkdir("d/e/", 0700));
    show("mkdir missing/x", mkdir("missing/x", 0755));
    show_stat("d", "d");
    show("mkdir d/f", mkdir("d/f", 0755));
    show_stat("d with two subdirectories", "d");
    put("d/file", "data");
    show("mkdir d/file/x", mkdir("d/file/x", 0755));
    show("rmdir d", rmdir("d"));
    show("rmdir d/file", rmdir("d/file"));
    show("rmdir d/e/.", rmdir("d/e/."));
    show("rmdir d/e/..", rmdir("d/e/.."));
    show("unlink d", unlink("d"));
    show("unlink d/file/", unlink("d/file/"));
    show("unlink d/none", unlink("d/none"));
    show("unlinkat d/f without AT_REMOVEDIR", unlinkat(AT_FDCWD, "d/f", 0));
    show("unlinkat d/f AT_REMOVEDIR", unlinkat(AT_FDCWD, "d/f", AT_REMOVEDIR));
    show("unlinkat bad flag", unlinkat(AT_FDCWD, "d/file", 1));
    show_stat("d with one", "d");
    char name[300];
    memset(name, 'n', 256);
    name[256] = 0;
    show("create a 256-byte name", open(name, O_WRONLY | O_CREAT, 0644));
    name[255] = 0;
    int fd = open(name, O_WRONLY | O_CREAT, 0644);
    show("create a 255-byte name", fd >= 0);
    close(fd);
    show("unlink it", unlink(name));
    show("open d/file/x O_CREAT", open("d/file/x", O_WRONLY | O_CREAT, 0644));
    show("open new/ O_CREAT", open("new/", O_WRONLY | O_CREAT, 0644));
    show("open d O_CREAT", open("d", O_RDONLY | O_CREAT, 0644));
    show("open d O_RDWR", open("d", O_RDWR));
    show("open d/file O_DIRECTORY", open("d/file", O_RDONLY | O_DIRECTORY));
    show("open . O_CREAT", open(".", O_RDONLY | O_CREAT, 0644));
    show("open d/file O_CREAT|O_EXCL", open("d/file", O_WRONLY | O_CREAT | O_EXCL, 0644));
}

static void links(void)
{
    put("target", "linked");
    show("link", link("target", "hard"));
    show_stat("target with two names", "target");
    show("link onto an existing name", link("target", "hard"));
    show("link a directory", link("d", "d2"));
    show("link a missing file", link("none", "x"));
    show("link to x/", link("target", "x/"));
    show("symlink", symlink("target", "soft"));
    show("symlink onto an existing name", symlink("target", "soft"));
    show("symlink to an empty target", symlink("", "empty"));
    show_stat("soft", "soft");
    char buffer[64] = {0};
    show("readlink soft", readlink("soft", buffer, sizeof buffer));
    printf("it holds %s\n", buffer);
    show("readlink target", readlink("target", buffer, sizeof buffer));
    printf("through soft: %s\n", contents("soft"));
    show("symlink loop", symlink("loop", "loop"));
    show("open loop", open("loop", O_RDONLY));
    show("open soft O_NOFOLLOW", open("soft", O_RDONLY | O_NOFOLLOW));
    show("open soft O_CREAT|O_EXCL", open("soft", O_WRONLY | O_CREAT | O_EXCL, 0644));
    show("symlink to a directory", symlink("d", "dlink"));
    show("mkdir through it", mkdir("dlink/sub", 0755));
    show("linkat soft (the link itself)", linkat(AT_FDCWD, "soft", AT_FDCWD, "soft2", 0));
    show_stat("soft2", "soft2");
    show("linkat soft AT_SYMLINK_FOLLOW", linkat(AT_FDCWD, "soft", AT_FDCWD, "hard2", AT_SYMLINK_FOLLOW));
    show_stat("target with three names", "target");
    show("unlink hard", unlink("hard"));
    show("unlink hard2", unlink("hard2"));
    show_stat("target with one name", "target");
}

static void renames(void)
{
    put("r1", "one");
    put("r2", "two");
    int open_r2 = open("r2", O_RDONLY);
    show("rename r1 over r2", rename("r1", "r2"));
    printf("r2 now: %s; r1: %s\n", contents("r2"), contents("r1"));
    char buffer[16] = {0};
    read(open_r2, buffer, sizeof buffer - 1);
    printf("the replaced file, still open: %s\n", buffer);
    struct stat st;
    fstat(open_r2, &st);
    printf("its links: %lu\n", (unsigned long)st.st_nlink);
    close(open_r2);
    show("rename a missing file", rename("none", "r3"));
    show("rename onto itself", rename("r2", "r2"));
    show("mkdir rd", mkdir("rd", 0755));
    show("mkdir rd/inner", mkdir("rd/inner", 0755));
    show("rename rd into its subtree", rename("rd", "rd/inner/x"));
    show("rename rd onto itself", rename("rd", "rd"));
    show("rename a file over a directory", rename("r2", "rd"));
    show("rename a directory over a file", rename("rd", "r2"));
    show("mkdir empty", mkdir("empty", 0755));
    show("rename rd over empty", rename("rd", "empty"));
    show_stat("empty (was rd)", "empty");
    show("rename . away", rename(".", "x"));
    show("rename r2 to r2/", rename("r2", "r3/"));
    show("mkdir full", mkdir("full", 0755));
    put("full/f", "x");
    show("rename empty over full", rename("empty", "full"));
    put("r4", "four");
    show("renameat2 NOREPLACE", syscall(SYS_renameat2, AT_FDCWD, "r2", AT_FDCWD, "r4", 1));
    show("renameat2 EXCHANGE", syscall(SYS_renameat2, AT_FDCWD, "r2", AT_FDCWD, "r4", 2));
    printf("r2: %s; ", contents("r2"));
    printf("r4: %s\n", contents("r4"));
    show("renameat2 EXCHANGE with a missing name", syscall(SYS_renameat2, AT_FDCWD, "r2", AT_FDCWD, "r5", 2));
    show("renameat2 both flags", syscall(SYS_renameat2, AT_FDCWD, "r2", AT_FDCWD, "r4", 3));
    show("renameat2 NOREPLACE to a new name", syscall(SYS_renameat2, AT_FDCWD, "r2", AT_FDCWD, "r5", 1));
    int dir = open("full", O_RDONLY | O_DIRECTORY);
    show("renameat from a directory fd", renameat(dir, "f", AT_FDCWD, "from_full"));
    printf("from_full: %s\n", contents("from_full"));
    close(dir);
}

static void unlinked_but_open(void)
{
    int fd = open("ghost", O_RDWR | O_CREAT | O_TRUNC, 0600);
    show("unlink an open file", unlink("ghost"));
    show("write to it", write(fd, "boo", 3));
    lseek(fd, 0, SEEK_SET);
    char buffer[8] = {0};
    show("read it back", read(fd, buffer, sizeof buffer));
    printf("it holds %s\n", buffer);
    struct stat st;
    fstat(fd, &st);
    printf("fstat: size %lld nlink %lu\n", (long long)st.st_size, (unsigned long)st.st_nlink);
    show("stat by name", stat("ghost", &st));
    show("linkat it back (AT_EMPTY_PATH)", linkat(fd, "", AT_FDCWD, "back", AT_EMPTY_PATH));
    close(fd);
}

static void writing(void)
{
    umask(022);
    int fd = open("w", O_RDWR | O_CREAT | O_EXCL, 0666);
    show_stat("created 0666 under umask 022", "w");
    show("write", write(fd, "hello world", 11));
    show("lseek SEEK_END", lseek(fd, 0, SEEK_END));
    show("pwrite at 6", pwrite(fd, "WORLD", 5, 6));
    show("pwrite at 20", pwrite(fd, "!", 1, 20));
    printf("w: %s\n", contents("w"));
    show("lseek SEEK_CUR", lseek(fd, 0, SEEK_CUR));
    show("ftruncate to 5", ftruncate(fd, 5));
    show("ftruncate negative", ftruncate(fd, -1));
    printf("w: %s\n", contents("w"));
    show("ftruncate to 8", ftruncate(fd, 8));
    printf("w: %s\n", contents("w"));
    show("fsync", fsync(fd));
    show("fdatasync", fdatasync(fd));
    close(fd);
    int readonly = open("w", O_RDONLY);
    show("ftruncate a read-only fd", ftruncate(readonly, 0));
    show("write a read-only fd", write(readonly, "x", 1));
    close(readonly);
    show("truncate by name", truncate("w", 2));
    printf("w: %s\n", contents("w"));
    show("truncate a directory", truncate("d", 0));
    show("truncate missing", truncate("none", 0));
    fd = open("w", O_WRONLY | O_TRUNC);
    show_stat("after O_TRUNC", "w");
    close(fd);
    fd = open("w", O_WRONLY | O_APPEND);
    write(fd, "ab", 2);
    lseek(fd, 0, SEEK_SET);
    write(fd, "cd", 2);
    show("O_APPEND position", lseek(fd, 0, SEEK_CUR));
    show("pwrite with O_APPEND", pwrite(fd, "ef", 2, 0));
    close(fd);
    printf("w: %s\n", contents("w"));
    fd = creat("c", 0640);
    show("write to creat's fd", write(fd, "c", 1));
    show("read creat's fd", read(fd, (char[4]){0}, 1));
    close(fd);
    show_stat("c", "c");
    mkdir("m", 0777);
    show_stat("mkdir 0777 under umask 022", "m");
    umask(0);
    mkdir("m2", 01777);
    show_stat("mkdir 01777 under umask 0", "m2");

    int in = open("w", O_RDONLY);
    int out = open("copy", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    show("sendfile file to file", sendfile(out, in, NULL, 100));
    close(in);
    close(out);
    printf("copy: %s\n", contents("copy"));
}

static void attributes(void)
{
    put("a", "attributes");
    show("chmod 4751", chmod("a", 04751));
    show_stat("a", "a");
    int fd = open("a", O_RDONLY);
    show("fchmod 600", fchmod(fd, 0600));
    show_stat("a", "a");
    show("fchmodat 644", fchmodat(AT_FDCWD, "a", 0644, 0));
    show("chmod missing", chmod("none", 0644));
    show("chown 12:34", chown("a", 12, 34));
    show("fchown -1:56", fchown(fd, -1, 56));
    show_stat("a", "a");
    close(fd);
    chmod("a", 06755);
    show("chown 0:0 with set-id bits", chown("a", 0, 0));
    show_stat("a loses set-user-ID and set-group-ID", "a");
    symlink("a", "alink");
    show("lchown the link", lchown("alink", 7, 8));
    show_stat("alink", "alink");
    show_stat("a", "a");
    show("fchownat AT_SYMLINK_NOFOLLOW", fchownat(AT_FDCWD, "alink", 9, 9, AT_SYMLINK_NOFOLLOW));
    show("fchownat bad flag", fchownat(AT_FDCWD, "alink", 9, 9, AT_REMOVEDIR));
    show_stat("alink", "alink");
}

static void times(void)
{
    put("t", "time");
    struct timespec set[2] = { { 111, 5 }, { 222, 6 } };
    show("utimensat", utimensat(AT_FDCWD, "t", set, 0));
    struct stat st;
    stat("t", &st);
    printf("atime %lld.%ld mtime %lld.%ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    struct timespec omit[2] = { { 0, UTIME_OMIT }, { 333, 0 } };
    show("utimensat UTIME_OMIT", utimensat(AT_FDCWD, "t", omit, 0));
    stat("t", &st);
    printf("atime %lld mtime %lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
    struct timespec bad[2] = { { 0, 1000000000 }, { 0, 0 } };
    show("utimensat with a bad nsec", utimensat(AT_FDCWD, "t", bad, 0));
    show("utimensat bad flag", utimensat(AT_FDCWD, "t", set, AT_REMOVEDIR));
    struct timeval tv[2] = { { 444, 7 }, { 555, 8 } };
    show("utimes", utimes("t", tv));
    stat("t", &st);
    printf("atime %lld.%ld mtime %lld.%ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    struct utimbuf buf = { 666, 777 };
    show("utime", utime("t", &buf));
    stat("t", &st);
    printf("atime %lld mtime %lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
    int fd = open("t", O_RDWR);
    show("futimens", futimens(fd, set));
    fstat(fd, &st);
    printf("mtime %lld\n", (long long)st.st_mtim.tv_sec);
    show("utimensat now", utimensat(AT_FDCWD, "t", NULL, 0));
    printf("now is later: %s\n", yes(mtime_of("t") > 1000));

    age("t");
    write(fd, "x", 1);
    printf("write moves mtime: %s, ctime: %s\n", yes(mtime_of("t") > 1000), yes(ctime_of("t") > 1000));
    close(fd);
    put("u", "u");
    age("u");
    chmod("u", 0600);
    printf("chmod moves ctime: %s, not mtime: %s\n", yes(ctime_of("u") > 1000), yes(mtime_of("u") == 1000));
    mkdir("td", 0755);
    age("td");
    put("td/new", "x");
    printf("a create moves the directory's mtime: %s\n", yes(mtime_of("td") > 1000));
    age("td");
    unlink("td/new");
    printf("an unlink moves it: %s\n", yes(mtime_of("td") > 1000));
    put("td/a", "x");
    age("td");
    age("td/a");
    rename("td/a", "td/b");
    printf("a rename moves it: %s, and the file's ctime: %s\n", yes(mtime_of("td") > 1000),
           yes(ctime_of("td/b") > 1000));
    age("td/b");
    link("td/b", "td/c");
    printf("a link moves the file's ctime: %s\n", yes(ctime_of("td/b") > 1000));
}

static void devices(void)
{
    const char *names[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/console" };
    for (int i = 0; i < 6; i++) {
        struct stat st;
        stat(names[i], &st);
        printf("%s: char %s, %u:%u\n", names[i], yes(S_ISCHR(st.st_mode)), major(st.st_rdev), minor(st.st_rdev));
    }
    int full = open("/dev/full", O_RDWR);
    show("write /dev/full", write(full, "x", 1));
    char bytes[4] = { 1, 1, 1, 1 };
    show("read /dev/full", read(full, bytes, 4));
    printf("zeros: %s\n", yes(bytes[0] == 0 && bytes[3] == 0));
    close(full);
    int random = open("/dev/urandom", O_RDONLY);
    char noise[64];
    show("read /dev/urandom", read(random, noise, sizeof noise));
    close(random);
    show("write /dev/null", write(open("/dev/null", O_WRONLY), "x", 1));
    show("read /dev/null", read(open("/dev/null", O_RDONLY), bytes, 4));
    show("mknod a regular file", mknod("plain", S_IFREG | 0644, 0));
    show_stat("plain", "plain");
    show("mknod a directory", mknod("dirnode", S_IFDIR | 0755, 0));
    show("mknod /dev/null's number", mknod("mynull", S_IFCHR | 0666, makedev(1, 3)));
    show("write through it", write(open("mynull", O_WRONLY), "x", 1));
    int pipes[2];
    pipe(pipes);
    show("fsync a pipe", fsync(pipes[0]));
    struct statfs fs;
    show("statfs", statfs(".", &fs));
    printf("block size %s, name max %ld\n", yes(fs.f_bsize > 0), (long)fs.f_namelen);
}

static void file_size_limit(void)
{
    pid_t child = fork();
    if (child == 0) {
        struct rlimit limit = { 1000, 1000 };
        setrlimit(RLIMIT_FSIZE, &limit);
        signal(SIGXFSZ, SIG_IGN);
        int fd = open("limited", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        char block[2000] = {0};
        show("write 2000 under a 1000-byte limit", write(fd, block, sizeof block));
        show("write more", write(fd, block, 1));
        show("ftruncate past it", ftruncate(fd, 1001));
        show("ftruncate within", ftruncate(fd, 10));
        signal(SIGXFSZ, SIG_DFL);
        lseek(fd, 1000, SEEK_SET);
        write(fd, block, 1);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("the last write: %s\n", WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ ? "SIGXFSZ" : "no signal");
}

static void appenders(void)
{
    int fd = open("appended", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    pid_t children[2];
    for (int c = 0; c < 2; c++) {
        children[c] = fork();
        if (children[c] == 0) {
            int own = open("appended", O_WRONLY | O_APPEND);
            char line[32];
            snprintf(line, sizeof line, "child %d says hello there\n", c);
            for (int i = 0; i < 200; i++)
                write(c == 0 ? own : fd, line, strlen(line));
            _exit(0);
        }
    }
    for (int c = 0; c < 2; c++)
        waitpid(children[c], NULL, 0);
    close(fd);
    FILE *file = fopen("appended", "r");
    char line[64];
    int counts[2] = { 0, 0 }, broken = 0;
    while (fgets(line, sizeof line, file)) {
        if (strcmp(line, "child 0 says hello there\n") == 0)
            counts[0]++;
        else if (strcmp(line, "child 1 says hello there\n") == 0)
            counts[1]++;
        else
            broken++;
    }
    fclose(file);
    printf("appended from two processes: %d and %d whole lines, %d broken\n", counts[0], counts[1], broken);
}

static void removal_while_listing(void)
{
    mkdir("many", 0755);
    char name[32];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "many/file%03d", i);
        put(name, "x");
    }
    DIR *dir = opendir("many");
    struct dirent *entry;
    int removed = 0;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        snprintf(name, sizeof name, "many/%s", entry->d_name);
        removed += unlink(name) == 0;
    }
    closedir(dir);
    printf("removed while listing: %d; rmdir: %d\n", removed, rmdir("many"));
}

static void bad_buffers(void)
{
    int fd = open("bb", O_RDWR | O_CREAT | O_TRUNC, 0644);
    char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(pages, 'b', 8192);
    munmap(pages + 4096, 4096);
    show("write from a buffer half unmapped", write(fd, pages + 4000, 200));
    show("write from a bad pointer", write(fd, (void *)8, 10));
    show("pwrite from a bad pointer", pwrite(fd, (void *)8, 10, 0));
    show("position", lseek(fd, 0, SEEK_CUR));
    lseek(fd, 0, SEEK_SET);
    show("read into a buffer half unmapped", read(fd, pages + 4000, 200));
    show("position", lseek(fd, 0, SEEK_CUR));
    show("read into a bad pointer", read(fd, (void *)8, 10));
    show("pread into a bad pointer", pread(fd, (void *)8, 10, 0));
    show("position", lseek(fd, 0, SEEK_CUR));
    struct stat st;
    fstat(fd, &st);
    printf("size %lld\n", (long long)st.st_size);
    close(fd);
}

static void removed_cwd(void)
{
    mkdir("gone", 0755);
    int back = open(".", O_RDONLY | O_DIRECTORY);
    chdir("gone");
    show("rmdir the cwd", rmdir("../gone"));
    char buffer[256];
    printf("getcwd: %s\n", getcwd(buffer, sizeof buffer) ? "a path" : errno_name(errno));
    show("create in it", open("x", O_WRONLY | O_CREAT, 0644));
    show("stat .", stat(".", &(struct stat){0}));
    fchdir(back);
    close(back);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2 || chdir(argv[1]) != 0)
        return 2;
    mkdir("t", 0755);
    chdir("t");
    umask(022);
    names_and_removal();
    links();
    renames();
    unlinked_but_open();
    writing();
    attributes();
    times();
    devices();
    file_size_limit();
    appenders();
    removal_while_listing();
    bad_buffers();
    removed_cwd();
    return 0;
}
