/* epoll: level-triggered, edge-triggered and one-shot semantics (table-driven, on pipes and
 * eventfds), hang-up and error events, epoll_ctl's errors, nested instances, closing a registered
 * file, many threads on one instance, EPOLLEXCLUSIVE, 10,000 registered fds with one active, and
 * timeouts. Modes: table, hup, ctl_errors, nested, close, threads_lt, threads_et,
 * threads_oneshot, churn, exclusive, many, timeout, sigmask. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static const char *event_names(uint32_t e)
{
    static char buf[128];
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {
        {EPOLLIN, "IN"},   {EPOLLPRI, "PRI"},       {EPOLLOUT, "OUT"},       {EPOLLERR, "ERR"},
        {EPOLLHUP, "HUP"}, {EPOLLRDNORM, "RDNORM"}, {EPOLLWRNORM, "WRNORM"}, {EPOLLRDHUP, "RDHUP"},
    };
    buf[0] = 0;
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (e & names[i].bit) {
            if (buf[0])
                strcat(buf, "|");
            strcat(buf, names[i].name);
            e &= ~names[i].bit;
        }
    }
    if (e)
        sprintf(buf + strlen(buf), "%s0x%x", buf[0] ? "|" : "", e);
    if (!buf[0])
        strcpy(buf, "-");
    return buf;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* One epoll_wait with no waiting: "n events" and the first one's events. */
static int wait_now(int ep, struct epoll_event *ev)
{
    memset(ev, 0, sizeof *ev);
    return epoll_wait(ep, ev, 1, 0);
}

static void write_eventfd(int fd, uint64_t v)
{
    CHECK(write(fd, &v, 8) == 8);
}

/* ---- table: what successive epoll_waits report ---- */

enum action { WAIT, WRITE, READ_PART, READ_ALL, REARM, CLOSE_WRITER };

static const char *action_names[] = {"wait", "write", "read part", "read all", "mod (rearm)",
                                     "close writer"};

struct step {
    enum action action;
    /* Expected reports for LT, ET, ONESHOT: -1 none, else the events. */
    int expect[3];
};

#define NONE (-1)
#define IN EPOLLIN
#define INOUT (EPOLLIN | EPOLLOUT)

static const struct step pipe_table[] = {
    {WAIT, {NONE, NONE, NONE}},
    {WRITE, {IN, IN, IN}},
    {WAIT, {IN, NONE, NONE}},
    {READ_PART, {IN, NONE, NONE}},
    {WRITE, {IN, IN, NONE}},
    {REARM, {IN, IN, IN}},
    {WAIT, {IN, NONE, NONE}},
    {READ_ALL, {NONE, NONE, NONE}},
    {WRITE, {IN, IN, NONE}},
    {READ_ALL, {NONE, NONE, NONE}},
    {REARM, {NONE, NONE, NONE}},
    {CLOSE_WRITER, {EPOLLHUP, EPOLLHUP, EPOLLHUP}},
    {WAIT, {EPOLLHUP, NONE, NONE}},
};

/* An eventfd watched for EPOLLIN|EPOLLOUT: always writable, readable while the count is > 0. */
static const struct step eventfd_table[] = {
    {WAIT, {EPOLLOUT, EPOLLOUT, EPOLLOUT}},
    {WAIT, {EPOLLOUT, NONE, NONE}},
    {WRITE, {INOUT, INOUT, NONE}},
    {WAIT, {INOUT, NONE, NONE}},
    {READ_ALL, {EPOLLOUT, EPOLLOUT, NONE}},
    {REARM, {EPOLLOUT, EPOLLOUT, EPOLLOUT}},
    {WRITE, {INOUT, INOUT, NONE}},
    {WRITE, {INOUT, INOUT, NONE}},
    {REARM, {INOUT, INOUT, INOUT}},
    {READ_ALL, {EPOLLOUT, EPOLLOUT, NONE}},
};

static const char *mode_names[] = {"LT", "ET", "ONESHOT"};
static const uint32_t mode_flags[] = {0, EPOLLET, EPOLLONESHOT};

