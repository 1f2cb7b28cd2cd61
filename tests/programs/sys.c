/* Small system interfaces: `sys MODE`.
 *   getrandom — sizes, flags, two draws differ; getentropy
 *   uname     — sysname Linux, machine x86_64
 *   enosys    — syscall(1000) fails with ENOSYS (Ferrite also reports it on the console)
 *   ids       — pid/tid/uid consistency
 *   groups    — setgroups/getgroups as root: drop all, set root's group 0, the errors */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <grp.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static void random_mode(void)
{
    unsigned char a[64], b[64];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    CHECK(getrandom(a, sizeof a, 0) == (ssize_t)sizeof a);
    CHECK(getrandom(b, sizeof b, GRND_NONBLOCK) == (ssize_t)sizeof b);
    CHECK(memcmp(a, b, sizeof a) != 0);
    int zero_bytes = 0;
    for (size_t i = 0; i < sizeof a; i++)
        zero_bytes += a[i] == 0;
    CHECKF(zero_bytes < 16, "%d of 64 random bytes are zero", zero_bytes);
    CHECK(getrandom(a, 0, 0) == 0);
    /* Large requests may return fewer bytes, never more, never zero. */
    static unsigned char big[1 << 16];
    ssize_t n = getrandom(big, sizeof big, 0);
    CHECK(n > 0 && n <= (ssize_t)sizeof big);
    CHECK(getentropy(a, 32) == 0);
    errno = 0;
    CHECK(getentropy(big, 257) == -1 && errno == EIO);
    errno = 0;
    CHECK(getrandom(a, sizeof a, 0x1000) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(syscall(SYS_getrandom, (void *)8, 16, 0) == -1 && errno == EFAULT);
    printf("getrandom ok\n");
}

static void uname_mode(void)
{
    struct utsname u;
    CHECK(uname(&u) == 0);
    printf("sysname %s\nmachine %s\n", u.sysname, u.machine);
    CHECK(strcmp(u.sysname, "Linux") == 0);
    CHECK(strcmp(u.machine, "x86_64") == 0);
    CHECK(u.release[0] >= '3' && u.release[0] <= '9' && u.release[1] == '.');
    CHECK(u.nodename[0] != '\0');
    char host[256];
    CHECK(gethostname(host, sizeof host) == 0 && strcmp(host, u.nodename) == 0);
}

static void enosys_mode(void)
{
    errno = 0;
    long r = syscall(1000, 1, 2, 3);
    printf("syscall(1000) = %ld, errno %s\n", r, errno == ENOSYS ? "ENOSYS" : strerror(errno));
    CHECK(r == -1 && errno == ENOSYS);
    errno = 0;
    r = syscall(1000);
    CHECK(r == -1 && errno == ENOSYS);
    errno = 0;
    r = syscall(-1L);
    CHECK(r == -1 && errno == ENOSYS);
    /* The process is unharmed. */
    CHECK(getpid() > 0);
}

static void ids_mode(void)
{
    pid_t pid = getpid();
    CHECK(pid > 0);
    CHECK(gettid() == pid);
    CHECK(syscall(SYS_getpid) == pid);
    CHECK(getppid() >= 0);
    CHECK(getuid() == geteuid() && getgid() == getegid());
    CHECK(getpgrp() >= 0 && getsid(0) >= 0);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK(cpus >= 1);
    printf("ids consistent\n");
}

static void groups_mode(void)
{
    if (geteuid() != 0) { /* only root may change its groups (the service is root) */
        printf("groups consistent\n");
        return;
    }
    gid_t list[4] = {0, 0, 0, 0};
    CHECK(setgroups(0, NULL) == 0); /* what daemons do before dropping to a user */
    CHECK(getgroups(0, NULL) == 0);
    CHECK(setgroups(1, list) == 0); /* initgroups("root", 0) */
    CHECK(getgroups(0, NULL) == 1);
    list[0] = 77;
    CHECK(getgroups(1, list) == 1 && list[0] == 0);
    errno = 0;
    CHECK(syscall(SYS_setgroups, 65537, list) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(syscall(SYS_setgroups, -1, list) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(syscall(SYS_setgroups, 1, (gid_t *)8) == -1 && errno == EFAULT);
    errno = 0;
    CHECK(syscall(SYS_getgroups, -1, list) == -1 && errno == EINVAL);
    CHECK(getgroups(0, NULL) == 1); /* the failed calls changed nothing */
    CHECK(setgroups(0, NULL) == 0 && getgroups(4, list) == 0);
    printf("groups consistent\n");
}

int main(int argc, char **argv)
{
    if (MODE_IS("getrandom"))
        random_mode();
    else if (MODE_IS("uname"))
        uname_mode();
    else if (MODE_IS("enosys"))
        enosys_mode();
    else if (MODE_IS("ids"))
        ids_mode();
    else if (MODE_IS("groups"))
        groups_mode();
    else {
        printf("usage: sys getrandom|uname|enosys|ids|groups\n");
        return 2;
    }
    return check_finish();
}
