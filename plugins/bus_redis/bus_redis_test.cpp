// The Redis bus and its client against a real redis-server started by the test (redis_test_server.hpp).
#include <gtest/gtest.h>

#include "modules/testing/config_fixture.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>
#include <condition_variable>
#include <functional>
#include <thread>

#include "plugins/bus_redis/bus_redis_plugin.hpp"
#include "plugins/bus_redis/envelope.hpp"
#include "plugins/bus_redis/redis_connection.hpp"
#include "plugins/bus_redis/redis_test_server.hpp"

namespace happy::plugin::bus_redis {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::redis_test_server;

/// An io_context on its own thread.
struct loop {
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(ioc);
    std::thread thread{[this] { ioc.run(); }};
    ~loop() { halt(); }
    /// Stops the thread without any orderly shutdown of what runs on it (a frozen or killed process).
    void halt() {
        work.reset();
        ioc.stop();
        if (thread.joinable()) {
            thread.join();
        }
    }
    template <class T>
    T run(asio::awaitable<T> a) {
        return asio::co_spawn(ioc, std::move(a), asio::use_future).get();
    }
};

/// One instance: a Redis bus on its own loop, recording what it receives.
struct node {
    explicit node(options o) : bus(make_bus(std::move(o))) {
        bus->on_message([this](std::string_view origin, std::string_view payload) {
            std::lock_guard lock(m);
            got.emplace_back(std::string(origin), std::string(payload));
            cv.notify_all();
        });
        bus->on_peer_down([this](std::string_view peer) {
            std::lock_guard lock(m);
            down.emplace_back(peer);
            cv.notify_all();
        });
    }
    ~node() {
        if (!halted) {
            l.run(bus->stop());
        }
        l.halt();
    }
    void start() { l.run(bus->start(l.ioc.get_executor())); }
    bool wait(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5s) {
        std::unique_lock lock(m);
        return cv.wait_for(lock, timeout, pred);
    }
    std::size_t received() {
        std::lock_guard lock(m);
        return got.size();
    }

    loop l;
    std::unique_ptr<bus::bus> bus;
    bool halted = false;
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::pair<std::string, std::string>> got;
    std::vector<std::string> down;
};

options fast(std::string url) {
    options o;
    o.url = std::move(url);
    o.prefix = "t" + std::to_string(::getpid());
    o.heartbeat = 100ms;
    o.peer_timeout = 400ms;
    o.connect_timeout = 1000ms;
    o.reconnect_max = 300ms;
    return o;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5s) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) {
            return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    return pred();
}

// ---------------------------------------------------------------------------------------------

TEST(redis_url, parses_upstream_forms) {
    auto u = redis_url::parse("redis://localhost:6380");
    EXPECT_EQ(u.host, "localhost");
    EXPECT_EQ(u.port, 6380);
    EXPECT_EQ(u.db, 0);
    EXPECT_TRUE(u.password.empty());
    u = redis_url::parse("redis://:s%40cret@10.0.0.5:6379/2");
    EXPECT_EQ(u.password, "s@cret");
    EXPECT_TRUE(u.user.empty());
    EXPECT_EQ(u.db, 2);
    EXPECT_EQ(u.masked(), "redis://:***@10.0.0.5:6379/2");
    u = redis_url::parse("redis://app:p@ss@redis");
    EXPECT_EQ(u.user, "app");
    EXPECT_EQ(u.password, "p@ss");
    EXPECT_EQ(u.host, "redis");
    EXPECT_EQ(u.port, 6379);
    EXPECT_EQ(u.masked(), "redis://app:***@redis:6379/0");
    u = redis_url::parse("redis://[::1]:7000/");
    EXPECT_EQ(u.host, "::1");
    EXPECT_EQ(u.port, 7000);
    EXPECT_EQ(u.masked(), "redis://[::1]:7000/0");
}

TEST(redis_url, rediss_is_tls) {
    auto u = redis_url::parse("rediss://:pw@cache.example:6380/2");
    EXPECT_TRUE(u.tls);
    EXPECT_EQ(u.host, "cache.example");
    EXPECT_EQ(u.port, 6380);
    EXPECT_EQ(u.db, 2);
    EXPECT_EQ(u.password, "pw");
    EXPECT_EQ(u.masked(), "rediss://:***@cache.example:6380/2");
    EXPECT_FALSE(redis_url::parse("redis://h").tls);
    EXPECT_EQ(redis_url::parse("rediss://h").port, 6379);  // as ioredis: no TLS-specific default port
}

