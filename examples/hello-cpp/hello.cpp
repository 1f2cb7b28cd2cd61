// hello-cpp: an ordinary C++ program, unchanged, as a Ferrite service.
//
// Reads a number from its first argument, or from standard input when there is none, and exits
// with twice that number (so `ferrite run hello-cpp.elf -- 21` ends with status 42). Along the way
// it uses iostreams, std::string, std::map, locale-based parsing and exceptions.
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

namespace {

int parse_number(const std::string &text)
{
    std::istringstream in(text);
    int value;
    if (!(in >> value) || !(in >> std::ws).eof())
        throw std::invalid_argument("not a number: \"" + text + "\"");
    if (value < 0 || value > 127)
        throw std::out_of_range("expected a number from 0 to 127, got " + std::to_string(value));
    return value;
}

std::map<std::string, int> count_words(const std::string &text)
{
    std::map<std::string, int> counts;
    std::istringstream in(text);
    for (std::string word; in >> word;)
        ++counts[word];
    return counts;
}

} // namespace

int main(int argc, char **argv)
{
    std::string input;
    if (argc > 1) {
        input = argv[1];
    } else {
        std::cout << "Give me a number: " << std::flush;
        int value;
        if (!(std::cin >> value)) {
            std::cerr << "hello-cpp: no number on standard input\n";
            return 1;
        }
        input = std::to_string(value);
    }

    int number;
    try {
        number = parse_number(input);
    } catch (const std::exception &e) {
        std::cerr << "hello-cpp: " << e.what() << '\n';
        return 1;
    }

    std::cout << "Hello from C++ on Ferrite!\n";
    for (const auto &[word, count] : count_words("the quick brown fox jumps over the lazy dog the end"))
        if (count > 1)
            std::cout << "  \"" << word << "\" appears " << count << " times\n";
    std::cout << number << " doubled is " << 2 * number << "; exiting with that status\n";
    return 2 * number;
}
