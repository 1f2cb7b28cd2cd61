/* POSIX synchronisation between threads: mutexes (normal, recursive, error-checking, timed),
 * condition variables (signal, broadcast, timed waits on both clocks), read-write locks,
 * barriers and semaphores. `sync MODE`, one mode per case.
 *
 * Results are counts that do not depend on the number of CPUs or on timing; timeouts are checked
 * against generous bounds only (at least the time asked for, less than 5 s more).
 * `sync MODE light` does a tenth of the work (for KVM, where every system call is slow). */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL
#define SEC 1000000000LL

static int64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    CHECK(clock_gettime(clock, &ts) == 0);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static int64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

static struct timespec ts_of(int64_t ns) { return (struct timespec){ns / SEC, ns % SEC}; }

/* An absolute deadline `ns` from now on `clock`. */
static struct timespec deadline(clockid_t clock, int64_t ns) { return ts_of(clock_ns(clock) + ns); }

static void sleep_ns(int64_t ns)
{
    struct timespec ts = ts_of(ns);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static pthread_t start(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    int r = pthread_create(&t, NULL, fn, arg);
    CHECKF(r == 0, "pthread_create: %d", r);
    return t;
}

static void *join(pthread_t t)
{
    void *ret = NULL;
    int r = pthread_join(t, &ret);
    CHECKF(r == 0, "pthread_join: %d", r);
    return ret;
}

/* A timed wait that should time out: it took at least `want` and not absurdly longer. */
#define CHECK_TOOK(t0, want)                                                                  \
    do {                                                                                      \
        int64_t took_ = now_ns() - (t0);                                                      \
        CHECKF(took_ >= (want) && took_ < (want) + 5 * SEC, "took %lld ns for %lld ns",       \
               (long long)took_, (long long)(want));                                          \
    } while (0)

#define THREADS 8

/* Loop counts are divided by this (`light`). */
static int divisor = 1;

/* ---------------------------------------------------------------------------------------------
 * mutex */

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static atomic_int inside;

static void *add_under_lock(void *arg)
{
    int n = (int)(intptr_t)arg;
    for (int i = 0; i < n; i++) {
        CHECK(pthread_mutex_lock(&counter_lock) == 0);
        CHECK(atomic_fetch_add(&inside, 1) == 0); /* nobody else in here */
        counter++;
        atomic_fetch_sub(&inside, 1);
        CHECK(pthread_mutex_unlock(&counter_lock) == 0);
    }
    return NULL;
}

static pthread_mutex_t held;
static atomic_int held_state;

static void *hold_for_a_while(void *arg)
{
    int64_t ns = *(int64_t *)arg;
    CHECK(pthread_mutex_lock(&held) == 0);
    atomic_store(&held_state, 1);
    sleep_ns(ns);
    CHECK(pthread_mutex_unlock(&held) == 0);
    return NULL;
}

static void *unlock_other(void *arg)
{
    return (void *)(intptr_t)pthread_mutex_unlock(arg);
}

static void mutex_mode(void)
{
    /* Contention: THREADS threads, 20000 increments each. */
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        t[i] = start(add_under_lock, (void *)(intptr_t)(20000 / divisor));
    for (int i = 0; i < THREADS; i++)
        join(t[i]);
    CHECKF(counter == THREADS * (20000L / divisor), "counter %ld", counter);
    printf("normal mutex: %ld increments from %d threads\n", counter, THREADS);

    /* trylock */
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    CHECK(pthread_mutex_trylock(&m) == 0);
    CHECK(pthread_mutex_trylock(&m) == EBUSY);
    CHECK(pthread_mutex_unlock(&m) == 0);
    printf("trylock on a held normal mutex: EBUSY\n");

    /* Recursive */
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    CHECK(pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE) == 0);
    pthread_mutex_t rec;
    CHECK(pthread_mutex_init(&rec, &attr) == 0);
    for (int i = 0; i < 3; i++)
        CHECK(pthread_mutex_lock(&rec) == 0);
    CHECK(pthread_mutex_trylock(&rec) == 0);
    CHECK((intptr_t)join(start(unlock_other, &rec)) == EPERM);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_mutex_unlock(&rec) == 0);
    CHECK(pthread_mutex_unlock(&rec) == EPERM);
    pthread_mutex_destroy(&rec);
    printf("recursive mutex: locked 4 times, unlocked 4 times; EPERM for others and when free\n");

    /* Error-checking */
    CHECK(pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK) == 0);
    pthread_mutex_t ec;
    CHECK(pthread_mutex_init(&ec, &attr) == 0);
    CHECK(pthread_mutex_unlock(&ec) == EPERM);
    CHECK(pthread_mutex_lock(&ec) == 0);
    CHECK(pthread_mutex_lock(&ec) == EDEADLK);
    CHECK(pthread_mutex_trylock(&ec) == EBUSY);
    CHECK((intptr_t)join(start(unlock_other, &ec)) == EPERM);
    CHECK(pthread_mutex_unlock(&ec) == 0);
    pthread_mutex_destroy(&ec);
    pthread_mutexattr_destroy(&attr);
    printf("error-checking mutex: EDEADLK on relock, EPERM unlocking unowned\n");

    /* Timed: another thread holds the mutex for 300 ms. */
    pthread_mutex_init(&held, NULL);
    int64_t hold = 300 * MS;
    pthread_t h = start(hold_for_a_while, &hold);
    while (!atomic_load(&held_state))
        sleep_ns(1 * MS);
    int64_t t0 = now_ns();
    struct timespec dl = deadline(CLOCK_REALTIME, 50 * MS);
    CHECK(pthread_mutex_timedlock(&held, &dl) == ETIMEDOUT);
    CHECK_TOOK(t0, 50 * MS);
    /* A deadline in the past on a held mutex: at once. */
    struct timespec past = ts_of(clock_ns(CLOCK_REALTIME) - SEC);
    CHECK(pthread_mutex_timedlock(&held, &past) == ETIMEDOUT);
    /* A deadline long after the holder lets go: acquired. */
    dl = deadline(CLOCK_REALTIME, 30 * SEC);
    CHECK(pthread_mutex_timedlock(&held, &dl) == 0);
    CHECK(pthread_mutex_unlock(&held) == 0);
    join(h);
    /* A free mutex with a past deadline: acquired without waiting. */
    CHECK(pthread_mutex_timedlock(&held, &past) == 0);
    CHECK(pthread_mutex_unlock(&held) == 0);
    /* Bad deadlines. */
    atomic_store(&held_state, 0);
    h = start(hold_for_a_while, &hold);
    while (!atomic_load(&held_state))
        sleep_ns(1 * MS);
    struct timespec bad = {0, 1000000000};
    CHECK(pthread_mutex_timedlock(&held, &bad) == EINVAL);
    join(h);
    printf("timed mutex: ETIMEDOUT after the deadline, acquired when released, EINVAL\n");
}

