/* The service's virtual memory (issue 4): `memory MODE [ARGS...]`, one mode per case.
 *   roundtrip SIZE...  — for each size (bytes, suffixes K/M/G): mmap, check it reads as zeros,
 *                        write and read back every page (areas up to 16 MiB) or a sample of
 *                        pages (bigger ones), munmap, check the range is gone; three times each
 *   partial            — munmap of the middle of an area (4 KiB pages and across 2 MiB pages):
 *                        the pieces keep their contents and still work, the hole is unmapped
 *                        and can be mapped again
 *   protect-write      — mprotect(PROT_READ) then a write: dies of SIGSEGV (status 139)
 *   thread-overflow    — unbounded recursion in a thread with a 64 KiB stack runs into musl's
 *                        guard page: SIGSEGV (status 139)
 *   mremap             — growth in place and by moving (small and 2 MiB-page areas), contents
 *                        kept, the old range gone after a move; shrinking; no room without
 *                        MREMAP_MAYMOVE is ENOMEM
 *   fixed              — MAP_FIXED over existing pages (inside one area, across two areas,
 *                        over part of and over a whole 2 MiB page) replaces them with zeros;
 *                        MAP_FIXED_NOREPLACE refuses
 *   dontneed           — MADV_DONTNEED zeroes eager areas (4 KiB and 2 MiB pages) and
 *                        MAP_NORESERVE areas (touched and untouched pages); the pages stay usable
 *   enomem             — a 1 TiB mmap and a 1 TiB malloc fail with ENOMEM; afterwards mmap and
 *                        malloc work as before
 *   brk                — the program break (raw brk system call): grows, the new pages are
 *                        zeroed and writable, shrinks, grows again with zeros
 *   noreserve SIZE     — a MAP_NORESERVE reservation of SIZE (16G in the case) with a few pages
 *                        touched: they keep what was written, the others read as zeros
 *   lazy-threads       — 4 threads first-touch the same pages of a MAP_NORESERVE area at once
 *                        (each writes its own byte of every page) while a fifth maps, touches and
 *                        unmaps pages of its own (TLB shootdowns during the faults); nothing is
 *                        lost. Run on 1, 2 and 4 CPUs.
 *   oom-touch SIZE     — a MAP_NORESERVE area of SIZE, more than the machine has, touched page by
 *                        page: the process is killed (SIGKILL, status 137) when memory runs out,
 *                        by Linux's OOM killer natively (the case limits the run's memory)
 *
 * Linux is the oracle: nothing printed depends on addresses or on the machine's memory size. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#pragma GCC diagnostic ignored "-Winfinite-recursion"

#define PAGE 4096ul
#define HUGE (2ul << 20)
#define MiB (1ul << 20)
#define GiB (1ul << 30)

static char *map_flags(void *hint, size_t len, int prot, int flags)
{
    void *p = mmap(hint, len, prot, flags | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECKF(p != MAP_FAILED, "mmap(%zu, flags %#x) failed: errno %d", len, flags, errno);
    return p == MAP_FAILED ? NULL : p;
}

static char *map(size_t len) { return map_flags(NULL, len, PROT_READ | PROT_WRITE, 0); }

/* An area of `len` bytes whose start is 2 MiB aligned (so that it can use 2 MiB pages): map more,
 * unmap the unaligned head and the tail. */
