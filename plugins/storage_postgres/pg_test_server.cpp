#include "plugins/storage_postgres/pg_test_server.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "plugins/storage_postgres/storage_postgres_plugin.hpp"

namespace happy::test {

namespace {

struct cluster {
    std::string url;
    std::string dir;  ///< set when this process started the cluster (and must stop it)
};

cluster& the_cluster() {
    static cluster c;
    return c;
}

void stop_cluster() {
    const auto& c = the_cluster();
    if (!c.dir.empty()) {
        std::string cmd = std::string("'") + HAPPY_SOURCE_DIR + "/scripts/pg_test_cluster.sh' stop '" + c.dir + "'";
        if (std::system(cmd.c_str()) != 0) {
            std::fprintf(stderr, "pg_test_server: could not remove the test cluster in %s\n", c.dir.c_str());
        }
    }
}

void start_cluster() {
    std::string cmd = std::string("'") + HAPPY_SOURCE_DIR + "/scripts/pg_test_cluster.sh' start";
    std::unique_ptr<FILE, int (*)(FILE*)> out(::popen(cmd.c_str(), "r"), ::pclose);
    if (!out) {
        throw std::runtime_error("cannot run " + cmd);
    }
    std::string text;
    char buf[512];
    while (std::fgets(buf, sizeof buf, out.get()) != nullptr) {
        text += buf;
    }
    int status = ::pclose(out.release());
    auto value = [&](std::string_view key) {
        auto at = text.find(std::string(key) + "=");
        if (at == std::string::npos) {
            return std::string();
        }
        at += key.size() + 1;
        return text.substr(at, text.find('\n', at) - at);
    };
    auto& c = the_cluster();
    c.url = value("HAPPY_TEST_DATABASE_URL");
    c.dir = value("HAPPY_TEST_PG_DIR");
    if (!c.dir.empty()) {
        std::atexit(stop_cluster);
    }
    if (status != 0 || c.url.empty()) {
        throw std::runtime_error(
            "no PostgreSQL for the tests: HAPPY_TEST_DATABASE_URL is not set and scripts/pg_test_cluster.sh start "
            "failed (its error is above; Debian's postgresql package provides initdb)");
    }
}

/// Runs `sql` on its own connection to `url` through the plugin (no libpq linked into the tests either).
void exec_on(const std::string& url, std::string_view sql) {
    auto backend = plugin::storage_postgres::make_backend({url});
    backend->open()->exec_script(sql);
}

/// The database a connection string made by create_postgres_database() names (with_database() writes it as
/// dbname='…', and the generated names need no escaping).
std::string database_name(const std::string& url) {
    auto at = url.find("dbname='");
    if (at == std::string::npos) {
        return {};
    }
    at += 8;
    return url.substr(at, url.find('\'', at) - at);
}

}  // namespace

const std::string& postgres_server_url() {
    static std::once_flag once;
    static std::string failure;
    std::call_once(once, [] {
        if (const char* env = std::getenv("HAPPY_TEST_DATABASE_URL"); env && *env) {
            the_cluster().url = env;
            return;
        }
        try {
            start_cluster();
        } catch (const std::exception& e) {
            failure = e.what();
        }
    });
    if (the_cluster().url.empty()) {
        throw std::runtime_error(failure);
    }
    return the_cluster().url;
}

std::string create_postgres_database() {
    static std::atomic<int> counter{0};
    const auto& server = postgres_server_url();
    std::string name = "happy_t_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    // template0: an empty database whatever the server's template1 holds; C collation as the tests' cluster.
    exec_on(server, "DROP DATABASE IF EXISTS " + name);
    exec_on(server, "CREATE DATABASE " + name + " TEMPLATE template0 ENCODING 'UTF8'");
    return plugin::storage_postgres::with_database(server, name);
}

void drop_postgres_database(const std::string& url) {
    std::string name = database_name(url);
    if (!name.empty()) {
        exec_on(postgres_server_url(), "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    }
}

void postgres_admin_exec(std::string_view sql) { exec_on(postgres_server_url(), sql); }

}  // namespace happy::test
