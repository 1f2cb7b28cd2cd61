/* Floating point: register state across system calls and signal handlers, and exact
 * strtod/printf round trips.
 *   float regs    — xmm0-15 (and ymm/zmm/k when the CPU has AVX/AVX-512), x87 stack, x87
 *                   control word, MXCSR and callee-visible GPRs survive a range of syscalls
 *   float signal  — the same across a signal handler that trashes every register
 *   float signal-avx   — ymm/zmm/k across that handler (skipped when the CPU lacks them)
 *   float signal-clean — the handler starts with Linux's clean FP state (MXCSR 0x1f80, x87
 *                   CW 0x37f) whatever the interrupted code had
 *   float format  — printf("%f"…) and strtod of many values, interleaved with syscalls
 * Which registers exist differs between machines, so nothing about them is printed. */
#define _GNU_SOURCE
#include "check.h"
#include <cpuid.h>
#include <errno.h>
#include <fenv.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* One block for the asm: inputs, outputs and GPR values; addressed through one register. */
struct regs {
    unsigned char in[32][64];   /* offset 0 */
    unsigned char out[32][64];  /* offset 2048 */
    uint64_t gin[8];            /* offset 4096: r8 r9 r10 r12 r13 r14 r15 rdx */
    uint64_t gout[8];           /* offset 4160 */
    uint64_t kin[8], kout[8];   /* offset 4224, 4288: AVX-512 mask registers */
    uint32_t mxcsr_in, mxcsr_out; /* offset 4352, 4356 */
    uint16_t fcw_in, fcw_out;   /* offset 4360, 4362 */
    uint16_t pad[2];
    unsigned char x87[8][16];   /* offset 4368: fstpt results */
    uint32_t mxcsr_save;        /* offset 4496: the caller's MXCSR */
};
_Static_assert(__builtin_offsetof(struct regs, x87) == 4368, "layout used by the asm");

static int have_avx, have_avx512;

static void detect(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!osxsave)
        return;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    have_avx = avx && (lo & 6) == 6;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
        have_avx512 = have_avx && ((b >> 16) & 1) && (lo & 0xe6) == 0xe6;
}

#define X(i) #i
#define SSE_LD(i) "movdqu " X(i) "*64(%[p]), %%xmm" #i "\n\t"
#define SSE_ST(i) "movdqu %%xmm" #i ", 2048+" X(i) "*64(%[p])\n\t"
#define SSE_ALL(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)
#define XMM_CLOBBERS "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", \
    "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

#define GPR_LD "mov 4096(%[p]), %%r8\n\tmov 4104(%[p]), %%r9\n\tmov 4112(%[p]), %%r10\n\t" \
    "mov 4120(%[p]), %%r12\n\tmov 4128(%[p]), %%r13\n\tmov 4136(%[p]), %%r14\n\t"           \
    "mov 4144(%[p]), %%r15\n\t"
#define GPR_ST "mov %%r8, 4160(%[p])\n\tmov %%r9, 4168(%[p])\n\tmov %%r10, 4176(%[p])\n\t"  \
    "mov %%r12, 4184(%[p])\n\tmov %%r13, 4192(%[p])\n\tmov %%r14, 4200(%[p])\n\t"           \
    "mov %%r15, 4208(%[p])\n\tmov %%rdx, 4216(%[p])\n\t"
#define GPR_CLOBBERS "r8", "r9", "r10", "r12", "r13", "r14", "r15", "rcx", "r11"

/* x87: control word, five constants on the stack; MXCSR. */
#define FP_LD "fnstcw 4362(%[p])\n\tfldcw 4360(%[p])\n\tstmxcsr 4496(%[p])\n\t" \
    "ldmxcsr 4352(%[p])\n\t"                                                     \
    "fldpi\n\tfld1\n\tfldl2t\n\tfldlg2\n\tfldln2\n\t"