TEST(redis_url, refuses_what_it_cannot_use) {
    for (auto bad : {"http://x", "redis://", "rediss://", "redis://h:0", "redis://h:99999", "redis://h:12/x",
                     "redis://h?db=1", "redisss://h"}) {
        EXPECT_THROW(redis_url::parse(bad), std::invalid_argument) << bad;
    }
    // make_bus never echoes the URL (it may carry a password).
    options o;
    o.url = "rediss://:topsecret@h:0";
    try {
        make_bus(o);
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()).find("topsecret"), std::string::npos);
    }
}

TEST(envelope, round_trip) {
    std::string frame;
    envelope_header(frame, envelope_kind::message, "node-1", 0x0102030405060708ull);
    EXPECT_EQ(frame.size(), envelope_header_size("node-1"));
    frame += std::string("body\0with nul", 13);
    auto e = envelope_parse(frame);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, envelope_kind::message);
    EXPECT_EQ(e->origin, "node-1");
    EXPECT_EQ(e->seq, 0x0102030405060708ull);
    EXPECT_EQ(e->body, std::string_view("body\0with nul", 13));
    EXPECT_FALSE(envelope_parse("H1x"));
    EXPECT_FALSE(envelope_parse("X1m\x01" "a12345678"));
    EXPECT_FALSE(envelope_parse("H1m\x05" "ab"));
}

// ---------------------------------------------------------------------------------------------

TEST(redis_connection, pipelines_commands_and_matches_replies_in_order) {
    redis_test_server redis;
    loop l;
    auto strand = asio::make_strand(l.ioc);
    auto c = std::make_shared<redis_connection>(strand);
    l.run(asio::co_spawn(strand, c->open(redis_url::parse(redis.url()), 1s), asio::use_awaitable));
    auto runner = asio::co_spawn(strand, c->run(), asio::use_future);
    // 2000 commands queued from another thread at once: written in a few batches, answered in order.
    std::mutex m;
    std::vector<std::int64_t> replies;
    std::condition_variable cv;
    for (int i = 0; i < 2000; ++i) {
        c->send(resp::command({"INCR", "counter"}), [&](resp::value v) {
            std::lock_guard lock(m);
            replies.push_back(v.integer);
            cv.notify_all();
        });
    }
    {
        std::unique_lock lock(m);
        ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return replies.size() == 2000; }));
    }
    for (int i = 0; i < 2000; ++i) {
        ASSERT_EQ(replies[i], i + 1);
    }
    // A big value both ways.
    std::string big(3u << 20, 'x');
    big[12345] = '\r';
    auto set = l.run(c->call(resp::command({"SET", "big", big}), 5s));
    EXPECT_TRUE(set.is_ok());
    auto got = l.run(c->call(resp::command({"GET", "big"}), 5s));
    EXPECT_TRUE(got.str == big);
    auto err = l.run(c->call(resp::command({"NOSUCHCOMMAND"}), 1s));
    EXPECT_TRUE(err.is_error());
    c->close();
    EXPECT_FALSE(runner.get().empty());
    // Closed: a command fails at once.
    auto late = l.run(c->call(resp::command({"PING"}), 1s));
    EXPECT_TRUE(late.is_error());
}

TEST(redis_bus, unreachable_at_start_is_one_clear_error_with_the_password_masked) {
    std::uint16_t port;
    {
        redis_test_server redis;
        port = redis.port();
    }  // stopped: nothing listens there now
    node n(fast("redis://:hunter2@127.0.0.1:" + std::to_string(port) + "/1"));
    try {
        n.start();
        FAIL() << "start succeeded";
    } catch (const std::runtime_error& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("cannot connect to Redis at redis://:***@127.0.0.1:" + std::to_string(port) + "/1"),
                  std::string::npos)
            << what;
        EXPECT_EQ(what.find("hunter2"), std::string::npos);
        EXPECT_NE(what.find("refused"), std::string::npos) << what;
    }
}

TEST(redis_bus, wrong_password_is_refused_at_start) {
    redis_test_server redis("right-password");
    node n(fast("redis://:wrong-password@127.0.0.1:" + std::to_string(redis.port())));
    try {
        n.start();
        FAIL();
    } catch (const std::runtime_error& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("WRONGPASS"), std::string::npos) << what;
        EXPECT_EQ(what.find("wrong-password"), std::string::npos);
    }
}

