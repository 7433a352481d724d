/* The short system calls that have a fast path of their own (getppid from the
 * process, /dev/zero cleared in place, fstat, rt_sigaction, rt_sigprocmask,
 * FUTEX_WAKE, sched_setattr), with good and bad arguments: each line
 * "call: outcome", the same on Linux, on timeshare, and on timeshare traced
 * (where every call takes the general path). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/futex.h"
#include "include/testlib.h"

static void line(const char *what, const char *outcome) { printf("%s: %s\n", what, outcome); }

static void *thread_parent(void *main_parent)
{
    return (void *)(intptr_t)(syscall(SYS_getppid) == (long)(intptr_t)main_parent);
}

static void parents(void)
{
    pid_t self = getpid(), parent = getppid();
    line("getppid is the parent", yes(parent > 0 && parent != self));
    pthread_t thread;
    void *same = 0;
    pthread_create(&thread, 0, thread_parent, (void *)(intptr_t)parent);
    pthread_join(thread, &same);
    line("getppid in a thread is the process's parent", yes(same != 0));
    sleep_ms(10);
    line("getppid after a thread has exited is the parent", yes(getppid() == parent));

    /* Orphans go to the nearest subreaper: this process, on both systems. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    int report[2], started[2];
    pipe(report);
    pipe(started);
    pid_t child = fork_or_die();
    if (child == 0) {
        int seen_parent = getppid() == self;
        pid_t grandchild = fork_or_die();
        if (grandchild == 0) {
            pid_t first = getppid();
            write(started[1], "s", 1);
            /* Bounded: a getppid that never changes fails here rather than hangs. */
            for (int waited = 0; waited < 2000 && getppid() == first; waited++)
                sleep_ms(1);
            char answer[2] = {first != self ? 'y' : 'n', getppid() == self ? 'y' : 'n'};
            write(report[1], answer, 2);
            _exit(0);
        }
        char byte;
        read(started[0], &byte, 1);
        _exit(seen_parent ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    line("getppid in a child is its parent", yes(WIFEXITED(status) && WEXITSTATUS(status) == 0));
    char answer[2] = {0, 0};
    read(report[0], answer, 2);
    line("getppid of a grandchild before its parent exits is not the subreaper", yes(answer[0] == 'y'));
    line("getppid of an orphan is the subreaper", yes(answer[1] == 'y'));
    while (wait(&status) > 0)
        ;
}

/* read(fd, address, length) of a zero device: the count, and whether every byte
 * read is zero. */
static void read_zero_device(const char *what, int fd, unsigned char *address, size_t length)
{
    long count = read(fd, address, length);
    char text[80];
    if (count < 0) {
        snprintf(text, sizeof text, "%s", errno_name(errno));
    } else {
        int zeros = 1;
        for (long i = 0; i < count; i++)
            zeros &= address[i] == 0;
        snprintf(text, sizeof text, "%ld, zeros %s", count, yes(zeros));
    }
    line(what, text);
}

