/* parallel: a CPU-bound job split over threads, as examples/parallel does it (a C copy, so the
 * same program runs as a Linux guest's /init). One job counts the primes below 1,000,000 by trial
 * division, in blocks of 5,000 handed out through an atomic counter. The threads are created
 * once, before measuring. Usage: parallel ROUNDS ROUND_MS [THREADS] (THREADS 0 or absent: one
 * per online CPU). */
#include "workers.h"
#include <stdatomic.h>

#define LIMIT 1000000
#define BLOCK 5000
#define PRIMES_BELOW_LIMIT 78498

static _Atomic long next;
static _Atomic long primes;

static int is_prime(long n)
{
    if (n < 2)
        return 0;
    if (n % 2 == 0)
        return n == 2;
    for (long d = 3; d * d <= n; d += 2)
        if (n % d == 0)
            return 0;
    return 1;
}

static void job(long part, long parts)
{
    (void)part;
    (void)parts;
    long found = 0;
    for (;;) {
        long first = atomic_fetch_add(&next, BLOCK);
        if (first >= LIMIT)
            break;
        for (long n = first; n < first + BLOCK; n++)
            found += is_prime(n);
    }
    atomic_fetch_add(&primes, found);
}

static void loop(long iters, void *arg)
{
    (void)arg;
    for (long i = 0; i < iters; i++) {
        atomic_store(&next, 0);
        atomic_store(&primes, 0);
        workers_run(job);
        if (atomic_load(&primes) != PRIMES_BELOW_LIMIT)
            printf("BENCH-ERROR wrong prime count %ld\n", atomic_load(&primes));
    }
}

int main(int argc, char **argv)
{
    int extra = bench_init(argc, argv);
    long threads = argc > extra ? atol(argv[extra]) : 0;
    if (threads <= 0)
        threads = bench_cpus();
    threads = workers_init(threads);
    char metric[32];
    snprintf(metric, sizeof metric, "job_%ld_threads", threads);
    bench_measure("parallel", metric, loop, NULL, 1);
    return bench_finish(0);
}
