#include "core/validate/schema.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>

namespace happy::validate {

namespace json = boost::json;

node string() { return node(node::kind::string); }
node number() { return node(node::kind::number); }
node boolean() { return node(node::kind::boolean); }
node any() { return node(node::kind::any); }
node uuid() { return node(node::kind::uuid); }
node enumeration(std::vector<std::string> options) {
    node n(node::kind::enumeration);
    n.options_ = std::move(options);
    return n;
}
node object(std::vector<std::pair<std::string, node>> fields) {
    node n(node::kind::object);
    n.fields_ = std::move(fields);
    return n;
}
node array(node element) {
    node n(node::kind::array);
    n.element_ = std::make_shared<const node>(std::move(element));
    return n;
}
node record(node value) {
    node n(node::kind::record);
    n.element_ = std::make_shared<const node>(std::move(value));
    return n;
}

namespace {

/// Number of UTF-16 code units of a UTF-8 string (JavaScript's String.length).
std::size_t utf16_length(std::string_view s) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
        n += len == 4 ? 2 : 1;
        i += len;
    }
    return n;
}

/// Renders a number as JavaScript's String(number) does for the values that appear in messages.
std::string js_number_string(double v) {
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "Infinity" : "-Infinity";
    }
    if (v == std::floor(v) && std::fabs(v) < 1e21) {
        return fmt::format("{:.0f}", v);
    }
    return fmt::format("{}", v);
}

bool is_js_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/// zod 4's uuid regex: 8-4-4-4-12 hex digits (either case), version digit 1-8, variant 8/9/a/b; plus the nil UUID and
/// the max UUID, the latter only in lower case (the regex spells it "ffffffff-…" and is case-sensitive).
bool uuid_ok(std::string_view s) {
    if (s == "00000000-0000-0000-0000-000000000000" || s == "ffffffff-ffff-ffff-ffff-ffffffffffff") {
        return true;
    }
    if (s.size() != 36) {
        return false;
    }
    for (std::size_t i = 0; i < 36; ++i) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash != (s[i] == '-')) {
            return false;
        }
        if (!dash && !std::isxdigit(static_cast<unsigned char>(s[i]))) {
            return false;
        }
    }
    char variant = static_cast<char>(std::tolower(static_cast<unsigned char>(s[19])));
    return s[14] >= '1' && s[14] <= '8' && (variant == '8' || variant == '9' || variant == 'a' || variant == 'b');
}

double as_double(const json::value& v) {
    if (v.is_int64()) {
        return static_cast<double>(v.get_int64());
    }
    if (v.is_uint64()) {
        return static_cast<double>(v.get_uint64());
    }
    return v.get_double();
}

json::value number_value(double d) {
    if (d == std::floor(d) && std::fabs(d) <= 9007199254740991.0) {
        return json::value(static_cast<std::int64_t>(d));
    }
    return json::value(d);
}

/// JavaScript Number(x) for the JSON-ish values a query string produces (strings and arrays of strings).
double coerce_to_number(const json::value& v) {
    if (v.is_string()) {
        return js_number(v.get_string());
    }
    if (v.is_number()) {
        return as_double(v);
    }
    if (v.is_bool()) {
        return v.get_bool() ? 1 : 0;
    }
    if (v.is_null()) {
        return 0;
    }
    if (v.is_array()) {
        // Number([x]) is Number(String([x])) = Number(x) for one element; "" for none; NaN otherwise.
        const auto& a = v.get_array();
        if (a.empty()) {
            return 0;
        }
        if (a.size() == 1 && a[0].is_string()) {
            return js_number(a[0].get_string());
        }
    }
    return std::nan("");
}

class validator {
public:
    explicit validator(std::vector<issue>& issues) : issues_(issues), base_(issues.size()) {}

    /// Returns the node's output value; nullopt for "undefined" (absent optional) or when the input's type was
    /// wrong. Like zod, a value that only failed a continuable check (bounds, length, format) is still returned
    /// so that an enclosing object's refinement sees it; `failed` tells whether any issue was raised.
    std::optional<json::value> run(const node& n, const json::value* in, std::vector<std::string>& path) {
        if (in == nullptr) {
            if (n.default_) {
                return *n.default_;
            }
            if (n.optional_) {
                return std::nullopt;  // absent stays absent
            }
        } else if (in->is_null() && n.nullable_) {
            return json::value(nullptr);
        }
        switch (n.kind_) {
            case node::kind::any: return in ? *in : json::value();
            case node::kind::string: return check_string(n, in, path);
            case node::kind::uuid: return check_uuid(n, in, path);
            case node::kind::number: return check_number(n, in, path);
            case node::kind::boolean:
                if (in && in->is_bool()) {
                    return *in;
                }
                return type_error("boolean", in, path);
            case node::kind::enumeration: return check_enum(n, in, path);
            case node::kind::object: return check_object(n, in, path);
            case node::kind::array: return check_array(n, in, path);
            case node::kind::record: return check_record(n, in, path);
        }
        return std::nullopt;
    }

