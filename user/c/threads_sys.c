/* threads_sys: the system calls under threads, called directly, compared line by line
 * with the Linux host pinned to one CPU: futex (WAIT, WAKE, REQUEUE, CMP_REQUEUE,
 * WAKE_OP, WAIT_BITSET/WAKE_BITSET with FUTEX_CLOCK_REALTIME, timeouts and errors),
 * clone with a raw stack (CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID's clear and
 * wake, flag combinations Linux refuses), robust mutexes whose owner dies (musl's own
 * walk, and the kernel's walk of the robust list), clone3, thread names and nice
 * values per thread, sched_getaffinity, membarrier and rseq.
 *
 *   threads_sys same all|CASE...     the cases, then "still running"
 *
 * Waiters are known to be asleep in FUTEX_WAIT only by time: they say they are about
 * to wait, and the main thread then sleeps 100 ms, which on one CPU lets every one
 * of them run into the call. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/futex.h"
#include "include/rawthread.h"
#include "include/testlib.h"
#include "include/threadlib.h"

static const int named[] = { SIGSEGV, SIGKILL, 0 };

static const char *status_words(int status) { return status_in_words(status, named); }

static long join(pthread_t thread)
{
    void *value = NULL;
    pthread_join(thread, &value);
    return (long)value;
}

/* ---- futex: errors ---- */

static void c_futex_errors(void)
{
    static _Alignas(8) int word[2];
    struct timespec zero = { 0, 0 }, ten_ms = { 0, 10000000 }, bad_ns = { 0, 1000000000 }, negative = { -1, 0 };
    void *unmapped = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(unmapped, 4096);
    printf("WAIT, the word not the value: %s\n", call_result(futex(word, FUTEX_WAIT, 1, NULL, NULL, 0)));
    printf("WAIT_PRIVATE, the word not the value: %s\n",
           call_result(futex(word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0)));
    uint64_t start = now_ns(CLOCK_MONOTONIC);
    printf("WAIT 10 ms: %s\n", call_result(futex(word, FUTEX_WAIT, 0, &ten_ms, NULL, 0)));
    printf("  at least 10 ms went by: %s\n", yes(now_ns(CLOCK_MONOTONIC) - start >= 10000000));
    printf("WAIT 0 ns: %s\n", call_result(futex(word, FUTEX_WAIT, 0, &zero, NULL, 0)));
    printf("WAIT, tv_nsec 1e9: %s\n", call_result(futex(word, FUTEX_WAIT, 0, &bad_ns, NULL, 0)));
    printf("WAIT, tv_sec -1: %s\n", call_result(futex(word, FUTEX_WAIT, 0, &negative, NULL, 0)));
    printf("WAIT, the timeout at an unmapped address: %s\n", call_result(futex(word, FUTEX_WAIT, 0, unmapped, NULL, 0)));
    printf("WAIT, unaligned: %s\n", call_result(futex((char *)word + 1, FUTEX_WAIT, 0, &zero, NULL, 0)));
    printf("WAKE, unaligned: %s\n", call_result(futex((char *)word + 2, FUTEX_WAKE, 1, NULL, NULL, 0)));
    printf("WAIT at NULL: %s\n", call_result(futex(NULL, FUTEX_WAIT, 0, &zero, NULL, 0)));
    printf("WAIT at an unmapped address: %s\n", call_result(futex(unmapped, FUTEX_WAIT, 0, &zero, NULL, 0)));
    printf("WAIT at a kernel address: %s\n",
           call_result(futex((void *)0xffffffff80000000UL, FUTEX_WAIT, 0, &zero, NULL, 0)));
    printf("WAKE_PRIVATE at an unmapped address: %s\n",
           call_result(futex(unmapped, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0)));
    printf("WAKE, no waiter: %s\n", call_result(futex(word, FUTEX_WAKE, 1, NULL, NULL, 0)));
    printf("WAKE 0, no waiter: %s\n", call_result(futex(word, FUTEX_WAKE, 0, NULL, NULL, 0)));
    printf("WAKE with FUTEX_CLOCK_REALTIME: %s\n",
           call_result(futex(word, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0)));
    printf("WAIT_BITSET, bitset 0: %s\n", call_result(futex(word, FUTEX_WAIT_BITSET, 0, &zero, NULL, 0)));
    printf("WAKE_BITSET, bitset 0: %s\n", call_result(futex(word, FUTEX_WAKE_BITSET, 1, NULL, NULL, 0)));
    printf("REQUEUE, nr_wake -1: %s\n", call_result(futex(word, FUTEX_REQUEUE, -1, (void *)1, word + 1, 0)));
    printf("CMP_REQUEUE, the word not val3: %s\n",
           call_result(futex(word, FUTEX_CMP_REQUEUE, 1, (void *)1, word + 1, 5)));
    printf("WAKE_OP, operation 7: %s\n",
           call_result(futex(word, FUTEX_WAKE_OP, 1, (void *)1, word + 1, FUTEX_OP(7, 0, FUTEX_OP_CMP_EQ, 0))));
    printf("WAKE_OP, the second word unmapped: %s\n",
           call_result(futex(word, FUTEX_WAKE_OP, 1, (void *)1, unmapped, FUTEX_OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_EQ, 0))));
    printf("operation 99: %s\n", call_result(futex(word, 99, 0, NULL, NULL, 0)));
}

