/* eventfd, timerfd and signalfd: counters and semaphore mode, errors, blocking woken from another
 * thread, readiness; timers one-shot and periodic, relative and absolute, disarmed; signals read
 * as signalfd_siginfo records. `eventfds MODE`, one mode per case.
 * Timers print only loose invariants (counts after sleeping several intervals), never times. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static pthread_t start(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    int r = pthread_create(&t, NULL, fn, arg);
    CHECKF(r == 0, "pthread_create: %d", r);
    return t;
}

static uint64_t read_u64(int fd)
{
    uint64_t v = 0;
    ssize_t r = read(fd, &v, sizeof v);
    CHECKF(r == 8, "read: %zd errno %d", r, errno);
    return v;
}

static void write_u64(int fd, uint64_t v)
{
    ssize_t r = write(fd, &v, sizeof v);
    CHECKF(r == 8, "write %llu: %zd errno %d", (unsigned long long)v, r, errno);
}

static const char *err_name(int e);

/* Run `expr` and print its result with errno's name when it failed (evaluated in this order). */
#define SHOW(label, expr)                                                                  \
    do {                                                                                  \
        errno = 0;                                                                        \
        long show_r = (long)(expr);                                                       \
        printf("%s: %ld %s\n", label, show_r, show_r < 0 ? err_name(errno) : "");         \
    } while (0)

static const char *err_name(int e)
{
    switch (e) {
    case 0: return "0";
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EBADF: return "EBADF";
    case ESPIPE: return "ESPIPE";
    case ENOTTY: return "ENOTTY";
    case EPERM: return "EPERM";
    case ECANCELED: return "ECANCELED";
    default: return "other";
    }
}

/* ---- eventfd ---- */

static void counter(void)
{
    int fd = eventfd(5, EFD_NONBLOCK);
    CHECK(fd >= 0);
    printf("initial 5: read %llu\n", (unsigned long long)read_u64(fd));
    uint64_t v;
    errno = 0;
    CHECK(read(fd, &v, 8) == -1);
    printf("empty: %s\n", err_name(errno));
    write_u64(fd, 3);
    write_u64(fd, 4);
    write_u64(fd, 0);
    printf("after writing 3, 4 and 0: read %llu\n", (unsigned long long)read_u64(fd));
    write_u64(fd, UINT64_MAX - 1);
    SHOW("at the maximum, writing 1", write(fd, &(uint64_t){1}, 8));
    ssize_t r = write(fd, &(uint64_t){0}, 8);
    printf("at the maximum, writing 0: %zd\n", r);
    printf("read %llu\n", (unsigned long long)read_u64(fd));
    /* A bigger buffer still reads 8 bytes. */
    write_u64(fd, 9);
    uint64_t big[2] = {0, 0};
    r = read(fd, big, sizeof big);
    printf("read into 16 bytes: %zd, %llu\n", r, (unsigned long long)big[0]);
    close(fd);
}

static void semaphore(void)
{
    int fd = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    CHECK(fd >= 0);
    for (int i = 0; i < 3; i++)
        printf("read %llu\n", (unsigned long long)read_u64(fd));
    uint64_t v;
    errno = 0;
    CHECK(read(fd, &v, 8) == -1);
    printf("then %s\n", err_name(errno));
    write_u64(fd, 2);
    printf("after writing 2: read %llu", (unsigned long long)read_u64(fd));
    printf(", %llu\n", (unsigned long long)read_u64(fd));
    errno = 0;
    CHECK(read(fd, &v, 8) == -1 && errno == EAGAIN);
    close(fd);
}

