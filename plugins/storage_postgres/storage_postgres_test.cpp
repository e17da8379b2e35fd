// The PostgreSQL plugin against a real server: HAPPY_TEST_DATABASE_URL's, or a throwaway cluster this process starts
// (plugins/storage_postgres/pg_test_server.hpp). Without either the tests fail: they never skip.
#include <gtest/gtest.h>

#include "modules/testing/config_fixture.hpp"

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/db/database.hpp"
#include "core/util/resources.hpp"
#include "plugins/storage_postgres/pg_test_server.hpp"
#include "plugins/storage_postgres/storage_postgres_plugin.hpp"
#ifdef HAPPY_HAVE_STORAGE_SQLITE
#include <filesystem>

#include "plugins/storage_sqlite/storage_sqlite_plugin.hpp"
#endif

namespace {

namespace db = happy::db;
namespace pg = happy::plugin::storage_postgres;

// ---- no server needed ----

TEST(storage_postgres_text, numbers_placeholders_outside_literals_identifiers_and_comments) {
    auto n = pg::number_placeholders(
        "SELECT '?', \"a?\", E'\\'?', ?, $$ ? $$, $t$ ? $t$ -- ?\n, /* ? /* ? */ ? */ ? FROM t WHERE x = ? AND y = $1");
    EXPECT_EQ(n.text,
              "SELECT '?', \"a?\", E'\\'?', $1, $$ ? $$, $t$ ? $t$ -- ?\n, /* ? /* ? */ ? */ $2 FROM t WHERE x = $3 "
              "AND y = $1");
    EXPECT_EQ(n.count, 3u);
    EXPECT_EQ(pg::number_placeholders("INSERT INTO t VALUES (?, 'it''s ?', ?)").text,
              "INSERT INTO t VALUES ($1, 'it''s ?', $2)");
    EXPECT_EQ(pg::number_placeholders("SELECT 1").count, 0u);
    EXPECT_EQ(pg::number_placeholders("SELECT 'unterminated ?").text, "SELECT 'unterminated ?");
}

TEST(storage_postgres_text, masks_the_password_in_every_url_form) {
    EXPECT_EQ(pg::mask_password("postgresql://happy:s3cr%40t@db.example:5432/happy?sslmode=require"),
              "postgresql://happy:***@db.example:5432/happy?sslmode=require");
    EXPECT_EQ(pg::mask_password("postgres://u:p@h/d"), "postgres://u:***@h/d");
    EXPECT_EQ(pg::mask_password("postgresql://u@h/d?password=secret&sslmode=disable"),
              "postgresql://u@h/d?password=***&sslmode=disable");
    EXPECT_EQ(pg::mask_password("postgresql://h/d"), "postgresql://h/d");
    EXPECT_EQ(pg::mask_password("mysql://u:secret@h/d"), "mysql://u:***@h/d");  // a URL of the wrong kind too
    auto kv = pg::mask_password("host=h dbname=d user=u password='se cret'");
    EXPECT_EQ(kv.find("se cret"), std::string::npos) << kv;
    EXPECT_NE(kv.find("password='***'"), std::string::npos) << kv;
}

TEST(storage_postgres_text, with_database_keeps_every_other_parameter) {
    auto s = pg::with_database("postgresql://u:p@127.0.0.1:5433/postgres?sslmode=disable&connect_timeout=3", "x_1");
    EXPECT_NE(s.find("dbname='x_1'"), std::string::npos) << s;
    EXPECT_NE(s.find("sslmode='disable'"), std::string::npos) << s;
    EXPECT_NE(s.find("port='5433'"), std::string::npos) << s;
    EXPECT_NE(s.find("password='p'"), std::string::npos) << s;
    EXPECT_THROW(pg::with_database("postgresql://h/d?no_such_parameter=1", "x"), std::invalid_argument);
    try {
        pg::with_database("mysql://u:secret@h/d", "x");  // libpq quotes the string it could not read
        ADD_FAILURE() << "parsed";
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("mysql://u:***@h/d"), std::string::npos) << e.what();
    }
}

// ---- against a server ----

db::migration mig(int v, std::string name, std::string sql) { return {v, std::move(name), "test", std::move(sql)}; }

class storage_postgres : public ::testing::Test {
protected:
    void SetUp() override { url_ = happy::test::create_postgres_database(); }
    void TearDown() override { happy::test::drop_postgres_database(url_); }

    std::unique_ptr<db::database> open(std::size_t connections = 1) {
        return std::make_unique<db::database>(pg::make_backend({url_}), connections);
    }

    std::string url_;
};

