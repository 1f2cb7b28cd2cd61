/*
 * glibc's C-locale ctype tables, for two readers:
 *  - the locale objects of locale.c (libstdc++'s ctype<char> reads them);
 *  - glibc's inline ctype code.  C compiled against glibc's headers at -O1 and
 *    up inlines tolower()/toupper() as (*__ctype_tolower_loc())[c].  musl
 *    provides those functions, but its tables hold 0 for EOF and for bytes
 *    0x80..0xff, so tolower(0xe9) and tolower(EOF) became 0 — NUL bytes in
 *    UTF-8 text.  The two definitions here replace musl's (nothing inside
 *    libc.a refers to them, and this archive comes first in the link).
 *    musl's __ctype_b_loc table agrees with glibc's and stays.
 * check/run.sh compares all three tables with the host glibc's.
 */
#include <stdint.h>

#include "runtime.h"

const int32_t **__ctype_tolower_loc(void);
const int32_t **__ctype_toupper_loc(void);

/* glibc's class bits (bits/ctype.h, little-endian _ISbit). */
#define UP 0x0100
#define LO 0x0200
#define AL 0x0400
#define DI 0x0800
#define XD 0x1000
#define SP 0x2000
#define PR 0x4000
#define GR 0x8000
#define BL 0x0001
#define CN 0x0002
#define PU 0x0004
#define AN 0x0008

#define IS_UP(c) ((c) >= 'A' && (c) <= 'Z')
#define IS_LO(c) ((c) >= 'a' && (c) <= 'z')
#define IS_DI(c) ((c) >= '0' && (c) <= '9')
#define IS_XA(c) (((c) >= 'A' && (c) <= 'F') || ((c) >= 'a' && (c) <= 'f'))
#define IS_GR(c) ((c) > 0x20 && (c) < 0x7f)
/* C-locale class of byte c (0..255): bytes >= 0x80 have no class. */
#define CLASS(c) ((unsigned short)( \
	((c) < 0x20 || (c) == 0x7f ? CN : 0) | \
	((c) == ' ' || ((c) >= '\t' && (c) <= '\r') ? SP : 0) | \
	((c) == ' ' || (c) == '\t' ? BL : 0) | \
	((c) >= 0x20 && (c) < 0x7f ? PR : 0) | \
	(IS_GR(c) ? GR : 0) | \
	(IS_GR(c) && !IS_UP(c) && !IS_LO(c) && !IS_DI(c) ? PU : 0) | \
	(IS_UP(c) ? UP | AL | AN : 0) | (IS_LO(c) ? LO | AL | AN : 0) | \
	(IS_DI(c) ? DI | XD | AN : 0) | (IS_XA(c) ? XD : 0)))
#define LOWER(c) (IS_UP(c) ? (c) + 32 : (c))
#define UPPER(c) (IS_LO(c) ? (c) - 32 : (c))
/* Below 0: the signed char's byte value, as glibc gives it; -1 is EOF and
 * stays -1. */
#define WRAP(c) ((c) == -1 ? -1 : (c) + 256)
#define NONE(c) 0

#define R4(f, b) f(b), f((b) + 1), f((b) + 2), f((b) + 3)
#define R16(f, b) R4(f, b), R4(f, (b) + 4), R4(f, (b) + 8), R4(f, (b) + 12)
#define R64(f, b) R16(f, b), R16(f, (b) + 16), R16(f, (b) + 32), R16(f, (b) + 48)
#define R128(f, b) R64(f, b), R64(f, (b) + 64)

/* 384 entries so that index -128..255 works after the +128 offset, like
 * glibc's tables: signed chars and EOF (-1) index them directly.  Negative
 * indexes classify as nothing. */
const unsigned short __ferrite_c_ctype_b[384] = { R128(NONE, -128), R128(CLASS, 0), R128(CLASS, 128) };
const int __ferrite_c_tolower[384] = { R128(WRAP, -128), R128(LOWER, 0), R128(LOWER, 128) };
const int __ferrite_c_toupper[384] = { R128(WRAP, -128), R128(UPPER, 0), R128(UPPER, 128) };

/* glibc returns the calling thread's locale's table; every locale here uses
 * the C tables. */
static const int32_t *const tolower_ptr = __ferrite_c_tolower + 128;
static const int32_t *const toupper_ptr = __ferrite_c_toupper + 128;

const int32_t **__ctype_tolower_loc(void)
{
	return (const int32_t **)&tolower_ptr;
}

const int32_t **__ctype_toupper_loc(void)
{
	return (const int32_t **)&toupper_ptr;
}
