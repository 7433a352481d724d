/* spinall: N processes (this one and N-1 children) spin in for(;;) with no system
 * calls, for ever: every CPU of an N-CPU machine busy in user mode, for the kernel
 * failure self-tests (`selftest=panic-all`), which end the machine under it.
 *   spinall N */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2 || atoi(argv[1]) < 1) {
        fprintf(stderr, "usage: spinall N\n");
        return 2;
    }
    for (int i = 1; i < atoi(argv[1]); i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0)
            break;
    }
    for (;;)
        __asm__ volatile("" ::: "memory");
}
