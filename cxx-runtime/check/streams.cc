// iostreams and locale: std::cin >> int from stdin, ostringstream with ints
// and doubles, stoi/stod, <iomanip>, std::locale basics, named locales,
// from_chars (which calls newlocale/uselocale), the ctype<char> tables.
#include <cctype>
#include <charconv>
#include <clocale>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <locale>
#include <regex>
#include <sstream>
#include <string>

static int failures;
#define CHECK(c) do { if (!(c)) { std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

int main(int argc, char **argv)
{
	int a = 0, b = 0;
	std::string word;
	std::cin >> a >> b >> word;
	CHECK(std::cin.good());
	CHECK(a == 42 && b == -17 && word == "hello");

	std::ostringstream os;
	os << a << ' ' << 2.5 << ' ' << 1e20 << ' ' << -0.125 << ' ' << 1234567.0;
	CHECK(os.str() == "42 2.5 1e+20 -0.125 1.23457e+06");

	std::ostringstream fm;
	fm << std::setw(6) << std::setfill('*') << 42 << '|' << std::hex << 255 << '|' << std::dec
	   << std::fixed << std::setprecision(3) << 3.14159 << '|' << std::scientific << 0.5
	   << '|' << std::left << std::setw(4) << "ab" << '|';
	CHECK(fm.str() == "****42|ff|3.142|5.000e-01|ab**|");

	CHECK(std::stoi("  123abc") == 123);
	CHECK(std::stoi("-0x1f", nullptr, 16) == -31);
	CHECK(std::stod("2.75e2") == 275.0);
	CHECK(std::stol("9000000000") == 9000000000L);
	std::istringstream is("3.5 0x10 7");
	double d = 0;
	int h = 0, o = 0;
	is >> d >> std::hex >> h >> std::dec >> o;
	CHECK(d == 3.5 && h == 16 && o == 7);

	double fc = 0;
	const char num[] = "6.0625";
	auto r = std::from_chars(num, num + std::strlen(num), fc);
	CHECK(r.ec == std::errc() && fc == 6.0625);

	// The classic locale and its ctype<char> table (glibc's, through
	// __newlocale) must agree with the C library's classification.
	std::locale c = std::locale::classic();
	CHECK(c.name() == "C");
	const std::ctype<char> &ct = std::use_facet<std::ctype<char>>(c);
	for (int i = 0; i < 256; i++) {
		char ch = (char)i;
		CHECK(ct.is(std::ctype_base::alpha, ch) == (std::isalpha(i) != 0));
		CHECK(ct.is(std::ctype_base::digit, ch) == (std::isdigit(i) != 0));
		CHECK(ct.is(std::ctype_base::space, ch) == (std::isspace(i) != 0));
		CHECK(ct.is(std::ctype_base::punct, ch) == (std::ispunct(i) != 0));
		CHECK(ct.is(std::ctype_base::print, ch) == (std::isprint(i) != 0));
		CHECK(ct.toupper(ch) == (char)std::toupper(i));
	}
	CHECK(std::isalpha('x', c) && !std::isalpha('1', c) && std::toupper('q', c) == 'Q');
	CHECK(std::use_facet<std::numpunct<char>>(c).decimal_point() == '.');
	std::ostringstream ms;
	ms << std::put_money(std::string("1234")) << ' ' << std::put_money(-5.0L);
	CHECK(ms.str() == "1234 5");  // the C locale has no negative sign

	// Named locales go through __newlocale with a name; "" reads LANG.
	for (const char *name : { "", "C.UTF-8", "POSIX" }) {
		std::locale l(name);
		std::ostringstream ls;
		ls.imbue(l);
		ls << 1234567 << ' ' << 1.5;
		CHECK(ls.str() == "1234567 1.5");
		CHECK(std::use_facet<std::ctype<char>>(l).is(std::ctype_base::upper, 'Q'));
		// Wide facets of a named locale read glibc-only nl_langinfo items.
		std::wostringstream ws;
		ws.imbue(l);
		std::tm t{};
		t.tm_year = 100; t.tm_mon = 2; t.tm_mday = 3; t.tm_wday = 5;
		ws << 12345.5 << L' ' << std::put_time(&t, L"%a %b %d %Y %c");
		CHECK(ws.str() == L"12345.5 Fri Mar 03 2000 Fri Mar  3 00:00:00 2000");
	}
	std::locale::global(std::locale(""));
	std::locale::global(std::locale::classic());

	std::tm tm{};
	tm.tm_year = 124; tm.tm_mon = 1; tm.tm_mday = 29; tm.tm_hour = 13; tm.tm_min = 5;
	std::ostringstream ts;
	ts << std::put_time(&tm, "%Y-%m-%d %H:%M %b %A");
	CHECK(ts.str() == "2024-02-29 13:05 Feb Sunday");
	std::istringstream ti("2023-07-04 08:09");
	std::tm in{};
	ti >> std::get_time(&in, "%Y-%m-%d %H:%M");
	CHECK(!ti.fail() && in.tm_year == 123 && in.tm_mon == 6 && in.tm_mday == 4 && in.tm_min == 9);

	std::regex re("([a-z]+)-([0-9]+)", std::regex::icase);
	std::smatch m;
	std::string subject = "id: ABC-123";
	CHECK(std::regex_search(subject, m, re) && m[1] == "ABC" && m[2] == "123");

	std::wostringstream ws;
	ws << L"w" << 42 << L' ' << 0.25;
	CHECK(ws.str() == L"w42 0.25");

	(void)argc; (void)argv;
	std::cout << "streams: " << (failures ? "FAILED" : "ok") << std::endl;
	return failures != 0;
}
