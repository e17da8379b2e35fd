#include "modules/push/push_store.hpp"

#include <gtest/gtest.h>
#include <soci/soci.h>

#include <filesystem>

#include "core/db/database.hpp"
#include "core/util/resources.hpp"
#include "modules/auth/auth_store.hpp"
#include "modules/sessions/sessions_store.hpp"
#include "plugins/storage_sqlite/storage_sqlite_plugin.hpp"

namespace {

namespace fs = std::filesystem;
using namespace happy::mod::push;

class push_store : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("happy-push-store-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
        db_ = std::make_unique<happy::db::database>(
            happy::plugin::storage_sqlite::make_backend({(dir_ / "t.sqlite").string()}), 1);
        auto sql = [](const char* name) { return std::string(*happy::resource_text(name)); };
        db_->migrate({{1, "0001_auth", "auth", sql("sql/sqlite/0001_auth.sql")},
                      {2, "0002_sessions", "sessions", sql("sql/sqlite/0002_sessions.sql")},
                      {9, "0009_push", "push", sql("sql/sqlite/0009_push.sql")}});
        db_->write_sync([&](soci::session& s) {
            alice_ = happy::mod::auth::account_upsert(s, "A1", 1);
            bob_ = happy::mod::auth::account_upsert(s, "B1", 1);
            s1_ = happy::mod::sessions::session_create(s, alice_, "t1", "m", "", 1).id;
            bob_s_ = happy::mod::sessions::session_create(s, bob_, "t1", "m", "", 1).id;
        });
    }
    void TearDown() override {
        db_.reset();
        fs::remove_all(dir_);
    }
    void upsert(const std::string& account, const std::string& token, std::int64_t now) {
        db_->write_sync([&](soci::session& s) { push_token_upsert(s, account, token, now); });
    }
    std::vector<push_token> list(const std::string& account) {
        std::vector<push_token> r;
        db_->read_sync([&](soci::session& s) { r = push_token_list(s, account); });
        return r;
    }
    fs::path dir_;
    std::unique_ptr<happy::db::database> db_;
    std::string alice_, bob_, s1_, bob_s_;
};

TEST_F(push_store, session_ownership) {
    db_->read_sync([&](soci::session& s) {
        EXPECT_TRUE(push_session_owned(s, alice_, s1_));
        EXPECT_FALSE(push_session_owned(s, alice_, bob_s_));
        EXPECT_FALSE(push_session_owned(s, alice_, "nope"));
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
    db_->write_sync([&](soci::session& s) { n = push_token_delete(s, alice_, "t"); });
    EXPECT_EQ(n, 1);
    db_->write_sync([&](soci::session& s) { n = push_token_delete(s, alice_, "t"); });
    EXPECT_EQ(n, 0);
    EXPECT_TRUE(list(alice_).empty());
    ASSERT_EQ(list(bob_).size(), 1u);
    const std::string id = list(bob_)[0].id;  // read before the write: one pooled connection
    db_->write_sync([&](soci::session& s) { push_token_delete_by_id(s, id); });
    EXPECT_TRUE(list(bob_).empty());
}

}  // namespace