static char *map_aligned(size_t len, int flags)
{
    char *raw = map_flags(NULL, len + HUGE, PROT_READ | PROT_WRITE, flags);
    if (!raw)
        return NULL;
    char *p = (char *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
    if (p > raw)
        CHECK(munmap(raw, (size_t)(p - raw)) == 0);
    size_t tail = (size_t)(raw + len + HUGE - (p + len));
    if (tail)
        CHECK(munmap(p + len, tail) == 0);
    return p;
}

/* Whether every page of the range is mapped: msync fails with ENOMEM on unmapped pages. */
static int mapped(const void *p, size_t len) { return msync((void *)p, len, MS_ASYNC) == 0; }

static int unmapped(const void *p, size_t len)
{
    for (size_t off = 0; off < len; off += PAGE) {
        errno = 0;
        if (msync((char *)p + off, PAGE, MS_ASYNC) == 0 || errno != ENOMEM)
            return 0;
    }
    return 1;
}

static int all_zero(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static unsigned char tag(uintptr_t off, unsigned seed) { return (unsigned char)(off / PAGE * 31u + seed + 1); }

/* Writes a tag in the first and last byte of every page of [p + off, p + off + len). */
static void stamp(char *p, size_t off, size_t len, unsigned seed)
{
    for (size_t o = off; o < off + len; o += PAGE) {
        p[o] = (char)tag(o, seed);
        p[o + PAGE - 1] = (char)tag(o, seed);
    }
}

/* Counts pages of [p + off, p + off + len) whose tags are wrong. */
static size_t stamp_errors(const char *p, size_t off, size_t len, unsigned seed)
{
    size_t bad = 0;
    for (size_t o = off; o < off + len; o += PAGE)
        bad += p[o] != (char)tag(o, seed) || p[o + PAGE - 1] != (char)tag(o, seed);
    return bad;
}

static size_t parse_size(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    switch (*end) {
    case 'G':
        v <<= 30;
        break;
    case 'M':
        v <<= 20;
        break;
    case 'K':
        v <<= 10;
        break;
    }
    return (size_t)v;
}

/* ---------------------------------------------------------------------------------------------- */

static void roundtrip(int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        size_t len = parse_size(argv[i]);
        /* Every page of small areas, 4096 pages spread over big ones (and always the last). */
        size_t step = len <= 16 * MiB ? PAGE : (len / 4096 + PAGE - 1) & ~(PAGE - 1);
        int good = 0;
        for (int round = 0; round < 3; round++) {
            char *p = map(len);
            if (!p)
                break;
            CHECK(((uintptr_t)p & (PAGE - 1)) == 0);
            size_t nonzero = 0, bad = 0;
            for (size_t off = 0; off < len; off += step)
                nonzero += p[off] != 0 || p[off + PAGE - 1] != 0;
            nonzero += p[len - 1] != 0;
            for (size_t off = 0; off < len; off += step)
                stamp(p, off, PAGE, (unsigned)round);
            stamp(p, len - PAGE, PAGE, (unsigned)round);
            for (size_t off = 0; off < len; off += step)
                bad += stamp_errors(p, off, PAGE, (unsigned)round);
            bad += stamp_errors(p, len - PAGE, PAGE, (unsigned)round);
            CHECKF(nonzero == 0, "%s round %d: %zu pages not zero-filled", argv[i], round, nonzero);
            CHECKF(bad == 0, "%s round %d: %zu pages lost their contents", argv[i], round, bad);
            CHECK(munmap(p, len) == 0);
            CHECKF(!mapped(p, PAGE) && !mapped(p + len - PAGE, PAGE), "%s still mapped", argv[i]);
            good += nonzero == 0 && bad == 0;
        }
        printf("mmap/munmap %s: %d of 3 round trips ok\n", argv[i], good);
    }
}

/* ---------------------------------------------------------------------------------------------- */

static void partial(void)
{
    /* 4 KiB pages: 16 pages, the middle 4 unmapped. */
    char *p = map(16 * PAGE);
    if (!p)
        return;
    stamp(p, 0, 16 * PAGE, 1);
    CHECK(munmap(p + 6 * PAGE, 4 * PAGE) == 0);
    CHECK(unmapped(p + 6 * PAGE, 4 * PAGE));
    CHECK(mapped(p, 6 * PAGE) && mapped(p + 10 * PAGE, 6 * PAGE));
    CHECK(stamp_errors(p, 0, 6 * PAGE, 1) == 0);
    CHECK(stamp_errors(p, 10 * PAGE, 6 * PAGE, 1) == 0);
    /* The pieces still work: write, protect, unmap each on its own. */
    stamp(p, 0, 6 * PAGE, 2);
    stamp(p, 10 * PAGE, 6 * PAGE, 3);
    CHECK(stamp_errors(p, 0, 6 * PAGE, 2) == 0 && stamp_errors(p, 10 * PAGE, 6 * PAGE, 3) == 0);
    CHECK(mprotect(p + 10 * PAGE, 6 * PAGE, PROT_READ) == 0);
    CHECK(stamp_errors(p, 10 * PAGE, 6 * PAGE, 3) == 0);
    /* The hole can be mapped again, and holds zeros. */
    char *q = mmap(p + 6 * PAGE, 4 * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECKF(q == p + 6 * PAGE, "mapping the hole again: errno %d", errno);
    if (q == p + 6 * PAGE) {
        CHECK(all_zero(q, 4 * PAGE));
        stamp(q, 0, 4 * PAGE, 4);
        CHECK(stamp_errors(q, 0, 4 * PAGE, 4) == 0);
    }
    CHECK(munmap(p, 16 * PAGE) == 0);
    CHECK(unmapped(p, 16 * PAGE));
    printf("partial munmap, 4 KiB pages: pieces kept and usable, hole mapped again\n");

    /* 2 MiB pages: a 16 MiB aligned area; unmap 3 MiB starting 1 MiB + 4 KiB in (splits a 2 MiB
     * page at both ends), then a whole aligned 2 MiB page, then single pages at the edges. */
    char *h = map_aligned(16 * MiB, 0);
    if (!h)
        return;
    stamp(h, 0, 16 * MiB, 5);
    size_t hole = MiB + PAGE;
    CHECK(munmap(h + hole, 3 * MiB) == 0);
    CHECK(unmapped(h + hole, 3 * MiB));
    CHECK(mapped(h, hole) && mapped(h + hole + 3 * MiB, 16 * MiB - hole - 3 * MiB));
    CHECK(stamp_errors(h, 0, hole, 5) == 0);
    CHECK(stamp_errors(h, hole + 3 * MiB, 16 * MiB - hole - 3 * MiB, 5) == 0);
    CHECK(munmap(h + 8 * MiB, 2 * MiB) == 0);
    CHECK(unmapped(h + 8 * MiB, 2 * MiB));
    CHECK(stamp_errors(h, 6 * MiB, 2 * MiB, 5) == 0 && stamp_errors(h, 10 * MiB, 6 * MiB, 5) == 0);
    CHECK(munmap(h, PAGE) == 0 && munmap(h + 16 * MiB - PAGE, PAGE) == 0);
    CHECK(unmapped(h, PAGE) && unmapped(h + 16 * MiB - PAGE, PAGE));
    CHECK(stamp_errors(h, PAGE, hole - PAGE, 5) == 0);
    CHECK(stamp_errors(h, 10 * MiB, 6 * MiB - PAGE, 5) == 0);
    /* Rewrite what is left, then map the holes again. */
    stamp(h, PAGE, hole - PAGE, 6);
    stamp(h, hole + 3 * MiB, 8 * MiB - hole - 3 * MiB, 6);
    stamp(h, 10 * MiB, 6 * MiB - PAGE, 6);
    char *r = mmap(h + 8 * MiB, 2 * MiB, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECKF(r == h + 8 * MiB, "mapping the 2 MiB hole again: errno %d", errno);
    if (r == h + 8 * MiB)
        CHECK(all_zero(r, 2 * MiB));
    CHECK(stamp_errors(h, PAGE, hole - PAGE, 6) == 0);
    CHECK(stamp_errors(h, hole + 3 * MiB, 8 * MiB - hole - 3 * MiB, 6) == 0);
    CHECK(stamp_errors(h, 10 * MiB, 6 * MiB - PAGE, 6) == 0);
    CHECK(munmap(h, 16 * MiB) == 0);
    CHECK(unmapped(h, 16 * MiB));
    printf("partial munmap, 2 MiB pages: pieces kept and usable, holes mapped again\n");

    /* One munmap over several areas and the gaps between them. */
    char *a = map(64 * PAGE);
    if (!a)
        return;
    CHECK(munmap(a + 10 * PAGE, 4 * PAGE) == 0 && munmap(a + 30 * PAGE, 4 * PAGE) == 0);
    CHECK(mprotect(a + 40 * PAGE, 4 * PAGE, PROT_READ) == 0);
    stamp(a, 0, 10 * PAGE, 7);
    CHECK(munmap(a + 5 * PAGE, 50 * PAGE) == 0);
    CHECK(unmapped(a + 5 * PAGE, 50 * PAGE));
    CHECK(stamp_errors(a, 0, 5 * PAGE, 7) == 0);
    CHECK(munmap(a, 64 * PAGE) == 0);
    printf("munmap over several areas and gaps ok\n");
}

/* ---------------------------------------------------------------------------------------------- */

static void protect_write(void)
{
    char *p = map(4 * PAGE);
    if (!p)
        return;
    memset(p, 0x21, 4 * PAGE);
    CHECK(mprotect(p + PAGE, 2 * PAGE, PROT_READ) == 0);
    CHECK(p[PAGE] == 0x21 && p[3 * PAGE - 1] == 0x21);
    p[0] = 1;            /* below: still writable */
    p[3 * PAGE] = 1;     /* above: still writable */
    printf("read-only pages read fine; writing one now\n");
    fflush(stdout);
    ((volatile char *)p)[2 * PAGE + 100] = 2;
    printf("FAIL: the write to a read-only page did not fault\n");
}

/* ---------------------------------------------------------------------------------------------- */

static int __attribute__((noinline)) recurse(int n)
{
    volatile char frame[256];
    frame[0] = (char)n;
    frame[255] = (char)n;
    return recurse(n + 1) + frame[0] + frame[255];
}

static void *overflow_thread(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)recurse(0);
}

static void thread_overflow(void)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    CHECK(pthread_attr_setstacksize(&attr, 64 * 1024) == 0);
    printf("starting a thread with a 64 KiB stack that recurses forever\n");
    fflush(stdout);
    pthread_t t;
    int r = pthread_create(&t, &attr, overflow_thread, NULL);
    CHECKF(r == 0, "pthread_create: %d", r);
    if (r == 0)
        pthread_join(t, NULL);
    printf("FAIL: the thread's stack overflow did not kill the process\n");
}

/* ---------------------------------------------------------------------------------------------- */

static void fill_seq(char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (char)(i * 7 + seed + i / 4096);
}

static size_t seq_errors(const char *p, size_t n, unsigned seed)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += p[i] != (char)(i * 7 + seed + i / 4096);
    return bad;
}

