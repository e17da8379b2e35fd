#include "modules/access_keys/access_keys_store.hpp"

#include <gtest/gtest.h>

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
        db_->write_sync([&](happy::db::tx& t) {
            sa_ = happy::mod::sessions::session_create(t, alice_, "tag", "meta", "", 1).id;
            sb_ = happy::mod::sessions::session_create(t, bob_, "tag", "meta", "", 1).id;
        });
        add_machine(alice_, "ma");
        add_machine(bob_, "mb");
    }
    /// Machine rows by plain SQL, as the store's scope check reads them: these tests need the rows (and the
    /// machine table's foreign keys), not the machines module.
    void add_machine(const std::string& account, const std::string& id) {
        db_->write_sync([&](happy::db::tx& t) {
            t.exec("INSERT INTO machine (id, account_id, metadata, last_active_at, created_at, updated_at) "
                   "VALUES (?, ?, 'm', 1, 1, 1)",
                   {id, account});
        });
    }
    bool delete_machine(const std::string& account, const std::string& id) {
        bool deleted = false;
        db_->write_sync([&](happy::db::tx& t) {
            deleted = t.exec("DELETE FROM machine WHERE account_id = ? AND id = ?", {account, id}) > 0;
        });
        return deleted;
    }
    access_key_create_result create(const std::string& account, const std::string& sid, const std::string& mid,
                                    const std::string& data = "d1", std::int64_t now = 1000) {
        access_key_create_result r;
        db_->write_sync([&](happy::db::tx& t) { r = access_key_create(t, account, sid, mid, data, now); });
        return r;
    }
    std::optional<access_key> find(const std::string& account, const std::string& sid, const std::string& mid) {
        std::optional<access_key> r;
        db_->read_sync([&](happy::db::tx& t) { r = access_key_find(t, account, sid, mid); });
        return r;
    }
    bool owned(const std::string& account, const std::string& sid, const std::string& mid) {
        bool r = false;
        db_->read_sync([&](happy::db::tx& t) { r = access_key_scope_owned(t, account, sid, mid); });
        return r;
    }
    std::int64_t count_keys() {
        std::int64_t n = 0;
        db_->read_sync([&](happy::db::tx& t) { n = t.one_i64("SELECT count(*) FROM access_key").value_or(-1); });
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
    db_->write_sync([&](happy::db::tx& t) { r = access_key_update(t, alice_, sa_, "ma", "v2", 1, 2000); });
    ASSERT_EQ(r.st, update_st::success);
    EXPECT_EQ(r.version, 2);
    auto k = find(alice_, sa_, "ma");
    EXPECT_EQ(k->data, "v2");
    EXPECT_EQ(k->data_version, 2);
    EXPECT_EQ(k->created_at, 1000);
    EXPECT_EQ(k->updated_at, 2000);
    db_->write_sync([&](happy::db::tx& t) { r = access_key_update(t, alice_, sa_, "ma", "v3", 1, 3000); });
    ASSERT_EQ(r.st, update_st::version_mismatch);
    EXPECT_EQ(r.version, 2);
    EXPECT_EQ(r.data, "v2");
    db_->write_sync([&](happy::db::tx& t) { r = access_key_update(t, bob_, sa_, "ma", "x", 2, 3000); });
    EXPECT_EQ(r.st, update_st::not_found);
    db_->write_sync([&](happy::db::tx& t) { r = access_key_update(t, alice_, sa_, "mb", "x", 2, 3000); });
    EXPECT_EQ(r.st, update_st::not_found);
}

TEST_F(access_keys_store, session_delete_cascades_to_its_keys) {
    add_machine(alice_, "ma2");
    std::string sa2;
    db_->write_sync(
        [&](happy::db::tx& t) { sa2 = happy::mod::sessions::session_create(t, alice_, "t2", "m", "", 1).id; });
    create(alice_, sa_, "ma");
    create(alice_, sa_, "ma2");
    create(alice_, sa2, "ma");
    ASSERT_EQ(count_keys(), 3);
    bool ok = false;
    db_->write_sync([&](happy::db::tx& t) { ok = happy::mod::sessions::session_delete(t, alice_, sa_); });
    ASSERT_TRUE(ok);
    EXPECT_EQ(count_keys(), 1);
    EXPECT_TRUE(find(alice_, sa2, "ma"));
}

TEST_F(access_keys_store, machine_delete_cascades_to_its_keys) {
    std::string sa2;
    db_->write_sync(
        [&](happy::db::tx& t) { sa2 = happy::mod::sessions::session_create(t, alice_, "t2", "m", "", 1).id; });
    add_machine(alice_, "ma2");
    create(alice_, sa_, "ma");
    create(alice_, sa2, "ma");
    create(alice_, sa_, "ma2");
    ASSERT_TRUE(delete_machine(alice_, "ma"));
    EXPECT_EQ(count_keys(), 1);
    EXPECT_TRUE(find(alice_, sa_, "ma2"));
}

}  // namespace
