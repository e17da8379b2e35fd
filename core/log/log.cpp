#include "core/log/log.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <fmt/format.h>
#include <iterator>
#include <unistd.h>

#include "core/json/json_writer.hpp"
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

void write_all(std::string_view text) {
    const char* p = text.data();
    std::size_t left = text.size();
    while (left > 0) {
        ssize_t n = ::write(STDOUT_FILENO, p, left);
        if (n <= 0) {
            break;
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

/// Info and debug lines are appended to a buffer that a background thread writes out every 10 ms: one write(2)
/// per request line cost ~7 µs of a ~40 µs request (bench/sync.mjs). Warnings and errors are written at once
/// (after what is buffered, so the order holds); flush() empties the buffer at shutdown and before a fatal exit.
class line_buffer {
public:
    static line_buffer& get() {
        static auto* b = new line_buffer();  // never destroyed: the writer thread may outlive static destructors
        return *b;
    }

    void append(std::string_view line) {
        {
            std::lock_guard lock(mutex_);
            buf_.append(line);
            if (!started_) {
                started_ = true;
                std::thread([this] { run(); }).detach();
                std::atexit([] { get().flush(); });
            }
            if (buf_.size() < max_buffered) {
                return;
            }
        }
        // A burst faster than the writer: write here, which also slows the producers down.
        flush();
    }

    void write_through(std::string_view line) {
        std::lock_guard order(write_mutex_);
        std::string out = take();
        out.append(line);
        write_all(out);
    }

    /// Every write takes write_mutex_ before it takes the buffered lines, so lines reach stdout in the order
    /// they were logged; request threads only ever wait for mutex_, which no one holds while writing.
    void flush() {
        std::lock_guard order(write_mutex_);
        write_all(take());
    }

private:
    static constexpr std::size_t max_buffered = 1 << 20;

    std::string take() {
        std::string out;
        std::lock_guard lock(mutex_);
        out.swap(buf_);
        return out;
    }

    void run() {
        for (;;) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            flush();
        }
    }

    std::mutex mutex_;
    std::mutex write_mutex_;
    std::string buf_;
    bool started_ = false;
};

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
    // print 0.16 as 1.6E-1. Everything else goes straight into the line (no temporary strings).
    auto append_value = [&line](const boost::json::value& v) {
        if (v.is_double()) {
            fmt::format_to(std::back_inserter(line), "{}", v.get_double());
        } else {
            json_text::append_value(line, v);
        }
    };
    if (static_cast<format>(g_format.load(std::memory_order_relaxed)) == format::json) {
        line.append("{\"ts\":\"").append(ts).append("\",\"level\":\"").append(level_name(l)).append("\",\"msg\":");
        json_text::append_string(line, msg);
        for (const auto& f : fields) {
            line.push_back(',');
            json_text::append_string(line, f.key);
            line.push_back(':');
            append_value(f.value);
        }
        line.append("}");
    } else {
        line.append(ts).append(" ").append(console_level_name(l)).append(" ").append(msg);
        for (const auto& f : fields) {
            line.append(" ").append(f.key).append("=");
            if (f.value.is_string() && !needs_quotes(f.value.get_string())) {
                line.append(f.value.get_string());
            } else {
                append_value(f.value);
            }
        }
    }
    line.push_back('\n');
    if (l >= level::warn) {
        line_buffer::get().write_through(line);
    } else {
        line_buffer::get().append(line);
    }
}

void flush() { line_buffer::get().flush(); }

}  // namespace happy::log
