/* The kernel's access to the service's memory, and where mappings may go: `uaccess MODE`.
 *   partial          — buffers that run into an unmapped (or read-only) page: write, writev,
 *                      read, readv (stdin: the case's input), getrandom, struct and string
 *                      arguments. Linux is the oracle, with stdout and stdin pipes as in the
 *                      tests: a pipe copies a page of a write at a time and drops a page that
 *                      faults (so write(p+4094, 4) is EFAULT, write(p, 8192) writes 4096); a read
 *                      whose copy faults is EFAULT and consumes nothing; getrandom returns the
 *                      bytes before the fault
 *   lazy             — the kernel writes into and reads from MAP_NORESERVE pages nobody touched
 *                      yet (they get frames during the copy)
 *   race-write N     — one thread writes a 64-byte line from a page while another unmaps it and
 *                      moves a filled page back in its place (mremap MREMAP_FIXED), over and
 *                      over, until N writes went through: every result is the full count or
 *                      EFAULT, and the output is exactly N lines
 *   race-read        — one thread reads stdin into a page that another unmaps and maps again
 *                      (eager and MAP_NORESERVE) over and over: every result is a count or
 *                      EFAULT, and every byte of stdin is read exactly once
 *   race-getrandom N — N getrandom calls into a page that another thread unmaps, maps again,
 *                      makes read-only and writable again: each result is the full count, a short
 *                      count or EFAULT
 *   map-low          — MAP_FIXED at 0x10000 (vm.mmap_min_addr) and above: mapping, contents,
 *                      the kernel's copies, MAP_FIXED_NOREPLACE, a free hint honoured, lazy pages,
 *                      mprotect, mremap, munmap
 *   mremap-fixed     — MREMAP_FIXED: moving onto a reservation and onto mapped pages (replaced),
 *                      shrinking and growing while moving, 2 MiB pages (aligned and not), lazy
 *                      pages, to the low window; MREMAP_DONTUNMAP (the old range stays, empty);
 *                      Linux's EINVAL and EFAULT cases
 *
 * Nothing printed depends on addresses, timing or the number of CPUs. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define FUTEX_WAIT 0
#define FUTEX_WAKE_OP 5
#define FUTEX_OP_SET 0
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP(op, oparg, cmp, cmparg)                                                        \
    ((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define PAGE 4096ul
#define HUGE (2ul << 20)

static char *map(void *hint, size_t len, int prot, int flags)
{
    void *p = mmap(hint, len, prot, flags | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECKF(p != MAP_FAILED, "mmap(%zu, flags %#x) failed: errno %d", len, flags, errno);
    return p == MAP_FAILED ? NULL : p;
}

static char *map_rw(size_t len)
{
    return map(NULL, len, PROT_READ | PROT_WRITE, 0);
}

/* Two pages, the second unmapped: p + PAGE is the first inaccessible byte. */
/* The second page is PROT_NONE rather than unmapped: an unmapped hole would be reused by the
 * next mmap (Linux places a one-page mapping there), and the copies fault the same way. */
static char *two_pages_second_unmapped(void)
{
    char *p = map_rw(2 * PAGE);
    mprotect(p + PAGE, PAGE, PROT_NONE);
    return p;
}

static int mapped(void *p, size_t len)
{
    return msync(p, len, MS_ASYNC) == 0;
}

/* A system call's result as "N" or "-1 ENAME" (for the handful of errnos used here). */
static const char *errname(int e)
{
    switch (e) {
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EEXIST: return "EEXIST";
    case ESPIPE: return "ESPIPE";
    case EPERM: return "EPERM";
    default: return "other";
    }
}

#define SAY(...) (printf(__VA_ARGS__), fflush(stdout))