/* ---------------------------------------------------------------------------------------------
 * condvar */

static pthread_mutex_t cv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int waiting, released, woken;

static void *cv_waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&cv_lock);
    waiting++;
    pthread_cond_broadcast(&cv); /* tell main: one more waiter (main waits on the same cv) */
    while (released == 0)
        pthread_cond_wait(&cv, &cv_lock);
    released--;
    woken++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&cv_lock);
    return NULL;
}

static void wait_until(int *what, int value)
{
    while (*what < value)
        pthread_cond_wait(&cv, &cv_lock);
}

/* Producer/consumer through a bounded queue with two condition variables. */
#define QSIZE 4
#define MAX_ITEMS 5000
static int queue_items = MAX_ITEMS;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static int queue[QSIZE], qhead, qcount;
static long consumed_sum;
static int consumed;

static void *producer(void *arg)
{
    int base = (int)(intptr_t)arg;
    for (int i = 1; i <= queue_items; i++) {
        pthread_mutex_lock(&cv_lock);
        while (qcount == QSIZE)
            pthread_cond_wait(&not_full, &cv_lock);
        queue[(qhead + qcount++) % QSIZE] = base + i;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&cv_lock);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&cv_lock);
        while (qcount == 0 && consumed < 2 * queue_items)
            pthread_cond_wait(&not_empty, &cv_lock);
        if (qcount == 0) {
            pthread_mutex_unlock(&cv_lock);
            return NULL;
        }
        int v = queue[qhead];
        qhead = (qhead + 1) % QSIZE;
        qcount--;
        consumed_sum += v;
        if (++consumed == 2 * queue_items)
            pthread_cond_broadcast(&not_empty); /* the other consumers stop */
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&cv_lock);
    }
}

