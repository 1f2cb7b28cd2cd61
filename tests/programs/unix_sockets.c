/* AF_UNIX sockets: socketpair (stream, datagram, seqpacket), a listening socket in /tmp served
 * to client threads (echo, a checksummed large transfer, EOF), abstract names and autobind,
 * errors as Linux, non-blocking accept/connect/read, poll and epoll readiness, the MSG_ flags,
 * SO_RCVTIMEO, sendmsg/recvmsg with iovecs, sendmmsg/recvmmsg, SCM_RIGHTS, the generic options.
 * `unix_sockets MODE`, one mode per case. Only facts that are the same on Linux and on Ferrite
 * are printed (no pids, inode numbers or times). */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CHECK_ERR(call, err)                                                              \
    do {                                                                                  \
        errno = 0;                                                                        \
        long r_ = (long)(call);                                                           \
        CHECKF(r_ == -1 && errno == (err), "%s: got %ld errno %d (%s), want %s", #call, r_, \
               errno, strerror(errno), #err);                                             \
    } while (0)

static pthread_t start(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    int r = pthread_create(&t, NULL, fn, arg);
    CHECKF(r == 0, "pthread_create: %d", r);
    return t;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A path in /tmp that no other run uses (the pid is never printed). */
static void tmp_path(struct sockaddr_un *a, socklen_t *len, const char *tag)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "/tmp/ft-unix-%s-%d", tag, (int)getpid());
    unlink(a->sun_path);
    *len = offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1;
}

static void abstract_name(struct sockaddr_un *a, socklen_t *len, const char *tag)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "ft-abs-%s-%d", tag, (int)getpid());
    *len = offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

static int listener(const struct sockaddr_un *a, socklen_t len, int type, int backlog)
{
    int s = socket(AF_UNIX, type, 0);
    CHECK(s >= 0);
    CHECKF(bind(s, (const struct sockaddr *)a, len) == 0, "bind: %s", strerror(errno));
    CHECKF(listen(s, backlog) == 0, "listen: %s", strerror(errno));
    return s;
}

static int connect_to(const struct sockaddr_un *a, socklen_t len, int type)
{
    int c = socket(AF_UNIX, type, 0);
    CHECK(c >= 0);
    CHECKF(connect(c, (const struct sockaddr *)a, len) == 0, "connect: %s", strerror(errno));
    return c;
}

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        CHECKF(n > 0, "write: %zd %s", n, strerror(errno));
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

static size_t read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, p + done, len - done);
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    return done;
}

/* ---- socketpair ---- */

