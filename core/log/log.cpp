#include "core/log/log.hpp"

#include <atomic>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <fmt/format.h>
#include <unistd.h>

#include "core/util/time.hpp"

namespace happy::log {

namespace {
std::atomic<int> g_level{static_cast<int>(level::info)};
std::atomic<int> g_format{static_cast<int>(format::console)};

constexpr std::string_view level_name(level l) {
    switch (l) {
        case level::trace: return "trace";
        case level::debug: return "debug";
        case level::info: return "info";
        case level::warn: return "warn";
        case level::error: return "error";
        default: return "off";
    }
}

constexpr std::string_view console_level_name(level l) {
    switch (l) {
        case level::trace: return "TRACE";
        case level::debug: return "DEBUG";
        case level::info: return "INFO ";
        case level::warn: return "WARN ";
        case level::error: return "ERROR";
        default: return "OFF  ";
    }
}

bool needs_quotes(std::string_view s) {
    if (s.empty()) {
        return true;
    }
    for (char c : s) {
        if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) {
            return true;
        }
    }
    return false;
}
}  // namespace

void configure(level min_level, format fmt) {
    g_level.store(static_cast<int>(min_level));
    g_format.store(static_cast<int>(fmt));
}

std::optional<level> parse_level(std::string_view s) {
    for (level l : {level::trace, level::debug, level::info, level::warn, level::error, level::off}) {
        if (s == level_name(l)) {
            return l;
        }
    }
    return std::nullopt;
}

bool enabled(level l) { return static_cast<int>(l) >= g_level.load(std::memory_order_relaxed); }

void write(level l, std::string_view msg, std::initializer_list<field> fields) {
    std::string line;
    line.reserve(128);
    std::string ts = iso8601_ms(now_ms());
    // Doubles are written with fmt (shortest round-trip, no exponent for ordinary values): Boost.JSON would
    // print 0.16 as 1.6E-1.
    auto value_text = [](const boost::json::value& v) {
        return v.is_double() ? fmt::format("{}", v.get_double()) : boost::json::serialize(v);
    };
    if (static_cast<format>(g_format.load(std::memory_order_relaxed)) == format::json) {
        line.append("{\"ts\":\"").append(ts).append("\",\"level\":\"").append(level_name(l)).append("\",\"msg\":");
        line.append(boost::json::serialize(boost::json::value(msg)));
        for (const auto& f : fields) {
            line.append(",").append(boost::json::serialize(boost::json::value(f.key))).append(":");
            line.append(value_text(f.value));
        }
        line.append("}");
    } else {
        line.append(ts).append(" ").append(console_level_name(l)).append(" ").append(msg);
        for (const auto& f : fields) {
            line.append(" ").append(f.key).append("=");
            if (f.value.is_string() && !needs_quotes(f.value.get_string())) {
                line.append(f.value.get_string());
            } else {
                line.append(value_text(f.value));
            }
        }
    }
    line.push_back('\n');
    // One write(2) per line: atomic for pipes up to PIPE_BUF and never interleaved mid-line in practice.
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
        ssize_t n = ::write(STDOUT_FILENO, p, left);
        if (n <= 0) {
            break;
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

}  // namespace happy::log
