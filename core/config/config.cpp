#include "core/config/config.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

extern char** environ;

namespace happy::config {

namespace json = boost::json;

namespace {

std::string type_of(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null: return "null";
        case json::kind::bool_: return "boolean";
        case json::kind::int64:
        case json::kind::uint64: return "integer";
        case json::kind::double_: return "number";
        case json::kind::string: return "string";
        case json::kind::array: return "array";
        case json::kind::object: return "object";
    }
    return "unknown";
}

bool type_matches(std::string_view t, const json::value& v) {
    if (t == "integer") {
        // A whole double beyond int64 (9e95) is no integer we can hold: refused rather than cast (UB).
        return v.is_int64() || v.is_uint64() ||
               (v.is_double() && v.get_double() == std::floor(v.get_double()) && std::abs(v.get_double()) < 9.0e18);
    }
    if (t == "number") {
        return v.is_number();
    }
    if (t == "string") {
        return v.is_string();
    }
    if (t == "boolean") {
        return v.is_bool();
    }
    if (t == "object") {
        return v.is_object();
    }
    if (t == "array") {
        return v.is_array();
    }
    return t == "null" && v.is_null();
}

std::string show(const json::value& v) { return json::serialize(v); }

/// Where a value came from, for messages: "server.port (from environment variable PORT)".
struct origin_map {
    std::map<std::string, std::string> env_keys;
    std::string describe(const std::string& where) const {
        auto it = env_keys.find(where);
        return it == env_keys.end() ? where : fmt::format("{} (from environment variable {})", where, it->second);
    }
};

thread_local const origin_map* t_origins = nullptr;

std::string describe(const std::string& where) { return t_origins ? t_origins->describe(where) : where; }

void set_path(json::object& root, std::string_view dotted, json::value v) {
    json::object* cur = &root;
    while (true) {
        auto dot = dotted.find('.');
        std::string key(dotted.substr(0, dot));
        if (dot == std::string_view::npos) {
            (*cur)[key] = std::move(v);
            return;
        }
        auto& next = (*cur)[key];
        if (!next.is_object()) {
            next = json::object();
        }
        cur = &next.get_object();
        dotted.remove_prefix(dot + 1);
    }
}

json::value parse_env_value(const std::string& name, const std::string& raw, std::string_view type) {
    if (type == "integer") {
        std::size_t used = 0;
        long long v = 0;
        try {
            v = std::stoll(raw, &used, 10);
        } catch (...) {
            used = 0;
        }
        if (used != raw.size() || raw.empty()) {
            throw error(fmt::format("environment variable {}: expected an integer, got \"{}\"", name, raw));
        }
        return json::value(static_cast<std::int64_t>(v));
    }
    if (type == "flag") {
        return json::value(!raw.empty());
    }
    if (type == "js_true") {
        // upstream storage/files.ts: `process.env.S3_USE_SSL === 'true'`; any other value means false.
        return json::value(raw == "true");
    }
    if (type.starts_with("select:")) {
        // A variable whose presence chooses a plugin (S3_HOST → files.kind "s3").
        return json::value(type.substr(7));
    }
    if (type == "boolean") {
        if (raw == "true" || raw == "1") {
            return json::value(true);
        }
        if (raw == "false" || raw == "0") {
            return json::value(false);
        }
        throw error(fmt::format("environment variable {}: expected true or false, got \"{}\"", name, raw));
    }
    return json::value(raw);
}

/// The schema node of a dotted key (`modules.push.expo_url`), or nullptr when the schema has no such key.
json::value* schema_property(json::value& schema, std::string_view dotted) {
    json::value* cur = &schema;
    while (!dotted.empty()) {
        auto dot = dotted.find('.');
        auto* props = cur->is_object() ? cur->as_object().if_contains("properties") : nullptr;
        cur = props && props->is_object() ? props->as_object().if_contains(dotted.substr(0, dot)) : nullptr;
        if (!cur) {
            return nullptr;
        }
        dotted = dot == std::string_view::npos ? std::string_view() : dotted.substr(dot + 1);
    }
    return cur;
}

// The core's own environment overrides, upstream names first; modules and plugins declare theirs beside their
// config schemas (config::env_binding).
const env_binding core_bindings[] = {
    {"HANDY_MASTER_SECRET", "auth.master_secret", "string"},
    {"HAPPY_REGISTRATION", "auth.registration.mode", "string"},
    {"PORT", "server.port", "integer"},
    {"HOST", "server.host", "string"},
    {"HAPPY_TLS_CERT", "server.tls.cert_file", "string"},
    {"HAPPY_TLS_KEY", "server.tls.key_file", "string"},
    {"PUBLIC_URL", "server.public_url", "string"},
    {"DATA_DIR", "data_dir", "string"},
    {"HAPPY_LOG_LEVEL", "log.level", "string"},
    {"HAPPY_LOG_FORMAT", "log.format", "string"},
    {"HAPPY_THREADS", "server.threads", "integer"},
    {"METRICS_ENABLED", "metrics.enabled", "boolean"},
    {"METRICS_PORT", "metrics.port", "integer"},
};

/// Every binding in the order they apply: the core's, then the modules', then the plugins'.
std::vector<env_binding> all_bindings(const parts_schema& parts) {
    std::vector<env_binding> out(std::begin(core_bindings), std::end(core_bindings));
    for (const auto& m : parts.modules) {
        out.insert(out.end(), m.env.begin(), m.env.end());
    }
    for (const auto& p : parts.plugins) {
        out.insert(out.end(), p.env.begin(), p.env.end());
    }
    return out;
}

}  // namespace

