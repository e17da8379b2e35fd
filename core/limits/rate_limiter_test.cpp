// Unit tests for limits::rate_limiter: the burst, the refill rate, Retry-After, separate keys, and forgetting
// refilled keys.

#include "core/limits/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <string>

namespace happy::limits {
namespace {

using namespace std::chrono_literals;
using clock_t_ = rate_limiter::clock;

TEST(RateLimiter, BurstThenRefusedWithRetryAfter) {
    rate_limiter r(60, 5);  // one per second, five at once
    auto t = clock_t_::now();
    for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(r.take("a", t).allowed) << i;
    }
    auto d = r.take("a", t);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.retry_after_s, 1);
    EXPECT_EQ(r.refused(), 1u);
    // Another key has its own bucket.
    EXPECT_TRUE(r.take("b", t).allowed);
}

TEST(RateLimiter, RefillsAtTheRate) {
    rate_limiter r(6, 1);  // one per 10 s
    auto t = clock_t_::now();
    EXPECT_TRUE(r.take("a", t).allowed);
    auto d = r.take("a", t + 1s);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.retry_after_s, 9);
    EXPECT_FALSE(r.take("a", t + 9s).allowed);
    EXPECT_TRUE(r.take("a", t + 10s + 1ms).allowed);
    // Never more than the burst, however long the pause.
    EXPECT_TRUE(r.take("a", t + 1h).allowed);
    EXPECT_FALSE(r.take("a", t + 1h).allowed);
}

TEST(RateLimiter, ZeroRateAllowsEverything) {
    rate_limiter r(0, 0);
    EXPECT_FALSE(r.enabled());
    auto t = clock_t_::now();
    for (int i = 0; i < 10000; ++i) {
        ASSERT_TRUE(r.take("a", t).allowed);
    }
    EXPECT_EQ(r.tracked(), 0u);
}

TEST(RateLimiter, ForgetsRefilledKeysSoMemoryStaysBounded) {
    rate_limiter r(60, 2);
    auto t = clock_t_::now();
    for (int i = 0; i < 5000; ++i) {
        r.take(std::to_string(i), t + std::chrono::milliseconds(i * 10));
    }
    // A bucket that took one token is full again after 1 s (100 keys at 10 ms apart): the sweep at 1024 keys
    // forgets all but the last ~100, so the map never grows past the sweep size.
    EXPECT_LE(r.tracked(), 1024u);
    EXPECT_GT(r.tracked(), 90u);
    // A key that is still draining keeps its state.
    rate_limiter q(60, 1);
    EXPECT_TRUE(q.take("x", t).allowed);
    for (int i = 0; i < 3000; ++i) {
        q.take(std::to_string(i), t);
    }
    EXPECT_FALSE(q.take("x", t).allowed);
}

}  // namespace
}  // namespace happy::limits