/* ---- futex: waiters woken, requeued ---- */

struct waiter {
    _Atomic int *word;
    int op;
    unsigned bitset;
    atomic_int *about_to_wait;
    long result;
};

static void *wait_on_word(void *arg)
{
    struct waiter *w = arg;
    atomic_fetch_add(w->about_to_wait, 1);
    long r = futex(w->word, w->op, 0, NULL, NULL, w->bitset);
    w->result = r < 0 ? -errno : r;
    return NULL;
}

/* Starts `n` waiters on `word` with `op` (bitset for WAIT_BITSET) and returns once
 * they are asleep in it. */
static void start_waiters(pthread_t *threads, struct waiter *waiters, int n, _Atomic int *word, int op,
                          unsigned bitset)
{
    static atomic_int about_to_wait;
    atomic_store(&about_to_wait, 0);
    for (int i = 0; i < n; i++) {
        waiters[i] = (struct waiter){ word, op, bitset, &about_to_wait, 1 };
        threads[i] = spawn(wait_on_word, &waiters[i]);
    }
    while (atomic_load(&about_to_wait) < n)
        sched_yield();
    sleep_ms(100);
}

/* "yes" when each of the `n` waiters' FUTEX_WAIT returned 0. */
static const char *all_returned_zero(pthread_t *threads, struct waiter *waiters, int n)
{
    int zero = 1;
    for (int i = 0; i < n; i++) {
        join(threads[i]);
        zero &= waiters[i].result == 0;
    }
    return yes(zero);
}

static void c_futex_wake(void)
{
    enum { N = 5 };
    static _Atomic int word;
    pthread_t threads[N];
    struct waiter waiters[N];
    start_waiters(threads, waiters, N, &word, FUTEX_WAIT_PRIVATE, 0);
    printf("5 waiters; WAKE 1: %s\n", call_result(futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0)));
    printf("WAKE 2: %s\n", call_result(futex(&word, FUTEX_WAKE_PRIVATE, 2, NULL, NULL, 0)));
    printf("WAKE INT_MAX: %s\n", call_result(futex(&word, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0)));
    printf("WAKE INT_MAX again: %s\n", call_result(futex(&word, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0)));
    printf("every waiter's WAIT returned 0: %s\n", all_returned_zero(threads, waiters, N));

    /* The thread exit's wake is a shared FUTEX_WAKE, which waiters of either kind
     * must get (musl waits for it privately). */
    start_waiters(threads, waiters, 2, &word, FUTEX_WAIT_PRIVATE, 0);
    start_waiters(threads + 2, waiters + 2, 2, &word, FUTEX_WAIT, 0);
    printf("2 private and 2 shared waiters; shared WAKE INT_MAX: %s\n",
           call_result(futex(&word, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0)));
    printf("private WAKE INT_MAX: %s\n", call_result(futex(&word, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0)));
    printf("every waiter's WAIT returned 0: %s\n", all_returned_zero(threads, waiters, 4));
}

