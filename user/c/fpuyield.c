/* fpuyield: each process sees only its own FPU/SSE/AVX state, across yields, system
 * calls that copy and preemption. Two processes at once each load their own distinct
 * values into xmm0-15 (all of ymm0-15 when CPUID and XGETBV say AVX is usable) with
 * inline asm, then, without touching those registers:
 *   - yield rounds: 20 sched_yield system calls (the other process runs in between);
 *   - copy rounds: 20 times a 4 KiB write to a pipe of its own and a 4 KiB read back
 *     (a kernel may copy with vector registers: timeshare does, with AVX);
 *   - spin rounds: spin on the TSC for 25 ms with no system call at all (with the
 *     other process spinning too on one CPU, the timer preempts each of them);
 * and store the registers back; after every round each register must hold exactly
 * what was loaded. Each process also keeps its own MXCSR rounding mode (one rounds
 * toward zero, the other up). Output: one ok/FAIL line per process and check, the
 * same on every run; stderr says whether ymm was used and how many preemptions the
 * spin rounds saw (TSC gaps over 1 ms). Exit status: number of FAIL lines. */
#include <cpuid.h>
#include <errno.h>
#include <fenv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/testlib.h"

#define YIELD_ROUNDS 100
#define COPY_ROUNDS 20
#define COPY_BYTES 4096
#define TEXT(x) #x
#define NUMBER_TEXT(x) TEXT(x) /* a macro's value as a string, for the asm */
#define SPIN_ROUNDS 10
#define SPIN_MS 25

typedef struct { uint8_t bytes[16][32]; } regs_t; /* ymm0-15 (xmm: the low 16 bytes) */

static int avx;
static uint64_t cycles_per_ms;

static int avx_usable(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    if (!(c & (1u << 27)) || !(c & (1u << 28))) /* OSXSAVE, AVX */
        return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6) == 6; /* XCR0: SSE and AVX state enabled by the OS */
}

/* A copy round's pipe and buffer, and the last write's and read's results. */
struct copy_round {
    char *buffer;
    int write_fd, read_fd;
    long wrote, read;
};

/* One round: load all registers from `in`, then either spin until `spin` TSC cycles
 * have passed, or (spin == 0) `count` copies through `copy` (when not NULL) or
 * `count` sched_yield system calls, then store all registers to `out`. Returns the largest gap seen between two TSC reads while
 * spinning (a gap means somebody else had the CPU). ROUND(mov, reg, end) is the
 * body for registers `reg` (xmm or ymm) moved with `mov`, `end` run last. */
#define EACH_REGISTER(X, mov, reg)                                                                  \
    X(mov, reg, 0) X(mov, reg, 1) X(mov, reg, 2) X(mov, reg, 3) X(mov, reg, 4) X(mov, reg, 5)       \
    X(mov, reg, 6) X(mov, reg, 7) X(mov, reg, 8) X(mov, reg, 9) X(mov, reg, 10) X(mov, reg, 11)     \
    X(mov, reg, 12) X(mov, reg, 13) X(mov, reg, 14) X(mov, reg, 15)
