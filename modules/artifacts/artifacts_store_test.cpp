#include "modules/artifacts/artifacts_store.hpp"

#include <gtest/gtest.h>

#include "core/crypto/base64.hpp"
#include "modules/testing/store_fixture.hpp"

namespace {

using namespace happy::mod::artifacts;
using happy::crypto::base64_encode;
using create_st = artifact_create_result::status;
using update_st = artifact_update_result::status;

class artifacts_store : public happy::test::store_fixture {
protected:
    void SetUp() override {
        open_store({"0001_auth", "0004_artifacts"});
        create_alice_and_bob();
    }
    artifact_create_result create(const std::string& account, const std::string& id, std::int64_t now = 1000,
                                  const std::string& header = base64_encode("head"),
                                  const std::string& body = base64_encode("body"),
                                  const std::string& key = base64_encode("key")) {
        artifact_create_result r;
        db_->write_sync([&](happy::db::tx& t) { r = artifact_create_or_load(t, account, id, header, body, key, now); });
        return r;
    }
    artifact_update_result update(const std::string& account, const std::string& id,
                                  std::optional<artifact_part> header, std::optional<artifact_part> body,
                                  std::int64_t now = 2000) {
        artifact_update_result r;
        db_->write_sync([&](happy::db::tx& t) { r = artifact_update(t, account, id, header, body, now); });
        return r;
    }
    std::optional<artifact> find(const std::string& account, const std::string& id) {
        std::optional<artifact> r;
        db_->read_sync([&](happy::db::tx& t) { r = artifact_find(t, account, id); });
        return r;
    }
};

TEST_F(artifacts_store, create_sets_upstream_initial_values_and_is_binary_safe) {
    std::string bytes("\x00\x01\xff\x00", 4);
    auto r = create(alice_, "a1", 1000, base64_encode(bytes), "", base64_encode("k"));
    ASSERT_EQ(r.st, create_st::created);
    auto a = find(alice_, "a1");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->header, bytes);
    EXPECT_EQ(a->body, "");
    EXPECT_EQ(a->data_encryption_key, "k");
    EXPECT_EQ(a->header_version, 1);
    EXPECT_EQ(a->body_version, 1);
    EXPECT_EQ(a->seq, 0);
    EXPECT_EQ(a->created_at, 1000);
    EXPECT_EQ(a->updated_at, 1000);
    EXPECT_EQ(a->account_id, alice_);
}

TEST_F(artifacts_store, create_is_idempotent_per_owner_and_conflicts_across_accounts) {
    ASSERT_EQ(create(alice_, "a1", 1000).st, create_st::created);
    // The caller's own id: stored row returned, inputs ignored and not even decoded.
    auto again = create(alice_, "a1", 5000, "not base64!", "x", "y");
    EXPECT_EQ(again.st, create_st::existing);
    EXPECT_EQ(again.row.header, "head");
    EXPECT_EQ(again.row.created_at, 1000);
    EXPECT_EQ(create(bob_, "a1").st, create_st::conflict);
    EXPECT_FALSE(find(bob_, "a1"));
    // Ids are case-sensitive (stored as given).
    EXPECT_EQ(create(bob_, "A1").st, create_st::created);
}

TEST_F(artifacts_store, create_rejects_invalid_strict_base64_without_writing) {
    EXPECT_THROW(create(alice_, "a1", 1, "YW Jj"), invalid_base64);
    EXPECT_THROW(create(alice_, "a1", 1, base64_encode("h"), "-_-_"), invalid_base64);
    EXPECT_THROW(create(alice_, "a1", 1, base64_encode("h"), base64_encode("b"), "a==="), invalid_base64);
    EXPECT_FALSE(find(alice_, "a1"));
}

