#include "modules/sessions/sessions_store.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "modules/testing/store_fixture.hpp"

namespace {

namespace json = boost::json;
using namespace happy::mod::sessions;

class sessions_store : public happy::test::store_fixture {
protected:
    void SetUp() override {
        open_store({"0001_auth", "0002_sessions"});
        alice_ = create_account("AA");
        bob_ = create_account("BB");
    }
    session_row create(const std::string& account, const std::string& tag, std::int64_t now = 1000,
                       std::string key = "") {
        session_row r;
        db_->write_sync([&](happy::db::tx& t) { r = session_create(t, account, tag, "meta-" + tag, key, now); });
        return r;
    }
};

TEST_F(sessions_store, create_then_find_by_tag_and_id_only_for_the_owner) {
    auto r = create(alice_, "t1", 1000, "AAEC/w==");
    EXPECT_EQ(r.id.size(), 25u);
    std::optional<session_row> by_tag, by_id, other, other_tag;
    db_->read_sync([&](happy::db::tx& t) {
        by_tag = session_find_by_tag(t, alice_, "t1");
        by_id = session_find(t, alice_, r.id);
        other = session_find(t, bob_, r.id);
        other_tag = session_find_by_tag(t, bob_, "t1");
    });
    ASSERT_TRUE(by_tag && by_id);
    EXPECT_FALSE(other);
    EXPECT_FALSE(other_tag);
    EXPECT_EQ(by_id->metadata, "meta-t1");
    EXPECT_EQ(by_id->metadata_version, 0);
    EXPECT_FALSE(by_id->agent_state);
    EXPECT_EQ(by_id->seq, 0);
    EXPECT_TRUE(by_id->active);
    EXPECT_EQ(by_id->last_active_at, 1000);
    ASSERT_TRUE(by_id->data_encryption_key);
    EXPECT_EQ(*by_id->data_encryption_key, std::string("\x00\x01\x02\xff", 4));  // binary-safe, NUL included
    // Empty key ⇒ NULL; the same tag for another account is a different session.
    auto b = create(bob_, "t1");
    std::optional<session_row> bb;
    db_->read_sync([&](happy::db::tx& t) { bb = session_find(t, bob_, b.id); });
    EXPECT_FALSE(bb->data_encryption_key);
    EXPECT_THROW(create(alice_, "t1"), std::exception);  // UNIQUE (account_id, tag)
    // Real millisecond times do not fit 32 bits.
    auto big = create(alice_, "big", 1795396368739);
    std::optional<session_row> got_big;
    db_->read_sync([&](happy::db::tx& t) { got_big = session_find(t, alice_, big.id); });
    EXPECT_EQ(got_big->created_at, 1795396368739);
    EXPECT_EQ(got_big->last_active_at, 1795396368739);
}

TEST_F(sessions_store, lists_order_and_filters) {
    auto a = create(alice_, "a", 1000);
    auto b = create(alice_, "b", 2000);
    auto c = create(alice_, "c", 3000);
    create(bob_, "x", 4000);
    db_->write_sync([&](happy::db::tx& t) { session_seq_allocate(t, a.id, 1, 5000); });  // bumps updated_at
    struct item {
        std::string id;
    };
    std::vector<item> recent, active, page, changed;
    auto into = [](std::vector<item>& out) { return [&out](const session_view& v) { out.push_back({std::string(v.id)}); }; };
    db_->write_sync([&](happy::db::tx& t) { session_archive(t, alice_, b.id, 6000); });
    db_->read_sync([&](happy::db::tx& t) {
        auto r = into(recent), ac = into(active), p = into(page), ch = into(changed);
        session_list_recent(t, alice_, 150, r);
        session_list_active(t, alice_, 0, 10, ac);
        session_list_page(t, alice_, c.id, std::nullopt, 10, p);
        session_list_page(t, alice_, std::nullopt, 4000, 10, ch);
    });
    ASSERT_EQ(recent.size(), 3u);
    EXPECT_EQ(recent[0].id, b.id);  // archived at 6000
    EXPECT_EQ(recent[1].id, a.id);  // seq bump at 5000
    EXPECT_EQ(recent[2].id, c.id);
    ASSERT_EQ(active.size(), 2u);  // b is inactive
    EXPECT_EQ(active[0].id, c.id);
    EXPECT_EQ(page.size(), 2u);  // ids below c
    for (const auto& r : page) {
        EXPECT_LT(r.id, c.id);
    }
    EXPECT_EQ(changed.size(), 2u);  // a (5000) and b (6000)
}

TEST_F(sessions_store, metadata_and_state_compare_and_set) {
    auto r = create(alice_, "t");
    bool first = false, stale = true, st = false, st_null = false;
    db_->write_sync([&](happy::db::tx& t) {
        first = session_metadata_cas(t, r.id, 0, "m1", 2000);
        stale = session_metadata_cas(t, r.id, 0, "m2", 2001);
        st = session_agent_state_cas(t, r.id, 0, std::string("s1"), 2002);
        st_null = session_agent_state_cas(t, r.id, 1, std::nullopt, 2003);
    });
    EXPECT_TRUE(first);
    EXPECT_FALSE(stale);
    EXPECT_TRUE(st);
    EXPECT_TRUE(st_null);
    std::optional<session_row> got;
    db_->read_sync([&](happy::db::tx& t) { got = session_find(t, alice_, r.id); });
    EXPECT_EQ(got->metadata, "m1");
    EXPECT_EQ(got->metadata_version, 1);
    EXPECT_FALSE(got->agent_state);
    EXPECT_EQ(got->agent_state_version, 2);
    EXPECT_EQ(got->updated_at, 2003);
}

TEST_F(sessions_store, append_batch_is_idempotent_by_local_id_and_contiguous) {
    auto r = create(alice_, "t");
    append_result first, second;
    db_->write_sync([&](happy::db::tx& t) {
        first = message_append_batch(t, r.id, {{"l1", "A"}, {"l2", "B"}, {"l1", "ignored"}}, 2000);
    });
    ASSERT_EQ(first.created.size(), 2u);
    EXPECT_EQ(first.created[0].seq, 1);
    EXPECT_EQ(first.created[1].seq, 2);
    EXPECT_EQ(json::serialize(first.created[0].content), R"({"t":"encrypted","c":"A"})");
    db_->write_sync([&](happy::db::tx& t) {
        second = message_append_batch(t, r.id, {{"l3", "C"}, {"l2", "changed"}}, 3000);
    });
    ASSERT_EQ(second.created.size(), 1u);
    EXPECT_EQ(second.created[0].seq, 3);
    ASSERT_EQ(second.all.size(), 2u);
    EXPECT_EQ(second.all[0].local_id, "l2");  // sorted by seq
    EXPECT_EQ(second.all[0].seq, 2);
    EXPECT_EQ(second.all[1].seq, 3);

    std::vector<message_row> after, before, latest;
    std::optional<session_row> sess;
    db_->read_sync([&](happy::db::tx& t) {
        after = message_list_after(t, r.id, 1, 10);
        before = message_list_before(t, r.id, 3, 10);
        latest = message_list_latest(t, r.id, 2);
        sess = session_find(t, alice_, r.id);
    });
    ASSERT_EQ(after.size(), 2u);
    EXPECT_EQ(after[0].seq, 2);
    // Content is read back in JSONB key order; the existing row kept its first content.
    EXPECT_EQ(json::serialize(after[0].content), R"({"c":"B","t":"encrypted"})");
    ASSERT_EQ(before.size(), 2u);
    EXPECT_EQ(before[0].seq, 2);
    EXPECT_EQ(before[1].seq, 1);
    ASSERT_EQ(latest.size(), 2u);
    EXPECT_EQ(latest[0].seq, 3);
    EXPECT_EQ(sess->seq, 3);
    EXPECT_EQ(sess->updated_at, 3000);
}

TEST_F(sessions_store, insert_of_an_existing_local_id_stores_nothing) {
    auto r = create(alice_, "t");
    std::optional<message_row> first, dup, no_local_1, no_local_2;
    db_->write_sync([&](happy::db::tx& t) {
        first = message_insert(t, r.id, 1, std::string("l1"), json::object{{"c", "A"}}, 2000);
        dup = message_insert(t, r.id, 2, std::string("l1"), json::object{{"c", "B"}}, 2001);
        no_local_1 = message_insert(t, r.id, 3, std::nullopt, json::object{{"c", "C"}}, 2002);
        no_local_2 = message_insert(t, r.id, 4, std::nullopt, json::object{{"c", "D"}}, 2003);
    });
    ASSERT_TRUE(first);
    EXPECT_EQ(first->seq, 1);
    EXPECT_FALSE(dup);
    EXPECT_TRUE(no_local_1);  // NULL local ids never collide
    EXPECT_TRUE(no_local_2);
    std::optional<message_row> got;
    std::vector<message_row> all;
    db_->read_sync([&](happy::db::tx& t) {
        got = message_find_by_local_id(t, r.id, "l1");
        all = message_list_after(t, r.id, 0, 10);
    });
    ASSERT_TRUE(got);
    EXPECT_EQ(got->id, first->id);
    EXPECT_EQ(json::serialize(got->content), R"({"c":"A"})");
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[1].seq, 3);
}

