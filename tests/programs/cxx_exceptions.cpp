// C++ exceptions: through several frames with destructors, rethrow, std::exception_ptr,
// nested exceptions, standard library exceptions, and (mode "terminate") an uncaught exception.
#include "check.h"
#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

static std::string trail;

struct Guard {
    const char *name;
    explicit Guard(const char *n) : name(n) { trail += std::string("+") + name; }
    ~Guard() { trail += std::string("-") + name; }
};

struct MyError : std::runtime_error {
    int code;
    MyError(const std::string &what, int c) : std::runtime_error(what), code(c) {}
};

[[gnu::noinline]] static void level3(int code)
{
    Guard g("3");
    if (code)
        throw MyError("deep failure", code);
}
[[gnu::noinline]] static void level2(int code)
{
    Guard g("2");
    std::vector<Guard> many;
    many.reserve(2);
    many.emplace_back("v1");
    many.emplace_back("v2");
    level3(code);
}
[[gnu::noinline]] static void level1(int code)
{
    Guard g("1");
    try {
        level2(code);
    } catch (const std::logic_error &) {
        CHECK(false); // wrong type: must not be chosen
    }
}

struct ThrowsInCtor {
    Guard a{"member-a"};
    Guard b{"member-b"};
    ThrowsInCtor() { throw std::invalid_argument("ctor"); }
};

static std::exception_ptr saved;

[[gnu::noinline]] static void save_current()
{
    try {
        throw std::out_of_range("saved for later");
    } catch (...) {
        saved = std::current_exception();
    }
}

static void frames()
{
    try {
        level1(7);
        CHECK(false);
    } catch (const std::runtime_error &e) {
        const MyError *mine = dynamic_cast<const MyError *>(&e);
        CHECK(mine && mine->code == 7);
        printf("caught %s: %s (code %d)\n", typeid(e).name(), e.what(), mine ? mine->code : -1);
    }
    printf("unwind trail: %s\n", trail.c_str());
    CHECK(trail == "+1+2+v1+v2+3-3-v1-v2-2-1"); // a vector destroys its elements front to back
    trail.clear();

    try {
        ThrowsInCtor t;
        CHECK(false);
    } catch (const std::invalid_argument &e) {
        printf("constructor threw %s; members destroyed: %s\n", e.what(), trail.c_str());
        CHECK(trail == "+member-a+member-b-member-b-member-a");
    }

    // Rethrow from a catch block, caught by an outer handler.
    int stage = 0;
    try {
        try {
            throw 42;
        } catch (int v) {
            stage = v;
            throw;
        }
    } catch (int v) {
        CHECK(stage == 42 && v == 42);
        printf("rethrown int %d\n", v);
    }
}

static void exception_ptrs()
{
    CHECK(!saved);
    save_current();
    CHECK(static_cast<bool>(saved));
    std::exception_ptr copy = saved;
    CHECK(copy == saved);
    try {
        std::rethrow_exception(copy);
    } catch (const std::out_of_range &e) {
        printf("rethrow_exception: %s\n", e.what());
    }
    // The same exception object can be rethrown again.
    try {
        std::rethrow_exception(saved);
    } catch (const std::exception &e) {
        CHECK(std::string(e.what()) == "saved for later");
    }
    auto made = std::make_exception_ptr(MyError("made", 3));
    try {
        std::rethrow_exception(made);
    } catch (const MyError &e) {
        CHECK(e.code == 3);
        printf("make_exception_ptr: %s %d\n", e.what(), e.code);
    }
    // Nested exceptions.
    try {
        try {
            throw std::runtime_error("inner");
        } catch (...) {
            std::throw_with_nested(std::logic_error("outer"));
        }
    } catch (const std::logic_error &e) {
        printf("nested: %s", e.what());
        try {
            std::rethrow_if_nested(e);
        } catch (const std::runtime_error &inner) {
            printf(" <- %s\n", inner.what());
        }
    }
    CHECK(std::uncaught_exceptions() == 0);
}

static void library_exceptions()
{
    std::vector<int> v(3);
    try {
        v.at(10) = 1;
        CHECK(false);
    } catch (const std::out_of_range &e) {
        printf("vector::at: out_of_range caught\n");
    }
    try {
        (void)std::stoi("not a number");
        CHECK(false);
    } catch (const std::invalid_argument &e) {
        printf("stoi: %s\n", e.what());
    }
    try {
        struct Base {
            virtual ~Base() = default;
        } b;
        struct Derived : Base {};
        Base &ref = b;
        (void)dynamic_cast<Derived &>(ref);
        CHECK(false);
    } catch (const std::bad_cast &) {
        printf("bad_cast caught\n");
    }
    try {
        size_t huge = size_t(1) << 46;
        std::unique_ptr<char[]> p(new char[huge]);
        CHECK(false);
    } catch (const std::bad_alloc &e) {
        printf("bad_alloc caught: %s\n", e.what());
    }
    // Many throws: the unwinder's caches and the allocator behave.
    int caught = 0;
    for (int i = 0; i < 2000; i++) {
        try {
            level3(i + 1);
        } catch (const MyError &e) {
            caught += e.code == i + 1;
        }
    }
    CHECK(caught == 2000);
    printf("2000 throw/catch cycles\n");
}

#pragma GCC diagnostic ignored "-Wterminate"
[[gnu::noinline]] static void throws_through_noexcept() noexcept
{
    throw std::logic_error("escaped a noexcept function");
}

int main(int argc, char **argv)
{
    if (MODE_IS("terminate")) {
        printf("throwing through noexcept\n");
        fflush(stdout);
        throws_through_noexcept(); // std::terminate -> abort -> 134
        return 1;
    }
    frames();
    exception_ptrs();
    library_exceptions();
    return check_finish();
}
