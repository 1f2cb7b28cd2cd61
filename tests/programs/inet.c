/* AF_INET/AF_INET6 sockets over the loopback interface: TCP echo between threads, UDP echo,
 * IPv6, a closed port, non-blocking connect, getaddrinfo. One mode per run (argv[1]).
 * `serve PORT BYTES` is the guest side of the host-driven test (tests/tests/net.rs): it accepts
 * one connection, reads BYTES bytes, prints their checksum, then sends BYTES bytes of the same
 * pattern back and closes. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

static struct sockaddr_in loopback4(unsigned short port) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static unsigned short port_of(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    CHECK(getsockname(fd, (struct sockaddr *)&ss, &len) == 0);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* A listening TCP socket on an ephemeral loopback port. */
static int listener4(int backlog) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in a = loopback4(0);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(fd, backlog) == 0);
    CHECK(port_of(fd) != 0);
    return fd;
}

static unsigned char pattern(size_t i) { return (unsigned char)(i * 131 + (i >> 9)); }

static int write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- TCP echo between threads ---- */

#define ECHO_CLIENTS 4
#define ECHO_BYTES (256 * 1024)

static void *echo_server(void *arg) {
    int lfd = *(int *)arg;
    for (int c = 0; c < ECHO_CLIENTS; c++) {
        int fd = accept(lfd, NULL, NULL);
        CHECK(fd >= 0);
        char buf[8192];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0)
            CHECK(write_all(fd, buf, (size_t)n) == 0);
        CHECK(n == 0);
        close(fd);
    }
    return NULL;
}

struct client_arg {
    unsigned short port;
    int ok;
};

static void *echo_client(void *p) {
    struct client_arg *arg = p;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback4(arg->port);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    int one = 1;
    CHECK(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
    static __thread unsigned char out[ECHO_BYTES];
    for (size_t i = 0; i < ECHO_BYTES; i++)
        out[i] = pattern(i);
    size_t sent = 0, got = 0, bad = 0;
    unsigned char in[8192];
    /* Interleave so neither side's buffer fills while the other waits. */
    while (got < ECHO_BYTES) {
        if (sent < ECHO_BYTES) {
            size_t chunk = ECHO_BYTES - sent < 16384 ? ECHO_BYTES - sent : 16384;
            ssize_t n = write(fd, out + sent, chunk);
            CHECK(n > 0);
            if (n <= 0)
                break;
            sent += (size_t)n;
            if (sent == ECHO_BYTES)
                CHECK(shutdown(fd, SHUT_WR) == 0);
        }
        ssize_t n = recv(fd, in, sizeof in, sent < ECHO_BYTES ? MSG_DONTWAIT : 0);
        if (n < 0 && errno == EAGAIN)
            continue;
        CHECK(n > 0);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            bad += in[i] != pattern(got + (size_t)i);
        got += (size_t)n;
    }
    CHECK(read(fd, in, sizeof in) == 0);
    close(fd);
    arg->ok = got == ECHO_BYTES && bad == 0;
    return NULL;
}

static void tcp_echo(void) {
    int lfd = listener4(ECHO_CLIENTS);
    pthread_t server, clients[ECHO_CLIENTS];
    struct client_arg args[ECHO_CLIENTS];
    CHECK(pthread_create(&server, NULL, echo_server, &lfd) == 0);
    for (int i = 0; i < ECHO_CLIENTS; i++) {
        args[i].port = port_of(lfd);
        args[i].ok = 0;
        CHECK(pthread_create(&clients[i], NULL, echo_client, &args[i]) == 0);
    }
    int ok = 0;
    for (int i = 0; i < ECHO_CLIENTS; i++) {
        pthread_join(clients[i], NULL);
        ok += args[i].ok;
    }
    pthread_join(server, NULL);
    close(lfd);
    printf("tcp echo: %d clients x %d bytes, %d intact\n", ECHO_CLIENTS, ECHO_BYTES, ok);
}

/* ---- TCP details: names, EOF, EPIPE, FIONREAD, options ---- */

static void tcp_details(void) {
    signal(SIGPIPE, SIG_IGN);
    int lfd = listener4(2);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback4(port_of(lfd));
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int s = accept(lfd, (struct sockaddr *)&peer, &plen);
    CHECK(s >= 0);
    CHECK(plen == sizeof peer && peer.sin_family == AF_INET);
    CHECK(peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    CHECK(ntohs(peer.sin_port) == port_of(c));
    struct sockaddr_in name;
    socklen_t nlen = sizeof name;
    CHECK(getpeername(c, (struct sockaddr *)&name, &nlen) == 0);
    CHECK(ntohs(name.sin_port) == port_of(lfd));
    nlen = sizeof name;
    CHECK(getpeername(lfd, (struct sockaddr *)&name, &nlen) == -1 && errno == ENOTCONN);

    int v = -1;
    socklen_t vlen = sizeof v;
    CHECK(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &vlen) == 0 && v == 0);
    v = 1;
    CHECK(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) == 0);
    CHECK(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &vlen) == 0 && v == 1);
    CHECK(getsockopt(c, SOL_SOCKET, SO_TYPE, &v, &vlen) == 0 && v == SOCK_STREAM);
    v = 1;
    CHECK(setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v) == 0);
    v = 30;
    CHECK(setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v) == 0);
    CHECK(getsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &v, &vlen) == 0 && v == 30);
    v = 0;
    CHECK(setsockopt(c, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof v) == -1 && errno == EINVAL);

    CHECK(write(c, "hello", 5) == 5);
    struct pollfd p = {.fd = s, .events = POLLIN};
    CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLIN));
    int avail = -1;
    CHECK(ioctl(s, FIONREAD, &avail) == 0 && avail == 5);
    char buf[16];
    CHECK(recv(s, buf, sizeof buf, MSG_PEEK) == 5);
    CHECK(read(s, buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK(recv(s, buf, sizeof buf, MSG_DONTWAIT) == -1 && errno == EAGAIN);

    /* FIN: the reader sees EOF, and RDHUP in poll. */
    CHECK(shutdown(c, SHUT_WR) == 0);
    p.events = POLLIN | POLLRDHUP;
    CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLRDHUP));
    CHECK(read(s, buf, sizeof buf) == 0);
    CHECK(write(c, "x", 1) == -1 && errno == EPIPE);
    /* The other direction still works. */
    CHECK(write(s, "back", 4) == 4);
    CHECK(read(c, buf, sizeof buf) == 4);
    close(s);
    CHECK(read(c, buf, sizeof buf) == 0);
    close(c);

    /* A second bind to a port in use. */
    int d = socket(AF_INET, SOCK_STREAM, 0);
    a = loopback4(port_of(lfd));
    CHECK(bind(d, (struct sockaddr *)&a, sizeof a) == -1 && errno == EADDRINUSE);
    close(d);
    close(lfd);
    printf("tcp details: done\n");
}

