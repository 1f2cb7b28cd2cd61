/*
 * Probe: ordinary C compiled against glibc's headers (not linked, not run).
 * missing-symbols.sh compiles it at several _FORTIFY_SOURCE levels and lists
 * what the objects need that musl's libc.a lacks.  Sizes come from argc so
 * the compiler keeps the checked (__*_chk) calls.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <ctype.h>
#include <dlfcn.h>
#include <err.h>
#include <errno.h>
#include <error.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <libgen.h>
#include <locale.h>
#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <wchar.h>

static jmp_buf jb;
static sigjmp_buf sjb;

int main(int argc, char **argv)
{
	char small[16], big[256], path[4096];
	wchar_t w[16], wbig[64];
	size_t n = (size_t)argc * 3;
	int fd = open(argv[0], O_RDONLY);
	int fd2 = openat(AT_FDCWD, argv[0], argc > 5 ? O_RDWR : O_RDONLY);
	fd_set set;
	struct pollfd pfd[2] = { { fd, POLLIN, 0 }, { fd2, POLLIN, 0 } };
	cpu_set_t *cs = CPU_ALLOC(64);
	locale_t loc = newlocale(LC_ALL_MASK, "C", 0);
	struct stat st;
	char *dyn = 0;
	gid_t groups[4];

	memcpy(small, argv[0], n);
	memmove(small, argv[0], n);
	mempcpy(small, argv[0], n);
	memset(small, 0, n);
	strcpy(small, argv[0]);
	stpcpy(small, argv[0]);
	strncpy(small, argv[0], n);
	stpncpy(small, argv[0], n);
	strcat(small, argv[0]);
	strncat(small, argv[0], n);
	explicit_bzero(small, n);
	sprintf(small, "%s", argv[0]);
	snprintf(small, n, "%s", argv[0]);
	printf("%d %s\n", argc, basename(argv[0]));
	fprintf(stderr, "%d\n", argc);
	dprintf(1, "%d\n", argc);
	asprintf(&dyn, "%d", argc);
	fgets(small, (int)n, stdin);
	fread(small, 1, n, stdin);
	read(fd, small, n);
	pread(fd, small, n, 0);
	recv(fd, small, n, 0);
	recvfrom(fd, small, n, 0, 0, 0);
	getcwd(small, n);
	realpath(argv[0], small);
	readlink(argv[0], small, n);
	confstr(_CS_PATH, small, n);
	ttyname_r(0, small, n);
	gethostname(small, n);
	getgroups(argc, groups);
	wctomb(small, L'x');
	mbstowcs(w, argv[0], n);
	wcstombs(small, w, n);
	wcscpy(w, L"abc");
	wmemcpy(w, wbig, n);
	wmemset(w, L'x', n);
	swprintf(w, n, L"%d", argc);
	FD_ZERO(&set);
	FD_SET(fd, &set);
	poll(pfd, n, 0);
	ppoll(pfd, n, 0, 0);
	syslog(LOG_INFO, "%d", argc);
	if (isalpha(argv[0][0]) && tolower(argv[0][0]) != toupper(argv[0][1]))
		puts("x");
	if (isalpha_l(argv[0][0], loc))
		puts("y");
	sscanf(argv[0], "%d", &argc);
	fscanf(stdin, "%d", &argc);
	strtol(argv[0], 0, 0);
	printf("%d %s %s\n", CPU_COUNT_S(CPU_ALLOC_SIZE(64), cs), gnu_get_libc_version(),
	       strerror_r(argc, big, sizeof big));
	CPU_FREE(cs);
	printf("%d %lu %zu\n", SIGRTMIN, getauxval(AT_PAGESZ), MB_CUR_MAX);
	assert(argc > 0);
	if (stat(argv[0], &st) == 0 && fstat(fd, &st) == 0)
		errno = 0;
	putc_unlocked(getc_unlocked(stdin), stdout);
	getrandom(big, n, 0);
	if (argc > 7)
		error(1, errno, "%s", argv[0]);
	if (argc > 8)
		err(1, "x");
	if (setjmp(jb) == 0 && sigsetjmp(sjb, 1) == 0 && argc > 9)
		longjmp(jb, 1);
	if (argc > 10)
		siglongjmp(sjb, 1);
	if (dlsym(RTLD_DEFAULT, "x"))
		puts("z");
	mq_open(argv[0], O_RDONLY);
	free(dyn);
	freelocale(loc);
	return 0;
}
