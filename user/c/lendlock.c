/* lendlock: a thread blocked on a mutex lends its lottery tickets to the owner.
 * A second thread takes a recursive mutex (musl keeps the owner's tid in its lock
 * word), the main thread, at nice -5, blocks on it, and the owner prints its own
 * /proc/self/task/TID/sched while the main thread waits, then once the main thread
 * has the lock and runs. timeshare only (Linux has no such file).
 * Exit status: 0, or 2 on an error. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "include/testlib.h"

static pthread_mutex_t lock;
static atomic_int locked, reported;

static void print_own_sched(const char *title)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/sched", (long)syscall(SYS_gettid));
    print_file(title, path);
}

static void *owner(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&lock);
    atomic_store(&locked, 1);
    /* Long enough for the main thread to block on the lock. */
    sleep_ms(50);
    print_own_sched("owner while the main thread waits");
    pthread_mutex_unlock(&lock);
    sleep_ms(50);
    print_own_sched("owner after");
    atomic_store(&reported, 1);
    return NULL;
}

int main(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&lock, &attr);
    pthread_t thread;
    if (pthread_create(&thread, NULL, owner, NULL) != 0)
        return 2;
    setpriority(PRIO_PROCESS, 0, -5);
    while (!atomic_load(&locked))
        sched_yield();
    pthread_mutex_lock(&lock);
    pthread_mutex_unlock(&lock);
    /* Runnable, not waiting, while the owner looks again (pthread_join waits on a
     * word holding the thread's tid: it would lend again). */
    while (!atomic_load(&reported))
        ;
    pthread_join(thread, NULL);
    return 0;
}
