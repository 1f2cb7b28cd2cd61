/* /proc, /sys, /dev and the /etc defaults, as programs use them. Only invariants are printed
 * (CPU counts agree with each other, not their value; a mapping shows up, not its address),
 * so the guest and the native run print the same. Modes: cpus, meminfo, maps, fd, status,
 * dev, etc, misc. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "check.h"

/* The whole file (generated files have size 0 in stat: read until EOF). */
static char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    CHECKF(fd >= 0, "open %s: %s", path, strerror(errno));
    if (fd < 0)
        return strdup("");
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    for (int rounds = 0; rounds < 10000; rounds++) {
        if (n == cap)
            buf = realloc(buf, (cap *= 2) + 1);
        ssize_t got = read(fd, buf + n, cap - n);
        CHECK(got >= 0);
        if (got <= 0)
            break;
        n += got;
    }
    close(fd);
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

static int count_lines_starting(const char *text, const char *prefix)
{
    int count = 0;
    size_t plen = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, prefix, plen))
            count++;
    return count;
}

/* The value after "Key:" on the line that starts with it (NULL if none). */
static const char *field(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, key, klen) && p[klen] == ':') {
            p += klen + 1;
            while (*p == ' ' || *p == '\t')
                p++;
            return p;
        }
    return NULL;
}

/* CPUs in a Linux list ("0-3,5"). */
static int count_cpu_list(const char *s)
{
    int count = 0;
    while (*s && *s != '\n') {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (*end == '-')
            b = strtol(end + 1, &end, 10);
        count += b - a + 1;
        s = *end == ',' ? end + 1 : end;
        if (end == s && *s != ',' && *s != '\n' && *s)
            break;
    }
    return count;
}

static int cpus(void)
{
    char *cpuinfo = slurp("/proc/cpuinfo", NULL);
    int processors = count_lines_starting(cpuinfo, "processor\t:");
    cpu_set_t set;
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
    int affinity = CPU_COUNT(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int nprocs = get_nprocs();
    char *sys_online = slurp("/sys/devices/system/cpu/online", NULL);
    int sys = count_cpu_list(sys_online);
    CHECKF(processors == online, "cpuinfo %d, sysconf %ld", processors, online);
    CHECKF(processors == nprocs, "cpuinfo %d, get_nprocs %d", processors, nprocs);
    CHECKF(processors == sys, "cpuinfo %d, /sys online %d (%s)", processors, sys, sys_online);
    CHECKF(processors == affinity, "cpuinfo %d, affinity %d", processors, affinity);
    CHECK(count_lines_starting(cpuinfo, "vendor_id\t:") == processors);
    CHECK(count_lines_starting(cpuinfo, "flags\t\t:") == processors);
    CHECK(count_lines_starting(cpuinfo, "model name\t:") == processors);
    /* /proc/stat: the total line and one per CPU. */
    char *stat = slurp("/proc/stat", NULL);
    CHECK(count_lines_starting(stat, "cpu ") == 1);
    CHECKF(count_lines_starting(stat, "cpu") - 1 == processors, "%s", stat);
    const char *btime = field(stat, "btime") ? field(stat, "btime") : strstr(stat, "btime ");
    CHECK(btime != NULL && atol(strchr(btime, ' ') ? strchr(btime, ' ') : btime) >= 0);
    printf("cpu counts agree\n");
    free(cpuinfo);
    free(sys_online);
    free(stat);
    return check_finish();
}

static long kb(const char *text, const char *key)
{
    const char *v = field(text, key);
    CHECKF(v != NULL, "no %s", key);
    return v ? atol(v) : -1;
}

static int meminfo(void)
{
    char *m = slurp("/proc/meminfo", NULL);
    long total = kb(m, "MemTotal"), free_kb = kb(m, "MemFree"), avail = kb(m, "MemAvailable");
    CHECKF(total > free_kb && free_kb > 0, "total %ld free %ld", total, free_kb);
    CHECK(avail > 0 && avail <= total);
    CHECK(strstr(m, " kB\n") != NULL);
    CHECK(strncmp(m, "MemTotal:", 9) == 0);
    struct sysinfo si;
    CHECK(sysinfo(&si) == 0 && si.totalram > 0);
    char *up = slurp("/proc/uptime", NULL);
    double a = -1, b = -1;
    CHECK(sscanf(up, "%lf %lf", &a, &b) == 2 && a >= 0 && b >= 0);
    char *load = slurp("/proc/loadavg", NULL);
    double l1, l5, l15;
    int running, total_threads;
    CHECK(sscanf(load, "%lf %lf %lf %d/%d", &l1, &l5, &l15, &running, &total_threads) == 5);
    CHECK(running >= 1 && total_threads >= running);
    printf("meminfo: MemTotal > MemFree > 0\n");
    free(m);
    free(up);
    free(load);
    return check_finish();
}

/* The /proc/self/maps line covering addr (NULL if none); a static buffer. */
static const char *map_line(const char *maps, uintptr_t addr)
{
    static char line[512];
    for (const char *p = maps; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        unsigned long start, end;
        if (sscanf(p, "%lx-%lx", &start, &end) == 2 && addr >= start && addr < end) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            if (n >= sizeof line)
                n = sizeof line - 1;
            memcpy(line, p, n);
            line[n] = 0;
            return line;
        }
    }
    return NULL;
}