static void eventfd_errors(void)
{
    errno = 0;
    CHECK(eventfd(0, 0x1234) == -1);
    printf("bad flags: %s\n", err_name(errno));
    errno = 0;
    CHECK(syscall(SYS_eventfd2, 0, O_APPEND) == -1);
    printf("O_APPEND flag: %s\n", err_name(errno));
    int fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
    CHECK(fd >= 0);
    printf("F_GETFL %o F_GETFD %d\n", fcntl(fd, F_GETFL), fcntl(fd, F_GETFD));
    uint32_t small = 0;
    SHOW("read of 4 bytes", read(fd, &small, 4));
    SHOW("write of 4 bytes", write(fd, &small, 4));
    SHOW("lseek (the position stays 0)", lseek(fd, 100, SEEK_SET));
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    SHOW("lseek on a pipe", lseek(pfd[0], 0, SEEK_CUR));
    close(pfd[0]);
    close(pfd[1]);
    errno = 0;
    uint64_t all = UINT64_MAX;
    SHOW("write of 2^64-1", write(fd, &all, 8));
    SHOW("write from a bad address", write(fd, (void *)8, 8));
    SHOW("read into a bad address", read(fd, (void *)8, 8));
    errno = 0;
    uint64_t v;
    SHOW("then read", read(fd, &v, 8));
    int n;
    SHOW("FIONREAD", ioctl(fd, FIONREAD, &n));
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    printf("st_mode %o\n", st.st_mode);
    close(fd);
    /* eventfd (the old call) takes no flags and blocks. */
    fd = syscall(SYS_eventfd, 7);
    CHECK(fd >= 0);
    printf("eventfd(7): F_GETFL %o, read %llu\n", fcntl(fd, F_GETFL),
           (unsigned long long)read_u64(fd));
    close(fd);
}

static int block_fd;

static void *late_add(void *arg)
{
    (void)arg;
    sleep_ms(50);
    write_u64(block_fd, 42);
    return NULL;
}

static void *late_take(void *arg)
{
    (void)arg;
    sleep_ms(50);
    read_u64(block_fd);
    return NULL;
}

static void *ping_pong(void *arg)
{
    int *fds = arg;
    for (int i = 0; i < 2000; i++) {
        uint64_t v = read_u64(fds[0]);
        write_u64(fds[1], v + 1);
    }
    return NULL;
}

static void eventfd_block(void)
{
    block_fd = eventfd(0, 0);
    pthread_t t = start(late_add, NULL);
    printf("blocked read woken: %llu\n", (unsigned long long)read_u64(block_fd));
    pthread_join(t, NULL);
    write_u64(block_fd, UINT64_MAX - 1);
    t = start(late_take, NULL);
    write_u64(block_fd, 5); /* blocks until the counter is taken */
    pthread_join(t, NULL);
    printf("blocked write went through: %llu\n", (unsigned long long)read_u64(block_fd));
    close(block_fd);

    /* Ping-pong between two threads through two eventfds. */
    int there[2] = {eventfd(0, 0), eventfd(0, 0)};
    int back[2] = {there[1], there[0]};
    t = start(ping_pong, there);
    uint64_t v = 0;
    for (int i = 0; i < 2000; i++) {
        write_u64(there[0], v + 1);
        v = read_u64(there[1]);
    }
    pthread_join(t, NULL);
    (void)back;
    printf("ping-pong: %llu\n", (unsigned long long)v);
    close(there[0]);
    close(there[1]);
}

static void eventfd_poll(void)
{
    int fd = eventfd(0, EFD_NONBLOCK);
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    CHECK(poll(&p, 1, 0) == 1);
    printf("0: %#x\n", p.revents);
    write_u64(fd, 1);
    poll(&p, 1, 0);
    printf("1: %#x\n", p.revents);
    write_u64(fd, UINT64_MAX - 3);
    poll(&p, 1, 0);
    printf("2^64-3: %#x\n", p.revents);
    write_u64(fd, 1);
    poll(&p, 1, 0);
    printf("2^64-2: %#x\n", p.revents);
    read_u64(fd);
    poll(&p, 1, 0);
    printf("after reading: %#x\n", p.revents);
    close(fd);
}

/* ---- timerfd ---- */

static struct itimerspec its(long long value_ns, long long interval_ns)
{
    struct itimerspec s = {{interval_ns / 1000000000, interval_ns % 1000000000},
                           {value_ns / 1000000000, value_ns % 1000000000}};
    return s;
}

