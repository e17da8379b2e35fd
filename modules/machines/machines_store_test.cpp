#include "modules/machines/machines_store.hpp"

#include <gtest/gtest.h>

#include "modules/testing/store_fixture.hpp"

namespace {

using namespace happy::mod::machines;
using cas = machine_cas_result::status;

class machines_store : public happy::test::store_fixture {
protected:
    void SetUp() override {
        open_store({"0001_auth", "0003_machines"});
        create_alice_and_bob();
    }
    machine_create_result create(const std::string& account, const std::string& id, std::int64_t now = 1000,
                                 std::optional<std::string> daemon = std::nullopt,
                                 std::optional<std::string> key = std::nullopt) {
        machine_create_result r;
        db_->write_sync(
            [&](happy::db::tx& t) { r = machine_create_or_load(t, account, id, "meta", daemon, key, now); });
        return r;
    }
};

TEST_F(machines_store, create_sets_upstream_initial_values) {
    auto r = create(alice_, "m1", 1000);
    ASSERT_TRUE(r.created);
    const machine& m = r.row;
    EXPECT_EQ(m.id, "m1");
    EXPECT_EQ(m.account_id, alice_);
    EXPECT_EQ(m.metadata, "meta");
    EXPECT_EQ(m.metadata_version, 1);
    EXPECT_FALSE(m.daemon_state);
    EXPECT_EQ(m.daemon_state_version, 0);
    EXPECT_FALSE(m.data_encryption_key);
    EXPECT_EQ(m.seq, 0);
    EXPECT_FALSE(m.active);
    EXPECT_EQ(m.last_active_at, 1000);
    EXPECT_EQ(m.created_at, 1000);
    EXPECT_EQ(m.updated_at, 1000);

    auto with_state = create(alice_, "m2", 1000, std::string("ds"));
    EXPECT_EQ(with_state.row.daemon_state, "ds");
    EXPECT_EQ(with_state.row.daemon_state_version, 1);
    auto empty_state = create(alice_, "m3", 1000, std::string(""));
    EXPECT_FALSE(empty_state.row.daemon_state);  // "" || null
    EXPECT_EQ(empty_state.row.daemon_state_version, 0);
}

TEST_F(machines_store, key_bytes_round_trip_and_empty_is_not_null) {
    std::string bytes("\x00\x01\xff\x7f\x00z", 6);
    auto r = create(alice_, "k1", 1, std::nullopt, bytes);
    ASSERT_TRUE(r.row.data_encryption_key);
    EXPECT_EQ(*r.row.data_encryption_key, bytes);
    auto e = create(alice_, "k2", 1, std::nullopt, std::string());
    ASSERT_TRUE(e.row.data_encryption_key);
    EXPECT_EQ(*e.row.data_encryption_key, "");
    std::string type;
    db_->read_sync([&](happy::db::tx& t) {
        type = t.one_text(t.pick({"SELECT typeof(data_encryption_key) FROM machine WHERE id = 'k1'",
                                  "SELECT pg_typeof(data_encryption_key)::text FROM machine WHERE id = 'k1'"}))
                   .value_or("");
    });
    EXPECT_EQ(type, db_->kind() == happy::db::dialect::sqlite ? "blob" : "bytea");
}

TEST_F(machines_store, existing_machine_is_returned_unchanged) {
    create(alice_, "m1", 1000, std::string("ds"));
    machine_create_result again;
    db_->write_sync([&](happy::db::tx& t) {
        again = machine_create_or_load(t, alice_, "m1", "other", std::nullopt, std::string("k"), 5000);
    });
    EXPECT_FALSE(again.created);
    EXPECT_EQ(again.row.metadata, "meta");
    EXPECT_EQ(again.row.daemon_state, "ds");
    EXPECT_FALSE(again.row.data_encryption_key);
    EXPECT_EQ(again.row.updated_at, 1000);
}

TEST_F(machines_store, ids_are_global_and_scoped_by_account_on_read) {
    create(alice_, "m1");
    EXPECT_THROW(create(bob_, "m1"), std::exception);  // upstream: unique violation → 500
    try {
        create(bob_, "m1");
    } catch (const happy::db::error& e) {
        EXPECT_EQ(e.kind, happy::db::error_kind::unique_violation);
    }
    std::optional<machine> as_bob;
    std::vector<machine> bobs;
    bool deleted = true;
    db_->write_sync([&](happy::db::tx& t) {
        as_bob = machine_find(t, bob_, "m1");
        bobs = machine_list(t, bob_);
        deleted = machine_delete(t, bob_, "m1");
    });
    EXPECT_FALSE(as_bob);
    EXPECT_TRUE(bobs.empty());
    EXPECT_FALSE(deleted);
    std::optional<machine> still;
    db_->read_sync([&](happy::db::tx& t) { still = machine_find(t, alice_, "m1"); });
    EXPECT_TRUE(still);
}

TEST_F(machines_store, list_orders_by_last_active_desc_and_delete_removes) {
    create(alice_, "old", 1000);
    create(alice_, "new", 3000);
    create(alice_, "mid", 2000);
    std::vector<machine> rows;
    db_->read_sync([&](happy::db::tx& t) { rows = machine_list(t, alice_); });
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].id, "new");
    EXPECT_EQ(rows[1].id, "mid");
    EXPECT_EQ(rows[2].id, "old");
    bool deleted = false, again = true;
    db_->write_sync([&](happy::db::tx& t) {
        deleted = machine_delete(t, alice_, "mid");
        again = machine_delete(t, alice_, "mid");
    });
    EXPECT_TRUE(deleted);
    EXPECT_FALSE(again);
    db_->read_sync([&](happy::db::tx& t) { rows = machine_list(t, alice_); });
    EXPECT_EQ(rows.size(), 2u);
}

