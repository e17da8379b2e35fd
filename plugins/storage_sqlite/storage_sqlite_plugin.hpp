/// @file
/// Embedded storage: SQLite through SOCI, in WAL mode with foreign keys and a busy timeout.
#pragma once
#include <cstddef>
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
    /// Snapshots kept beside the file from starts that applied migrations (storage.sqlite.upgrade_snapshots);
    /// 0 upgrades without one.
    int upgrade_snapshots = 2;
    /// Pooled connections and database threads (storage.sqlite.connections).
    std::size_t connections = 2;
};

/// Name of the snapshot of `db_file` taken before migrating from schema version `from`, at `ms`:
/// `<file>.pre-upgrade-<backup_timestamp>-v<from>.sqlite`. Sorted by name = sorted by time.
std::string upgrade_snapshot_name(std::string_view db_file, std::int64_t ms, int from);

/// Creates the backend directly (tests, tools).
std::unique_ptr<db::backend> make_backend(options o);

/// Registers the "sqlite" storage factory.
void register_plugin(registry& reg);

}  // namespace happy::plugin::storage_sqlite
