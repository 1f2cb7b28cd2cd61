/*
 * Locale objects in glibc's layout, for Debian's libstdc++ (gnu locale model).
 *
 * libstdc++ was compiled against glibc: it gets a locale_t from __newlocale /
 * __duplocale and reads glibc's `struct __locale_struct` fields __ctype_b,
 * __ctype_tolower and __ctype_toupper directly (ctype<char>::classic_table(),
 * ctype<char>'s constructors).  musl's locale_t is six category pointers and
 * nothing more, so with musl's __newlocale `std::cin >> x` reads past it.
 *
 * The object made here is a superset of both layouts:
 *   cat[0..5]   musl's category maps (the first six of glibc's 13 pointers;
 *               the category numbers agree).  All null is musl's C locale.
 *   cat[6..12]  unused, null.
 *   ctype_b/tolower/toupper   glibc's C-locale tables, ctype_tables.c (each
 *               locale, even a named one, classifies like "C": musl's only
 *               other ctype is UTF-8, which adds no single-byte classes).
 *   names[13]   the category names, as glibc keeps them.
 * So musl's own *_l functions and uselocale() take the same pointer that
 * libstdc++ reads as glibc's struct.
 *
 * Which symbols, and why all of them.  In musl's libc.a the strong definition
 * is `__newlocale` (newlocale.o, with a weak `newlocale` and the internal
 * __loc_is_allocated), `__duplocale` (weak `duplocale`), and `freelocale`
 * (weak `__freelocale`, needing __loc_is_allocated from newlocale.o).  Defining
 * only the underscored names here would break links: libstdc++'s
 * floating_from_chars.o (std::from_chars) and any C program call plain
 * newlocale/freelocale, which would pull musl's newlocale.o and its strong
 * __newlocale next to ours ("multiple definition").  A weak definition here
 * would instead silently lose to musl's, and libstdc++ would crash again.
 * So this file owns the whole family — newlocale, duplocale, freelocale and
 * their __ names — and musl's three objects are never linked.  C programs keep
 * musl's behaviour: the category maps come from musl's own __get_locale() with
 * musl's rules (names, "" from LC_ALL/LC_x/LANG, MUSL_LOCPATH), and categories
 * outside the mask with a null base come from the environment, as in musl.
 * The one deliberate difference: mask bit 1<<LC_ALL (what libstdc++ passes)
 * means "all categories", as in glibc; musl would change none.
 * uselocale/__uselocale stay musl's: they only store the pointer.
 *
 * Hazard: this uses musl 1.2.3 internals (hidden symbols, resolvable in a
 * static link): __get_locale, __lock/__unlock and __locale_lock, which guards
 * __get_locale's list of loaded maps.  A different musl needs a re-check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

#define MUSL_NCAT 6     /* LC_CTYPE..LC_MESSAGES, musl's categories */
#define GLIBC_NCAT 13   /* glibc's __LC_LAST */
#define MAP_FAILED_LOC ((const void *)-1)

struct glibc_locale {
	const void *cat[GLIBC_NCAT];
	const unsigned short *ctype_b;
	const int *ctype_tolower;
	const int *ctype_toupper;
	const char *names[GLIBC_NCAT];
};
_Static_assert(sizeof(struct glibc_locale) == 232, "glibc __locale_struct size");
_Static_assert(offsetof(struct glibc_locale, ctype_b) == 104, "glibc layout");

/* musl internals, see the hazard note above. */
__attribute__((visibility("hidden"))) const void *__get_locale(int cat, const char *name);
__attribute__((visibility("hidden"))) void __lock(volatile int *);
__attribute__((visibility("hidden"))) void __unlock(volatile int *);
extern __attribute__((visibility("hidden"))) volatile int __locale_lock[1];

static struct glibc_locale c_locale = {
	.ctype_b = __ferrite_c_ctype_b + 128,
	.ctype_tolower = __ferrite_c_tolower + 128,
	.ctype_toupper = __ferrite_c_toupper + 128,
	.names = { "C", "C", "C", "C", "C", "C", "C", "C", "C", "C", "C", "C", "C" },
};

static int is_static(const struct glibc_locale *l)
{
	return l == &c_locale || l == (void *)LC_GLOBAL_LOCALE;
}

/* Fill tables and names of l, whose musl maps are set; the C locale when
 * every map is null.  Returns the object to hand out. */
static struct glibc_locale *finish(struct glibc_locale *l, const void *const cat[MUSL_NCAT])
{
	int i, all_c = 1;

	for (i = 0; i < MUSL_NCAT; i++)
		if (cat[i])
			all_c = 0;
	if (all_c && !l)
		return &c_locale;
	if (!l && !(l = malloc(sizeof *l))) {
		errno = ENOMEM;
		return 0;
	}
	*l = c_locale;
	for (i = 0; i < MUSL_NCAT; i++)
		l->cat[i] = cat[i];
	/* musl answers _NL_LOCALE_NAME from the map it just got, so the names
	 * live as long as musl's maps (forever). */
	for (i = 0; i < MUSL_NCAT; i++)
		l->names[i] = nl_langinfo_l(_NL_LOCALE_NAME(i), (locale_t)l);
	return l;
}

locale_t __newlocale(int mask, const char *name, locale_t base)
{
	struct glibc_locale *b = (struct glibc_locale *)base;
	const void *cat[MUSL_NCAT];
	const char *global_name[MUSL_NCAT];
	int i, ok = 1;

	if (!name) {
		errno = EINVAL;
		return 0;
	}
	if (mask & (1 << LC_ALL))
		mask |= (1 << MUSL_NCAT) - 1;
	/* setlocale takes __locale_lock itself: ask it before locking. */
	if (b == (void *)LC_GLOBAL_LOCALE)
		for (i = 0; i < MUSL_NCAT; i++)
			global_name[i] = (mask & 1 << i) ? 0 : setlocale(i, 0);

	__lock(__locale_lock);
	for (i = 0; i < MUSL_NCAT; i++) {
		if (mask & 1 << i)
			cat[i] = __get_locale(i, name);
		else if (b == (void *)LC_GLOBAL_LOCALE)
			cat[i] = __get_locale(i, global_name[i]);
		else if (b)
			cat[i] = b->cat[i];
		else
			cat[i] = __get_locale(i, "");
		if (cat[i] == MAP_FAILED_LOC)
			ok = 0;
	}
	__unlock(__locale_lock);
	if (!ok) {
		errno = ENOENT;
		return 0;
	}
	/* Like both libcs, a modifiable base is reused and returned. */
	return (locale_t)finish(b && !is_static(b) ? b : 0, cat);
}

locale_t __duplocale(locale_t old)
{
	struct glibc_locale *o = (struct glibc_locale *)old;

	if (!o) {
		errno = EINVAL;
		return 0;
	}
	if (o == &c_locale)
		return old;     /* immutable; freelocale ignores it */
	if (o == (void *)LC_GLOBAL_LOCALE)
		return __newlocale(0, "", old);
	return (locale_t)finish(0, o->cat);
}

void __freelocale(locale_t l)
{
	if (l && !is_static((struct glibc_locale *)l))
		free(l);
}

locale_t newlocale(int, const char *, locale_t) __attribute__((alias("__newlocale")));
locale_t duplocale(locale_t) __attribute__((alias("__duplocale")));
void freelocale(locale_t) __attribute__((alias("__freelocale")));
