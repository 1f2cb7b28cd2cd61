/* hello: the boot benchmark's service. Prints one line and exits. */
#include "bench.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("BENCH-READY\n");
    return bench_finish(0);
}
