/* epoll: epoll_wait on an epoll set of 10,000 idle eventfds plus one that is always readable
 * (level-triggered); per epoll_wait call, which must report exactly that one fd. The cost should
 * not depend on the idle fds. */
#include "bench.h"
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>

#define IDLE 10000

static int ep, active;

static void loop(long iters, void *arg)
{
    (void)arg;
    struct epoll_event ev[8];
    for (long i = 0; i < iters; i++) {
        int n = epoll_wait(ep, ev, 8, 0);
        if (n != 1 || ev[0].data.fd != active) {
            printf("BENCH-ERROR epoll_wait returned %d\n", n);
            exit(bench_finish(1));
        }
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    struct rlimit rl = {IDLE + 100, IDLE + 100};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        printf("BENCH-ERROR cannot raise RLIMIT_NOFILE\n");
        return bench_finish(1);
    }
    ep = epoll_create1(0);
    for (int i = 0; i < IDLE; i++) {
        int fd = eventfd(0, 0);
        struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
        if (fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0) {
            printf("BENCH-ERROR cannot register idle fd %d\n", i);
            return bench_finish(1);
        }
    }
    active = eventfd(1, 0);
    struct epoll_event e = {.events = EPOLLIN, .data.fd = active};
    epoll_ctl(ep, EPOLL_CTL_ADD, active, &e);
    bench_measure("epoll", "wait_10k_idle_1_ready", loop, NULL, 1);
    return bench_finish(0);
}
