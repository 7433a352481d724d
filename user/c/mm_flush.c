/* mm_flush: a change to the mappings of many pages takes effect at once for the
 * process that makes it, however many pages it covers: pages made read-only
 * refuse writes, and pages unmapped then mapped again read zeros, whether the
 * kernel drops their cached translations one by one (a few pages) or all at
 * once (many). The output is Linux's; the last line is "still running". */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>

#include "include/testlib.h"

#define PAGE 4096UL
#define MARK 100

static sigjmp_buf recover;

static void on_segv(int signal, siginfo_t *info, void *context)
{
    (void)signal, (void)info, (void)context;
    siglongjmp(recover, 1);
}

/* Writes every page of [base, base + pages * PAGE) once, so that the CPU caches
 * each one's translation. */
static void touch_all(volatile char *base, long pages)
{
    for (long i = 0; i < pages; i++)
        base[i * PAGE + MARK] = 1;
}

/* How many pages of the range take a write (a refused one raises SIGSEGV, which
 * comes back here). */
static long pages_taking_a_write(volatile char *base, long pages)
{
    /* Volatile: the count must be what it was when a write faulted. */
    volatile long taken = 0;
    for (volatile long i = 0; i < pages; i++) {
        if (sigsetjmp(recover, 1) == 0) {
            base[i * PAGE + MARK] = 2;
            taken++;
        }
    }
    return taken;
}

static long pages_not_zero(volatile char *base, long pages)
{
    long found = 0;
    for (long i = 0; i < pages; i++)
        found += base[i * PAGE + MARK] != 0;
    return found;
}

static void changes_of(long pages)
{
    size_t length = pages * PAGE;
    char *base = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        printf("%ld pages: mmap failed\n", pages);
        return;
    }
    touch_all(base, pages);
    show("mprotect read-only", mprotect(base, length, PROT_READ));
    printf("%ld pages made read-only, pages still taking a write: %ld\n", pages, pages_taking_a_write(base, pages));
    show("mprotect read-write", mprotect(base, length, PROT_READ | PROT_WRITE));
    touch_all(base, pages);
    show("munmap", munmap(base, length));
    char *again = mmap(base, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("%ld pages unmapped and mapped again, pages reading what was there: %ld\n", pages,
           again == base ? pages_not_zero(again, pages) : -1);
    munmap(again, length);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (handle_signal(SIGSEGV, on_segv, SA_NODEFER) != 0)
        printf("sigaction failed\n");
    changes_of(4);
    changes_of(200);
    printf("still running\n");
    return 0;
}
