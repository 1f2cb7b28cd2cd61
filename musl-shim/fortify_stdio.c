/*
 * _FORTIFY_SOURCE checked variants of <stdio.h> and <syslog.h> (glibc ABI).
 *
 * `flag` (_FORTIFY_SOURCE level - 1) makes glibc also reject "%n" in format
 * strings that live in writable memory; that extra check is not done here,
 * the buffer bounds are.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include "shim.h"

int __vsprintf_chk(char *s, int flag, size_t slen, const char *fmt, va_list ap)
{
	int r;

	(void)flag;
	if (slen == 0)
		__chk_fail();
	/* Beyond INT_MAX nothing printf can produce overflows. */
	if (slen > INT_MAX)
		return vsprintf(s, fmt, ap);
	/* Format into the real bound; output that did not fit is an overflow
	 * the unchecked sprintf would have made. */
	r = vsnprintf(s, slen, fmt, ap);
	if (r >= 0 && (size_t)r >= slen)
		__chk_fail();
	return r;
}

int __sprintf_chk(char *s, int flag, size_t slen, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = __vsprintf_chk(s, flag, slen, fmt, ap);
	va_end(ap);
	return r;
}

int __vsnprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *fmt, va_list ap)
{
	(void)flag;
	CHK_FITS(maxlen, slen);
	return vsnprintf(s, maxlen, fmt, ap);
}

int __snprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = __vsnprintf_chk(s, maxlen, flag, slen, fmt, ap);
	va_end(ap);
	return r;
}

int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	return vfprintf(f, fmt, ap);
}

int __vprintf_chk(int flag, const char *fmt, va_list ap)
{
	return __vfprintf_chk(stdout, flag, fmt, ap);
}

int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = __vfprintf_chk(f, flag, fmt, ap);
	va_end(ap);
	return r;
}

int __printf_chk(int flag, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = __vfprintf_chk(stdout, flag, fmt, ap);
	va_end(ap);
	return r;
}

int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	return vdprintf(fd, fmt, ap);
}

int __dprintf_chk(int fd, int flag, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = __vdprintf_chk(fd, flag, fmt, ap);
	va_end(ap);
	return r;
}

int __vasprintf_chk(char **out, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	return vasprintf(out, fmt, ap);
}

int __asprintf_chk(char **out, int flag, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = __vasprintf_chk(out, flag, fmt, ap);
	va_end(ap);
	return r;
}

/*
 * fgets(buf, n, f) into an object of `size` bytes.  Like glibc, fail only when
 * the line really would not fit: read size-1 bytes, and if the line goes on
 * (no newline yet, more input waiting), the unchecked call would overflow.
 */
static char *fgets_checked(char *buf, size_t size, int n, FILE *f,
			   char *(*get)(char *, int, FILE *), int (*getch)(FILE *))
{
	char *r;
	size_t len;
	int c;

	if (n <= 0 || (size_t)n <= size)
		return get(buf, n, f);
	if (size == 0)
		return 0;       /* glibc reads nothing into an empty object */
	r = get(buf, (int)(size > INT_MAX ? INT_MAX : size), f);
	if (!r)
		return r;
	len = strlen(buf);
	if (len + 1 == size && buf[len - 1] != '\n' && (c = getch(f)) != EOF) {
		(void)c;
		__chk_fail();
	}
	return r;
}

char *__fgets_chk(char *buf, size_t size, int n, FILE *f)
{
	return fgets_checked(buf, size, n, f, fgets, getc);
}

char *__fgets_unlocked_chk(char *buf, size_t size, int n, FILE *f)
{
	return fgets_checked(buf, size, n, f, fgets_unlocked, getc_unlocked);
}

static size_t fread_bytes(size_t size, size_t n, size_t ptrlen)
{
	size_t bytes;

	if (__builtin_mul_overflow(size, n, &bytes))
		__chk_fail();
	CHK_FITS(bytes, ptrlen);
	return bytes;
}

size_t __fread_chk(void *p, size_t ptrlen, size_t size, size_t n, FILE *f)
{
	fread_bytes(size, n, ptrlen);
	return fread(p, size, n, f);
}

size_t __fread_unlocked_chk(void *p, size_t ptrlen, size_t size, size_t n, FILE *f)
{
	fread_bytes(size, n, ptrlen);
	return fread_unlocked(p, size, n, f);
}

/* gets() itself is gone from C11; old objects may still call this. */
char *__gets_chk(char *buf, size_t size)
{
	size_t i = 0;
	int c;

	if (size == 0)
		__chk_fail();
	flockfile(stdin);
	while ((c = getc_unlocked(stdin)) != EOF && c != '\n') {
		if (i + 1 >= size) {
			funlockfile(stdin);
			__chk_fail();
		}
		buf[i++] = (char)c;
	}
	funlockfile(stdin);
	if (c == EOF && (i == 0 || ferror(stdin)))
		return 0;
	buf[i] = 0;
	return buf;
}

void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	vsyslog(pri, fmt, ap);
}

void __syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	__vsyslog_chk(pri, flag, fmt, ap);
	va_end(ap);
}
