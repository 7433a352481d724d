/* tick_demand: how often the timer takes the CPU from a program, and what a CPU's
 * ticks still do when it skips the ones nobody needs.
 *
 *   tick_demand alone MS        one spinner for MS ms: "interruptions/s: N"
 *   tick_demand pair MS         two spinners for MS ms each: per spinner, its
 *                               interruptions per second on the CPU and its turns
 *                               (runs between the other's), "turn_ms: median"
 *   tick_demand sleeps          nanosleep's oversleep, idle: "short_ok", "long_ok"
 *   tick_demand stat MS         /proc/stat's idle and busy time over an MS ms sleep
 *                               and an MS ms spin, in ms: "idle_ms: N", "busy_ms: N"
 *
 * A gap between two reads of the TSC 20 times the loop's own (at least 100 ns, as
 * the timer-tick bench rows) is an interruption; one longer than TURN_NS is the
 * other spinner's turn. */
#include "include/testlib.h"

#define TURN_NS 3000000ULL
#define MAX_TURNS 4096

static double tsc_per_ns(void)
{
    uint64_t t0 = now_ns(CLOCK_MONOTONIC), c0 = rdtsc();
    while (now_ns(CLOCK_MONOTONIC) - t0 < 10000000)
        ;
    uint64_t t1 = now_ns(CLOCK_MONOTONIC), c1 = rdtsc();
    return (double)(c1 - c0) / (double)(t1 - t0);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Spins for `ms` ms of time on the CPU (other spinners' turns not counted);
 * returns the interruptions and, in turns[], the length of each run between two
 * long gaps (ns), their number in *turn_count. */
static uint64_t spin(double per_ns, long ms, uint64_t *turns, int *turn_count)
{
    uint64_t gap = smallest_tsc_gap() * 20;
    if (gap < (uint64_t)(100 * per_ns))
        gap = (uint64_t)(100 * per_ns);
    uint64_t turn = (uint64_t)(TURN_NS * per_ns);
    uint64_t length = (uint64_t)(ms * 1e6 * per_ns), ran = 0, interruptions = 0;
    uint64_t prev = rdtsc();
    uint64_t turn_start = prev;
    int count = 0;
    while (ran < length) {
        uint64_t t = rdtsc(), d = t - prev;
        if (d > turn) {
            if (count < MAX_TURNS)
                turns[count++] = prev - turn_start;
            turn_start = t;
        } else {
            ran += d;
            if (d > gap)
                interruptions++;
        }
        prev = t;
    }
    *turn_count = count;
    return interruptions;
}

static uint64_t turns_buffer[MAX_TURNS];

static void alone(long ms)
{
    int turns;
    uint64_t n = spin(tsc_per_ns(), ms, turns_buffer, &turns);
    printf("interruptions/s: %llu\n", (unsigned long long)(n * 1000 / ms));
}

static void pair(long ms)
{
    double per_ns = tsc_per_ns();
    int fds[2];
    if (pipe(fds) != 0)
        return perror("pipe");
    pid_t child = fork();
    if (child < 0)
        return perror("fork");
    int turns;
    uint64_t n = spin(per_ns, ms, turns_buffer, &turns);
    /* The first and last runs are cut by the start and the end. */
    uint64_t median = 0;
    if (turns > 2) {
        qsort(turns_buffer + 1, turns - 1, sizeof turns_buffer[0], compare_u64);
        median = turns_buffer[1 + (turns - 1) / 2];
    }
    char line[128];
    int len = snprintf(line, sizeof line, "%s interruptions/s: %llu turns: %d turn_ms: %.1f\n",
                       child == 0 ? "child" : "parent", (unsigned long long)(n * 1000 / ms), turns,
                       median / per_ns / 1e6);
    if (child == 0) {
        (void)!write(fds[1], line, len);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    char other[128];
    ssize_t got = read(fds[0], other, sizeof other - 1);
    other[got > 0 ? got : 0] = 0;
    printf("%s%s", line, other);
}

/* Oversleep of nanosleep(ms), in ns: the smallest `ms` can give. */
static uint64_t oversleep(long ms)
{
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    sleep_ms(ms);
    return now_ns(CLOCK_MONOTONIC) - t0 - (uint64_t)ms * 1000000;
}

static void sleeps(void)
{
    uint64_t worst = 0;
    for (int i = 0; i < 50; i++) {
        uint64_t over = oversleep(1);
        if (over > worst)
            worst = over;
    }
    printf("1 ms worst oversleep_us: %llu\n", (unsigned long long)(worst / 1000));
    report("short_ok", worst <= 1500000);
    worst = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t over = oversleep(40 + 70 * i);
        if (over > worst)
            worst = over;
    }
    printf("40-180 ms worst oversleep_us: %llu\n", (unsigned long long)(worst / 1000));
    report("long_ok", worst <= 1500000);
}

/* /proc/stat's first line: total busy (user + nice + system) and idle, in ms. */
static void cpu_times(uint64_t *busy, uint64_t *idle)
{
    unsigned long long user = 0, nice = 0, system = 0, idle_ticks = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (!f || fscanf(f, "cpu %llu %llu %llu %llu", &user, &nice, &system, &idle_ticks) != 4)
        printf("FAIL: /proc/stat unreadable\n");
    if (f)
        fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    *busy = (user + nice + system) * 1000 / hz;
    *idle = idle_ticks * 1000 / hz;
}

static void stat(long ms)
{
    uint64_t busy0, idle0, busy1, idle1, busy2, idle2;
    cpu_times(&busy0, &idle0);
    sleep_ms(ms);
    cpu_times(&busy1, &idle1);
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    while (now_ns(CLOCK_MONOTONIC) - t0 < (uint64_t)ms * 1000000)
        ;
    cpu_times(&busy2, &idle2);
    printf("idle_ms: %llu\nbusy_ms: %llu\n", (unsigned long long)(idle1 - idle0),
           (unsigned long long)(busy2 - busy1));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *mode = argc > 1 ? argv[1] : "";
    long ms = argc > 2 ? atol(argv[2]) : 300;
    if (strcmp(mode, "alone") == 0)
        alone(ms);
    else if (strcmp(mode, "pair") == 0)
        pair(ms);
    else if (strcmp(mode, "sleeps") == 0)
        sleeps();
    else if (strcmp(mode, "stat") == 0)
        stat(ms);
    else {
        fprintf(stderr, "usage: tick_demand alone|pair|sleeps|stat [MS]\n");
        return 2;
    }
    return failures;
}
