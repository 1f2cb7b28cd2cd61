/* Prints nl_langinfo_l(item, C locale) for the glibc items libstdc++'s
 * locale facets read (numeric, time incl. the wide _NL_W* strings, monetary
 * incl. the _WC values).  Compiled against glibc's headers; run.sh compares
 * the output of this program linked with musl + libferrite_rt against the
 * host glibc's. */
#define _GNU_SOURCE
#include <langinfo.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <wchar.h>

static void show(const char *what, nl_item it, locale_t l)
{
	const char *s = nl_langinfo_l(it, l);
	int i;

	printf("%s %#x:", what, (unsigned)it);
	if (!s) {
		printf(" null\n");
		return;
	}
	if ((it >= _NL_WABDAY_1 && it <= _NL_WERA_T_FMT) ) {
		const wchar_t *w = (const wchar_t *)s;
		for (i = 0; w[i]; i++)
			printf(" %x", (unsigned)w[i]);
	} else if (it == _NL_NUMERIC_DECIMAL_POINT_WC || it == _NL_NUMERIC_THOUSANDS_SEP_WC ||
		   it == _NL_MONETARY_DECIMAL_POINT_WC || it == _NL_MONETARY_THOUSANDS_SEP_WC) {
		printf(" wc=%lx", (unsigned long)(uintptr_t)s);
	} else {
		for (i = 0; s[i]; i++)
			printf(" %02x", (unsigned char)s[i]);
	}
	printf("\n");
}

int main(void)
{
	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	nl_item it;

	for (it = DECIMAL_POINT; it <= _NL_NUMERIC_THOUSANDS_SEP_WC; it++)
		show("numeric", it, c);
	for (it = ABDAY_1; it <= T_FMT_AMPM; it++)
		show("time", it, c);
	for (it = _NL_WABDAY_1; it <= _NL_WERA_T_FMT; it++)
		show("wtime", it, c);
	for (it = INT_CURR_SYMBOL; it <= __INT_N_SIGN_POSN; it++)
		if (it != CRNCYSTR)
			show("monetary", it, c);
	show("monetary", _NL_MONETARY_DECIMAL_POINT_WC, c);
	show("monetary", _NL_MONETARY_THOUSANDS_SEP_WC, c);
	freelocale(c);
	return 0;
}
