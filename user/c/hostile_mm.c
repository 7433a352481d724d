/* hostile_mm: programs that cut their address space into pieces: a heap split by
 * munmap, mprotect and MAP_FIXED and then moved by brk, forks of it, the break
 * against its bounds, the stack against RLIMIT_STACK; and, under timeshare only,
 * what exhausting memory does to processes that did nothing wrong.
 *
 *   hostile_mm same CASE...    cases whose output is Linux's (the test compares)
 *   hostile_mm limits CASE...  timeshare only, as its first process: every page
 *                              comes back, innocent bystanders of an OOM kill
 *   CASE "all" runs every case of the group, each in a child of its own; the last
 *   line is "still running". Exit status 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

#define PAGE 4096UL

/* brk by the system call (musl's sbrk only reports the break). */
static unsigned long raw_brk(unsigned long address)
{
    return (unsigned long)syscall(SYS_brk, address);
}

static const char *status_text(int status)
{
    static const int named[] = { SIGKILL, SIGSEGV, SIGBUS, 0 };
    return status_in_words(status, named);
}

/* How a child that reads (or writes) one byte at `address` ends: "exited 0" when
 * the access worked. */
static const char *access_in_child(volatile char *address, int write)
{
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        if (write)
            *address = 1;
        else
            (void)*address;
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    return status_text(status);
}

static const char *ok_if(int condition) { return condition ? "ok" : "FAILED"; }

/* Writes `value` into the first byte of each page of [from, to). */
static void fill_pages(char *base, unsigned long from, unsigned long to, char value)
{
    for (unsigned long page = from; page < to; page++)
        base[page * PAGE] = value;
}

/* The heap grown, touched, cut by munmap, mprotect and a MAP_FIXED mapping, grown
 * and shrunk again, and a fork of it: brk deals with [old break, new break) only,
 * the pieces keep their own protections, and nothing overlaps. */
