/*
 * nl_langinfo family, answering glibc's item numbers as well as musl's.
 *
 * For a named locale (std::locale(""), std::locale("C.UTF-8"), ...) the
 * facets of Debian's libstdc++ ask __nl_langinfo_l for glibc-only items: the
 * wide time strings (_NL_WABDAY_1.._NL_WERA_T_FMT, read as wchar_t strings),
 * the wide decimal point and thousands separator (_NL_*_WC, whose *pointer
 * value* is the character), the monetary digits and sign positions.  musl
 * answers "" to all of them, so wide streams in a named locale printed a
 * decimal point taken from the bits of a pointer, and wide dates read past a
 * one-byte "".  Here those items get glibc's C-locale values (check/run.sh
 * compares them with the host glibc's); every item musl knows keeps musl's
 * answer, translations included, so C programs see no change.
 *
 * As with the newlocale family (locale.c), musl's langinfo.o defines
 * __nl_langinfo_l and __nl_langinfo strongly and nl_langinfo_l/nl_langinfo
 * weakly; this file defines the same four names so that exactly one of the two
 * objects is ever linked (for C++ always this one: libstdc++ refers to them
 * before libc.a is searched).  It reads only the six musl category pointers
 * of a locale, so musl's own locale structs (strftime passes its global one)
 * work as well as locale.c's.
 *
 * Hazard: musl 1.2.3 internals __lctrans_impl (message catalogues of
 * MUSL_LOCPATH) and __get_locale/__lock/__locale_lock for the global locale.
 */
#define _GNU_SOURCE
#include <langinfo.h>
#include <locale.h>
#include <stdint.h>
#include <wchar.h>

#include "runtime.h"

char *__nl_langinfo_l(nl_item item, locale_t loc);
char *__nl_langinfo(nl_item item);

__attribute__((visibility("hidden"))) const char *__lctrans_impl(const char *, const void *);
__attribute__((visibility("hidden"))) const void *__get_locale(int cat, const char *name);
__attribute__((visibility("hidden"))) void __lock(volatile int *);
__attribute__((visibility("hidden"))) void __unlock(volatile int *);
extern __attribute__((visibility("hidden"))) volatile int __locale_lock[1];

/* glibc's LC_TIME layout: items 0..0x2b (ABDAY_1..T_FMT_AMPM) are shared with
 * musl; musl goes on to 0x31 with its era strings; glibc's wide copies of
 * 0..0x2b start at 0x34 (_NL_WABDAY_1) and its wide era strings end at 0x64. */
#define TIME_SHARED 0x2c
#define TIME_MUSL_LAST 0x31
#define WTIME_FIRST 0x34
#define WTIME_LAST 0x64

/* The C locale's LC_TIME strings, in item order, each followed by a NUL. */
#define C_TIME(X) \
	X("Sun") X("Mon") X("Tue") X("Wed") X("Thu") X("Fri") X("Sat") \
	X("Sunday") X("Monday") X("Tuesday") X("Wednesday") X("Thursday") \
	X("Friday") X("Saturday") \
	X("Jan") X("Feb") X("Mar") X("Apr") X("May") X("Jun") \
	X("Jul") X("Aug") X("Sep") X("Oct") X("Nov") X("Dec") \
	X("January") X("February") X("March") X("April") X("May") X("June") \
	X("July") X("August") X("September") X("October") X("November") X("December") \
	X("AM") X("PM") \
	X("%a %b %e %H:%M:%S %Y") X("%m/%d/%y") X("%H:%M:%S") X("%I:%M:%S %p")
/* musl's answers after T_FMT_AMPM: ERA, (era year), ERA_D_FMT, ALT_DIGITS,
 * ERA_D_T_FMT, ERA_T_FMT. */
#define MUSL_ERA(X) X("") X("") X("%m/%d/%y") X("0123456789") X("%a %b %e %T %Y") X("%H:%M:%S")
#define NARROW(s) s "\0"
#define WIDE(s) L##s L"\0"

