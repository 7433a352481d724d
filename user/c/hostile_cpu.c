/* hostile_cpu: what a program can do to the CPU's own state, and must not be able
 * to turn against the kernel or another process: running 32-bit code (a far jump to
 * the 32-bit user code segment, 0x23) and entering the kernel from there by
 * syscall, sysenter and int $0x80; loading segment selectors into ds, es, fs and gs;
 * RFLAGS games (TF, AC, NT, IOPL); the instructions UMIP guards (sgdt, sidt, smsw,
 * str, sldt). Each case runs in a child of its own and prints one line ("killed by
 * SIGSEGV", or what it returned). The output is the same on Linux and on timeshare
 * but where the CPU or Linux's ia32 emulation legitimately differ (see
 * cli/tests/hostile_cpu.rs).
 *   hostile_cpu all | CASE...
 * The first line is the segment selectors the program started with, the last
 * "still running"; exit status 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "include/testlib.h"

#define USER32_CS 0x23
#define USER_DS 0x2b
#define RFLAGS_TF 0x100UL
#define RFLAGS_IOPL 0x3000UL
#define RFLAGS_NT 0x4000UL
#define RFLAGS_AC 0x40000UL
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
/* The i386 number of getpid, for the 32-bit ways into the kernel. */
#define I386_GETPID 20

/* ---- Raw system calls: usable while the program's own TLS (%fs) is broken ---- */

static long raw_syscall3(long number, long a, long b, long c)
{
    long result;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(number), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return result;
}

static long raw_wait4(pid_t pid, int *status)
{
    long result;
    register long options __asm__("r10") = 0;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"((long)SYS_wait4), "D"((long)pid), "S"(status), "d"(0L), "r"(options)
                     : "rcx", "r11", "memory");
    return result;
}

static __attribute__((noreturn)) void raw_exit(int status)
{
    for (;;)
        raw_syscall3(SYS_exit, status, 0, 0);
}

static void raw_yield_a_few_times(void)
{
    for (int i = 0; i < 5; i++)
        raw_syscall3(SYS_sched_yield, 0, 0, 0);
    struct timespec pause = { 0, 2000000 };
    raw_syscall3(SYS_nanosleep, (long)&pause, 0, 0);
}

/* The TLS base, to put back (by arch_prctl, which also nulls the selector as on
 * Linux) after a case broke it by loading %fs. */
static unsigned long tls_base(void)
{
    unsigned long base = 0;
    raw_syscall3(SYS_arch_prctl, ARCH_GET_FS, (long)&base, 0);
    return base;
}

static void restore_tls(unsigned long base)
{
    raw_syscall3(SYS_arch_prctl, ARCH_SET_FS, (long)base, 0);
}

/* ---- 32-bit code ----
 * run_in_32bit(code, argument) far-jumps to `code` in the 32-bit user code segment
 * with the argument in %esi; the code ends with `ljmp $0x33, $back_to_64` and its
 * result in %eax. The program is linked below 4 GiB (static, not PIE), so the 32-bit
 * code can name its addresses; it runs on a stack of its own in .bss. (A far jump
 * through memory, not lretq: QEMU's far return reads the stack as a supervisor
 * access, which SMAP refuses.) */