    bool failed = false;

private:
    /// zod's `continue` flag of an issue: checks (bounds, lengths, formats, refinements) let later checks run;
    /// type errors abort them; the non-integer issue of `.int()` aborts explicitly (even length checks stop).
    enum class flow { continuable, aborts, aborts_explicitly };

    std::optional<json::value> type_error(std::string_view expected, const json::value* in,
                                          const std::vector<std::string>& path) {
        add(path, fmt::format("Invalid input: expected {}, received {}", expected, received_type(in)), flow::aborts);
        return std::nullopt;
    }

    void add(const std::vector<std::string>& path, std::string message, flow f = flow::continuable) {
        failed = true;
        issues_.push_back({path, std::move(message)});
        flows_.push_back(f);
    }

    /// zod's util.aborted(payload, start): an issue raised since `start` stops checks without a `when` guard.
    bool aborted_since(std::size_t start) const {
        for (std::size_t i = start - base_; i < flows_.size(); ++i) {
            if (flows_[i] != flow::continuable) {
                return true;
            }
        }
        return false;
    }
    bool explicitly_aborted_since(std::size_t start) const {
        for (std::size_t i = start - base_; i < flows_.size(); ++i) {
            if (flows_[i] == flow::aborts_explicitly) {
                return true;
            }
        }
        return false;
    }

    /// zod's min/max length checks carry a `when` guard: they run even after a type error, on any input that has
    /// a `length` (a string or an array), unless an issue aborted explicitly. So `z.string().max(1)` given an
    /// array of two reports the type error and "Too big: expected array to have <=1 items".
    void check_length(const node& n, const json::value* in, const std::vector<std::string>& path, std::size_t start) {
        if (!in || explicitly_aborted_since(start) || (!n.min_ && !n.max_)) {
            return;
        }
        std::size_t len;
        std::string_view origin, unit;
        if (in->is_string()) {
            len = utf16_length(in->get_string());
            origin = "string";
            unit = "characters";
        } else if (in->is_array()) {
            len = in->get_array().size();
            origin = "array";
            unit = "items";
        } else {
            return;
        }
        if (n.min_ && static_cast<double>(len) < *n.min_) {
            add(path, fmt::format("Too small: expected {} to have >={} {}", origin, js_number_string(*n.min_), unit));
        }
        if (n.max_ && static_cast<double>(len) > *n.max_) {
            add(path, fmt::format("Too big: expected {} to have <={} {}", origin, js_number_string(*n.max_), unit));
        }
    }

    std::optional<json::value> check_string(const node& n, const json::value* in, std::vector<std::string>& path) {
        std::size_t start = issues_.size();
        std::optional<json::value> out;
        if (!in || !in->is_string()) {
            type_error("string", in, path);
        } else {
            out = *in;
        }
        check_length(n, in, path, start);
        return out;
    }

    std::optional<json::value> check_uuid(const node& n, const json::value* in, std::vector<std::string>& path) {
        if (!in || !in->is_string()) {
            return type_error("string", in, path);
        }
        if (!uuid_ok(in->get_string())) {
            add(path, "Invalid UUID");
        }
        return *in;
    }

    std::optional<json::value> check_number(const node& n, const json::value* in, std::vector<std::string>& path) {
        std::size_t start = issues_.size();
        double d;
        if (n.coerce_) {
            d = in ? coerce_to_number(*in) : std::nan("");
            if (std::isnan(d)) {
                json::value nan_marker(std::nan(""));
                return type_error("number", &nan_marker, path);
            }
        } else {
            if (!in || !in->is_number()) {
                return type_error("number", in, path);
            }
            d = as_double(*in);
        }
        if (std::isinf(d)) {
            json::value inf_marker(d);
            return type_error("number", &inf_marker, path);
        }
        // Checks run in the order routes declare them (.int() first, then .positive()/.min()/.max()); none of them
        // has a `when` guard, so each is skipped once an aborting issue exists.
        if (n.int_) {
            if (d != std::floor(d)) {
                add(path, "Invalid input: expected int, received number", flow::aborts_explicitly);
            } else if (d > 9007199254740991.0) {
                add(path, "Too big: expected int to be <=9007199254740991");
            } else if (d < -9007199254740991.0) {
                add(path, "Too small: expected int to be >=-9007199254740991");
            }
        }
        if (n.positive_ && !aborted_since(start) && !(d > 0)) {
            add(path, "Too small: expected number to be >0");
        }
        if (n.min_ && !aborted_since(start) && d < *n.min_) {
            add(path, fmt::format("Too small: expected number to be >={}", js_number_string(*n.min_)));
        }
        if (n.max_ && !aborted_since(start) && d > *n.max_) {
            add(path, fmt::format("Too big: expected number to be <={}", js_number_string(*n.max_)));
        }
        return n.coerce_ ? number_value(d) : *in;
    }

