/* fileio: a 4 KiB pwrite then a 4 KiB pread of another block, cycling through a 1 MiB file in a
 * memory file system (Ferrite's tmpfs; natively /tmp, in the Linux guest its initramfs); per
 * write+read pair. */
#include "bench.h"
#include <fcntl.h>
#include <sys/stat.h>

#define FILE_SIZE (1 << 20)
#define BLOCK 4096

static int fd;
static char block[BLOCK];

static void write_loop(long iters, void *arg)
{
    (void)arg;
    for (long i = 0; i < iters; i++) {
        block[0] = (char)i;
        if (pwrite(fd, block, BLOCK, (i * BLOCK) % FILE_SIZE) != BLOCK) {
            printf("BENCH-ERROR pwrite failed\n");
            exit(bench_finish(1));
        }
    }
}

static void write_read_loop(long iters, void *arg)
{
    (void)arg;
    static char other[BLOCK];
    for (long i = 0; i < iters; i++) {
        block[0] = (char)i;
        if (pwrite(fd, block, BLOCK, (i * BLOCK) % FILE_SIZE) != BLOCK ||
            pread(fd, other, BLOCK, ((i + 128) * BLOCK) % FILE_SIZE) != BLOCK) {
            printf("BENCH-ERROR pwrite/pread failed\n");
            exit(bench_finish(1));
        }
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    mkdir("/tmp", 01777);
    char path[] = "/tmp/ferrite-bench-fileio-XXXXXX";
    fd = mkstemp(path);
    if (fd < 0) {
        printf("BENCH-ERROR cannot create a file in /tmp\n");
        return bench_finish(1);
    }
    unlink(path);
    write_loop(FILE_SIZE / BLOCK, NULL); /* the file exists in full before measuring */
    bench_measure("fileio", "pwrite_pread_4k", write_read_loop, NULL, 1);
    close(fd);
    return bench_finish(0);
}
