/* Threads: creation and joining, detaching, pthread_once, thread-specific data, many threads,
 * preemption, signals to threads, CPU-time clocks, sleeping, affinity and the CPU count.
 * `threads MODE [ARGS...]`, one mode per case.
 *
 * The guest may have any number of CPUs and the host has its own: the programs learn the CPUs
 * they may use from sched_getaffinity and never print anything that depends on how many there
 * are, or on timing. Durations get only generous bounds (emulated CPUs, busy hosts). */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL
#define SEC 1000000000LL

static int64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    int r = clock_gettime(clock, &ts);
    CHECKF(r == 0, "clock_gettime(%d): errno %d", (int)clock, errno);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static int64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

static struct timespec ts_of(int64_t ns) { return (struct timespec){ns / SEC, ns % SEC}; }

static void sleep_ns(int64_t ns)
{
    struct timespec ts = ts_of(ns);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The CPUs this process may run on. */
static cpu_set_t allowed;
static int allowed_count(void)
{
    CPU_ZERO(&allowed);
    int r = sched_getaffinity(0, sizeof allowed, &allowed);
    CHECKF(r == 0, "sched_getaffinity: errno %d", errno);
    return CPU_COUNT(&allowed);
}

static pthread_t start(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    int r = pthread_create(&t, NULL, fn, arg);
    CHECKF(r == 0, "pthread_create: %d", r);
    return t;
}

static void *join(pthread_t t)
{
    void *ret = NULL;
    int r = pthread_join(t, &ret);
    CHECKF(r == 0, "pthread_join: %d", r);
    return ret;
}

/* ---------------------------------------------------------------------------------------------
 * basic: create/join with results, pthread_exit, self/equal, ids, attributes, detached threads */

static pthread_t main_thread;

static void *double_it(void *arg)
{
    CHECK(!pthread_equal(pthread_self(), main_thread));
    CHECK(pthread_equal(pthread_self(), pthread_self()));
    return (void *)((intptr_t)arg * 2);
}

static void exit_deep(int depth);
static void (*volatile recurse)(int) = exit_deep;
static void exit_deep(int depth)
{
    if (depth > 0)
        recurse(depth - 1);
    pthread_exit((void *)42);
}

static void *exits_early(void *arg)
{
    (void)arg;
    exit_deep(5);
    CHECK(!"pthread_exit returned");
    return NULL;
}

static atomic_int ids_ok;
static void *check_ids(void *arg)
{
    pid_t pid = *(pid_t *)arg;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    CHECKF(getpid() == pid, "getpid %d in a thread, %d in main", (int)getpid(), (int)pid);
    CHECKF(tid != pid && tid > 0, "gettid %d, pid %d", (int)tid, (int)pid);
    atomic_fetch_add(&ids_ok, 1);
    return (void *)(intptr_t)tid;
}

static void *stack_probe(void *arg)
{
    char local[64];
    local[0] = 1;
    char *base = arg;
    /* The caller's stack of 256 KiB: our locals are inside it. */
    CHECK(local >= base && local < base + 256 * 1024);
    pthread_attr_t attr;
    CHECK(pthread_getattr_np(pthread_self(), &attr) == 0);
    void *addr;
    size_t size;
    CHECK(pthread_attr_getstack(&attr, &addr, &size) == 0);
    CHECK((char *)addr <= local && local < (char *)addr + size);
    pthread_attr_destroy(&attr);
    return (void *)(intptr_t)local[0];
}

static void *big_stack(void *arg)
{
    /* Uses most of a 1 MiB stack (musl's default is 128 KiB). */
    volatile char buf[900 * 1024];
    for (size_t i = 0; i < sizeof buf; i += 4096)
        buf[i] = (char)i;
    (void)arg;
    return (void *)(intptr_t)(buf[4096] == (char)4096);
}

static atomic_int detached_ran;
static sem_t detached_done;
static void *detached(void *arg)
{
    (void)arg;
    atomic_fetch_add(&detached_ran, 1);
    sem_post(&detached_done);
    return NULL;
}

static void *wait_then_return(void *arg)
{
    sleep_ns(20 * MS);
    return arg;
}

static void basic(void)
{
    main_thread = pthread_self();
    pthread_t t[8];
    for (intptr_t i = 0; i < 8; i++)
        t[i] = start(double_it, (void *)i);
    int sum = 0;
    for (int i = 0; i < 8; i++)
        sum += (int)(intptr_t)join(t[i]);
    CHECK(sum == 56);
    printf("8 threads joined, results sum %d\n", sum);

    CHECK(join(start(exits_early, NULL)) == (void *)42);
    printf("pthread_exit from a nested call: 42\n");

    /* Joining a thread that has already finished, and one that has not. */
    pthread_t done = start(double_it, (void *)21);
    sleep_ns(30 * MS);
    CHECK(join(done) == (void *)42);
    CHECK(join(start(wait_then_return, (void *)7)) == (void *)7);
    printf("join before and after the thread ends\n");

    pid_t pid = getpid();
    pthread_t a = start(check_ids, &pid), b = start(check_ids, &pid);
    pid_t ta = (pid_t)(intptr_t)join(a), tb = (pid_t)(intptr_t)join(b);
    CHECK(ta != tb);
    CHECK(atomic_load(&ids_ok) == 2);
    printf("threads share the pid and have their own tids\n");

    /* A stack we provide, and a big stack size. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    char *stack = aligned_alloc(4096, 256 * 1024);
    CHECK(pthread_attr_setstack(&attr, stack, 256 * 1024) == 0);
    pthread_t s;
    CHECK(pthread_create(&s, &attr, stack_probe, stack) == 0);
    CHECK(join(s) == (void *)1);
    pthread_attr_destroy(&attr);
    free(stack);
    pthread_attr_init(&attr);
    CHECK(pthread_attr_setstacksize(&attr, 1024 * 1024) == 0);
    CHECK(pthread_create(&s, &attr, big_stack, NULL) == 0);
    CHECK(join(s) == (void *)1);
    pthread_attr_destroy(&attr);
    printf("own stack and a 1 MiB stack\n");

    /* Detached threads: created detached, and detached after creation. */
    sem_init(&detached_done, 0, 0);
    pthread_attr_init(&attr);
    CHECK(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&s, &attr, detached, NULL) == 0);
    pthread_attr_destroy(&attr);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_detach(start(detached, NULL)) == 0);
    for (int i = 0; i < 8; i++)
        CHECK(sem_wait(&detached_done) == 0);
    CHECK(atomic_load(&detached_ran) == 8);
    printf("8 detached threads ran\n");
}