    std::optional<json::value> check_enum(const node& n, const json::value* in, std::vector<std::string>& path) {
        if (in && in->is_string()) {
            for (const auto& o : n.options_) {
                if (in->get_string() == o) {
                    return *in;
                }
            }
        }
        // zod's English locale words a single allowed value differently.
        std::string msg = n.options_.size() == 1 ? "Invalid input: expected " : "Invalid option: expected one of ";
        for (std::size_t i = 0; i < n.options_.size(); ++i) {
            if (i) {
                msg += '|';
            }
            msg += '"' + n.options_[i] + '"';
        }
        add(path, std::move(msg), flow::aborts);
        return std::nullopt;
    }

    std::optional<json::value> check_object(const node& n, const json::value* in, std::vector<std::string>& path) {
        if (!in || !in->is_object()) {
            return type_error("object", in, path);
        }
        std::size_t start = issues_.size();
        const auto& obj = in->get_object();
        json::object out;
        for (const auto& [key, child] : n.fields_) {
            const json::value* v = obj.if_contains(key);
            path.push_back(key);
            auto r = run(child, v, path);
            path.pop_back();
            if (r) {
                out[key] = std::move(*r);
            }
        }
        // zod skips a refinement only after an aborting issue (a type error); bounds issues let it run, and it
        // sees the field values as parsed so far.
        if (n.refine_ && !aborted_since(start)) {
            for (auto& m : n.refine_(out)) {
                add(path, std::move(m));
            }
        }
        return json::value(std::move(out));
    }

    std::optional<json::value> check_array(const node& n, const json::value* in, std::vector<std::string>& path) {
        std::size_t start = issues_.size();
        if (!in || !in->is_array()) {
            type_error("array", in, path);
            check_length(n, in, path, start);
            return std::nullopt;
        }
        const auto& arr = in->get_array();
        json::array out;
        for (std::size_t i = 0; i < arr.size(); ++i) {
            path.push_back(std::to_string(i));
            auto r = run(*n.element_, &arr[i], path);
            path.pop_back();
            out.push_back(r ? std::move(*r) : json::value());
        }
        check_length(n, in, path, start);
        return json::value(std::move(out));
    }

    std::optional<json::value> check_record(const node& n, const json::value* in, std::vector<std::string>& path) {
        if (!in || !in->is_object()) {
            return type_error("record", in, path);
        }
        json::object out;
        for (const auto& [k, v] : in->get_object()) {
            path.push_back(std::string(k));
            auto r = run(*n.element_, &v, path);
            path.pop_back();
            if (r) {
                out[k] = std::move(*r);
            }
        }
        return json::value(std::move(out));
    }

    std::vector<issue>& issues_;
    std::size_t base_;         ///< issues_.size() when this validation started
    std::vector<flow> flows_;  ///< one per issue added since base_
};

}  // namespace

std::string received_type(const json::value* v) {
    if (v == nullptr) {
        return "undefined";
    }
    switch (v->kind()) {
        case json::kind::null: return "null";
        case json::kind::bool_: return "boolean";
        case json::kind::int64:
        case json::kind::uint64: return "number";
        case json::kind::double_: return std::isnan(v->get_double()) ? "NaN" : "number";
        case json::kind::string: return "string";
        case json::kind::array: return "array";
        case json::kind::object: return "object";
    }
    return "unknown";
}

std::optional<json::value> parse(const node& schema, const json::value* in, std::vector<issue>& issues) {
    validator v(issues);
    std::vector<std::string> path;
    auto r = v.run(schema, in, path);
    if (v.failed) {
        return std::nullopt;
    }
    return r ? std::move(r) : std::optional<json::value>(json::value());
}

