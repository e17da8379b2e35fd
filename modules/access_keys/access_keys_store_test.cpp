#include "modules/access_keys/access_keys_store.hpp"

#include <gtest/gtest.h>
#include <soci/soci.h>

#include "modules/machines/machines_store.hpp"
#include "modules/sessions/sessions_store.hpp"
#include "modules/testing/store_fixture.hpp"

namespace {

using namespace happy::mod::access_keys;
using create_st = access_key_create_result::status;
using update_st = access_key_update_result::status;

class access_keys_store : public happy::test::store_fixture {
protected:
    void SetUp() override {
        open_store({"0001_auth", "0002_sessions", "0003_machines", "0006_access_keys"});
        create_alice_and_bob();
        db_->write_sync([&](soci::session& s) {
            sa_ = happy::mod::sessions::session_create(s, alice_, "tag", "meta", "", 1).id;
            sb_ = happy::mod::sessions::session_create(s, bob_, "tag", "meta", "", 1).id;
            happy::mod::machines::machine_create_or_load(happy::db::legacy_tx(), alice_, "ma", "m", std::nullopt,
                                                         std::nullopt, 1);
            happy::mod::machines::machine_create_or_load(happy::db::legacy_tx(), bob_, "mb", "m", std::nullopt,
                                                         std::nullopt, 1);
        });
    }
    access_key_create_result create(const std::string& account, const std::string& sid, const std::string& mid,
                                    const std::string& data = "d1", std::int64_t now = 1000) {
        access_key_create_result r;
        db_->write_sync([&](soci::session& s) { r = access_key_create(s, account, sid, mid, data, now); });
        return r;
    }
    std::optional<access_key> find(const std::string& account, const std::string& sid, const std::string& mid) {
        std::optional<access_key> r;
        db_->read_sync([&](soci::session& s) { r = access_key_find(s, account, sid, mid); });
        return r;
    }
    bool owned(const std::string& account, const std::string& sid, const std::string& mid) {
        bool r = false;
        db_->read_sync([&](soci::session& s) { r = access_key_scope_owned(s, account, sid, mid); });
        return r;
    }
    int count_keys() {
        int n = 0;
        db_->read_sync([&](soci::session& s) { s << "SELECT count(*) FROM access_key", soci::into(n); });
        return n;
    }
    std::string sa_, sb_;
};

TEST_F(access_keys_store, scope_needs_both_session_and_machine_of_the_account) {
    EXPECT_TRUE(owned(alice_, sa_, "ma"));
    EXPECT_FALSE(owned(alice_, sb_, "ma"));
    EXPECT_FALSE(owned(alice_, sa_, "mb"));
    EXPECT_FALSE(owned(alice_, "nope", "ma"));
    EXPECT_FALSE(owned(bob_, sa_, "ma"));
}

TEST_F(access_keys_store, create_once_with_version_1) {
    auto r = create(alice_, sa_, "ma", "secret", 1234);
    ASSERT_EQ(r.st, create_st::created);
    EXPECT_EQ(r.row.data, "secret");
    EXPECT_EQ(r.row.data_version, 1);
    EXPECT_EQ(r.row.created_at, 1234);
    EXPECT_EQ(r.row.updated_at, 1234);
    auto k = find(alice_, sa_, "ma");
    ASSERT_TRUE(k);
    EXPECT_EQ(k->data, "secret");
    EXPECT_EQ(k->data_version, 1);
    EXPECT_EQ(create(alice_, sa_, "ma", "other").st, create_st::exists);
    EXPECT_EQ(find(alice_, sa_, "ma")->data, "secret");
    EXPECT_EQ(create(alice_, sb_, "ma").st, create_st::scope_not_found);
    EXPECT_EQ(create(bob_, sa_, "mb").st, create_st::scope_not_found);
    EXPECT_FALSE(find(bob_, sa_, "ma"));
}

TEST_F(access_keys_store, update_is_versioned) {
    create(alice_, sa_, "ma", "v1");
    access_key_update_result r;
    db_->write_sync([&](soci::session& s) { r = access_key_update(s, alice_, sa_, "ma", "v2", 1, 2000); });
    ASSERT_EQ(r.st, update_st::success);
    EXPECT_EQ(r.version, 2);
    auto k = find(alice_, sa_, "ma");
    EXPECT_EQ(k->data, "v2");
    EXPECT_EQ(k->data_version, 2);
    EXPECT_EQ(k->created_at, 1000);
    EXPECT_EQ(k->updated_at, 2000);
    db_->write_sync([&](soci::session& s) { r = access_key_update(s, alice_, sa_, "ma", "v3", 1, 3000); });
    ASSERT_EQ(r.st, update_st::version_mismatch);
    EXPECT_EQ(r.version, 2);
    EXPECT_EQ(r.data, "v2");
    db_->write_sync([&](soci::session& s) { r = access_key_update(s, bob_, sa_, "ma", "x", 2, 3000); });
    EXPECT_EQ(r.st, update_st::not_found);
    db_->write_sync([&](soci::session& s) { r = access_key_update(s, alice_, sa_, "mb", "x", 2, 3000); });
    EXPECT_EQ(r.st, update_st::not_found);
}

TEST_F(access_keys_store, session_delete_cascades_to_its_keys) {
    db_->write_sync([&](soci::session& s) {
        happy::mod::machines::machine_create_or_load(happy::db::legacy_tx(), alice_, "ma2", "m", std::nullopt,
                                                     std::nullopt, 1);
    });
    std::string sa2;
    db_->write_sync([&](soci::session& s) { sa2 = happy::mod::sessions::session_create(s, alice_, "t2", "m", "", 1).id; });
    create(alice_, sa_, "ma");
    create(alice_, sa_, "ma2");
    create(alice_, sa2, "ma");
    ASSERT_EQ(count_keys(), 3);
    bool ok = false;
    db_->write_sync([&](soci::session& s) { ok = happy::mod::sessions::session_delete(s, alice_, sa_); });
    ASSERT_TRUE(ok);
    EXPECT_EQ(count_keys(), 1);
    EXPECT_TRUE(find(alice_, sa2, "ma"));
}

TEST_F(access_keys_store, machine_delete_cascades_to_its_keys) {
    std::string sa2;
    db_->write_sync([&](soci::session& s) { sa2 = happy::mod::sessions::session_create(s, alice_, "t2", "m", "", 1).id; });
    db_->write_sync([&](soci::session& s) {
        happy::mod::machines::machine_create_or_load(happy::db::legacy_tx(), alice_, "ma2", "m", std::nullopt,
                                                     std::nullopt, 1);
    });
    create(alice_, sa_, "ma");
    create(alice_, sa2, "ma");
    create(alice_, sa_, "ma2");
    bool ok = false;
    db_->write_sync(
        [&](soci::session& s) { ok = happy::mod::machines::machine_delete(happy::db::legacy_tx(), alice_, "ma"); });
    ASSERT_TRUE(ok);
    EXPECT_EQ(count_keys(), 1);
    EXPECT_TRUE(find(alice_, sa_, "ma2"));
}

}  // namespace
