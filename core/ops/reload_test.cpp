#include "core/ops/reload.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace happy::ops {
namespace {

namespace json = boost::json;

const json::value schema = json::parse(R"({"type": "object", "properties": {
    "log": {"type": "object", "properties": {
        "level": {"type": "string", "reloadable": true},
        "file": {"type": "string", "reloadable": true}}},
    "server": {"type": "object", "properties": {"port": {"type": "integer"}}},
    "modules": {"type": "object", "properties": {
        "push": {"type": "object", "properties": {"retries": {"type": "integer", "reloadable": true},
                                                   "expo_url": {"type": "string"}}}}}
}})");

TEST(reload, splits_changed_keys_into_reloadable_and_restart_needed) {
    auto before = json::parse(R"({"log": {"level": "info", "file": ""}, "server": {"port": 3005},
                                  "modules": {"push": {"retries": 3, "expo_url": "a"}}})").as_object();
    auto after = json::parse(R"({"log": {"level": "debug", "file": ""}, "server": {"port": 3006},
                                 "modules": {"push": {"retries": 5, "expo_url": "b"}}})").as_object();
    auto p = plan_reload(schema, before, after);
    EXPECT_EQ(p.apply, (std::vector<std::string>{"log.level", "modules.push.retries"}));
    EXPECT_EQ(p.not_reloaded, (std::vector<std::string>{"server.port", "modules.push.expo_url"}));
}

TEST(reload, nothing_changed_is_an_empty_plan) {
    auto cfg = json::parse(R"({"log": {"level": "info"}, "server": {"port": 1}})").as_object();
    EXPECT_TRUE(plan_reload(schema, cfg, cfg).empty());
}

TEST(reload, a_key_unknown_to_the_schema_needs_a_restart) {
    auto before = json::parse(R"({"jobs": {"x": {"enabled": true}}})").as_object();
    auto after = json::parse(R"({"jobs": {"x": {"enabled": false}}})").as_object();
    auto p = plan_reload(schema, before, after);
    EXPECT_TRUE(p.apply.empty());
    EXPECT_EQ(p.not_reloaded, (std::vector<std::string>{"jobs.x.enabled"}));
}

}  // namespace
}  // namespace happy::ops
