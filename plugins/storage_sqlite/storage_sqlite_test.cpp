#include <gtest/gtest.h>
#include <soci/soci.h>

#include <filesystem>

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

happy::db::migration mig(int v, std::string name, std::string sql) { return {v, std::move(name), "test", std::move(sql)}; }

TEST(storage_sqlite, applies_migrations_once_and_records_them) {
    temp_dir dir;
    auto path = (dir.path / "t.sqlite").string();
    {
        happy::db::database db(happy::plugin::storage_sqlite::make_backend({path}), 1);
        db.migrate({mig(1, "0001_a", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);"),
                    mig(2, "0002_b", "CREATE TABLE b (y TEXT);")});
        db.migrate({mig(1, "0001_a", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);"),
                    mig(2, "0002_b", "CREATE TABLE b (y TEXT);")});
        int rows = 0, versions = 0;
        db.read_sync([&](soci::session& s) {
            s << "SELECT COUNT(*) FROM a", soci::into(rows);
            s << "SELECT COUNT(*) FROM schema_migrations", soci::into(versions);
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
    int tables = -1;
    db.read_sync([&](soci::session& s) {
        s << "SELECT COUNT(*) FROM sqlite_master WHERE name = 'c'", soci::into(tables);
    });
    EXPECT_EQ(tables, 0);
}

TEST(storage_sqlite, enables_wal_and_foreign_keys) {
    temp_dir dir;
    auto path = (dir.path / "t.sqlite").string();
    happy::db::database db(happy::plugin::storage_sqlite::make_backend({path}), 1);
    std::string mode;
    int fk = 0;
    db.read_sync([&](soci::session& s) {
        s << "PRAGMA journal_mode", soci::into(mode);
        s << "PRAGMA foreign_keys", soci::into(fk);
    });
    EXPECT_EQ(mode, "wal");
    EXPECT_EQ(fk, 1);
}

}  // namespace
