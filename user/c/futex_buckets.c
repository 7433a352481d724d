/* futex_buckets: futex waits whose record moves between the kernel's hashed buckets
 * (a requeue to another word), then ends by a signal, a deadline, a wake or the
 * process's exit; and waiters on many words at once (some of them sharing a
 * bucket), each woken by its own word only. Compared line by line with the Linux
 * host pinned to one CPU.
 *
 *   futex_buckets same all|CASE...
 *
 * Waiters are known to be asleep in FUTEX_WAIT only by time: they say they are about
 * to wait, and the main thread then sleeps 100 ms, which on one CPU lets every one
 * of them run into the call. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "include/futex.h"
#include "include/testlib.h"
#include "include/threadlib.h"

static const int named[] = { SIGKILL, 0 };

static const char *status_words(int status) { return status_in_words(status, named); }

struct waiter {
    _Atomic int *word;
    struct timespec timeout; /* { 0, 0 }: none */
    atomic_int *about_to_wait;
    long result;
};

static void *wait_on_word(void *arg)
{
    struct waiter *w = arg;
    atomic_fetch_add(w->about_to_wait, 1);
    int timed = w->timeout.tv_sec || w->timeout.tv_nsec;
    long r = futex(w->word, FUTEX_WAIT_PRIVATE, 0, timed ? &w->timeout : NULL, NULL, 0);
    w->result = r < 0 ? -errno : r;
    return NULL;
}

/* Starts `n` waiters, the i-th on `words[i]` (or all on `words[0]` if `one_word`),
 * and returns once they are asleep. */
static void start_waiters(pthread_t *threads, struct waiter *waiters, int n, _Atomic int *words, int one_word,
                          struct timespec timeout)
{
    static atomic_int about_to_wait;
    atomic_store(&about_to_wait, 0);
    for (int i = 0; i < n; i++) {
        waiters[i] = (struct waiter){ one_word ? words : &words[i], timeout, &about_to_wait, 1 };
        threads[i] = spawn(wait_on_word, &waiters[i]);
    }
    while (atomic_load(&about_to_wait) < n)
        sched_yield();
    sleep_ms(100);
}

static const struct timespec no_timeout = { 0, 0 };

/* The word a waiter is requeued from, and the ones it is moved to: far apart, so
 * that (whatever the hash) at least one of them is in another bucket. */
static _Atomic int from_word, to_words[1024];
static _Atomic int *const targets[] = { &to_words[0], &to_words[333], &to_words[777] };
#define TARGETS (sizeof targets / sizeof targets[0])

static void on_signal(int signal, siginfo_t *info, void *context) { (void)signal, (void)info, (void)context; }

static void c_requeued_then_signalled(void)
{
    handle_signal(SIGUSR1, on_signal, 0);
    for (size_t t = 0; t < TARGETS; t++) {
        pthread_t thread;
        struct waiter w;
        start_waiters(&thread, &w, 1, &from_word, 1, no_timeout);
        printf("a waiter on A; REQUEUE wake 0, move 1 to B%zu: %s\n", t,
               call_result(futex(&from_word, FUTEX_REQUEUE_PRIVATE, 0, (void *)1L, targets[t], 0)));
        pthread_kill(thread, SIGUSR1);
        pthread_join(thread, NULL);
        printf("  then a signal with a handler (no SA_RESTART): its WAIT returned %s\n", errno_name((int)-w.result));
        printf("  then WAKE on B%zu: %s\n", t, call_result(futex(targets[t], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0)));
    }
}

static void c_requeued_then_timed_out(void)
{
    for (size_t t = 0; t < TARGETS; t++) {
        pthread_t thread;
        struct waiter w;
        start_waiters(&thread, &w, 1, &from_word, 1, (struct timespec){ 0, 300000000 });
        printf("a waiter on A for 300 ms; REQUEUE wake 0, move 1 to B%zu: %s\n", t,
               call_result(futex(&from_word, FUTEX_REQUEUE_PRIVATE, 0, (void *)1L, targets[t], 0)));
        pthread_join(thread, NULL);
        printf("  its WAIT returned %s\n", errno_name((int)-w.result));
        printf("  then WAKE on B%zu: %s\n", t, call_result(futex(targets[t], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0)));
    }
}

static void c_requeued_then_woken(void)
{
    enum { N = 3 };
    pthread_t threads[N];
    struct waiter waiters[N];
    start_waiters(threads, waiters, N, &from_word, 1, no_timeout);
    printf("3 waiters on A; CMP_REQUEUE wake 1, move 2 to B: %s\n",
           call_result(futex(&from_word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)2L, targets[2], 0)));
    printf("WAKE 1 on A: %s\n", call_result(futex(&from_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0)));
    printf("WAKE INT_MAX on B: %s\n", call_result(futex(targets[2], FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0)));
    int zero = 1;
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        zero &= waiters[i].result == 0;
    }
    printf("every waiter's WAIT returned 0: %s\n", yes(zero));
}

/* The process exits while a thread sleeps on the word it was requeued to: the
 * exit must find it there and end it (the case's process then exits 0). */
static void c_requeued_then_exit(void)
{
    pthread_t thread;
    struct waiter w;
    start_waiters(&thread, &w, 1, &from_word, 1, no_timeout);
    printf("a waiter on A; REQUEUE wake 0, move 1 to B, then exit: %s\n",
           call_result(futex(&from_word, FUTEX_REQUEUE_PRIVATE, 0, (void *)1L, targets[1], 0)));
}

/* 64 waiters, each on its own word of one array: 64 words over fewer buckets, so
 * some share one; each wake meets its own word's waiter only. */
static void c_many_words(void)
{
    enum { N = 64 };
    static _Atomic int words[N];
    pthread_t threads[N];
    struct waiter waiters[N];
    start_waiters(threads, waiters, N, words, 0, no_timeout);
    int each_one = 1, then_none = 1;
    for (int i = N - 1; i >= 0; i--) {
        each_one &= futex(&words[i], FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0) == 1;
        then_none &= futex(&words[i], FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0) == 0;
    }
    printf("64 waiters on 64 words; WAKE INT_MAX on each, last first, woke one: %s\n", yes(each_one));
    printf("  a second WAKE on each woke none: %s\n", yes(then_none));
    int zero = 1;
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        zero &= waiters[i].result == 0;
    }
    printf("every waiter's WAIT returned 0: %s\n", yes(zero));
}

static const struct grouped_case cases[] = {
    { "same", "requeued-then-signalled", c_requeued_then_signalled },
    { "same", "requeued-then-timed-out", c_requeued_then_timed_out },
    { "same", "requeued-then-woken", c_requeued_then_woken },
    { "same", "requeued-then-exit", c_requeued_then_exit },
    { "same", "many-words", c_many_words },
};
#define CASES (sizeof cases / sizeof cases[0])

int main(int argc, char **argv)
{
    return run_grouped_cases(cases, CASES, argc, argv, "futex_buckets", status_words);
}