TEST(redis_bus, broadcasts_and_directed_messages_cross_in_order) {
    redis_test_server redis("pw");
    node a(fast(redis.url(3)));  // AUTH and SELECT from the URL
    node b(fast(redis.url(3)));
    a.start();
    b.start();
    ASSERT_TRUE(eventually([&] { return a.bus->peer_alive(b.bus->instance_id()) && b.bus->peer_alive(a.bus->instance_id()); }));
    EXPECT_EQ(a.bus->peers(), std::vector<std::string>{b.bus->instance_id()});
    EXPECT_TRUE(a.bus->health().ok);

    constexpr int n = 5000;
    std::thread t1([&] {
        for (int i = 0; i < n; ++i) {
            a.bus->publish("m" + std::to_string(i));
        }
    });
    t1.join();
    a.bus->send_to(b.bus->instance_id(), std::string("direct\0bytes", 12));
    a.bus->send_to("nobody", "lost in space");
    ASSERT_TRUE(b.wait([&] { return b.got.size() == n + 1; }));
    for (int i = 0; i < n; ++i) {
        ASSERT_EQ(b.got[i].first, a.bus->instance_id());
        ASSERT_EQ(b.got[i].second, "m" + std::to_string(i));
    }
    EXPECT_EQ(b.got[n].second, std::string("direct\0bytes", 12));
    // Nothing comes back to the sender.
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(a.received(), 0u);
    EXPECT_EQ(a.bus->stats().published, static_cast<std::uint64_t>(n + 2));
    EXPECT_EQ(b.bus->stats().received, static_cast<std::uint64_t>(n + 1));
    EXPECT_EQ(b.bus->stats().lost, 0u);

    // A big message.
    std::string big(2u << 20, 'b');
    b.bus->publish(big);
    ASSERT_TRUE(a.wait([&] { return a.got.size() == 1; }));
    EXPECT_TRUE(a.got[0].second == big);
}

TEST(redis_bus, goodbye_on_stop_and_timeout_when_killed) {
    redis_test_server redis;
    node a(fast(redis.url()));
    a.start();
    {
        node b(fast(redis.url()));
        b.start();
        ASSERT_TRUE(eventually([&] { return a.bus->peer_alive(b.bus->instance_id()); }));
        auto t0 = std::chrono::steady_clock::now();
        std::string id = b.bus->instance_id();
        b.l.run(b.bus->stop());
        b.halted = true;
        ASSERT_TRUE(a.wait([&] { return a.down.size() == 1; }, 2s));
        EXPECT_EQ(a.down[0], id);
        // A goodbye, not the 400 ms timeout.
        EXPECT_LT(std::chrono::steady_clock::now() - t0, 300ms);
    }
    {
        node c(fast(redis.url()));
        c.start();
        ASSERT_TRUE(eventually([&] { return a.bus->peer_alive(c.bus->instance_id()); }));
        auto t0 = std::chrono::steady_clock::now();
        c.l.halt();  // frozen like a SIGKILLed process: no goodbye, no heartbeats
        c.halted = true;
        ASSERT_TRUE(a.wait([&] { return a.down.size() == 2; }, 3s));
        auto took = std::chrono::steady_clock::now() - t0;
        EXPECT_GE(took, 300ms);
        EXPECT_LT(took, 1500ms);
        EXPECT_FALSE(a.bus->peer_alive(c.bus->instance_id()));
    }
}

TEST(redis_bus, survives_a_redis_restart) {
    redis_test_server redis;
    node a(fast(redis.url()));
    node b(fast(redis.url()));
    a.start();
    b.start();
    ASSERT_TRUE(eventually([&] { return a.bus->peer_alive(b.bus->instance_id()); }));
    redis.kill_now();
    // Degraded on both, peers gone (nobody can be heard), publishing drops instead of blocking.
    ASSERT_TRUE(eventually([&] { return !a.bus->health().ok && !b.bus->health().ok; }, 3s));
    EXPECT_NE(a.bus->health().detail.find("redis://127.0.0.1:" + std::to_string(redis.port())), std::string::npos)
        << a.bus->health().detail;
    ASSERT_TRUE(eventually([&] { return a.bus->peers().empty(); }, 2s));
    // The publishing connection learns of the loss on its own (its next write or read fails), maybe after the
    // subscriber did: once it has, a publish is dropped rather than queued.
    EXPECT_TRUE(eventually([&] {
        a.bus->publish("while down");
        return a.bus->stats().dropped >= 1;
    }, 2s));

    redis.restart();
    ASSERT_TRUE(eventually([&] { return a.bus->health().ok && b.bus->health().ok; }, 5s));
    ASSERT_TRUE(eventually([&] { return a.bus->peer_alive(b.bus->instance_id()); }, 3s));
    a.bus->publish("after");
    ASSERT_TRUE(b.wait([&] { return !b.got.empty() && b.got.back().second == "after"; }));
}