static void c_futex_requeue(void)
{
    enum { N = 6 };
    static _Atomic int a, b;
    pthread_t threads[N];
    struct waiter waiters[N];
    start_waiters(threads, waiters, N, &a, FUTEX_WAIT_PRIVATE, 0);
    printf("6 waiters on A; REQUEUE wake 1, move 2 to B: %s\n",
           call_result(futex(&a, FUTEX_REQUEUE_PRIVATE, 1, (void *)2L, &b, 0)));
    printf("CMP_REQUEUE, A is not 1: %s\n", call_result(futex(&a, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1L, &b, 1)));
    printf("CMP_REQUEUE wake 1, move 1 to B, A is 0: %s\n",
           call_result(futex(&a, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1L, &b, 0)));
    printf("CMP_REQUEUE wake 0, move 0: %s\n", call_result(futex(&a, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)0L, &b, 0)));
    printf("WAKE INT_MAX on A: %s\n", call_result(futex(&a, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0)));
    printf("WAKE INT_MAX on B: %s\n", call_result(futex(&b, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0)));
    printf("every waiter's WAIT returned 0: %s\n", all_returned_zero(threads, waiters, N));
}

static void c_futex_wake_op(void)
{
    static _Atomic int a, b;
    pthread_t threads[4];
    struct waiter waiters[4];
    start_waiters(threads, waiters, 2, &a, FUTEX_WAIT_PRIVATE, 0);
    start_waiters(threads + 2, waiters + 2, 2, &b, FUTEX_WAIT_PRIVATE, 0);
    printf("2 waiters on A, 2 on B; WAKE_OP 1 on A, B = 1, 1 on B if B was 0: %s\n",
           call_result(futex(&a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &b, FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0))));
    printf("  B: %d\n", atomic_load(&b));
    printf("WAKE_OP 1 on A, B += 5, 1 on B if B was > 100: %s\n",
           call_result(futex(&a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &b, FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_GT, 100))));
    printf("  B: %d\n", atomic_load(&b));
    printf("WAKE_OP 1 on A, B = 1<<4 (OPARG_SHIFT), 1 on B if B was > 5: %s\n",
           call_result(futex(&a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &b,
                        FUTEX_OP(FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT, 4, FUTEX_OP_CMP_GT, 5))));
    printf("  B: %d\n", atomic_load(&b));
    printf("every waiter's WAIT returned 0: %s\n", all_returned_zero(threads, waiters, 4));
}

