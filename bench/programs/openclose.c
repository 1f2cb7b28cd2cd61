/* openclose: open + close of an existing file in a memory file system (two path components),
 * per pair. */
#include "bench.h"
#include <fcntl.h>
#include <sys/stat.h>

static char path[64];

static void loop(long iters, void *arg)
{
    (void)arg;
    for (long i = 0; i < iters; i++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            printf("BENCH-ERROR open failed\n");
            exit(bench_finish(1));
        }
        close(fd);
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    mkdir("/tmp", 01777);
    char dir[] = "/tmp/ferrite-bench-open-XXXXXX";
    if (!mkdtemp(dir)) {
        printf("BENCH-ERROR cannot create a directory in /tmp\n");
        return bench_finish(1);
    }
    snprintf(path, sizeof path, "%s/file", dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || write(fd, "x", 1) != 1) {
        printf("BENCH-ERROR cannot create the file\n");
        return bench_finish(1);
    }
    close(fd);
    bench_measure("openclose", "open_close", loop, NULL, 1);
    unlink(path);
    rmdir(dir);
    return bench_finish(0);
}
