/* futex: round-trip latency of a futex ping-pong between two threads on different CPUs
 * (CPU 0 and CPU 1). One round trip = two FUTEX_WAKE/FUTEX_WAIT hand-overs. */
#include "pingpong.h"

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    if (bench_cpus() < 2) {
        bench_skip("futex", "needs-2-cpus");
    } else {
        pp_start(0, 1);
        bench_measure("futex", "round_trip", pp_loop, NULL, 1);
    }
    return bench_finish(0);
}
