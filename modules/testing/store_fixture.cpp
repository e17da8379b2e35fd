#include "modules/testing/store_fixture.hpp"

#include <unistd.h>
#include <charconv>
#include <cstdlib>
#include <stdexcept>

#include "core/util/resources.hpp"
#include "modules/auth/auth_store.hpp"
#include "plugins/storage_sqlite/storage_sqlite_plugin.hpp"
#ifdef HAPPY_HAVE_STORAGE_POSTGRES
#include "plugins/storage_postgres/pg_test_server.hpp"
#include "plugins/storage_postgres/storage_postgres_plugin.hpp"
#endif

namespace happy::test {

namespace fs = std::filesystem;

std::vector<db::migration> migrations(db::dialect d, std::initializer_list<std::string_view> names) {
    std::vector<db::migration> out;
    const std::string dir = d == db::dialect::sqlite ? "sqlite" : "postgres";
    for (std::string_view name : names) {
        auto text = resource_text("sql/" + dir + "/" + std::string(name) + ".sql");
        auto sep = name.find('_');
        int version = 0;
        if (!text || sep == std::string_view::npos ||
            std::from_chars(name.data(), name.data() + sep, version).ec != std::errc()) {
            throw std::invalid_argument("no embedded " + dir + " migration " + std::string(name));
        }
        out.push_back({version, std::string(name), std::string(name.substr(sep + 1)), std::string(*text)});
    }
    return out;
}

std::vector<db::migration> sqlite_migrations(std::initializer_list<std::string_view> names) {
    return migrations(db::dialect::sqlite, names);
}

std::unique_ptr<db::database> open_sqlite(const fs::path& path, std::size_t connections,
                                          std::initializer_list<std::string_view> names) {
    auto db = std::make_unique<db::database>(plugin::storage_sqlite::make_backend({path.string()}), connections);
    db->migrate(sqlite_migrations(names));
    return db;
}

void store_fixture::open_store(std::initializer_list<std::string_view> names) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("happy-" + std::string(info->test_suite_name()) + "-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    if (const char* url = std::getenv("HAPPY_TEST_DATABASE_URL"); url && *url) {
#ifdef HAPPY_HAVE_STORAGE_POSTGRES
        // A fresh database per test on that server, dropped in TearDown().
        pg_database_ = test::create_postgres_database();
        db_ = std::make_unique<db::database>(plugin::storage_postgres::make_backend({pg_database_}), 1);
        db_->migrate(migrations(db::dialect::postgres, names));
        return;
#else
        throw std::runtime_error("HAPPY_TEST_DATABASE_URL is set but the storage_postgres plugin is not compiled in");
#endif
    }
    db_ = open_sqlite(dir_ / "t.sqlite", 1, names);
}

std::string store_fixture::create_account(std::string_view public_key) {
    std::string id;
    db_->write_sync([&](db::tx& t) { id = mod::auth::account_upsert(t, public_key, 1); });
    return id;
}

void store_fixture::create_alice_and_bob() {
    alice_ = create_account("A1");
    bob_ = create_account("B1");
}

void store_fixture::TearDown() {
    db_.reset();
    fs::remove_all(dir_);
#ifdef HAPPY_HAVE_STORAGE_POSTGRES
    if (!pg_database_.empty()) {
        test::drop_postgres_database(pg_database_);
        pg_database_.clear();
    }
#endif
}

}  // namespace happy::test
