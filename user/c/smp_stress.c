/* smp_stress: what several CPUs running one program's threads and processes at once
 * must not break. Each case prints lines ending in "yes" when it holds.
 *
 *   settid ROUNDS      raw clones with CLONE_PARENT_SETTID: the new thread reads its
 *                      tid at that address as its first act (musl's threads do, to
 *                      take the thread-list lock): it must be there already.
 *   selectors ROUNDS   two threads hand a token back and forth through futexes with
 *                      the user data selector loaded in ds, es and gs: after every
 *                      wake (on whichever CPU) the selectors are still the thread's.
 *   share nice MS      a nice 10 process with a sched_setattr request moves from CPU 0
 *                      to CPU 1 (sched_setaffinity) and keeps its nice, request and
 *                      process group there, and gets less than half the CPU of a
 *                      nice 0 competitor pinned to CPU 1 (a policy that forgot its
 *                      nice would share evenly). The CPU times compared are those
 *                      of one window of MS ms that opens once every spinner is on
 *                      CPU 1; the figures go to stderr.
 *   share currency MS  a process of two busy threads moves from CPU 0 to CPU 1 and
 *                      competes there with a process of one: with lottery's
 *                      currencies both processes get about the same CPU time (a
 *                      policy that lost the threads' process would give the two
 *                      threads two shares).
 *   getcpu CPUS        pinned to each of CPUS CPUs in turn, getcpu names it.
 *   pinned MS          two processes pinned to CPU 0 spin through one window of MS
 *                      ms while CPU 1 idles: they share CPU 0 (their CPU times
 *                      on stderr).
 *   unmap ROUNDS       one thread maps a page, another (on another CPU) reads it, the
 *                      first unmaps it: the second's next read must fault, every
 *                      round (a stale translation would read the old page).
 *   wakes N ROUNDS     N threads pass N/2 tokens around a ring through futexes, and N
 *                      processes pass N/2 bytes around a ring of pipes, at once:
 *                      every token and byte arrives, ROUNDS times each.
 *   mixed PAIRS ROUNDS PAIRS pairs of processes ping-pong a byte through two pipes
 *                      each, ROUNDS round trips, while other processes block and
 *                      are woken around them: one is interrupted by a signal in
 *                      ppoll (blocked otherwise) once per round trip of a handshake,
 *                      one polls an idle pipe with a 1 ms timeout until its writer
 *                      closes it, one sleeps 1 ms at a time: every byte arrives in
 *                      order, every signal ends its ppoll, every timeout and the
 *                      hang-up wake their waiter.
 *   swap CPUS ROUNDS   CPUS threads, thread i starting on CPU i, each move itself
 *                      (sched_setaffinity) to the next CPU at once, ROUNDS times: each
 *                      CPU may pick the thread still switching away on the one before
 *                      while its own thread is switching away too.
 *   repeat COUNT CASE ARGS...  runs the case COUNT times, each in a new process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/futex.h"
#include "include/testlib.h"

static void pin_to(int cpu)
{
    if (allow_only_cpu(cpu) != 0)
        exit(1);
}

/* --- settid --- */

static atomic_int settid_word;
static atomic_int settid_mismatches;
static atomic_int settid_child_done;

static int settid_child(void *unused)
{
    (void)unused;
    if (atomic_load(&settid_word) != (int)syscall(SYS_gettid))
        atomic_fetch_add(&settid_mismatches, 1);
    return 0;
}

static int settid(int rounds)
{
    size_t size = 64 * 1024;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    for (int i = 0; i < rounds; i++) {
        atomic_store(&settid_word, 0);
        atomic_store(&settid_child_done, 1);
        int tid = clone(settid_child, stack + size, flags, NULL, &settid_word, NULL, &settid_child_done);
        if (tid < 0) {
            printf("clone: %s\n", strerror(errno));
            return 1;
        }
        /* CLONE_CHILD_CLEARTID zeroes the word and wakes it once the child is gone
         * (and its stack free for the next round). */
        while (atomic_load(&settid_child_done) != 0)
            futex(&settid_child_done, FUTEX_WAIT, 1, NULL, NULL, 0);
    }
    int mismatches = atomic_load(&settid_mismatches);
    printf("every new thread found its tid at the CLONE_PARENT_SETTID address: %s\n", yes(mismatches == 0));
    return mismatches != 0;
}

