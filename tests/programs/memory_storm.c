/* malloc under pressure (issue 4): `memory_storm MODE [ARGS...]`.
 *   storm THREADS OPS  — THREADS threads each do OPS random operations with musl's malloc:
 *                        malloc/calloc/realloc/free of random sizes (16 B to 1 MiB, mostly
 *                        small), every block filled with a pattern that is checked before it is
 *                        freed; blocks also change hands between threads through a shared
 *                        exchange (freed by a thread that did not allocate them). Run on 1, 2
 *                        and 4 CPUs.
 *   cycles N CAP_MIB   — N times: malloc blocks of random sizes (4 KiB to 1 MiB) until malloc
 *                        fails or CAP_MIB MiB are allocated, check none overlap, free them all.
 *                        Every cycle must get at least 90% of what the first got: memory comes
 *                        back and is reused. In the guest (--mem 64M, CAP 64) malloc fails
 *                        first; natively the cap stops it, so both print the same.
 *
 * Nothing printed depends on the number of CPUs, timing or addresses. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define MiB (1ul << 20)

static uint64_t next_random(uint64_t *s)
{
    /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* ------------------------------------------------------------------------------------------------
 * storm */

/* Every block starts with its header; the rest is a pattern derived from the tag, so whoever
 * holds a block can check it. */
struct block {
    uint64_t size; /* whole block, header included */
    uint64_t tag;
};

static unsigned char pat(uint64_t tag, size_t i) { return (unsigned char)(tag * 131 + i * 7 + (i >> 8)); }

/* Bytes that get the pattern: all of a small block, a sample of a big one. */
static void for_pattern(size_t size, void (*fn)(size_t i, void *ctx), void *ctx)
{
    size_t n = size - sizeof(struct block);
    if (n <= 4096) {
        for (size_t i = 0; i < n; i++)
            fn(i, ctx);
        return;
    }
    for (size_t i = 0; i < 64; i++) {
        fn(i, ctx);
        fn(n - 1 - i, ctx);
    }
    for (size_t i = 64; i < n - 64; i += 4093)
        fn(i, ctx);
}

struct pattern_ctx {
    unsigned char *data;
    uint64_t tag;
    size_t bad;
    size_t limit; /* check_one looks only at bytes below this */
};

static void put_one(size_t i, void *c)
{
    struct pattern_ctx *p = c;
    p->data[i] = pat(p->tag, i);
}

static void check_one(size_t i, void *c)
{
    struct pattern_ctx *p = c;
    if (i < p->limit)
        p->bad += p->data[i] != pat(p->tag, i);
}

static void fill_block(struct block *b, size_t size, uint64_t tag)
{
    b->size = size;
    b->tag = tag;
    struct pattern_ctx c = {(unsigned char *)(b + 1), tag, 0, SIZE_MAX};
    for_pattern(size, put_one, &c);
}

/* Number of wrong bytes (header included) of a block that should hold `expect_size` bytes, or
 * any size when 0. */
static size_t block_errors(const struct block *b, size_t expect_size)
{
    if (expect_size && b->size != expect_size)
        return 1;
    if (b->size < sizeof(struct block) || b->size > 2 * MiB)
        return 1;
    struct pattern_ctx c = {(unsigned char *)(b + 1), b->tag, 0, SIZE_MAX};
    for_pattern(b->size, check_one, &c);
    return c.bad;
}

static size_t random_size(uint64_t *seed)
{
    uint64_t r = next_random(seed);
    unsigned kind = (unsigned)(r % 100);
    r >>= 8;
    if (kind < 80)
        return 16 + r % 497;          /* 16 B .. 512 B */
    if (kind < 95)
        return 512 + r % (16 << 10);  /* .. 16 KiB */
    if (kind < 99)
        return (16 << 10) + r % (112 << 10); /* .. 128 KiB */
    return (128 << 10) + r % (896 << 10);    /* .. 1 MiB: mmap-backed in musl */
}

#define SLOTS 256
#define EXCHANGE 64
#define MAX_THREADS 64

static _Atomic(struct block *) exchange[EXCHANGE];
static long ops_per_thread;
static atomic_size_t corrupted, failed_allocs, handed_over;

static void *storm_thread(void *arg)
{
    long id = (long)arg;
    uint64_t seed = 0x9E3779B97F4A7C15ull * (uint64_t)(id + 1);
    struct block *slot[SLOTS] = {0};
    size_t bad = 0, failed = 0, handed = 0;
    uint64_t serial = (uint64_t)id << 40;
    for (long op = 0; op < ops_per_thread; op++) {
        uint64_t r = next_random(&seed);
        unsigned k = (unsigned)(r % SLOTS);
        unsigned what = (unsigned)((r >> 16) % 100);
        struct block *b = slot[k];
        if (b && what < 10) {
            /* realloc to a new size: the common prefix must survive. */
            size_t old = b->size;
            size_t size = random_size(&seed);
            bad += block_errors(b, old);
            struct block *n = realloc(b, size);
            if (!n) {
                failed++;
                continue;
            }
            size_t keep = old < size ? old : size;
            /* The header and the patterned bytes below `keep` are unchanged. */
            bad += n->size != old;
            struct pattern_ctx c = {(unsigned char *)(n + 1), n->tag, 0,
                                    keep - sizeof(struct block)};
            for_pattern(old, check_one, &c);
            bad += c.bad;
            fill_block(n, size, ++serial);
            slot[k] = n;
            continue;
        }
        if (b && what < 20) {
            /* Hand it to whoever comes next; take over what was there. */
            struct block *got = atomic_exchange(&exchange[(r >> 24) % EXCHANGE], b);
            handed++;
            slot[k] = got;
            if (got)
                bad += block_errors(got, 0);
            continue;
        }
        if (b) {
            bad += block_errors(b, b->size);
            free(b);
            slot[k] = NULL;
        }
        size_t size = random_size(&seed);
        int zeroed = what >= 90;
        b = zeroed ? calloc(1, size) : malloc(size);
        if (!b) {
            failed++;
            continue;
        }
        CHECK(((uintptr_t)b & 15) == 0);
        if (zeroed) {
            size_t nonzero = 0;
            const unsigned char *z = (const unsigned char *)b;
            for (size_t i = 0; i < size; i += size > 4096 ? 509 : 1)
                nonzero += z[i] != 0;
            nonzero += z[size - 1] != 0;
            bad += nonzero;
        }
        fill_block(b, size, ++serial);
        slot[k] = b;
    }
    for (unsigned k = 0; k < SLOTS; k++)
        if (slot[k]) {
            bad += block_errors(slot[k], 0);
            free(slot[k]);
        }
    atomic_fetch_add(&corrupted, bad);
    atomic_fetch_add(&failed_allocs, failed);
    atomic_fetch_add(&handed_over, handed);
    return NULL;
}

