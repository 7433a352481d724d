/* Which faults the kernel logs: as Linux's show_unhandled_signals, only one that ends
 * the program (no handler), never one the program's handler takes (a write barrier,
 * a guard page: logging each would cost more than the fault). Reads the kernel log
 * with klogctl, so it runs in the guest only (on a host it needs privileges). */
#include "include/testlib.h"

#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/wait.h>

enum { READ_ALL = 3, FAULTS = 20 };

static char log_text[1 << 17];
static char *page;
static volatile int faults;

/* Lines of the kernel log about thread PID ("pid PID (", as the kernel writes them). */
static int lines_about(pid_t pid)
{
    int length = klogctl(READ_ALL, log_text, sizeof log_text - 1);
    if (length < 0)
        return -1;
    log_text[length] = 0;
    char needle[32];
    snprintf(needle, sizeof needle, "pid %d (", (int)pid);
    int lines = 0;
    for (char *at = log_text; (at = strstr(at, needle)) != NULL; at += strlen(needle))
        lines++;
    return lines;
}

static void make_writable(int signal, siginfo_t *info, void *context)
{
    (void)signal, (void)context;
    faults++;
    mprotect(info->si_addr, 4096, PROT_READ | PROT_WRITE);
}

int main(void)
{
    page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return 2;
    fflush(stdout);
    pid_t handled = fork_or_die();
    if (handled == 0) {
        handle_signal(SIGSEGV, make_writable, 0);
        for (int i = 0; i < FAULTS; i++) {
            mprotect(page, 4096, PROT_READ);
            page[0] = (char)i;
        }
        _exit(faults == FAULTS ? 0 : 1);
    }
    int status;
    waitpid(handled, &status, 0);
    report("the child took each fault in its handler", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    report("no log line for a fault a handler takes", lines_about(handled) == 0);

    pid_t unhandled = fork_or_die();
    if (unhandled == 0) {
        page[0] = 1;
        _exit(0);
    }
    waitpid(unhandled, &status, 0);
    report("a fault without a handler ends the child", WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    report("and is logged once", lines_about(unhandled) == 1);
    return failures ? 1 : 0;
}