/* --- selectors --- */

static atomic_int turn_word;
static atomic_int selector_mismatches;
static int selector_rounds;

static unsigned short user_data_selector(void)
{
    unsigned short ss;
    __asm__ volatile("mov %%ss, %0" : "=r"(ss));
    return ss;
}

static void load_selectors(unsigned short selector)
{
    __asm__ volatile("mov %0, %%ds\n\tmov %0, %%es\n\tmov %0, %%gs" : : "r"(selector));
}

static int selectors_hold(unsigned short selector)
{
    unsigned short ds, es, gs;
    __asm__ volatile("mov %%ds, %0\n\tmov %%es, %1\n\tmov %%gs, %2" : "=r"(ds), "=r"(es), "=r"(gs));
    return ds == selector && es == selector && gs == selector;
}

/* Player `me` (0 or 1) waits for its turn, then gives the turn to the other. No
 * libc call between the load and the checks: only raw futex system calls (musl
 * keeps nothing in gs, and ds/es do not matter to 64-bit code). */
static void *selector_player(void *argument)
{
    int me = (int)(intptr_t)argument;
    unsigned short selector = user_data_selector();
    load_selectors(selector);
    int bad = 0;
    for (int round = 0; round < selector_rounds; round++) {
        int seen;
        while ((seen = atomic_load(&turn_word)) % 2 != me)
            syscall(SYS_futex, &turn_word, FUTEX_WAIT, seen, NULL, NULL, 0);
        if (!selectors_hold(selector))
            bad++;
        atomic_fetch_add(&turn_word, 1);
        syscall(SYS_futex, &turn_word, FUTEX_WAKE, 1, NULL, NULL, 0);
    }
    load_selectors(0);
    atomic_fetch_add(&selector_mismatches, bad);
    return NULL;
}

static int selectors(int rounds)
{
    selector_rounds = rounds;
    pthread_t players[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&players[i], NULL, selector_player, (void *)(intptr_t)i);
    for (int i = 0; i < 2; i++)
        pthread_join(players[i], NULL);
    int bad = atomic_load(&selector_mismatches);
    printf("ds, es and gs kept across %d cross-CPU wakes: %s\n", 2 * rounds, yes(bad == 0));
    return bad != 0;
}

/* --- share --- */

static uint64_t thread_cpu_ns(void) { return now_ns(CLOCK_THREAD_CPUTIME_ID); }

static void spin_wall_ms(uint64_t ms)
{
    uint64_t end = now_ns(CLOCK_MONOTONIC) + ms * 1000000;
    while (now_ns(CLOCK_MONOTONIC) < end)
        ;
}

/* sched_attr's first version as words: size and policy, flags, nice and priority,
 * runtime, deadline, period. */
static int set_attr(int nice, uint64_t runtime)
{
    uint64_t attr[6] = { 48, 0, (uint32_t)nice, runtime, 0, 0 };
    return (int)syscall(SYS_sched_setattr, 0, attr, 0);
}

static int read_attr(int *nice, uint64_t *runtime)
{
    uint64_t attr[6] = { 0 };
    int result = (int)syscall(SYS_sched_getattr, 0, attr, 48, 0);
    *nice = (int)(uint32_t)attr[2];
    *runtime = attr[3];
    return result;
}

/* The window every spinner of a share measures, on CLOCK_MONOTONIC: the same for all,
 * and opening only once all of them are where the case wants them (a spinner that
 * measured its own stretch of wall time could run alone in part of it, after its
 * competitor ended or before it started, and count that as its share). */
struct window {
    uint64_t open_ns, close_ns;
};

/* How long after the last spinner is ready the window opens: time for each to see
 * it open while the others spin too. */
#define WINDOW_LEAD_MS 50

/* Says the caller is ready on `ready_fd`, spins (never blocking, so that the policy
 * keeps the task where it was put) until the window arrives on the non-blocking
 * `window_fd`, then returns the thread CPU time it had within it. The CPU time it
 * reads on first seeing the clock past an edge is the time it had at that edge:
 * it did not run in between. */
