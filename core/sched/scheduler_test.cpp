// Unit tests for happy::sched::scheduler: runs on schedule, never overlaps a job with itself, survives failing
// runs, and stops promptly (cancelling running jobs, bounded wait for uncancellable ones).

#include "core/sched/scheduler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace happy::sched {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

/// Sleeps on an asio timer; cancellable (throws operation_aborted when cancelled).
asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(d);
    co_await t.async_wait(asio::use_awaitable);
}

/// Sleeps ignoring cancellation (stands in for a database statement that cannot be interrupted).
asio::awaitable<void> sleep_uncancellable(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(d);
    co_await asio::this_coro::reset_cancellation_state(asio::disable_cancellation());
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

struct counters {
    std::atomic<int> active{0};
    std::atomic<int> max_active{0};
    std::atomic<int> started{0};
    std::atomic<int> finished{0};
};

asio::awaitable<void> slow_job(counters* c, std::chrono::milliseconds d) {
    int now = ++c->active;
    int prev = c->max_active.load();
    while (now > prev && !c->max_active.compare_exchange_weak(prev, now)) {
    }
    ++c->started;
    try {
        co_await sleep_for(d);
    } catch (...) {
        --c->active;
        throw;
    }
    --c->active;
    ++c->finished;
}

asio::awaitable<void> failing_job(counters* c) {
    ++c->started;
    throw std::runtime_error("boom");
    co_return;
}

asio::awaitable<void> stuck_job(counters* c) {
    ++c->started;
    co_await sleep_uncancellable(400ms);
    ++c->finished;
}

/// Runs `body` as a coroutine on a 2-thread io_context until it returns (the scheduler is used from several
/// threads in the server).
template <typename F>
void run(F body) {
    asio::io_context ioc(2);
    bool done = false;
    asio::co_spawn(ioc, body(ioc), [&](std::exception_ptr ep) {
        done = true;
        ioc.stop();
        if (ep) {
            std::rethrow_exception(ep);
        }
    });
    std::thread other([&] { ioc.run(); });
    ioc.run();
    other.join();
    EXPECT_TRUE(done);
}

asio::awaitable<void> wait_until(std::function<bool()> pred, std::chrono::milliseconds limit) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    auto end = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < end) {
        t.expires_after(2ms);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

// --- a fire while the previous run is going is skipped and counted -------------------------------------------

asio::awaitable<void> no_overlap_body(asio::io_context& ioc, counters* c) {
    scheduler s(ioc.get_executor());
    s.add({"slow", cron::parse("0 0 1 1 *"), [c] { return slow_job(c, 150ms); }});
    s.start();
    s.fire("slow");
    co_await wait_until([c] { return c->started.load() == 1; }, 1s);
    s.fire("slow");
    s.fire("slow");
    co_await wait_until([&s] { return s.stats("slow").skipped == 2; }, 1s);
    co_await wait_until([c] { return c->finished.load() == 1; }, 2s);
    EXPECT_EQ(s.stats("slow").runs, 1u);
    s.fire("slow");  // after the run ended: runs again
    co_await wait_until([c] { return c->finished.load() == 2; }, 2s);
    auto st = s.stats("slow");
    EXPECT_EQ(st.runs, 2u);
    EXPECT_EQ(st.skipped, 2u);
    EXPECT_EQ(st.failures, 0u);
    EXPECT_EQ(c->max_active.load(), 1);
    EXPECT_FALSE(s.fire("nope"));
    co_await s.stop(1s);
}

TEST(scheduler, never_overlaps_a_job_with_itself) {
    counters c;
    run([&](asio::io_context& ioc) { return no_overlap_body(ioc, &c); });
    EXPECT_EQ(c.started.load(), 2);
}

// --- timer-driven runs; failures are logged and the schedule continues --------------------------------------

asio::awaitable<void> on_schedule_body(asio::io_context& ioc, counters* ok, counters* bad) {
    scheduler s(ioc.get_executor());
    s.add({"tick", cron::parse("* * * * * *"), [ok] { return slow_job(ok, 1ms); }, false});
    s.add({"fail", cron::parse("* * * * * *"), [bad] { return failing_job(bad); }, true});
    s.start();
    // run_at_start fires at once; then once per second.
    co_await wait_until([bad] { return bad->started.load() >= 1; }, 500ms);
    EXPECT_EQ(bad->started.load(), 1);
    co_await wait_until([ok, bad] { return ok->finished.load() >= 1 && bad->started.load() >= 2; }, 2500ms);
    EXPECT_GE(ok->finished.load(), 1);
    EXPECT_GE(bad->started.load(), 2);
    auto f = s.stats("fail");
    EXPECT_EQ(f.failures, f.runs);
    EXPECT_GE(f.failures, 2u);
    EXPECT_FALSE(f.last_ok);
    EXPECT_FALSE(f.last_error.empty());
    EXPECT_GT(f.last_start_ms, 0);
    EXPECT_EQ(s.stats("tick").failures, 0u);
    auto all = s.status();  // (no ASSERT_* in a coroutine)
    EXPECT_EQ(all.size(), 2u);
    if (all.size() == 2) {
        EXPECT_EQ(all[0].name, "tick");
        EXPECT_EQ(all[0].schedule, "* * * * * *");
        EXPECT_TRUE(all[0].stats.last_ok);
        EXPECT_GE(all[0].stats.runs, 1u);
    }
    co_await s.stop(1s);
    int after = ok->started.load();
    co_await sleep_for(1100ms);
    EXPECT_EQ(ok->started.load(), after) << "no fires after stop";
}

TEST(scheduler, runs_on_schedule_and_survives_failures) {
    counters ok, bad;
    run([&](asio::io_context& ioc) { return on_schedule_body(ioc, &ok, &bad); });
}

// --- stop cancels running jobs and returns promptly ---------------------------------------------------------

asio::awaitable<void> stop_cancels_body(asio::io_context& ioc, counters* c) {
    scheduler s(ioc.get_executor());
    s.add({"long", cron::parse("@yearly"), [c] { return slow_job(c, std::chrono::hours(1)); }, true});
    s.start();
    co_await wait_until([c] { return c->started.load() == 1; }, 1s);
    EXPECT_EQ(s.running(), 1);
    auto t0 = std::chrono::steady_clock::now();
    co_await s.stop(5s);
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(took, 200ms);
    EXPECT_EQ(s.running(), 0);
    EXPECT_EQ(c->active.load(), 0);
    EXPECT_EQ(s.stats("long").failures, 1u);  // cancelled
    s.fire("long");                          // ignored once stopping
    co_await sleep_for(20ms);
    EXPECT_EQ(c->started.load(), 1);
}

TEST(scheduler, stop_cancels_running_jobs_promptly) {
    counters c;
    run([&](asio::io_context& ioc) { return stop_cancels_body(ioc, &c); });
}

asio::awaitable<void> stop_bounded_body(asio::io_context& ioc, counters* c) {
    scheduler s(ioc.get_executor());
    s.add({"stuck", cron::parse("@yearly"), [c] { return stuck_job(c); }, true});
    s.start();
    co_await wait_until([c] { return c->started.load() == 1; }, 1s);
    auto t0 = std::chrono::steady_clock::now();
    co_await s.stop(100ms);
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(took, 90ms);
    EXPECT_LT(took, 300ms);
    EXPECT_EQ(s.running(), 1) << "left behind after the bound";
    co_await wait_until([c] { return c->finished.load() == 1; }, 1s);
    EXPECT_EQ(s.running(), 0);
}

TEST(scheduler, stop_waits_for_uncancellable_jobs_only_up_to_the_bound) {
    counters c;
    run([&](asio::io_context& ioc) { return stop_bounded_body(ioc, &c); });
}

TEST(scheduler, duplicate_names_are_rejected) {
    asio::io_context ioc;
    scheduler s(ioc.get_executor());
    s.add({"a", cron::parse("@daily"), [] { return sleep_for(1ms); }});
    EXPECT_THROW(s.add({"a", cron::parse("@daily"), [] { return sleep_for(1ms); }}), std::invalid_argument);
    EXPECT_EQ(s.names(), std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace happy::sched
