/* poll, ppoll, select and pselect6: readiness of pipes and eventfds, bad and negative fds,
 * timeouts (never early; the remaining time written back), EINVAL cases, select with FD_SETSIZE
 * fds and beyond, and the temporary signal masks of ppoll and pselect6.
 * Modes: basics, timeout, select, select_big, sigmask, wake. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static void write_eventfd(int fd, uint64_t v)
{
    CHECK(write(fd, &v, 8) == 8);
}

static void test_basics(void)
{
    int fds[2], efd = eventfd(0, EFD_NONBLOCK);
    CHECK(pipe(fds) == 0);
    struct pollfd p[6] = {
        {.fd = fds[0], .events = POLLIN},
        {.fd = fds[1], .events = POLLOUT},
        {.fd = -1, .events = POLLIN, .revents = 0x7777},
        {.fd = 999, .events = POLLIN},
        {.fd = efd, .events = POLLIN | POLLOUT},
        {.fd = fds[1], .events = POLLIN},
    };
    int n = poll(p, 6, 0);
    printf("empty pipe: %d ready; revents %x %x %x %x %x %x\n", n, p[0].revents, p[1].revents,
           p[2].revents, p[3].revents, p[4].revents, p[5].revents);
    CHECK(n == 3);
    CHECK(p[0].revents == 0 && p[1].revents == POLLOUT && p[2].revents == 0);
    CHECK(p[3].revents == POLLNVAL && p[4].revents == POLLOUT && p[5].revents == 0);

    CHECK(write(fds[1], "hello", 5) == 5);
    write_eventfd(efd, 1);
    p[0].events = POLLIN | POLLRDNORM | POLLPRI;
    n = poll(p, 6, 0);
    printf("data: %d ready; revents %x %x %x %x %x %x\n", n, p[0].revents, p[1].revents,
           p[2].revents, p[3].revents, p[4].revents, p[5].revents);
    CHECK(n == 4);
    CHECK(p[0].revents == (POLLIN | POLLRDNORM) && p[4].revents == (POLLIN | POLLOUT));

    /* The writer goes: POLLHUP whatever was asked for; the reader goes: POLLERR. */
    close(fds[1]);
    p[0].events = 0;
    CHECK(poll(p, 1, 0) == 1);
    printf("writer closed, data left: %x\n", p[0].revents);
    CHECK(p[0].revents == POLLHUP);
    char buf[8];
    CHECK(read(fds[0], buf, sizeof buf) == 5);
    p[0].events = POLLIN;
    CHECK(poll(p, 1, 0) == 1 && p[0].revents == POLLHUP);
    close(fds[0]);
    CHECK(pipe(fds) == 0);
    close(fds[0]);
    struct pollfd w = {.fd = fds[1], .events = POLLOUT};
    CHECK(poll(&w, 1, 0) == 1);
    printf("reader closed: %x\n", w.revents);
    CHECK(w.revents == (POLLOUT | POLLERR));
    close(fds[1]);

    /* stdout is writable (a terminal or a pipe). */
    struct pollfd out = {.fd = 1, .events = POLLOUT};
    CHECK(poll(&out, 1, 0) == 1 && (out.revents & POLLOUT));

    /* nfds over RLIMIT_NOFILE: EINVAL; a bad array: EFAULT; nfds 0 just waits. */
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    errno = 0;
    CHECK(poll(p, rl.rlim_cur + 1, 0) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(poll((struct pollfd *)8, 1, 0) == -1 && errno == EFAULT);
    CHECK(poll(NULL, 0, 0) == 0);
    close(efd);
}

static int write_fd;
static void *write_byte_later(void *arg)
{
    (void)arg;
    struct timespec d = {0, 30000000};
    nanosleep(&d, NULL);
    CHECK(write(write_fd, "y", 1) == 1);
    return NULL;
}