/* ---- an epoll server: non-blocking accept4, level- and edge-triggered readiness ---- */

#define EPOLL_CLIENTS 8
#define EPOLL_ROUNDS 50

static void *epoll_client(void *p) {
    struct client_arg *arg = p;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback4(arg->port);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    int ok = 1;
    for (int r = 0; r < EPOLL_ROUNDS; r++) {
        char msg[32], back[32];
        int n = snprintf(msg, sizeof msg, "round %d", r);
        CHECK(write(fd, msg, (size_t)n) == n);
        ssize_t got = 0;
        while (got < n) {
            ssize_t k = read(fd, back + got, sizeof back - (size_t)got);
            if (k <= 0)
                break;
            got += k;
        }
        ok &= got == n && memcmp(msg, back, (size_t)n) == 0;
    }
    close(fd);
    arg->ok = ok;
    return NULL;
}

static void epoll_server(void) {
    int lfd = listener4(EPOLL_CLIENTS);
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == 0);
    /* Nothing to accept yet. */
    CHECK(accept4(lfd, NULL, NULL, SOCK_NONBLOCK) == -1 && errno == EAGAIN);
    pthread_t t[EPOLL_CLIENTS];
    struct client_arg args[EPOLL_CLIENTS];
    for (int i = 0; i < EPOLL_CLIENTS; i++) {
        args[i].port = port_of(lfd);
        args[i].ok = 0;
        CHECK(pthread_create(&t[i], NULL, epoll_client, &args[i]) == 0);
    }
    int accepted = 0, closed = 0, nonblocking = 0;
    while (closed < EPOLL_CLIENTS) {
        struct epoll_event evs[16];
        int n = epoll_wait(ep, evs, 16, 10000);
        CHECK(n > 0);
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    accepted++;
                    nonblocking += (fcntl(c, F_GETFL) & O_NONBLOCK) != 0;
                    /* Odd ones edge-triggered: read until EAGAIN. */
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP |
                                                        (accepted % 2 ? EPOLLET : 0),
                                              .data.fd = c};
                    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) == 0);
                }
                CHECK(errno == EAGAIN);
                continue;
            }
            char buf[256];
            for (;;) {
                ssize_t k = read(fd, buf, sizeof buf);
                if (k > 0) {
                    CHECK(write(fd, buf, (size_t)k) == k);
                    continue;
                }
                if (k == 0) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                    close(fd);
                    closed++;
                } else {
                    CHECK(errno == EAGAIN);
                }
                break;
            }
        }
    }
    int ok = 0;
    for (int i = 0; i < EPOLL_CLIENTS; i++) {
        pthread_join(t[i], NULL);
        ok += args[i].ok;
    }
    close(ep);
    close(lfd);
    printf("epoll server: %d accepted (%d non-blocking), %d clients x %d rounds intact\n",
           accepted, nonblocking, ok, EPOLL_ROUNDS);
}