static void pair_mode(void)
{
    int sv[2];
    char buf[64];
    struct sockaddr_un a;
    socklen_t alen;
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(write(sv[0], "hello", 5) == 5);
    CHECK(write(sv[0], " world", 6) == 6);
    int avail = -1;
    CHECK(ioctl(sv[1], FIONREAD, &avail) == 0);
    printf("stream: FIONREAD %d\n", avail);
    ssize_t n = read(sv[1], buf, sizeof buf);
    printf("stream: read %zd '%.*s'\n", n, (int)n, buf);
    CHECK(write(sv[1], "back", 4) == 4);
    alen = sizeof a;
    n = recvfrom(sv[0], buf, sizeof buf, 0, (struct sockaddr *)&a, &alen);
    printf("stream: reply %zd '%.*s' from an unnamed peer: addrlen %u\n", n, (int)n, buf,
           (unsigned)alen);

    struct stat st;
    CHECK(fstat(sv[0], &st) == 0);
    printf("fstat: S_ISSOCK %d\n", S_ISSOCK(st.st_mode));
    char link[64], proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", sv[0]);
    ssize_t l = readlink(proc, link, sizeof link - 1);
    if (l > 0)
        link[l] = 0;
    printf("fd link starts with socket:[ %d\n", l > 0 && strncmp(link, "socket:[", 8) == 0);

    alen = sizeof a;
    CHECK(getsockname(sv[0], (struct sockaddr *)&a, &alen) == 0);
    printf("getsockname: len %u family %d\n", (unsigned)alen, a.sun_family);
    alen = sizeof a;
    CHECK(getpeername(sv[0], (struct sockaddr *)&a, &alen) == 0);
    printf("getpeername: len %u\n", (unsigned)alen);

    int v;
    socklen_t vl = sizeof v;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &vl) == 0);
    printf("SO_TYPE %d", v);
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &v, &vl) == 0);
    printf(" SO_DOMAIN %d", v);
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_PROTOCOL, &v, &vl) == 0);
    printf(" SO_PROTOCOL %d", v);
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) == 0);
    printf(" SO_ACCEPTCONN %d\n", v);
    struct ucred cred;
    socklen_t cl = sizeof cred;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0);
    printf("SO_PEERCRED: len %u pid is mine %d uid %d gid %d\n", (unsigned)cl,
           cred.pid == getpid(), cred.uid == getuid(), cred.gid == getgid());

    /* Shutdown: SHUT_WR gives the peer EOF after the data; writing is EPIPE. */
    CHECK(write(sv[0], "last", 4) == 4);
    CHECK(shutdown(sv[0], SHUT_WR) == 0);
    n = read(sv[1], buf, sizeof buf);
    printf("after SHUT_WR: read %zd then %zd\n", n, read(sv[1], buf, sizeof buf));
    signal(SIGPIPE, SIG_IGN);
    CHECK_ERR(write(sv[0], "x", 1), EPIPE);
    CHECK_ERR(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
    /* The other direction still works. */
    CHECK(write(sv[1], "still", 5) == 5);
    n = read(sv[0], buf, sizeof buf);
    printf("reverse after SHUT_WR: %zd\n", n);
    close(sv[0]);
    CHECK_ERR(write(sv[1], "x", 1), EPIPE);
    printf("after close: read %zd\n", read(sv[1], buf, sizeof buf));
    close(sv[1]);

    /* Datagrams keep their boundaries; a short buffer truncates. */
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    CHECK(send(sv[0], "one", 3, 0) == 3);
    CHECK(send(sv[0], "two!", 4, 0) == 4);
    CHECK(send(sv[0], "", 0, 0) == 0);
    CHECK(send(sv[0], "three", 5, 0) == 5);
    CHECK(ioctl(sv[1], FIONREAD, &avail) == 0);
    printf("dgram: FIONREAD %d\n", avail);
    n = recv(sv[1], buf, sizeof buf, 0);
    printf("dgram: %zd '%.*s'\n", n, (int)n, buf);
    n = recv(sv[1], buf, 2, 0);
    printf("dgram: truncated %zd '%.*s'\n", n, (int)n, buf);
    n = recv(sv[1], buf, sizeof buf, 0);
    printf("dgram: empty %zd\n", n);
    n = recv(sv[1], buf, 2, MSG_TRUNC);
    printf("dgram: MSG_TRUNC %zd\n", n);
    CHECK_ERR(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    alen = sizeof a;
    n = recvfrom(sv[1], buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&a, &alen);
    CHECK(n == -1 && errno == EAGAIN);
    CHECK(send(sv[0], "x", 1, 0) == 1);
    alen = sizeof a;
    n = recvfrom(sv[1], buf, sizeof buf, 0, (struct sockaddr *)&a, &alen);
    printf("dgram: recvfrom unnamed sender %zd addrlen %u\n", n, (unsigned)alen);
    close(sv[0]);
    CHECK_ERR(send(sv[1], "x", 1, 0), ECONNREFUSED);
    CHECK_ERR(send(sv[1], "x", 1, 0), ENOTCONN);
    close(sv[1]);

    /* Sequenced packets: boundaries and EOF. */
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
    CHECK(send(sv[0], "abc", 3, 0) == 3);
    CHECK(send(sv[0], "defgh", 5, 0) == 5);
    n = recv(sv[1], buf, sizeof buf, 0);
    printf("seqpacket: %zd\n", n);
    struct iovec iov = {buf, 2};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    n = recvmsg(sv[1], &m, 0);
    printf("seqpacket: truncated %zd MSG_TRUNC %d\n", n, (m.msg_flags & MSG_TRUNC) != 0);
    close(sv[0]);
    n = recv(sv[1], buf, sizeof buf, 0);
    printf("seqpacket: after close %zd\n", n);
    CHECK_ERR(send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
    close(sv[1]);
}

/* ---- a server in /tmp with client threads ---- */

#define CLIENTS 4
#define BIG (3 << 20)

static struct sockaddr_un server_addr;
static socklen_t server_len;

static uint32_t checksum(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void *client(void *arg)
{
    long id = (long)arg;
    int c = connect_to(&server_addr, server_len, SOCK_STREAM);
    char msg[32], buf[32];
    int len = snprintf(msg, sizeof msg, "client %ld", id);
    write_all(c, msg, (size_t)len);
    size_t got = read_full(c, buf, (size_t)len);
    CHECK(got == (size_t)len && memcmp(buf, msg, (size_t)len) == 0);
    /* A large transfer: the server answers with the checksum of what it read. */
    unsigned char *big = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (unsigned char)(i * 7 + (size_t)id);
    write_all(c, big, BIG);
    CHECK(shutdown(c, SHUT_WR) == 0);
    uint32_t sum = 0;
    CHECK(read_full(c, &sum, sizeof sum) == sizeof sum);
    CHECKF(sum == checksum(big, BIG), "client %ld checksum", id);
    /* Then the server closes: EOF. */
    CHECK(read(c, buf, sizeof buf) == 0);
    free(big);
    close(c);
    return NULL;
}

static void *serve_one(void *arg)
{
    int s = (int)(long)arg;
    char buf[32];
    ssize_t n = read(s, buf, sizeof buf);
    CHECK(n > 0);
    write_all(s, buf, (size_t)n);
    unsigned char *big = malloc(BIG + 1);
    size_t got = read_full(s, big, BIG + 1);
    CHECKF(got == BIG, "server read %zu", got);
    uint32_t sum = checksum(big, got);
    write_all(s, &sum, sizeof sum);
    free(big);
    close(s);
    return NULL;
}

static void server_mode(void)
{
    tmp_path(&server_addr, &server_len, "srv");
    int l = listener(&server_addr, server_len, SOCK_STREAM, 8);
    struct stat st;
    CHECK(stat(server_addr.sun_path, &st) == 0);
    printf("bound path: S_ISSOCK %d\n", S_ISSOCK(st.st_mode));
    int v;
    socklen_t vl = sizeof v;
    CHECK(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) == 0);
    printf("SO_ACCEPTCONN %d\n", v);
    struct sockaddr_un a;
    socklen_t alen = sizeof a;
    CHECK(getsockname(l, (struct sockaddr *)&a, &alen) == 0);
    printf("getsockname: len is path+3 %d same %d\n", alen == server_len,
           strcmp(a.sun_path, server_addr.sun_path) == 0);
    pthread_t clients[CLIENTS], servers[CLIENTS];
    for (long i = 0; i < CLIENTS; i++)
        clients[i] = start(client, (void *)i);
    for (int i = 0; i < CLIENTS; i++) {
        alen = sizeof a;
        int s = accept(l, (struct sockaddr *)&a, &alen);
        CHECKF(s >= 0, "accept: %s", strerror(errno));
        CHECK(alen == offsetof(struct sockaddr_un, sun_path));
        struct sockaddr_un me;
        socklen_t mlen = sizeof me;
        CHECK(getsockname(s, (struct sockaddr *)&me, &mlen) == 0);
        CHECK(mlen == server_len && strcmp(me.sun_path, server_addr.sun_path) == 0);
        servers[i] = start(serve_one, (void *)(long)s);
    }
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(clients[i], NULL);
        pthread_join(servers[i], NULL);
    }
    printf("%d clients served\n", CLIENTS);
    close(l);
    /* The name stays until unlinked; nobody listens any more. */
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(connect(c, (struct sockaddr *)&server_addr, server_len), ECONNREFUSED);
    close(c);
    CHECK(unlink(server_addr.sun_path) == 0);
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(connect(c, (struct sockaddr *)&server_addr, server_len), ENOENT);
    close(c);
}

/* ---- abstract names ---- */

static void abstract_mode(void)
{
    struct sockaddr_un a, b;
    socklen_t alen, blen;
    abstract_name(&a, &alen, "one");
    int l = listener(&a, alen, SOCK_STREAM, 4);
    blen = sizeof b;
    CHECK(getsockname(l, (struct sockaddr *)&b, &blen) == 0);
    printf("abstract getsockname: same length %d same bytes %d\n", blen == alen,
           memcmp(&a, &b, alen) == 0);
    int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(bind(l2, (struct sockaddr *)&a, alen), EADDRINUSE);
    /* A name with one byte more is another name. */
    CHECK_ERR(connect(l2, (struct sockaddr *)&a, alen + 1), ECONNREFUSED);
    close(l2);
    int c = connect_to(&a, alen, SOCK_STREAM);
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0);
    CHECK(write(c, "abs", 3) == 3);
    char buf[8];
    CHECK(read(s, buf, sizeof buf) == 3);
    blen = sizeof b;
    CHECK(getpeername(c, (struct sockaddr *)&b, &blen) == 0);
    printf("client's peer is the name %d\n", blen == alen && memcmp(&a, &b, alen) == 0);
    close(c);
    close(s);
    close(l);
    /* Closed: the name is free again. */
    l = listener(&a, alen, SOCK_STREAM, 4);
    close(l);

    /* Autobind: binding just the family picks a 5-hex-digit abstract name. */
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    sa_family_t fam = AF_UNIX;
    CHECK(bind(d, (struct sockaddr *)&fam, sizeof fam) == 0);
    blen = sizeof b;
    CHECK(getsockname(d, (struct sockaddr *)&b, &blen) == 0);
    int hex = 1;
    for (int i = 1; i < 6; i++)
        hex &= (b.sun_path[i] >= '0' && b.sun_path[i] <= '9') ||
               (b.sun_path[i] >= 'a' && b.sun_path[i] <= 'f');
    printf("autobind: len %u leading NUL %d hex %d\n", (unsigned)blen, b.sun_path[0] == 0, hex);
    CHECK_ERR(bind(d, (struct sockaddr *)&a, alen), EINVAL);
    /* Datagrams between named sockets carry the sender's name. */
    int e = socket(AF_UNIX, SOCK_DGRAM, 0);
    abstract_name(&a, &alen, "dg");
    CHECK(bind(e, (struct sockaddr *)&a, alen) == 0);
    CHECK(sendto(d, "hi", 2, 0, (struct sockaddr *)&a, alen) == 2);
    struct sockaddr_un from;
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(e, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    printf("recvfrom: %zd from the autobound name %d\n", n,
           flen == blen && memcmp(&from, &b, blen) == 0);
    /* A short address buffer: cut, with the full length reported. */
    CHECK(sendto(d, "hi", 2, 0, (struct sockaddr *)&a, alen) == 2);
    flen = 4;
    memset(&from, 0x55, sizeof from);
    n = recvfrom(e, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    printf("short address buffer: len %u byte 4 untouched %d\n", (unsigned)flen,
           ((unsigned char *)&from)[4] == 0x55);
    close(d);
    close(e);
}

/* ---- errors ---- */

static void errors_mode(void)
{
    struct sockaddr_un a;
    socklen_t alen;
    tmp_path(&a, &alen, "err");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(connect(s, (struct sockaddr *)&a, alen), ENOENT);
    /* A file that is not a socket. */
    int f = open(a.sun_path, O_CREAT | O_WRONLY, 0600);
    CHECK(f >= 0);
    close(f);
    CHECK_ERR(connect(s, (struct sockaddr *)&a, alen), ECONNREFUSED);
    CHECK_ERR(bind(s, (struct sockaddr *)&a, alen), EADDRINUSE);
    unlink(a.sun_path);
    /* Bound but not listening. */
    CHECK(bind(s, (struct sockaddr *)&a, alen) == 0);
    CHECK_ERR(bind(s, (struct sockaddr *)&a, alen), EADDRINUSE);
    struct sockaddr_un other;
    socklen_t olen;
    tmp_path(&other, &olen, "err2");
    CHECK_ERR(bind(s, (struct sockaddr *)&other, olen), EINVAL);
    CHECK_ERR(access(other.sun_path, F_OK), ENOENT);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(connect(c, (struct sockaddr *)&a, alen), ECONNREFUSED);
    CHECK_ERR(accept(s, NULL, NULL), EINVAL);
    /* Not connected. */
    char buf[8];
    CHECK_ERR(write(c, "x", 1), ENOTCONN);
    CHECK_ERR(read(c, buf, 1), EINVAL);
    struct sockaddr_un p;
    socklen_t plen = sizeof p;
    CHECK_ERR(getpeername(c, (struct sockaddr *)&p, &plen), ENOTCONN);
    CHECK(listen(s, 1) == 0);
    CHECK(connect(c, (struct sockaddr *)&a, alen) == 0);
    CHECK_ERR(connect(c, (struct sockaddr *)&a, alen), EISCONN);
    CHECK_ERR(sendto(c, "x", 1, 0, (struct sockaddr *)&a, alen), EISCONN);
    CHECK_ERR(listen(c, 1), EINVAL);
    /* Stream to a datagram socket. */
    struct sockaddr_un d;
    socklen_t dlen;
    tmp_path(&d, &dlen, "errdg");
    int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(bind(dg, (struct sockaddr *)&d, dlen) == 0);
    int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(connect(c2, (struct sockaddr *)&d, dlen), EPROTOTYPE);
    CHECK_ERR(listen(dg, 1), EOPNOTSUPP);
    CHECK_ERR(accept(dg, NULL, NULL), EOPNOTSUPP);
    int ud = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK_ERR(send(ud, "x", 1, 0), ENOTCONN);
    /* Addresses. */
    CHECK_ERR(bind(c2, (struct sockaddr *)&a, 1), EINVAL);
    CHECK_ERR(bind(c2, (struct sockaddr *)&a, sizeof(struct sockaddr_un) + 1), EINVAL);
    CHECK_ERR(bind(c2, (struct sockaddr *)&a, 200), EINVAL);
    CHECK_ERR(bind(c2, (struct sockaddr *)&a, (socklen_t)-1), EINVAL);
    CHECK_ERR(bind(c2, (struct sockaddr *)1, alen), EFAULT);
    struct sockaddr_un wrong = a;
    wrong.sun_family = AF_INET6;
    CHECK_ERR(bind(c2, (struct sockaddr *)&wrong, alen), EINVAL);
    CHECK_ERR(connect(c2, (struct sockaddr *)&wrong, alen), EINVAL);
    plen = (socklen_t)-1;
    CHECK_ERR(getsockname(c2, (struct sockaddr *)&p, &plen), EINVAL);
    /* Not sockets, bad fds. */
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    CHECK_ERR(bind(pfd[0], (struct sockaddr *)&a, alen), ENOTSOCK);
    CHECK_ERR(listen(pfd[0], 1), ENOTSOCK);
    CHECK_ERR(accept(pfd[0], NULL, NULL), ENOTSOCK);
    CHECK_ERR(send(pfd[1], "x", 1, 0), ENOTSOCK);
    CHECK_ERR(recv(pfd[0], buf, 1, 0), ENOTSOCK);
    CHECK_ERR(getsockname(pfd[0], (struct sockaddr *)&p, &plen), ENOTSOCK);
    int v = 1;
    CHECK_ERR(setsockopt(pfd[0], SOL_SOCKET, SO_REUSEADDR, &v, sizeof v), ENOTSOCK);
    CHECK_ERR(shutdown(pfd[0], SHUT_RD), ENOTSOCK);
    CHECK_ERR(listen(999, 1), EBADF);
    CHECK_ERR(shutdown(999, SHUT_RD), EBADF);
    CHECK_ERR(shutdown(c, 7), EINVAL);
    /* socket() arguments. */
    CHECK_ERR(socket(AF_MAX, SOCK_STREAM, 0), EAFNOSUPPORT);
    CHECK_ERR(socket(1000, SOCK_STREAM, 0), EAFNOSUPPORT);
    CHECK_ERR(socket(AF_UNIX, 0, 0), ESOCKTNOSUPPORT);
    CHECK_ERR(socket(AF_UNIX, 11, 0), EINVAL);
    CHECK_ERR(socket(AF_UNIX, SOCK_STREAM | 0x100, 0), EINVAL);
    CHECK_ERR(socket(AF_UNIX, SOCK_RDM, 0), ESOCKTNOSUPPORT);
    CHECK_ERR(socket(AF_UNIX, SOCK_STREAM, 7), EPROTONOSUPPORT);
    int sv[2];
    CHECK_ERR(socketpair(AF_UNIX, SOCK_STREAM, 0, (int *)1), EFAULT);
    /* setsockopt/getsockopt. */
    CHECK_ERR(setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &v, 2), EINVAL);
    CHECK_ERR(setsockopt(c, SOL_SOCKET, 9999, &v, sizeof v), ENOPROTOOPT);
    socklen_t vl = sizeof v;
    CHECK_ERR(getsockopt(c, SOL_SOCKET, 9999, &v, &vl), ENOPROTOOPT);
    vl = (socklen_t)-1;
    CHECK_ERR(getsockopt(c, SOL_SOCKET, SO_TYPE, &v, &vl), EINVAL);
    CHECK_ERR(setsockopt(c, SOL_SOCKET, SO_TYPE, &v, sizeof v), ENOPROTOOPT);
    /* Bad buffers: EFAULT, and the data stays. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(write(sv[0], "keep", 4) == 4);
    CHECK_ERR(recv(sv[1], (void *)1, 4, 0), EFAULT);
    CHECK_ERR(send(sv[0], (void *)1, 4, 0), EFAULT);
    plen = sizeof p;
    CHECK_ERR(getsockname(sv[0], (struct sockaddr *)1, &plen), EFAULT);
    CHECK_ERR(getsockname(sv[0], (struct sockaddr *)&p, (socklen_t *)1), EFAULT);
    vl = sizeof v;
    CHECK_ERR(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, (void *)1, &vl), EFAULT);
    CHECK_ERR(setsockopt(sv[0], SOL_SOCKET, SO_KEEPALIVE, (void *)1, sizeof v), EFAULT);
    CHECK(read(sv[1], buf, sizeof buf) == 4);
    close(sv[0]);
    close(sv[1]);
    /* A socket inode cannot be opened. */
    struct stat st;
    CHECK(stat(a.sun_path, &st) == 0);
    mode_t mask = umask(0);
    umask(mask);
    printf("socket inode: S_ISSOCK %d mode is 0777 less umask %d\n", S_ISSOCK(st.st_mode),
           (st.st_mode & 07777) == (0777 & ~mask));
    CHECK_ERR(open(a.sun_path, O_RDONLY), ENXIO);
    /* EPIPE without SIGPIPE (still the default action) for datagrams and packets. */
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    CHECK(shutdown(sv[1], SHUT_RD) == 0);
    CHECK_ERR(send(sv[0], "x", 1, 0), EPIPE);
    CHECK(send(sv[1], "x", 1, 0) == 1);
    CHECK(shutdown(sv[0], SHUT_WR) == 0);
    CHECK_ERR(send(sv[0], "x", 1, 0), EPIPE);
    close(sv[0]);
    close(sv[1]);
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
    close(sv[1]);
    CHECK_ERR(send(sv[0], "x", 1, 0), EPIPE);
    close(sv[0]);
    printf("errors checked\n");
    close(s);
    close(c);
    close(c2);
    close(dg);
    close(ud);
    close(pfd[0]);
    close(pfd[1]);
    unlink(a.sun_path);
    unlink(d.sun_path);
}

/* ---- non-blocking ---- */

static void nonblock_mode(void)
{
    struct sockaddr_un a;
    socklen_t alen;
    tmp_path(&a, &alen, "nb");
    int l = listener(&a, alen, SOCK_STREAM | SOCK_NONBLOCK, 1);
    CHECK_ERR(accept(l, NULL, NULL), EAGAIN);
    /* Backlog 1: two connections wait, the third finds the queue full. */
    int c[3];
    for (int i = 0; i < 3; i++)
        c[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK(connect(c[0], (struct sockaddr *)&a, alen) == 0);
    CHECK(connect(c[1], (struct sockaddr *)&a, alen) == 0);
    CHECK_ERR(connect(c[2], (struct sockaddr *)&a, alen), EAGAIN);
    /* A client may write before it is accepted. */
    CHECK(write(c[0], "early", 5) == 5);
    int s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    CHECK(s >= 0);
    printf("accept4: O_NONBLOCK %d FD_CLOEXEC %d\n", (fcntl(s, F_GETFL) & O_NONBLOCK) != 0,
           (fcntl(s, F_GETFD) & FD_CLOEXEC) != 0);
    /* (musl's accept4 retries as accept after EINVAL: ask the kernel directly.) */
    CHECK_ERR(syscall(SYS_accept4, l, NULL, NULL, 0x1234), EINVAL);
    char buf[8];
    CHECK(read(s, buf, sizeof buf) == 5);
    CHECK_ERR(read(s, buf, sizeof buf), EAGAIN);
    /* Room again for the third. */
    CHECK(connect(c[2], (struct sockaddr *)&a, alen) == 0);
    /* Fill the stream until EAGAIN; poll then shows no POLLOUT; reading it all gives it back. */
    static char chunk[65536];
    long total = 0;
    for (int i = 0; i < 1000; i++) {
        ssize_t n = write(c[0], chunk, sizeof chunk);
        if (n < 0) {
            CHECKF(errno == EAGAIN, "write: %s", strerror(errno));
            break;
        }
        total += n;
    }
    printf("filled: more than 100 KiB %d less than 1 MiB %d\n", total > 100000, total < 1048576);
    struct pollfd pfd = {c[0], POLLOUT, 0};
    CHECK(poll(&pfd, 1, 0) == 0);
    int avail = 0;
    CHECK(ioctl(s, FIONREAD, &avail) == 0);
    CHECK(avail == total);
    long drained = 0;
    for (;;) {
        ssize_t n = read(s, chunk, sizeof chunk);
        if (n <= 0)
            break;
        drained += n;
    }
    CHECK(drained == total);
    CHECK(poll(&pfd, 1, 0) == 1 && pfd.revents == POLLOUT);
    printf("drained: POLLOUT again\n");
    /* MSG_DONTWAIT on a blocking socket; a 0-byte receive waits for data, takes none. */
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK_ERR(recv(sv[0], buf, 1, MSG_DONTWAIT), EAGAIN);
    CHECK_ERR(recv(sv[0], buf, 0, MSG_DONTWAIT), EAGAIN);
    CHECK(write(sv[1], "z", 1) == 1);
    CHECK(recv(sv[0], buf, 0, MSG_DONTWAIT) == 0);
    CHECK(recv(sv[0], buf, 1, MSG_DONTWAIT) == 1);
    close(sv[0]);
    close(sv[1]);
    /* socketpair's flags apply to both ends. */
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    printf("socketpair flags: O_NONBLOCK %d %d FD_CLOEXEC %d %d\n",
           (fcntl(sv[0], F_GETFL) & O_NONBLOCK) != 0, (fcntl(sv[1], F_GETFL) & O_NONBLOCK) != 0,
           (fcntl(sv[0], F_GETFD) & FD_CLOEXEC) != 0, (fcntl(sv[1], F_GETFD) & FD_CLOEXEC) != 0);
    CHECK_ERR(recv(sv[1], buf, 1, 0), EAGAIN);
    close(sv[0]);
    close(sv[1]);
    for (int i = 0; i < 3; i++)
        close(c[i]);
    close(s);
    close(l);
    unlink(a.sun_path);

    /* Datagrams: the queue of a socket not connected back holds 10 + 1 datagrams. */
    struct sockaddr_un d;
    socklen_t dlen;
    tmp_path(&d, &dlen, "nbdg");
    int r = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(bind(r, (struct sockaddr *)&d, dlen) == 0);
    int w = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int sent = 0;
    for (int i = 0; i < 100; i++) {
        if (sendto(w, "d", 1, 0, (struct sockaddr *)&d, dlen) != 1) {
            CHECKF(errno == EAGAIN, "sendto: %s", strerror(errno));
            break;
        }
        sent++;
    }
    printf("datagram queue: %d before EAGAIN\n", sent);
    CHECK(recv(r, buf, sizeof buf, 0) == 1);
    CHECK(sendto(w, "d", 1, 0, (struct sockaddr *)&d, dlen) == 1);
    close(w);
    close(r);
    unlink(d.sun_path);
}

/* ---- readiness ---- */

static unsigned poll_events(int fd)
{
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
    CHECK(poll(&p, 1, 0) >= 0);
    return (unsigned)p.revents;
}

static unsigned epoll_events(int fd)
{
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.fd = fd};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
    struct epoll_event out = {0};
    int n = epoll_wait(ep, &out, 1, 0);
    close(ep);
    return n == 1 ? out.events : 0;
}

static void show(const char *what, int fd)
{
    printf("%-28s poll %#x epoll %#x\n", what, poll_events(fd), epoll_events(fd));
}

struct delayed {
    int fd;
    int action; /* 0: write, 1: close, 2: shutdown write */
};

static void *act_later(void *arg)
{
    struct delayed *d = arg;
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
    if (d->action == 0)
        CHECK(write(d->fd, "wake", 4) == 4);
    else if (d->action == 1)
        close(d->fd);
    else
        shutdown(d->fd, SHUT_WR);
    return NULL;
}

static void poll_mode(void)
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    show("fresh stream", s);
    close(s);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    show("connected idle", sv[0]);
    CHECK(write(sv[1], "x", 1) == 1);
    show("data waiting", sv[0]);
    CHECK(shutdown(sv[1], SHUT_WR) == 0);
    show("peer SHUT_WR", sv[0]);
    show("after own SHUT_WR", sv[1]);
    CHECK(shutdown(sv[0], SHUT_RD) == 0);
    show("own SHUT_RD too", sv[0]);
    close(sv[1]);
    show("peer closed", sv[0]);
    close(sv[0]);

    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    close(sv[1]);
    show("peer closed, no data", sv[0]);
    close(sv[0]);

    struct sockaddr_un a;
    socklen_t alen;
    tmp_path(&a, &alen, "poll");
    int l = listener(&a, alen, SOCK_STREAM, 4);
    show("listening", l);
    int c = connect_to(&a, alen, SOCK_STREAM);
    show("listening, one pending", l);
    show("client before accept", c);
    int acc = accept(l, NULL, NULL);
    show("accepted", acc);
    close(acc);
    show("client, server closed", c);
    close(c);
    close(l);
    unlink(a.sun_path);

    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    show("dgram pair idle", sv[0]);
    CHECK(write(sv[1], "x", 1) == 1);
    show("dgram pair data", sv[0]);
    close(sv[1]);
    show("dgram pair peer closed", sv[0]);
    close(sv[0]);
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    show("fresh dgram", d);
    close(d);

    /* Blocking waits woken by another thread: poll, epoll, read. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    struct delayed act = {sv[1], 0};
    pthread_t t = start(act_later, &act);
    struct pollfd p = {sv[0], POLLIN, 0};
    CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLIN));
    pthread_join(t, NULL);
    char buf[8];
    CHECK(read(sv[0], buf, sizeof buf) == 4);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.fd = sv[0]};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) == 0);
    act.action = 2;
    t = start(act_later, &act);
    struct epoll_event out;
    CHECK(epoll_wait(ep, &out, 1, 5000) == 1);
    printf("epoll woken by peer SHUT_WR: %#x\n", out.events);
    pthread_join(t, NULL);
    act.action = 1;
    t = start(act_later, &act);
    CHECK(epoll_wait(ep, &out, 1, 5000) == 1);
    printf("epoll woken by peer close: %#x\n", out.events);
    pthread_join(t, NULL);
    close(ep);
    close(sv[0]);
}

/* ---- MSG_ flags, timeouts, msghdr ---- */

struct pieces {
    int fd;
    int count;
};

static void *send_pieces(void *arg)
{
    struct pieces *p = arg;
    for (int i = 0; i < p->count; i++) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
        CHECK(write(p->fd, "0123456789", 10) == 10);
    }
    return NULL;
}

