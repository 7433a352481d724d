/* threads: POSIX threads (musl's pthreads) as a program uses them, compared line by
 * line with the Linux host pinned to one CPU. Each case runs in a child of its own
 * and prints only what does not depend on the schedule: no tids, no addresses, no
 * timings; lines come from one thread at a time, in an order fixed by joins and
 * locks.
 *
 *   threads same all|CASE...     the cases, then "still running"
 *   threads exec-probe PID       (what the execve case runs) "getpid is the old pid: yes|no"
 *   threads main-exits raw|return (what a process-end case runs) pthread_exit from main
 *
 * Creation and join with return values, detached threads (many, in waves: musl
 * unmaps a detached thread's stack from the thread itself), thread identity, the
 * synchronisation objects with producers and consumers (mutex, condition variable,
 * semaphore, rwlock, a broadcast to many waiters), signals directed at a thread and
 * at the process, an alternate signal stack per thread, how a process with several
 * threads ends (exit from a thread, pthread_exit from main, a fatal fault in a
 * thread, execve from a thread), fork from a thread, and a stack overflow into the
 * guard page. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"
#include "include/threadlib.h"

static const int named[] = { SIGSEGV, SIGKILL, SIGUSR1, 0 };

static const char *status_words(int status) { return status_in_words(status, named); }

static long tid(void) { return syscall(SYS_gettid); }

static void *join(pthread_t thread)
{
    void *result = NULL;
    int e = pthread_join(thread, &result);
    if (e)
        printf("FAIL pthread_join: %s\n", errno_name(e));
    return result;
}

/* ---- Creation, join, identity ---- */

static void *square_plus_one(void *arg)
{
    long i = (long)arg;
    return (void *)(i * i + 1);
}

static void c_create_join(void)
{
    pthread_t threads[8];
    for (long i = 0; i < 8; i++)
        threads[i] = spawn(square_plus_one, (void *)i);
    long sum = 0;
    for (int i = 0; i < 8; i++) {
        long value = (long)join(threads[i]);
        printf("thread %d returned %ld\n", i, value);
        sum += value;
    }
    printf("sum of the return values: %ld\n", sum);
}

static void *by_pthread_exit(void *arg)
{
    pthread_exit((char *)arg + 1);
}

static void c_pthread_exit_value(void)
{
    static char text[] = "xthe value given to pthread_exit";
    printf("%s\n", (char *)join(spawn(by_pthread_exit, text)));
}

struct identity {
    long pid, tid, ppid;
};

static void *who_am_i(void *arg)
{
    struct identity *me = arg;
    me->pid = getpid();
    me->tid = tid();
    me->ppid = getppid();
    return NULL;
}

static void c_identity(void)
{
    enum { N = 8 };
    struct identity them[N];
    pthread_t threads[N];
    for (int i = 0; i < N; i++)
        threads[i] = spawn(who_am_i, &them[i]);
    for (int i = 0; i < N; i++)
        join(threads[i]);
    int same_pid = 1, tid_not_pid = 1, distinct = 1, small = 1, same_ppid = 1;
    for (int i = 0; i < N; i++) {
        same_pid &= them[i].pid == getpid();
        same_ppid &= them[i].ppid == getppid();
        tid_not_pid &= them[i].tid != them[i].pid;
        small &= them[i].tid > 0 && them[i].tid < (1L << 30);
        for (int j = 0; j < i; j++)
            distinct &= them[i].tid != them[j].tid;
    }
    report("main thread: gettid == getpid", tid() == getpid());
    report("every thread: getpid the main thread's", same_pid);
    report("every thread: getppid the main thread's", same_ppid);
    report("every thread: gettid != getpid", tid_not_pid);
    report("the tids distinct", distinct);
    report("the tids positive, below 2^30", small);
    report("set_tid_address returns the caller's tid", syscall(SYS_set_tid_address, NULL) == tid());
}

/* ---- Detached threads ---- */

static atomic_long detached_ran;
static sem_t detached_done;

static void *detached_body(void *arg)
{
    atomic_fetch_add(&detached_ran, (long)arg);
    sem_post(&detached_done);
    return NULL;
}