/* ---- shutdown of a listening socket wakes a blocked accept ---- */

static void *blocked_accept(void *arg) {
    int lfd = *(int *)arg;
    int r = accept(lfd, NULL, NULL);
    printf("accept after shutdown: %d %s\n", r, r < 0 ? strerror(errno) : "");
    return NULL;
}

static void listener_shutdown(void) {
    int lfd = listener4(4);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, blocked_accept, &lfd) == 0);
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CHECK(shutdown(lfd, SHUT_WR) == 0); /* nothing for a listener */
    CHECK(shutdown(lfd, SHUT_RD) == 0);
    pthread_join(t, NULL);
    /* Not listening any more: a connect is refused. */
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback4(port_of(lfd));
    int r = connect(c, (struct sockaddr *)&a, sizeof a);
    printf("connect after shutdown: %d %s\n", r, r < 0 ? strerror(errno) : "");
    close(c);
    close(lfd);
}

/* ---- SO_RCVTIMEO on a TCP socket ---- */

static void rcvtimeo(void) {
    int lfd = listener4(1);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback4(port_of(lfd));
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    int s = accept(lfd, NULL, NULL);
    struct timeval tv = {0, 200000};
    CHECK(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    char buf[4];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ssize_t n = read(c, buf, sizeof buf);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("read with SO_RCVTIMEO: %zd %s\n", n, n < 0 ? strerror(errno) : "");
    CHECKF(ms >= 190 && ms < 5000, "waited %ld ms", ms);
    close(s);
    close(c);
    close(lfd);
}

/* ---- a peer's reset: ECONNRESET, then EPIPE, and the service carries on ---- */

static void reset(void) {
    signal(SIGPIPE, SIG_IGN);
    int lfd = listener4(1);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback4(port_of(lfd));
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    int s = accept(lfd, NULL, NULL);
    CHECK(s >= 0);
    CHECK(write(c, "data", 4) == 4);
    struct pollfd p = {.fd = s, .events = POLLIN};
    CHECK(poll(&p, 1, 5000) == 1);
    /* Closing with unread data (or SO_LINGER 0) sends a reset. */
    struct linger lg = {1, 0};
    CHECK(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    close(s);
    p.fd = c;
    p.events = POLLIN;
    CHECK(poll(&p, 1, 5000) == 1 && (p.revents & (POLLERR | POLLHUP | POLLIN)));
    char buf[8];
    ssize_t n = read(c, buf, sizeof buf);
    printf("read after reset: %zd %s\n", n, n < 0 ? strerror(errno) : "");
    n = write(c, "x", 1);
    printf("write after reset: %zd %s\n", n, n < 0 ? strerror(errno) : "");
    close(c);

    /* Closing with unread data resets too. */
    c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    s = accept(lfd, NULL, NULL);
    CHECK(write(c, "unread", 6) == 6);
    p.fd = s;
    CHECK(poll(&p, 1, 5000) == 1);
    close(s);
    p.fd = c;
    CHECK(poll(&p, 1, 5000) == 1);
    n = read(c, buf, sizeof buf);
    printf("read after a close with unread data: %zd %s\n", n, n < 0 ? strerror(errno) : "");
    close(c);
    close(lfd);
}

/* ---- connect to a closed port ---- */

static void refused(void) {
    int lfd = listener4(1);
    unsigned short port = port_of(lfd);
    close(lfd); /* now nothing listens there */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback4(port);
    int r = connect(fd, (struct sockaddr *)&a, sizeof a);
    printf("connect to a closed port: %d %s\n", r, r ? strerror(errno) : "");
    close(fd);
}

/* ---- non-blocking connect ---- */

static void nonblocking_connect(void) {
    int lfd = listener4(1);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = loopback4(port_of(lfd));
    int r = connect(fd, (struct sockaddr *)&a, sizeof a);
    CHECK(r == 0 || (r == -1 && errno == EINPROGRESS));
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLOUT));
    int err = -1;
    socklen_t len = sizeof err;
    CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0);
    int s = accept(lfd, NULL, NULL);
    CHECK(s >= 0);
    char c;
    CHECK(read(fd, &c, 1) == -1 && errno == EAGAIN);
    close(s);
    close(fd);

    /* To a closed port: EINPROGRESS (or at once ECONNREFUSED), then SO_ERROR says refused. */
    unsigned short port = port_of(lfd);
    close(lfd);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    a = loopback4(port);
    r = connect(fd, (struct sockaddr *)&a, sizeof a);
    if (r == -1 && errno == EINPROGRESS) {
        p.events = POLLOUT;
        CHECK(poll(&p, 1, 5000) == 1);
        CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
    } else {
        err = errno;
    }
    printf("non-blocking connect to a closed port: %s\n", strerror(err));
    close(fd);
    printf("non-blocking connect: done\n");
}

