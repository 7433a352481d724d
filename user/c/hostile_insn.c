/* hostile_insn: instructions user mode may not execute, and memory it may not
 * touch or run, beyond what `offend` covers (cli, hlt, in, out, mov to CR3, wrmsr,
 * lgdt, kernel read/write/jump, NULL, non-canonical read, ud2, div0, int3). Each
 * case runs in a child of its own and ends it: the line says how ("killed by
 * SIGSEGV"), or what it returned when the access is allowed (the controls). The
 * output is the same on Linux and on timeshare.
 *   hostile_insn all | CASE...
 * The last line is "still running"; exit status 0.
 * (Not here: int1/icebp, which Linux turns into SIGTRAP but QEMU's emulated CPU
 * raises as an invalid opcode, SIGILL: a difference of the machine, not the kernel.) */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

/* x86-64 machine code of `mov $42, %eax; ret`. */
static const unsigned char code42[] = { 0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3 };

static long run_code(void *where)
{
    memcpy(where, code42, sizeof code42);
    return ((long (*)(void))where)();
}

/* ---- Privileged instructions ---- */

static long c_swapgs(void) { __asm__ volatile("swapgs"); return 0; }
static long c_rdmsr(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xc0000082));
    return lo;
}
static long c_lidt(void)
{
    struct __attribute__((packed)) { uint16_t limit; uint64_t base; } table = { 0, 0 };
    __asm__ volatile("lidt %0" : : "m"(table));
    return 0;
}
static long c_ltr(void) { __asm__ volatile("ltr %0" : : "r"((uint16_t)0x40)); return 0; }
static long c_lldt(void) { __asm__ volatile("lldt %0" : : "r"((uint16_t)0)); return 0; }
static long c_read_cr0(void)
{
    unsigned long v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return (long)v;
}
static long c_write_cr0(void) { __asm__ volatile("mov %0, %%cr0" : : "r"(0x80000001UL)); return 0; }
static long c_write_cr4(void) { __asm__ volatile("mov %0, %%cr4" : : "r"(0UL)); return 0; }
static long c_write_cr8(void) { __asm__ volatile("mov %0, %%cr8" : : "r"(15UL)); return 0; }
static long c_write_dr7(void) { __asm__ volatile("mov %0, %%dr7" : : "r"(0x3UL)); return 0; }
static long c_invlpg(void) { __asm__ volatile("invlpg (%0)" : : "r"(0UL) : "memory"); return 0; }
static long c_wbinvd(void) { __asm__ volatile("wbinvd"); return 0; }
static long c_clts(void) { __asm__ volatile("clts"); return 0; }
static long c_lmsw(void) { __asm__ volatile("lmsw %0" : : "r"((uint16_t)1)); return 0; }
static long c_xsetbv(void) { __asm__ volatile("xsetbv" : : "a"(3), "d"(0), "c"(0)); return 0; }
static long c_sysret(void) { __asm__ volatile("sysretq"); return 0; }
static long c_stac(void) { __asm__ volatile(".byte 0x0f, 0x01, 0xcb"); return 0; } /* stac */
static long c_clac(void) { __asm__ volatile(".byte 0x0f, 0x01, 0xca"); return 0; } /* clac */
static long c_into(void) { __asm__ volatile(".byte 0xce"); return 0; } /* invalid in 64-bit mode */
static long c_int_0d(void) { __asm__ volatile("int $0x0d"); return 0; }
static long c_int_0e(void) { __asm__ volatile("int $0x0e"); return 0; }
static long c_int_81(void) { __asm__ volatile("int $0x81"); return 0; }
static long c_int_ff(void) { __asm__ volatile("int $0xff"); return 0; }
static long c_kernel_ss(void) { __asm__ volatile("mov %0, %%ss" : : "r"((uint16_t)0x18)); return 0; }
static long c_kernel_ds(void) { __asm__ volatile("mov %0, %%ds" : : "r"((uint16_t)0x18)); return 0; }
static long c_kernel_cs_far_jump(void)
{
    /* ljmp to selector 0x10 (the kernel's code segment): the CPU refuses it. */
    static struct __attribute__((packed)) { uint32_t offset; uint16_t selector; } target = { 0, 0x10 };
    __asm__ volatile("ljmp *%0" : : "m"(target));
    return 0;
}
static long c_iret_to_kernel(void)
{
    /* An IRET frame whose CS is the kernel's: #GP, not ring 0. */
    __asm__ volatile("mov %%rsp, %%rax\n"
                     "pushq $0x18\n" /* ss */
                     "pushq %%rax\n" /* rsp */
                     "pushfq\n"
                     "pushq $0x10\n" /* cs: kernel code */
                     "lea 1f(%%rip), %%rax\n"
                     "pushq %%rax\n"
                     "iretq\n"
                     "1:\n"
                     :
                     :
                     : "rax", "memory");
    return 0;
}
/* popf cannot take IF away, nor give IOPL 3 (then cli faults). */
static long c_popf_iopl_cli(void)
{
    __asm__ volatile("pushfq\n"
                     "orq $0x3000, (%%rsp)\n"
                     "popfq\n"
                     "cli\n" ::: "memory", "cc");
    return 0;
}
static long c_popf_clear_if(void)
{
    unsigned long flags;
    __asm__ volatile("pushfq\n"
                     "andq $~0x200, (%%rsp)\n"
                     "popfq\n"
                     "pushfq\n"
                     "popq %0\n"
                     : "=r"(flags)
                     :
                     : "memory", "cc");
    return (flags & 0x200) ? 1 : 0; /* 1: IF still set */
}

