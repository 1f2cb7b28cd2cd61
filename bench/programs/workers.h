/* workers.h: a team of threads created once; workers_run() has every member (the caller and
 * n-1 helpers) call the job once and returns when all have finished. Thread creation stays out
 * of the measurement. */
#include "bench.h"
#include <pthread.h>

#define MAX_THREADS 64

typedef void (*job_fn)(long part, long parts);

static pthread_barrier_t w_start, w_end;
static job_fn w_job;
static long w_parts;

static void *w_helper(void *arg)
{
    long part = (long)arg;
    for (;;) {
        pthread_barrier_wait(&w_start);
        w_job(part, w_parts);
        pthread_barrier_wait(&w_end);
    }
    return NULL;
}

static long workers_init(long n)
{
    if (n > MAX_THREADS)
        n = MAX_THREADS;
    if (n < 1)
        n = 1;
    w_parts = n;
    pthread_barrier_init(&w_start, NULL, (unsigned)n);
    pthread_barrier_init(&w_end, NULL, (unsigned)n);
    for (long i = 1; i < n; i++) {
        pthread_t t;
        pthread_create(&t, NULL, w_helper, (void *)i);
    }
    return n;
}

static void workers_run(job_fn job)
{
    w_job = job;
    pthread_barrier_wait(&w_start);
    job(0, w_parts);
    pthread_barrier_wait(&w_end);
}
