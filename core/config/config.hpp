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

/// Validates `instance` against a JSON Schema subset (type, properties, additionalProperties, enum, minimum,
/// maximum, minLength, default) and fills in defaults. Throws config::error naming `where` (e.g. "server.port").
void check_schema(const boost::json::value& schema, boost::json::value& instance, const std::string& where);

/// A module's config schema entry: its name and its section schema (JSON text; may be empty).
struct module_schema {
    std::string name;
    std::string_view schema_json;
};

/// A scheduled job's config entry: `jobs.<name>` with `schedule` (default below) and `enabled` (default true).
struct job_schema {
    std::string name;
    std::string default_schedule;
};

using env_map = std::map<std::string, std::string>;

/// Snapshot of the process environment.
env_map environment();

/// The whole configuration schema: `core_schema` (schemas/config/server.json) with a `modules.<name>` section per
/// compiled-in module (always accepting `enabled`, default true unless the module declares it) and a `jobs.<name>`
/// section per job. Keys an environment variable sets carry `"env": "<NAME>"`.
boost::json::value compose_schema(std::string_view core_schema, const std::vector<module_schema>& modules,
                                  const std::vector<job_schema>& jobs);

/// Builds the effective configuration: file (optional) → environment overrides → schema check with defaults.
/// `core_schema` is the top-level schema (schemas/config/server.json); each module section lives under
/// `modules.<name>` and always accepts `enabled` (default true unless the module declares it); each job lives under `jobs.<name>` (the cron
/// syntax of `schedule` is checked by the caller, which knows the parser).
boost::json::object load(const std::optional<std::string>& file, const env_map& env,
                         std::string_view core_schema, const std::vector<module_schema>& modules,
                         const std::vector<job_schema>& jobs = {});

/// Path helpers for reading the validated tree.
const boost::json::value& at(const boost::json::object& root, std::string_view dotted);
std::string get_string(const boost::json::object& root, std::string_view dotted);
std::int64_t get_int(const boost::json::object& root, std::string_view dotted);
bool get_bool(const boost::json::object& root, std::string_view dotted);

}  // namespace happy::config