static void condvar_mode(void)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        t[i] = start(cv_waiter, NULL);
    pthread_mutex_lock(&cv_lock);
    wait_until(&waiting, THREADS);
    /* Release them one at a time: each signal lets exactly one through. */
    for (int i = 1; i <= 3; i++) {
        released++;
        pthread_cond_signal(&cv);
        wait_until(&woken, i);
        CHECK(woken == i);
    }
    /* The rest with one broadcast. */
    released += THREADS - 3;
    pthread_cond_broadcast(&cv);
    wait_until(&woken, THREADS);
    pthread_mutex_unlock(&cv_lock);
    for (int i = 0; i < THREADS; i++)
        join(t[i]);
    CHECK(woken == THREADS && released == 0);
    printf("condvar: 3 waiters released by signal, %d by one broadcast\n", THREADS - 3);

    /* Timed waits that time out: the default clock (REALTIME) and CLOCK_MONOTONIC. */
    pthread_mutex_lock(&cv_lock);
    int64_t t0 = now_ns();
    struct timespec dl = deadline(CLOCK_REALTIME, 60 * MS);
    int r;
    do
        r = pthread_cond_timedwait(&cv, &cv_lock, &dl);
    while (r == 0); /* spurious wake-ups are allowed */
    CHECK(r == ETIMEDOUT);
    CHECK_TOOK(t0, 60 * MS);
    pthread_mutex_unlock(&cv_lock);

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    CHECK(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0);
    pthread_cond_t mono;
    CHECK(pthread_cond_init(&mono, &ca) == 0);
    pthread_mutex_lock(&cv_lock);
    t0 = now_ns();
    dl = deadline(CLOCK_MONOTONIC, 60 * MS);
    do
        r = pthread_cond_timedwait(&mono, &cv_lock, &dl);
    while (r == 0);
    CHECK(r == ETIMEDOUT);
    CHECK_TOOK(t0, 60 * MS);
    /* Past deadline: at once, and the mutex is held again afterwards. */
    struct timespec past = ts_of(clock_ns(CLOCK_MONOTONIC) / 2);
    CHECK(pthread_cond_timedwait(&mono, &cv_lock, &past) == ETIMEDOUT);
    CHECK(pthread_mutex_trylock(&cv_lock) == EBUSY);
    pthread_mutex_unlock(&cv_lock);
    pthread_cond_destroy(&mono);
    pthread_condattr_destroy(&ca);
    printf("condvar: timed waits time out on CLOCK_REALTIME and CLOCK_MONOTONIC\n");

    /* Producer/consumer. */
    pthread_t p1 = start(producer, (void *)0), p2 = start(producer, (void *)(intptr_t)100000);
    pthread_t c[3];
    for (int i = 0; i < 3; i++)
        c[i] = start(consumer, NULL);
    join(p1);
    join(p2);
    for (int i = 0; i < 3; i++)
        join(c[i]);
    long want = 2L * queue_items * (queue_items + 1) / 2 + 100000L * queue_items;
    CHECKF(consumed == 2 * queue_items && consumed_sum == want, "consumed %d, sum %ld", consumed,
           consumed_sum);
    printf("bounded queue: %d items from 2 producers to 3 consumers, sum %ld\n", consumed,
           consumed_sum);
}