static int maps(void)
{
    int local = 42;
    char *m = slurp("/proc/self/maps", NULL);
    const char *l = map_line(m, (uintptr_t)&local);
    CHECKF(l && strstr(l, "[stack]"), "stack line: %s", l ? l : "(none)");
    CHECK(l && strstr(l, " rw-p ") != NULL);
    l = map_line(m, (uintptr_t)&count_cpu_list);
    CHECKF(l && strstr(l, "r-xp") != NULL, "code line: %s", l ? l : "(none)");
    /* Every line: start-end perms offset dev inode [name]. */
    int lines = 0, good = 0;
    for (const char *p = m; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        unsigned long s, e, off, ino;
        char perms[5];
        unsigned maj, min;
        lines++;
        if (sscanf(p, "%lx-%lx %4s %lx %x:%x %lu", &s, &e, perms, &off, &maj, &min, &ino) == 7
            && s < e && (perms[3] == 'p' || perms[3] == 's'))
            good++;
    }
    CHECK(lines > 3 && good == lines);
    free(m);

    size_t len = 5 * 4096;
    char *area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(area != MAP_FAILED);
    area[0] = 1;
    CHECK(mprotect(area + 4096, 4096, PROT_READ) == 0);
    m = slurp("/proc/self/maps", NULL);
    l = map_line(m, (uintptr_t)area);
    CHECKF(l && strstr(l, " rw-p 00000000 00:00 0") != NULL, "%s", l ? l : "(none)");
    l = map_line(m, (uintptr_t)area + 4096);
    CHECKF(l && strstr(l, " r--p ") != NULL, "%s", l ? l : "(none)");
    free(m);
    CHECK(munmap(area, len) == 0);
    m = slurp("/proc/self/maps", NULL);
    CHECK(map_line(m, (uintptr_t)area) == NULL);
    free(m);
    /* The break: [heap] once it has grown. */
    char *top = sbrk(0);
    if (top != (void *)-1 && sbrk(8192) != (void *)-1) {
        top[0] = 1;
        m = slurp("/proc/self/maps", NULL);
        l = map_line(m, (uintptr_t)top);
        CHECKF(l && strstr(l, "[heap]"), "heap line: %s", l ? l : "(none)");
        free(m);
    }
    printf("maps: stack, code, mmap, mprotect, munmap and heap seen\n");
    return check_finish();
}