static void c_futex_bitset(void)
{
    static _Atomic int word;
    struct timespec deadline;
    /* Before the deadline's base: the wait may end the moment the deadline passes. */
    uint64_t start = now_ns(CLOCK_MONOTONIC);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += 30000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    printf("WAIT_BITSET until CLOCK_REALTIME + 30 ms: %s\n",
           call_result(futex(&word, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, 0, &deadline, NULL, FUTEX_BITSET_MATCH_ANY)));
    printf("  at least 30 ms went by: %s\n", yes(now_ns(CLOCK_MONOTONIC) - start >= 30000000));
    struct timespec monotonic;
    clock_gettime(CLOCK_MONOTONIC, &monotonic);
    monotonic.tv_sec += 0;
    monotonic.tv_nsec = monotonic.tv_nsec >= 980000000 ? 999999999 : monotonic.tv_nsec + 20000000;
    start = now_ns(CLOCK_MONOTONIC);
    printf("WAIT_BITSET until CLOCK_MONOTONIC + up to 20 ms: %s\n",
           call_result(futex(&word, FUTEX_WAIT_BITSET, 0, &monotonic, NULL, FUTEX_BITSET_MATCH_ANY)));
    struct timespec past = { 1, 0 };
    printf("WAIT_BITSET until a CLOCK_REALTIME past: %s\n",
           call_result(futex(&word, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, 0, &past, NULL, FUTEX_BITSET_MATCH_ANY)));
    printf("WAIT_BITSET until a CLOCK_MONOTONIC past: %s\n",
           call_result(futex(&word, FUTEX_WAIT_BITSET, 0, &past, NULL, FUTEX_BITSET_MATCH_ANY)));

    pthread_t threads[2];
    struct waiter waiters[2];
    start_waiters(threads, waiters, 1, &word, FUTEX_WAIT_BITSET_PRIVATE, 0x1);
    start_waiters(threads + 1, waiters + 1, 1, &word, FUTEX_WAIT_BITSET_PRIVATE, 0x6);
    printf("waiters with bitsets 0x1 and 0x6; WAKE_BITSET 0x8: %s\n",
           call_result(futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 2, NULL, NULL, 0x8)));
    printf("WAKE_BITSET 0x2: %s\n", call_result(futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 2, NULL, NULL, 0x2)));
    printf("plain WAKE (every bit): %s\n", call_result(futex(&word, FUTEX_WAKE_PRIVATE, 2, NULL, NULL, 0)));
    printf("every waiter's WAIT returned 0: %s\n", all_returned_zero(threads, waiters, 2));
}

/* A signal with a handler (no SA_RESTART) ends a FUTEX_WAIT with EINTR. */
static void on_signal(int signal, siginfo_t *info, void *context) { (void)signal, (void)info, (void)context; }

static void c_futex_interrupted(void)
{
    static _Atomic int word;
    handle_signal(SIGUSR1, on_signal, 0);
    pthread_t thread;
    struct waiter w;
    start_waiters(&thread, &w, 1, &word, FUTEX_WAIT_PRIVATE, 0);
    pthread_kill(thread, SIGUSR1);
    join(thread);
    printf("a signal with a handler during WAIT: %s\n", errno_name((int)-w.result));
}

/* ---- clone, raw ---- */

struct raw_seen {
    long pid, tid;
    int child_tid_at_start;
    int *child_tid;
};

static long record_identity(void *arg)
{
    struct raw_seen *seen = arg;
    seen->pid = sys0(SYS_getpid);
    seen->tid = sys0(SYS_gettid);
    seen->child_tid_at_start = *seen->child_tid;
    return 0;
}

static char *raw_stack(void)
{
    char *stack = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED) {
        printf("FAIL mmap: %s\n", errno_name(errno));
        exit(100);
    }
    return stack + 65536;
}

/* Waits for the kernel's CLONE_CHILD_CLEARTID: the word cleared, then woken; true
 * when that came within 5 s. */
static int await_cleared(_Atomic int *word)
{
    struct timespec second = { 1, 0 };
    int value;
    for (int waits = 0; (value = atomic_load(word)) != 0; waits++) {
        if (waits == 5)
            return 0;
        futex(word, FUTEX_WAIT, value, &second, NULL, 0);
    }
    return 1;
}

