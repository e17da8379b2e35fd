#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/db/database.hpp"
#include "plugins/storage_sqlite/storage_sqlite_plugin.hpp"

namespace {

namespace fs = std::filesystem;

struct temp_dir {
    fs::path path;
    temp_dir() {
        path = fs::temp_directory_path() / ("happy-sqlite-test-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(path);
    }
    ~temp_dir() { fs::remove_all(path); }
};

happy::db::migration mig(int v, std::string name, std::string sql) {
    return {v, std::move(name), "test", std::move(sql)};
}

TEST(storage_sqlite, applies_migrations_once_and_records_them) {
    temp_dir dir;
    auto path = (dir.path / "t.sqlite").string();
    {
        happy::db::database db(happy::plugin::storage_sqlite::make_backend({path}), 1);
        db.migrate({mig(1, "0001_a", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);"),
                    mig(2, "0002_b", "CREATE TABLE b (y TEXT);")});
        db.migrate({mig(1, "0001_a", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);"),
                    mig(2, "0002_b", "CREATE TABLE b (y TEXT);")});
        std::int64_t rows = 0, versions = 0;
        db.read_sync([&](happy::db::tx& t) {
            rows = t.one_i64("SELECT COUNT(*) FROM a").value_or(-1);
            versions = t.one_i64("SELECT COUNT(*) FROM schema_migrations").value_or(-1);
        });
        EXPECT_EQ(rows, 1);  // the second migrate() did not re-run 0001
        EXPECT_EQ(versions, 2);
    }
}

TEST(storage_sqlite, refuses_a_database_newer_than_the_binary) {
    temp_dir dir;
    auto path = (dir.path / "t.sqlite").string();
    {
        happy::db::database db(happy::plugin::storage_sqlite::make_backend({path}), 1);
        db.migrate({mig(1, "0001_a", "CREATE TABLE a (x INTEGER);"), mig(2, "0002_b", "CREATE TABLE b (y TEXT);")});
    }
    happy::db::database db(happy::plugin::storage_sqlite::make_backend({path}), 1);
    try {
        db.migrate({mig(1, "0001_a", "CREATE TABLE a (x INTEGER);")});
        FAIL() << "expected a refusal";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("newer than this happy-server binary"), std::string::npos) << e.what();
    }
}

TEST(storage_sqlite, failed_migration_leaves_nothing_behind) {
    temp_dir dir;
    auto path = (dir.path / "t.sqlite").string();
    happy::db::database db(happy::plugin::storage_sqlite::make_backend({path}), 1);
    EXPECT_THROW(db.migrate({mig(1, "0001_bad", "CREATE TABLE c (x INTEGER); THIS IS NOT SQL;")}), std::runtime_error);
    std::int64_t tables = -1;
    db.read_sync(
        [&](happy::db::tx& t) { tables = *t.one_i64("SELECT COUNT(*) FROM sqlite_master WHERE name = 'c'"); });
    EXPECT_EQ(tables, 0);
}

TEST(storage_sqlite, enables_wal_and_foreign_keys) {
    temp_dir dir;
    auto path = (dir.path / "t.sqlite").string();
    happy::db::database db(happy::plugin::storage_sqlite::make_backend({path}), 1);
    std::string mode;
    std::int64_t fk = 0;
    db.read_sync([&](happy::db::tx& t) {
        mode = t.one_text("PRAGMA journal_mode").value_or("");
        fk = t.one_i64("PRAGMA foreign_keys").value_or(0);
    });
    EXPECT_EQ(mode, "wal");
    EXPECT_EQ(fk, 1);
}

}  // namespace

namespace {

struct query_row {
    std::int64_t n;
    std::string t;
    std::optional<std::string> b;
};

std::vector<query_row> select_all(happy::db::tx& t) {
    std::vector<query_row> out;
    t.query("SELECT n, t, b FROM q WHERE n >= ? ORDER BY n", {std::int64_t{0}}, [&](const happy::db::row_view& r) {
        out.push_back({r.i64(0), std::string(r.text(1)), r.opt_bytes(2)});
    });
    return out;
}

}  // namespace