static void test_timeout(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    struct pollfd p = {.fd = fds[0], .events = POLLIN};
    uint64_t t0 = now_ns();
    CHECK(poll(&p, 1, 50) == 0);
    uint64_t t1 = now_ns();
    CHECKF(t1 - t0 >= 50000000, "poll after %llu ns", (unsigned long long)(t1 - t0));
    CHECK(p.revents == 0);
    CHECK(poll(NULL, 0, 20) == 0);
    uint64_t t2 = now_ns();
    CHECKF(t2 - t1 >= 20000000, "poll(0 fds) after %llu ns", (unsigned long long)(t2 - t1));

    /* ppoll writes the time left back (raw system call: libc passes a copy). */
    struct timespec ts = {0, 30000000};
    CHECK(syscall(SYS_ppoll, &p, 1, &ts, NULL, 8) == 0);
    uint64_t t3 = now_ns();
    CHECKF(t3 - t2 >= 30000000, "ppoll after %llu ns", (unsigned long long)(t3 - t2));
    CHECK(ts.tv_sec == 0 && ts.tv_nsec == 0);
    CHECK(write(fds[1], "x", 1) == 1);
    ts.tv_sec = 5;
    ts.tv_nsec = 0;
    CHECK(syscall(SYS_ppoll, &p, 1, &ts, NULL, 8) == 1);
    CHECK(ts.tv_sec <= 5 && ts.tv_sec >= 3 && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
    char c;
    CHECK(read(fds[0], &c, 1) == 1);
    ts.tv_nsec = 1000000000;
    errno = 0;
    CHECK(syscall(SYS_ppoll, &p, 1, &ts, NULL, 8) == -1 && errno == EINVAL);
    ts.tv_sec = -1;
    ts.tv_nsec = 0;
    errno = 0;
    CHECK(syscall(SYS_ppoll, &p, 1, &ts, NULL, 8) == -1 && errno == EINVAL);

    /* select and pselect6 likewise. */
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(fds[0], &rd);
    struct timeval tv = {0, 40000};
    uint64_t t4 = now_ns();
    CHECK(syscall(SYS_select, fds[0] + 1, &rd, NULL, NULL, &tv) == 0);
    uint64_t t5 = now_ns();
    CHECKF(t5 - t4 >= 40000000, "select after %llu ns", (unsigned long long)(t5 - t4));
    CHECK(tv.tv_sec == 0 && tv.tv_usec == 0);
    CHECK(!FD_ISSET(fds[0], &rd));
    /* Microseconds past a second carry; negative ones are EINVAL. */
    FD_SET(fds[0], &rd);
    tv.tv_sec = 0;
    tv.tv_usec = 1000000;
    CHECK(write(fds[1], "x", 1) == 1);
    CHECK(syscall(SYS_select, fds[0] + 1, &rd, NULL, NULL, &tv) == 1);
    CHECK(tv.tv_sec == 0 || tv.tv_sec == 1);
    tv.tv_usec = -1;
    errno = 0;
    CHECK(syscall(SYS_select, fds[0] + 1, &rd, NULL, NULL, &tv) == -1 && errno == EINVAL);
    CHECK(read(fds[0], &c, 1) == 1);
    FD_SET(fds[0], &rd);
    ts.tv_sec = 0;
    ts.tv_nsec = 25000000;
    uint64_t t6 = now_ns();
    CHECK(syscall(SYS_pselect6, fds[0] + 1, &rd, NULL, NULL, &ts, NULL) == 0);
    uint64_t t7 = now_ns();
    CHECKF(t7 - t6 >= 25000000, "pselect6 after %llu ns", (unsigned long long)(t7 - t6));
    CHECK(ts.tv_sec == 0 && ts.tv_nsec == 0);
    /* A timeout of centuries ({LONG_MAX, 0}, a common "forever") waits for the fd. */
    pthread_t t;
    write_fd = fds[1];
    CHECK(pthread_create(&t, NULL, write_byte_later, NULL) == 0);
    struct timespec forever = {INT64_MAX, 0};
    p.events = POLLIN;
    CHECK(ppoll(&p, 1, &forever, NULL) == 1 && p.revents == POLLIN);
    pthread_join(t, NULL);
    CHECK(read(fds[0], &c, 1) == 1);
    printf("timeouts: 0 ready, not early, nothing left\n");
    close(fds[0]);
    close(fds[1]);
}

static void test_select(void)
{
    int a[2], b[2], efd = eventfd(0, 0);
    CHECK(pipe(a) == 0 && pipe(b) == 0);
    CHECK(write(a[1], "x", 1) == 1);
    fd_set rd, wr, ex;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_ZERO(&ex);
    FD_SET(a[0], &rd);
    FD_SET(b[0], &rd);
    FD_SET(efd, &rd);
    FD_SET(a[1], &wr);
    FD_SET(efd, &wr);
    FD_SET(a[0], &ex);
    FD_SET(b[0], &ex);
    int nfds = b[1] + 1;
    struct timeval tv = {0, 0};
    int n = select(nfds, &rd, &wr, &ex, &tv);
    printf("select: %d; read a %d b %d efd %d; write a %d efd %d; except a %d b %d\n", n,
           FD_ISSET(a[0], &rd), FD_ISSET(b[0], &rd), FD_ISSET(efd, &rd), FD_ISSET(a[1], &wr),
           FD_ISSET(efd, &wr), FD_ISSET(a[0], &ex), FD_ISSET(b[0], &ex));
    CHECK(n == 3);
    CHECK(FD_ISSET(a[0], &rd) && !FD_ISSET(b[0], &rd) && !FD_ISSET(efd, &rd));
    CHECK(FD_ISSET(a[1], &wr) && FD_ISSET(efd, &wr));
    CHECK(!FD_ISSET(a[0], &ex) && !FD_ISSET(b[0], &ex));

    /* A hang-up makes the read end readable. */
    close(b[1]);
    FD_ZERO(&rd);
    FD_SET(b[0], &rd);
    CHECK(select(b[0] + 1, &rd, NULL, NULL, &tv) == 1 && FD_ISSET(b[0], &rd));

    /* A closed fd in any set: EBADF; an fd at or past nfds is not looked at. */
    int closed = dup(efd);
    close(closed);
    FD_ZERO(&rd);
    FD_SET(closed, &rd);
    errno = 0;
    CHECK(select(closed + 1, &rd, NULL, NULL, &tv) == -1 && errno == EBADF);
    FD_ZERO(&wr);
    FD_SET(closed, &wr);
    errno = 0;
    CHECK(select(closed + 1, NULL, &wr, NULL, &tv) == -1 && errno == EBADF);
    CHECK(select(closed, NULL, &wr, NULL, &tv) == 0);
    errno = 0;
    CHECK(select(-1, NULL, NULL, NULL, &tv) == -1 && errno == EINVAL);
    CHECK(select(0, NULL, NULL, NULL, &tv) == 0);

    /* An fd in the readable set wakes a sleeping select. */
    FD_ZERO(&rd);
    FD_SET(efd, &rd);
    write_eventfd(efd, 1);
    tv.tv_sec = 5;
    CHECK(select(efd + 1, &rd, NULL, NULL, &tv) == 1 && FD_ISSET(efd, &rd));
    printf("select errors and hang-up ok\n");
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(efd);
}

static void raise_nofile(rlim_t want)
{
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want;
        if (rl.rlim_max < want)
            rl.rlim_max = want;
        CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    }
}

