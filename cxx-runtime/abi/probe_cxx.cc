// Probe: C++ compiled against glibc's headers with the usual library surface
// (not linked, not run).  See probe_c.c.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iomanip>
#include <iostream>
#include <locale>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <regex>
#include <shared_mutex>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

thread_local std::string tls_name = "t";

int main(int argc, char **argv)
{
	char buf[32];
	std::memcpy(buf, argv[0], argc * 3u);
	std::snprintf(buf, argc * 3u, "%d", argc);
	std::string s(argv[0]);
	std::ostringstream os;
	os << std::setw(8) << std::fixed << std::setprecision(3) << 3.14 << ' ' << argc;
	std::istringstream is("42 2.5");
	int i = 0;
	double d = 0;
	is >> i >> d;
	double fd = 0;
	std::from_chars(s.data(), s.data() + s.size(), fd);
	std::to_chars(buf, buf + sizeof buf, fd);
	std::regex re("a+b");
	std::smatch m;
	std::regex_search(s, m, re);
	std::random_device rd;
	std::mt19937 gen(rd());
	std::map<std::string, int> mp{{"a", 1}};
	std::unordered_map<int, int> um{{1, 2}};
	std::shared_ptr<int> sp = std::make_shared<int>(argc);
	std::mutex mu;
	std::shared_mutex smu;
	std::condition_variable cv;
	std::recursive_mutex rmu;
	std::timed_mutex tmu;
	std::recursive_timed_mutex rtmu;
	std::shared_timed_mutex stmu;
	{
		std::unique_lock<std::mutex> lk(mu);
		cv.wait_for(lk, std::chrono::milliseconds(1));
		cv.wait_until(lk, std::chrono::system_clock::now());
	}
	std::lock_guard<std::recursive_mutex> rg(rmu);
	if (tmu.try_lock_for(std::chrono::milliseconds(1)))
		tmu.unlock();
	if (rtmu.try_lock_until(std::chrono::steady_clock::now()))
		rtmu.unlock();
	if (stmu.try_lock_shared_for(std::chrono::milliseconds(1)))
		stmu.unlock_shared();
	if (stmu.try_lock_for(std::chrono::milliseconds(1)))
		stmu.unlock();
	std::thread t([&] { std::lock_guard<std::mutex> g(mu); tls_name += "x"; cv.notify_all(); });
	t.join();
	auto fut = std::async(std::launch::async, [] { return 7; });
	std::ifstream in(argv[0]);
	std::error_code ec;
	std::filesystem::exists(argv[0], ec);
	try {
		throw std::system_error(ec);
	} catch (const std::exception &e) {
		std::cerr << e.what() << std::toupper('a', std::locale()) << '\n';
	}
	std::cout << os.str() << i << d << mp.size() << um.size() << *sp << fut.get()
		  << std::chrono::steady_clock::now().time_since_epoch().count()
		  << std::isalpha(argv[0][0]) << std::tolower(argv[0][0]) << gen() << std::endl;
	return 0;
}