TEST(storage_sqlite, cached_queries_bind_every_parameter_kind_and_read_views) {
    temp_dir dir;
    happy::db::database db(happy::plugin::storage_sqlite::make_backend({(dir.path / "t.sqlite").string()}), 1);
    db.migrate({mig(1, "0001_q", "CREATE TABLE q (n BIGINT, t TEXT, b BLOB);")});
    std::string bytes(
        "\x00\x01\xff"
        "ab",
        5);
    std::int64_t inserted = 0, updated = 0, selected = 0;
    db.write_sync([&](happy::db::tx& t) {
        for (int i = 0; i < 3; ++i) {  // the same SQL text three times: one cached statement, re-bound each time
            inserted += t.query("INSERT INTO q (n, t, b) VALUES (?, ?, ?)",
                                 {std::int64_t{i}, std::string_view("t'\"" + std::to_string(i)),
                                  happy::db::blob{bytes.substr(0, static_cast<std::size_t>(i) + 3)}});
        }
        inserted +=
            t.query("INSERT INTO q (n, t, b) VALUES (?, ?, ?)", {std::int64_t{9007199254740993LL}, "", nullptr});
        inserted +=
            t.query("INSERT INTO q (n, t, b) VALUES (?, ?, ?)", {std::int64_t{-1}, "empty", happy::db::blob{}});
        updated = t.query("UPDATE q SET t = ? WHERE n < ?", {"low", std::int64_t{2}});
        selected = t.query("SELECT COUNT(*) FROM q", {});
    });
    EXPECT_EQ(inserted, 5);
    EXPECT_EQ(updated, 3);   // n = -1, 0, 1
    EXPECT_EQ(selected, 0);  // a SELECT changes nothing
    {
        std::vector<query_row> rows;
        db.read_sync([&](happy::db::tx& t) { rows = select_all(t); });
        ASSERT_EQ(rows.size(), 4u);
        EXPECT_EQ(rows[0].n, 0);
        EXPECT_EQ(rows[0].t, "low");
        EXPECT_EQ(rows[2].t, "t'\"2");
        EXPECT_EQ(rows[3].n, 9007199254740993LL);
        EXPECT_EQ(rows[3].t, "");
        EXPECT_FALSE(rows[3].b);
        EXPECT_EQ(*rows[0].b, bytes.substr(0, 3));
        EXPECT_EQ(*rows[2].b, bytes);
    }
    std::string empty_type;
    db.read_sync([&](happy::db::tx& t) {
        t.query("SELECT typeof(b) FROM q WHERE n = -1", {},
                 [&](const happy::db::row_view& r) { empty_type = r.text(0); });
    });
    EXPECT_EQ(empty_type, "blob");  // an empty blob stays a blob, not NULL
}

TEST(storage_sqlite, a_query_reentered_from_its_own_row_callback_and_errors_leave_the_statement_usable) {
    temp_dir dir;
    happy::db::database db(happy::plugin::storage_sqlite::make_backend({(dir.path / "t.sqlite").string()}), 1);
    db.migrate({mig(1, "0001_q", "CREATE TABLE q (n INTEGER PRIMARY KEY); INSERT INTO q VALUES (1), (2), (3);")});
    constexpr std::string_view sql = "SELECT n FROM q WHERE n >= ? ORDER BY n";
    std::vector<std::int64_t> pairs;
    db.read_sync([&](happy::db::tx& t) {
        t.query(sql, {std::int64_t{2}}, [&](const happy::db::row_view& outer) {
            std::int64_t o = outer.i64(0);
            t.query(sql, {o}, [&](const happy::db::row_view& inner) { pairs.push_back(o * 10 + inner.i64(0)); });
        });
    });
    EXPECT_EQ(pairs, (std::vector<std::int64_t>{22, 23, 33}));
    try {
        db.write_sync([&](happy::db::tx& t) { t.query("INSERT INTO q VALUES (?)", {std::int64_t{1}}); });
        FAIL() << "expected a primary key violation";
    } catch (const happy::db::error& e) {
        EXPECT_EQ(e.kind, happy::db::error_kind::unique_violation) << e.what();
    }
    EXPECT_THROW(db.read_sync([&](happy::db::tx& t) { t.query("SELEC nonsense", {}); }), happy::db::error);
    std::int64_t count = 0;
    db.read_sync(
        [&](happy::db::tx& t) { t.query(sql, {std::int64_t{0}}, [&](const happy::db::row_view&) { ++count; }); });
    EXPECT_EQ(count, 3);
}

