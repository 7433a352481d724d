/* vdso: the vDSO, as a program finds and uses it, the same on Linux and under
 * timeshare. Finds the image from AT_SYSINFO_EHDR and looks its four functions up
 * the way musl does (PT_DYNAMIC, DT_SYMTAB, DT_STRTAB, DT_HASH or DT_GNU_HASH,
 * DT_VERSYM and DT_VERDEF for LINUX_2.6); checks the clocks it gives against the
 * system calls (agreement, never back when the two are mixed), the fallbacks (bad
 * clock ids, CPU-time clocks), gettimeofday, time and getcpu, /proc/self/maps, and
 * that a forked child still has it.
 *
 * `vdso library-calls N`: N calls each of clock_gettime (two clocks),
 * gettimeofday and time through the C library, no output (the trace counts their
 * system calls: none). `vdso system-calls N`: N clock_gettime system calls. */
#define _GNU_SOURCE
#include <elf.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/time.h>

#include "include/testlib.h"

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
typedef int (*gettimeofday_fn)(struct timeval *, void *);
typedef time_t (*time_fn)(time_t *);
typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);

static const Elf64_Ehdr *image;

/* The number of symbols of a DT_GNU_HASH table: past the last bucket's chain. */
static size_t gnu_hash_symbols(const uint32_t *hash)
{
    uint32_t buckets = hash[0], base = hash[1], bloom = hash[2];
    const uint32_t *bucket = hash + 4 + bloom * 2;
    uint32_t last = 0;
    for (uint32_t i = 0; i < buckets; i++)
        if (bucket[i] > last)
            last = bucket[i];
    if (last < base)
        return last;
    const uint32_t *chain = bucket + buckets - base;
    while (!(chain[last] & 1))
        last++;
    return last + 1;
}

/* The address of `name` at version `version` in the vDSO, as musl's __vdsosym
 * finds it; NULL if absent. */
static void *vdso_symbol(const char *version, const char *name)
{
    const Elf64_Phdr *ph = (const void *)((const char *)image + image->e_phoff);
    const Elf64_Dyn *dynamic = NULL;
    uintptr_t base = (uintptr_t)-1;
    for (int i = 0; i < image->e_phnum; i++, ph = (const void *)((const char *)ph + image->e_phentsize)) {
        if (ph->p_type == PT_LOAD)
            base = (uintptr_t)image + ph->p_offset - ph->p_vaddr;
        else if (ph->p_type == PT_DYNAMIC)
            dynamic = (const void *)((const char *)image + ph->p_offset);
    }
    if (!dynamic || base == (uintptr_t)-1)
        return NULL;
    const char *strings = NULL;
    const Elf64_Sym *symbols = NULL;
    const uint32_t *hash = NULL, *gnu_hash = NULL;
    const uint16_t *versym = NULL;
    const Elf64_Verdef *verdef = NULL;
    for (; dynamic->d_tag != DT_NULL; dynamic++) {
        const void *at = (const void *)(base + dynamic->d_un.d_ptr);
        switch (dynamic->d_tag) {
        case DT_STRTAB: strings = at; break;
        case DT_SYMTAB: symbols = at; break;
        case DT_HASH: hash = at; break;
        case DT_GNU_HASH: gnu_hash = at; break;
        case DT_VERSYM: versym = at; break;
        case DT_VERDEF: verdef = at; break;
        }
    }
    if (!strings || !symbols || (!hash && !gnu_hash))
        return NULL;
    size_t count = hash ? hash[1] : gnu_hash_symbols(gnu_hash);
    for (size_t i = 0; i < count; i++) {
        const Elf64_Sym *symbol = &symbols[i];
        if (ELF64_ST_TYPE(symbol->st_info) != STT_FUNC || ELF64_ST_BIND(symbol->st_info) != STB_GLOBAL
            || symbol->st_shndx == SHN_UNDEF || strcmp(name, strings + symbol->st_name) != 0)
            continue;
        if (versym && verdef) {
            /* The symbol's version must be `version`, as musl's checkver demands. */
            uint16_t wanted = versym[i] & 0x7fff;
            const Elf64_Verdef *def = verdef;
            for (;;) {
                if (!(def->vd_flags & VER_FLG_BASE) && (def->vd_ndx & 0x7fff) == wanted)
                    break;
                if (!def->vd_next)
                    return NULL;
                def = (const void *)((const char *)def + def->vd_next);
            }
            const Elf64_Verdaux *aux = (const void *)((const char *)def + def->vd_aux);
            if (strcmp(version, strings + aux->vda_name) != 0)
                continue;
        }
        return (void *)(base + symbol->st_value);
    }
    return NULL;
}

