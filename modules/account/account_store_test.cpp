#include "modules/account/account_store.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "modules/testing/store_fixture.hpp"

namespace {

namespace json = boost::json;
using namespace happy::mod::account;
using st = settings_update_result::status;

class account_store : public happy::test::store_fixture {
protected:
    void SetUp() override {
        open_store({"0001_auth", "0012_connect"});
        create_alice_and_bob();
    }
    settings_update_result update(const std::string& account, std::int64_t expected, std::optional<std::string> v,
                                  std::int64_t now = 5000) {
        settings_update_result r;
        db_->write_sync([&](happy::db::tx& t) { r = account_settings_update(t, account, expected, v, now); });
        return r;
    }
    std::optional<settings> get(const std::string& account) {
        std::optional<settings> r;
        db_->read_sync([&](happy::db::tx& t) { r = account_settings_get(t, account); });
        return r;
    }
};

TEST_F(account_store, settings_start_null_at_version_zero) {
    auto s = get(alice_);
    ASSERT_TRUE(s);
    EXPECT_FALSE(s->value);
    EXPECT_EQ(s->version, 0);
    EXPECT_FALSE(get("nobody"));
}

TEST_F(account_store, settings_update_is_versioned_per_account) {
    auto r = update(alice_, 0, std::string("s1"));
    EXPECT_EQ(r.st, st::success);
    EXPECT_EQ(r.version, 1);
    EXPECT_EQ(get(alice_)->value, "s1");
    EXPECT_EQ(get(alice_)->version, 1);
    EXPECT_EQ(get(bob_)->version, 0);  // untouched

    // A stale version reports what is stored, an empty string verbatim.
    EXPECT_EQ(update(alice_, 1, std::string("")).st, st::success);
    auto stale = update(alice_, 1, std::string("s3"));
    EXPECT_EQ(stale.st, st::version_mismatch);
    EXPECT_EQ(stale.version, 2);
    EXPECT_EQ(stale.current, "");
    auto ahead = update(alice_, 7, std::string("s3"));
    EXPECT_EQ(ahead.st, st::version_mismatch);
    EXPECT_EQ(ahead.version, 2);

    // null clears the blob and still bumps the version.
    auto cleared = update(alice_, 2, std::nullopt);
    EXPECT_EQ(cleared.st, st::success);
    EXPECT_EQ(cleared.version, 3);
    EXPECT_FALSE(get(alice_)->value);
    auto mismatch_null = update(alice_, 0, std::string("x"));
    EXPECT_EQ(mismatch_null.st, st::version_mismatch);
    EXPECT_FALSE(mismatch_null.current);

    EXPECT_EQ(update("nobody", 0, std::string("x")).st, st::not_found);
}

TEST_F(account_store, settings_update_bumps_updated_at) {
    update(alice_, 0, std::string("s"), 123456);
    std::int64_t updated = 0;
    db_->read_sync(
        [&](happy::db::tx& t) { updated = *t.one_i64("SELECT updated_at FROM account WHERE id = ?", {alice_}); });
    EXPECT_EQ(updated, 123456);
}

TEST_F(account_store, profile_of_a_fresh_account_is_all_null) {
    std::optional<profile> p;
    db_->read_sync([&](happy::db::tx& t) { p = account_profile_get(t, alice_); });
    ASSERT_TRUE(p);
    EXPECT_EQ(json::serialize(account_profile_json(alice_, *p, 42, "http://localhost:3005/files")),
              R"({"id":")" + alice_ +
                  R"(","timestamp":42,"firstName":null,"lastName":null,"username":null,"avatar":null,)"
                  R"("github":null,"connectedServices":[]})");
    db_->read_sync([&](happy::db::tx& t) { p = account_profile_get(t, "nobody"); });
    EXPECT_FALSE(p);
}

TEST_F(account_store, profile_names_and_avatar_in_jsonb_order_with_url) {
    db_->write_sync([&](happy::db::tx& t) {
        t.exec("UPDATE account SET first_name = 'Ada', last_name = 'L', username = 'ada', "
               "avatar = '{\"thumbhash\":\"th\",\"width\":10,\"height\":20,\"path\":\"public/users/a/av.png\"}' "
               "WHERE id = ?",
               {alice_});
    });
    std::optional<profile> p;
    db_->read_sync([&](happy::db::tx& t) { p = account_profile_get(t, alice_); });
    ASSERT_TRUE(p);
    auto o = account_profile_json(alice_, *p, 1, "https://h.example/files");
    EXPECT_EQ(o["firstName"], "Ada");
    EXPECT_EQ(o["lastName"], "L");
    EXPECT_EQ(o["username"], "ada");
    // JSONB: shorter keys first, then bytewise; then `url` appended by the spread.
    EXPECT_EQ(json::serialize(o["avatar"]),
              R"({"path":"public/users/a/av.png","width":10,"height":20,"thumbhash":"th",)"
              R"("url":"https://h.example/files/public/users/a/av.png"})");
}

TEST_F(account_store, profile_github_and_connected_services_from_connect_tables) {
    // The connect module's tables are always there (its migration is applied even when it is disabled).
    db_->write_sync([&](happy::db::tx& t) {
        const std::string token("\x00", 1);
        t.exec("INSERT INTO github_user (id, profile, created_at, updated_at) "
               "VALUES ('7', '{\"login\":\"ada\",\"id\":7,\"bio\":null}', 1, 1)");
        t.exec("UPDATE account SET github_user_id = '7', username = 'ada' WHERE id = ?", {alice_});
        t.exec("INSERT INTO service_account_token (id, account_id, vendor, token, created_at, updated_at) "
               "VALUES ('t1', ?, 'anthropic', ?, 1, 1), ('t2', ?, 'openai', ?, 2, 2)",
               {alice_, happy::db::blob{token}, alice_, happy::db::blob{token}});
        t.exec("INSERT INTO service_account_token (id, account_id, vendor, token, created_at, updated_at) "
               "VALUES ('t3', ?, 'gemini', ?, 3, 3)",
               {bob_, happy::db::blob{token}});
    });
    std::optional<profile> p;
    db_->read_sync([&](happy::db::tx& t) { p = account_profile_get(t, alice_); });
    ASSERT_TRUE(p);
    auto o = account_profile_json(alice_, *p, 1, "https://h.example/files");
    // The stored profile comes back in JSONB key order, as upstream reads its Json column.
    EXPECT_EQ(json::serialize(o["github"]), R"({"id":7,"bio":null,"login":"ada"})");
    EXPECT_EQ(json::serialize(o["connectedServices"]), R"(["anthropic","openai"])");
    db_->read_sync([&](happy::db::tx& t) { p = account_profile_get(t, bob_); });
    o = account_profile_json(bob_, *p, 1, "https://h.example/files");
    EXPECT_EQ(json::serialize(o["github"]), "null");
    EXPECT_EQ(json::serialize(o["connectedServices"]), R"(["gemini"])");
}

}  // namespace
