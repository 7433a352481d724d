/* pipebig: 1 MiB through a pipe between two processes, written and read in odd-sized
 * chunks, checked with an FNV-1a checksum; EOF once the writer has closed its end; a
 * blocking write returns its full count; with no reader left a writer gets SIGPIPE
 * (default action: killed) or, with SIGPIPE blocked, EPIPE. The output is the same on
 * every run and the exit status is the number of failures. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

#define TOTAL (1024 * 1024)

static void check(int ok, const char *what)
{
    if (!ok) {
        printf("FAIL %s\n", what);
        failures++;
    }
}

/* The byte stream: xorshift64, one byte per step. */
static uint64_t state;
static void stream_reset(void) { state = 0x9e3779b97f4a7c15ULL; }
static unsigned char stream_next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (unsigned char)(state >> 32);
}

static uint64_t fnv1a(uint64_t hash, const unsigned char *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        hash ^= bytes[i];
        hash *= 0x100000001b3ULL;
    }
    return hash;
}
#define FNV_OFFSET 0xcbf29ce484222325ULL

static const char *wait_for(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        failures++;
        return "wait failed";
    }
    return describe(status);
}

/* The writer: TOTAL bytes in chunks of odd sizes; exit status 0, or 1 if a write
 * returned less than asked (a blocking pipe write returns its full count), 2 if one
 * failed. */
static void writer(int fd)
{
    static const size_t sizes[] = { 1, 3, 4093, 4096, 4097, 65535, 65536, 65537, 100000, 7, 511 };
    static unsigned char chunk[100000];
    size_t sent = 0, k = 0;
    int short_writes = 0;

    stream_reset();
    while (sent < TOTAL) {
        size_t n = sizes[k++ % (sizeof sizes / sizeof sizes[0])];
        if (n > TOTAL - sent)
            n = TOTAL - sent;
        for (size_t i = 0; i < n; i++)
            chunk[i] = stream_next();
        size_t done = 0;
        while (done < n) {
            ssize_t w = write(fd, chunk + done, n - done);
            if (w < 0) {
                fprintf(stderr, "pipebig: write: %s\n", strerror(errno));
                _exit(2);
            }
            if ((size_t)w != n - done)
                short_writes++;
            done += (size_t)w;
        }
        sent += n;
    }
    close(fd);
    _exit(short_writes ? 1 : 0);
}

int main(void)
{
    int p[2];

    /* 1. The transfer. */
    stream_reset();
    uint64_t expected = FNV_OFFSET;
    for (size_t i = 0; i < TOTAL; i++) {
        unsigned char b = stream_next();
        expected = fnv1a(expected, &b, 1);
    }

    check(pipe(p) == 0, "pipe");
    pid_t child = fork_or_die();
    if (child == 0) {
        close(p[0]);
        writer(p[1]);
    }
    close(p[1]);
    {
        static const size_t sizes[] = { 5, 4099, 65536, 131072, 1, 777 };
        static unsigned char buffer[131072];
        size_t received = 0, k = 0;
        uint64_t hash = FNV_OFFSET;
        ssize_t r;
        for (;;) {
            r = read(p[0], buffer, sizes[k++ % (sizeof sizes / sizeof sizes[0])]);
            if (r <= 0)
                break;
            hash = fnv1a(hash, buffer, (size_t)r);
            received += (size_t)r;
        }
        check(r == 0, "read ended with an error, not EOF");
        printf("received %zu bytes, fnv1a %016llx (%s)\n", received, (unsigned long long)hash,
               hash == expected && received == TOTAL ? "matches" : "MISMATCH");
        check(hash == expected && received == TOTAL, "checksum");
        printf("then read returns %zd (EOF)\n", read(p[0], buffer, 10));
        printf("writer (1 if a blocking write was short): %s\n", wait_for(child));
        close(p[0]);
    }

    /* 2. No reader at all: the writer is killed by SIGPIPE. */
    check(pipe(p) == 0, "pipe");
    close(p[0]);
    child = fork_or_die();
    if (child == 0) {
        write(p[1], "x", 1);
        _exit(0);
    }
    close(p[1]);
    printf("write with no reader: %s\n", wait_for(child));

    /* 3. The same with SIGPIPE blocked: write fails with EPIPE instead. */
    check(pipe(p) == 0, "pipe");
    close(p[0]);
    child = fork_or_die();
    if (child == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        sigprocmask(SIG_BLOCK, &set, NULL);
        ssize_t w = write(p[1], "x", 1);
        _exit(w == -1 && errno == EPIPE ? 0 : 1);
    }
    close(p[1]);
    printf("write with no reader, SIGPIPE blocked (0 if EPIPE): %s\n", wait_for(child));

    /* 4. A writer blocked on a full pipe when the last reader goes: SIGPIPE. */
    check(pipe(p) == 0, "pipe");
    child = fork_or_die();
    if (child == 0) {
        static unsigned char big[TOTAL];
        close(p[0]);
        write(p[1], big, sizeof big);
        _exit(0);
    }
    close(p[1]);
    {
        char buffer[10];
        check(read(p[0], buffer, sizeof buffer) == sizeof buffer, "read 10 bytes");
        close(p[0]);
    }
    printf("writer blocked on a full pipe, reader gone: %s\n", wait_for(child));

    printf("%s\n", failures ? "FAIL" : "done");
    return failures;
}
