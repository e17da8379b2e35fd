// Unit tests for limits::settings_from_config: the defaults of schemas/config/server.json, set values, and a
// malformed address range refused with its key.

#include "core/limits/settings.hpp"

#include <gtest/gtest.h>

#include <unistd.h>
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/config/config.hpp"
#include "core/util/resources.hpp"

namespace happy::limits {
namespace {

namespace json = boost::json;
namespace ip = boost::asio::ip;

json::object load(std::string_view file_json) {
    auto core = resource_text("config/server.json").value_or("{}");
    auto path =
        std::filesystem::temp_directory_path() / ("happy-limits-settings-" + std::to_string(::getpid()) + ".json");
    { std::ofstream(path) << file_json; }
    auto cfg = config::load(path.string(), {}, core, {});
    std::filesystem::remove(path);
    return cfg;
}

TEST(LimitsSettings, Defaults) {
    auto s = settings_from_config(load("{}"));
    EXPECT_EQ(s.max_connections, 20000u);
    EXPECT_EQ(s.max_connections_per_ip, 500u);
    EXPECT_EQ(s.max_sockets_per_account, 1000u);
    EXPECT_EQ(s.auth_requests_per_minute, 120);
    EXPECT_EQ(s.auth_burst, 60);
    EXPECT_TRUE(s.trusted_proxies.empty());
    // Loopback is exempt from the per-address limits by default (tests, benchmarks, and a reverse proxy on the
    // same host that is not declared trusted: without the exemption all its clients would share one budget).
    EXPECT_TRUE(s.exempt.contains(ip::make_address("127.0.0.1")));
    EXPECT_TRUE(s.exempt.contains(ip::make_address("::1")));
    EXPECT_FALSE(s.exempt.contains(ip::make_address("192.0.2.1")));
}

TEST(LimitsSettings, SetValues) {
    auto s = settings_from_config(load(R"({"server": {"trusted_proxies": ["10.0.0.0/8"]},
        "limits": {"max_connections": 7, "max_connections_per_ip": 3, "max_sockets_per_account": 2,
                   "auth_requests_per_minute": 0, "auth_burst": 5, "exempt": []}})"));
    EXPECT_EQ(s.max_connections, 7u);
    EXPECT_EQ(s.max_connections_per_ip, 3u);
    EXPECT_EQ(s.max_sockets_per_account, 2u);
    EXPECT_EQ(s.auth_requests_per_minute, 0);
    EXPECT_EQ(s.auth_burst, 5);
    EXPECT_TRUE(s.trusted_proxies.contains(ip::make_address("10.9.8.7")));
    EXPECT_FALSE(s.exempt.contains(ip::make_address("127.0.0.1")));
}

TEST(LimitsSettings, MalformedRangeNamesTheKey) {
    try {
        settings_from_config(load(R"({"server": {"trusted_proxies": ["nginx"]}})"));
        FAIL() << "expected config::error";
    } catch (const config::error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "server.trusted_proxies: \"nginx\" is not an IP address or CIDR range (such as 10.0.0.0/8)");
    }
    EXPECT_THROW(settings_from_config(load(R"({"limits": {"exempt": ["10.0.0.0/40"]}})")), config::error);
    // Not a string at all: the schema check says so first.
    EXPECT_THROW(load(R"({"limits": {"exempt": [1]}})"), config::error);
}

}  // namespace
}  // namespace happy::limits