/* FD_SETSIZE fds: ~1000 open, the last one (1023) ready; then an fd past FD_SETSIZE. */
static void test_select_big(void)
{
    raise_nofile(2048);
    /* (The read ends are recorded: natively a few low fds may be inherited open, so the pipes'
     * fds need not alternate read/write.) */
    static int read_ends[500];
    for (int i = 0; i < 500; i++) {
        int fds[2];
        CHECK(pipe(fds) == 0);
        read_ends[i] = fds[0];
    }
    int talk[2];
    CHECK(pipe(talk) == 0);
    CHECK(dup2(talk[0], 1023) == 1023);
    fd_set rd;
    FD_ZERO(&rd);
    int asked = 0;
    for (int i = 0; i < 500; i++) {
        FD_SET(read_ends[i], &rd);
        asked++;
    }
    FD_SET(1023, &rd);
    struct timeval tv = {0, 0};
    fd_set copy = rd;
    CHECK(select(FD_SETSIZE, &copy, NULL, NULL, &tv) == 0);
    CHECK(write(talk[1], "x", 1) == 1);
    copy = rd;
    tv.tv_sec = 5;
    int n = select(FD_SETSIZE, &copy, NULL, NULL, &tv);
    int which = -1, count = 0;
    for (int fd = 0; fd < FD_SETSIZE; fd++)
        if (FD_ISSET(fd, &copy)) {
            which = fd;
            count++;
        }
    CHECK(asked >= 500);
    printf("select over 1000 open fds: %d ready, fd %d\n", n, which);
    CHECK(n == 1 && count == 1 && which == 1023);

    /* Past FD_SETSIZE: a bigger bitmap. */
    CHECK(dup2(talk[0], 1500) == 1500);
    uint64_t big[32];
    memset(big, 0, sizeof big);
    big[1500 / 64] |= 1ull << (1500 % 64);
    big[1023 / 64] |= 1ull << (1023 % 64);
    n = syscall(SYS_select, 1501, big, NULL, NULL, &tv);
    printf("select with nfds 1501: %d ready\n", n);
    CHECK(n == 2);
    CHECK(big[1500 / 64] == 1ull << (1500 % 64) && big[1023 / 64] == 1ull << (1023 % 64));
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
    signal(SIGUSR1, on_usr1);
    sigset_t block, empty, cur, pending;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0);
    int fds[2];
    CHECK(pipe(fds) == 0);
    struct pollfd p = {.fd = fds[0], .events = POLLIN};
    struct timespec five = {5, 0}, short_ts = {0, 20000000};

    /* ppoll: a pending signal the mask lets in ends the wait at once. */
    raise(SIGUSR1);
    errno = 0;
    CHECK(ppoll(&p, 1, &five, &empty) == -1 && errno == EINTR);
    CHECK(usr1_count == 1);
    sigprocmask(SIG_BLOCK, NULL, &cur);
    CHECK(sigismember(&cur, SIGUSR1));

    /* A mask that blocks it: the wait times out, the signal stays pending. */
    raise(SIGUSR1);
    CHECK(ppoll(&p, 1, &short_ts, &block) == 0);
    CHECK(usr1_count == 1);
    sigpending(&pending);
    CHECK(sigismember(&pending, SIGUSR1));

    /* Ready fds win: the count comes back, the old mask too, the signal still pending. */
    CHECK(write(fds[1], "x", 1) == 1);
    CHECK(ppoll(&p, 1, &five, &empty) == 1);
    CHECK(usr1_count == 1);
    sigpending(&pending);
    CHECK(sigismember(&pending, SIGUSR1));
    char c;
    CHECK(read(fds[0], &c, 1) == 1);

    /* pselect6 (libc passes the {mask, size} pair). */
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(fds[0], &rd);
    errno = 0;
    CHECK(pselect(fds[0] + 1, &rd, NULL, NULL, &five, &empty) == -1 && errno == EINTR);
    CHECK(usr1_count == 2);
    sigprocmask(SIG_BLOCK, NULL, &cur);
    CHECK(sigismember(&cur, SIGUSR1));

    /* A bad mask size: EINVAL. */
    errno = 0;
    CHECK(syscall(SYS_ppoll, &p, 1, &short_ts, &empty, 4) == -1 && errno == EINVAL);
    uint64_t pair[2] = {(uintptr_t)&empty, 4};
    FD_SET(fds[0], &rd);
    errno = 0;
    CHECK(syscall(SYS_pselect6, fds[0] + 1, &rd, NULL, NULL, &short_ts, pair) == -1 &&
          errno == EINVAL);

    /* A signal sent while waiting, let in by the mask. */
    pthread_t me = pthread_self(), t;
    CHECK(pthread_create(&t, NULL, send_usr1_later, &me) == 0);
    errno = 0;
    CHECK(ppoll(&p, 1, &five, &empty) == -1 && errno == EINTR);
    pthread_join(t, NULL);
    CHECK(usr1_count == 3);
    CHECK(pthread_create(&t, NULL, send_usr1_later, &me) == 0);
    FD_SET(fds[0], &rd);
    errno = 0;
    CHECK(pselect(fds[0] + 1, &rd, NULL, NULL, &five, &empty) == -1 && errno == EINTR);
    pthread_join(t, NULL);
    CHECK(usr1_count == 4);
    /* Plain poll is interrupted by an unblocked signal too. */
    CHECK(sigprocmask(SIG_UNBLOCK, &block, NULL) == 0);
    CHECK(pthread_create(&t, NULL, send_usr1_later, &me) == 0);
    errno = 0;
    CHECK(poll(&p, 1, 5000) == -1 && errno == EINTR);
    pthread_join(t, NULL);
    CHECK(usr1_count == 5);
    printf("sigmask: %d signals handled\n", (int)usr1_count);
    close(fds[0]);
    close(fds[1]);
}