TEST_F(artifacts_store, update_checks_versions_of_given_parts_only) {
    create(alice_, "a1");
    auto r = update(alice_, "a1", artifact_part{base64_encode("h2"), 1}, std::nullopt, 3000);
    ASSERT_EQ(r.st, update_st::success);
    EXPECT_EQ(r.header_version, 2);
    auto a = find(alice_, "a1");
    EXPECT_EQ(a->header, "h2");
    EXPECT_EQ(a->header_version, 2);
    EXPECT_EQ(a->body, "body");
    EXPECT_EQ(a->body_version, 1);
    EXPECT_EQ(a->seq, 1);
    EXPECT_EQ(a->updated_at, 3000);
    EXPECT_EQ(a->created_at, 1000);

    // Both stale: both flagged, nothing written.
    auto m = update(alice_, "a1", artifact_part{base64_encode("x"), 1}, artifact_part{base64_encode("y"), 0});
    ASSERT_EQ(m.st, update_st::version_mismatch);
    EXPECT_TRUE(m.header_mismatch);
    EXPECT_TRUE(m.body_mismatch);
    EXPECT_EQ(m.current.header, "h2");
    EXPECT_EQ(m.current.header_version, 2);
    // Only the stale part is flagged; a fractional version never matches.
    auto m2 = update(alice_, "a1", artifact_part{base64_encode("x"), 2}, artifact_part{base64_encode("y"), 1.5});
    ASSERT_EQ(m2.st, update_st::version_mismatch);
    EXPECT_FALSE(m2.header_mismatch);
    EXPECT_TRUE(m2.body_mismatch);
    EXPECT_EQ(find(alice_, "a1")->seq, 1);

    auto both = update(alice_, "a1", artifact_part{base64_encode("h3"), 2}, artifact_part{base64_encode("b2"), 1});
    ASSERT_EQ(both.st, update_st::success);
    EXPECT_EQ(both.header_version, 3);
    EXPECT_EQ(both.body_version, 2);
    a = find(alice_, "a1");
    EXPECT_EQ(a->header, "h3");
    EXPECT_EQ(a->body, "b2");
    EXPECT_EQ(a->seq, 2);
}

TEST_F(artifacts_store, update_without_parts_still_bumps_seq_and_updated_at) {
    create(alice_, "a1");
    auto r = update(alice_, "a1", std::nullopt, std::nullopt, 7000);
    ASSERT_EQ(r.st, update_st::success);
    auto a = find(alice_, "a1");
    EXPECT_EQ(a->seq, 1);
    EXPECT_EQ(a->updated_at, 7000);
    EXPECT_EQ(a->header_version, 1);
}

TEST_F(artifacts_store, update_not_found_for_foreign_or_unknown_and_bad_base64_throws) {
    create(alice_, "a1");
    EXPECT_EQ(update(bob_, "a1", artifact_part{"", 1}, std::nullopt).st, update_st::not_found);
    EXPECT_EQ(update(alice_, "zz", artifact_part{"", 1}, std::nullopt).st, update_st::not_found);
    EXPECT_THROW(update(alice_, "a1", std::nullopt, artifact_part{"***", 1}), invalid_base64);
    EXPECT_EQ(find(alice_, "a1")->seq, 0);
    // A mismatch is reported before the value is decoded.
    EXPECT_EQ(update(alice_, "a1", artifact_part{"***", 9}, std::nullopt).st, update_st::version_mismatch);
}

TEST_F(artifacts_store, list_is_newest_first_per_account_without_bodies_and_limited) {
    create(alice_, "a1", 1000);
    create(alice_, "a2", 2000);
    create(alice_, "a3", 3000);
    create(bob_, "b1", 4000);
    update(alice_, "a1", std::nullopt, std::nullopt, 5000);
    std::vector<artifact> rows;
    db_->read_sync([&](happy::db::tx& t) { rows = artifact_list(t, alice_, 200); });
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].id, "a1");
    EXPECT_EQ(rows[1].id, "a3");
    EXPECT_EQ(rows[2].id, "a2");
    EXPECT_EQ(rows[0].header, "head");
    EXPECT_EQ(rows[0].body, "");
    EXPECT_EQ(rows[0].data_encryption_key, "key");
    db_->read_sync([&](happy::db::tx& t) { rows = artifact_list(t, alice_, 2); });
    EXPECT_EQ(rows.size(), 2u);
}

TEST_F(artifacts_store, delete_only_the_callers_artifact) {
    create(alice_, "a1");
    bool ok = true;
    db_->write_sync([&](happy::db::tx& t) { ok = artifact_delete(t, bob_, "a1"); });
    EXPECT_FALSE(ok);
    db_->write_sync([&](happy::db::tx& t) { ok = artifact_delete(t, alice_, "a1"); });
    EXPECT_TRUE(ok);
    EXPECT_FALSE(find(alice_, "a1"));
    db_->write_sync([&](happy::db::tx& t) { ok = artifact_delete(t, alice_, "a1"); });
    EXPECT_FALSE(ok);
    // The id is free again for anyone.
    EXPECT_EQ(create(bob_, "a1").st, create_st::created);
}

}  // namespace
