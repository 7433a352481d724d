/* slowreader: writes COUNT chunks of 64 KiB to stdout (default 64), each filled with
 * its index (a byte: index % 251), and after each one says on stderr how many chunks
 * are written. With a host that does not read stdout, the count must stop early: the
 * console's buffers are bounded, so the writer blocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 64;
    static char chunk[64 * 1024];
    for (int i = 0; i < count; i++) {
        memset(chunk, i % 251, sizeof chunk);
        for (size_t done = 0; done < sizeof chunk;) {
            ssize_t n = write(1, chunk + done, sizeof chunk - done);
            if (n <= 0)
                return 1;
            done += (size_t)n;
        }
        char line[32];
        int n = snprintf(line, sizeof line, "written %d\n", i + 1);
        if (write(2, line, (size_t)n) < 0)
            return 1;
    }
    return 0;
}
