/* procself: a program reads /proc about itself, a child and a thread, and checks
 * each field against what it knows (its pid, parent, group, session, name set
 * with prctl, nice value, threads, memory, CPU time that grows). It prints one
 * line per check, the same on Linux as under timeshare, and exits with the number
 * of failures. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "include/testlib.h"

#define CHECK(what, condition)                                                                                        \
    do {                                                                                                               \
        if (condition) {                                                                                               \
            printf("ok %s\n", what);                                                                                   \
        } else {                                                                                                       \
            printf("FAIL %s\n", what);                                                                                 \
            failures++;                                                                                                \
        }                                                                                                              \
    } while (0)

/* The whole of a /proc file (they report size 0: read until the end). */
static int slurp(const char *path, char *buffer, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    size_t used = 0;
    ssize_t count;
    while (used + 1 < size && (count = read(fd, buffer + used, size - 1 - used)) > 0)
        used += (size_t)count;
    buffer[used] = 0;
    close(fd);
    return (int)used;
}

/* A stat line split into fields: fields[1] is the pid, fields[2] the name (between
 * the first '(' and the last ')'), fields[3] the state... Returns the count. */
static int stat_fields(const char *path, char fields[64][64])
{
    char line[2048];
    if (slurp(path, line, sizeof line) <= 0)
        return 0;
    char *open_paren = strchr(line, '('), *close_paren = strrchr(line, ')');
    if (!open_paren || !close_paren)
        return 0;
    *open_paren = *close_paren = 0;
    snprintf(fields[1], 64, "%.*s", (int)strcspn(line, " "), line);
    snprintf(fields[2], 64, "%s", open_paren + 1);
    int count = 2;
    for (char *field = strtok(close_paren + 1, " \n"); field && count < 63; field = strtok(NULL, " \n"))
        snprintf(fields[++count], 64, "%s", field);
    return count;
}

static long field(char fields[64][64], int number)
{
    return atol(fields[number]);
}

/* The value of `name:` in a status file, or "". */
static const char *status_value(const char *status, const char *name, char *out, size_t size)
{
    char key[64];
    snprintf(key, sizeof key, "\n%s:\t", name);
    const char *at = strncmp(status, key + 1, strlen(key + 1)) == 0 ? status - 1 : strstr(status, key);
    out[0] = 0;
    if (at) {
        at += strlen(key);
        snprintf(out, size, "%.*s", (int)strcspn(at, "\n"), at);
    }
    return out;
}

static int directory_has(const char *path, const char *name)
{
    DIR *directory = opendir(path);
    if (!directory)
        return 0;
    struct dirent *entry;
    int found = 0;
    while ((entry = readdir(directory)))
        found |= strcmp(entry->d_name, name) == 0;
    closedir(directory);
    return found;
}

static int directory_count(const char *path)
{
    DIR *directory = opendir(path);
    if (!directory)
        return -1;
    int count = 0;
    for (struct dirent *entry; (entry = readdir(directory));)
        count += entry->d_name[0] != '.';
    closedir(directory);
    return count;
}

static volatile int stop_thread;

static void *wait_for_stop(void *unused)
{
    (void)unused;
    while (!stop_thread)
        sleep_ms(5);
    return NULL;
}

static long cpu_ticks(void)
{
    char fields[64][64];
    stat_fields("/proc/self/stat", fields);
    return field(fields, 14) + field(fields, 15);
}

