/* bench.h: the measuring loop shared by every benchmark program.
 *
 * The same source runs natively on the host, as a Ferrite image and as /init of a Linux guest.
 * Usage of every program: PROGRAM [ROUNDS [ROUND_MS [EXTRA...]]].
 *
 * bench_measure() first calibrates: it doubles the iteration count until one batch takes at least
 * a quarter of ROUND_MS, then scales it so that a round takes about ROUND_MS, and runs ROUNDS
 * rounds of that many iterations. Every round prints one machine-readable line:
 *
 *   BENCH workload=NAME metric=METRIC unit=UNIT round=I iters=N value=V
 *
 * The clock is read only around whole batches (on Ferrite clock_gettime is a system call).
 * At the end bench_finish() prints "BENCH-END"; when the environment has BENCH_POWEROFF=1 (the
 * Linux guest, where the program is /init) it then ends the VM through QEMU's isa-debug-exit port,
 * as Ferrite's own exit does.
 */
#ifndef FERRITE_BENCH_H
#define FERRITE_BENCH_H

#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int bench_rounds = 5;
static double bench_round_ms = 200.0;

static inline double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Reads ROUNDS and ROUND_MS; returns the index of the first extra argument. */
static inline int bench_init(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1)
        bench_rounds = atoi(argv[1]);
    if (argc > 2)
        bench_round_ms = atof(argv[2]);
    if (bench_rounds < 1)
        bench_rounds = 1;
    if (bench_round_ms < 0.1)
        bench_round_ms = 0.1;
    return 3;
}

typedef void (*bench_fn)(long iters, void *arg);

/* Runs fn in calibrated batches and prints one line per round: the time of one iteration
 * divided by `per_iter` (e.g. 2 when one iteration is two context switches), in ns. */
static inline void bench_measure(const char *workload, const char *metric, bench_fn fn, void *arg,
                                 double per_iter)
{
    long iters = 1;
    double target = bench_round_ms * 1e6;
    for (;;) {
        double t0 = bench_now_ns();
        fn(iters, arg);
        double dt = bench_now_ns() - t0;
        if (dt >= target / 4 || iters >= (1L << 40)) {
            double scaled = (double)iters * target / (dt > 1 ? dt : 1);
            if (scaled > (double)iters)
                iters = (long)scaled;
            break;
        }
        iters *= 2;
    }
    if (iters < 1)
        iters = 1;
    for (int r = 0; r < bench_rounds; r++) {
        double t0 = bench_now_ns();
        fn(iters, arg);
        double dt = bench_now_ns() - t0;
        printf("BENCH workload=%s metric=%s unit=ns round=%d iters=%ld value=%.3f\n", workload,
               metric, r, iters, dt / (double)iters / per_iter);
    }
}

/* One value that is not a time per iteration. */
static inline void bench_value(const char *workload, const char *metric, const char *unit,
                               double value)
{
    printf("BENCH workload=%s metric=%s unit=%s round=0 iters=1 value=%.3f\n", workload, metric,
           unit, value);
}

static inline void bench_skip(const char *workload, const char *why)
{
    printf("BENCH-SKIP workload=%s reason=%s\n", workload, why);
}

static inline long bench_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

static inline int bench_pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

static inline int bench_finish(int status)
{
    printf("BENCH-END status=%d\n", status);
    fflush(stdout);
    const char *off = getenv("BENCH_POWEROFF");
    if (off && strcmp(off, "1") == 0) {
        /* Linux guest: /init must not return (the kernel would panic). QEMU's isa-debug-exit
         * (port 0xf4) ends the VM with status (value << 1) | 1 — at once, so first wait until
         * the serial driver has sent everything written (it transmits from interrupts). */
        tcdrain(STDOUT_FILENO);
        if (ioperm(0xf4, 4, 1) == 0)
            outb((unsigned char)status, 0xf4);
        perror("ioperm");
        for (;;)
            pause();
    }
    return status;
}

#endif