static void flags_mode(void)
{
    int sv[2];
    char buf[64];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(write(sv[0], "peekaboo", 8) == 8);
    ssize_t n = recv(sv[1], buf, 4, MSG_PEEK);
    printf("MSG_PEEK: %zd '%.*s'\n", n, (int)n, buf);
    n = recv(sv[1], buf, sizeof buf, MSG_PEEK);
    printf("MSG_PEEK again: %zd\n", n);
    n = recv(sv[1], buf, sizeof buf, 0);
    printf("then read: %zd '%.*s'\n", n, (int)n, buf);
    /* MSG_WAITALL waits for all 30 bytes sent in three pieces. */
    struct pieces p = {sv[0], 3};
    pthread_t t = start(send_pieces, &p);
    n = recv(sv[1], buf, 30, MSG_WAITALL);
    printf("MSG_WAITALL: %zd\n", n);
    pthread_join(t, NULL);
    /* Without it the first piece is enough. */
    t = start(send_pieces, &p);
    n = recv(sv[1], buf, 30, 0);
    printf("without MSG_WAITALL: %zd\n", n);
    pthread_join(t, NULL);
    CHECK(read_full(sv[1], buf, 20) == 20);
    /* MSG_WAITALL stops at EOF with what there is. */
    CHECK(write(sv[0], "abc", 3) == 3);
    CHECK(shutdown(sv[0], SHUT_WR) == 0);
    n = recv(sv[1], buf, 30, MSG_WAITALL);
    printf("MSG_WAITALL at EOF: %zd\n", n);
    close(sv[0]);
    close(sv[1]);

    /* SO_RCVTIMEO: EAGAIN after the timeout, not before. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    struct timeval tv = {0, 200 * 1000};
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    struct timeval back;
    socklen_t bl = sizeof back;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &back, &bl) == 0);
    printf("SO_RCVTIMEO: %ld.%06ld len %u\n", (long)back.tv_sec, (long)back.tv_usec, (unsigned)bl);
    long t0 = now_ms();
    errno = 0;
    n = read(sv[0], buf, sizeof buf);
    long waited = now_ms() - t0;
    printf("timed out: %zd %s not early %d\n", n, errno == EAGAIN ? "EAGAIN" : strerror(errno),
           waited >= 195);
    struct timeval bad = {0, 1000000};
    CHECK_ERR(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof bad), EDOM);
    CHECK_ERR(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &bad, 8), EINVAL);
    /* SO_SNDTIMEO on a full stream. */
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0);
    static char chunk[65536];
    long total = 0;
    t0 = now_ms();
    for (int i = 0; i < 1000; i++) {
        n = write(sv[0], chunk, sizeof chunk);
        if (n < 0)
            break;
        total += n;
    }
    waited = now_ms() - t0;
    printf("send timed out: %s not early %d\n", errno == EAGAIN ? "EAGAIN" : strerror(errno),
           waited >= 195);
    close(sv[0]);
    close(sv[1]);

    /* sendmsg/recvmsg with iovecs. */
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
    struct iovec out[3] = {{"ab", 2}, {"", 0}, {"cdefg", 5}};
    struct msghdr m = {.msg_iov = out, .msg_iovlen = 3};
    CHECK(sendmsg(sv[0], &m, 0) == 7);
    char x[3], y[10];
    struct iovec in[2] = {{x, 3}, {y, 10}};
    struct msghdr r = {.msg_iov = in, .msg_iovlen = 2, .msg_namelen = 77};
    n = recvmsg(sv[1], &r, 0);
    printf("recvmsg iovecs: %zd '%.3s' '%.4s' flags %#x namelen %u\n", n, x, y,
           (unsigned)r.msg_flags, (unsigned)r.msg_namelen);
    struct iovec huge[1025];
    for (int i = 0; i < 1025; i++)
        huge[i] = (struct iovec){"z", 1};
    m.msg_iov = huge;
    m.msg_iovlen = 1025;
    CHECK_ERR(sendmsg(sv[0], &m, 0), EMSGSIZE);
    close(sv[0]);
    close(sv[1]);

    /* sendmmsg/recvmmsg on datagrams. */
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    struct mmsghdr mm[3];
    struct iovec mi[3] = {{"first", 5}, {"2nd", 3}, {"third!", 6}};
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        mm[i].msg_hdr.msg_iov = &mi[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    n = sendmmsg(sv[0], mm, 3, 0);
    printf("sendmmsg: %zd lens %u %u %u\n", n, mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
    char rb[4][16];
    struct iovec ri[4];
    struct mmsghdr rm[4];
    memset(rm, 0, sizeof rm);
    for (int i = 0; i < 4; i++) {
        ri[i] = (struct iovec){rb[i], sizeof rb[i]};
        rm[i].msg_hdr.msg_iov = &ri[i];
        rm[i].msg_hdr.msg_iovlen = 1;
    }
    n = recvmmsg(sv[1], rm, 4, MSG_DONTWAIT, NULL);
    printf("recvmmsg: %zd lens %u %u %u '%.6s'\n", n, rm[0].msg_len, rm[1].msg_len, rm[2].msg_len,
           rb[2]);
    CHECK_ERR(recvmmsg(sv[1], rm, 4, MSG_DONTWAIT, NULL), EAGAIN);
    CHECK(send(sv[0], "w1", 2, 0) == 2);
    n = recvmmsg(sv[1], rm, 4, MSG_WAITFORONE, NULL);
    printf("recvmmsg MSG_WAITFORONE: %zd\n", n);
    close(sv[0]);
    close(sv[1]);
}

/* ---- SCM_RIGHTS ---- */

static void rights_mode(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    char c = 'r';
    struct iovec iov = {&c, 1};
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                       .msg_controllen = sizeof u.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
    memcpy(CMSG_DATA(cm), pfd, 2 * sizeof(int));
    CHECK(sendmsg(sv[0], &m, 0) == 1);
    /* The files travel: closing ours leaves the receiver's. */
    close(pfd[0]);
    close(pfd[1]);
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } r;
    memset(&r, 0, sizeof r);
    char got;
    struct iovec riov = {&got, 1};
    struct msghdr rm = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = r.buf,
                        .msg_controllen = sizeof r.buf};
    ssize_t n = recvmsg(sv[1], &rm, MSG_CMSG_CLOEXEC);
    struct cmsghdr *rc = CMSG_FIRSTHDR(&rm);
    printf("SCM_RIGHTS: %zd controllen %zu type %d len %zu flags %#x\n", n,
           (size_t)rm.msg_controllen, rc ? rc->cmsg_type : -1, rc ? (size_t)rc->cmsg_len : 0,
           (unsigned)rm.msg_flags);
    int fds[2] = {-1, -1};
    if (rc)
        memcpy(fds, CMSG_DATA(rc), sizeof fds);
    printf("received fds cloexec %d\n", (fcntl(fds[0], F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(write(fds[1], "via", 3) == 3);
    char buf[8];
    CHECK(read(fds[0], buf, sizeof buf) == 3);
    close(fds[0]);
    close(fds[1]);
    /* MSG_PEEK passes the files too (new fds), and the real read again. */
    CHECK(pipe(pfd) == 0);
    memcpy(CMSG_DATA(cm), pfd, 2 * sizeof(int));
    CHECK(sendmsg(sv[0], &m, 0) == 1);
    close(pfd[0]);
    close(pfd[1]);
    int peeked[2] = {-1, -1}, taken[2] = {-1, -1};
    rm.msg_controllen = sizeof r.buf;
    CHECK(recvmsg(sv[1], &rm, MSG_PEEK) == 1);
    if (CMSG_FIRSTHDR(&rm))
        memcpy(peeked, CMSG_DATA(CMSG_FIRSTHDR(&rm)), sizeof peeked);
    rm.msg_controllen = sizeof r.buf;
    CHECK(recvmsg(sv[1], &rm, 0) == 1);
    if (CMSG_FIRSTHDR(&rm))
        memcpy(taken, CMSG_DATA(CMSG_FIRSTHDR(&rm)), sizeof taken);
    printf("MSG_PEEK with SCM_RIGHTS: peeked fds valid %d, read fds valid %d, distinct %d\n",
           fcntl(peeked[0], F_GETFD) >= 0, fcntl(taken[0], F_GETFD) >= 0, peeked[0] != taken[0]);
    for (int i = 0; i < 2; i++) {
        close(peeked[i]);
        close(taken[i]);
    }
    /* Too small a control buffer: MSG_CTRUNC, the fds are closed. */
    CHECK(pipe(pfd) == 0);
    memcpy(CMSG_DATA(cm), pfd, 2 * sizeof(int));
    CHECK(sendmsg(sv[0], &m, 0) == 1);
    close(pfd[0]);
    close(pfd[1]);
    rm.msg_controllen = CMSG_LEN(sizeof(int));
    n = recvmsg(sv[1], &rm, 0);
    printf("short control: %zd controllen %zu MSG_CTRUNC %d\n", n, (size_t)rm.msg_controllen,
           (rm.msg_flags & MSG_CTRUNC) != 0);
    int extra = -1;
    memcpy(&extra, CMSG_DATA(CMSG_FIRSTHDR(&rm)), sizeof extra);
    close(extra);
    /* SO_PASSCRED: credentials first, then the files; a sender with it takes a name. */
    int one = 1;
    CHECK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0);
    CHECK(pipe(pfd) == 0);
    cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
    memcpy(CMSG_DATA(cm), pfd, 2 * sizeof(int));
    CHECK(sendmsg(sv[0], &m, 0) == 1);
    close(pfd[0]);
    close(pfd[1]);
    union {
        char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } both;
    memset(&both, 0, sizeof both);
    rm.msg_control = both.buf;
    rm.msg_controllen = sizeof both.buf;
    n = recvmsg(sv[1], &rm, 0);
    struct cmsghdr *first = CMSG_FIRSTHDR(&rm);
    struct cmsghdr *second = first ? CMSG_NXTHDR(&rm, first) : NULL;
    struct ucred uc = {0};
    if (first && first->cmsg_type == SCM_CREDENTIALS)
        memcpy(&uc, CMSG_DATA(first), sizeof uc);
    printf("SO_PASSCRED: %zd controllen %zu first %d (pid mine %d uid %d gid %d) second %d len %zu\n",
           n, (size_t)rm.msg_controllen, first ? first->cmsg_type : -1, uc.pid == getpid(),
           (int)uc.uid, (int)uc.gid, second ? second->cmsg_type : -1,
           second ? (size_t)second->cmsg_len : 0);
    if (second) {
        memcpy(fds, CMSG_DATA(second), sizeof fds);
        close(fds[0]);
        close(fds[1]);
    }
    rm.msg_control = r.buf;
    int d1 = socket(AF_UNIX, SOCK_DGRAM, 0), d2 = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un dn;
    socklen_t dnl;
    abstract_name(&dn, &dnl, "cred");
    CHECK(bind(d2, (struct sockaddr *)&dn, dnl) == 0);
    CHECK(setsockopt(d1, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0);
    struct sockaddr_un dname;
    socklen_t dlen = sizeof dname;
    CHECK(getsockname(d1, (struct sockaddr *)&dname, &dlen) == 0);
    printf("SO_PASSCRED sender before sending: name length %u", (unsigned)dlen);
    CHECK(sendto(d1, "c", 1, 0, (struct sockaddr *)&dn, dnl) == 1);
    dlen = sizeof dname;
    CHECK(getsockname(d1, (struct sockaddr *)&dname, &dlen) == 0);
    printf(", after %u\n", (unsigned)dlen);
    close(d1);
    close(d2);
    /* Bad fds and headers. */
    int bad[2] = {999, 998};
    memcpy(CMSG_DATA(cm), bad, sizeof bad);
    CHECK_ERR(sendmsg(sv[0], &m, 0), EBADF);
    cm->cmsg_len = 8;
    CHECK_ERR(sendmsg(sv[0], &m, 0), EINVAL);
    close(sv[0]);
    close(sv[1]);
}

/* ---- options ---- */

static void options_mode(void)
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    int v;
    socklen_t vl = sizeof v;
    static const int names[] = {SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_BROADCAST};
    static const char *labels[] = {"SO_REUSEADDR", "SO_REUSEPORT", "SO_KEEPALIVE", "SO_BROADCAST"};
    for (int i = 0; i < 4; i++) {
        vl = sizeof v;
        CHECK(getsockopt(s, SOL_SOCKET, names[i], &v, &vl) == 0);
        int before = v;
        v = 5;
        errno = 0;
        int r = setsockopt(s, SOL_SOCKET, names[i], &v, sizeof v);
        printf("set %s: %d %s\n", labels[i], r, r ? strerror(errno) : "");
        vl = sizeof v;
        CHECK(getsockopt(s, SOL_SOCKET, names[i], &v, &vl) == 0);
        printf("%s: %d -> %d\n", labels[i], before, v);
    }
    v = 10000;
    CHECK(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v) == 0);
    vl = sizeof v;
    CHECK(getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &vl) == 0);
    printf("SO_SNDBUF 10000 -> %d\n", v);
    v = 1;
    CHECK(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v) == 0);
    vl = sizeof v;
    CHECK(getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &vl) == 0);
    printf("SO_SNDBUF 1 -> %d\n", v);
    v = 1;
    CHECK(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v) == 0);
    vl = sizeof v;
    CHECK(getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &vl) == 0);
    printf("SO_RCVBUF 1 -> %d\n", v);
    v = 50000;
    CHECK(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v) == 0);
    vl = sizeof v;
    CHECK(getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &vl) == 0);
    printf("SO_RCVBUF 50000 -> %d\n", v);
    static const int ints[] = {SO_PRIORITY, SO_MARK, SO_RCVLOWAT, SO_RCVLOWAT, SO_RCVLOWAT};
    static const int values[] = {5, 42, 0, -3, 100};
    static const char *int_labels[] = {"SO_PRIORITY", "SO_MARK", "SO_RCVLOWAT", "SO_RCVLOWAT",
                                       "SO_RCVLOWAT"};
    for (int i = 0; i < 5; i++) {
        v = values[i];
        errno = 0;
        int r = setsockopt(s, SOL_SOCKET, ints[i], &v, sizeof v);
        vl = sizeof v;
        v = -99;
        CHECK(getsockopt(s, SOL_SOCKET, ints[i], &v, &vl) == 0);
        printf("%s %d: set %d, reads %d\n", int_labels[i], values[i], r, v);
    }
    struct linger lg = {1, 7}, lb;
    CHECK(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    vl = sizeof lb;
    CHECK(getsockopt(s, SOL_SOCKET, SO_LINGER, &lb, &vl) == 0);
    printf("SO_LINGER: %d %d len %u\n", lb.l_onoff, lb.l_linger, (unsigned)vl);
    vl = sizeof v;
    CHECK(getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &vl) == 0);
    printf("SO_ERROR %d\n", v);
    /* A short option buffer is cut. */
    char one = 0x55;
    vl = 1;
    CHECK(getsockopt(s, SOL_SOCKET, SO_TYPE, &one, &vl) == 0);
    printf("SO_TYPE into 1 byte: %d len %u\n", one, (unsigned)vl);
    /* Unconnected: SO_PEERCRED has no peer. */
    struct ucred cred;
    vl = sizeof cred;
    CHECK(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &vl) == 0);
    printf("unconnected SO_PEERCRED: pid %d uid %d gid %d\n", cred.pid, (int)cred.uid,
           (int)cred.gid);
    close(s);
    /* Shutdown of an unconnected unix socket succeeds. */
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(shutdown(s, SHUT_RDWR) == 0);
    close(s);
}