static int fd_links(void)
{
    char path[] = "/tmp/procdev-fd-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    CHECK(n > 0);
    target[n > 0 ? n : 0] = 0;
    CHECKF(n > 0 && strcmp(target, path) == 0, "%s -> %s", link, target);
    struct stat st;
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    /* The link's permissions say how the file is open: lrwx for read-write, lr-x, l-wx. */
    CHECKF((st.st_mode & 0777) == 0700, "mode %o", st.st_mode & 0777);
    int ro = open(path, O_RDONLY), wo = open(path, O_WRONLY);
    snprintf(link, sizeof link, "/proc/self/fd/%d", ro);
    CHECK(lstat(link, &st) == 0 && (st.st_mode & 0777) == 0500);
    snprintf(link, sizeof link, "/proc/self/fd/%d", wo);
    CHECK(lstat(link, &st) == 0 && (st.st_mode & 0777) == 0300);
    close(ro);
    close(wo);
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    /* The listing has 0, 1, 2 and the new fd. */
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    int seen = 0, entries = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        entries++;
        int n = atoi(e->d_name);
        if (n == 0 || n == 1 || n == 2 || n == fd)
            seen++;
        CHECK(e->d_type == DT_LNK);
    }
    if (d)
        closedir(d);
    CHECKF(seen == 4, "seen %d of 0, 1, 2, %d", seen, fd);
    CHECK(entries >= 4);
    CHECK(close(fd) == 0);
    CHECK(readlink(link, target, sizeof target) == -1 && errno == ENOENT);
    CHECK(unlink(path) == 0);
    /* /dev/fd and the stdio links. */
    n = readlink("/dev/stdin", target, sizeof target - 1);
    CHECK(n == 15 && memcmp(target, "/proc/self/fd/0", 15) == 0);
    n = readlink("/dev/stderr", target, sizeof target - 1);
    CHECK(n == 15 && memcmp(target, "/proc/self/fd/2", 15) == 0);
    n = readlink("/dev/fd", target, sizeof target - 1);
    CHECK(n == 13 && memcmp(target, "/proc/self/fd", 13) == 0);
    printf("fd links name their files\n");
    return check_finish();
}

static void *idle_thread(void *arg)
{
    int *stop = arg;
    while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE))
        usleep(1000);
    return NULL;
}

static int status(void)
{
    char name[16] = {0};
    CHECK(prctl(PR_GET_NAME, name) == 0);
    CHECK(name[0] != 0);
    char *s = slurp("/proc/self/status", NULL);
    const char *v = field(s, "Name");
    CHECKF(v && !strncmp(v, name, strlen(name)) && v[strlen(name)] == '\n', "Name: %s", v);
    CHECK(field(s, "Pid") && atoi(field(s, "Pid")) == getpid());
    CHECK(field(s, "Tgid") && atoi(field(s, "Tgid")) == getpid());
    CHECK(field(s, "Threads") && atoi(field(s, "Threads")) == 1);
    CHECK(field(s, "VmRSS") && atol(field(s, "VmRSS")) > 0);
    CHECK(field(s, "Uid") && atoi(field(s, "Uid")) == (int)getuid());
    cpu_set_t set;
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
    CHECK(field(s, "Cpus_allowed_list") &&
          count_cpu_list(field(s, "Cpus_allowed_list")) == CPU_COUNT(&set));
    CHECK(strncmp(s, "Name:", 5) == 0);
    free(s);

    CHECK(prctl(PR_SET_NAME, "renamed-proc") == 0);
    s = slurp("/proc/self/comm", NULL);
    CHECK(strcmp(s, "renamed-proc\n") == 0);
    free(s);
    s = slurp("/proc/self/status", NULL);
    CHECK(field(s, "Name") && !strncmp(field(s, "Name"), "renamed-proc\n", 13));
    free(s);

    int stop = 0;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, idle_thread, &stop) == 0);
    s = slurp("/proc/self/status", NULL);
    CHECK(field(s, "Threads") && atoi(field(s, "Threads")) == 2);
    free(s);
    /* The thread's own directory: musl's pthread_setname_np for another thread writes its
     * task/TID/comm, pthread_getname_np reads it. */
    CHECK(pthread_setname_np(t, "worker") == 0);
    char got[16] = {0};
    CHECK(pthread_getname_np(t, got, sizeof got) == 0 && strcmp(got, "worker") == 0);
    DIR *d = opendir("/proc/self/task");
    CHECK(d != NULL);
    int tasks = 0, self_seen = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        tasks++;
        self_seen |= atoi(e->d_name) == getpid();
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        char *comm = slurp(path, NULL);
        CHECKF(strcmp(comm, atoi(e->d_name) == getpid() ? "renamed-proc\n" : "worker\n") == 0,
               "%s: %s", path, comm);
        free(comm);
    }
    if (d)
        closedir(d);
    CHECK(tasks == 2 && self_seen);
    char thread_self[64], expect_self[64];
    ssize_t ts = readlink("/proc/thread-self", thread_self, sizeof thread_self - 1);
    CHECK(ts > 0);
    thread_self[ts > 0 ? ts : 0] = 0;
    snprintf(expect_self, sizeof expect_self, "%d/task/%d", getpid(), gettid());
    CHECKF(strcmp(thread_self, expect_self) == 0, "%s", thread_self);
    s = slurp("/proc/self/stat", NULL);
    char expect[64];
    snprintf(expect, sizeof expect, "%d (renamed-proc) R ", getpid());
    CHECKF(strncmp(s, expect, strlen(expect)) == 0, "%s", s);
    int fields = 0;
    for (char *p = strrchr(s, ')'); p && *p; p++)
        if (*p == ' ')
            fields++;
    CHECKF(fields + 2 >= 52, "%d fields", fields + 2);
    free(s);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);

    char self[32];
    ssize_t n = readlink("/proc/self", self, sizeof self - 1);
    CHECK(n > 0);
    self[n > 0 ? n : 0] = 0;
    CHECK(atoi(self) == getpid());
    printf("status: Name follows prctl, Pid, Threads, stat, task/TID/comm\n");
    return check_finish();
}

