/* Signals within one process: `signals MODE`.
 *   raise        — raise(SIGUSR1) with a handler: the handler runs once, the program continues
 *   siginfo      — SA_SIGINFO: si_signo, si_code (SI_TKILL), si_pid; kill() gives SI_USER
 *   mask         — a blocked signal stays pending and is delivered when unblocked;
 *                  sa_mask and the handler's own signal are blocked while it runs
 *   ignore       — SIG_IGN: raise returns and nothing happens
 *   nested       — a handler raising another signal
 *   resethand    — SA_RESETHAND: the second raise kills (exit 128+SIGUSR1 = 138)
 *   default-usr1 — SIGUSR1 with the default action kills: 138
 *   abort        — abort(): 134
 *   abort-handler — a SIGABRT handler that returns: abort still kills, 134
 *   alarm        — alarm(1) and pause(): SIGALRM's handler interrupts pause with EINTR */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <signal.h>
#include <unistd.h>

static volatile sig_atomic_t usr1_runs, usr2_runs, alrm_runs, last_signo, last_code, last_pid_ok;
static volatile sig_atomic_t usr1_blocked_inside, usr2_blocked_inside;

static int blocked(int sig)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, sig);
}

static void on_usr1(int sig)
{
    (void)sig;
    usr1_runs++;
    usr1_blocked_inside = blocked(SIGUSR1);
    usr2_blocked_inside = blocked(SIGUSR2);
}

static void on_usr2(int sig)
{
    (void)sig;
    usr2_runs++;
}

static void on_usr1_info(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    usr1_runs++;
    last_signo = si->si_signo;
    last_code = si->si_code;
    last_pid_ok = si->si_pid == getpid() && sig == si->si_signo;
}

static void on_usr1_raising(int sig)
{
    (void)sig;
    usr1_runs++;
    raise(SIGUSR2); /* SIGUSR2 is not blocked: its handler runs inside this one */
    CHECK(usr2_runs == 1);
}

static void on_abrt(int sig)
{
    (void)sig;
    printf("SIGABRT handler ran and returns\n");
    fflush(stdout);
}

static void on_alrm(int sig)
{
    (void)sig;
    alrm_runs++;
}

static void set_handler(int sig, void (*fn)(int), int flags, int also_block)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    if (also_block)
        sigaddset(&sa.sa_mask, also_block);
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

