/* eventfd: ping-pong latency between threads on CPU 0 and CPU 1 through two eventfds (blocking
 * reads: each side sleeps until the other writes); per round trip. */
#include "bench.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>

static int ping, pong;

static void *partner(void *arg)
{
    (void)arg;
    bench_pin(1);
    uint64_t v;
    for (;;) {
        if (read(ping, &v, 8) != 8)
            return NULL;
        v = 1;
        if (write(pong, &v, 8) != 8)
            return NULL;
    }
}

static void loop(long iters, void *arg)
{
    (void)arg;
    uint64_t v;
    for (long i = 0; i < iters; i++) {
        v = 1;
        if (write(ping, &v, 8) != 8 || read(pong, &v, 8) != 8) {
            printf("BENCH-ERROR eventfd read/write failed\n");
            exit(bench_finish(1));
        }
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    if (bench_cpus() < 2) {
        bench_skip("eventfd", "needs-2-cpus");
        return bench_finish(0);
    }
    bench_pin(0);
    ping = eventfd(0, 0);
    pong = eventfd(0, 0);
    if (ping < 0 || pong < 0) {
        printf("BENCH-ERROR eventfd failed\n");
        return bench_finish(1);
    }
    pthread_t t;
    pthread_create(&t, NULL, partner, NULL);
    bench_measure("eventfd", "round_trip", loop, NULL, 1);
    return bench_finish(0);
}