static void c_detached(void)
{
    sem_init(&detached_done, 0, 0);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (long i = 1; i <= 10; i++) {
        pthread_t thread;
        int e = pthread_create(&thread, &attr, detached_body, (void *)i);
        if (e) {
            printf("FAIL pthread_create: %s\n", errno_name(e));
            exit(100);
        }
    }
    /* And one detached after its creation. */
    pthread_detach(spawn(detached_body, (void *)100));
    for (int i = 0; i < 11; i++)
        sem_wait(&detached_done);
    printf("11 detached threads ran, their arguments add up to %ld\n", atomic_load(&detached_ran));
}

/* Many detached threads, in waves of 20: each unmaps its own stack on the way out
 * (musl), while the next wave's are being mapped. */
static void c_many_detached(void)
{
    sem_init(&detached_done, 0, 0);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int created = 0;
    for (int wave = 0; wave < 10; wave++) {
        for (int i = 0; i < 20; i++) {
            pthread_t thread;
            int e = pthread_create(&thread, &attr, detached_body, (void *)1L);
            if (e) {
                printf("FAIL pthread_create: %s\n", errno_name(e));
                exit(100);
            }
            created++;
        }
        for (int i = 0; i < 20; i++)
            sem_wait(&detached_done);
    }
    printf("%d detached threads created, %ld ran\n", created, atomic_load(&detached_ran));
}

static void c_many_joined(void)
{
    enum { N = 64 };
    pthread_t threads[N];
    for (long i = 0; i < N; i++)
        threads[i] = spawn(square_plus_one, (void *)i);
    long sum = 0;
    for (int i = 0; i < N; i++)
        sum += (long)join(threads[i]);
    printf("64 threads at once, joined: the sum of i*i+1 is %ld\n", sum);
}

/* ---- Synchronisation: producers and consumers ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *count_up(void *arg)
{
    for (long i = 0; i < (long)arg; i++) {
        pthread_mutex_lock(&lock);
        long seen = counter;
        if ((i & 63) == 0)
            sched_yield(); /* hold the lock across a switch now and then */
        counter = seen + 1;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void c_mutex(void)
{
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        threads[i] = spawn(count_up, (void *)20000L);
    for (int i = 0; i < 4; i++)
        join(threads[i]);
    printf("4 threads x 20000 increments under a mutex: %ld\n", counter);
    printf("trylock of a free mutex: %s\n", errno_name(pthread_mutex_trylock(&lock)));
    printf("trylock of a held mutex: %s\n", errno_name(pthread_mutex_trylock(&lock)));
    pthread_mutex_unlock(&lock);
}

/* A bounded buffer of 4 slots, with a mutex and two condition variables. */
#define ITEMS 2000
#define SLOTS 4
static struct {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    long slot[SLOTS];
    int head, count;
} buffer = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, { 0 }, 0, 0 };

static void *cond_producer(void *arg)
{
    long base = (long)arg;
    for (long i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&buffer.lock);
        while (buffer.count == SLOTS)
            pthread_cond_wait(&buffer.not_full, &buffer.lock);
        buffer.slot[(buffer.head + buffer.count++) % SLOTS] = base + i;
        pthread_cond_signal(&buffer.not_empty);
        pthread_mutex_unlock(&buffer.lock);
    }
    return NULL;
}

struct consumed {
    long items, sum;
};

static void *cond_consumer(void *arg)
{
    struct consumed *got = arg;
    for (;;) {
        pthread_mutex_lock(&buffer.lock);
        while (buffer.count == 0)
            pthread_cond_wait(&buffer.not_empty, &buffer.lock);
        long item = buffer.slot[buffer.head];
        buffer.head = (buffer.head + 1) % SLOTS;
        buffer.count--;
        pthread_cond_signal(&buffer.not_full);
        pthread_mutex_unlock(&buffer.lock);
        if (item < 0)
            return NULL;
        got->items++;
        got->sum += item;
    }
}

