/// @file
/// Writes JSON text straight into a string, for hot responses built from database rows: no intermediate
/// boost::json::value tree, one buffer. Output is byte-identical to boost::json::serialize of the same
/// value (same escapes: \" \\ \b \f \n \r \t, other control characters as lowercase \u00xx, nothing else;
/// that is also JSON.stringify's output for well-formed strings), which the unit test checks.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace boost::json {
class value;
}

namespace happy::json_text {

/// Appends `s` as a JSON string literal (with quotes).
void append_string(std::string& out, std::string_view s);

/// Appends a number as JavaScript's Number.prototype.toString writes it (JSON.stringify uses it): shortest
/// round-trip digits, plain notation for 1e-7 < |v| < 1e21 (0.75, 100, 1.5e-7, 1e+21), -0 as 0. Non-finite
/// values become null, as in JSON.stringify. Boost.JSON would write 7.5E-1 and 1E0.
void append_number(std::string& out, double v);

/// Appends `v` as JSON.stringify would: members in their order, numbers as append_number.
void append_value(std::string& out, const boost::json::value& v);

/// append_value into a new string: what the wire gets wherever a boost::json::value is sent.
std::string stringify(const boost::json::value& v);

/// Writes a JSON document into a string. It sizes the string ahead of the text and stores through a pointer, so
/// the many small writes of a row (a comma, a quote, a key) are plain stores rather than calls into
/// std::string: the string holds exactly the text once finish() has run (the destructor runs it too); before
/// that it may hold spare bytes past the text.
class writer {
public:
    explicit writer(std::string& out) : out_(out), pos_(out.size()) {}
    ~writer() { finish(); }
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;

    /// Trims `out` to the text written. Idempotent; writing may continue afterwards.
    void finish() { out_.resize(pos_); }

    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }

    /// Object member name; the value call that follows writes its value.
    void key(std::string_view k) {
        separate();
        write_string(k);
        put(':');
        after_key_ = true;
    }
    void string(std::string_view s) {
        separate();
        write_string(s);
    }
    void integer(std::int64_t v);
    void boolean(bool v) {
        separate();
        v ? put("true", 4) : put("false", 5);
    }
    void null() {
        separate();
        put("null", 4);
    }
    /// `"key":value` members, the common case of row-to-object writing.
    void member(std::string_view k, std::string_view v) {
        key(k);
        string(v);
    }
    void member(std::string_view k, const char* v) { member(k, std::string_view(v)); }
    void member(std::string_view k, std::int64_t v) {
        key(k);
        integer(v);
    }
    void member(std::string_view k, bool v) {
        key(k);
        boolean(v);
    }
    /// The string, or null when absent.
    void member(std::string_view k, const std::optional<std::string_view>& v) {
        key(k);
        if (v) {
            string(*v);
        } else {
            null();
        }
    }

    /// An already serialized JSON value.
    void raw(std::string_view json) {
        separate();
        put(json.data(), json.size());
    }
    /// A string value of at most `max_size` characters that need no escaping (base64, hex, ids), which
    /// `fn(char* dst)` stores straight into the buffer, returning the end: no temporary string.
    template <class Fn>
    void safe_string(std::size_t max_size, Fn&& fn) {
        separate();
        char* begin = room(max_size + 2);
        *begin = '"';
        char* end = fn(begin + 1);
        *end++ = '"';
        pos_ += static_cast<std::size_t>(end - begin);
    }

private:
    /// At least `n` writable bytes at the write position.
    char* room(std::size_t n) {
        if (out_.size() - pos_ < n) {
            grow(n);
        }
        return out_.data() + pos_;
    }
    void grow(std::size_t n);
    void put(char c) {
        *room(1) = c;
        ++pos_;
    }
    void put(const char* s, std::size_t n) {
        std::memcpy(room(n), s, n);
        pos_ += n;
    }
    void write_string(std::string_view s);
    void separate() {
        if (after_key_) {
            after_key_ = false;
        } else if (depth_ > 0) {
            if (!first_[depth_]) {
                put(',');
            }
            first_[depth_] = false;
        }
    }
    void open(char c) {
        separate();
        put(c);
        first_[++depth_] = true;
    }
    void close(char c) {
        --depth_;
        put(c);
    }

    std::string& out_;
    std::size_t pos_;  ///< end of the text in out_
    static constexpr int max_depth = 32;
    bool first_[max_depth + 1] = {};
    int depth_ = 0;
    bool after_key_ = false;
};

}  // namespace happy::json_text