static long long ts_ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static void timer_oneshot(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    CHECK(fd >= 0);
    uint64_t v;
    SHOW("unarmed read", read(fd, &v, 8));
    struct itimerspec cur, old;
    CHECK(timerfd_gettime(fd, &cur) == 0);
    printf("unarmed gettime zero: %d\n", ts_ns(cur.it_value) == 0 && ts_ns(cur.it_interval) == 0);
    struct itimerspec s = its(30 * MS, 0);
    CHECK(timerfd_settime(fd, 0, &s, &old) == 0);
    printf("old value zero: %d\n", ts_ns(old.it_value) == 0);
    CHECK(timerfd_gettime(fd, &cur) == 0);
    CHECK(ts_ns(cur.it_value) > 0 && ts_ns(cur.it_value) <= 30 * MS);
    CHECK(ts_ns(cur.it_interval) == 0);
    SHOW("before expiry", read(fd, &v, 8));
    /* Blocking read: waits for the expiry. */
    CHECK(fcntl(fd, F_SETFL, 0) == 0);
    printf("blocking read: %llu\n", (unsigned long long)read_u64(fd));
    CHECK(timerfd_gettime(fd, &cur) == 0);
    printf("after expiry gettime zero: %d\n", ts_ns(cur.it_value) == 0);
    CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
    SHOW("read again", read(fd, &v, 8));

    /* Absolute, on CLOCK_REALTIME: 20 ms from now. */
    int rfd = timerfd_create(CLOCK_REALTIME, 0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long at = ts_ns(now) + 20 * MS;
    s = its(at, 0);
    CHECK(timerfd_settime(rfd, TFD_TIMER_ABSTIME, &s, NULL) == 0);
    printf("absolute realtime: %llu\n", (unsigned long long)read_u64(rfd));
    /* Absolute in the past: expires at once. */
    s = its(1, 0);
    CHECK(timerfd_settime(rfd, TFD_TIMER_ABSTIME, &s, NULL) == 0);
    printf("absolute in the past: %llu\n", (unsigned long long)read_u64(rfd));
    close(rfd);

    /* Boottime, and disarming a pending timer. */
    int bfd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    CHECK(bfd >= 0);
    printf("F_GETFL %o F_GETFD %d\n", fcntl(bfd, F_GETFL), fcntl(bfd, F_GETFD));
    s = its(10 * MS, 0);
    CHECK(timerfd_settime(bfd, 0, &s, NULL) == 0);
    struct itimerspec zero = its(0, 0);
    CHECK(timerfd_settime(bfd, 0, &zero, &old) == 0);
    CHECK(ts_ns(old.it_value) > 0);
    sleep_ms(30);
    SHOW("disarmed before expiry", read(bfd, &v, 8));
    CHECK(timerfd_gettime(bfd, &cur) == 0);
    printf("gettime after disarm zero: %d\n", ts_ns(cur.it_value) == 0 && ts_ns(cur.it_interval) == 0);
    close(bfd);
    close(fd);
}

static void timer_periodic(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec s = its(20 * MS, 20 * MS), cur, old;
    CHECK(timerfd_settime(fd, 0, &s, NULL) == 0);
    sleep_ms(110); /* ~5 intervals */
    uint64_t n = read_u64(fd);
    printf("after ~5 intervals: at least 3: %d\n", n >= 3);
    CHECKF(n >= 3 && n <= 6, "n=%llu", (unsigned long long)n);
    CHECK(timerfd_gettime(fd, &cur) == 0);
    printf("interval kept: %lld ms\n", ts_ns(cur.it_interval) / MS);
    CHECK(ts_ns(cur.it_value) > 0 && ts_ns(cur.it_value) <= 20 * MS);
    /* Blocking reads: each gets at least one tick. */
    int ticks = 0;
    for (int i = 0; i < 5; i++) {
        uint64_t k = read_u64(fd);
        CHECK(k >= 1);
        ticks += k >= 1;
    }
    printf("5 blocking reads, each >= 1: %d\n", ticks);
    /* Re-arming resets the count. */
    sleep_ms(50);
    s = its(1000 * MS, 0);
    CHECK(timerfd_settime(fd, 0, &s, &old) == 0);
    printf("old interval %lld ms\n", ts_ns(old.it_interval) / MS);
    CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
    uint64_t v;
    SHOW("count after re-arming", read(fd, &v, 8));
    /* Interval with a zero value: disarmed. */
    s = its(0, 10 * MS);
    CHECK(timerfd_settime(fd, 0, &s, NULL) == 0);
    CHECK(timerfd_gettime(fd, &cur) == 0);
    printf("zero value with a 10 ms interval: value %lld, interval %lld ms\n",
           ts_ns(cur.it_value), ts_ns(cur.it_interval) / MS);
    /* A 1 us period: the expirations are counted, not delivered one interrupt each. */
    s = its(1000, 1000);
    CHECK(timerfd_settime(fd, 0, &s, NULL) == 0);
    sleep_ms(50);
    uint64_t many = 0;
    CHECK(read(fd, &many, 8) == 8);
    printf("1 us period over ~50 ms: at least 10000: %d\n", many >= 10000);
    CHECKF(many >= 10000 && many < 100000000, "%llu", (unsigned long long)many);
    close(fd);
}

static void timer_errors(void)
{
    SHOW("create CLOCK_PROCESS_CPUTIME_ID", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0));
    SHOW("create bad flags", timerfd_create(CLOCK_MONOTONIC, 0x1));
    SHOW("create clock 99", timerfd_create(99, 0));
    int afd = timerfd_create(CLOCK_REALTIME_ALARM, 0);
    printf("CLOCK_REALTIME_ALARM (root): %s\n", afd >= 0 ? "created" : err_name(errno));
    if (afd >= 0)
        close(afd);
    afd = timerfd_create(CLOCK_BOOTTIME_ALARM, 0);
    printf("CLOCK_BOOTTIME_ALARM (root): %s\n", afd >= 0 ? "created" : err_name(errno));
    if (afd >= 0)
        close(afd);
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct itimerspec s = its(0, 0), cur;
    s.it_value.tv_nsec = 1000000000;
    SHOW("tv_nsec 1e9", timerfd_settime(fd, 0, &s, NULL));
    s = its(0, 0);
    s.it_interval.tv_nsec = -1;
    SHOW("interval tv_nsec -1", timerfd_settime(fd, 0, &s, NULL));
    s = its(0, 0);
    s.it_value.tv_sec = -1;
    SHOW("tv_sec -1", timerfd_settime(fd, 0, &s, NULL));
    s = its(MS, 0);
    SHOW("bad settime flags", timerfd_settime(fd, 0x10, &s, NULL));
    SHOW("CANCEL_ON_SET without ABSTIME", timerfd_settime(fd, TFD_TIMER_CANCEL_ON_SET, &s, NULL));
    SHOW("settime from a bad address", timerfd_settime(fd, 0, (void *)8, NULL));
    SHOW("gettime to a bad address", timerfd_gettime(fd, (void *)8));
    int efd = eventfd(0, 0);
    SHOW("settime on an eventfd", timerfd_settime(efd, 0, &s, NULL));
    SHOW("gettime on an eventfd", timerfd_gettime(efd, &cur));
    SHOW("gettime on fd 999", timerfd_gettime(999, &cur));
    close(efd);
    uint32_t small;
    SHOW("read of 4 bytes", read(fd, &small, 4));
    SHOW("write", write(fd, &small, 4));
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    printf("st_mode %o\n", st.st_mode);
    close(fd);
}