static void run_table(const char *what, const struct step *steps, int nsteps, int use_eventfd)
{
    for (int mode = 0; mode < 3; mode++) {
        int rd, wr, fds[2] = {-1, -1};
        if (use_eventfd) {
            rd = wr = eventfd(0, EFD_NONBLOCK);
            CHECK(rd >= 0);
        } else {
            CHECK(pipe2(fds, O_NONBLOCK) == 0);
            rd = fds[0];
            wr = fds[1];
        }
        uint32_t watch = (use_eventfd ? EPOLLIN | EPOLLOUT : EPOLLIN) | mode_flags[mode];
        int ep = epoll_create1(0);
        CHECK(ep >= 0);
        struct epoll_event ev = {.events = watch, .data.u64 = 0x1234567890abcdefull};
        CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, rd, &ev) == 0);
        for (int i = 0; i < nsteps; i++) {
            const struct step *s = &steps[i];
            char buf[16];
            switch (s->action) {
            case WAIT:
                break;
            case WRITE:
                if (use_eventfd)
                    write_eventfd(wr, 2);
                else
                    CHECK(write(wr, "abc", 3) == 3);
                break;
            case READ_PART:
                CHECK(read(rd, buf, 1) == 1);
                break;
            case READ_ALL:
                CHECK(read(rd, buf, sizeof buf) > 0);
                break;
            case REARM:
                ev.events = watch;
                CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, rd, &ev) == 0);
                break;
            case CLOSE_WRITER:
                close(wr);
                break;
            }
            struct epoll_event got;
            int n = wait_now(ep, &got);
            printf("%s %s %-2d %-12s -> %s\n", what, mode_names[mode], i, action_names[s->action],
                   n == 0 ? "none" : event_names(got.events));
            int expect = s->expect[mode];
            if (expect == NONE) {
                CHECKF(n == 0, "%s %s step %d: n=%d events=%s", what, mode_names[mode], i, n,
                       event_names(got.events));
            } else {
                CHECKF(n == 1 && got.events == (uint32_t)expect, "%s %s step %d: n=%d events=%s",
                       what, mode_names[mode], i, n, event_names(got.events));
                CHECK(got.data.u64 == 0x1234567890abcdefull);
            }
        }
        close(ep);
        close(rd);
        if (!use_eventfd)
            close(wr); /* EBADF after CLOSE_WRITER: harmless */
    }
}

/* Level-triggered items take turns when fewer events are asked for than are ready: a reported
 * item goes back at the tail of the ready list. */
static void test_turns(void)
{
    int ep = epoll_create1(0), efd[3];
    for (int i = 0; i < 3; i++) {
        efd[i] = eventfd(1, 0);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd[i], &ev) == 0);
    }
    char order[16] = {0};
    for (int round = 0; round < 7; round++) {
        struct epoll_event ev;
        CHECK(epoll_wait(ep, &ev, 1, 0) == 1);
        order[round] = '0' + ev.data.u32;
    }
    printf("maxevents 1, three ready: %s\n", order);
    CHECK(strcmp(order, "0120120") == 0);
    struct epoll_event evs[2];
    CHECK(epoll_wait(ep, evs, 2, 0) == 2 && evs[0].data.u32 == 1 && evs[1].data.u32 == 2);
    close(ep);
    for (int i = 0; i < 3; i++)
        close(efd[i]);
}

static void test_table(void)
{
    run_table("pipe", pipe_table, sizeof pipe_table / sizeof pipe_table[0], 0);
    run_table("eventfd", eventfd_table, sizeof eventfd_table / sizeof eventfd_table[0], 1);
    test_turns();
}

/* ---- hang-ups and errors on pipe ends ---- */