TEST_F(storage_postgres, binds_every_parameter_kind_and_reads_it_back) {
    auto d = open();
    d->migrate({mig(1, "0001_q", "CREATE TABLE q (id BIGINT PRIMARY KEY, n BIGINT, t TEXT, b BYTEA, j JSONB);")});
    const std::string nul_bytes("\0a\0\xff\x01", 5);
    const std::string text = "t'\"? ü \\ ∑";
    const std::int64_t min = std::numeric_limits<std::int64_t>::min(), max = std::numeric_limits<std::int64_t>::max();
    std::int64_t inserted = 0;
    d->write_sync([&](db::tx& t) {
        const char* sql = "INSERT INTO q (id, n, t, b) VALUES (?, ?, ?, ?)";
        inserted += t.exec(sql, {std::int64_t{1}, min, std::string_view(text), db::blob{nul_bytes}});
        inserted += t.exec(sql, {std::int64_t{2}, max, "", db::blob{}});
        inserted += t.exec(sql, {std::int64_t{3}, std::int64_t{-1}, nullptr, nullptr});
        inserted += t.exec(sql, {std::int64_t{4}, nullptr, "x", db::blob{"\xff"}});
    });
    EXPECT_EQ(inserted, 4);
    std::map<std::int64_t, std::vector<std::optional<std::string>>> got;
    std::map<std::int64_t, std::optional<std::int64_t>> ints;
    d->read_sync([&](db::tx& t) {
        t.query("SELECT id, n, t, b FROM q WHERE id >= ? ORDER BY id", {std::int64_t{0}}, [&](const db::row_view& r) {
            ints[r.i64(0)] = r.opt_i64(1);
            got[r.i64(0)] = {r.opt_str(2), r.opt_bytes(3)};
        });
    });
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(ints[1], min);
    EXPECT_EQ(ints[2], max);
    EXPECT_EQ(ints[3], -1);
    EXPECT_EQ(ints[4], std::nullopt);
    EXPECT_EQ(got[1][0], text);
    EXPECT_EQ(got[1][1], nul_bytes);
    EXPECT_EQ(got[2][0], "");
    EXPECT_EQ(got[2][1], std::string());  // an empty bytea, not NULL
    EXPECT_EQ(got[3][0], std::nullopt);
    EXPECT_EQ(got[3][1], std::nullopt);
    EXPECT_EQ(got[4][1], "\xff");
    // Integers of every width and booleans read as i64; integers format as text when asked.
    d->read_sync([&](db::tx& t) {
        t.query("SELECT 7::int2, (-8)::int4, 9::int8, true, false, 42::int8", {}, [&](const db::row_view& r) {
            EXPECT_EQ(r.i64(0), 7);
            EXPECT_EQ(r.i64(1), -8);
            EXPECT_EQ(r.i64(2), 9);
            EXPECT_EQ(r.i64(3), 1);
            EXPECT_EQ(r.i64(4), 0);
            auto a = r.text(1);
            auto b = r.text(5);
            EXPECT_EQ(a, "-8");  // both views stay valid together
            EXPECT_EQ(b, "42");
        });
        // A text parameter is untyped: PostgreSQL reads it as the column's type (here BIGINT).
        EXPECT_EQ(t.one_i64("SELECT n FROM q WHERE n = ?", {"-1"}), -1);
        EXPECT_EQ(t.one_text("SELECT ?", {"plain"}), "plain");
    });
}

TEST_F(storage_postgres, jsonb_reads_as_its_text_and_unreadable_types_say_what_to_cast) {
    auto d = open();
    d->migrate({mig(1, "0001_j", "CREATE TABLE j (id BIGINT PRIMARY KEY, body JSONB, n NUMERIC);")});
    d->write_sync([&](db::tx& t) {
        t.exec("INSERT INTO j (id, body, n) VALUES (?, ?, ?)", {std::int64_t{1}, R"({"t":"x","c":[1,2]})", "1.5"});
        t.exec("INSERT INTO j (id, body) VALUES (?, ?)", {std::int64_t{2}, R"({"long key": "a: b, \" c", "k": {}})"});
    });
    d->read_sync([&](db::tx& t) {
        // JSONB key order, compact (PostgreSQL prints ": " and ", "; spaces inside strings stay).
        EXPECT_EQ(t.one_text("SELECT body FROM j WHERE id = 1"), R"({"c":[1,2],"t":"x"})");
        EXPECT_EQ(t.one_text("SELECT body FROM j WHERE id = 2"), R"({"k":{},"long key":"a: b, \" c"})");
        t.query("SELECT body, body FROM j WHERE id = 1", {}, [](const db::row_view& r) {
            auto a = r.text(0);
            auto b = r.bytes(1);
            EXPECT_EQ(a, b);  // both views stay valid together
        });
        EXPECT_EQ(t.one_text("SELECT body->>'t' FROM j"), "x");
        try {
            t.one_i64("SELECT SUM(id) FROM j");  // SUM(bigint) is numeric
            FAIL() << "numeric read as an integer";
        } catch (const db::error& e) {
            EXPECT_NE(std::string(e.what()).find("numeric"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("CAST it to BIGINT"), std::string::npos) << e.what();
        }
        EXPECT_EQ(t.one_i64("SELECT CAST(SUM(id) AS BIGINT) FROM j"), 3);
        EXPECT_THROW(t.one_text("SELECT n FROM j WHERE id = 1"), db::error);
    });
}