static void timer_poll(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    {
        int pr = poll(&p, 1, 0);
        printf("unarmed: %d %#x\n", pr, p.revents);
    }
    struct itimerspec s = its(20 * MS, 0);
    CHECK(timerfd_settime(fd, 0, &s, NULL) == 0);
    {
        int pr = poll(&p, 1, 0);
        printf("armed: %d %#x\n", pr, p.revents);
    }
    int r = poll(&p, 1, 5000);
    printf("waited: %d %#x\n", r, p.revents);
    read_u64(fd);
    {
        int pr = poll(&p, 1, 0);
        printf("read: %d %#x\n", pr, p.revents);
    }
    close(fd);
}

/* ---- signalfd ---- */

static void signalfd_basic(void)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    CHECK(sigprocmask(SIG_BLOCK, &mask, NULL) == 0);
    int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    CHECK(fd >= 0);
    printf("F_GETFL %o F_GETFD %d\n", fcntl(fd, F_GETFL), fcntl(fd, F_GETFD));
    struct signalfd_siginfo si[4];
    SHOW("nothing pending", read(fd, si, sizeof si));
    CHECK(raise(SIGUSR1) == 0);
    CHECK(kill(getpid(), SIGUSR2) == 0);
    ssize_t r = read(fd, si, sizeof si);
    printf("read %zd bytes (%zu a record)\n", r, sizeof si[0]);
    for (int i = 0; i < r / (ssize_t)sizeof si[0]; i++)
        printf("  signo %u code %s pid-is-mine %d uid %u\n", si[i].ssi_signo,
               si[i].ssi_code == SI_USER    ? "SI_USER"
               : si[i].ssi_code == SI_TKILL ? "SI_TKILL"
                                            : "other",
               si[i].ssi_pid == (uint32_t)getpid(), si[i].ssi_uid);
    sigset_t pending;
    sigpending(&pending);
    printf("still pending: %d %d\n", sigismember(&pending, SIGUSR1), sigismember(&pending, SIGUSR2));
    SHOW("read of less than a record", read(fd, si, sizeof si[0] - 1));

    /* Only signals in the fd's mask are read; signalfd4 on the fd changes its mask. */
    sigset_t only1;
    sigemptyset(&only1);
    sigaddset(&only1, SIGUSR1);
    CHECK(signalfd(fd, &only1, 0) == fd);
    CHECK(raise(SIGUSR2) == 0);
    SHOW("SIGUSR2 outside the mask", read(fd, si, sizeof si));
    CHECK(raise(SIGUSR1) == 0);
    r = read(fd, si, sizeof si);
    printf("SIGUSR1: %zd bytes, signo %u\n", r, si[0].ssi_signo);
    sigpending(&pending);
    printf("SIGUSR2 still pending: %d\n", sigismember(&pending, SIGUSR2));
    signal(SIGUSR2, SIG_IGN); /* drop it */
    CHECK(sigprocmask(SIG_UNBLOCK, &mask, NULL) == 0);
    close(fd);
}

