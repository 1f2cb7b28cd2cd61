/* pagefault: the first touch of a page of a MAP_NORESERVE area (demand-paged on Ferrite and on
 * Linux: the write faults and the kernel gives the page a zeroed frame). One 4 MiB area, mapped
 * before measuring; its pages are written one after the other, then MADV_DONTNEED gives them
 * back so that the next pass faults again. Per page, including its share of the madvise call.
 * Huge pages are turned off for the area (MADV_NOHUGEPAGE) so that Linux faults 4 KiB at a time
 * too. */
#include "bench.h"
#include <sys/mman.h>

#define CHUNK_PAGES 1024
#define PAGE 4096

static char *area;

static void loop(long iters, void *arg)
{
    (void)arg;
    long done = 0;
    while (done < iters) {
        long n = iters - done < CHUNK_PAGES ? iters - done : CHUNK_PAGES;
        for (long k = 0; k < n; k++)
            ((volatile char *)area)[k * PAGE] = 1;
        madvise(area, (size_t)n * PAGE, MADV_DONTNEED);
        done += n;
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    area = mmap(NULL, (size_t)CHUNK_PAGES * PAGE, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (area == MAP_FAILED) {
        printf("BENCH-ERROR mmap failed\n");
        return bench_finish(1);
    }
    madvise(area, (size_t)CHUNK_PAGES * PAGE, MADV_NOHUGEPAGE);
    bench_measure("pagefault", "first_touch", loop, NULL, 1);
    return bench_finish(0);
}
