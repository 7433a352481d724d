/* mmap_files: memory-mapped files, /dev/zero, shared anonymous memory, ETXTBSY
 * and O_CREAT through a dangling symlink, printed the same on Linux and under
 * timeshare. Run as `mmap_files DIR` (a scratch directory on the host, /tmp in
 * the guest); `mmap_files --hold` is the program a child runs to keep a copy of
 * it executing (it waits for its stdin to end); `mmap_files --truncate DIR`
 * checks what timeshare does where it differs from Linux, a truncate of a mapped
 * file. Exit status: the failed checks. */
#include <fcntl.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "include/testlib.h"

#define PAGE 4096L

static const char *dir;

static const char *path(const char *name)
{
    static char buffer[2][512];
    static int turn;
    turn ^= 1;
    snprintf(buffer[turn], sizeof buffer[turn], "%s/%s", dir, name);
    return buffer[turn];
}

/* "what: ENAME" for a call that failed as expected, or what it returned. */
static void expect_errno(const char *what, long result)
{
    printf("%s: %s\n", what, result == -1 ? errno_name(errno) : "succeeded");
}

static void *map(size_t length, int prot, int flags, int fd, off_t offset)
{
    errno = 0;
    return mmap(NULL, length, prot, flags, fd, offset);
}

static char file_byte(int fd, off_t offset)
{
    char c = '?';
    if (pread(fd, &c, 1, offset) != 1)
        return '!';
    return c;
}