/* Run `expr` (a system call), print "label: result" and check it. */
#define EXPECT(label, expr, want, want_errno)                                                 \
    do {                                                                                      \
        fflush(stdout);                                                                       \
        errno = 0;                                                                            \
        long r_ = (long)(expr);                                                               \
        int e_ = errno;                                                                       \
        if (r_ < 0)                                                                           \
            SAY("%s: -1 %s\n", (label), errname(e_));                                         \
        else                                                                                  \
            SAY("%s: %ld\n", (label), r_);                                                    \
        CHECKF(r_ == (want) && (r_ >= 0 || e_ == (want_errno)), "%s: %ld errno %d", (label),  \
               r_, e_);                                                                       \
    } while (0)

/* Fill a page with 64 lines of 64 bytes: "page line NN ....\n". */
static void fill_lines(char *page)
{
    for (int i = 0; i < 64; i++) {
        char *line = page + 64 * i;
        memset(line, '.', 63);
        line[63] = '\n';
        char head[32];
        int n = snprintf(head, sizeof head, "page line %02d ", i);
        memcpy(line, head, n);
    }
}

/* Wait until `n` bytes of stdin are there (natively they all are already; on Ferrite they
 * arrive through the serial port while the program runs). */
static void wait_for_input(int n)
{
    for (int i = 0; i < 10000; i++) {
        int ready = 0;
        if (ioctl(0, FIONREAD, &ready) == 0 && ready >= n)
            return;
        usleep(1000);
    }
}

#define INPUT "0123456789abcdefghijklmnopqrstuvwxyz\n"