static uint64_t spin_through_window(int ready_fd, int window_fd)
{
    struct window window;
    if (write(ready_fd, "r", 1) != 1)
        _exit(1);
    while (read(window_fd, &window, sizeof window) != sizeof window)
        ;
    while (now_ns(CLOCK_MONOTONIC) < window.open_ns)
        ;
    uint64_t opened = thread_cpu_ns();
    while (now_ns(CLOCK_MONOTONIC) < window.close_ns)
        ;
    return thread_cpu_ns() - opened;
}

/* Sends the window, opening WINDOW_LEAD_MS from now and `ms` long, to each of
 * `spinners` spinners once each has said it is ready. */
static int open_window(int ready_fd, int window_fd, int spinners, uint64_t ms)
{
    for (int i = 0; i < spinners; i++) {
        char ready;
        if (read(ready_fd, &ready, 1) != 1)
            return -1;
    }
    struct window window;
    window.open_ns = now_ns(CLOCK_MONOTONIC) + WINDOW_LEAD_MS * 1000000ULL;
    window.close_ns = window.open_ns + ms * 1000000;
    for (int i = 0; i < spinners; i++)
        if (write(window_fd, &window, sizeof window) != sizeof window)
            return -1;
    return 0;
}

/* The pipes a share's spinners and its parent talk through: ready bytes up, the
 * window down (non-blocking at the spinners' end). */
struct window_pipes {
    int ready[2], window[2];
};

static int window_pipes(struct window_pipes *pipes)
{
    return pipe(pipes->ready) != 0 || pipe2(pipes->window, O_NONBLOCK) != 0 ? -1 : 0;
}

struct spinner {
    struct window_pipes *pipes;
    atomic_uint_least64_t cpu_ns;
};

static void *move_and_measure(void *argument)
{
    struct spinner *spinner = argument;
    pin_to(0);
    spin_wall_ms(20);
    /* The move, while running: from here on CPU 1's policy schedules this thread. */
    pin_to(1);
    atomic_fetch_add(&spinner->cpu_ns, spin_through_window(spinner->pipes->ready[1], spinner->pipes->window[0]));
    return NULL;
}

/* A child that runs `threads` spinners (moved from CPU 0 to CPU 1, or one on CPU 1
 * from the start when `competitor`), and writes their CPU time within the window
 * in ns to `result_fd`. */
static pid_t spawn_spinners(struct window_pipes *pipes, int result_fd, int threads, int competitor, int nice)
{
    pid_t pid = fork_or_die();
    if (pid != 0)
        return pid;
    /* The mover's nice and request are set on CPU 0, where its first thread stays:
     * CPU 1's policy learns them only from the moved threads. */
    pin_to(competitor ? 1 : 0);
    if (!competitor && (set_attr(nice, 6000000) != 0 || setpgid(0, 0) != 0)) {
        printf("sched_setattr/setpgid: %s\n", strerror(errno));
        _exit(1);
    }
    struct spinner spinner = { .pipes = pipes };
    uint64_t total = 0;
    if (competitor) {
        total = spin_through_window(pipes->ready[1], pipes->window[0]);
    } else {
        pthread_t workers[4];
        for (int i = 0; i < threads; i++)
            pthread_create(&workers[i], NULL, move_and_measure, &spinner);
        for (int i = 0; i < threads; i++)
            pthread_join(workers[i], NULL);
        total = atomic_load(&spinner.cpu_ns);
        int kept_nice;
        uint64_t kept_request;
        pin_to(1);
        read_attr(&kept_nice, &kept_request);
        errno = 0;
        int priority = getpriority(PRIO_PROCESS, 0);
        printf("after the move: nice %d (getpriority %d), request %llu ns, own process group %s\n", kept_nice,
               priority, (unsigned long long)kept_request, yes(getpgid(0) == getpid()));
        fflush(stdout);
    }
    if (write(result_fd, &total, sizeof total) != sizeof total)
        _exit(1);
    _exit(0);
}