static void c_raw_clone(void)
{
    static _Atomic int parent_tid, child_tid;
    static struct raw_seen seen;
    atomic_store(&child_tid, -1);
    seen.child_tid = (int *)&child_tid;
    long tid = raw_thread(RAW_THREAD_FLAGS, raw_stack(), (int *)&parent_tid, (int *)&child_tid, 0, record_identity,
                          &seen);
    if (tid < 0) {
        printf("clone with the flags of a thread: %s\n", errno_name((int)-tid));
        return;
    }
    int cleared = await_cleared(&child_tid);
    printf("clone with the flags of a thread: a thread; CLONE_PARENT_SETTID wrote its tid: %s\n",
           yes(atomic_load(&parent_tid) == tid));
    printf("  its getpid ours: %s; its gettid what clone returned: %s\n", yes(seen.pid == getpid()),
           yes(seen.tid == tid));
    printf("  CLONE_CHILD_CLEARTID: the word cleared at its exit: %s\n", yes(cleared));
    printf("  wait4 for it: %s\n", errno_name(waitpid((pid_t)tid, NULL, __WALL) < 0 ? errno : 0));

    /* CLONE_CHILD_SETTID: the tid is in the word before the child runs. */
    atomic_store(&child_tid, -1);
    tid = raw_thread(RAW_THREAD_FLAGS | CLONE_CHILD_SETTID, raw_stack(), NULL, (int *)&child_tid, 0,
                     record_identity, &seen);
    await_cleared(&child_tid);
    printf("CLONE_CHILD_SETTID: the child found its tid there: %s\n", yes(seen.child_tid_at_start == tid));

    struct {
        const char *what;
        unsigned long flags;
    } refused[] = {
        { "CLONE_THREAD without CLONE_SIGHAND", CLONE_VM | CLONE_THREAD },
        { "CLONE_SIGHAND without CLONE_VM", CLONE_SIGHAND },
        { "CLONE_FS with CLONE_NEWNS", CLONE_FS | CLONE_NEWNS | SIGCHLD },
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        printf("clone with %s: %s\n", refused[i].what,
               errno_name(syscall(SYS_clone, refused[i].flags, raw_stack(), NULL, NULL, 0) < 0 ? errno : 0));
}

/* ---- robust mutexes ---- */

static pthread_mutex_t robust;

static void *lock_and_return(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&robust);
    return NULL;
}

/* A raw thread that owns a lock word on its robust list and exits holding it: the
 * kernel marks the word FUTEX_OWNER_DIED. */
struct robust_entry {
    struct robust_entry *next;
};
struct robust_head {
    struct robust_entry list;
    long futex_offset;
    struct robust_entry *list_op_pending;
};
static struct {
    struct robust_entry entry;
    _Atomic unsigned word;
} owned;
static struct robust_head head;

static long own_and_exit(void *arg)
{
    (void)arg;
    head.list.next = &owned.entry;
    owned.entry.next = &head.list;
    head.futex_offset = (long)((char *)&owned.word - (char *)&owned.entry);
    head.list_op_pending = NULL;
    atomic_store(&owned.word, (unsigned)sys0(SYS_gettid) | (unsigned)(uintptr_t)arg);
    long r = sys2(SYS_set_robust_list, &head, sizeof head);
    return r;
}

static void c_robust(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &attr);
    join(spawn(lock_and_return, NULL));
    printf("a robust mutex whose owner thread ended: lock: %s\n", errno_name(pthread_mutex_lock(&robust)));
    printf("  consistent: %s\n", errno_name(pthread_mutex_consistent(&robust)));
    printf("  unlock: %s\n", errno_name(pthread_mutex_unlock(&robust)));
    printf("  lock again: %s\n", errno_name(pthread_mutex_lock(&robust)));
    pthread_mutex_unlock(&robust);

    static _Atomic int child_tid;
    atomic_store(&child_tid, -1);
    raw_thread(RAW_THREAD_FLAGS, raw_stack(), NULL, (int *)&child_tid, 0, own_and_exit, NULL);
    await_cleared(&child_tid);
    printf("a raw thread exits owning a lock word on its robust list: the word %#x\n", atomic_load(&owned.word));
    atomic_store(&child_tid, -1);
    raw_thread(RAW_THREAD_FLAGS, raw_stack(), NULL, (int *)&child_tid, 0, own_and_exit, (void *)(uintptr_t)FUTEX_WAITERS);
    await_cleared(&child_tid);
    printf("  the same with FUTEX_WAITERS set: the word %#x\n", atomic_load(&owned.word));

    struct robust_head *got = NULL;
    size_t length = 0;
    printf("set_robust_list, length 23: %s\n",
           errno_name(syscall(SYS_set_robust_list, &head, sizeof head - 1) < 0 ? errno : 0));
    printf("get_robust_list of self: %s", errno_name(syscall(SYS_get_robust_list, 0, &got, &length) < 0 ? errno : 0));
    printf(", the length %zu\n", length);
    printf("get_robust_list, a bad pointer: %s\n",
           errno_name(syscall(SYS_get_robust_list, 0, (void *)8, &length) < 0 ? errno : 0));
    printf("get_robust_list of no such task: %s\n",
           errno_name(syscall(SYS_get_robust_list, 0x3fffffff, &got, &length) < 0 ? errno : 0));
}

