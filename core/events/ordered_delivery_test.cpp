#include "core/events/ordered_delivery.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>

namespace happy::events {
namespace {

using namespace std::chrono_literals;

/// An ordered_delivery whose deliveries record their first room; updates are offered with seq `n` as room "n".
struct fixture {
    explicit fixture(std::chrono::milliseconds wait)
        : order(reorder_options{.wait = wait}, [this](const delivery& d) { got.push_back(d.rooms.at(0)); }) {}

    void update(std::int64_t seq) { order.update("A", seq, delivery{{std::to_string(seq)}, {}, {}}); }

    std::vector<std::string> got;
    ordered_delivery order;
};

using v = std::vector<std::string>;

TEST(ordered_delivery, before_start_everything_goes_through_as_it_comes) {
    fixture f(30ms);
    f.update(1);
    f.update(3);
    f.update(2);
    EXPECT_EQ(f.got, (v{"1", "3", "2"}));
}

TEST(ordered_delivery, holds_an_update_until_its_predecessor_or_the_wait_runs_out) {
    boost::asio::io_context io;
    fixture f(40ms);
    f.order.start(io.get_executor());
    f.update(1);
    f.update(3);
    f.update(2);
    EXPECT_EQ(f.got, (v{"1", "2", "3"}));
    f.update(5);
    f.order.now(delivery{{"ephemeral"}, {}, {}});  // not held behind anything
    EXPECT_EQ(f.got.back(), "ephemeral");
    const auto t0 = std::chrono::steady_clock::now();
    io.run_for(20ms);
    EXPECT_EQ(f.got.back(), "ephemeral");  // 4 may still come
    io.run_until(t0 + 200ms);
    EXPECT_EQ(f.got.back(), "5");
    EXPECT_EQ(f.order.counters().gaps, 1u);
    EXPECT_EQ(f.order.held(), 0u);
}

TEST(ordered_delivery, the_timer_sleeps_again_after_a_wait_and_wakes_for_the_next) {
    boost::asio::io_context io;
    fixture f(10ms);
    f.order.start(io.get_executor());
    f.update(1);
    for (std::int64_t seq : {3, 5}) {
        f.update(seq);
        io.run_for(50ms);
        EXPECT_EQ(f.got.back(), std::to_string(seq));
    }
}

TEST(ordered_delivery, stop_delivers_what_is_held_and_stops_ordering) {
    boost::asio::io_context io;
    fixture f(1h);
    f.order.start(io.get_executor());
    f.update(1);
    f.update(3);
    f.order.stop();
    EXPECT_EQ(f.got, (v{"1", "3"}));
    f.update(5);
    f.update(4);
    EXPECT_EQ(f.got, (v{"1", "3", "5", "4"}));
    io.run_for(10ms);  // the timer loop ends
    EXPECT_TRUE(io.stopped());
}

}  // namespace
}  // namespace happy::events
