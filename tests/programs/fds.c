/* Descriptors and vectored I/O: `fds MODE`. (Natively the harness may leave a few low fds
 * open, so the table mode works with fds from 110 up.)
 *   vectored — preadv/pwritev/preadv2/pwritev2 on a file (offsets, the position untouched or
 *              used with -1, RWF flags), on a pipe (ESPIPE), bad offsets and flags
 *   table    — dup/dup2/dup3/F_DUPFD(_CLOEXEC): lowest free fd, shared offset and status flags,
 *              close-on-exec per fd (F_GETFD, FIOCLEX/FIONCLEX), close_range (plain and
 *              CLOSE_RANGE_CLOEXEC), EBADF/EINVAL cases
 * Works in a fresh directory under /tmp; prints nothing that depends on the system. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef RWF_HIPRI
#define RWF_HIPRI 0x1
#endif
#define RWF_NOWAIT_BIT 0x8
#define CLOSE_RANGE_CLOEXEC_FLAG (1U << 2)

static const char *err(long r)
{
    static char buf[32];
    if (r >= 0) {
        snprintf(buf, sizeof buf, "%ld", r);
        return buf;
    }
    switch (errno) {
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case ESPIPE: return "ESPIPE";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EMFILE: return "EMFILE";
    default: snprintf(buf, sizeof buf, "errno %d", errno); return buf;
    }
}

#define SHOW(what, call)                                                                          \
    do {                                                                                          \
        errno = 0;                                                                                \
        long r_ = (long)(call);                                                                   \
        printf("%s: %s\n", what, err(r_));                                                        \
    } while (0)

static char dir[64];

static void enter_scratch_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/ferrite-fds-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    CHECK(chdir(dir) == 0);
}

static void leave_scratch_dir(void)
{
    unlink("file");
    CHECK(chdir("/") == 0);
    CHECK(rmdir(dir) == 0);
}

static void vectored(void)
{
    int fd = open("file", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    char a[] = "hello ", b[] = "vectored ", c[] = "world\n";
    struct iovec w[3] = {{a, 6}, {b, 9}, {c, 6}};
    SHOW("pwritev at 10", pwritev(fd, w, 3, 10));
    SHOW("position after pwritev", lseek(fd, 0, SEEK_CUR));
    struct stat st;
    fstat(fd, &st);
    printf("size: %lld\n", (long long)st.st_size);
    char x[8] = {0}, y[16] = {0};
    struct iovec r[2] = {{x, 5}, {y, 15}};
    SHOW("preadv at 11", preadv(fd, r, 2, 11));
    printf("read: [%s] [%s]\n", x, y);
    SHOW("preadv at the end", preadv(fd, r, 2, 31));
    SHOW("preadv with a negative offset", preadv(fd, r, 2, -5));
    SHOW("pwritev with a negative offset", pwritev(fd, w, 1, -5));
    /* v2: offset -1 uses and moves the position */
    SHOW("lseek to 10", lseek(fd, 10, SEEK_SET));
    memset(x, 0, sizeof x);
    struct iovec one = {x, 5};
    SHOW("preadv2 at -1", syscall(SYS_preadv2, fd, &one, 1, -1L, 0L, 0));
    printf("read: [%s]\n", x);
    SHOW("position after preadv2 at -1", lseek(fd, 0, SEEK_CUR));
    SHOW("preadv2 at 16 with RWF_HIPRI", syscall(SYS_preadv2, fd, &one, 1, 16L, 0L, RWF_HIPRI));
    SHOW("position after preadv2 at 16", lseek(fd, 0, SEEK_CUR));
    SHOW("preadv2 with an unknown flag", syscall(SYS_preadv2, fd, &one, 1, 0L, 0L, 0x1000));
    struct iovec z = {"Z", 1};
    SHOW("pwritev2 at -1", syscall(SYS_pwritev2, fd, &z, 1, -1L, 0L, 0));
    SHOW("position after pwritev2 at -1", lseek(fd, 0, SEEK_CUR));
    char all[40] = {0};
    SHOW("pread all", pread(fd, all, sizeof all - 1, 0));
    for (int i = 0; i < 31; i++)
        putchar(all[i] ? all[i] : '.');
    putchar('\n');
    close(fd);

    int p[2];
    CHECK(pipe(p) == 0);
    SHOW("pwritev on a pipe", pwritev(p[1], w, 1, 0));
    SHOW("pwritev2 at -1 on a pipe", syscall(SYS_pwritev2, p[1], w, 1, -1L, 0L, 0));
    SHOW("preadv2 at -1 on a pipe", syscall(SYS_preadv2, p[0], &one, 1, -1L, 0L, 0));
    SHOW("preadv on a pipe", preadv(p[0], r, 1, 0));
    close(p[0]);
    close(p[1]);
    SHOW("preadv on a closed fd", preadv(p[0], r, 1, 0));
}