static uint64_t nanoseconds(struct timespec t) { return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec; }

static uint64_t system_call_clock(clockid_t clock)
{
    struct timespec t;
    syscall(SYS_clock_gettime, clock, &t);
    return nanoseconds(t);
}

/* The system call, the vDSO's function, the system call again: in order. */
static int agrees_with_the_system_call(clock_gettime_fn vdso, clockid_t clock)
{
    struct timespec t;
    uint64_t before = system_call_clock(clock);
    int result = vdso(clock, &t);
    uint64_t after = system_call_clock(clock);
    return result == 0 && t.tv_nsec >= 0 && t.tv_nsec < 1000000000 && before <= nanoseconds(t)
        && nanoseconds(t) <= after;
}

/* Many readings alternating the C library's (the vDSO) and the system call's. */
static int never_back_when_mixed(clockid_t clock)
{
    uint64_t last = 0;
    for (int i = 0; i < 20000; i++) {
        uint64_t now = i % 2 ? system_call_clock(clock) : now_ns(clock);
        if (now < last)
            return 0;
        last = now;
    }
    return 1;
}

/* Whether `clock` (a CPU-time clock) counts 10 ms of spinning within 5 s. */
static int counts_spinning(clockid_t clock)
{
    uint64_t start = now_ns(clock), deadline = now_ns(CLOCK_MONOTONIC) + 5000000000ULL;
    while (now_ns(CLOCK_MONOTONIC) < deadline)
        if (now_ns(clock) - start >= 10000000)
            return 1;
    return 0;
}

/* The start of the maps line naming `name`, or NULL. */
static const char *maps_line(const char *maps, const char *name)
{
    const char *at = strstr(maps, name);
    if (!at)
        return NULL;
    while (at > maps && at[-1] != '\n')
        at--;
    return at;
}

