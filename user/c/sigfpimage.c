/* What a handler finds in its ucontext's fpstate (the frame's XSAVE image): the
 * interrupted code's own x87, SSE and MXCSR values, and x87 and SSE marked present
 * in XSTATE_BV. Code holding a non-default x87 control word, 1.0 on the x87 stack,
 * a pattern in xmm0 and a non-default MXCSR (round toward zero) sends itself
 * SIGUSR1 with the `syscall` instruction; the handler records the image. Then a
 * handler with its fresh FPU state (never touched) sends itself SIGUSR2: the
 * nested handler's image holds the initial state (default control words, empty x87
 * stack, zero registers), not the interrupted code's stale values. Expected output
 * is identical on Linux. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "include/testlib.h"

struct image_view {
    uint16_t cwd, swd, ftw;
    uint32_t mxcsr;
    uint8_t st0[10];
    uint8_t xmm0[16];
    uint32_t magic1;
    uint64_t xstate_bv;
};

static struct image_view seen[2];

static void record(struct image_view *view, const ucontext_t *uc)
{
    const uint8_t *image = (const uint8_t *)uc->uc_mcontext.fpregs;
    memcpy(&view->cwd, image + 0, 2);
    memcpy(&view->swd, image + 2, 2);
    memcpy(&view->ftw, image + 4, 2);
    memcpy(&view->mxcsr, image + 24, 4);
    memcpy(view->st0, image + 32, 10);
    memcpy(view->xmm0, image + 160, 16);
    memcpy(&view->magic1, image + 464, 4);
    memcpy(&view->xstate_bv, image + 512, 8);
}

static void on_usr1(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)info;
    record(&seen[0], context);
}

static void on_usr2(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)info;
    record(&seen[1], context);
}

/* A handler that leaves its fresh FPU state alone: kill(getpid(), SIGUSR2) by
 * `syscall`, no library code in between. */
static void send_usr2(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)info;
    (void)context;
    long number = SYS_kill;
    __asm__ volatile("syscall" : "+a"(number) : "D"((long)getpid()), "S"((long)SIGUSR2) : "rcx", "r11", "memory");
}

static void print_view(const char *what, const struct image_view *view)
{
    static const uint8_t one[10] = {0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f};
    static const uint8_t zero[16];
    static const uint8_t pattern[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    const char *st0 = memcmp(view->st0, one, 10) == 0 ? "1.0" : memcmp(view->st0, zero, 10) == 0 ? "zero" : "other";
    const char *xmm0 =
        memcmp(view->xmm0, pattern, 16) == 0 ? "pattern" : memcmp(view->xmm0, zero, 16) == 0 ? "zero" : "other";
    printf("%s: fcw %#x fsw %#x ftw %#x mxcsr %#x st0 %s xmm0 %s magic1 %#x x87+sse present %s\n", what, view->cwd,
           view->swd, view->ftw, view->mxcsr, st0, xmm0, view->magic1, (view->xstate_bv & 3) == 3 ? "yes" : "no");
}

/* handle_signal, or the program ends: nothing below means anything without the handler. */
static void handle(int signal, void (*handler)(int, siginfo_t *, void *))
{
    if (handle_signal(signal, handler, 0) != 0) {
        perror("sigaction");
        _exit(1);
    }
}

/* Loads the state, kill(getpid(), SIGUSR1) by `syscall`, then back to the defaults. */
static void signal_with_state(void)
{
    static const uint8_t pattern[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    uint32_t mxcsr = 0x1f80 | (3u << 13); /* round toward zero */
    uint16_t fcw = 0x037f & ~(3u << 8);   /* single precision */
    uint32_t default_mxcsr = 0x1f80;
    uint16_t default_fcw = 0x037f;
    long number = SYS_kill;
    __asm__ volatile("movdqu (%[pattern]), %%xmm0\n"
                     "ldmxcsr %[mxcsr]\n"
                     "fldcw %[fcw]\n"
                     "fld1\n"
                     "syscall\n"
                     "fstp %%st(0)\n"
                     "fldcw %[default_fcw]\n"
                     "ldmxcsr %[default_mxcsr]\n"
                     : "+a"(number)
                     : [pattern] "r"(pattern), [mxcsr] "m"(mxcsr), [fcw] "m"(fcw), [default_mxcsr] "m"(default_mxcsr),
                       [default_fcw] "m"(default_fcw), "D"((long)getpid()), "S"((long)SIGUSR1)
                     : "rcx", "r11", "xmm0", "memory");
}

int main(void)
{
    handle(SIGUSR1, on_usr1);
    handle(SIGUSR2, on_usr2);
    signal_with_state();
    print_view("interrupted code", &seen[0]);
    /* The nested case: SIGUSR1's handler now sends SIGUSR2 from its fresh state. */
    handle(SIGUSR1, send_usr2);
    signal_with_state();
    print_view("fresh handler", &seen[1]);
    return 0;
}
