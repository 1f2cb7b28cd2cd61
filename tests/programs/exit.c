/* Exit statuses and exit-time flushing: `exit MODE N` where MODE is
 *   return  — return N from main
 *   exit    — exit(N) from a nested function
 *   _exit   — _exit(N): buffered output is lost (on Linux too)
 * stdout goes to a pipe, so it is fully buffered: whatever appears was flushed at exit. */
#include "check.h"
#include <unistd.h>

static void atexit_handler(void)
{
    printf("atexit handler ran\n");
}

static void __attribute__((noinline)) leave(int status)
{
    printf("leaving via exit(%d) from a nested call", status); /* no newline: flushed at exit */
    exit(status);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        printf("usage: exit return|exit|_exit STATUS\n");
        return 2;
    }
    int status = atoi(argv[2]);
    atexit(atexit_handler);
    printf("mode %s status %d\n", argv[1], status);
    if (MODE_IS("return"))
        return status;
    if (MODE_IS("exit"))
        leave(status);
    if (MODE_IS("_exit")) {
        printf("this buffered line is lost by _exit\n");
        _exit(status);
    }
    printf("unknown mode\n");
    return 2;
}