/* ---------------------------------------------------------------------------------------------
 * many [N] [BATCH]: N threads in batches of BATCH, all created before any of the batch is joined */

static atomic_int many_ran;
static void *count_one(void *arg)
{
    atomic_fetch_add(&many_ran, 1);
    return arg;
}

static void many(int n, int batch)
{
    pthread_t *t = calloc((size_t)batch, sizeof *t);
    long sum = 0;
    for (int done = 0; done < n; done += batch) {
        int k = n - done < batch ? n - done : batch;
        for (int i = 0; i < k; i++) {
            int r = pthread_create(&t[i], NULL, count_one, (void *)(intptr_t)(done + i));
            CHECKF(r == 0, "pthread_create #%d: %d", done + i, r);
            if (r != 0)
                exit(check_finish());
        }
        for (int i = 0; i < k; i++)
            sum += (intptr_t)join(t[i]);
    }
    free(t);
    CHECK(atomic_load(&many_ran) == n);
    CHECK(sum == (long)n * (n - 1) / 2);
    printf("%d threads created and joined in batches of %d\n", atomic_load(&many_ran), batch);
}

/* ---------------------------------------------------------------------------------------------
 * once: many threads race into pthread_once; the initializer runs once and everyone waits for it */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int once_runs, once_done;
static atomic_int once_gate;

static void once_init(void)
{
    atomic_fetch_add(&once_runs, 1);
    sleep_ns(30 * MS); /* the others must wait for this */
    atomic_store(&once_done, 1);
}

static void *once_racer(void *arg)
{
    (void)arg;
    while (!atomic_load(&once_gate))
        sched_yield();
    CHECK(pthread_once(&once, once_init) == 0);
    CHECK(atomic_load(&once_done) == 1);
    return NULL;
}

static void once_mode(void)
{
    pthread_t t[16];
    for (int i = 0; i < 16; i++)
        t[i] = start(once_racer, NULL);
    atomic_store(&once_gate, 1);
    for (int i = 0; i < 16; i++)
        join(t[i]);
    CHECK(pthread_once(&once, once_init) == 0);
    CHECK(atomic_load(&once_runs) == 1);
    printf("pthread_once: %d run for 17 callers\n", atomic_load(&once_runs));
}

/* ---------------------------------------------------------------------------------------------
 * tsd: pthread_key_create destructors at thread exit (not for NULL values; re-run when a
 * destructor sets a value again), values per thread, key deletion. Threads run one at a time so
 * the destructors' output has one order. */

static pthread_key_t key_a, key_b, key_c;
static atomic_int destructor_calls;

static void destroy_a(void *value)
{
    atomic_fetch_add(&destructor_calls, 1);
    printf("  destructor a(%s)\n", (char *)value);
    CHECK(pthread_getspecific(key_a) == NULL); /* cleared before the call */
}