/* Two producers, two consumers; each consumer stops at a negative item. */
static void c_condvar(void)
{
    struct consumed got[2] = { { 0, 0 }, { 0, 0 } };
    pthread_t consumers[2] = { spawn(cond_consumer, &got[0]), spawn(cond_consumer, &got[1]) };
    pthread_t producers[2] = { spawn(cond_producer, (void *)0L), spawn(cond_producer, (void *)1000000L) };
    join(producers[0]);
    join(producers[1]);
    for (int i = 0; i < 2; i++) {
        pthread_mutex_lock(&buffer.lock);
        while (buffer.count == SLOTS)
            pthread_cond_wait(&buffer.not_full, &buffer.lock);
        buffer.slot[(buffer.head + buffer.count++) % SLOTS] = -1;
        pthread_cond_signal(&buffer.not_empty);
        pthread_mutex_unlock(&buffer.lock);
    }
    join(consumers[0]);
    join(consumers[1]);
    printf("condition variables: %ld items consumed, their sum %ld\n", got[0].items + got[1].items,
           got[0].sum + got[1].sum);
}

static struct {
    sem_t empty, full;
    pthread_mutex_t lock;
    long slot[SLOTS];
    int in, out;
} ring = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *sem_producer(void *arg)
{
    long base = (long)arg;
    for (long i = 1; i <= ITEMS; i++) {
        sem_wait(&ring.empty);
        pthread_mutex_lock(&ring.lock);
        ring.slot[ring.in++ % SLOTS] = base + i;
        pthread_mutex_unlock(&ring.lock);
        sem_post(&ring.full);
    }
    return NULL;
}

static void *sem_consumer(void *arg)
{
    struct consumed *got = arg;
    for (long n = 0; n < ITEMS; n++) {
        sem_wait(&ring.full);
        pthread_mutex_lock(&ring.lock);
        long item = ring.slot[ring.out++ % SLOTS];
        pthread_mutex_unlock(&ring.lock);
        sem_post(&ring.empty);
        got->items++;
        got->sum += item;
    }
    return NULL;
}

static void c_semaphore(void)
{
    sem_init(&ring.empty, 0, SLOTS);
    sem_init(&ring.full, 0, 0);
    struct consumed got[2] = { { 0, 0 }, { 0, 0 } };
    pthread_t threads[4] = { spawn(sem_consumer, &got[0]), spawn(sem_consumer, &got[1]),
                             spawn(sem_producer, (void *)0L), spawn(sem_producer, (void *)1000000L) };
    for (int i = 0; i < 4; i++)
        join(threads[i]);
    int value;
    sem_getvalue(&ring.empty, &value);
    printf("semaphores: %ld items consumed, their sum %ld; empty slots at the end %d\n",
           got[0].items + got[1].items, got[0].sum + got[1].sum, value);
    struct timespec past = { 0, 0 };
    printf("sem_timedwait on 0, a deadline passed: %s\n",
           errno_name(sem_timedwait(&ring.full, &past) ? errno : 0));
    printf("sem_trywait on 0: %s\n", errno_name(sem_trywait(&ring.full) ? errno : 0));
}

static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static long pair[2];
static atomic_long torn_reads, reads_done;

static void *rw_writer(void *arg)
{
    for (long i = 0; i < (long)arg; i++) {
        pthread_rwlock_wrlock(&rwlock);
        pair[0]++;
        if ((i & 31) == 0)
            sched_yield();
        pair[1]++;
        pthread_rwlock_unlock(&rwlock);
    }
    return NULL;
}

static void *rw_reader(void *arg)
{
    for (long i = 0; i < (long)arg; i++) {
        pthread_rwlock_rdlock(&rwlock);
        long a = pair[0];
        if ((i & 31) == 0)
            sched_yield();
        if (pair[1] != a)
            atomic_fetch_add(&torn_reads, 1);
        pthread_rwlock_unlock(&rwlock);
        atomic_fetch_add(&reads_done, 1);
    }
    return NULL;
}

static void c_rwlock(void)
{
    pthread_t threads[6];
    for (int i = 0; i < 4; i++)
        threads[i] = spawn(rw_reader, (void *)3000L);
    for (int i = 4; i < 6; i++)
        threads[i] = spawn(rw_writer, (void *)3000L);
    for (int i = 0; i < 6; i++)
        join(threads[i]);
    printf("rwlock: %ld reads, %ld torn; the pair at the end %ld %ld\n", atomic_load(&reads_done),
           atomic_load(&torn_reads), pair[0], pair[1]);
    pthread_rwlock_rdlock(&rwlock);
    printf("tryrdlock while read-locked: %s\n", errno_name(pthread_rwlock_tryrdlock(&rwlock)));
    printf("trywrlock while read-locked: %s\n", errno_name(pthread_rwlock_trywrlock(&rwlock)));
    pthread_rwlock_unlock(&rwlock);
    pthread_rwlock_unlock(&rwlock);
}