#define FP_ST "stmxcsr 4356(%[p])\n\tldmxcsr 4496(%[p])\n\t"                                           \
    "fstpt 4368(%[p])\n\tfstpt 4384(%[p])\n\tfstpt 4400(%[p])\n\tfstpt 4416(%[p])\n\t" \
    "fstpt 4432(%[p])\n\t"                                                           \
    /* read the CW in effect, put back the caller's (saved by FP_LD), report the first */ \
    "fnstcw 4364(%[p])\n\tfldcw 4362(%[p])\n\tmovzwl 4364(%[p]), %%ecx\n\t"             \
    "mov %%cx, 4362(%[p])\n\t"

static long sse_syscall(struct regs *r, long nr, long a1, long a2, long a3)
{
    register long rax __asm__("rax") = nr;
    register long rdi __asm__("rdi") = a1;
    register long rsi __asm__("rsi") = a2;
    register long rdx __asm__("rdx") = a3;
    __asm__ volatile(SSE_ALL(SSE_LD) GPR_LD FP_LD
                     "syscall\n\t"
                     SSE_ALL(SSE_ST) GPR_ST FP_ST
                     : "+r"(rax), "+r"(rdx)
                     : [p] "b"(r), "r"(rdi), "r"(rsi)
                     : "memory", "cc", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)",
                       "st(7)", GPR_CLOBBERS, XMM_CLOBBERS);
    return rax;
}

/* The same without the syscall: what the x87 stack holds under the test's control word. */
static void sse_reference(struct regs *r)
{
    __asm__ volatile(FP_LD FP_ST
                     : : [p] "b"(r)
                     : "memory", "cc", "rcx", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)",
                       "st(7)");
}

#define AVX_LD(i) "vmovdqu " X(i) "*64(%[p]), %%ymm" #i "\n\t"
#define AVX_ST(i) "vmovdqu %%ymm" #i ", 2048+" X(i) "*64(%[p])\n\t"

static long avx_syscall(struct regs *r, long nr, long a1, long a2, long a3)
{
    register long rax __asm__("rax") = nr;
    register long rdi __asm__("rdi") = a1;
    register long rsi __asm__("rsi") = a2;
    register long rdx __asm__("rdx") = a3;
    __asm__ volatile(SSE_ALL(AVX_LD) "syscall\n\t" SSE_ALL(AVX_ST) "vzeroupper\n\t"
                     : "+r"(rax), "+r"(rdx)
                     : [p] "b"(r), "r"(rdi), "r"(rsi)
                     : "memory", "cc", "rcx", "r11", XMM_CLOBBERS);
    return rax;
}

#define Z_ALL(M) SSE_ALL(M) M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23) M(24) M(25) M(26) \
    M(27) M(28) M(29) M(30) M(31)
#define Z_LD(i) "vmovdqu64 " X(i) "*64(%[p]), %%zmm" #i "\n\t"
#define Z_ST(i) "vmovdqu64 %%zmm" #i ", 2048+" X(i) "*64(%[p])\n\t"
#define K_LD(i) "kmovq 4224+" X(i) "*8(%[p]), %%k" #i "\n\t"
#define K_ST(i) "kmovq %%k" #i ", 4288+" X(i) "*8(%[p])\n\t"
#define K_ALL(M) M(1) M(2) M(3) M(4) M(5) M(6) M(7)

__attribute__((target("avx512f,avx512bw")))
static long avx512_syscall(struct regs *r, long nr, long a1, long a2, long a3)
{
    register long rax __asm__("rax") = nr;
    register long rdi __asm__("rdi") = a1;
    register long rsi __asm__("rsi") = a2;
    register long rdx __asm__("rdx") = a3;
    __asm__ volatile(Z_ALL(Z_LD) K_ALL(K_LD) "syscall\n\t" Z_ALL(Z_ST) K_ALL(K_ST) "vzeroupper\n\t"
                     : "+r"(rax), "+r"(rdx)
                     : [p] "b"(r), "r"(rdi), "r"(rsi)
                     : "memory", "cc", "rcx", "r11", XMM_CLOBBERS, "xmm16", "xmm17", "xmm18",
                       "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26",
                       "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k1", "k2", "k3", "k4", "k5",
                       "k6", "k7");
    return rax;
}