/* ---------------------------------------------------------------------------------------------
 * rwlock */

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static atomic_int readers_in, max_readers, writers_in;
static long shared_a, shared_b;

static void *reader_meets_others(void *arg)
{
    int n = (int)(intptr_t)arg;
    CHECK(pthread_rwlock_rdlock(&rw) == 0);
    int now = atomic_fetch_add(&readers_in, 1) + 1;
    /* Hold the read lock until every reader holds it: they share it. */
    int64_t t0 = now_ns();
    while (atomic_load(&readers_in) < n && now_ns() - t0 < 30 * SEC)
        sched_yield();
    CHECK(atomic_load(&readers_in) >= n);
    int m = atomic_load(&max_readers);
    while (now > m && !atomic_compare_exchange_weak(&max_readers, &m, now)) {
    }
    CHECK(pthread_rwlock_unlock(&rw) == 0);
    return NULL;
}

static int rw_iters = 3000;
static void *rw_worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < rw_iters; i++) {
        if ((i + id) % 4 == 0) {
            CHECK(pthread_rwlock_wrlock(&rw) == 0);
            CHECK(atomic_fetch_add(&writers_in, 1) == 0);
            CHECK(atomic_load(&readers_in) == 0);
            shared_a++;
            shared_b++;
            atomic_fetch_sub(&writers_in, 1);
            CHECK(pthread_rwlock_unlock(&rw) == 0);
        } else {
            CHECK(pthread_rwlock_rdlock(&rw) == 0);
            atomic_fetch_add(&readers_in, 1);
            CHECK(atomic_load(&writers_in) == 0);
            CHECK(shared_a == shared_b);
            atomic_fetch_sub(&readers_in, 1);
            CHECK(pthread_rwlock_unlock(&rw) == 0);
        }
    }
    return NULL;
}

static atomic_int rw_state;
static void *hold_read(void *arg)
{
    (void)arg;
    CHECK(pthread_rwlock_rdlock(&rw) == 0);
    atomic_store(&rw_state, 1);
    while (atomic_load(&rw_state) != 2)
        sleep_ns(1 * MS);
    CHECK(pthread_rwlock_unlock(&rw) == 0);
    return NULL;
}

static void *try_from_other(void *arg)
{
    int write = (int)(intptr_t)arg;
    return (void *)(intptr_t)(write ? pthread_rwlock_trywrlock(&rw) : pthread_rwlock_tryrdlock(&rw));
}