__asm__(/* Unlike 64-bit code, 32-bit code cannot address memory through a null ds or
           es: load the user data segment first (and a stack of its own). */
        ".macro load_data_segments32\n"
        "  mov $0x2b, %eax\n"
        "  mov %eax, %ds\n"
        "  mov %eax, %es\n"
        "  mov $stack32_top, %esp\n"
        ".endm\n"
        ".bss\n"
        ".balign 16\n"
        "stack32: .skip 65536\n"
        "stack32_top:\n"
        "saved_rsp64: .skip 8\n"
        "far_pointer32: .skip 8\n"
        ".text\n"
        ".globl run_in_32bit\n"
        "run_in_32bit:\n"
        "  push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
        "  mov %rsp, saved_rsp64(%rip)\n"
        "  mov %edi, far_pointer32(%rip)\n"
        "  movw $0x23, far_pointer32+4(%rip)\n"
        "  ljmpl *far_pointer32(%rip)\n"
        "back_to_64:\n"
        "  mov saved_rsp64(%rip), %rsp\n"
        "  pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
        "  mov %eax, %eax\n"
        "  ret\n"
        /* 1 + 2 + ... + esi, mod 2^32: long enough to be interrupted and preempted
           many times, and wrong if any part of it ran as 64-bit code. */
        ".code32\n"
        "sum32:\n"
        "  load_data_segments32\n"
        "  xor %eax, %eax\n"
        "  mov %esi, %ecx\n"
        "1: add %ecx, %eax\n"
        "  dec %ecx\n"
        "  jnz 1b\n"
        "  ljmp $0x33, $back_to_64\n"
        /* Spins until a signal handler sets `flag32`, and returns it. */
        "wait_flag32:\n"
        "  load_data_segments32\n"
        "1: mov flag32, %eax\n"
        "  test %eax, %eax\n"
        "  jz 1b\n"
        "  ljmp $0x33, $back_to_64\n"
        "syscall32:\n"
        "  load_data_segments32\n"
        "  mov $20, %eax\n"
        "  syscall\n"
        "  ljmp $0x33, $back_to_64\n"
        "sysenter32:\n"
        "  load_data_segments32\n"
        "  mov %esp, %ebp\n"
        "  mov $20, %eax\n"
        "  sysenter\n"
        "  ljmp $0x33, $back_to_64\n"
        "int80_32:\n"
        "  load_data_segments32\n"
        "  mov $20, %eax\n"
        "  int $0x80\n"
        "  ljmp $0x33, $back_to_64\n"
        /* Where a signal handler sends rt_sigreturn in the 32-bit segment. */
        "answer32:\n"
        "  load_data_segments32\n"
        "  mov $42, %eax\n"
        "  ljmp $0x33, $back_to_64\n"
        ".code64\n"
        /* Saves the registers as run_in_32bit does, then ud2: the SIGILL handler
           returns into 32-bit code, which comes back through back_to_64. */
        ".globl trap_then_32bit\n"
        "trap_then_32bit:\n"
        "  push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
        "  mov %rsp, saved_rsp64(%rip)\n"
        "  ud2\n");

extern char sum32[], wait_flag32[], syscall32[], sysenter32[], int80_32[], answer32[], stack32_top[];
long run_in_32bit(void *code, long argument);
long trap_then_32bit(void);
volatile int32_t flag32;

static long c_sum32(void)
{
    uint32_t n = 150000000u, expected = (uint32_t)((uint64_t)n * (n + 1) / 2);
    return run_in_32bit(sum32, n) == expected;
}