/* 16 waiters on one condition variable, released by one broadcast. */
static pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER, arrived_cond = PTHREAD_COND_INITIALIZER;
static int waiting, go, woken;

static void *await_go(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    waiting++;
    pthread_cond_signal(&arrived_cond);
    while (!go)
        pthread_cond_wait(&go_cond, &lock);
    woken++;
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void c_broadcast(void)
{
    enum { N = 16 };
    pthread_t threads[N];
    for (int i = 0; i < N; i++)
        threads[i] = spawn(await_go, NULL);
    pthread_mutex_lock(&lock);
    while (waiting < N)
        pthread_cond_wait(&arrived_cond, &lock);
    printf("waiting before the broadcast: %d, woken: %d\n", waiting, woken);
    go = 1;
    pthread_cond_broadcast(&go_cond);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < N; i++)
        join(threads[i]);
    printf("woken by one broadcast: %d\n", woken);
}

/* ---- Signals and threads ---- */

static _Atomic long handled_by;
static atomic_int handled_count;

static void record_handler(int signal, siginfo_t *info, void *context)
{
    (void)signal, (void)info, (void)context;
    atomic_store(&handled_by, tid());
    atomic_fetch_add(&handled_count, 1);
}

/* A thread that blocks every signal but `signal` (by sigsuspend), ready when it says
 * so, and returns once a handler ran in it. */
struct waiter {
    int signal;
    atomic_long tid;
    sem_t ready;
};

static void *suspend_until_handled(void *arg)
{
    struct waiter *w = arg;
    sigset_t all, but;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    atomic_store(&w->tid, tid());
    sem_post(&w->ready);
    sigfillset(&but);
    sigdelset(&but, w->signal);
    int before = atomic_load(&handled_count);
    while (atomic_load(&handled_count) == before)
        sigsuspend(&but);
    return NULL;
}

static void block(int signal, int how)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal);
    pthread_sigmask(how, &set, NULL);
}

static long main_tid;

static void *signal_main(void *arg)
{
    (void)arg;
    syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
    return NULL;
}

static void c_thread_directed_signal(void)
{
    handle_signal(SIGUSR1, record_handler, 0);
    struct waiter w = { .signal = SIGUSR1 };
    sem_init(&w.ready, 0, 0);
    pthread_t thread = spawn(suspend_until_handled, &w);
    sem_wait(&w.ready);
    /* Not blocked here: a thread-directed signal still goes to its thread. */
    printf("pthread_kill: %s\n", errno_name(pthread_kill(thread, SIGUSR1)));
    join(thread);
    report("handled in the thread it was sent to", atomic_load(&handled_by) == atomic_load(&w.tid));

    /* tgkill at the main thread, from a thread: the handler runs in main before its
     * join returns. */
    atomic_store(&handled_by, 0);
    main_tid = tid();
    join(spawn(signal_main, NULL));
    report("tgkill from a thread: handled in the main thread", atomic_load(&handled_by) == main_tid);

    /* A thread-directed signal its thread blocks stays pending on it alone. */
    struct waiter again = { .signal = SIGUSR2 };
    sem_init(&again.ready, 0, 0);
    pthread_t blocked = spawn(suspend_until_handled, &again);
    sem_wait(&again.ready);
    block(SIGUSR1, SIG_BLOCK);
    syscall(SYS_tgkill, getpid(), atomic_load(&again.tid), SIGUSR1);
    sigset_t pending;
    sigpending(&pending);
    report("not pending in the main thread", !sigismember(&pending, SIGUSR1));
    handle_signal(SIGUSR2, record_handler, 0);
    pthread_kill(blocked, SIGUSR2);
    join(blocked);
    printf("tgkill with another process's tgid: %s\n",
           errno_name(syscall(SYS_tgkill, getppid(), atomic_load(&again.tid), SIGUSR1) ? errno : 0));
    printf("tgkill of an ended thread: %s\n",
           errno_name(syscall(SYS_tgkill, getpid(), atomic_load(&again.tid), 0) ? errno : 0));
    printf("tkill of tid 0: %s\n", errno_name(syscall(SYS_tkill, 0, SIGUSR1) ? errno : 0));
    printf("tgkill with signal 0 at self: %s\n", errno_name(syscall(SYS_tgkill, getpid(), tid(), 0) ? errno : 0));
}

