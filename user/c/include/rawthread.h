/* rawthread.h: system calls and threads without libc, for the programs that make
 * threads (or children) by the clone system call itself and must know exactly what
 * runs in them (threads_sys, fuzz). Header only: include it as "include/rawthread.h".
 *
 * A raw thread has no libc state of its own (no TLS unless CLONE_SETTLS gives one,
 * and then an empty one): its body may use only sys6 and memory, never errno,
 * stdio or locks. */
#ifndef RAWTHREAD_H
#define RAWTHREAD_H

#include <sched.h> /* CLONE_*: the includer defines _GNU_SOURCE */
#include <stdint.h>

/* A system call by the SYSCALL instruction: the kernel's result, -errno on failure. */
static inline long sys6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#define sys0(n) sys6(n, 0, 0, 0, 0, 0, 0)
#define sys1(n, a) sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b) sys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

/* raw_clone_entry(flags, stack, parent_tid, child_tid, tls): clone (56) with the new
 * stack holding [body, arg] at its top. The child pops them, calls body(arg) with an
 * ABI-aligned stack, and ends with SYS_exit of what body returned; it never comes
 * back here, so nothing of the caller's frame is needed in it. The parent returns
 * clone's result. */
__asm__(".text\n"
        ".type raw_clone_entry, @function\n"
        "raw_clone_entry:\n"
        "  mov %rcx, %r10\n"
        "  mov $56, %eax\n"
        "  syscall\n"
        "  test %rax, %rax\n"
        "  jnz 1f\n"
        "  pop %rax\n"
        "  pop %rdi\n"
        "  call *%rax\n"
        "  mov %rax, %rdi\n"
        "  mov $60, %eax\n"
        "  syscall\n"
        "  ud2\n"
        "1:\n"
        "  ret\n"
        ".size raw_clone_entry, .-raw_clone_entry\n");
long raw_clone_entry(unsigned long flags, void *stack, int *parent_tid, int *child_tid, unsigned long tls);

/* Starts body(arg) in a new task made by clone(flags, ...) on the stack that ends at
 * `stack_end`: its tid (or, for a fork-like clone, pid), or -errno. */
static inline long raw_thread(unsigned long flags, void *stack_end, int *parent_tid, int *child_tid,
                              unsigned long tls, long (*body)(void *), void *arg)
{
    uintptr_t *top = (uintptr_t *)((uintptr_t)stack_end & ~(uintptr_t)15);
    top[-2] = (uintptr_t)body;
    top[-1] = (uintptr_t)arg;
    return raw_clone_entry(flags, top - 2, parent_tid, child_tid, tls);
}

/* The flags musl's pthread_create passes (less CLONE_SETTLS: a raw thread uses its
 * creator's TLS pointer, and touches nothing through it). */
#define RAW_THREAD_FLAGS                                                                                   \
    (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_PARENT_SETTID |  \
     CLONE_CHILD_CLEARTID)

#endif
