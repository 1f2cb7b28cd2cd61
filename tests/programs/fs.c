/* Files and directories (issue 5): the VFS and tmpfs, compared with Linux on the host's file
 * system. Every mode works inside a fresh directory made with mkdtemp under /tmp (the guest has
 * /tmp too), prints nothing that depends on where that is, and removes it at the end.
 *
 * Modes: basic, rename, unlink-open, dirs, links, errors, sparse, times, locks, cwd,
 * rlimit-nofile, threads, tree-threads, copy, misc, memory-back, fsize [kill], enospc [MiB taken by the service first]. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "check.h"

static char base[64];

/* Not in musl's headers. */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif
#define STATX_BASIC_STATS_ 0x7ffU
struct statx_ts {
    int64_t tv_sec;
    uint32_t tv_nsec;
    int32_t reserved;
};
struct statx_ {
    uint32_t stx_mask, stx_blksize;
    uint64_t stx_attributes;
    uint32_t stx_nlink, stx_uid, stx_gid;
    uint16_t stx_mode, pad0;
    uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
    struct statx_ts stx_atime, stx_btime, stx_ctime, stx_mtime;
    uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
    uint64_t spare[14];
};

/* Expect `call` to fail with `err`. */
#define FAILS(call, err)                                                                    \
    do {                                                                                    \
        errno = 0;                                                                          \
        long r_ = (long)(call);                                                             \
        CHECKF(r_ == -1 && errno == (err), "%s: got %ld errno %d (%s), want %s", #call, r_, \
               errno, strerror(errno), #err);                                               \
    } while (0)

#define OK(call)                                                                            \
    do {                                                                                    \
        errno = 0;                                                                          \
        long r_ = (long)(call);                                                             \
        CHECKF(r_ != -1, "%s: errno %d (%s)", #call, errno, strerror(errno));               \
    } while (0)

static void setup(void)
{
    strcpy(base, "/tmp/ferrite-fs-XXXXXX");
    if (!mkdtemp(base)) {
        printf("mkdtemp failed: %s\n", strerror(errno));
        exit(2);
    }
    if (chdir(base) != 0) {
        printf("chdir failed\n");
        exit(2);
    }
    umask(022);
}

/* rm -rf of the test directory (relative to `dirfd`). */
static void remove_tree(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd < 0) {
        unlinkat(dirfd, name, 0);
        return;
    }
    DIR *d = fdopendir(fd);
    struct dirent *e;
    char names[512][256];
    int n = 0;
    while (d && (e = readdir(d)) && n < 512) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            snprintf(names[n++], 256, "%s", e->d_name);
    }
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
            remove_tree(fd, names[i]);
        else
            unlinkat(fd, names[i], 0);
    }
    if (d)
        closedir(d);
    unlinkat(dirfd, name, AT_REMOVEDIR);
}

static void teardown(void)
{
    if (chdir("/tmp") != 0)
        CHECK(0);
    remove_tree(AT_FDCWD, base);
    struct stat st;
    CHECK(stat(base, &st) == -1 && errno == ENOENT);
}

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
}

/* The file's contents as a string (static buffer). */
static const char *read_file(const char *path)
{
    static char buf[4096];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return "<missing>";
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    return buf;
}

static void basic(void)
{
    int fd = open("a", O_CREAT | O_EXCL | O_RDWR, 0666);
    CHECK(fd >= 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644);
    CHECK(st.st_size == 0 && st.st_nlink == 1 && st.st_uid == getuid());
    CHECK(write(fd, "hello world", 11) == 11);
    CHECK(lseek(fd, 0, SEEK_CUR) == 11);
    char buf[64] = {0};
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(read(fd, buf, sizeof buf) == 11 && memcmp(buf, "hello world", 11) == 0);
    CHECK(read(fd, buf, sizeof buf) == 0);
    FAILS(open("a", O_CREAT | O_EXCL | O_RDWR, 0644), EEXIST);

    /* O_APPEND: every write at the end, the position follows. */
    int ap = open("a", O_WRONLY | O_APPEND);
    CHECK(ap >= 0);
    CHECK(lseek(ap, 0, SEEK_SET) == 0);
    CHECK(write(ap, "!!", 2) == 2);
    CHECK(lseek(ap, 0, SEEK_CUR) == 13);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 13);
    CHECK(fcntl(ap, F_GETFL) & O_APPEND);
    close(ap);

    /* pread/pwrite leave the position alone. */
    CHECK(lseek(fd, 3, SEEK_SET) == 3);
    CHECK(pwrite(fd, "J", 1, 0) == 1);
    memset(buf, 0, sizeof buf);
    CHECK(pread(fd, buf, 5, 0) == 5 && strcmp(buf, "Jello") == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 3);
    CHECK(pread(fd, buf, 5, 100) == 0);
    FAILS(pread(fd, buf, 5, -1), EINVAL);

    /* dup shares the position; a second open does not. */
    int d = dup(fd);
    CHECK(lseek(fd, 6, SEEK_SET) == 6);
    CHECK(lseek(d, 0, SEEK_CUR) == 6);
    int other = open("a", O_RDONLY);
    CHECK(lseek(other, 0, SEEK_CUR) == 0);
    memset(buf, 0, sizeof buf);
    CHECK(read(d, buf, 5) == 5 && strcmp(buf, "world") == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 11);
    close(d);

    /* Writing past the end leaves a hole of zeros. */
    CHECK(pwrite(fd, "x", 1, 100) == 1);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 101);
    char hole[101];
    CHECK(pread(other, hole, sizeof hole, 0) == 101);
    int zeros = 1;
    for (int i = 13; i < 100; i++)
        zeros &= hole[i] == 0;
    CHECK(zeros && hole[100] == 'x');
    CHECK(lseek(fd, -1, SEEK_END) == 100);
    FAILS(lseek(fd, -200, SEEK_END), EINVAL);
    FAILS(lseek(fd, 0, 42), EINVAL);

    /* Access modes. */
    FAILS(write(other, "x", 1), EBADF);
    int wo = open("a", O_WRONLY);
    FAILS(read(wo, buf, 1), EBADF);
    close(wo);

    /* O_TRUNC empties; creat() is O_CREAT|O_WRONLY|O_TRUNC. */
    int tr = open("a", O_RDWR | O_TRUNC);
    CHECK(tr >= 0 && fstat(tr, &st) == 0 && st.st_size == 0);
    CHECK(read(other, buf, 1) == 0);
    close(tr);
    int c = creat("b", 0600);
    CHECK(c >= 0 && fstat(c, &st) == 0 && (st.st_mode & 0777) == 0600);
    FAILS(read(c, buf, 1), EBADF);
    close(c);

    /* A megabyte through several writes and reads of odd sizes. */
    int big = open("big", O_CREAT | O_RDWR, 0644);
    static unsigned char data[1 << 20], back[1 << 20];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 + (i >> 12));
    size_t done = 0;
    while (done < sizeof data) {
        size_t n = sizeof data - done < 12345 ? sizeof data - done : 12345;
        CHECK(write(big, data + done, n) == (ssize_t)n);
        done += n;
    }
    CHECK(lseek(big, 0, SEEK_SET) == 0);
    done = 0;
    while (done < sizeof back) {
        ssize_t n = read(big, back + done, 7777);
        if (n <= 0)
            break;
        done += n;
    }
    CHECK(done == sizeof back && memcmp(data, back, sizeof data) == 0);
    close(big);
    close(fd);
    close(other);
    printf("basic done\n");
}

static long renameat2_(int od, const char *o, int nd, const char *n, unsigned flags)
{
    return syscall(SYS_renameat2, od, o, nd, n, flags);
}