TEST_F(storage_postgres, rows_affected_returning_and_statement_reuse) {
    auto d = open();
    d->migrate({mig(1, "0001_c", "CREATE TABLE c (id BIGINT PRIMARY KEY, n BIGINT NOT NULL);")});
    constexpr std::string_view insert = "INSERT INTO c (id, n) VALUES (?, ?)";
    std::int64_t updated = -1, deleted = -1, selected = -1, returned_rows = 0, returning_count = -1;
    std::vector<std::int64_t> returned;
    d->write_sync([&](db::tx& t) {
        for (std::int64_t i = 1; i <= 5; ++i) {
            t.exec(insert, {i, i * 10});  // one prepared statement, executed five times
        }
        updated = t.exec("UPDATE c SET n = n + 1 WHERE id <= ?", {std::int64_t{3}});
        returning_count = t.query("UPDATE c SET n = n + 1 WHERE id > ? RETURNING id", {std::int64_t{3}},
                                  [&](const db::row_view& r) {
                                      returned.push_back(r.i64(0));
                                      ++returned_rows;
                                  });
        deleted = t.exec("DELETE FROM c WHERE id = ?", {std::int64_t{5}});
        selected = t.query("SELECT id FROM c", {}, [](const db::row_view&) {});
    });
    EXPECT_EQ(updated, 3);
    EXPECT_EQ(returning_count, 2);  // rows affected, also with RETURNING
    EXPECT_EQ(returned_rows, 2);
    EXPECT_EQ(deleted, 1);
    EXPECT_EQ(selected, 0);  // a SELECT changes nothing
    std::int64_t prepared = -1, nothing_deleted = -1;
    d->read_sync([&](db::tx& t) {
        nothing_deleted = t.exec("DELETE FROM c WHERE id = ?", {std::int64_t{99}});
        prepared = *t.one_i64("SELECT COUNT(*) FROM pg_prepared_statements WHERE statement = ?",
                              {"INSERT INTO c (id, n) VALUES ($1, $2)"});
    });
    EXPECT_EQ(nothing_deleted, 0);
    EXPECT_EQ(prepared, 1);
}

TEST_F(storage_postgres, a_query_run_from_a_row_callback) {
    auto d = open();
    d->migrate({mig(1, "0001_q", "CREATE TABLE q (n BIGINT PRIMARY KEY); INSERT INTO q VALUES (1), (2), (3);")});
    constexpr std::string_view sql = "SELECT n FROM q WHERE n >= ? ORDER BY n";
    std::vector<std::int64_t> pairs;
    d->read_sync([&](db::tx& t) {
        t.query(sql, {std::int64_t{2}}, [&](const db::row_view& outer) {
            std::int64_t o = outer.i64(0);
            t.query(sql, {o}, [&](const db::row_view& inner) { pairs.push_back(o * 10 + inner.i64(0)); });
            EXPECT_EQ(outer.i64(0), o);  // the outer row is still readable
        });
    });
    EXPECT_EQ(pairs, (std::vector<std::int64_t>{22, 23, 33}));
}

db::error_kind kind_of(db::database& d, const std::function<void(db::tx&)>& fn) {
    try {
        d.write_sync(fn);
    } catch (const db::error& e) {
        return e.kind;
    }
    return static_cast<db::error_kind>(-1);
}

