#include "core/app/registry.hpp"

#include <gtest/gtest.h>

namespace {

using factory = std::function<int()>;

TEST(plugin_registry, finds_by_name_lists_in_order_and_refuses_a_second_plugin_of_one_name) {
    happy::plugin_registry<factory> reg;
    reg.add("a", [] { return 1; });
    reg.add("b", [] { return 2; }, [](const boost::json::object&) {});
    ASSERT_NE(reg.find("b"), nullptr);
    EXPECT_EQ((*reg.find("b"))(), 2);
    EXPECT_EQ(reg.find("c"), nullptr);
    EXPECT_EQ(reg.check("a"), nullptr);  // registered without a config check
    EXPECT_NE(reg.check("b"), nullptr);
    EXPECT_EQ(reg.names(), (std::vector<std::string>{"a", "b"}));
    EXPECT_THROW(reg.add("a", [] { return 3; }), std::logic_error);
    EXPECT_EQ((*reg.find("a"))(), 1);  // the first registration stays
}

}  // namespace
