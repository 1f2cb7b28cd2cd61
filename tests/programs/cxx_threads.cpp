// C++ threads: std::thread, std::async/std::future/std::promise, std::condition_variable and
// the mutex family, std::atomic under contention, thread_local objects destroyed at thread exit,
// and std::thread::hardware_concurrency(). `cxx_threads MODE`, one mode per case.
//
// Nothing printed depends on the number of CPUs or on timing; durations get generous bounds.
// `cxx_threads MODE light` does a tenth of the work (for KVM, where system calls are slow).
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <numeric>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

int divisor = 1; // loop counts are divided by this (`light`)

int allowed_cpus()
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
    return CPU_COUNT(&set);
}

// At least `want`, and less than 5 s more.
template <class D> void check_took(Clock::time_point t0, D want, const char *what)
{
    auto took = Clock::now() - t0;
    CHECKF(took >= want && took < want + 5s, "%s took %lld ns", what,
           (long long)std::chrono::duration_cast<std::chrono::nanoseconds>(took).count());
}

// ------------------------------------------------------------------------------------------------
// thread

void thread_mode()
{
    const auto main_id = std::this_thread::get_id();
    int by_ref = 0;
    std::thread t([&by_ref, main_id](int a, std::string s) {
        CHECK(std::this_thread::get_id() != main_id);
        by_ref = a + (int)s.size();
    }, 40, std::string("ab"));
    CHECK(t.joinable());
    CHECK(t.get_id() != main_id);
    t.join();
    CHECK(!t.joinable());
    CHECK(by_ref == 42);
    std::printf("std::thread: arguments by value, captures by reference: %d\n", by_ref);

    // Move-only arguments, std::ref, moving a std::thread.
    auto p = std::make_unique<int>(7);
    int out = 0;
    std::thread m([](std::unique_ptr<int> q, int &o) { o = *q * 6; }, std::move(p), std::ref(out));
    std::thread moved = std::move(m);
    CHECK(!m.joinable() && moved.joinable());
    moved.join();
    CHECK(out == 42);
    std::printf("move-only argument and std::ref: %d\n", out);

    // Many threads, each writing its own slot.
    std::vector<int> slots(32);
    std::vector<std::thread> ts;
    for (int i = 0; i < 32; ++i)
        ts.emplace_back([&slots, i] { slots[i] = i * i; });
    for (auto &x : ts)
        x.join();
    int sum = std::accumulate(slots.begin(), slots.end(), 0);
    CHECK(sum == 10416);
    std::printf("32 threads, sum of squares %d\n", sum);

    // Detached: tells us through a promise.
    std::promise<int> done;
    auto f = done.get_future();
    std::thread([&done] { done.set_value(5); }).detach();
    CHECK(f.get() == 5);
    std::printf("detached thread reported back\n");

    // Sleeps.
    auto t0 = Clock::now();
    std::this_thread::sleep_for(50ms);
    check_took(t0, 50ms, "sleep_for(50ms)");
    t0 = Clock::now();
    std::this_thread::sleep_until(t0 + 30ms);
    check_took(t0, 30ms, "sleep_until(+30ms)");
    std::this_thread::yield();
    std::printf("sleep_for and sleep_until slept long enough\n");

    // The CPU count.
    unsigned hc = std::thread::hardware_concurrency();
    int n = allowed_cpus();
    CHECKF(hc == (unsigned)n, "hardware_concurrency %u, sched_getaffinity %d", hc, n);
    CHECKF(sysconf(_SC_NPROCESSORS_ONLN) == n, "_SC_NPROCESSORS_ONLN %ld",
           sysconf(_SC_NPROCESSORS_ONLN));
    std::printf("hardware_concurrency() matches sched_getaffinity and sysconf\n");
}

// ------------------------------------------------------------------------------------------------
// async

int square_on_thread(int x, std::thread::id *ran_on)
{
    *ran_on = std::this_thread::get_id();
    return x * x;
}

