#include "core/ops/reload.hpp"

namespace happy::ops {

namespace json = boost::json;

namespace {

const json::value* child_schema(const json::value* schema, std::string_view key) {
    if (!schema || !schema->is_object()) {
        return nullptr;
    }
    const auto* props = schema->as_object().if_contains("properties");
    if (!props || !props->is_object()) {
        return nullptr;
    }
    return props->as_object().if_contains(key);
}

bool reloadable(const json::value* schema) {
    if (!schema || !schema->is_object()) {
        return false;
    }
    const auto* r = schema->as_object().if_contains("reloadable");
    return r && r->is_bool() && r->as_bool();
}

void walk(const json::value* schema, const json::value* before, const json::value* after, const std::string& prefix,
          reload_plan& out) {
    if (before && after && before->is_object() && after->is_object()) {
        const auto& b = before->as_object();
        const auto& a = after->as_object();
        for (const auto& [k, v] : a) {
            std::string key = prefix.empty() ? std::string(k) : prefix + "." + std::string(k);
            walk(child_schema(schema, k), b.if_contains(k), &v, key, out);
        }
        for (const auto& [k, v] : b) {
            if (!a.contains(k)) {
                std::string key = prefix.empty() ? std::string(k) : prefix + "." + std::string(k);
                walk(child_schema(schema, k), &v, nullptr, key, out);
            }
        }
        return;
    }
    if (before && after && *before == *after) {
        return;
    }
    (reloadable(schema) ? out.apply : out.not_reloaded).push_back(prefix);
}

}  // namespace

reload_plan plan_reload(const json::value& schema, const json::object& before, const json::object& after) {
    reload_plan out;
    json::value b = before;
    json::value a = after;
    walk(&schema, &b, &a, "", out);
    return out;
}

}  // namespace happy::ops
