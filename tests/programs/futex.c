/* futex through the raw system call: errors (EAGAIN, ETIMEDOUT, EINVAL, EFAULT, ENOSYS), wake
 * counts, FUTEX_REQUEUE/FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP, FUTEX_WAIT_BITSET/FUTEX_WAKE_BITSET
 * with absolute CLOCK_MONOTONIC and CLOCK_REALTIME deadlines, and a signal ending a wait.
 * `futex MODE`, one mode per case.
 *
 * Counting waiters without races: a waiter makes exactly one FUTEX_WAIT call, on a word whose
 * value never changes, so it returns only when woken (or signalled). FUTEX_CMP_REQUEUE with
 * nr_wake 0 returns how many waiters it moved, so moving them to another word until all have
 * been moved proves they are all asleep; after that every wake count is exact. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* <linux/futex.h> (not among musl's headers) */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_BITSET_MATCH_ANY 0xffffffffu
#define FUTEX_OP_SET 0
#define FUTEX_OP_ADD 1
#define FUTEX_OP_OR 2
#define FUTEX_OP_ANDN 3
#define FUTEX_OP_XOR 4
#define FUTEX_OP_OPARG_SHIFT 8
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP_CMP_NE 1
#define FUTEX_OP_CMP_LT 2
#define FUTEX_OP_CMP_LE 3
#define FUTEX_OP_CMP_GT 4
#define FUTEX_OP_CMP_GE 5
#define FUTEX_OP(op, oparg, cmp, cmparg)                                                         \
    (int)((((op)&0xf) << 28) | (((cmp)&0xf) << 24) | (((oparg)&0xfff) << 12) | ((cmparg)&0xfff))

#define MS 1000000LL
#define SEC 1000000000LL

static long futex(void *uaddr, int op, int val, long timeout_or_val2, void *uaddr2, int val3)
{
    return syscall(SYS_futex, uaddr, op, val, timeout_or_val2, uaddr2, val3);
}

static int64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    CHECK(clock_gettime(clock, &ts) == 0);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static int64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
static struct timespec ts_of(int64_t ns) { return (struct timespec){ns / SEC, ns % SEC}; }

