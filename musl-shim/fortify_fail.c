/*
 * The common end of every _FORTIFY_SOURCE check, with glibc's wording so that
 * logs and tests that look for it keep working.  Only write(2) and abort():
 * the heap or stdio may be what the overflow damaged.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "shim.h"

_Noreturn void __fortify_fail(const char *msg)
{
	static const char pre[] = "*** ", post[] = " ***: terminated\n";
	write(2, pre, sizeof pre - 1);
	write(2, msg, strlen(msg));
	write(2, post, sizeof post - 1);
	abort();
}

_Noreturn void __chk_fail(void)
{
	__fortify_fail("buffer overflow detected");
}
