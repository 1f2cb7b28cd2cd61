// parallel: a CPU-bound job split over every CPU with std::thread.
//
// Counts the primes below a limit (first argument, default 4,000,000) by trial division, in
// blocks handed out through an atomic counter to std::thread::hardware_concurrency() threads,
// then prints the count, the time taken, and how many distinct CPUs ran the workers (each
// worker records sched_getcpu() as it goes).
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

bool is_prime(std::uint64_t n)
{
    if (n < 2)
        return false;
    if (n % 2 == 0)
        return n == 2;
    for (std::uint64_t d = 3; d * d <= n; d += 2)
        if (n % d == 0)
            return false;
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    const std::uint64_t limit = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 4'000'000;
    const unsigned workers = std::max(1u, std::thread::hardware_concurrency());
    constexpr std::uint64_t block = 10'000;

    std::atomic<std::uint64_t> next{0};
    std::atomic<std::uint64_t> primes{0};
    std::mutex cpus_lock;
    std::set<int> cpus;

    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (unsigned w = 0; w < workers; ++w) {
        threads.emplace_back([&] {
            std::set<int> seen;
            std::uint64_t found = 0;
            for (;;) {
                const std::uint64_t first = next.fetch_add(block);
                if (first >= limit)
                    break;
                const std::uint64_t last = std::min(first + block, limit);
                for (std::uint64_t n = first; n < last; ++n)
                    found += is_prime(n);
                seen.insert(sched_getcpu());
            }
            primes += found;
            std::lock_guard<std::mutex> guard(cpus_lock);
            cpus.insert(seen.begin(), seen.end());
        });
    }
    for (auto &t : threads)
        t.join();
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;

    std::cout << primes << " primes below " << limit << ", counted by " << workers << " threads on "
              << cpus.size() << " CPU" << (cpus.size() == 1 ? "" : "s") << " in " << took.count() << " s\n";
    return 0;
}
