#include "modules/voice/voice_logic.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/crypto/base64.hpp"

namespace {

namespace json = boost::json;
using namespace happy::mod::voice;

TEST(voice_logic, eleven_user_id_is_hmac_base64url) {
    // Node: 'u_' + createHmac('sha256', 'test-master-secret').update('cuser').digest('base64url')
    auto id = eleven_user_id("test-master-secret", "cuser");
    EXPECT_EQ(id.substr(0, 2), "u_");
    EXPECT_EQ(id.size(), 2u + 43u);
    EXPECT_EQ(id.find_first_of("+/="), std::string::npos);
    EXPECT_NE(id, eleven_user_id("other-secret", "cuser"));
    // RFC 4231 case 2 digest, base64url without padding.
    EXPECT_EQ(eleven_user_id("Jefe", "what do ya want for nothing?"), "u_W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM");
}

TEST(voice_logic, usage_sums_durations) {
    auto u = usage_from_conversations(json::parse(
        R"({"conversations":[{"call_duration_secs":60},{"call_duration_secs":1.5},{"other":1},{"call_duration_secs":null}]})"));
    EXPECT_EQ(u.conversation_count, 4);
    EXPECT_DOUBLE_EQ(u.used_seconds, 61.5);
    EXPECT_EQ(usage_from_conversations(json::parse("{}")).conversation_count, 0);
    EXPECT_EQ(json::serialize(js_number(61.0)), "61");
    EXPECT_EQ(json::parse(json::serialize(js_number(61.5))).as_double(), 61.5);  // Boost writes 6.15E1
}

TEST(voice_logic, gating_order_and_bodies) {
    usage many{10, 100};
    EXPECT_EQ(json::serialize(*conversation_denial(many, "ag", true)),
              R"({"allowed":false,"reason":"voice_conversation_limit_reached","usedSeconds":10,"limitSeconds":18000,"agentId":"ag"})");
    usage hard{18000, 3};
    EXPECT_EQ(conversation_denial(hard, "ag", true)->at("reason"), "voice_hard_limit_reached");
    EXPECT_FALSE(needs_subscription_check(hard));
    usage paid{1200, 3};
    EXPECT_TRUE(needs_subscription_check(paid));
    EXPECT_EQ(json::serialize(*conversation_denial(paid, "ag", false)),
              R"({"allowed":false,"reason":"subscription_required","usedSeconds":1200,"limitSeconds":1200,"agentId":"ag"})");
    EXPECT_FALSE(conversation_denial(paid, "ag", true));
    usage free{1199, 3};
    EXPECT_FALSE(needs_subscription_check(free));
    EXPECT_FALSE(conversation_denial(free, "ag", std::nullopt));
    EXPECT_EQ(json::serialize(conversation_granted("t.k.s", "conv_1", "ag", "u_x", paid)),
              R"({"allowed":true,"conversationToken":"t.k.s","conversationId":"conv_1","agentId":"ag","elevenUserId":"u_x","usedSeconds":1200,"limitSeconds":18000})");
    EXPECT_EQ(conversation_granted("t", "c", "a", "u", free).at("limitSeconds"), 1200);
}

TEST(voice_logic, conversation_id_from_jwt_payload) {
    auto jwt = [](std::string payload) {
        return "eyJhbGciOiJIUzI1NiJ9." + happy::crypto::base64url_encode(payload) + ".sig";
    };
    bool error = false;
    EXPECT_EQ(conversation_id_from_token(jwt(R"({"video":{"room":"room_conv_AbC123_x"}})"), error), "conv_AbC123");
    EXPECT_FALSE(error);
    EXPECT_FALSE(conversation_id_from_token(jwt(R"({"video":{"room":"nothing"}})"), error));
    EXPECT_FALSE(error);
    EXPECT_FALSE(conversation_id_from_token(jwt(R"({"sub":"x"})"), error));
    EXPECT_FALSE(error);
    EXPECT_FALSE(conversation_id_from_token("no-dots", error));
    EXPECT_TRUE(error);
    EXPECT_FALSE(conversation_id_from_token("a.!!!.c", error));
    EXPECT_TRUE(error);
}

}  // namespace
