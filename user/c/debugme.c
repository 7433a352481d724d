/* debugme: the program of the gdb session in the README and cli/tests/gdb.rs. main
 * asks for its pid through ask_pid, which makes the getpid system call (39) with its
 * own `syscall` instruction (not musl's syscall(), which has no unwind information),
 * so that a backtrace taken where the call returns leads through ask_pid into main.
 * Prints "getpid() = PID". */
#include <stdio.h>
#include <sys/syscall.h>

__attribute__((noinline)) static long ask_pid(void)
{
    long pid;
    __asm__ volatile("syscall" : "=a"(pid) : "a"((long)SYS_getpid) : "rcx", "r11", "memory");
    return pid;
}

int main(void)
{
    long pid = ask_pid();
    printf("getpid() = %ld\n", pid);
    return 0;
}
