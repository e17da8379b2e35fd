#include "modules/auth/account_admin.hpp"

#include <gtest/gtest.h>

#include "modules/auth/auth_store.hpp"
#include "modules/testing/store_fixture.hpp"

namespace {

using namespace happy::mod::auth;
using happy::auth::registration_mode;
using happy::auth::registration_policy;
using happy::db::tx;

class account_admin : public happy::test::store_fixture {
protected:
    void SetUp() override {
        open_store({"0001_auth", "0002_sessions", "0003_machines", "0004_artifacts", "0005_kv", "0006_access_keys",
                    "0008_usage", "0009_push", "0010_social", "0011_feed", "0012_connect", "0013_voice",
                    "0016_account_admin"});
    }
    sign_in_outcome sign_in(const registration_policy& p, std::string_view key, std::int64_t now = 10) {
        sign_in_outcome out;
        db_->write_sync([&](tx& t) { out = account_sign_in(t, p, key, now); });
        return out;
    }
    std::int64_t count(std::string_view sql) {
        std::int64_t n = 0;
        db_->read_sync([&](tx& t) { n = t.one_i64(sql).value_or(-1); });
        return n;
    }
};

TEST_F(account_admin, open_mode_creates_accounts_for_new_keys) {
    auto a = sign_in({}, "K1");
    EXPECT_FALSE(a.account_id.empty());
    EXPECT_EQ(sign_in({}, "K1").account_id, a.account_id);
    EXPECT_EQ(count("SELECT COUNT(*) FROM registration_request"), 0);
}

TEST_F(account_admin, closed_mode_refuses_new_keys_and_keeps_existing_accounts) {
    auto existing = create_account("OLD");
    registration_policy closed{registration_mode::closed, {"ALLOWED"}, 10};
    EXPECT_EQ(sign_in(closed, "OLD").account_id, existing);
    auto refused = sign_in(closed, "NEW");
    EXPECT_TRUE(refused.account_id.empty());
    EXPECT_EQ(refused.refusal, happy::auth::registration_closed_message);
    EXPECT_FALSE(sign_in(closed, "ALLOWED").account_id.empty());
    EXPECT_EQ(count("SELECT COUNT(*) FROM account"), 2);
    EXPECT_EQ(count("SELECT COUNT(*) FROM registration_request"), 0);  // closed records nothing
}

TEST_F(account_admin, approval_mode_records_pending_until_approved_then_creates_once) {
    registration_policy approval{registration_mode::approval, {}, 10};
    auto first = sign_in(approval, "NEW", 100);
    EXPECT_TRUE(first.account_id.empty());
    EXPECT_EQ(first.refusal, happy::auth::registration_pending_message);
    sign_in(approval, "NEW", 200);
    std::vector<registration_request> list;
    db_->read_sync([&](tx& t) { list = registration_request_list(t); });
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].public_key, "NEW");
    EXPECT_EQ(list[0].attempts, 2);
    EXPECT_EQ(list[0].created_at, 100);
    EXPECT_EQ(list[0].updated_at, 200);
    EXPECT_FALSE(list[0].approved_at);

    bool approved = false;
    db_->write_sync([&](tx& t) { approved = registration_request_approve(t, "NEW", 300); });
    EXPECT_TRUE(approved);
    auto created = sign_in(approval, "NEW", 400);
    EXPECT_FALSE(created.account_id.empty());
    EXPECT_EQ(count("SELECT COUNT(*) FROM registration_request"), 0);  // the approval was used up
    EXPECT_EQ(sign_in(approval, "NEW", 500).account_id, created.account_id);
    // An account's key cannot be approved again.
    db_->write_sync([&](tx& t) { approved = registration_request_approve(t, "NEW", 600); });
    EXPECT_FALSE(approved);
}

TEST_F(account_admin, approval_mode_bounds_the_pending_queue) {
    registration_policy approval{registration_mode::approval, {}, 2};
    sign_in(approval, "P1");
    sign_in(approval, "P2");
    auto third = sign_in(approval, "P3");
    EXPECT_TRUE(third.account_id.empty());
    EXPECT_NE(third.refusal.find("full"), std::string_view::npos);
    EXPECT_EQ(count("SELECT COUNT(*) FROM registration_request"), 2);
    // A key already waiting is still counted; an approved one does not take a pending slot.
    sign_in(approval, "P1");
    db_->write_sync([&](tx& t) { registration_request_approve(t, "P2", 5); });
    EXPECT_TRUE(sign_in(approval, "P3").account_id.empty());
    EXPECT_EQ(count("SELECT COUNT(*) FROM registration_request"), 3);
}