void async_mode()
{
    const auto main_id = std::this_thread::get_id();
    std::thread::id where;
    auto a = std::async(std::launch::async, square_on_thread, 9, &where);
    CHECK(a.get() == 81);
    CHECK(where != main_id);
    std::printf("std::async(launch::async): 81 on another thread\n");

    std::thread::id deferred_where;
    auto d = std::async(std::launch::deferred, square_on_thread, 5, &deferred_where);
    CHECK(d.wait_for(0s) == std::future_status::deferred);
    CHECK(d.get() == 25);
    CHECK(deferred_where == main_id);
    std::printf("std::async(launch::deferred): 25 on the calling thread\n");

    // Many at once.
    std::vector<std::future<long>> fs;
    for (long i = 1; i <= 16; ++i)
        fs.push_back(std::async(std::launch::async, [i] {
            long s = 0;
            for (long k = 1; k <= i * 1000; ++k)
                s += k;
            return s;
        }));
    long total = 0;
    for (auto &f : fs)
        total += f.get();
    CHECK(total == 748068000L);
    std::printf("16 async tasks: total %ld\n", total);

    // Exceptions cross threads.
    auto e = std::async(std::launch::async, [] () -> int { throw std::runtime_error("from a task"); });
    try {
        e.get();
        CHECK(!"no exception");
    } catch (const std::runtime_error &ex) {
        std::printf("exception through a future: %s\n", ex.what());
    }

    // promise/future with a timeout first.
    std::promise<std::string> pr;
    auto fut = pr.get_future();
    auto t0 = Clock::now();
    CHECK(fut.wait_for(40ms) == std::future_status::timeout);
    check_took(t0, 40ms, "future::wait_for(40ms)");
    std::thread setter([&pr] {
        std::this_thread::sleep_for(10ms);
        pr.set_value("value");
    });
    CHECK(fut.wait_for(30s) == std::future_status::ready);
    CHECK(fut.get() == "value");
    setter.join();
    std::printf("promise: wait_for timed out, then the value arrived\n");

    // shared_future: several threads wait for one value.
    std::promise<int> go;
    std::shared_future<int> sf = go.get_future().share();
    std::atomic<int> seen{0};
    std::vector<std::thread> waiters;
    for (int i = 0; i < 6; ++i)
        waiters.emplace_back([sf, &seen] { seen += sf.get(); });
    go.set_value(7);
    for (auto &w : waiters)
        w.join();
    CHECK(seen == 42);
    std::printf("shared_future: 6 waiters saw %d in total\n", seen.load());

    // packaged_task on a thread; a broken promise.
    std::packaged_task<int(int, int)> task([](int x, int y) { return x * y; });
    auto tf = task.get_future();
    std::thread(std::move(task), 6, 7).join();
    CHECK(tf.get() == 42);
    std::future<int> broken;
    {
        std::promise<int> gone;
        broken = gone.get_future();
    }
    try {
        broken.get();
        CHECK(!"no exception");
    } catch (const std::future_error &fe) {
        CHECK(fe.code() == std::future_errc::broken_promise);
        std::printf("packaged_task: 42; abandoned promise: broken_promise\n");
    }
}

// ------------------------------------------------------------------------------------------------
// condvar: std::condition_variable, std::mutex family

