#include "core/app/registry.hpp"

#include <gtest/gtest.h>

namespace {

using factory = std::function<int()>;

TEST(plugin_registry, finds_by_name_lists_in_order_and_refuses_a_second_plugin_of_one_name) {
    happy::plugin_registry<factory> reg;
    reg.add("a", [] { return 1; });
    reg.add("b", [] { return 2; },
            {.schema = R"({"type":"object"})", .env = {{"B_URL", "area.b.url", "string"}},
             .check = [](const boost::json::object&) {}});
    ASSERT_NE(reg.find("b"), nullptr);
    EXPECT_EQ((*reg.find("b"))(), 2);
    EXPECT_EQ(reg.find("c"), nullptr);
    EXPECT_EQ(reg.check("a"), nullptr);  // registered without a config check
    EXPECT_NE(reg.check("b"), nullptr);
    EXPECT_EQ(reg.names(), (std::vector<std::string>{"a", "b"}));
    auto schemas = reg.schemas("area");
    ASSERT_EQ(schemas.size(), 2u);
    EXPECT_EQ(schemas[1].area, "area");
    EXPECT_EQ(schemas[1].name, "b");
    EXPECT_EQ(schemas[1].schema_json, R"({"type":"object"})");
    ASSERT_EQ(schemas[1].env.size(), 1u);
    EXPECT_EQ(schemas[1].env[0].name, "B_URL");
    EXPECT_THROW(reg.add("a", [] { return 3; }), std::logic_error);
    EXPECT_EQ((*reg.find("a"))(), 1);  // the first registration stays
}

}  // namespace