static void remap(void)
{
    /* In place: the pages above are free (unmapped just before). */
    char *p = map(32 * PAGE);
    if (!p)
        return;
    CHECK(munmap(p + 4 * PAGE, 28 * PAGE) == 0);
    fill_seq(p, 4 * PAGE, 1);
    char *g = mremap(p, 4 * PAGE, 32 * PAGE, 0);
    CHECKF(g == p, "mremap in place: %s, errno %d", g == MAP_FAILED ? "failed" : "moved", errno);
    if (g == p) {
        CHECK(seq_errors(g, 4 * PAGE, 1) == 0);
        CHECK(all_zero(g + 4 * PAGE, 28 * PAGE));
        fill_seq(g, 32 * PAGE, 2);
        CHECK(seq_errors(g, 32 * PAGE, 2) == 0);
        CHECK(munmap(g, 32 * PAGE) == 0);
    }
    printf("mremap growth in place keeps contents\n");

    /* No room above (the rest of the same area): fails without MREMAP_MAYMOVE, moves with it. */
    p = map(8 * PAGE);
    if (!p)
        return;
    fill_seq(p, 8 * PAGE, 3);
    errno = 0;
    CHECK(mremap(p, 4 * PAGE, 64 * PAGE, 0) == MAP_FAILED && errno == ENOMEM);
    CHECK(seq_errors(p, 8 * PAGE, 3) == 0);
    g = mremap(p, 4 * PAGE, 64 * PAGE, MREMAP_MAYMOVE);
    CHECKF(g != MAP_FAILED && g != p, "mremap move: errno %d", errno);
    if (g != MAP_FAILED && g != p) {
        CHECK(seq_errors(g, 4 * PAGE, 3) == 0);
        CHECK(all_zero(g + 4 * PAGE, 60 * PAGE));
        CHECK(unmapped(p, 4 * PAGE));
        fill_seq(g, 64 * PAGE, 4);
        CHECK(seq_errors(g, 64 * PAGE, 4) == 0);
        CHECK(munmap(g, 64 * PAGE) == 0);
    }
    /* The upper half of the old area stayed where it was, contents intact. */
    CHECK(mapped(p + 4 * PAGE, 4 * PAGE));
    size_t bad = 0;
    for (size_t i = 4 * PAGE; i < 8 * PAGE; i++)
        bad += p[i] != (char)(i * 7 + 3 + i / 4096);
    CHECK(bad == 0);
    CHECK(munmap(p + 4 * PAGE, 4 * PAGE) == 0);
    printf("mremap growth by moving keeps contents; the old pages are gone\n");

    /* 2 MiB pages: 8 MiB aligned area with a neighbour right above, grown to 64 MiB (moves). */
    char *h = map_aligned(10 * MiB, 0);
    if (!h)
        return;
    fill_seq(h, 8 * MiB, 5);
    g = mremap(h, 8 * MiB, 64 * MiB, MREMAP_MAYMOVE);
    CHECKF(g != MAP_FAILED, "mremap 8 MiB -> 64 MiB: errno %d", errno);
    if (g != MAP_FAILED) {
        CHECK(seq_errors(g, 8 * MiB, 5) == 0);
        CHECK(all_zero(g + 8 * MiB, 56 * MiB));
        g[64 * MiB - 1] = 1;
        /* Shrink: the tail goes away, the rest stays. */
        char *s = mremap(g, 64 * MiB, 3 * MiB + PAGE, 0);
        CHECK(s == g);
        CHECK(unmapped(g + 3 * MiB + PAGE, 16 * PAGE));
        CHECK(seq_errors(g, 3 * MiB + PAGE, 5) == 0);
        CHECK(munmap(g, 3 * MiB + PAGE) == 0);
    }
    CHECK(munmap(h, 10 * MiB) == 0);
    printf("mremap of 2 MiB pages: 8 MiB -> 64 MiB keeps contents, shrink keeps the head\n");

    /* A lazy (MAP_NORESERVE) area moves with its touched and untouched pages (its last page
     * stays behind, so the first 64 cannot grow in place). */
    char *n = map_flags(NULL, 65 * PAGE, PROT_READ | PROT_WRITE, MAP_NORESERVE);
    if (!n)
        return;
    stamp(n, 0, 65 * PAGE, 8);
    CHECK(madvise(n + 32 * PAGE, 32 * PAGE, MADV_DONTNEED) == 0);
    g = mremap(n, 64 * PAGE, 256 * PAGE, MREMAP_MAYMOVE);
    CHECKF(g != MAP_FAILED && g != n, "mremap of a MAP_NORESERVE area: errno %d", errno);
    if (g != MAP_FAILED && g != n) {
        CHECK(stamp_errors(g, 0, 32 * PAGE, 8) == 0);
        CHECK(all_zero(g + 32 * PAGE, 224 * PAGE));
        stamp(g, 0, 256 * PAGE, 9);
        CHECK(stamp_errors(g, 0, 256 * PAGE, 9) == 0);
        CHECK(unmapped(n, 64 * PAGE));
        CHECK(munmap(g, 256 * PAGE) == 0);
    }
    CHECK(stamp_errors(n, 64 * PAGE, PAGE, 8) == 0);
    CHECK(munmap(n + 64 * PAGE, PAGE) == 0);
    printf("mremap of a MAP_NORESERVE area keeps touched pages, untouched read as zeros\n");
}

