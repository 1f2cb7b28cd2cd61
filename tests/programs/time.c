/* Clocks and sleeping: monotonicity, sleep lower bounds, clock consistency.
 * No upper bounds on durations: emulated CPUs are slow and hosts are busy.
 * `time [READS]`: READS clock reads per clock for the monotonicity check (default 100000; each
 * read is a system call in the guest, ~0.25 ms under PVM, so the KVM case uses fewer). */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int64_t ns(clockid_t clock)
{
    struct timespec ts;
    int r = clock_gettime(clock, &ts);
    CHECKF(r == 0, "clock_gettime(%d) failed: errno %d", (int)clock, errno);
    CHECKF(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000, "clock %d tv_nsec %ld", (int)clock,
           ts.tv_nsec);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int reads = 100000;

static void monotonic(clockid_t clock, const char *name)
{
    int64_t prev = ns(clock), first = prev;
    int backwards = 0;
    for (int i = 0; i < reads; i++) {
        int64_t now = ns(clock);
        if (now < prev)
            backwards++;
        prev = now;
    }
    CHECKF(backwards == 0, "%s went backwards %d times", name, backwards);
    CHECKF(prev > first, "%s did not advance over %d reads", name, reads);
    printf("%s: %d reads, never backwards\n", name, reads);
}

static void sleep_at_least(const char *what, int64_t want_ns, void (*sleep_fn)(int64_t))
{
    int64_t t0 = ns(CLOCK_MONOTONIC);
    sleep_fn(want_ns);
    int64_t slept = ns(CLOCK_MONOTONIC) - t0;
    CHECKF(slept >= want_ns, "%s slept %lld ns, asked for %lld", what, (long long)slept,
           (long long)want_ns);
    printf("%s(%lld ms) slept at least that long\n", what, (long long)(want_ns / 1000000));
}

static void do_nanosleep(int64_t n)
{
    struct timespec ts = {n / 1000000000, n % 1000000000}, rem = {-1, -1};
    CHECK(nanosleep(&ts, &rem) == 0);
}

static void do_usleep(int64_t n) { CHECK(usleep((useconds_t)(n / 1000)) == 0); }

static void do_clock_nanosleep_rel(int64_t n)
{
    struct timespec ts = {n / 1000000000, n % 1000000000};
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == 0);
}

static void do_clock_nanosleep_abs(int64_t n)
{
    int64_t deadline = ns(CLOCK_MONOTONIC) + n;
    struct timespec ts = {deadline / 1000000000, deadline % 1000000000};
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == 0);
    CHECK(ns(CLOCK_MONOTONIC) >= deadline);
}

static void do_sleep_seconds(int64_t n) { CHECK(sleep((unsigned)(n / 1000000000)) == 0); }

int main(int argc, char **argv)
{
    if (argc > 1)
        reads = atoi(argv[1]);
    monotonic(CLOCK_MONOTONIC, "CLOCK_MONOTONIC");
    monotonic(CLOCK_MONOTONIC_RAW, "CLOCK_MONOTONIC_RAW");
    monotonic(CLOCK_BOOTTIME, "CLOCK_BOOTTIME");

    /* Wall clock: after 2020-01-01, consistent with gettimeofday and time(). */
    int64_t real = ns(CLOCK_REALTIME);
    CHECKF(real > (int64_t)1577836800 * 1000000000, "CLOCK_REALTIME %lld is before 2020",
           (long long)real);
    struct timeval tv;
    CHECK(gettimeofday(&tv, NULL) == 0);
    int64_t tv_ns = (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
    CHECKF(tv_ns >= real - 1000 && tv_ns - real < (int64_t)60 * 1000000000,
           "gettimeofday %lld vs CLOCK_REALTIME %lld", (long long)tv_ns, (long long)real);
    time_t t = time(NULL);
    CHECK(t >= tv.tv_sec && t - tv.tv_sec < 60);
    struct tm tm;
    CHECK(gmtime_r(&t, &tm) != NULL && tm.tm_year + 1900 >= 2020);
    printf("wall clock is after 2020 and consistent\n");

    struct timespec res;
    CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0);
    CHECKF(res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 10000000,
           "CLOCK_MONOTONIC resolution %ld.%09ld", (long)res.tv_sec, res.tv_nsec);

    /* CPU-time clocks advance while we compute. */
    int64_t cpu0 = ns(CLOCK_PROCESS_CPUTIME_ID), th0 = ns(CLOCK_THREAD_CPUTIME_ID);
    volatile uint64_t x = 1;
    for (int i = 0; i < 20000000; i++)
        x = x * 6364136223846793005ull + 1;
    CHECK(ns(CLOCK_PROCESS_CPUTIME_ID) > cpu0);
    CHECK(ns(CLOCK_THREAD_CPUTIME_ID) > th0);
    printf("CPU-time clocks advance\n");

    sleep_at_least("nanosleep", 20 * 1000000, do_nanosleep);
    sleep_at_least("usleep", 15 * 1000000, do_usleep);
    sleep_at_least("clock_nanosleep", 10 * 1000000, do_clock_nanosleep_rel);
    sleep_at_least("clock_nanosleep TIMER_ABSTIME", 10 * 1000000, do_clock_nanosleep_abs);
    sleep_at_least("sleep", 1000000000, do_sleep_seconds);

    /* A deadline in the past returns at once; bad arguments are EINVAL. */
    struct timespec past = {0, 1};
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL) == 0);
    struct timespec bad = {0, 1000000000};
    errno = 0;
    CHECK(nanosleep(&bad, NULL) == -1 && errno == EINVAL);
    struct timespec neg = {-1, 0};
    errno = 0;
    CHECK(nanosleep(&neg, NULL) == -1 && errno == EINVAL);
    CHECK(clock_gettime((clockid_t)12345, &res) == -1 && errno == EINVAL);
    struct timespec zero = {0, 0};
    CHECK(nanosleep(&zero, NULL) == 0);
    printf("edge cases ok\n");
    return check_finish();
}
