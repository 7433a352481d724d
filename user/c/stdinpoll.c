/* stdinpoll: standard input made non-blocking and polled, as an interactive
 * program does: a read before any input fails with EAGAIN, poll with timeout 0
 * finds nothing, poll without timeout waits for the input, which a read then
 * returns; back in blocking mode, a read waits for the end of the input (0). The
 * test writes the input only after "waiting" appeared, and then closes it. Exit
 * status 0. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    char buffer[64];
    setvbuf(stdout, NULL, _IONBF, 0);
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    long n = read(0, buffer, sizeof buffer);
    printf("non-blocking read before input: %ld %s\n", n, n < 0 && errno == EAGAIN ? "EAGAIN" : "");
    struct pollfd in = {0, POLLIN, 0};
    printf("poll, timeout 0: %d\n", poll(&in, 1, 0));
    printf("waiting\n");
    int ready = poll(&in, 1, -1);
    printf("poll, no timeout: %d revents %#x\n", ready, in.revents);
    n = read(0, buffer, sizeof buffer);
    printf("read: %ld \"%.*s\"\n", n, (int)(n > 0 ? n - 1 : 0), buffer);
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) & ~O_NONBLOCK);
    printf("blocking read at the end: %ld\n", (long)read(0, buffer, sizeof buffer));
    return 0;
}
