/* thread: pthread_create + pthread_join of a thread that returns at once. */
#include "bench.h"
#include <pthread.h>

static void *body(void *arg)
{
    return arg;
}

static void loop(long iters, void *arg)
{
    (void)arg;
    for (long i = 0; i < iters; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, body, NULL) != 0) {
            printf("BENCH-ERROR pthread_create failed\n");
            exit(bench_finish(1));
        }
        pthread_join(t, NULL);
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    bench_measure("thread", "create_join", loop, NULL, 1);
    return bench_finish(0);
}