/* ---- Per-thread attributes, and the calls a libc may probe ---- */

struct named_thread {
    char name[16];
    int nice;
};

static void *name_and_nice(void *arg)
{
    struct named_thread *t = arg;
    prctl(PR_SET_NAME, "worker-one");
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 5);
    prctl(PR_GET_NAME, t->name);
    errno = 0;
    t->nice = getpriority(PRIO_PROCESS, 0);
    return NULL;
}

static void c_per_thread(void)
{
    prctl(PR_SET_NAME, "main-thread");
    struct named_thread t;
    join(spawn(name_and_nice, &t));
    char name[16];
    prctl(PR_GET_NAME, name);
    printf("the thread's name: %s; the main thread's: %s\n", t.name, name);
    printf("the thread's nice after setpriority(its tid, 5): %d; the main thread's: %d\n", t.nice,
           getpriority(PRIO_PROCESS, 0));
}

static void *affinity_count(void *arg)
{
    (void)arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity((pid_t)syscall(SYS_gettid), sizeof set, &set) != 0)
        return (void *)-1L;
    return (void *)(long)CPU_COUNT(&set);
}

static void c_libc_probes(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    int ok = sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 1;
    printf("sched_getaffinity: %s\n", ok ? "ok" : errno_name(errno));
    printf("sched_getaffinity of a thread by its tid: %s\n", join(spawn(affinity_count, NULL)) >= 1 ? "ok" : "FAIL");
    syscall(SYS_membarrier, 0 /* MEMBARRIER_CMD_QUERY */, 0, 0);
    printf("membarrier: went on\n");
    syscall(SYS_rseq, NULL, 0, 0, 0);
    printf("rseq: went on\n");

    /* clone3: exactly ENOSYS (libcs fall back only on that), or a working call. */
    long r = syscall(SYS_clone3, NULL, 0);
    int works = 0;
    if (r < 0 && errno == ENOSYS) {
        works = 1;
    } else if (r < 0 && errno == EINVAL) {
        struct {
            uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
        } args = { .exit_signal = SIGCHLD };
        fflush(stdout);
        long child = syscall(SYS_clone3, &args, sizeof args);
        if (child == 0)
            _exit(6);
        int status;
        works = child > 0 && waitpid((pid_t)child, &status, 0) == child && WIFEXITED(status) &&
                WEXITSTATUS(status) == 6;
    }
    printf("clone3: ENOSYS, or EINVAL for no arguments and a child for a fork's: %s\n", yes(works));
}

static const struct grouped_case cases[] = {
    { "same", "futex-errors", c_futex_errors },
    { "same", "futex-wake", c_futex_wake },
    { "same", "futex-requeue", c_futex_requeue },
    { "same", "futex-wake-op", c_futex_wake_op },
    { "same", "futex-bitset", c_futex_bitset },
    { "same", "futex-interrupted", c_futex_interrupted },
    { "same", "raw-clone", c_raw_clone },
    { "same", "robust", c_robust },
    { "same", "per-thread", c_per_thread },
    { "same", "libc-probes", c_libc_probes },
};
#define CASES (sizeof cases / sizeof cases[0])

int main(int argc, char **argv)
{
    return run_grouped_cases(cases, CASES, argc, argv, "threads_sys", status_words);
}