static void zero_devices(void)
{
    static unsigned char buffer[10000];
    long page = sysconf(_SC_PAGESIZE);
    /* Two pages, the second inaccessible; a third, read-only. */
    unsigned char *pages = mmap(0, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(pages + page, page, PROT_NONE);
    mprotect(pages + 2 * page, page, PROT_READ);
    const char *devices[] = {"/dev/zero", "/dev/full"};
    for (int d = 0; d < 2; d++) {
        int fd = open(devices[d], O_RDONLY);
        char what[80];
#define CASE(name, address, length)                                                                                    \
    snprintf(what, sizeof what, "read %s %s", devices[d], name);                                                      \
    read_zero_device(what, fd, address, length)
        memset(buffer, 0xa5, sizeof buffer);
        memset(pages, 0xa5, page);
        CASE("1 byte", buffer, 1);
        CASE("100 bytes", buffer, 100);
        memset(buffer, 0xa5, sizeof buffer);
        CASE("10000 bytes", buffer, sizeof buffer);
        CASE("0 bytes", buffer, 0);
        CASE("into NULL", 0, 1);
        CASE("into a kernel address", (unsigned char *)0xffffffff80000000ul, 1);
        CASE("across into an inaccessible page", pages + page - 10, 100);
        CASE("across 2 pages into an inaccessible one", pages + page - 10, 2 * page);
        CASE("into an inaccessible page", pages + page, 1);
        CASE("into a read-only page", pages + 2 * page, 1);
        memset(buffer, 0xa5, 100);
        struct iovec pieces[2] = {{buffer, 3}, {buffer + 50, 4}};
        long count = readv(fd, pieces, 2);
        int zeros = buffer[0] == 0 && buffer[2] == 0 && buffer[3] == 0xa5 && buffer[50] == 0 && buffer[53] == 0;
        snprintf(what, sizeof what, "readv %s", devices[d]);
        line(what, count == 7 && zeros ? "7, zeros yes" : call_result(count));
#undef CASE
        close(fd);
    }
    munmap(pages, 3 * page);
}

static void fstats(void)
{
    struct stat st;
    const char *program = "/bin/fastcalls";
    int fd = open(program, O_RDONLY);
    if (fd < 0)
        fd = open(program = "/proc/self/exe", O_RDONLY);
    line("fstat of a program", fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 ? "regular, sized"
                                                                                             : call_result(-1));
    int zero = open("/dev/zero", O_RDONLY);
    line("fstat of /dev/zero",
         fstat(zero, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 5) ? "character 1,5" : "other");
    line("fstat of a bad descriptor", call_result(syscall(SYS_fstat, 999, &st)));
    line("fstat of a negative descriptor", call_result(syscall(SYS_fstat, -1, &st)));
    line("fstat into NULL", call_result(syscall(SYS_fstat, fd, 0)));
    line("fstat into a kernel address", call_result(syscall(SYS_fstat, fd, 0xffffffff80000000ul)));
    line("fstat of a bad descriptor into NULL", call_result(syscall(SYS_fstat, 999, 0)));
    int path_only = open("/", O_PATH);
    line("fstat of an O_PATH descriptor",
         fstat(path_only, &st) == 0 && S_ISDIR(st.st_mode) ? "directory" : call_result(-1));
    /* Every field as stat reports them by path: the tree's files (made from the
     * node) and a /proc directory (made by /proc, though it names a node). */
    struct stat named;
    line("fstat of a program is its stat",
         fstat(fd, &st) == 0 && stat(program, &named) == 0 && memcmp(&st, &named, sizeof st) == 0 ? "yes" : "no");
    int proc_dir = open("/proc", O_RDONLY | O_DIRECTORY);
    line("fstat of /proc is its stat", fstat(proc_dir, &st) == 0 && stat("/proc", &named) == 0 &&
                                                    st.st_ino == named.st_ino && st.st_dev == named.st_dev &&
                                                    st.st_mode == named.st_mode
                                                ? "yes"
                                                : "no");
    close(proc_dir);
    /* The struct written straight into the page, split across two pages, into a
     * page not touched yet, and cut short by an inaccessible or read-only page:
     * every field must be stat's (by path). */
    long page = sysconf(_SC_PAGESIZE);
    char *pages = mmap(0, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(pages + 2 * page, page, PROT_NONE);
    mprotect(pages + 3 * page, page, PROT_READ);
    struct stat by_path;
    stat("/dev/zero", &by_path);
    const struct {
        const char *name;
        long offset;
    } places[] = {{"an untouched page", page + 8},
                  {"a touched page", 16},
                  {"two pages", page - 40},
                  {"a page and an inaccessible one", 2 * page - 40},
                  {"a read-only page", 3 * page + 8}};
    for (unsigned i = 0; i < sizeof places / sizeof places[0]; i++) {
        struct stat *into = (struct stat *)(pages + places[i].offset);
        char what[80];
        snprintf(what, sizeof what, "fstat into %s", places[i].name);
        long result = syscall(SYS_fstat, zero, into);
        line(what, result != 0                                 ? call_result(result)
                   : memcmp(into, &by_path, sizeof by_path) == 0 ? "stat's fields"
                                                               : "other fields");
    }
    munmap(pages, 4 * page);
    close(fd);
    close(zero);
    close(path_only);
}

static void handler(int signal) { (void)signal; }
static void other_handler(int signal) { (void)signal; }

/* The kernel's struct sigaction (rt_sigaction's layout). */
struct kernel_action {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

static void actions(void)
{
    struct sigaction action = {0}, old;
    action.sa_handler = handler;
    sigaction(SIGUSR1, &action, 0);
    action.sa_handler = other_handler;
    line("sigaction install", call_result(sigaction(SIGUSR1, &action, &old)));
    line("sigaction old action", yes(old.sa_handler == handler));
    sigaction(SIGUSR1, 0, &old);
    line("sigaction read back", yes(old.sa_handler == other_handler));
    struct kernel_action raw;
    line("rt_sigaction act NULL, old NULL", call_result(syscall(SYS_rt_sigaction, SIGUSR1, 0, 0, 8)));
    line("rt_sigaction of signal 0", call_result(syscall(SYS_rt_sigaction, 0, 0, &raw, 8)));
    line("rt_sigaction of signal 65", call_result(syscall(SYS_rt_sigaction, 65, 0, &raw, 8)));
    line("rt_sigaction of signal -1", call_result(syscall(SYS_rt_sigaction, -1, 0, &raw, 8)));
    line("rt_sigaction set size 4", call_result(syscall(SYS_rt_sigaction, SIGUSR1, 0, &raw, 4)));
    line("rt_sigaction installing for SIGKILL", call_result(syscall(SYS_rt_sigaction, SIGKILL, &raw, 0, 8)));
    line("rt_sigaction reading SIGKILL", call_result(syscall(SYS_rt_sigaction, SIGKILL, 0, &raw, 8)));
    line("rt_sigaction act from NULL+8", call_result(syscall(SYS_rt_sigaction, SIGUSR1, 8, 0, 8)));
    line("rt_sigaction act from a kernel address",
         call_result(syscall(SYS_rt_sigaction, SIGUSR1, 0xffffffff80000000ul, 0, 8)));
    raw.handler = handler;
    raw.flags = 0x04000000; /* SA_RESTORER, as musl passes it */
    raw.restorer = 0;
    raw.mask = 0;
    line("rt_sigaction old to NULL+8", call_result(syscall(SYS_rt_sigaction, SIGUSR1, &raw, 8, 8)));
    sigaction(SIGUSR1, 0, &old);
    line("rt_sigaction with a bad old still installed", yes(old.sa_handler == handler));

    uint64_t set = 0, previous = 0;
    line("rt_sigprocmask bad how", call_result(syscall(SYS_rt_sigprocmask, 7, &set, 0, 8)));
    line("rt_sigprocmask bad how, no set", call_result(syscall(SYS_rt_sigprocmask, 7, 0, &previous, 8)));
    line("rt_sigprocmask set from NULL+8", call_result(syscall(SYS_rt_sigprocmask, SIG_BLOCK, 8, 0, 8)));
    line("rt_sigprocmask old to NULL+8", call_result(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, 8, 8)));
    line("rt_sigprocmask set size 4", call_result(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, 0, 4)));
    set = 1ull << (SIGUSR2 - 1);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &set, 0, 8);
    long r = syscall(SYS_rt_sigprocmask, SIG_BLOCK, 0, &previous, 8);
    line("rt_sigprocmask read back", r == 0 && previous == set ? "USR2" : call_result(r));
    set = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &set, 0, 8);
}

