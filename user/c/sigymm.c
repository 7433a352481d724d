/* A handler's AVX registers do not leak into the code it interrupted, nor that
 * code's into the handler. Code holding known values in all sixteen ymm registers
 * (both halves) unblocks SIGUSR1 and SIGUSR2, both pending, in one system call: the
 * kernel builds both frames at once (SIGUSR2's handler runs first, on top of
 * SIGUSR1's, which has not run yet). Each handler records the ymm registers it
 * starts with (all zero: a fresh FPU state, also for the handler whose frame was
 * built before the other ran) and sets every bit of all sixteen; after both return
 * the interrupted code's ymm registers must be intact. Expected output is identical
 * on Linux. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "include/testlib.h"

/* What the interrupted code holds: byte j of ymm i is i * 32 + j + 1. */
static uint8_t pattern[16][32];
/* What it holds after both handlers returned. */
static uint8_t after[16][32];
/* What each handler found on entry, in the order they ran. */
uint8_t seen[2][16][32];
volatile uint64_t entered;
static int order[2];

/* run_with_ymm(pattern, after, unblock): loads ymm0-15 from `pattern`, runs
 * rt_sigprocmask(SIG_UNBLOCK, unblock, NULL, 8) with the `syscall` instruction
 * (no call in between to clobber them), stores ymm0-15 to `after`.
 * ymm_handler: the handlers' entry, which stores the ymm registers it starts with
 * in seen[entered] before any compiled code can touch them, then goes on in
 * handler_body. */
extern void run_with_ymm(const void *pattern, void *after, const sigset_t *unblock);
extern void ymm_handler(int sig);

#define EACH_YMM(op)                                                                                         \
    op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7) op(8) op(9) op(10) op(11) op(12) op(13) op(14) op(15)
#define LOAD(i) "  vmovdqu " #i "*32(%rdi), %ymm" #i "\n"
#define STORE(i) "  vmovdqu %ymm" #i ", " #i "*32(%rsi)\n"
#define SAVE(i) "  vmovdqu %ymm" #i ", " #i "*32(%rcx)\n"
#define FILL(i) "vpcmpeqb %%ymm" #i ", %%ymm" #i ", %%ymm" #i "\n"

__asm__(".text\n"
        ".globl run_with_ymm\n"
        "run_with_ymm:\n"
        EACH_YMM(LOAD)
        "  mov %rsi, %r8\n"
        "  mov %rdx, %rsi\n"
        "  mov $1, %edi\n" /* SIG_UNBLOCK */
        "  xor %edx, %edx\n"
        "  mov $8, %r10d\n"
        "  mov $14, %eax\n" /* rt_sigprocmask */
        "  syscall\n"
        "  mov %r8, %rsi\n"
        EACH_YMM(STORE)
        "  vzeroupper\n"
        "  ret\n"
        ".globl ymm_handler\n"
        "ymm_handler:\n"
        "  mov entered(%rip), %rax\n"
        "  and $1, %rax\n"
        "  shl $9, %rax\n"
        "  lea seen(%rip), %rcx\n"
        "  add %rax, %rcx\n"
        EACH_YMM(SAVE)
        "  jmp handler_body\n");

void handler_body(int sig)
{
    order[entered & 1] = sig;
    entered++;
    __asm__ volatile(EACH_YMM(FILL)::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                     "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

static int has_avx(void)
{
    unsigned eax = 1, ebx, ecx, edx;
    __asm__("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
    if (!(ecx & (1u << 27)) || !(ecx & (1u << 28)))
        return 0;
    unsigned low, high;
    __asm__("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    return (low & 6) == 6;
}

int main(void)
{
    if (!has_avx()) {
        printf("no AVX\n");
        return 1;
    }
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 32; j++)
            pattern[i][j] = (uint8_t)(i * 32 + j + 1);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = ymm_handler;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, NULL);
    sigaction(SIGUSR2, &action, NULL);
    sigset_t both;
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGUSR2);
    sigprocmask(SIG_BLOCK, &both, NULL);
    raise(SIGUSR1);
    raise(SIGUSR2);
    memset(seen, 0x5a, sizeof seen);
    run_with_ymm(pattern, after, &both);
    printf("handlers ran: %llu, first %s, then %s\n", (unsigned long long)entered,
           order[0] == SIGUSR2 ? "SIGUSR2" : "SIGUSR1", order[1] == SIGUSR2 ? "SIGUSR2" : "SIGUSR1");
    static const uint8_t zero[16][32];
    for (int h = 0; h < 2; h++) {
        if (memcmp(seen[h], zero, sizeof zero) == 0) {
            printf("handler %d started with every ymm register zero\n", h + 1);
            continue;
        }
        failures++;
        for (int i = 0; i < 16; i++)
            if (memcmp(seen[h][i], zero[i], 32) != 0)
                printf("FAIL: handler %d started with ymm%d byte 0 %#x, byte 16 %#x\n", h + 1, i, seen[h][i][0],
                       seen[h][i][16]);
    }
    if (memcmp(after, pattern, sizeof pattern) == 0) {
        printf("interrupted code's ymm0-15 intact after both handlers\n");
    } else {
        failures++;
        for (int i = 0; i < 16; i++)
            if (memcmp(after[i], pattern[i], 32) != 0)
                printf("FAIL: ymm%d byte 0 %#x, byte 16 %#x after the handlers\n", i, after[i][0], after[i][16]);
    }
    return failures;
}
