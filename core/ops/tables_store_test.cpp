// core/ops/tables on a real backend (SQLite; PostgreSQL too with HAPPY_TEST_DATABASE_URL): what the catalog says
// about our tables, multi-row inserts with NULLs in every pattern, keyset pages over a composite key, and checksums
// that do not depend on the backend. Runs in happy_modules_test (it needs the store fixture and the plugins).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "core/ops/copy.hpp"
#include "core/ops/tables.hpp"
#include "modules/testing/store_fixture.hpp"

namespace happy::ops {
namespace {

class ops_tables : public test::store_fixture {
protected:
    void SetUp() override {
        open_store({"0001_auth", "0005_kv", "0010_social"});
        create_alice_and_bob();
    }
};

TEST_F(ops_tables, catalog_describes_columns_keys_and_references) {
    std::vector<table_info> tables;
    db_->read_sync([&](db::tx& t) { tables = describe_tables(t); });
    std::map<std::string, table_info> by_name;
    for (auto& t : tables) {
        by_name[t.name] = t;
    }
    ASSERT_TRUE(by_name.count("user_kv"));
    const auto& kv = by_name["user_kv"];
    EXPECT_EQ(kv.primary_key, (std::vector<std::string>{"account_id", "key"}));
    EXPECT_EQ(kv.references, (std::vector<std::string>{"account"}));
    ASSERT_NE(kv.find("value"), nullptr);
    EXPECT_EQ(kv.find("value")->kind, column_kind::blob);
    EXPECT_TRUE(kv.find("value")->nullable);
    EXPECT_EQ(kv.find("version")->kind, column_kind::integer);
    EXPECT_FALSE(kv.find("version")->nullable);
    const auto& account = by_name["account"];
    // avatar is JSONB on PostgreSQL, TEXT on SQLite.
    EXPECT_EQ(account.find("avatar")->kind, db_->kind() == db::dialect::postgres ? column_kind::json : column_kind::text);
    EXPECT_EQ(by_name["user_relationship"].primary_key, (std::vector<std::string>{"from_user_id", "to_user_id"}));
    std::vector<std::string> order;
    for (const auto& t : dependency_order(tables)) {
        order.push_back(t.name);
    }
    auto pos = [&](std::string_view n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
    EXPECT_LT(pos("account"), pos("user_kv"));
    EXPECT_LT(pos("account"), pos("user_relationship"));
}

TEST_F(ops_tables, bulk_insert_and_paged_read_round_trip_every_null_pattern) {
    // 23 KV rows, statements of 2 rows (max_params small), pages of 3: partial batches and pages at both ends.
    std::vector<column> cols = {{"account_id", column_kind::text, false}, {"key", column_kind::text, false},
                                {"value", column_kind::blob, true},      {"version", column_kind::integer, false},
                                {"created_at", column_kind::integer, false}, {"updated_at", column_kind::integer, false}};
    std::vector<row> written;
    for (int i = 0; i < 23; ++i) {
        const std::string& owner = i % 2 ? alice_ : bob_;
        value v = i % 3 == 0 ? value::null() : value::bytes(i % 3 == 1 ? std::string("\0\xff", 2) : std::string());
        written.push_back({value::text(owner), value::text("k" + std::to_string(100 + i)), v, value::integer(i),
                           value::integer(1000 + i), value::integer(2000 + i)});
    }
    db_->write_sync([&](db::tx& t) {
        bulk_insert out(t, "user_kv", cols, 13);
        for (const auto& r : written) {
            out.add(r);
        }
        out.flush();
        EXPECT_EQ(out.rows(), 23);
    });
    paged_select q;
    q.select = "account_id, key, account_id, key, value, version, created_at, updated_at";
    q.from = "user_kv";
    q.key = {"account_id", "key"};
    q.kinds = {column_kind::text, column_kind::text, column_kind::text, column_kind::text, column_kind::blob,
               column_kind::integer, column_kind::integer, column_kind::integer};
    q.page_rows = 3;
    std::vector<row> read;
    db_->read_sync([&](db::tx& t) {
        read_paged(t, q, [&](row& r) {
            r.erase(r.begin(), r.begin() + 2);
            read.push_back(r);
        });
    });
    ASSERT_EQ(read.size(), written.size());
    // Pages come in key order without gaps or repeats; the values are what was written, NULL and empty bytes apart.
    auto sorted = written;
    std::sort(sorted.begin(), sorted.end(), [](const row& a, const row& b) {
        return std::tie(a[0].s, a[1].s) < std::tie(b[0].s, b[1].s);
    });
    EXPECT_EQ(read, sorted);
    table_checksum a, b;
    std::vector<column_kind> kinds;
    for (const auto& c : cols) {
        kinds.push_back(c.kind);
    }
    for (const auto& r : written) {
        a.add(r, kinds);
    }
    for (const auto& r : read) {
        b.add(r, kinds);
    }
    EXPECT_EQ(a, b);
    std::int64_t n = 0;
    db_->read_sync([&](db::tx& t) { n = count_rows(t, "user_kv"); });
    EXPECT_EQ(n, 23);
}

TEST_F(ops_tables, a_failing_batch_leaves_nothing_and_applied_migrations_are_listed) {
    std::vector<column> cols = {{"from_user_id", column_kind::text, false}, {"to_user_id", column_kind::text, false},
                                {"status", column_kind::text, false}, {"created_at", column_kind::integer, false},
                                {"updated_at", column_kind::integer, false}};
    EXPECT_THROW(db_->write_sync([&](db::tx& t) {
        bulk_insert out(t, "user_relationship", cols);
        out.add({value::text(alice_), value::text(bob_), value::text("friend"), value::integer(1), value::integer(1)});
        // Not a status the CHECK constraint allows: the statement fails, the transaction rolls back.
        out.add({value::text(bob_), value::text(alice_), value::text("bogus"), value::integer(1), value::integer(1)});
        out.flush();
    }),
                 db::error);
    std::int64_t n = -1;
    db_->read_sync([&](db::tx& t) { n = count_rows(t, "user_relationship"); });
    EXPECT_EQ(n, 0);
    EXPECT_EQ(applied_migrations(*db_), (std::vector<int>{1, 5, 10}));
}

}  // namespace
}  // namespace happy::ops
