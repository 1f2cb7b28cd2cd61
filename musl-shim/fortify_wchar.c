/*
 * _FORTIFY_SOURCE checked variants of <wchar.h>/<stdlib.h> wide-character
 * functions (glibc ABI).  Sizes named *len/ns1/n below count wchar_t elements
 * when the destination is wide and bytes when it is narrow, as glibc's
 * headers pass them.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>
#include "shim.h"

wchar_t *__wmemcpy_chk(wchar_t *d, const wchar_t *s, size_t n, size_t ns1)
{
	CHK_FITS(n, ns1);
	return wmemcpy(d, s, n);
}

wchar_t *__wmemmove_chk(wchar_t *d, const wchar_t *s, size_t n, size_t ns1)
{
	CHK_FITS(n, ns1);
	return wmemmove(d, s, n);
}

wchar_t *__wmempcpy_chk(wchar_t *d, const wchar_t *s, size_t n, size_t ns1)
{
	CHK_FITS(n, ns1);
	return wmemcpy(d, s, n) + n;
}

wchar_t *__wmemset_chk(wchar_t *d, wchar_t c, size_t n, size_t dstlen)
{
	CHK_FITS(n, dstlen);
	return wmemset(d, c, n);
}

wchar_t *__wcpcpy_chk(wchar_t *d, const wchar_t *s, size_t dstlen)
{
	size_t n = wcslen(s) + 1;

	CHK_FITS(n, dstlen);
	wmemcpy(d, s, n);
	return d + n - 1;
}

wchar_t *__wcscpy_chk(wchar_t *d, const wchar_t *s, size_t dstlen)
{
	__wcpcpy_chk(d, s, dstlen);
	return d;
}

wchar_t *__wcsncpy_chk(wchar_t *d, const wchar_t *s, size_t n, size_t dstlen)
{
	CHK_FITS(n, dstlen);
	return wcsncpy(d, s, n);
}

wchar_t *__wcpncpy_chk(wchar_t *d, const wchar_t *s, size_t n, size_t dstlen)
{
	size_t sl = wcsnlen(s, n);

	CHK_FITS(n, dstlen);
	wmemcpy(d, s, sl);
	wmemset(d + sl, 0, n - sl);
	return d + sl;
}

static wchar_t *wcat_checked(wchar_t *d, const wchar_t *s, size_t n, size_t dstlen)
{
	size_t dl = wcsnlen(d, dstlen), sl = wcsnlen(s, n);

	if (dl >= dstlen || sl >= dstlen - dl)
		__chk_fail();
	wmemcpy(d + dl, s, sl);
	d[dl + sl] = 0;
	return d;
}

wchar_t *__wcscat_chk(wchar_t *d, const wchar_t *s, size_t dstlen)
{
	return wcat_checked(d, s, (size_t)-1, dstlen);
}

wchar_t *__wcsncat_chk(wchar_t *d, const wchar_t *s, size_t n, size_t dstlen)
{
	return wcat_checked(d, s, n, dstlen);
}

size_t __mbstowcs_chk(wchar_t *d, const char *s, size_t len, size_t dstlen)
{
	CHK_FITS(len, dstlen);
	return mbstowcs(d, s, len);
}

size_t __wcstombs_chk(char *d, const wchar_t *s, size_t len, size_t dstlen)
{
	CHK_FITS(len, dstlen);
	return wcstombs(d, s, len);
}

size_t __mbsrtowcs_chk(wchar_t *d, const char **s, size_t len, mbstate_t *ps, size_t dstlen)
{
	CHK_FITS(len, dstlen);
	return mbsrtowcs(d, s, len, ps);
}

size_t __mbsnrtowcs_chk(wchar_t *d, const char **s, size_t nmc, size_t len,
			mbstate_t *ps, size_t dstlen)
{
	CHK_FITS(len, dstlen);
	return mbsnrtowcs(d, s, nmc, len, ps);
}

size_t __wcsrtombs_chk(char *d, const wchar_t **s, size_t len, mbstate_t *ps, size_t dstlen)
{
	CHK_FITS(len, dstlen);
	return wcsrtombs(d, s, len, ps);
}

size_t __wcsnrtombs_chk(char *d, const wchar_t **s, size_t nwc, size_t len,
			mbstate_t *ps, size_t dstlen)
{
	CHK_FITS(len, dstlen);
	return wcsnrtombs(d, s, nwc, len, ps);
}

/* One character may need MB_CUR_MAX bytes (4 in musl's UTF-8 locales). */
int __wctomb_chk(char *s, wchar_t wc, size_t buflen)
{
	if (buflen < MB_CUR_MAX)
		__chk_fail();
	return wctomb(s, wc);
}

size_t __wcrtomb_chk(char *s, wchar_t wc, mbstate_t *ps, size_t buflen)
{
	if (buflen < MB_CUR_MAX)
		__chk_fail();
	return wcrtomb(s, wc, ps);
}

wchar_t *__fgetws_chk(wchar_t *buf, size_t size, int n, FILE *f)
{
	if (n > 0)
		CHK_FITS(n, size);
	return fgetws(buf, n, f);
}

wchar_t *__fgetws_unlocked_chk(wchar_t *buf, size_t size, int n, FILE *f)
{
	if (n > 0)
		CHK_FITS(n, size);
	return fgetws_unlocked(buf, n, f);
}

int __vswprintf_chk(wchar_t *s, size_t n, int flag, size_t slen, const wchar_t *fmt, va_list ap)
{
	(void)flag;
	CHK_FITS(n, slen);
	return vswprintf(s, n, fmt, ap);
}

int __swprintf_chk(wchar_t *s, size_t n, int flag, size_t slen, const wchar_t *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = __vswprintf_chk(s, n, flag, slen, fmt, ap);
	va_end(ap);
	return r;
}

int __vfwprintf_chk(FILE *f, int flag, const wchar_t *fmt, va_list ap)
{
	(void)flag;
	return vfwprintf(f, fmt, ap);
}

int __vwprintf_chk(int flag, const wchar_t *fmt, va_list ap)
{
	return __vfwprintf_chk(stdout, flag, fmt, ap);
}

int __fwprintf_chk(FILE *f, int flag, const wchar_t *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = __vfwprintf_chk(f, flag, fmt, ap);
	va_end(ap);
	return r;
}

int __wprintf_chk(int flag, const wchar_t *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = __vfwprintf_chk(stdout, flag, fmt, ap);
	va_end(ap);
	return r;
}
