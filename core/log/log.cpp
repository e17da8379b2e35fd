#include "core/log/log.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <fmt/format.h>
#include <iterator>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

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

std::atomic<int> g_output_fd{STDOUT_FILENO};

void write_fd(int fd, std::string_view text) {
    const char* p = text.data();
    std::size_t left = text.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n <= 0) {
            break;
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

/// Info and debug lines are appended to a buffer that a background thread writes out 10 ms after the first of
/// them: one write(2) per request line cost ~7 µs of a ~40 µs request (bench/sync.mjs). Warnings and errors are written at once
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
            bool was_empty = buf_.empty();
            buf_.append(line);
            if (!started_) {
                started_ = true;
                std::thread([this] { run(); }).detach();
                std::atexit([] { get().flush(); });
            }
            if (buf_.size() < max_buffered) {
                if (was_empty) {
                    pending_.notify_one();  // the first line of a batch wakes the writer; the rest ride along
                }
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

    void set_file(const std::string& path, std::uint64_t max_bytes, int max_files) {
        std::lock_guard order(write_mutex_);
        write_all(take());  // what was logged before goes where it was meant to
        if (path.empty()) {
            close_file();
            file_path_.clear();
            return;
        }
        int fd = open_file(path);
        close_file();
        fd_ = fd;
        file_path_ = path;
        max_bytes_ = max_bytes;
        max_files_ = max_files;
    }

    void reopen() {
        std::lock_guard order(write_mutex_);
        write_all(take());
        if (file_path_.empty()) {
            return;
        }
        try {
            int fd = open_file(file_path_);
            close_file();
            fd_ = fd;
        } catch (const std::exception&) {
            // Keep writing to the open file (renamed or not) rather than lose lines.
        }
    }

private:
    static constexpr std::size_t max_buffered = 1 << 20;

    /// Opens `path` for appending and records its size. Throws std::system_error.
    int open_file(const std::string& path) {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (fd < 0) {
            throw std::system_error(errno, std::generic_category(), "cannot open log file " + path);
        }
        struct stat st {};
        size_ = ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
        return fd;
    }

    void close_file() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

    /// path.<max_files-1> → path.<max_files> … path → path.1, then a new empty path.
    void rotate() {
        std::string base = file_path_;
        if (max_files_ <= 0) {
            ::unlink(base.c_str());
        } else {
            ::unlink(fmt::format("{}.{}", base, max_files_).c_str());
            for (int i = max_files_ - 1; i >= 1; --i) {
                ::rename(fmt::format("{}.{}", base, i).c_str(), fmt::format("{}.{}", base, i + 1).c_str());
            }
            ::rename(base.c_str(), (base + ".1").c_str());
        }
        try {
            int fd = open_file(base);
            close_file();
            fd_ = fd;
        } catch (const std::exception&) {
            // Cannot start a new file: keep appending to the renamed one.
        }
    }

    /// Under write_mutex_: to the log file (rotating first when the text would take it past the limit) or stdout.
    void write_all(std::string_view text) {
        if (text.empty()) {
            return;
        }
        if (fd_ < 0) {
            write_fd(g_output_fd.load(std::memory_order_relaxed), text);
            return;
        }
        if (max_bytes_ > 0 && size_ > 0 && size_ + text.size() > max_bytes_) {
            rotate();
        }
        write_fd(fd_, text);
        size_ += text.size();
    }

    std::string take() {
        std::string out;
        std::lock_guard lock(mutex_);
        out.swap(buf_);
        return out;
    }

    /// Sleeps until there is something to write (an idle server does not wake up), then gives the lines of the
    /// next 10 ms the same write.
    void run() {
        for (;;) {
            {
                std::unique_lock lock(mutex_);
                pending_.wait(lock, [this] { return !buf_.empty(); });
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            flush();
        }
    }

    std::mutex mutex_;
    std::condition_variable pending_;  ///< under mutex_: buf_ has become non-empty
    std::mutex write_mutex_;
    std::string buf_;
    bool started_ = false;
    // The log file, guarded by write_mutex_; fd_ -1 = stdout.
    int fd_ = -1;
    std::string file_path_;
    std::uint64_t size_ = 0;
    std::uint64_t max_bytes_ = 0;
    int max_files_ = 0;
};

/// The ring behind recent().
class recent_ring {
public:
    static recent_ring& get() {
        static auto* r = new recent_ring();
        return *r;
    }
    void add(recent_entry e) {
        std::lock_guard lock(mutex_);
        if (entries_.size() < recent_capacity) {
            entries_.push_back(std::move(e));
        } else {
            entries_[next_] = std::move(e);
        }
        next_ = (next_ + 1) % recent_capacity;
    }
    std::vector<recent_entry> list() {
        std::lock_guard lock(mutex_);
        std::vector<recent_entry> out;
        out.reserve(entries_.size());
        std::size_t start = entries_.size() < recent_capacity ? 0 : next_;
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            out.push_back(entries_[(start + i) % entries_.size()]);
        }
        return out;
    }

private:
    std::mutex mutex_;
    std::vector<recent_entry> entries_;
    std::size_t next_ = 0;
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

void set_output_fd(int fd) { g_output_fd.store(fd); }

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

bool enabled(level l) {
    // Warnings and errors are always formed: the admin console keeps the last ones even when the log hides them.
    return static_cast<int>(l) >= std::min(g_level.load(std::memory_order_relaxed), static_cast<int>(level::warn));
}

std::vector<recent_entry> recent() { return recent_ring::get().list(); }

void write(level l, std::string_view msg, std::initializer_list<field> fields) {
    if (l >= level::warn) {
        recent_entry e{now_ms(), l, std::string(msg), "{"};
        for (const auto& f : fields) {
            if (e.fields.size() > 1) {
                e.fields.push_back(',');
            }
            json_text::append_string(e.fields, f.key);
            e.fields.push_back(':');
            json_text::append_value(e.fields, f.value);
        }
        e.fields.push_back('}');
        recent_ring::get().add(std::move(e));
        if (static_cast<int>(l) < g_level.load(std::memory_order_relaxed)) {
            return;  // below the configured level: remembered, not written
        }
    }
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

void set_file(const std::string& path, std::uint64_t max_bytes, int max_files) {
    line_buffer::get().set_file(path, max_bytes, max_files);
}

void reopen() { line_buffer::get().reopen(); }

}  // namespace happy::log
