// Exceptions across frames, destructors during unwinding, exception_ptr
// rethrow (also from another thread), nested exceptions.
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>

static int failures;
#define CHECK(c) do { if (!(c)) { std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

static int unwound;
struct Guard { ~Guard() { unwound++; } };

struct MyError : std::runtime_error {
	int code;
	MyError(int c) : std::runtime_error("my error"), code(c) {}
};

__attribute__((noinline)) static void level3(int v) { Guard g; if (v > 0) throw MyError(v); }
__attribute__((noinline)) static void level2(int v) { Guard g; level3(v); }
__attribute__((noinline)) static void level1(int v) { Guard g; level2(v); }

int main()
{
	try {
		level1(7);
		CHECK(false);
	} catch (const std::runtime_error &e) {
		CHECK(std::string(e.what()) == "my error");
		CHECK(dynamic_cast<const MyError &>(e).code == 7);
	}
	CHECK(unwound == 3);

	std::exception_ptr p;
	try {
		throw std::out_of_range("kept");
	} catch (...) {
		p = std::current_exception();
	}
	CHECK(p != nullptr);
	try {
		std::rethrow_exception(p);
	} catch (const std::out_of_range &e) {
		CHECK(std::string(e.what()) == "kept");
	}

	std::exception_ptr from_thread;
	std::thread t([&] {
		try {
			level1(3);
		} catch (...) {
			from_thread = std::current_exception();
		}
	});
	t.join();
	try {
		std::rethrow_exception(from_thread);
	} catch (const MyError &e) {
		CHECK(e.code == 3);
	}

	try {
		try {
			throw std::invalid_argument("inner");
		} catch (...) {
			std::throw_with_nested(std::logic_error("outer"));
		}
	} catch (const std::logic_error &e) {
		CHECK(std::string(e.what()) == "outer");
		try {
			std::rethrow_if_nested(e);
			CHECK(false);
		} catch (const std::invalid_argument &in) {
			CHECK(std::string(in.what()) == "inner");
		}
	}

	int caught = 0;
	try {
		throw 42;
	} catch (int v) {
		caught = v;
	}
	CHECK(caught == 42);
	std::printf("exceptions: %s\n", failures ? "FAILED" : "ok");
	return failures != 0;
}
