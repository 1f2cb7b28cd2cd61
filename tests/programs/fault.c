/* Faults that kill the service: `fault MODE`. Each prints a line first (flushed), then dies of a
 * signal; the exit status is 128+N on Linux and on Ferrite.
 *   null-write, null-read, null-call — SIGSEGV, the kernel's report says "NULL pointer"
 *   wild-write  — SIGSEGV writing an unmapped non-NULL address
 *   stack-overflow — SIGSEGV from unbounded recursion
 *   divide      — SIGFPE from an integer division by zero
 *   ud2         — SIGILL from an invalid instruction */
#include "check.h"
#include <stdint.h>

#pragma GCC diagnostic ignored "-Winfinite-recursion"

static volatile int zero, seven = 7;
static int *volatile null_ptr;

static int __attribute__((noinline)) recurse(int n)
{
    volatile char frame[4096];
    frame[0] = (char)n;
    frame[4095] = (char)n;
    return recurse(n + 1) + frame[0] + frame[4095];
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        printf("usage: fault MODE\n");
        return 2;
    }
    printf("about to fault: %s\n", argv[1]);
    fflush(stdout);
    if (MODE_IS("null-write"))
        *null_ptr = 42;
    else if (MODE_IS("null-read"))
        printf("read %d\n", *null_ptr);
    else if (MODE_IS("null-call")) {
        void (*volatile fn)(void) = 0;
        fn();
    } else if (MODE_IS("wild-write"))
        *(volatile int *)(uintptr_t)0x0000123456789000ull = 1;
    else if (MODE_IS("stack-overflow"))
        printf("%d\n", recurse(0));
    else if (MODE_IS("divide"))
        printf("%d\n", seven / zero);
    else if (MODE_IS("ud2"))
        __builtin_trap();
    else {
        printf("unknown mode\n");
        return 2;
    }
    printf("still alive after %s\n", argv[1]);
    return 1;
}
