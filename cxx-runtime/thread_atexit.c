/*
 * __cxa_thread_atexit_impl: destructors of thread_local objects.
 *
 * libsupc++'s __cxa_thread_atexit (called by g++ for every thread_local with
 * a destructor) forwards here, as with glibc.  musl has no thread-exit hook
 * for us, so:
 *
 * - Thread exit: each thread's destructor list is the value of one pthread
 *   key, whose key destructor runs the list.  musl calls key destructors in
 *   pthread_exit, which is also how a thread returning from its start routine
 *   (std::thread included) ends.  The key is created by a constructor so it
 *   gets a low index: musl runs key destructors in index order, so these run
 *   before most other keys' (glibc runs them before all).
 * - exit(): musl runs no key destructors, but C++ wants the calling thread's
 *   thread_locals destroyed before any static object.  An atexit handler runs
 *   the calling thread's list.  atexit handlers run last-registered first, so
 *   the handler is registered again at every main-thread registration: it
 *   then runs before the destructor of every static object constructed before
 *   the newest main-thread thread_local.  A static object constructed later
 *   than that (and registered with atexit later) is destroyed first — the one
 *   ordering difference from glibc.  Cost: one atexit slot per main-thread
 *   thread_local object.  Other threads register the handler once, for the
 *   case that they call exit() themselves.
 * Either way the list runs newest first, and destructors that construct more
 * thread_locals get those destroyed too.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

int __cxa_thread_atexit_impl(void (*dtor)(void *), void *obj, void *dso_symbol);

struct tls_dtor {
	void (*fn)(void *);
	void *obj;
	struct tls_dtor *next;
};

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_t main_thread;           /* set by the constructor */
static int handler_registered;

static void run_list(void)
{
	struct tls_dtor *d;

	while ((d = pthread_getspecific(key))) {
		pthread_setspecific(key, d->next);
		d->fn(d->obj);
		free(d);
	}
}

static void key_destructor(void *head)
{
	/* musl cleared the value before calling us; put it back so that
	 * registrations made by the destructors land on the same list. */
	pthread_setspecific(key, head);
	run_list();
}

static void run_at_exit(void)
{
	run_list();     /* the key exists: registering created it */
}

static void make_key(void)
{
	if (pthread_key_create(&key, key_destructor)) {
		static const char msg[] = "fatal: cannot create thread_local destructor key\n";
		write(2, msg, sizeof msg - 1);
		abort();
	}
}

__attribute__((constructor(101))) static void thread_atexit_init(void)
{
	main_thread = pthread_self();
	pthread_once(&key_once, make_key);
}

int __cxa_thread_atexit_impl(void (*dtor)(void *), void *obj, void *dso_symbol)
{
	struct tls_dtor *d;
	/* Before the constructor ran only the main thread exists. */
	int is_main = !main_thread || pthread_equal(pthread_self(), main_thread);

	(void)dso_symbol;       /* nothing is ever unloaded from the image */
	pthread_once(&key_once, make_key);
	d = malloc(sizeof *d);
	if (!d) {
		/* Like glibc: a thread_local that is never destroyed is worse
		 * than a clear stop. */
		static const char msg[] = "fatal: out of memory registering a thread_local destructor\n";
		write(2, msg, sizeof msg - 1);
		abort();
	}
	d->fn = dtor;
	d->obj = obj;
	d->next = pthread_getspecific(key);
	pthread_setspecific(key, d);

	if (is_main || !__atomic_exchange_n(&handler_registered, 1, __ATOMIC_ACQ_REL)) {
		__atomic_store_n(&handler_registered, 1, __ATOMIC_RELEASE);
		atexit(run_at_exit);
	}
	return 0;
}
