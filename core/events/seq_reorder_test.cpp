#include "core/events/seq_reorder.hpp"

#include <gtest/gtest.h>

namespace happy::events {
namespace {

using namespace std::chrono_literals;
using clock = seq_reorder<int>::clock;

/// A seq_reorder<int> whose items are their seqs, on a clock the test moves.
class reorder : public ::testing::Test {
protected:
    explicit reorder(reorder_options o = {}) : r_(o) {}

    /// Offers `seq` (as its own item; nullopt: announced as never coming) and returns what came out.
    std::vector<int> offer(std::int64_t seq, const std::string& account = "A", bool item = true) {
        std::vector<int> out;
        r_.offer(account, seq, item ? std::optional<int>(static_cast<int>(seq)) : std::nullopt, now_, out);
        return out;
    }
    std::vector<int> advance(std::chrono::milliseconds by) {
        now_ += by;
        std::vector<int> out;
        r_.expire(now_, out);
        return out;
    }

    seq_reorder<int> r_;
    clock::time_point now_ = clock::time_point() + 1h;
};

using v = std::vector<int>;

TEST_F(reorder, in_order_goes_straight_through) {
    EXPECT_EQ(offer(5), v{5});  // the first seq of an account not remembered: nothing lower is known to be pending
    EXPECT_EQ(offer(6), v{6});
    EXPECT_EQ(offer(7), v{7});
    EXPECT_EQ(r_.held(), 0u);
    EXPECT_EQ(r_.counters().held, 0u);
}

TEST_F(reorder, out_of_order_is_held_until_the_gap_fills) {
    offer(1);
    EXPECT_EQ(offer(4), v{});
    EXPECT_EQ(offer(3), v{});
    EXPECT_EQ(r_.held(), 2u);
    EXPECT_EQ(offer(2), (v{2, 3, 4}));
    EXPECT_EQ(r_.held(), 0u);
    EXPECT_EQ(r_.counters().held, 2u);
    EXPECT_EQ(r_.counters().gaps, 0u);
    EXPECT_EQ(advance(1s), v{});  // nothing left to time out
}

TEST_F(reorder, accounts_are_independent) {
    offer(1, "A");
    offer(10, "B");
    EXPECT_EQ(offer(3, "A"), v{});
    EXPECT_EQ(offer(11, "B"), v{11});  // B is not held up by A's gap
    EXPECT_EQ(offer(2, "A"), (v{2, 3}));
}

TEST_F(reorder, a_gap_is_waited_for_only_the_wait) {
    offer(1);
    EXPECT_EQ(offer(3), v{});
    ASSERT_TRUE(r_.next_deadline());
    EXPECT_EQ(*r_.next_deadline(), now_ + reorder_options{}.wait);
    EXPECT_EQ(advance(reorder_options{}.wait - 1ms), v{});
    EXPECT_EQ(advance(1ms), v{3});
    EXPECT_EQ(r_.counters().gaps, 1u);
    EXPECT_EQ(offer(4), v{4});  // carries on from the seq given up
}

TEST_F(reorder, each_hold_gets_its_full_wait) {
    offer(1);
    offer(3);  // waits for 2 from now
    advance(20ms);
    offer(5);                        // waits for 4 from now, 20 ms later
    EXPECT_EQ(advance(10ms), v{3});  // 3's wait is up: 2 given up; 4 is still awaited
    EXPECT_EQ(r_.held(), 1u);
    EXPECT_EQ(advance(20ms), v{5});
    EXPECT_EQ(r_.counters().gaps, 2u);
}

TEST_F(reorder, a_seq_announced_as_never_coming_fills_its_gap_at_once) {
    offer(1);
    EXPECT_EQ(offer(3), v{});
    EXPECT_EQ(offer(2, "A", false), v{3});
    EXPECT_EQ(offer(5, "A", false), v{});  // an announcement can wait for its predecessor too
    EXPECT_EQ(offer(4), v{4});
    EXPECT_EQ(offer(6), v{6});
    EXPECT_EQ(r_.counters().gaps, 0u);
}

TEST_F(reorder, a_seq_given_up_on_that_comes_late_is_delivered_once) {
    offer(1);
    offer(3);
    advance(1s);
    EXPECT_EQ(offer(2), v{2});  // late: out of order, but not lost
    EXPECT_EQ(r_.counters().late, 1u);
    EXPECT_EQ(offer(2), v{});  // and only once
    EXPECT_EQ(r_.counters().duplicates, 1u);
}

TEST_F(reorder, a_seq_below_the_first_one_seen_is_delivered) {
    offer(10);
    EXPECT_EQ(offer(9), v{9});  // predates what this instance knew of the account
    EXPECT_EQ(r_.counters().late, 1u);
}

TEST_F(reorder, duplicates_are_dropped) {
    offer(1);
    EXPECT_EQ(offer(1), v{});  // delivered already
    offer(3);
    EXPECT_EQ(offer(3), v{});  // waiting already
    EXPECT_EQ(offer(2), (v{2, 3}));
    EXPECT_EQ(r_.counters().duplicates, 2u);
}

TEST_F(reorder, idle_accounts_are_forgotten) {
    offer(1, "A");
    advance(30s);
    offer(1, "B");
    EXPECT_EQ(r_.accounts(), 2u);
    EXPECT_EQ(*r_.next_deadline(), now_ - 30s + reorder_options{}.idle);
    advance(30s);
    EXPECT_EQ(r_.accounts(), 1u);    // A: a minute without updates
    EXPECT_EQ(offer(7, "A"), v{7});  // starts afresh
    advance(1min);
    EXPECT_EQ(r_.accounts(), 0u);
    EXPECT_FALSE(r_.next_deadline());
}

TEST_F(reorder, flush_delivers_everything_held) {
    offer(1, "A");
    offer(3, "A");
    offer(5, "B");
    offer(8, "B");
    std::vector<int> out;
    r_.flush(out);
    EXPECT_EQ(out, (v{3, 8}));
    EXPECT_EQ(r_.held(), 0u);
    EXPECT_EQ(r_.accounts(), 0u);
    EXPECT_FALSE(r_.next_deadline());
}

TEST_F(reorder, a_huge_jump_remembers_only_the_latest_gaps) {
    offer(1);
    offer(1'000'000'000);
    EXPECT_EQ(advance(1s), v{1'000'000'000});
    EXPECT_EQ(r_.counters().gaps, 999'999'998u);
    EXPECT_EQ(offer(999'999'999), v{999'999'999});  // remembered: late
    EXPECT_EQ(offer(2), v{});                       // forgotten: taken for a duplicate
}

class reorder_bounded : public reorder {
protected:
    reorder_bounded() : reorder(reorder_options{.wait = 30ms, .idle = 60s, .max_held = 3, .max_accounts = 2}) {}
};

TEST_F(reorder_bounded, a_full_buffer_cuts_the_oldest_wait_short) {
    offer(1, "A");
    offer(1, "B");
    offer(3, "A");
    offer(3, "B");
    EXPECT_EQ(offer(5, "B"), v{});
    EXPECT_EQ(r_.held(), 3u);
    EXPECT_EQ(offer(6, "B"), v{3});  // a fourth: A's wait (the oldest) gives up
    EXPECT_EQ(r_.held(), 3u);
    EXPECT_EQ(offer(4, "A"), v{4});
}

TEST_F(reorder_bounded, the_least_recently_updated_account_is_forgotten_first) {
    offer(1, "A");
    offer(3, "A");
    offer(1, "B");
    offer(2, "A");  // A is the most recent now
    EXPECT_EQ(offer(1, "C"), v{1});
    EXPECT_EQ(r_.accounts(), 2u);
    EXPECT_EQ(offer(2, "B"), v{2});  // B was forgotten: starts afresh
    EXPECT_EQ(r_.accounts(), 2u);
    offer(5, "B");
    offer(2, "C");                        // B is the least recent now
    EXPECT_EQ(offer(1, "D"), (v{5, 1}));  // forgetting an account delivers what it held first
}

class reorder_no_wait : public reorder {
protected:
    reorder_no_wait() : reorder(reorder_options{.wait = 0ms}) {}
};

TEST_F(reorder_no_wait, nothing_waits) {
    offer(1);
    EXPECT_EQ(offer(3), v{3});
    EXPECT_EQ(offer(2), v{2});
    EXPECT_EQ(r_.held(), 0u);
    EXPECT_EQ(r_.next_deadline(), now_ + reorder_options{}.idle);  // only the idle account's
}

}  // namespace
}  // namespace happy::events
