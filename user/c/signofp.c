/* rt_sigreturn from a frame whose fpstate is NULL: the interrupted code resumes with
 * the initial FPU state (Linux clears the user FPU state when a frame carries no
 * image). Code holding a pattern in xmm0 and ymm1, a non-default MXCSR (round toward
 * zero) and a non-default x87 control word sends itself SIGUSR1 with the `syscall`
 * instruction; the handler drops the frame's fpstate; right after the syscall the
 * registers are stored and printed. A control run keeps the fpstate, and the values
 * come back. Expected output is identical on Linux. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "include/testlib.h"

struct fpu_view {
    uint8_t xmm0[16];
    uint8_t ymm1[32];
    uint32_t mxcsr;
    uint16_t fcw;
};

static int drop_fpstate;

static void handler(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)info;
    ucontext_t *uc = context;
    if (drop_fpstate)
        uc->uc_mcontext.fpregs = NULL;
}

/* Loads the pattern, kill(getpid(), SIGUSR1) by `syscall`, stores what comes back. */
static void signal_with_state(struct fpu_view *after)
{
    static const uint8_t pattern[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                        17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
    uint32_t mxcsr = 0x1f80 | (3u << 13); /* round toward zero */
    uint16_t fcw = 0x037f & ~(3u << 8);   /* single precision */
    long number = SYS_kill;
    __asm__ volatile("vmovdqu (%[pattern]), %%ymm1\n"
                     "movdqu (%[pattern]), %%xmm0\n"
                     "ldmxcsr %[mxcsr]\n"
                     "fldcw %[fcw]\n"
                     "syscall\n"
                     "movdqu %%xmm0, %[xmm0]\n"
                     "vmovdqu %%ymm1, %[ymm1]\n"
                     "stmxcsr %[mxcsr_out]\n"
                     "fnstcw %[fcw_out]\n"
                     : [xmm0] "=m"(after->xmm0), [ymm1] "=m"(after->ymm1), [mxcsr_out] "=m"(after->mxcsr),
                       [fcw_out] "=m"(after->fcw), "+a"(number)
                     : [pattern] "r"(pattern), [mxcsr] "m"(mxcsr), [fcw] "m"(fcw), "D"((long)getpid()), "S"((long)SIGUSR1)
                     : "rcx", "r11", "xmm0", "xmm1", "memory");
}

static void print_state(const char *what, const struct fpu_view *after)
{
    int xmm0_zero = 1, ymm1_zero = 1;
    for (int i = 0; i < 16; i++)
        xmm0_zero &= after->xmm0[i] == 0;
    for (int i = 0; i < 32; i++)
        ymm1_zero &= after->ymm1[i] == 0;
    printf("%s: xmm0 %s, ymm1 %s, mxcsr %#x, fcw %#x\n", what, xmm0_zero ? "zero" : "kept",
           ymm1_zero ? "zero" : "kept", after->mxcsr, after->fcw);
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, 0) != 0) {
        perror("sigaction");
        return 1;
    }
    struct fpu_view after;
    drop_fpstate = 0;
    signal_with_state(&after);
    print_state("with fpstate", &after);
    drop_fpstate = 1;
    signal_with_state(&after);
    print_state("fpstate NULL", &after);
    return 0;
}
