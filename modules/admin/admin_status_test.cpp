#include "modules/admin/admin_status.hpp"

#include <gtest/gtest.h>

#include "modules/auth/account_admin.hpp"
#include "modules/testing/store_fixture.hpp"

namespace happy::mod::admin {
namespace {

using namespace std::chrono_literals;

TEST(admin_sampler, rates_cover_the_interval_between_samples) {
    sampler s(1000ms);
    auto t0 = std::chrono::steady_clock::now();
    metrics::registry r;
    auto first = s.sample(r.totals(), 10.0, t0);
    EXPECT_EQ(first.requests_per_s, 0);
    for (int i = 0; i < 20; ++i) {
        r.http_request("GET", i < 2 ? 500 : 200, 0.004);
    }
    // Too soon: the previous figures stay.
    EXPECT_EQ(s.sample(r.totals(), 10.5, t0 + 500ms).requests_per_s, 0);
    auto later = s.sample(r.totals(), 11.0, t0 + 2s);
    EXPECT_DOUBLE_EQ(later.window_s, 2.0);
    EXPECT_DOUBLE_EQ(later.requests_per_s, 10.0);
    EXPECT_DOUBLE_EQ(later.errors_per_s, 1.0);
    EXPECT_DOUBLE_EQ(later.cpu_percent, 50.0);
    EXPECT_GT(later.p50_ms, 2.5);
    EXPECT_LE(later.p99_ms, 5.0);
}

TEST(admin_status, connections_summary_counts_types_and_client_versions) {
    std::vector<events::connection_info> conns = {
        {"s1", "a", "machine-scoped", "", "m1", "cli-daemon/1.2.5", 1},
        {"s2", "a", "session-scoped", "x", "", "cli-coding-session/1.2.5", 1},
        {"s3", "b", "machine-scoped", "", "m2", "cli-daemon/1.2.5", 1},
        {"s4", "b", "user-scoped", "", "", "", 1},
    };
    auto j = connections_summary(conns);
    EXPECT_EQ(j.at("sockets").as_int64(), 4);
    EXPECT_EQ(j.at("byType").at("machine-scoped").as_int64(), 2);
    EXPECT_EQ(j.at("byClient").at("cli-daemon/1.2.5").as_int64(), 2);
    EXPECT_EQ(j.at("byClient").at("(unknown)").as_int64(), 1);
}

class admin_store : public test::store_fixture {
protected:
    void SetUp() override { open_store({"0001_auth", "0002_sessions", "0003_machines", "0016_account_admin"}); }
};

TEST_F(admin_store, counts_and_recent_machines) {
    create_alice_and_bob();
    db_->write_sync([&](db::tx& t) {
        t.exec("INSERT INTO session (id, tag, account_id, metadata, active, last_active_at, created_at, updated_at) "
               "VALUES ('s1', 't1', ?, 'm', 1, 1, 1, 1), ('s2', 't2', ?, 'm', 0, 1, 1, 1)", {alice_, alice_});
        t.exec("INSERT INTO machine (id, account_id, metadata, active, last_active_at, created_at, updated_at) "
               "VALUES ('m-old', ?, 'm', 0, 100, 1, 1), ('m-new', ?, 'm', 1, 200, 1, 1)", {alice_, bob_});
        auth::account_disable(t, bob_, 5);
        auth::registration_request_record(t, "PENDING", 7);
    });
    db_counts c;
    std::vector<machine_row> machines;
    db_->read_sync([&](db::tx& t) {
        c = admin_counts(t);
        machines = machines_recent(t, 10);
    });
    EXPECT_EQ(c.accounts, 2);
    EXPECT_EQ(c.accounts_disabled, 1);
    EXPECT_EQ(c.registrations_pending, 1);
    EXPECT_EQ(c.sessions, 2);
    EXPECT_EQ(c.sessions_active, 1);
    EXPECT_EQ(c.machines, 2);
    EXPECT_EQ(c.machines_active, 1);
    EXPECT_GT(c.database_bytes, 0);
    ASSERT_EQ(machines.size(), 2u);
    EXPECT_EQ(machines[0].id, "m-new");
    EXPECT_EQ(machines[0].account_id, bob_);
    EXPECT_TRUE(machines[0].active);
    EXPECT_EQ(machines[0].last_active_at, 200);
}

}  // namespace
}  // namespace happy::mod::admin