static void partial(void)
{
    char *p = two_pages_second_unmapped();
    char *end = p + PAGE; /* first unmapped byte */

    /* write: a page at a time, as a pipe */
    fill_lines(p);
    EXPECT("write running into an unmapped page", write(1, end - 2, 4), -1, EFAULT);
    EXPECT("write of a fully unmapped buffer", write(1, end, 4), -1, EFAULT);
    EXPECT("write of nothing from an unmapped buffer", write(1, end, 0), 0, 0);
    EXPECT("write of nothing from a wild pointer", write(1, (void *)8, 0), 0, 0);
    EXPECT("write from above the user addresses", write(1, (void *)-4096l, 2), -1, EFAULT);
    SAY("two pages, the second unmapped:\n");
    EXPECT("write of the two pages (the first is written)", write(1, p, 2 * PAGE), PAGE, 0);

    /* writev: the same over the whole list of buffers */
    struct iovec bad_middle[3] = {{p, 2}, {end, 2}, {p + 2, 2}};
    EXPECT("writev with an unmapped buffer in the middle", writev(1, bad_middle, 3), -1, EFAULT);
    struct iovec bad_first[2] = {{end, 2}, {p, 2}};
    EXPECT("writev with an unmapped first buffer", writev(1, bad_first, 2), -1, EFAULT);
    SAY("two buffers of half a page, then an unmapped one:\n");
    struct iovec pieces[3] = {{p, PAGE / 2}, {p + PAGE / 2, PAGE / 2}, {end, PAGE}};
    EXPECT("writev (the first page is written)", writev(1, pieces, 3), PAGE, 0);
    static char line[] = "writev line\n";
    struct iovec empty_null[2] = {{line, sizeof line - 1}, {NULL, 0}};
    EXPECT("writev with an empty NULL buffer", writev(1, empty_null, 2), 12, 0);
    struct iovec above[2] = {{line, 2}, {(void *)-4096l, 2}};
    EXPECT("writev with a buffer above the user addresses", writev(1, above, 2), -1, EFAULT);
    struct iovec negative[1] = {{line, (size_t)-1}};
    EXPECT("writev with a negative length", writev(1, negative, 1), -1, EINVAL);
    struct iovec *list_at_end = (struct iovec *)(end - sizeof(struct iovec));
    list_at_end->iov_base = line;
    list_at_end->iov_len = sizeof line - 1;
    EXPECT("writev with the list running into an unmapped page", writev(1, list_at_end, 2), -1,
           EFAULT);
    EXPECT("writev with the list just before it", writev(1, list_at_end, 1), 12, 0);
    EXPECT("pwrite on a pipe", pwrite(1, end, 4, 0), -1, ESPIPE);
    EXPECT("pread on a pipe", pread(0, end, 4, 0), -1, ESPIPE);

    /* getrandom: the bytes before the fault */
    EXPECT("getrandom running into an unmapped page",
           syscall(SYS_getrandom, end - 8, 16, 0), 8, 0);
    EXPECT("getrandom of 200 bytes, 96 mapped", syscall(SYS_getrandom, end - 96, 200, 0), 96, 0);
    EXPECT("getrandom of 40 bytes from an odd address, 13 mapped",
           syscall(SYS_getrandom, end - 13, 40, 0), 13, 0);
    EXPECT("getrandom of 4000 bytes, 3 mapped", syscall(SYS_getrandom, end - 3, 4000, 0), 3, 0);
    EXPECT("getrandom into an unmapped page", syscall(SYS_getrandom, end, 16, 0), -1, EFAULT);
    EXPECT("getrandom of nothing into an unmapped page", syscall(SYS_getrandom, end, 0, 0), 0, 0);
    char *ro = map(NULL, PAGE, PROT_READ, 0);
    EXPECT("getrandom into a read-only page", syscall(SYS_getrandom, ro, 16, 0), -1, EFAULT);

    /* read and readv from a pipe: a copy that faults is EFAULT and consumes nothing */
    wait_for_input((int)strlen(INPUT));
    memset(p, 0, PAGE);
    EXPECT("read running into an unmapped page", read(0, end - 2, 4), -1, EFAULT);
    struct iovec rbad_middle[3] = {{p, 2}, {end, 2}, {p + 8, 2}};
    EXPECT("readv with an unmapped buffer in the middle", readv(0, rbad_middle, 3), -1, EFAULT);
    struct iovec rbad_last[2] = {{p, 2}, {end - 2, 4}};
    EXPECT("readv running into an unmapped page", readv(0, rbad_last, 2), -1, EFAULT);
    EXPECT("read into a read-only page", read(0, ro, 4), -1, EFAULT);
    EXPECT("read of 4 just before the unmapped page", read(0, end - 4, 4), 4, 0);
    SAY("read: %.4s\n", end - 4);
    struct iovec two[2] = {{p, 3}, {p + 100, 3}};
    EXPECT("readv of 3 + 3", readv(0, two, 2), 6, 0);
    SAY("readv: %.3s %.3s\n", p, p + 100);
    memset(p, 0, PAGE);
    EXPECT("read of the rest into the two pages", read(0, p, 2 * PAGE), 27, 0);
    SAY("read: %s", p);
    EXPECT("read at end of file into an unmapped page", read(0, end, 4), 0, 0);

    /* struct and string arguments */
    EXPECT("clock_gettime into a timespec across the end",
           syscall(SYS_clock_gettime, CLOCK_MONOTONIC, end - 8), -1, EFAULT);
    struct timespec *ts_end = (struct timespec *)(end - sizeof(struct timespec));
    EXPECT("clock_gettime into a timespec before it",
           syscall(SYS_clock_gettime, CLOCK_MONOTONIC, ts_end), 0, 0);
    ts_end->tv_sec = 0;
    ts_end->tv_nsec = 1000;
    EXPECT("nanosleep reading a timespec before it", syscall(SYS_nanosleep, ts_end, NULL), 0, 0);
    EXPECT("nanosleep reading a timespec across the end",
           syscall(SYS_nanosleep, end - 8, NULL), -1, EFAULT);
    EXPECT("rt_sigaction reading an action across the end",
           syscall(SYS_rt_sigaction, SIGUSR1, end - 8, NULL, 8), -1, EFAULT);
    EXPECT("rt_sigprocmask writing the old mask across the end",
           syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, end - 4, 8), -1, EFAULT);
    memcpy(end - 8, "name", 5);
    memcpy(end - 3, "abc", 3);
    EXPECT("prctl(PR_SET_NAME) of a name running into an unmapped page",
           prctl(PR_SET_NAME, end - 3), -1, EFAULT);
    EXPECT("prctl(PR_SET_NAME) of a name ending before it", prctl(PR_SET_NAME, end - 8), 0, 0);
    EXPECT("prctl(PR_GET_NAME) into a buffer across the end", prctl(PR_GET_NAME, end - 8), -1,
           EFAULT);
    char name[16] = {0};
    prctl(PR_GET_NAME, name);
    SAY("name: %s\n", name);
    static char long_name[] = "a-name-longer-than-fifteen-bytes";
    EXPECT("prctl(PR_SET_NAME) of a long name (cut)", prctl(PR_SET_NAME, long_name), 0, 0);
    prctl(PR_GET_NAME, name);
    SAY("name: %s\n", name);

    /* futex: the word of a FUTEX_WAKE_OP must be writable */
    static uint32_t word;
    int set_one = FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0);
    EXPECT("FUTEX_WAKE_OP on a read-only word",
           syscall(SYS_futex, &word, FUTEX_WAKE_OP, 1, 1, ro, set_one), -1, EFAULT);
    EXPECT("FUTEX_WAKE_OP on an unmapped word",
           syscall(SYS_futex, &word, FUTEX_WAKE_OP, 1, 1, end, set_one), -1, EFAULT);
    uint32_t *w2 = (uint32_t *)(end - 4);
    *w2 = 0;
    EXPECT("FUTEX_WAKE_OP on a writable word",
           syscall(SYS_futex, &word, FUTEX_WAKE_OP, 1, 1, w2, set_one), 0, 0);
    CHECK(*w2 == 1);
    EXPECT("FUTEX_WAIT on an unmapped word", syscall(SYS_futex, end, FUTEX_WAIT, 0, NULL), -1,
           EFAULT);
    munmap(ro, PAGE);
    munmap(p, PAGE);
}

