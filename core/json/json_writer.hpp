/// @file
/// Writes JSON text straight into a string, for hot responses built from database rows: no intermediate
/// boost::json::value tree, one buffer. Output is byte-identical to boost::json::serialize of the same
/// value (same escapes: \" \\ \b \f \n \r \t, other control characters as lowercase \u00xx, nothing else;
/// that is also JSON.stringify's output for well-formed strings), which the unit test checks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace happy::json_text {

/// Appends `s` as a JSON string literal (with quotes).
void append_string(std::string& out, std::string_view s);

class writer {
public:
    explicit writer(std::string& out) : out_(out) {}

    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }

    /// Object member name; the value call that follows writes its value.
    void key(std::string_view k) {
        separate();
        append_string(out_, k);
        out_ += ':';
        after_key_ = true;
    }
    void string(std::string_view s) {
        separate();
        append_string(out_, s);
    }
    void integer(std::int64_t v);
    void boolean(bool v) {
        separate();
        out_ += v ? "true" : "false";
    }
    void null() {
        separate();
        out_ += "null";
    }
    /// An already serialized JSON value.
    void raw(std::string_view json) {
        separate();
        out_ += json;
    }

private:
    void separate() {
        if (after_key_) {
            after_key_ = false;
        } else if (depth_ > 0) {
            if (!first_[depth_]) {
                out_ += ',';
            }
            first_[depth_] = false;
        }
    }
    void open(char c) {
        separate();
        out_ += c;
        first_[++depth_] = true;
    }
    void close(char c) {
        --depth_;
        out_ += c;
    }

    std::string& out_;
    static constexpr int max_depth = 32;
    bool first_[max_depth + 1] = {};
    int depth_ = 0;
    bool after_key_ = false;
};

}  // namespace happy::json_text