/* poll and select sleeping until another thread writes. */
static int wake_fd;
static void *write_later(void *arg)
{
    (void)arg;
    struct timespec d = {0, 30000000};
    nanosleep(&d, NULL);
    write_eventfd(wake_fd, 1);
    return NULL;
}

static void test_wake(void)
{
    for (int round = 0; round < 20; round++) {
        wake_fd = eventfd(0, 0);
        pthread_t t;
        CHECK(pthread_create(&t, NULL, write_later, NULL) == 0);
        if (round % 2 == 0) {
            struct pollfd p = {.fd = wake_fd, .events = POLLIN};
            CHECK(poll(&p, 1, 10000) == 1 && p.revents == POLLIN);
        } else {
            fd_set rd;
            FD_ZERO(&rd);
            FD_SET(wake_fd, &rd);
            CHECK(select(wake_fd + 1, &rd, NULL, NULL, NULL) == 1);
        }
        pthread_join(t, NULL);
        close(wake_fd);
    }
    printf("woken by another thread 20 times\n");
}

static void *send_ignored_later(void *arg)
{
    pthread_t target = *(pthread_t *)arg;
    struct timespec d = {0, 20000000};
    for (int i = 0; i < 3; i++) {
        nanosleep(&d, NULL);
        pthread_kill(target, SIGUSR2); /* SIG_IGN */
        pthread_kill(target, SIGWINCH); /* ignored by default */
    }
    return NULL;
}