static void rwlock_mode(void)
{
    pthread_t t[THREADS];
    for (int i = 0; i < 4; i++)
        t[i] = start(reader_meets_others, (void *)(intptr_t)4);
    for (int i = 0; i < 4; i++)
        join(t[i]);
    CHECK(atomic_load(&max_readers) == 4);
    printf("rwlock: 4 readers held it at once\n");
    atomic_store(&readers_in, 0);

    for (int i = 0; i < THREADS; i++)
        t[i] = start(rw_worker, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        join(t[i]);
    CHECKF(shared_a == THREADS * rw_iters / 4 && shared_b == shared_a, "a %ld b %ld", shared_a,
           shared_b);
    printf("rwlock: %ld writes, readers never saw a half-done write\n", shared_a);

    /* A reader holds it: readers may join, writers may not. */
    pthread_t h = start(hold_read, NULL);
    while (atomic_load(&rw_state) != 1)
        sleep_ns(1 * MS);
    CHECK(pthread_rwlock_tryrdlock(&rw) == 0);
    CHECK(pthread_rwlock_unlock(&rw) == 0);
    CHECK(pthread_rwlock_trywrlock(&rw) == EBUSY);
    int64_t t0 = now_ns();
    struct timespec dl = deadline(CLOCK_REALTIME, 50 * MS);
    CHECK(pthread_rwlock_timedwrlock(&rw, &dl) == ETIMEDOUT);
    CHECK_TOOK(t0, 50 * MS);
    atomic_store(&rw_state, 2);
    join(h);
    /* A writer holds it: nobody else gets in. */
    CHECK(pthread_rwlock_wrlock(&rw) == 0);
    CHECK((intptr_t)join(start(try_from_other, (void *)0)) == EBUSY);
    CHECK((intptr_t)join(start(try_from_other, (void *)1)) == EBUSY);
    t0 = now_ns();
    dl = deadline(CLOCK_REALTIME, 50 * MS);
    CHECK(pthread_rwlock_timedrdlock(&rw, &dl) == ETIMEDOUT);
    CHECK_TOOK(t0, 50 * MS);
    CHECK(pthread_rwlock_unlock(&rw) == 0);
    CHECK(pthread_rwlock_trywrlock(&rw) == 0);
    CHECK(pthread_rwlock_unlock(&rw) == 0);
    printf("rwlock: try and timed locks fail as they should while held\n");
}

/* ---------------------------------------------------------------------------------------------
 * barrier: THREADS threads, 200 rounds; in each round every thread sees every other's write of
 * the round, and exactly one gets PTHREAD_BARRIER_SERIAL_THREAD. */

#define MAX_ROUNDS 200
static int rounds = MAX_ROUNDS;
static pthread_barrier_t barrier;
static atomic_int round_marks[MAX_ROUNDS], serials[MAX_ROUNDS];

static void *barrier_worker(void *arg)
{
    (void)arg;
    for (int r = 0; r < rounds; r++) {
        atomic_fetch_add(&round_marks[r], 1);
        int s = pthread_barrier_wait(&barrier);
        CHECK(s == 0 || s == PTHREAD_BARRIER_SERIAL_THREAD);
        if (s == PTHREAD_BARRIER_SERIAL_THREAD)
            atomic_fetch_add(&serials[r], 1);
        CHECKF(atomic_load(&round_marks[r]) == THREADS, "round %d: %d", r,
               atomic_load(&round_marks[r]));
    }
    return NULL;
}

static void barrier_mode(void)
{
    CHECK(pthread_barrier_init(&barrier, NULL, THREADS) == 0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        t[i] = start(barrier_worker, NULL);
    for (int i = 0; i < THREADS; i++)
        join(t[i]);
    int bad = 0;
    for (int r = 0; r < rounds; r++)
        bad += atomic_load(&serials[r]) != 1;
    CHECKF(bad == 0, "%d rounds without exactly one serial thread", bad);
    CHECK(pthread_barrier_destroy(&barrier) == 0);
    CHECK(pthread_barrier_init(&barrier, NULL, 0) == EINVAL);
    printf("barrier: %d threads, %d rounds, one serial thread per round\n", THREADS, rounds);
}

/* ---------------------------------------------------------------------------------------------
 * sem: counting, trywait, timedwait timing out, a semaphore as a lock, producer/consumer. */

static sem_t items, slots, sem_lock;
static int ring[8], ring_in, ring_out;
static long sem_sum, sem_counter;
static int sem_items = 3000, sem_iters = 5000;

static void *sem_producer(void *arg)
{
    (void)arg;
    for (int i = 1; i <= sem_items; i++) {
        while (sem_wait(&slots) != 0) {
        }
        sem_wait(&sem_lock);
        ring[ring_in++ % 8] = i;
        sem_post(&sem_lock);
        sem_post(&items);
    }
    return NULL;
}

static void *sem_consumer(void *arg)
{
    (void)arg;
    for (int i = 0; i < sem_items; i++) {
        while (sem_wait(&items) != 0) {
        }
        sem_wait(&sem_lock);
        sem_sum += ring[ring_out++ % 8];
        sem_post(&sem_lock);
        sem_post(&slots);
    }
    return NULL;
}

static void *sem_counter_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < sem_iters; i++) {
        sem_wait(&sem_lock);
        sem_counter++;
        sem_post(&sem_lock);
    }
    return NULL;
}

