// Start-up and exit order.  run.sh compares this program's output, built
// against musl + libferrite_rt, with the same source built the ordinary way
// against the host's glibc: the two must print the same lines.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <link.h>

extern "C" void *__dso_handle;

struct Noisy {
	const char *n;
	explicit Noisy(const char *s) : n(s) { std::printf("ctor %s\n", n); }
	~Noisy() { std::printf("dtor %s\n", n); }
};

__attribute__((constructor(200))) static void early() { std::printf("constructor(200)\n"); }
Noisy g1("g1");
Noisy g2("g2");
__attribute__((constructor)) static void plain_ctor() { std::printf("constructor\n"); }
__attribute__((destructor)) static void plain_dtor() { std::printf("destructor\n"); }
static void at1() { std::printf("atexit 1\n"); }
static void at2() { std::printf("atexit 2\n"); }
thread_local Noisy tl1("tl1");
thread_local Noisy tl2("tl2");

static int phdr_cb(struct dl_phdr_info *info, size_t, void *data)
{
	int load = 0, eh = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		load += info->dlpi_phdr[i].p_type == PT_LOAD;
		eh += info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME;
	}
	// The first object is the program itself (the vDSO may follow on glibc).
	if (!*(int *)data)
		std::printf("dl_iterate_phdr: load segments %s, eh_frame_hdr %d\n", load ? "yes" : "no", eh);
	(*(int *)data)++;
	return 0;
}

int main()
{
	int objects = 0;
	dl_iterate_phdr(phdr_cb, &objects);
	std::printf("__dso_handle %s\n", __dso_handle || &__dso_handle ? "present" : "missing");
	std::atexit(at1);
	static Noisy local("function-local static");
	(void)tl1.n;
	(void)tl2.n;
	std::atexit(at2);
	std::cout << "cout without flush;";
	std::printf("printf without newline");
	return 0;
}