static void test_hup(void)
{
    int fds[2];
    struct epoll_event ev, got;
    int ep = epoll_create1(0);

    /* The read end when the writer goes: EPOLLHUP (pipes do not report EPOLLRDHUP). */
    CHECK(pipe(fds) == 0);
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fds[0];
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev) == 0);
    CHECK(wait_now(ep, &got) == 0);
    CHECK(write(fds[1], "x", 1) == 1);
    close(fds[1]);
    CHECK(wait_now(ep, &got) == 1);
    printf("reader, data then writer closed: %s\n", event_names(got.events));
    CHECK(got.events == (EPOLLIN | EPOLLHUP));
    char c;
    CHECK(read(fds[0], &c, 1) == 1);
    CHECK(wait_now(ep, &got) == 1);
    printf("reader, drained: %s\n", event_names(got.events));
    CHECK(got.events == EPOLLHUP);
    /* Asking for nothing still reports the hang-up. */
    ev.events = 0;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, fds[0], &ev) == 0);
    CHECK(wait_now(ep, &got) == 1);
    printf("reader, events 0: %s\n", event_names(got.events));
    CHECK(got.events == EPOLLHUP);
    close(fds[0]);

    /* The write end when the reader goes: EPOLLOUT|EPOLLERR. */
    CHECK(pipe(fds) == 0);
    ev.events = EPOLLOUT | EPOLLET;
    ev.data.fd = fds[1];
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fds[1], &ev) == 0);
    CHECK(wait_now(ep, &got) == 1 && got.events == EPOLLOUT);
    CHECK(wait_now(ep, &got) == 0);
    close(fds[0]);
    CHECK(wait_now(ep, &got) == 1);
    printf("writer, reader closed: %s\n", event_names(got.events));
    CHECK(got.events == (EPOLLOUT | EPOLLERR));
    CHECK(got.data.fd == fds[1]);
    close(fds[1]);

    /* poll sees the same. */
    CHECK(pipe(fds) == 0);
    close(fds[1]);
    struct pollfd p = {.fd = fds[0], .events = POLLIN | POLLRDHUP};
    CHECK(poll(&p, 1, 0) == 1);
    printf("poll reader, writer closed: 0x%x\n", p.revents);
    CHECK(p.revents == POLLHUP);
    close(fds[0]);
    close(ep);
}

/* ---- epoll_ctl and epoll_wait errors ---- */

static const char *errno_name(int e)
{
    switch (e) {
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EEXIST: return "EEXIST";
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    case ELOOP: return "ELOOP";
    case EFAULT: return "EFAULT";
    case EINTR: return "EINTR";
    default: return "other";
    }
}