void condvar_mode()
{
    // Bounded queue, 2 producers, 2 consumers.
    std::mutex m;
    std::condition_variable not_empty, not_full;
    std::deque<int> q;
    bool producers_done = false;
    long consumed = 0, count = 0;
    auto producer = [&](int base) {
        for (int i = 1; i <= 3000 / divisor; ++i) {
            std::unique_lock<std::mutex> lk(m);
            not_full.wait(lk, [&] { return q.size() < 4; });
            q.push_back(base + i);
            not_empty.notify_one();
        }
    };
    auto consumer = [&] {
        for (;;) {
            std::unique_lock<std::mutex> lk(m);
            not_empty.wait(lk, [&] { return !q.empty() || producers_done; });
            if (q.empty())
                return;
            consumed += q.front();
            ++count;
            q.pop_front();
            not_full.notify_one();
        }
    };
    std::thread p1(producer, 0), p2(producer, 10000), c1(consumer), c2(consumer);
    p1.join();
    p2.join();
    {
        std::lock_guard<std::mutex> lk(m);
        producers_done = true;
    }
    not_empty.notify_all();
    c1.join();
    c2.join();
    const long per = 3000 / divisor;
    CHECKF(count == 2 * per && consumed == per * (per + 1) + 10000 * per, "count %ld sum %ld",
           count, consumed);
    std::printf("condition_variable queue: %ld items, sum %ld\n", count, consumed);

    // notify_all releases every waiter.
    int ready = 0;
    bool go = false;
    std::condition_variable cv;
    std::vector<std::thread> ws;
    std::atomic<int> released{0};
    for (int i = 0; i < 6; ++i)
        ws.emplace_back([&] {
            std::unique_lock<std::mutex> lk(m);
            ++ready;
            cv.notify_all();
            cv.wait(lk, [&] { return go; });
            ++released;
        });
    {
        std::unique_lock<std::mutex> lk(m);
        cv.wait(lk, [&] { return ready == 6; });
        go = true;
    }
    cv.notify_all();
    for (auto &w : ws)
        w.join();
    CHECK(released == 6);
    std::printf("notify_all released %d waiters\n", released.load());

    // Timed waits that time out.
    {
        std::unique_lock<std::mutex> lk(m);
        auto t0 = Clock::now();
        CHECK(!cv.wait_for(lk, 50ms, [] { return false; }));
        check_took(t0, 50ms, "condition_variable::wait_for(50ms)");
        t0 = Clock::now();
        std::cv_status st;
        do
            st = cv.wait_until(lk, t0 + 30ms);
        while (st == std::cv_status::no_timeout && Clock::now() < t0 + 30ms);
        CHECK(st == std::cv_status::timeout);
        check_took(t0, 30ms, "condition_variable::wait_until(+30ms)");
        auto s0 = std::chrono::system_clock::now();
        CHECK(!cv.wait_until(lk, s0 + 30ms, [] { return false; }));
        CHECK(std::chrono::system_clock::now() >= s0 + 30ms);
    }
    std::printf("wait_for/wait_until time out (steady and system clocks)\n");

    // timed_mutex, recursive_mutex, shared_mutex, std::lock, call_once.
    std::timed_mutex tm;
    std::atomic<int> stage{0};
    std::thread holder([&] {
        std::lock_guard<std::timed_mutex> g(tm);
        stage = 1;
        while (stage != 2)
            std::this_thread::sleep_for(1ms);
    });
    while (stage != 1)
        std::this_thread::sleep_for(1ms);
    auto t0 = Clock::now();
    CHECK(!tm.try_lock_for(40ms));
    check_took(t0, 40ms, "timed_mutex::try_lock_for(40ms)");
    CHECK(!tm.try_lock());
    stage = 2;
    CHECK(tm.try_lock_for(30s));
    tm.unlock();
    holder.join();
    std::printf("timed_mutex: try_lock_for timed out while held, succeeded after\n");

    std::recursive_mutex rm;
    rm.lock();
    rm.lock();
    CHECK(rm.try_lock());
    bool other_got_it = true;
    std::thread([&] { other_got_it = rm.try_lock(); }).join();
    CHECK(!other_got_it);
    rm.unlock();
    rm.unlock();
    rm.unlock();
    std::thread([&] {
        other_got_it = rm.try_lock();
        if (other_got_it)
            rm.unlock();
    }).join();
    CHECK(other_got_it);
    std::printf("recursive_mutex: 3 levels, exclusive to its owner\n");

    std::shared_mutex sm;
    std::atomic<int> readers{0}, max_readers{0};
    std::vector<std::thread> rs;
    for (int i = 0; i < 4; ++i)
        rs.emplace_back([&] {
            std::shared_lock<std::shared_mutex> lk(sm);
            int now = ++readers;
            int prev = max_readers.load();
            while (now > prev && !max_readers.compare_exchange_weak(prev, now)) {
            }
            auto t1 = Clock::now();
            while (readers < 4 && Clock::now() - t1 < 30s)
                std::this_thread::yield();
        });
    for (auto &r : rs)
        r.join();
    CHECK(max_readers == 4);
    {
        std::unique_lock<std::shared_mutex> w(sm);
        bool shared_ok = true;
        std::thread([&] { shared_ok = sm.try_lock_shared(); }).join();
        CHECK(!shared_ok);
    }
    std::printf("shared_mutex: 4 readers together, none beside a writer\n");

    std::mutex a, b;
    long both = 0;
    std::thread l1([&] {
        for (int i = 0; i < 2000 / divisor; ++i) {
            std::scoped_lock lk(a, b);
            ++both;
        }
    });
    std::thread l2([&] {
        for (int i = 0; i < 2000 / divisor; ++i) {
            std::scoped_lock lk(b, a);
            ++both;
        }
    });
    l1.join();
    l2.join();
    CHECK(both == 2 * (2000 / divisor));
    std::once_flag once;
    std::atomic<int> once_runs{0};
    std::vector<std::thread> os;
    for (int i = 0; i < 8; ++i)
        os.emplace_back([&] { std::call_once(once, [&] { ++once_runs; std::this_thread::sleep_for(10ms); }); });
    for (auto &o : os)
        o.join();
    CHECK(once_runs == 1);
    std::printf("scoped_lock in opposite orders: %ld; call_once ran %d time\n", both,
                once_runs.load());
}

