/* hostile_sig: signal delivery turned against the kernel, beyond the forged
 * rt_sigreturn frames of `sigforge`: handlers and restorers in the kernel or at
 * non-canonical addresses, alternate stacks the kernel cannot write, a stack
 * pointer in the kernel when a signal arrives, faults inside handlers, unbounded
 * nesting, and a few more forged frames (a kernel rip or rsp, an fpstate in the
 * kernel or running off its mapping). Each case runs in a child and must end only
 * that child, the way Linux ends it; the output is the same on Linux and timeshare.
 *   hostile_sig all | CASE...
 * The last line is "still running"; exit status 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "include/testlib.h"

#define KERNEL 0xffffffff80000000UL
#define NONCANONICAL 0x0000800000000000UL

/* The kernel's struct sigaction on x86_64 (what rt_sigaction takes). */
struct ksigaction {
    uint64_t handler;
    uint64_t flags;
    uint64_t restorer;
    uint64_t mask;
};
#define SA_RESTORER_ 0x04000000UL
#define SA_ONSTACK_ 0x08000000UL
#define SA_NODEFER_ 0x40000000UL

extern void restore_rt(void);
__asm__(".text\n"
        "restore_rt:\n"
        "  mov $15, %eax\n"
        "  syscall\n"
        "  hlt\n");

static long set_action(int signal, uint64_t handler, uint64_t flags, uint64_t restorer)
{
    struct ksigaction action = { handler, flags, restorer, 0 };
    return syscall(SYS_rt_sigaction, signal, &action, NULL, 8);
}

static void plain_handler(int signal) { (void)signal; }

/* ---- Handlers and restorers where they cannot be ---- */

static long c_handler_kernel(void)
{
    set_action(SIGUSR1, KERNEL, SA_RESTORER_, (uint64_t)restore_rt);
    raise(SIGUSR1);
    return 0;
}
static long c_handler_noncanonical(void)
{
    set_action(SIGUSR1, NONCANONICAL, SA_RESTORER_, (uint64_t)restore_rt);
    raise(SIGUSR1);
    return 0;
}
static long c_handler_unmapped(void)
{
    set_action(SIGUSR1, 0x20000000, SA_RESTORER_, (uint64_t)restore_rt);
    raise(SIGUSR1);
    return 0;
}
static long c_restorer_kernel(void)
{
    set_action(SIGUSR1, (uint64_t)plain_handler, SA_RESTORER_, KERNEL);
    raise(SIGUSR1);
    return 0;
}
static long c_restorer_noncanonical(void)
{
    set_action(SIGUSR1, (uint64_t)plain_handler, SA_RESTORER_, NONCANONICAL);
    raise(SIGUSR1);
    return 0;
}
/* x86-64 requires SA_RESTORER: without it the frame cannot be built. */
static long c_no_restorer(void)
{
    set_action(SIGUSR1, (uint64_t)plain_handler, 0, 0);
    raise(SIGUSR1);
    return 0;
}

/* ---- Stacks the kernel cannot write the frame on ---- */

static long on_alt_stack(uint64_t base, size_t size)
{
    stack_t stack = { .ss_sp = (void *)base, .ss_flags = 0, .ss_size = size };
    if (sigaltstack(&stack, NULL) != 0)
        return -errno;
    struct sigaction action = { .sa_handler = plain_handler, .sa_flags = SA_ONSTACK };
    sigaction(SIGUSR1, &action, NULL);
    raise(SIGUSR1);
    return 0;
}
static long c_altstack_kernel(void) { return on_alt_stack(KERNEL, 65536); }
static long c_altstack_unmapped(void) { return on_alt_stack(0x20000000, 65536); }
static long c_altstack_noncanonical(void) { return on_alt_stack(NONCANONICAL, 65536); }
static long c_altstack_too_small(void)
{
    static char small[1024];
    stack_t stack = { .ss_sp = small, .ss_flags = 0, .ss_size = sizeof small };
    return sigaltstack(&stack, NULL) == 0 ? 0 : -errno; /* ENOMEM (-12) */
}