TEST(storage_sqlite, deferred_statements_run_at_once) {
    // SQLite has no round trip to save: exec_deferred is exec, its callback runs before it returns.
    temp_dir dir;
    happy::db::database db(happy::plugin::storage_sqlite::make_backend({(dir.path / "t.sqlite").string()}), 1);
    db.migrate({mig(1, "0001_d", "CREATE TABLE d (n INTEGER PRIMARY KEY);")});
    std::int64_t returned = 0, seen = -1;
    db.write_sync([&](happy::db::tx& t) {
        t.exec_deferred("INSERT INTO d VALUES (?) RETURNING n", {std::int64_t{7}},
                        [&](const happy::db::row_view& r) { returned = r.i64(0); });
        seen = returned;
    });
    EXPECT_EQ(seen, 7);
    try {
        db.write_sync([&](happy::db::tx& t) { t.exec_deferred("INSERT INTO d VALUES (?)", {std::int64_t{7}}); });
        FAIL() << "expected a primary key violation";
    } catch (const happy::db::error& e) {
        EXPECT_EQ(e.kind, happy::db::error_kind::unique_violation) << e.what();
    }
}

namespace {

boost::asio::awaitable<void> insert_row(happy::db::database& db, int n, bool fail, std::atomic<int>& ok,
                                        std::atomic<int>& failed) {
    try {
        co_await db.write([&](happy::db::tx& t) {
            t.query("INSERT INTO g (n) VALUES (?)", {std::int64_t{n}});
            if (fail) {
                throw std::runtime_error("job " + std::to_string(n) + " fails after its insert");
            }
        });
        ++ok;
    } catch (const std::runtime_error& e) {
        if (std::string(e.what()).find("fails after its insert") != std::string::npos) {
            ++failed;
        }
    }
}

}  // namespace

TEST(storage_sqlite, concurrent_writes_commit_in_groups_and_a_failing_one_is_rolled_back_alone) {
    temp_dir dir;
    happy::db::database db(happy::plugin::storage_sqlite::make_backend({(dir.path / "t.sqlite").string()}), 2);
    db.migrate({mig(1, "0001_g", "CREATE TABLE g (n INTEGER PRIMARY KEY);")});
    boost::asio::io_context ioc(2);
    std::atomic<int> ok{0}, failed{0};
    constexpr int jobs = 400;
    for (int i = 0; i < jobs; ++i) {
        // Every 7th job throws after inserting; job 399 violates the primary key of job 0.
        int n = i == jobs - 1 ? 0 : i;
        boost::asio::co_spawn(ioc, insert_row(db, n, i % 7 == 3, ok, failed), boost::asio::detached);
    }
    std::thread t([&] { ioc.run(); });
    ioc.run();
    t.join();
    int expected_failed = 0;
    for (int i = 0; i < jobs; ++i) {
        expected_failed += i % 7 == 3 ? 1 : 0;
    }
    EXPECT_EQ(failed.load(), expected_failed);
    EXPECT_EQ(ok.load(), jobs - expected_failed - 1);  // the duplicate key fails with a database error
    std::int64_t rows = 0, bad = 0;
    db.read_sync([&](happy::db::tx& t) {
        t.query("SELECT COUNT(*) FROM g", {}, [&](const happy::db::row_view& r) { rows = r.i64(0); });
        t.query("SELECT COUNT(*) FROM g WHERE n % 7 = 3", {},
                 [&](const happy::db::row_view& r) { bad = r.i64(0); });
    });
    EXPECT_EQ(rows, ok.load());
    EXPECT_EQ(bad, 0);  // no failed job left a row behind
}

