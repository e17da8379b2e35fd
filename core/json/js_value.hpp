/// @file
/// JavaScript semantics on JSON values, for mirroring upstream checks such as `if (!data.sid)`.
#pragma once
#include <boost/json/value.hpp>
#include <cmath>
#include <vector>

namespace happy::json {

/// JavaScript truthiness of a (possibly absent) value: undefined, null, false, 0, NaN and "" are falsy.
inline bool js_truthy(const boost::json::value* v) {
    if (!v) {
        return false;
    }
    switch (v->kind()) {
        case boost::json::kind::null: return false;
        case boost::json::kind::bool_: return v->get_bool();
        case boost::json::kind::string: return !v->get_string().empty();
        case boost::json::kind::int64: return v->get_int64() != 0;
        case boost::json::kind::uint64: return v->get_uint64() != 0;
        case boost::json::kind::double_: return v->get_double() != 0 && !std::isnan(v->get_double());
        default: return true;  // objects and arrays
    }
}

/// Replaces non-finite numbers (a literal such as 1e400 parses to infinity) with null, in place. JavaScript's
/// JSON.parse gives Infinity there and JSON.stringify writes it back as null, whereas Boost.JSON would write
/// `Infinity`, which is not JSON. Iterative, so deep input cannot exhaust the stack.
inline void sanitize_non_finite(boost::json::value& root) {
    std::vector<boost::json::value*> stack{&root};
    while (!stack.empty()) {
        boost::json::value* v = stack.back();
        stack.pop_back();
        switch (v->kind()) {
            case boost::json::kind::double_:
                if (!std::isfinite(v->get_double())) {
                    *v = nullptr;
                }
                break;
            case boost::json::kind::array:
                for (auto& e : v->get_array()) {
                    stack.push_back(&e);
                }
                break;
            case boost::json::kind::object:
                for (auto& kv : v->get_object()) {
                    stack.push_back(&kv.value());
                }
                break;
            default:
                break;
        }
    }
}

}  // namespace happy::json