/* A stream write to a closed peer raises SIGPIPE (the default action ends the program). */
static void sigpipe_mode(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    close(sv[1]);
    printf("writing to a closed peer\n");
    ssize_t n = write(sv[0], "x", 1);
    printf("still alive: %zd\n", n);
}

/* ---- closing with data or connections left; shutdown(SHUT_RD); sendfile ---- */

static void close_mode(void)
{
    signal(SIGPIPE, SIG_IGN);
    int sv[2];
    char buf[16];
    /* Closing with unread data resets the peer: ECONNRESET once, then EOF. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(write(sv[1], "unread", 6) == 6);
    close(sv[0]);
    printf("peer closed with data unread: poll %#x, ", poll_events(sv[1]));
    errno = 0;
    ssize_t n = read(sv[1], buf, sizeof buf);
    printf("read %zd %s", n, n < 0 ? strerror(errno) : "");
    n = read(sv[1], buf, sizeof buf);
    printf(", then %zd, poll %#x\n", n, poll_events(sv[1]));
    close(sv[1]);
    /* Shutting the read side makes the peer's writes EPIPE; data sent before stays readable. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(write(sv[1], "before", 6) == 6);
    CHECK(shutdown(sv[0], SHUT_RD) == 0);
    CHECK_ERR(write(sv[1], "after", 5), EPIPE);
    n = read(sv[0], buf, sizeof buf);
    printf("SHUT_RD: peer write EPIPE, read %zd then %zd\n", n, read(sv[0], buf, sizeof buf));
    close(sv[0]);
    close(sv[1]);
    /* A listener closed with a connection not yet accepted: the client is reset. */
    struct sockaddr_un a;
    socklen_t alen;
    tmp_path(&a, &alen, "close");
    int l = listener(&a, alen, SOCK_STREAM, 4);
    int c = connect_to(&a, alen, SOCK_STREAM);
    CHECK(write(c, "lost", 4) == 4);
    close(l);
    errno = 0;
    n = read(c, buf, sizeof buf);
    printf("listener closed before accept: read %zd %s", n, n < 0 ? strerror(errno) : "");
    n = read(c, buf, sizeof buf);
    printf(", then %zd", n);
    errno = 0;
    n = write(c, "x", 1);
    printf(", write %zd %s\n", n, n < 0 ? strerror(errno) : "");
    close(c);
    unlink(a.sun_path);
    /* A datagram socket connected to another takes datagrams only from it. */
    struct sockaddr_un x, y;
    socklen_t xlen, ylen;
    tmp_path(&x, &xlen, "dx");
    tmp_path(&y, &ylen, "dy");
    int dx = socket(AF_UNIX, SOCK_DGRAM, 0), dy = socket(AF_UNIX, SOCK_DGRAM, 0);
    int dz = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(bind(dx, (struct sockaddr *)&x, xlen) == 0);
    CHECK(bind(dy, (struct sockaddr *)&y, ylen) == 0);
    CHECK(connect(dx, (struct sockaddr *)&y, ylen) == 0);
    CHECK_ERR(sendto(dz, "z", 1, 0, (struct sockaddr *)&x, xlen), EPERM);
    CHECK(sendto(dy, "y", 1, 0, (struct sockaddr *)&x, xlen) == 1);
    CHECK(recv(dx, buf, sizeof buf, 0) == 1);
    struct sockaddr_un peer;
    socklen_t plen = sizeof peer;
    CHECK(getpeername(dx, (struct sockaddr *)&peer, &plen) == 0);
    printf("connected datagram peer: same name %d\n", plen == ylen && strcmp(peer.sun_path, y.sun_path) == 0);
    /* AF_UNSPEC dissolves the association. */
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    CHECK(connect(dx, &unspec, sizeof unspec) == 0);
    plen = sizeof peer;
    CHECK_ERR(getpeername(dx, (struct sockaddr *)&peer, &plen), ENOTCONN);
    CHECK(sendto(dz, "z", 1, 0, (struct sockaddr *)&x, xlen) == 1);
    /* The receiver gone: ECONNREFUSED. */
    close(dx);
    CHECK_ERR(sendto(dz, "z", 1, 0, (struct sockaddr *)&x, xlen), ECONNREFUSED);
    close(dy);
    close(dz);
    unlink(x.sun_path);
    unlink(y.sun_path);
    /* sendfile from a file into a socket. */
    char path[64];
    snprintf(path, sizeof path, "/tmp/ft-unix-file-%d", (int)getpid());
    int f = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(f >= 0);
    static char data[100000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i % 251);
    CHECK(write(f, data, sizeof data) == (ssize_t)sizeof data);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    off_t off = 0;
    n = sendfile(sv[0], f, &off, sizeof data);
    printf("sendfile: %zd offset %ld\n", n, (long)off);
    static char back[100000];
    CHECK(read_full(sv[1], back, sizeof back) == sizeof back && memcmp(back, data, sizeof data) == 0);
    close(f);
    unlink(path);
    close(sv[0]);
    close(sv[1]);
}

