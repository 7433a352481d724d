/* procsched: reads the scheduling policy's view of itself (/proc/self/sched)
 * before and after spinning for 200 ms of CPU time, at the nice value given as
 * first argument (and with the slice given as second argument, in ns, set by
 * sched_setattr), and the policy's own view (/proc/timeshare/sched) at the end. Prints
 * the three texts, each after a line naming it. timeshare only: Linux has no such
 * files. */
#include <fcntl.h>
#include <sys/syscall.h>

#include "include/testlib.h"

int main(int argc, char **argv)
{
    setpriority(PRIO_PROCESS, 0, argc > 1 ? atoi(argv[1]) : 0);
    if (argc > 2) {
        /* struct sched_attr's first version: size, policy, flags, nice, priority,
         * runtime, deadline, period. */
        uint64_t attr[6] = { 48, 0, (uint32_t)atoi(argv[1]), strtoull(argv[2], NULL, 10), 0, 0 };
        if (syscall(SYS_sched_setattr, 0, attr, 0) != 0)
            return 2;
    }
    print_file("before", "/proc/self/sched");
    uint64_t start = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    while (now_ns(CLOCK_PROCESS_CPUTIME_ID) - start < 200000000ULL)
        ;
    print_file("after", "/proc/self/sched");
    print_file("policy", "/proc/timeshare/sched");
    return 0;
}
