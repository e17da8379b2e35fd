#include "core/auth/registration.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace happy::auth {
namespace {

namespace json = boost::json;

const std::string key_hex = std::string(62, 'A') + "0F";
// The same 32 bytes in base64.
std::string key_b64() {
    return "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqg8=";
}

TEST(registration, public_key_accepts_hex_and_base64_as_uppercase_hex) {
    EXPECT_EQ(public_key_hex_parse(key_hex), key_hex);
    EXPECT_EQ(public_key_hex_parse(std::string(62, 'a') + "0f"), key_hex);
    EXPECT_EQ(public_key_hex_parse(key_b64()), key_hex);
    EXPECT_FALSE(public_key_hex_parse("qqqq"));               // 3 bytes
    EXPECT_FALSE(public_key_hex_parse(std::string(64, 'z')));  // neither hex nor base64 of 32 bytes
    EXPECT_FALSE(public_key_hex_parse(""));
}

TEST(registration, parse_reads_mode_and_allow_list) {
    auto p = registration_policy_parse(json::parse(R"({"mode":"approval","max_pending":5,"allow":[")" + key_b64() + R"("]})").as_object());
    EXPECT_EQ(p.mode, registration_mode::approval);
    ASSERT_EQ(p.allow.size(), 1u);
    EXPECT_EQ(p.allow[0], key_hex);
    EXPECT_TRUE(p.allow_listed(key_hex));
    EXPECT_EQ(p.max_pending, 5);
}

TEST(registration, parse_names_the_bad_entry) {
    try {
        registration_policy_parse(json::parse(R"({"mode":"closed","max_pending":1,"allow":[")" + key_hex + R"(", 7]})").as_object());
        FAIL() << "accepted a number";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("allow[1]"), std::string::npos) << e.what();
    }
}

TEST(registration, open_creates_every_key) {
    registration_policy p;
    EXPECT_EQ(registration_decide(p, key_hex, std::nullopt), registration_verdict::create);
}

TEST(registration, closed_refuses_unless_allow_listed) {
    registration_policy p{registration_mode::closed, {}, 10};
    EXPECT_EQ(registration_decide(p, key_hex, std::nullopt), registration_verdict::refuse_closed);
    // An approval recorded while the server ran in approval mode does not open a closed server.
    EXPECT_EQ(registration_decide(p, key_hex, true), registration_verdict::refuse_closed);
    p.allow.push_back(key_hex);
    EXPECT_EQ(registration_decide(p, key_hex, std::nullopt), registration_verdict::create);
}

TEST(registration, approval_records_then_waits_then_creates) {
    registration_policy p{registration_mode::approval, {}, 10};
    EXPECT_EQ(registration_decide(p, key_hex, std::nullopt), registration_verdict::record_pending);
    EXPECT_EQ(registration_decide(p, key_hex, false), registration_verdict::still_pending);
    EXPECT_EQ(registration_decide(p, key_hex, true), registration_verdict::create);
    p.allow.push_back(key_hex);
    EXPECT_EQ(registration_decide(p, key_hex, std::nullopt), registration_verdict::create);
}

}  // namespace
}  // namespace happy::auth