#define ERR_IS(call, err)                                                                 \
    do {                                                                                  \
        errno = 0;                                                                        \
        int r_ = (call);                                                                  \
        printf("%-60s -> %d %s\n", #call, r_, r_ < 0 ? errno_name(errno) : "");      \
        CHECKF(r_ == -1 && errno == (err), "%s: %d errno %d", #call, r_, errno);          \
    } while (0)

static void test_ctl_errors(void)
{
    int ep = epoll_create1(0), ep2 = epoll_create1(EPOLL_CLOEXEC);
    int fds[2], efd = eventfd(0, 0);
    CHECK(pipe(fds) == 0);
    CHECK(fcntl(ep, F_GETFD) == 0);
    CHECK(fcntl(ep2, F_GETFD) == FD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN}, evs[4];

    /* (musl's epoll_create calls epoll_create1.) */
    ERR_IS(syscall(SYS_epoll_create, 0), EINVAL);
    ERR_IS(syscall(SYS_epoll_create, -1), EINVAL);
    ERR_IS(epoll_create1(1), EINVAL);
    int old = syscall(SYS_epoll_create, 1);
    CHECK(old >= 0);
    close(old);

    ERR_IS(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev), EBADF);
    ERR_IS(epoll_ctl(999, EPOLL_CTL_ADD, fds[0], &ev), EBADF);
    ERR_IS(epoll_ctl(fds[1], EPOLL_CTL_ADD, fds[0], &ev), EINVAL);
    ERR_IS(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
    ERR_IS(epoll_ctl(ep, 99, fds[0], &ev), EINVAL);
    ERR_IS(epoll_ctl(ep, EPOLL_CTL_DEL, fds[0], NULL), ENOENT);
    ERR_IS(epoll_ctl(ep, EPOLL_CTL_MOD, fds[0], &ev), ENOENT);
    ERR_IS(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], (struct epoll_event *)8), EFAULT);
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev) == 0);
    ERR_IS(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev), EEXIST);
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, fds[0], &ev) == 0);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, fds[0], NULL) == 0);
    ERR_IS(epoll_ctl(ep, EPOLL_CTL_DEL, fds[0], NULL), ENOENT);

    /* EPOLLEXCLUSIVE: only with ADD, only with IN/OUT/ERR/HUP/WAKEUP/ET, never on an epoll. */
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0);
    ERR_IS(epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev), EINVAL);
    ev.events = EPOLLIN;
    ERR_IS(epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev), EINVAL);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL) == 0);
    ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
    ERR_IS(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), EINVAL);
    ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP;
    ERR_IS(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), EINVAL);
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ERR_IS(epoll_ctl(ep, EPOLL_CTL_ADD, ep2, &ev), EINVAL);
    ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLET | EPOLLWAKEUP;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL) == 0);

    /* Loops: ep2 in ep, then ep in ep2. */
    ev.events = EPOLLIN;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, ep2, &ev) == 0);
    ERR_IS(epoll_ctl(ep2, EPOLL_CTL_ADD, ep, &ev), ELOOP);
    int ep3 = epoll_create1(0);
    CHECK(epoll_ctl(ep2, EPOLL_CTL_ADD, ep3, &ev) == 0);
    ERR_IS(epoll_ctl(ep3, EPOLL_CTL_ADD, ep, &ev), ELOOP);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, ep2, NULL) == 0);
    CHECK(epoll_ctl(ep3, EPOLL_CTL_ADD, ep, &ev) == 0);
    close(ep3);

    /* epoll_wait's. */
    ERR_IS(epoll_wait(ep, evs, 0, 0), EINVAL);
    ERR_IS(epoll_wait(ep, evs, -1, 0), EINVAL);
    ERR_IS(epoll_wait(ep, evs, INT32_MAX / 12 + 1, 0), EINVAL);
    ERR_IS(epoll_wait(fds[0], evs, 4, 0), EINVAL);
    ERR_IS(epoll_wait(999, evs, 4, 0), EBADF);
    ERR_IS(epoll_wait(ep, (struct epoll_event *)-4096L, 4, 0), EFAULT);
    /* A fault on the way out: nothing is lost. */
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0);
    write_eventfd(efd, 1);
    ev.events = EPOLLIN | EPOLLET;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev) == 0);
    ERR_IS(epoll_wait(ep, (struct epoll_event *)8, 4, 0), EFAULT);
    CHECK(epoll_wait(ep, evs, 4, 0) == 1);
    CHECK(epoll_wait(ep, evs, 4, 0) == 0);

    /* Regular files are always ready and cannot be watched. */
    int file = open("/tmp/epoll_regular", O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(file >= 0);
    ERR_IS(epoll_ctl(ep, EPOLL_CTL_ADD, file, &ev), EPERM);
    struct pollfd p = {.fd = file, .events = POLLIN | POLLOUT};
    CHECK(poll(&p, 1, 0) == 1 && p.revents == (POLLIN | POLLOUT));
    close(file);
    unlink("/tmp/epoll_regular");

    close(ep);
    close(ep2);
    close(efd);
    close(fds[0]);
    close(fds[1]);
}

/* ---- nested instances ---- */

static void test_nested(void)
{
    int outer = epoll_create1(0), inner = epoll_create1(0), efd = eventfd(0, EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7}, got;
    CHECK(epoll_ctl(inner, EPOLL_CTL_ADD, efd, &ev) == 0);
    ev.data.u32 = 8;
    CHECK(epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev) == 0);
    struct pollfd p = {.fd = inner, .events = POLLIN | POLLOUT};
    CHECK(poll(&p, 1, 0) == 0);
    CHECK(wait_now(outer, &got) == 0);

    write_eventfd(efd, 5);
    CHECK(poll(&p, 1, 0) == 1);
    printf("poll on a ready epoll fd: 0x%x\n", p.revents);
    CHECK(p.revents == POLLIN);
    CHECK(wait_now(outer, &got) == 1);
    printf("outer reports inner: %s data %u\n", event_names(got.events), got.data.u32);
    CHECK(got.events == EPOLLIN && got.data.u32 == 8);
    CHECK(wait_now(inner, &got) == 1 && got.data.u32 == 7);

    uint64_t v;
    CHECK(read(efd, &v, 8) == 8 && v == 5);
    CHECK(wait_now(outer, &got) == 0);
    CHECK(wait_now(inner, &got) == 0);
    CHECK(poll(&p, 1, 0) == 0);

    /* A blocked outer wait wakes for the inner's file. */
    int pid_fds[2];
    CHECK(pipe(pid_fds) == 0);
    write_eventfd(efd, 1);
    CHECK(epoll_wait(outer, &got, 1, 5000) == 1 && got.data.u32 == 8);
    CHECK(read(efd, &v, 8) == 8);
    close(pid_fds[0]);
    close(pid_fds[1]);

    /* Three deep. */
    int top = epoll_create1(0);
    ev.data.u32 = 9;
    CHECK(epoll_ctl(top, EPOLL_CTL_ADD, outer, &ev) == 0);
    write_eventfd(efd, 1);
    CHECK(wait_now(top, &got) == 1 && got.data.u32 == 9);
    printf("three deep: %s\n", event_names(got.events));
    close(top);
    close(outer);
    close(inner);
    close(efd);
}

