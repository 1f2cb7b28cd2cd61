/* Built with -D_FORTIFY_SOURCE=2 -O2: must compile, link and run. C is compiled against musl's
 * headers, which ignore _FORTIFY_SOURCE (no __*_chk redirections); the C++ twin (fortify.cpp,
 * glibc-ABI headers) is the one whose calls become __*_chk calls from the runtime glue. */
#include "check.h"
#include <stdarg.h>
#include <unistd.h>
#include <wchar.h>

#pragma GCC diagnostic ignored "-Wstringop-truncation"
#pragma GCC diagnostic ignored "-Wformat-truncation"
#pragma GCC diagnostic ignored "-Wstringop-overflow"

static char __attribute__((noinline)) *copy_into(char *dst, const char *src) { return strcpy(dst, src); }

static int __attribute__((noinline)) format_into(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(dst, n, fmt, ap);
    va_end(ap);
    return r;
}

int main(int argc, char **argv)
{
    char buf[32], small[8];
    volatile size_t n = 5; /* not a compile-time constant: keeps the _chk calls */
    memset(buf, 'x', sizeof buf);
    memcpy(buf, "hello world", n);
    buf[n] = '\0';
    CHECK(strcmp(buf, "hello") == 0);
    memmove(buf + 1, buf, n);
    CHECK(memcmp(buf, "hhello", 6) == 0);
    strcpy(buf, "abc");
    strcat(buf, "def");
    strncat(buf, "ghijkl", n - 2);
    CHECK(strcmp(buf, "abcdefghi") == 0);
    strncpy(small, "12345678", sizeof small);
    CHECK(memcmp(small, "12345678", 8) == 0);
    copy_into(buf, argv[0][0] ? "from a function" : "");
    CHECK(strcmp(buf, "from a function") == 0);
    int r = sprintf(buf, "%d-%s", 42, "fortified");
    CHECK(r == 12 && strcmp(buf, "42-fortified") == 0);
    r = snprintf(small, sizeof small, "%s", "truncate me");
    CHECK(r == 11 && strcmp(small, "truncat") == 0);
    r = format_into(buf, sizeof buf, "%05.1f|%x", 3.14159, 255);
    CHECK(strcmp(buf, "003.1|ff") == 0);
    char *end = stpcpy(buf, "stp");
    CHECK(end == buf + 3);
    wchar_t wbuf[8];
    wmemcpy(wbuf, L"wide", 5);
    CHECK(wcscmp(wbuf, L"wide") == 0);
    printf("fortified printf %s %d\n", buf, (int)n);
    fprintf(stdout, "fortified fprintf %.3f\n", 2.0 / 3);
    char line[64];
    if (fgets(line, sizeof line, stdin))
        printf("fgets read: %s", line);
    CHECK(read(STDIN_FILENO, line, sizeof line) == 0);

    return check_finish();
}