/* kill(self, SIGUSR1) made with the stack pointer at `rsp`: the handler's frame
 * goes below it. */
static long signal_with_stack_at(uint64_t rsp)
{
    struct sigaction action = { .sa_handler = plain_handler };
    sigaction(SIGUSR1, &action, NULL);
    long pid = getpid();
    __asm__ volatile("mov %%rsp, %%r12\n"
                     "mov %[rsp], %%rsp\n"
                     "mov $62, %%eax\n"
                     "syscall\n"
                     "mov %%r12, %%rsp\n"
                     :
                     : [rsp] "r"(rsp), "D"(pid), "S"((long)SIGUSR1)
                     : "rax", "rcx", "r11", "r12", "memory");
    return 0;
}
static long c_rsp_kernel(void) { return signal_with_stack_at(KERNEL + 0x10000); }
static long c_rsp_noncanonical(void) { return signal_with_stack_at(NONCANONICAL + 0x10000); }
static long c_rsp_low(void) { return signal_with_stack_at(0x100); }

/* ---- Faults in handlers, nesting ---- */

/* A pointer the compiler cannot see is NULL-ish. */
static volatile int *volatile low_address = (volatile int *)16;

static void faulting_handler(int signal)
{
    (void)signal;
    *low_address = 1;
}
static long c_fault_in_sigsegv_handler(void)
{
    struct sigaction action = { .sa_handler = faulting_handler };
    sigaction(SIGSEGV, &action, NULL);
    *low_address = 1;
    return 0;
}
static long c_fault_in_sigusr1_handler(void)
{
    struct sigaction action = { .sa_handler = faulting_handler };
    sigaction(SIGUSR1, &action, NULL);
    raise(SIGUSR1);
    return 0;
}
static long c_ignored_sigsegv(void)
{
    signal(SIGSEGV, SIG_IGN);
    *low_address = 1;
    return 0;
}
static long c_blocked_sigill(void)
{
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    __asm__ volatile("ud2");
    return 0;
}

/* A handler that sends its signal to itself again (SA_NODEFER: delivered at once,
 * inside it) without using any stack of its own: only the kernel's frames pile
 * up, until the stack they are on has no room for the next one. */
extern void nesting_handler(int signal);
__asm__(".text\n"
        "nesting_handler:\n"
        "  mov %edi, %esi\n"  /* the signal */
        "  mov $39, %eax\n"   /* getpid */
        "  syscall\n"
        "  mov %eax, %edi\n"
        "  mov $62, %eax\n"   /* kill(pid, signal) */
        "  syscall\n"
        "  ret\n");
static long c_unbounded_nesting(void)
{
    set_action(SIGUSR1, (uint64_t)nesting_handler, SA_RESTORER_ | SA_NODEFER_, (uint64_t)restore_rt);
    raise(SIGUSR1);
    return 0;
}
static long c_nesting_on_alt_stack(void)
{
    static char alt[65536];
    stack_t stack = { .ss_sp = alt, .ss_flags = 0, .ss_size = sizeof alt };
    sigaltstack(&stack, NULL);
    set_action(SIGUSR1, (uint64_t)nesting_handler, SA_RESTORER_ | SA_NODEFER_ | SA_ONSTACK_, (uint64_t)restore_rt);
    raise(SIGUSR1);
    return 0;
}

/* ---- More forged frames ---- */

static int forgery;
static char *half_page;

static void forge(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    (void)info;
    ucontext_t *uc = context;
    greg_t *gregs = uc->uc_mcontext.gregs;
    switch (forgery) {
    case 0: gregs[REG_RIP] = (greg_t)KERNEL; break;
    case 1: gregs[REG_RSP] = (greg_t)KERNEL; break;
    case 2: gregs[REG_RSP] = (greg_t)NONCANONICAL; break;
    case 3: uc->uc_mcontext.fpregs = (void *)KERNEL; break;
    case 4: {
        /* A copy of the XSAVE image that runs off the end of its mapping. */
        unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;
        unsigned char *copy = (unsigned char *)half_page + 4096 - 600;
        memcpy(copy, fp, 600);
        uc->uc_mcontext.fpregs = (void *)copy;
        break;
    }
    case 5: {
        /* Garbage FPU state: random bytes over the whole fxsave area (MXCSR
         * included) but a valid header, so only the contents are wrong. */
        unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;
        uint64_t x = 0x9e3779b97f4a7c15ULL;
        for (int i = 0; i < 416; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            fp[i] = (unsigned char)x;
        }
        break;
    }
    case 6: gregs[REG_CSGSFS] = (gregs[REG_CSGSFS] & ~0xffffL) | 0x2b; break; /* CS = the user data segment */
    case 7: gregs[REG_RIP] = (greg_t)0xffffffffff600000UL; break; /* top of the address space */
    }
}