static void fill_inputs(struct regs *r, unsigned seed)
{
    memset(r, 0, sizeof *r);
    for (int i = 0; i < 32; i++)
        for (int j = 0; j < 64; j++)
            r->in[i][j] = (unsigned char)(seed * 17 + i * 64 + j * 7 + 1);
    for (int i = 0; i < 8; i++) {
        r->gin[i] = 0x0123456789abcdefull * (i + 1) + seed;
        r->kin[i] = 0xfedcba9876543210ull ^ ((uint64_t)(i + seed) << 8);
    }
    /* Round toward zero, flush-to-zero, denormals-are-zero, all exceptions masked. */
    r->mxcsr_in = 0x1f80 | (3u << 13) | (1u << 15) | (1u << 6);
    /* Round down, 53-bit precision, all exceptions masked. */
    r->fcw_in = 0x037f & ~0x0300;
    r->fcw_in |= 0x0200 | 0x0400;
}

static const char *syscall_name;

static void compare(const struct regs *r, int nregs, int width, const char *what)
{
    int changed = 0, first = -1;
    for (int i = 0; i < nregs; i++)
        if (memcmp(r->in[i], r->out[i], width) != 0) {
            changed++;
            if (first < 0)
                first = i;
        }
    CHECKF(changed == 0, "%d of %d %s registers changed across %s (first: %s%d)", changed, nregs,
           what, syscall_name, what, first);
}

static volatile sig_atomic_t handler_runs, handler_mxcsr_clean, handler_fcw_clean;

__attribute__((target("avx512f")))
static void trash_avx512(void)
{
    __asm__ volatile("vpxord %%zmm16, %%zmm16, %%zmm16\n\tvpxord %%zmm31, %%zmm31, %%zmm31\n\t"
                     "kxorw %%k1, %%k1, %%k1\n\tkxorw %%k7, %%k7, %%k7"
                     ::: "xmm16", "xmm31", "k1", "k7");
}

static void trashing_handler(int sig)
{
    (void)sig;
    handler_runs++;
    uint32_t mxcsr;
    uint16_t fcw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(fcw));
    handler_mxcsr_clean = mxcsr == 0x1f80;
    handler_fcw_clean = fcw == 0x037f;
    /* Trash everything the interrupted code had. */
    __asm__ volatile("pxor %%xmm0, %%xmm0\n\tpcmpeqd %%xmm1, %%xmm1\n\tmovdqa %%xmm1, %%xmm2\n\t"
                     "movdqa %%xmm1, %%xmm3\n\tmovdqa %%xmm1, %%xmm4\n\tmovdqa %%xmm1, %%xmm5\n\t"
                     "movdqa %%xmm1, %%xmm6\n\tmovdqa %%xmm1, %%xmm7\n\tmovdqa %%xmm1, %%xmm8\n\t"
                     "movdqa %%xmm1, %%xmm9\n\tmovdqa %%xmm1, %%xmm10\n\tmovdqa %%xmm1, %%xmm11\n\t"
                     "movdqa %%xmm1, %%xmm12\n\tmovdqa %%xmm1, %%xmm13\n\tmovdqa %%xmm1, %%xmm14\n\t"
                     "movdqa %%xmm1, %%xmm15\n\t"
                     "fninit\n\tfldz\n\tfldz\n\tfstp %%st(0)\n\tfstp %%st(0)\n\t"
                     ::: XMM_CLOBBERS, "st", "st(1)");
    if (have_avx)
        __asm__ volatile("vzeroall" ::: XMM_CLOBBERS);
    if (have_avx512)
        trash_avx512();
    fesetround(FE_UPWARD);
    volatile double x = 1.0;
    for (int i = 0; i < 10; i++)
        x = x / 3.0 + sqrt(x);
    uint32_t odd_mxcsr = 0x1f80 | (1u << 13) | (1u << 15);
    __asm__ volatile("ldmxcsr %0" : : "m"(odd_mxcsr));
    uint16_t odd_fcw = 0x0c7f;
    __asm__ volatile("fldcw %0" : : "m"(odd_fcw));
    (void)x;
}

struct call {
    const char *name;
    long nr, a1, a2, a3;
};

