/* malloc: one thread; malloc of a pseudo-random size (16 B to 4 KiB, one in 64 of 64 KiB) into a
 * ring of 1024 slots, freeing the block it replaces. Reported per malloc+free pair. */
#include "bench.h"

#define SLOTS 1024

static void *slot[SLOTS];
static uint32_t seed = 12345;

static void loop(long iters, void *arg)
{
    (void)arg;
    for (long i = 0; i < iters; i++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t r = seed >> 8;
        size_t size = (r & 63) == 0 ? 65536 : 16 + (r % 4081);
        unsigned k = (unsigned)(r >> 6) % SLOTS;
        free(slot[k]);
        slot[k] = malloc(size);
        if (!slot[k]) {
            printf("BENCH-ERROR malloc failed\n");
            exit(bench_finish(1));
        }
        ((volatile char *)slot[k])[0] = 1;
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    bench_measure("malloc", "malloc_free", loop, NULL, 1);
    for (int k = 0; k < SLOTS; k++)
        free(slot[k]);
    return bench_finish(0);
}