void check_schema(const json::value& schema, json::value& inst, const std::string& where) {
    const auto& s = schema.as_object();
    if (auto* t = s.if_contains("type")) {
        if (!type_matches(t->as_string(), inst)) {
            throw error(fmt::format("{}: expected {}, got {} {}", describe(where), std::string_view(t->as_string()),
                                    type_of(inst), show(inst)));
        }
        if (t->as_string() == "integer" && inst.is_double()) {
            inst = static_cast<std::int64_t>(inst.get_double());
        }
    }
    if (auto* e = s.if_contains("enum")) {
        bool found = false;
        for (const auto& opt : e->as_array()) {
            found = found || opt == inst;
        }
        if (!found) {
            throw error(fmt::format("{}: must be one of {}, got {}", describe(where), show(*e), show(inst)));
        }
    }
    if (inst.is_number()) {
        double d = inst.to_number<double>();
        if (auto* m = s.if_contains("minimum"); m && d < m->to_number<double>()) {
            throw error(fmt::format("{}: must be >= {}, got {}", describe(where), show(*m), show(inst)));
        }
        if (auto* m = s.if_contains("maximum"); m && d > m->to_number<double>()) {
            throw error(fmt::format("{}: must be <= {}, got {}", describe(where), show(*m), show(inst)));
        }
    }
    if (inst.is_string()) {
        if (auto* m = s.if_contains("minLength"); m && inst.get_string().size() < m->to_number<std::size_t>()) {
            throw error(fmt::format("{}: must be at least {} characters", describe(where), show(*m)));
        }
    }
    if (inst.is_array()) {
        if (auto* items = s.if_contains("items")) {
            auto& arr = inst.get_array();
            for (std::size_t i = 0; i < arr.size(); ++i) {
                check_schema(*items, arr[i], fmt::format("{}[{}]", where, i));
            }
        }
    }
    if (inst.is_object()) {
        auto& obj = inst.get_object();
        const json::object* props = nullptr;
        if (auto* p = s.if_contains("properties")) {
            props = &p->as_object();
        }
        bool closed = false;
        if (auto* ap = s.if_contains("additionalProperties"); ap && ap->is_bool() && !ap->get_bool()) {
            closed = true;
        }
        for (auto& [k, v] : obj) {
            std::string child = where.empty() ? std::string(k) : where + "." + std::string(k);
            if (props && props->contains(k)) {
                check_schema(props->at(k), v, child);
            } else if (closed) {
                std::string known;
                if (props) {
                    for (const auto& [pk, pv] : *props) {
                        known += known.empty() ? "" : ", ";
                        known += pk;
                    }
                }
                throw error(fmt::format("{}: unknown key{}", describe(child),
                                        known.empty() ? "" : fmt::format(" (allowed here: {})", known)));
            }
        }
        if (props) {
            for (const auto& [k, sub] : *props) {
                if (obj.contains(k)) {
                    continue;
                }
                const auto& so = sub.as_object();
                if (auto* d = so.if_contains("default")) {
                    obj[k] = *d;
                } else if (auto* t = so.if_contains("type"); t && t->as_string() == "object") {
                    // Nested sections exist with their defaults even when not written.
                    json::value empty = json::object();
                    std::string child = where.empty() ? std::string(k) : where + "." + std::string(k);
                    check_schema(sub, empty, child);
                    obj[k] = std::move(empty);
                }
            }
            if (auto* req = s.if_contains("required")) {
                for (const auto& r : req->as_array()) {
                    if (!obj.contains(r.as_string())) {
                        throw error(fmt::format("{}: missing required key {}", where.empty() ? "config" : describe(where),
                                                std::string_view(r.as_string())));
                    }
                }
            }
        }
    }
}

env_map environment() {
    env_map m;
    for (char** e = environ; e && *e; ++e) {
        std::string_view kv(*e);
        auto eq = kv.find('=');
        if (eq != std::string_view::npos) {
            m.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
        }
    }
    return m;
}

