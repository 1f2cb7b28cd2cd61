/* Shared by the guest test programs (C and C++): self-checks that report and count failures.
 *
 * Every program prints deterministic output (compared against the native run) and checks its own
 * results: CHECK failures print "FAIL file:line: what" and make check_finish() return 1, so a
 * program fails on its own even without the comparison. Never print addresses, times or random
 * values: only facts that are the same on Linux and on Ferrite. */
#ifndef FERRITE_TEST_CHECK_H
#define FERRITE_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;

/* The source's name without its directory: output must not depend on where the tree lives. */
#ifdef __FILE_NAME__
#define CHECK_FILE __FILE_NAME__
#else
#define CHECK_FILE __FILE__
#endif

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            check_failures++;                                                             \
            printf("FAIL %s:%d: %s\n", CHECK_FILE, __LINE__, #cond);                        \
            fflush(stdout);                                                               \
        }                                                                                 \
    } while (0)

/* CHECK with a formatted detail line, e.g. CHECKF(x == 3, "x=%d", x). */
#define CHECKF(cond, ...)                                                                 \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            check_failures++;                                                             \
            printf("FAIL %s:%d: %s: ", CHECK_FILE, __LINE__, #cond);                        \
            printf(__VA_ARGS__);                                                          \
            printf("\n");                                                                 \
            fflush(stdout);                                                               \
        }                                                                                 \
    } while (0)

/* Prints "ok" (or the failure count) and returns the exit status for main. */
static inline int check_finish(void)
{
    if (check_failures) {
        printf("FAILED: %d check(s)\n", check_failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}

/* Programs with several modes: `prog MODE [ARGS...]`. */
#define MODE_IS(name) (argc > 1 && strcmp(argv[1], (name)) == 0)

#endif
