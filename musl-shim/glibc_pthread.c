/*
 * glibc-ABI pthread glue: statically initialised mutexes, and the clock-
 * selecting waits (glibc 2.30) that libstdc++'s headers call.
 *
 * 1. glibc's PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP (and _ERRORCHECK_, _ADAPTIVE_)
 *    store the mutex kind in the int at byte 16 (__kind); musl reads its type
 *    from the int at byte 0 and never touches byte 16.  libstdc++'s
 *    std::recursive_mutex is initialised that way, inline in the user's code,
 *    so under musl it was a plain mutex and the second lock() deadlocked.
 *    pthread_mutex_lock/trylock/timedlock here first move such a kind into
 *    musl's type field, then call musl's implementation.  A mutex musl
 *    initialised always has 0 at byte 16, so nothing else is touched.  Threads
 *    racing through the first lock write identical values, and musl does not
 *    change the type of a mutex of these kinds afterwards, so that is benign.
 *    musl defines the public names weakly over hidden __pthread_mutex_*, so
 *    these strong definitions replace them without a symbol clash.
 *
 * 2. pthread_mutex_clocklock, pthread_cond_clockwait and
 *    pthread_rwlock_clock{rd,wr}lock (std::timed_mutex, condition_variable::
 *    wait_for/wait_until, shared_timed_mutex) are missing from musl 1.2.3.
 *    They convert the deadline to the clock musl waits on (CLOCK_REALTIME for
 *    mutexes and rwlocks, the condition variable's own clock otherwise) by the
 *    time remaining now; a realtime clock step during the wait moves it.
 *
 * Hazard: relies on musl 1.2.3 internals — the hidden __pthread_mutex_*
 * functions and the condition variable's clock stored in the int at byte 16.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <time.h>

int pthread_mutex_clocklock(pthread_mutex_t *, clockid_t, const struct timespec *);
int pthread_cond_clockwait(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *);
int pthread_rwlock_clockrdlock(pthread_rwlock_t *, clockid_t, const struct timespec *);
int pthread_rwlock_clockwrlock(pthread_rwlock_t *, clockid_t, const struct timespec *);

__attribute__((visibility("hidden"))) int __pthread_mutex_lock(pthread_mutex_t *);
__attribute__((visibility("hidden"))) int __pthread_mutex_trylock(pthread_mutex_t *);
__attribute__((visibility("hidden"))) int __pthread_mutex_timedlock(pthread_mutex_t *, const struct timespec *);

#define GLIBC_KIND_WORD 4       /* int index of glibc's __kind */
#define MUSL_TYPE_WORD 0        /* int index of musl's _m_type */
#define MUSL_COND_CLOCK_WORD 4  /* int index of musl's _c_clock */

static void adopt_glibc_kind(pthread_mutex_t *m)
{
	int *w = (int *)m;
	int kind = __atomic_load_n(&w[GLIBC_KIND_WORD], __ATOMIC_RELAXED);

	if (!kind || __atomic_load_n(&w[MUSL_TYPE_WORD], __ATOMIC_RELAXED))
		return;
	/* glibc kinds 1 recursive, 2 error-checking, 3 adaptive (= normal). */
	if (kind == 1)
		__atomic_store_n(&w[MUSL_TYPE_WORD], PTHREAD_MUTEX_RECURSIVE, __ATOMIC_RELAXED);
	else if (kind == 2)
		__atomic_store_n(&w[MUSL_TYPE_WORD], PTHREAD_MUTEX_ERRORCHECK, __ATOMIC_RELAXED);
	__atomic_store_n(&w[GLIBC_KIND_WORD], 0, __ATOMIC_RELEASE);
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
	adopt_glibc_kind(m);
	return __pthread_mutex_lock(m);
}

int pthread_mutex_trylock(pthread_mutex_t *m)
{
	adopt_glibc_kind(m);
	return __pthread_mutex_trylock(m);
}

int pthread_mutex_timedlock(pthread_mutex_t *restrict m, const struct timespec *restrict at)
{
	adopt_glibc_kind(m);
	return __pthread_mutex_timedlock(m, at);
}

/* *out = the instant on clock `to` that is as far from now as `at` is on
 * clock `from`.  0, or EINVAL for a clock glibc would refuse. */
static int convert_deadline(clockid_t from, const struct timespec *at, clockid_t to,
			    struct timespec *out)
{
	struct timespec now_from, now_to;
	long long sec;
	long nsec;

	if (from != CLOCK_REALTIME && from != CLOCK_MONOTONIC)
		return EINVAL;
	if (at->tv_nsec < 0 || at->tv_nsec >= 1000000000L)
		return EINVAL;
	if (from == to) {
		*out = *at;
		return 0;
	}
	clock_gettime(from, &now_from);
	clock_gettime(to, &now_to);
	sec = (long long)at->tv_sec - now_from.tv_sec + now_to.tv_sec;
	nsec = at->tv_nsec - now_from.tv_nsec + now_to.tv_nsec;
	while (nsec >= 1000000000L) {
		nsec -= 1000000000L;
		sec++;
	}
	while (nsec < 0) {
		nsec += 1000000000L;
		sec--;
	}
	out->tv_sec = (time_t)sec;
	out->tv_nsec = nsec;
	return 0;
}

int pthread_mutex_clocklock(pthread_mutex_t *restrict m, clockid_t clk,
			    const struct timespec *restrict at)
{
	struct timespec rt;
	int e = convert_deadline(clk, at, CLOCK_REALTIME, &rt);

	return e ? e : pthread_mutex_timedlock(m, &rt);
}

int pthread_cond_clockwait(pthread_cond_t *restrict c, pthread_mutex_t *restrict m,
			   clockid_t clk, const struct timespec *restrict at)
{
	struct timespec t;
	clockid_t own = ((const int *)c)[MUSL_COND_CLOCK_WORD];
	int e = convert_deadline(clk, at, own, &t);

	return e ? e : pthread_cond_timedwait(c, m, &t);
}

int pthread_rwlock_clockrdlock(pthread_rwlock_t *restrict rw, clockid_t clk,
			       const struct timespec *restrict at)
{
	struct timespec rt;
	int e = convert_deadline(clk, at, CLOCK_REALTIME, &rt);

	return e ? e : pthread_rwlock_timedrdlock(rw, &rt);
}

int pthread_rwlock_clockwrlock(pthread_rwlock_t *restrict rw, clockid_t clk,
			       const struct timespec *restrict at)
{
	struct timespec rt;
	int e = convert_deadline(clk, at, CLOCK_REALTIME, &rt);

	return e ? e : pthread_rwlock_timedwrlock(rw, &rt);
}