TEST_F(sessions_store, delete_cascades_messages_and_checks_owner) {
    auto r = create(alice_, "t");
    bool by_bob = true, by_alice = false, again = true;
    db_->write_sync([&](happy::db::tx& t) {
        message_append_batch(t, r.id, {{"l1", "A"}}, 2000);
        message_insert(t, r.id, session_seq_allocate(t, r.id, 1, 2000), std::nullopt, json::object{{"c", 1}}, 2000);
        by_bob = session_delete(t, bob_, r.id);
        by_alice = session_delete(t, alice_, r.id);
        again = session_delete(t, alice_, r.id);
    });
    EXPECT_FALSE(by_bob);
    EXPECT_TRUE(by_alice);
    EXPECT_FALSE(again);
    std::int64_t n = -1;
    db_->read_sync([&](happy::db::tx& t) { n = t.one_i64("SELECT COUNT(*) FROM session_message").value_or(-1); });
    EXPECT_EQ(n, 0);
    EXPECT_THROW(db_->write_sync([&](happy::db::tx& t) { session_seq_allocate(t, r.id, 1, 1); }),
                 happy::db::not_found);
}

TEST_F(sessions_store, sweep_switches_off_only_stale_active_sessions) {
    auto stale = create(alice_, "stale", 1000);
    auto fresh = create(alice_, "fresh", 9000);
    auto off = create(bob_, "off", 1000);
    std::vector<session_timeout> swept, again;
    db_->write_sync([&](happy::db::tx& t) {
        session_archive(t, bob_, off.id, 1000);
        swept = session_sweep_inactive(t, 5000, 10000);
        again = session_sweep_inactive(t, 5000, 11000);
    });
    ASSERT_EQ(swept.size(), 1u);
    EXPECT_EQ(swept[0].id, stale.id);
    EXPECT_EQ(swept[0].account_id, alice_);
    EXPECT_EQ(swept[0].last_active_at, 1000);
    EXPECT_TRUE(again.empty());
    std::optional<session_row> a, f;
    db_->read_sync([&](happy::db::tx& t) {
        a = session_find(t, alice_, stale.id);
        f = session_find(t, alice_, fresh.id);
    });
    EXPECT_FALSE(a->active);
    EXPECT_EQ(a->last_active_at, 1000);  // the sweep keeps lastActiveAt
    EXPECT_EQ(a->updated_at, 10000);
    EXPECT_TRUE(f->active);
}

TEST(sessions_jsonb, orders_keys_shorter_first_then_bytewise_recursively) {
    auto v = json::parse(R"({"t":"encrypted","c":{"bb":1,"a":2,"B":[{"zz":1,"y":2}]},"aa":0})");
    EXPECT_EQ(json::serialize(jsonb_order(v)), R"({"c":{"B":[{"y":2,"zz":1}],"a":2,"bb":1},"t":"encrypted","aa":0})");
}

}  // namespace
