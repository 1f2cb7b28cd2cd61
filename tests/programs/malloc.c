/* malloc: many small blocks, blocks larger than 1 MiB (mmap-backed in musl), realloc growth and
 * shrinking with contents kept, calloc zeroing, alignment, and failures reported as ENOMEM. */
#include "check.h"
#include <errno.h>
#include <stdint.h>

static unsigned char pattern(size_t i, unsigned seed) { return (unsigned char)(i * 131u + seed); }

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = pattern(i, seed);
}

static size_t mismatches(const unsigned char *p, size_t n, unsigned seed)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += p[i] != pattern(i, seed);
    return bad;
}

static void small_blocks(void)
{
    enum { N = 20000 };
    static unsigned char *blocks[N];
    for (int i = 0; i < N; i++) {
        size_t n = 1 + (size_t)(i * 7919) % 512;
        blocks[i] = malloc(n);
        CHECKF(blocks[i] != NULL, "malloc(%zu)", n);
        if (!blocks[i])
            return;
        CHECK(((uintptr_t)blocks[i] & 15) == 0);
        fill(blocks[i], n, (unsigned)i);
    }
    /* Free every other block, allocate again into the holes, then check everything. */
    for (int i = 0; i < N; i += 2)
        free(blocks[i]);
    for (int i = 0; i < N; i += 2) {
        size_t n = 1 + (size_t)(i * 7919) % 512;
        blocks[i] = malloc(n);
        CHECK(blocks[i] != NULL);
        fill(blocks[i], n, (unsigned)i);
    }
    size_t bad = 0;
    for (int i = 0; i < N; i++)
        bad += mismatches(blocks[i], 1 + (size_t)(i * 7919) % 512, (unsigned)i);
    CHECKF(bad == 0, "%zu corrupted bytes in small blocks", bad);
    for (int i = N - 1; i >= 0; i--)
        free(blocks[i]);
    printf("small blocks: %d allocated, checked, freed\n", N);
}

static void large_blocks(void)
{
    static const size_t sizes[] = {(1u << 20) + 1, 3u << 20, 8u << 20, 16u << 20};
    unsigned char *p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = malloc(sizes[i]);
        CHECKF(p[i] != NULL, "malloc(%zu)", sizes[i]);
        if (!p[i])
            return;
        fill(p[i], sizes[i], 100u + (unsigned)i);
    }
    for (int i = 0; i < 4; i++) {
        CHECKF(mismatches(p[i], sizes[i], 100u + (unsigned)i) == 0, "large block %d", i);
        free(p[i]);
        printf("large block of %zu bytes ok\n", sizes[i]);
    }
    /* Allocate and free repeatedly: the memory must come back. */
    for (int round = 0; round < 50; round++) {
        unsigned char *q = malloc(16u << 20);
        CHECKF(q != NULL, "round %d", round);
        if (!q)
            break;
        q[0] = 1;
        q[(16u << 20) - 1] = 2;
        free(q);
    }
    printf("50 rounds of 16 MiB malloc/free ok\n");
}

static void realloc_growth(void)
{
    size_t n = 16;
    unsigned char *p = malloc(n);
    CHECK(p != NULL);
    fill(p, n, 7);
    int steps = 0;
    while (n < (24u << 20)) {
        size_t m = n + n / 2 + 1;
        unsigned char *q = realloc(p, m);
        CHECKF(q != NULL, "realloc(%zu)", m);
        if (!q)
            break;
        CHECKF(mismatches(q, n, 7) == 0, "contents lost growing %zu -> %zu", n, m);
        p = q;
        fill(p, m, 7);
        n = m;
        steps++;
    }
    printf("realloc grew to %zu bytes in %d steps\n", n, steps);
    while (n > 8) {
        size_t m = n / 3;
        unsigned char *q = realloc(p, m);
        CHECK(q != NULL);
        if (!q)
            break;
        CHECKF(mismatches(q, m, 7) == 0, "contents lost shrinking %zu -> %zu", n, m);
        p = q;
        n = m;
    }
    free(p);
    free(realloc(NULL, 0)); /* either answer is allowed; it must not crash */
}

static void calloc_and_align(void)
{
    size_t n = (2u << 20) + 3;
    unsigned char *z = calloc(n, 1);
    CHECK(z != NULL);
    size_t nonzero = 0;
    for (size_t i = 0; z && i < n; i++)
        nonzero += z[i] != 0;
    CHECKF(nonzero == 0, "calloc returned %zu nonzero bytes", nonzero);
    free(z);
    /* Dirty a block, free it, calloc the same size: zero again. */
    for (int round = 0; round < 3; round++) {
        unsigned char *d = malloc(4000);
        memset(d, 0xff, 4000);
        free(d);
        unsigned int *c = calloc(1000, sizeof(unsigned int));
        int dirty = 0;
        for (int i = 0; i < 1000; i++)
            dirty |= c[i] != 0;
        CHECK(!dirty);
        free(c);
    }
    void *a = NULL;
    CHECK(posix_memalign(&a, 4096, 10000) == 0 && ((uintptr_t)a & 4095) == 0);
    free(a);
    a = aligned_alloc(64, 640);
    CHECK(a && ((uintptr_t)a & 63) == 0);
    free(a);
    a = NULL;
    CHECK(posix_memalign(&a, 1u << 21, 3u << 20) == 0 && ((uintptr_t)a & ((1u << 21) - 1)) == 0);
    free(a);

    volatile size_t too_big = SIZE_MAX - 4096, half = SIZE_MAX / 2;
    errno = 0;
    CHECK(malloc(too_big) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(calloc(half, 4) == NULL && errno == ENOMEM);
    errno = 0;
    /* More than the VM's memory: refused, not a crash. */
    void *huge = malloc((size_t)1 << 40);
    CHECK(huge == NULL && errno == ENOMEM);
    printf("calloc, alignment and ENOMEM ok\n");
}

int main(void)
{
    small_blocks();
    large_blocks();
    realloc_growth();
    calloc_and_align();
    return check_finish();
}
