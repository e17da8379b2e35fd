/// @file
/// What every module store test starts from: a fresh SQLite database in a temp directory of its own, with the
/// migrations the store needs and the accounts its rows belong to. Compiled into happy_modules_test only.
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

/// The embedded SQLite migrations `names` ("0001_auth", …) as the server assembles them at start: the version is
/// the numeric prefix; the owning module is taken to be the rest of the name (true of each module's first migration,
/// which is what store tests apply).
std::vector<db::migration> sqlite_migrations(std::initializer_list<std::string_view> names);

/// A database on the SQLite file `path` with `connections` connections and the migrations `names` applied.
std::unique_ptr<db::database> open_sqlite(const std::filesystem::path& path, std::size_t connections,
                                          std::initializer_list<std::string_view> names);

/// Base of the store test fixtures: a test suite's SetUp() calls open_store() with its module's migrations and,
/// when its rows need owners, create_alice_and_bob() or create_account().
class store_fixture : public ::testing::Test {
protected:
    /// Creates dir_ (named after the test suite and the process, so that parallel runs do not share it) and opens
    /// db_ on a file in it with one connection, the migrations `names` applied.
    void open_store(std::initializer_list<std::string_view> names);
    /// auth's account_upsert for `public_key` at time 1: the account's id.
    std::string create_account(std::string_view public_key);
    /// alice_ ("A1") and bob_ ("B1"): most stores are tested for one owner and one other account.
    void create_alice_and_bob();
    /// Closes the database before its files are removed.
    void TearDown() override;

    std::filesystem::path dir_;
    std::unique_ptr<db::database> db_;
    std::string alice_, bob_;
};

}  // namespace happy::test
