// iostreams: ostringstream with numbers and manipulators, istringstream parsing, std::cout
// mixed with printf, and `cin` mode reading integers (and a word) from std::cin until EOF.
#include "check.h"
#include <iomanip>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>

static void formatting()
{
    std::ostringstream os;
    os << 42 << ' ' << -7 << ' ' << 0 << ' ' << std::numeric_limits<long long>::min() << ' '
       << std::numeric_limits<unsigned long long>::max();
    CHECK(os.str() == "42 -7 0 -9223372036854775808 18446744073709551615");
    std::cout << os.str() << '\n';

    os.str("");
    os << std::hex << 255 << ' ' << std::showbase << 255 << ' ' << std::oct << 8 << ' '
       << std::uppercase << std::hex << 0xabc << std::dec << std::noshowbase << std::nouppercase;
    CHECK(os.str() == "ff 0xff 010 0XABC");
    std::cout << os.str() << '\n';

    os.str("");
    os << 3.14159265358979 << ' ' << 1e20 << ' ' << 1.0 / 3 << ' ' << 100.0 << ' ' << 0.1 + 0.2;
    CHECK(os.str() == "3.14159 1e+20 0.333333 100 0.3");
    std::cout << os.str() << '\n';

    os.str("");
    os << std::fixed << std::setprecision(3) << 2.0 / 3 << ' ' << -1.5 << ' '
       << std::scientific << 12345.678 << ' ' << std::setprecision(17) << std::defaultfloat
       << 0.1;
    CHECK(os.str() == "0.667 -1.500 1.235e+04 0.10000000000000001");
    std::cout << os.str() << '\n';

    os.str("");
    os << '[' << std::setw(8) << 42 << "][" << std::left << std::setw(8) << "ab" << "]["
       << std::right << std::setfill('0') << std::setw(6) << -12 << "][" << std::internal
       << std::setw(6) << -12 << ']' << std::setfill(' ');
    std::cout << os.str() << '\n';
    CHECK(os.str() == "[      42][ab      ][000-12][-00012]");

    os.str("");
    os << std::boolalpha << true << ' ' << false << std::noboolalpha << ' ' << true;
    CHECK(os.str() == "true false 1");
    std::cout << os.str() << '\n';

    CHECK(std::to_string(-123) == "-123");
    CHECK(std::to_string(1.5) == "1.500000");
    CHECK(std::stod("2.5e3") == 2500.0);
    CHECK(std::stol("-99") == -99);

    std::istringstream is("12 -3 4.75 word 0x1f");
    int a = 0, b = 0;
    double d = 0;
    std::string w;
    int h = 0;
    is >> a >> b >> d >> w >> std::hex >> h;
    CHECK(is && a == 12 && b == -3 && d == 4.75 && w == "word" && h == 31);
    std::cout << "parsed " << a << ' ' << b << ' ' << d << ' ' << w << ' ' << h << '\n';
    int bad = 5;
    std::istringstream junk("xyz");
    junk >> bad;
    CHECK(junk.fail() && bad == 0);

    // cout and printf share stdout in order (sync_with_stdio is on by default).
    std::cout << "cout 1\n";
    printf("printf 2\n");
    std::cout << "cout 3" << std::endl;
    std::cerr << "cerr 4\n"; // unit-buffered: appears at once on the merged stream
    std::clog << "clog 5\n";
    std::cout << "cout 6\n";
}

static int read_numbers()
{
    long long sum = 0;
    int count = 0, x;
    while (std::cin >> x) {
        sum += x;
        count++;
    }
    CHECK(std::cin.eof());
    std::cin.clear();
    std::cout << "read " << count << " integers, sum " << sum << '\n';
    return count;
}

int main(int argc, char **argv)
{
    if (MODE_IS("cin")) {
        // The first line holds a name, then integers separated by any whitespace.
        std::string name;
        std::getline(std::cin, name);
        std::cout << "hello, " << name << '\n';
        int n = read_numbers();
        CHECK(argc < 3 || n == atoi(argv[2]));
    } else if (MODE_IS("format"))
        formatting();
    else {
        printf("usage: cxx_streams format|cin [EXPECTED-COUNT]\n");
        return 2;
    }
    return check_finish();
}
