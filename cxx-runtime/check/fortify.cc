// Built with -O2 -D_FORTIFY_SOURCE=2 and =3.  Without arguments every checked
// call stays in bounds and must work; with one argument it overflows on
// purpose in the way named and must die with glibc's message.
#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cwchar>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/select.h>
#include <unistd.h>

static int failures;
#define CHECK(c) do { if (!(c)) { std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

static jmp_buf jb;

// Sizes the compiler cannot see through, so the __*_chk calls stay.
__attribute__((noinline)) static size_t n_of(const char *s) { return std::strlen(s); }

int main(int argc, char **argv)
{
	char buf[16];
	const char *src = "0123456789abcdefghijklmnopqrstuvwxyz";
	size_t small = n_of("12345678"), big = n_of("0123456789abcdefghijkl");

	if (argc > 1) {
		std::string what = argv[1];
		if (what == "memcpy") std::memcpy(buf, src, big);
		if (what == "strcpy") std::strcpy(buf, src + 36 - big);
		if (what == "sprintf") std::sprintf(buf, "%s", src + 36 - big);
		if (what == "snprintf") std::snprintf(buf, big, "%s", "x");
		if (what == "read") (void)!read(0, buf, big);
		if (what == "fdset") { fd_set s; FD_ZERO(&s); FD_SET((int)big * 100, &s); }
		if (what == "open") (void)open("/nonexistent/x", O_WRONLY | (int)(small > 1 ? O_CREAT : 0));
		std::printf("no abort for %s\n", argv[1]);
		return 0;
	}

	std::memcpy(buf, src, small);
	std::memmove(buf + 1, buf, small);
	std::memset(buf, 'x', small);
	buf[small] = 0;
	CHECK(std::strcmp(buf, "xxxxxxxx") == 0);
	std::strcpy(buf, src + 36 - small);
	std::strcat(buf, "1");
	std::strncat(buf, src, small - 3);
	CHECK(std::strcmp(buf, "stuvwxyz101234") == 0);
	std::strncpy(buf, "ab", small);
	CHECK(std::strcmp(buf, "ab") == 0);
	CHECK(std::sprintf(buf, "%d-%s", 12, "ab") == 5 && std::strcmp(buf, "12-ab") == 0);
	CHECK(std::snprintf(buf, small, "%s", src) == 36 && std::strlen(buf) == small - 1);
	int p[2];
	CHECK(pipe(p) == 0);
	CHECK(write(p[1], "pipe", 4) == 4);
	CHECK(read(p[0], buf, small) == 4 && std::memcmp(buf, "pipe", 4) == 0);
	struct pollfd pf[1] = { { p[0], POLLIN, 0 } };
	CHECK(poll(pf, small / 8, 0) == 0);
	fd_set s;
	FD_ZERO(&s);
	FD_SET(p[0], &s);
	CHECK(FD_ISSET(p[0], &s));
	close(p[0]);
	close(p[1]);
	wchar_t w[8];
	std::wmemcpy(w, L"wide!", small - 2);
	CHECK(std::wcscmp(w, L"wide!") == 0);
	CHECK(std::swprintf(w, small, L"%d", 77) == 2 && std::wcscmp(w, L"77") == 0);
	FILE *f = std::tmpfile();
	CHECK(f && std::fputs("line one\nline two is long\n", f) >= 0);
	std::rewind(f);
	CHECK(std::fgets(buf, (int)small + 4, f) && std::strcmp(buf, "line one\n") == 0);
	CHECK(std::fread(buf, 1, small, f) == small);
	std::fclose(f);
	char cwd[4096];
	CHECK(getcwd(cwd, small * 512) != nullptr);
	int fd = open("/dev/null", O_RDONLY | (int)(small > 100 ? O_CREAT : 0));
	CHECK(fd >= 0);
	close(fd);
	volatile int jumped = 0;
	if (setjmp(jb) == 0)
		std::longjmp(jb, (int)small);
	else
		jumped = 1;
	CHECK(jumped);
	std::printf("fortify: %s\n", failures ? "FAILED" : "ok");
	return failures != 0;
}