static void signalfd_poll(void)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &mask, NULL) == 0);
    int fd = signalfd(-1, &mask, SFD_NONBLOCK);
    struct pollfd p = {fd, POLLIN, 0};
    int pr = poll(&p, 1, 0);
    printf("nothing pending: %d %#x\n", pr, p.revents);
    CHECK(raise(SIGUSR1) == 0);
    pr = poll(&p, 1, 0);
    printf("SIGUSR1 pending: %d %#x\n", pr, p.revents);
    struct signalfd_siginfo si;
    CHECK(read(fd, &si, sizeof si) == sizeof si);
    pr = poll(&p, 1, 0);
    printf("read: %d %#x\n", pr, p.revents);
    close(fd);
}

static int sig_fd;
static void *late_signal(void *arg)
{
    pthread_t target = *(pthread_t *)arg;
    sleep_ms(50);
    CHECK(pthread_kill(target, SIGUSR1) == 0);
    return NULL;
}

static void signalfd_block(void)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &mask, NULL) == 0);
    sig_fd = signalfd(-1, &mask, 0);
    pthread_t self = pthread_self();
    pthread_t t = start(late_signal, &self);
    struct signalfd_siginfo si;
    ssize_t r = read(sig_fd, &si, sizeof si);
    printf("blocking read woken: %zd bytes, signo %u\n", r, si.ssi_signo);
    pthread_join(t, NULL);
    close(sig_fd);
}

static void signalfd_errors(void)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    SHOW("bad flags", syscall(SYS_signalfd4, -1, &mask, 8, 0x1));
    SHOW("bad size", syscall(SYS_signalfd4, -1, &mask, 4, 0));
    SHOW("bad mask address", syscall(SYS_signalfd4, -1, (void *)8, 8, 0));
    int efd = eventfd(0, 0);
    SHOW("an eventfd", signalfd(efd, &mask, 0));
    SHOW("fd 999", signalfd(999, &mask, 0));
    close(efd);
    int fd = signalfd(-1, &mask, 0);
    uint64_t v = 0;
    SHOW("write", write(fd, &v, 8));
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    printf("st_mode %o\n", st.st_mode);
    close(fd);
}

int main(int argc, char **argv)
{
    if (MODE_IS("counter"))
        counter();
    else if (MODE_IS("semaphore"))
        semaphore();
    else if (MODE_IS("errors"))
        eventfd_errors();
    else if (MODE_IS("block"))
        eventfd_block();
    else if (MODE_IS("poll"))
        eventfd_poll();
    else if (MODE_IS("timer-oneshot"))
        timer_oneshot();
    else if (MODE_IS("timer-periodic"))
        timer_periodic();
    else if (MODE_IS("timer-errors"))
        timer_errors();
    else if (MODE_IS("timer-poll"))
        timer_poll();
    else if (MODE_IS("signalfd"))
        signalfd_basic();
    else if (MODE_IS("signalfd-poll"))
        signalfd_poll();
    else if (MODE_IS("signalfd-block"))
        signalfd_block();
    else if (MODE_IS("signalfd-errors"))
        signalfd_errors();
    else {
        printf("unknown mode\n");
        return 2;
    }
    return check_finish();
}