/* Ignored signals are dropped when sent: a poll or select waiting meanwhile is not
 * interrupted and times out normally (Linux's sig_ignored). */
static void test_ignored_signals(void)
{
    signal(SIGUSR2, SIG_IGN);
    pthread_t self = pthread_self(), t;
    int p[2];
    CHECK(pipe(p) == 0);
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    pthread_create(&t, NULL, send_ignored_later, &self);
    int r = poll(&pfd, 1, 150);
    printf("poll during ignored signals: %d (errno %s)\n", r, r < 0 ? strerror(errno) : "-");
    pthread_join(t, NULL);
    pthread_create(&t, NULL, send_ignored_later, &self);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    struct timeval tv = {0, 150000};
    r = select(p[0] + 1, &rd, NULL, NULL, &tv);
    printf("select during ignored signals: %d (errno %s)\n", r, r < 0 ? strerror(errno) : "-");
    pthread_join(t, NULL);
    sigset_t pending;
    sigpending(&pending);
    printf("pending afterwards: SIGUSR2 %d SIGWINCH %d\n", sigismember(&pending, SIGUSR2),
           sigismember(&pending, SIGWINCH));
    close(p[0]);
    close(p[1]);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (MODE_IS("basics"))
        test_basics();
    else if (MODE_IS("timeout"))
        test_timeout();
    else if (MODE_IS("select"))
        test_select();
    else if (MODE_IS("select_big"))
        test_select_big();
    else if (MODE_IS("sigmask"))
        test_sigmask();
    else if (MODE_IS("wake"))
        test_wake();
    else if (MODE_IS("ignored-signals"))
        test_ignored_signals();
    else {
        printf("unknown mode\n");
        return 2;
    }
    return check_finish();
}