TEST_F(storage_postgres, maps_sqlstates_to_error_kinds_and_retries_serialization_failures) {
    auto d = open(2);
    d->migrate({mig(1, "0001_k",
                    "CREATE TABLE p (id BIGINT PRIMARY KEY);"
                    "CREATE TABLE ch (id BIGINT PRIMARY KEY, p BIGINT REFERENCES p (id));"
                    "CREATE FUNCTION conflict() RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
                    "RAISE EXCEPTION 'simulated conflict' USING ERRCODE = 'serialization_failure'; END $$;"
                    "INSERT INTO p VALUES (1);")});
    EXPECT_EQ(kind_of(*d, [](db::tx& t) { t.exec("INSERT INTO p VALUES (?)", {std::int64_t{1}}); }),
              db::error_kind::unique_violation);
    EXPECT_EQ(kind_of(*d, [](db::tx& t) { t.exec("INSERT INTO ch VALUES (1, ?)", {std::int64_t{7}}); }),
              db::error_kind::foreign_key_violation);
    EXPECT_EQ(kind_of(*d, [](db::tx& t) { t.exec("SELEC nonsense"); }), db::error_kind::other);
    try {
        d->read_sync([](db::tx& t) { t.exec("SELECT conflict()"); });
        FAIL() << "expected a serialization failure";
    } catch (const db::error& e) {
        EXPECT_EQ(e.kind, db::error_kind::retryable);
        EXPECT_NE(std::string(e.what()).find("simulated conflict"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("40001"), std::string::npos) << e.what();
    }
    // database::write runs a transaction again after a retryable error; what the failed run wrote is gone.
    int runs = 0;
    d->write_sync([&](db::tx& t) {
        t.exec("INSERT INTO p VALUES (?)", {std::int64_t{100 + runs}});
        if (++runs < 3) {
            t.exec("SELECT conflict()");
        }
    });
    EXPECT_EQ(runs, 3);
    std::int64_t rows = 0;
    d->read_sync([&](db::tx& t) { rows = *t.one_i64("SELECT COUNT(*) FROM p WHERE id >= 100"); });
    EXPECT_EQ(rows, 1);
}

TEST_F(storage_postgres, a_transaction_that_swallowed_a_failed_statement_does_not_commit) {
    auto d = open();
    d->migrate({mig(1, "0001_p", "CREATE TABLE p (id BIGINT PRIMARY KEY); INSERT INTO p VALUES (1);")});
    try {
        d->write_sync([](db::tx& t) {
            t.exec("INSERT INTO p VALUES (?)", {std::int64_t{2}});
            try {
                t.exec("INSERT INTO p VALUES (?)", {std::int64_t{1}});
            } catch (const db::error&) {
                // On SQLite only that statement is undone; on PostgreSQL the whole transaction is.
            }
        });
        FAIL() << "COMMIT of an aborted transaction reported success";
    } catch (const db::error& e) {
        EXPECT_NE(std::string(e.what()).find("rolled back"), std::string::npos) << e.what();
    }
    std::int64_t rows = 0;
    d->read_sync([&](db::tx& t) { rows = *t.one_i64("SELECT COUNT(*) FROM p"); });
    EXPECT_EQ(rows, 1);
}

TEST_F(storage_postgres, deferred_statements_run_with_the_next_statement_or_the_commit) {
    auto d = open();
    d->migrate({mig(1, "0001_d",
                    "CREATE TABLE d (id BIGINT PRIMARY KEY, t TEXT); CREATE TABLE c (n BIGINT); INSERT INTO c VALUES (0);")});
    std::int64_t returned = 0, seen = -1;
    d->write_sync([&](db::tx& t) {
        std::string text = "x'? ü";
        t.exec_deferred("INSERT INTO d VALUES (?, ?)", {std::int64_t{1}, text});
        text = "changed";  // the parameters were copied
        t.exec_deferred("UPDATE c SET n = n + ? RETURNING n", {std::int64_t{5}},
                        [&](const db::row_view& r) { returned = r.i64(0); });
        seen = *t.one_i64("SELECT COUNT(*) FROM d");  // runs after them, in the same transaction
        t.exec_deferred("INSERT INTO d VALUES (?, ?)", {std::int64_t{2}, nullptr});
    });
    EXPECT_EQ(seen, 1);
    EXPECT_EQ(returned, 5);
    std::optional<std::string> first;
    std::int64_t rows = 0;
    d->read_sync([&](db::tx& t) {
        first = t.one_text("SELECT t FROM d WHERE id = 1");
        rows = *t.one_i64("SELECT COUNT(*) FROM d");
    });
    EXPECT_EQ(first, "x'? ü");
    EXPECT_EQ(rows, 2);

    // A deferred statement that fails makes the COMMIT throw its error, and nothing of the transaction stays.
    EXPECT_EQ(kind_of(*d,
                      [](db::tx& t) {
                          t.exec("UPDATE c SET n = 100");
                          t.exec_deferred("INSERT INTO d VALUES (?, 'dup')", {std::int64_t{1}});
                      }),
              db::error_kind::unique_violation);
    // Also when it is the transaction's only statement (BEGIN, it and COMMIT in one round trip), and when a later
    // statement runs it.
    EXPECT_EQ(kind_of(*d, [](db::tx& t) { t.exec_deferred("INSERT INTO d VALUES (?, 'dup')", {std::int64_t{2}}); }),
              db::error_kind::unique_violation);
    EXPECT_EQ(kind_of(*d,
                      [](db::tx& t) {
                          t.exec_deferred("INSERT INTO d VALUES (?, 'dup')", {std::int64_t{2}});
                          t.exec("UPDATE c SET n = 100");
                      }),
              db::error_kind::unique_violation);
    std::int64_t n = 0;
    d->read_sync([&](db::tx& t) {
        n = *t.one_i64("SELECT n FROM c");
        rows = *t.one_i64("SELECT COUNT(*) FROM d");
    });
    EXPECT_EQ(n, 5);
    EXPECT_EQ(rows, 2);
    // The connection is usable afterwards; an empty transaction commits nothing and needs no round trip.
    d->write_sync([](db::tx&) {});
    d->write_sync([](db::tx& t) { t.exec_deferred("INSERT INTO d VALUES (3, NULL)", {}); });
    d->read_sync([&](db::tx& t) { rows = *t.one_i64("SELECT COUNT(*) FROM d"); });
    EXPECT_EQ(rows, 3);
}

TEST_F(storage_postgres, applies_migrations_once_and_refuses_a_newer_database) {
    {
        auto d = open();
        std::vector<db::migration> all = {mig(1, "0001_a", "CREATE TABLE a (x BIGINT); INSERT INTO a VALUES (1);"),
                                          mig(2, "0002_b", "CREATE TABLE b (y TEXT);")};
        d->migrate(all);
        d->migrate(all);
        std::int64_t rows = 0, versions = 0;
        d->read_sync([&](db::tx& t) {
            rows = *t.one_i64("SELECT COUNT(*) FROM a");
            versions = *t.one_i64("SELECT COUNT(*) FROM schema_migrations");
        });
        EXPECT_EQ(rows, 1);
        EXPECT_EQ(versions, 2);
    }
    auto d = open();
    try {
        d->migrate({mig(1, "0001_a", "CREATE TABLE a (x BIGINT);")});
        FAIL() << "expected a refusal";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("newer than this happy-server binary"), std::string::npos) << e.what();
    }
    // A failing migration leaves nothing of itself behind.
    EXPECT_THROW(d->migrate({mig(1, "0001_a", ""), mig(2, "0002_b", ""),
                             mig(3, "0003_bad", "CREATE TABLE c (x BIGINT); THIS IS NOT SQL;")}),
                 std::runtime_error);
    std::int64_t tables = -1;
    d->read_sync([&](db::tx& t) { tables = *t.one_i64("SELECT COUNT(*) FROM pg_tables WHERE tablename = 'c'"); });
    EXPECT_EQ(tables, 0);
}