static void maps_checks(void)
{
    static char maps[65536];
    size_t length = 0;
    int fd = open("/proc/self/maps", O_RDONLY);
    for (ssize_t got = 1; fd >= 0 && got > 0 && length < sizeof maps - 1;) {
        got = read(fd, maps + length, sizeof maps - 1 - length);
        length += got > 0 ? (size_t)got : 0;
    }
    if (fd >= 0)
        close(fd);
    maps[length] = 0;
    const char *vdso = maps_line(maps, "[vdso]"), *vvar = maps_line(maps, "[vvar]");
    unsigned long start = 0, vvar_start = 0;
    char permissions[5] = "", vvar_permissions[5] = "";
    if (vdso)
        sscanf(vdso, "%lx-%*x %4s", &start, permissions);
    if (vvar)
        sscanf(vvar, "%lx-%*x %4s", &vvar_start, vvar_permissions);
    report("maps: [vdso] at AT_SYSINFO_EHDR", vdso && start == (unsigned long)image);
    report("maps: [vdso] is r-xp", vdso && strcmp(permissions, "r-xp") == 0);
    report("maps: [vvar] below it, r--p", vvar && vvar_start < start && strcmp(vvar_permissions, "r--p") == 0);
    if (vvar) {
        int result = mprotect((void *)vvar_start, 4096, PROT_READ | PROT_WRITE);
        printf("mprotect [vvar] writable: %s\n", errno_name(result ? errno : 0));
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "library-calls") == 0) {
        for (long i = atol(argv[2]); i > 0; i--) {
            struct timespec t;
            struct timeval tv;
            clock_gettime(CLOCK_MONOTONIC, &t);
            clock_gettime(CLOCK_REALTIME, &t);
            gettimeofday(&tv, NULL);
            time(NULL);
        }
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "system-calls") == 0) {
        for (long i = atol(argv[2]); i > 0; i--)
            system_call_clock(CLOCK_MONOTONIC);
        return 0;
    }

    image = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
    report("AT_SYSINFO_EHDR is set", image != NULL);
    if (!image)
        return 1;
    report("the vDSO is an x86_64 ELF shared object",
           memcmp(image->e_ident, ELFMAG, SELFMAG) == 0 && image->e_ident[EI_CLASS] == ELFCLASS64
               && image->e_type == ET_DYN && image->e_machine == EM_X86_64);
    clock_gettime_fn vdso_clock_gettime = (clock_gettime_fn)vdso_symbol("LINUX_2.6", "__vdso_clock_gettime");
    gettimeofday_fn vdso_gettimeofday = (gettimeofday_fn)vdso_symbol("LINUX_2.6", "__vdso_gettimeofday");
    time_fn vdso_time = (time_fn)vdso_symbol("LINUX_2.6", "__vdso_time");
    getcpu_fn vdso_getcpu = (getcpu_fn)vdso_symbol("LINUX_2.6", "__vdso_getcpu");
    report("finds __vdso_clock_gettime@LINUX_2.6", vdso_clock_gettime != NULL);
    report("finds __vdso_gettimeofday@LINUX_2.6", vdso_gettimeofday != NULL);
    report("finds __vdso_time@LINUX_2.6", vdso_time != NULL);
    report("finds __vdso_getcpu@LINUX_2.6", vdso_getcpu != NULL);
    report("no __vdso_clock_gettime@LINUX_9.9", vdso_symbol("LINUX_9.9", "__vdso_clock_gettime") == NULL);
    if (!vdso_clock_gettime || !vdso_gettimeofday || !vdso_time || !vdso_getcpu)
        return 1;

    report("CLOCK_MONOTONIC agrees with the system call", agrees_with_the_system_call(vdso_clock_gettime, CLOCK_MONOTONIC));
    report("CLOCK_REALTIME agrees with the system call", agrees_with_the_system_call(vdso_clock_gettime, CLOCK_REALTIME));
    report("CLOCK_BOOTTIME agrees with the system call", agrees_with_the_system_call(vdso_clock_gettime, CLOCK_BOOTTIME));
    report("CLOCK_MONOTONIC never goes back, vDSO and system call mixed", never_back_when_mixed(CLOCK_MONOTONIC));
    report("CLOCK_REALTIME never goes back, vDSO and system call mixed", never_back_when_mixed(CLOCK_REALTIME));

    struct timespec t;
    int result = clock_gettime(12345, &t);
    printf("clock_gettime(12345): %s\n", errno_name(result ? errno : 0));
    printf("__vdso_clock_gettime(12345): %s\n", errno_name(-vdso_clock_gettime(12345, &t)));
    result = clock_gettime(-1, &t);
    printf("clock_gettime(-1): %s\n", errno_name(result ? errno : 0));

    report("CLOCK_PROCESS_CPUTIME_ID counts spinning", counts_spinning(CLOCK_PROCESS_CPUTIME_ID));
    report("CLOCK_THREAD_CPUTIME_ID counts spinning", counts_spinning(CLOCK_THREAD_CPUTIME_ID));

    struct timeval tv;
    uint64_t before = now_ns(CLOCK_REALTIME);
    int timeofday = gettimeofday(&tv, NULL);
    time_t seconds = time(NULL);
    uint64_t after = now_ns(CLOCK_REALTIME);
    uint64_t micros = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
    report("gettimeofday agrees with CLOCK_REALTIME",
           timeofday == 0 && before / 1000 <= micros && micros <= after / 1000 && tv.tv_usec < 1000000);
    report("time agrees with CLOCK_REALTIME",
           before / 1000000000 <= (uint64_t)seconds && (uint64_t)seconds <= after / 1000000000);
    time_t stored = 0;
    report("__vdso_time stores what it returns", vdso_time(&stored) == stored && (uint64_t)stored >= before / 1000000000);
    struct { int minutes_west, dst_time; } zone = { 99, 99 };
    report("__vdso_gettimeofday fills the time zone with zeros",
           vdso_gettimeofday(&tv, &zone) == 0 && zone.minutes_west == 0 && zone.dst_time == 0);

    unsigned cpu = 99, node = 99, system_cpu = 98, system_node = 98;
    long got = vdso_getcpu(&cpu, &node, NULL);
    long system_got = syscall(SYS_getcpu, &system_cpu, &system_node, NULL);
    report("__vdso_getcpu: the CPU the system call says, node 0",
           got == 0 && system_got == 0 && cpu == system_cpu && node == 0 && system_node == 0);
    /* Pinned here, not by whoever started it: with several CPUs a task may have moved. */
    cpu_set_t only_cpu_0;
    CPU_ZERO(&only_cpu_0);
    CPU_SET(0, &only_cpu_0);
    report("sched_getcpu is the CPU this program runs on (pinned to CPU 0)",
           sched_setaffinity(0, sizeof only_cpu_0, &only_cpu_0) == 0 && sched_getcpu() == 0);

    maps_checks();

    fflush(stdout);
    pid_t child = fork_or_die();
    if (child == 0) {
        int same = getauxval(AT_SYSINFO_EHDR) == (unsigned long)image;
        int works = agrees_with_the_system_call(vdso_clock_gettime, CLOCK_MONOTONIC);
        _exit(same && works ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    report("a forked child has the vDSO, working", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    printf("still running\n");
    return failures;
}