/* ---- closing a registered file ---- */

static void test_close(void)
{
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN}, got;

    /* The only fd of a ready file closed: the registration is gone. */
    int efd = eventfd(3, 0);
    ev.data.u32 = 1;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0);
    CHECK(wait_now(ep, &got) == 1);
    close(efd);
    CHECK(wait_now(ep, &got) == 0);
    printf("closed file: no events\n");

    /* The same fd number for a new file: a new registration, no EEXIST. */
    int efd2 = eventfd(1, 0);
    CHECK(efd2 == efd);
    ev.data.u32 = 2;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd2, &ev) == 0);
    CHECK(wait_now(ep, &got) == 1 && got.data.u32 == 2);

    /* A dup keeps the file open: its registration stays and still reports (Linux's rule),
     * but the fd is gone, so ctl on it is EBADF, and a new file at that number is not it. */
    int keep = dup(efd2);
    close(efd2);
    CHECK(wait_now(ep, &got) == 1 && got.data.u32 == 2);
    printf("closed fd, file still open: still reported, data %u\n", got.data.u32);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, efd2, NULL) == -1 && errno == EBADF);
    int efd3 = eventfd(0, 0);
    CHECK(efd3 == efd2);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, efd3, NULL) == -1 && errno == ENOENT);
    close(keep);
    CHECK(wait_now(ep, &got) == 0);
    close(efd3);

    /* Many registrations closed, many added: nothing left behind reports. */
    for (int round = 0; round < 4; round++) {
        int fds[200];
        for (int i = 0; i < 200; i++) {
            fds[i] = eventfd(1, 0);
            ev.data.u32 = i;
            CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) == 0);
        }
        struct epoll_event evs[256];
        CHECK(epoll_wait(ep, evs, 256, 0) == 200);
        for (int i = 0; i < 200; i++)
            close(fds[i]);
        CHECK(epoll_wait(ep, evs, 256, 0) == 0);
    }
    close(ep);
}

/* ---- many threads waiting on one epoll fd ---- */

enum { WORKERS = 4, ACKED = 300, BURST = 1000 };

static int threads_ep, threads_efd, threads_ack, threads_stop;
static uint32_t threads_flags;

static void *worker(void *arg)
{
    (void)arg;
    for (int loops = 0; loops < 1000000; loops++) {
        struct epoll_event ev;
        int n = epoll_wait(threads_ep, &ev, 1, 20000);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != 1) {
            printf("FAIL worker: epoll_wait %d\n", n);
            break;
        }
        if (ev.data.fd == threads_stop)
            break;
        uint64_t v;
        if (read(threads_efd, &v, 8) == 8) {
            write_eventfd(threads_ack, v);
        } else if (errno != EAGAIN) {
            printf("FAIL worker: read errno %d\n", errno);
            break;
        }
        if (threads_flags & EPOLLONESHOT) {
            struct epoll_event re = {.events = EPOLLIN | threads_flags, .data.fd = threads_efd};
            if (epoll_ctl(threads_ep, EPOLL_CTL_MOD, threads_efd, &re) != 0)
                printf("FAIL worker: rearm errno %d\n", errno);
        }
    }
    return NULL;
}

/* Sum the acks until `want` have come back (10 s without one is a lost wake-up). */
static uint64_t collect_acks(uint64_t want)
{
    uint64_t got = 0;
    while (got < want) {
        struct pollfd p = {.fd = threads_ack, .events = POLLIN};
        if (poll(&p, 1, 10000) != 1)
            break;
        uint64_t v;
        if (read(threads_ack, &v, 8) == 8)
            got += v;
    }
    return got;
}