TEST_F(storage_postgres, instances_migrating_together_migrate_once) {
    // Each migration sleeps, so that without the advisory lock both instances would run it.
    std::vector<db::migration> all = {
        mig(1, "0001_a", "CREATE TABLE a (x BIGINT); SELECT pg_sleep(0.2); INSERT INTO a VALUES (1);"),
        mig(2, "0002_b", "INSERT INTO a VALUES (2); SELECT pg_sleep(0.1);")};
    std::atomic<int> failures{0};
    std::vector<std::thread> instances;
    for (int i = 0; i < 3; ++i) {
        instances.emplace_back([&] {
            try {
                auto d = open();
                d->migrate(all);
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
                ++failures;
            }
        });
    }
    for (auto& t : instances) {
        t.join();
    }
    EXPECT_EQ(failures.load(), 0);
    std::int64_t rows = 0, versions = 0;
    auto d = open();
    d->read_sync([&](db::tx& t) {
        rows = *t.one_i64("SELECT COUNT(*) FROM a");
        versions = *t.one_i64("SELECT COUNT(*) FROM schema_migrations");
    });
    EXPECT_EQ(rows, 2);
    EXPECT_EQ(versions, 2);
}

TEST_F(storage_postgres, a_lost_connection_is_replaced_and_a_transaction_it_broke_is_unavailable) {
    auto d = open(1);
    auto backend_pid = [&] {
        std::int64_t pid = 0;
        d->read_sync([&](db::tx& t) { pid = *t.one_i64("SELECT pg_backend_pid()"); });
        return pid;
    };
    auto terminate = [](std::int64_t pid) {
        // The server ends that backend (as a restart or failover would); the timeout waits until it is gone.
        happy::test::postgres_admin_exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ", 5000)");
    };
    // A read on a connection found dead runs again on a fresh one: the caller sees no error.
    std::int64_t pid = backend_pid();
    terminate(pid);
    std::int64_t new_pid = backend_pid();
    EXPECT_NE(new_pid, 0);
    EXPECT_NE(new_pid, pid);
    // So does a write whose BEGIN failed on a dead connection: nothing of it had reached the database.
    terminate(new_pid);
    bool ran = false;
    d->write_sync([&](db::tx& t) { ran = t.one_i64("SELECT 1") == 1; });
    EXPECT_TRUE(ran);
    // A transaction that loses its connection midway reports unavailable (it is not run again: its outcome is the
    // caller's to learn), and the next write gets a fresh connection.
    EXPECT_EQ(kind_of(*d,
                      [&](db::tx& t) {
                          terminate(*t.one_i64("SELECT pg_backend_pid()"));
                          t.exec("SELECT 1");
                      }),
              db::error_kind::unavailable);
    ran = false;
    d->write_sync([&](db::tx& t) { ran = t.one_i64("SELECT 1") == 1; });
    EXPECT_TRUE(ran);
}

namespace {
boost::asio::awaitable<void> bump(db::database& d, std::atomic<int>& done) {
    co_await d.write([](db::tx& t) { t.exec("UPDATE counter SET n = n + 1"); });
    ++done;
}

/// Inserts row `id` with write_keyed (deferred, recording its transaction id); `id` < 0 inserts row 0 again.
boost::asio::awaitable<void> keyed_insert(db::database& d, std::int64_t id, std::atomic<int>& ok,
                                          std::atomic<int>& failed) {
    try {
        co_await d.write_keyed("k", [id](db::tx& t) {
            t.exec_deferred("INSERT INTO k VALUES (?, txid_current())", {id < 0 ? std::int64_t{0} : id});
        });
        ++ok;
    } catch (const db::error& e) {
        if (e.kind == db::error_kind::unique_violation) {
            ++failed;
        }
    }
}
}  // namespace

TEST_F(storage_postgres, keyed_writes_queued_together_share_one_transaction_and_a_failing_one_fails_alone) {
    auto d = open(2);
    d->migrate({mig(1, "0001_k", "CREATE TABLE k (id BIGINT PRIMARY KEY, tx BIGINT NOT NULL);")});
    auto run = [&](std::vector<std::int64_t> ids, std::atomic<int>& ok, std::atomic<int>& failed) {
        boost::asio::io_context ioc(1);
        for (auto id : ids) {
            boost::asio::co_spawn(ioc, keyed_insert(*d, id, ok, failed), boost::asio::detached);
        }
        ioc.run();
    };
    // 40 at once for one key: the first runs alone, the ones queued meanwhile together.
    std::atomic<int> ok{0}, failed{0};
    std::vector<std::int64_t> ids;
    for (std::int64_t i = 0; i < 40; ++i) {
        ids.push_back(i);
    }
    run(ids, ok, failed);
    EXPECT_EQ(ok.load(), 40);
    std::int64_t rows = 0, transactions = 0;
    d->read_sync([&](db::tx& t) {
        rows = *t.one_i64("SELECT COUNT(*) FROM k");
        transactions = *t.one_i64("SELECT COUNT(DISTINCT tx) FROM k");
    });
    EXPECT_EQ(rows, 40);
    EXPECT_LT(transactions, 40) << "no two keyed writes shared a transaction";
    // One of a group violates the primary key: it alone fails, the others commit.
    ok = 0;
    failed = 0;
    run({100, 101, 102, -1, 103, 104}, ok, failed);
    EXPECT_EQ(ok.load(), 5);
    EXPECT_EQ(failed.load(), 1);
    d->read_sync([&](db::tx& t) { rows = *t.one_i64("SELECT COUNT(*) FROM k"); });
    EXPECT_EQ(rows, 45);
}