TEST_F(account_admin, disable_and_enable) {
    create_alice_and_bob();
    bool ok = false;
    db_->write_sync([&](tx& t) {
        ok = account_disable(t, alice_, 7) && account_disable(t, alice_, 9);
        EXPECT_FALSE(account_disable(t, "nobody", 7));
    });
    EXPECT_TRUE(ok);
    std::vector<account_block> ids;
    std::optional<account_summary> a;
    db_->read_sync([&](tx& t) {
        ids = account_blocks(t);
        a = account_get(t, alice_);
    });
    EXPECT_EQ(ids, (std::vector<account_block>{{alice_, false}}));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->disabled_at, 7);  // the first time is kept
    db_->write_sync([&](tx& t) { ok = account_enable(t, alice_); });
    EXPECT_TRUE(ok);
    db_->read_sync([&](tx& t) { ids = account_blocks(t); });
    EXPECT_TRUE(ids.empty());
}

TEST_F(account_admin, list_counts_sessions_and_machines) {
    create_alice_and_bob();
    db_->write_sync([&](tx& t) {
        t.exec("INSERT INTO session (id, tag, account_id, metadata, last_active_at, created_at, updated_at) "
               "VALUES ('s1', 't1', ?, 'm', 1, 1, 1)", {alice_});
        t.exec("INSERT INTO machine (id, account_id, metadata, last_active_at, created_at, updated_at) "
               "VALUES ('m1', ?, 'm', 1, 1, 1)", {alice_});
    });
    std::vector<account_summary> list;
    std::int64_t n = 0;
    db_->read_sync([&](tx& t) {
        list = account_list(t, 10);
        n = account_count(t);
    });
    EXPECT_EQ(n, 2);
    ASSERT_EQ(list.size(), 2u);
    for (const auto& a : list) {
        EXPECT_EQ(a.sessions, a.id == alice_ ? 1 : 0);
        EXPECT_EQ(a.machines, a.id == alice_ ? 1 : 0);
    }
}

TEST_F(account_admin, delete_removes_the_account_and_everything_it_owns_only) {
    create_alice_and_bob();
    db_->write_sync([&](tx& t) {
        for (const auto& [acc, s, m] : {std::tuple{alice_, "sa", "ma"}, std::tuple{bob_, "sb", "mb"}}) {
            t.exec("INSERT INTO session (id, tag, account_id, metadata, last_active_at, created_at, updated_at) "
                   "VALUES (?, ?, ?, 'm', 1, 1, 1)", {s, s, acc});
            t.exec("INSERT INTO session_message (id, session_id, seq, content, created_at, updated_at) "
                   "VALUES (?, ?, 1, '{\"c\":1}', 1, 1)", {std::string(s) + "-msg", s});
            t.exec("INSERT INTO machine (id, account_id, metadata, last_active_at, created_at, updated_at) "
                   "VALUES (?, ?, 'm', 1, 1, 1)", {m, acc});
            t.exec("INSERT INTO access_key (id, account_id, machine_id, session_id, data, created_at, updated_at) "
                   "VALUES (?, ?, ?, ?, 'd', 1, 1)", {std::string(s) + "-key", acc, m, s});
            t.exec("INSERT INTO user_kv (account_id, key, value, created_at, updated_at) VALUES (?, 'k', 'v', 1, 1)",
                   {acc});
        }
        t.exec("INSERT INTO user_relationship (from_user_id, to_user_id, status, created_at, updated_at) "
               "VALUES (?, ?, 'friend', 1, 1)", {bob_, alice_});
        pairing_request_upsert(t, pairing::terminal, "TERM", true, 1);
        pairing_request_respond(t, pairing::terminal, "TERM", "secret-for-terminal", alice_, 2);
        account_disable(t, alice_, 3);
    });
    bool deleted = false, again = true;
    db_->write_sync([&](tx& t) {
        deleted = account_delete(t, alice_, 50);
        again = account_delete(t, alice_, 60);
    });
    EXPECT_TRUE(deleted);
    EXPECT_FALSE(again);
    EXPECT_EQ(count("SELECT COUNT(*) FROM account"), 1);
    EXPECT_EQ(count("SELECT COUNT(*) FROM session"), 1);
    EXPECT_EQ(count("SELECT COUNT(*) FROM session_message"), 1);
    EXPECT_EQ(count("SELECT COUNT(*) FROM machine"), 1);
    EXPECT_EQ(count("SELECT COUNT(*) FROM access_key"), 1);
    EXPECT_EQ(count("SELECT COUNT(*) FROM user_kv"), 1);
    EXPECT_EQ(count("SELECT COUNT(*) FROM user_relationship"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM terminal_auth_request"), 0);
    // The tombstone keeps the deleted account's tokens refused; enabling cannot bring it back.
    std::vector<account_block> blocks;
    bool enabled = true;
    db_->write_sync([&](tx& t) {
        enabled = account_enable(t, alice_);
        blocks = account_blocks(t);
    });
    EXPECT_FALSE(enabled);
    EXPECT_EQ(blocks, (std::vector<account_block>{{alice_, true}}));
}

}  // namespace
