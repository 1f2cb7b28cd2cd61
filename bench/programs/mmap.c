/* mmap: a 4 KiB anonymous private mapping created, its page written once, and unmapped again;
 * per cycle. */
#include "bench.h"
#include <sys/mman.h>

static void loop(long iters, void *arg)
{
    (void)arg;
    for (long i = 0; i < iters; i++) {
        char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            printf("BENCH-ERROR mmap failed\n");
            exit(bench_finish(1));
        }
        *(volatile char *)p = 1;
        munmap(p, 4096);
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    bench_measure("mmap", "mmap_touch_munmap", loop, NULL, 1);
    return bench_finish(0);
}