static void c_heap_cut_then_moved(void)
{
    char *base = (char *)raw_brk(0);
    unsigned long b = (unsigned long)base;
    printf("grow the heap by 16 pages: %s\n", ok_if(raw_brk(b + 16 * PAGE) == b + 16 * PAGE));
    fill_pages(base, 0, 16, 7);
    printf("munmap of heap page 5: %s\n", ok_if(munmap(base + 5 * PAGE, PAGE) == 0));
    printf("mprotect of heap page 9 read-only: %s\n", ok_if(mprotect(base + 9 * PAGE, PAGE, PROT_READ) == 0));
    void *fixed = mmap(base + 13 * PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED over heap page 13: %s, zero-filled: %s\n", ok_if(fixed == base + 13 * PAGE),
           yes(base[13 * PAGE] == 0));
    printf("grow the heap to 24 pages: %s\n", ok_if(raw_brk(b + 24 * PAGE) == b + 24 * PAGE));
    fill_pages(base, 16, 24, 8);
    printf("pages kept their contents: %s\n", yes(base[4 * PAGE] == 7 && base[15 * PAGE] == 7 && base[20 * PAGE] == 8));
    printf("read of the munmapped page: %s\n", access_in_child(base + 5 * PAGE, 0));
    printf("write to the read-only page: %s\n", access_in_child(base + 9 * PAGE, 1));
    printf("read of the read-only page: %s\n", access_in_child(base + 9 * PAGE, 0));
    printf("write to page 23: %s\n", access_in_child(base + 23 * PAGE, 1));
    printf("shrink the heap to 12 pages: %s\n", ok_if(raw_brk(b + 12 * PAGE) == b + 12 * PAGE));
    printf("write above the lowered break: %s\n", access_in_child(base + 12 * PAGE, 1));
    printf("write to the MAP_FIXED page above it: %s\n", access_in_child(base + 13 * PAGE, 1));
    printf("write to page 11: %s\n", access_in_child(base + 11 * PAGE, 1));
    printf("shrink the heap to 3 pages: %s\n", ok_if(raw_brk(b + 3 * PAGE) == b + 3 * PAGE));
    printf("grow it back to 20 pages: %s\n", ok_if(raw_brk(b + 20 * PAGE) == b + 20 * PAGE));
    printf("regrown pages are zero, old ones kept: %s\n",
           yes(base[5 * PAGE] == 0 && base[9 * PAGE] == 0 && base[15 * PAGE] == 0 && base[2 * PAGE] == 7));
    fill_pages(base, 0, 20, 9);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        fill_pages(base, 0, 20, 10);
        raw_brk(b + 40 * PAGE);
        fill_pages(base, 20, 40, 10);
        raw_brk(b + 6 * PAGE);
        _exit(base[5 * PAGE] == 10 ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    printf("a fork writes its own copy and moves its own break: %s; the parent's pages: %s\n", status_text(status),
           yes(base[5 * PAGE] == 9 && base[19 * PAGE] == 9));
    printf("back to the start: %s\n", ok_if(raw_brk(b) == b));
    printf("write to the first heap page: %s\n", access_in_child(base, 1));
}

/* Where the break may go: not below its start, not onto (or right up against)
 * another mapping, anywhere in a free range; brk(0) reports it. */
static void c_break_bounds(void)
{
    unsigned long b = raw_brk(0);
    printf("brk(0) twice agrees: %s\n", yes(raw_brk(0) == b));
    printf("below the start: %s\n", raw_brk(b - PAGE) == b ? "refused, break unchanged" : "moved");
    printf("one byte below the start: %s\n", raw_brk(b - 1) == b ? "refused, break unchanged" : "moved");
    printf("an unaligned break: %s\n", ok_if(raw_brk(b + 100) == b + 100 && raw_brk(0) == b + 100));
    printf("write at the end of its page: %s\n", access_in_child((char *)b + PAGE - 1, 1));
    printf("write to the page above: %s\n", access_in_child((char *)b + PAGE, 1));
    void *wall = mmap((void *)(b + 8 * PAGE), PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("a mapping 8 pages above the start: %s\n", ok_if(wall == (void *)(b + 8 * PAGE)));
    printf("break onto the mapping: %s\n", raw_brk(b + 9 * PAGE) == b + 100 ? "refused" : "moved");
    printf("break up to the mapping: %s\n", raw_brk(b + 8 * PAGE) == b + 100 ? "refused" : "moved");
    printf("break one page below it: %s\n", raw_brk(b + 7 * PAGE) == b + 7 * PAGE ? "moved" : "refused");
    printf("break past it: %s\n", raw_brk(b + 64 * PAGE) == b + 7 * PAGE ? "refused" : "moved");
    munmap(wall, PAGE);
    printf("after munmap of the mapping, past it: %s\n", raw_brk(b + 64 * PAGE) == b + 64 * PAGE ? "moved" : "refused");
    printf("write to the last page: %s\n", access_in_child((char *)b + 63 * PAGE, 1));
    printf("munmap of the whole heap: %s\n", ok_if(munmap((void *)b, 64 * PAGE) == 0));
    printf("break grows from where it was: %s\n", raw_brk(b + 80 * PAGE) == b + 80 * PAGE ? "moved" : "refused");
    printf("write below the old break: %s\n", access_in_child((char *)b + 10 * PAGE, 1));
    printf("write above it: %s\n", access_in_child((char *)b + 70 * PAGE, 1));
    munmap((void *)(b + 64 * PAGE), 16 * PAGE);
    printf("shrink with nothing mapped in between: %s\n", raw_brk(b + 70 * PAGE) == b + 70 * PAGE ? "moved" : "refused");
    printf("shrink to the start: %s\n", raw_brk(b) == b ? "moved" : "refused");
}

/* ---- The stack against RLIMIT_STACK ---- */

static char *recursion_top;
static int depth_pipe;
static unsigned long depth_unit, depth_reported;

/* Recurses for good (until a terabyte), 1 KiB and more a call, telling the pipe each time it is
 * another `depth_unit` deeper. */
static __attribute__((noinline)) void recurse(void)
{
    volatile char frame[1024];
    frame[0] = 1;
    unsigned long depth = (unsigned long)(recursion_top - (char *)frame);
    if (depth / depth_unit > depth_reported) {
        depth_reported = depth / depth_unit;
        write(depth_pipe, &depth_reported, sizeof depth_reported);
    }
    if (depth < (1UL << 40))
        recurse();
    __asm__ volatile("" : : "r"(frame) : "memory");
}

/* A child that sets RLIMIT_STACK to `limit` (0: leaves it) and recurses: how it
 * ended and how deep it got, in whole `unit`s. */
static void recursion_under(const char *what, rlim_t limit, unsigned long unit, const char *unit_name)
{
    int p[2];
    pipe(p);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        close(p[0]);
        if (limit) {
            struct rlimit stack = { limit, RLIM_INFINITY };
            if (setrlimit(RLIMIT_STACK, &stack) != 0)
                _exit(3);
        }
        char here;
        recursion_top = &here;
        depth_pipe = p[1];
        depth_unit = unit;
        recurse();
        _exit(0);
    }
    close(p[1]);
    unsigned long deepest = 0, got;
    while (read(p[0], &got, sizeof got) == sizeof got)
        deepest = got;
    close(p[0]);
    int status;
    waitpid(child, &status, 0);
    printf("%s: %s, %lu %s deep\n", what, status_text(status), deepest, unit_name);
}

/* Recursion until the stack may grow no more: RLIMIT_STACK (setrlimit takes effect
 * at once), Linux's default 8 MiB, or a raised one. */
static void c_stack_limit(void)
{
    recursion_under("recursion under a 256 KiB stack limit", 256 << 10, 64 << 10, "x 64 KiB");
    recursion_under("recursion under a 1 MiB stack limit", 1 << 20, 64 << 10, "x 64 KiB");
    recursion_under("recursion under the default limit", 0, 1 << 20, "MiB");
    recursion_under("recursion under a 16 MiB stack limit", 16 << 20, 1 << 20, "MiB");
    struct rlimit now;
    getrlimit(RLIMIT_STACK, &now);
    printf("the default limit: %lu KiB\n", (unsigned long)now.rlim_cur >> 10);
}

/* ---- timeshare only ---- */

static long free_memory(void)
{
    struct sysinfo info;
    sysinfo(&info);
    return (long)(info.freeram * info.mem_unit);
}

/* "WHAT: yes" when free memory is exactly `before` again (else "no", and both on
 * stderr). */
static void memory_back(const char *what, long before, long after)
{
    printf("%s: %s\n", what, yes(after == before));
    if (after != before)
        fprintf(stderr, "hostile_mm: free memory before %ld KiB, after %ld KiB\n", before >> 10, after >> 10);
}

/* Runs `run` in a child with its output thrown away, `times` times: how many of
 * them exited 0. */
static int quietly(void (*run)(void), int times)
{
    int ok = 0;
    for (int i = 0; i < times; i++) {
        fflush(stdout);
        pid_t child = fork();
        if (child == 0) {
            close(1);
            run();
            _exit(0);
        }
        int status;
        waitpid(child, &status, 0);
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    return ok;
}

/* The heap cut and moved, over and over, in processes that fork and exit: every
 * frame comes back exactly once (none lost, none freed twice into another
 * process's page tables). */
static void c_heap_cut_memory_back(void)
{
    quietly(c_heap_cut_then_moved, 1);
    long before = free_memory();
    int ok = quietly(c_heap_cut_then_moved, 20);
    printf("20 processes cut, moved and forked their heaps: %d exited 0\n", ok);
    memory_back("free memory back to what it was", before, free_memory());
}

/* Pages of memory, from sysinfo. */
static unsigned long pages_of(unsigned long amount, unsigned long unit)
{
    return amount * unit / PAGE;
}

/* A hog that takes every frame programs may have: it touches pages until free
 * memory is down to the kernel's reserve (program pages may not take its last
 * 1/64, at least 256 pages), leaving at most one frame above it; then it says so
 * on `ready` and waits, asking nothing more, until the OOM killer ends it. */
static pid_t spawn_full_hog(int ready)
{
    fflush(stdout);
    pid_t hog = fork();
    if (hog == 0) {
        struct sysinfo info;
        sysinfo(&info);
        unsigned long total = pages_of(info.totalram, info.mem_unit);
        unsigned long reserve = total / 64 > 256 ? total / 64 : 256;
        for (;;) {
            sysinfo(&info);
            unsigned long free_pages = pages_of(info.freeram, info.mem_unit);
            /* Two above the reserve: one for the page, one for a page table it
             * may need (which the kernel may take from its reserve). */
            if (free_pages < reserve + 2)
                break;
            unsigned long left = free_pages - reserve;
            /* Half of what is left at a time, so that the page tables the pages
             * need never take the frame a page was counted on. */
            unsigned long batch = left > 64 ? left / 2 : 1;
            char *b = mmap(NULL, batch * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (b == MAP_FAILED)
                _exit(9);
            for (unsigned long i = 0; i < batch; i++)
                b[i * PAGE] = 1;
        }
        write(ready, "", 1);
        for (;;)
            pause();
    }
    return hog;
}

/* Fills memory with a hog, runs `copy` (a copy the kernel makes into or out of
 * fresh pages of this process, more than the one frame left), and prints what
 * it gave and how the hog ended: the OOM killer must end the hog, and the copy
 * succeed, as the process's own touch of those pages would. */
static void with_memory_full(const char *what, long (*copy)(char *fresh, unsigned long size))
{
    enum { SIZE = 16 * PAGE };
    char *fresh = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int ready[2];
    pipe(ready);
    pid_t hog = spawn_full_hog(ready[1]);
    char c;
    int full = read(ready[0], &c, 1) == 1;
    long result = full ? copy(fresh, SIZE) : -1;
    int error = errno;
    int status;
    kill(hog, SIGKILL); /* Only if the OOM killer did not. */
    waitpid(hog, &status, 0);
    if (result < 0)
        printf("%s: %s (memory full: %s)\n", what, errno_name(error), yes(full));
    else
        printf("%s: %ld bytes; the hog: %s\n", what, result, status_text(status));
    close(ready[0]);
    close(ready[1]);
    munmap(fresh, SIZE);
}

static long read_from_a_pipe(char *fresh, unsigned long size)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    static char message[PAGE];
    write(p[1], message, sizeof message);
    long got = read(p[0], fresh + size - 2 * PAGE + 100, sizeof message);
    close(p[0]);
    close(p[1]);
    return got;
}

static long read_from_dev_zero(char *fresh, unsigned long size)
{
    int zero = open("/dev/zero", O_RDONLY);
    long got = read(zero, fresh, size);
    close(zero);
    return got;
}

static long random_bytes(char *fresh, unsigned long size)
{
    return getrandom(fresh, size, 0);
}

/* write() out of pages never touched: the kernel reads them (zeros). */
static long write_to_a_pipe(char *fresh, unsigned long size)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    long put = write(p[1], fresh + size - 2 * PAGE + 100, PAGE);
    close(p[0]);
    close(p[1]);
    return put;
}

static volatile int handled;
static void count_signal(int signal)
{
    (void)signal;
    handled++;
}

/* A signal whose frame goes on an alternate stack of fresh pages, placed so that
 * the frame spans two of them. */
static long signal_on_fresh_stack(char *fresh, unsigned long size)
{
    struct sigaction action = { .sa_handler = count_signal, .sa_flags = SA_ONSTACK };
    sigaction(SIGUSR1, &action, NULL);
    stack_t stack = { .ss_sp = fresh, .ss_size = size - PAGE + 1024, .ss_flags = 0 };
    sigaltstack(&stack, NULL);
    int before = handled;
    raise(SIGUSR1);
    stack_t off = { .ss_flags = SS_DISABLE };
    sigaltstack(&off, NULL);
    return handled == before + 1 ? 1 : -1;
}

/* Every kernel copy into (or out of) a program's fresh pages, each made when a
 * hog holds every frame programs may have: the copy goes through the OOM policy
 * as the program's own touch would (the hog, the biggest, is killed and the copy
 * made), never EFAULT, a short count or SIGSEGV for the innocent; and every frame
 * comes back. */
static void oom_kernel_copies(void)
{
    with_memory_full("read from a pipe into fresh pages", read_from_a_pipe);
    with_memory_full("read from /dev/zero into fresh pages", read_from_dev_zero);
    with_memory_full("getrandom into fresh pages", random_bytes);
    with_memory_full("write to a pipe from fresh pages", write_to_a_pipe);
    with_memory_full("a signal frame on a fresh alternate stack", signal_on_fresh_stack);
}

/* In a child, whose exit gives back its page tables too; after a first round,
 * quietly, which makes whatever the kernel keeps for good after its first OOM
 * kill. */
static void c_oom_kernel_copies(void)
{
    quietly(oom_kernel_copies, 1);
    long before = free_memory();
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        oom_kernel_copies();
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        printf("the copies: %s\n", status_text(status));
    memory_back("free memory back to what it was", before, free_memory());
}

/* ---- The cases and main ---- */

static const struct grouped_case cases[] = {
    { "same", "heap-cut-then-moved", c_heap_cut_then_moved },
    { "same", "break-bounds", c_break_bounds },
    { "same", "stack-limit", c_stack_limit },
    { "limits", "heap-cut-memory-back", c_heap_cut_memory_back },
    { "limits", "oom-kernel-copies", c_oom_kernel_copies },
};
#define CASES (sizeof cases / sizeof cases[0])

int main(int argc, char **argv)
{
    return run_grouped_cases(cases, CASES, argc, argv, "hostile_mm", status_text);
}
