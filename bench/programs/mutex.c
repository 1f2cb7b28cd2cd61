/* mutex: contended pthread mutex. One thread per CPU (at least two) increments a shared counter
 * under one pthread_mutex_t; reported as wall time per lock+increment+unlock (all threads
 * together), so lower means more throughput. The threads are created before measuring. */
#include "workers.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile long counter;
static long per_thread;

static void job(long part, long parts)
{
    (void)part;
    (void)parts;
    for (long i = 0; i < per_thread; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
}

static void loop(long iters, void *arg)
{
    long threads = (long)arg;
    counter = 0;
    per_thread = iters / threads + 1;
    workers_run(job);
    if (counter != threads * per_thread)
        printf("BENCH-ERROR lost updates: %ld\n", counter);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    long threads = bench_cpus() < 2 ? 2 : bench_cpus();
    threads = workers_init(threads);
    bench_measure("mutex", "lock_unlock", loop, (void *)threads, 1);
    return bench_finish(0);
}
