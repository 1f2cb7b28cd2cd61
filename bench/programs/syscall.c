/* syscall: system call round trip, a getppid() loop. */
#include "bench.h"
#include <sys/syscall.h>

static void loop(long iters, void *arg)
{
    (void)arg;
    for (long i = 0; i < iters; i++)
        syscall(SYS_getppid);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    bench_measure("syscall", "getppid", loop, NULL, 1);
    return bench_finish(0);
}