static void destroy_b(void *value)
{
    atomic_fetch_add(&destructor_calls, 1);
    int round = (int)(intptr_t)value;
    printf("  destructor b(round %d)\n", round);
    if (round < 3) /* sets a value again: the destructors run another round */
        pthread_setspecific(key_b, (void *)(intptr_t)(round + 1));
}

static void destroy_c(void *value)
{
    (void)value;
    atomic_fetch_add(&destructor_calls, 1);
    printf("  destructor c must not run for NULL\n");
}

static void *tsd_thread(void *arg)
{
    CHECK(pthread_getspecific(key_a) == NULL);
    CHECK(pthread_getspecific(key_b) == NULL);
    CHECK(pthread_setspecific(key_a, arg) == 0);
    CHECK(pthread_getspecific(key_a) == arg);
    if (strcmp(arg, "second") == 0)
        CHECK(pthread_setspecific(key_b, (void *)1) == 0);
    CHECK(pthread_setspecific(key_c, (void *)5) == 0);
    CHECK(pthread_setspecific(key_c, NULL) == 0);
    printf("thread %s exits\n", (char *)arg);
    return NULL;
}

static void *tsd_exit_thread(void *arg)
{
    CHECK(pthread_setspecific(key_a, arg) == 0);
    printf("thread %s calls pthread_exit\n", (char *)arg);
    pthread_exit(NULL);
}

static atomic_int tsd_step;
static void *tsd_hold_thread(void *arg)
{
    CHECK(pthread_setspecific(key_a, arg) == 0);
    atomic_store(&tsd_step, 1);
    while (atomic_load(&tsd_step) != 2)
        sleep_ns(1 * MS);
    return NULL;
}

static void tsd(void)
{
    CHECK(pthread_key_create(&key_a, destroy_a) == 0);
    CHECK(pthread_key_create(&key_b, destroy_b) == 0);
    CHECK(pthread_key_create(&key_c, destroy_c) == 0);
    CHECK(pthread_setspecific(key_a, "main") == 0);
    join(start(tsd_thread, "first"));
    join(start(tsd_thread, "second"));
    join(start(tsd_exit_thread, "third"));
    CHECK(strcmp(pthread_getspecific(key_a), "main") == 0);
    CHECK(atomic_load(&destructor_calls) == 6);
    printf("main's value is still \"%s\"; %d destructor calls\n",
           (char *)pthread_getspecific(key_a), atomic_load(&destructor_calls));

    /* Deleting a key while a thread holds a value: its destructor does not run at that
     * thread's exit. */
    atomic_store(&tsd_step, 0);
    pthread_t t = start(tsd_hold_thread, "held");
    while (atomic_load(&tsd_step) != 1)
        sleep_ns(1 * MS);
    CHECK(pthread_key_delete(key_a) == 0);
    atomic_store(&tsd_step, 2);
    join(t);
    CHECK(atomic_load(&destructor_calls) == 6);
    pthread_key_t key_d;
    CHECK(pthread_key_create(&key_d, NULL) == 0);
    CHECK(pthread_getspecific(key_d) == NULL);
    printf("after key deletion: %d destructor calls\n", atomic_load(&destructor_calls));
}

/* ---------------------------------------------------------------------------------------------
 * spin: more threads that never make a system call than there are CPUs. Main busy-waits (no
 * system calls) for a flag that another thread sets after computing for a while, while the
 * spinners spin: this finishes only if the scheduler preempts. One spinner never stops at all;
 * exit() must end the process anyway. */

static atomic_int spin_stop, spin_flag, spinners_started;
static atomic_uint_fast64_t spin_result;

static void *spinner(void *arg)
{
    (void)arg;
    atomic_fetch_add(&spinners_started, 1);
    while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
        __asm__ volatile("pause");
    return NULL;
}

static void *forever(void *arg)
{
    (void)arg;
    atomic_fetch_add(&spinners_started, 1);
    for (;;)
        __asm__ volatile("" ::: "memory");
    return NULL;
}

