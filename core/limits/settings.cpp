#include "core/limits/settings.hpp"

#include <fmt/format.h>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config/config.hpp"

namespace happy::limits {

namespace {

address_set ranges_at(const boost::json::object& cfg, std::string_view key) {
    std::vector<std::string> entries;
    for (const auto& v : config::at(cfg, key).as_array()) {
        entries.emplace_back(v.as_string());
    }
    try {
        return address_set::parse(entries);
    } catch (const std::invalid_argument& e) {
        throw config::error(fmt::format("{}: {}", key, e.what()));
    }
}

}  // namespace

settings settings_from_config(const boost::json::object& cfg) {
    settings s;
    s.max_connections = static_cast<std::size_t>(config::get_int(cfg, "limits.max_connections"));
    s.max_connections_per_ip = static_cast<std::size_t>(config::get_int(cfg, "limits.max_connections_per_ip"));
    s.max_sockets_per_account = static_cast<std::size_t>(config::get_int(cfg, "limits.max_sockets_per_account"));
    s.auth_requests_per_minute = static_cast<double>(config::get_int(cfg, "limits.auth_requests_per_minute"));
    s.auth_burst = static_cast<double>(config::get_int(cfg, "limits.auth_burst"));
    s.trusted_proxies = ranges_at(cfg, "server.trusted_proxies");
    s.exempt = ranges_at(cfg, "limits.exempt");
    return s;
}

}  // namespace happy::limits
