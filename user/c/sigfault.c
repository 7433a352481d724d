/* Faults become signals with Linux's si_code and si_addr, and a handler can leave
 * with siglongjmp, again and again (the mask siglongjmp restores unblocks the
 * signal each time): a write to an unmapped address (SEGV_MAPERR), a write to
 * read-only memory (SEGV_ACCERR), an integer division by zero (SIGFPE, FPE_INTDIV,
 * at the dividing instruction), int3 (SIGTRAP, SI_KERNEL). A blocked fault signal
 * cannot be blocked: the program dies of it. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "include/testlib.h"

static sigjmp_buf escape;
static volatile int caught_signal, caught_code;
static void *volatile caught_address;
static volatile uint64_t caught_rip;

static void on_fault(int signal, siginfo_t *info, void *context) {
    ucontext_t *uc = context;
    caught_signal = signal;
    caught_code = info->si_code;
    caught_address = info->si_addr;
    caught_rip = uc->uc_mcontext.gregs[REG_RIP];
    siglongjmp(escape, 1);
}

static volatile uintptr_t unmapped = 0x1000;
static const char read_only[] = "constant";
static volatile int zero = 0;

int main(void) {
    handle_signal(SIGSEGV, on_fault, 0);
    handle_signal(SIGFPE, on_fault, 0);
    handle_signal(SIGTRAP, on_fault, 0);

    for (int round = 0; round < 3; round++) {
        if (sigsetjmp(escape, 1) == 0) {
            *(volatile int *)unmapped = 1;
        }
        printf("unmapped write, round %d: signal %d code %d (SEGV_MAPERR %d) address right %s\n", round,
               caught_signal, caught_code, SEGV_MAPERR, caught_address == (void *)unmapped ? "yes" : "no");
    }
    if (sigsetjmp(escape, 1) == 0) {
        *(volatile char *)read_only = 'C';
    }
    printf("read-only write: signal %d code %d (SEGV_ACCERR %d) address right %s\n", caught_signal, caught_code,
           SEGV_ACCERR, caught_address == (void *)read_only ? "yes" : "no");
    if (sigsetjmp(escape, 1) == 0) {
        printf("%d\n", 7 / zero);
    }
    printf("division by zero: signal %d code %d (FPE_INTDIV %d) address is the instruction %s\n", caught_signal,
           caught_code, FPE_INTDIV, (uint64_t)caught_address == caught_rip ? "yes" : "no");
    if (sigsetjmp(escape, 1) == 0) {
        __asm__ volatile("int3");
    }
    printf("int3: signal %d code %d (SI_KERNEL %d)\n", caught_signal, caught_code, SI_KERNEL);

    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        sigset_t segv;
        sigemptyset(&segv);
        sigaddset(&segv, SIGSEGV);
        sigprocmask(SIG_BLOCK, &segv, NULL);
        *(volatile int *)unmapped = 1;
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("blocked SIGSEGV on a fault: killed by signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return 0;
}