static void *setter(void *arg)
{
    uint64_t x = (uint64_t)(intptr_t)arg;
    for (int i = 0; i < 3000000; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    atomic_store(&spin_result, x);
    atomic_store(&spin_flag, 1);
    return NULL;
}

static void spin(void)
{
    int cpus = allowed_count();
    int n = cpus + 1;
    pthread_t *t = calloc((size_t)n, sizeof *t);
    for (int i = 0; i < n; i++)
        t[i] = start(spinner, NULL);
    pthread_t f = start(forever, NULL);
    CHECK(pthread_detach(f) == 0);
    pthread_t s = start(setter, (void *)1);
    while (!atomic_load_explicit(&spin_flag, memory_order_relaxed))
        __asm__ volatile("pause");
    printf("main saw the flag while %s spun\n", "CPUs+2 threads");
    CHECK(atomic_load(&spin_result) != 0);
    join(s);
    atomic_store(&spin_stop, 1);
    for (int i = 0; i < n; i++)
        join(t[i]);
    CHECK(atomic_load(&spinners_started) == n + 1);
    printf("spinners stopped; one still spins forever\n");
    free(t);
    exit(check_finish()); /* with the forever-spinner still running */
}

/* ---------------------------------------------------------------------------------------------
 * kill: pthread_kill to a thread in sigsuspend, in nanosleep, spinning in user space, with the
 * signal blocked (pending until it unblocks); signal 0. kill-self: to the calling thread. */

static volatile sig_atomic_t handled;
static pthread_t handled_in;
static atomic_int ready;

static void on_usr(int sig)
{
    (void)sig;
    handled_in = pthread_self();
    handled++;
}

static void *in_sigsuspend(void *arg)
{
    (void)arg;
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    CHECK(pthread_sigmask(SIG_BLOCK, &block, &old) == 0);
    atomic_store(&ready, 1);
    sigset_t none;
    sigemptyset(&none);
    int r = sigsuspend(&none);
    CHECK(r == -1 && errno == EINTR);
    CHECK(handled == 1 && pthread_equal(handled_in, pthread_self()));
    return NULL;
}

static void *in_nanosleep(void *arg)
{
    (void)arg;
    atomic_store(&ready, 1);
    struct timespec ts = {30, 0};
    int r = nanosleep(&ts, &ts);
    CHECKF(r == -1 && errno == EINTR, "nanosleep returned %d, errno %d", r, errno);
    CHECK(ts.tv_sec <= 30 && ts.tv_sec >= 20); /* the time left */
    CHECK(pthread_equal(handled_in, pthread_self()));
    return NULL;
}

static void *in_user_loop(void *arg)
{
    (void)arg;
    atomic_store(&ready, 1);
    while (handled == 0)
        __asm__ volatile("pause");
    CHECK(pthread_equal(handled_in, pthread_self()));
    return NULL;
}

static void *with_blocked_usr2(void *arg)
{
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    CHECK(pthread_sigmask(SIG_BLOCK, &set, NULL) == 0);
    atomic_store(&ready, 1);
    while (atomic_load(&ready) != 2)
        sleep_ns(1 * MS);
    sigset_t pending;
    CHECK(sigpending(&pending) == 0);
    CHECK(sigismember(&pending, SIGUSR2));
    CHECK(handled == 0);
    CHECK(pthread_sigmask(SIG_UNBLOCK, &set, NULL) == 0);
    /* Delivered on the way out of the system call that unblocked it. */
    CHECK(handled == 1 && pthread_equal(handled_in, pthread_self()));
    CHECK(sigpending(&pending) == 0 && !sigismember(&pending, SIGUSR2));
    return NULL;
}

static void send_when_ready(void *(*fn)(void *), int sig, int64_t grace, const char *what)
{
    handled = 0;
    atomic_store(&ready, 0);
    pthread_t t = start(fn, NULL);
    while (!atomic_load(&ready))
        sleep_ns(1 * MS);
    if (grace)
        sleep_ns(grace);
    CHECK(pthread_kill(t, sig) == 0);
    join(t);
    CHECKF(handled == 1, "%s: handled %d times", what, (int)handled);
    printf("pthread_kill to a thread %s: handled in that thread\n", what);
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
}

static void kill_mode(void)
{
    install_handlers();

    send_when_ready(in_sigsuspend, SIGUSR1, 0, "in sigsuspend");
    send_when_ready(in_nanosleep, SIGUSR1, 200 * MS, "in nanosleep");
    send_when_ready(in_user_loop, SIGUSR1, 0, "spinning in user space");

    handled = 0;
    atomic_store(&ready, 0);
    pthread_t t = start(with_blocked_usr2, NULL);
    while (!atomic_load(&ready))
        sleep_ns(1 * MS);
    CHECK(pthread_kill(t, SIGUSR2) == 0);
    CHECK(pthread_kill(t, 0) == 0);
    atomic_store(&ready, 2);
    join(t);
    CHECK(handled == 1);
    printf("pthread_kill of a blocked signal: pending, delivered when unblocked\n");
}

/* Leaves non-zero bytes in the stack below the caller, where a signal frame will go. */
static __attribute__((noinline)) void dirty_stack(void)
{
    volatile unsigned char junk[16384];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(0xA5 ^ i);
}

/* pthread_kill to itself from different stack depths over a dirtied stack. */
static __attribute__((noinline)) int kill_self_at_depth(int depth)
{
    if (depth > 0) {
        volatile char pad[48];
        pad[0] = (char)depth;
        return kill_self_at_depth(depth - 1) + pad[0] - (char)depth;
    }
    int before = handled;
    CHECK(pthread_kill(pthread_self(), SIGUSR1) == 0);
    return handled - before;
}

static void *kill_self_in_thread(void *arg)
{
    (void)arg;
    handled = 0;
    CHECK(pthread_kill(pthread_self(), SIGUSR2) == 0);
    CHECK(handled == 1 && pthread_equal(handled_in, pthread_self()));
    int ok = 0;
    for (int depth = 0; depth < 32; depth++) {
        dirty_stack();
        ok += kill_self_at_depth(depth);
    }
    CHECKF(ok == 32, "%d of 32 handled", ok);
    return NULL;
}

static void kill_self(void)
{
    install_handlers();
    handled = 0;
    CHECK(pthread_kill(pthread_self(), SIGUSR1) == 0);
    CHECK(handled == 1 && pthread_equal(handled_in, pthread_self()));
    printf("pthread_kill to itself: handled before it returned\n");
    int ok = 0;
    for (int depth = 0; depth < 32; depth++) {
        dirty_stack();
        ok += kill_self_at_depth(depth);
    }
    CHECKF(ok == 32, "%d of 32 handled", ok);
    printf("32 more from different stack depths over used stack memory\n");
    join(start(kill_self_in_thread, NULL));
    printf("pthread_kill from another thread to itself: handled before it returned\n");
    handled = 0;
    CHECK(raise(SIGUSR1) == 0);
    CHECK(handled == 1);
    printf("raise: handled before it returned\n");
}

/* ---------------------------------------------------------------------------------------------
 * cputime: CLOCK_THREAD_CPUTIME_ID grows while a thread computes and barely while it sleeps.
 * cputime-other: another thread's clock (pthread_getcpuclockid), and the process clock, which
 * counts every thread. */

static atomic_int stop_spinning;

static void *spin_for_cpu(void *arg)
{
    int64_t want = *(int64_t *)arg;
    int64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), wall0 = now_ns();
    int64_t cpu = cpu0, wall = wall0;
    while (cpu - cpu0 < want && wall - wall0 < 60 * SEC) {
        for (volatile int i = 0; i < 10000; i++) {
        }
        cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        wall = now_ns();
    }
    CHECKF(cpu - cpu0 >= want, "only %lld ns of CPU time in %lld ns", (long long)(cpu - cpu0),
           (long long)(wall - wall0));
    CHECKF(wall - wall0 >= cpu - cpu0 - 2 * MS, "%lld ns of CPU time in %lld ns of real time",
           (long long)(cpu - cpu0), (long long)(wall - wall0));
    return NULL;
}