static const char c_time[] = C_TIME(NARROW) MUSL_ERA(NARROW);
static const wchar_t c_wtime[] = C_TIME(WIDE);
static const wchar_t wempty[1];
static const char c_messages[] = "^[yY]\0" "^[nN]\0" "yes\0" "no";

/* The idx-th NUL-terminated string of a list. */
static const char *nth(const char *s, int idx)
{
	while (idx--)
		while (*s++)
			;
	return s;
}

static const wchar_t *wnth(const wchar_t *s, int idx)
{
	while (idx--)
		while (*s++)
			;
	return s;
}

/* musl's map for category cat of loc, LC_GLOBAL_LOCALE included. */
static const void *map_of(locale_t loc, int cat)
{
	const char *name;
	const void *m;

	if (loc != LC_GLOBAL_LOCALE)
		return ((const void *const *)loc)[cat];
	name = setlocale(cat, 0);       /* takes __locale_lock itself */
	__lock(__locale_lock);
	m = __get_locale(cat, name ? name : "C");
	__unlock(__locale_lock);
	return m == (const void *)-1 ? 0 : m;
}

/* glibc's LC_MONETARY C-locale values: strings empty, the digit counts and
 * sign/space/position flags CHAR_MAX ("\377"), the _WC characters 0. */
static char *monetary(int idx)
{
	if ((idx >= 7 && idx <= 14) || (idx >= 0x10 && idx <= 0x15))
		return (char *)"\377";
	if (idx == 0x2b || idx == 0x2c)         /* _NL_MONETARY_*_WC */
		return 0;
	return (char *)"";                      /* CRNCYSTR too, as musl */
}

char *__nl_langinfo_l(nl_item item, locale_t loc)
{
	int cat = item >> 16, idx = item & 0xffff;
	const char *s;

	if (item == CODESET)
		return map_of(loc, LC_CTYPE) ? (char *)"UTF-8" : (char *)"ASCII";
	if (idx == 0xffff && cat >= 0 && cat < LC_ALL) {       /* _NL_LOCALE_NAME */
		const char *m = map_of(loc, cat);
		/* musl's struct __locale_map: map, map_size, then the name. */
		return m ? (char *)(m + 2 * sizeof(void *)) : (char *)"C";
	}
	switch (cat) {
	case LC_NUMERIC:
		if (idx == 0)
			return (char *)".";
		if (idx == 3)   /* _NL_NUMERIC_DECIMAL_POINT_WC: the value is L'.' */
			return (char *)(uintptr_t)L'.';
		if (idx == 4)   /* _NL_NUMERIC_THOUSANDS_SEP_WC: none */
			return 0;
		return (char *)"";
	case LC_TIME:
		if (idx <= TIME_MUSL_LAST) {
			s = nth(c_time, idx);
			return (char *)(*s ? __lctrans_impl(s, map_of(loc, LC_TIME)) : s);
		}
		if (idx >= WTIME_FIRST && idx < WTIME_FIRST + TIME_SHARED)
			return (char *)wnth(c_wtime, idx - WTIME_FIRST);
		if (idx <= WTIME_LAST)  /* wide era strings */
			return (char *)wempty;
		return (char *)"";
	case LC_MONETARY:
		return monetary(idx);
	case LC_MESSAGES:
		if (idx > 3)
			return (char *)"";
		return (char *)__lctrans_impl(nth(c_messages, idx), map_of(loc, LC_MESSAGES));
	default:
		return (char *)"";
	}
}

char *__nl_langinfo(nl_item item)
{
	return __nl_langinfo_l(item, uselocale(0));
}

char *nl_langinfo_l(nl_item, locale_t) __attribute__((alias("__nl_langinfo_l")));
char *nl_langinfo(nl_item) __attribute__((alias("__nl_langinfo")));
