/*
 * atexit / __cxa_atexit with glibc's exit order for thread_local objects.
 *
 * C++ requires the thread_local objects of the thread that calls exit() to be
 * destroyed before any static object, and glibc's exit() does that first.
 * musl's exit() starts with __funcs_on_exit(), which runs the atexit list
 * newest first; an atexit handler of ours would run at its place in that list,
 * i.e. after every handler and static destructor registered later.  So this
 * file replaces musl's atexit.o as a whole — atexit, __cxa_atexit,
 * __cxa_finalize, __funcs_on_exit, __atexit_lockptr, the same set of names, so
 * musl's object is never linked (no libc.a member refers to them; this archive
 * comes before libc.a in the link).  __funcs_on_exit (musl's exit() calls it;
 * exit.o holds a weak empty default) first runs the calling thread's
 * thread_local destructors, then the handlers, newest first, including ones
 * registered while exiting — as musl's does.
 *
 * Hazard: musl 1.2.3 internals: the __funcs_on_exit hook name, __lock/
 * __unlock, and __atexit_lockptr (fork() holds that lock across the fork so
 * a child never inherits it taken).
 */
#include <stdint.h>
#include <stdlib.h>

#include "runtime.h"

int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);
void __cxa_finalize(void *dso);
void __funcs_on_exit(void);
extern __typeof__(__ferrite_thread_dtors_at_exit) __ferrite_thread_dtors_at_exit
	__attribute__((weak));
__attribute__((visibility("hidden"))) void __lock(volatile int *);
__attribute__((visibility("hidden"))) void __unlock(volatile int *);

#define SLOTS 32

/* Handlers live in blocks chained newest first; `used` counts the filled
 * slots of the newest block.  Blocks are never freed, as in musl. */
static struct block {
	struct block *next;
	void (*fn[SLOTS])(void *);
	void *arg[SLOTS];
} first, *head;
static int used;
static volatile int lock[1];
volatile int *const __atexit_lockptr = lock;

int __cxa_atexit(void (*fn)(void *), void *arg, void *dso)
{
	(void)dso;      /* nothing is ever unloaded from a static image */
	__lock(lock);
	if (!head)
		head = &first;
	if (used == SLOTS) {
		struct block *b = calloc(1, sizeof *b);
		if (!b) {
			__unlock(lock);
			return -1;
		}
		b->next = head;
		head = b;
		used = 0;
	}
	head->fn[used] = fn;
	head->arg[used] = arg;
	used++;
	__unlock(lock);
	return 0;
}

static void call_plain(void *f)
{
	((void (*)(void))(uintptr_t)f)();
}

int atexit(void (*fn)(void))
{
	return __cxa_atexit(call_plain, (void *)(uintptr_t)fn, 0);
}

/* Only a shared object unloading calls this with its handle; never here. */
void __cxa_finalize(void *dso)
{
	(void)dso;
}

void __funcs_on_exit(void)
{
	void (*fn)(void *);
	void *arg;

	if (__ferrite_thread_dtors_at_exit)
		__ferrite_thread_dtors_at_exit();
	__lock(lock);
	while (head) {
		if (!used) {
			/* Older blocks are always full. */
			head = head->next;
			used = SLOTS;
			continue;
		}
		used--;
		fn = head->fn[used];
		arg = head->arg[used];
		/* Unlocked while calling: handlers may register more. */
		__unlock(lock);
		fn(arg);
		__lock(lock);
	}
	__unlock(lock);
}
