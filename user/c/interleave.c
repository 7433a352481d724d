/* interleave: writes to fd 1 and fd 2 in turn, ROUNDS times (default 100), each write
 * one line naming its stream and round; every tenth round writes a long block
 * (200 KiB, more than the console's ring holds) instead of a line, so that a write
 * split on the way must still arrive whole and in its place. Under 2>&1 the output
 * must be exactly the order of the writes. Exits 0 right after its last write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void write_all(int fd, const char *bytes, size_t length)
{
    while (length > 0) {
        ssize_t n = write(fd, bytes, length);
        if (n <= 0)
            _exit(1);
        bytes += n;
        length -= (size_t)n;
    }
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    static char block[200 * 1024];
    for (int round = 0; round < rounds; round++) {
        for (int fd = 1; fd <= 2; fd++) {
            if (round % 10 == 9) {
                /* Lines of one letter per stream and round, so a piece out of place shows. */
                char letter = (char)('a' + (round / 10 * 2 + fd) % 26);
                for (size_t i = 0; i < sizeof block; i++)
                    block[i] = (i % 64 == 63) ? '\n' : letter;
                write_all(fd, block, sizeof block);
            } else {
                char line[64];
                int n = snprintf(line, sizeof line, "fd %d round %d\n", fd, round);
                write_all(fd, line, (size_t)n);
            }
        }
    }
    _exit(0);
}
