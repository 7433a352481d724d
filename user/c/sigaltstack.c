/* The alternate signal stack: a runaway recursion overflows the stack, and the
 * SIGSEGV handler still runs, on the alternate stack (SA_ONSTACK), and leaves with
 * siglongjmp. Also sigaltstack's own rules: SS_DISABLE at first, ENOMEM below
 * MINSIGSTKSZ, EINVAL for unknown flags, SS_ONSTACK and EPERM while running on it,
 * and SS_AUTODISARM (the stack is disarmed while the handler runs, and back after). */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "include/testlib.h"

#define ALT_SIZE (64 * 1024)
static char *alt;
static sigjmp_buf escape;
static volatile int on_alt, inside_flags, change_error, fault_code;

static void on_segv(int signal, siginfo_t *info, void *context) {
    (void)signal;
    (void)context;
    char here;
    on_alt = &here >= alt && &here < alt + ALT_SIZE;
    fault_code = info->si_code;
    stack_t now;
    sigaltstack(NULL, &now);
    inside_flags = now.ss_flags;
    stack_t other = {.ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0};
    change_error = sigaltstack(&other, NULL) == 0 ? 0 : errno;
    siglongjmp(escape, 1);
}

/* Never set: only there so the compiler sees the recursion can end. */
static volatile int enough;
/* An address nothing is mapped at. */
static volatile uintptr_t wild = 16;

static int recurse(volatile char *previous) {
    volatile char frame[1024];
    frame[0] = previous ? previous[0] + 1 : 0;
    if (enough) return 0;
    return recurse(frame) + frame[1];
}

static const char *flags(int value) {
    static char text[64];
    snprintf(text, sizeof text, "%s%s%s%s", value == 0 ? "0" : "", value & SS_ONSTACK ? "SS_ONSTACK " : "",
             value & SS_DISABLE ? "SS_DISABLE " : "", value & SS_AUTODISARM ? "SS_AUTODISARM" : "");
    return text;
}

int main(void) {
    /* The same stack limit on Linux as timeshare's fixed 8 MiB stack. */
    struct rlimit limit = {8 << 20, 8 << 20};
    setrlimit(RLIMIT_STACK, &limit);

    stack_t old;
    sigaltstack(NULL, &old);
    printf("at first: flags %s, size %zu\n", flags(old.ss_flags), old.ss_size);
    alt = malloc(ALT_SIZE);
    stack_t small = {.ss_sp = alt, .ss_size = MINSIGSTKSZ - 1, .ss_flags = 0};
    int result = sigaltstack(&small, NULL);
    printf("smaller than MINSIGSTKSZ: %d %s\n", result, errno == ENOMEM ? "ENOMEM" : strerror(errno));
    stack_t bad = {.ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 4};
    result = sigaltstack(&bad, NULL);
    printf("unknown flag: %d %s\n", result, errno == EINVAL ? "EINVAL" : strerror(errno));

    stack_t stack = {.ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0};
    sigaltstack(&stack, NULL);
    sigaltstack(NULL, &old);
    printf("set: flags %s, size %zu, base matches %s\n", flags(old.ss_flags), old.ss_size,
           old.ss_sp == alt ? "yes" : "no");

    handle_signal(SIGSEGV, on_segv, SA_ONSTACK);
    if (sigsetjmp(escape, 1) == 0) {
        recurse(NULL);
    }
    printf("stack overflow caught: on the alternate stack %s, si_code %d (SEGV_MAPERR %d or SEGV_ACCERR %d)\n",
           on_alt ? "yes" : "no", fault_code == SEGV_MAPERR || fault_code == SEGV_ACCERR ? 1 : 0, 1, 1);
    printf("inside the handler: flags %s, changing it: %s\n", flags(inside_flags),
           change_error == EPERM ? "EPERM" : strerror(change_error));

    /* Twice more: siglongjmp restored the mask, so SIGSEGV is deliverable again. */
    on_alt = 0;
    if (sigsetjmp(escape, 1) == 0) {
        *(volatile int *)wild = 1;
    }
    printf("second fault: handled on the alternate stack %s, si_code %d (SEGV_MAPERR %d)\n", on_alt ? "yes" : "no",
           fault_code, SEGV_MAPERR);

    stack_t disarming = {.ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = SS_AUTODISARM};
    sigaltstack(&disarming, NULL);
    on_alt = 0;
    if (sigsetjmp(escape, 1) == 0) {
        *(volatile int *)wild = 1;
    }
    sigaltstack(NULL, &old);
    printf("SS_AUTODISARM: handler on the alternate stack %s, flags inside %s, changing it inside: %s\n",
           on_alt ? "yes" : "no", flags(inside_flags), change_error == 0 ? "allowed" : strerror(change_error));
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    sigaltstack(NULL, &old);
    printf("disabled: flags %s\n", flags(old.ss_flags));
    return 0;
}
