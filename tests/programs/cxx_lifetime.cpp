// Object lifetimes around main: static constructors in order, function-local statics,
// thread_local objects in the main thread, and the exit order of their destructors mixed with
// atexit handlers (reverse order of completion; thread_locals first). The destructors print, so
// the output is the test; `cxx_lifetime exit N` leaves through exit(N) instead of returning.
#include "check.h"
#include <cstdint>
#include <string>

static std::string log_line;

struct Noisy {
    const char *name;
    explicit Noisy(const char *n) : name(n) { printf("construct %s\n", name); }
    ~Noisy() { printf("destroy %s\n", name); }
};

static Noisy first("global first");
static int initialized_later = [] {
    printf("dynamic initializer of an int (global %s is alive)\n", first.name);
    return 5;
}();
static Noisy second("global second");

__attribute__((constructor)) static void c_constructor()
{
    printf("__attribute__((constructor))\n");
}
__attribute__((destructor)) static void c_destructor()
{
    printf("__attribute__((destructor))\n");
}

static Noisy &local_static()
{
    static Noisy s("function-local static");
    return s;
}

static void handler_a() { printf("atexit a\n"); }
static void handler_b() { printf("atexit b\n"); }

thread_local int tl_counter = 40;            // .tdata
thread_local int tl_zero;                    // .tbss
alignas(64) thread_local char tl_aligned[64]; // alignment within the TLS block
thread_local Noisy tl_object("thread_local object");
thread_local std::string tl_string = "thread-local string";

static void bump() { tl_counter++; }

int main(int argc, char **argv)
{
    printf("main starts, initialized_later=%d\n", initialized_later);
    CHECK(initialized_later == 5);
    atexit(handler_a);
    local_static();
    atexit(handler_b);

    CHECK(tl_counter == 40 && tl_zero == 0);
    bump();
    bump();
    CHECK(tl_counter == 42);
    int *p1 = &tl_counter;
    bump();
    CHECK(p1 == &tl_counter && *p1 == 43);
    CHECK(((uintptr_t)tl_aligned & 63) == 0);
    tl_aligned[63] = 1;
    printf("thread_local counter %d, zero %d, string \"%s\", object %s\n", tl_counter, tl_zero,
           tl_string.c_str(), tl_object.name);
    // Reference the object again: it is constructed once.
    CHECK(std::string(tl_object.name) == "thread_local object");

    int status = check_finish();
    if (MODE_IS("exit") && argc == 3)
        exit(atoi(argv[2]));
    printf("main returns %d\n", status);
    return status;
}
