/// @file
/// The abuse limits as configured: `server.trusted_proxies` and the `limits` section (schemas/config/server.json).
#pragma once
#include <boost/json/object.hpp>
#include <cstddef>

#include "core/limits/address.hpp"

namespace happy::limits {

struct settings {
    std::size_t max_connections = 0;          ///< per instance (the API port); 0 = none
    std::size_t max_connections_per_ip = 0;   ///< per client address; 0 = none
    std::size_t max_sockets_per_account = 0;  ///< Socket.IO connections per account on this instance; 0 = none
    double auth_requests_per_minute = 0;      ///< per client address on the /v1/auth routes; 0 = none
    double auth_burst = 1;
    address_set trusted_proxies;
    address_set exempt;  ///< clients the per-address limits do not apply to
};

/// Reads the validated configuration tree. Throws config::error naming the key of a malformed address range, so
/// --check-config refuses it as start-up does.
settings settings_from_config(const boost::json::object& cfg);

}  // namespace happy::limits
