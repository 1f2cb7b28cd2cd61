/* stdio: buffering modes and the merged stdout/stderr order, exit flushing, formatting, stdin.
 *   stdio full      — default: stdout to a pipe is fully buffered, stderr unbuffered
 *   stdio line      — setvbuf(stdout, _IOLBF)
 *   stdio none      — setvbuf(stdout, _IONBF)
 *   stdio format    — printf conversions
 *   stdio bulk N    — N numbered lines (crosses many buffer boundaries)
 *   stdio stdin     — echo stdin line by line (fgets), then counts; EOF must arrive
 * The harness compares the merged stream, so the interleaving itself is under test. */
#include "check.h"
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <unistd.h>

static void at_exit_1(void) { printf("atexit 1 (registered first, runs last)\n"); }
static void at_exit_2(void) { printf("atexit 2\n"); fprintf(stderr, "stderr from atexit 2\n"); }
static void at_exit_3(void) { printf("atexit 3 (registered last, runs first)\n"); }

static void interleave(void)
{
    printf("out 1\n");
    fprintf(stderr, "err 1\n");
    printf("out 2 (no newline) ");
    fputs("err 2\n", stderr);
    putchar('x');
    putchar('\n');
    fputc('E', stderr);
    fputc('\n', stderr);
    fwrite("out 3\n", 1, 6, stdout);
    write(STDERR_FILENO, "raw write to fd 2\n", 18);
    fflush(stdout);
    fprintf(stderr, "err after fflush\n");
    printf("out 4 at exit, no newline");
}

static int vformat(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

static void format(void)
{
    printf("[%d] [%i] [%5d] [%-5d] [%05d] [%+d] [% d]\n", -42, 7, 42, 42, 42, 42, 42);
    printf("[%ld] [%lld] [%llu] [%zu] [%jd]\n", -1234567890123L, (long long)INT64_MIN,
           (unsigned long long)UINT64_MAX, (size_t)12345, (intmax_t)-99);
    printf("[%x] [%X] [%#x] [%o] [%#o] [%08x]\n", 0xbeef, 0xbeef, 255, 8, 8, 0xabc);
    printf("[%s] [%10s] [%-10s] [%.3s] [%c] [%%]\n", "str", "right", "left", "truncate", 'c');
    printf("[%hhd] [%hd] [%hu]\n", (signed char)-1, (short)-2, (unsigned short)65535);
    printf("[%f] [%.2f] [%e] [%g] [%G] [%10.3f] [%-10.1e]\n", 3.14159, 2.5, 12345.678, 0.0001,
           1e20, -1.5, 9.99);
    printf("[%a] [%.0f] [%.0f] [%f] [%f]\n", 1.0, 0.5, 1.5, 1.0 / 0.0, -1.0 / 0.0);
    printf("[%*d] [%-*d] [%.*f]\n", 6, 1, 6, 2, 3, 3.14159);
    char buf[16];
    const char *volatile long_text = "truncated-output";
    int r = snprintf(buf, sizeof buf, "%s-%d", long_text, 123456);
    printf("snprintf returned %d, buffer [%s]\n", r, buf);
    CHECK(r == 23 && strlen(buf) == 15);
    r = vformat(buf, 4, "%d", 123456);
    CHECK(r == 6 && strcmp(buf, "123") == 0);
    r = snprintf(NULL, 0, "%d%s", 10, "abc");
    CHECK(r == 5);
    char *s = NULL;
    r = asprintf(&s, "%s %d", "asprintf", 99);
    CHECK(r == 11 && s && strcmp(s, "asprintf 99") == 0);
    free(s);
    int n1 = 0, n2 = 0;
    printf("abc%nde%n\n", &n1, &n2);
    CHECK(n1 == 3 && n2 == 5);
    int a = 0;
    char word[16];
    double d = 0;
    CHECK(sscanf("  17 word 2.5e3", "%d %15s %lf", &a, word, &d) == 3);
    CHECK(a == 17 && strcmp(word, "word") == 0 && d == 2500.0);
    printf("sscanf: %d %s %g\n", a, word, d);
    printf("%s\n", strerror(ENOENT));
}

static void echo_stdin(void)
{
    char line[256];
    int lines = 0, bytes = 0, last_had_newline = 1;
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strlen(line);
        lines++;
        bytes += (int)n;
        last_had_newline = n > 0 && line[n - 1] == '\n';
        if (last_had_newline)
            line[n - 1] = '\0';
        printf("line %d: [%s]%s\n", lines, line, last_had_newline ? "" : " (no newline)");
    }
    CHECK(feof(stdin));
    CHECK(!ferror(stdin));
    CHECK(getchar() == EOF);
    /* A second read at EOF: read(2) keeps returning 0. */
    char c;
    CHECK(read(STDIN_FILENO, &c, 1) == 0);
    printf("%d lines, %d bytes\n", lines, bytes);
}

int main(int argc, char **argv)
{
    CHECK(!isatty(STDOUT_FILENO)); /* the harness pipes stdout everywhere */
    if (MODE_IS("full") || MODE_IS("line") || MODE_IS("none")) {
        if (MODE_IS("line"))
            CHECK(setvbuf(stdout, NULL, _IOLBF, 0) == 0);
        if (MODE_IS("none"))
            CHECK(setvbuf(stdout, NULL, _IONBF, 0) == 0);
        atexit(at_exit_1);
        atexit(at_exit_2);
        atexit(at_exit_3);
        if (check_failures)
            return 1;
        interleave();
        return 0; /* "ok" is not printed: the order of the lines is the result */
    }
    if (MODE_IS("format"))
        format();
    else if (MODE_IS("bulk") && argc == 3) {
        int n = atoi(argv[2]);
        for (int i = 0; i < n; i++)
            printf("bulk line %05d %s\n", i, "the quick brown fox jumps over the lazy dog");
    } else if (MODE_IS("stdin"))
        echo_stdin();
    else {
        printf("usage: stdio full|line|none|format|bulk N|stdin\n");
        return 2;
    }
    return check_finish();
}