static void *sleep_a_while(void *arg)
{
    (void)arg;
    int64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), wall0 = now_ns();
    for (int i = 0; i < 5; i++)
        sleep_ns(40 * MS);
    int64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0, wall = now_ns() - wall0;
    CHECKF(wall >= 200 * MS, "slept %lld ns", (long long)wall);
    CHECKF(cpu >= 0 && cpu < 50 * MS, "a sleeping thread used %lld ns of CPU time in %lld ns",
           (long long)cpu, (long long)wall);
    return NULL;
}

static void *spin_until_stopped(void *arg)
{
    (void)arg;
    atomic_store(&ready, 1);
    while (!atomic_load_explicit(&stop_spinning, memory_order_relaxed))
        __asm__ volatile("pause");
    return NULL;
}

static void cputime(void)
{
    int64_t want = 150 * MS;
    pthread_t a = start(spin_for_cpu, &want), b = start(sleep_a_while, NULL);
    join(a);
    join(b);
    printf("thread CPU time: a spinning thread's grows, a sleeping thread's barely\n");
}

static void cputime_other(void)
{
    int64_t proc0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    int64_t want = 100 * MS;
    join(start(spin_for_cpu, &want));
    int64_t proc = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - proc0;
    CHECKF(proc >= want, "process CPU time grew %lld ns while a thread used %lld ns",
           (long long)proc, (long long)want);
    printf("the process CPU clock counts other threads\n");

    atomic_store(&ready, 0);
    pthread_t t = start(spin_until_stopped, NULL);
    while (!atomic_load(&ready))
        sleep_ns(1 * MS);
    clockid_t clock;
    CHECK(pthread_getcpuclockid(t, &clock) == 0);
    struct timespec ts;
    int r = clock_gettime(clock, &ts);
    CHECKF(r == 0, "clock_gettime(pthread_getcpuclockid(...)): errno %d", errno);
    int64_t c0 = (int64_t)ts.tv_sec * SEC + ts.tv_nsec, c = c0;
    int64_t wall0 = now_ns();
    while (r == 0 && c - c0 < 50 * MS && now_ns() - wall0 < 60 * SEC) {
        sleep_ns(5 * MS);
        r = clock_gettime(clock, &ts);
        c = (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
    }
    CHECKF(c - c0 >= 50 * MS, "the spinner's clock grew %lld ns", (long long)(c - c0));
    atomic_store(&stop_spinning, 1);
    join(t);
    printf("pthread_getcpuclockid: another thread's clock grows while it spins\n");
}

/* ---------------------------------------------------------------------------------------------
 * sleep: nanosleep and clock_nanosleep (relative, TIMER_ABSTIME on both clocks) in several
 * threads at once, and while other threads keep every CPU busy. */

struct sleeper {
    int64_t ns;
    int how; /* 0 nanosleep, 1 monotonic absolute, 2 realtime absolute, 3 monotonic relative */
};

static void *timed_sleep(void *arg)
{
    struct sleeper *s = arg;
    int64_t t0 = now_ns();
    int r = 0;
    if (s->how == 0) {
        struct timespec ts = ts_of(s->ns);
        r = nanosleep(&ts, NULL);
    } else if (s->how == 1 || s->how == 2) {
        clockid_t clock = s->how == 1 ? CLOCK_MONOTONIC : CLOCK_REALTIME;
        int64_t deadline = clock_ns(clock) + s->ns;
        struct timespec ts = ts_of(deadline);
        r = clock_nanosleep(clock, TIMER_ABSTIME, &ts, NULL);
        CHECK(clock_ns(clock) >= deadline);
    } else {
        struct timespec ts = ts_of(s->ns);
        r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
    }
    int64_t took = now_ns() - t0;
    CHECKF(r == 0, "sleep kind %d returned %d", s->how, r);
    CHECKF(took >= s->ns && took < 5 * SEC, "sleep kind %d for %lld ns took %lld ns", s->how,
           (long long)s->ns, (long long)took);
    return NULL;
}

static void sleep_mode(void)
{
    struct sleeper one = {50 * MS, 0};
    timed_sleep(&one);
    printf("nanosleep(50 ms) took at least 50 ms and less than 5 s\n");

    struct sleeper all[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        all[i] = (struct sleeper){(20 + 10 * i) * MS, i % 4};
        t[i] = start(timed_sleep, &all[i]);
    }
    int64_t t0 = now_ns();
    for (int i = 0; i < 8; i++)
        join(t[i]);
    CHECK(now_ns() - t0 < 5 * SEC);
    printf("8 threads slept at once: nanosleep, clock_nanosleep relative and absolute\n");

    /* A deadline in the past, on both clocks. */
    for (int c = 0; c < 2; c++) {
        clockid_t clock = c ? CLOCK_REALTIME : CLOCK_MONOTONIC;
        /* Half of now: in the past, but not negative (the guest's monotonic clock starts at
         * boot, which may be less than a second ago). */
        struct timespec past = ts_of(clock_ns(clock) / 2);
        int64_t t1 = now_ns();
        CHECK(clock_nanosleep(clock, TIMER_ABSTIME, &past, NULL) == 0);
        CHECK(now_ns() - t1 < 5 * SEC);
    }
    printf("absolute deadlines in the past return at once\n");

    /* Sleepers still wake while more spinning threads than CPUs want the CPUs. */
    int n = allowed_count() + 1;
    pthread_t *busy = calloc((size_t)n, sizeof *busy);
    for (int i = 0; i < n; i++)
        busy[i] = start(spin_until_stopped, NULL);
    struct sleeper s1 = {50 * MS, 0}, s2 = {50 * MS, 1};
    pthread_t a = start(timed_sleep, &s1), b = start(timed_sleep, &s2);
    join(a);
    join(b);
    atomic_store(&stop_spinning, 1);
    for (int i = 0; i < n; i++)
        join(busy[i]);
    free(busy);
    printf("sleepers woke on time while every CPU was busy\n");
}

/* ---------------------------------------------------------------------------------------------
 * affinity: pin the main thread, then other threads, to each allowed CPU in turn and check that
 * sched_getcpu reports it; the CPU count from sysconf matches the affinity mask. */

static int cpu_now(void)
{
    int c = sched_getcpu();
    CHECKF(c >= 0, "sched_getcpu: errno %d", errno);
    return c;
}

static int pin_failures;

static void pin_self_and_check(int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    int r = sched_setaffinity(0, sizeof one, &one);
    CHECKF(r == 0, "sched_setaffinity(cpu %d): errno %d", cpu, errno);
    if (cpu_now() != cpu)
        pin_failures++;
    for (int i = 0; i < 5; i++) {
        sched_yield();
        if (cpu_now() != cpu)
            pin_failures++;
    }
    sleep_ns(2 * MS);
    if (cpu_now() != cpu)
        pin_failures++;
    cpu_set_t got;
    CHECK(sched_getaffinity(0, sizeof got, &got) == 0);
    CHECK(CPU_EQUAL(&got, &one));
}

static void *pinned_thread(void *arg)
{
    int cpu = (int)(intptr_t)arg;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    CHECK(pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0);
    int bad = 0;
    for (int i = 0; i < 200; i++) {
        if (cpu_now() != cpu)
            bad++;
        if (i % 20 == 0)
            sched_yield();
        for (volatile int j = 0; j < 2000; j++) {
        }
    }
    cpu_set_t got;
    CHECK(pthread_getaffinity_np(pthread_self(), sizeof got, &got) == 0);
    CHECK(CPU_EQUAL(&got, &one));
    return (void *)(intptr_t)bad;
}

static void affinity(void)
{
    int n = allowed_count();
    CHECK(n >= 1);
    long online = sysconf(_SC_NPROCESSORS_ONLN), conf = sysconf(_SC_NPROCESSORS_CONF);
    CHECKF(online == n, "_SC_NPROCESSORS_ONLN %ld, affinity mask has %d", online, n);
    CHECKF(conf >= n, "_SC_NPROCESSORS_CONF %ld, affinity mask has %d", conf, n);
    printf("sysconf CPU counts agree with sched_getaffinity\n");

    /* The raw system call returns the size of the kernel's mask; sizes not a multiple of 8
     * bytes are EINVAL. */
    unsigned long mask[16];
    long r = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
    CHECKF(r >= 8 && r <= (long)sizeof mask && r % 8 == 0, "raw sched_getaffinity: %ld", r);
    r = syscall(SYS_sched_getaffinity, 0, 4, mask);
    CHECKF(r == -1 && errno == EINVAL, "sched_getaffinity with 4 bytes: %ld, errno %d", r, errno);

    int c = cpu_now();
    CHECKF(CPU_ISSET(c, &allowed), "running on cpu %d, not in the mask", c);

    cpu_set_t all = allowed;
    int pinned = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &all))
            continue;
        pin_self_and_check(cpu);
        pinned++;
    }
    CHECK(pinned == n);
    CHECKF(pin_failures == 0, "%d sched_getcpu readings were not the pinned CPU", pin_failures);
    printf("main pinned to each CPU in turn: ok\n");

    CHECK(sched_setaffinity(0, sizeof all, &all) == 0);
    cpu_set_t empty;
    CPU_ZERO(&empty);
    errno = 0;
    CHECK(sched_setaffinity(0, sizeof empty, &empty) == -1 && errno == EINVAL);
    cpu_set_t none_online;
    CPU_ZERO(&none_online);
    CPU_SET(CPU_SETSIZE - 1, &none_online);
    errno = 0;
    CHECK(sched_setaffinity(0, sizeof none_online, &none_online) == -1 && errno == EINVAL);
    cpu_set_t back;
    CHECK(sched_getaffinity(0, sizeof back, &back) == 0 && CPU_EQUAL(&back, &all));
    printf("empty and offline-only masks are EINVAL\n");

    /* A thread per allowed CPU (twice over), each pinning itself. */
    pthread_t t[2 * CPU_SETSIZE];
    int k = 0;
    for (int round = 0; round < 2; round++)
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
            if (CPU_ISSET(cpu, &all))
                t[k++] = start(pinned_thread, (void *)(intptr_t)cpu);
    int bad = 0;
    for (int i = 0; i < k; i++)
        bad += (int)(intptr_t)join(t[i]);
    CHECKF(bad == 0, "%d sched_getcpu readings in pinned threads were wrong", bad);
    printf("threads pinned to each CPU: ok\n");

    /* A thread inherits its creator's mask. */
    int first = -1;
    for (int cpu = 0; cpu < CPU_SETSIZE && first < 0; cpu++)
        if (CPU_ISSET(cpu, &all))
            first = cpu;
    pin_self_and_check(first);
    CHECK(join(start(pinned_thread, (void *)(intptr_t)first)) == 0);
    CHECK(sched_setaffinity(0, sizeof all, &all) == 0);
    printf("inherited mask: ok\n");
}

