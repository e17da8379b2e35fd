// Unit tests for limits::counter: the bound per key, release by destruction, move and explicit release, and
// slots that outlive their counter.

#include "core/limits/counter.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace happy::limits {
namespace {

TEST(Counter, BoundsEachKeySeparately) {
    counter c(2);
    auto a1 = c.try_acquire("a");
    auto a2 = c.try_acquire("a");
    ASSERT_TRUE(a1 && a2);
    EXPECT_FALSE(c.try_acquire("a"));
    EXPECT_EQ(c.refused(), 1u);
    auto b1 = c.try_acquire("b");
    EXPECT_TRUE(b1);
    EXPECT_EQ(c.count("a"), 2u);
    EXPECT_EQ(c.count("b"), 1u);
    EXPECT_EQ(c.total(), 3u);
    EXPECT_EQ(c.keys(), 2u);
}

TEST(Counter, ReleasedByDestructionMoveOrRelease) {
    counter c(1);
    {
        auto s = c.try_acquire("k");
        ASSERT_TRUE(s);
        EXPECT_FALSE(c.try_acquire("k"));
    }
    EXPECT_EQ(c.count("k"), 0u);
    EXPECT_EQ(c.keys(), 0u);  // no entry left behind for a key at zero

    auto s = c.try_acquire("k");
    counter::slot moved = std::move(*s);
    EXPECT_FALSE(*s);
    EXPECT_TRUE(moved);
    s.reset();  // the moved-from slot gives nothing back
    EXPECT_EQ(c.count("k"), 1u);
    moved.release();
    moved.release();  // idempotent
    EXPECT_EQ(c.count("k"), 0u);
    EXPECT_EQ(c.total(), 0u);

    // Move-assigning over a held slot releases the held one.
    auto x = c.try_acquire("x");
    auto y = c.try_acquire("y");
    *x = std::move(*y);
    EXPECT_EQ(c.count("x"), 0u);
    EXPECT_EQ(c.count("y"), 1u);
}

TEST(Counter, ZeroMeansUnlimitedButCounted) {
    counter c(0);
    std::vector<counter::slot> held;
    for (int i = 0; i < 1000; ++i) {
        held.push_back(std::move(*c.try_acquire("k")));
    }
    EXPECT_EQ(c.count("k"), 1000u);
    EXPECT_EQ(c.refused(), 0u);
}

TEST(Counter, SlotMayOutliveTheCounter) {
    std::optional<counter::slot> s;
    {
        counter c(1);
        s = c.try_acquire("k");
    }
    s.reset();  // must not touch freed memory (ASan would say)
    SUCCEED();
}

TEST(Counter, ConcurrentAcquireNeverExceedsTheBound) {
    counter c(100);
    std::atomic<int> got{0};
    std::vector<std::thread> threads;
    std::vector<std::vector<counter::slot>> held(4);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 1000; ++i) {
                if (auto s = c.try_acquire("k")) {
                    held[t].push_back(std::move(*s));
                    ++got;
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(got.load(), 100);
    EXPECT_EQ(c.refused(), 3900u);
}

}  // namespace
}  // namespace happy::limits