static int share(const char *kind, uint64_t ms)
{
    int currency = strcmp(kind, "currency") == 0;
    /* A result pipe each: the competitor often ends first, so one shared pipe would
     * hand its figure to the read meant for the mover's. */
    struct window_pipes pipes;
    int mover_result[2], competitor_result[2];
    if (window_pipes(&pipes) != 0 || pipe(mover_result) != 0 || pipe(competitor_result) != 0)
        return 1;
    int mover_nice = currency ? 0 : 10;
    int mover_threads = currency ? 2 : 1;
    pid_t mover = spawn_spinners(&pipes, mover_result[1], mover_threads, 0, mover_nice);
    pid_t competitor = spawn_spinners(&pipes, competitor_result[1], 1, 1, 0);
    if (open_window(pipes.ready[0], pipes.window[1], mover_threads + 1, ms) != 0)
        return 1;
    int status, failed = 0;
    uint64_t mover_ns = 0, competitor_ns = 0;
    waitpid(mover, &status, 0);
    failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    if (read(mover_result[0], &mover_ns, sizeof mover_ns) != sizeof mover_ns)
        failed = 1;
    waitpid(competitor, &status, 0);
    failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    if (read(competitor_result[0], &competitor_ns, sizeof competitor_ns) != sizeof competitor_ns)
        failed = 1;
    if (failed) {
        printf("a spinner failed\n");
        return 1;
    }
    double ratio = (double)mover_ns / (double)(competitor_ns ? competitor_ns : 1);
    int ok = currency ? ratio > 0.6 && ratio < 1.5 : ratio < 0.5;
    fprintf(stderr, "share: mover %llu ns, competitor %llu ns, ratio %.2f\n", (unsigned long long)mover_ns,
                (unsigned long long)competitor_ns, ratio);
    printf(currency ? "two moved threads' process against a one-thread process, about even: %s\n"
                    : "moved nice 10 task against nice 0, less than half: %s\n",
           yes(ok));
    return !ok;
}

/* --- getcpu --- */

/* Pinned to each of the first `cpus` CPUs in turn, getcpu says that CPU (and node 0). */
static int getcpu_pinned(int cpus)
{
    int ok = 1;
    for (int cpu = 0; cpu < cpus; cpu++) {
        pin_to(cpu);
        unsigned here = 99, node = 99;
        if (syscall(SYS_getcpu, &here, &node, NULL) != 0 || here != (unsigned)cpu || node != 0)
            ok = 0;
    }
    printf("getcpu names the CPU the caller is pinned to: %s\n", yes(ok));
    return !ok;
}

/* --- pinned --- */

/* Two processes pinned to CPU 0 spin through one window at once while CPU 1 idles:
 * they must share CPU 0 (neither gets over 3/4 of the CPU time the two had in it: a
 * host that stops QEMU for a while charges the stop to whichever ran, but not to
 * both). An idle CPU looking for work in CPU 0's queue must not disturb the running
 * one's quantum. */
static int pinned_pair(uint64_t ms)
{
    struct window_pipes pipes;
    int results[2];
    if (window_pipes(&pipes) != 0 || pipe(results) != 0)
        return 1;
    for (int i = 0; i < 2; i++) {
        if (fork_or_die() == 0) {
            pin_to(0);
            uint64_t cpu_ns = spin_through_window(pipes.ready[1], pipes.window[0]);
            _exit(write(results[1], &cpu_ns, sizeof cpu_ns) != sizeof cpu_ns);
        }
    }
    if (open_window(pipes.ready[0], pipes.window[1], 2, ms) != 0)
        return 1;
    uint64_t cpu_ns[2] = { 0, 0 };
    int ok = 1;
    for (int i = 0; i < 2; i++) {
        int status;
        wait(&status);
        ok &= read(results[0], &cpu_ns[i], sizeof cpu_ns[i]) == sizeof cpu_ns[i];
    }
    uint64_t larger = cpu_ns[0] > cpu_ns[1] ? cpu_ns[0] : cpu_ns[1];
    uint64_t percent = 100 * larger / (cpu_ns[0] + cpu_ns[1] ? cpu_ns[0] + cpu_ns[1] : 1);
    fprintf(stderr, "pinned: %llu and %llu ns in a window of %llu ms, the larger %llu%% of both\n",
            (unsigned long long)cpu_ns[0], (unsigned long long)cpu_ns[1], (unsigned long long)ms,
            (unsigned long long)percent);
    ok &= percent <= 75;
    printf("two tasks pinned to one CPU share it: %s\n", yes(ok));
    return !ok;
}

/* --- unmap --- */

