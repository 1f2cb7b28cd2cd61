/* Internal declarations shared by the musl-shim sources (not installed). */
#ifndef FERRITE_MUSL_SHIM_H
#define FERRITE_MUSL_SHIM_H

#include <stddef.h>

/* glibc's fortify failure: prints "*** buffer overflow detected ***:
 * terminated" on stderr and aborts.  Defined in fortify_fail.c. */
_Noreturn void __chk_fail(void);
_Noreturn void __fortify_fail(const char *msg);

/* Fail unless the n bytes (or elements) asked for fit the destination size
 * the compiler saw; (size_t)-1 means "unknown" and always fits. */
#define CHK_FITS(n, size) do { if ((size_t)(n) > (size_t)(size)) __chk_fail(); } while (0)

#endif