#define LOAD(mov, reg, n) mov " " #n "*32(%[in]), %%" reg #n "\n"
#define STORE(mov, reg, n) mov " %%" reg #n ", " #n "*32(%[out])\n"
#define ROUND(mov, reg, end)                                                                        \
    uint64_t gap;                                                                                   \
    __asm__ volatile(                                                                               \
        EACH_REGISTER(LOAD, mov, reg)                                                               \
        "xor %%r10d, %%r10d\n"                                                                      \
        "test %[spin], %[spin]\n jz 2f\n"                                                           \
        /* spin: r8 = deadline, r9 = previous TSC, r10 = largest gap */                             \
        "rdtsc\n shl $32, %%rdx\n or %%rdx, %%rax\n mov %%rax, %%r9\n"                              \
        "lea (%%rax, %[spin]), %%r8\n"                                                              \
        "1: rdtsc\n shl $32, %%rdx\n or %%rdx, %%rax\n"                                             \
        "mov %%rax, %%rdx\n sub %%r9, %%rdx\n cmp %%r10, %%rdx\n cmova %%rdx, %%r10\n"              \
        "mov %%rax, %%r9\n cmp %%r8, %%rax\n jb 1b\n jmp 4f\n"                                      \
        /* yields, or copies */                                                                     \
        "2: mov %[count], %%r8\n"                                                                   \
        "test %[copy], %[copy]\n jnz 5f\n"                                                          \
        "3: mov $24, %%eax\n syscall\n dec %%r8\n jnz 3b\n jmp 4f\n"                                \
        "5: mov $1, %%eax\n mov 8(%[copy]), %%edi\n mov (%[copy]), %%rsi\n"                         \
        "mov $" NUMBER_TEXT(COPY_BYTES) ", %%edx\n syscall\n mov %%rax, 16(%[copy])\n"              \
        "xor %%eax, %%eax\n mov 12(%[copy]), %%edi\n mov (%[copy]), %%rsi\n"                        \
        "mov $" NUMBER_TEXT(COPY_BYTES) ", %%edx\n syscall\n mov %%rax, 24(%[copy])\n"              \
        "dec %%r8\n jnz 5b\n"                                                                       \
        "4:\n"                                                                                      \
        EACH_REGISTER(STORE, mov, reg)                                                              \
        end                                                                                         \
        "mov %%r10, %[gap]\n"                                                                       \
        : [gap] "=m"(gap)                                                                           \
        : [in] "r"(in), [out] "r"(out), [count] "r"(count), [spin] "r"(spin), [copy] "r"(copy)      \
        : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc",              \
          "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",                           \
          "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");                    \
    return gap

static uint64_t round_xmm(const regs_t *in, regs_t *out, long count, struct copy_round *copy, uint64_t spin)
{
    ROUND("movdqu", "xmm", "");
}

/* The same with the full 256-bit ymm registers. */
static uint64_t round_ymm(const regs_t *in, regs_t *out, long count, struct copy_round *copy, uint64_t spin)
{
    ROUND("vmovdqu", "ymm", "vzeroupper\n");
}

/* Process `id`'s values for `round`: every byte differs between processes,
 * registers and rounds. */
static void pattern(regs_t *r, int id, int round)
{
    for (int reg = 0; reg < 16; reg++)
        for (int i = 0; i < 32; i++)
            r->bytes[reg][i] = (uint8_t)(0x80 * id + 37 * reg + 5 * i + 11 * round + 1);
}

/* Runs the rounds as process `id`; prints its own lines (stdout is line-flushed by
 * the caller's order: process 0 waits for process 1 before printing). */
static int run(int id, char *lines, size_t size)
{
    const int mode = id ? FE_UPWARD : FE_TOWARDZERO;
    int bad_yield = 0, bad_copy = 0, bad_spin = 0, bad_mode = 0, preempted = 0;
    size_t bytes = avx ? 32 : 16;
    regs_t in, out;
    static char buffer[COPY_BYTES];
    int fds[2];
    if (pipe(fds) != 0)
        return 100;
    memset(buffer, 'a' + id, sizeof buffer);
    struct copy_round copy = { buffer, fds[1], fds[0], 0, 0 };

    fesetround(mode);
    for (int round = 0; round < YIELD_ROUNDS + COPY_ROUNDS + SPIN_ROUNDS; round++) {
        int copying = round >= YIELD_ROUNDS && round < YIELD_ROUNDS + COPY_ROUNDS;
        int spinning = round >= YIELD_ROUNDS + COPY_ROUNDS;
        pattern(&in, id, round);
        memset(&out, 0, sizeof out);
        uint64_t spin = spinning ? SPIN_MS * cycles_per_ms : 0;
        struct copy_round *through = copying ? &copy : NULL;
        uint64_t gap = avx ? round_ymm(&in, &out, 20, through, spin) : round_xmm(&in, &out, 20, through, spin);
        if (spinning && gap > cycles_per_ms)
            preempted++;
        if (copying && (copy.wrote != COPY_BYTES || copy.read != COPY_BYTES))
            bad_copy++;
        for (int reg = 0; reg < 16; reg++)
            if (memcmp(in.bytes[reg], out.bytes[reg], bytes) != 0) {
                if (spinning)
                    bad_spin++;
                else if (copying)
                    bad_copy++;
                else
                    bad_yield++;
            }
        if (fegetround() != mode)
            bad_mode++;
    }
    close(fds[0]);
    close(fds[1]);
    fprintf(stderr, "fpuyield: process %d: %s registers, %d of %d spin rounds saw a gap > 1 ms\n", id,
            avx ? "ymm" : "xmm", preempted, SPIN_ROUNDS);
    snprintf(lines, size,
             "%s process %d: registers intact across sched_yield\n"
             "%s process %d: registers intact across 4 KiB pipe writes and reads\n"
             "%s process %d: registers intact across preemption\n"
             "%s process %d: own rounding mode kept\n",
             bad_yield ? "FAIL" : "ok", id, bad_copy ? "FAIL" : "ok", id, bad_spin ? "FAIL" : "ok", id,
             bad_mode ? "FAIL" : "ok", id);
    return (bad_yield != 0) + (bad_copy != 0) + (bad_spin != 0) + (bad_mode != 0);
}

int main(void)
{
    int p[2];
    char mine[512], theirs[512] = { 0 };

    avx = avx_usable();
    /* The TSC rate, against CLOCK_MONOTONIC over a 20 ms sleep. */
    uint64_t t0 = now_ns(CLOCK_MONOTONIC), c0 = rdtsc();
    struct timespec t = { 0, 20000000 };
    nanosleep(&t, NULL);
    uint64_t t1 = now_ns(CLOCK_MONOTONIC), c1 = rdtsc();
    cycles_per_ms = (c1 - c0) * 1000000ULL / (t1 - t0 ? t1 - t0 : 1);
    if (cycles_per_ms == 0)
        cycles_per_ms = 1;
    fprintf(stderr, "fpuyield: %s, %llu TSC cycles per ms\n", avx ? "AVX usable" : "no AVX",
            (unsigned long long)cycles_per_ms);

    if (pipe(p) != 0)
        return 100;
    fflush(stdout);
    pid_t child = fork();
    if (child < 0)
        return 100;
    if (child == 0) {
        close(p[0]);
        int failures = run(1, mine, sizeof mine);
        write(p[1], mine, strlen(mine));
        _exit(failures);
    }
    close(p[1]);
    int failures = run(0, mine, sizeof mine);
    size_t got = 0;
    ssize_t n;
    while ((n = read(p[0], theirs + got, sizeof theirs - 1 - got)) > 0)
        got += (size_t)n;
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status)) {
        printf("FAIL process 1 did not exit (status 0x%x)\n", status);
        failures++;
    } else {
        failures += WEXITSTATUS(status);
    }
    fputs(mine, stdout);
    fputs(theirs, stdout);
    return failures;
}