int main(int argc, char **argv)
{
    if (MODE_IS("raise")) {
        CHECK(signal(SIGUSR1, on_usr1) != SIG_ERR);
        CHECK(raise(SIGUSR1) == 0);
        CHECK(usr1_runs == 1);
        CHECK(raise(SIGUSR1) == 0);
        printf("handler ran %d times, program continues\n", (int)usr1_runs);
        CHECK(usr1_runs == 2);
    } else if (MODE_IS("siginfo")) {
        struct sigaction sa, old;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_usr1_info;
        sa.sa_flags = SA_SIGINFO;
        CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
        CHECK(sigaction(SIGUSR1, NULL, &old) == 0);
        CHECK(old.sa_sigaction == on_usr1_info && (old.sa_flags & SA_SIGINFO));
        raise(SIGUSR1);
        CHECK(usr1_runs == 1 && last_signo == SIGUSR1 && last_pid_ok);
        CHECKF(last_code == SI_TKILL, "si_code %d after raise", (int)last_code);
        kill(getpid(), SIGUSR1);
        CHECK(usr1_runs == 2 && last_pid_ok);
        CHECKF(last_code == SI_USER, "si_code %d after kill", (int)last_code);
        printf("siginfo: signo %d, codes SI_TKILL then SI_USER\n", (int)last_signo);
    } else if (MODE_IS("mask")) {
        set_handler(SIGUSR1, on_usr1, 0, SIGUSR2);
        set_handler(SIGUSR2, on_usr2, 0, 0);
        sigset_t set, pending;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
        raise(SIGUSR1);
        raise(SIGUSR1); /* standard signals do not queue: one delivery */
        CHECK(usr1_runs == 0);
        CHECK(sigpending(&pending) == 0 && sigismember(&pending, SIGUSR1));
        printf("blocked SIGUSR1 is pending, handler not run\n");
        CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
        CHECKF(usr1_runs == 1, "handler ran %d times after unblocking", (int)usr1_runs);
        CHECK(usr1_blocked_inside && usr2_blocked_inside);
        CHECK(!blocked(SIGUSR1) && !blocked(SIGUSR2));
        CHECK(sigpending(&pending) == 0 && !sigismember(&pending, SIGUSR1));
        printf("delivered once on unblock; SIGUSR1 and sa_mask blocked inside the handler\n");
        /* SIGKILL and SIGSTOP cannot be caught or blocked. */
        errno = 0;
        CHECK(signal(SIGKILL, on_usr2) == SIG_ERR && errno == EINVAL);
        sigset_t all, cur;
        sigfillset(&all);
        CHECK(sigprocmask(SIG_SETMASK, &all, NULL) == 0);
        CHECK(sigprocmask(SIG_SETMASK, NULL, &cur) == 0);
        CHECK(!sigismember(&cur, SIGKILL) && !sigismember(&cur, SIGSTOP));
        sigemptyset(&all);
        CHECK(sigprocmask(SIG_SETMASK, &all, NULL) == 0);
    } else if (MODE_IS("ignore")) {
        CHECK(signal(SIGUSR1, SIG_IGN) != SIG_ERR);
        CHECK(raise(SIGUSR1) == 0);
        CHECK(signal(SIGUSR1, SIG_DFL) == SIG_IGN);
        CHECK(signal(SIGCHLD, SIG_DFL) != SIG_ERR);
        CHECK(raise(SIGCHLD) == 0); /* default action: ignore */
        CHECK(raise(SIGWINCH) == 0);
        printf("ignored signals did nothing\n");
    } else if (MODE_IS("nested")) {
        set_handler(SIGUSR1, on_usr1_raising, 0, 0);
        set_handler(SIGUSR2, on_usr2, 0, 0);
        raise(SIGUSR1);
        CHECK(usr1_runs == 1 && usr2_runs == 1);
        printf("nested handlers ran\n");
    } else if (MODE_IS("resethand")) {
        set_handler(SIGUSR1, on_usr1, SA_RESETHAND, 0);
        raise(SIGUSR1);
        CHECK(usr1_runs == 1);
        printf("first SIGUSR1 handled, the second one kills\n");
        fflush(stdout);
        raise(SIGUSR1);
        printf("FAIL: survived the second SIGUSR1\n");
        return 1;
    } else if (MODE_IS("default-usr1")) {
        printf("raising SIGUSR1 with the default action\n");
        fflush(stdout);
        raise(SIGUSR1);
        printf("FAIL: survived SIGUSR1\n");
        return 1;
    } else if (MODE_IS("abort")) {
        printf("calling abort\n");
        fflush(stdout);
        abort();
    } else if (MODE_IS("abort-handler")) {
        set_handler(SIGABRT, on_abrt, 0, 0);
        printf("calling abort with a handler installed\n");
        fflush(stdout);
        abort();
    } else if (MODE_IS("alarm")) {
        set_handler(SIGALRM, on_alrm, 0, 0);
        CHECK(alarm(1) == 0);
        errno = 0;
        int r = pause();
        CHECK(r == -1 && errno == EINTR);
        CHECK(alrm_runs == 1);
        /* A pending alarm is cancelled by alarm(0), which returns the seconds left. */
        CHECK(alarm(100) == 0);
        unsigned left = alarm(0);
        CHECKF(left >= 99 && left <= 100, "alarm(0) returned %u", left);
        printf("SIGALRM interrupted pause\n");
    } else {
        printf("usage: signals MODE\n");
        return 2;
    }
    return check_finish();
}