static void sleep_ns(int64_t ns)
{
    struct timespec ts = ts_of(ns);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

#define CHECK_ERR(expr, err)                                                                  \
    do {                                                                                      \
        errno = 0;                                                                            \
        long r_ = (expr);                                                                     \
        CHECKF(r_ == -1 && errno == (err), "%s: returned %ld, errno %d, expected errno %d",   \
               #expr, r_, errno, (err));                                                      \
    } while (0)

#define CHECK_RET(expr, want)                                                                 \
    do {                                                                                      \
        errno = 0;                                                                            \
        long r_ = (expr);                                                                     \
        CHECKF(r_ == (want), "%s: returned %ld (errno %d), expected %ld", #expr, r_, errno,   \
               (long)(want));                                                                 \
    } while (0)

/* A waiter: one FUTEX_WAIT (or FUTEX_WAIT_BITSET) call; what it returned. */
struct waiter {
    atomic_int *word;
    int op;
    unsigned bitset;
    pthread_t thread;
    long ret;
    int err;
    atomic_int done;
};

static atomic_int returned; /* waiters that have returned from their wait */

static void *wait_once(void *arg)
{
    struct waiter *w = arg;
    errno = 0;
    w->ret = futex(w->word, w->op, 0, 0, NULL, (int)w->bitset);
    w->err = errno;
    atomic_store(&w->done, 1);
    atomic_fetch_add(&returned, 1);
    return NULL;
}

static void start_waiter(struct waiter *w, atomic_int *word, int op, unsigned bitset)
{
    w->word = word;
    w->op = op;
    w->bitset = bitset;
    w->ret = -2;
    atomic_store(&w->done, 0);
    CHECK(pthread_create(&w->thread, NULL, wait_once, w) == 0);
}

static void join_waiter(struct waiter *w, long want_ret, int want_err)
{
    CHECK(pthread_join(w->thread, NULL) == 0);
    CHECKF(w->ret == want_ret && (want_ret == 0 || w->err == want_err),
           "waiter returned %ld errno %d, expected %ld errno %d", w->ret, w->err, want_ret,
           want_err);
}

/* Moves `n` waiters (that are asleep on `from` or about to be) to `to`, `n` at most. */
static int gather(atomic_int *from, atomic_int *to, int n, int private)
{
    int moved = 0;
    int64_t t0 = now_ns();
    while (moved < n && now_ns() - t0 < 30 * SEC) {
        long r = futex(from, FUTEX_CMP_REQUEUE | private, 0, n - moved, to, atomic_load(from));
        CHECKF(r >= 0 && r <= n - moved, "FUTEX_CMP_REQUEUE returned %ld, errno %d", r, errno);
        if (r < 0)
            break;
        moved += (int)r;
        if (moved < n)
            sleep_ns(1 * MS);
    }
    CHECKF(moved == n, "gathered %d of %d waiters", moved, n);
    return moved;
}

/* Waits (up to 30 s, or 2 s once a check has failed) until `count` waiters have returned, then
 * a little longer to see that no more do. */
static void expect_returned(int count)
{
    int64_t t0 = now_ns(), limit = check_failures ? 2 * SEC : 30 * SEC;
    while (atomic_load(&returned) < count && now_ns() - t0 < limit)
        sleep_ns(1 * MS);
    sleep_ns(20 * MS);
    CHECKF(atomic_load(&returned) == count, "%d waiters returned, expected %d",
           atomic_load(&returned), count);
}

/* ---------------------------------------------------------------------------------------------
 * errors: no other threads needed */

static void errors(void)
{
    const int P = FUTEX_PRIVATE_FLAG;
    static atomic_int word = 7;
    for (int p = 0; p <= P; p += P) {
        CHECK_ERR(futex(&word, FUTEX_WAIT | p, 6, 0, NULL, 0), EAGAIN);
        CHECK_RET(futex(&word, FUTEX_WAKE | p, 1, 0, NULL, 0), 0);
        CHECK_RET(futex(&word, FUTEX_WAKE | p, INT_MAX, 0, NULL, 0), 0);
    }
    printf("FUTEX_WAIT on a changed value: EAGAIN; FUTEX_WAKE with no waiters: 0\n");

    /* A relative timeout (FUTEX_WAIT measures it on CLOCK_MONOTONIC). */
    struct timespec rel = {0, 30 * MS};
    int64_t t0 = now_ns();
    CHECK_ERR(futex(&word, FUTEX_WAIT | P, 7, (long)&rel, NULL, 0), ETIMEDOUT);
    int64_t took = now_ns() - t0;
    CHECKF(took >= 30 * MS && took < 5 * SEC, "30 ms FUTEX_WAIT took %lld ns", (long long)took);
    struct timespec zero = {0, 0};
    CHECK_ERR(futex(&word, FUTEX_WAIT | P, 7, (long)&zero, NULL, 0), ETIMEDOUT);
    printf("FUTEX_WAIT with a timeout: ETIMEDOUT after it\n");

    /* Absolute deadlines with FUTEX_WAIT_BITSET: CLOCK_MONOTONIC, and CLOCK_REALTIME. */
    for (int rt = 0; rt < 2; rt++) {
        clockid_t clock = rt ? CLOCK_REALTIME : CLOCK_MONOTONIC;
        int op = FUTEX_WAIT_BITSET | P | (rt ? FUTEX_CLOCK_REALTIME : 0);
        int64_t deadline = clock_ns(clock) + 30 * MS;
        struct timespec abs = ts_of(deadline);
        int64_t m0 = now_ns();
        CHECK_ERR(futex(&word, op, 7, (long)&abs, NULL, (int)FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
        CHECKF(clock_ns(clock) >= deadline, "woke before the %s deadline",
               rt ? "CLOCK_REALTIME" : "CLOCK_MONOTONIC");
        CHECK(now_ns() - m0 < 5 * SEC);
        /* A deadline in the past (but not negative): at once. */
        struct timespec past = ts_of(clock_ns(clock) / 2);
        m0 = now_ns();
        CHECK_ERR(futex(&word, op, 7, (long)&past, NULL, (int)FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
        CHECK(now_ns() - m0 < 5 * SEC);
        /* Value checked before sleeping, as for FUTEX_WAIT. */
        CHECK_ERR(futex(&word, op, 8, (long)&abs, NULL, (int)FUTEX_BITSET_MATCH_ANY), EAGAIN);
    }
    printf("FUTEX_WAIT_BITSET: absolute CLOCK_MONOTONIC and CLOCK_REALTIME deadlines\n");

    struct timespec bad_ns = {0, 1000000000}, negative = {-1, 0};
    CHECK_ERR(futex(&word, FUTEX_WAIT | P, 7, (long)&bad_ns, NULL, 0), EINVAL);
    CHECK_ERR(futex(&word, FUTEX_WAIT | P, 7, (long)&negative, NULL, 0), EINVAL);
    struct timespec abs = ts_of(clock_ns(CLOCK_MONOTONIC) + 30 * MS);
    CHECK_ERR(futex(&word, FUTEX_WAIT_BITSET | P, 7, (long)&abs, NULL, 0), EINVAL); /* bitset 0 */
    CHECK_ERR(futex(&word, FUTEX_WAKE_BITSET | P, 1, 0, NULL, 0), EINVAL);
    CHECK_ERR(futex((char *)&word + 1, FUTEX_WAIT | P, 7, 0, NULL, 0), EINVAL); /* unaligned */
    CHECK_ERR(futex(NULL, FUTEX_WAIT | P, 0, 0, NULL, 0), EFAULT);
    CHECK_ERR(futex(&word, FUTEX_WAIT | P, 7, 8 /* a bad pointer */, NULL, 0), EFAULT);
    CHECK_ERR(futex(&word, 99 | P, 0, 0, NULL, 0), ENOSYS);
    static atomic_int other;
    CHECK_ERR(futex(&word, FUTEX_CMP_REQUEUE | P, 0, 1, &other, 6), EAGAIN);
    CHECK_ERR(futex(&word, FUTEX_CMP_REQUEUE | P, -1, 1, &other, 7), EINVAL);
    CHECK_RET(futex(&word, FUTEX_CMP_REQUEUE | P, 1, 1, &other, 7), 0);
    printf("EINVAL for bad timeouts, bitset 0, unaligned words; EFAULT; ENOSYS; EAGAIN\n");

    /* FUTEX_WAKE_OP with nobody waiting: only the operation on the second word. */
    static atomic_int w1, w2;
    atomic_store(&w2, 5);
    CHECK_RET(futex(&w1, FUTEX_WAKE_OP | P, 1, 1, &w2, FUTEX_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 5)), 0);
    CHECK(atomic_load(&w2) == 8);
    CHECK_RET(futex(&w1, FUTEX_WAKE_OP | P, 1, 1, &w2, FUTEX_OP(FUTEX_OP_SET, 100, FUTEX_OP_CMP_LT, 0)), 0);
    CHECK(atomic_load(&w2) == 100);
    CHECK_RET(futex(&w1, FUTEX_WAKE_OP | P, 1, 1, &w2,
                    FUTEX_OP(FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT, 4, FUTEX_OP_CMP_NE, 0)), 0);
    CHECK(atomic_load(&w2) == (100 | 16));
    CHECK_RET(futex(&w1, FUTEX_WAKE_OP | P, 1, 1, &w2, FUTEX_OP(FUTEX_OP_ANDN, 100, FUTEX_OP_CMP_GE, 0)), 0);
    CHECK(atomic_load(&w2) == 16);
    CHECK_RET(futex(&w1, FUTEX_WAKE_OP | P, 1, 1, &w2, FUTEX_OP(FUTEX_OP_XOR, 0x11, FUTEX_OP_CMP_GT, 0)), 0);
    CHECK(atomic_load(&w2) == 1);
    CHECK_ERR(futex(&w1, FUTEX_WAKE_OP | P, 1, 1, NULL, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0)), EFAULT);
    printf("FUTEX_WAKE_OP operations: ADD, SET, OR with shift, ANDN, XOR\n");
}

/* ---------------------------------------------------------------------------------------------
 * wake: exact wake counts; requeue */

static void wake(int private)
{
    static atomic_int a, b, c;
    struct waiter w[5];
    atomic_store(&returned, 0);
    for (int i = 0; i < 5; i++)
        start_waiter(&w[i], &a, FUTEX_WAIT | private, 0);
    gather(&a, &b, 5, private);
    CHECK_RET(futex(&a, FUTEX_WAKE | private, INT_MAX, 0, NULL, 0), 0);
    CHECK_RET(futex(&b, FUTEX_WAKE | private, 2, 0, NULL, 0), 2);
    expect_returned(2);
    CHECK_RET(futex(&b, FUTEX_WAKE | private, 1, 0, NULL, 0), 1);
    expect_returned(3);
    CHECK_RET(futex(&b, FUTEX_WAKE | private, INT_MAX, 0, NULL, 0), 2);
    expect_returned(5);
    for (int i = 0; i < 5; i++)
        join_waiter(&w[i], 0, 0);
    printf("5 waiters moved by FUTEX_CMP_REQUEUE; FUTEX_WAKE woke 2, then 1, then 2\n");

    /* FUTEX_CMP_REQUEUE that wakes one, moves two, leaves one; FUTEX_REQUEUE moves the rest. */
    atomic_store(&returned, 0);
    for (int i = 0; i < 4; i++)
        start_waiter(&w[i], &a, FUTEX_WAIT | private, 0);
    gather(&a, &c, 4, private);
    CHECK_RET(futex(&c, FUTEX_CMP_REQUEUE | private, 1, 2, &b, 0), 3);
    expect_returned(1);
    CHECK_RET(futex(&c, FUTEX_REQUEUE | private, 0, INT_MAX, &b, 0), 1);
    CHECK_RET(futex(&c, FUTEX_WAKE | private, INT_MAX, 0, NULL, 0), 0);
    CHECK_RET(futex(&b, FUTEX_WAKE | private, INT_MAX, 0, NULL, 0), 3);
    expect_returned(4);
    for (int i = 0; i < 4; i++)
        join_waiter(&w[i], 0, 0);
    printf("FUTEX_CMP_REQUEUE woke 1 and moved 2; FUTEX_REQUEUE moved 1\n");

    /* FUTEX_WAKE_OP with waiters on both words. */
    static atomic_int x, y;
    atomic_store(&y, 5);
    atomic_store(&returned, 0);
    for (int i = 0; i < 4; i++)
        start_waiter(&w[i], &a, FUTEX_WAIT | private, 0);
    gather(&a, &x, 2, private);
    gather(&a, &y, 2, private);
    /* y += 3 (old value 5 == 5): one woken on x and one on y. */
    CHECK_RET(futex(&x, FUTEX_WAKE_OP | private, 1, 1, &y, FUTEX_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 5)), 2);
    CHECK(atomic_load(&y) == 8);
    expect_returned(2);
    /* y = 0 (old value 8 > 100 is false): only x. */
    CHECK_RET(futex(&x, FUTEX_WAKE_OP | private, 1, 1, &y, FUTEX_OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_GT, 100)), 1);
    CHECK(atomic_load(&y) == 0);
    expect_returned(3);
    CHECK_RET(futex(&y, FUTEX_WAKE | private, INT_MAX, 0, NULL, 0), 1);
    expect_returned(4);
    for (int i = 0; i < 4; i++)
        join_waiter(&w[i], 0, 0);
    printf("FUTEX_WAKE_OP woke on both words when the comparison held, else on the first\n");
}

/* wake-zero: FUTEX_WAKE with nr_wake 0 wakes one waiter on Linux (it counts a wake before
 * comparing with the limit); so does FUTEX_WAKE_BITSET. */
static void wake_zero(void)
{
    const int P = FUTEX_PRIVATE_FLAG;
    static atomic_int a, b;
    struct waiter w[3];
    atomic_store(&returned, 0);
    for (int i = 0; i < 3; i++)
        start_waiter(&w[i], &a, FUTEX_WAIT | P, 0);
    gather(&a, &b, 3, P);
    CHECK_RET(futex(&b, FUTEX_WAKE | P, 0, 0, NULL, 0), 1);
    expect_returned(1);
    CHECK_RET(futex(&b, FUTEX_WAKE_BITSET | P, 0, 0, NULL, 1), 1);
    expect_returned(2);
    CHECK_RET(futex(&b, FUTEX_WAKE | P, INT_MAX, 0, NULL, 0), 1);
    expect_returned(3);
    for (int i = 0; i < 3; i++)
        join_waiter(&w[i], 0, 0);
    printf("FUTEX_WAKE and FUTEX_WAKE_BITSET with nr_wake 0 woke one waiter each\n");
}

/* ---------------------------------------------------------------------------------------------
 * bitset: FUTEX_WAKE_BITSET wakes only waiters whose bitset intersects; a FUTEX_WAIT_BITSET
 * waiter with a distant deadline is woken before it. */

static void bitset(void)
{
    const int P = FUTEX_PRIVATE_FLAG;
    static atomic_int word;
    struct waiter w1, w2;
    atomic_store(&returned, 0);
    start_waiter(&w1, &word, FUTEX_WAIT_BITSET | P, 0x1);
    start_waiter(&w2, &word, FUTEX_WAIT_BITSET | P, 0x6);
    /* Keep waking bit 2 until w2 has been woken: w1 must stay asleep. */
    long woken = 0;
    int64_t t0 = now_ns();
    while (!atomic_load(&w2.done) && now_ns() - t0 < 30 * SEC) {
        long r = futex(&word, FUTEX_WAKE_BITSET | P, INT_MAX, 0, NULL, 0x2);
        CHECK(r >= 0);
        woken += r;
        sleep_ns(1 * MS);
    }
    CHECK(pthread_join(w2.thread, NULL) == 0 && w2.ret == 0);
    CHECK(woken == 1);
    CHECK_RET(futex(&word, FUTEX_WAKE_BITSET | P, INT_MAX, 0, NULL, 0x8), 0);
    sleep_ns(20 * MS);
    CHECK(!atomic_load(&w1.done));
    /* Plain FUTEX_WAKE matches every bitset. */
    woken = 0;
    t0 = now_ns();
    while (!atomic_load(&w1.done) && now_ns() - t0 < 30 * SEC) {
        long r = futex(&word, FUTEX_WAKE | P, INT_MAX, 0, NULL, 0);
        woken += r;
        sleep_ns(1 * MS);
    }
    CHECK(woken == 1);
    join_waiter(&w1, 0, 0);
    printf("FUTEX_WAKE_BITSET woke only the matching waiter; FUTEX_WAKE the other\n");
}

/* ---------------------------------------------------------------------------------------------
 * signal: a waiter (FUTEX_WAIT without and with a timeout, FUTEX_WAIT_BITSET with a deadline)
 * gets a signal with a handler: the handler runs in it and the wait ends with EINTR. */

static volatile sig_atomic_t handled;
static pthread_t handled_in;
static void on_usr1(int sig)
{
    (void)sig;
    handled_in = pthread_self();
    handled++;
}

struct timed_waiter {
    atomic_int *word;
    int op;
    int64_t ns; /* relative timeout, or deadline from now for BITSET */
    long ret;
    int err;
    int right_thread;
};

static void *timed_wait(void *arg)
{
    struct timed_waiter *t = arg;
    struct timespec ts = ts_of(t->ns);
    if ((t->op & 127) == FUTEX_WAIT_BITSET)
        ts = ts_of(clock_ns(CLOCK_MONOTONIC) + t->ns);
    errno = 0;
    t->ret = futex(t->word, t->op, 0, t->ns ? (long)&ts : 0, NULL, (int)FUTEX_BITSET_MATCH_ANY);
    t->err = errno;
    t->right_thread = handled == 1 && pthread_equal(handled_in, pthread_self());
    return NULL;
}

static void signal_mode(void)
{
    const int P = FUTEX_PRIVATE_FLAG;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART */
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    static atomic_int word, parked;
    struct timed_waiter cases[3] = {
        {&word, FUTEX_WAIT | P, 0, 0, 0, 0},
        {&word, FUTEX_WAIT | P, 60 * SEC, 0, 0, 0},
        {&word, FUTEX_WAIT_BITSET | P, 60 * SEC, 0, 0, 0},
    };
    const char *names[3] = {"FUTEX_WAIT", "FUTEX_WAIT with a timeout",
                            "FUTEX_WAIT_BITSET with a deadline"};
    for (int i = 0; i < 3; i++) {
        handled = 0;
        pthread_t t;
        CHECK(pthread_create(&t, NULL, timed_wait, &cases[i]) == 0);
        gather(&word, &parked, 1, P); /* it is asleep (now on `parked`) */
        CHECK(pthread_kill(t, SIGUSR1) == 0);
        CHECK(pthread_join(t, NULL) == 0);
        CHECKF(cases[i].ret == -1 && cases[i].err == EINTR, "%s: %ld, errno %d", names[i],
               cases[i].ret, cases[i].err);
        CHECKF(cases[i].right_thread, "%s: the handler did not run in the waiter", names[i]);
        printf("%s: a signal ends it with EINTR\n", names[i]);
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (MODE_IS("errors"))
        errors();
    else if (MODE_IS("wake")) {
        wake(FUTEX_PRIVATE_FLAG);
        printf("again without FUTEX_PRIVATE_FLAG:\n");
        wake(0);
    } else if (MODE_IS("wake-zero"))
        wake_zero();
    else if (MODE_IS("bitset"))
        bitset();
    else if (MODE_IS("signal"))
        signal_mode();
    else {
        printf("unknown mode\n");
        return 2;
    }
    return check_finish();
}
