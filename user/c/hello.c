/* hello: greets argv[1] (or "world"), lists every argument and the count, and
 * returns 3 so that a test can see a non-zero exit status travel back to the host. */
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("hello, %s\n", argc > 1 ? argv[1] : "world");
    for (int i = 0; i < argc; i++)
        printf("argv[%d] = %s\n", i, argv[i]);
    printf("argc = %d\n", argc);
    return 3;
}