namespace {
/// Runs each function with write_keyed("k") and returns each one's outcome: -1 for success, else its db::error_kind.
/// The first starts at once; the others 50 ms later, together, so that they queue up behind the first (which must
/// take longer) and run as one group.
std::vector<int> keyed_outcomes(db::database& d, const std::vector<std::function<void(db::tx&)>>& fns) {
    std::vector<int> out(fns.size(), -2);
    boost::asio::io_context ioc(1);
    for (std::size_t i = 0; i < fns.size(); ++i) {
        boost::asio::co_spawn(
            ioc,
            [&d, &fns, &out, i]() -> boost::asio::awaitable<void> {
                if (i > 0) {
                    boost::asio::steady_timer wait(co_await boost::asio::this_coro::executor,
                                                   std::chrono::milliseconds(50));
                    co_await wait.async_wait(boost::asio::use_awaitable);
                }
                try {
                    co_await d.write_keyed("k", fns[i]);
                    out[i] = -1;
                } catch (const db::error& e) {
                    out[i] = static_cast<int>(e.kind);
                }
            },
            boost::asio::detached);
    }
    ioc.run();
    return out;
}
}  // namespace

TEST_F(storage_postgres, a_keyed_group_refused_for_a_serialization_failure_runs_each_write_again_alone) {
    auto d = open(2);
    d->migrate({mig(1, "0001_k",
                    "CREATE TABLE k (id BIGINT PRIMARY KEY);"
                    "CREATE FUNCTION conflict() RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
                    "RAISE EXCEPTION 'simulated conflict' USING ERRCODE = 'serialization_failure'; END $$;")});
    std::atomic<int> conflicts{0};
    auto insert = [](std::int64_t id) {
        return [id](db::tx& t) { t.exec_deferred("INSERT INTO k VALUES (?)", {id}); };
    };
    // The first holds the key (the others queue up meanwhile and form a group); one of the group conflicts twice.
    auto out = keyed_outcomes(*d, {[](db::tx& t) { t.exec_deferred("SELECT pg_sleep(0.3)", {}); }, insert(1), insert(2),
                                   [&](db::tx& t) {
                                       if (conflicts++ < 2) {
                                           t.exec_deferred("SELECT conflict()", {});
                                       }
                                       t.exec_deferred("INSERT INTO k VALUES (3)", {});
                                   },
                                   insert(4)});
    EXPECT_EQ(out, std::vector<int>(5, -1));
    EXPECT_EQ(conflicts.load(), 3) << "the group's run, then alone: one retry";
    std::int64_t rows = 0;
    d->read_sync([&](db::tx& t) { rows = *t.one_i64("SELECT COUNT(*) FROM k"); });
    EXPECT_EQ(rows, 4);
}

TEST_F(storage_postgres, a_keyed_group_that_lost_its_connection_midway_is_not_run_again) {
    auto d = open(2);
    d->migrate({mig(1, "0001_k", "CREATE TABLE k (id BIGINT PRIMARY KEY);")});
    std::atomic<int> runs{0};
    auto insert = [&](std::int64_t id) {
        return [&runs, id](db::tx& t) {
            ++runs;
            t.exec_deferred("INSERT INTO k VALUES (?)", {id});
        };
    };
    // The group's outcome is unknown to the server's client once its connection is gone (had the COMMIT been sent,
    // it might have been applied): every member reports unavailable, none runs again.
    auto out = keyed_outcomes(
        *d, {[](db::tx& t) { t.exec_deferred("SELECT pg_sleep(0.3)", {}); }, insert(1), insert(2),
             [](db::tx& t) {
                 auto pid = *t.one_i64("SELECT pg_backend_pid()");
                 happy::test::postgres_admin_exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ", 5000)");
                 t.exec("SELECT 1");
             },
             insert(4)});
    auto unavailable = static_cast<int>(db::error_kind::unavailable);
    EXPECT_EQ(out, (std::vector<int>{-1, unavailable, unavailable, unavailable, unavailable}));
    EXPECT_EQ(runs.load(), 2) << "the members before the failure ran once (in the group), none again";
    std::int64_t rows = -1;
    d->read_sync([&](db::tx& t) { rows = *t.one_i64("SELECT COUNT(*) FROM k"); });
    EXPECT_EQ(rows, 0);
}