/* kill(getpid()) while every thread but one blocks the signal: that one runs the
 * handler, whenever it unblocks it. */
static void c_process_directed_signal(void)
{
    handle_signal(SIGUSR2, record_handler, 0);
    block(SIGUSR2, SIG_BLOCK);
    struct waiter w = { .signal = SIGUSR2 };
    sem_init(&w.ready, 0, 0);
    pthread_t threads[3];
    threads[0] = spawn(suspend_until_handled, &w);
    sem_wait(&w.ready);
    long chosen = atomic_load(&w.tid);
    /* Two more that block it throughout (they inherit the main thread's mask). */
    struct waiter deaf = { .signal = SIGUSR1 };
    sem_init(&deaf.ready, 0, 0);
    threads[1] = spawn(suspend_until_handled, &deaf);
    sem_wait(&deaf.ready);
    threads[2] = spawn(suspend_until_handled, &deaf);
    sem_wait(&deaf.ready);
    printf("kill(getpid(), SIGUSR2): %s\n", errno_name(kill(getpid(), SIGUSR2) ? errno : 0));
    join(threads[0]);
    report("handled by the one thread that does not block it", atomic_load(&handled_by) == chosen);
    printf("handled: %d time(s)\n", atomic_load(&handled_count));
    handle_signal(SIGUSR1, record_handler, 0);
    pthread_kill(threads[1], SIGUSR1);
    join(threads[1]);
    pthread_kill(threads[2], SIGUSR1);
    join(threads[2]);

    /* Blocked everywhere: it stays pending for the process, and the main thread takes it
     * when it unblocks. */
    atomic_store(&handled_by, 0);
    kill(getpid(), SIGUSR2);
    sigset_t pending;
    sigpending(&pending);
    report("blocked by every thread: pending", sigismember(&pending, SIGUSR2));
    block(SIGUSR2, SIG_UNBLOCK);
    report("taken by the main thread once it unblocks it", atomic_load(&handled_by) == tid());
}

/* Each thread has its own alternate signal stack; a new thread starts without one. */
struct alt {
    char *stack;
    int on_it, flags_in_new_thread;
};

static __thread struct alt *my_alt;

static void on_alt_handler(int signal, siginfo_t *info, void *context)
{
    (void)signal, (void)info, (void)context;
    char here;
    my_alt->on_it = &here >= my_alt->stack && &here < my_alt->stack + SIGSTKSZ * 4;
}

static void *use_own_altstack(void *arg)
{
    struct alt *alt = arg;
    my_alt = alt;
    stack_t old;
    sigaltstack(NULL, &old);
    alt->flags_in_new_thread = old.ss_flags;
    stack_t ss = { .ss_sp = alt->stack, .ss_size = SIGSTKSZ * 4, .ss_flags = 0 };
    sigaltstack(&ss, NULL);
    pthread_kill(pthread_self(), SIGUSR1);
    return NULL;
}

static void c_sigaltstack(void)
{
    handle_signal(SIGUSR1, on_alt_handler, SA_ONSTACK);
    static char stacks[3][SIGSTKSZ * 4];
    struct alt alts[3] = { { .stack = stacks[0] }, { .stack = stacks[1] }, { .stack = stacks[2] } };
    /* The main thread's own, which its threads do not inherit. */
    my_alt = &alts[0];
    stack_t ss = { .ss_sp = stacks[0], .ss_size = sizeof stacks[0], .ss_flags = 0 };
    sigaltstack(&ss, NULL);
    pthread_t a = spawn(use_own_altstack, &alts[1]);
    join(a);
    pthread_t b = spawn(use_own_altstack, &alts[2]);
    join(b);
    raise(SIGUSR1);
    for (int i = 1; i < 3; i++) {
        printf("thread %d: started with SS_DISABLE: %s\n", i, yes(alts[i].flags_in_new_thread == SS_DISABLE));
        printf("thread %d: its handler ran on its own alternate stack: %s\n", i, yes(alts[i].on_it));
    }
    printf("main thread: its handler ran on its own alternate stack: %s\n", yes(alts[0].on_it));
}