static void lazy(void)
{
    char *p = map(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_NORESERVE);
    EXPECT("getrandom into untouched lazy pages", syscall(SYS_getrandom, p, 2 * PAGE, 0),
           2 * PAGE, 0);
    EXPECT("clock_gettime into an untouched lazy page",
           syscall(SYS_clock_gettime, CLOCK_MONOTONIC, p + 2 * PAGE), 0, 0);
    /* The kernel reads an untouched lazy page: zeros. */
    int zeros = 1;
    struct timespec *ts = (struct timespec *)(p + 3 * PAGE);
    EXPECT("nanosleep reading an untouched lazy page", syscall(SYS_nanosleep, ts, NULL), 0, 0);
    for (size_t i = 0; i < PAGE; i++)
        zeros &= p[3 * PAGE + i] == 0;
    CHECK(zeros);
    SAY("untouched lazy page read as zeros: %s\n", zeros ? "yes" : "no");
    munmap(p, 4 * PAGE);
}

/* ---- races ---- */

static atomic_int done;
static char *race_page;
#define LINE "racing write: this line is written only when its page is mapped\n"

static void *move_in_filled_pages(void *arg)
{
    (void)arg;
    while (!atomic_load(&done)) {
        /* (the filled page is made before the unmap: mmap may reuse the hole at once) */
        char *q = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (q == MAP_FAILED)
            continue;
        memcpy(q, LINE, 64);
        munmap(race_page, PAGE);
        if (mremap(q, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, race_page) != race_page)
            munmap(q, PAGE);
    }
    return NULL;
}

