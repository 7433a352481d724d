/* A signal handler interrupts code that holds known values in every general
 * register, RFLAGS (CF, DF) and xmm0-15, clobbers them all, and returns: after
 * rt_sigreturn every one must be back. Twice: synchronously (ud2 -> SIGILL, the
 * handler skips the instruction through its ucontext) and asynchronously (a spin
 * loop interrupted by SIGUSR1 from a child). The handler must also start with a
 * fresh FPU state (MXCSR 0x1f80) while the interrupted code's MXCSR survives.
 * Expected output is identical on Linux. */
#define _GNU_SOURCE
#include <fenv.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "include/testlib.h"

/* check_registers(out, mode): loads 1..15 into rax, rbx, rcx, rdx, rsi, rdi, rbp,
 * r8..r15, 0x1000+i into xmm i; mode 0: sets CF and DF and executes ud2; mode 1:
 * spins until `arrived` is set. Then stores the 15 registers, xmm0-15 and (mode 0)
 * RFLAGS into out[0..32). */
extern void check_registers(uint64_t *out, uint64_t mode);
extern char ud2_site[];
volatile uint8_t arrived;

__asm__(
    ".text\n"
    ".globl check_registers\n"
    "check_registers:\n"
    "  push %rbx\n  push %rbp\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
    "  push %rdi\n"
    "  push %rsi\n"
    "  mov $0x1000, %rax\n movq %rax, %xmm0\n"
    "  mov $0x1001, %rax\n movq %rax, %xmm1\n"
    "  mov $0x1002, %rax\n movq %rax, %xmm2\n"
    "  mov $0x1003, %rax\n movq %rax, %xmm3\n"
    "  mov $0x1004, %rax\n movq %rax, %xmm4\n"
    "  mov $0x1005, %rax\n movq %rax, %xmm5\n"
    "  mov $0x1006, %rax\n movq %rax, %xmm6\n"
    "  mov $0x1007, %rax\n movq %rax, %xmm7\n"
    "  mov $0x1008, %rax\n movq %rax, %xmm8\n"
    "  mov $0x1009, %rax\n movq %rax, %xmm9\n"
    "  mov $0x100a, %rax\n movq %rax, %xmm10\n"
    "  mov $0x100b, %rax\n movq %rax, %xmm11\n"
    "  mov $0x100c, %rax\n movq %rax, %xmm12\n"
    "  mov $0x100d, %rax\n movq %rax, %xmm13\n"
    "  mov $0x100e, %rax\n movq %rax, %xmm14\n"
    "  mov $0x100f, %rax\n movq %rax, %xmm15\n"
    "  mov (%rsp), %rax\n"
    "  test %rax, %rax\n"
    "  mov $1, %rax\n mov $2, %rbx\n mov $3, %rcx\n mov $4, %rdx\n mov $5, %rsi\n"
    "  mov $6, %rdi\n mov $7, %rbp\n mov $8, %r8\n mov $9, %r9\n mov $10, %r10\n"
    "  mov $11, %r11\n mov $12, %r12\n mov $13, %r13\n mov $14, %r14\n mov $15, %r15\n"
    "  jnz 2f\n"
    "  stc\n  std\n"
    ".globl ud2_site\n"
    "ud2_site:\n"
    "  ud2\n"
    "  jmp 3f\n"
    "2:\n"
    "  cmpb $0, arrived(%rip)\n"
    "  je 2b\n"
    "3:\n"
    "  pushfq\n"
    "  cld\n"
    "  push %rax\n push %rbx\n push %rcx\n push %rdx\n push %rsi\n push %rdi\n push %rbp\n"
    "  push %r8\n push %r9\n push %r10\n push %r11\n push %r12\n push %r13\n push %r14\n push %r15\n"
    "  mov 136(%rsp), %rdi\n"           /* out: 15 registers + rflags + mode */
    "  mov $0, %rcx\n"
    "4:\n"
    "  mov (%rsp,%rcx,8), %rax\n"
    "  mov %rax, (%rdi,%rcx,8)\n"
    "  inc %rcx\n"
    "  cmp $16, %rcx\n"
    "  jne 4b\n"
    "  movq %xmm0, 128(%rdi)\n movq %xmm1, 136(%rdi)\n movq %xmm2, 144(%rdi)\n movq %xmm3, 152(%rdi)\n"
    "  movq %xmm4, 160(%rdi)\n movq %xmm5, 168(%rdi)\n movq %xmm6, 176(%rdi)\n movq %xmm7, 184(%rdi)\n"
    "  movq %xmm8, 192(%rdi)\n movq %xmm9, 200(%rdi)\n movq %xmm10, 208(%rdi)\n movq %xmm11, 216(%rdi)\n"
    "  movq %xmm12, 224(%rdi)\n movq %xmm13, 232(%rdi)\n movq %xmm14, 240(%rdi)\n movq %xmm15, 248(%rdi)\n"
    "  add $128, %rsp\n"
    "  pop %rsi\n  pop %rdi\n"
    "  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbp\n  pop %rbx\n"
    "  ret\n");

