/* fpuyield: each process sees only its own FPU/SSE/AVX state, across yields and
 * across preemption. Two processes at once each load their own distinct values into
 * xmm0-15 (all of ymm0-15 when CPUID and XGETBV say AVX is usable) with inline asm,
 * then, without touching those registers:
 *   - yield rounds: 20 sched_yield system calls (the other process runs in between);
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

/* One round: load all registers from `in`, then either `yields` sched_yield system
 * calls (spin == 0) or spin until `spin` TSC cycles have passed, then store all
 * registers to `out`. Returns the largest gap seen between two TSC reads while
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
        /* yields */                                                                                \
        "2: mov %[yields], %%r8\n"                                                                  \
        "3: mov $24, %%eax\n syscall\n dec %%r8\n jnz 3b\n"                                         \
        "4:\n"                                                                                      \
        EACH_REGISTER(STORE, mov, reg)                                                              \
        end                                                                                         \
        "mov %%r10, %[gap]\n"                                                                       \
        : [gap] "=m"(gap)                                                                           \
        : [in] "r"(in), [out] "r"(out), [yields] "r"(yields), [spin] "r"(spin)                      \
        : "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "memory", "cc",                            \
          "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",                           \
          "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");                    \
    return gap

static uint64_t round_xmm(const regs_t *in, regs_t *out, long yields, uint64_t spin)
{
    ROUND("movdqu", "xmm", "");
}

/* The same with the full 256-bit ymm registers. */
static uint64_t round_ymm(const regs_t *in, regs_t *out, long yields, uint64_t spin)
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
    int bad_yield = 0, bad_spin = 0, bad_mode = 0, preempted = 0;
    size_t bytes = avx ? 32 : 16;
    regs_t in, out;

    fesetround(mode);
    for (int round = 0; round < YIELD_ROUNDS + SPIN_ROUNDS; round++) {
        int spinning = round >= YIELD_ROUNDS;
        pattern(&in, id, round);
        memset(&out, 0, sizeof out);
        uint64_t spin = spinning ? SPIN_MS * cycles_per_ms : 0;
        uint64_t gap = avx ? round_ymm(&in, &out, 20, spin) : round_xmm(&in, &out, 20, spin);
        if (spinning && gap > cycles_per_ms)
            preempted++;
        for (int reg = 0; reg < 16; reg++)
            if (memcmp(in.bytes[reg], out.bytes[reg], bytes) != 0) {
                if (spinning)
                    bad_spin++;
                else
                    bad_yield++;
            }
        if (fegetround() != mode)
            bad_mode++;
    }
    fprintf(stderr, "fpuyield: process %d: %s registers, %d of %d spin rounds saw a gap > 1 ms\n", id,
            avx ? "ymm" : "xmm", preempted, SPIN_ROUNDS);
    snprintf(lines, size,
             "%s process %d: registers intact across sched_yield\n"
             "%s process %d: registers intact across preemption\n"
             "%s process %d: own rounding mode kept\n",
             bad_yield ? "FAIL" : "ok", id, bad_spin ? "FAIL" : "ok", id, bad_mode ? "FAIL" : "ok", id);
    return (bad_yield != 0) + (bad_spin != 0) + (bad_mode != 0);
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
