/// @file
/// JavaScript semantics on JSON values, for mirroring upstream checks such as `if (!data.sid)`.
#pragma once
#include <boost/json/value.hpp>
#include <cmath>

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

}  // namespace happy::json