/* ---- shutting a listener down wakes its blocked acceptors ---- */

static int shut_listener;

static void *blocked_accept(void *arg)
{
    (void)arg;
    errno = 0;
    int r = accept(shut_listener, NULL, NULL);
    printf("blocked accept after shutdown: %d %s\n", r, r < 0 ? strerror(errno) : "");
    return NULL;
}

static void shutdown_listener_mode(void)
{
    struct sockaddr_un a;
    socklen_t alen;
    abstract_name(&a, &alen, "shut");
    shut_listener = listener(&a, alen, SOCK_STREAM, 4);
    int early = connect_to(&a, alen, SOCK_STREAM);
    int first = accept(shut_listener, NULL, NULL);
    CHECK(first >= 0);
    pthread_t t = start(blocked_accept, NULL);
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    CHECK(shutdown(shut_listener, SHUT_RDWR) == 0);
    pthread_join(t, NULL);
    printf("listener after shutdown: poll %#x\n", poll_events(shut_listener));
    CHECK_ERR(accept(shut_listener, NULL, NULL), EINVAL);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(connect(c, (struct sockaddr *)&a, alen), ECONNREFUSED);
    close(c);
    close(early);
    close(first);
    close(shut_listener);
}

/* ---- out-of-band data on streams (MSG_OOB, SO_OOBINLINE, SIOCATMARK, POLLPRI) ---- */

