/* getppid in every thread of a process whose parent exits: each thread answers the
 * process's new parent (the subreaper, this program, on both systems), also a thread
 * that outlived its process's first thread. One line per check, "what: yes", then
 * the tester's status and "still running"; the same on Linux and on timeshare. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

/* The subreaper's pid, the grandchild's original parent's, and the pipe a thread
 * answers on (one byte: 'y' when getppid became the subreaper, else 'n'; in
 * capitals from the first thread). */
static pid_t reaper, first_parent;
static int answers;

/* Waits (bounded: a getppid that never changes fails rather than hangs) until the
 * parent is no longer the first, and answers whether it is the subreaper now. */
static void *answer_after_reparenting(void *first_thread)
{
    for (int waited = 0; waited < 2000 && getppid() == first_parent; waited++)
        sleep_ms(1);
    char answer = getppid() == reaper ? 'y' : 'n';
    if (first_thread)
        answer -= 'a' - 'A';
    write_full(answers, &answer, 1);
    return 0;
}

/* The second thread of a process whose first has ended: it answers, and ends the
 * process (musl's exit from the last thread would wait for the first's). */
static void *answer_and_end(void *unused)
{
    (void)unused;
    answer_after_reparenting(0);
    _exit(0);
}

/* A grandchild with a second thread, whose parent exits once both threads run:
 * each thread answers (into `answers`, which gets a NUL after them). With
 * `leader_exits`, the first thread has ended first (the process lives on in its
 * second thread). */
static void orphan_threads(int leader_exits, char *answers_seen)
{
    int report[2], started[2];
    pipe(report);
    pipe(started);
    pid_t child = fork_or_die();
    if (child == 0) {
        pid_t grandchild = fork_or_die();
        if (grandchild == 0) {
            first_parent = getppid();
            answers = report[1];
            pthread_t thread;
            pthread_create(&thread, 0, leader_exits ? answer_and_end : answer_after_reparenting, 0);
            write_full(started[1], "s", 1);
            if (leader_exits)
                pthread_exit(0);
            answer_after_reparenting("first");
            pthread_join(thread, 0);
            _exit(0);
        }
        char byte;
        read_full(started[0], &byte, 1);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    close(report[1]);
    int expected = leader_exits ? 1 : 2;
    for (int i = 0; i < expected; i++)
        if (read_full(report[0], &answers_seen[i], 1) != 0)
            answers_seen[i] = '-';
    answers_seen[expected] = 0;
    /* The grandchild is this subreaper's child now: reap it. */
    while (wait(&status) > 0)
        ;
    close(report[0]);
    close(started[0]);
    close(started[1]);
}

int main(void)
{
    setvbuf(stdout, 0, _IONBF, 0);
    /* In a child: under timeshare the program itself is init, every orphan's
     * reaper already. */
    if (ran_in_tester_child())
        return 0;
    reaper = getpid();
    prctl(PR_SET_CHILD_SUBREAPER, 1);

    char seen[3];
    orphan_threads(0, seen);
    report("getppid in an orphan's first thread is the subreaper", strchr(seen, 'Y') != 0);
    report("getppid in an orphan's second thread is the subreaper", strchr(seen, 'y') != 0);

    orphan_threads(1, seen);
    report("getppid in the thread that outlived the first is the subreaper", strcmp(seen, "y") == 0);
    return failures != 0;
}
