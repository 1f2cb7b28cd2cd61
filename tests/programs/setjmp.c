/* setjmp/longjmp: across frames, the value rules, locals, and sigsetjmp/siglongjmp out of a
 * signal handler with the signal mask restored. */
#include "check.h"
#include <setjmp.h>
#include <signal.h>

#pragma GCC diagnostic ignored "-Winfinite-recursion"

static jmp_buf env;
static int depth_reached;

static void __attribute__((noinline)) recurse(int depth, int target)
{
    volatile char pad[256];
    pad[0] = (char)depth;
    depth_reached = depth + pad[0] - pad[0];
    if (depth == target)
        longjmp(env, depth);
    recurse(depth + 1, target);
    pad[1] = 0; /* not a tail call */
}

static void __attribute__((noinline)) jump_with_zero(void)
{
    longjmp(env, 0);
}

static sigjmp_buf sigenv;
static volatile sig_atomic_t handler_runs;

static void on_usr1(int sig)
{
    handler_runs++;
    siglongjmp(sigenv, sig);
}

int main(void)
{
    volatile int counter = 0;
    volatile double dval = 1.5;
    int r = setjmp(env);
    printf("setjmp returned %d, counter %d\n", r, counter);
    if (r == 0) {
        counter = 10;
        dval = 2.25;
        recurse(0, 40);
        CHECKF(0, "recurse returned");
    } else if (r == 40) {
        CHECK(depth_reached == 40);
        CHECK(counter == 10);
        CHECK(dval == 2.25);
        counter = 20;
        jump_with_zero();
    } else {
        CHECKF(r == 1, "longjmp(env, 0) must make setjmp return 1, got %d", r);
        CHECK(counter == 20);
    }

    /* Many jumps in a loop. */
    volatile int loops = 0;
    if (setjmp(env) < 1000) {
        loops++;
        if (loops < 1000)
            longjmp(env, loops);
    }
    CHECK(loops == 1000);
    printf("1000 jumps ok\n");

    /* siglongjmp out of a handler: the mask saved by sigsetjmp(…, 1) comes back, so SIGUSR1 is
     * deliverable again afterwards. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    for (int i = 0; i < 3; i++) {
        int s = sigsetjmp(sigenv, 1);
        if (s == 0) {
            raise(SIGUSR1);
            CHECKF(0, "raise returned instead of jumping");
        } else {
            CHECK(s == SIGUSR1);
            sigset_t cur;
            sigprocmask(SIG_BLOCK, NULL, &cur);
            CHECKF(!sigismember(&cur, SIGUSR1), "SIGUSR1 still blocked after siglongjmp");
        }
    }
    printf("handler ran %d times, jumped out each time\n", (int)handler_runs);
    CHECK(handler_runs == 3);

    /* sigsetjmp(…, 0) does not restore the mask: SIGUSR1 stays blocked after the jump. */
    int s = sigsetjmp(sigenv, 0);
    if (s == 0) {
        raise(SIGUSR1);
        CHECKF(0, "raise returned instead of jumping");
    } else {
        sigset_t cur;
        sigprocmask(SIG_BLOCK, NULL, &cur);
        CHECKF(sigismember(&cur, SIGUSR1), "SIGUSR1 should still be blocked (mask not saved)");
        printf("without a saved mask SIGUSR1 stays blocked\n");
    }
    return check_finish();
}