static void oob_read(int fd, int flags, const char *what)
{
    char b[16];
    errno = 0;
    ssize_t n = recv(fd, b, sizeof b, flags | MSG_DONTWAIT);
    printf("%s: %zd '%.*s' %s\n", what, n, n > 0 ? (int)n : 0, b, n < 0 ? strerror(errno) : "");
}

static int at_mark(int fd)
{
    int at = -1;
    CHECK(ioctl(fd, SIOCATMARK, &at) == 0);
    return at;
}

static void oob_mode(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    printf("send MSG_OOB: %zd\n", send(sv[0], "abcX", 4, MSG_OOB));
    CHECK(send(sv[0], "def", 3, 0) == 3);
    struct pollfd p = {sv[1], POLLIN | POLLPRI, 0};
    CHECK(poll(&p, 1, 0) == 1);
    printf("poll %#x atmark %d\n", (unsigned)p.revents, at_mark(sv[1]));
    oob_read(sv[1], 0, "up to the mark");
    printf("atmark %d\n", at_mark(sv[1]));
    char b[4];
    struct iovec iov = {b, sizeof b};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n = recvmsg(sv[1], &m, MSG_OOB);
    printf("recvmsg MSG_OOB: %zd '%c' MSG_OOB in flags %d\n", n, b[0], (m.msg_flags & MSG_OOB) != 0);
    oob_read(sv[1], 0, "after the mark");
    oob_read(sv[1], MSG_OOB, "no more out-of-band");
    close(sv[0]);
    close(sv[1]);
    /* Reading past the mark without MSG_OOB drops the byte. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(send(sv[0], "ab", 2, MSG_OOB) == 2);
    CHECK(send(sv[0], "cd", 2, 0) == 2);
    oob_read(sv[1], 0, "dropped: first");
    oob_read(sv[1], 0, "dropped: second");
    oob_read(sv[1], MSG_OOB, "dropped: MSG_OOB");
    close(sv[0]);
    close(sv[1]);
    /* SO_OOBINLINE: the byte stays in the stream; reads still stop at the mark. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int one = 1;
    CHECK(setsockopt(sv[1], SOL_SOCKET, SO_OOBINLINE, &one, sizeof one) == 0);
    CHECK(send(sv[0], "xyZ", 3, MSG_OOB) == 3);
    CHECK(send(sv[0], "w", 1, 0) == 1);
    printf("inline: atmark %d\n", at_mark(sv[1]));
    oob_read(sv[1], MSG_OOB, "inline: MSG_OOB");
    oob_read(sv[1], 0, "inline: first");
    printf("inline: atmark %d\n", at_mark(sv[1]));
    oob_read(sv[1], 0, "inline: second");
    close(sv[0]);
    close(sv[1]);
    /* A second out-of-band byte makes the first ordinary data. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(send(sv[0], "1A", 2, MSG_OOB) == 2);
    CHECK(send(sv[0], "2B", 2, MSG_OOB) == 2);
    oob_read(sv[1], MSG_OOB, "two: MSG_OOB");
    oob_read(sv[1], 0, "two: first");
    oob_read(sv[1], 0, "two: second");
    close(sv[0]);
    close(sv[1]);
    /* MSG_PEEK, an empty MSG_OOB send, and a lone out-of-band byte. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(send(sv[0], "pq", 2, MSG_OOB) == 2);
    oob_read(sv[1], MSG_OOB | MSG_PEEK, "peek: MSG_OOB");
    oob_read(sv[1], MSG_PEEK, "peek: data");
    oob_read(sv[1], 0, "peek: read");
    oob_read(sv[1], MSG_OOB, "peek: MSG_OOB read");
    CHECK_ERR(send(sv[0], "", 0, MSG_OOB), EOPNOTSUPP);
    close(sv[0]);
    close(sv[1]);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(send(sv[0], "k", 1, MSG_OOB) == 1);
    oob_read(sv[1], 0, "lone byte, ordinary read");
    p.fd = sv[1];
    printf("lone byte: poll %d\n", poll(&p, 1, 0));
    close(sv[0]);
    close(sv[1]);
    /* Not on datagrams or packets. */
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
    CHECK_ERR(send(sv[0], "x", 1, MSG_OOB), EOPNOTSUPP);
    close(sv[0]);
    close(sv[1]);
}

