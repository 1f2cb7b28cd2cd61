/* A C program compiled against glibc's headers (-O2 -D_FORTIFY_SOURCE=2),
 * linked with musl: glibc's inline ctype and stdio macros, isalpha_l on a
 * newlocale() object (read as glibc's struct), glibc-only functions, the
 * glibc recursive-mutex initialiser.  "tables" prints the C-locale tables so
 * run.sh can compare them with the host glibc's. */
#define _GNU_SOURCE
#include <ctype.h>
#include <error.h>
#include <gnu/libc-version.h>
#include <locale.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(c) do { if (!(c)) { printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

static pthread_mutex_t rec = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t chk = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;

int main(int argc, char **argv)
{
	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	int i;

	if (argc > 1 && !strcmp(argv[1], "tables")) {
		for (i = -128; i < 256; i++)
			printf("%d %04x %d %d %04x %d %d\n", i, c->__ctype_b[i],
			       c->__ctype_tolower[i], c->__ctype_toupper[i], (*__ctype_b_loc())[i],
			       (*__ctype_tolower_loc())[i], (*__ctype_toupper_loc())[i]);
		return 0;
	}
	for (i = -1; i < 256; i++) {
		CHECK(!!isalpha_l(i, c) == !!isalpha(i));
		CHECK(!!isxdigit_l(i, c) == !!isxdigit(i));
		CHECK(tolower_l(i, c) == tolower(i) && toupper(i) == toupper_l(i, c));
	}
	CHECK(isupper('Q') && !isupper('q') && tolower('Q') == 'q' && isspace('\t'));
	freelocale(c);

	FILE *f = tmpfile();
	for (i = 0; i < 5000; i++)
		putc_unlocked('a' + i % 26, f);
	rewind(f);
	int ok = 1;
	for (i = 0; i < 5000; i++)
		ok &= getc_unlocked(f) == 'a' + i % 26;
	CHECK(ok && getc_unlocked(f) == EOF && feof_unlocked(f) && !ferror_unlocked(f));
	fclose(f);

	CHECK(strcmp(gnu_get_libc_version(), "2.36") == 0);
	cpu_set_t *cs = CPU_ALLOC(200);
	CPU_ZERO_S(CPU_ALLOC_SIZE(200), cs);
	CPU_SET_S(150, CPU_ALLOC_SIZE(200), cs);
	CHECK(CPU_COUNT_S(CPU_ALLOC_SIZE(200), cs) == 1);
	CPU_FREE(cs);

	CHECK(pthread_mutex_lock(&rec) == 0 && pthread_mutex_lock(&rec) == 0);
	CHECK(pthread_mutex_unlock(&rec) == 0 && pthread_mutex_unlock(&rec) == 0);
	CHECK(pthread_mutex_lock(&chk) == 0 && pthread_mutex_trylock(&chk) != 0);
	CHECK(pthread_mutex_unlock(&chk) == 0 && pthread_mutex_unlock(&chk) != 0);

	char buf[8];
	snprintf(buf, sizeof buf - (size_t)(argc - 1), "%d", 1234);
	CHECK(strcmp(buf, "1234") == 0);
	printf("c_glibc: %s\n", failures ? "FAILED" : "ok");
	fflush(stdout);
	error(failures != 0, 0, "error() reached, %d failures", failures);
	return 0;
}
