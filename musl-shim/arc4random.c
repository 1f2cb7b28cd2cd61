/*
 * arc4random family (glibc 2.36 ABI; libstdc++'s std::random_device uses it).
 *
 * Every call takes fresh bytes from getrandom(2), as glibc >= 2.37 does:
 * no user-space state, so nothing to reseed after fork and nothing shared
 * between threads.  If the kernel lacks getrandom (ENOSYS) /dev/urandom is
 * read instead.  With no entropy at all the process stops: returning
 * predictable "random" numbers would be worse (glibc aborts too).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

uint32_t arc4random(void);
void arc4random_buf(void *buf, size_t n);
uint32_t arc4random_uniform(uint32_t upper);

static _Noreturn void no_entropy(void)
{
	static const char msg[] = "fatal: cannot get entropy for arc4random\n";
	write(2, msg, sizeof msg - 1);
	abort();
}

static void from_urandom(unsigned char *p, size_t n)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		no_entropy();
	while (n) {
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			no_entropy();
		p += r;
		n -= (size_t)r;
	}
	close(fd);
}

void arc4random_buf(void *buf, size_t n)
{
	unsigned char *p = buf;
	int saved = errno;      /* arc4random never changes errno */
	ssize_t r;

	while (n) {
		/* getrandom returns at most 32 MiB per call; loop for more. */
		r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ENOSYS)
				no_entropy();
			from_urandom(p, n);
			break;
		}
		p += r;
		n -= (size_t)r;
	}
	errno = saved;
}

uint32_t arc4random(void)
{
	uint32_t v;

	arc4random_buf(&v, sizeof v);
	return v;
}

/*
 * Uniform in [0, upper) without modulo bias: reject the lowest
 * (2^32 mod upper) values, after which the remaining range is a multiple of
 * upper.  Fewer than half the draws are rejected in the worst case.
 */
uint32_t arc4random_uniform(uint32_t upper)
{
	uint32_t r, floor;

	if (upper < 2)
		return 0;
	floor = (uint32_t)-upper % upper;      /* == 2^32 mod upper */
	do
		r = arc4random();
	while (r < floor);
	return r % upper;
}
