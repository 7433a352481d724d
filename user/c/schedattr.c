/* schedattr: sched_setattr / sched_getattr (314, 315) for the time-sharing
 * policies, as Linux 6.12+ answers root: the policy, nice value and slice
 * (sched_runtime) a thread reads back, the sizes and errors of both calls, and
 * what a child inherits. Output is the same on every run (the default slice,
 * which differs between kernels, is only checked to be positive and restored).
 * Exit status: the number of failures. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

struct attr {
    uint32_t size;
    uint32_t policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime;
    uint64_t deadline;
    uint64_t period;
    uint32_t util_min;
    uint32_t util_max;
};

#define OTHER 0
#define BATCH 3
#define IDLE 5
#define RESET_ON_FORK 0x01
#define KEEP_POLICY 0x08
#define KEEP_PARAMS 0x10

static long set(pid_t pid, struct attr *attr, unsigned flags)
{
    return syscall(SYS_sched_setattr, pid, attr, flags);
}

static long get(pid_t pid, struct attr *attr, unsigned size, unsigned flags)
{
    return syscall(SYS_sched_getattr, pid, attr, size, flags);
}

static struct attr asking(uint32_t policy, int32_t nice, uint64_t runtime)
{
    struct attr attr = { .size = 48, .policy = policy, .nice = nice, .runtime = runtime };
    return attr;
}

/* "what: policy P nice N flags F", read back from the calling thread. */
static void state(const char *what)
{
    struct attr attr;
    memset(&attr, 0xff, sizeof attr);
    long result = get(0, &attr, 48, 0);
    if (result != 0) {
        show(what, result);
        return;
    }
    printf("%s: size %u policy %u nice %d flags %llu priority %u\n", what, attr.size, attr.policy, attr.nice,
           (unsigned long long)attr.flags, attr.priority);
}

static uint64_t runtime_now(void)
{
    struct attr attr = { 0 };
    get(0, &attr, 48, 0);
    return attr.runtime;
}

