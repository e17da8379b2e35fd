#include "modules/push/push_store.hpp"

#include <gtest/gtest.h>

#include "modules/testing/store_fixture.hpp"

namespace {

using namespace happy::mod::push;
namespace db = happy::db;

class push_store : public happy::test::store_fixture {
protected:
    void SetUp() override {
        open_store({"0001_auth", "0002_sessions", "0009_push"});
        create_alice_and_bob();
        // A session row of each account, as the sessions module would create it (only id and owner matter here).
        db_->write_sync([&](db::tx& t) {
            for (const auto& [id, account] : {std::pair{s1_, alice_}, std::pair{bob_s_, bob_}}) {
                t.exec("INSERT INTO session (id, tag, account_id, metadata, last_active_at, created_at, updated_at) "
                       "VALUES (?, 't1', ?, 'm', 1, 1, 1)",
                       {id, account});
            }
        });
    }
    void upsert(const std::string& account, const std::string& token, std::int64_t now) {
        db_->write_sync([&](db::tx& t) { push_token_upsert(t, account, token, now); });
    }
    std::vector<push_token> list(const std::string& account) {
        std::vector<push_token> r;
        db_->read_sync([&](db::tx& t) { r = push_token_list(t, account); });
        return r;
    }
    std::string s1_ = "session-alice", bob_s_ = "session-bob";
};

TEST_F(push_store, session_ownership) {
    db_->read_sync([&](db::tx& t) {
        EXPECT_TRUE(push_session_owned(t, alice_, s1_));
        EXPECT_FALSE(push_session_owned(t, alice_, bob_s_));
        EXPECT_FALSE(push_session_owned(t, alice_, "nope"));
    });
}

TEST_F(push_store, upsert_keeps_id_and_created_at_and_lists_newest_first) {
    upsert(alice_, "ExponentPushToken[a]", 1000);
    upsert(alice_, "ExponentPushToken[b]", 2000);
    auto first = list(alice_);
    ASSERT_EQ(first.size(), 2u);
    EXPECT_EQ(first[0].token, "ExponentPushToken[b]");
    EXPECT_EQ(first[1].token, "ExponentPushToken[a]");
    EXPECT_EQ(first[1].id.size(), 25u);
    upsert(alice_, "ExponentPushToken[a]", 3000);
    auto again = list(alice_);
    ASSERT_EQ(again.size(), 2u);
    EXPECT_EQ(again[1].id, first[1].id);
    EXPECT_EQ(again[1].created_at, 1000);
    EXPECT_EQ(again[1].updated_at, 3000);
    // The same token under another account is another row.
    upsert(bob_, "ExponentPushToken[a]", 4000);
    EXPECT_EQ(list(bob_).size(), 1u);
    EXPECT_EQ(list(alice_).size(), 2u);
}

TEST_F(push_store, delete_is_per_account_and_idempotent) {
    upsert(alice_, "t", 1000);
    upsert(bob_, "t", 1000);
    int n = -1;
    db_->write_sync([&](db::tx& t) { n = push_token_delete(t, alice_, "t"); });
    EXPECT_EQ(n, 1);
    db_->write_sync([&](db::tx& t) { n = push_token_delete(t, alice_, "t"); });
    EXPECT_EQ(n, 0);
    EXPECT_TRUE(list(alice_).empty());
    ASSERT_EQ(list(bob_).size(), 1u);
    const std::string id = list(bob_)[0].id;  // read before the write: one pooled connection
    db_->write_sync([&](db::tx& t) { push_token_delete_by_id(t, id); });
    EXPECT_TRUE(list(bob_).empty());
}

}  // namespace