/* ---- Wild jumps and accesses ---- */

static long c_jump_noncanonical(void) { return ((long (*)(void))0x0000800000000000UL)(); }
static long c_jump_unmapped(void) { return ((long (*)(void))0x20000000UL)(); }
static long c_jump_direct_map(void) { return ((long (*)(void))0xffff800000100000UL)(); }
static long c_call_null(void) { return ((long (*)(void))0)(); }
static long c_read_direct_map(void) { return *(volatile long *)0xffff800000100000UL; }
static long c_write_kernel_stacks(void) { *(volatile long *)0xffffff0000001000UL = 1; return 0; }
static long c_read_top_of_user(void) { return *(volatile char *)0x00007fffffffffffUL; }
static long c_read_noncanonical_high(void) { return *(volatile long *)0x8000000000000000UL; }
static long c_write_unmapped(void) { *(volatile long *)0x20000000UL = 1; return 0; }

/* ---- Memory protection: W^X, read-only, NX ---- */

static long c_write_text(void)
{
    *(volatile unsigned char *)(uintptr_t)&c_write_text = 0xc3;
    return 0;
}
static long c_write_rodata(void)
{
    *(volatile unsigned char *)code42 = 0;
    return 0;
}
static long c_exec_stack(void)
{
    unsigned char buffer[16];
    return run_code(buffer);
}
static unsigned char data_bytes[16] = { 1 };
static unsigned char bss_bytes[16];
static long c_exec_data(void) { return run_code(data_bytes); }
static long c_exec_bss(void) { return run_code(bss_bytes); }
static long c_exec_heap(void) { return run_code(malloc(64)); }
static long c_exec_mmap_rw(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return run_code(p);
}
static long c_exec_after_mprotect_rx(void)
{
    unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(p, code42, sizeof code42);
    mprotect(p, 4096, PROT_READ | PROT_EXEC);
    return ((long (*)(void))p)();
}
static long c_write_after_mprotect_rx(void)
{
    unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(p, 4096, PROT_READ | PROT_EXEC);
    p[0] = 0xc3;
    return 0;
}
static long c_exec_mmap_rwx(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    return run_code(p);
}
static long c_read_prot_none(void)
{
    volatile char *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p[0];
}
static long c_exec_prot_read(void)
{
    void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return ((long (*)(void))p)();
}
static long c_write_prot_read(void)
{
    volatile char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[0] = 1;
    return 0;
}
static long c_read_after_munmap(void)
{
    volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[0] = 5;
    munmap((void *)p, 4096);
    return p[0];
}
static long c_write_past_mapping(void)
{
    volatile char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap((void *)(p + 4096), 4096);
    p[4095] = 1; /* fine */
    p[4096] = 1; /* not */
    return 0;
}
/* Copy-on-write after fork: the child's writes are its own. */
static long c_cow_isolation(void)
{
    static volatile int shared = 1;
    pid_t child = fork();
    if (child == 0) {
        shared = 2;
        _exit(shared);
    }
    int status;
    waitpid(child, &status, 0);
    return shared * 10 + WEXITSTATUS(status); /* 12 */
}
/* Read-only after fork stays read-only in both. */
static long c_write_text_after_fork(void)
{
    pid_t child = fork();
    if (child == 0) {
        *(volatile unsigned char *)(uintptr_t)&c_cow_isolation = 0x90;
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    return WIFSIGNALED(status) ? WTERMSIG(status) : 100 + WEXITSTATUS(status); /* SIGSEGV */
}

static const struct child_case cases[] = {
    { "swapgs", c_swapgs },
    { "rdmsr", c_rdmsr },
    { "lidt", c_lidt },
    { "ltr", c_ltr },
    { "lldt", c_lldt },
    { "mov from cr0", c_read_cr0 },
    { "mov to cr0", c_write_cr0 },
    { "mov to cr4", c_write_cr4 },
    { "mov to cr8", c_write_cr8 },
    { "mov to dr7", c_write_dr7 },
    { "invlpg", c_invlpg },
    { "wbinvd", c_wbinvd },
    { "clts", c_clts },
    { "lmsw", c_lmsw },
    { "xsetbv", c_xsetbv },
    { "sysretq", c_sysret },
    { "stac", c_stac },
    { "clac", c_clac },
    { "into", c_into },
    { "int 0x0d", c_int_0d },
    { "int 0x0e", c_int_0e },
    { "int 0x81", c_int_81 },
    { "int 0xff", c_int_ff },
    { "load the kernel stack segment", c_kernel_ss },
    { "load the kernel data segment", c_kernel_ds },
    { "far jump to the kernel code segment", c_kernel_cs_far_jump },
    { "iretq to the kernel code segment", c_iret_to_kernel },
    { "popf IOPL 3 then cli", c_popf_iopl_cli },
    { "popf clearing IF (1: IF still set)", c_popf_clear_if },
    { "jump to a non-canonical address", c_jump_noncanonical },
    { "jump to an unmapped address", c_jump_unmapped },
    { "jump into the kernel's direct map", c_jump_direct_map },
    { "call through NULL", c_call_null },
    { "read the kernel's direct map", c_read_direct_map },
    { "write a kernel stack", c_write_kernel_stacks },
    { "read the last user byte", c_read_top_of_user },
    { "read 0x8000000000000000", c_read_noncanonical_high },
    { "write an unmapped address", c_write_unmapped },
    { "write the program text", c_write_text },
    { "write read-only data", c_write_rodata },
    { "execute the stack", c_exec_stack },
    { "execute data", c_exec_data },
    { "execute bss", c_exec_bss },
    { "execute the heap", c_exec_heap },
    { "execute a read-write mapping", c_exec_mmap_rw },
    { "execute after mprotect read-exec (control)", c_exec_after_mprotect_rx },
    { "write after mprotect read-exec", c_write_after_mprotect_rx },
    { "execute a read-write-exec mapping (control)", c_exec_mmap_rwx },
    { "read a PROT_NONE mapping", c_read_prot_none },
    { "execute a read-only mapping", c_exec_prot_read },
    { "write a read-only mapping", c_write_prot_read },
    { "read after munmap", c_read_after_munmap },
    { "write past the end of a mapping", c_write_past_mapping },
    { "copy-on-write after fork (control: 12)", c_cow_isolation },
    { "write the text in a fork child (11: SIGSEGV)", c_write_text_after_fork },
};

int main(int argc, char **argv)
{
    /* The signals named in the output (any other: "another signal"). */
    static const int named[] = { SIGSEGV, SIGILL, SIGBUS, SIGTRAP, SIGFPE, SIGKILL, 0 };
    return run_child_cases(cases, sizeof cases / sizeof cases[0], named, argc, argv, "usage: hostile_insn all | CASE...");
}
