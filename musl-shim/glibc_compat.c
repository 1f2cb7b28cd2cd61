/*
 * Small glibc-only functions that glibc-header-compiled code links against
 * and musl 1.2.3 does not define (found by cxx-runtime/abi/missing-symbols.sh).
 * Nothing here has a musl namesake: where glibc and musl share a name with
 * different meanings (GNU strerror_r, GNU basename) musl's stays; see
 * README.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *gnu_get_libc_version(void);
const char *gnu_get_libc_release(void);
int __register_atfork(void (*)(void), void (*)(void), void (*)(void), void *);
cpu_set_t *__sched_cpualloc(size_t count);
void __sched_cpufree(cpu_set_t *set);
void error(int status, int errnum, const char *fmt, ...);
void error_at_line(int status, int errnum, const char *file, unsigned line, const char *fmt, ...);

/* Programs test this to pick glibc code paths; answer with the glibc whose
 * headers Debian 12 compiles against, so they take the 2.36 ones. */
const char *gnu_get_libc_version(void)
{
	return "2.36";
}

const char *gnu_get_libc_release(void)
{
	return "stable";
}

/* What glibc's pthread_atfork wrapper calls; the DSO handle only matters
 * for dlclose, which a static image never does. */
int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
		      void *dso_handle)
{
	(void)dso_handle;
	return pthread_atfork(prepare, parent, child);
}

/* glibc's CPU_ALLOC/CPU_FREE: a zeroed set large enough for `count` CPUs. */
cpu_set_t *__sched_cpualloc(size_t count)
{
	return calloc(1, CPU_ALLOC_SIZE(count));
}

void __sched_cpufree(cpu_set_t *set)
{
	free(set);
}

/* <error.h>: glibc's message format "prog: [file:line: ]msg[: strerror]". */
unsigned int error_message_count;
int error_one_per_line;
void (*error_print_progname)(void);

static void error_tail(int status, int errnum, const char *fmt, va_list ap)
{
	vfprintf(stderr, fmt, ap);
	if (errnum)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
	fflush(stderr);
	error_message_count++;
	if (status)
		exit(status);
}

static void error_head(void)
{
	fflush(stdout);
	if (error_print_progname)
		error_print_progname();
	else
		fprintf(stderr, "%s: ", program_invocation_name);
}

void error(int status, int errnum, const char *fmt, ...)
{
	va_list ap;

	error_head();
	va_start(ap, fmt);
	error_tail(status, errnum, fmt, ap);
	va_end(ap);
}

void error_at_line(int status, int errnum, const char *file, unsigned line, const char *fmt, ...)
{
	static const char *last_file;
	static unsigned last_line;
	va_list ap;

	if (error_one_per_line) {
		if (last_file && line == last_line &&
		    (file == last_file || !strcmp(file, last_file)))
			return;
		last_file = file;
		last_line = line;
	}
	error_head();
	if (file)
		fprintf(stderr, "%s:%u: ", file, line);
	va_start(ap, fmt);
	error_tail(status, errnum, fmt, ap);
	va_end(ap);
}
