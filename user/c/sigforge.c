/* Forged signal frames: a SIGUSR1 handler rewrites the frame rt_sigreturn will
 * restore (a non-canonical rip, a kernel code segment, a null stack segment, an
 * MXCSR with reserved bits, XSTATE_BV or XCOMP_BV bits XRSTOR refuses, an fpstate
 * pointer to nowhere, privileged RFLAGS bits), and one rt_sigreturn is made without
 * any handler, on a zeroed stack. Each must end that process with SIGSEGV (the
 * RFLAGS one: the privileged bits are dropped, so `cli` faults), never reach
 * kernel mode or hurt the kernel: the parent outlives them all. With a case number
 * as argument, the program forges in its own frame and dies of it. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "include/testlib.h"

static int forgery;

static const char *const names[] = {
    "non-canonical rip",
    "kernel code segment",
    "null stack segment",
    "MXCSR reserved bits",
    "XSTATE_BV beyond XCR0",
    "XCOMP_BV set (compacted format)",
    "fpstate pointer to unmapped memory",
    "IOPL 3, NT and VM in RFLAGS, then cli",
    "rt_sigreturn on a zeroed stack",
};
#define CASES (int)(sizeof names / sizeof names[0])

static void forge(int signal, siginfo_t *info, void *context) {
    (void)signal;
    (void)info;
    ucontext_t *uc = context;
    greg_t *gregs = uc->uc_mcontext.gregs;
    uint8_t *fpstate = (uint8_t *)uc->uc_mcontext.fpregs;
    uint16_t *segments = (uint16_t *)&gregs[REG_CSGSFS]; /* cs, gs, fs, ss */
    switch (forgery) {
    case 0: gregs[REG_RIP] = (greg_t)0x8000000000000000ull; break;
    case 1: segments[0] = 0x10; break;
    case 2: segments[3] = 0; break;
    case 3: uc->uc_mcontext.fpregs->mxcsr = 0xffffffff; break;
    case 4: *(uint64_t *)(fpstate + 512) |= 1ull << 62; break;
    case 5: *(uint64_t *)(fpstate + 520) = 1; break;
    case 6: uc->uc_mcontext.fpregs = (void *)0x1000; break;
    case 7: gregs[REG_EFL] |= 0x3000 | 0x4000 | 0x20000; break;
    }
}

static void run(int which) {
    forgery = which;
    if (which == 8) {
        static uint64_t zeros[128] __attribute__((aligned(16)));
        __asm__ volatile("mov %0, %%rsp\n mov $15, %%eax\n syscall\n ud2" : : "r"(zeros + 64) : "memory");
    }
    handle_signal(SIGUSR1, forge, 0);
    raise(SIGUSR1);
    if (which == 7) __asm__ volatile("cli");
    printf("survived\n");
}

int main(int argc, char **argv) {
    if (argc == 2) {
        run(atoi(argv[1]));
        return 0;
    }
    for (int which = 0; which < CASES; which++) {
        fflush(stdout);
        pid_t child = fork();
        if (child == 0) {
            run(which);
            fflush(stdout);
            _exit(0);
        }
        int status;
        waitpid(child, &status, 0);
        if (WIFSIGNALED(status)) {
            printf("%s: killed by signal %d\n", names[which], WTERMSIG(status));
        } else {
            printf("%s: exited %d\n", names[which], WEXITSTATUS(status));
        }
    }
    printf("the parent is still here\n");
    return 0;
}
