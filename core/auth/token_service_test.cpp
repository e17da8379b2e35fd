// Unit tests for happy::auth::token_service: minting, verification and the verification cache.

#include "core/auth/token_service.hpp"

#include <gtest/gtest.h>

namespace happy::auth {
namespace {

token_service& service() {
    static token_service s("token service test secret", 4);
    return s;
}

TEST(token_service, minted_tokens_verify_and_the_cache_answers_the_same) {
    auto token = service().mint("acct1", {{"session", "s1"}});
    for (int i = 0; i < 2; ++i) {  // the second verify comes from the cache
        auto v = service().verify(token);
        ASSERT_TRUE(v);
        EXPECT_EQ(v->sub, "acct1");
        EXPECT_EQ(v->payload->at("session"), "s1");
    }
    EXPECT_FALSE(service().verify(token + "x"));
}

// Found by tests/fuzz/token_fuzz.cpp: an `exp` beyond int64 (here 1e300) was cast to int64 for the cache (UBSan:
// float-cast-overflow). Such a token simply never expires.
TEST(token_service, an_exp_beyond_int64_is_cached_as_never) {
    for (double exp : {1e300, 9.3e18, 1.8e19}) {
        auto token = service().mint("acct2", {{"exp", exp}});
        for (int i = 0; i < 2; ++i) {
            auto v = service().verify(token);
            ASSERT_TRUE(v) << exp;
            EXPECT_EQ(v->sub, "acct2");
        }
    }
}

TEST(token_service, an_expired_token_is_refused) {
    auto token = service().mint("acct3", {{"exp", 1}});
    EXPECT_FALSE(service().verify(token));
}

}  // namespace
}  // namespace happy::auth