/* ---- UDP ---- */

static void udp_echo(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = loopback4(0);
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    a = loopback4(port_of(s));
    /* Message boundaries: three datagrams arrive as three. */
    const char *msgs[] = {"one", "two two", "three three three"};
    for (int i = 0; i < 3; i++)
        CHECK(sendto(c, msgs[i], strlen(msgs[i]), 0, (struct sockaddr *)&a, sizeof a) ==
              (ssize_t)strlen(msgs[i]));
    for (int i = 0; i < 3; i++) {
        char buf[64];
        struct sockaddr_in from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
        CHECK(n == (ssize_t)strlen(msgs[i]) && memcmp(buf, msgs[i], (size_t)n) == 0);
        CHECK(flen == sizeof from && ntohs(from.sin_port) == port_of(c));
        /* Echo it back to the sender. */
        CHECK(sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, flen) == n);
    }
    for (int i = 0; i < 3; i++) {
        char buf[64];
        ssize_t n = recv(c, buf, sizeof buf, 0);
        CHECK(n == (ssize_t)strlen(msgs[i]));
    }
    /* A short buffer cuts the datagram: MSG_TRUNC gives its real length. */
    CHECK(sendto(c, "abcdefgh", 8, 0, (struct sockaddr *)&a, sizeof a) == 8);
    char small[3];
    CHECK(recv(s, small, sizeof small, MSG_TRUNC) == 8);
    CHECK(sendto(c, "abcdefgh", 8, 0, (struct sockaddr *)&a, sizeof a) == 8);
    struct iovec iov = {small, sizeof small};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    CHECK(recvmsg(s, &mh, 0) == 3 && (mh.msg_flags & MSG_TRUNC));
    /* connect + send + recv; nothing waiting: EAGAIN. */
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(send(c, "via connect", 11, 0) == 11);
    char buf[32];
    CHECK(recv(s, buf, sizeof buf, 0) == 11);
    CHECK(recv(s, buf, sizeof buf, MSG_DONTWAIT) == -1 && errno == EAGAIN);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(send(u, "x", 1, 0) == -1 && errno == EDESTADDRREQ);
    close(u);
    close(c);
    close(s);
    printf("udp echo: done\n");
}

/* ---- IPv6 loopback ---- */

