// Probe: C++20 library surface compiled against glibc's headers (not linked,
// not run).  See probe_c.c.
#include <atomic>
#include <barrier>
#include <chrono>
#include <latch>
#include <semaphore>
#include <stop_token>
#include <syncstream>
#include <thread>
#include <iostream>

int main(int argc, char **)
{
	std::counting_semaphore<4> sem(argc);
	std::binary_semaphore bs(1);
	if (sem.try_acquire_for(std::chrono::milliseconds(1)))
		sem.release();
	if (bs.try_acquire_until(std::chrono::system_clock::now()))
		bs.release();
	std::latch l(1);
	l.count_down();
	l.wait();
	std::barrier b(1);
	b.arrive_and_wait();
	std::atomic<int> a{0};
	std::jthread t([&](std::stop_token st) { while (!st.stop_requested()) { a.wait(0); break; } });
	a = 1;
	a.notify_all();
	std::osyncstream(std::cout) << a.load() << '\n';
	return 0;
}