/* Two loops in 32-bit code at once, so that each is preempted by the other. */
static long c_sum32_two(void)
{
    pid_t other = fork_or_die();
    long mine = c_sum32();
    if (other == 0)
        _exit(mine ? 0 : 1);
    int status;
    waitpid(other, &status, 0);
    return mine + (WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static long c_syscall32(void) { return run_in_32bit(syscall32, 0) == getpid(); }
static long c_sysenter32(void) { return run_in_32bit(sysenter32, 0) == getpid(); }
static long c_int80_32(void) { return run_in_32bit(int80_32, 0) == getpid(); }

static long c_sysenter64(void)
{
    long result;
    __asm__ volatile("mov %%rsp, %%rbp\n"
                     "sysenter"
                     : "=a"(result)
                     : "a"((long)I386_GETPID)
                     : "rcx", "rdx", "r11", "rbp", "memory");
    return result == getpid();
}

static long c_int80_64(void)
{
    long result;
    __asm__ volatile("int $0x80" : "=a"(result) : "a"((long)I386_GETPID) : "memory");
    return result == getpid();
}

/* A signal in 32-bit code: the handler runs (in 64-bit code) and sees the
 * interrupted code segment; rt_sigreturn resumes the 32-bit loop. */
static void note_code_segment(int signal, siginfo_t *info, void *context)
{
    (void)signal, (void)info;
    flag32 = (int32_t)(((ucontext_t *)context)->uc_mcontext.gregs[REG_CSGSFS] & 0xffff);
}

static long c_signal_in_32bit(void)
{
    handle_signal(SIGUSR1, note_code_segment, 0);
    flag32 = 0;
    pid_t me = getpid(), sender = fork_or_die();
    if (sender == 0) {
        sleep_ms(20);
        kill(me, SIGUSR1);
        _exit(0);
    }
    long seen = run_in_32bit(wait_flag32, 0);
    waitpid(sender, NULL, 0);
    return seen;
}

/* rt_sigreturn into the 32-bit segment, at `rip`. */
static unsigned long sigreturn_rip;
static void return_to_32bit(int signal, siginfo_t *info, void *context)
{
    (void)signal, (void)info;
    greg_t *registers = ((ucontext_t *)context)->uc_mcontext.gregs;
    registers[REG_RIP] = (greg_t)sigreturn_rip;
    registers[REG_RSP] = (greg_t)(uintptr_t)stack32_top;
    registers[REG_CSGSFS] = (registers[REG_CSGSFS] & ~0xffffL) | USER32_CS;
}

static long c_sigreturn_to_32bit(void)
{
    sigreturn_rip = (uintptr_t)answer32;
    handle_signal(SIGILL, return_to_32bit, 0);
    return trap_then_32bit();
}

static long c_sigreturn_to_32bit_past_4g(void)
{
    sigreturn_rip = (uintptr_t)answer32 + 0x100000000UL;
    handle_signal(SIGILL, return_to_32bit, 0);
    return trap_then_32bit();
}

/* A process killed while in 32-bit code; then others run on (the lines after). */
static long c_killed_in_32bit(void)
{
    pid_t looper = fork_or_die();
    if (looper == 0) {
        run_in_32bit(wait_flag32, 0); /* flag32 is 0 here: forever */
        _exit(0);
    }
    sleep_ms(50);
    kill(looper, SIGKILL);
    int status;
    waitpid(looper, &status, 0);
    return WIFSIGNALED(status) ? WTERMSIG(status) : -1;
}

/* A child that exits while in 32-bit code (by int $0x80 where Linux runs it as the
 * i386 exit, else killed): its parent, with the same TLS pointer, runs on. */
static long c_parent_after_32bit_child(void)
{
    pid_t child = fork_or_die();
    if (child == 0) {
        run_in_32bit(sum32, 1000000);
        run_in_32bit(int80_32, 0);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    return getpid() > 0 && strlen("TLS still works") == 15;
}

/* ---- Segment selectors ---- */

#define LOAD_CASE(reg)                                                                                                \
    static long load_##reg(uint16_t selector)                                                                         \
    {                                                                                                                 \
        unsigned long tls = tls_base();                                                                               \
        uint16_t after;                                                                                               \
        __asm__ volatile("mov %0, %%" #reg : : "r"(selector));                                                        \
        raw_yield_a_few_times();                                                                                      \
        __asm__ volatile("mov %%" #reg ", %0" : "=r"(after));                                                         \
        restore_tls(tls);                                                                                             \
        return after;                                                                                                 \
    }
LOAD_CASE(ds)
LOAD_CASE(es)
LOAD_CASE(fs)
LOAD_CASE(gs)

#define SELECTOR_CASES(reg)                                                                                           \
    static long c_##reg##_null(void) { return load_##reg(0); }                                                        \
    static long c_##reg##_data(void) { return load_##reg(USER_DS); }                                                  \
    static long c_##reg##_code32(void) { return load_##reg(USER32_CS); }                                              \
    static long c_##reg##_bogus(void) { return load_##reg(0x1233); }                                                  \
    static long c_##reg##_tss(void) { return load_##reg(0x43); }
SELECTOR_CASES(ds)
SELECTOR_CASES(es)
SELECTOR_CASES(fs)
SELECTOR_CASES(gs)

static uint16_t selectors_packed(void)
{
    uint16_t ds, es, fs, gs;
    __asm__ volatile("mov %%ds, %0\n mov %%es, %1\n mov %%fs, %2\n mov %%gs, %3"
                     : "=r"(ds), "=r"(es), "=r"(fs), "=r"(gs));
    return (uint16_t)((ds != 0) | (es != 0) << 1 | (fs != 0) << 2 | (gs != 0) << 3);
}

/* Loads every data selector with USER32_CS while `others` children that share its
 * TLS pointer wait; then lets them run, print (through stdio: TLS) and exit.
 * Returns how many exited 0 with their selectors their own. */
static long c_selectors_then_children(void)
{
    enum { CHILDREN = 8 };
    int go[2];
    if (pipe(go) != 0)
        return -1;
    pid_t children[CHILDREN];
    for (int i = 0; i < CHILDREN; i++) {
        children[i] = fork_or_die();
        if (children[i] == 0) {
            char byte;
            close(go[1]);
            if (read(go[0], &byte, 1) != 1)
                _exit(3);
            int own = selectors_packed() == 0;
            char line[32];
            snprintf(line, sizeof line, "%s", own ? "" : "x");
            fflush(stdout);
            _exit(own && errno != 12345 && strlen(line) == 0 ? 0 : 4);
        }
    }
    unsigned long tls = tls_base();
    uint16_t selector = USER32_CS;
    __asm__ volatile("mov %0, %%ds\n mov %0, %%es\n mov %0, %%fs\n mov %0, %%gs" : : "r"(selector));
    raw_syscall3(SYS_write, go[1], (long)"12345678", CHILDREN);
    int survivors = 0;
    for (int i = 0; i < CHILDREN; i++) {
        int status = 0;
        raw_wait4(children[i], &status);
        survivors += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    __asm__ volatile("mov %0, %%ds\n mov %0, %%es\n mov %0, %%gs" : : "r"((uint16_t)0));
    restore_tls(tls);
    return survivors;
}

/* Breaks its own TLS with a null %fs (the base goes to 0 on Intel and under QEMU)
 * and exits: its parent, with the same TLS pointer, must not inherit that. */
static long c_null_fs_then_exit(void)
{
    pid_t child = fork_or_die();
    if (child == 0) {
        __asm__ volatile("mov %0, %%fs" : : "r"((uint16_t)0));
        raw_yield_a_few_times();
        raw_exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    return WIFEXITED(status) && strlen("TLS still works") == 15;
}

/* ---- RFLAGS ---- */

static unsigned long set_rflags(unsigned long bits)
{
    unsigned long flags;
    __asm__ volatile("pushfq\n"
                     "orq %1, (%%rsp)\n"
                     "popfq\n"
                     "pushfq\n"
                     "popq %0"
                     : "=r"(flags)
                     : "r"(bits)
                     : "memory", "cc");
    return flags;
}

static unsigned long clear_rflags(unsigned long bits)
{
    unsigned long flags;
    __asm__ volatile("pushfq\n"
                     "andq %1, (%%rsp)\n"
                     "popfq\n"
                     "pushfq\n"
                     "popq %0"
                     : "=r"(flags)
                     : "r"(~bits)
                     : "memory", "cc");
    return flags;
}

static unsigned long rflags(void)
{
    unsigned long flags;
    __asm__ volatile("pushfq\n popq %0" : "=r"(flags));
    return flags;
}

static long c_popf_tf(void)
{
    set_rflags(RFLAGS_TF);
    return 0;
}

static long c_popf_tf_syscall(void)
{
    __asm__ volatile("pushfq\n"
                     "orq $0x100, (%%rsp)\n"
                     "popfq\n"
                     "syscall\n"
                     :
                     : "a"((long)SYS_getpid)
                     : "rcx", "r11", "memory", "cc");
    return 0;
}

static long c_popf_iopl(void) { return (long)(set_rflags(RFLAGS_IOPL) & RFLAGS_IOPL); }

/* NT and AC, set, kept across a system call and a switch (the program's own). */
static long c_nt_ac_kept(void)
{
    set_rflags(RFLAGS_NT | RFLAGS_AC);
    raw_yield_a_few_times();
    unsigned long flags = rflags();
    clear_rflags(RFLAGS_NT | RFLAGS_AC);
    return (long)(flags & (RFLAGS_NT | RFLAGS_AC));
}

static long c_unaligned_with_ac(void)
{
    static char buffer[16] __attribute__((aligned(16)));
    set_rflags(RFLAGS_AC);
    long value = *(volatile int *)(buffer + 1);
    clear_rflags(RFLAGS_AC);
    return value;
}

static volatile long alignment_report;
static void alignment_fault(int signal, siginfo_t *info, void *context)
{
    (void)signal;
    ((ucontext_t *)context)->uc_mcontext.gregs[REG_EFL] &= ~(greg_t)RFLAGS_AC;
    alignment_report = info->si_code * 10 + (info->si_addr == NULL);
}

/* The signal's si_code (BUS_ADRALN) and address (none); the handler clears AC in
 * the interrupted context, so the access then completes. */
static long c_unaligned_with_ac_siginfo(void)
{
    static char buffer[16] __attribute__((aligned(16)));
    handle_signal(SIGBUS, alignment_fault, 0);
    set_rflags(RFLAGS_AC);
    (void)*(volatile int *)(buffer + 1);
    clear_rflags(RFLAGS_AC);
    return alignment_report;
}

/* TF, NT and AC set while a child that was forked before runs: its own are clear. */
static long c_flags_not_inherited_by_next(void)
{
    int go[2];
    if (pipe(go) != 0)
        return -1;
    pid_t child = fork_or_die();
    if (child == 0) {
        char byte;
        if (read(go[0], &byte, 1) != 1)
            _exit(3);
        _exit((rflags() & (RFLAGS_NT | RFLAGS_AC | RFLAGS_TF)) ? 4 : 0);
    }
    set_rflags(RFLAGS_NT | RFLAGS_AC);
    raw_syscall3(SYS_write, go[1], (long)"x", 1);
    int status = 0;
    raw_wait4(child, &status);
    clear_rflags(RFLAGS_NT | RFLAGS_AC);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- Instructions UMIP guards ---- */

struct __attribute__((packed)) table_register {
    uint16_t limit;
    uint64_t base;
};

static long c_sgdt_base(void)
{
    struct table_register table = { 0x5555, 0x5555555555555555UL };
    __asm__ volatile("sgdt %0" : "=m"(table));
    return (long)table.base;
}

static long c_sgdt_limit(void)
{
    struct table_register table = { 0x5555, 0x5555555555555555UL };
    __asm__ volatile("sgdt %0" : "=m"(table));
    return table.limit;
}

static long c_sidt_base(void)
{
    struct table_register table = { 0x5555, 0x5555555555555555UL };
    __asm__ volatile("sidt %0" : "=m"(table));
    return (long)table.base;
}

static long c_sidt_limit(void)
{
    struct table_register table = { 0x5555, 0x5555555555555555UL };
    __asm__ volatile("sidt %0" : "=m"(table));
    return table.limit;
}

static long c_smsw_register(void)
{
    unsigned long value = 0x5555555555555555UL;
    __asm__ volatile("smsw %0" : "+r"(value));
    return (long)value;
}

static long c_smsw_register32(void)
{
    unsigned long value = 0x5555555555555555UL;
    __asm__ volatile("smsw %k0" : "+r"(value));
    return (long)value;
}

static long c_smsw_memory(void)
{
    uint64_t value = 0x5555555555555555UL;
    uint16_t low;
    __asm__ volatile("smsw %0" : "=m"(low));
    memcpy(&value, &low, sizeof low);
    return (long)value;
}

static long c_str_register(void)
{
    unsigned long value = 0x5555555555555555UL;
    __asm__ volatile("str %k0" : "+r"(value));
    return (long)value;
}

static long c_str_memory(void)
{
    uint64_t value = 0x5555555555555555UL;
    uint16_t low;
    __asm__ volatile("str %0" : "=m"(low));
    memcpy(&value, &low, sizeof low);
    return (long)value;
}

static long c_sldt_register(void)
{
    unsigned long value = 0x5555555555555555UL;
    __asm__ volatile("sldt %k0" : "+r"(value));
    return (long)value;
}

/* sgdt through a %fs override and a SIB address: the emulation must write where
 * the CPU would have. */
static long c_sgdt_fs_relative(void)
{
    struct table_register *table = (struct table_register *)((char *)__builtin_thread_pointer() + 64);
    uint64_t saved[2];
    memcpy(saved, table, sizeof saved);
    long index = 8;
    __asm__ volatile("sgdt %%fs:56(,%0,1)" : : "r"(index) : "memory");
    long base = (long)table->base;
    memcpy(table, saved, sizeof saved);
    return base;
}

static long c_sgdt_unmapped(void)
{
    __asm__ volatile("sgdt (%0)" : : "r"(0x20000000UL) : "memory");
    return 0;
}

static const struct child_case cases[] = {
    { "sum in 32-bit code (1: right)", c_sum32 },
    { "two sums in 32-bit code at once (2: both right)", c_sum32_two },
    { "signal in 32-bit code (35: the handler saw cs 0x23)", c_signal_in_32bit },
    { "rt_sigreturn into 32-bit code (control: 42)", c_sigreturn_to_32bit },
    { "rt_sigreturn into 32-bit code past 4 GiB", c_sigreturn_to_32bit_past_4g },
    { "killed in 32-bit code (9: SIGKILL)", c_killed_in_32bit },
    { "the parent of a child that ends in 32-bit code (control: 1)", c_parent_after_32bit_child },
    { "syscall in 32-bit code", c_syscall32 },
    { "sysenter in 32-bit code", c_sysenter32 },
    { "sysenter in 64-bit code", c_sysenter64 },
    { "int 0x80 in 32-bit code", c_int80_32 },
    { "int 0x80 in 64-bit code", c_int80_64 },
    { "mov null to ds", c_ds_null },
    { "mov 0x2b to ds", c_ds_data },
    { "mov 0x23 to ds", c_ds_code32 },
    { "mov a selector past the GDT to ds", c_ds_bogus },
    { "mov the TSS selector to ds", c_ds_tss },
    { "mov null to es", c_es_null },
    { "mov 0x2b to es", c_es_data },
    { "mov 0x23 to es", c_es_code32 },
    { "mov a selector past the GDT to es", c_es_bogus },
    { "mov the TSS selector to es", c_es_tss },
    { "mov null to fs", c_fs_null },
    { "mov 0x2b to fs", c_fs_data },
    { "mov 0x23 to fs", c_fs_code32 },
    { "mov a selector past the GDT to fs", c_fs_bogus },
    { "mov the TSS selector to fs", c_fs_tss },
    { "mov null to gs", c_gs_null },
    { "mov 0x2b to gs", c_gs_data },
    { "mov 0x23 to gs", c_gs_code32 },
    { "mov a selector past the GDT to gs", c_gs_bogus },
    { "mov the TSS selector to gs", c_gs_tss },
    { "selectors loaded, then 8 children with the same TLS run (8: all)", c_selectors_then_children },
    { "a child nulls fs and exits, its parent runs on (control: 1)", c_null_fs_then_exit },
    { "popf TF", c_popf_tf },
    { "popf TF then syscall", c_popf_tf_syscall },
    { "popf IOPL 3 (0: ignored)", c_popf_iopl },
    { "NT and AC kept across a yield (0x44000)", c_nt_ac_kept },
    { "unaligned read with AC", c_unaligned_with_ac },
    { "unaligned read with AC, si_code and address (11: BUS_ADRALN, none)", c_unaligned_with_ac_siginfo },
    { "NT and AC not in the next process (control: 0)", c_flags_not_inherited_by_next },
    { "sgdt base", c_sgdt_base },
    { "sgdt limit", c_sgdt_limit },
    { "sidt base", c_sidt_base },
    { "sidt limit", c_sidt_limit },
    { "smsw to a 64-bit register", c_smsw_register },
    { "smsw to a 32-bit register", c_smsw_register32 },
    { "smsw to memory", c_smsw_memory },
    { "str to a register", c_str_register },
    { "str to memory", c_str_memory },
    { "sldt to a register", c_sldt_register },
    { "sgdt through fs and an index", c_sgdt_fs_relative },
    { "sgdt to an unmapped address", c_sgdt_unmapped },
};

int main(int argc, char **argv)
{
    uint16_t ds, es, fs, gs;
    __asm__ volatile("mov %%ds, %0\n mov %%es, %1\n mov %%fs, %2\n mov %%gs, %3"
                     : "=r"(ds), "=r"(es), "=r"(fs), "=r"(gs));
    printf("selectors at start: ds %#x es %#x fs %#x gs %#x\n", ds, es, fs, gs);
    static const int named[] = { SIGSEGV, SIGILL, SIGBUS, SIGTRAP, SIGFPE, SIGKILL, 0 };
    return run_child_cases(cases, sizeof cases / sizeof cases[0], named, argc, argv, "usage: hostile_cpu all | CASE...");
}