/* A file of `pages` pages and `tail` bytes more, byte i being 'a' + i % 26. */
static int make_file(const char *name, long pages, long tail)
{
    int fd = open(path(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
    long size = pages * PAGE + tail;
    char *bytes = malloc(size);
    for (long i = 0; i < size; i++)
        bytes[i] = 'a' + i % 26;
    write_full(fd, bytes, size);
    free(bytes);
    return fd;
}

static int wait_status(pid_t pid)
{
    int status;
    waitpid(pid, &status, 0);
    return status;
}

static void shared_file_mappings(void)
{
    int fd = make_file("shared", 3, 100);
    char *p = map(4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    report("shared: mapped", p != MAP_FAILED);
    report("shared: reads the file", p[0] == 'a' && p[PAGE + 1] == 'a' + (PAGE + 1) % 26);
    p[10] = 'X';
    report("shared: a store is seen by read(2)", file_byte(fd, 10) == 'X');
    pwrite(fd, "W", 1, 5000);
    report("shared: write(2) is seen through the mapping", p[5000] == 'W');
    report("shared: bytes past the end in the last page read 0", p[3 * PAGE + 100] == 0 && p[4 * PAGE - 1] == 0);
    char *second = map(PAGE, PROT_READ, MAP_SHARED, fd, PAGE);
    pwrite(fd, "Y", 1, PAGE + 7);
    report("shared: a second mapping at an offset sees the same page", second[7] == 'Y' && p[PAGE + 7] == 'Y');
    pid_t child = fork_or_die();
    if (child == 0) {
        p[30] = 'I';
        char *own = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        own[20] = 'C';
        _exit(0);
    }
    wait_status(child);
    report("shared: the child's store in the inherited mapping is seen", p[30] == 'I');
    report("shared: the child's store in its own mapping is seen", p[20] == 'C' && file_byte(fd, 20) == 'C');
    munmap(p, 4 * PAGE);
    munmap(second, PAGE);
    report("shared: the stores survive munmap", file_byte(fd, 10) == 'X' && file_byte(fd, 30) == 'I');
    close(fd);
}

static void private_file_mappings(void)
{
    int fd = make_file("private", 2, 0);
    char *p = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    char *shared = map(2 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
    report("private: mapped", p != MAP_FAILED && shared != MAP_FAILED);
    pwrite(fd, "Q", 1, PAGE + 1);
    report("private: an untouched page shows a later write(2)", p[PAGE + 1] == 'Q');
    p[PAGE + 40] = 'P';
    report("private: a store is not seen by read(2)", file_byte(fd, PAGE + 40) == 'a' + (PAGE + 40) % 26);
    report("private: nor by a shared mapping", shared[PAGE + 40] == 'a' + (PAGE + 40) % 26);
    pwrite(fd, "R", 1, PAGE + 2);
    report("private: a copied page no longer shows write(2)", p[PAGE + 2] == 'a' + (PAGE + 2) % 26);
    report("private: the other page still does", (pwrite(fd, "S", 1, 3), p[3] == 'S'));
    pid_t child = fork_or_die();
    if (child == 0) {
        p[100] = 'K';
        _exit(p[100] == 'K' ? 0 : 1);
    }
    report("private: the child's store is its own", wait_status(child) == 0 && p[100] != 'K' && file_byte(fd, 100) != 'K');
    char *ro = map(PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    expect_errno("private: mprotect adds PROT_WRITE", mprotect(ro, PAGE, PROT_READ | PROT_WRITE));
    ro[0] = 'M';
    report("private: a store after mprotect stays private", file_byte(fd, 0) == 'a' && shared[0] == 'a');
    close(fd);
    report("private: the mapping outlives the descriptor", p[PAGE + 40] == 'P');
    munmap(p, 2 * PAGE);
    munmap(shared, 2 * PAGE);
    munmap(ro, PAGE);
}

static sigjmp_buf bus_jump;
static volatile int bus_code;
static void *volatile bus_address;

static void on_bus(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    (void)context;
    bus_code = info->si_code;
    bus_address = info->si_addr;
    siglongjmp(bus_jump, 1);
}

/* Reads (or writes) `at`: "ok", or the signal's code and whether it named `at`. */
static void touch_reporting(const char *what, volatile char *at, int write)
{
    if (sigsetjmp(bus_jump, 1) == 0) {
        if (write)
            *at = 'z';
        else
            (void)*at;
        printf("%s: no signal\n", what);
    } else {
        printf("%s: SIGBUS %s, at the address: %s\n", what, bus_code == BUS_ADRERR ? "BUS_ADRERR" : "other",
               yes(bus_address == (void *)at));
    }
}

static void past_the_end(void)
{
    handle_signal(SIGBUS, on_bus, 0);
    int fd = make_file("short", 1, 10);
    char *p = map(4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    touch_reporting("past end: the last page's tail", p + PAGE + 100, 0);
    touch_reporting("past end: a read of the page after", p + 2 * PAGE + 5, 0);
    touch_reporting("past end: a write two pages after", p + 3 * PAGE, 1);
    char *q = map(2 * PAGE, PROT_READ, MAP_PRIVATE, fd, PAGE);
    touch_reporting("past end: a private mapping at an offset", q + PAGE, 0);
    munmap(p, 4 * PAGE);
    munmap(q, 2 * PAGE);

    char *gone = map(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    unlink(path("short"));
    gone[1] = '1';
    report("unlinked: the mapping keeps the data", gone[0] == 'a' && gone[1] == '1' && gone[PAGE + 10 - PAGE - 1] == 'j');
    munmap(gone, PAGE);
    signal(SIGBUS, SIG_DFL);
}

static void msync_checks(void)
{
    int fd = make_file("sync", 2, 0);
    char *p = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    expect_errno("msync: MS_SYNC", msync(p, 2 * PAGE, MS_SYNC));
    expect_errno("msync: MS_ASYNC of a part, length unaligned", msync(p + PAGE, 10, MS_ASYNC));
    expect_errno("msync: MS_INVALIDATE", msync(p, PAGE, MS_INVALIDATE));
    expect_errno("msync: no flags", msync(p, PAGE, 0));
    expect_errno("msync: length 0", msync(p, 0, MS_SYNC));
    expect_errno("msync: unaligned address", msync(p + 1, PAGE, MS_SYNC));
    expect_errno("msync: MS_ASYNC|MS_SYNC", msync(p, PAGE, MS_ASYNC | MS_SYNC));
    expect_errno("msync: an unknown flag", msync(p, PAGE, 8));
    munmap(p + PAGE, PAGE);
    expect_errno("msync: a range with an unmapped page", msync(p, 2 * PAGE, MS_SYNC));
    expect_errno("msync: an unmapped range", msync(p + PAGE, PAGE, MS_SYNC));
    char *anonymous = map(PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    expect_errno("msync: anonymous memory", msync(anonymous, PAGE, MS_SYNC));
    munmap(p, PAGE);
    munmap(anonymous, PAGE);
    close(fd);
}

static void refusals(void)
{
    int fd = make_file("checks", 1, 0);
    close(fd);
    int ro = open(path("checks"), O_RDONLY);
    int wo = open(path("checks"), O_WRONLY);
    expect_errno("refused: MAP_SHARED PROT_WRITE of a read-only fd", (long)map(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0));
    char *p = map(PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    report("refused: MAP_PRIVATE PROT_WRITE of a read-only fd is fine", p != MAP_FAILED);
    char *q = map(PAGE, PROT_READ, MAP_SHARED, ro, 0);
    report("refused: MAP_SHARED PROT_READ of a read-only fd is fine", q != MAP_FAILED);
    expect_errno("refused: mprotect adds PROT_WRITE to it", mprotect(q, PAGE, PROT_READ | PROT_WRITE));
    expect_errno("refused: mprotect PROT_READ|PROT_EXEC", mprotect(q, PAGE, PROT_READ | PROT_EXEC));
    expect_errno("refused: MAP_SHARED of a write-only fd", (long)map(PAGE, PROT_READ, MAP_SHARED, wo, 0));
    expect_errno("refused: MAP_PRIVATE of a write-only fd", (long)map(PAGE, PROT_READ, MAP_PRIVATE, wo, 0));
    expect_errno("refused: a closed fd", (long)map(PAGE, PROT_READ, MAP_PRIVATE, 1000, 0));
    expect_errno("refused: an offset not page-aligned", (long)map(PAGE, PROT_READ, MAP_PRIVATE, ro, 100));
    expect_errno("refused: anonymous with an offset not page-aligned",
                 (long)map(PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 100));
    expect_errno("refused: length 0", (long)map(0, PROT_READ, MAP_PRIVATE, ro, 0));
    expect_errno("refused: past the largest offset", (long)map(2 * PAGE, PROT_READ, MAP_PRIVATE, ro, 0x7ffffffffffff000L));
    errno = 0;
    long fixed = (long)mmap((void *)0x7ffffffff000L, 4 * PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, ro, 0);
    expect_errno("refused: MAP_FIXED past user space", fixed);
    int pipe_ends[2];
    pipe(pipe_ends);
    expect_errno("refused: a pipe's read end", (long)map(PAGE, PROT_READ, MAP_PRIVATE, pipe_ends[0], 0));
    expect_errno("refused: a pipe's write end", (long)map(PAGE, PROT_READ, MAP_PRIVATE, pipe_ends[1], 0));
    int null = open("/dev/null", O_RDWR);
    expect_errno("refused: /dev/null", (long)map(PAGE, PROT_READ, MAP_PRIVATE, null, 0));
    int directory = open(dir, O_RDONLY | O_DIRECTORY);
    expect_errno("refused: a directory", (long)map(PAGE, PROT_READ, MAP_PRIVATE, directory, 0));
    close(pipe_ends[0]);
    close(pipe_ends[1]);
    close(null);
    close(directory);
    close(ro);
    close(wo);
    munmap(p, PAGE);
    munmap(q, PAGE);
}

static void zero_and_anonymous_shared(void)
{
    int zero = open("/dev/zero", O_RDWR);
    char *private = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, zero, 0);
    char *shared = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0);
    char *anonymous = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    report("zero: mapped", private != MAP_FAILED && shared != MAP_FAILED && anonymous != MAP_FAILED);
    report("zero: reads zeros", private[5] == 0 && shared[PAGE + 5] == 0 && anonymous[7] == 0);
    private[0] = 'p';
    shared[0] = 's';
    anonymous[0] = 'a';
    int to_child[2], to_parent[2];
    pipe(to_child);
    pipe(to_parent);
    pid_t child = fork_or_die();
    if (child == 0) {
        char c;
        int seen = private[0] == 'p' && shared[0] == 's' && anonymous[0] == 'a';
        private[0] = 'P';
        shared[PAGE + 1] = 'S';
        anonymous[PAGE + 1] = 'A';
        anonymous[2] = 'B';
        write(to_parent[1], "x", 1);
        read(to_child[0], &c, 1);
        seen = seen && anonymous[3] == 'D' && shared[3] == 'E';
        _exit(seen ? 0 : 1);
    }
    char c;
    read(to_parent[0], &c, 1);
    report("zero: a private mapping is copied on write", private[0] == 'p');
    report("zero: a shared one is shared with the child", shared[PAGE + 1] == 'S');
    report("anonymous shared: the child's stores are seen", anonymous[PAGE + 1] == 'A' && anonymous[2] == 'B');
    anonymous[3] = 'D';
    shared[3] = 'E';
    write(to_child[1], "x", 1);
    report("anonymous shared: the parent's stores are seen by the child", wait_status(child) == 0);
    munmap(anonymous, PAGE);
    report("anonymous shared: the other page stays after a partial munmap", anonymous[PAGE + 1] == 'A');
    expect_errno("anonymous: MAP_SHARED_VALIDATE", (long)map(PAGE, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0));
    close(zero);
}

/* Copies this program to `to` (open, kept open for writing: returned). */
static int copy_self(const char *to)
{
    int in = open("/proc/self/exe", O_RDONLY);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    char buffer[8192];
    long n;
    while ((n = read(in, buffer, sizeof buffer)) > 0)
        write_full(out, buffer, n);
    close(in);
    return out;
}

static void text_busy(void)
{
    expect_errno("etxtbsy: open of the running program for writing", open("/proc/self/exe", O_WRONLY));
    char copy[512];
    snprintf(copy, sizeof copy, "%s", path("copy"));
    int writer = copy_self(copy);
    pid_t child = fork_or_die();
    if (child == 0) {
        execl(copy, copy, "--hold", (char *)NULL);
        _exit(errno);
    }
    int status = wait_status(child);
    printf("etxtbsy: execve of a file open for writing: %s\n",
           WIFEXITED(status) ? errno_name(WEXITSTATUS(status)) : "killed");
    close(writer);

    int hold[2], started[2];
    pipe(hold);
    pipe2(started, O_CLOEXEC);
    child = fork_or_die();
    if (child == 0) {
        dup2(hold[0], 0);
        close(hold[1]);
        execl(copy, copy, "--hold", (char *)NULL);
        _exit(127);
    }
    close(hold[0]);
    close(started[1]);
    char c;
    read(started[0], &c, 1); /* EOF once the child has exec'd */
    close(started[0]);
    expect_errno("etxtbsy: open O_WRONLY of a file being executed", open(copy, O_WRONLY));
    expect_errno("etxtbsy: open O_RDWR|O_TRUNC of it", open(copy, O_RDWR | O_TRUNC));
    expect_errno("etxtbsy: truncate of it", truncate(copy, 0));
    int reader = open(copy, O_RDONLY);
    report("etxtbsy: open O_RDONLY of it is fine", reader >= 0);
    close(reader);
    close(hold[1]);
    status = wait_status(child);
    printf("etxtbsy: the copy ran: %s\n", yes(WIFEXITED(status) && WEXITSTATUS(status) == 42));
    int again = open(copy, O_WRONLY);
    report("etxtbsy: once it ended, open for writing is fine", again >= 0);
    close(again);
}

static void dangling_symlinks(void)
{
    symlink("made-through-link", path("dangling"));
    int fd = open(path("dangling"), O_WRONLY | O_CREAT, 0600);
    report("symlink: O_CREAT through a dangling symlink opens", fd >= 0);
    write(fd, "hi", 2);
    close(fd);
    struct stat st;
    report("symlink: it created the target", stat(path("made-through-link"), &st) == 0 && st.st_size == 2);
    report("symlink: the link is still a link", lstat(path("dangling"), &st) == 0 && S_ISLNK(st.st_mode));
    expect_errno("symlink: O_CREAT|O_EXCL on the link", open(path("dangling"), O_WRONLY | O_CREAT | O_EXCL, 0600));
    symlink("missing-dir/file", path("deeper"));
    expect_errno("symlink: O_CREAT through a link into a missing directory", open(path("deeper"), O_WRONLY | O_CREAT, 0600));
    symlink("also-missing", path("dangling2"));
    expect_errno("symlink: O_CREAT|O_EXCL on a dangling link", open(path("dangling2"), O_WRONLY | O_CREAT | O_EXCL, 0600));
    report("symlink: which created nothing", stat(path("also-missing"), &st) == -1 && errno == ENOENT);
    expect_errno("symlink: O_CREAT|O_NOFOLLOW on a dangling link", open(path("dangling2"), O_WRONLY | O_CREAT | O_NOFOLLOW, 0600));
}

/* timeshare only (Linux sends SIGBUS for the truncated pages instead): a truncate
 * leaves the pages already mapped in place, and their frames are never freed and
 * reused while mapped, however much memory other files take afterwards. */
static int truncated_while_mapped(void)
{
    int fd = make_file("truncated", 4, 0);
    char *p = map(4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    p[PAGE] = 'T';
    ftruncate(fd, 0);
    int other = open(path("other"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    static char filler[64 * PAGE];
    memset(filler, 'f', sizeof filler);
    for (int i = 0; i < 64; i++)
        write_full(other, filler, sizeof filler);
    int kept = 1;
    for (long i = 0; i < 4 * PAGE; i++)
        kept &= p[i] == (i == PAGE ? 'T' : 'a' + i % 26);
    report("truncated: the mapped pages keep their bytes", kept);
    p[2 * PAGE] = 'U';
    struct stat st;
    report("truncated: stores reach no file", fstat(fd, &st) == 0 && st.st_size == 0 && file_byte(other, 0) == 'f');
    ftruncate(fd, 2 * PAGE);
    report("truncated: the file grown again reads zeros", file_byte(fd, PAGE) == 0);
    munmap(p, 4 * PAGE);
    close(other);
    close(fd);
    return failures;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--hold") == 0) {
        char c;
        while (read(0, &c, 1) > 0)
            ;
        return 42;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: mmap_files DIR\n");
        return 2;
    }
    if (argc > 2 && strcmp(argv[1], "--truncate") == 0) {
        dir = argv[2];
        return truncated_while_mapped();
    }
    dir = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    shared_file_mappings();
    private_file_mappings();
    past_the_end();
    msync_checks();
    refusals();
    zero_and_anonymous_shared();
    text_busy();
    dangling_symlinks();
    return failures;
}
