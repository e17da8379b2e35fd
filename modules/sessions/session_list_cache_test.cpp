#include "modules/sessions/session_list_cache.hpp"

#include <gtest/gtest.h>

namespace {

using happy::mod::sessions::session_list_cache;

std::shared_ptr<const std::string> body(std::size_t n, char c = 'x') {
    return std::make_shared<const std::string>(n, c);
}

TEST(session_list_cache, hands_out_a_body_only_for_the_exact_version_it_was_kept_at) {
    session_list_cache c(1024);
    EXPECT_EQ(c.find("a", 0), nullptr);
    auto b = body(10);
    c.store("a", 3, b);
    EXPECT_EQ(c.find("a", 3), b);
    EXPECT_EQ(c.find("a", 4), nullptr);  // a write since: rebuilt
    EXPECT_EQ(c.find("a", 2), nullptr);
    EXPECT_EQ(c.find("b", 3), nullptr);  // another account
}

TEST(session_list_cache, an_older_version_never_replaces_a_newer_one) {
    session_list_cache c(1024);
    auto newer = body(10, 'n');
    c.store("a", 5, newer);
    c.store("a", 4, body(10, 'o'));  // a request that read the version before a write finished last
    EXPECT_EQ(c.find("a", 5), newer);
    EXPECT_EQ(c.find("a", 4), nullptr);
    auto newest = body(12, 'z');
    c.store("a", 6, newest);
    EXPECT_EQ(c.find("a", 6), newest);
    EXPECT_EQ(c.bytes(), 12u);
    EXPECT_EQ(c.size(), 1u);
}

TEST(session_list_cache, stays_within_its_budget) {
    session_list_cache c(100);
    c.store("a", 1, body(40));
    c.store("b", 1, body(40));
    EXPECT_EQ(c.bytes(), 80u);
    c.store("c", 1, body(40));  // over budget: others go
    EXPECT_LE(c.bytes(), 100u);
    EXPECT_NE(c.find("c", 1), nullptr);
    c.store("d", 1, body(101));  // larger than the whole budget: not kept
    EXPECT_EQ(c.find("d", 1), nullptr);
    EXPECT_LE(c.bytes(), 100u);
}

TEST(session_list_cache, budget_zero_is_off) {
    session_list_cache c;
    EXPECT_FALSE(c.enabled());
    c.store("a", 1, body(1));
    EXPECT_EQ(c.find("a", 1), nullptr);
    c.configure(10);
    EXPECT_TRUE(c.enabled());
    c.store("a", 1, body(1));
    EXPECT_NE(c.find("a", 1), nullptr);
    c.configure(10);  // reconfiguring drops what was kept
    EXPECT_EQ(c.find("a", 1), nullptr);
}

}  // namespace

namespace {

TEST(session_list_cache, an_entry_found_current_at_a_change_count_is_handed_out_while_that_count_holds) {
    session_list_cache c(1024);
    auto b = body(10);
    c.store("a", 3, b);  // change count unknown
    EXPECT_EQ(c.find_unchanged("a", 7), nullptr);
    EXPECT_EQ(c.find("a", 3, 7), b);  // version 3 read after count 7: current as of 7
    EXPECT_EQ(c.find_unchanged("a", 7), b);
    EXPECT_EQ(c.find_unchanged("a", 8), nullptr);  // a commit since: the version must be read again
    EXPECT_EQ(c.find_unchanged("b", 7), nullptr);
    EXPECT_EQ(c.find_unchanged("a", 0), nullptr);  // 0: the backend keeps no count
    EXPECT_EQ(c.find("a", 3, 5), b);               // a slower request with an older count does not move it back
    EXPECT_EQ(c.find_unchanged("a", 7), b);
    auto newer = body(11);
    c.store("a", 4, newer, 9);
    EXPECT_EQ(c.find_unchanged("a", 9), newer);
    EXPECT_EQ(c.find_unchanged("a", 7), nullptr);
}

}  // namespace