/* ---------------------------------------------------------------------------------------------
 * atomic: C11 atomics under contention from two threads per CPU: fetch_add, a compare-exchange
 * loop, and a spin lock made of atomic_flag guarding a plain counter. */

#define ATOMIC_ITERS 100000
static atomic_long counter_add, counter_cas;
static atomic_flag lock_flag = ATOMIC_FLAG_INIT;
static long plain_counter;
static atomic_int atomic_gate;

static void *contend(void *arg)
{
    (void)arg;
    while (!atomic_load(&atomic_gate))
        __asm__ volatile("pause");
    for (int i = 0; i < ATOMIC_ITERS; i++) {
        atomic_fetch_add_explicit(&counter_add, 1, memory_order_relaxed);
        long old = atomic_load_explicit(&counter_cas, memory_order_relaxed);
        while (!atomic_compare_exchange_weak(&counter_cas, &old, old + 2)) {
        }
        if (i % 8 == 0) {
            while (atomic_flag_test_and_set_explicit(&lock_flag, memory_order_acquire))
                __asm__ volatile("pause");
            plain_counter++;
            atomic_flag_clear_explicit(&lock_flag, memory_order_release);
        }
    }
    return NULL;
}

static void atomic_mode(void)
{
    int n = 2 * allowed_count();
    pthread_t *t = calloc((size_t)n, sizeof *t);
    for (int i = 0; i < n; i++)
        t[i] = start(contend, NULL);
    atomic_store(&atomic_gate, 1);
    for (int i = 0; i < n; i++)
        join(t[i]);
    free(t);
    CHECKF(atomic_load(&counter_add) == (long)n * ATOMIC_ITERS, "fetch_add: %ld",
           atomic_load(&counter_add));
    CHECKF(atomic_load(&counter_cas) == 2L * n * ATOMIC_ITERS, "cas: %ld",
           atomic_load(&counter_cas));
    CHECKF(plain_counter == (long)n * (ATOMIC_ITERS / 8), "spin lock: %ld", plain_counter);
    printf("atomic counters exact with 2 threads per CPU\n");
}

