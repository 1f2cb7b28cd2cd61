/* Pipes: large transfers between threads, PIPE_BUF atomicity with several writers, end of file,
 * EPIPE and SIGPIPE, O_NONBLOCK, capacities (F_GETPIPE_SZ/F_SETPIPE_SZ) and the merging of small
 * writes into pages, FIONREAD, blocking reads and writes woken from another thread, packet mode,
 * partial copies when the service's buffer faults. `pipes MODE`, one mode per case.
 * Only facts that are the same on Linux and on Ferrite are printed. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

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

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int fionread(int fd)
{
    int n = -1;
    int r = ioctl(fd, FIONREAD, &n);
    CHECKF(r == 0, "FIONREAD: errno %d", errno);
    return n;
}

/* ---- transfer: 8 MiB in random-sized writes and reads, checked by checksum ---- */

#define TRANSFER_BYTES (8 << 20)
static int transfer_fds[2];

static uint8_t byte_at(uint64_t i) { return (uint8_t)(i * 2654435761u >> 13); }

static void *transfer_writer(void *arg)
{
    (void)arg;
    static uint8_t buf[100000];
    uint64_t seed = 12345, sent = 0;
    while (sent < TRANSFER_BYTES) {
        size_t n = 1 + rng_next(&seed) % sizeof buf;
        if (n > TRANSFER_BYTES - sent)
            n = TRANSFER_BYTES - sent;
        for (size_t i = 0; i < n; i++)
            buf[i] = byte_at(sent + i);
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(transfer_fds[1], buf + off, n - off);
            CHECKF(w > 0, "write: %zd errno %d", w, errno);
            if (w <= 0)
                return NULL;
            off += (size_t)w;
        }
        sent += n;
    }
    close(transfer_fds[1]);
    return NULL;
}

static void transfer(void)
{
    CHECK(pipe(transfer_fds) == 0);
    pthread_t t = start(transfer_writer, NULL);
    static uint8_t buf[70000];
    uint64_t seed = 999, got = 0, sum = 0, expected_sum = 0, wrong = 0;
    for (;;) {
        size_t want = 1 + rng_next(&seed) % sizeof buf;
        ssize_t r = read(transfer_fds[0], buf, want);
        CHECKF(r >= 0, "read: errno %d", errno);
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] != byte_at(got + i))
                wrong++;
            sum = sum * 31 + buf[i];
            expected_sum = expected_sum * 31 + byte_at(got + i);
        }
        got += (uint64_t)r;
    }
    pthread_join(t, NULL);
    close(transfer_fds[0]);
    CHECKF(got == TRANSFER_BYTES, "got %llu", (unsigned long long)got);
    CHECK(wrong == 0);
    CHECK(sum == expected_sum);
    printf("transferred %llu bytes, checksum %s\n", (unsigned long long)got,
           sum == expected_sum ? "matches" : "differs");
}

/* ---- atomic: writes of at most PIPE_BUF from 4 threads arrive whole ---- */

#define WRITERS 4
#define RECORDS 1500
static int atomic_fds[2];

struct record_header {
    uint16_t writer, length;
    uint32_t seq;
};

static void *atomic_writer(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint8_t rec[PIPE_BUF];
    uint64_t seed = 77 + id;
    for (uint32_t seq = 0; seq < RECORDS; seq++) {
        size_t len = sizeof(struct record_header) + rng_next(&seed) % (PIPE_BUF - 7);
        if (seq % 50 == 0)
            len = PIPE_BUF; /* some of exactly PIPE_BUF */
        struct record_header h = {(uint16_t)id, (uint16_t)(len - 1), seq};
        memcpy(rec, &h, sizeof h);
        memset(rec + sizeof h, 'a' + id, len - sizeof h);
        ssize_t w = write(atomic_fds[1], rec, len);
        CHECKF(w == (ssize_t)len, "write %zu: %zd errno %d", len, w, errno);
    }
    return NULL;
}