/* ---- How a process with threads ends ---- */

static void *sleep_forever(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static void *exit_seven(void *arg)
{
    sleep_ms((long)arg);
    exit(7);
}

/* In a child: `body`; then prints how the child ended. */
static void in_child(const char *what, void (*body)(void))
{
    pid_t child = fork_or_die();
    if (child == 0) {
        body();
        _exit(99);
    }
    int status;
    waitpid(child, &status, 0);
    printf("%s: %s\n", what, status_words(status));
}

static void exit_from_a_thread(void)
{
    for (int i = 0; i < 3; i++)
        spawn(sleep_forever, NULL);
    spawn(exit_seven, (void *)20L);
    join(spawn(sleep_forever, NULL));
}

static void exit_group_raw_from_a_thread_body(void)
{
    for (int i = 0; i < 3; i++)
        spawn(sleep_forever, NULL);
    sleep_ms(10);
    syscall(SYS_exit_group, 9);
}

static void *exit_group_raw(void *arg)
{
    (void)arg;
    exit_group_raw_from_a_thread_body();
    return NULL;
}

static void exit_group_from_a_thread(void)
{
    join(spawn(exit_group_raw, NULL));
}

/* Address 8, through a variable the compiler cannot see through. */
static int *volatile unmapped = (int *)8;

static void *segfault_later(void *arg)
{
    sleep_ms((long)arg);
    *unmapped = 1;
    return NULL;
}

static void fault_in_a_thread(void)
{
    spawn(sleep_forever, NULL);
    join(spawn(segfault_later, (void *)10L));
}

static void *last_thread_out(void *arg)
{
    sleep_ms(30);
    static const char line[] = "the last thread ran on after main's pthread_exit\n";
    write(1, line, sizeof line - 1);
    /* The process ends with the last thread, and with its status (Linux since 5.19;
     * before, the main thread's 0). */
    if (arg)
        syscall(SYS_exit, 5);
    return NULL;
}

/* `threads main-exits raw|return`: the main thread calls pthread_exit while another
 * runs on, then ends by SYS_exit(5) or by returning (musl's exit(0) for the last
 * thread). A program of its own, started by execve: in a forked child, musl's main
 * thread has no clear-tid address (fork has none), and its pthread_exit would leave
 * the thread list locked for good. */
static int main_exits(const char *how)
{
    spawn(last_thread_out, !strcmp(how, "raw") ? (void *)1 : NULL);
    pthread_exit(NULL);
}

static char *self_path;

static void exec_self(char *mode, char *arg)
{
    char *argv[] = { "threads", mode, arg, NULL };
    char *envp[] = { NULL };
    execve(self_path, argv, envp);
    printf("execve: %s\n", errno_name(errno));
    exit(1);
}

static void pthread_exit_from_main_then_raw_exit(void) { exec_self("main-exits", "raw"); }
static void pthread_exit_from_main_then_return(void) { exec_self("main-exits", "return"); }

static void *kill_the_process(void *arg)
{
    (void)arg;
    sleep_ms(10);
    kill(getpid(), SIGKILL);
    return NULL;
}

static void sigkill_from_a_thread(void)
{
    for (int i = 0; i < 3; i++)
        spawn(sleep_forever, NULL);
    join(spawn(kill_the_process, NULL));
}

static void c_process_end(void)
{
    in_child("exit(7) from a thread, 4 others running", exit_from_a_thread);
    in_child("exit_group(9) from a thread, 4 others running", exit_group_from_a_thread);
    in_child("a thread stores at address 8, another running", fault_in_a_thread);
    in_child("SIGKILL to the process from a thread", sigkill_from_a_thread);
    in_child("pthread_exit from main, the last thread exits by SYS_exit(5)", pthread_exit_from_main_then_raw_exit);
    in_child("pthread_exit from main, the last thread returns", pthread_exit_from_main_then_return);
}

/* ---- execve and fork from a thread ---- */

static void *exec_from_thread(void *arg)
{
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    (void)arg;
    exec_self("exec-probe", pid);
    return NULL;
}

static void exec_from_a_thread(void)
{
    for (int i = 0; i < 2; i++)
        spawn(sleep_forever, NULL);
    join(spawn(exec_from_thread, NULL));
}

static int exec_probe(const char *old_pid)
{
    printf("after execve from a thread: getpid is the old pid: %s\n", yes(getpid() == atol(old_pid)));
    printf("after execve from a thread: gettid == getpid: %s\n", yes(tid() == getpid()));
    /* The new program has one thread, which can make more. */
    printf("after execve from a thread: a new thread returns %ld\n", (long)join(spawn(square_plus_one, (void *)3L)));
    return 4;
}

static void c_exec(void) { in_child("execve from a thread, 2 others running", exec_from_a_thread); }

static atomic_long spins;

static void *spin_counting(void *arg)
{
    (void)arg;
    for (;;)
        atomic_fetch_add(&spins, 1);
    return NULL;
}

static void *fork_from_thread(void *arg)
{
    (void)arg;
    pid_t child = fork_or_die();
    if (child == 0) {
        /* The child: one thread, the one that forked, now its process's main thread. */
        long before = atomic_load(&spins);
        sleep_ms(20);
        int alone = atomic_load(&spins) == before;
        int leader = tid() == getpid();
        long r = (long)join(spawn(square_plus_one, (void *)5L));
        _exit(alone && leader && r == 26 ? 3 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    return (void *)(long)status;
}

static void c_fork_from_thread(void)
{
    spawn(spin_counting, NULL);
    int status = (int)(long)join(spawn(fork_from_thread, NULL));
    printf("fork from a thread, a spinning thread beside it: the child (one thread, its own main, "
           "can make threads) %s\n",
           status_words(status));
    long before = atomic_load(&spins);
    sleep_ms(20);
    report("the parent's spinning thread still runs", atomic_load(&spins) != before);
}

/* ---- Stacks ---- */

static long deeper(long n)
{
    volatile char frame[256];
    frame[0] = (char)n;
    return n ? deeper(n - 1) + frame[0] : 0;
}

static void *overflow(void *arg)
{
    (void)arg;
    return (void *)deeper(1L << 30);
}

static void overflow_a_thread_stack(void)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_t thread;
    if (pthread_create(&thread, &attr, overflow, NULL) == 0)
        join(thread);
}

static void *use_stack(void *arg)
{
    volatile char big[200 * 1024];
    big[0] = 1;
    big[sizeof big - 1] = (char)(long)arg;
    return (void *)(long)(big[0] + big[sizeof big - 1]);
}

static void c_stacks(void)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1024 * 1024);
    pthread_t thread;
    int e = pthread_create(&thread, &attr, use_stack, (void *)41L);
    printf("a thread with a 1 MiB stack: %s\n", errno_name(e));
    if (!e)
        printf("  it used 200 KiB of it and returned %ld\n", (long)join(thread));
    in_child("a thread with a 64 KiB stack recurses without end", overflow_a_thread_stack);
}