/* ---------------------------------------------------------------------------------------------
 * token-ring [THREADS] [ROUNDS]: a token passed around THREADS threads through one mutex and a
 * condition variable (each waits for its turn, then wakes everyone): constant switching between
 * threads, sleeping and waking on every CPU. */

static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ring_turn = PTHREAD_COND_INITIALIZER;
static long ring_token;
static int ring_threads, ring_rounds;

static void *ring_member(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < ring_rounds; i++) {
        pthread_mutex_lock(&ring_lock);
        while (ring_token % ring_threads != id)
            pthread_cond_wait(&ring_turn, &ring_lock);
        ring_token++;
        pthread_cond_broadcast(&ring_turn);
        pthread_mutex_unlock(&ring_lock);
    }
    return NULL;
}

static void token_ring(int threads, int rounds)
{
    ring_threads = threads;
    ring_rounds = rounds;
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    for (int i = 0; i < threads; i++)
        t[i] = start(ring_member, (void *)(intptr_t)i);
    for (int i = 0; i < threads; i++)
        join(t[i]);
    free(t);
    CHECK(ring_token == (long)threads * rounds);
    printf("token passed %ld times around %d threads\n", ring_token, threads);
}

/* ---------------------------------------------------------------------------------------------
 * main-exit: main calls pthread_exit; the process lives on until its last thread returns.
 * thread-exit: a thread calls exit(3) while main waits in pthread_join. */