static void race_write(int wanted)
{
    _Static_assert(sizeof LINE - 1 == 64, "one 64-byte line");
    race_page = map_rw(PAGE);
    memcpy(race_page, LINE, 64);
    pthread_t mapper;
    pthread_create(&mapper, NULL, move_in_filled_pages, NULL);
    long full = 0, faulted = 0, other = 0, attempts = 0;
    while (full < wanted && attempts < 20000000) {
        attempts++;
        long r = write(1, race_page, 64);
        if (r == 64)
            full++;
        else if (r < 0 && errno == EFAULT)
            faulted++;
        else
            other++;
    }
    atomic_store(&done, 1);
    pthread_join(mapper, NULL);
    CHECKF(full == wanted, "%ld full writes of %d", full, wanted);
    CHECKF(other == 0, "%ld writes were neither full nor EFAULT", other);
    SAY("no crash; %ld writes went through; every other one was EFAULT: %s\n", full,
        other == 0 ? "yes" : "no");
}

static void *remap_page_in_place(void *arg)
{
    (void)arg;
    for (unsigned i = 0; !atomic_load(&done); i++) {
        munmap(race_page, PAGE);
        int lazy = i % 2 ? MAP_NORESERVE : 0;
        mmap(race_page, PAGE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | lazy, -1, 0);
    }
    return NULL;
}

static void race_read(void)
{
    race_page = map_rw(PAGE);
    pthread_t mapper;
    pthread_create(&mapper, NULL, remap_page_in_place, NULL);
    long total = 0, other = 0;
    for (long attempts = 0; attempts < 20000000; attempts++) {
        long r = read(0, race_page + 512, 1024);
        if (r == 0)
            break;
        if (r > 0 && r <= 1024)
            total += r;
        else if (!(r < 0 && errno == EFAULT))
            other++;
    }
    atomic_store(&done, 1);
    pthread_join(mapper, NULL);
    CHECKF(other == 0, "%ld reads were neither a count nor EFAULT", other);
    SAY("no crash; every result was a count or EFAULT: %s; bytes read: %ld\n",
        other == 0 ? "yes" : "no", total);
}

static void *unmap_and_protect(void *arg)
{
    (void)arg;
    for (unsigned i = 0; !atomic_load(&done); i++) {
        switch (i % 4) {
        case 0: munmap(race_page, PAGE); break;
        case 1:
            mmap(race_page, PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | (i % 8 == 1 ? MAP_NORESERVE : 0), -1,
                 0);
            break;
        case 2: mprotect(race_page, PAGE, PROT_READ); break;
        case 3: mprotect(race_page, PAGE, PROT_READ | PROT_WRITE); break;
        }
    }
    return NULL;
}

static void race_getrandom(int calls)
{
    race_page = map_rw(PAGE);
    pthread_t mapper;
    pthread_create(&mapper, NULL, unmap_and_protect, NULL);
    long other = 0;
    for (int i = 0; i < calls; i++) {
        long r = syscall(SYS_getrandom, race_page, PAGE, 0);
        if (!(r > 0 && r <= (long)PAGE) && !(r < 0 && errno == EFAULT))
            other++;
    }
    atomic_store(&done, 1);
    pthread_join(mapper, NULL);
    CHECKF(other == 0, "%ld results were neither a count nor EFAULT", other);
    SAY("no crash; every result was a full count, a short count or EFAULT: %s\n",
        other == 0 ? "yes" : "no");
}

/* ---- where mappings go ---- */

#define LOW ((char *)0x10000)