enum { SSE = 1, AVX = 2 };

static void run_calls(const struct call *calls, int n, unsigned seed, int what)
{
    struct regs *r = aligned_alloc(64, sizeof(struct regs));
    struct regs *ref = aligned_alloc(64, sizeof(struct regs));
    for (int c = 0; c < n; c++) {
        syscall_name = calls[c].name;
        if (!(what & SSE))
            goto avx;
        fill_inputs(r, seed + c);
        fill_inputs(ref, seed + c);
        sse_reference(ref);
        long ret = sse_syscall(r, calls[c].nr, calls[c].a1, calls[c].a2, calls[c].a3);
        CHECKF(ret >= 0 || calls[c].nr == 1000, "%s returned %ld", calls[c].name, ret);
        compare(r, 16, 16, "xmm");
        for (int i = 0; i < 7; i++)
            CHECKF(r->gin[i] == r->gout[i], "GPR #%d changed across %s", i, calls[c].name);
        CHECKF(r->gout[7] == (uint64_t)calls[c].a3, "rdx changed across %s", calls[c].name);
        CHECKF(r->mxcsr_out == r->mxcsr_in, "MXCSR %#x became %#x across %s", r->mxcsr_in,
               r->mxcsr_out, calls[c].name);
        CHECKF(r->fcw_out == r->fcw_in, "x87 CW %#x became %#x across %s", r->fcw_in, r->fcw_out,
               calls[c].name);
        CHECKF(memcmp(r->x87, ref->x87, sizeof r->x87) == 0, "x87 stack changed across %s",
               calls[c].name);
    avx:
        if (!(what & AVX))
            goto done;
        if (have_avx) {
            fill_inputs(r, seed + 100 + c);
            avx_syscall(r, calls[c].nr, calls[c].a1, calls[c].a2, calls[c].a3);
            compare(r, 16, 32, "ymm");
        }
        if (have_avx512) {
            fill_inputs(r, seed + 200 + c);
            avx512_syscall(r, calls[c].nr, calls[c].a1, calls[c].a2, calls[c].a3);
            compare(r, 32, 64, "zmm");
            for (int i = 1; i < 8; i++)
                CHECKF(r->kin[i] == r->kout[i], "k%d changed across %s", i, calls[c].name);
        }
    done:
        printf("checked registers across %s\n", calls[c].name);
    }
    free(r);
    free(ref);
}

static void regs_mode(void)
{
    static struct timespec ms = {0, 1000000}, now;
    struct call calls[] = {
        {"getpid", SYS_getpid, 0, 0, 0},
        {"sched_yield", SYS_sched_yield, 0, 0, 0},
        {"clock_gettime", SYS_clock_gettime, CLOCK_MONOTONIC, (long)&now, 0},
        {"nanosleep(1 ms)", SYS_nanosleep, (long)&ms, 0, 0},
        {"write(1, \"\", 0)", SYS_write, 1, (long)"", 0},
        {"unknown syscall 1000", 1000, 0, 0, 0},
    };
    run_calls(calls, sizeof calls / sizeof calls[0], 1, SSE | AVX);
}

/* signal: xmm, x87, MXCSR and GPRs; signal-avx: ymm, zmm and k registers; signal-clean: the
 * handler starts with the default MXCSR and x87 control word (Linux resets them for handlers). */
static void signal_mode(const char *mode)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = trashing_handler;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    struct call calls[] = {
        {"tkill(self, SIGUSR1)", SYS_tkill, gettid(), SIGUSR1, 0},
        {"kill(self, SIGUSR1)", SYS_kill, getpid(), SIGUSR1, 0},
    };
    int expected_runs = 2;
    if (strcmp(mode, "signal-avx") == 0) {
        run_calls(calls, 2, 7, AVX);
        expected_runs = 2 * (have_avx + have_avx512);
    } else
        run_calls(calls, 2, 7, SSE);
    CHECKF(handler_runs == expected_runs, "handler ran %d times", (int)handler_runs);
    if (strcmp(mode, "signal-clean") == 0) {
        CHECKF(handler_mxcsr_clean, "signal handler did not start with MXCSR 0x1f80");
        CHECKF(handler_fcw_clean, "signal handler did not start with x87 CW 0x37f");
        printf("checked the FP state the handler started with\n");
    }
    CHECK(fegetround() == FE_TONEAREST);
}