static void storm(long threads, long ops)
{
    if (threads < 1 || threads > MAX_THREADS || ops < 1) {
        printf("bad arguments\n");
        check_failures++;
        return;
    }
    ops_per_thread = ops;
    pthread_t t[MAX_THREADS];
    for (long i = 0; i < threads; i++) {
        int r = pthread_create(&t[i], NULL, storm_thread, (void *)i);
        CHECKF(r == 0, "pthread_create: %d", r);
        if (r)
            return;
    }
    for (long i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    size_t leftover_bad = 0;
    for (int i = 0; i < EXCHANGE; i++) {
        struct block *b = atomic_exchange(&exchange[i], NULL);
        if (b) {
            leftover_bad += block_errors(b, 0);
            free(b);
        }
    }
    CHECKF(atomic_load(&corrupted) == 0 && leftover_bad == 0, "%zu corrupted bytes",
           atomic_load(&corrupted) + leftover_bad);
    CHECKF(atomic_load(&failed_allocs) == 0, "%zu allocations failed", atomic_load(&failed_allocs));
    CHECK(atomic_load(&handed_over) > 0);
    printf("storm: %ld threads x %ld operations, blocks checked before every free, none "
           "corrupted\n",
           threads, ops);
    /* Everything was freed: a big allocation still works. */
    char *big = malloc(32 * MiB);
    CHECK(big != NULL);
    if (big) {
        big[0] = 1;
        big[32 * MiB - 1] = 1;
        free(big);
    }
    printf("afterwards a 32 MiB block can be allocated\n");
}

/* ------------------------------------------------------------------------------------------------
 * cycles */

#define MAX_BLOCKS 65536

static void *blocks[MAX_BLOCKS];
static size_t sizes[MAX_BLOCKS];

static void cycles(long n, long cap_mib)
{
    const size_t cap = (size_t)cap_mib * MiB;
    size_t first = 0, worst = SIZE_MAX;
    long worst_cycle = -1, overlaps = 0, capped = 0;
    uint64_t seed = 42;
    for (long cycle = 0; cycle < n; cycle++) {
        size_t total = 0, count = 0;
        while (count < MAX_BLOCKS) {
            uint64_t r = next_random(&seed);
            /* Half small (from musl's size-class groups), half large (their own mappings). */
            size_t size = (r & 1) ? 4096 + (r >> 8) % (60 << 10) : (128 << 10) + (r >> 8) % (896 << 10);
            if (total + size > cap) {
                capped++;
                break;
            }
            unsigned char *p = malloc(size);
            if (!p)
                break;
            /* Stamp the ends with the block's number: overlapping blocks would clobber them. */
            memcpy(p, &count, sizeof count);
            memcpy(p + size - sizeof count, &count, sizeof count);
            blocks[count] = p;
            sizes[count] = size;
            total += size;
            count++;
        }
        for (size_t i = 0; i < count; i++) {
            size_t a, b;
            memcpy(&a, blocks[i], sizeof a);
            memcpy(&b, (unsigned char *)blocks[i] + sizes[i] - sizeof b, sizeof b);
            overlaps += a != i || b != i;
        }
        /* Free in a mixed order: odd ones from the back, then even ones from the front. */
        for (size_t i = count; i-- > 0;)
            if (i & 1)
                free(blocks[i]);
        for (size_t i = 0; i < count; i += 2)
            free(blocks[i]);
        if (cycle == 0)
            first = total;
        if (total < worst) {
            worst = total;
            worst_cycle = cycle;
        }
    }
    (void)capped;
    CHECKF(first > 0, "the first cycle got nothing");
    CHECKF(overlaps == 0, "%ld blocks overlapped", overlaps);
    CHECKF(worst * 10 >= first * 9, "cycle %ld got %zu KiB, the first %zu KiB", worst_cycle,
           worst >> 10, first >> 10);
    printf("%ld cycles of allocating everything (up to %ld MiB) and freeing it: every cycle got "
           "at least 90%% of the first\n",
           n, cap_mib);
}

int main(int argc, char **argv)
{
    if (MODE_IS("storm") && argc == 4)
        storm(atol(argv[2]), atol(argv[3]));
    else if (MODE_IS("cycles") && argc == 4)
        cycles(atol(argv[2]), atol(argv[3]));
    else {
        printf("usage: memory_storm storm THREADS OPS | cycles N CAP_MIB\n");
        return 2;
    }
    return check_finish();
}
