/* mmap of files: private mappings (read, write without changing the file), offsets, the zeroed
 * tail of the last page, read-only shared mappings, and the errors (EBADF, EACCES, ENODEV for
 * pipes and directories, EINVAL). Works in a fresh directory under /tmp. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *err(void)
{
    switch (errno) {
    case EBADF: return "EBADF";
    case EACCES: return "EACCES";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    default: return "other";
    }
}

static void show(const char *what, void *p)
{
    printf("%s: %s\n", what, p == MAP_FAILED ? err() : "mapped");
}

int main(void)
{
    char dir[] = "/tmp/ferrite-mmap-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK(chdir(dir) == 0);
    int fd = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    /* 2 pages and 100 bytes: "page 0 line ..." text */
    static char content[8192 + 100];
    for (size_t i = 0; i < sizeof content; i++)
        content[i] = (char)('a' + (i * 7 + i / 4096) % 26);
    CHECK(write(fd, content, sizeof content) == (ssize_t)sizeof content);

    char *p = mmap(NULL, sizeof content, PROT_READ, MAP_PRIVATE, fd, 0);
    show("private read-only", p);
    if (p != MAP_FAILED) {
        printf("contents equal: %s\n", memcmp(p, content, sizeof content) == 0 ? "yes" : "no");
        int zero_tail = 1;
        for (size_t i = sizeof content; i < 3 * 4096; i++)
            zero_tail &= p[i] == 0;
        printf("tail of the last page is zero: %s\n", zero_tail ? "yes" : "no");
        munmap(p, sizeof content);
    }

    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 4096);
    show("private writable at offset 4096", p);
    if (p != MAP_FAILED) {
        printf("second page equal: %s\n", memcmp(p, content + 4096, 4096) == 0 ? "yes" : "no");
        memcpy(p, "CHANGED", 7);
        char back[8] = {0};
        CHECK(pread(fd, back, 7, 4096) == 7);
        printf("file unchanged by a private write: %s\n",
               memcmp(back, content + 4096, 7) == 0 ? "yes" : "no");
        munmap(p, 4096);
    }

    p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
    show("shared read-only", p);
    if (p != MAP_FAILED) {
        printf("contents equal: %s\n", memcmp(p, content, 8192) == 0 ? "yes" : "no");
        munmap(p, 8192);
    }

    show("unaligned offset", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 100));
    show("zero length", mmap(NULL, 0, PROT_READ, MAP_PRIVATE, fd, 0));
    show("closed fd", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 1000, 0));
    int wo = open("data", O_WRONLY);
    show("write-only fd", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, wo, 0));
    close(wo);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    show("pipe", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, pipefd[0], 0));
    close(pipefd[0]);
    close(pipefd[1]);
    int d = open(".", O_RDONLY | O_DIRECTORY);
    show("directory", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, d, 0));
    close(d);

    close(fd);
    unlink("data");
    CHECK(chdir("/") == 0);
    CHECK(rmdir(dir) == 0);
    return check_finish();
}