// The database is opened through a file: URI (to pick the VFS); characters that mean something in a URI must still
// name the file literally.
TEST(storage_sqlite, opens_a_path_with_uri_characters_literally) {
    temp_dir dir;
    for (bool exclusive : {true, false}) {
        auto path = dir.path / (exclusive ? "a?b#c %41 excl.sqlite" : "a?b#c %41 shared.sqlite");
        happy::plugin::storage_sqlite::options o{path.string()};
        o.exclusive = exclusive;
        {
            happy::db::database db(happy::plugin::storage_sqlite::make_backend(o), 1);
            db.migrate({mig(1, "0001_a", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (7);")});
            std::int64_t x = 0;
            db.read_sync([&](happy::db::tx& t) { x = *t.one_i64("SELECT x FROM a"); });
            EXPECT_EQ(x, 7);
        }
        EXPECT_TRUE(fs::exists(path)) << path;
    }
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir.path)) {
        files += e.path().extension() == ".sqlite";
    }
    EXPECT_EQ(files, 2u);  // nothing created under a truncated or decoded name
}

namespace {

/// Opens a backup copy the way any tool would (plain sqlite3 through another backend, not exclusive).
std::unique_ptr<happy::db::database> open_copy(const fs::path& p) {
    happy::plugin::storage_sqlite::options o{p.string()};
    o.exclusive = false;
    return std::make_unique<happy::db::database>(happy::plugin::storage_sqlite::make_backend(o), 1);
}

}  // namespace

// The online backup: taken while another thread keeps committing, the copy holds at least every row committed
// before it started, is sound, is one self-contained file (no WAL), owner-only, and carries its metadata.
TEST(storage_sqlite, backup_under_writes_holds_every_row_committed_before_it) {
    temp_dir dir;
    auto path = (dir.path / "live.sqlite").string();
    happy::db::database db(happy::plugin::storage_sqlite::make_backend({path}), 2);
    db.migrate({mig(1, "0001_a", "CREATE TABLE m (n INTEGER PRIMARY KEY, body TEXT NOT NULL)")});
    std::atomic<std::int64_t> committed{0};
    std::atomic<bool> stop{false};
    std::thread writer([&] {
        for (std::int64_t n = 1; !stop; ++n) {
            db.write_sync([&](happy::db::tx& t) { t.exec("INSERT INTO m (n, body) VALUES (?, ?)", {n, std::string(200, 'x')}); });
            committed = n;
        }
    });
    while (committed < 2000) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::int64_t before = committed;
    auto dest = dir.path / "copy.sqlite";
    auto r = db.backup_to_sync(dest.string(), {{"format", "test"}, {"master_secret", "s3"}});
    std::int64_t after = committed;
    stop = true;
    writer.join();
    EXPECT_EQ(r.integrity, "ok");
    EXPECT_EQ(r.path, fs::absolute(dest).string());
    EXPECT_EQ(r.bytes, fs::file_size(dest));
    EXPECT_EQ(fs::status(dest).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_FALSE(fs::exists(dest.string() + "-wal"));
    for (const auto& e : fs::directory_iterator(dir.path)) {
        EXPECT_EQ(e.path().string().find(".tmp-"), std::string::npos) << "temporary left: " << e.path();
    }
    auto copy = open_copy(dest);
    std::int64_t rows = 0, max = 0;
    std::string secret, mode;
    copy->read_sync([&](happy::db::tx& t) {
        rows = *t.one_i64("SELECT COUNT(*) FROM m");
        max = *t.one_i64("SELECT MAX(n) FROM m");
        secret = *t.one_text("SELECT value FROM happy_backup WHERE key = 'master_secret'");
    });
    EXPECT_GE(max, before) << "every row committed before the backup began is in it";
    EXPECT_LE(max, after);
    EXPECT_EQ(rows, max) << "a consistent snapshot: no gaps";
    EXPECT_EQ(secret, "s3");
}

TEST(storage_sqlite, backup_to_an_unwritable_place_fails_and_leaves_nothing) {
    temp_dir dir;
    happy::db::database db(happy::plugin::storage_sqlite::make_backend({(dir.path / "t.sqlite").string()}), 1);
    db.migrate({mig(1, "0001_a", "CREATE TABLE a (x INTEGER)")});
    EXPECT_THROW(db.backup_to_sync((dir.path / "no" / "such" / "dir.sqlite").string(), {}), std::exception);
    EXPECT_EQ(db.file_path(), (dir.path / "t.sqlite").string());
}

// An upgrade (migrations to apply to a database that has some) writes a snapshot beside the file first, keeps the
// configured number, and a fresh database gets none.
TEST(storage_sqlite, upgrades_write_a_snapshot_first_and_keep_the_configured_number) {
    temp_dir dir;
    auto path = (dir.path / "happy.sqlite").string();
    auto snapshots = [&] {
        std::vector<fs::path> out;
        for (const auto& e : fs::directory_iterator(dir.path)) {
            if (e.path().filename().string().starts_with("happy.sqlite.pre-upgrade-")) {
                out.push_back(e.path());
            }
        }
        std::sort(out.begin(), out.end());
        return out;
    };
    auto open = [&](int keep) {
        happy::plugin::storage_sqlite::options o{path};
        o.upgrade_snapshots = keep;
        return std::make_unique<happy::db::database>(happy::plugin::storage_sqlite::make_backend(o), 1);
    };
    std::vector<happy::db::migration> v1{mig(1, "0001_a", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);")};
    auto v2 = v1;
    v2.push_back(mig(2, "0002_b", "CREATE TABLE b (y INTEGER);"));
    auto v3 = v2;
    v3.push_back(mig(3, "0003_c", "CREATE TABLE c (z INTEGER);"));
    open(2)->migrate(v1);
    EXPECT_TRUE(snapshots().empty()) << "a fresh database needs no way back";
    open(2)->migrate(v1);
    EXPECT_TRUE(snapshots().empty()) << "nothing to apply, no snapshot";
    open(1)->migrate(v2);
    auto s = snapshots();
    ASSERT_EQ(s.size(), 1u);
    EXPECT_NE(s[0].filename().string().find("-v1.sqlite"), std::string::npos) << s[0];
    {
        auto copy = open_copy(s[0]);
        std::int64_t version = 0, has_b = 0;
        copy->read_sync([&](happy::db::tx& t) {
            version = *t.one_i64("SELECT MAX(version) FROM schema_migrations");
            has_b = *t.one_i64("SELECT COUNT(*) FROM sqlite_master WHERE name = 'b'");
        });
        EXPECT_EQ(version, 1) << "the snapshot is the database before the migration";
        EXPECT_EQ(has_b, 0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // distinct timestamps
    open(1)->migrate(v3);
    s = snapshots();
    ASSERT_EQ(s.size(), 1u) << "upgrade_snapshots 1 keeps only the newest";
    EXPECT_NE(s[0].filename().string().find("-v2.sqlite"), std::string::npos) << s[0];
    // 0: upgrades without a snapshot.
    auto v4 = v3;
    v4.push_back(mig(4, "0004_d", "CREATE TABLE d (w INTEGER);"));
    open(0)->migrate(v4);
    EXPECT_EQ(snapshots().size(), 1u);
}

namespace {

std::uint64_t count_of(const std::atomic<std::uint64_t>* c) { return c->load(std::memory_order_acquire); }

}  // namespace

// The change counters (core/db/change_watch.hpp): a watched table's count moves once per committed transaction that
// changed it (also through a trigger), not for other tables, not for a rollback; and only when the process owns
// the file.
TEST(storage_sqlite, counts_committed_changes_of_watched_tables_including_trigger_writes) {
    temp_dir dir;
    happy::db::database db(happy::plugin::storage_sqlite::make_backend({(dir.path / "t.sqlite").string()}), 2);
    db.migrate({mig(1, "0001_w",
                    "CREATE TABLE item (n INTEGER PRIMARY KEY, owner TEXT NOT NULL);"
                    "CREATE TABLE item_version (owner TEXT PRIMARY KEY, version BIGINT NOT NULL);"
                    "CREATE TABLE other (n INTEGER PRIMARY KEY);"
                    "CREATE TRIGGER item_ins AFTER INSERT ON item BEGIN "
                    "INSERT INTO item_version (owner, version) VALUES (NEW.owner, 1) "
                    "ON CONFLICT (owner) DO UPDATE SET version = version + 1; END;")});
    const auto* versions = db.watch_changes("item_version");
    const auto* others = db.watch_changes("other");
    ASSERT_NE(versions, nullptr);
    ASSERT_NE(others, nullptr);
    EXPECT_EQ(db.watch_changes("item_version"), versions);  // one counter per table
    std::uint64_t v0 = count_of(versions), o0 = count_of(others);

    db.write_sync([](happy::db::tx& t) { t.exec("INSERT INTO item (n, owner) VALUES (1, 'a')", {}); });
    EXPECT_EQ(count_of(versions), v0 + 1);  // the trigger's insert
    db.write_sync([](happy::db::tx& t) { t.exec("INSERT INTO item (n, owner) VALUES (2, 'a')", {}); });
    EXPECT_EQ(count_of(versions), v0 + 2);  // the trigger's upsert (an update)
    EXPECT_EQ(count_of(others), o0);

    db.write_sync([](happy::db::tx& t) { t.exec("INSERT INTO other (n) VALUES (1)", {}); });
    EXPECT_EQ(count_of(versions), v0 + 2);
    EXPECT_EQ(count_of(others), o0 + 1);

    EXPECT_THROW(db.write_sync([](happy::db::tx& t) {
        t.exec("INSERT INTO item (n, owner) VALUES (3, 'b')", {});
        throw std::runtime_error("changed my mind");
    }),
                 std::runtime_error);
    EXPECT_EQ(count_of(versions), v0 + 2);  // rolled back: nothing committed
}

TEST(storage_sqlite, keeps_no_change_counts_when_other_processes_may_write) {
    temp_dir dir;
    happy::plugin::storage_sqlite::options o{(dir.path / "t.sqlite").string()};
    o.exclusive = false;
    happy::db::database db(happy::plugin::storage_sqlite::make_backend(o), 1);
    EXPECT_EQ(db.watch_changes("anything"), nullptr);
}

// The storage_memory_bytes gauge: the connections' caches and statements, reported now and then by each.
TEST(storage_sqlite, reports_the_memory_of_its_connections) {
    temp_dir dir;
    happy::db::database db(happy::plugin::storage_sqlite::make_backend({(dir.path / "t.sqlite").string()}), 1);
    db.migrate({mig(1, "0001_m", "CREATE TABLE m (n INTEGER PRIMARY KEY, t TEXT);")});
    for (int i = 0; i < 200; ++i) {
        db.write_sync([&](happy::db::tx& t) {
            t.exec("INSERT INTO m (n, t) VALUES (?, ?)", {std::int64_t{i}, std::string_view("some text")});
        });
    }
    EXPECT_GT(db.memory_bytes(), 0);
    EXPECT_LT(db.memory_bytes(), 64 * 1024 * 1024);
}
