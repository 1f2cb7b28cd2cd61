/* ctxswitch: context switch on one CPU. Two threads pinned to CPU 0 hand a token back and forth
 * through a futex, so every hand-over is a switch from one thread to the other. Reported per
 * switch (half a round trip), which includes the futex wake and wait around it. */
#include "pingpong.h"

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    pp_start(0, 0);
    bench_measure("ctxswitch", "switch", pp_loop, NULL, 2);
    return bench_finish(0);
}