static void rename_mode(void)
{
    write_file("one", "1");
    write_file("two", "2");
    OK(rename("one", "two"));
    CHECK(strcmp(read_file("two"), "1") == 0);
    CHECK(access("one", F_OK) == -1 && errno == ENOENT);

    write_file("three", "3");
    FAILS(renameat2_(AT_FDCWD, "two", AT_FDCWD, "three", RENAME_NOREPLACE), EEXIST);
    OK(renameat2_(AT_FDCWD, "two", AT_FDCWD, "four", RENAME_NOREPLACE));
    OK(renameat2_(AT_FDCWD, "four", AT_FDCWD, "three", RENAME_EXCHANGE));
    CHECK(strcmp(read_file("four"), "3") == 0 && strcmp(read_file("three"), "1") == 0);
    FAILS(renameat2_(AT_FDCWD, "four", AT_FDCWD, "nothing", RENAME_EXCHANGE), ENOENT);
    FAILS(renameat2_(AT_FDCWD, "four", AT_FDCWD, "three", RENAME_EXCHANGE | RENAME_NOREPLACE),
          EINVAL);
    FAILS(renameat2_(AT_FDCWD, "four", AT_FDCWD, "three", 0x80), EINVAL);

    /* Directories. */
    OK(mkdir("d1", 0755));
    OK(mkdir("d1/sub", 0755));
    OK(mkdir("d2", 0755));
    OK(mkdir("empty", 0755));
    write_file("d2/f", "f");
    FAILS(rename("d1", "d1/sub/x"), EINVAL);
    FAILS(rename("d1", "d1/sub"), EINVAL);
    FAILS(rename("d1", "d2"), ENOTEMPTY);
    FAILS(rename("four", "d1"), EISDIR);
    FAILS(rename("d1", "four"), ENOTDIR);
    FAILS(rename("missing", "x"), ENOENT);
    FAILS(rename("four/", "x"), ENOTDIR);
    FAILS(rename("d1/sub", "d1/sub/.."), EBUSY);
    OK(rename("d1/sub", "empty")); /* over an empty directory */
    struct stat st;
    CHECK(stat("d1", &st) == 0 && st.st_nlink == 2);
    CHECK(stat("empty", &st) == 0 && S_ISDIR(st.st_mode));
    /* A directory moved between parents: the link counts follow. */
    OK(mkdir("d1/moving", 0755));
    CHECK(stat("d1", &st) == 0 && st.st_nlink == 3);
    OK(rename("d1/moving", "d2/moved"));
    CHECK(stat("d1", &st) == 0 && st.st_nlink == 2);
    CHECK(stat("d2", &st) == 0 && st.st_nlink == 3);
    OK(mkdir("d2/moved/deep", 0755));
    CHECK(stat("d2/moved/deep/..", &st) == 0 && S_ISDIR(st.st_mode));
    OK(rename("d2/f", "d2/moved/deep/g"));
    CHECK(strcmp(read_file("d2/moved/deep/g"), "f") == 0);
    /* Two names of one file: nothing happens. */
    OK(link("four", "four-too"));
    OK(rename("four", "four-too"));
    CHECK(access("four", F_OK) == 0 && access("four-too", F_OK) == 0);
    /* An open file keeps working across a rename. */
    int fd = open("four", O_RDONLY);
    OK(rename("four", "d1/four"));
    char c = 0;
    CHECK(read(fd, &c, 1) == 1 && c == '3');
    close(fd);
    /* renameat with directory fds. */
    int d1 = open("d1", O_RDONLY | O_DIRECTORY);
    int d2 = open("d2", O_RDONLY | O_DIRECTORY);
    OK(renameat(d1, "four", d2, "four"));
    CHECK(strcmp(read_file("d2/four"), "3") == 0);
    close(d1);
    close(d2);
    printf("rename done\n");
}

static void unlink_open(void)
{
    write_file("f", "still here");
    int fd = open("f", O_RDWR);
    OK(link("f", "g"));
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_nlink == 2);
    OK(unlink("f"));
    CHECK(fstat(fd, &st) == 0 && st.st_nlink == 1);
    OK(unlink("g"));
    CHECK(fstat(fd, &st) == 0 && st.st_nlink == 0);
    char buf[32] = {0};
    CHECK(pread(fd, buf, sizeof buf, 0) == 10 && strcmp(buf, "still here") == 0);
    CHECK(pwrite(fd, "STILL", 5, 0) == 5);
    CHECK(pread(fd, buf, 10, 0) == 10 && memcmp(buf, "STILL here", 10) == 0);
    FAILS(open("f", O_RDONLY), ENOENT);
    FAILS(unlink("f"), ENOENT);
    /* A new file of the same name is another file. */
    write_file("f", "new");
    CHECK(pread(fd, buf, 10, 0) == 10 && memcmp(buf, "STILL here", 10) == 0);
    CHECK(strcmp(read_file("f"), "new") == 0);
    close(fd);
    printf("unlink-open done\n");
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* "name:type" of every entry of `path`, sorted, one line. */
static void list_dir(const char *path)
{
    static char names[300][64];
    int n = 0;
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    char buf[512];
    for (;;) {
        long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
        CHECK(got >= 0);
        if (got <= 0)
            break;
        for (long off = 0; off < got;) {
            struct dirent64 {
                uint64_t ino;
                int64_t off;
                unsigned short reclen;
                unsigned char type;
                char name[];
            } *e = (void *)(buf + off);
            char t = e->type == DT_DIR ? 'd' : e->type == DT_REG ? 'f' : e->type == DT_LNK ? 'l' : '?';
            if (n < 300)
                snprintf(names[n++], 64, "%s:%c", e->name, t);
            off += e->reclen;
        }
    }
    close(fd);
    qsort(names, n, sizeof names[0], cmp_names);
    printf("%s:", path);
    for (int i = 0; i < n && i < 20; i++)
        printf(" %s", names[i]);
    printf(" (%d)\n", n);
}

static void dirs(void)
{
    OK(mkdir("d", 0755));
    FAILS(mkdir("d", 0755), EEXIST);
    FAILS(mkdir("d/", 0755), EEXIST);
    write_file("d/x", "x");
    write_file("d/y", "y");
    OK(mkdir("d/z", 0700));
    OK(symlink("x", "d/s"));
    struct stat st;
    CHECK(stat("d", &st) == 0 && st.st_nlink == 3 && (st.st_mode & 07777) == 0755);
    CHECK(stat("d/z", &st) == 0 && (st.st_mode & 07777) == 0700 && st.st_nlink == 2);
    list_dir("d");
    FAILS(rmdir("d"), ENOTEMPTY);
    FAILS(rmdir("d/x"), ENOTDIR);
    FAILS(unlink("d/z"), EISDIR);
    FAILS(rmdir("d/z/."), EINVAL);
    FAILS(rmdir("d/z/.."), ENOTEMPTY);
    FAILS(rmdir("nope"), ENOENT);
    FAILS(mkdir("nope/x", 0755), ENOENT);
    FAILS(mkdir("d/x/y", 0755), ENOTDIR);
    OK(rmdir("d/z/"));
    CHECK(stat("d", &st) == 0 && st.st_nlink == 2);

    /* Many entries over several getdents64 calls, and readdir/rewinddir. */
    OK(mkdir("many", 0755));
    char name[32];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "many/file-%03d", i);
        write_file(name, "");
    }
    list_dir("many");
    DIR *dp = opendir("many");
    int count = 0, again = 0;
    while (readdir(dp))
        count++;
    rewinddir(dp);
    while (readdir(dp))
        again++;
    CHECK(count == 202 && again == 202);
    /* Entries removed while listing are not seen twice, and the rest still are. */
    rewinddir(dp);
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        seen++;
        if (seen == 10) {
            for (int i = 0; i < 200; i += 2) {
                snprintf(name, sizeof name, "many/file-%03d", i);
                unlink(name);
            }
        }
    }
    CHECK(seen >= 102 && seen <= 202);
    closedir(dp);
    list_dir("many");

    /* A directory's fd: read is EISDIR, getdents with a tiny buffer EINVAL. */
    int fd = open("d", O_RDONLY | O_DIRECTORY);
    char buf[8];
    FAILS(read(fd, buf, sizeof buf), EISDIR);
    FAILS(syscall(SYS_getdents64, fd, buf, sizeof buf), EINVAL);
    FAILS(open("d", O_WRONLY), EISDIR);
    FAILS(open("d", O_RDWR), EISDIR);
    FAILS(open("d", O_CREAT | O_RDONLY, 0644), EISDIR);
    FAILS(open("d", O_RDONLY | O_TRUNC), EISDIR);
    int file = open("d/x", O_RDONLY);
    FAILS(syscall(SYS_getdents64, file, buf, sizeof buf), ENOTDIR);
    close(file);
    close(fd);
    printf("dirs done\n");
}