static void atomic(void)
{
    CHECK(pipe(atomic_fds) == 0);
    pthread_t t[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        t[i] = start(atomic_writer, (void *)(intptr_t)i);
    uint32_t next_seq[WRITERS] = {0};
    static uint8_t stream[2 * PIPE_BUF];
    size_t have = 0;
    int records = 0, broken = 0;
    while (records < WRITERS * RECORDS && !broken) {
        ssize_t r = read(atomic_fds[0], stream + have, sizeof stream - have);
        CHECKF(r > 0, "read: %zd errno %d", r, errno);
        if (r <= 0)
            break;
        have += (size_t)r;
        for (;;) {
            struct record_header h;
            if (have < sizeof h)
                break;
            memcpy(&h, stream, sizeof h);
            size_t len = (size_t)h.length + 1;
            if (h.writer >= WRITERS || len > PIPE_BUF || len < sizeof h) {
                broken = 1;
                break;
            }
            if (have < len)
                break;
            for (size_t i = sizeof h; i < len; i++)
                if (stream[i] != 'a' + h.writer)
                    broken = 1;
            if (h.seq != next_seq[h.writer])
                broken = 1;
            next_seq[h.writer]++;
            records++;
            memmove(stream, stream + len, have - len);
            have -= len;
        }
    }
    CHECK(!broken);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
    CHECK(have == 0);
    printf("%d records from %d writers, each intact and in order: %s\n", records, WRITERS,
           broken ? "no" : "yes");
    close(atomic_fds[0]);
    close(atomic_fds[1]);
}

/* ---- eof, errors, stat ---- */

static void eof(void)
{
    int fds[2];
    char buf[16];
    CHECK(pipe(fds) == 0);
    CHECK(write(fds[1], "hello", 5) == 5);
    int dup_w = dup(fds[1]);
    close(fds[1]);
    CHECK(fionread(fds[0]) == 5);
    CHECK(read(fds[0], buf, 3) == 3 && memcmp(buf, "hel", 3) == 0);
    CHECK(write(dup_w, "!", 1) == 1); /* the duplicate keeps the write end open */
    close(dup_w);
    ssize_t r = read(fds[0], buf, sizeof buf);
    CHECK(r == 3 && memcmp(buf, "lo!", 3) == 0);
    CHECK(read(fds[0], buf, sizeof buf) == 0);
    CHECK(read(fds[0], buf, sizeof buf) == 0);
    CHECK(read(fds[0], buf, 0) == 0);
    close(fds[0]);
    printf("eof after the last writer closed\n");
}

static void errors(void)
{
    int fds[2];
    char c = 'x';
    errno = 0;
    CHECK(pipe2(fds, O_APPEND) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(syscall(SYS_pipe2, fds, 0x40000000) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(syscall(SYS_pipe, NULL) == -1 && errno == EFAULT);
    errno = 0;
    CHECK(syscall(SYS_pipe2, (void *)8, 0) == -1 && errno == EFAULT);
    CHECK(pipe(fds) == 0);
    errno = 0;
    CHECK(read(fds[1], &c, 1) == -1 && errno == EBADF);
    errno = 0;
    CHECK(write(fds[0], &c, 1) == -1 && errno == EBADF);
    errno = 0;
    CHECK(lseek(fds[0], 0, SEEK_SET) == -1 && errno == ESPIPE);
    errno = 0;
    CHECK(pwrite(fds[1], &c, 1, 0) == -1 && errno == ESPIPE);
    errno = 0;
    CHECK(pread(fds[0], &c, 1, 0) == -1 && errno == ESPIPE);
    CHECK(write(fds[1], &c, 0) == 0);
    CHECK(fionread(fds[0]) == 0);
    errno = 0;
    CHECK(ioctl(fds[0], TCGETS + 0x100, &c) == -1 && errno == ENOTTY);

    struct stat st;
    CHECK(fstat(fds[0], &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));
    printf("mode %o blksize %ld nlink %ld\n", st.st_mode, (long)st.st_blksize, (long)st.st_nlink);
    struct stat st2;
    CHECK(fstat(fds[1], &st2) == 0 && st2.st_ino == st.st_ino);
    printf("F_GETFL read end %o write end %o\n", fcntl(fds[0], F_GETFL), fcntl(fds[1], F_GETFL));
    printf("F_GETFD %d %d\n", fcntl(fds[0], F_GETFD), fcntl(fds[1], F_GETFD));
    close(fds[0]);
    close(fds[1]);
    CHECK(pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    printf("pipe2(O_CLOEXEC|O_NONBLOCK): F_GETFL %o %o F_GETFD %d %d\n", fcntl(fds[0], F_GETFL),
           fcntl(fds[1], F_GETFL), fcntl(fds[0], F_GETFD), fcntl(fds[1], F_GETFD));
    close(fds[0]);
    close(fds[1]);
    /* One fd left under RLIMIT_NOFILE: EMFILE, and nothing stays open. */
    struct rlimit old_limit, one_left;
    CHECK(getrlimit(RLIMIT_NOFILE, &old_limit) == 0);
    int probe = dup(0);
    one_left = old_limit;
    one_left.rlim_cur = (rlim_t)probe + 1;
    close(probe);
    CHECK(setrlimit(RLIMIT_NOFILE, &one_left) == 0);
    errno = 0;
    CHECK(pipe(fds) == -1 && errno == EMFILE);
    int again = dup(0);
    printf("pipe with one fd left: EMFILE, the fd is free again: %d\n", again == probe);
    close(again);
    CHECK(setrlimit(RLIMIT_NOFILE, &old_limit) == 0);
    printf("errors done\n");
}

/* ---- EPIPE, SIGPIPE ---- */

static void epipe_ignored(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    errno = 0;
    CHECK(write(fds[1], "x", 1) == -1 && errno == EPIPE);
    errno = 0;
    CHECK(write(fds[1], "", 0) == 0); /* an empty write does not look for readers */
    printf("SIGPIPE ignored: EPIPE\n");

    /* Blocked: EPIPE, and SIGPIPE stays pending. */
    signal(SIGPIPE, SIG_DFL);
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    errno = 0;
    CHECK(write(fds[1], "x", 1) == -1 && errno == EPIPE);
    CHECK(sigpending(&pending) == 0);
    CHECK(sigismember(&pending, SIGPIPE));
    printf("SIGPIPE blocked: EPIPE, pending %d\n", sigismember(&pending, SIGPIPE));
    signal(SIGPIPE, SIG_IGN); /* discards the pending one */
    CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
    close(fds[1]);
    printf("still running\n");
}

static void sigpipe_kills(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    CHECK(write(fds[1], "x", 1) == 1);
    close(fds[0]);
    printf("writing with no reader\n");
    fflush(stdout);
    ssize_t r = write(fds[1], "x", 1);
    printf("not reached: %zd\n", r);
}

static volatile sig_atomic_t sigpipe_caught;
static void on_sigpipe(int sig) { sigpipe_caught = sig; }

static void sigpipe_handler(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    close(fds[0]);
    signal(SIGPIPE, on_sigpipe);
    errno = 0;
    CHECK(write(fds[1], "x", 1) == -1 && errno == EPIPE);
    CHECK(sigpipe_caught == SIGPIPE);
    printf("SIGPIPE handled: %d, then EPIPE\n", sigpipe_caught);
    close(fds[1]);
}

/* ---- nonblocking, capacities, merging, FIONREAD ---- */

static void nonblock(void)
{
    int fds[2];
    char buf[PAGE * 2];
    memset(buf, 'z', sizeof buf);
    CHECK(pipe2(fds, O_NONBLOCK) == 0);
    errno = 0;
    CHECK(read(fds[0], buf, 1) == -1 && errno == EAGAIN);
    /* 100-byte writes merge into pages: 40 per page, 16 pages. */
    long total = 0;
    for (int i = 0; i < 100000; i++) {
        ssize_t w = write(fds[1], buf, 100);
        if (w < 0) {
            CHECK(errno == EAGAIN);
            break;
        }
        CHECK(w == 100);
        total += w;
    }
    printf("100-byte writes until full: %ld bytes, FIONREAD %d\n", total, fionread(fds[0]));
    /* The last page has 96 bytes free: a small write still merges into it. */
    printf("then a 1-byte write: %zd\n", write(fds[1], buf, 1));
    errno = 0;
    CHECK(write(fds[1], buf, 97) == -1 && errno == EAGAIN);
    CHECK(read(fds[0], buf, 4000) == 4000); /* frees one page */
    errno = 0;
    ssize_t w = write(fds[1], buf, PAGE + 1000); /* only one page fits */
    printf("write of %d with one page free: %zd\n", PAGE + 1000, w);
    errno = 0;
    CHECK(write(fds[1], buf, 1) == -1 && errno == EAGAIN);
    close(fds[0]);
    close(fds[1]);

    /* 1-byte writes fill 64 KiB exactly. */
    CHECK(pipe2(fds, O_NONBLOCK) == 0);
    total = 0;
    for (int i = 0; i < 70000; i++) {
        if (write(fds[1], buf, 1) != 1)
            break;
        total++;
    }
    printf("1-byte writes until full: %ld\n", total);
    /* A blocking read still returns what is there. */
    CHECK(fcntl(fds[0], F_SETFL, 0) == 0);
    CHECK(read(fds[0], buf, sizeof buf) == (ssize_t)sizeof buf);
    printf("FIONREAD after reading %zu: %d\n", sizeof buf, fionread(fds[0]));
    close(fds[0]);
    close(fds[1]);
    /* Non-blocking read at EOF is 0, not EAGAIN. */
    CHECK(pipe2(fds, O_NONBLOCK) == 0);
    close(fds[1]);
    CHECK(read(fds[0], buf, 1) == 0);
    close(fds[0]);
}

static void sizes(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    printf("default F_GETPIPE_SZ %d\n", fcntl(fds[0], F_GETPIPE_SZ));
    int asks[] = {0, 1, 4096, 4097, 5000, 100000, 65536, 1 << 20};
    for (unsigned i = 0; i < sizeof asks / sizeof asks[0]; i++) {
        int r = fcntl(fds[1], F_SETPIPE_SZ, asks[i]);
        printf("F_SETPIPE_SZ %d -> %d, F_GETPIPE_SZ %d\n", asks[i], r, fcntl(fds[0], F_GETPIPE_SZ));
    }
    errno = 0;
    CHECK(syscall(SYS_fcntl, fds[0], F_SETPIPE_SZ, 0x80000001u) == -1 && errno == EINVAL);
    /* Not below the content: 3 pages in use. */
    CHECK(fcntl(fds[1], F_SETPIPE_SZ, 65536) == 65536);
    static char buf[3 * PAGE];
    CHECK(write(fds[1], buf, sizeof buf) == (ssize_t)sizeof buf);
    errno = 0;
    CHECK(fcntl(fds[1], F_SETPIPE_SZ, 8192) == -1 && errno == EBUSY);
    CHECK(fcntl(fds[1], F_SETPIPE_SZ, 16384) == 16384);
    /* 4 slots, 3 used: one more page fits, then a non-blocking write would block. */
    CHECK(fcntl(fds[1], F_SETFL, O_NONBLOCK) == 0);
    CHECK(write(fds[1], buf, PAGE) == PAGE);
    errno = 0;
    CHECK(write(fds[1], buf, 1) == -1 && errno == EAGAIN);
    printf("FIONREAD %d\n", fionread(fds[0]));
    close(fds[0]);
    close(fds[1]);
    int efd = eventfd(0, 0);
    errno = 0;
    CHECK(fcntl(efd, F_GETPIPE_SZ) == -1 && errno == EBADF);
    errno = 0;
    CHECK(fcntl(efd, F_SETPIPE_SZ, 4096) == -1 && errno == EBADF);
    close(efd);
    printf("sizes done\n");
}

/* ---- blocking, woken from another thread ---- */

static int wake_fds[2];

static void *late_writer(void *arg)
{
    (void)arg;
    sleep_ms(50);
    CHECK(write(wake_fds[1], "wake", 4) == 4);
    return NULL;
}

static void *late_closer(void *arg)
{
    (void)arg;
    sleep_ms(50);
    close(wake_fds[1]);
    return NULL;
}

static void *late_reader(void *arg)
{
    (void)arg;
    static char buf[PAGE * 20];
    sleep_ms(50);
    size_t got = 0;
    while (got < sizeof buf) {
        ssize_t r = read(wake_fds[0], buf, sizeof buf - got);
        CHECK(r > 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return NULL;
}

static void *late_read_closer(void *arg)
{
    (void)arg;
    sleep_ms(50);
    close(wake_fds[0]);
    return NULL;
}

static void wake(void)
{
    char buf[16];
    CHECK(pipe(wake_fds) == 0);
    pthread_t t = start(late_writer, NULL);
    ssize_t r = read(wake_fds[0], buf, sizeof buf);
    CHECK(r == 4 && memcmp(buf, "wake", 4) == 0);
    pthread_join(t, NULL);
    printf("blocked reader woken by a write: %zd bytes\n", r);

    t = start(late_closer, NULL);
    r = read(wake_fds[0], buf, sizeof buf);
    CHECK(r == 0);
    pthread_join(t, NULL);
    printf("blocked reader woken by the last writer closing: %zd\n", r);
    close(wake_fds[0]);

    /* A writer of more than the capacity blocks until a reader takes it all. */
    CHECK(pipe(wake_fds) == 0);
    static char big[PAGE * 20];
    t = start(late_reader, NULL);
    r = write(wake_fds[1], big, sizeof big);
    CHECK(r == (ssize_t)sizeof big);
    pthread_join(t, NULL);
    printf("blocked writer of %zu bytes: %zd\n", sizeof big, r);

    /* A blocked writer whose reader goes: EPIPE after what was written. */
    signal(SIGPIPE, SIG_IGN);
    t = start(late_read_closer, NULL);
    r = write(wake_fds[1], big, sizeof big);
    printf("blocked writer when the reader closed: %zd (%s)\n", r,
           r == -1 && errno == EPIPE ? "EPIPE" : "partial");
    pthread_join(t, NULL);
    close(wake_fds[1]);
}

/* ---- packet mode ---- */

static void packets(void)
{
    int fds[2];
    char buf[100];
    CHECK(pipe2(fds, O_DIRECT) == 0);
    printf("F_GETFL has O_DIRECT: %d\n", (fcntl(fds[1], F_GETFL) & O_DIRECT) != 0);
    CHECK(write(fds[1], "0123456789", 10) == 10);
    CHECK(write(fds[1], "abcdefghijklmnopqrst", 20) == 20);
    CHECK(write(fds[1], "XYZ", 3) == 3);
    printf("FIONREAD %d\n", fionread(fds[0]));
    ssize_t a = read(fds[0], buf, sizeof buf);
    ssize_t b = read(fds[0], buf, 5);
    printf("packets read: %zd, then %zd (%.5s)\n", a, b, buf);
    ssize_t c = read(fds[0], buf, sizeof buf);
    printf("next packet: %zd (%.*s)\n", c, (int)c, buf);
    close(fds[0]);
    close(fds[1]);
}

/* ---- partial copies when the service's buffer faults ---- */

static void faults(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    char *area = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(area != MAP_FAILED);
    memset(area, 'q', 2 * PAGE);
    CHECK(mprotect(area + 2 * PAGE, PAGE, PROT_NONE) == 0);
    /* A write running into the inaccessible page: the whole pages before it. */
    ssize_t r = write(fds[1], area + PAGE, 2 * PAGE);
    printf("write across into an inaccessible page: %zd\n", r);
    r = write(fds[1], area + 100, 2 * PAGE);
    printf("write of 2 pages ending 100 bytes into it: %zd\n", r);
    errno = 0;
    r = write(fds[1], area + 2 * PAGE, 10);
    printf("write from it: %zd errno %s\n", r, errno == EFAULT ? "EFAULT" : "other");
    errno = 0;
    r = write(fds[1], area + 2 * PAGE - 10, 20);
    printf("write of 20 straddling it: %zd errno %s\n", r, errno == EFAULT ? "EFAULT" : "other");
    printf("FIONREAD %d\n", fionread(fds[0]));
    /* Reads: a piece whose copy faults is not consumed. */
    r = read(fds[0], area + 2 * PAGE - 100, 200);
    printf("read of 200 into 100 accessible bytes: %zd errno %s, FIONREAD %d\n", r,
           errno == EFAULT ? "EFAULT" : "other", fionread(fds[0]));
    r = read(fds[0], area + PAGE, 3 * PAGE);
    printf("read of 3 pages into 1 accessible: %zd, FIONREAD %d\n", r, fionread(fds[0]));
    r = read(fds[0], area, 3 * PAGE);
    printf("read of the rest: %zd, FIONREAD %d\n", r, fionread(fds[0]));
    munmap(area, 3 * PAGE);
    close(fds[0]);
    close(fds[1]);
}

/* ---- poll readiness of both ends ---- */

static void poll_ends(void)
{
    int fds[2];
    CHECK(pipe2(fds, O_NONBLOCK) == 0);
    struct pollfd p[2] = {{fds[0], POLLIN | POLLOUT, 0}, {fds[1], POLLIN | POLLOUT, 0}};
    CHECK(poll(p, 2, 0) == 1);
    printf("empty: read end %#x write end %#x\n", p[0].revents, p[1].revents);
    CHECK(write(fds[1], "x", 1) == 1);
    CHECK(poll(p, 2, 0) == 2);
    printf("data: read end %#x write end %#x\n", p[0].revents, p[1].revents);
    static char buf[65536];
    CHECK(write(fds[1], buf, sizeof buf) > 0);
    poll(p, 2, 0);
    printf("full: read end %#x write end %#x\n", p[0].revents, p[1].revents);
    int rd2 = dup(fds[0]);
    close(fds[0]);
    poll(p + 1, 1, 0);
    printf("a duplicate reader left: write end %#x\n", p[1].revents);
    close(rd2);
    poll(p + 1, 1, 0);
    printf("no reader: write end %#x\n", p[1].revents);
    close(fds[1]);

    CHECK(pipe2(fds, O_NONBLOCK) == 0);
    CHECK(write(fds[1], "x", 1) == 1);
    close(fds[1]);
    p[0].fd = fds[0];
    poll(p, 1, 0);
    printf("no writer, data: read end %#x\n", p[0].revents);
    CHECK(read(fds[0], buf, 10) == 1);
    poll(p, 1, 0);
    printf("no writer, empty: read end %#x\n", p[0].revents);
    close(fds[0]);
}

/* ---- a signal ends blocking reads and writes: EINTR (no SA_RESTART), or the count so far ---- */

static void on_usr1(int sig) { (void)sig; }

static void *kicker(void *arg)
{
    sleep_ms(50);
    CHECK(pthread_kill(*(pthread_t *)arg, SIGUSR1) == 0);
    return NULL;
}

static void eintr(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART */
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    pthread_t self = pthread_self();
    int fds[2];
    static char buf[100000];
    CHECK(pipe(fds) == 0);

    pthread_t t = start(kicker, &self);
    errno = 0;
    ssize_t r = read(fds[0], buf, 1);
    printf("blocked read: %zd %s\n", r, errno == EINTR ? "EINTR" : "other");
    pthread_join(t, NULL);

    t = start(kicker, &self);
    r = write(fds[1], buf, sizeof buf);
    printf("blocked write of %zu after filling the pipe: %zd\n", sizeof buf, r);
    pthread_join(t, NULL);

    t = start(kicker, &self);
    errno = 0;
    r = write(fds[1], buf, 1);
    printf("blocked write into a full pipe: %zd %s\n", r, errno == EINTR ? "EINTR" : "other");
    pthread_join(t, NULL);
    close(fds[0]);
    close(fds[1]);

    int efd = eventfd(0, 0);
    uint64_t v;
    t = start(kicker, &self);
    errno = 0;
    r = read(efd, &v, 8);
    printf("blocked eventfd read: %zd %s\n", r, errno == EINTR ? "EINTR" : "other");
    pthread_join(t, NULL);
    close(efd);
}

/* With SA_RESTART the interrupted calls start again (and the handler ran). */
static volatile sig_atomic_t usr1_count;
static void count_usr1(int sig)
{
    (void)sig;
    usr1_count++;
}

static int restart_fds[2];
static void *kick_then_write(void *arg)
{
    sleep_ms(50);
    CHECK(pthread_kill(*(pthread_t *)arg, SIGUSR1) == 0);
    sleep_ms(50);
    CHECK(write(restart_fds[1], "late", 4) == 4);
    return NULL;
}

static void *kick_then_add(void *arg)
{
    sleep_ms(50);
    CHECK(pthread_kill(*(pthread_t *)arg, SIGUSR1) == 0);
    sleep_ms(50);
    uint64_t one = 1;
    CHECK(write(restart_fds[0], &one, 8) == 8);
    return NULL;
}

static void restart(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_usr1;
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    pthread_t self = pthread_self();
    char buf[16];
    CHECK(pipe(restart_fds) == 0);
    pthread_t t = start(kick_then_write, &self);
    ssize_t r = read(restart_fds[0], buf, sizeof buf);
    printf("read restarted after the handler: %zd, handler ran %d time(s)\n", r, usr1_count);
    pthread_join(t, NULL);
    close(restart_fds[0]);
    close(restart_fds[1]);

    restart_fds[0] = eventfd(0, 0);
    t = start(kick_then_add, &self);
    uint64_t v = 0;
    r = read(restart_fds[0], &v, 8);
    printf("eventfd read restarted: %zd, value %llu, handler ran %d time(s)\n", r,
           (unsigned long long)v, usr1_count);
    pthread_join(t, NULL);
    close(restart_fds[0]);

    /* signal() is SA_RESTART in musl and glibc, as BSD's. */
    signal(SIGUSR1, count_usr1);
    CHECK(pipe(restart_fds) == 0);
    t = start(kick_then_write, &self);
    r = read(restart_fds[0], buf, sizeof buf);
    printf("with signal(): %zd, handler ran %d time(s)\n", r, usr1_count);
    pthread_join(t, NULL);
    close(restart_fds[0]);
    close(restart_fds[1]);
}

/* ---- FIFOs (mkfifo): opening ends, data, EOF, ENXIO, fstat ---- */

static char fifo_path[64];

static void *fifo_late_writer(void *arg)
{
    (void)arg;
    sleep_ms(50);
    int fd = open(fifo_path, O_WRONLY);
    CHECK(fd >= 0);
    CHECK(write(fd, "fifo", 4) == 4);
    close(fd);
    return NULL;
}

static void fifo(void)
{
    snprintf(fifo_path, sizeof fifo_path, "/tmp/pipes-fifo-%d", (int)getpid());
    unlink(fifo_path);
    CHECK(mkfifo(fifo_path, 0640) == 0);
    struct stat st;
    CHECK(stat(fifo_path, &st) == 0);
    printf("mkfifo: S_ISFIFO %d mode %o\n", S_ISFIFO(st.st_mode), st.st_mode & 0777);
    errno = 0;
    int w = open(fifo_path, O_WRONLY | O_NONBLOCK);
    printf("non-blocking open for writing without a reader: %d %s\n", w,
           errno == ENXIO ? "ENXIO" : "other");
    int r = open(fifo_path, O_RDONLY | O_NONBLOCK);
    CHECK(r >= 0);
    struct pollfd p = {r, POLLIN, 0};
    int pr = poll(&p, 1, 0);
    printf("reader before any writer: poll %d %#x\n", pr, p.revents);
    w = open(fifo_path, O_WRONLY | O_NONBLOCK);
    CHECK(w >= 0);
    struct stat fst;
    CHECK(fstat(w, &fst) == 0);
    printf("fstat: S_ISFIFO %d, same inode as the path %d\n", S_ISFIFO(fst.st_mode),
           fst.st_ino == st.st_ino);
    printf("F_GETPIPE_SZ %d\n", fcntl(w, F_GETPIPE_SZ));
    CHECK(write(w, "abc", 3) == 3);
    printf("FIONREAD %d\n", fionread(r));
    close(w);
    char buf[16];
    ssize_t n = read(r, buf, sizeof buf);
    printf("read %zd, then %zd at EOF\n", n, read(r, buf, sizeof buf));
    pr = poll(&p, 1, 0);
    printf("after the writer left: poll %d %#x\n", pr, p.revents);
    close(r);

    /* A blocking open for reading waits for a writer. */
    pthread_t t = start(fifo_late_writer, NULL);
    r = open(fifo_path, O_RDONLY);
    CHECK(r >= 0);
    n = read(r, buf, sizeof buf);
    printf("blocking open then read: %zd\n", n);
    pthread_join(t, NULL);
    close(r);
    /* O_RDWR never waits; data left when every end closes is gone. */
    int rw = open(fifo_path, O_RDWR);
    CHECK(rw >= 0);
    CHECK(write(rw, "xyz", 3) == 3);
    close(rw);
    r = open(fifo_path, O_RDONLY | O_NONBLOCK);
    printf("after the last close: FIONREAD %d\n", fionread(r));
    close(r);
    CHECK(unlink(fifo_path) == 0);
}

int main(int argc, char **argv)
{
    if (MODE_IS("transfer"))
        transfer();
    else if (MODE_IS("atomic"))
        atomic();
    else if (MODE_IS("eof"))
        eof();
    else if (MODE_IS("errors"))
        errors();
    else if (MODE_IS("epipe"))
        epipe_ignored();
    else if (MODE_IS("sigpipe"))
        sigpipe_kills();
    else if (MODE_IS("sigpipe-handler"))
        sigpipe_handler();
    else if (MODE_IS("nonblock"))
        nonblock();
    else if (MODE_IS("sizes"))
        sizes();
    else if (MODE_IS("wake"))
        wake();
    else if (MODE_IS("packets"))
        packets();
    else if (MODE_IS("faults"))
        faults();
    else if (MODE_IS("eintr"))
        eintr();
    else if (MODE_IS("restart"))
        restart();
    else if (MODE_IS("fifo"))
        fifo();
    else if (MODE_IS("poll"))
        poll_ends();
    else {
        printf("unknown mode\n");
        return 2;
    }
    return check_finish();
}