json::value compose_schema(std::string_view core_schema, const parts_schema& parts) {
    const auto& modules = parts.modules;
    const auto& jobs = parts.jobs;
    json::value schema = json::parse(core_schema);
    for (const auto& p : parts.plugins) {
        auto* area = schema.as_object()["properties"].as_object().if_contains(p.area);
        if (!area) {
            throw std::logic_error(fmt::format("plugin {}: the core schema has no section {}", p.name, p.area));
        }
        if (!p.schema_json.empty()) {  // a plugin without settings has no section
            area->as_object()["properties"].as_object()[p.name] = json::parse(p.schema_json);
        }
    }
    json::object mod_props;
    for (const auto& m : modules) {
        json::object section;
        if (!m.schema_json.empty()) {
            section = json::parse(m.schema_json).as_object();
        } else {
            section = {{"type", "object"}, {"additionalProperties", false}, {"properties", json::object()}};
        }
        auto& props = section["properties"].as_object();
        // A module may declare its own `enabled` (e.g. `dev`, off unless asked for); otherwise on by default.
        if (!props.contains("enabled")) {
            props["enabled"] = json::object{{"type", "boolean"}, {"default", true}};
        }
        mod_props[m.name] = std::move(section);
    }
    schema.as_object()["properties"].as_object()["modules"] =
        json::object{{"type", "object"}, {"additionalProperties", false}, {"properties", std::move(mod_props)}};
    json::object job_props;
    for (const auto& j : jobs) {
        json::object props{{"schedule", json::object{{"type", "string"}, {"minLength", 1}, {"default", j.default_schedule}}},
                           {"enabled", json::object{{"type", "boolean"}, {"default", j.enabled_by_default}}}};
        if (!j.extra_properties.empty()) {
            // Parsed into a local: a range-for over parse(...).as_object() would iterate a destroyed temporary.
            json::value extra = json::parse(j.extra_properties);
            for (auto& [k, v] : extra.as_object()) {
                props[k] = v;
            }
        }
        job_props[j.name] = json::object{{"type", "object"}, {"additionalProperties", false}, {"properties", std::move(props)}};
    }
    schema.as_object()["properties"].as_object()["jobs"] =
        json::object{{"type", "object"}, {"additionalProperties", false}, {"properties", std::move(job_props)}};
    // Each key an environment variable sets names it (`"env"`, ignored by the validator), so that the schema the
    // binary prints (--print-config-schema) documents the variables too.
    for (const auto& b : all_bindings(parts)) {
        if (auto* prop = schema_property(schema, b.key)) {
            prop->as_object()["env"] = b.name;
        }
    }
    return schema;
}

json::object load(const std::optional<std::string>& file, const env_map& env, std::string_view core_schema,
                  const parts_schema& parts) {
    json::object root;
    if (file) {
        std::ifstream in(*file);
        if (!in) {
            throw error(fmt::format("config file {}: cannot be read", *file));
        }
        std::stringstream ss;
        ss << in.rdbuf();
        json::parse_options opts;
        opts.allow_comments = true;
        opts.allow_trailing_commas = true;
        boost::system::error_code ec;
        json::value v = json::parse(ss.str(), ec, {}, opts);
        if (ec) {
            throw error(fmt::format("config file {}: invalid JSON: {}", *file, ec.message()));
        }
        if (!v.is_object()) {
            throw error(fmt::format("config file {}: the top level must be an object", *file));
        }
        root = std::move(v.get_object());
    }

    json::value schema = compose_schema(core_schema, parts);
    origin_map origins;
    for (const auto& b : all_bindings(parts)) {
        auto it = env.find(b.name);
        // A variable whose key the schema lacks belongs to a module compiled out of this binary: ignored, as
        // upstream ignores variables of features it does not use.
        if (it == env.end() || it->second.empty() || !schema_property(schema, b.key)) {
            continue;
        }
        set_path(root, b.key, parse_env_value(b.name, it->second, b.type));
        origins.env_keys[b.key] = b.name;
    }

    json::value tree = std::move(root);
    t_origins = &origins;
    try {
        check_schema(schema, tree, "");
    } catch (...) {
        t_origins = nullptr;
        throw;
    }
    t_origins = nullptr;
    return std::move(tree.get_object());
}

const json::value& at(const json::object& root, std::string_view dotted) {
    const json::object* cur = &root;
    while (true) {
        auto dot = dotted.find('.');
        auto key = dotted.substr(0, dot);
        const json::value* v = cur->if_contains(key);
        if (!v) {
            throw error(fmt::format("missing config key {}", key));
        }
        if (dot == std::string_view::npos) {
            return *v;
        }
        cur = &v->as_object();
        dotted.remove_prefix(dot + 1);
    }
}

std::string get_string(const json::object& root, std::string_view dotted) {
    return std::string(at(root, dotted).as_string());
}
std::int64_t get_int(const json::object& root, std::string_view dotted) { return at(root, dotted).to_number<std::int64_t>(); }
bool get_bool(const json::object& root, std::string_view dotted) { return at(root, dotted).as_bool(); }

}  // namespace happy::config
