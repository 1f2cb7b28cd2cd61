/* argv, envp and the auxiliary vector: what the kernel puts on the initial stack.
 * Prints the arguments (without argv[0], which names the executable) and the FT_* environment
 * variables, sorted; checks the stack layout and auxv values that are the same on any x86-64 Linux. */
#include "check.h"
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;
extern void _start(void);

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_escaped(const char *s)
{
    putchar('[');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\')
            fputs("\\\\", stdout);
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    putchar(']');
}

static void check_auxv(char **envp)
{
    /* The auxiliary vector follows envp's terminating NULL. */
    char **e = envp;
    while (*e)
        e++;
    const Elf64_auxv_t *auxv = (const Elf64_auxv_t *)(e + 1);
    int saw_pagesz = 0, n = 0;
    for (const Elf64_auxv_t *a = auxv; a->a_type != AT_NULL; a++, n++) {
        CHECKF(n < 100, "auxv has no AT_NULL in its first 100 entries");
        if (n >= 100)
            break;
        if (a->a_type == AT_PAGESZ) {
            saw_pagesz = 1;
            CHECK(a->a_un.a_val == getauxval(AT_PAGESZ));
        }
    }
    CHECKF(saw_pagesz, "AT_PAGESZ not found in the auxv after envp");

    unsigned long pagesz = getauxval(AT_PAGESZ);
    CHECKF(pagesz == 4096, "AT_PAGESZ=%lu", pagesz);
    CHECK((long)pagesz == sysconf(_SC_PAGESIZE));
    CHECK((int)pagesz == getpagesize());

    const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
    CHECKF(rnd != NULL, "AT_RANDOM missing");
    if (rnd) {
        int nonzero = 0;
        for (int i = 0; i < 16; i++)
            nonzero |= rnd[i];
        CHECKF(nonzero, "AT_RANDOM's 16 bytes are all zero");
    }

    const Elf64_Phdr *phdr = (const Elf64_Phdr *)getauxval(AT_PHDR);
    unsigned long phnum = getauxval(AT_PHNUM);
    CHECKF(phdr != NULL, "AT_PHDR missing");
    CHECKF(phnum > 0 && phnum < 64, "AT_PHNUM=%lu", phnum);
    CHECKF(getauxval(AT_PHENT) == sizeof(Elf64_Phdr), "AT_PHENT=%lu", getauxval(AT_PHENT));

    uintptr_t entry = getauxval(AT_ENTRY);
    CHECKF(entry == (uintptr_t)&_start, "AT_ENTRY is not _start");
    if (phdr && phnum > 0 && phnum < 64) {
        uintptr_t bias = 0;
        for (unsigned long i = 0; i < phnum; i++)
            if (phdr[i].p_type == PT_PHDR)
                bias = (uintptr_t)phdr - phdr[i].p_vaddr;
        int entry_in_text = 0, main_in_text = 0, loads = 0;
        for (unsigned long i = 0; i < phnum; i++) {
            const Elf64_Phdr *p = &phdr[i];
            if (p->p_type != PT_LOAD)
                continue;
            loads++;
            uintptr_t lo = bias + p->p_vaddr, hi = lo + p->p_memsz;
            if ((p->p_flags & PF_X) && entry >= lo && entry < hi)
                entry_in_text = 1;
            if ((p->p_flags & PF_X) && (uintptr_t)&check_auxv >= lo && (uintptr_t)&check_auxv < hi)
                main_in_text = 1;
        }
        CHECKF(loads > 0, "no PT_LOAD in AT_PHDR");
        CHECKF(entry_in_text, "AT_ENTRY not inside an executable PT_LOAD");
        CHECKF(main_in_text, "program code not inside an executable PT_LOAD");
    }

    unsigned long hwcap = getauxval(AT_HWCAP);
    CHECKF(hwcap & (1ul << 0), "AT_HWCAP lacks FPU: %#lx", hwcap);
    CHECKF(hwcap & (1ul << 25), "AT_HWCAP lacks SSE: %#lx", hwcap);
    CHECKF(hwcap & (1ul << 26), "AT_HWCAP lacks SSE2: %#lx", hwcap);
    CHECKF(getauxval(AT_SECURE) == 0, "AT_SECURE=%lu", getauxval(AT_SECURE));
    CHECKF(getauxval(AT_UID) == getuid(), "AT_UID %lu != getuid %u", getauxval(AT_UID), getuid());
    CHECKF(getauxval(AT_GID) == getgid(), "AT_GID %lu != getgid %u", getauxval(AT_GID), getgid());
    CHECKF(getauxval(AT_EUID) == geteuid(), "AT_EUID");
    CHECKF(getauxval(AT_EGID) == getegid(), "AT_EGID");
    CHECKF(getauxval(AT_CLKTCK) == 100, "AT_CLKTCK=%lu", getauxval(AT_CLKTCK));
    CHECK(sysconf(_SC_CLK_TCK) == 100);

    errno = 0;
    CHECKF(getauxval(0x7fff) == 0 && errno == ENOENT, "getauxval(unknown) errno=%d", errno);
}

int main(int argc, char **argv, char **envp)
{
    CHECK(argc >= 1);
    CHECK(argv[argc] == NULL);
    CHECKF(envp == argv + argc + 1, "envp does not follow argv on the stack");
    CHECK(envp == environ);
    CHECK(argv[0] != NULL && argv[0][0] != '\0');

    printf("argc-1=%d\n", argc - 1);
    for (int i = 1; i < argc; i++) {
        printf("argv[%d] len=%zu ", i, strlen(argv[i]));
        print_escaped(argv[i]);
        putchar('\n');
    }

    /* The environments differ (the harness sets exactly the case's variables natively, the
     * kernel may add its own): only FT_* variables are printed, sorted. */
    char *vars[256];
    int nvars = 0;
    for (char **e = envp; *e && nvars < 256; e++)
        if (strncmp(*e, "FT_", 3) == 0)
            vars[nvars++] = *e;
    qsort(vars, nvars, sizeof vars[0], cmp_str);
    for (int i = 0; i < nvars; i++) {
        printf("env ");
        print_escaped(vars[i]);
        putchar('\n');
        char name[128];
        size_t len = strcspn(vars[i], "=");
        if (len < sizeof name) {
            memcpy(name, vars[i], len);
            name[len] = '\0';
            const char *v = getenv(name);
            CHECKF(v && strcmp(v, vars[i] + len + 1) == 0, "getenv(%s)", name);
        }
    }
    CHECK(getenv("FT_SURELY_NOT_SET") == NULL);
    CHECK(setenv("FT_SET_AT_RUNTIME", "yes", 1) == 0);
    CHECK(strcmp(getenv("FT_SET_AT_RUNTIME"), "yes") == 0);

    check_auxv(envp);
    return check_finish();
}