TEST_F(machines_store, metadata_cas) {
    create(alice_, "m1", 1000);
    machine_cas_result ok, stale, frac, missing, foreign;
    db_->write_sync([&](happy::db::tx& t) {
        ok = machine_metadata_update(t, alice_, "m1", 1, "meta2", 2000);
        stale = machine_metadata_update(t, alice_, "m1", 1, "meta3", 3000);
        frac = machine_metadata_update(t, alice_, "m1", 2.5, "meta3", 3000);
        missing = machine_metadata_update(t, alice_, "nope", 0, "x", 3000);
        foreign = machine_metadata_update(t, bob_, "m1", 2, "x", 3000);
    });
    EXPECT_EQ(ok.st, cas::success);
    EXPECT_EQ(ok.version, 2);
    EXPECT_EQ(ok.value, "meta2");
    EXPECT_EQ(stale.st, cas::version_mismatch);
    EXPECT_EQ(stale.version, 2);
    EXPECT_EQ(stale.value, "meta2");
    EXPECT_EQ(frac.st, cas::version_mismatch);
    EXPECT_EQ(missing.st, cas::not_found);
    EXPECT_EQ(foreign.st, cas::not_found);
    std::optional<machine> m;
    db_->read_sync([&](happy::db::tx& t) { m = machine_find(t, alice_, "m1"); });
    EXPECT_EQ(m->metadata, "meta2");
    EXPECT_EQ(m->metadata_version, 2);
    EXPECT_EQ(m->updated_at, 2000);
    EXPECT_FALSE(m->active);  // metadata updates do not touch presence
    EXPECT_EQ(m->last_active_at, 1000);
}