static void futexes(void)
{
    static uint32_t word;
    line("FUTEX_WAKE nobody", call_result(syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0)));
    line("FUTEX_WAKE shared nobody", call_result(syscall(SYS_futex, &word, FUTEX_WAKE, 1, 0, 0, 0)));
    line("FUTEX_WAKE count 0", call_result(syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 0, 0, 0, 0)));
    line("FUTEX_WAKE unaligned", call_result(syscall(SYS_futex, (char *)&word + 1, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0)));
    line("FUTEX_WAKE unknown operation", call_result(syscall(SYS_futex, &word, 99, 1, 0, 0, 0)));
    line("FUTEX_WAKE with FUTEX_CLOCK_REALTIME",
         call_result(syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE | FUTEX_CLOCK_REALTIME, 1, 0, 0, 0)));
}

/* sched_setattr's struct (Linux's first size, 48 bytes; 56 with the utilization
 * clamps). */
struct attributes {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
};

static void attributes(void)
{
    struct attributes set = {sizeof set, 0, 0, 1, 0, 0, 0, 0}, got;
    line("sched_setattr nice 1", call_result(syscall(SYS_sched_setattr, 0, &set, 0)));
    memset(&got, 0xa5, sizeof got);
    long r = syscall(SYS_sched_getattr, 0, &got, sizeof got, 0);
    line("sched_getattr", r == 0 && got.nice == 1 && got.policy == 0 && got.size == sizeof got ? "nice 1" : call_result(r));
    line("sched_setattr from NULL", call_result(syscall(SYS_sched_setattr, 0, 0, 0)));
    line("sched_setattr flags -1", call_result(syscall(SYS_sched_setattr, 0, &set, -1)));
    line("sched_setattr of pid -1", call_result(syscall(SYS_sched_setattr, -1, &set, 0)));
    set.size = 8;
    line("sched_setattr size 8", call_result(syscall(SYS_sched_setattr, 0, &set, 0)));
    set.size = sizeof set;
    line("sched_getattr size 8", call_result(syscall(SYS_sched_getattr, 0, &got, 8, 0)));
    line("sched_getattr into NULL", call_result(syscall(SYS_sched_getattr, 0, 0, sizeof got, 0)));
    set.nice = 0;
    syscall(SYS_sched_setattr, 0, &set, 0);
}

int main(void)
{
    setvbuf(stdout, 0, _IOLBF, 0);
    if (ran_in_tester_child())
        return 0;
    parents();
    zero_devices();
    fstats();
    actions();
    futexes();
    attributes();
    line("getpid", yes(syscall(SYS_getpid) == getpid()));
    return 0;
}
