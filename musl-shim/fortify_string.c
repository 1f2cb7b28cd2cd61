/*
 * _FORTIFY_SOURCE checked variants of <string.h> copies (glibc ABI).
 * glibc's headers call these when the compiler knows the destination size
 * (`dstlen`, (size_t)-1 when unknown) but cannot prove the copy fits.
 */
#define _GNU_SOURCE
#include <string.h>
#include "shim.h"

void *__memcpy_chk(void *dst, const void *src, size_t len, size_t dstlen)
{
	CHK_FITS(len, dstlen);
	return memcpy(dst, src, len);
}

void *__memmove_chk(void *dst, const void *src, size_t len, size_t dstlen)
{
	CHK_FITS(len, dstlen);
	return memmove(dst, src, len);
}

void *__mempcpy_chk(void *dst, const void *src, size_t len, size_t dstlen)
{
	CHK_FITS(len, dstlen);
	return (char *)memcpy(dst, src, len) + len;
}

void *__memset_chk(void *dst, int c, size_t len, size_t dstlen)
{
	CHK_FITS(len, dstlen);
	return memset(dst, c, len);
}

void __explicit_bzero_chk(void *dst, size_t len, size_t dstlen)
{
	CHK_FITS(len, dstlen);
	explicit_bzero(dst, len);
}

/* Returns the end of the copy.  The two entry points share this helper
 * rather than calling each other: gcc knows __strcpy_chk/__stpcpy_chk as
 * builtins and would turn such a call back into a call to the caller. */
static char *copy_checked(char *dst, const char *src, size_t dstlen)
{
	size_t n = strlen(src) + 1;

	CHK_FITS(n, dstlen);
	memcpy(dst, src, n);
	return dst + n - 1;
}

char *__stpcpy_chk(char *dst, const char *src, size_t dstlen)
{
	return copy_checked(dst, src, dstlen);
}

char *__strcpy_chk(char *dst, const char *src, size_t dstlen)
{
	copy_checked(dst, src, dstlen);
	return dst;
}

char *__strncpy_chk(char *dst, const char *src, size_t n, size_t dstlen)
{
	CHK_FITS(n, dstlen);
	return strncpy(dst, src, n);
}

char *__stpncpy_chk(char *dst, const char *src, size_t n, size_t dstlen)
{
	CHK_FITS(n, dstlen);
	return stpncpy(dst, src, n);
}

/* Appends at most n bytes of src (all of it when n is (size_t)-1). */
static char *cat_checked(char *dst, const char *src, size_t n, size_t dstlen)
{
	size_t dl = strnlen(dst, dstlen), sl = strnlen(src, n);

	/* dl == dstlen: dst is not even terminated inside its object. */
	if (dl >= dstlen || sl >= dstlen - dl)
		__chk_fail();
	memcpy(dst + dl, src, sl);
	dst[dl + sl] = 0;
	return dst;
}

char *__strcat_chk(char *dst, const char *src, size_t dstlen)
{
	return cat_checked(dst, src, (size_t)-1, dstlen);
}

char *__strncat_chk(char *dst, const char *src, size_t n, size_t dstlen)
{
	return cat_checked(dst, src, n, dstlen);
}
