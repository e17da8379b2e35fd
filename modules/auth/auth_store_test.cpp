#include "modules/auth/auth_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <thread>

#include "modules/testing/store_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using namespace happy::mod::auth;

class auth_store : public happy::test::store_fixture {
protected:
    void SetUp() override { open_store({"0001_auth"}); }
};

TEST_F(auth_store, account_upsert_is_keyed_by_public_key) {
    std::string a, b, c;
    db_->write_sync([&](happy::db::tx& t) {
        a = account_upsert(t, "AA", 1000);
        b = account_upsert(t, "AA", 2000);
        c = account_upsert(t, "BB", 3000);
    });
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    EXPECT_EQ(a.size(), 25u);
    std::int64_t created = 0, updated = 0;
    db_->read_sync([&](happy::db::tx& t) {
        t.query("SELECT created_at, updated_at FROM account WHERE id = ?", {a}, [&](const happy::db::row_view& r) {
            created = r.i64(0);
            updated = r.i64(1);
        });
    });
    EXPECT_EQ(created, 1000);
    EXPECT_EQ(updated, 2000);  // the second login only touched updated_at
}

TEST_F(auth_store, pairing_request_is_created_once_and_first_approver_wins) {
    std::string alice, bob;
    pairing_request first, second;
    db_->write_sync([&](happy::db::tx& t) {
        alice = account_upsert(t, "A1", 1);
        bob = account_upsert(t, "B1", 1);
        first = pairing_request_upsert(t, pairing::terminal, "KEY", true, 10);
        second = pairing_request_upsert(t, pairing::terminal, "KEY", false, 20);
    });
    EXPECT_EQ(first.id, second.id);
    EXPECT_TRUE(second.supports_v2);  // a later poll does not modify the row
    EXPECT_FALSE(second.authorized());

    bool found_missing = true, found_alice = false, found_bob = false;
    db_->write_sync([&](happy::db::tx& t) {
        found_missing = pairing_request_respond(t, pairing::terminal, "NOPE", "r", alice, 30);
        found_alice = pairing_request_respond(t, pairing::terminal, "KEY", "from-alice", alice, 30);
        found_bob = pairing_request_respond(t, pairing::terminal, "KEY", "from-bob", bob, 40);
    });
    EXPECT_FALSE(found_missing);
    EXPECT_TRUE(found_alice);
    EXPECT_TRUE(found_bob);
    std::optional<pairing_request> row;
    db_->read_sync([&](happy::db::tx& t) { row = pairing_request_find(t, pairing::terminal, "KEY"); });
    ASSERT_TRUE(row);
    EXPECT_TRUE(row->authorized());
    EXPECT_EQ(*row->response, "from-alice");
    EXPECT_EQ(*row->response_account_id, alice);
}

TEST_F(auth_store, account_pairing_uses_its_own_table) {
    db_->write_sync([&](happy::db::tx& t) { pairing_request_upsert(t, pairing::account, "K2", false, 1); });
    std::optional<pairing_request> term, a;
    db_->read_sync([&](happy::db::tx& t) {
        term = pairing_request_find(t, pairing::terminal, "K2");
        a = pairing_request_find(t, pairing::account, "K2");
    });
    EXPECT_FALSE(term);
    ASSERT_TRUE(a);
    EXPECT_FALSE(a->supports_v2);
}

TEST_F(auth_store, account_seq_allocate_counts_up_and_rejects_unknown_accounts) {
    std::string a;
    db_->write_sync([&](happy::db::tx& t) { a = account_upsert(t, "SEQ", 1); });
    std::vector<std::int64_t> got;
    for (int i = 0; i < 3; ++i) {
        db_->write_sync([&](happy::db::tx& t) { got.push_back(account_seq_allocate(t, a, 5)); });
    }
    EXPECT_EQ(got, (std::vector<std::int64_t>{1, 2, 3}));
    EXPECT_THROW(db_->write_sync([&](happy::db::tx& t) { account_seq_allocate(t, "missing", 5); }),
                 happy::db::not_found);
}

TEST_F(auth_store, account_seq_allocate_never_repeats_under_concurrent_writers) {
    // A pool of 4 connections on 4 threads, all allocating for the same account at once.
    auto dir = dir_ / "concurrent";
    fs::create_directories(dir);
    auto db = happy::test::open_sqlite(dir / "c.sqlite", 4, {"0001_auth"});
    std::string a;
    db->write_sync([&](happy::db::tx& t) { a = account_upsert(t, "CONC", 1); });
    std::mutex m;
    std::vector<std::int64_t> all;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 50; ++i) {
                std::int64_t v = 0;
                db->write_sync([&](happy::db::tx& t) { v = account_seq_allocate(t, a, 2); });
                std::lock_guard lock(m);
                all.push_back(v);
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    std::sort(all.begin(), all.end());
    ASSERT_EQ(all.size(), 200u);
    for (std::size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ(all[i], static_cast<std::int64_t>(i + 1));
    }
}

}  // namespace
