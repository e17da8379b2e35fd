/// @file
/// What the operations commands (copy, import-upstream) need from start-up, built on the shared stages
/// (core/app/bootstrap.hpp): the validated configuration, the compiled-in plugins, this binary's migrations per
/// dialect, and storage opened — without migrating it — from the configuration or from a location given on the
/// command line (a SQLite file path or a PostgreSQL URL).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/app/bootstrap.hpp"
#include "core/db/database.hpp"
#include "core/files/file_store.hpp"

namespace happy::ops {

class tool_env {
public:
    /// Loads and checks the configuration as a server start does, and sends logs to stderr (stdout is the
    /// command's result). Throws config::error.
    explicit tool_env(const command_args& args);

    const boost::json::object& cfg() const { return parts_.cfg; }

    /// The configured storage, opened (not migrated). `create`: make the data directory first when missing (a
    /// target); otherwise a SQLite file that does not exist is an error instead of being created empty.
    std::unique_ptr<db::database> open_configured(bool create) const;
    /// The configured SQLite database file; nullopt when the storage is not SQLite.
    std::optional<std::string> configured_sqlite_file() const;
    /// Storage at `location`: a `postgres://` / `postgresql://` URL (or a libpq `key=value` string), else a SQLite
    /// database file path. `create`: a SQLite file (and its directory) may be created; otherwise a missing file is
    /// an error. `foreign_schema`: the database may hold another application's tables (read-only use).
    std::unique_ptr<db::database> open_at(std::string_view location, bool create, bool foreign_schema = false) const;
    static bool is_postgres_location(std::string_view location);

    /// This binary's migrations written for `d` (every compiled-in module's, as a server start applies them).
    std::vector<db::migration> migrations(db::dialect d) const { return module_migrations(parts_, d); }

    /// The configured file store.
    std::unique_ptr<files::file_store> open_file_store() const;

    /// auth.master_secret, else the data directory's master-secret file when it exists (never created here).
    std::optional<std::string> master_secret() const;

private:
    app_config parts_;
    std::string data_dir_;
};

}  // namespace happy::ops