int main(void)
{
    state("at start");
    uint64_t default_runtime = runtime_now();
    report("the default slice is positive", default_runtime > 0);

    struct attr attr;
    memset(&attr, 0xee, sizeof attr);
    show("getattr with size 56", get(0, &attr, 56, 0));
    printf("size written: %u\n", attr.size);
    memset(&attr, 0xee, sizeof attr);
    show("getattr with size 100", get(0, &attr, 100, 0));
    printf("size written for 100: %u\n", attr.size);
    show("getattr with size 47", get(0, &attr, 47, 0));
    show("getattr with size 4097", get(0, &attr, 4097, 0));
    show("getattr with flags 1", get(0, &attr, 48, 1));
    show("getattr of pid -1", get(-1, &attr, 48, 0));
    show("getattr into NULL", get(0, NULL, 48, 0));
    show("getattr of no such pid", get(99999, &attr, 48, 0));
    show("getattr into an unmapped page", get(0, (struct attr *)16, 48, 0));
    show("getattr of own pid", get(getpid(), &attr, 48, 0));

    attr = asking(OTHER, 5, 0);
    show("setattr nice 5", set(0, &attr, 0));
    state("after nice 5");
    printf("getpriority: %d\n", getpriority(PRIO_PROCESS, 0));
    setpriority(PRIO_PROCESS, 0, 3);
    state("after setpriority 3");

    attr = asking(OTHER, 0, 5000000);
    show("setattr runtime 5 ms", set(0, &attr, 0));
    printf("runtime: %llu\n", (unsigned long long)runtime_now());
    attr = asking(OTHER, 0, 1000);
    show("setattr runtime 1 us", set(0, &attr, 0));
    printf("runtime clamped up: %llu\n", (unsigned long long)runtime_now());
    attr = asking(OTHER, 0, 1000000000ULL);
    show("setattr runtime 1 s", set(0, &attr, 0));
    printf("runtime clamped down: %llu\n", (unsigned long long)runtime_now());
    attr = asking(OTHER, 0, 0);
    show("setattr runtime 0", set(0, &attr, 0));
    report("runtime 0 restores the default slice", runtime_now() == default_runtime);

    attr = asking(OTHER, -40, 0);
    show("setattr nice -40", set(0, &attr, 0));
    state("nice clamped");
    attr = asking(OTHER, 40, 0);
    show("setattr nice 40", set(0, &attr, 0));
    state("nice clamped up");

    attr = asking(BATCH, 2, 2000000);
    show("setattr SCHED_BATCH", set(0, &attr, 0));
    state("batch");
    printf("batch runtime: %llu\n", (unsigned long long)runtime_now());
    attr = asking(OTHER, 6, 0);
    attr.flags = KEEP_POLICY;
    show("setattr KEEP_POLICY nice 6", set(0, &attr, 0));
    state("batch kept");
    attr = asking(IDLE, 9, 0);
    show("setattr SCHED_IDLE nice 9", set(0, &attr, 0));
    state("idle keeps its nice");
    attr = asking(OTHER, 1, 0);
    attr.flags = KEEP_PARAMS;
    show("setattr KEEP_PARAMS", set(0, &attr, 0));
    state("params kept");
    attr = asking(OTHER, 0, 0);
    show("setattr back to SCHED_OTHER", set(0, &attr, 0));
    state("other again");

    attr = asking(OTHER, 0, 0);
    attr.size = 0;
    show("setattr size 0 (first version)", set(0, &attr, 0));
    attr = asking(OTHER, 0, 0);
    attr.size = 40;
    show("setattr size 40", set(0, &attr, 0));
    printf("size written back: %u\n", attr.size);
    attr = asking(OTHER, 0, 0);
    attr.size = 8192;
    show("setattr size 8192", set(0, &attr, 0));
    printf("size written back for 8192: %u\n", attr.size);
    unsigned char big[80];
    memset(big, 0, sizeof big);
    attr = asking(OTHER, 1, 0);
    attr.size = sizeof big;
    memcpy(big, &attr, sizeof attr);
    show("setattr size 80, zero tail", set(0, (struct attr *)big, 0));
    big[70] = 1;
    show("setattr size 80, nonzero tail", set(0, (struct attr *)big, 0));
    /* A structure that ends where the mapping does: its tail cannot be read. */
    unsigned char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(page + 4096, 4096);
    struct attr *edge = (struct attr *)(page + 4096 - sizeof attr);
    *edge = asking(OTHER, 0, 0);
    edge->size = 100;
    show("setattr whose tail is unmapped", set(0, edge, 0));

    attr = asking(7, 0, 0);
    show("setattr policy 7", set(0, &attr, 0));
    attr = asking(4, 0, 0);
    show("setattr policy 4", set(0, &attr, 0));
    attr = asking(0xffffffffu, 0, 0);
    show("setattr policy -1", set(0, &attr, 0));
    attr = asking(OTHER, 0, 0);
    attr.priority = 1;
    show("setattr SCHED_OTHER priority 1", set(0, &attr, 0));
    attr = asking(1, 0, 0);
    show("setattr SCHED_FIFO priority 0", set(0, &attr, 0));
    attr = asking(2, 0, 0);
    attr.priority = 100;
    show("setattr SCHED_RR priority 100", set(0, &attr, 0));
    attr = asking(OTHER, 0, 0);
    attr.flags = 0x80;
    show("setattr unknown flag", set(0, &attr, 0));
    attr = asking(OTHER, 0, 0);
    attr.flags = 0x20;
    show("setattr clamp flag in a short structure", set(0, &attr, 0));
    attr = asking(OTHER, 0, 0);
    show("setattr with flags 1", set(0, &attr, 1));
    show("setattr of pid -1", set(-1, &attr, 0));
    show("setattr from NULL", set(0, NULL, 0));
    show("setattr of no such pid", set(99999, &attr, 0));
    show("setattr from an unmapped page", set(0, (struct attr *)16, 0));

    /* What a child inherits, with and without reset-on-fork. */
    attr = asking(BATCH, -5, 4000000);
    set(0, &attr, 0);
    pid_t child = fork_or_die();
    if (child == 0) {
        state("child inherits");
        printf("child runtime: %llu\n", (unsigned long long)runtime_now());
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    attr = asking(BATCH, -5, 4000000);
    attr.flags = RESET_ON_FORK;
    show("setattr RESET_ON_FORK", set(0, &attr, 0));
    state("reset on fork");
    child = fork_or_die();
    if (child == 0) {
        state("child reset");
        report("child slice back to the default", runtime_now() == default_runtime);
        fflush(stdout);
        _exit(failures);
    }
    waitpid(child, NULL, 0);
    /* Another thread's (process's) settings, by pid. */
    int ready[2];
    pipe(ready);
    child = fork_or_die();
    if (child == 0) {
        char byte;
        close(ready[1]);
        read(ready[0], &byte, 1);
        _exit(0);
    }
    attr = asking(OTHER, 11, 7000000);
    show("setattr of the child", set(child, &attr, 0));
    memset(&attr, 0, sizeof attr);
    get(child, &attr, 48, 0);
    printf("child by pid: policy %u nice %d runtime %llu\n", attr.policy, attr.nice, (unsigned long long)attr.runtime);
    printf("child's getpriority: %d\n", getpriority(PRIO_PROCESS, child));
    close(ready[1]);
    waitpid(child, NULL, 0);
    attr = asking(OTHER, 0, 0);
    set(0, &attr, 0);
    state("at the end");
    return failures;
}