TEST_F(machines_store, daemon_state_cas_marks_active) {
    create(alice_, "m1", 1000);
    machine_cas_result stale, ok;
    db_->write_sync([&](happy::db::tx& t) {
        stale = machine_daemon_state_update(t, alice_, "m1", 1, "ds", 2000);
        ok = machine_daemon_state_update(t, alice_, "m1", 0, "ds", 2000);
    });
    EXPECT_EQ(stale.st, cas::version_mismatch);
    EXPECT_EQ(stale.version, 0);
    EXPECT_FALSE(stale.value);  // NULL daemon state is echoed as null
    EXPECT_EQ(ok.st, cas::success);
    EXPECT_EQ(ok.version, 1);
    std::optional<machine> m;
    db_->read_sync([&](happy::db::tx& t) { m = machine_find(t, alice_, "m1"); });
    EXPECT_EQ(m->daemon_state, "ds");
    EXPECT_TRUE(m->active);
    EXPECT_EQ(m->last_active_at, 2000);
}

TEST_F(machines_store, activity_set_marks_active_for_the_owner_only) {
    create(alice_, "m1", 1000);
    std::optional<machine> m;
    db_->write_sync([&](happy::db::tx& t) {
        machine_activity_set(t, bob_, "m1", 1500, 1600);  // not bob's: nothing changes
        m = machine_find(t, alice_, "m1");
    });
    EXPECT_FALSE(m->active);
    EXPECT_EQ(m->last_active_at, 1000);
    db_->write_sync([&](happy::db::tx& t) {
        machine_activity_set(t, alice_, "m1", 1500, 1600);
        machine_activity_set(t, alice_, "gone", 1500, 1600);  // a deleted machine updates no row
        m = machine_find(t, alice_, "m1");
    });
    EXPECT_TRUE(m->active);
    EXPECT_EQ(m->last_active_at, 1500);
    EXPECT_EQ(m->updated_at, 1600);
}

TEST_F(machines_store, sweeper_switches_off_machines_idle_for_the_cutoff) {
    create(alice_, "idle", 1000);
    create(bob_, "fresh", 1000);
    create(alice_, "never-active", 1000);
    db_->write_sync([&](happy::db::tx& t) {
        machine_activity_set(t, alice_, "idle", 5000, 5000);
        machine_activity_set(t, bob_, "fresh", 9000, 9000);
    });
    std::vector<machine_timeout> swept, again;
    db_->write_sync([&](happy::db::tx& t) {
        swept = machine_sweep_inactive(t, 5000, 20'000);  // lastActiveAt <= cutoff, inclusive
        again = machine_sweep_inactive(t, 5000, 21'000);
    });
    ASSERT_EQ(swept.size(), 1u);
    EXPECT_EQ(swept[0].account_id, alice_);
    EXPECT_EQ(swept[0].id, "idle");
    EXPECT_EQ(swept[0].last_active_at, 5000);
    EXPECT_TRUE(again.empty());  // already inactive rows are not reported twice
    std::optional<machine> idle, fresh;
    db_->read_sync([&](happy::db::tx& t) {
        idle = machine_find(t, alice_, "idle");
        fresh = machine_find(t, bob_, "fresh");
    });
    EXPECT_FALSE(idle->active);
    EXPECT_EQ(idle->last_active_at, 5000);
    EXPECT_EQ(idle->updated_at, 20'000);
    EXPECT_TRUE(fresh->active);
}

TEST_F(machines_store, sweeper_reports_in_id_order) {
    create(alice_, "zz", 1000);
    create(bob_, "aa", 1000);
    create(alice_, "mm", 1000);
    db_->write_sync([&](happy::db::tx& t) {
        machine_activity_set(t, alice_, "zz", 100, 100);
        machine_activity_set(t, bob_, "aa", 200, 200);
        machine_activity_set(t, alice_, "mm", 300, 300);
    });
    std::vector<machine_timeout> swept;
    db_->write_sync([&](happy::db::tx& t) { swept = machine_sweep_inactive(t, 1000, 2000); });
    ASSERT_EQ(swept.size(), 3u);
    EXPECT_EQ(swept[0].id, "aa");
    EXPECT_EQ(swept[0].account_id, bob_);
    EXPECT_EQ(swept[0].last_active_at, 200);
    EXPECT_EQ(swept[1].id, "mm");
    EXPECT_EQ(swept[2].id, "zz");
}

}  // namespace
