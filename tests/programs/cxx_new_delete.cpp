// C++ allocation under pressure (issue 4): `cxx_new_delete storm THREADS OPS`.
//
// THREADS std::threads each do OPS random operations through operator new/delete (libstdc++'s,
// on musl's malloc): new[]/delete[] of random sizes, objects with over-aligned types, growing
// std::vector and std::string, std::map inserts and erases, and std::shared_ptr objects passed
// through a shared queue to be released by another thread. Every object checks its contents
// before it dies; a live-object counter must come back to zero. Then allocation failures:
// `new (std::nothrow)` of 1 TiB is nullptr and plain `new` throws std::bad_alloc.
//
// Nothing printed depends on the number of CPUs, timing or addresses.
#include "check.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<long> live{0};
std::atomic<long> corrupted{0};
std::atomic<long> passed{0};

uint64_t next_random(uint64_t &s)
{
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
}

// An object that knows what it should hold.
struct Item {
    uint64_t tag;
    std::vector<uint32_t> words;
    std::string text;

    explicit Item(uint64_t t, size_t n) : tag(t), words(n), text(n % 300, char('a' + t % 26))
    {
        for (size_t i = 0; i < n; i++)
            words[i] = uint32_t(t * 2654435761u + i);
        live++;
    }
    ~Item()
    {
        long bad = 0;
        for (size_t i = 0; i < words.size(); i++)
            bad += words[i] != uint32_t(tag * 2654435761u + i);
        for (char c : text)
            bad += c != char('a' + tag % 26);
        bad += text.size() != words.size() % 300;
        corrupted += bad;
        live--;
    }
    Item(const Item &) = delete;
    Item &operator=(const Item &) = delete;
};

struct alignas(64) Wide {
    unsigned char bytes[192];
    explicit Wide(unsigned char v)
    {
        std::memset(bytes, v, sizeof bytes);
        live++;
    }
    ~Wide()
    {
        long bad = 0;
        for (unsigned char b : bytes)
            bad += b != bytes[0];
        corrupted += bad;
        live--;
    }
};

std::mutex queue_lock;
std::deque<std::shared_ptr<Item>> queue;

void worker(int id, long ops)
{
    uint64_t seed = 0x9E3779B97F4A7C15ull * uint64_t(id + 1);
    std::vector<std::unique_ptr<unsigned char[]>> arrays(64);
    std::vector<size_t> array_sizes(64);
    std::vector<std::unique_ptr<Item>> items(64);
    std::vector<std::unique_ptr<Wide>> wides(16);
    std::map<uint64_t, std::string> map;
    std::string log;
    uint64_t serial = uint64_t(id) << 40;
    long bad = 0;
    for (long op = 0; op < ops; op++) {
        uint64_t r = next_random(seed);
        unsigned what = unsigned(r % 100);
        r >>= 8;
        if (what < 35) {
            // new[]/delete[] of 1 B .. 64 KiB (sometimes 256 KiB)
            size_t k = r % 64;
            if (arrays[k]) {
                size_t n = array_sizes[k];
                unsigned char v = arrays[k][0];
                bad += arrays[k][n / 2] != v || arrays[k][n - 1] != v;
            }
            size_t n = (r >> 8) % 100 == 0 ? (256u << 10) : 1 + (r >> 16) % (64u << 10);
            arrays[k].reset(new unsigned char[n]);
            std::memset(arrays[k].get(), int(r & 0xff), n);
            array_sizes[k] = n;
        } else if (what < 60) {
            size_t k = r % 64;
            items[k] = std::make_unique<Item>(++serial, (r >> 8) % 2000);
        } else if (what < 70) {
            size_t k = r % 16;
            wides[k] = std::make_unique<Wide>(uint8_t(r >> 8));
            bad += (reinterpret_cast<uintptr_t>(wides[k].get()) & 63) != 0;
        } else if (what < 80) {
            uint64_t key = (r >> 8) % 512;
            if (map.count(key))
                bad += map[key] != std::to_string(key * 7);
            if ((r >> 20) & 1)
                map.erase(key);
            else
                map[key] = std::to_string(key * 7);
        } else if (what < 90) {
            // Hand an object to any thread; release one that another thread made.
            auto item = std::make_shared<Item>(++serial, (r >> 8) % 500);
            std::shared_ptr<Item> other;
            {
                std::lock_guard<std::mutex> g(queue_lock);
                queue.push_back(std::move(item));
                if (queue.size() > 32) {
                    other = std::move(queue.front());
                    queue.pop_front();
                }
            }
            if (other)
                passed++;
            other.reset(); // destroyed here, possibly allocated by another thread
        } else {
            log += std::to_string(op);
            if (log.size() > 100000)
                log.clear();
        }
    }
    corrupted += bad;
}

void storm(int threads, long ops)
{
    std::vector<std::thread> team;
    for (int i = 0; i < threads; i++)
        team.emplace_back(worker, i, ops);
    for (auto &t : team)
        t.join();
    {
        std::lock_guard<std::mutex> g(queue_lock);
        queue.clear();
    }
    CHECKF(corrupted.load() == 0, "%ld corrupted values", corrupted.load());
    CHECKF(live.load() == 0, "%ld objects still alive", live.load());
    CHECK(passed.load() > 0);
    std::printf("new/delete storm: %d threads x %ld operations, every object intact, all freed\n",
                threads, ops);

    // volatile: the compiler may not fold or drop the allocations.
    static volatile size_t one_tib = size_t(1) << 40;
    const size_t tib = one_tib;
    char *p = new (std::nothrow) char[tib];
    CHECK(p == nullptr);
    delete[] p;
    bool threw = false;
    try {
        char *volatile q = new char[tib];
        q[0] = 1;
        delete[] q;
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    CHECK(threw);
    std::vector<char> after(16 << 20, 'x');
    CHECK(after[0] == 'x' && after.back() == 'x');
    std::printf("1 TiB: nothrow new gives nullptr, new throws std::bad_alloc; 16 MiB works after\n");
}

} // namespace

int main(int argc, char **argv)
{
    if (MODE_IS("storm") && argc == 4) {
        storm(std::atoi(argv[2]), std::atol(argv[3]));
    } else {
        std::printf("usage: cxx_new_delete storm THREADS OPS\n");
        return 2;
    }
    return check_finish();
}
