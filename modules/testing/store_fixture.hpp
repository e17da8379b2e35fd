/// @file
/// What every module store test starts from: a fresh database with the migrations the store needs and the accounts
/// its rows belong to. SQLite in a temp directory of its own; PostgreSQL when HAPPY_TEST_DATABASE_URL names a
/// server (a database per test, created there and dropped afterwards; scripts/pg_test_cluster.sh run -- … starts
/// a throwaway one). Compiled into happy_modules_test only.
#pragma once
#include <gtest/gtest.h>

#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/db/database.hpp"

namespace happy::test {

/// The embedded migrations `names` ("0001_auth", …) of dialect `d` as the server assembles them at start: the
/// version is the numeric prefix; the owning module is taken to be the rest of the name (true of each module's first
/// migration, which is what store tests apply). `migrations(db_->kind(), …)` follows the fixture's backend.
std::vector<db::migration> migrations(db::dialect d, std::initializer_list<std::string_view> names);
/// migrations(db::dialect::sqlite, names).
std::vector<db::migration> sqlite_migrations(std::initializer_list<std::string_view> names);

/// A database on the SQLite file `path` with `connections` connections and the migrations `names` applied.
std::unique_ptr<db::database> open_sqlite(const std::filesystem::path& path, std::size_t connections,
                                          std::initializer_list<std::string_view> names);

/// Base of the store test fixtures: a test suite's SetUp() calls open_store() with its module's migrations and,
/// when its rows need owners, create_alice_and_bob() or create_account().
class store_fixture : public ::testing::Test {
protected:
    /// Creates dir_ (named after the test suite and the process, so that parallel runs do not share it) and opens
    /// db_ with one connection and the migrations `names` applied: on a file in dir_, or with
    /// HAPPY_TEST_DATABASE_URL set, on a new PostgreSQL database.
    void open_store(std::initializer_list<std::string_view> names);
    /// auth's account_upsert for `public_key` at time 1: the account's id.
    std::string create_account(std::string_view public_key);
    /// alice_ ("A1") and bob_ ("B1"): most stores are tested for one owner and one other account.
    void create_alice_and_bob();
    /// Closes the database before its files are removed.
    void TearDown() override;

    std::filesystem::path dir_;
    std::unique_ptr<db::database> db_;
    std::string pg_database_;  ///< the PostgreSQL database of this test (connection string), dropped in TearDown
    std::string alice_, bob_;
};

}  // namespace happy::test
