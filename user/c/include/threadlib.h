/* threadlib.h: what the pthreads test programs share. Include after testlib.h. */
#ifndef THREADLIB_H
#define THREADLIB_H

#include <pthread.h>

/* pthread_create, or the program ends: "FAIL pthread_create: ERRNO", status 100 (the
 * line names the errno, so that a kernel without threads fails the same way in every
 * case). */
static pthread_t spawn(void *(*body)(void *), void *arg)
{
    pthread_t thread;
    int e = pthread_create(&thread, NULL, body, arg);
    if (e) {
        printf("FAIL pthread_create: %s\n", errno_name(e));
        exit(100);
    }
    return thread;
}

#endif
