// thread_local destructors (std::thread and the main thread), std::thread +
// mutex + condition_variable, std::async, recursive/timed mutexes and timed
// waits (glibc-ABI initialisers and clock waits), shared_ptr across threads.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <queue>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

static int failures;
#define CHECK(c) do { if (!(c)) { std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

static std::mutex log_mu;
static std::string log_text;
static void note(const std::string &s) { std::lock_guard<std::mutex> g(log_mu); log_text += s + ";"; }

struct Tracked {
	std::string name;
	explicit Tracked(std::string n) : name(std::move(n)) { note("+" + name); }
	~Tracked();
};
// Block-scope, so constructed only when a's destructor first calls this.
static Tracked &late()
{
	thread_local Tracked t("late");
	return t;
}
Tracked::~Tracked()
{
	note("-" + name);
	if (name == "a")
		(void)late().name;
}
thread_local Tracked tl_a("a");
thread_local Tracked tl_b("b");
struct Counter {
	std::atomic<int> *d = nullptr;
	~Counter() { if (d) (*d)++; }
};
thread_local Counter counter;

int main()
{
	// Per-thread construction order a, b: destruction b, a, then `late`,
	// which a's destructor brought to life — all before join() returns.
	std::thread t([] { (void)tl_a.name; (void)tl_b.name; });
	t.join();
	CHECK(log_text == "+a;+b;-b;-a;+late;-late;");

	std::atomic<int> destroyed{0};
	{
		std::vector<std::thread> pool;
		for (int i = 0; i < 8; i++)
			pool.emplace_back([&] { counter.d = &destroyed; });
		for (auto &th : pool)
			th.join();
	}
	CHECK(destroyed == 8);

	// Producer/consumer over mutex + condition_variable.
	std::mutex mu;
	std::condition_variable cv;
	std::queue<int> q;
	bool done = false;
	long sum = 0;
	std::thread consumer([&] {
		std::unique_lock<std::mutex> lk(mu);
		for (;;) {
			cv.wait(lk, [&] { return !q.empty() || done; });
			while (!q.empty()) { sum += q.front(); q.pop(); }
			if (done) break;
		}
	});
	std::vector<std::thread> producers;
	for (int p = 0; p < 4; p++)
		producers.emplace_back([&, p] {
			for (int i = 1; i <= 1000; i++) {
				std::lock_guard<std::mutex> g(mu);
				q.push(i + p * 0);
				cv.notify_one();
			}
		});
	for (auto &th : producers)
		th.join();
	{ std::lock_guard<std::mutex> g(mu); done = true; }
	cv.notify_all();
	consumer.join();
	CHECK(sum == 4 * 500500);

	auto f1 = std::async(std::launch::async, [] { return 6 * 7; });
	auto f2 = std::async(std::launch::deferred, [] { return std::string("lazy"); });
	auto f3 = std::async(std::launch::async, []() -> int { throw std::runtime_error("async"); });
	CHECK(f1.get() == 42);
	CHECK(f2.get() == "lazy");
	try { f3.get(); CHECK(false); } catch (const std::runtime_error &e) { CHECK(std::string(e.what()) == "async"); }
	std::promise<int> pr;
	std::thread setter([&] { pr.set_value_at_thread_exit(9); });
	CHECK(pr.get_future().get() == 9);
	setter.join();

	std::recursive_mutex rm;
	rm.lock(); CHECK(rm.try_lock()); rm.unlock(); rm.unlock();
	std::timed_mutex tm;
	tm.lock();
	bool got = true;
	std::thread waiter([&] { got = tm.try_lock_for(std::chrono::milliseconds(30)); });
	waiter.join();
	CHECK(!got);
	tm.unlock();
	CHECK(tm.try_lock_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(10)));
	tm.unlock();
	std::recursive_timed_mutex rtm;
	CHECK(rtm.try_lock_for(std::chrono::milliseconds(1)) && rtm.try_lock_for(std::chrono::milliseconds(1)));
	rtm.unlock(); rtm.unlock();

	{
		std::unique_lock<std::mutex> lk(mu);
		auto t0 = std::chrono::steady_clock::now();
		CHECK(cv.wait_for(lk, std::chrono::milliseconds(20)) == std::cv_status::timeout);
		CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(20));
		CHECK(cv.wait_until(lk, std::chrono::system_clock::now() + std::chrono::milliseconds(5)) == std::cv_status::timeout);
	}
	std::shared_timed_mutex sm;
	CHECK(sm.try_lock_shared_for(std::chrono::milliseconds(1)));
	CHECK(!sm.try_lock_for(std::chrono::milliseconds(5)));
	sm.unlock_shared();
	CHECK(sm.try_lock_for(std::chrono::milliseconds(5)));
	sm.unlock();

	auto sp = std::make_shared<int>(0);
	std::vector<std::thread> copies;
	for (int i = 0; i < 4; i++)
		copies.emplace_back([sp] { for (int j = 0; j < 10000; j++) { auto c = sp; (void)c; } });
	for (auto &th : copies)
		th.join();
	CHECK(sp.use_count() == 1);

	// Main-thread thread_locals die at exit; exit_order.cc checks when.
	std::printf("threads: %s\n", failures ? "FAILED" : "ok");
	return failures != 0;
}
