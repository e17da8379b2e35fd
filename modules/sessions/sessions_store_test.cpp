#include "modules/sessions/sessions_store.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "modules/auth/auth_store.hpp"
#include "modules/testing/store_fixture.hpp"

namespace {

namespace json = boost::json;
using namespace happy::mod::sessions;

class sessions_store : public happy::test::store_fixture {
protected:
    void SetUp() override {
        open_store({"0001_auth", "0002_sessions", "0017_session_list_version"});
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

TEST_F(sessions_store, append_new_checks_the_owner_and_refuses_a_known_local_id_whole) {
    auto r = create(alice_, "t");
    std::int64_t account_seq = 0;
    db_->write_sync([&](happy::db::tx& t) { account_seq = happy::mod::auth::account_seq_allocate(t, alice_, 1500); });
    new_messages made, by_bob, failed;
    db_->write_sync([&](happy::db::tx& t) { message_append_new(t, alice_, r.id, {{"l1", "A"}, {"l2", "B"}}, 2000, &made); });
    ASSERT_TRUE(made.owned);
    ASSERT_EQ(made.rows.size(), 2u);
    EXPECT_EQ(made.rows[0].seq, 1);
    EXPECT_EQ(made.rows[1].seq, 2);
    EXPECT_EQ(made.first_update_seq, account_seq + 1);  // one account seq per message, in one statement
    EXPECT_EQ(json::serialize(made.rows[1].content), R"({"t":"encrypted","c":"B"})");
    // Another account's session: nothing is written, no account seq is taken.
    db_->write_sync([&](happy::db::tx& t) { message_append_new(t, bob_, r.id, {{"l3", "C"}}, 2001, &by_bob); });
    EXPECT_FALSE(by_bob.owned);
    EXPECT_EQ(by_bob.first_update_seq, 0);
    // l2 exists: the whole batch fails on the unique key and nothing of it stays (l3 neither, nor the seqs).
    try {
        db_->write_sync(
            [&](happy::db::tx& t) { message_append_new(t, alice_, r.id, {{"l3", "C"}, {"l2", "B2"}}, 2002, &failed); });
        FAIL() << "expected a unique violation";
    } catch (const happy::db::error& e) {
        EXPECT_EQ(e.kind, happy::db::error_kind::unique_violation) << e.what();
    }
    std::vector<message_row> all;
    std::optional<session_row> sess;
    std::int64_t next_account_seq = 0;
    db_->write_sync([&](happy::db::tx& t) {
        all = message_list_after(t, r.id, 0, 10);
        sess = session_find(t, alice_, r.id);
        next_account_seq = happy::mod::auth::account_seq_allocate(t, alice_, 3000);
    });
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].id, made.rows[0].id);
    EXPECT_EQ(all[1].local_id, "l2");
    EXPECT_EQ(json::serialize(all[1].content), R"({"c":"B","t":"encrypted"})");
    EXPECT_EQ(sess->seq, 2);
    EXPECT_EQ(sess->updated_at, 2000);
    EXPECT_EQ(next_account_seq, account_seq + 3);
}

TEST_F(sessions_store, appends_to_one_session_written_together_keep_their_own_seqs_and_outcomes) {
    // As the v3 route and the socket message event write them: keyed by the session, so on PostgreSQL the ones that
    // queue up meanwhile share one transaction (db::database::write_keyed). One batch repeats a stored localId: it
    // alone fails; every other caller's seqs are the stored ones, contiguous, and its account seqs its own.
    auto r = create(alice_, "t");
    new_messages first;  // outlives the transaction, whose deferred statements fill it in
    db_->write_sync([&](happy::db::tx& t) { message_append_new(t, alice_, r.id, {{"l0", "A"}}, 1500, &first); });
    constexpr int appends = 24;
    std::vector<new_messages> made(appends);
    std::vector<std::string> outcome(appends);
    boost::asio::io_context ioc(1);
    // The first holds the session's key for 100 ms on the database thread; the rest arrive meanwhile.
    boost::asio::co_spawn(
        ioc,
        [&]() -> boost::asio::awaitable<void> {
            co_await db_->write_keyed(
                r.id, [](happy::db::tx&) { std::this_thread::sleep_for(std::chrono::milliseconds(100)); });
        },
        boost::asio::detached);
    for (int i = 0; i < appends; ++i) {
        boost::asio::co_spawn(
            ioc,
            [&, i]() -> boost::asio::awaitable<void> {
                boost::asio::steady_timer wait(co_await boost::asio::this_coro::executor,
                                               std::chrono::milliseconds(20));
                co_await wait.async_wait(boost::asio::use_awaitable);
                std::vector<std::pair<std::string, std::string>> batch{
                    {"k" + std::to_string(i), "m" + std::to_string(i)}};
                if (i % 3 == 0) {
                    batch.emplace_back("k" + std::to_string(i) + "b", "n");  // two in one request
                }
                if (i == 7) {
                    batch.emplace_back("l0", "again");  // stored already
                }
                // A named local: g++ 12 destroys a temporary with captures inside a co_await expression twice.
                std::function<void(happy::db::tx&)> append = [&, i, batch](happy::db::tx& t) {
                    message_append_new(t, alice_, r.id, batch, 2000 + i, &made[i]);
                };
                try {
                    co_await db_->write_keyed(r.id, std::move(append));
                    outcome[i] = "ok";
                } catch (const happy::db::error& e) {
                    outcome[i] = e.kind == happy::db::error_kind::unique_violation ? "duplicate" : e.what();
                }
            },
            boost::asio::detached);
    }
    ioc.run();
    std::vector<message_row> all;
    db_->read_sync([&](happy::db::tx& t) { all = message_list_after(t, r.id, 0, 100); });
    std::map<std::string, std::int64_t> stored;
    for (std::size_t k = 0; k < all.size(); ++k) {
        EXPECT_EQ(all[k].seq, static_cast<std::int64_t>(k) + 1) << "seqs contiguous";
        stored[*all[k].local_id] = all[k].seq;
    }
    std::set<std::int64_t> update_seqs;
    std::size_t created = 1;
    for (int i = 0; i < appends; ++i) {
        if (i == 7) {
            EXPECT_EQ(outcome[i], "duplicate");
            EXPECT_FALSE(stored.count("k7")) << "nothing of the failed batch stays";
            continue;
        }
        ASSERT_EQ(outcome[i], "ok") << i;
        ASSERT_TRUE(made[i].owned);
        for (std::size_t j = 0; j < made[i].rows.size(); ++j) {
            EXPECT_EQ(stored[*made[i].rows[j].local_id], made[i].rows[j].seq) << "the caller's seq is the stored one";
            EXPECT_TRUE(update_seqs.insert(made[i].first_update_seq + static_cast<std::int64_t>(j)).second)
                << "an account seq handed out twice";
            ++created;
        }
    }
    EXPECT_EQ(all.size(), created);
}

TEST_F(sessions_store, send_takes_both_seqs_and_stores_a_local_id_once) {
    auto r = create(alice_, "t");
    sent_message first, dup, no_local, by_bob;
    db_->write_sync([&](happy::db::tx& t) {
        message_send(t, alice_, r.id, std::string("l1"), json::object{{"c", "A"}}, 2000, &first);
    });
    db_->write_sync([&](happy::db::tx& t) {
        message_send(t, alice_, r.id, std::string("l1"), json::object{{"c", "B"}}, 2001, &dup);
        message_send(t, alice_, r.id, std::nullopt, json::object{{"c", "C"}}, 2002, &no_local);
        message_send(t, bob_, r.id, std::nullopt, json::object{{"c", "D"}}, 2003, &by_bob);
    });
    EXPECT_TRUE(first.stored);
    EXPECT_EQ(first.row.seq, 1);
    EXPECT_FALSE(dup.stored);  // the duplicate consumed seq 2 and an account seq, as upstream
    EXPECT_TRUE(no_local.stored);
    EXPECT_EQ(no_local.row.seq, 3);
    EXPECT_EQ(no_local.update_seq, first.update_seq + 2);
    EXPECT_FALSE(by_bob.stored);
    EXPECT_EQ(by_bob.update_seq, 0);
    std::optional<message_row> got;
    std::optional<session_row> sess;
    db_->read_sync([&](happy::db::tx& t) {
        got = message_find_by_local_id(t, r.id, "l1");
        sess = session_find(t, alice_, r.id);
    });
    ASSERT_TRUE(got);
    EXPECT_EQ(got->id, first.row.id);
    EXPECT_EQ(json::serialize(got->content), R"({"c":"A"})");
    EXPECT_EQ(sess->seq, 3);
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

TEST_F(sessions_store, every_change_of_a_session_bumps_its_account_list_version_and_nothing_else_does) {
    auto version = [&](const std::string& account) {
        std::int64_t v = -1;
        db_->read_sync([&](happy::db::tx& t) { v = session_list_version(t, account); });
        return v;
    };
    EXPECT_EQ(version(alice_), 0);
    auto r = create(alice_, "t");
    auto other = create(bob_, "t", 100000);  // active long after the sweep's cutoff below
    std::int64_t bob = version(bob_);
    std::int64_t last = version(alice_);
    EXPECT_GT(last, 0);
    // Each write that changes what GET /v1/sessions shows, one transaction each: the version moves on every time and
    // only for the account that owns the session.
    auto expect_bumped = [&](const char* what, const std::function<void(happy::db::tx&)>& fn) {
        db_->write_sync(fn);
        std::int64_t now = version(alice_);
        EXPECT_GT(now, last) << what;
        EXPECT_EQ(version(bob_), bob) << what;
        last = now;
    };
    expect_bumped("metadata", [&](happy::db::tx& t) { EXPECT_TRUE(session_metadata_cas(t, r.id, 0, "m1", 2000)); });
    expect_bumped("agent state",
                  [&](happy::db::tx& t) { EXPECT_TRUE(session_agent_state_cas(t, r.id, 0, std::string("s"), 2001)); });
    expect_bumped("seq", [&](happy::db::tx& t) { session_seq_allocate(t, r.id, 1, 2002); });
    expect_bumped("append", [&](happy::db::tx& t) { message_append_batch(t, r.id, {{"l1", "A"}}, 2003); });
    expect_bumped("activity", [&](happy::db::tx& t) { session_activity_set(t, r.id, 2004, true, 2004); });
    expect_bumped("archive", [&](happy::db::tx& t) { EXPECT_TRUE(session_archive(t, alice_, r.id, 2005)); });
    expect_bumped("sweep", [&](happy::db::tx& t) {
        session_activity_set(t, r.id, 1000, true, 2006);
        EXPECT_EQ(session_sweep_inactive(t, 1500, 2007).size(), 1u);
    });
    // A writer this module does not know of (an operator's SQL, a tool, another version of the server): the triggers
    // catch it too.
    expect_bumped("raw SQL", [&](happy::db::tx& t) { t.exec("UPDATE session SET metadata = 'x' WHERE id = ?", {r.id}); });
    expect_bumped("create", [&](happy::db::tx& t) { session_create(t, alice_, "t2", "m", "", 3000); });
    expect_bumped("delete", [&](happy::db::tx& t) { EXPECT_TRUE(session_delete(t, alice_, r.id)); });

    // Nothing that leaves the list as it was needs to move it: a message row alone (its session's seq is what the
    // list shows, and that is bumped above), a write that is rolled back.
    auto s2 = create(alice_, "t3");
    last = version(alice_);
    db_->write_sync([&](happy::db::tx& t) { message_insert(t, s2.id, 1, std::nullopt, json::object{{"c", 1}}, 4000); });
    EXPECT_EQ(version(alice_), last);
    EXPECT_THROW(db_->write_sync([&](happy::db::tx& t) {
        session_metadata_cas(t, s2.id, 0, "m", 4001);
        throw std::runtime_error("abort");
    }),
                 std::runtime_error);
    EXPECT_EQ(version(alice_), last);
    EXPECT_EQ(version(bob_), bob);
    (void)other;
}

TEST(sessions_jsonb, orders_keys_shorter_first_then_bytewise_recursively) {
    auto v = json::parse(R"({"t":"encrypted","c":{"bb":1,"a":2,"B":[{"zz":1,"y":2}]},"aa":0})");
    EXPECT_EQ(json::serialize(jsonb_order(v)), R"({"c":{"B":[{"y":2,"zz":1}],"a":2,"bb":1},"t":"encrypted","aa":0})");
}

}  // namespace
