/*
 * glibc >= 2.38 headers redirect the strto* and scanf families to
 * __isoc23_* names when compiling for C23 or with _GNU_SOURCE (C++ always).
 * Debian 12's glibc 2.36 headers never do, so only objects built elsewhere
 * need these; they forward to musl's functions.
 *
 * Difference: C23's "0b"/"0B" binary prefix (base 0 or 2, and scanf's %i/%b)
 * is not understood — musl 1.2.3 predates it — so "0b101" parses as 0.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

#define STRTO(T, name, ch) \
	T __isoc23_##name(const ch *restrict s, ch **restrict end, int base); \
	T __isoc23_##name(const ch *restrict s, ch **restrict end, int base) \
	{ return name(s, end, base); } \
	T __isoc23_##name##_l(const ch *restrict s, ch **restrict end, int base, locale_t l); \
	T __isoc23_##name##_l(const ch *restrict s, ch **restrict end, int base, locale_t l) \
	{ (void)l; return name(s, end, base); }

STRTO(long, strtol, char)
STRTO(unsigned long, strtoul, char)
STRTO(long long, strtoll, char)
STRTO(unsigned long long, strtoull, char)
STRTO(intmax_t, strtoimax, char)
STRTO(uintmax_t, strtoumax, char)
STRTO(long, wcstol, wchar_t)
STRTO(unsigned long, wcstoul, wchar_t)
STRTO(long long, wcstoll, wchar_t)
STRTO(unsigned long long, wcstoull, wchar_t)
STRTO(intmax_t, wcstoimax, wchar_t)
STRTO(uintmax_t, wcstoumax, wchar_t)

/* name(first..., fmt, ...) forwarding to vname(first..., fmt, ap). */
#define VARIADIC(name, vname, ch, params, args) \
	int __isoc23_##name params; \
	int __isoc23_##name params \
	{ va_list ap; int r; va_start(ap, fmt); r = vname args; va_end(ap); return r; } \
	int __isoc23_##vname(VPARAMS_##name); \
	int __isoc23_##vname(VPARAMS_##name) { return vname VARGS_##name; }

#define VPARAMS_sscanf const char *restrict s, const char *restrict fmt, va_list ap
#define VARGS_sscanf (s, fmt, ap)
#define VPARAMS_fscanf FILE *restrict f, const char *restrict fmt, va_list ap
#define VARGS_fscanf (f, fmt, ap)
#define VPARAMS_scanf const char *restrict fmt, va_list ap
#define VARGS_scanf (fmt, ap)
#define VPARAMS_swscanf const wchar_t *restrict s, const wchar_t *restrict fmt, va_list ap
#define VARGS_swscanf (s, fmt, ap)
#define VPARAMS_fwscanf FILE *restrict f, const wchar_t *restrict fmt, va_list ap
#define VARGS_fwscanf (f, fmt, ap)
#define VPARAMS_wscanf const wchar_t *restrict fmt, va_list ap
#define VARGS_wscanf (fmt, ap)

VARIADIC(sscanf, vsscanf, char, (const char *restrict s, const char *restrict fmt, ...), (s, fmt, ap))
VARIADIC(fscanf, vfscanf, char, (FILE *restrict f, const char *restrict fmt, ...), (f, fmt, ap))
VARIADIC(scanf, vscanf, char, (const char *restrict fmt, ...), (fmt, ap))
VARIADIC(swscanf, vswscanf, wchar_t, (const wchar_t *restrict s, const wchar_t *restrict fmt, ...), (s, fmt, ap))
VARIADIC(fwscanf, vfwscanf, wchar_t, (FILE *restrict f, const wchar_t *restrict fmt, ...), (f, fmt, ap))
VARIADIC(wscanf, vwscanf, wchar_t, (const wchar_t *restrict fmt, ...), (fmt, ap))