TEST_F(storage_postgres, concurrent_writes_on_the_pool_all_commit) {
    auto d = open(4);
    d->migrate({mig(1, "0001_c", "CREATE TABLE counter (n BIGINT NOT NULL); INSERT INTO counter VALUES (0);")});
    boost::asio::io_context ioc(2);
    std::atomic<int> done{0};
    constexpr int jobs = 200;
    for (int i = 0; i < jobs; ++i) {
        boost::asio::co_spawn(ioc, bump(*d, done), boost::asio::detached);
    }
    std::thread t([&] { ioc.run(); });
    ioc.run();
    t.join();
    EXPECT_EQ(done.load(), jobs);
    std::int64_t n = 0;
    d->read_sync([&](db::tx& t) { n = *t.one_i64("SELECT n FROM counter"); });
    EXPECT_EQ(n, jobs);
}

TEST_F(storage_postgres, global_lock_is_released_even_when_the_work_throws) {
    auto b1 = pg::make_backend({url_});
    auto b2 = pg::make_backend({url_});
    auto c1 = b1->open();
    auto c2 = b2->open();
    EXPECT_THROW(b1->with_global_lock(*c1, "test", [] { throw std::runtime_error("boom"); }), std::runtime_error);
    bool ran = false;
    b2->with_global_lock(*c2, "test", [&] {  // would block forever if c1 still held it
        std::optional<std::int64_t> got;
        c2->query("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()", {},
                  [&](const db::row_view& r) { got = r.i64(0); });
        ran = got == 1;
    });
    EXPECT_TRUE(ran);
}

TEST_F(storage_postgres, refuses_a_database_holding_another_applications_tables) {
    {
        auto b = pg::make_backend({url_});
        auto c = b->open();
        c->exec_script(R"(CREATE TABLE "_prisma_migrations" (id TEXT); CREATE TABLE "Account" (id TEXT);)");
    }
    try {
        open();
        FAIL() << "opened a database of another application";
    } catch (const std::runtime_error& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("Account"), std::string::npos) << what;
        EXPECT_NE(what.find("Prisma"), std::string::npos) << what;
        EXPECT_NE(what.find("refusing to mix schemas"), std::string::npos) << what;
    }
}

std::string connect_error(const std::string& url) {
    try {
        auto b = pg::make_backend({url, 5});
        b->open();
    } catch (const db::error& e) {
        EXPECT_EQ(e.kind, db::error_kind::unavailable);
        return e.what();
    }
    ADD_FAILURE() << "connected to " << url;
    return {};
}

/// The server's URL with another password, database or port (the test cluster's URL is postgresql://u:p@h:port/db).
std::string variant(std::string url, std::string_view password, std::string_view dbname, std::string_view port = {}) {
    auto scheme_end = url.find("://") + 3;
    auto colon = url.find(':', scheme_end), at = url.find('@');
    if (!password.empty()) {
        url.replace(colon + 1, at - colon - 1, password);
        at = url.find('@');
    }
    auto port_colon = url.find(':', at), slash = url.find('/', at);
    if (!port.empty()) {
        url.replace(port_colon + 1, slash - port_colon - 1, port);
        slash = url.find('/', at);
    }
    if (!dbname.empty()) {
        auto q = url.find('?', slash);
        url.replace(slash + 1, (q == std::string::npos ? url.size() : q) - slash - 1, dbname);
    }
    return url;
}

