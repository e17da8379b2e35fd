/// @file
/// PostgreSQL storage: connections opened through SOCI's postgresql backend, statements run through libpq on the
/// same PGconn (prepared once per connection and SQL text, binary parameters and results). Selected by
/// storage.kind "postgres" or by upstream's DATABASE_URL.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/app/registry.hpp"

namespace happy::plugin::storage_postgres {

struct options {
    /// `postgresql://user:password@host:port/database?sslmode=…` (also `postgres://`) or a libpq `key=value`
    /// connection string; every libpq parameter (sslmode, sslrootcert, options, …) is passed through.
    std::string url;
    /// libpq's connect_timeout when the URL does not set one; 0 waits as long as the operating system does.
    int connect_timeout_s = 10;
    /// Pooled connections and database threads (storage.postgres.pool_size).
    std::size_t pool_size = 4;
    /// Open a database holding another application's tables instead of refusing it (tools that only read it:
    /// import-upstream).
    bool foreign_schema = false;
};

/// Creates the backend directly (tests, tools). Throws std::invalid_argument for a URL libpq cannot parse.
std::unique_ptr<db::backend> make_backend(options o);

/// Registers the "postgres" storage factory.
void register_plugin(registry& reg);

/// `url` with its password replaced by `***`, for logs and error messages. A `key=value` string is returned in
/// that form, rebuilt from libpq's parse.
std::string mask_password(std::string_view url);

/// A libpq `key=value` connection string with the parameters of `url` and `dbname` replaced (tests create a
/// database per test on one server).
std::string with_database(std::string_view url, std::string_view dbname);

/// `sql` with every `?` placeholder outside string literals, quoted identifiers, comments and dollar-quoted text
/// numbered `$1`, `$2`, … (PostgreSQL's parameter syntax); `count` is how many there were.
struct numbered_sql {
    std::string text;
    std::size_t count = 0;
};
numbered_sql number_placeholders(std::string_view sql);

}  // namespace happy::plugin::storage_postgres