int main(void)
{
    char fields[64][64], text[4096], value[256], path[128];
    prctl(PR_SET_NAME, "proc) self");
    setpriority(PRIO_PROCESS, 0, 5);

    int count = stat_fields("/proc/self/stat", fields);
    CHECK("stat has 52 fields", count == 52);
    CHECK("pid", field(fields, 1) == getpid());
    CHECK("name between the first ( and the last )", strcmp(fields[2], "proc) self") == 0);
    CHECK("state R", strcmp(fields[3], "R") == 0);
    CHECK("ppid", field(fields, 4) == getppid());
    CHECK("pgrp", field(fields, 5) == getpgrp());
    CHECK("session", field(fields, 6) == getsid(0));
    CHECK("priority", field(fields, 18) == 25);
    CHECK("nice", field(fields, 19) == 5);
    CHECK("one thread", field(fields, 20) == 1);
    CHECK("vsize bytes", field(fields, 23) > 16 * 4096 && field(fields, 23) < (1L << 40));
    CHECK("rss pages", field(fields, 24) >= 0 && field(fields, 24) * 4096 <= field(fields, 23));

    long before = cpu_ticks();
    uint64_t start = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    while (now_ns(CLOCK_PROCESS_CPUTIME_ID) - start < 300000000ULL)
        ;
    long after = cpu_ticks();
    CHECK("cpu time grows (utime + stime, 100 Hz)", after - before >= 20 && after - before <= 60);

    slurp("/proc/self/status", text, sizeof text);
    CHECK("status Name", strcmp(status_value(text, "Name", value, sizeof value), "proc) self") == 0);
    CHECK("status State", strcmp(status_value(text, "State", value, sizeof value), "R (running)") == 0);
    CHECK("status Tgid", atol(status_value(text, "Tgid", value, sizeof value)) == getpid());
    CHECK("status PPid", atol(status_value(text, "PPid", value, sizeof value)) == getppid());
    CHECK("status Uid", strlen(status_value(text, "Uid", value, sizeof value)) > 0);
    CHECK("status VmRSS", strstr(status_value(text, "VmRSS", value, sizeof value), " kB") != NULL);
    CHECK("status Threads", atol(status_value(text, "Threads", value, sizeof value)) == 1);
    slurp("/proc/self/comm", text, sizeof text);
    CHECK("comm", strcmp(text, "proc) self\n") == 0);
    slurp("/proc/self/statm", text, sizeof text);
    long size = 0, resident = 0;
    CHECK("statm", sscanf(text, "%ld %ld", &size, &resident) == 2 && size > 0 && resident > 0);

    ssize_t length = readlink("/proc/self", value, sizeof value - 1);
    value[length < 0 ? 0 : length] = 0;
    CHECK("/proc/self links to the pid", atol(value) == getpid());
    length = readlink("/proc/self/exe", value, sizeof value - 1);
    value[length < 0 ? 0 : length] = 0;
    CHECK("exe names the program", length > 0 && strcmp(strrchr(value, '/'), "/procself") == 0);
    length = readlink("/proc/self/cwd", value, sizeof value - 1);
    CHECK("cwd", length == 1 && value[0] == '/');
    int pipe_ends[2];
    pipe(pipe_ends);
    snprintf(path, sizeof path, "/proc/self/fd/%d", pipe_ends[0]);
    length = readlink(path, value, sizeof value - 1);
    value[length < 0 ? 0 : length] = 0;
    struct stat pipe_stat;
    fstat(pipe_ends[0], &pipe_stat);
    char expected[64];
    snprintf(expected, sizeof expected, "pipe:[%lu]", (unsigned long)pipe_stat.st_ino);
    CHECK("fd/N of a pipe", strcmp(value, expected) == 0);
    snprintf(path, sizeof path, "%d", pipe_ends[1]);
    CHECK("fd/ lists the descriptors", directory_has("/proc/self/fd", path));
    snprintf(path, sizeof path, "/proc/self/fd/%d", pipe_ends[1]);
    int again = open(path, O_WRONLY);
    CHECK("opening fd/N reaches the same pipe", again >= 0 && write(again, "x", 1) == 1 &&
                                                    read(pipe_ends[0], value, 1) == 1 && value[0] == 'x');
    close(again);
    struct stat through;
    snprintf(path, sizeof path, "/proc/self/fd/%d", pipe_ends[0]);
    CHECK("stat follows fd/N", stat(path, &through) == 0 && through.st_ino == pipe_stat.st_ino);

    slurp("/proc/self/maps", text, sizeof text);
    CHECK("maps has the stack", strstr(text, "[stack]\n") != NULL);
    CHECK("maps has the program's code", strstr(text, " r-xp ") != NULL);
    int probe = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    read(probe, value, 5);
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", probe);
    slurp(path, text, sizeof text);
    unsigned flags = 0;
    long position = -1;
    CHECK("fdinfo", sscanf(text, "pos:\t%ld\nflags:\t%o", &position, &flags) == 2 && position == 5 &&
                        (flags & O_CLOEXEC) && (flags & O_ACCMODE) == O_RDONLY);
    snprintf(path, sizeof path, "/proc/self/fd/%d", probe);
    length = readlink(path, value, sizeof value - 1);
    value[length < 0 ? 0 : length] = 0;
    snprintf(expected, sizeof expected, "/proc/%d/stat", getpid());
    CHECK("fd/N of a /proc file names it", strcmp(value, expected) == 0);
    close(probe);
    snprintf(path, sizeof path, "%d", getpid());
    CHECK("/proc lists the pid", directory_has("/proc", path));
    CHECK("/proc lists self", directory_has("/proc", "self"));
    CHECK("no such pid", open("/proc/999999/stat", O_RDONLY) < 0 && errno == ENOENT);
    int stat_fd = open("/proc/self/stat", O_WRONLY);
    CHECK("files take no writes", stat_fd >= 0 && write(stat_fd, "x", 1) < 0 && errno == EINVAL);
    close(stat_fd);
    CHECK("nothing is created in /proc", open("/proc/new", O_CREAT | O_WRONLY, 0644) < 0 && errno == ENOENT);
    CHECK("nor in a process's directory", mkdir("/proc/self/new", 0755) < 0 && errno == ENOENT);
    CHECK("a link not followed is ELOOP", open("/proc/self/exe", O_RDONLY | O_NOFOLLOW) < 0 && errno == ELOOP);
    struct stat proc_stat;
    CHECK("stat /proc/PID is a directory of root's",
          stat("/proc/self", &proc_stat) == 0 && S_ISDIR(proc_stat.st_mode) && proc_stat.st_uid == 0);
    CHECK("lstat /proc/self is a link", lstat("/proc/self", &proc_stat) == 0 && S_ISLNK(proc_stat.st_mode));
    CHECK("files are r--r--r-- and size 0", stat("/proc/self/stat", &proc_stat) == 0 &&
                                                proc_stat.st_mode == (S_IFREG | 0444) && proc_stat.st_size == 0);

    pid_t child = fork();
    if (child == 0) {
        prctl(PR_SET_NAME, "sleeper");
        pause();
        _exit(0);
    }
    sleep_ms(100);
    snprintf(path, sizeof path, "/proc/%d/stat", child);
    stat_fields(path, fields);
    CHECK("child sleeping", strcmp(fields[2], "sleeper") == 0 && strcmp(fields[3], "S") == 0);
    CHECK("child's ppid", field(fields, 4) == getpid());
    kill(child, SIGKILL);
    sleep_ms(100);
    stat_fields(path, fields);
    CHECK("child a zombie", strcmp(fields[3], "Z") == 0);
    waitpid(child, NULL, 0);
    CHECK("reaped child gone", open(path, O_RDONLY) < 0 && errno == ENOENT);

    pthread_t thread;
    pthread_create(&thread, NULL, wait_for_stop, NULL);
    stat_fields("/proc/self/stat", fields);
    CHECK("two threads", field(fields, 20) == 2);
    CHECK("task/ lists both", directory_count("/proc/self/task") == 2);
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", getpid());
    CHECK("task/TID/stat", stat_fields(path, fields) == 52 && field(fields, 1) == getpid());
    stop_thread = 1;
    pthread_join(thread, NULL);

    slurp("/proc/meminfo", text, sizeof text);
    long total = 0, free_kb = 0;
    sscanf(strstr(text, "MemTotal:"), "MemTotal: %ld kB", &total);
    sscanf(strstr(text, "MemFree:"), "MemFree: %ld kB", &free_kb);
    CHECK("meminfo", total > 0 && free_kb > 0 && free_kb < total && strstr(text, "\nMemAvailable:") &&
                         strstr(text, "\nCached:") && strstr(text, "\nShmem:"));
    slurp("/proc/stat", text, sizeof text);
    long user = -1, nice = -1, system = -1, idle = -1;
    CHECK("stat's cpu line", sscanf(text, "cpu %ld %ld %ld %ld", &user, &nice, &system, &idle) == 4 &&
                                 user + system > 0 && strstr(text, "\ncpu0 "));
    double up = 0, idle_seconds = -1;
    slurp("/proc/uptime", text, sizeof text);
    CHECK("uptime", sscanf(text, "%lf %lf", &up, &idle_seconds) == 2 && up > 0.3 && idle_seconds >= 0);
    stat_fields("/proc/self/stat", fields);
    double running = up - field(fields, 22) / 100.0;
    CHECK("starttime: ticks since boot, a moment ago", running >= 0.3 && running < 30);
    slurp("/proc/mounts", text, sizeof text);
    CHECK("mounts has /proc", strstr(text, " /proc proc ") != NULL);
    slurp("/proc/filesystems", text, sizeof text);
    CHECK("filesystems has proc", strstr(text, "\tproc\n") != NULL);
    slurp("/proc/version", text, sizeof text);
    CHECK("version", strncmp(text, "Linux version ", 14) == 0);
    return failures;
}
