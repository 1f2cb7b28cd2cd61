/* Memory mappings: `mman MODE`.
 *   basic    — anonymous mmap is zeroed and usable, munmap of a middle page, MAP_FIXED inside a
 *              reservation, PROT_NONE then mprotect RW, mremap growth, EINVAL cases
 *   protect  — a write to a PROT_READ page raises SIGSEGV (SEGV_ACCERR, si_addr exact); the
 *              handler makes the page writable and the write is retried and succeeds
 *   unmapped — a read from a munmapped page raises SIGSEGV (SEGV_MAPERR), caught with
 *              siglongjmp
 *   madvise  — MADV_DONTNEED on private anonymous memory reads back as zeros */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096ul

static char *map(size_t len, int prot)
{
    void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECKF(p != MAP_FAILED, "mmap(%zu) failed: errno %d", len, errno);
    return p == MAP_FAILED ? NULL : p;
}

static int all_zero(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void basic(void)
{
    char *p = map(16 * PAGE, PROT_READ | PROT_WRITE);
    if (!p)
        return;
    CHECK(((uintptr_t)p & (PAGE - 1)) == 0);
    CHECK(all_zero(p, 16 * PAGE));
    memset(p, 0x5a, 16 * PAGE);
    CHECK(munmap(p + 4 * PAGE, PAGE) == 0);
    CHECK(p[3 * PAGE] == 0x5a && p[5 * PAGE] == 0x5a);
    /* Map the hole again at its address. */
    char *q = mmap(p + 4 * PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                   -1, 0);
    CHECK(q == p + 4 * PAGE);
    CHECK(all_zero(q, PAGE));
    /* MAP_FIXED over existing pages replaces them with zeros. */
    q = mmap(p + 8 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(q == p + 8 * PAGE && all_zero(q, 2 * PAGE));
    CHECK(p[7 * PAGE] == 0x5a && p[10 * PAGE] == 0x5a);
    CHECK(munmap(p, 16 * PAGE) == 0);
    printf("mmap/munmap/MAP_FIXED ok\n");

    char *n = map(4 * PAGE, PROT_NONE);
    if (n) {
        CHECK(mprotect(n, 4 * PAGE, PROT_READ | PROT_WRITE) == 0);
        CHECK(all_zero(n, 4 * PAGE));
        n[0] = 1;
        n[4 * PAGE - 1] = 2;
        CHECK(mprotect(n, 2 * PAGE, PROT_READ) == 0);
        CHECK(n[0] == 1 && n[4 * PAGE - 1] == 2);
        n[3 * PAGE] = 3; /* still writable */
        CHECK(munmap(n, 4 * PAGE) == 0);
        printf("PROT_NONE -> RW, partial mprotect ok\n");
    }

    /* mremap: grow in place or move; the contents follow. */
    char *r = map(2 * PAGE, PROT_READ | PROT_WRITE);
    if (r) {
        for (size_t i = 0; i < 2 * PAGE; i++)
            r[i] = (char)(i * 7);
        char *g = mremap(r, 2 * PAGE, 64 * PAGE, MREMAP_MAYMOVE);
        CHECKF(g != MAP_FAILED, "mremap failed: errno %d", errno);
        if (g != MAP_FAILED) {
            int bad = 0;
            for (size_t i = 0; i < 2 * PAGE; i++)
                bad += g[i] != (char)(i * 7);
            CHECK(bad == 0);
            CHECK(all_zero(g + 2 * PAGE, 62 * PAGE));
            g[64 * PAGE - 1] = 1;
            CHECK(munmap(g, 64 * PAGE) == 0);
            printf("mremap growth keeps contents\n");
        }
    }

    /* Large mapping, touched sparsely. */
    char *big = map(64ul << 20, PROT_READ | PROT_WRITE);
    if (big) {
        for (size_t off = 0; off < (64ul << 20); off += 1ul << 20)
            big[off] = 1;
        CHECK(munmap(big, 64ul << 20) == 0);
        printf("64 MiB mapping ok\n");
    }

    errno = 0;
    CHECK(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED &&
          errno == EINVAL);
    errno = 0;
    CHECK(munmap((void *)(uintptr_t)(PAGE + 1), PAGE) == -1 && errno == EINVAL);
    errno = 0;
    /* musl's mprotect() rounds the address down: ask the kernel directly */
    CHECK(syscall(SYS_mprotect, PAGE + 1, PAGE, PROT_READ) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL);
    errno = 0;
    CHECK(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, -1, 0) == MAP_FAILED && errno == EBADF);
    printf("EINVAL/EBADF cases ok\n");
}

static char *volatile fault_page;
static volatile sig_atomic_t segv_runs, segv_code;
static volatile int addr_ok;
static sigjmp_buf jump;

static void on_segv_fix(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    segv_runs++;
    segv_code = si->si_code;
    addr_ok = si->si_addr == fault_page + 123;
    /* Fix the cause; returning retries the faulting instruction. */
    mprotect(fault_page, PAGE, PROT_READ | PROT_WRITE);
}

static void on_segv_jump(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    segv_runs++;
    segv_code = si->si_code;
    addr_ok = si->si_addr == fault_page + 8;
    siglongjmp(jump, 1);
}

static void install(void (*fn)(int, siginfo_t *, void *))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
}