static void table(void)
{
    int fd = open("file", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 3);
    CHECK(write(fd, "0123456789", 10) == 10);
    int d = dup(fd);
    printf("dup takes the next fd: %s\n", d == fd + 1 ? "yes" : "no");
    SHOW("lseek on the dup", lseek(d, 4, SEEK_SET));
    SHOW("position seen through the original", lseek(fd, 0, SEEK_CUR));
    CHECK(fcntl(fd, F_SETFL, O_NONBLOCK | O_APPEND) == 0);
    printf("status flags shared: %s\n",
           (fcntl(d, F_GETFL) & (O_NONBLOCK | O_APPEND)) == (O_NONBLOCK | O_APPEND) ? "yes"
                                                                                  : "no");
    printf("access mode: %s\n", (fcntl(d, F_GETFL) & O_ACCMODE) == O_RDWR ? "O_RDWR" : "?");
    CHECK(fcntl(fd, F_SETFL, O_RDONLY) == 0); /* the access mode does not change */
    printf("access mode after F_SETFL O_RDONLY: %s\n",
           (fcntl(d, F_GETFL) & O_ACCMODE) == O_RDWR ? "O_RDWR" : "?");

    SHOW("F_DUPFD from 110", fcntl(fd, F_DUPFD, 110));
    SHOW("F_DUPFD from 110 again", fcntl(fd, F_DUPFD, 110));
    SHOW("F_DUPFD_CLOEXEC from 120", fcntl(fd, F_DUPFD_CLOEXEC, 120));
    printf("F_GETFD of 120: %d, of 110: %d\n", fcntl(120, F_GETFD), fcntl(110, F_GETFD));
    SHOW("F_DUPFD from -1", fcntl(fd, F_DUPFD, -1));
    SHOW("ioctl FIOCLEX on 110", ioctl(110, FIOCLEX));
    printf("F_GETFD of 110: %d\n", fcntl(110, F_GETFD));
    SHOW("ioctl FIONCLEX on 110", ioctl(110, FIONCLEX));
    printf("F_GETFD of 110: %d\n", fcntl(110, F_GETFD));

    SHOW("dup2 onto 115", dup2(fd, 115));
    SHOW("dup2 onto itself", dup2(fd, fd));
    SHOW("dup2 of a closed fd", dup2(140, 116));
    SHOW("dup3 onto itself", dup3(fd, fd, 0));
    SHOW("dup3 with O_CLOEXEC onto 116", dup3(fd, 116, O_CLOEXEC));
    printf("F_GETFD of 116: %d\n", fcntl(116, F_GETFD));
    SHOW("dup3 with a bad flag", dup3(fd, 117, O_NONBLOCK));
    SHOW("dup2 replacing 116", dup2(d, 116));
    printf("F_GETFD of 116 after dup2: %d\n", fcntl(116, F_GETFD));
    SHOW("close the dup", close(d));
    SHOW("dup takes the freed fd", dup(fd) == d);
    SHOW("close of a closed fd", close(130));
    SHOW("close of -1", close(-1));

    SHOW("close_range 110-115 with CLOSE_RANGE_CLOEXEC",
         syscall(SYS_close_range, 110, 115, CLOSE_RANGE_CLOEXEC_FLAG));
    printf("F_GETFD of 110: %d, of 115: %d\n", fcntl(110, F_GETFD), fcntl(115, F_GETFD));
    SHOW("close_range 110-~0", syscall(SYS_close_range, 110, ~0U, 0));
    SHOW("fcntl on 110 after close_range", fcntl(110, F_GETFD));
    SHOW("fcntl on 120 after close_range", fcntl(120, F_GETFD));
    struct stat st0, st1;
    CHECK(fstat(0, &st0) == 0 && fstat(1, &st1) == 0);
    printf("stdin and stdout are pipes (as under the test harness): %s %s\n",
           S_ISFIFO(st0.st_mode) ? "yes" : "no", S_ISFIFO(st1.st_mode) ? "yes" : "no");
    SHOW("close_range with first > last", syscall(SYS_close_range, 5, 4, 0));
    SHOW("close_range with a bad flag", syscall(SYS_close_range, 5, 6, 0x100));
    close(d);
    close(fd);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    enter_scratch_dir();
    if (MODE_IS("vectored"))
        vectored();
    else if (MODE_IS("table"))
        table();
    else {
        printf("usage: fds vectored|table\n");
        return 2;
    }
    leave_scratch_dir();
    return check_finish();
}
