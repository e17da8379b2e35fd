#include "modules/version/version_module.hpp"

#include <gtest/gtest.h>

using happy::mod::version::version_at_least;
using happy::mod::version::version_check;

TEST(version_check, ios_and_android_below_and_above_the_minimum) {
    EXPECT_EQ(version_check("ios", "1.0.0"), "https://apps.apple.com/us/app/happy-claude-code-client/id6748571505");
    EXPECT_EQ(version_check("IOS", "1.4.1"), std::nullopt);
    EXPECT_EQ(version_check("android", "1.4.0"), "https://play.google.com/store/apps/details?id=com.ex3ndr.happy");
    EXPECT_EQ(version_check("android", "2.0.0"), std::nullopt);
    EXPECT_EQ(version_check("web", "0.0.1"), std::nullopt);
}

TEST(version_check, semver_parsing_matches_node_semver) {
    EXPECT_TRUE(version_at_least("1.4.1", 1, 4, 1));
    EXPECT_TRUE(version_at_least(" v1.10.0 ", 1, 4, 1));
    EXPECT_TRUE(version_at_least("=1.5.0+build.7", 1, 4, 1));
    EXPECT_FALSE(version_at_least("1.5.0-beta", 1, 4, 1));  // prereleases never satisfy
    EXPECT_FALSE(version_at_least("1.5", 1, 4, 1));
    EXPECT_FALSE(version_at_least("01.5.0", 1, 4, 1));
    EXPECT_FALSE(version_at_least("1.5.0.1", 1, 4, 1));
    EXPECT_FALSE(version_at_least("", 1, 4, 1));
    EXPECT_FALSE(version_at_least("abc", 1, 4, 1));
    EXPECT_FALSE(version_at_least("1.3.99", 1, 4, 1));
    EXPECT_TRUE(version_at_least("1.4.2", 1, 4, 1));
}