static void ipv6(void) {
    int lfd = socket(AF_INET6, SOCK_STREAM, 0);
    CHECK(lfd >= 0);
    struct sockaddr_in6 a = {0};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    CHECK(bind(lfd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(lfd, 4) == 0);
    a.sin6_port = htons(port_of(lfd));
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    struct sockaddr_in6 peer;
    socklen_t plen = sizeof peer;
    int s = accept(lfd, (struct sockaddr *)&peer, &plen);
    CHECK(s >= 0 && plen == sizeof peer && peer.sin6_family == AF_INET6);
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &peer.sin6_addr, text, sizeof text);
    printf("ipv6 peer: %s\n", text);
    CHECK(write(c, "six", 3) == 3);
    char buf[8];
    CHECK(read(s, buf, sizeof buf) == 3 && memcmp(buf, "six", 3) == 0);
    close(s);
    close(c);
    close(lfd);

    int u = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 ua = {0};
    ua.sin6_family = AF_INET6;
    ua.sin6_addr = in6addr_loopback;
    CHECK(bind(u, (struct sockaddr *)&ua, sizeof ua) == 0);
    ua.sin6_port = htons(port_of(u));
    CHECK(sendto(u, "dgram6", 6, 0, (struct sockaddr *)&ua, sizeof ua) == 6);
    CHECK(recv(u, buf, sizeof buf, 0) == 6);
    close(u);
    printf("ipv6: done\n");
}

/* ---- getaddrinfo ---- */

static void resolve(void) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int r = getaddrinfo("localhost", "80", &hints, &res);
    CHECK(r == 0 && res != NULL);
    if (r == 0) {
        char text[INET_ADDRSTRLEN];
        struct sockaddr_in *sin = (struct sockaddr_in *)res->ai_addr;
        inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
        printf("localhost: %s port %d\n", text, ntohs(sin->sin_port));
        freeaddrinfo(res);
    }
    /* Through a connection to it. */
    int lfd = listener4(1);
    char port[8];
    snprintf(port, sizeof port, "%u", port_of(lfd));
    CHECK(getaddrinfo("localhost", port, &hints, &res) == 0);
    int c = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    CHECK(connect(c, res->ai_addr, res->ai_addrlen) == 0);
    freeaddrinfo(res);
    close(c);
    close(lfd);
    printf("getaddrinfo: done\n");
}

/* ---- the guest side of the host-driven transfer ---- */

static int serve(unsigned short port, size_t bytes) {
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    CHECK(bind(lfd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(lfd, 1) == 0);
    FILE *resolv = fopen("/etc/resolv.conf", "r");
    char line[128];
    if (resolv && fgets(line, sizeof line, resolv))
        printf("resolv.conf: %s", line);
    if (resolv)
        fclose(resolv);
    printf("listening on %u\n", port);
    fflush(stdout);
    int fd = accept(lfd, NULL, NULL);
    CHECK(fd >= 0);
    static unsigned char buf[65536];
    uint32_t sum = 0;
    size_t got = 0;
    while (got < bytes) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            sum = sum * 31 + buf[i];
        got += (size_t)n;
    }
    printf("received %zu bytes, checksum %08x\n", got, sum);
    fflush(stdout);
    size_t sent = 0;
    while (sent < bytes) {
        size_t chunk = bytes - sent < sizeof buf ? bytes - sent : sizeof buf;
        for (size_t i = 0; i < chunk; i++)
            buf[i] = pattern(sent + i);
        if (write_all(fd, buf, chunk) != 0)
            break;
        sent += chunk;
    }
    printf("sent %zu bytes\n", sent);
    close(fd);
    close(lfd);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "tcp_echo"))
        tcp_echo();
    else if (!strcmp(mode, "tcp_details"))
        tcp_details();
    else if (!strcmp(mode, "epoll_server"))
        epoll_server();
    else if (!strcmp(mode, "listener_shutdown"))
        listener_shutdown();
    else if (!strcmp(mode, "rcvtimeo"))
        rcvtimeo();
    else if (!strcmp(mode, "reset"))
        reset();
    else if (!strcmp(mode, "refused"))
        refused();
    else if (!strcmp(mode, "nonblocking_connect"))
        nonblocking_connect();
    else if (!strcmp(mode, "udp_echo"))
        udp_echo();
    else if (!strcmp(mode, "ipv6"))
        ipv6();
    else if (!strcmp(mode, "resolve"))
        resolve();
    else if (!strcmp(mode, "serve") && argc > 3)
        return serve((unsigned short)atoi(argv[2]), (size_t)strtoull(argv[3], NULL, 0));
    else {
        printf("unknown mode\n");
        return 2;
    }
    return check_finish();
}
