/* A listening TCP socket in epoll must report every new connection after accept() has emptied
 * its queue, even when nothing else touches the stack in between (the accepted connections are
 * left alone, as a server that hands them to other threads does). Level- and edge-triggered,
 * over 127.0.0.1.
 *   inet_accept_wakeup lt|et */
#define _GNU_SOURCE
#include "check.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define ROUNDS 20

static int run(int edge)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK(lfd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    CHECK(bind(lfd, (struct sockaddr *)&addr, sizeof addr) == 0);
    CHECK(listen(lfd, 64) == 0);
    CHECK(getsockname(lfd, (struct sockaddr *)&addr, &len) == 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | (edge ? EPOLLET : 0), .data.fd = lfd};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == 0);
    int fds[2 * ROUNDS], nfds = 0;
    for (int round = 0; round < ROUNDS; round++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(connect(c, (struct sockaddr *)&addr, sizeof addr) == 0);
        fds[nfds++] = c;
        struct epoll_event got;
        int n = epoll_wait(ep, &got, 1, 2000);
        CHECKF(n == 1, "round %d: epoll_wait gave %d", round, n);
        if (n != 1)
            break;
        int a = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
        CHECKF(a >= 0, "round %d: accept4: %s", round, strerror(errno));
        if (a >= 0)
            fds[nfds++] = a;
        /* The queue is empty now. */
        CHECK(accept4(lfd, NULL, NULL, SOCK_NONBLOCK) < 0 && errno == EAGAIN);
        CHECK(epoll_wait(ep, &got, 1, 0) == 0);
    }
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    close(ep);
    close(lfd);
    return 0;
}

int main(int argc, char **argv)
{
    if (MODE_IS("lt"))
        run(0);
    else if (MODE_IS("et"))
        run(1);
    else {
        printf("usage: inet_accept_wakeup lt|et\n");
        return 2;
    }
    return check_finish();
}
