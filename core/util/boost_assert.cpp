// Where BOOST_ASSERT goes in the builds that keep assertions (Debug, the sanitizer and fuzz presets; CMakeLists.txt
// defines BOOST_ENABLE_ASSERT_HANDLER there): Boost's own message and an abort, as without a handler, except for
// one assertion of Boost 1.81 that valid input reaches.
#ifdef BOOST_ENABLE_ASSERT_HANDLER
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace boost {

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file, long line) {
    // Beast's request parser asserts `n >= 5` in parse_chunk_header, but a chunked body arriving as "0\r\n", then
    // "\r", then "\n" reaches it with 3 or 4 bytes, which the code after it handles (it asks for more). Fixed in
    // Beast by boostorg/beast#2861 (Boost 1.86); release builds compile the assertion out. Found by
    // tests/fuzz/http_fuzz.cpp (corpus/http/regress-chunk-header-short).
    if (std::string_view(expr) == "n >= 5" && std::string_view(file).ends_with("beast/http/impl/basic_parser.ipp")) {
        return;
    }
    std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed%s%s\n", file, line, function, expr, msg ? ": " : "",
                 msg ? msg : "");
    std::abort();
}

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
    assertion_failed_msg(expr, nullptr, function, file, line);
}

}  // namespace boost
#endif