/* ---- signals: EINTR, SA_RESTART, and the timeout exception ---- */

static void on_signal(int sig)
{
    (void)sig;
}

struct kick {
    pthread_t target;
    int fd; /* written after the signal when >= 0 */
};

static void *kick_later(void *arg)
{
    struct kick *k = arg;
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
    pthread_kill(k->target, SIGUSR1);
    nanosleep(&ts, NULL);
    if (k->fd >= 0)
        CHECK(write(k->fd, "late", 4) == 4);
    return NULL;
}

static void handler(int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
}

static void eintr_mode(void)
{
    int sv[2];
    char buf[8];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    handler(0);
    struct kick k = {pthread_self(), sv[1]};
    pthread_t t = start(kick_later, &k);
    errno = 0;
    ssize_t n = read(sv[0], buf, sizeof buf);
    printf("no SA_RESTART: %zd %s\n", n, n < 0 ? strerror(errno) : "");
    pthread_join(t, NULL);
    CHECK(read(sv[0], buf, sizeof buf) == 4);
    handler(SA_RESTART);
    t = start(kick_later, &k);
    n = read(sv[0], buf, sizeof buf);
    printf("SA_RESTART: %zd\n", n);
    pthread_join(t, NULL);
    /* With a receive timeout the call is not restarted (Linux's sock_intr_errno). */
    struct timeval tv = {5, 0};
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    t = start(kick_later, &k);
    errno = 0;
    n = read(sv[0], buf, sizeof buf);
    printf("SA_RESTART with SO_RCVTIMEO: %zd %s\n", n, n < 0 ? strerror(errno) : "");
    pthread_join(t, NULL);
    CHECK(read(sv[0], buf, sizeof buf) == 4);
    /* poll on a listening socket is interrupted (poll never restarts), then the socket works. */
    struct sockaddr_un a;
    socklen_t alen;
    tmp_path(&a, &alen, "eintr");
    int l = listener(&a, alen, SOCK_STREAM, 4);
    struct kick k2 = {pthread_self(), -1};
    t = start(kick_later, &k2);
    int c = -1;
    struct pollfd p = {l, POLLIN, 0};
    handler(0);
    errno = 0;
    int r = poll(&p, 1, 5000);
    printf("poll without SA_RESTART: %d %s\n", r, r < 0 ? strerror(errno) : "");
    pthread_join(t, NULL);
    c = connect_to(&a, alen, SOCK_STREAM);
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0);
    close(s);
    close(c);
    close(l);
    unlink(a.sun_path);
    close(sv[0]);
    close(sv[1]);
}