std::string format_issues(std::string_view part, const std::vector<issue>& issues) {
    std::string out;
    for (std::size_t i = 0; i < issues.size(); ++i) {
        if (i) {
            out += ", ";
        }
        out += part;
        out += '/';
        for (std::size_t j = 0; j < issues[i].path.size(); ++j) {
            if (j) {
                out += '/';
            }
            out += issues[i].path[j];
        }
        out += ' ';
        out += issues[i].message;
    }
    return out;
}

double js_number(std::string_view s) {
    std::size_t b = 0, e = s.size();
    auto is_space_at = [&](std::size_t i, bool forward) -> std::size_t {
        // ASCII whitespace plus the common Unicode spaces JavaScript trims (NBSP, BOM, line/paragraph separators).
        auto u = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
        if (forward) {
            if (i < e && is_js_space(u(i))) {
                return 1;
            }
            if (i + 1 < e && u(i) == 0xC2 && u(i + 1) == 0xA0) {
                return 2;
            }
            if (i + 2 < e && u(i) == 0xEF && u(i + 1) == 0xBB && u(i + 2) == 0xBF) {
                return 3;
            }
            if (i + 2 < e && u(i) == 0xE2 && u(i + 1) == 0x80 && (u(i + 2) == 0xA8 || u(i + 2) == 0xA9)) {
                return 3;
            }
            return 0;
        }
        if (i > b && is_js_space(u(i - 1))) {
            return 1;
        }
        if (i >= b + 2 && u(i - 2) == 0xC2 && u(i - 1) == 0xA0) {
            return 2;
        }
        if (i >= b + 3 && u(i - 3) == 0xEF && u(i - 2) == 0xBB && u(i - 1) == 0xBF) {
            return 3;
        }
        if (i >= b + 3 && u(i - 3) == 0xE2 && u(i - 2) == 0x80 && (u(i - 1) == 0xA8 || u(i - 1) == 0xA9)) {
            return 3;
        }
        return 0;
    };
    while (std::size_t n = is_space_at(b, true)) {
        b += n;
    }
    while (e > b) {
        std::size_t n = is_space_at(e, false);
        if (!n) {
            break;
        }
        e -= n;
    }
    std::string_view t = s.substr(b, e - b);
    if (t.empty()) {
        return 0;
    }
    if (t.size() > 2 && t[0] == '0') {
        int base = (t[1] == 'x' || t[1] == 'X') ? 16 : (t[1] == 'o' || t[1] == 'O') ? 8 : (t[1] == 'b' || t[1] == 'B') ? 2 : 0;
        if (base) {
            double v = 0;
            for (std::size_t i = 2; i < t.size(); ++i) {
                int d;
                char c = t[i];
                if (c >= '0' && c <= '9') {
                    d = c - '0';
                } else if (c >= 'a' && c <= 'f') {
                    d = c - 'a' + 10;
                } else if (c >= 'A' && c <= 'F') {
                    d = c - 'A' + 10;
                } else {
                    return std::nan("");
                }
                if (d >= base) {
                    return std::nan("");
                }
                v = v * base + d;
            }
            return v;
        }
    }
    std::string_view u = t;
    bool neg = false;
    if (u[0] == '+' || u[0] == '-') {
        neg = u[0] == '-';
        u.remove_prefix(1);
    }
    if (u == "Infinity") {
        return neg ? -INFINITY : INFINITY;
    }
    // Decimal literal: digits [. digits] [e[+-]digits] or . digits [exponent].
    std::size_t i = 0, int_digits = 0, frac_digits = 0;
    while (i < u.size() && std::isdigit(static_cast<unsigned char>(u[i]))) {
        ++i;
        ++int_digits;
    }
    if (i < u.size() && u[i] == '.') {
        ++i;
        while (i < u.size() && std::isdigit(static_cast<unsigned char>(u[i]))) {
            ++i;
            ++frac_digits;
        }
    }
    if (int_digits + frac_digits == 0) {
        return std::nan("");
    }
    if (i < u.size() && (u[i] == 'e' || u[i] == 'E')) {
        ++i;
        if (i < u.size() && (u[i] == '+' || u[i] == '-')) {
            ++i;
        }
        std::size_t exp_digits = 0;
        while (i < u.size() && std::isdigit(static_cast<unsigned char>(u[i]))) {
            ++i;
            ++exp_digits;
        }
        if (!exp_digits) {
            return std::nan("");
        }
    }
    if (i != u.size()) {
        return std::nan("");
    }
    std::string copy(t);
    return std::strtod(copy.c_str(), nullptr);
}

}  // namespace happy::validate
