// Built with -D_FORTIFY_SOURCE=2 -O2 as C++ (glibc-ABI headers): libstdc++ plus C calls that the
// headers turn into __*_chk calls, which the runtime glue provides. `fortify_cxx overflow`
// overflows a buffer on purpose: __memcpy_chk must catch it, print glibc's message and abort (134).
#include "check.h"
#include <algorithm>
#include <cstring>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#pragma GCC diagnostic ignored "-Wstringop-overflow"

[[gnu::noinline]] static void overflow(size_t len)
{
    char dst[8];
    std::memset(dst, 0, sizeof dst);
    std::memcpy(dst, "0123456789abcdefghijk", len); // __memcpy_chk(dst, src, len, 8)
    std::printf("FAIL: survived the overflow %c\n", dst[0]);
}

int main(int argc, char **argv)
{
    if (MODE_IS("overflow")) {
        std::printf("overflowing an 8-byte buffer\n");
        std::fflush(stdout);
        volatile size_t len = 20;
        overflow(len);
        return 1;
    }
    std::vector<std::string> words = {"delta", "alpha", "charlie", "bravo"};
    std::sort(words.begin(), words.end());
    std::string joined;
    for (const auto &w : words)
        joined += w + ",";
    CHECK(joined == "alpha,bravo,charlie,delta,");
    std::map<std::string, int> lengths;
    for (const auto &w : words)
        lengths[w] = static_cast<int>(w.size());
    char buf[64];
    volatile size_t n = words[0].size();
    std::memcpy(buf, words[0].data(), n);
    buf[n] = '\0';
    std::strcat(buf, "+");
    std::snprintf(buf + std::strlen(buf), sizeof buf - std::strlen(buf), "%d", lengths["charlie"]);
    CHECK(std::string(buf) == "alpha+7");
    std::ostringstream os;
    for (const auto &[k, v] : lengths)
        os << k << '=' << v << ' ';
    std::cout << joined << '\n' << buf << '\n' << os.str() << '\n';
    std::printf("printf through __printf_chk: %s\n", words.back().c_str());
    char line[64];
    volatile size_t cap = sizeof line;
    std::snprintf(line, cap, "%s|%d", "snprintf_chk", 7);
    CHECK(std::string(line) == "snprintf_chk|7");
    std::strncpy(line, words[1].c_str(), cap);
    CHECK(std::string(line) == "bravo");
    return check_finish();
}