static void protect(void)
{
    fault_page = map(PAGE, PROT_READ | PROT_WRITE);
    if (!fault_page)
        return;
    fault_page[0] = 7;
    CHECK(mprotect(fault_page, PAGE, PROT_READ) == 0);
    CHECK(fault_page[0] == 7);
    install(on_segv_fix);
    ((volatile char *)fault_page)[123] = 9;
    CHECK(segv_runs == 1);
    CHECKF(segv_code == SEGV_ACCERR, "si_code %d", (int)segv_code);
    CHECK(addr_ok);
    CHECK(fault_page[123] == 9);
    printf("write to a read-only page: SIGSEGV, fixed in the handler, retried\n");
}

static void unmapped(void)
{
    fault_page = map(PAGE, PROT_READ | PROT_WRITE);
    if (!fault_page)
        return;
    CHECK(munmap(fault_page, PAGE) == 0);
    install(on_segv_jump);
    static volatile int survived;
    if (sigsetjmp(jump, 1) == 0) {
        volatile char c = ((volatile char *)fault_page)[8];
        (void)c;
        survived = 1;
    }
    CHECKF(!survived, "read from an unmapped page did not fault");
    CHECK(segv_runs == 1);
    CHECKF(segv_code == SEGV_MAPERR, "si_code %d", (int)segv_code);
    CHECK(addr_ok);
    printf("read from an unmapped page: SIGSEGV caught, jumped out\n");
}

static void advise(void)
{
    char *p = map(8 * PAGE, PROT_READ | PROT_WRITE);
    if (!p)
        return;
    memset(p, 0x11, 8 * PAGE);
    CHECK(madvise(p + 2 * PAGE, 4 * PAGE, MADV_DONTNEED) == 0);
    CHECK(p[0] == 0x11 && p[2 * PAGE - 1] == 0x11);
    CHECK(all_zero(p + 2 * PAGE, 4 * PAGE));
    CHECK(p[6 * PAGE] == 0x11);
    CHECK(madvise(p, 8 * PAGE, MADV_WILLNEED) == 0);
    CHECK(munmap(p, 8 * PAGE) == 0);
    printf("MADV_DONTNEED zeroes private anonymous pages\n");
}

int main(int argc, char **argv)
{
    if (MODE_IS("basic"))
        basic();
    else if (MODE_IS("protect"))
        protect();
    else if (MODE_IS("unmapped"))
        unmapped();
    else if (MODE_IS("madvise"))
        advise();
    else {
        printf("usage: mman basic|protect|unmapped|madvise\n");
        return 2;
    }
    return check_finish();
}