static void format_mode(void)
{
    static const char *inputs[] = {
        "0", "-0", "1", "-1", "0.1", "0.5", "2.5", "1e308", "1.7976931348623157e308", "1e-308",
        "2.2250738585072014e-308", "4.9406564584124654e-324", "123456789.123456789",
        "3.14159265358979323846264338327950288", "2.718281828459045", "-1234.5678e-3",
        "0x1.8p3", "0x1p-1074", "inf", "-INFINITY", "nan", "1e400", "-1e-400", "  42abc",
        "9007199254740993", "0.30000000000000004", "1e23", "8.589973e9", "5e-324",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        char *end;
        errno = 0;
        double d = strtod(inputs[i], &end);
        int e = errno;
        if (isnan(d))
            printf("%-40s -> nan (signbit %d)\n", inputs[i], signbit(d) != 0);
        else
            printf("%-40s -> %.17g | %f | %e | %a | %g | errno %s | rest [%s]\n", inputs[i], d, d,
                   d, d, d, e == ERANGE ? "ERANGE" : e ? "other" : "0", end);
        float f = strtof(inputs[i], NULL);
        long double ld = strtold(inputs[i], NULL);
        if (!isnan(f))
            printf("%-40s    float %.9g  long double %.21Lg\n", "", f, ld);
    }

    /* Generated values: print, parse back, compare exactly; a syscall between each. */
    int roundtrip_failures = 0;
    double sum = 0;
    for (int i = 0; i < 400; i++) {
        double x = ((double)i * i - 150.5) * pow(10.0, (i % 60) - 30) / 7.0;
        char buf[64];
        snprintf(buf, sizeof buf, "%.17g", x);
        syscall(SYS_getpid);
        double y = strtod(buf, NULL);
        if (y != x)
            roundtrip_failures++;
        sum += x * 1e-10;
        printf("%3d %s %.6f %.10e\n", i, buf, x, x);
    }
    CHECKF(roundtrip_failures == 0, "%d values did not survive printf %%.17g / strtod",
           roundtrip_failures);
    printf("sum %.17g\n", sum);

    /* A long accumulation with system calls in the loop. */
    double acc = 0;
    for (int i = 1; i <= 200000; i++) {
        acc += 1.0 / ((double)i * i);
        if (i % 1000 == 0)
            syscall(SYS_getppid);
    }
    printf("sum 1/i^2 = %.15f (pi^2/6 = %.15f)\n", acc, M_PI * M_PI / 6);
    CHECK(fabs(acc - M_PI * M_PI / 6) < 1e-5);

    /* Rounding modes change printf's arithmetic-free results not at all, and arithmetic results
     * exactly as IEEE says. */
    static const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
    static const char *names[] = {"nearest", "upward", "downward", "towardzero"};
    for (int m = 0; m < 4; m++) {
        CHECK(fesetround(modes[m]) == 0);
        volatile double one = 1, three = 3;
        double q = one / three;
        syscall(SYS_getpid);
        CHECK(fegetround() == modes[m]);
        printf("1/3 rounded %-10s = %a\n", names[m], q);
    }
    fesetround(FE_TONEAREST);
    printf("%.0f %.0f %.0f %.0f\n", 0.5, 1.5, 2.5, -0.5);
    printf("%.3Lf %.25Lg\n", 1.0L / 3, 2.0L / 3);
}

int main(int argc, char **argv)
{
    detect();
    if (MODE_IS("regs"))
        regs_mode();
    else if (MODE_IS("signal") || MODE_IS("signal-avx") || MODE_IS("signal-clean"))
        signal_mode(argv[1]);
    else if (MODE_IS("format"))
        format_mode();
    else {
        printf("usage: float regs|signal|signal-avx|signal-clean|format\n");
        return 2;
    }
    return check_finish();
}
