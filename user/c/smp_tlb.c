/* smp_tlb: threads of one process change its mappings while the others use them,
 * and nobody may see a translation the change removed. Meaningful when the
 * threads run on several CPUs at once (a stale TLB entry on another CPU); on one
 * CPU it checks the same on each switch.
 *
 *   remap:     the main thread, round after round, replaces one of SLOTS pages
 *              with a fresh one (munmap then mmap, or mmap MAP_FIXED over it),
 *              writes the round's number into it and only then publishes that
 *              number; READERS threads read the slots all along. A reader that
 *              saw a slot's published number must read that number or a later
 *              one (or 0: the slot replaced again, not written yet), never an
 *              older one: that would come from the unmapped page. A read between
 *              munmap and mmap faults, and the reader goes on.
 *   protect:   a writer thread increments a counter in a page all along; the main
 *              thread makes the page read-only, and from then on the counter must
 *              not move (the writer's next write faults; its handler waits until
 *              the page is writable again).
 *
 * `smp_tlb spin MS` instead runs for MS milliseconds reading the clock (in user
 * mode but for the system calls), so that a kernel's interrupts reach it there.
 *
 * The output is Linux's; the last line is "still running". */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include "include/testlib.h"

#define PAGE 4096UL
#define SLOTS 8
#define READERS 3
#define ROUNDS 3000
#define PROTECT_ROUNDS 200

static char *slots;
static atomic_long published[SLOTS];
static atomic_int stop;
static atomic_long stale_reads;
static atomic_long reads;
static volatile long *counter;
static atomic_int read_only;

/* A reader's way back from a read of a slot between munmap and mmap. */
static __thread sigjmp_buf recover;
static __thread int recovering;

static void on_segv(int signal, siginfo_t *info, void *context)
{
    (void)signal, (void)info, (void)context;
    if (recovering)
        siglongjmp(recover, 1);
    /* The write comes again once the page is writable again. */
    while (atomic_load(&read_only))
        sched_yield();
}

static void *reader(void *unused)
{
    (void)unused;
    recovering = 1;
    while (!atomic_load(&stop)) {
        /* Volatile: the slot to go on with after a fault. */
        for (volatile int slot = 0; slot < SLOTS; slot++) {
            if (sigsetjmp(recover, 1))
                continue;
            long expected = atomic_load_explicit(&published[slot], memory_order_acquire);
            long value = *(volatile long *)(slots + slot * PAGE);
            if (value != 0 && value < expected)
                atomic_fetch_add(&stale_reads, 1);
            atomic_fetch_add_explicit(&reads, 1, memory_order_relaxed);
        }
    }
    return NULL;
}

static void remap_while_read(void)
{
    struct sigaction action = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
    sigaction(SIGSEGV, &action, NULL);
    slots = mmap(NULL, SLOTS * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (slots == MAP_FAILED) {
        printf("remap: mmap failed\n");
        return;
    }
    pthread_t threads[READERS];
    for (int i = 0; i < READERS; i++)
        pthread_create(&threads[i], NULL, reader, NULL);
    long failed_calls = 0;
    for (long round = 1; round <= ROUNDS; round++) {
        int slot = round % SLOTS;
        char *page = slots + slot * PAGE;
        if (round % 2 && munmap(page, PAGE) != 0)
            failed_calls++;
        if (mmap(page, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != page)
            failed_calls++;
        *(volatile long *)page = round;
        atomic_store_explicit(&published[slot], round, memory_order_release);
        if (round % 64 == 0)
            sched_yield();
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < READERS; i++)
        pthread_join(threads[i], NULL);
    printf("remap: %d rounds, failed calls: %ld, stale reads: %ld, readers read: %s\n", ROUNDS, failed_calls,
           atomic_load(&stale_reads), atomic_load(&reads) > 0 ? "yes" : "no");
}

static void *writer(void *unused)
{
    (void)unused;
    while (!atomic_load(&stop))
        (*counter)++;
    return NULL;
}

static void protect_while_written(void)
{
    counter = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    atomic_store(&stop, 0);
    pthread_t thread;
    pthread_create(&thread, NULL, writer, NULL);
    long moved = 0, failed_calls = 0;
    for (int round = 0; round < PROTECT_ROUNDS; round++) {
        atomic_store(&read_only, 1);
        if (mprotect((void *)counter, PAGE, PROT_READ) != 0)
            failed_calls++;
        long before = *counter;
        for (int i = 0; i < 20; i++)
            sched_yield();
        if (*counter != before)
            moved++;
        if (mprotect((void *)counter, PAGE, PROT_READ | PROT_WRITE) != 0)
            failed_calls++;
        atomic_store(&read_only, 0);
        sched_yield();
    }
    atomic_store(&stop, 1);
    pthread_join(thread, NULL);
    printf("protect: %d rounds, failed calls: %ld, writes after read-only: %ld\n", PROTECT_ROUNDS, failed_calls,
           moved);
}

static void spin(long ms)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do
        clock_gettime(CLOCK_MONOTONIC, &now);
    while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
    printf("spun %ld ms\n", ms);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "spin") == 0) {
        spin(atol(argv[2]));
        printf("still running\n");
        return 0;
    }
    remap_while_read();
    protect_while_written();
    printf("still running\n");
    return 0;
}
