#include "modules/auth/updates.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>

TEST(update_envelope, has_upstream_shape_and_key_order) {
    auto env = happy::mod::auth::update_envelope_build(42, boost::json::object{{"t", "delete-session"}, {"sid", "s1"}},
                                                        1700000000123);
    std::vector<std::string> keys;
    for (const auto& kv : env) {
        keys.emplace_back(kv.key());
    }
    EXPECT_EQ(keys, (std::vector<std::string>{"id", "seq", "body", "createdAt"}));
    EXPECT_TRUE(std::regex_match(std::string(env.at("id").as_string()), std::regex("[A-Za-z0-9]{12}")));
    EXPECT_EQ(env.at("seq").as_int64(), 42);
    EXPECT_EQ(boost::json::serialize(env.at("body")), R"({"t":"delete-session","sid":"s1"})");
    EXPECT_EQ(env.at("createdAt").as_int64(), 1700000000123);
    auto other = happy::mod::auth::update_envelope_build(43, {}, 1);
    EXPECT_NE(env.at("id"), other.at("id"));
}