TEST(redis_bus, a_stalled_redis_is_noticed_by_the_missing_own_heartbeat_and_reconnected) {
    redis_test_server redis;
    node a(fast(redis.url()));
    node b(fast(redis.url()));
    a.start();
    b.start();
    ASSERT_TRUE(eventually([&] { return a.bus->peer_alive(b.bus->instance_id()); }));
    // CLIENT PAUSE: the TCP connections stay up, nothing is processed (a hung server, a half-open network path).
    loop l;
    auto strand = asio::make_strand(l.ioc);
    auto admin = std::make_shared<redis_connection>(strand);
    l.run(asio::co_spawn(strand, admin->open(redis_url::parse(redis.url()), 1s), asio::use_awaitable));
    auto runner = asio::co_spawn(strand, admin->run(), asio::use_future);
    EXPECT_TRUE(l.run(admin->call(resp::command({"CLIENT", "PAUSE", "1500", "ALL"}), 1s)).is_ok());
    ASSERT_TRUE(eventually([&] { return !a.bus->health().ok; }, 3s));
    EXPECT_NE(a.bus->health().detail.find("own heartbeat"), std::string::npos) << a.bus->health().detail;
    // After the pause: reconnected, the peers hear each other, messages flow.
    ASSERT_TRUE(eventually([&] { return a.bus->health().ok && b.bus->health().ok; }, 6s));
    ASSERT_TRUE(eventually([&] { return a.bus->peer_alive(b.bus->instance_id()); }, 3s));
    a.bus->publish("after the stall");
    ASSERT_TRUE(b.wait([&] { return !b.got.empty() && b.got.back().second == "after the stall"; }));
    admin->close();
    runner.get();
}

TEST(redis_bus, claim_is_granted_once_per_key) {
    redis_test_server redis;
    node a(fast(redis.url()));
    node b(fast(redis.url()));
    a.start();
    b.start();
    int granted = 0;
    granted += a.l.run(a.bus->claim("job:sweep:100", 10s)) ? 1 : 0;
    granted += b.l.run(b.bus->claim("job:sweep:100", 10s)) ? 1 : 0;
    EXPECT_EQ(granted, 1);
    EXPECT_TRUE(b.l.run(b.bus->claim("job:sweep:160", 10s)));
    EXPECT_FALSE(a.l.run(a.bus->claim("job:sweep:160", 10s)));
}

}  // namespace
TEST(bus_redis_config, redis_url_selects_the_redis_bus) {
    using happy::config::get_int;
    using happy::config::get_string;
    const auto reg = happy::plugin::bus_redis::register_plugin;
    auto cfg = happy::test::load_plugin_config(reg, {});
    EXPECT_EQ(get_string(cfg, "bus.kind"), "local");
    EXPECT_EQ(get_string(cfg, "bus.redis.url"), "");
    // Upstream's REDIS_URL turns cluster mode on (socket.ts attaches the adapter only then), over the file too.
    cfg = happy::test::load_plugin_config(reg, {{"REDIS_URL", "redis://:pw@10.0.0.5:6379/1"}},
                                          R"({"bus": {"kind": "local", "redis": {"heartbeat_ms": 500}}})");
    EXPECT_EQ(get_string(cfg, "bus.kind"), "redis");
    EXPECT_EQ(get_string(cfg, "bus.redis.url"), "redis://:pw@10.0.0.5:6379/1");
    EXPECT_EQ(get_int(cfg, "bus.redis.heartbeat_ms"), 500);
    EXPECT_EQ(get_int(cfg, "bus.redis.peer_timeout_ms"), 3000);
    cfg = happy::test::load_plugin_config(reg, {{"REDIS_URL", ""}});
    EXPECT_EQ(get_string(cfg, "bus.kind"), "local");
}

}  // namespace happy::plugin::bus_redis
