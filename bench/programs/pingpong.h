/* pingpong.h: two threads hand a token back and forth through one futex word.
 * Each side waits (FUTEX_WAIT, no spinning) until the word says it is its turn, then gives the
 * turn to the other and wakes it. One iteration is one round trip (two hand-overs). The partner
 * thread is created once, before measuring, and answers forever; exit() ends it. */
#include "bench.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

/* From <linux/futex.h>, which musl's headers do not include. */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

static _Atomic int pp_turn; /* 0: the main thread's turn, 1: the partner's */
static int pp_partner_cpu;
static _Atomic int pp_ready;

static void pp_wait(_Atomic int *w, int until)
{
    int v;
    while ((v = atomic_load(w)) != until)
        syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void pp_give(_Atomic int *w, int to)
{
    atomic_store(w, to);
    syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *pp_partner(void *arg)
{
    (void)arg;
    if (bench_pin(pp_partner_cpu) != 0)
        printf("BENCH-ERROR cannot pin the partner thread\n");
    atomic_store(&pp_ready, 1);
    for (;;) {
        pp_wait(&pp_turn, 1);
        pp_give(&pp_turn, 0);
    }
    return NULL;
}

static void pp_loop(long iters, void *arg)
{
    (void)arg;
    for (long i = 0; i < iters; i++) {
        pp_give(&pp_turn, 1);
        pp_wait(&pp_turn, 0);
    }
}

/* Pins this thread to main_cpu and starts the partner on partner_cpu. */
static void pp_start(int main_cpu, int partner_cpu)
{
    if (bench_pin(main_cpu) != 0)
        printf("BENCH-ERROR cannot pin the main thread\n");
    pp_partner_cpu = partner_cpu;
    pthread_t t;
    pthread_create(&t, NULL, pp_partner, NULL);
    while (!atomic_load(&pp_ready))
        sched_yield();
}