// ------------------------------------------------------------------------------------------------
// atomic: two threads per CPU hammering shared atomics

void atomic_mode()
{
    const int n = 2 * allowed_cpus();
    const int iters = 100000 / divisor;
    std::atomic<long> add{0};
    std::atomic<unsigned long long> cas{0};
    std::atomic<bool> locked{false};
    long plain = 0;
    std::atomic<int> start{0};
    std::atomic_flag flag = ATOMIC_FLAG_INIT;
    long flag_counted = 0;
    std::vector<std::thread> ts;
    for (int t = 0; t < n; ++t)
        ts.emplace_back([&] {
            while (!start.load(std::memory_order_acquire))
                ;
            for (int i = 0; i < iters; ++i) {
                add.fetch_add(1, std::memory_order_relaxed);
                auto old = cas.load(std::memory_order_relaxed);
                while (!cas.compare_exchange_weak(old, old + 3, std::memory_order_acq_rel)) {
                }
                if (i % 4 == 0) {
                    bool expected = false;
                    while (!locked.compare_exchange_weak(expected, true, std::memory_order_acquire))
                        expected = false;
                    ++plain;
                    locked.store(false, std::memory_order_release);
                }
                if (i % 4 == 1) {
                    while (flag.test_and_set(std::memory_order_acquire))
                        ;
                    ++flag_counted;
                    flag.clear(std::memory_order_release);
                }
            }
        });
    start.store(1, std::memory_order_release);
    for (auto &t : ts)
        t.join();
    CHECKF(add == (long)n * iters, "fetch_add %ld", add.load());
    CHECKF(cas == 3ULL * n * iters, "cas %llu", cas.load());
    CHECKF(plain == (long)n * iters / 4, "spin lock %ld", plain);
    CHECKF(flag_counted == (long)n * iters / 4, "atomic_flag lock %ld", flag_counted);
    std::printf("std::atomic counters exact with 2 threads per CPU\n");
}

// ------------------------------------------------------------------------------------------------
// thread_local: objects constructed on first use in each thread, destroyed when that thread
// exits (newest first), before join() returns; one thread at a time so the output has one order

struct Noisy {
    std::string name;
    explicit Noisy(std::string n) : name(std::move(n)) { std::printf("  construct %s\n", name.c_str()); }
    ~Noisy() { std::printf("  destroy %s\n", name.c_str()); }
};

std::atomic<int> thread_number{0};
thread_local int tl_plain = 100;
thread_local Noisy tl_first("first#" + std::to_string(++thread_number));
thread_local std::vector<int> tl_vector{1, 2, 3};

Noisy &tl_second()
{
    thread_local Noisy second("second#" + std::to_string(thread_number.load()));
    return second;
}

void use_both(const char *who)
{
    std::printf("%s uses %s and %s\n", who, tl_first.name.c_str(), tl_second().name.c_str());
}

void thread_local_mode()
{
    CHECK(tl_plain == 100);
    tl_plain = 1;
    std::printf("main starts\n");
    std::thread([] {
        CHECK(tl_plain == 100);
        tl_plain = 2;
        tl_vector.push_back(4);
        CHECK(tl_vector.size() == 4);
        use_both("thread A");
        std::printf("thread A returns\n");
    }).join();
    std::printf("thread A joined\n");
    std::thread([] {
        CHECK(tl_vector.size() == 3);
        std::printf("thread B uses only the function-local one: %s\n", tl_second().name.c_str());
        std::printf("thread B returns\n");
    }).join();
    std::printf("thread B joined\n");
    std::thread([] {
        use_both("thread C");
        std::printf("thread C calls pthread_exit\n");
        pthread_exit(nullptr);
    }).join();
    std::printf("thread C joined\n");
    std::thread([] { std::printf("thread D uses no thread_local object\n"); }).join();
    CHECK(tl_plain == 1);
    use_both("main");
    std::printf("main returns\n");
}

} // namespace

int main(int argc, char **argv)
{
    setvbuf(stdout, nullptr, _IOLBF, 0);
    if (argc > 2 && std::strcmp(argv[2], "light") == 0)
        divisor = 10;
    if (MODE_IS("thread"))
        thread_mode();
    else if (MODE_IS("async"))
        async_mode();
    else if (MODE_IS("condvar"))
        condvar_mode();
    else if (MODE_IS("atomic"))
        atomic_mode();
    else if (MODE_IS("thread_local"))
        thread_local_mode();
    else {
        std::printf("unknown mode\n");
        return 2;
    }
    return check_finish();
}