static sem_t poked;
static void *poke_later(void *arg)
{
    (void)arg;
    sleep_ns(50 * MS);
    sem_post(&poked);
    return NULL;
}

static void sem_mode(void)
{
    sem_t s;
    CHECK(sem_init(&s, 0, 2) == 0);
    int v = -1;
    CHECK(sem_getvalue(&s, &v) == 0 && v == 2);
    CHECK(sem_trywait(&s) == 0);
    CHECK(sem_wait(&s) == 0);
    errno = 0;
    CHECK(sem_trywait(&s) == -1 && errno == EAGAIN);
    CHECK(sem_post(&s) == 0 && sem_getvalue(&s, &v) == 0 && v == 1);
    CHECK(sem_wait(&s) == 0);
    printf("sem: counts, trywait EAGAIN at zero\n");

    int64_t t0 = now_ns();
    struct timespec dl = deadline(CLOCK_REALTIME, 50 * MS);
    errno = 0;
    CHECK(sem_timedwait(&s, &dl) == -1 && errno == ETIMEDOUT);
    CHECK_TOOK(t0, 50 * MS);
    struct timespec past = ts_of(clock_ns(CLOCK_REALTIME) - SEC);
    errno = 0;
    CHECK(sem_timedwait(&s, &past) == -1 && errno == ETIMEDOUT);
    struct timespec bad = {0, -1};
    errno = 0;
    CHECK(sem_timedwait(&s, &bad) == -1 && errno == EINVAL);
    /* Posted by another thread while we wait: no timeout. */
    CHECK(sem_init(&poked, 0, 0) == 0);
    pthread_t p = start(poke_later, NULL);
    dl = deadline(CLOCK_REALTIME, 30 * SEC);
    CHECK(sem_timedwait(&poked, &dl) == 0);
    join(p);
    printf("sem_timedwait: ETIMEDOUT after the deadline, EINVAL, woken by a post\n");

    CHECK(sem_init(&sem_lock, 0, 1) == 0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        t[i] = start(sem_counter_thread, NULL);
    for (int i = 0; i < THREADS; i++)
        join(t[i]);
    CHECKF(sem_counter == (long)THREADS * sem_iters, "counter %ld", sem_counter);
    printf("sem as a lock: %ld increments\n", sem_counter);

    CHECK(sem_init(&items, 0, 0) == 0 && sem_init(&slots, 0, 8) == 0);
    pthread_t pr = start(sem_producer, NULL), co = start(sem_consumer, NULL);
    join(pr);
    join(co);
    CHECKF(sem_sum == (long)sem_items * (sem_items + 1) / 2, "sum %ld", sem_sum);
    CHECK(sem_getvalue(&items, &v) == 0 && v == 0);
    CHECK(sem_getvalue(&slots, &v) == 0 && v == 8);
    printf("sem producer/consumer: sum %ld\n", sem_sum);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 2 && strcmp(argv[2], "light") == 0) {
        divisor = 10;
        queue_items /= divisor;
        rw_iters /= divisor;
        rounds /= divisor;
        sem_items /= divisor;
        sem_iters /= divisor;
    }
    if (MODE_IS("mutex"))
        mutex_mode();
    else if (MODE_IS("condvar"))
        condvar_mode();
    else if (MODE_IS("rwlock"))
        rwlock_mode();
    else if (MODE_IS("barrier"))
        barrier_mode();
    else if (MODE_IS("sem"))
        sem_mode();
    else {
        printf("unknown mode\n");
        return 2;
    }
    return check_finish();
}
