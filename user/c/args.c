/* args: shows what the kernel put on the initial stack: the arguments, the PATH
 * environment variable, and whether the auxiliary vector says pages are 4096 bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>

int main(int argc, char **argv)
{
    const char *path = getenv("PATH");

    printf("argc = %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d] = [%s]\n", i, argv[i]);
    printf("PATH = %s\n", path ? path : "(null)");
    printf("AT_PAGESZ == 4096: %s\n", getauxval(AT_PAGESZ) == 4096 ? "yes" : "no");
    return 0;
}
