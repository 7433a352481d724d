/* poll of more entries than the kernel keeps on its stack (300; the kernel copies
 * them to the heap past 128): every entry answered in place, ready, not ready,
 * skipped (negative fd) or invalid (closed fd), the count of entries with revents,
 * and EFAULT for an array that is not all mapped. The same output on Linux. */
#include "include/testlib.h"

#include <poll.h>
#include <sys/mman.h>

enum { ENTRIES = 300, CLOSED = 900 };

int main(void)
{
    int full[2], empty[2];
    if (pipe(full) != 0 || pipe(empty) != 0) {
        perror("pipe");
        return 1;
    }
    if (write(full[1], "x", 1) != 1) {
        perror("write");
        return 1;
    }
    static struct pollfd fds[ENTRIES];
    /* Five kinds in turn: readable, not ready, skipped, closed, writable. */
    for (int i = 0; i < ENTRIES; i += 5) {
        int kinds[5] = {full[0], empty[0], -1 - i, CLOSED, full[1]};
        for (int k = 0; k < 5; k++)
            fds[i + k] = (struct pollfd){.fd = kinds[k], .events = POLLIN | POLLOUT, .revents = 0x7777};
    }
    int result = poll(fds, ENTRIES, 0);
    unsigned counts[0x40] = {0};
    int mismatched = 0;
    for (int i = 0; i < ENTRIES; i++) {
        counts[fds[i].revents & 0x3f]++;
        /* The same kind gets the same answer wherever it is in the array. */
        mismatched += fds[i].revents != fds[i % 5].revents;
    }
    printf("poll of %d: %d, mismatched %d, revents:", ENTRIES, result, mismatched);
    for (int r = 0; r < 0x40; r++)
        if (counts[r])
            printf(" [%#x]x%u", r, counts[r]);
    printf("\n");

    /* The array's last entry on an unmapped page: EFAULT, nothing polled. */
    char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED || munmap(pages + 4096, 4096) != 0) {
        perror("mmap");
        return 1;
    }
    struct pollfd *tail = (struct pollfd *)(pages + 4096) - (ENTRIES - 1);
    for (int i = 0; i < ENTRIES - 1; i++)
        tail[i] = (struct pollfd){.fd = full[0], .events = POLLIN};
    errno = 0;
    result = poll(tail, ENTRIES, 0);
    printf("poll past the mapping: %d %s\n", result, result < 0 && errno == EFAULT ? "EFAULT" : "");
    return 0;
}