static _Atomic(volatile int *) shared_page;
static atomic_int unmap_phase;
static atomic_long stale_reads, faults_seen, good_reads;
static int unmap_rounds;
static __thread sigjmp_buf recover;

static void on_segv(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    (void)info;
    (void)context;
    siglongjmp(recover, 1);
}

/* Phases of a round: 1 mapped and written (read it), 2 read, 3 unmapped (read:
 * must fault), 0 done with the round. */
static void *unmap_reader(void *unused)
{
    (void)unused;
    pin_to(1);
    for (int round = 1; round <= unmap_rounds; round++) {
        while (atomic_load(&unmap_phase) != 1)
            ;
        volatile int *page = atomic_load(&shared_page);
        if (*page == round)
            atomic_fetch_add(&good_reads, 1);
        atomic_store(&unmap_phase, 2);
        while (atomic_load(&unmap_phase) != 3)
            ;
        if (sigsetjmp(recover, 1) == 0) {
            (void)*page;
            atomic_fetch_add(&stale_reads, 1);
        } else {
            atomic_fetch_add(&faults_seen, 1);
        }
        atomic_store(&unmap_phase, 0);
    }
    return NULL;
}

static int unmap(int rounds)
{
    unmap_rounds = rounds;
    handle_signal(SIGSEGV, on_segv, SA_NODEFER);
    pin_to(0);
    pthread_t reader;
    pthread_create(&reader, NULL, unmap_reader, NULL);
    for (int round = 1; round <= rounds; round++) {
        int *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        *page = round;
        atomic_store(&shared_page, page);
        atomic_store(&unmap_phase, 1);
        while (atomic_load(&unmap_phase) != 2)
            ;
        munmap(page, 4096);
        atomic_store(&unmap_phase, 3);
        while (atomic_load(&unmap_phase) != 0)
            ;
    }
    pthread_join(reader, NULL);
    long good = atomic_load(&good_reads), faults = atomic_load(&faults_seen), stale = atomic_load(&stale_reads);
    printf("each page read while mapped: %s\n", yes(good == rounds));
    printf("each read after munmap returned faulted: %s\n", yes(faults == rounds && stale == 0));
    if (stale)
        fprintf(stderr, "unmap: %ld stale reads in %d rounds\n", stale, rounds);
    return good != rounds || faults != rounds || stale != 0;
}

/* --- wakes --- */

#define MAX_RING 64
static atomic_int tokens[MAX_RING];
static int ring_size, ring_rounds;