static void test_threads(uint32_t flags)
{
    threads_flags = flags;
    threads_ep = epoll_create1(0);
    threads_efd = eventfd(0, EFD_NONBLOCK);
    threads_ack = eventfd(0, EFD_NONBLOCK);
    threads_stop = eventfd(0, 0);
    struct epoll_event ev = {.events = EPOLLIN | flags, .data.fd = threads_efd};
    CHECK(epoll_ctl(threads_ep, EPOLL_CTL_ADD, threads_efd, &ev) == 0);
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        CHECK(pthread_create(&t[i], NULL, worker, NULL) == 0);

    /* One at a time: every write must wake a waiter that consumes it. */
    uint64_t acked = 0;
    for (int i = 0; i < ACKED; i++) {
        write_eventfd(threads_efd, 1);
        uint64_t got = collect_acks(1);
        acked += got;
        if (got != 1)
            break;
    }
    CHECKF(acked == ACKED, "acked %llu", (unsigned long long)acked);
    printf("one at a time: %d writes consumed\n", ACKED);

    /* A burst: every unit counted once. */
    for (int i = 0; i < BURST; i++)
        write_eventfd(threads_efd, 1);
    uint64_t total = collect_acks(BURST);
    CHECKF(total == BURST, "burst total %llu", (unsigned long long)total);
    printf("burst: %d units consumed\n", BURST);

    /* Level-triggered stop: every worker sees it. */
    ev.events = EPOLLIN;
    ev.data.fd = threads_stop;
    CHECK(epoll_ctl(threads_ep, EPOLL_CTL_ADD, threads_stop, &ev) == 0);
    write_eventfd(threads_stop, 1);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    printf("all %d workers stopped\n", WORKERS);
    close(threads_ep);
    close(threads_efd);
    close(threads_ack);
    close(threads_stop);
}

/* ---- churn: threads adding, modifying, deleting and closing while others wait ---- */

enum { CHURNERS = 3, CHURN_ROUNDS = 1500 };
static int churn_ep;
static volatile int churn_done;

static void *churner(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < CHURN_ROUNDS; i++) {
        int fd = eventfd(0, EFD_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN | (i % 3 == 1 ? EPOLLET : 0) |
                                           (i % 3 == 2 ? EPOLLONESHOT : 0),
                                 .data.u32 = id};
        CHECK(epoll_ctl(churn_ep, EPOLL_CTL_ADD, fd, &ev) == 0);
        write_eventfd(fd, 1);
        if (i % 4 == 0) {
            ev.events = EPOLLIN | EPOLLOUT;
            CHECK(epoll_ctl(churn_ep, EPOLL_CTL_MOD, fd, &ev) == 0);
        }
        if (i % 2 == 0)
            CHECK(epoll_ctl(churn_ep, EPOLL_CTL_DEL, fd, NULL) == 0);
        close(fd);
    }
    return NULL;
}

static void *churn_waiter(void *arg)
{
    (void)arg;
    struct epoll_event evs[8];
    while (!churn_done)
        epoll_wait(churn_ep, evs, 8, 5);
    return NULL;
}

static void test_churn(void)
{
    churn_ep = epoll_create1(0);
    pthread_t c[CHURNERS], w[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&w[i], NULL, churn_waiter, NULL) == 0);
    for (int i = 0; i < CHURNERS; i++)
        CHECK(pthread_create(&c[i], NULL, churner, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < CHURNERS; i++)
        pthread_join(c[i], NULL);
    churn_done = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(w[i], NULL);
    struct epoll_event evs[8];
    CHECK(epoll_wait(churn_ep, evs, 8, 0) == 0);
    /* The instance still works. */
    int fd = eventfd(1, 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 99};
    CHECK(epoll_ctl(churn_ep, EPOLL_CTL_ADD, fd, &ev) == 0);
    CHECK(epoll_wait(churn_ep, evs, 8, 0) == 1 && evs[0].data.u32 == 99);
    printf("churn: %d threads x %d registrations, nothing left behind\n", CHURNERS, CHURN_ROUNDS);
    close(fd);
    close(churn_ep);
}

/* ---- EPOLLEXCLUSIVE: one write wakes one of two instances' waiters ---- */

static int excl_ep[2];
static int excl_reported[2];

static void *excl_waiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    struct epoll_event ev;
    excl_reported[i] = epoll_wait(excl_ep[i], &ev, 1, 1500);
    return NULL;
}

