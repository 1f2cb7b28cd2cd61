/*
 * _FORTIFY_SOURCE checked variants of POSIX calls (<unistd.h>, <sys/socket.h>,
 * <poll.h>, <sys/select.h>, <fcntl.h>, <setjmp.h>, ...), glibc ABI.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>
#include "shim.h"

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	CHK_FITS(n, buflen);
	return read(fd, buf, n);
}

ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	CHK_FITS(n, buflen);
	return pread(fd, buf, n, off);
}

ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	return __pread_chk(fd, buf, n, off, buflen);
}

ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	CHK_FITS(n, buflen);
	return recv(fd, buf, n, flags);
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
		       struct sockaddr *addr, socklen_t *addrlen)
{
	CHK_FITS(n, buflen);
	return recvfrom(fd, buf, n, flags, addr, addrlen);
}

char *__getcwd_chk(char *buf, size_t size, size_t buflen)
{
	CHK_FITS(size, buflen);
	return getcwd(buf, size);
}

/* getwd() writes up to PATH_MAX bytes; musl does not have it at all. */
char *__getwd_chk(char *buf, size_t buflen)
{
	char tmp[PATH_MAX];
	size_t n;

	if (!getcwd(tmp, sizeof tmp)) {
		/* getwd reports failure as text in the buffer. */
		if (buflen) {
			strncpy(buf, strerror(errno), buflen);
			buf[buflen - 1] = 0;
		}
		return 0;
	}
	n = strlen(tmp) + 1;
	CHK_FITS(n, buflen);
	return memcpy(buf, tmp, n);
}

char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen)
{
	/* realpath may write PATH_MAX bytes whatever the result's length. */
	if (resolved && resolvedlen < PATH_MAX)
		__chk_fail();
	return realpath(path, resolved);
}

ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen)
{
	CHK_FITS(len, buflen);
	return readlink(path, buf, len);
}

ssize_t __readlinkat_chk(int dfd, const char *path, char *buf, size_t len, size_t buflen)
{
	CHK_FITS(len, buflen);
	return readlinkat(dfd, path, buf, len);
}

size_t __confstr_chk(int name, char *buf, size_t len, size_t buflen)
{
	CHK_FITS(len, buflen);
	return confstr(name, buf, len);
}

int __ttyname_r_chk(int fd, char *buf, size_t len, size_t buflen)
{
	CHK_FITS(len, buflen);
	return ttyname_r(fd, buf, len);
}

int __ptsname_r_chk(int fd, char *buf, size_t len, size_t buflen)
{
	CHK_FITS(len, buflen);
	return ptsname_r(fd, buf, len);
}

int __gethostname_chk(char *buf, size_t len, size_t buflen)
{
	CHK_FITS(len, buflen);
	return gethostname(buf, len);
}

int __getdomainname_chk(char *buf, size_t len, size_t buflen)
{
	CHK_FITS(len, buflen);
	return getdomainname(buf, len);
}

int __getlogin_r_chk(char *buf, size_t len, size_t buflen)
{
	CHK_FITS(len, buflen);
	return getlogin_r(buf, len);
}

int __getgroups_chk(int size, gid_t *list, size_t listlen)
{
	if (size < 0)
		__chk_fail();
	CHK_FITS((size_t)size * sizeof *list, listlen);
	return getgroups(size, list);
}

int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	CHK_FITS(n, fdslen / sizeof *fds);
	return poll(fds, n, timeout);
}

int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
		const sigset_t *mask, size_t fdslen)
{
	CHK_FITS(n, fdslen / sizeof *fds);
	return ppoll(fds, n, ts, mask);
}

/* FD_SET/FD_CLR/FD_ISSET index: an fd outside fd_set is an overflow. */
long __fdelt_chk(long fd)
{
	if (fd < 0 || fd >= FD_SETSIZE)
		__chk_fail();
	return fd / (8 * (long)sizeof(long));
}
long __fdelt_warn(long fd) __attribute__((alias("__fdelt_chk")));

/*
 * glibc's headers send longjmp, _longjmp and siglongjmp here.  Their jmp_buf
 * was filled by musl's setjmp/_setjmp/__sigsetjmp (glibc's headers name those
 * and musl defines them), so musl's longjmp is the right one; musl restores a
 * saved signal mask on the sigsetjmp side, so siglongjmp is longjmp too.
 * glibc's extra "jump into a dead frame" test is not done.
 */
_Noreturn void __longjmp_chk(jmp_buf env, int val)
{
	longjmp(env, val);
}

/* open() with O_CREAT/O_TMPFILE needs a mode; glibc's headers route calls
 * that pass none here so the missing mode is caught instead of using junk. */
static int needs_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

static void check_open_flags(int flags)
{
	if (needs_mode(flags))
		__fortify_fail("invalid open call: O_CREAT or O_TMPFILE without mode");
}

int __open_2(const char *path, int flags)
{
	check_open_flags(flags);
	return open(path, flags);
}

int __open64_2(const char *path, int flags)
{
	check_open_flags(flags);
	return open(path, flags);
}

int __openat_2(int dfd, const char *path, int flags)
{
	check_open_flags(flags);
	return openat(dfd, path, flags);
}

int __openat64_2(int dfd, const char *path, int flags)
{
	check_open_flags(flags);
	return openat(dfd, path, flags);
}

mqd_t __mq_open_2(const char *name, int flags)
{
	if (flags & O_CREAT)
		__fortify_fail("invalid mq_open call: O_CREAT without mode and attr");
	return mq_open(name, flags);
}
