/* The root file system packed into the image (tests/rootfs/basic, see tests/guest.rs): contents,
 * directory listings, symlinks, modes, times and a 1 MiB file, read back as the service sees
 * them. Natively the same folder is read through $FT_ROOT (unset in the guest, where the
 * folder is the root), so both runs print the same. Modes: files, listing, etc. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static const char *root = "";

/* The path as the program sees it: under $FT_ROOT natively. */
static const char *at(const char *path)
{
    static char bufs[4][4096];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s%s", root, path);
    return b;
}

static char type_char(mode_t m)
{
    return S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISREG(m) ? '-' : '?';
}

/* 64-bit FNV-1a of a whole file, read in odd-sized pieces. */
static uint64_t checksum(const char *path, long *size)
{
    int fd = open(path, O_RDONLY);
    CHECKF(fd >= 0, "open %s: %s", path, strerror(errno));
    uint64_t h = 1469598103934665603ull;
    *size = 0;
    if (fd < 0)
        return 0;
    static char buf[7919];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            h = (h ^ (unsigned char)buf[i]) * 1099511628211ull;
        *size += n;
    }
    CHECK(n == 0);
    close(fd);
    return h;
}

static void show(const char *path)
{
    struct stat st;
    if (lstat(at(path), &st) != 0) {
        printf("%s: lstat: %s\n", path, strerror(errno));
        return;
    }
    printf("%s %c%04o", path, type_char(st.st_mode), (unsigned)(st.st_mode & 07777));
    if (!S_ISDIR(st.st_mode))
        printf(" size %lld", (long long)st.st_size);
    /* The packer keeps times: the guest's equal the folder's. */
    printf(" mtime %lld", (long long)st.st_mtime);
    if (S_ISLNK(st.st_mode)) {
        char target[256];
        ssize_t n = readlink(at(path), target, sizeof target - 1);
        CHECK(n > 0);
        target[n > 0 ? n : 0] = 0;
        printf(" -> %s", target);
    }
    printf("\n");
}

static void print_file(const char *path)
{
    FILE *f = fopen(at(path), "r");
    CHECKF(f != NULL, "fopen %s: %s", path, strerror(errno));
    if (!f)
        return;
    char line[256];
    printf("%s:\n", path);
    while (fgets(line, sizeof line, f))
        printf("  | %s", line);
    fclose(f);
}

static int files(void)
{
    const char *paths[] = {
        "/data", "/data/hello.txt", "/data/run.sh", "/data/link", "/data/abs-link",
        "/data/dir-link", "/data/sub", "/data/sub/a.txt", "/data/sub/nested/deeper/leaf.txt",
        "/data/big.txt",
    };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        show(paths[i]);
    print_file("/data/hello.txt");
    print_file("/data/link");                  /* through the symlink */
    print_file("/data/dir-link/nested/deeper/leaf.txt");
    print_file("/data/run.sh");
    CHECK(access(at("/data/run.sh"), X_OK) == 0);
    CHECK(access(at("/data/hello.txt"), X_OK) == -1 && errno == EACCES);
    long size;
    uint64_t h = checksum(at("/data/big.txt"), &size);
    printf("big.txt: %ld bytes, fnv1a %016llx\n", size, (unsigned long long)h);
    CHECK(size == 1048629);
    /* Random access into the large file. */
    int fd = open(at("/data/big.txt"), O_RDONLY);
    char buf[17] = {0};
    CHECK(pread(fd, buf, 16, 1000 * 57) == 16);
    printf("at line 1000: %s\n", buf);
    close(fd);
    /* The packed files are ordinary tmpfs files: writable, renamable, removable. */
    if (!*root) {
        int w = open("/data/hello.txt", O_WRONLY | O_APPEND);
        CHECK(w >= 0 && write(w, "more\n", 5) == 5);
        close(w);
        struct stat st;
        CHECK(stat("/data/hello.txt", &st) == 0 && st.st_size == 19);
        CHECK(unlink("/data/sub/b.txt") == 0);
        CHECK(access("/data/sub/b.txt", F_OK) == -1 && errno == ENOENT);
    }
    return check_finish();
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Recursive listing, sorted at each level (readdir's order is the file system's own). */
static void list(const char *dir, int depth)
{
    DIR *d = opendir(at(dir));
    CHECKF(d != NULL, "opendir %s: %s", dir, strerror(errno));
    if (!d)
        return;
    char *names[64];
    int n = 0, dots = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
            dots++;
            continue;
        }
        if (n < 64)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    CHECK(dots == 2);
    qsort(names, n, sizeof *names, compare_names);
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        CHECK(lstat(at(path), &st) == 0);
        printf("%*s%s %c\n", depth * 2, "", names[i], type_char(st.st_mode));
        if (S_ISDIR(st.st_mode))
            list(path, depth + 1);
        free(names[i]);
    }
}

static int listing(void)
{
    list("/data", 0);
    return check_finish();
}

/* A file the folder provides replaces Ferrite's default (/etc/hosts here); the defaults fill
 * in the rest (checked only in the guest: natively /etc is the host's). */
static int etc(void)
{
    print_file("/etc/hosts");
    if (!*root) {
        CHECK(access("/etc/passwd", R_OK) == 0);
        CHECK(access("/etc/group", R_OK) == 0);
        CHECK(access("/etc/resolv.conf", R_OK) == 0);
        CHECK(access("/etc/nsswitch.conf", R_OK) == 0);
    }
    return check_finish();
}

int main(int argc, char **argv)
{
    const char *r = getenv("FT_ROOT");
    if (r)
        root = r;
    if (MODE_IS("files"))
        return files();
    if (MODE_IS("listing"))
        return listing();
    if (MODE_IS("etc"))
        return etc();
    printf("usage: rootfs files|listing|etc\n");
    return 2;
}