static void test_exclusive(void)
{
    int efd = eventfd(0, EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        excl_ep[i] = epoll_create1(0);
        CHECK(epoll_ctl(excl_ep[i], EPOLL_CTL_ADD, efd, &ev) == 0);
        CHECK(pthread_create(&t[i], NULL, excl_waiter, (void *)(intptr_t)i) == 0);
    }
    struct timespec pause = {0, 300 * 1000000};
    nanosleep(&pause, NULL); /* both waiting */
    write_eventfd(efd, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("exclusive: %d of 2 waiters woken\n", excl_reported[0] + excl_reported[1]);
    CHECK(excl_reported[0] + excl_reported[1] == 1);
    /* Without EPOLLEXCLUSIVE both are. */
    for (int i = 0; i < 2; i++) {
        ev.events = EPOLLIN;
        CHECK(epoll_ctl(excl_ep[i], EPOLL_CTL_DEL, efd, NULL) == 0);
        CHECK(epoll_ctl(excl_ep[i], EPOLL_CTL_ADD, efd, &ev) == 0);
    }
    for (int i = 0; i < 2; i++)
        CHECK(epoll_wait(excl_ep[i], &ev, 1, 0) == 1);
    for (int i = 0; i < 2; i++)
        close(excl_ep[i]);
    close(efd);
}

/* ---- 10,000 registered fds, one active ---- */

enum { MANY = 10000 };

static void test_many(void)
{
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur < MANY + 64) {
        rl.rlim_cur = MANY + 64;
        if (rl.rlim_max < rl.rlim_cur)
            rl.rlim_max = rl.rlim_cur;
        CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    }
    static int fds[MANY];
    int ep = epoll_create1(0);
    for (int i = 0; i < MANY; i++) {
        fds[i] = eventfd(0, EFD_NONBLOCK);
        if (fds[i] < 0) {
            CHECKF(0, "eventfd %d: errno %d", i, errno);
            return;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) == 0);
    }
    struct epoll_event evs[16];
    CHECK(epoll_wait(ep, evs, 16, 0) == 0);
    uint32_t x = 12345, wrong = 0;
    uint64_t start = now_ns();
    for (int round = 0; round < 2000; round++) {
        x = x * 1103515245u + 12345u;
        uint32_t which = (x >> 8) % MANY;
        write_eventfd(fds[which], 1);
        int n = epoll_wait(ep, evs, 16, 5000);
        if (n != 1 || evs[0].data.u32 != which)
            wrong++;
        uint64_t v;
        CHECK(read(fds[which], &v, 8) == 8);
    }
    uint64_t elapsed = now_ns() - start;
    (void)elapsed; /* (timing belongs to the benchmarks) */
    CHECKF(wrong == 0, "%u rounds reported the wrong fd", wrong);
    printf("%d registered, 2000 rounds with one active: the right one each time\n", MANY);
    CHECK(epoll_wait(ep, evs, 16, 0) == 0);
    close(ep);
    for (int i = 0; i < MANY; i++)
        close(fds[i]);
}

/* ---- timeouts and signals ---- */

static void test_timeout(void)
{
    int ep = epoll_create1(0), fds[2];
    CHECK(pipe(fds) == 0);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev) == 0);
    uint64_t t0 = now_ns();
    CHECK(epoll_wait(ep, &ev, 1, 50) == 0);
    uint64_t t1 = now_ns();
    CHECKF(t1 - t0 >= 50000000, "epoll_wait returned after %llu ns", (unsigned long long)(t1 - t0));
    struct timespec ts = {0, 30000000};
    CHECK(syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8) == 0);
    uint64_t t2 = now_ns();
    CHECKF(t2 - t1 >= 30000000, "epoll_pwait2 returned after %llu ns", (unsigned long long)(t2 - t1));
    ts.tv_nsec = 1000000000;
    errno = 0;
    CHECK(syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8) == -1 && errno == EINVAL);
    ts.tv_sec = -1;
    ts.tv_nsec = 0;
    CHECK(syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8) == -1 && errno == EINVAL);
    /* A timeout of centuries waits for the event. */
    ts.tv_sec = INT64_MAX;
    ts.tv_nsec = 0;
    CHECK(write(fds[1], "z", 1) == 1);
    CHECK(syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8) == 1);
    printf("timeouts: 0 events, not early\n");
    close(ep);
    close(fds[0]);
    close(fds[1]);
}

