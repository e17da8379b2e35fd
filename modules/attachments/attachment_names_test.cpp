#include <gtest/gtest.h>

#include "modules/attachments/attachment_names.hpp"

namespace {

using namespace happy::mod::attachments;

TEST(attachment_names, upstream_traversal_check) {
    EXPECT_FALSE(attachment_name_rejected("1f0e.enc"));
    EXPECT_FALSE(attachment_name_rejected("a.b"));
    EXPECT_TRUE(attachment_name_rejected(".."));
    EXPECT_TRUE(attachment_name_rejected("a..b"));
    EXPECT_TRUE(attachment_name_rejected("a/b"));
    EXPECT_EQ(attachment_ref("s1", "x.enc"), "sessions/s1/attachments/x.enc");
}

TEST(attachment_names, base_url_prefers_public_url_then_forwarded_then_host) {
    happy::http::request req;
    EXPECT_EQ(base_url("", req, 3005), "http://localhost:3005");
    req.headers = {{"host", "10.0.0.2:3005"}};
    EXPECT_EQ(base_url("", req, 3005), "http://10.0.0.2:3005");
    req.headers.push_back({"x-forwarded-host", "happy.example"});
    req.headers.push_back({"x-forwarded-proto", "https"});
    EXPECT_EQ(base_url("", req, 3005), "https://happy.example");
    EXPECT_EQ(base_url("https://pub.example", req, 3005), "https://pub.example");
}

TEST(attachment_names, files_wildcard_is_resolved_like_path_resolve) {
    EXPECT_EQ(files_wildcard_key("public/a.png").value(), "public/a.png");
    EXPECT_EQ(files_wildcard_key("a/./b//c").value(), "a/b/c");
    EXPECT_EQ(files_wildcard_key("a/x/../b").value(), "a/b");
    EXPECT_FALSE(files_wildcard_key(""));
    EXPECT_FALSE(files_wildcard_key("."));
    EXPECT_FALSE(files_wildcard_key("a/.."));
    EXPECT_FALSE(files_wildcard_key(".."));
    EXPECT_FALSE(files_wildcard_key("../data/happy.sqlite"));
    EXPECT_FALSE(files_wildcard_key("/etc/passwd"));
}

TEST(attachment_names, upload_rate_limit_is_60_per_minute_per_user) {
    upload_rate_limiter rl;
    for (int i = 0; i < 60; ++i) {
        EXPECT_TRUE(rl.allow("u1", 1000 + i));
    }
    EXPECT_FALSE(rl.allow("u1", 2000));
    EXPECT_TRUE(rl.allow("u2", 2000));
    EXPECT_FALSE(rl.allow("u1", 1000 + 59'999));
    EXPECT_TRUE(rl.allow("u1", 1000 + 60'000));  // a new window
}

}  // namespace