TEST_F(storage_postgres, connection_failures_are_one_clear_line_without_the_password) {
    const auto& server = happy::test::postgres_server_url();
    ASSERT_TRUE(server.starts_with("postgresql://")) << "these checks edit a URI: " << server;
    std::string bad_password = connect_error(variant(server, "not-the-password", ""));
    EXPECT_NE(bad_password.find("password authentication failed"), std::string::npos) << bad_password;
    EXPECT_NE(bad_password.find(":***@"), std::string::npos) << bad_password;
    EXPECT_EQ(bad_password.find("not-the-password"), std::string::npos) << bad_password;
    std::string missing = connect_error(variant(server, "", "no_such_db"));
    EXPECT_NE(missing.find("database \"no_such_db\" does not exist"), std::string::npos) << missing;
    EXPECT_NE(missing.find("create it first"), std::string::npos) << missing;
    // Port 1 on loopback: nothing listens there.
    std::string refused = connect_error(variant(server, "", "", "1"));
    EXPECT_NE(refused.find("Connection refused"), std::string::npos) << refused;
    EXPECT_NE(refused.find("cannot connect to PostgreSQL at postgresql://"), std::string::npos) << refused;
    for (const auto& m : {bad_password, missing, refused}) {
        EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
}

/// Runs `sql` on a fresh connection to `url` and returns the first column as text.
std::string ask(const std::string& url, std::string_view sql) {
    auto b = pg::make_backend({url});
    auto c = b->open();
    std::string out;
    c->query(sql, {}, [&](const db::row_view& r) { out = r.str(0); });
    return out;
}

TEST_F(storage_postgres, uri_parameters_reach_libpq_and_tls_works) {
    const auto& server = happy::test::postgres_server_url();
    ASSERT_TRUE(server.starts_with("postgresql://")) << "these checks edit a URI: " << server;
    constexpr std::string_view is_tls = "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    // The test cluster serves TLS (scripts/pg_test_cluster.sh): the OpenSSL linked into the binary and libpq's
    // must get along.
    EXPECT_EQ(ask(server + "?sslmode=require", is_tls), "true");
    EXPECT_EQ(ask(server + "?sslmode=disable", is_tls), "false");
    EXPECT_EQ(ask(server + "?application_name=from-url", "SELECT current_setting('application_name')"), "from-url");
    EXPECT_EQ(ask(server, "SELECT current_setting('application_name')"), "happy-server");
    // postgres:// is libpq's other scheme.
    EXPECT_EQ(ask("postgres://" + server.substr(std::string("postgresql://").size()), "SELECT 'ok'"), "ok");
    // verify-full needs a root certificate the test has not given: libpq's reason comes through.
    std::string no_root = connect_error(server + "?sslmode=verify-full&sslrootcert=/nonexistent/root.crt");
    EXPECT_NE(no_root.find("root certificate"), std::string::npos) << no_root;
}

TEST_F(storage_postgres, describe_masks_the_password) {
    auto d = open();
    EXPECT_EQ(d->describe().find(url_.substr(url_.find("password='") + 10, 6)), std::string::npos) << d->describe();
    EXPECT_NE(d->describe().find("***"), std::string::npos) << d->describe();
}

/// Every embedded migration name of one dialect (sql/<dialect>/NNNN_name.sql → NNNN_name), in order.
std::vector<std::string> migration_names(std::string_view dialect) {
    std::vector<std::string> out;
    std::string prefix = "sql/" + std::string(dialect) + "/";
    for (const auto& r : happy::resources()) {
        if (r.name.starts_with(prefix) && r.name.ends_with(".sql")) {
            out.emplace_back(r.name.substr(prefix.size(), r.name.size() - prefix.size() - 4));
        }
    }
    return out;
}

std::vector<db::migration> all_migrations(std::string_view dialect) {
    std::vector<db::migration> out;
    for (const auto& name : migration_names(dialect)) {
        int version = 0;
        std::from_chars(name.data(), name.data() + name.size(), version);
        out.push_back({version, name, "test",
                       std::string(*happy::resource_text("sql/" + std::string(dialect) + "/" + name + ".sql"))});
    }
    return out;
}

using schema_shape = std::map<std::string, std::set<std::string>>;  // table -> columns; "index:" -> index names

TEST_F(storage_postgres, the_postgres_schema_has_the_sqlite_schemas_tables_columns_and_indexes) {
    EXPECT_EQ(migration_names("postgres"), migration_names("sqlite"));
    auto d = open();
    d->migrate(all_migrations("postgres"));
    schema_shape pg_shape;
    d->read_sync([&](db::tx& t) {
        t.query("SELECT table_name::text, column_name::text FROM information_schema.columns "
                "WHERE table_schema = current_schema()",
                {}, [&](const db::row_view& r) { pg_shape[r.str(0)].insert(r.str(1)); });
        // Indexes declared with CREATE INDEX (constraint indexes are named by PostgreSQL, differently from SQLite).
        t.query("SELECT i.relname::text FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "JOIN pg_namespace n ON n.oid = i.relnamespace WHERE n.nspname = current_schema() "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
                {}, [&](const db::row_view& r) { pg_shape["index:"].insert(r.str(0)); });
    });
#ifdef HAPPY_HAVE_STORAGE_SQLITE
    auto dir = std::filesystem::temp_directory_path() / ("happy-pg-shape-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    schema_shape sqlite_shape;
    {
        db::database s(happy::plugin::storage_sqlite::make_backend({(dir / "s.sqlite").string()}), 1);
        s.migrate(all_migrations("sqlite"));
        s.read_sync([&](db::tx& t) {
            t.query("SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p "
                    "WHERE m.type = 'table'",
                    {}, [&](const db::row_view& r) { sqlite_shape[r.str(0)].insert(r.str(1)); });
            t.query("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL", {},
                    [&](const db::row_view& r) { sqlite_shape["index:"].insert(r.str(0)); });
        });
    }
    std::filesystem::remove_all(dir);
    EXPECT_EQ(pg_shape, sqlite_shape);
#else
    EXPECT_TRUE(pg_shape.count("account"));
#endif
}

TEST(storage_postgres_config, database_url_selects_postgres_over_the_file) {
    using happy::config::get_int;
    using happy::config::get_string;
    const auto reg = happy::plugin::storage_postgres::register_plugin;
    auto plain = happy::test::load_plugin_config(reg, {});
    EXPECT_EQ(get_string(plain, "storage.postgres.url"), "");
    EXPECT_EQ(get_int(plain, "storage.postgres.pool_size"), 4);
    EXPECT_EQ(get_int(plain, "storage.postgres.connect_timeout_s"), 10);
    auto cfg = happy::test::load_plugin_config(reg, {{"DATABASE_URL", "postgresql://u:p@db:5432/happy?sslmode=require"}},
                                               R"({"storage": {"kind": "sqlite", "postgres": {"pool_size": 3}}})");
    EXPECT_EQ(get_string(cfg, "storage.kind"), "postgres");
    EXPECT_EQ(get_string(cfg, "storage.postgres.url"), "postgresql://u:p@db:5432/happy?sslmode=require");
    EXPECT_EQ(get_int(cfg, "storage.postgres.pool_size"), 3);
    EXPECT_EQ(get_string(happy::test::load_plugin_config(reg, {{"DATABASE_URL", ""}}), "storage.kind"), "sqlite");
}

}  // namespace