static void *ring_thread(void *argument)
{
    int me = (int)(intptr_t)argument, next = (me + 1) % ring_size;
    for (int round = 0; round < ring_rounds; round++) {
        for (;;) {
            int have = atomic_load(&tokens[me]);
            if (have > 0 && atomic_compare_exchange_weak(&tokens[me], &have, have - 1))
                break;
            if (have == 0)
                futex(&tokens[me], FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
        }
        atomic_fetch_add(&tokens[next], 1);
        futex(&tokens[next], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    return NULL;
}

static int pipe_ring(int n, int rounds)
{
    int pipes[MAX_RING][2];
    for (int i = 0; i < n; i++)
        if (pipe(pipes[i]) != 0)
            return 1;
    for (int i = 0; i < n / 2; i++)
        write_full(pipes[2 * i][1], "t", 1);
    pid_t children[MAX_RING];
    for (int i = 0; i < n; i++) {
        children[i] = fork_or_die();
        if (children[i] == 0) {
            char token;
            for (int round = 0; round < rounds; round++)
                if (read_full(pipes[i][0], &token, 1) != 0 || write_full(pipes[(i + 1) % n][1], &token, 1) != 0)
                    _exit(1);
            _exit(0);
        }
    }
    int failed = 0;
    for (int i = 0; i < n; i++) {
        int status;
        waitpid(children[i], &status, 0);
        failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    return failed;
}

static int wakes(int n, int rounds)
{
    if (n < 2 || n > MAX_RING)
        return 2;
    ring_size = n;
    ring_rounds = rounds;
    for (int i = 0; i < n / 2; i++)
        atomic_store(&tokens[2 * i], 1);
    pid_t pipes = fork_or_die();
    if (pipes == 0)
        _exit(pipe_ring(n, rounds) != 0);
    pthread_t threads[MAX_RING];
    for (int i = 0; i < n; i++)
        pthread_create(&threads[i], NULL, ring_thread, (void *)(intptr_t)i);
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    int left = 0;
    for (int i = 0; i < n; i++)
        left += atomic_load(&tokens[i]);
    int status;
    waitpid(pipes, &status, 0);
    printf("every futex token arrived: %s\n", yes(left == n / 2));
    printf("every pipe byte arrived: %s\n", yes(WIFEXITED(status) && WEXITSTATUS(status) == 0));
    return left != n / 2 || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

/* One ping-pong pair: the child echoes each byte back incremented, the parent checks
 * each answer; exits 0 when every round trip came back in order. */
static void ping_pong_pair(int rounds)
{
    int there[2], back[2];
    if (pipe(there) != 0 || pipe(back) != 0)
        _exit(2);
    if (fork_or_die() == 0) {
        unsigned char byte;
        for (int i = 0; i < rounds; i++) {
            if (read(there[0], &byte, 1) != 1)
                _exit(1);
            byte++;
            if (write(back[1], &byte, 1) != 1)
                _exit(1);
        }
        _exit(0);
    }
    for (int i = 0; i < rounds; i++) {
        unsigned char byte = (unsigned char)i, answer;
        if (write(there[1], &byte, 1) != 1 || read(back[0], &answer, 1) != 1 || answer != (unsigned char)(i + 1))
            _exit(1);
    }
    int status;
    wait(&status);
    _exit(WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1);
}

static void on_usr1(int signal) { (void)signal; }

/* Waits in ppoll on a pipe nobody writes, SIGUSR1 let through only there: each signal
 * must end one wait with EINTR (one sent before the wait ends it at once); answers
 * each with a byte on `answers`. Exits 0 after `signals` of them. */
static void interrupted_poller(int answers, int signals)
{
    int idle[2];
    if (pipe(idle) != 0)
        _exit(2);
    struct pollfd poll_fd = {.fd = idle[0], .events = POLLIN};
    sigset_t nothing_blocked;
    sigemptyset(&nothing_blocked);
    for (int i = 0; i < signals; i++) {
        if (ppoll(&poll_fd, 1, NULL, &nothing_blocked) != -1 || errno != EINTR)
            _exit(1);
        if (write(answers, "!", 1) != 1)
            _exit(1);
    }
    _exit(0);
}

static int mixed(int pairs, int rounds)
{
    pid_t players[MAX_RING];
    if (pairs < 1 || pairs > MAX_RING)
        return 2;
    for (int i = 0; i < pairs; i++)
        if ((players[i] = fork_or_die()) == 0)
            ping_pong_pair(rounds);

    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    signal(SIGUSR1, on_usr1);
    int answers[2];
    if (pipe(answers) != 0)
        return 2;
    pid_t interrupted = fork_or_die();
    if (interrupted == 0)
        interrupted_poller(answers[1], rounds);

    int idle[2];
    if (pipe(idle) != 0)
        return 2;
    pid_t poller = fork_or_die();
    if (poller == 0) {
        close(idle[1]);
        struct pollfd poll_fd = {.fd = idle[0], .events = POLLIN};
        int timeouts = 0, ready;
        while ((ready = poll(&poll_fd, 1, 1)) == 0)
            timeouts++;
        _exit(ready == 1 && (poll_fd.revents & POLLHUP) && timeouts > 0 ? 0 : 1);
    }
    close(idle[0]);

    pid_t sleeper = fork_or_die();
    if (sleeper == 0) {
        struct timespec ms = {0, 1000000};
        for (int i = 0; i < rounds / 4 + 1; i++)
            if (nanosleep(&ms, NULL) != 0)
                _exit(1);
        _exit(0);
    }

    int answered = 0;
    for (int i = 0; i < rounds; i++) {
        char answer;
        if (kill(interrupted, SIGUSR1) != 0 || read(answers[0], &answer, 1) != 1)
            break;
        answered++;
    }

    int pairs_done = 0, status;
    for (int i = 0; i < pairs; i++)
        if (waitpid(players[i], &status, 0) == players[i] && WIFEXITED(status) && WEXITSTATUS(status) == 0)
            pairs_done++;
    int slept = waitpid(sleeper, &status, 0) == sleeper && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    close(idle[1]);
    int hung_up = waitpid(poller, &status, 0) == poller && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    int interrupts = waitpid(interrupted, &status, 0) == interrupted && WIFEXITED(status) &&
                     WEXITSTATUS(status) == 0 && answered == rounds;
    printf("every pipe pair's bytes came back in order: %s\n", yes(pairs_done == pairs));
    printf("every signal ended a ppoll with EINTR: %s\n", yes(interrupts));
    printf("every sleep ended: %s\n", yes(slept));
    printf("the poller timed out and then saw the hang-up: %s\n", yes(hung_up));
    return !(pairs_done == pairs && interrupts && slept && hung_up);
}

/* --- swap --- */

static int swap_cpus_count, swap_rounds;

/* Starts on CPU `(intptr_t)arg` and moves to the next CPU, ROUNDS times: all the
 * threads leave their CPU for the next one at once. */
static void *rotate_over_cpus(void *arg)
{
    int cpu = (int)(intptr_t)arg;
    pin_to(cpu);
    for (int round = 0; round < swap_rounds; round++) {
        cpu = (cpu + 1) % swap_cpus_count;
        pin_to(cpu);
    }
    return NULL;
}

static int swap(int cpus, int rounds)
{
    pthread_t threads[MAX_RING];
    if (cpus < 2 || cpus > MAX_RING)
        return 2;
    swap_cpus_count = cpus;
    swap_rounds = rounds;
    for (int i = 0; i < cpus; i++)
        pthread_create(&threads[i], NULL, rotate_over_cpus, (void *)(intptr_t)i);
    for (int i = 0; i < cpus; i++)
        pthread_join(threads[i], NULL);
    printf("%d threads moved to the next CPU %d times each: yes\n", cpus, rounds);
    return 0;
}

static int run_case(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[0], "settid") == 0)
        return settid(atoi(argv[1]));
    if (argc == 2 && strcmp(argv[0], "selectors") == 0)
        return selectors(atoi(argv[1]));
    if (argc == 3 && strcmp(argv[0], "share") == 0)
        return share(argv[1], strtoull(argv[2], NULL, 10));
    if (argc == 2 && strcmp(argv[0], "getcpu") == 0)
        return getcpu_pinned(atoi(argv[1]));
    if (argc == 2 && strcmp(argv[0], "pinned") == 0)
        return pinned_pair(strtoull(argv[1], NULL, 10));
    if (argc == 2 && strcmp(argv[0], "unmap") == 0)
        return unmap(atoi(argv[1]));
    if (argc == 3 && strcmp(argv[0], "wakes") == 0)
        return wakes(atoi(argv[1]), atoi(argv[2]));
    if (argc == 3 && strcmp(argv[0], "mixed") == 0)
        return mixed(atoi(argv[1]), atoi(argv[2]));
    if (argc == 3 && strcmp(argv[0], "swap") == 0)
        return swap(atoi(argv[1]), atoi(argv[2]));
    fprintf(stderr, "usage: smp_stress [repeat COUNT] settid ROUNDS | selectors ROUNDS | share nice|currency MS | "
                    "getcpu CPUS | pinned MS | unmap ROUNDS | wakes N ROUNDS | mixed PAIRS ROUNDS | swap CPUS ROUNDS\n");
    return 2;
}

/* Runs the case `count` times, each in a child whose output is kept only when it
 * fails; prints how many runs passed. */
static int repeat(int count, int argc, char **argv)
{
    int passed = 0;
    for (int run = 0; run < count; run++) {
        fflush(stdout);
        pid_t child = fork_or_die();
        if (child == 0) {
            if (!freopen("/dev/null", "w", stdout))
                _exit(3);
            _exit(run_case(argc, argv));
        }
        int status;
        waitpid(child, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            passed++;
        else
            printf("run %d: %s\n", run, describe(status));
    }
    printf("%d of %d runs passed: %s\n", passed, count, yes(passed == count));
    return passed != count;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 3 && strcmp(argv[1], "repeat") == 0)
        return repeat(atoi(argv[2]), argc - 3, argv + 3);
    return run_case(argc - 1, argv + 1);
}
