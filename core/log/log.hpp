/// @file
/// Structured logging: one line per event, as JSON or as human-readable console text, with levels.
#pragma once
#include <boost/json/value.hpp>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace happy::log {

enum class level { trace = 0, debug, info, warn, error, off };
enum class format { console, json };

struct field {
    field(std::string_view k, boost::json::value v) : key(k), value(std::move(v)) {}
    field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
    field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
    field(std::string_view k, std::string_view v) : key(k), value(v) {}
    std::string_view key;
    boost::json::value value;
};

/// Sets the minimum level and the output format (thread-safe; usually called once at start-up).
void configure(level min_level, format fmt);

/// Parses "trace" | "debug" | "info" | "warn" | "error" | "off".
std::optional<level> parse_level(std::string_view s);

bool enabled(level l);

/// Writes one line to stdout. Info/debug lines are buffered and written by a background thread within ~10 ms;
/// warnings and errors are written at once. Lines never interleave and keep their order.
void write(level l, std::string_view msg, std::initializer_list<field> fields = {});

/// Writes out buffered lines now (shutdown, before a fatal exit).
void flush();

inline void debug(std::string_view msg, std::initializer_list<field> f = {}) {
    if (enabled(level::debug)) {
        write(level::debug, msg, f);
    }
}
inline void info(std::string_view msg, std::initializer_list<field> f = {}) {
    if (enabled(level::info)) {
        write(level::info, msg, f);
    }
}
inline void warn(std::string_view msg, std::initializer_list<field> f = {}) {
    if (enabled(level::warn)) {
        write(level::warn, msg, f);
    }
}
inline void error(std::string_view msg, std::initializer_list<field> f = {}) {
    if (enabled(level::error)) {
        write(level::error, msg, f);
    }
}

}  // namespace happy::log
