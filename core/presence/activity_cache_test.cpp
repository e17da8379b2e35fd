// Unit tests for happy::presence::activity_cache, following upstream's sessionCache.spec.ts scenarios plus the
// thresholds of realtime.md §5.2.

#include "core/presence/activity_cache.hpp"

#include <gtest/gtest.h>

namespace happy::presence {
namespace {

constexpr std::int64_t now = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

activity_cache machines() {
    activity_cache::options o;
    o.write_when_inactive = true;
    return activity_cache(o);
}

TEST(activity_cache, validation_is_cached_for_30_s_per_account) {
    activity_cache c;
    EXPECT_FALSE(c.cached_valid("s1", "u1", now));
    c.remember("s1", "u1", now - 60'000, true, now);
    EXPECT_TRUE(c.cached_valid("s1", "u1", now + 29'999));
    EXPECT_FALSE(c.cached_valid("s1", "u1", now + 30'000));
    EXPECT_FALSE(c.cached_valid("s1", "u2", now));
}

TEST(activity_cache, queues_only_past_the_30_s_threshold_and_last_one_wins) {
    activity_cache c;
    EXPECT_FALSE(c.queue("s1", now, now)) << "not validated";
    c.remember("s1", "u1", now - 30'000, true, now);
    EXPECT_FALSE(c.queue("s1", now, now)) << "exactly 30 s: not written";
    EXPECT_TRUE(c.queue("s1", now + 1, now));
    EXPECT_TRUE(c.queue("s1", now + 2'000, now));
    auto w = c.take_pending(now);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0].key, "s1");
    EXPECT_EQ(w[0].account, "u1");
    EXPECT_EQ(w[0].t, now + 2'000);
    EXPECT_TRUE(c.take_pending(now).empty()) << "taken once";
    // The flushed time is now the last written one.
    EXPECT_FALSE(c.queue("s1", now + 30'000, now));
    EXPECT_TRUE(c.queue("s1", now + 32'001, now));
    // A time far in the past counts too (absolute difference).
    c.take_pending(now);
    EXPECT_TRUE(c.queue("s1", now - 60'000, now));
}

TEST(activity_cache, persists_active_for_a_fresh_inactive_machine) {
    auto c = machines();
    c.remember("m1", "u1", now, false, now);
    EXPECT_TRUE(c.queue("m1", now + 1'000, now));
    auto w = c.take_pending(now);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0].t, now + 1'000);
    // After the flush the entry is active: the threshold applies again.
    EXPECT_FALSE(c.queue("m1", now + 2'000, now));
    // Sessions do not have the inactive rule.
    activity_cache s;
    s.remember("s1", "u1", now, false, now);
    EXPECT_FALSE(s.queue("s1", now + 1'000, now));
}

TEST(activity_cache, stop_discards_the_queued_heartbeat) {
    activity_cache c;
    c.remember("s1", "u1", now - 60'000, true, now);
    EXPECT_TRUE(c.queue("s1", now, now));
    c.stop("s1", now);
    EXPECT_TRUE(c.take_pending(now + 5'000).empty());
}

TEST(activity_cache, heartbeats_are_ignored_in_the_stopped_window) {
    activity_cache c;
    c.remember("s1", "u1", now - 60'000, true, now);
    c.stop("s1", now);
    EXPECT_TRUE(c.stopped("s1", now));
    EXPECT_FALSE(c.cached_valid("s1", "u1", now));
    // A validation that read the DB before the stop and caches it again still cannot queue.
    c.remember("s1", "u1", now - 60'000, true, now);
    EXPECT_FALSE(c.queue("s1", now, now));
    EXPECT_TRUE(c.stopped("s1", now + 59'999));
    EXPECT_FALSE(c.stopped("s1", now + 60'000)) << "the window expires by itself";
}

TEST(activity_cache, resume_lifts_the_window_at_once) {
    activity_cache c;
    c.stop("s1", now);
    c.resume("s1");
    EXPECT_FALSE(c.stopped("s1", now));
    c.remember("s1", "u1", now - 60'000, true, now);
    EXPECT_TRUE(c.queue("s1", now, now));
    ASSERT_EQ(c.take_pending(now).size(), 1u);
}

TEST(activity_cache, flush_drops_expired_entries_but_keeps_their_pending_write) {
    activity_cache c;
    c.remember("a", "u1", now - 60'000, true, now);
    c.remember("b", "u1", now - 60'000, true, now);
    EXPECT_TRUE(c.queue("b", now, now));
    auto w = c.take_pending(now + 31'000);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0].key, "b");
    EXPECT_EQ(c.size(), 1u) << "a expired with nothing queued";
    EXPECT_TRUE(c.take_pending(now + 31'000).empty());
    EXPECT_EQ(c.size(), 0u);
}

}  // namespace
}  // namespace happy::presence