static const struct grouped_case cases[] = {
    { "same", "create-join", c_create_join },
    { "same", "pthread-exit-value", c_pthread_exit_value },
    { "same", "identity", c_identity },
    { "same", "detached", c_detached },
    { "same", "many-detached", c_many_detached },
    { "same", "many-joined", c_many_joined },
    { "same", "mutex", c_mutex },
    { "same", "condvar", c_condvar },
    { "same", "semaphore", c_semaphore },
    { "same", "rwlock", c_rwlock },
    { "same", "broadcast", c_broadcast },
    { "same", "thread-signal", c_thread_directed_signal },
    { "same", "process-signal", c_process_directed_signal },
    { "same", "sigaltstack", c_sigaltstack },
    { "same", "process-end", c_process_end },
    { "same", "exec", c_exec },
    { "same", "fork", c_fork_from_thread },
    { "same", "stacks", c_stacks },
};
#define CASES (sizeof cases / sizeof cases[0])

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "exec-probe")) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        return exec_probe(argv[2]);
    }
    if (argc == 3 && !strcmp(argv[1], "main-exits"))
        return main_exits(argv[2]);
    /* The execve case runs this program again: argv[0] (/bin/threads under timeshare),
     * or where that names no file (the host), /proc/self/exe. */
    self_path = argv[0];
    if (access(self_path, X_OK) != 0)
        self_path = "/proc/self/exe";
    return run_grouped_cases(cases, CASES, argc, argv, "threads", status_words);
}