static volatile sig_atomic_t usr1_count;
static void on_usr1(int sig)
{
    (void)sig;
    usr1_count++;
}

static void *send_usr1_later(void *arg)
{
    pthread_t target = *(pthread_t *)arg;
    struct timespec d = {0, 50000000};
    nanosleep(&d, NULL);
    pthread_kill(target, SIGUSR1);
    return NULL;
}

static void test_sigmask(void)
{
    int ep = epoll_create1(0), efd = eventfd(0, 0);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0);
    signal(SIGUSR1, on_usr1);
    sigset_t block, empty, cur;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0);
    raise(SIGUSR1);
    CHECK(usr1_count == 0);

    /* The mask lets the pending signal in: EINTR, handler run, old mask back. */
    errno = 0;
    CHECK(epoll_pwait(ep, &ev, 1, 5000, &empty) == -1 && errno == EINTR);
    CHECK(usr1_count == 1);
    sigprocmask(SIG_BLOCK, NULL, &cur);
    CHECK(sigismember(&cur, SIGUSR1));

    /* With the signal blocked by the call's mask: a timeout, the signal still pending. */
    raise(SIGUSR1);
    CHECK(epoll_pwait(ep, &ev, 1, 20, &block) == 0);
    sigset_t pending;
    sigpending(&pending);
    CHECK(sigismember(&pending, SIGUSR1));
    CHECK(usr1_count == 1);

    /* Events win over the signal; the mask is restored, the signal stays pending. */
    write_eventfd(efd, 1);
    CHECK(epoll_pwait(ep, &ev, 1, 5000, &empty) == 1);
    CHECK(usr1_count == 1);
    sigprocmask(SIG_BLOCK, NULL, &cur);
    CHECK(sigismember(&cur, SIGUSR1));

    /* epoll_pwait2 with a timespec. */
    uint64_t v;
    CHECK(read(efd, &v, 8) == 8);
    struct timespec ts = {5, 0};
    errno = 0;
    CHECK(syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, &empty, 8) == -1 && errno == EINTR);
    CHECK(usr1_count == 2);
    errno = 0;
    CHECK(syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, &empty, 4) == -1 && errno == EINVAL);
    /* A signal that arrives during the wait, let in by the mask. */
    pthread_t me = pthread_self(), t;
    CHECK(pthread_create(&t, NULL, send_usr1_later, &me) == 0);
    errno = 0;
    CHECK(epoll_pwait(ep, &ev, 1, 5000, &empty) == -1 && errno == EINTR);
    pthread_join(t, NULL);
    CHECK(usr1_count == 3);
    /* And plain epoll_wait with the signal unblocked. */
    CHECK(sigprocmask(SIG_UNBLOCK, &block, NULL) == 0);
    CHECK(pthread_create(&t, NULL, send_usr1_later, &me) == 0);
    errno = 0;
    CHECK(epoll_wait(ep, &ev, 1, 5000) == -1 && errno == EINTR);
    pthread_join(t, NULL);
    CHECK(usr1_count == 4);
    CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0);
    printf("epoll_pwait/epoll_pwait2 masks: %d signals handled\n", (int)usr1_count);
    CHECK(sigprocmask(SIG_UNBLOCK, &block, NULL) == 0);
    close(ep);
    close(efd);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (MODE_IS("table"))
        test_table();
    else if (MODE_IS("hup"))
        test_hup();
    else if (MODE_IS("ctl_errors"))
        test_ctl_errors();
    else if (MODE_IS("nested"))
        test_nested();
    else if (MODE_IS("close"))
        test_close();
    else if (MODE_IS("threads_lt"))
        test_threads(0);
    else if (MODE_IS("threads_et"))
        test_threads(EPOLLET);
    else if (MODE_IS("threads_oneshot"))
        test_threads(EPOLLONESHOT);
    else if (MODE_IS("exclusive"))
        test_exclusive();
    else if (MODE_IS("churn"))
        test_churn();
    else if (MODE_IS("many"))
        test_many();
    else if (MODE_IS("timeout"))
        test_timeout();
    else if (MODE_IS("sigmask"))
        test_sigmask();
    else {
        printf("unknown mode\n");
        return 2;
    }
    return check_finish();
}
