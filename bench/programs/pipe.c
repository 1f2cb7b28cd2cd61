/* pipe: throughput of a pipe between a writer thread on CPU 1 and the reader (main thread) on
 * CPU 0, in 64 KiB writes and reads; reported per 64 KiB moved (and as MiB/s). */
#include "bench.h"
#include <pthread.h>

#define CHUNK (64 * 1024)

static int fds[2];
static char wbuf[CHUNK], rbuf[CHUNK];

static void *writer(void *arg)
{
    (void)arg;
    bench_pin(1);
    for (;;) {
        if (write(fds[1], wbuf, CHUNK) < 0)
            return NULL;
    }
}

static void loop(long iters, void *arg)
{
    (void)arg;
    long want = iters * (long)CHUNK;
    while (want > 0) {
        ssize_t n = read(fds[0], rbuf, want < CHUNK ? want : CHUNK);
        if (n <= 0) {
            printf("BENCH-ERROR read failed\n");
            exit(bench_finish(1));
        }
        want -= n;
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    if (bench_cpus() < 2) {
        bench_skip("pipe", "needs-2-cpus");
        return bench_finish(0);
    }
    bench_pin(0);
    if (pipe(fds) != 0) {
        printf("BENCH-ERROR pipe failed\n");
        return bench_finish(1);
    }
    memset(wbuf, 'p', sizeof wbuf);
    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    bench_measure("pipe", "per_64k", loop, NULL, 1);
    return bench_finish(0);
}