static void *outlives_main(void *arg)
{
    (void)arg;
    sleep_ns(50 * MS);
    printf("the last thread ends the process\n");
    fflush(stdout);
    return NULL;
}

static void *calls_exit(void *arg)
{
    (void)arg;
    sleep_ns(20 * MS);
    printf("a thread calls exit(3)\n");
    exit(3);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* threads print: keep the order of lines simple */
    if (MODE_IS("basic"))
        basic();
    else if (MODE_IS("many"))
        many(argc > 2 ? atoi(argv[2]) : 1000, argc > 3 ? atoi(argv[3]) : 50);
    else if (MODE_IS("once"))
        once_mode();
    else if (MODE_IS("tsd"))
        tsd();
    else if (MODE_IS("spin"))
        spin();
    else if (MODE_IS("kill"))
        kill_mode();
    else if (MODE_IS("kill-self"))
        kill_self();
    else if (MODE_IS("cputime"))
        cputime();
    else if (MODE_IS("cputime-other"))
        cputime_other();
    else if (MODE_IS("sleep"))
        sleep_mode();
    else if (MODE_IS("affinity"))
        affinity();
    else if (MODE_IS("atomic"))
        atomic_mode();
    else if (MODE_IS("token-ring"))
        token_ring(argc > 2 ? atoi(argv[2]) : 4, argc > 3 ? atoi(argv[3]) : 2000);
    else if (MODE_IS("main-exit")) {
        pthread_detach(start(outlives_main, NULL));
        printf("main calls pthread_exit\n");
        pthread_exit(NULL);
    } else if (MODE_IS("thread-exit")) {
        pthread_t t = start(calls_exit, NULL);
        join(t);
        printf("not reached\n");
    } else {
        printf("unknown mode\n");
        return 2;
    }
    return check_finish();
}