static volatile uint32_t handler_mxcsr;
static volatile uint64_t handler_rip, handler_rax, handler_r11, handler_trapno;
static volatile int handler_si_code;
static volatile void *handler_si_addr;

/* Overwrites every register a handler could leave changed. */
static void clobber(void) {
    __asm__ volatile(
        "xorps %%xmm0, %%xmm0\n xorps %%xmm1, %%xmm1\n xorps %%xmm2, %%xmm2\n xorps %%xmm3, %%xmm3\n"
        "xorps %%xmm4, %%xmm4\n xorps %%xmm5, %%xmm5\n xorps %%xmm6, %%xmm6\n xorps %%xmm7, %%xmm7\n"
        "xorps %%xmm8, %%xmm8\n xorps %%xmm9, %%xmm9\n xorps %%xmm10, %%xmm10\n xorps %%xmm11, %%xmm11\n"
        "xorps %%xmm12, %%xmm12\n xorps %%xmm13, %%xmm13\n xorps %%xmm14, %%xmm14\n xorps %%xmm15, %%xmm15\n"
        "mov $-1, %%rbx\n mov $-1, %%r12\n mov $-1, %%r13\n mov $-1, %%r14\n mov $-1, %%r15\n"
        "mov $-1, %%rcx\n mov $-1, %%rdx\n mov $-1, %%rsi\n mov $-1, %%rdi\n"
        "mov $-1, %%r8\n mov $-1, %%r9\n mov $-1, %%r10\n mov $-1, %%r11\n"
        "std\n cld\n"
        ::: "rbx", "r12", "r13", "r14", "r15", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
          "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
          "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory");
}

static void on_ill(int signal, siginfo_t *info, void *context) {
    ucontext_t *uc = context;
    uint32_t mxcsr;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    handler_mxcsr = mxcsr;
    handler_rip = uc->uc_mcontext.gregs[REG_RIP];
    handler_rax = uc->uc_mcontext.gregs[REG_RAX];
    handler_r11 = uc->uc_mcontext.gregs[REG_R11];
    handler_trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
    handler_si_code = info->si_code;
    handler_si_addr = info->si_addr;
    uc->uc_mcontext.gregs[REG_RIP] += 2; /* past the ud2 */
    clobber();
    (void)signal;
}

static void on_usr1(int signal) {
    (void)signal;
    clobber();
    arrived = 1;
}

static int report_registers(const char *what, const uint64_t *out, int with_flags) {
    int bad = 0;
    for (int i = 0; i < 15; i++) {
        /* out[15 - 1 - i]: pushed rax first, so r15 is at out[0]. */
        uint64_t value = out[14 - i];
        if (value != (uint64_t)(i + 1)) {
            printf("%s: register %d is %#llx\n", what, i, (unsigned long long)value);
            bad = 1;
        }
    }
    for (int i = 0; i < 16; i++) {
        if (out[16 + i] != 0x1000u + i) {
            printf("%s: xmm%d is %#llx\n", what, i, (unsigned long long)out[16 + i]);
            bad = 1;
        }
    }
    if (with_flags) {
        uint64_t flags = out[15];
        if (!(flags & 1) || !(flags & 0x400)) {
            printf("%s: rflags %#llx lost CF or DF\n", what, (unsigned long long)flags);
            bad = 1;
        }
    }
    printf("%s: %s\n", what, bad ? "registers LOST" : "every register restored");
    return bad;
}

int main(void) {
    uint64_t out[32];
    int bad = 0;

    handle_signal(SIGILL, on_ill, 0);
    fesetround(FE_DOWNWARD);
    check_registers(out, 0);
    bad |= report_registers("SIGILL (synchronous)", out, 1);
    printf("handler saw: rip at ud2 %s, rax %llu, r11 %llu, trapno %llu, si_code %d (ILL_ILLOPN %d), si_addr at ud2 %s\n",
           handler_rip == (uint64_t)ud2_site ? "yes" : "no", (unsigned long long)handler_rax,
           (unsigned long long)handler_r11, (unsigned long long)handler_trapno, handler_si_code, ILL_ILLOPN,
           handler_si_addr == (void *)ud2_site ? "yes" : "no");
    printf("handler MXCSR %#x (fresh FPU state), rounding after return %s\n", handler_mxcsr,
           fegetround() == FE_DOWNWARD ? "still downward" : "LOST");
    fesetround(FE_TONEAREST);

    signal(SIGUSR1, on_usr1);
    int ready[2];
    if (pipe(ready) != 0) return 2;
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        char byte;
        if (read(ready[0], &byte, 1) != 1) _exit(3);
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    if (write(ready[1], "go", 1) != 1) return 2;
    check_registers(out, 1);
    bad |= report_registers("SIGUSR1 (asynchronous)", out, 0);
    int status;
    waitpid(child, &status, 0);
    return bad;
}
