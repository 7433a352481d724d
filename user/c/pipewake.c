/* pipewake: blocking on a pipe, and waking up.
 *   1. A reader blocks on an empty pipe; the parent waits until the reader has taken
 *      its start time, sleeps 50 ms, then writes. The reader gets the bytes, was
 *      blocked at least 40 ms, and used (almost) no CPU while blocked: it slept, it
 *      did not spin.
 *   2. A writer of 1 MiB blocks on a full pipe until the parent, after sleeping
 *      50 ms, drains it.
 *   3. Ping-pong: two processes pass a token back and forth 1000 times over two
 *      pipes, each blocking in read until the other writes.
 * The children check their own timings and report through their exit status, so
 * the output is the same on every run; measured times go to stderr. Exit status:
 * number of failures. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

/* Waits for `pid`; returns its exit status, or -1 (and counts a failure) if it did
 * not exit normally. */
static int exit_code(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        failures++;
        return -1;
    }
    return WEXITSTATUS(status);
}

int main(void)
{
    int data[2], ready[2];
    char c;

    /* 1. A reader blocked on an empty pipe. */
    if (pipe(data) != 0 || pipe(ready) != 0)
        return 100;
    pid_t reader = fork_or_die();
    if (reader == 0) {
        char buffer[16] = { 0 };
        close(data[1]);
        uint64_t t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
        write(ready[1], "r", 1);
        ssize_t n = read(data[0], buffer, sizeof buffer - 1);
        uint64_t t1 = now_ns(CLOCK_MONOTONIC), c1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
        fprintf(stderr, "pipewake: reader blocked %llu us, used %llu us of CPU meanwhile\n",
                (unsigned long long)(t1 - t0) / 1000, (unsigned long long)(c1 - c0) / 1000);
        int code = 0;
        if (n != 5 || strcmp(buffer, "hello") != 0)
            code |= 1;
        if (t1 - t0 < 40000000ULL)
            code |= 2;
        if (c1 - c0 > 20000000ULL)
            code |= 4;
        _exit(code);
    }
    close(data[0]);
    read(ready[0], &c, 1);
    sleep_ms(50);
    write(data[1], "hello", 5);
    close(data[1]);
    int code = exit_code(reader);
    report("reader woke with the bytes written", code >= 0 && !(code & 1));
    report("reader was blocked until they were written (>= 40 ms)", code >= 0 && !(code & 2));
    report("reader used no CPU while blocked (< 20 ms)", code >= 0 && !(code & 4));

    /* 2. A writer blocked on a full pipe. */
    if (pipe(data) != 0)
        return 100;
    pid_t writer = fork_or_die();
    if (writer == 0) {
        static unsigned char big[1024 * 1024];
        close(data[0]);
        memset(big, 0x5a, sizeof big);
        uint64_t t0 = now_ns(CLOCK_MONOTONIC);
        write(ready[1], "w", 1);
        ssize_t n = write(data[1], big, sizeof big);
        uint64_t t1 = now_ns(CLOCK_MONOTONIC);
        fprintf(stderr, "pipewake: writer blocked %llu us\n", (unsigned long long)(t1 - t0) / 1000);
        _exit((n == (ssize_t)sizeof big ? 0 : 1) | (t1 - t0 >= 40000000ULL ? 0 : 2));
    }
    close(data[1]);
    read(ready[0], &c, 1);
    sleep_ms(50);
    {
        static unsigned char buffer[65536];
        size_t total = 0, bad = 0;
        ssize_t n;
        while ((n = read(data[0], buffer, sizeof buffer)) > 0) {
            for (ssize_t i = 0; i < n; i++)
                bad += buffer[i] != 0x5a;
            total += (size_t)n;
        }
        printf("drained %zu bytes (%zu wrong)\n", total, bad);
        if (total != sizeof buffer * 16 || bad)
            failures++;
    }
    close(data[0]);
    code = exit_code(writer);
    report("writer's 1 MiB write completed", code >= 0 && !(code & 1));
    report("writer was blocked until the reader drained the pipe (>= 40 ms)", code >= 0 && !(code & 2));

    /* 3. Ping-pong. */
    {
        int ping[2], pong[2];
        unsigned token = 0;
        if (pipe(ping) != 0 || pipe(pong) != 0)
            return 100;
        pid_t partner = fork_or_die();
        if (partner == 0) {
            unsigned t;
            close(ping[1]);
            close(pong[0]);
            while (read(ping[0], &t, sizeof t) == sizeof t) {
                t++;
                write(pong[1], &t, sizeof t);
            }
            _exit(0);
        }
        close(ping[0]);
        close(pong[1]);
        uint64_t t0 = now_ns(CLOCK_MONOTONIC);
        for (int i = 0; i < 1000; i++) {
            token++;
            if (write(ping[1], &token, sizeof token) != sizeof token ||
                read(pong[0], &token, sizeof token) != sizeof token)
                break;
        }
        uint64_t t1 = now_ns(CLOCK_MONOTONIC);
        close(ping[1]);
        fprintf(stderr, "pipewake: 1000 round trips in %llu us\n", (unsigned long long)(t1 - t0) / 1000);
        printf("ping-pong token after 1000 round trips: %u\n", token);
        if (token != 2000)
            failures++;
        if (exit_code(partner) != 0)
            failures++;
        close(pong[0]);
    }

    printf("%s\n", failures ? "FAIL" : "done");
    return failures;
}
