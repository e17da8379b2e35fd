/// @file
/// SIGHUP: what changed in the configuration, and which of it can take effect without a restart. A key is
/// reloadable when its schema says `"reloadable": true` (log level, format, file; module keys that declare it, the
/// module's reload() then gets its new section); every other change is reported as needing a restart.
#pragma once
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <vector>

namespace happy::ops {

struct reload_plan {
    std::vector<std::string> apply;         ///< changed keys marked reloadable (dotted, e.g. "log.level")
    std::vector<std::string> not_reloaded;  ///< changed keys that take effect only at the next start
    bool empty() const { return apply.empty() && not_reloaded.empty(); }
};

/// Compares two validated configurations leaf by leaf against the composed schema (config::compose_schema).
reload_plan plan_reload(const boost::json::value& schema, const boost::json::object& before,
                        const boost::json::object& after);

}  // namespace happy::ops
