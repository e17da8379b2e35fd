#include "core/json/json_writer.hpp"

#include <algorithm>
#include <array>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace happy::json_text {

namespace {

/// True when one of the 8 bytes of `w` is < 0x20, '"' or '\\' (SWAR: stored values are mostly base64, so
/// whole words are skipped at once).
bool word_needs_escape(std::uint64_t w) {
    constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    auto has_zero = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
    std::uint64_t below_space = (w - ones * 0x20) & ~w & highs;
    return (below_space | has_zero(w ^ (ones * '"')) | has_zero(w ^ (ones * '\\'))) != 0;
}

/// How many leading bytes of `s` certainly need no escape (a multiple of the block size; the rest is checked byte
/// by byte). Stored values are mostly base64 of hundreds of bytes, so this scan is most of a list row's cost:
/// 32 bytes per step with SSE2 (every x86-64), 8 bytes per step elsewhere (SWAR, e.g. a Raspberry Pi).
std::size_t escape_free_prefix(std::string_view s) {
    std::size_t i = 0;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), control_max = _mm_set1_epi8(0x1f);
    auto flags = [&](const char* p) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(v, control_max), control_max);  // unsigned v <= 0x1f
        return _mm_or_si128(control, _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    };
    while (i + 32 <= s.size() && _mm_movemask_epi8(_mm_or_si128(flags(s.data() + i), flags(s.data() + i + 16))) == 0) {
        i += 32;
    }
#endif
    while (i + 8 <= s.size()) {
        std::uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        if (word_needs_escape(w)) {
            break;
        }
        i += 8;
    }
    return i;
}

/// Bytes an escape adds to a character: 1 for \" \\ \b \f \n \r \t, 5 for other control characters (\u00xx).
constexpr auto escape_extra = [] {
    std::array<std::uint8_t, 256> t{};
    for (int c = 0; c < 0x20; ++c) {
        t[c] = 5;
    }
    for (unsigned char c : {'"', '\\', '\b', '\f', '\n', '\r', '\t'}) {
        t[c] = 1;
    }
    return t;
}();

/// Length of `s` as a JSON string literal, quotes included; `clean` tells whether nothing needed escaping.
std::size_t quoted_size(std::string_view s, bool& clean) {
    std::size_t extra = 0;
    for (std::size_t i = escape_free_prefix(s); i < s.size(); ++i) {
        extra += escape_extra[static_cast<unsigned char>(s[i])];
    }
    clean = extra == 0;
    return s.size() + 2 + extra;
}

/// Writes `s` as a JSON string literal (quoted_size() bytes) at `p`.
void write_quoted(char* p, std::string_view s, bool clean) {
    static constexpr char hex[] = "0123456789abcdef";
    *p++ = '"';
    if (clean) {
        std::memcpy(p, s.data(), s.size());
        p[s.size()] = '"';
        return;
    }
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c != '"' && c != '\\') {
            *p++ = ch;
            continue;
        }
        *p++ = '\\';
        switch (c) {
            case '"':
                *p++ = '"';
                break;
            case '\\':
                *p++ = '\\';
                break;
            case '\b':
                *p++ = 'b';
                break;
            case '\f':
                *p++ = 'f';
                break;
            case '\n':
                *p++ = 'n';
                break;
            case '\r':
                *p++ = 'r';
                break;
            case '\t':
                *p++ = 't';
                break;
            default:
                *p++ = 'u';
                *p++ = '0';
                *p++ = '0';
                *p++ = hex[c >> 4];
                *p++ = hex[c & 15];
        }
    }
    *p = '"';
}

}  // namespace

void append_string(std::string& out, std::string_view s) {
    bool clean = false;
    std::size_t n = quoted_size(s, clean);
    std::size_t old = out.size();
    out.resize(old + n);
    write_quoted(out.data() + old, s, clean);
}

void append_number(std::string& out, double v) {
    if (!std::isfinite(v)) {
        out += "null";
        return;
    }
    if (v == 0) {
        out += '0';  // also -0
        return;
    }
    // Shortest round-trip digits in scientific form, e.g. "-7.5e-01": sign, digits, decimal exponent.
    char buf[40];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string_view sci(buf, static_cast<std::size_t>(end - buf));
    bool negative = sci.front() == '-';
    if (negative) {
        sci.remove_prefix(1);
    }
    auto e_pos = sci.find('e');
    int exp10 = 0;
    std::from_chars(sci.data() + e_pos + 1 + (sci[e_pos + 1] == '+' ? 1 : 0), sci.data() + sci.size(), exp10);
    char digits[24];
    int k = 0;
    for (char c : sci.substr(0, e_pos)) {
        if (c != '.') {
            digits[k++] = c;
        }
    }
    int n = exp10 + 1;  // ECMA-262 Number::toString: value = digits × 10^(n−k)
    if (negative) {
        out += '-';
    }
    if (k <= n && n <= 21) {
        out.append(digits, static_cast<std::size_t>(k));
        out.append(static_cast<std::size_t>(n - k), '0');
    } else if (0 < n && n <= 21) {
        out.append(digits, static_cast<std::size_t>(n));
        out += '.';
        out.append(digits + n, static_cast<std::size_t>(k - n));
    } else if (-6 < n && n <= 0) {
        out += "0.";
        out.append(static_cast<std::size_t>(-n), '0');
        out.append(digits, static_cast<std::size_t>(k));
    } else {
        out += digits[0];
        if (k > 1) {
            out += '.';
            out.append(digits + 1, static_cast<std::size_t>(k - 1));
        }
        out += 'e';
        out += n - 1 >= 0 ? '+' : '-';
        char eb[8];
        auto [ee, ec2] = std::to_chars(eb, eb + sizeof eb, std::abs(n - 1));
        out.append(eb, ee);
    }
}

void append_value(std::string& out, const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::null:
            out += "null";
            break;
        case boost::json::kind::bool_:
            out += v.get_bool() ? "true" : "false";
            break;
        case boost::json::kind::int64: {
            char buf[24];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.get_int64());
            out.append(buf, end);
            break;
        }
        case boost::json::kind::uint64: {
            char buf[24];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.get_uint64());
            out.append(buf, end);
            break;
        }
        case boost::json::kind::double_:
            append_number(out, v.get_double());
            break;
        case boost::json::kind::string:
            append_string(out, v.get_string());
            break;
        case boost::json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& e : v.get_array()) {
                if (!first) {
                    out += ',';
                }
                first = false;
                append_value(out, e);
            }
            out += ']';
            break;
        }
        case boost::json::kind::object: {
            out += '{';
            bool first = true;
            for (const auto& kv : v.get_object()) {
                if (!first) {
                    out += ',';
                }
                first = false;
                append_string(out, kv.key());
                out += ':';
                append_value(out, kv.value());
            }
            out += '}';
            break;
        }
    }
}

std::string stringify(const boost::json::value& v) {
    std::string out;
    append_value(out, v);
    return out;
}

void writer::integer(std::int64_t v) {
    separate();
    char* p = room(20);  // "-9223372036854775808"
    auto [end, ec] = std::to_chars(p, p + 20, v);
    pos_ += static_cast<std::size_t>(end - p);
}

void writer::grow(std::size_t n) {
    // Geometric, and at least what the caller reserved: resize() within the capacity only clears bytes.
    out_.resize(std::max({pos_ + n, out_.size() * 2, out_.capacity(), std::size_t{256}}));
}

void writer::write_string(std::string_view s) {
    bool clean = false;
    std::size_t n = quoted_size(s, clean);
    write_quoted(room(n), s, clean);
    pos_ += n;
}

}  // namespace happy::json_text
