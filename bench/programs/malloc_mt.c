/* malloc_mt: malloc/free throughput from several threads at once. Every thread runs the `malloc`
 * workload's loop (malloc of 16 B to 4 KiB, one in 64 of 64 KiB, into its own ring of 1024 slots,
 * freeing the block it replaces) on its own blocks. Reported as wall time per malloc+free pair
 * over all threads together, so lower means more throughput. The threads are created before
 * measuring. Usage: malloc_mt ROUNDS ROUND_MS THREADS. */
#include "workers.h"

#define SLOTS 1024

struct ring {
    void *slot[SLOTS];
    uint32_t seed;
} __attribute__((aligned(64)));

static struct ring rings[MAX_THREADS];
static long per_thread;

static void job(long part, long parts)
{
    (void)parts;
    struct ring *r = &rings[part];
    uint32_t seed = r->seed;
    for (long i = 0; i < per_thread; i++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t x = seed >> 8;
        size_t size = (x & 63) == 0 ? 65536 : 16 + (x % 4081);
        unsigned k = (unsigned)(x >> 6) % SLOTS;
        free(r->slot[k]);
        r->slot[k] = malloc(size);
        if (!r->slot[k]) {
            printf("BENCH-ERROR malloc failed\n");
            exit(bench_finish(1));
        }
        ((volatile char *)r->slot[k])[0] = 1;
    }
    r->seed = seed;
}

static void loop(long iters, void *arg)
{
    long threads = (long)arg;
    per_thread = iters / threads + 1;
    workers_run(job);
}

int main(int argc, char **argv)
{
    int extra = bench_init(argc, argv);
    long threads = argc > extra ? atol(argv[extra]) : 1;
    threads = workers_init(threads);
    for (long t = 0; t < threads; t++)
        rings[t].seed = 12345u + (uint32_t)t * 7919u;
    char metric[40];
    snprintf(metric, sizeof metric, "malloc_free_%ld_threads", threads);
    bench_measure("malloc_mt", metric, loop, (void *)threads, 1);
    for (long t = 0; t < threads; t++)
        for (int k = 0; k < SLOTS; k++)
            free(rings[t].slot[k]);
    return bench_finish(0);
}