/* ---- many threads at once (for the multi-CPU runs) ---- */

#define STRESS_THREADS 6
#define STRESS_ROUNDS 150

static struct sockaddr_un stress_addr;
static socklen_t stress_len;

static void *stress_client(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < STRESS_ROUNDS; i++) {
        int c = connect_to(&stress_addr, stress_len, SOCK_STREAM);
        uint32_t v = (uint32_t)(id * 100000 + i), back = 0;
        write_all(c, &v, sizeof v);
        CHECK(read_full(c, &back, sizeof back) == sizeof back && back == v + 1);
        close(c);
    }
    return NULL;
}

static void *stress_server(void *arg)
{
    int l = (int)(long)arg;
    for (int i = 0; i < STRESS_ROUNDS; i++) {
        int s = accept(l, NULL, NULL);
        CHECKF(s >= 0, "accept: %s", strerror(errno));
        uint32_t v = 0;
        CHECK(read_full(s, &v, sizeof v) == sizeof v);
        v++;
        write_all(s, &v, sizeof v);
        /* The client closes first: EOF. */
        char b;
        CHECK(read(s, &b, 1) == 0);
        close(s);
    }
    return NULL;
}

struct dgram_sender {
    int fd;
    int count;
};

static void *send_datagrams(void *arg)
{
    struct dgram_sender *d = arg;
    for (int i = 0; i < d->count; i++) {
        char msg[64];
        int len = snprintf(msg, sizeof msg, "datagram %d", i);
        CHECK(sendto(d->fd, msg, (size_t)len, 0, (struct sockaddr *)&stress_addr, stress_len) ==
              len);
    }
    return NULL;
}

static void stress_mode(void)
{
    tmp_path(&stress_addr, &stress_len, "stress");
    int l = listener(&stress_addr, stress_len, SOCK_STREAM, 16);
    pthread_t clients[STRESS_THREADS], servers[STRESS_THREADS];
    for (long i = 0; i < STRESS_THREADS; i++) {
        servers[i] = start(stress_server, (void *)(long)l);
        clients[i] = start(stress_client, (void *)i);
    }
    for (int i = 0; i < STRESS_THREADS; i++) {
        pthread_join(clients[i], NULL);
        pthread_join(servers[i], NULL);
    }
    printf("%d connections served\n", STRESS_THREADS * STRESS_ROUNDS);
    close(l);
    unlink(stress_addr.sun_path);

    /* Several blocking senders into one bound datagram socket (its queue fills and drains). */
    int r = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(bind(r, (struct sockaddr *)&stress_addr, stress_len) == 0);
    pthread_t senders[STRESS_THREADS];
    struct dgram_sender d[STRESS_THREADS];
    for (int i = 0; i < STRESS_THREADS; i++) {
        d[i].fd = socket(AF_UNIX, SOCK_DGRAM, 0);
        d[i].count = 300;
        senders[i] = start(send_datagrams, &d[i]);
    }
    int got = 0;
    char buf[64];
    while (got < STRESS_THREADS * 300) {
        ssize_t n = recv(r, buf, sizeof buf, 0);
        CHECK(n > 9 && memcmp(buf, "datagram ", 9) == 0);
        got++;
    }
    for (int i = 0; i < STRESS_THREADS; i++) {
        pthread_join(senders[i], NULL);
        close(d[i].fd);
    }
    CHECK_ERR(recv(r, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    printf("%d datagrams received\n", got);
    close(r);
    unlink(stress_addr.sun_path);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (MODE_IS("pair"))
        pair_mode();
    else if (MODE_IS("server"))
        server_mode();
    else if (MODE_IS("abstract"))
        abstract_mode();
    else if (MODE_IS("errors"))
        errors_mode();
    else if (MODE_IS("nonblock"))
        nonblock_mode();
    else if (MODE_IS("poll"))
        poll_mode();
    else if (MODE_IS("flags"))
        flags_mode();
    else if (MODE_IS("rights"))
        rights_mode();
    else if (MODE_IS("options"))
        options_mode();
    else if (MODE_IS("sigpipe"))
        sigpipe_mode();
    else if (MODE_IS("close"))
        close_mode();
    else if (MODE_IS("shutdown-listener"))
        shutdown_listener_mode();
    else if (MODE_IS("oob"))
        oob_mode();
    else if (MODE_IS("eintr"))
        eintr_mode();
    else if (MODE_IS("stress"))
        stress_mode();
    else {
        printf("unknown mode\n");
        return 2;
    }
    return check_finish();
}
