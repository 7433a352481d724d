/* fpu: floating-point state must survive system calls. Each test keeps values live
 * in FPU/SSE registers across thousands of getpid system calls and compares the result
 * with the exact value computed on Linux:
 *   - sse:      a double sum, held in xmm registers;
 *   - x87:      a long double sum, held in the x87 register stack;
 *   - rounding: a sum under round-toward-zero: the MXCSR control bits must survive.
 * The system call is made with inline asm, not libc's syscall(): a function call lets
 * the compiler spill every xmm register to the stack around it (the ABI makes them
 * caller-saved), which would hide a kernel that clobbers them. */
#include <fenv.h>
#include <stdio.h>
#include <sys/syscall.h>

#include "include/testlib.h"

#define N 20000

/* sum of 1/i^2 and of 1/i for i = 1..N, in doubles, one system call per term. */
static void sums(double *squares, double *harmonic)
{
    double s = 0.0, h = 0.0;
    for (int i = 1; i <= N; i++) {
        double d = (double)i;
        raw_getpid();
        s += 1.0 / (d * d);
        h += 1.0 / d;
    }
    *squares = s;
    *harmonic = h;
}

/* the same sum of 1/i^2 in long double (x87, 64-bit mantissa). */
static long double sum_x87(void)
{
    long double s = 0.0L;
    for (int i = 1; i <= N; i++) {
        long double d = (long double)i;
        raw_getpid();
        s += 1.0L / (d * d);
    }
    return s;
}

/* Print ok/FAIL for a test comparing doubles bit for bit. */
static void check(const char *name, double got, double want)
{
    if (got == want) {
        printf("ok %s\n", name);
    } else {
        printf("FAIL %s: got %a, want %a\n", name, got, want);
        failures++;
    }
}

int main(void)
{
    double s, h;
    long double x;

    sums(&s, &h);
    check("sse squares", s, 0x1.a5171f4e31786p+0);
    check("sse harmonic", h, 0x1.4f62202468754p+3);

    x = sum_x87();
    if (x == 0x1.a5171f4e3177852ap+0L) {
        printf("ok x87\n");
    } else {
        printf("FAIL x87: got %La\n", x);
        failures++;
    }

    fesetround(FE_TOWARDZERO);
    sums(&s, &h);
    fesetround(FE_TONEAREST);
    check("rounding squares", s, 0x1.a5171f4e2f097p+0);
    check("rounding harmonic", h, 0x1.4f622024662cbp+3);
    return failures;
}