/* ---------------------------------------------------------------------------------------------- */

static char *map_fixed(void *at, size_t len)
{
    char *q = mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECKF(q == at, "MAP_FIXED: errno %d", errno);
    return q == at ? q : NULL;
}

static void fixed(void)
{
    /* Inside one area of 4 KiB pages. */
    char *p = map(16 * PAGE);
    if (!p)
        return;
    memset(p, 0x33, 16 * PAGE);
    char *q = map_fixed(p + 3 * PAGE, 5 * PAGE);
    if (q) {
        CHECK(all_zero(q, 5 * PAGE));
        CHECK(p[3 * PAGE - 1] == 0x33 && p[8 * PAGE] == 0x33);
        memset(q, 0x44, 5 * PAGE);
    }
    /* Across two areas with a hole between them (part of p, the hole, part of a). */
    CHECK(munmap(p + 10 * PAGE, 2 * PAGE) == 0);
    CHECK(mprotect(p + 12 * PAGE, 4 * PAGE, PROT_READ) == 0);
    q = map_fixed(p + 9 * PAGE, 5 * PAGE);
    if (q) {
        CHECK(all_zero(q, 5 * PAGE));
        q[0] = 1;
        q[5 * PAGE - 1] = 1; /* writable now, though p + 12 pages was read-only */
        CHECK(p[7 * PAGE] == 0x44 && p[8 * PAGE] == 0x33 && p[14 * PAGE] == 0x33);
    }
    /* MAP_FIXED_NOREPLACE refuses to replace anything. */
    errno = 0;
    void *r = mmap(p + 15 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECKF(r == MAP_FAILED && errno == EEXIST, "MAP_FIXED_NOREPLACE over a mapping: errno %d", errno);
    CHECK(p[15 * PAGE] == 0x33);
    CHECK(munmap(p, 16 * PAGE) == 0);
    printf("MAP_FIXED over 4 KiB pages: zero-filled, neighbours kept; NOREPLACE refuses\n");

    /* 2 MiB pages: one page in the middle of one, then a whole aligned one, then a range across
     * a 2 MiB boundary. */
    char *h = map_aligned(8 * MiB, 0);
    if (!h)
        return;
    memset(h, 0x55, 8 * MiB);
    q = map_fixed(h + MiB, PAGE);
    if (q) {
        CHECK(all_zero(q, PAGE));
        CHECK(h[MiB - 1] == 0x55 && h[MiB + PAGE] == 0x55 && h[0] == 0x55 && h[HUGE - 1] == 0x55);
        q[0] = 0x66;
    }
    q = map_fixed(h + HUGE, HUGE);
    if (q) {
        CHECK(all_zero(q, HUGE));
        CHECK(h[HUGE - 1] == 0x55 && h[2 * HUGE] == 0x55);
        memset(q, 0x77, HUGE);
    }
    q = map_fixed(h + 3 * HUGE - 4 * PAGE, 8 * PAGE);
    if (q) {
        CHECK(all_zero(q, 8 * PAGE));
        CHECK(h[3 * HUGE - 4 * PAGE - 1] == 0x55 && h[3 * HUGE + 4 * PAGE] == 0x55);
        CHECK(h[2 * HUGE - 1] == 0x77);
    }
    CHECK(h[MiB] == 0x66 && h[MiB + 1] == 0);
    CHECK(munmap(h, 8 * MiB) == 0);
    printf("MAP_FIXED over 2 MiB pages: zero-filled, the rest of each page kept\n");
}

/* ---------------------------------------------------------------------------------------------- */

static void dontneed(void)
{
    /* Eager, 4 KiB pages. */
    char *p = map(8 * PAGE);
    if (!p)
        return;
    memset(p, 0x11, 8 * PAGE);
    CHECK(madvise(p + 2 * PAGE, 3 * PAGE, MADV_DONTNEED) == 0);
    CHECK(all_zero(p + 2 * PAGE, 3 * PAGE));
    CHECK(p[2 * PAGE - 1] == 0x11 && p[5 * PAGE] == 0x11);
    memset(p + 2 * PAGE, 0x12, 3 * PAGE);
    CHECK(p[2 * PAGE] == 0x12 && p[5 * PAGE - 1] == 0x12);
    CHECK(munmap(p, 8 * PAGE) == 0);
    printf("MADV_DONTNEED, 4 KiB pages: zeroed, still usable\n");

    /* Eager, 2 MiB pages: part of one page, then a whole one. */
    char *h = map_aligned(6 * MiB, 0);
    if (!h)
        return;
    memset(h, 0x22, 6 * MiB);
    CHECK(madvise(h + MiB, 4 * PAGE, MADV_DONTNEED) == 0);
    CHECK(all_zero(h + MiB, 4 * PAGE));
    CHECK(h[MiB - 1] == 0x22 && h[MiB + 4 * PAGE] == 0x22);
    CHECK(madvise(h + HUGE, HUGE, MADV_DONTNEED) == 0);
    CHECK(all_zero(h + HUGE, HUGE));
    CHECK(h[HUGE - 1] == 0x22 && h[2 * HUGE] == 0x22);
    memset(h + HUGE, 0x23, HUGE);
    CHECK(h[HUGE] == 0x23 && h[2 * HUGE - 1] == 0x23);
    CHECK(munmap(h, 6 * MiB) == 0);
    printf("MADV_DONTNEED, 2 MiB pages: zeroed, still usable\n");

    /* MAP_NORESERVE: touched pages, untouched pages, and a range covering both. */
    char *n = map_flags(NULL, 1024 * PAGE, PROT_READ | PROT_WRITE, MAP_NORESERVE);
    if (!n)
        return;
    for (size_t i = 0; i < 1024; i += 3)
        memset(n + i * PAGE, 0x31, PAGE);
    CHECK(madvise(n, 512 * PAGE, MADV_DONTNEED) == 0);
    CHECK(all_zero(n, 512 * PAGE));
    size_t kept = 0;
    for (size_t i = 512; i < 1024; i++)
        kept += n[i * PAGE] == (i % 3 == 0 ? 0x31 : 0);
    CHECK(kept == 512);
    for (size_t i = 0; i < 1024; i += 5)
        n[i * PAGE + 7] = 0x32;
    CHECK(madvise(n + 100 * PAGE, 900 * PAGE, MADV_DONTNEED) == 0);
    CHECK(all_zero(n + 100 * PAGE, 900 * PAGE));
    CHECK(n[95 * PAGE + 7] == 0x32 && n[1020 * PAGE + 7] == 0x32);
    memset(n, 0x33, 1024 * PAGE);
    CHECK(n[0] == 0x33 && n[1024 * PAGE - 1] == 0x33);
    CHECK(munmap(n, 1024 * PAGE) == 0);
    printf("MADV_DONTNEED, MAP_NORESERVE: zeroed, still usable\n");
}

/* ---------------------------------------------------------------------------------------------- */

static void enomem(void)
{
    const size_t tib = 1ul << 40;
    errno = 0;
    void *p = mmap(NULL, tib, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECKF(p == MAP_FAILED && errno == ENOMEM, "mmap of 1 TiB: errno %d", errno);
    if (p != MAP_FAILED)
        munmap(p, tib);
    errno = 0;
    void *m = malloc(tib);
    CHECKF(m == NULL && errno == ENOMEM, "malloc of 1 TiB: errno %d", errno);
    free(m);
    printf("1 TiB: mmap and malloc fail with ENOMEM\n");

    /* Everything still works. */
    for (int round = 0; round < 3; round++) {
        char *q = map(16 * MiB);
        if (!q)
            return;
        CHECK(all_zero(q, 16 * MiB));
        memset(q, round + 1, 16 * MiB);
        CHECK(q[0] == round + 1 && q[16 * MiB - 1] == round + 1);
        CHECK(munmap(q, 16 * MiB) == 0);
        char *b = malloc(3 * MiB);
        CHECK(b != NULL);
        if (b) {
            memset(b, 1, 3 * MiB);
            free(b);
        }
        void *small[100];
        for (int i = 0; i < 100; i++) {
            small[i] = malloc(100 + (size_t)i * 10);
            CHECK(small[i] != NULL);
        }
        for (int i = 0; i < 100; i++)
            free(small[i]);
    }
    printf("afterwards mmap, munmap, malloc and free work\n");
}

/* ---------------------------------------------------------------------------------------------- */

static uintptr_t brk_to(uintptr_t addr) { return (uintptr_t)syscall(SYS_brk, addr); }

static void program_break(void)
{
    /* Done before anything else allocates, and the break restored at the end: musl's malloc
     * may keep its bookkeeping there. */
    uintptr_t start = brk_to(0);
    CHECK(start != 0 && start != (uintptr_t)-1);
    CHECK((uintptr_t)sbrk(0) == start);
    uintptr_t base = (start + PAGE - 1) & ~(PAGE - 1);
    uintptr_t grown = base + 64 * PAGE + 123;
    CHECK(brk_to(grown) == grown);
    CHECK(brk_to(0) == grown && (uintptr_t)sbrk(0) == grown);
    char *b = (char *)base;
    CHECK(all_zero(b, 64 * PAGE));
    stamp(b, 0, 64 * PAGE, 1);
    b[64 * PAGE + 122] = 5; /* the last byte below the break, on the partly used page */
    CHECK(stamp_errors(b, 0, 64 * PAGE, 1) == 0);
    printf("brk grows by 64 pages: zero-filled and writable\n");

    /* Grow more: the old pages keep their contents. */
    uintptr_t more = base + 4 * MiB;
    CHECK(brk_to(more) == more);
    CHECK(stamp_errors(b, 0, 64 * PAGE, 1) == 0 && b[64 * PAGE + 122] == 5);
    CHECK(all_zero(b + 65 * PAGE, 4 * MiB - 65 * PAGE));
    stamp(b, 65 * PAGE, 4 * MiB - 65 * PAGE, 2);
    CHECK(stamp_errors(b, 65 * PAGE, 4 * MiB - 65 * PAGE, 2) == 0);
    printf("brk grows to 4 MiB: earlier contents kept\n");

    /* Shrink: the pages above the break go away, those below stay. */
    uintptr_t shrunk = base + 16 * PAGE;
    CHECK(brk_to(shrunk) == shrunk);
    CHECK(unmapped(b + 16 * PAGE, 4 * MiB - 16 * PAGE));
    CHECK(stamp_errors(b, 0, 16 * PAGE, 1) == 0);
    printf("brk shrinks to 16 pages: pages above unmapped, below kept\n");

    /* Grow again: fresh zeros where the old contents were. */
    CHECK(brk_to(more) == more);
    CHECK(all_zero(b + 16 * PAGE, 4 * MiB - 16 * PAGE));
    CHECK(stamp_errors(b, 0, 16 * PAGE, 1) == 0);
    printf("brk grows again: zero-filled\n");

    /* Below the start it fails: the break stays. */
    CHECK(brk_to(start - 10 * PAGE) == more);
    CHECK(brk_to(start) == start);
    CHECK(brk_to(0) == start);
    printf("brk below its start refused; back to the start\n");
}

/* ---------------------------------------------------------------------------------------------- */

static void noreserve(size_t len)
{
    char *p = map_flags(NULL, len, PROT_READ | PROT_WRITE, MAP_NORESERVE);
    if (!p)
        return;
    /* 64 pages spread over the area (and the last), plus a run of 16 at the start. */
    size_t step = (len / 64) & ~(PAGE - 1);
    for (size_t off = 0; off < len; off += step)
        stamp(p, off, PAGE, 1);
    stamp(p, len - PAGE, PAGE, 1);
    stamp(p, 0, 16 * PAGE, 1);
    size_t bad = 0;
    for (size_t off = 0; off < len; off += step)
        bad += stamp_errors(p, off, PAGE, 1);
    bad += stamp_errors(p, len - PAGE, PAGE, 1) + stamp_errors(p, 0, 16 * PAGE, 1);
    CHECK(bad == 0);
    /* Untouched pages between them read as zeros. */
    size_t nonzero = 0;
    for (size_t off = step / 2; off < len; off += step)
        nonzero += !all_zero(p + off, PAGE);
    CHECK(nonzero == 0);
    CHECK(munmap(p, len) == 0);
    CHECK(!mapped(p, PAGE) && !mapped(p + len - PAGE, PAGE));
    printf("MAP_NORESERVE reservation with 64 pages touched: contents kept, the rest zeros\n");
    /* And again, to see the first one was given back. */
    p = map_flags(NULL, len, PROT_READ | PROT_WRITE, MAP_NORESERVE);
    if (p) {
        CHECK(all_zero(p, PAGE) && all_zero(p + len - PAGE, PAGE));
        p[len / 2] = 1;
        CHECK(munmap(p, len) == 0);
        printf("a second reservation of the same size works\n");
    }
}

/* ---------------------------------------------------------------------------------------------- */

#define LAZY_PAGES 4096
#define LAZY_THREADS 4

static char *lazy_area;
static atomic_int lazy_go, lazy_done;
static long lazy_bad[LAZY_THREADS];

static void *lazy_toucher(void *arg)
{
    long id = (long)arg;
    while (!atomic_load(&lazy_go)) {
    }
    for (long p = 0; p < LAZY_PAGES; p++)
        ((volatile char *)lazy_area)[p * PAGE + id] = (char)(id + 1);
    for (long p = 0; p < LAZY_PAGES; p++)
        lazy_bad[id] += lazy_area[p * PAGE + id] != (char)(id + 1);
    return NULL;
}

static void *lazy_remapper(void *arg)
{
    long *cycles = arg;
    while (!atomic_load(&lazy_go)) {
    }
    while (!atomic_load(&lazy_done) || *cycles < 10) {
        char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            *cycles = -1;
            break;
        }
        p[0] = 1;
        p[3 * PAGE] = 1;
        munmap(p, 4 * PAGE);
        ++*cycles;
    }
    return NULL;
}

static void lazy_threads(void)
{
    for (int round = 0; round < 3; round++) {
        lazy_area = map_flags(NULL, LAZY_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_NORESERVE);
        if (!lazy_area)
            return;
        atomic_store(&lazy_go, 0);
        atomic_store(&lazy_done, 0);
        memset(lazy_bad, 0, sizeof lazy_bad);
        pthread_t t[LAZY_THREADS], remapper;
        long cycles = 0;
        for (long i = 0; i < LAZY_THREADS; i++)
            CHECK(pthread_create(&t[i], NULL, lazy_toucher, (void *)i) == 0);
        CHECK(pthread_create(&remapper, NULL, lazy_remapper, &cycles) == 0);
        atomic_store(&lazy_go, 1);
        for (int i = 0; i < LAZY_THREADS; i++)
            pthread_join(t[i], NULL);
        atomic_store(&lazy_done, 1);
        pthread_join(remapper, NULL);
        long bad = 0, lost = 0, stray = 0;
        for (int i = 0; i < LAZY_THREADS; i++)
            bad += lazy_bad[i];
        for (long p = 0; p < LAZY_PAGES; p++) {
            for (int i = 0; i < LAZY_THREADS; i++)
                lost += lazy_area[p * PAGE + i] != (char)(i + 1);
            stray += lazy_area[p * PAGE + LAZY_THREADS] != 0 || lazy_area[p * PAGE + PAGE - 1] != 0;
        }
        CHECKF(bad == 0 && lost == 0 && stray == 0, "round %d: %ld misread, %ld lost, %ld stray",
               round, bad, lost, stray);
        CHECKF(cycles >= 10, "the remapping thread: %ld cycles", cycles);
        CHECK(munmap(lazy_area, LAZY_PAGES * PAGE) == 0);
    }
    printf("%d threads first-touching the same lazy pages (3 x %d pages) while another maps and "
           "unmaps: nothing lost\n",
           LAZY_THREADS, LAZY_PAGES);
}

static void oom_touch(size_t len)
{
    char *p = map_flags(NULL, len, PROT_READ | PROT_WRITE, MAP_NORESERVE);
    if (!p)
        return;
    printf("reserved; touching every page\n");
    fflush(stdout);
    for (size_t off = 0; off < len; off += PAGE)
        p[off] = 1;
    printf("every page touched: memory did not run out\n");
}

int main(int argc, char **argv)
{
    if (MODE_IS("brk"))
        program_break(); /* first: before stdio or malloc do anything */
    else if (MODE_IS("roundtrip"))
        roundtrip(argc, argv);
    else if (MODE_IS("partial"))
        partial();
    else if (MODE_IS("protect-write"))
        protect_write();
    else if (MODE_IS("thread-overflow"))
        thread_overflow();
    else if (MODE_IS("mremap"))
        remap();
    else if (MODE_IS("fixed"))
        fixed();
    else if (MODE_IS("dontneed"))
        dontneed();
    else if (MODE_IS("enomem"))
        enomem();
    else if (MODE_IS("noreserve") && argc > 2)
        noreserve(parse_size(argv[2]));
    else if (MODE_IS("lazy-threads"))
        lazy_threads();
    else if (MODE_IS("oom-touch") && argc > 2)
        oom_touch(parse_size(argv[2]));
    else {
        printf("usage: memory roundtrip SIZE...|partial|protect-write|thread-overflow|mremap|"
               "fixed|dontneed|enomem|brk|noreserve SIZE|lazy-threads|oom-touch SIZE\n");
        return 2;
    }
    return check_finish();
}
