/* A C program compiled against musl's headers: arc4random, newlocale and
 * friends (now owned by libferrite_rt), constructor/atexit/destructor order
 * and stdout flushed at exit (run.sh checks the output). */
#define _GNU_SOURCE
#include <langinfo.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

uint32_t arc4random(void);
void arc4random_buf(void *, size_t);
uint32_t arc4random_uniform(uint32_t);

static int failures;
#define CHECK(c) do { if (!(c)) { printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

__attribute__((constructor)) static void ctor(void) { printf("c constructor\n"); }
__attribute__((destructor)) static void dtor(void) { printf("c destructor\n"); }
static void at1(void) { printf("c atexit 1\n"); }
static void at2(void) { printf("c atexit 2\n"); }

int main(void)
{
	static unsigned hist[10];
	unsigned char buf[64], zero[64] = { 0 };
	int i;

	for (i = 0; i < 100000; i++) {
		uint32_t v = arc4random_uniform(10);
		CHECK(v < 10);
		if (v < 10) hist[v]++;
	}
	for (i = 0; i < 10; i++)
		CHECK(hist[i] > 9000 && hist[i] < 11000);
	for (i = 0; i < 1000; i++) {
		uint32_t v = arc4random_uniform(3000000000u);
		CHECK(v < 3000000000u);
	}
	CHECK(arc4random_uniform(1) == 0 && arc4random_uniform(0) == 0);
	arc4random_buf(buf, sizeof buf);
	CHECK(memcmp(buf, zero, sizeof buf) != 0);
	CHECK(arc4random() != arc4random() || arc4random() != arc4random());

	/* musl semantics survive the override: C is single-byte, C.UTF-8 is
	 * UTF-8, and uselocale() takes the objects. */
	locale_t c = newlocale(LC_ALL_MASK, "C", 0);
	locale_t u = newlocale(LC_CTYPE_MASK, "C.UTF-8", c);
	CHECK(c && u);
	locale_t old = uselocale(u);
	CHECK(MB_CUR_MAX == 4);
	CHECK(strcmp(nl_langinfo(CODESET), "UTF-8") == 0);
	wchar_t wc = 0;
	CHECK(mbtowc(&wc, "\xc3\xa9", 2) == 2 && wc == 0xe9);
	locale_t d = duplocale(u);
	uselocale(d);
	CHECK(MB_CUR_MAX == 4);
	locale_t c2 = newlocale(LC_ALL_MASK, "POSIX", 0);
	uselocale(c2);
	CHECK(MB_CUR_MAX == 1);
	CHECK(strcmp(nl_langinfo_l(RADIXCHAR, c2), ".") == 0);
	uselocale(old);
	freelocale(d);
	freelocale(u);
	freelocale(c2);
	locale_t g = duplocale(LC_GLOBAL_LOCALE);
	CHECK(g != 0);
	freelocale(g);
	CHECK(newlocale(LC_ALL_MASK, 0, 0) == 0);

	atexit(at1);
	atexit(at2);
	printf("c_musl: %s\n", failures ? "FAILED" : "ok");
	printf("unflushed tail");
	return failures != 0;
}
