// Apart from bootstrap.cpp so that tests can compose a configuration from the parts they register (a plugin's
// section, say) without linking the generated module list.
#include <boost/json.hpp>

#include "core/app/bootstrap.hpp"
#include "core/util/resources.hpp"

namespace happy {

config::parts_schema declared_config(const app_config& parts) {
    config::parts_schema out;
    for (const auto& m : parts.modules) {
        out.modules.push_back({m.name, m.impl->config_schema(), m.impl->env_bindings()});
    }
    for (const auto& j : parts.jobs) {
        out.jobs.push_back({j.decl.name, j.decl.schedule, j.decl.enabled_by_default, j.decl.extra_properties});
    }
    for (auto p : {parts.reg.storage().schemas("storage"), parts.reg.file_stores().schemas("files"),
                   parts.reg.buses().schemas("bus")}) {
        out.plugins.insert(out.plugins.end(), p.begin(), p.end());
    }
    return out;
}

std::string core_schema_text() { return std::string(resource_text("config/server.json").value_or("{}")); }

boost::json::object load_declared_config(const app_config& parts, const config::env_map& env,
                                         const std::optional<std::string>& file) {
    return config::load(file, env, core_schema_text(), declared_config(parts));
}

}  // namespace happy