static void links(void)
{
    write_file("a", "target");
    OK(link("a", "b"));
    struct stat sa, sb;
    CHECK(stat("a", &sa) == 0 && stat("b", &sb) == 0);
    CHECK(sa.st_ino == sb.st_ino && sa.st_nlink == 2);
    FAILS(link("a", "b"), EEXIST);
    FAILS(link("missing", "c"), ENOENT);
    OK(mkdir("dir", 0755));
    FAILS(link("dir", "dir2"), EPERM);

    OK(symlink("a", "s"));
    char buf[64] = {0};
    CHECK(readlink("s", buf, sizeof buf) == 1 && buf[0] == 'a');
    FAILS(syscall(SYS_readlink, "s", buf, 0), EINVAL); /* (musl's readlink hides size 0) */
    FAILS(readlink("a", buf, sizeof buf), EINVAL);
    FAILS(symlink("x", "s"), EEXIST);
    FAILS(symlink("", "empty"), ENOENT);
    struct stat st;
    CHECK(lstat("s", &st) == 0 && S_ISLNK(st.st_mode) && st.st_size == 1);
    CHECK(stat("s", &st) == 0 && S_ISREG(st.st_mode) && st.st_ino == sa.st_ino);
    CHECK(strcmp(read_file("s"), "target") == 0);

    /* Relative targets resolve from the link's directory. */
    OK(symlink("../a", "dir/up"));
    CHECK(strcmp(read_file("dir/up"), "target") == 0);
    OK(symlink("dir", "sd"));
    CHECK(stat("sd/", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(strcmp(read_file("sd/up"), "target") == 0);
    FAILS(stat("s/", &st), ENOTDIR);

    /* Dangling links: stat fails, lstat works, O_CREAT creates the target. */
    OK(symlink("created", "dangling"));
    FAILS(stat("dangling", &st), ENOENT);
    CHECK(lstat("dangling", &st) == 0);
    int fd = open("dangling", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    close(fd);
    CHECK(stat("created", &st) == 0 && S_ISREG(st.st_mode));
    FAILS(open("dangling", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);

    /* Loops and O_NOFOLLOW. */
    OK(symlink("l2", "l1"));
    OK(symlink("l1", "l2"));
    FAILS(open("l1", O_RDONLY), ELOOP);
    FAILS(stat("l1", &st), ELOOP);
    FAILS(open("s", O_RDONLY | O_NOFOLLOW), ELOOP);
    fd = open("s", O_PATH | O_NOFOLLOW);
    CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode));
    FAILS(read(fd, buf, 1), EBADF);
    FAILS(syscall(SYS_getdents64, fd, buf, sizeof buf), EBADF);
    FAILS(flock(fd, LOCK_SH), EBADF);
    close(fd);
    /* 40 links in a chain resolve; 41 are ELOOP. */
    char from[16], to[16];
    for (int i = 0; i < 41; i++) {
        snprintf(from, sizeof from, "c%d", i);
        snprintf(to, sizeof to, i == 40 ? "a" : "c%d", i + 1);
        OK(symlink(to, from));
    }
    CHECK(strcmp(read_file("c1"), "target") == 0);
    FAILS(open("c0", O_RDONLY), ELOOP);

    /* Unlinking a link leaves the target. */
    OK(unlink("s"));
    CHECK(stat("a", &st) == 0 && st.st_nlink == 2);
    OK(unlink("a"));
    CHECK(stat("b", &st) == 0 && st.st_nlink == 1);
    /* linkat with AT_SYMLINK_FOLLOW links the target, without it the link itself. */
    OK(symlink("b", "sb"));
    OK(linkat(AT_FDCWD, "sb", AT_FDCWD, "hard-to-link", 0));
    CHECK(lstat("hard-to-link", &st) == 0 && S_ISLNK(st.st_mode));
    OK(linkat(AT_FDCWD, "sb", AT_FDCWD, "hard-to-b", AT_SYMLINK_FOLLOW));
    CHECK(lstat("hard-to-b", &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 2);
    /* readlinkat on a symlink dirfd with an empty path. */
    fd = open("sb", O_PATH | O_NOFOLLOW);
    memset(buf, 0, sizeof buf);
    CHECK(readlinkat(fd, "", buf, sizeof buf) == 1 && buf[0] == 'b');
    close(fd);
    printf("links done\n");
}

static void errors(void)
{
    struct stat st;
    char buf[8];
    FAILS(open("nope", O_RDONLY), ENOENT);
    FAILS(open("", O_RDONLY), ENOENT);
    FAILS(stat("", &st), ENOENT);
    FAILS(unlink(""), ENOENT);
    write_file("file", "x");
    FAILS(open("file/x", O_RDONLY), ENOTDIR);
    FAILS(open("file/", O_RDONLY), ENOTDIR);
    FAILS(open("file", O_RDONLY | O_DIRECTORY), ENOTDIR);
    FAILS(open("file/x", O_CREAT | O_RDONLY, 0644), ENOTDIR);
    FAILS(open("new/", O_CREAT | O_RDONLY, 0644), EISDIR);
    FAILS(mkdir("file", 0755), EEXIST);
    FAILS(mkdir(".", 0755), EEXIST);
    FAILS(unlink("file/"), ENOTDIR);
    FAILS(unlink("."), EISDIR);

    char name[300];
    memset(name, 'n', 256);
    name[256] = 0;
    FAILS(open(name, O_CREAT | O_RDONLY, 0644), ENAMETOOLONG);
    FAILS(mkdir(name, 0755), ENAMETOOLONG);
    name[255] = 0;
    int fd = open(name, O_CREAT | O_RDONLY, 0644);
    CHECK(fd >= 0);
    close(fd);
    OK(unlink(name));
    static char path[5000];
    for (int i = 0; i < 4200; i += 2) {
        path[i] = 'p';
        path[i + 1] = '/';
    }
    path[4200] = 0;
    FAILS(open(path, O_RDONLY), ENAMETOOLONG);
    FAILS(stat(path, &st), ENAMETOOLONG);
    /* "./" repeated keeps the length under PATH_MAX and resolves. */
    char *p = path;
    for (int i = 0; i < 1000; i++) {
        memcpy(p, "./", 2);
        p += 2;
    }
    strcpy(p, "file");
    CHECK(stat(path, &st) == 0);

    FAILS(close(-1), EBADF);
    FAILS(fstat(999, &st), EBADF);
    FAILS(read(999, buf, 1), EBADF);
    FAILS(openat(999, "file", O_RDONLY), EBADF);
    fd = open("file", O_RDONLY);
    FAILS(openat(fd, "x", O_RDONLY), ENOTDIR);
    CHECK(openat(999, "/tmp", O_RDONLY | O_DIRECTORY) >= 0); /* absolute: dirfd unused */
    FAILS(lseek(fd, -1, SEEK_SET), EINVAL);
    FAILS(ftruncate(fd, 0), EINVAL);
    FAILS(fallocate(fd, 0, 0, 10), EBADF);
    FAILS(truncate("file", -1), EINVAL);
    FAILS(truncate(".", 0), EISDIR);
    close(fd);
    fd = open("file", O_RDWR);
    FAILS(fallocate(fd, 0, 0, 0), EINVAL);
    FAILS(fallocate(fd, 0, -1, 10), EINVAL);
    FAILS(ftruncate(fd, -1), EINVAL);
    close(fd);
    FAILS(open("file", O_RDONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    FAILS(access("file", 0x10), EINVAL);
    FAILS(access("nope", F_OK), ENOENT);
    CHECK(access("file", R_OK | W_OK) == 0);
    FAILS(fstatat(AT_FDCWD, "file", &st, 0x1), EINVAL);
    FAILS(unlinkat(AT_FDCWD, "file", 0x1), EINVAL);
    FAILS(utimensat(AT_FDCWD, "file", (struct timespec[2]){{0, 2000000000L}, {0, 0}}, 0),
          EINVAL);
    /* More paths Linux answers precisely. */
    OK(mkdir("dir", 0755));
    FAILS(link("file", "missing/x"), ENOENT);
    FAILS(symlink("file", "missing/x"), ENOENT);
    FAILS(rename("file", "file/x"), ENOTDIR);
    FAILS(rename("file", "missing/x"), ENOENT);
    FAILS(open("file", O_WRONLY | O_DIRECTORY), ENOTDIR);
    FAILS(open("dir", O_WRONLY | O_DIRECTORY), EISDIR);
    FAILS(open("newdir", O_CREAT | O_DIRECTORY | O_RDONLY, 0755), EINVAL);
    CHECK(access("newdir", F_OK) == -1);
    FAILS(chdir(""), ENOENT);
    FAILS(unlinkat(AT_FDCWD, "file", AT_REMOVEDIR), ENOTDIR);
    FAILS(rmdir("/"), EBUSY);
    FAILS(mkdir("/", 0755), EEXIST);
    FAILS(stat("file/.", &st), ENOTDIR);
    FAILS(mkdir("missing/b/c", 0755), ENOENT);
    OK(mkdir("dir2//", 0755));
    OK(rename("dir", "dir"));
    OK(rename("dir2/", "dir3"));
    memset(path, 'a', 4096);
    path[4096] = 0;
    FAILS(symlink(path, "longlink"), ENAMETOOLONG);
    path[4095] = 0;
    OK(symlink(path, "longlink"));
    CHECK(lstat("longlink", &st) == 0 && st.st_size == 4095);
    name[255] = 'n';
    snprintf(path, sizeof path, "dir/%s/x", name);
    FAILS(stat(path, &st), ENAMETOOLONG);
    OK(renameat2_(AT_FDCWD, "dir", AT_FDCWD, "file", RENAME_EXCHANGE));
    CHECK(stat("file", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(stat("dir", &st) == 0 && S_ISREG(st.st_mode));
    int dfd = open("dir3", O_RDONLY | O_DIRECTORY);
    FAILS(linkat(dfd, "", AT_FDCWD, "dirlink", AT_EMPTY_PATH), EPERM);
    close(dfd);
    printf("errors done\n");
}

static void sparse(void)
{
    int fd = open("sparse", O_CREAT | O_RDWR, 0644);
    const off_t tib = 1LL << 40;
    OK(ftruncate(fd, tib));
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == tib && st.st_blocks < 64);
    char buf[4096];
    memset(buf, 1, sizeof buf);
    CHECK(pread(fd, buf, sizeof buf, tib / 2) == (ssize_t)sizeof buf);
    int zero = 1;
    for (size_t i = 0; i < sizeof buf; i++)
        zero &= buf[i] == 0;
    CHECK(zero);
    CHECK(pread(fd, buf, sizeof buf, tib - 10) == 10);
    CHECK(pread(fd, buf, sizeof buf, tib) == 0);
    CHECK(pwrite(fd, "end", 3, tib - 3) == 3);
    CHECK(pwrite(fd, "mid", 3, tib / 2) == 3);
    CHECK(fstat(fd, &st) == 0 && st.st_size == tib && st.st_blocks > 0 && st.st_blocks < 64);
    CHECK(lseek(fd, 0, SEEK_END) == tib);
    CHECK(lseek(fd, 0, SEEK_HOLE) == 0);
    CHECK(lseek(fd, 0, SEEK_DATA) == tib / 2);
    CHECK(lseek(fd, tib / 2 + 1, SEEK_DATA) == tib / 2 + 1);
    FAILS(lseek(fd, tib, SEEK_DATA), ENXIO);
    memset(buf, 0, sizeof buf);
    CHECK(pread(fd, buf, 3, tib / 2) == 3 && memcmp(buf, "mid", 3) == 0);
    /* Shrinking drops the data; growing again reads zeros. */
    OK(ftruncate(fd, tib / 2 + 1));
    OK(ftruncate(fd, tib));
    CHECK(pread(fd, buf, 3, tib / 2) == 3 && buf[0] == 'm' && buf[1] == 0 && buf[2] == 0);
    CHECK(pread(fd, buf, 3, tib - 3) == 3 && buf[0] == 0);
    /* An offset and count past the largest offset: EINVAL. */
    FAILS(pwrite(fd, "x", 1, INT64_MAX), EINVAL);
    FAILS(pread(fd, buf, 2, INT64_MAX - 1), EINVAL);
    FAILS(ftruncate(fd, -1), EINVAL);
    /* fallocate allocates, KEEP_SIZE keeps the size. */
    int fa = open("alloc", O_CREAT | O_RDWR, 0644);
    OK(fallocate(fa, 0, 0, 65536));
    CHECK(fstat(fa, &st) == 0 && st.st_size == 65536 && st.st_blocks >= 128);
    OK(fallocate(fa, FALLOC_FL_KEEP_SIZE, 65536, 65536));
    CHECK(fstat(fa, &st) == 0 && st.st_size == 65536 && st.st_blocks >= 256);
    /* Punching a hole: whole pages go, partial ones read zeros, the size stays. */
    char pattern[3 * 4096];
    memset(pattern, 'p', sizeof pattern);
    CHECK(pwrite(fa, pattern, sizeof pattern, 0) == (ssize_t)sizeof pattern);
    blkcnt_t before = (fstat(fa, &st), st.st_blocks);
    OK(fallocate(fa, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 2 * 4096));
    CHECK(fstat(fa, &st) == 0 && st.st_size == 65536 && st.st_blocks == before - 8);
    CHECK(pread(fa, pattern, sizeof pattern, 0) == (ssize_t)sizeof pattern);
    CHECK(pattern[99] == 'p' && pattern[100] == 0 && pattern[8291] == 0 && pattern[8292] == 'p');
    FAILS(fallocate(fa, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
    close(fa);
    close(fd);
    OK(unlink("sparse"));
    printf("sparse done\n");
}

static int after(struct timespec a, struct timespec b)
{
    return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

static void times_mode(void)
{
    int fd = open("t", O_CREAT | O_RDWR, 0644);
    struct stat st, st2;
    struct timespec old[2] = {{1000, 1}, {2000, 2}};
    OK(futimens(fd, old));
    CHECK(fstat(fd, &st) == 0 && st.st_atime == 1000 && st.st_atim.tv_nsec == 1);
    CHECK(st.st_mtime == 2000 && st.st_mtim.tv_nsec == 2);
    CHECK(write(fd, "x", 1) == 1);
    CHECK(fstat(fd, &st2) == 0 && st2.st_mtime > 2000 && st2.st_atime == 1000);
    CHECK(!after(st2.st_mtim, st2.st_ctim) && !after(st2.st_ctim, st2.st_mtim));
    /* relatime: a read moves an atime older than mtime. */
    char c;
    CHECK(pread(fd, &c, 1, 0) == 1);
    CHECK(fstat(fd, &st) == 0 && st.st_atime > 1000);
    /* UTIME_OMIT keeps, UTIME_NOW sets now. */
    struct timespec omit[2] = {{5, UTIME_OMIT}, {3000, 0}};
    OK(utimensat(AT_FDCWD, "t", omit, 0));
    CHECK(stat("t", &st2) == 0 && st2.st_atime == st.st_atime && st2.st_mtime == 3000);
    struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    OK(utimensat(AT_FDCWD, "t", now, 0));
    CHECK(stat("t", &st) == 0 && st.st_mtime == 3000 && st.st_atime >= st2.st_ctim.tv_sec - 1);
    OK(utimensat(AT_FDCWD, "t", NULL, 0));
    CHECK(stat("t", &st) == 0 && st.st_mtime > 3000);
    /* utime/utimes. */
    struct utimbuf ub = {4000, 5000};
    OK(utime("t", &ub));
    CHECK(stat("t", &st) == 0 && st.st_atime == 4000 && st.st_mtime == 5000);
    struct timeval tv[2] = {{6000, 7}, {7000, 8}};
    OK(utimes("t", tv));
    CHECK(stat("t", &st) == 0 && st.st_atime == 6000 && st.st_mtim.tv_nsec == 8000);
    /* A symlink's own times with AT_SYMLINK_NOFOLLOW. */
    OK(symlink("t", "tl"));
    struct timespec lt[2] = {{100, 0}, {200, 0}};
    OK(utimensat(AT_FDCWD, "tl", lt, AT_SYMLINK_NOFOLLOW));
    CHECK(lstat("tl", &st) == 0 && st.st_mtime == 200);
    CHECK(stat("tl", &st) == 0 && st.st_mtime == 7000);
    /* chmod and chown change ctime, not mtime; a directory's mtime moves on create. */
    OK(chmod("t", 0600));
    CHECK(stat("t", &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_mtime == 7000);
    OK(fchmod(fd, 04755));
    CHECK(fstat(fd, &st) == 0 && (st.st_mode & 07777) == 04755);
    OK(fchown(fd, 0, 0));
    CHECK(fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0755 && st.st_uid == 0);
    OK(chown("t", 123, 456));
    CHECK(stat("t", &st) == 0 && st.st_uid == 123 && st.st_gid == 456);
    OK(lchown("tl", 7, 8));
    CHECK(lstat("tl", &st) == 0 && st.st_uid == 7 && stat("t", &st2) == 0 && st2.st_uid == 123);
    OK(fchownat(AT_FDCWD, "t", -1, 9, 0));
    CHECK(stat("t", &st) == 0 && st.st_uid == 123 && st.st_gid == 9);
    OK(mkdir("dd", 0755));
    struct timespec dold[2] = {{10, 0}, {10, 0}};
    OK(utimensat(AT_FDCWD, "dd", dold, 0));
    write_file("dd/new", "");
    CHECK(stat("dd", &st) == 0 && st.st_mtime > 10 && st.st_ctime > 10);
    /* umask applies at creation. */
    mode_t prev = umask(077);
    CHECK(prev == 022);
    int u = open("masked", O_CREAT | O_RDWR, 0666);
    CHECK(fstat(u, &st) == 0 && (st.st_mode & 0777) == 0600);
    OK(mkdir("maskdir", 0777));
    CHECK(stat("maskdir", &st) == 0 && (st.st_mode & 0777) == 0700);
    umask(022);
    close(u);
    close(fd);
    printf("times done\n");
}

static int lock_fd;
static volatile int waiter_got;

static void *lock_waiter(void *arg)
{
    (void)arg;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    int r = fcntl(lock_fd, F_OFD_SETLKW, &fl);
    waiter_got = r == 0 ? 1 : -1;
    return NULL;
}

static void on_signal(int sig)
{
    (void)sig;
}

static pthread_t main_thread;

static void *poke_main(void *arg)
{
    (void)arg;
    struct timespec ms = {0, 50 * 1000 * 1000};
    nanosleep(&ms, NULL);
    pthread_kill(main_thread, SIGUSR1);
    return NULL;
}

static void locks(void)
{
    write_file("lk", "0123456789abcdefghij");
    int a = open("lk", O_RDWR), b = open("lk", O_RDWR);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    OK(fcntl(a, F_OFD_SETLK, &fl));
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 0};
    FAILS(fcntl(b, F_OFD_SETLK, &fl), EAGAIN);
    fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1};
    OK(fcntl(b, F_OFD_GETLK, &fl));
    CHECK(fl.l_type == F_WRLCK && fl.l_start == 0 && fl.l_len == 10 && fl.l_pid == -1);
    fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 10};
    OK(fcntl(b, F_OFD_SETLK, &fl));
    fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 15, .l_len = 1};
    OK(fcntl(a, F_OFD_SETLK, &fl)); /* read locks share */
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 15, .l_len = 1};
    FAILS(fcntl(a, F_OFD_SETLK, &fl), EAGAIN);
    fl.l_pid = 1;
    FAILS(fcntl(a, F_OFD_SETLK, &fl), EINVAL);

    /* Classic locks: the process's own never conflict, but OFD locks do. */
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 100};
    OK(fcntl(a, F_SETLK, &fl));
    OK(fcntl(b, F_SETLK, &fl));
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 150, .l_len = 1};
    OK(fcntl(b, F_GETLK, &fl));
    CHECK(fl.l_type == F_UNLCK);
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    FAILS(fcntl(b, F_SETLK, &fl), EAGAIN);
    OK(fcntl(b, F_GETLK, &fl));
    CHECK(fl.l_type == F_WRLCK && fl.l_pid == -1);
    fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 150, .l_len = 1};
    OK(fcntl(b, F_OFD_GETLK, &fl));
    CHECK(fl.l_type == F_WRLCK && fl.l_start == 100 && fl.l_len == 100 && fl.l_pid == getpid());
    /* Split: unlocking the middle of the classic lock leaves two pieces. */
    fl = (struct flock){.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 120, .l_len = 10};
    OK(fcntl(a, F_SETLK, &fl));
    fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 120, .l_len = 10};
    OK(fcntl(b, F_OFD_GETLK, &fl));
    CHECK(fl.l_type == F_UNLCK);
    fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 110, .l_len = 30};
    OK(fcntl(b, F_OFD_GETLK, &fl));
    CHECK(fl.l_type == F_WRLCK && fl.l_start == 100 && fl.l_len == 20);
    /* Closing any fd of the file drops the process's classic locks. */
    int c = open("lk", O_RDONLY);
    close(c);
    fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 100};
    OK(fcntl(b, F_OFD_GETLK, &fl));
    CHECK(fl.l_type == F_UNLCK);
    /* SEEK_CUR and negative lengths. */
    CHECK(lseek(a, 50, SEEK_SET) == 50);
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_CUR, .l_start = 0, .l_len = -10};
    OK(fcntl(a, F_OFD_SETLK, &fl));
    fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    fl.l_start = 30;
    OK(fcntl(b, F_OFD_GETLK, &fl));
    CHECK(fl.l_type == F_WRLCK && fl.l_start == 40 && fl.l_len == 10);
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = -1, .l_len = 1};
    FAILS(fcntl(a, F_OFD_SETLK, &fl), EINVAL);
    fl = (struct flock){.l_type = 42, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    FAILS(fcntl(a, F_OFD_SETLK, &fl), EINVAL);
    int ro = open("lk", O_RDONLY);
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 500, .l_len = 1};
    FAILS(fcntl(ro, F_OFD_SETLK, &fl), EBADF);
    close(ro);

    /* A blocked F_OFD_SETLKW wakes when the lock goes. */
    lock_fd = b;
    pthread_t t;
    pthread_create(&t, NULL, lock_waiter, NULL);
    struct timespec ms = {0, 50 * 1000 * 1000};
    nanosleep(&ms, NULL);
    CHECK(waiter_got == 0);
    fl = (struct flock){.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    OK(fcntl(a, F_OFD_SETLK, &fl));
    pthread_join(t, NULL);
    CHECK(waiter_got == 1);
    /* A signal ends a blocked F_OFD_SETLKW and flock (a handler without SA_RESTART: EINTR). */
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGUSR1, &sa, NULL);
    main_thread = pthread_self();
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    pthread_create(&t, NULL, poke_main, NULL);
    FAILS(fcntl(a, F_OFD_SETLKW, &fl), EINTR);
    pthread_join(t, NULL);
    int fx = open("lk", O_RDONLY), fy = open("lk", O_RDONLY);
    OK(flock(fx, LOCK_EX));
    pthread_create(&t, NULL, poke_main, NULL);
    FAILS(flock(fy, LOCK_EX), EINTR);
    pthread_join(t, NULL);
    close(fx);
    close(fy);
    /* The last close of a description drops its OFD locks. */
    int bd = dup(b);
    close(b);
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    FAILS(fcntl(a, F_OFD_SETLK, &fl), EAGAIN);
    close(bd);
    OK(fcntl(a, F_OFD_SETLK, &fl));

    /* flock: per description. */
    int f1 = open("lk", O_RDONLY), f2 = open("lk", O_RDONLY);
    OK(flock(f1, LOCK_EX));
    OK(flock(f1, LOCK_EX)); /* again: fine */
    FAILS(flock(f2, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    FAILS(flock(f2, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    OK(flock(f1, LOCK_SH)); /* downgrade */
    OK(flock(f2, LOCK_SH | LOCK_NB));
    FAILS(flock(f1, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    OK(flock(f2, LOCK_UN));
    OK(flock(f1, LOCK_EX | LOCK_NB));
    int f1d = dup(f1);
    close(f1);
    FAILS(flock(f2, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    close(f1d);
    OK(flock(f2, LOCK_EX | LOCK_NB));
    FAILS(flock(f2, 0), EINVAL);
    close(f2);
    close(a);
    printf("locks done\n");
}

static void cwd_mode(void)
{
    char buf[PATH_MAX], want[PATH_MAX];
    CHECK(getcwd(buf, sizeof buf) && strcmp(buf, base) == 0);
    int top = open(".", O_RDONLY | O_DIRECTORY);
    OK(mkdir("d", 0755));
    OK(mkdir("d/e", 0755));
    OK(chdir("d"));
    snprintf(want, sizeof want, "%s/d", base);
    CHECK(getcwd(buf, sizeof buf) && strcmp(buf, want) == 0);
    OK(chdir("e/../e/./"));
    snprintf(want, sizeof want, "%s/d/e", base);
    CHECK(getcwd(buf, sizeof buf) && strcmp(buf, want) == 0);
    FAILS(syscall(SYS_getcwd, buf, 5), ERANGE);
    OK(fchdir(top));
    CHECK(getcwd(buf, sizeof buf) && strcmp(buf, base) == 0);
    write_file("file", "f");
    FAILS(chdir("file"), ENOTDIR);
    FAILS(chdir("nope"), ENOENT);
    int ffd = open("file", O_RDONLY);
    FAILS(fchdir(ffd), ENOTDIR);
    close(ffd);
    /* openat, mkdirat, fstatat, unlinkat relative to a directory fd. */
    int d = open("d", O_RDONLY | O_DIRECTORY);
    int fd = openat(d, "e/f", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    close(fd);
    struct stat st;
    CHECK(stat("d/e/f", &st) == 0);
    OK(mkdirat(d, "g", 0755));
    CHECK(fstatat(d, "g", &st, 0) == 0 && S_ISDIR(st.st_mode));
    CHECK(fstatat(d, "", &st, AT_EMPTY_PATH) == 0 && S_ISDIR(st.st_mode));
    FAILS(fstatat(d, "", &st, 0), ENOENT);
    OK(unlinkat(d, "g", AT_REMOVEDIR));
    FAILS(unlinkat(d, "e", 0), EISDIR);
    /* An O_PATH directory fd works as a dirfd and for fchdir. */
    int p = open("d/e", O_PATH | O_DIRECTORY);
    CHECK(faccessat(p, "f", F_OK, 0) == 0);
    OK(fchdir(p));
    CHECK(access("f", F_OK) == 0);
    close(p);
    /* A removed current directory: getcwd fails with ENOENT, ".." still leads out. */
    OK(fchdir(top));
    OK(mkdir("gone", 0755));
    OK(chdir("gone"));
    OK(rmdir("../gone"));
    FAILS(syscall(SYS_getcwd, buf, sizeof buf), ENOENT);
    FAILS(open("x", O_CREAT | O_RDWR, 0644), ENOENT);
    OK(chdir(".."));
    CHECK(getcwd(buf, sizeof buf) && strcmp(buf, base) == 0);
    /* "/.." is "/". */
    OK(chdir("/.."));
    CHECK(getcwd(buf, sizeof buf) && strcmp(buf, "/") == 0);
    OK(fchdir(top));
    close(d);
    close(top);
    printf("cwd done\n");
}

static void rlimit_nofile(void)
{
    struct rlimit rl = {64, 64};
    OK(setrlimit(RLIMIT_NOFILE, &rl));
    write_file("f", "x");
    int fds[70], n = 0, last = -1;
    for (int i = 0; i < 70; i++) {
        int fd = open("f", O_RDONLY);
        if (fd < 0) {
            CHECK(errno == EMFILE);
            break;
        }
        fds[n++] = fd;
        last = fd;
    }
    CHECK(last == 63);
    FAILS(open("f", O_RDONLY), EMFILE);
    FAILS(dup(0), EMFILE);
    FAILS(fcntl(0, F_DUPFD, 64), EINVAL);
    FAILS(dup2(0, 64), EBADF);
    for (int i = 0; i < 5; i++)
        close(fds[n - 1 - i]);
    int again = 0;
    for (int i = 0; i < 10; i++) {
        int fd = open("f", O_RDONLY);
        if (fd < 0)
            break;
        again++;
    }
    CHECK(again == 5);
    FAILS(open("f", O_RDONLY), EMFILE);
    for (int fd = 3; fd < 64; fd++)
        close(fd);
    CHECK(open("f", O_RDONLY) == 3);
    close(3);
    printf("rlimit-nofile done\n");
}

#define THREADS 4
#define RECORDS 300
#define RECORD 64

static void *own_file(void *arg)
{
    long id = (long)arg;
    char name[16], rec[RECORD], back[RECORD];
    snprintf(name, sizeof name, "own-%ld", id);
    int fd = open(name, O_CREAT | O_RDWR | O_TRUNC, 0644);
    for (int i = 0; i < RECORDS; i++) {
        memset(rec, 'a' + (int)id, sizeof rec);
        snprintf(rec, sizeof rec, "%ld:%d", id, i);
        if (write(fd, rec, sizeof rec) != sizeof rec)
            return (void *)1;
    }
    for (int i = 0; i < RECORDS; i++) {
        memset(rec, 'a' + (int)id, sizeof rec);
        snprintf(rec, sizeof rec, "%ld:%d", id, i);
        if (pread(fd, back, sizeof back, (off_t)i * RECORD) != sizeof back ||
            memcmp(rec, back, sizeof rec))
            return (void *)2;
    }
    close(fd);
    return NULL;
}

static int shared_fd, append_fd;

static void *shared_file(void *arg)
{
    long id = (long)arg;
    char rec[RECORD];
    for (int i = 0; i < RECORDS; i++) {
        memset(rec, '0' + (int)id, sizeof rec);
        rec[RECORD - 1] = '\n';
        /* Disjoint blocks of one file, and records appended to another. */
        if (pwrite(shared_fd, rec, sizeof rec, ((off_t)i * THREADS + id) * RECORD) != sizeof rec)
            return (void *)3;
        if (write(append_fd, rec, sizeof rec) != sizeof rec)
            return (void *)4;
    }
    return NULL;
}

static void threads_mode(void)
{
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, own_file, (void *)i);
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        CHECKF(r == NULL, "own file thread %d: %ld", i, (long)r);
    }
    shared_fd = open("shared", O_CREAT | O_RDWR, 0644);
    append_fd = open("appended", O_CREAT | O_WRONLY | O_APPEND, 0644);
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, shared_file, (void *)i);
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        CHECKF(r == NULL, "shared file thread %d: %ld", i, (long)r);
    }
    struct stat st;
    CHECK(fstat(shared_fd, &st) == 0 && st.st_size == THREADS * RECORDS * RECORD);
    static char all[THREADS * RECORDS * RECORD];
    CHECK(pread(shared_fd, all, sizeof all, 0) == sizeof all);
    int good = 1;
    for (int i = 0; i < THREADS * RECORDS; i++)
        for (int j = 0; j < RECORD - 1; j++)
            good &= all[i * RECORD + j] == '0' + i % THREADS;
    CHECK(good);
    int ap = open("appended", O_RDONLY);
    CHECK(fstat(ap, &st) == 0 && st.st_size == THREADS * RECORDS * RECORD);
    CHECK(read(ap, all, sizeof all) == sizeof all);
    int counts[THREADS] = {0};
    good = 1;
    for (int i = 0; i < THREADS * RECORDS; i++) {
        char c = all[i * RECORD];
        for (int j = 0; j < RECORD - 1; j++)
            good &= all[i * RECORD + j] == c;
        if (c >= '0' && c < '0' + THREADS)
            counts[c - '0']++;
    }
    CHECK(good);
    for (int i = 0; i < THREADS; i++)
        CHECK(counts[i] == RECORDS);
    close(ap);
    close(shared_fd);
    close(append_fd);
    printf("threads done\n");
}

static void copy_mode(void)
{
    static char data[200000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)('a' + i % 23);
    int src = open("src", O_CREAT | O_RDWR, 0644);
    CHECK(write(src, data, sizeof data) == sizeof data);
    /* sendfile with an offset: the position stays. */
    int dst = open("dst", O_CREAT | O_RDWR | O_TRUNC, 0644);
    off_t off = 1000;
    CHECK(lseek(src, 5, SEEK_SET) == 5);
    CHECK(sendfile(dst, src, &off, 100000) == 100000 && off == 101000);
    CHECK(lseek(src, 0, SEEK_CUR) == 5);
    static char back[200000];
    CHECK(pread(dst, back, sizeof back, 0) == 100000 && memcmp(back, data + 1000, 100000) == 0);
    /* Without an offset: from the position, which moves; stops at the end. */
    CHECK(lseek(src, 150000, SEEK_SET) == 150000);
    CHECK(sendfile(dst, src, NULL, 100000) == 50000);
    CHECK(lseek(src, 0, SEEK_CUR) == 200000);
    CHECK(sendfile(dst, src, NULL, 100) == 0);
    /* copy_file_range. */
    int cfr = open("cfr", O_CREAT | O_RDWR | O_TRUNC, 0644);
    off_t in = 10, out = 0;
    CHECK(copy_file_range(src, &in, cfr, &out, 5000, 0) == 5000 && in == 5010 && out == 5000);
    CHECK(pread(cfr, back, 5000, 0) == 5000 && memcmp(back, data + 10, 5000) == 0);
    FAILS(copy_file_range(src, &in, cfr, &out, 10, 1), EINVAL);
    in = 0, out = 10;
    FAILS(copy_file_range(src, &in, src, &out, 100, 0), EINVAL);
    /* splice: file -> pipe -> file; neither a pipe is EINVAL. */
    int p[2];
    OK(pipe(p));
    off_t sin = 20000;
    CHECK(splice(src, &sin, p[1], NULL, 4000, 0) == 4000 && sin == 24000);
    int sp = open("spliced", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(splice(p[0], NULL, sp, NULL, 10000, 0) == 4000);
    CHECK(pread(sp, back, 4000, 0) == 4000 && memcmp(back, data + 20000, 4000) == 0);
    CHECK(lseek(sp, 0, SEEK_CUR) == 4000);
    FAILS(splice(src, NULL, sp, NULL, 10, 0), EINVAL);
    FAILS(splice(p[0], &sin, sp, NULL, 10, 0), ESPIPE);
    FAILS(splice(p[0], NULL, sp, NULL, 10, SPLICE_F_NONBLOCK), EAGAIN);
    /* tee copies without consuming. */
    int q[2];
    OK(pipe(q));
    CHECK(write(p[1], "abcdef", 6) == 6);
    CHECK(tee(p[0], q[1], 100, 0) == 6);
    char t[16] = {0};
    CHECK(read(q[0], t, sizeof t) == 6 && memcmp(t, "abcdef", 6) == 0);
    CHECK(read(p[0], t, sizeof t) == 6 && memcmp(t, "abcdef", 6) == 0);
    FAILS(tee(p[0], sp, 10, 0), EINVAL);
    FAILS(tee(p[0], q[1], 10, SPLICE_F_NONBLOCK), EAGAIN);
    close(q[0]);
    close(q[1]);
    close(p[0]);
    close(p[1]);
    close(sp);
    close(cfr);
    close(dst);
    close(src);
    printf("copy done\n");
}

static void misc(void)
{
    struct stat st;
    /* FIFOs made by mkfifo/mknod open as pipes. */
    OK(mkfifo("fifo", 0644));
    CHECK(stat("fifo", &st) == 0 && S_ISFIFO(st.st_mode));
    int f = open("fifo", O_RDWR);
    CHECK(f >= 0 && write(f, "pipe", 4) == 4);
    struct stat fst;
    CHECK(fstat(f, &fst) == 0 && S_ISFIFO(fst.st_mode) && fst.st_ino == st.st_ino);
    char buf[16] = {0};
    CHECK(read(f, buf, sizeof buf) == 4 && strcmp(buf, "pipe") == 0);
    FAILS(lseek(f, 0, SEEK_SET), ESPIPE);
    close(f);
    FAILS(open("fifo", O_WRONLY | O_NONBLOCK), ENXIO);
    OK(mknod("plain", S_IFREG | 0600, 0));
    CHECK(stat("plain", &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
    FAILS(mknod("plain", S_IFREG | 0600, 0), EEXIST);
    FAILS(mknod("dir", S_IFDIR | 0700, 0), EPERM);
    /* A character device node opens as the device (1,3 is /dev/null). */
    OK(mknod("null", S_IFCHR | 0666, makedev(1, 3)));
    CHECK(stat("null", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
    f = open("null", O_RDWR);
    CHECK(f >= 0 && write(f, "gone", 4) == 4 && read(f, buf, sizeof buf) == 0);
    close(f);
    /* statx agrees with stat. */
    write_file("sx", "12345");
    struct statx_ sx;
    OK(syscall(SYS_statx, AT_FDCWD, "sx", 0, STATX_BASIC_STATS_, &sx));
    CHECK(stat("sx", &st) == 0);
    CHECK(sx.stx_size == 5 && sx.stx_ino == st.st_ino && sx.stx_mode == st.st_mode);
    CHECK(sx.stx_nlink == 1 && (sx.stx_mask & STATX_BASIC_STATS_) == STATX_BASIC_STATS_);
    CHECK(sx.stx_mtime.tv_sec == st.st_mtime && sx.stx_mtime.tv_nsec == st.st_mtim.tv_nsec);
    FAILS(syscall(SYS_statx, AT_FDCWD, "sx", 0x6000, STATX_BASIC_STATS_, &sx), EINVAL);
    /* access and X_OK for root: an x bit somewhere. */
    CHECK(access("sx", R_OK | W_OK) == 0);
    FAILS(access("sx", X_OK), EACCES);
    OK(chmod("sx", 0001));
    CHECK(access("sx", X_OK) == 0);
    CHECK(access(".", X_OK) == 0);
    /* fsync and friends on a file; fsync on a pipe is EINVAL. */
    int fd = open("sx", O_RDWR);
    OK(fsync(fd));
    OK(fdatasync(fd));
    OK(syncfs(fd));
    OK(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL));
    OK(readahead(fd, 0, 4096));
    OK(sync_file_range(fd, 0, 0, 0));
    int p[2];
    OK(pipe(p));
    FAILS(fsync(p[0]), EINVAL);
    CHECK(posix_fadvise(p[0], 0, 0, 0) == ESPIPE);
    close(p[0]);
    close(p[1]);
    /* statfs: sizes in pages, a name limit of 255. */
    struct statfs sf;
    OK(statfs(".", &sf));
    CHECK(sf.f_bsize > 0 && sf.f_namelen == 255 && sf.f_blocks > 0);
    OK(fstatfs(fd, &sf));
    close(fd);
    /* O_TMPFILE: an unnamed file that linkat may name (not with O_EXCL). */
    fd = open(".", O_TMPFILE | O_RDWR, 0640);
    CHECK(fd >= 0 && write(fd, "tmp", 3) == 3);
    CHECK(fstat(fd, &st) == 0 && st.st_nlink == 0 && S_ISREG(st.st_mode) &&
          (st.st_mode & 0777) == 0640);
    OK(linkat(fd, "", AT_FDCWD, "named", AT_EMPTY_PATH));
    CHECK(fstat(fd, &st) == 0 && st.st_nlink == 1 && strcmp(read_file("named"), "tmp") == 0);
    close(fd);
    fd = open(".", O_TMPFILE | O_WRONLY | O_EXCL, 0600);
    CHECK(fd >= 0);
    FAILS(linkat(fd, "", AT_FDCWD, "never", AT_EMPTY_PATH), ENOENT);
    close(fd);
    FAILS(open(".", O_TMPFILE | O_RDONLY, 0600), EINVAL);
    FAILS(open("named", O_TMPFILE | O_RDWR, 0600), ENOTDIR);
    /* openat2 with no resolve flags is openat. */
    struct {
        uint64_t flags, mode, resolve;
    } how = {O_RDONLY, 0, 0};
    fd = syscall(SYS_openat2, AT_FDCWD, "sx", &how, sizeof how);
    CHECK(fd >= 0);
    close(fd);
    /* RESOLVE_* restrictions. */
    OK(mkdir("jail", 0755));
    OK(mkdir("jail/sub", 0755));
    write_file("jail/file", "in jail");
    write_file("outside", "outside");
    OK(symlink("file", "jail/link"));
    OK(symlink("../outside", "jail/escape"));
    OK(symlink("/outside", "jail/abs"));
    int jail = open("jail", O_RDONLY | O_DIRECTORY);
#define OPENAT2(dfd, p, res) \
    (how = (typeof(how)){O_RDONLY, 0, (res)}, syscall(SYS_openat2, (dfd), (p), &how, sizeof how))
    FAILS(OPENAT2(jail, "link", 0x04 /* NO_SYMLINKS */), ELOOP);
    FAILS(OPENAT2(jail, "../outside", 0x08 /* BENEATH */), EXDEV);
    FAILS(OPENAT2(jail, "escape", 0x08), EXDEV);
    FAILS(OPENAT2(jail, "abs", 0x08), EXDEV);
    FAILS(OPENAT2(jail, "/tmp", 0x08), EXDEV);
    fd = OPENAT2(jail, "sub/../link", 0x08);
    CHECK(fd >= 0);
    close(fd);
    fd = OPENAT2(jail, "/file", 0x10 /* IN_ROOT */);
    CHECK(fd >= 0 && read(fd, buf, sizeof buf) == 7 && memcmp(buf, "in jail", 7) == 0);
    close(fd);
    fd = OPENAT2(jail, "../../../file", 0x10);
    CHECK(fd >= 0);
    close(fd);
    FAILS(OPENAT2(jail, "escape", 0x10), ENOENT); /* "../outside" stays in the jail */
    FAILS(OPENAT2(jail, "file", 0x18), EINVAL);
    FAILS(OPENAT2(jail, "file", 0x40), EINVAL);
    FAILS(OPENAT2(AT_FDCWD, "/proc/self/status", 0x01 /* NO_XDEV */), EXDEV);
    fd = OPENAT2(AT_FDCWD, "outside", 0x01);
    CHECK(fd >= 0);
    close(fd);
    how = (typeof(how)){O_RDWR | O_CREAT, 0644, 0x20 /* CACHED */};
    FAILS(syscall(SYS_openat2, jail, "new", &how, sizeof how), EAGAIN);
    close(jail);
    how = (typeof(how)){O_RDONLY, 0644, 0};
    FAILS(syscall(SYS_openat2, AT_FDCWD, "sx", &how, sizeof how), EINVAL);
    FAILS(syscall(SYS_openat2, AT_FDCWD, "sx", &how, 8), EINVAL);
    printf("misc done\n");
}

/* Threads moving directories around each other (one tries to put a directory inside its own
 * subtree through paths that race with the moves), creating and removing files in them, and
 * listing them: every error is one Linux gives, nothing hangs, and at the end the three
 * directories are still a tree reachable from the top. */
static volatile int tree_bad_errno;

static void tree_check(long r)
{
    if (r == -1 && errno != ENOENT && errno != EINVAL && errno != ENOTEMPTY &&
        errno != EEXIST && errno != ENOTDIR && errno != EBUSY)
        tree_bad_errno = errno;
}

static void *tree_mover(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < 300; i++) {
        if (id == 0) {
            tree_check(rename("a/sub", "b/sub"));
            tree_check(rename("b/sub", "a/sub"));
        } else if (id == 1) {
            tree_check(rename("a", "b/sub/a"));
            tree_check(rename("b/sub/a", "a"));
            tree_check(rename("b", "a/sub/b"));
            tree_check(rename("a/sub/b", "b"));
        } else if (id == 2) {
            char name[32];
            snprintf(name, sizeof name, "%s/f%d", i % 2 ? "a" : "b/sub", i);
            int fd = open(name, O_CREAT | O_WRONLY, 0644);
            if (fd >= 0) {
                close(fd);
                tree_check(unlink(name));
            } else {
                tree_check(fd);
            }
        } else {
            DIR *d = opendir(i % 2 ? "a" : "b");
            if (d) {
                while (readdir(d))
                    ;
                closedir(d);
            }
            struct stat st;
            tree_check(stat("a/sub/..", &st));
        }
    }
    return NULL;
}

/* Directories below `path` (depth-limited), checking each one's ".." is its parent. */
static int count_dirs(const char *path, int depth)
{
    if (depth > 8)
        return 100;
    struct stat self, up;
    char buf[PATH_MAX];
    int n = 0;
    DIR *d = opendir(path);
    if (!d)
        return 100;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(buf, sizeof buf, "%s/%s", path, e->d_name);
        if (lstat(buf, &self) == 0 && S_ISDIR(self.st_mode)) {
            char parent[PATH_MAX + 4];
            snprintf(parent, sizeof parent, "%s/..", buf);
            struct stat here;
            CHECK(stat(parent, &up) == 0 && stat(path, &here) == 0 && up.st_ino == here.st_ino);
            n += 1 + count_dirs(buf, depth + 1);
        }
    }
    closedir(d);
    return n;
}

static void tree_threads(void)
{
    OK(mkdir("a", 0755));
    OK(mkdir("b", 0755));
    OK(mkdir("a/sub", 0755));
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, tree_mover, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECKF(tree_bad_errno == 0, "unexpected errno %d", tree_bad_errno);
    CHECK(count_dirs(".", 0) == 3);
    /* Moving a directory into its own subtree is refused whatever the path. */
    OK(mkdir("top", 0755));
    OK(mkdir("top/mid", 0755));
    FAILS(rename("top", "top/mid/x"), EINVAL);
    FAILS(rename("top", "top/mid/../mid/x"), EINVAL);
    printf("tree-threads done\n");
}

/* Fill the file system: writes stop with ENOSPC (on Ferrite: at half the RAM, or earlier when
 * the kernel's reserve is reached after the service took `argv[2]` MiB itself; natively at a
 * cap), and the kernel keeps working: memory comes back when the file goes. */
static void enospc(int argc, char **argv)
{
    size_t hog_mib = argc > 2 ? (size_t)atoi(argv[2]) : 0;
    char *hog = NULL;
    if (hog_mib) {
        hog = malloc(hog_mib << 20);
        CHECK(hog != NULL);
        if (hog)
            memset(hog, 1, hog_mib << 20);
    }
    static char chunk[1 << 20];
    memset(chunk, 'z', sizeof chunk);
    for (int round = 0; round < 2; round++) {
        int fd = open("filler", O_CREAT | O_WRONLY | O_TRUNC, 0644);
        long total = 0;
        int full = 0;
        while (total < (128L << 20)) {
            ssize_t n = write(fd, chunk, sizeof chunk);
            if (n < 0) {
                CHECKF(errno == ENOSPC, "errno %d", errno);
                full = 1;
                break;
            }
            total += n;
            if (n < (ssize_t)sizeof chunk) {
                /* A short write: the next one reports ENOSPC. */
                FAILS(write(fd, chunk, sizeof chunk), ENOSPC);
                full = 1;
                break;
            }
        }
        (void)full;
        struct stat st;
        CHECK(fstat(fd, &st) == 0 && st.st_size == total);
        /* The kernel still creates threads and files. */
        int other = open("other", O_CREAT | O_RDWR, 0644);
        CHECK(other >= 0);
        close(other);
        close(fd);
        OK(unlink("filler"));
        OK(unlink("other"));
    }
    /* After the unlink the space is back. */
    int fd = open("after", O_CREAT | O_WRONLY, 0644);
    CHECK(write(fd, chunk, sizeof chunk) == sizeof chunk);
    close(fd);
    free(hog);
    printf("enospc done\n");
}

/* Memory a deleted file held goes back to the service: in 64 MiB, a 28 MiB file written and
 * removed, then 40 MiB mapped and touched. */
static void memory_back(void)
{
    static char chunk[1 << 20];
    memset(chunk, 'm', sizeof chunk);
    for (int round = 0; round < 2; round++) {
        int fd = open("big", O_CREAT | O_WRONLY | O_TRUNC, 0644);
        for (int i = 0; i < 28; i++)
            CHECK(write(fd, chunk, sizeof chunk) == sizeof chunk);
        close(fd);
        OK(unlink("big"));
        size_t len = (size_t)40 << 20;
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(p != MAP_FAILED);
        if (p != MAP_FAILED) {
            for (size_t off = 0; off < len; off += 4096)
                p[off] = 1;
            munmap(p, len);
        }
    }
    printf("memory-back done\n");
}

/* RLIMIT_FSIZE: writes are cut at the limit, then EFBIG with SIGXFSZ (ignored here; "kill"
 * leaves the default action, which ends the process). */
static void fsize(int argc, char **argv)
{
    int kill_mode = argc > 2 && strcmp(argv[2], "kill") == 0;
    if (!kill_mode)
        signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {1000, RLIM_INFINITY};
    int fd = open("limited", O_CREAT | O_RDWR, 0644);
    if (kill_mode) {
        /* Nothing may be left behind when the signal ends the process. */
        OK(unlink("limited"));
        OK(chdir("/tmp"));
        OK(rmdir(base));
    }
    OK(setrlimit(RLIMIT_FSIZE, &rl));
    char buf[600];
    memset(buf, 'f', sizeof buf);
    CHECK(write(fd, buf, 600) == 600);
    CHECK(write(fd, buf, 600) == 400);
    if (kill_mode) {
        printf("about to exceed\n");
        fflush(stdout);
    }
    FAILS(write(fd, buf, 1), EFBIG);
    FAILS(pwrite(fd, buf, 1, 5000), EFBIG);
    FAILS(ftruncate(fd, 2000), EFBIG);
    OK(ftruncate(fd, 500)); /* shrinking is fine */
    FAILS(fallocate(fd, 0, 0, 4096), EFBIG);
    OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4096));
    close(fd);
    rl.rlim_cur = RLIM_INFINITY;
    OK(setrlimit(RLIMIT_FSIZE, &rl));
    printf("fsize done\n");
}

int main(int argc, char **argv)
{
    setup();
    if (MODE_IS("basic"))
        basic();
    else if (MODE_IS("rename"))
        rename_mode();
    else if (MODE_IS("unlink-open"))
        unlink_open();
    else if (MODE_IS("dirs"))
        dirs();
    else if (MODE_IS("links"))
        links();
    else if (MODE_IS("errors"))
        errors();
    else if (MODE_IS("sparse"))
        sparse();
    else if (MODE_IS("times"))
        times_mode();
    else if (MODE_IS("locks"))
        locks();
    else if (MODE_IS("cwd"))
        cwd_mode();
    else if (MODE_IS("rlimit-nofile"))
        rlimit_nofile();
    else if (MODE_IS("threads"))
        threads_mode();
    else if (MODE_IS("copy"))
        copy_mode();
    else if (MODE_IS("misc"))
        misc();
    else if (MODE_IS("tree-threads"))
        tree_threads();
    else if (MODE_IS("memory-back"))
        memory_back();
    else if (MODE_IS("fsize"))
        fsize(argc, argv);
    else if (MODE_IS("enospc"))
        enospc(argc, argv);
    else {
        printf("unknown mode\n");
        return 2;
    }
    teardown();
    return check_finish();
}
