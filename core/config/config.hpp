/// @file
/// Configuration: one JSON file (comments and trailing commas allowed) plus environment variables, validated
/// strictly against per-component schemas. An unknown key or a bad value stops start-up with a message that
/// names the key and the reason.
#pragma once
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace happy::config {

struct error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Validates `instance` against a JSON Schema subset (type, properties, additionalProperties, items, enum, minimum,
/// maximum, minLength, default) and fills in defaults. Throws config::error naming `where` (e.g. "server.port").
void check_schema(const boost::json::value& schema, boost::json::value& instance, const std::string& where);

/// A scheduled job's config entry: `jobs.<name>` with `schedule` (default below) and `enabled` (default true).
struct job_schema {
    std::string name;
    std::string default_schedule;
    bool enabled_by_default = true;
    /// JSON text of further properties of `jobs.<name>` (e.g. the backup job's directory), or empty.
    std::string_view extra_properties;
};

/// An environment variable that sets one key of the tree. Each part declares its own (a module or plugin next
/// to its config schema; the core's in config.cpp). `type`: string, integer, boolean, js_true (only "true" is
/// true, as upstream's `=== 'true'`), flag (any non-empty value is true) or select:<value> (sets the key to
/// <value>, e.g. DATABASE_URL setting storage.kind to postgres).
struct env_binding {
    std::string name;
    std::string key;  ///< dotted, from the root (`storage.postgres.url`)
    std::string type;
};

/// A module's config schema entry: its name, its section schema (JSON text; may be empty) and its variables.
struct module_schema {
    std::string name;
    std::string_view schema_json;
    std::vector<env_binding> env = {};
};

/// A plugin's config section: `<area>.<name>` (e.g. `storage.sqlite`), its schema (JSON text of an object
/// schema) and its variables.
struct plugin_schema {
    std::string area;
    std::string name;
    std::string_view schema_json;
    std::vector<env_binding> env = {};
};

/// Every part's config declarations together.
struct parts_schema {
    std::vector<module_schema> modules;
    std::vector<job_schema> jobs;
    std::vector<plugin_schema> plugins;
};

using env_map = std::map<std::string, std::string>;

/// Snapshot of the process environment.
env_map environment();

/// The whole configuration schema: `core_schema` (schemas/config/server.json) with a `modules.<name>` section per
/// compiled-in module (always accepting `enabled`, default true unless the module declares it) and a `jobs.<name>`
/// section per job. Keys an environment variable sets carry `"env": "<NAME>"`.
/// Each plugin's section goes under `<area>.properties.<name>`.
boost::json::value compose_schema(std::string_view core_schema, const parts_schema& parts);

/// Builds the effective configuration: file (optional) → environment overrides → schema check with defaults.
/// `core_schema` is the top-level schema (schemas/config/server.json); each module section lives under
/// `modules.<name>` and always accepts `enabled` (default true unless the module declares it); each job lives under `jobs.<name>` (the cron
/// syntax of `schedule` is checked by the caller, which knows the parser).
boost::json::object load(const std::optional<std::string>& file, const env_map& env,
                         std::string_view core_schema, const parts_schema& parts);

/// Path helpers for reading the validated tree.
const boost::json::value& at(const boost::json::object& root, std::string_view dotted);
std::string get_string(const boost::json::object& root, std::string_view dotted);
std::int64_t get_int(const boost::json::object& root, std::string_view dotted);
bool get_bool(const boost::json::object& root, std::string_view dotted);

}  // namespace happy::config