static void map_low(void)
{
    int rw = PROT_READ | PROT_WRITE;
    char *p = mmap(LOW, PAGE, rw, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    SAY("MAP_FIXED at 0x10000: %s\n", p == LOW ? "mapped there" : errname(errno));
    CHECK(p == LOW);
    if (p != LOW)
        return;
    int zeros = 1;
    for (size_t i = 0; i < PAGE; i++)
        zeros &= p[i] == 0;
    CHECK(zeros);
    strcpy(p, "written at 0x10000\n");
    EXPECT("write from it", write(1, p, strlen(p)), 19, 0);
    EXPECT("getrandom into it", syscall(SYS_getrandom, p + 100, 64, 0), 64, 0);
    EXPECT("MAP_FIXED_NOREPLACE over it",
           (long)mmap(LOW, PAGE, rw, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), -1,
           EEXIST);
    EXPECT("mprotect(PROT_NONE)", mprotect(p, PAGE, PROT_NONE), 0, 0);
    EXPECT("write from it while PROT_NONE", write(1, p, 4), -1, EFAULT);
    EXPECT("mprotect(PROT_READ)", mprotect(p, PAGE, PROT_READ), 0, 0);
    CHECK(strcmp(p, "written at 0x10000\n") == 0);
    EXPECT("mprotect(PROT_READ | PROT_WRITE)", mprotect(p, PAGE, rw), 0, 0);
    char *grown = mremap(p, PAGE, 4 * PAGE, 0);
    SAY("mremap growing it in place: %s\n", grown == p ? "grown" : errname(errno));
    CHECK(grown == p);
    CHECK(strcmp(p, "written at 0x10000\n") == 0 && p[3 * PAGE] == 0);
    EXPECT("munmap", munmap(p, 4 * PAGE), 0, 0);
    CHECK(!mapped(p, PAGE));
    EXPECT("getrandom into it after munmap", syscall(SYS_getrandom, p, 16, 0), -1, EFAULT);

    /* 64 KiB there, and a hint that is free */
    p = mmap(LOW, 16 * PAGE, rw, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(p == LOW);
    if (p == LOW) {
        memset(p, 7, 16 * PAGE);
        CHECK(p[16 * PAGE - 1] == 7);
        munmap(p, 16 * PAGE);
    }
    char *hinted = mmap((void *)0x20000, 2 * PAGE, rw, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    SAY("a free hint at 0x20000: %s\n", hinted == (char *)0x20000 ? "honoured" : "not honoured");
    CHECK(hinted == (char *)0x20000);
    if (hinted != MAP_FAILED)
        munmap(hinted, 2 * PAGE);

    /* lazy pages there: the service's touch and the kernel's */
    char *lazy = mmap((void *)0x30000, 4 * PAGE, rw,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    CHECK(lazy == (char *)0x30000);
    if (lazy == (char *)0x30000) {
        lazy[0] = 'x';
        CHECK(lazy[0] == 'x' && lazy[PAGE] == 0);
        EXPECT("getrandom into an untouched lazy page there",
               syscall(SYS_getrandom, lazy + 2 * PAGE, 32, 0), 32, 0);
        munmap(lazy, 4 * PAGE);
    }
}

static void fill_pages(char *p, size_t pages, char first)
{
    for (size_t i = 0; i < pages; i++)
        memset(p + i * PAGE, first + (char)i, PAGE);
}

static int page_is(const char *p, char c)
{
    for (size_t i = 0; i < PAGE; i++)
        if (p[i] != c)
            return 0;
    return 1;
}

static void mremap_fixed(void)
{
    int rw = PROT_READ | PROT_WRITE;
    int move = MREMAP_MAYMOVE | MREMAP_FIXED;

    /* Onto part of a PROT_NONE reservation. */
    char *a = map_rw(3 * PAGE);
    fill_pages(a, 3, 'A');
    char *r = map(NULL, 8 * PAGE, PROT_NONE, 0);
    char *t = r + 2 * PAGE;
    char *moved = mremap(a, 3 * PAGE, 3 * PAGE, move, t);
    SAY("MREMAP_FIXED onto a reservation: %s\n", moved == t ? "moved" : errname(errno));
    CHECK(moved == t);
    CHECK(page_is(t, 'A') && page_is(t + PAGE, 'B') && page_is(t + 2 * PAGE, 'C'));
    CHECK(!mapped(a, 3 * PAGE));
    CHECK(mapped(r, 2 * PAGE) && mapped(r + 5 * PAGE, 3 * PAGE));
    t[0] = 'w';

    /* Onto one page of a mapped area: that page is replaced, the other stays. */
    char *b = map_rw(2 * PAGE);
    fill_pages(b, 2, 'x');
    moved = mremap(t + PAGE, PAGE, PAGE, move, b);
    CHECK(moved == b);
    CHECK(page_is(b, 'B') && page_is(b + PAGE, 'y'));
    CHECK(!mapped(t + PAGE, PAGE) && mapped(t, PAGE) && mapped(t + 2 * PAGE, PAGE));
    SAY("MREMAP_FIXED onto mapped pages: replaced\n");

    /* Shrinking while moving: the rest of the old range goes. */
    char *x = map_rw(3 * PAGE);
    fill_pages(x, 3, 'a');
    char *y = map_rw(PAGE);
    moved = mremap(x, 3 * PAGE, PAGE, move, y);
    CHECK(moved == y && page_is(y, 'a'));
    CHECK(!mapped(x, PAGE) && !mapped(x + PAGE, 2 * PAGE));

    /* Growing while moving: the new pages are zero and writable. */
    char *g = map_rw(PAGE);
    fill_pages(g, 1, 'g');
    char *z = map(NULL, 3 * PAGE, PROT_NONE, 0);
    moved = mremap(g, PAGE, 3 * PAGE, move, z);
    CHECK(moved == z && page_is(z, 'g') && page_is(z + PAGE, 0) && page_is(z + 2 * PAGE, 0));
    z[2 * PAGE] = 1;
    CHECK(!mapped(g, PAGE));
    SAY("MREMAP_FIXED shrinking and growing: done\n");

    /* 2 MiB pages, to an aligned and to a misaligned place. */
    char *big = map(NULL, 3 * HUGE, PROT_NONE, 0);
    char *h = (char *)(((uintptr_t)big + HUGE - 1) & ~(HUGE - 1));
    h = mmap(h, HUGE, rw, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    for (size_t i = 0; i < HUGE; i += PAGE)
        h[i] = (char)(i / PAGE);
    char *area = map(NULL, 4 * HUGE, PROT_NONE, 0);
    char *aligned = (char *)(((uintptr_t)area + HUGE - 1) & ~(HUGE - 1));
    moved = mremap(h, HUGE, HUGE, move, aligned);
    CHECK(moved == aligned);
    int ok = 1;
    for (size_t i = 0; i < HUGE; i += PAGE)
        ok &= aligned[i] == (char)(i / PAGE);
    moved = mremap(aligned, HUGE, HUGE, move, aligned + HUGE + PAGE);
    CHECK(moved == aligned + HUGE + PAGE);
    for (size_t i = 0; i < HUGE; i += PAGE)
        ok &= moved[i] == (char)(i / PAGE);
    CHECK(ok);
    SAY("MREMAP_FIXED of 2 MiB (aligned, then not): contents kept: %s\n", ok ? "yes" : "no");
    munmap(big, 3 * HUGE);
    munmap(area, 4 * HUGE);

    /* Lazy pages move as they are: touched ones keep their contents, untouched read zero. */
    char *l = map(NULL, 4 * PAGE, rw, MAP_NORESERVE);
    l[PAGE] = 'l';
    char *lt = map(NULL, 4 * PAGE, PROT_NONE, 0);
    moved = mremap(l, 4 * PAGE, 4 * PAGE, move, lt);
    CHECK(moved == lt && lt[0] == 0 && lt[PAGE] == 'l' && lt[3 * PAGE] == 0);
    lt[3 * PAGE] = 'm';
    CHECK(lt[3 * PAGE] == 'm');

    /* To the low window. */
    char *lw = map_rw(2 * PAGE);
    fill_pages(lw, 2, 'L');
    moved = mremap(lw, 2 * PAGE, 2 * PAGE, move, LOW);
    SAY("MREMAP_FIXED to 0x10000: %s\n", moved == LOW ? "moved" : errname(errno));
    CHECK(moved == LOW && page_is(LOW, 'L') && page_is(LOW + PAGE, 'M'));
    if (moved == LOW)
        munmap(LOW, 2 * PAGE);

    /* MREMAP_DONTUNMAP: the pages move, the old range stays mapped and reads as zeros. */
    char *d = map_rw(2 * PAGE);
    fill_pages(d, 2, 'd');
    char *nd = mremap(d, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
    SAY("MREMAP_DONTUNMAP: %s\n", nd != MAP_FAILED && nd != d ? "moved" : errname(errno));
    CHECK(nd != MAP_FAILED && nd != d);
    if (nd != MAP_FAILED) {
        CHECK(page_is(nd, 'd') && page_is(nd + PAGE, 'e'));
        CHECK(mapped(d, 2 * PAGE) && page_is(d, 0) && page_is(d + PAGE, 0));
        d[0] = 1;
        CHECK(d[0] == 1 && nd[0] == 'd');
    }
    char *dt = map(NULL, 2 * PAGE, PROT_NONE, 0);
    moved = mremap(nd, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, dt);
    CHECK(moved == dt && page_is(dt, 'd') && mapped(nd, 2 * PAGE) && page_is(nd, 0));

    /* Linux's refusals. */
    /* (target first: e's neighbourhood stays free of it whichever way mmap places areas) */
    char *target = map_rw(3 * PAGE);
    char *e = map_rw(4 * PAGE);
    munmap(e + 3 * PAGE, PAGE);
    EXPECT("MREMAP_FIXED without MREMAP_MAYMOVE",
           (long)mremap(e, PAGE, PAGE, MREMAP_FIXED, target), -1, EINVAL);
    EXPECT("MREMAP_FIXED to an unaligned address",
           (long)mremap(e, PAGE, PAGE, move, target + 1), -1, EINVAL);
    EXPECT("MREMAP_FIXED onto its own range", (long)mremap(e, 2 * PAGE, 2 * PAGE, move, e + PAGE),
           -1, EINVAL);
    EXPECT("MREMAP_DONTUNMAP changing the size",
           (long)mremap(e, PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP), -1, EINVAL);
    EXPECT("MREMAP_DONTUNMAP without MREMAP_MAYMOVE",
           (long)mremap(e, PAGE, PAGE, MREMAP_DONTUNMAP), -1, EINVAL);
    EXPECT("an unknown flag", (long)mremap(e, PAGE, PAGE, MREMAP_MAYMOVE | 8), -1, EINVAL);
    EXPECT("MREMAP_FIXED of zero bytes of a private mapping",
           (long)mremap(e, 0, PAGE, move, target), -1, EINVAL);
    char *gone = map_rw(PAGE);
    munmap(gone, PAGE); /* (nothing is mapped in between: the hole stays empty) */
    EXPECT("MREMAP_FIXED of an unmapped range", (long)mremap(gone, PAGE, PAGE, move, target), -1,
           EFAULT);
    EXPECT("MREMAP_FIXED growing more than the area",
           (long)mremap(e + 2 * PAGE, 2 * PAGE, 3 * PAGE, move, target), -1, EFAULT);
    CHECK(mapped(e, 3 * PAGE));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOFBF, 4096);
    if (MODE_IS("partial"))
        partial();
    else if (MODE_IS("lazy"))
        lazy();
    else if (MODE_IS("race-write") && argc > 2)
        race_write(atoi(argv[2]));
    else if (MODE_IS("race-read"))
        race_read();
    else if (MODE_IS("race-getrandom") && argc > 2)
        race_getrandom(atoi(argv[2]));
    else if (MODE_IS("map-low"))
        map_low();
    else if (MODE_IS("mremap-fixed"))
        mremap_fixed();
    else {
        printf("usage: uaccess partial|lazy|race-write N|race-read|race-getrandom N|map-low|"
               "mremap-fixed\n");
        return 2;
    }
    return check_finish();
}
