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

bool uuid_ok(std::string_view s) {
    auto lower = [](std::string_view x) {
        std::string r(x);
        for (auto& c : r) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        return r;
    };
    std::string l = lower(s);
    if (l == "00000000-0000-0000-0000-000000000000" || l == "ffffffff-ffff-ffff-ffff-ffffffffffff") {
        return true;
    }
    if (l.size() != 36) {
        return false;
    }
    for (std::size_t i = 0; i < 36; ++i) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash != (l[i] == '-')) {
            return false;
        }
        if (!dash && !std::isxdigit(static_cast<unsigned char>(l[i]))) {
            return false;
        }
    }
    return l[14] >= '1' && l[14] <= '8' && (l[19] == '8' || l[19] == '9' || l[19] == 'a' || l[19] == 'b');
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
    explicit validator(std::vector<issue>& issues) : issues_(issues) {}

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
    std::optional<json::value> type_error(std::string_view expected, const json::value* in,
                                          const std::vector<std::string>& path) {
        add(path, fmt::format("Invalid input: expected {}, received {}", expected, received_type(in)));
        return std::nullopt;
    }

    void add(const std::vector<std::string>& path, std::string message) {
        failed = true;
        issues_.push_back({path, std::move(message)});
    }

    std::optional<json::value> check_string(const node& n, const json::value* in, std::vector<std::string>& path) {
        if (!in || !in->is_string()) {
            return type_error("string", in, path);
        }
        std::size_t len = utf16_length(in->get_string());
        bool ok = true;
        if (n.min_ && static_cast<double>(len) < *n.min_) {
            add(path, fmt::format("Too small: expected string to have >={} characters", js_number_string(*n.min_)));
            ok = false;
        }
        if (n.max_ && static_cast<double>(len) > *n.max_) {
            add(path, fmt::format("Too big: expected string to have <={} characters", js_number_string(*n.max_)));
            ok = false;
        }
        return ok ? std::optional<json::value>(*in) : std::nullopt;
    }

    std::optional<json::value> check_uuid(const node& n, const json::value* in, std::vector<std::string>& path) {
        if (!in || !in->is_string()) {
            return type_error("string", in, path);
        }
        if (!uuid_ok(in->get_string())) {
            add(path, "Invalid UUID");
            return std::nullopt;
        }
        return *in;
    }

    std::optional<json::value> check_number(const node& n, const json::value* in, std::vector<std::string>& path) {
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
            add(path, "Invalid input: expected number, received number");
            return std::nullopt;
        }
        bool ok = true;
        if (n.int_) {
            if (d != std::floor(d)) {
                add(path, "Invalid input: expected int, received number");
                return std::nullopt;
            }
            if (d > 9007199254740991.0) {
                add(path, "Too big: expected int to be <=9007199254740991");
                ok = false;
            } else if (d < -9007199254740991.0) {
                add(path, "Too small: expected int to be >=-9007199254740991");
                ok = false;
            }
        }
        if (n.positive_ && !(d > 0)) {
            add(path, "Too small: expected number to be >0");
            ok = false;
        }
        if (n.min_ && d < *n.min_) {
            add(path, fmt::format("Too small: expected number to be >={}", js_number_string(*n.min_)));
            ok = false;
        }
        if (n.max_ && d > *n.max_) {
            add(path, fmt::format("Too big: expected number to be <={}", js_number_string(*n.max_)));
            ok = false;
        }
        if (!ok) {
            return std::nullopt;
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
        std::string msg = "Invalid option: expected one of ";
        for (std::size_t i = 0; i < n.options_.size(); ++i) {
            if (i) {
                msg += '|';
            }
            msg += '"' + n.options_[i] + '"';
        }
        add(path, std::move(msg));
        return std::nullopt;
    }

    std::optional<json::value> check_object(const node& n, const json::value* in, std::vector<std::string>& path) {
        if (!in || !in->is_object()) {
            return type_error("object", in, path);
        }
        const auto& obj = in->get_object();
        json::object out;
        bool ok = true;
        for (const auto& [key, child] : n.fields_) {
            const json::value* v = obj.if_contains(key);
            path.push_back(key);
            std::size_t before = issues_.size();
            auto r = run(child, v, path);
            path.pop_back();
            if (issues_.size() != before) {
                ok = false;
            } else if (r) {
                out[key] = std::move(*r);
            }
        }
        if (ok && n.refine_) {
            for (auto& m : n.refine_(out)) {
                add(path, std::move(m));
                ok = false;
            }
        }
        return ok ? std::optional<json::value>(std::move(out)) : std::nullopt;
    }

    std::optional<json::value> check_array(const node& n, const json::value* in, std::vector<std::string>& path) {
        if (!in || !in->is_array()) {
            return type_error("array", in, path);
        }
        const auto& arr = in->get_array();
        json::array out;
        bool ok = true;
        for (std::size_t i = 0; i < arr.size(); ++i) {
            path.push_back(std::to_string(i));
            std::size_t before = issues_.size();
            auto r = run(*n.element_, &arr[i], path);
            path.pop_back();
            if (issues_.size() != before) {
                ok = false;
            } else {
                out.push_back(r ? std::move(*r) : json::value());
            }
        }
        if (n.min_ && static_cast<double>(arr.size()) < *n.min_) {
            add(path, fmt::format("Too small: expected array to have >={} items", js_number_string(*n.min_)));
            ok = false;
        }
        if (n.max_ && static_cast<double>(arr.size()) > *n.max_) {
            add(path, fmt::format("Too big: expected array to have <={} items", js_number_string(*n.max_)));
            ok = false;
        }
        return ok ? std::optional<json::value>(std::move(out)) : std::nullopt;
    }

    std::optional<json::value> check_record(const node& n, const json::value* in, std::vector<std::string>& path) {
        if (!in || !in->is_object()) {
            return type_error("record", in, path);
        }
        json::object out;
        bool ok = true;
        for (const auto& [k, v] : in->get_object()) {
            path.push_back(std::string(k));
            std::size_t before = issues_.size();
            auto r = run(*n.element_, &v, path);
            path.pop_back();
            if (issues_.size() != before) {
                ok = false;
            } else if (r) {
                out[k] = std::move(*r);
            }
        }
        return ok ? std::optional<json::value>(std::move(out)) : std::nullopt;
    }

    std::vector<issue>& issues_;
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