static long forged(int which)
{
    forgery = which;
    half_page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(half_page + 4096, 4096);
    struct sigaction action = { .sa_sigaction = forge, .sa_flags = SA_SIGINFO };
    sigaction(SIGUSR1, &action, NULL);
    raise(SIGUSR1);
    return 0;
}
static long c_forge_kernel_rip(void) { return forged(0); }
static long c_forge_kernel_rsp(void) { return forged(1); }
static long c_forge_noncanonical_rsp(void) { return forged(2); }
static long c_forge_kernel_fpstate(void) { return forged(3); }
static long c_forge_half_mapped_fpstate(void) { return forged(4); }
static long c_forge_garbage_fpu_state(void)
{
    /* Garbage with a legal MXCSR would be accepted; this garbage has reserved MXCSR
     * bits set (the random bytes), which XRSTOR refuses: SIGSEGV. */
    return forged(5);
}
static long c_forge_data_segment_as_code(void) { return forged(6); }
static long c_forge_rip_top(void) { return forged(7); }

static const struct child_case cases[] = {
    { "handler in the kernel", c_handler_kernel },
    { "handler at a non-canonical address", c_handler_noncanonical },
    { "handler unmapped", c_handler_unmapped },
    { "restorer in the kernel", c_restorer_kernel },
    { "restorer at a non-canonical address", c_restorer_noncanonical },
    { "no SA_RESTORER", c_no_restorer },
    { "alternate stack in the kernel", c_altstack_kernel },
    { "alternate stack unmapped", c_altstack_unmapped },
    { "alternate stack non-canonical", c_altstack_noncanonical },
    { "alternate stack too small (-12: ENOMEM)", c_altstack_too_small },
    { "signal with rsp in the kernel", c_rsp_kernel },
    { "signal with rsp non-canonical", c_rsp_noncanonical },
    { "signal with rsp at 0x100", c_rsp_low },
    { "fault in a SIGSEGV handler", c_fault_in_sigsegv_handler },
    { "fault in a SIGUSR1 handler", c_fault_in_sigusr1_handler },
    { "fault with SIGSEGV ignored", c_ignored_sigsegv },
    { "ud2 with every signal blocked", c_blocked_sigill },
    { "unbounded nesting of handlers", c_unbounded_nesting },
    { "unbounded nesting on the alternate stack", c_nesting_on_alt_stack },
    { "sigreturn to a kernel rip", c_forge_kernel_rip },
    { "sigreturn to a kernel rsp", c_forge_kernel_rsp },
    { "sigreturn to a non-canonical rsp", c_forge_noncanonical_rsp },
    { "sigreturn with fpstate in the kernel", c_forge_kernel_fpstate },
    { "sigreturn with fpstate running off its mapping", c_forge_half_mapped_fpstate },
    { "sigreturn with garbage FPU state", c_forge_garbage_fpu_state },
    { "sigreturn with the data segment as CS", c_forge_data_segment_as_code },
    { "sigreturn to the top of the address space", c_forge_rip_top },
};

int main(int argc, char **argv)
{
    /* The signals named in the output (any other: "another signal"). */
    static const int named[] = { SIGSEGV, SIGILL, SIGBUS, SIGTRAP, SIGUSR1, SIGKILL, 0 };
    return run_child_cases(cases, sizeof cases / sizeof cases[0], named, argc, argv, "usage: hostile_sig all | CASE...");
}
