/// @file
/// Structured logging: one line per event, as JSON or as human-readable console text, with levels.
#pragma once
#include <atomic>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

/// Where lines go: stdout (the default, for the server) or another descriptor. The tool commands (migrate, backup,
/// ...) log to stderr so that their stdout holds only their result (`--json`).
void set_output_fd(int fd);

/// Parses "trace" | "debug" | "info" | "warn" | "error" | "off".
std::optional<level> parse_level(std::string_view s);

bool enabled(level l);

/// Writes one line to stdout. Info/debug lines are buffered and written by a background thread within ~10 ms;
/// warnings and errors are written at once. Lines never interleave and keep their order.
void write(level l, std::string_view msg, std::initializer_list<field> fields = {});

/// Writes out buffered lines now (shutdown, before a fatal exit).
void flush();

/// A warning or error as the admin console lists it.
struct recent_entry {
    std::int64_t time_ms = 0;
    level lvl = level::warn;
    std::string message;
    std::string fields;  ///< the fields as one JSON object
};
/// The last warnings and errors (at most `recent_capacity`, oldest first), whatever the configured level: kept in
/// memory for the admin console.
std::vector<recent_entry> recent();
inline constexpr std::size_t recent_capacity = 50;

/// Sends the lines to `path` (appended; created with mode 0640) instead of stdout, rotating it by size: before a
/// line would take it past `max_bytes` it is renamed `<path>.1` (`.1` → `.2` …, the oldest past `max_files`
/// deleted) and a new file started. `max_bytes` 0 never rotates. An empty `path` goes back to stdout.
/// Throws std::system_error when the file cannot be opened (the previous destination stays).
void set_file(const std::string& path, std::uint64_t max_bytes, int max_files);

/// Reopens the log file by name (after logrotate moved it away; SIGHUP). No-op when writing to stdout.
void reopen();

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

/// Lets a repeated warning through at most once per interval, so that a flood (refused connections, say) does not
/// flood the log as well. Thread-safe.
class throttle {
public:
    explicit throttle(std::chrono::milliseconds interval) : interval_ms_(interval.count()) {}
    /// True when the caller may log now.
    bool ready() {
        std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
        std::int64_t last = last_ms_.load(std::memory_order_relaxed);
        return (last == 0 || now - last >= interval_ms_) && last_ms_.compare_exchange_strong(last, now);
    }

private:
    std::int64_t interval_ms_;
    std::atomic<std::int64_t> last_ms_{0};
};

}  // namespace happy::log