static void check_device(const char *path, unsigned maj, unsigned min)
{
    struct stat st;
    CHECKF(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
    CHECKF(S_ISCHR(st.st_mode) && major(st.st_rdev) == maj && minor(st.st_rdev) == min,
           "%s: mode %o rdev %u:%u", path, st.st_mode, major(st.st_rdev), minor(st.st_rdev));
    printf("%s: char %u:%u mode %o\n", path, maj, min, st.st_mode & 0777);
}

static int dev(void)
{
    check_device("/dev/null", 1, 3);
    check_device("/dev/zero", 1, 5);
    check_device("/dev/full", 1, 7);
    check_device("/dev/random", 1, 8);
    check_device("/dev/urandom", 1, 9);

    char buf[4096];
    int null = open("/dev/null", O_RDWR);
    CHECK(null >= 0);
    CHECK(read(null, buf, sizeof buf) == 0);
    CHECK(write(null, buf, sizeof buf) == sizeof buf);
    CHECK(lseek(null, 100, SEEK_SET) == 0);
    CHECK(pread(null, buf, 10, 5) == 0);
    struct stat st;
    CHECK(fstat(null, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
    close(null);

    int zero = open("/dev/zero", O_RDWR);
    memset(buf, 7, sizeof buf);
    CHECK(read(zero, buf, sizeof buf) == sizeof buf);
    int zeros = 1;
    for (size_t i = 0; i < sizeof buf; i++)
        zeros &= buf[i] == 0;
    CHECK(zeros);
    CHECK(write(zero, buf, 100) == 100);
    CHECK(lseek(zero, 0, SEEK_CUR) == 0);
    /* Large reads from /dev/zero: straight into a fresh mapping. */
    size_t big = 3 << 20;
    char *m = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(m, 1, big);
    CHECK(read(zero, m, big) == (ssize_t)big);
    CHECK(m[0] == 0 && m[big - 1] == 0 && m[big / 2] == 0);
    munmap(m, big);
    close(zero);

    int full = open("/dev/full", O_RDWR);
    CHECK(write(full, "x", 1) == -1 && errno == ENOSPC);
    memset(buf, 7, 16);
    CHECK(read(full, buf, 16) == 16 && buf[0] == 0 && buf[15] == 0);
    CHECK(lseek(full, 0, SEEK_END) == 0);
    close(full);
    FILE *f = fopen("/dev/full", "w");
    CHECK(f != NULL);
    fprintf(f, "hello");
    CHECK(fflush(f) == EOF && errno == ENOSPC);
    fclose(f);

    int ur = open("/dev/urandom", O_RDONLY);
    unsigned char r1[64] = {0}, r2[64] = {0};
    CHECK(read(ur, r1, sizeof r1) == sizeof r1);
    CHECK(read(ur, r2, sizeof r2) == sizeof r2);
    CHECK(memcmp(r1, r2, sizeof r1) != 0);
    int nonzero = 0;
    for (int i = 0; i < 64; i++)
        nonzero += r1[i] != 0;
    CHECK(nonzero > 32);
    CHECK(read(ur, (void *)8, 16) == -1 && errno == EFAULT);
    close(ur);
    int rnd = open("/dev/random", O_RDWR);
    CHECK(read(rnd, r1, 16) == 16);
    CHECK(write(rnd, "entropy", 7) == 7);
    close(rnd);

    /* /dev is a directory of these. */
    DIR *d = opendir("/dev");
    CHECK(d != NULL);
    int found = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        found += !strcmp(e->d_name, "null") || !strcmp(e->d_name, "zero") ||
                 !strcmp(e->d_name, "urandom");
    if (d)
        closedir(d);
    CHECK(found == 3);
    CHECK(open("/dev/no-such-device", O_RDONLY) == -1 && errno == ENOENT);
    printf("dev: null, zero, full, random, urandom behave\n");
    return check_finish();
}

static int etc(void)
{
    struct passwd *pw = getpwuid(0);
    CHECK(pw != NULL);
    if (pw)
        printf("uid 0: %s home %s\n", pw->pw_name, pw->pw_dir);
    struct group *gr = getgrgid(0);
    CHECK(gr != NULL);
    if (gr)
        printf("gid 0: %s\n", gr->gr_name);
    struct passwd *byname = getpwnam("root");
    CHECK(byname && byname->pw_uid == 0);
    char *hosts = slurp("/etc/hosts", NULL);
    CHECK(strstr(hosts, "localhost") != NULL);
    free(hosts);
    CHECK(access("/etc/resolv.conf", R_OK) == 0);
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo("localhost", "80", &hints, &res);
    CHECKF(rc == 0, "getaddrinfo: %s", gai_strerror(rc));
    if (rc == 0) {
        char addr[64];
        struct sockaddr_in *sin = (struct sockaddr_in *)res->ai_addr;
        inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof addr);
        printf("localhost: %s port %d\n", addr, ntohs(sin->sin_port));
        freeaddrinfo(res);
    }
    return check_finish();
}

static int misc(int argc, char **argv)
{
    /* cmdline: the arguments, NUL-terminated. */
    size_t len;
    char *c = slurp("/proc/self/cmdline", &len);
    size_t expect = 0;
    for (int i = 0; i < argc; i++)
        expect += strlen(argv[i]) + 1;
    CHECKF(len == expect, "cmdline %zu bytes, expected %zu", len, expect);
    size_t off = 0;
    for (int i = 1; i < argc && off < len; i++) {
        off += strlen(c + off) + 1;
        CHECK(off < len && strcmp(c + off, argv[i]) == 0);
    }
    free(c);
    char *env = slurp("/proc/self/environ", &len);
    int found = 0;
    for (size_t o = 0; o < len; o += strlen(env + o) + 1)
        found |= strcmp(env + o, "FT_PROCDEV=present") == 0;
    CHECK(found);
    free(env);
    /* exe: the executable's path; its last part names the program. */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    CHECK(n > 0);
    exe[n > 0 ? n : 0] = 0;
    CHECKF(exe[0] == '/' && strstr(strrchr(exe, '/'), "procdev") != NULL, "exe %s", exe);
    /* hostname agrees with uname. */
    struct utsname u;
    CHECK(uname(&u) == 0);
    char *host = slurp("/proc/sys/kernel/hostname", NULL);
    CHECK(strlen(host) == strlen(u.nodename) + 1 && !strncmp(host, u.nodename, strlen(u.nodename)));
    free(host);
    char *version = slurp("/proc/version", NULL);
    CHECK(strncmp(version, "Linux version ", 14) == 0);
    free(version);
    char *mounts = slurp("/proc/mounts", NULL);
    CHECK(strstr(mounts, " /proc proc ") != NULL);
    free(mounts);
    char *mountinfo = slurp("/proc/self/mountinfo", NULL);
    CHECK(strstr(mountinfo, " /proc ") != NULL && strstr(mountinfo, " - proc proc ") != NULL);
    free(mountinfo);
    struct statfs fs;
    CHECK(statfs("/proc", &fs) == 0 && fs.f_type == 0x9fa0);
    CHECK(statfs("/sys/devices/system/cpu", &fs) == 0 && fs.f_type == 0x62656572);
    CHECK(statfs("/dev/shm", &fs) == 0 && fs.f_type == 0x01021994);
    /* Generated files: a consistent snapshot per open, seekable within it, read-only. */
    int fd = open("/proc/self/status", O_RDONLY);
    char a[32] = {0}, b[32] = {0};
    CHECK(read(fd, a, 10) == 10);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(read(fd, b, 10) == 10 && memcmp(a, b, 10) == 0);
    CHECK(lseek(fd, 3, SEEK_CUR) == 13);
    close(fd);
    /* Opening for writing works (as root); writing does not. */
    fd = open("/proc/meminfo", O_WRONLY);
    CHECK(fd >= 0 && write(fd, "x", 1) == -1 && errno == EIO);
    close(fd);
    fd = open("/proc/cpuinfo", O_RDONLY);
    CHECK(lseek(fd, 0, SEEK_END) == -1 && errno == EINVAL);
    CHECK(lseek(fd, -5, SEEK_SET) == -1 && errno == EINVAL);
    close(fd);
    CHECK(open("/proc/no-such-file", O_RDONLY) == -1 && errno == ENOENT);
    struct stat st;
    CHECK(stat("/proc/cpuinfo", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
    CHECK(stat("/proc/self/fd", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(stat("/sys/devices/system/cpu", &st) == 0 && S_ISDIR(st.st_mode));
    printf("misc: cmdline, environ, exe, hostname, version, mounts, statfs, snapshots\n");
    return check_finish();
}

/* Linux's "magic" links: opening /proc/self/fd/N (or /dev/stdin) opens that file itself, even
 * a pipe or a terminal without a path; stat through the link is the file's. */
static int magic(void)
{
    char path[] = "/tmp/procdev-magic-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, "magic", 5) == 5);
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    struct stat a, b;
    CHECK(fstat(fd, &a) == 0);
    CHECKF(stat(link, &b) == 0 && a.st_ino == b.st_ino && S_ISREG(b.st_mode), "%s", strerror(errno));
    unlink(path);
    /* Still reachable through the link once unlinked. */
    int again = open(link, O_RDONLY);
    char buf[64] = {0};
    CHECKF(again >= 0 && pread(again, buf, 5, 0) == 5 && !strcmp(buf, "magic"), "%s", strerror(errno));
    close(again);
    close(fd);
    int in = open("/dev/stdin", O_RDONLY);
    CHECKF(in >= 0, "open /dev/stdin: %s", strerror(errno));
    memset(buf, 0, sizeof buf);
    ssize_t n = in >= 0 ? read(in, buf, sizeof buf - 1) : -1;
    printf("/dev/stdin: %zd bytes: %s", n, buf);
    CHECK(stat("/dev/stdout", &b) == 0);
    return check_finish();
}

int main(int argc, char **argv)
{
    if (MODE_IS("cpus"))
        return cpus();
    if (MODE_IS("meminfo"))
        return meminfo();
    if (MODE_IS("maps"))
        return maps();
    if (MODE_IS("fd"))
        return fd_links();
    if (MODE_IS("status"))
        return status();
    if (MODE_IS("dev"))
        return dev();
    if (MODE_IS("etc"))
        return etc();
    if (MODE_IS("misc"))
        return misc(argc, argv);
    if (MODE_IS("magic"))
        return magic();
    printf("usage: procdev cpus|meminfo|maps|fd|status|dev|etc|misc|magic\n");
    return 2;
}
