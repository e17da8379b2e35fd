#include "modules/admin/admin_guard.hpp"

#include <gtest/gtest.h>

namespace happy::mod::admin {
namespace {

using namespace std::chrono_literals;

TEST(admin_guard, token_equal_compares_whole_values) {
    EXPECT_TRUE(token_equal("secret-token", "secret-token"));
    EXPECT_FALSE(token_equal("secret-token", "secret-tokeN"));
    EXPECT_FALSE(token_equal("secret-token", "secret-token-longer"));
    EXPECT_FALSE(token_equal("secret-token", ""));
}

TEST(admin_guard, accepts_the_token_and_denies_others) {
    admin_guard g("tok", 3, 60s);
    auto t = admin_guard::clock::now();
    EXPECT_EQ(g.check("tok", "1.2.3.4", t), admin_guard::verdict::ok);
    EXPECT_EQ(g.check("tok ", "1.2.3.4", t), admin_guard::verdict::denied);
    EXPECT_EQ(g.check("", "1.2.3.4", t), admin_guard::verdict::denied);
}

TEST(admin_guard, limits_failures_per_address_for_the_window) {
    admin_guard g("tok", 3, 60s);
    auto t = admin_guard::clock::now();
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(g.check("guess", "1.2.3.4", t), admin_guard::verdict::denied);
    }
    // Limited now, even with the right token; another address is not.
    EXPECT_EQ(g.check("tok", "1.2.3.4", t + 1s), admin_guard::verdict::limited);
    EXPECT_EQ(g.retry_after("1.2.3.4", t + 1s), 59);
    EXPECT_EQ(g.check("tok", "5.6.7.8", t + 1s), admin_guard::verdict::ok);
    // After the window the address may try again.
    EXPECT_EQ(g.check("tok", "1.2.3.4", t + 61s), admin_guard::verdict::ok);
}

TEST(admin_guard, limits_failures_from_all_addresses_together) {
    admin_guard g("tok", 2, 60s);
    auto t = admin_guard::clock::now();
    // 2 per address, 20 in total: ten addresses use the total up.
    for (int a = 0; a < 10; ++a) {
        for (int i = 0; i < 2; ++i) {
            EXPECT_EQ(g.check("guess", "10.0.0." + std::to_string(a), t), admin_guard::verdict::denied);
        }
    }
    EXPECT_EQ(g.check("tok", "10.0.1.1", t), admin_guard::verdict::limited);
    EXPECT_EQ(g.check("tok", "10.0.1.1", t + 60s), admin_guard::verdict::ok);
}

}  // namespace
}  // namespace happy::mod::admin
