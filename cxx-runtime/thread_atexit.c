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
 *   thread_locals destroyed before any static object.  atexit.c replaces
 *   musl's atexit list so that exit() calls __ferrite_thread_dtors_at_exit()
 *   before any atexit handler or static destructor, as glibc does.
 * Either way the list runs newest first, and destructors that construct more
 * thread_locals get those destroyed too.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime.h"

int __cxa_thread_atexit_impl(void (*dtor)(void *), void *obj, void *dso_symbol);

struct tls_dtor {
	void (*fn)(void *);
	void *obj;
	struct tls_dtor *next;
};

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static int key_made;

/* exit() must reach atexit.c's __funcs_on_exit, which calls us: referring to
 * a symbol of that file links it whenever this one is linked. */
int __cxa_atexit(void (*)(void *), void *, void *);
__attribute__((used)) static int (*const need_atexit)(void (*)(void *), void *, void *) = __cxa_atexit;

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

void __ferrite_thread_dtors_at_exit(void)
{
	/* Nothing registered yet means no key either: nothing to run. */
	if (__atomic_load_n(&key_made, __ATOMIC_ACQUIRE))
		run_list();
}

static void make_key(void)
{
	if (!pthread_key_create(&key, key_destructor)) {
		__atomic_store_n(&key_made, 1, __ATOMIC_RELEASE);
	} else {
		static const char msg[] = "fatal: cannot create thread_local destructor key\n";
		write(2, msg, sizeof msg - 1);
		abort();
	}
}

/* Early, so the key gets a low index: see above. */
__attribute__((constructor(101))) static void thread_atexit_init(void)
{
	pthread_once(&key_once, make_key);
}

int __cxa_thread_atexit_impl(void (*dtor)(void *), void *obj, void *dso_symbol)
{
	struct tls_dtor *d;

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
	return 0;
}
