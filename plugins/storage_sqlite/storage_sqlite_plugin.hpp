/// @file
/// Embedded storage: SQLite through SOCI, in WAL mode with foreign keys and a busy timeout.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "core/app/registry.hpp"

namespace happy::plugin::storage_sqlite {

struct options {
    std::string path;  ///< database file
    int busy_timeout_ms = 5000;
    std::string synchronous = "normal";
    /// This process owns the database file (SQLite's unix-excl VFS): other processes cannot open it while the
    /// server runs, and WAL read locks stay in process memory instead of costing an fcntl() per read.
    bool exclusive = true;
    /// WAL size past which the once-a-second maintenance forces a TRUNCATE checkpoint (storage.sqlite.wal_limit_mb).
    std::int64_t wal_limit_bytes = 16 * 1024 * 1024;
};

/// Creates the backend directly (tests, tools).
std::unique_ptr<db::backend> make_backend(options o);

/// Registers the "sqlite" storage factory.
void register_plugin(registry& reg);

}  // namespace happy::plugin::storage_sqlite
