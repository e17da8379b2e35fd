/// @file
/// `happy-server copy`: every table of one happy-server database written into another, on either backend
/// (SQLite → PostgreSQL and back): ids, seqs, versions, times and bytes unchanged, so tokens and client cursors
/// keep working. The target is migrated to the source's schema version first; the rows are written in one
/// transaction and checked (row count and checksum per table) before it commits, so a failed copy leaves the
/// target as it was.
#pragma once
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/db/database.hpp"

namespace happy::ops {

/// Progress of a long operation: the table being written, its rows done and its total, and the same over all
/// tables.
struct progress {
    std::string table;
    std::int64_t table_done = 0;
    std::int64_t table_total = 0;
    std::int64_t done = 0;
    std::int64_t total = 0;
};
using progress_fn = std::function<void(const progress&)>;

struct copy_options {
    /// Empty the target's tables first (in the same transaction) instead of refusing a target that holds rows.
    bool force = false;
    progress_fn on_progress;
    std::size_t page_rows = 2000;
};

/// One table's result: rows and checksum read from the source, and read back from the target before commit.
struct table_report {
    std::string table;
    std::int64_t source_rows = 0;
    std::int64_t target_rows = 0;
    std::string source_checksum;
    std::string target_checksum;
    bool match() const { return source_rows == target_rows && source_checksum == target_checksum; }
};

struct copy_report {
    int schema_version = 0;              ///< the highest migration both databases are at
    std::vector<int> migrated;           ///< migrations applied to the target by this copy
    std::int64_t replaced_rows = 0;      ///< rows the target held and --force removed
    std::vector<table_report> tables;    ///< in the order written
    std::int64_t rows = 0;
    double seconds = 0;
};

/// The copy was refused before anything was written (the target holds rows, the schemas differ, …).
struct copy_refused : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Versions recorded in `db`'s schema_migrations, ascending; empty when the table does not exist.
std::vector<int> applied_migrations(db::database& db);

/// Copies `from` into `to`. `known` is this binary's migrations (the target gets those `from` has applied).
/// Reads `from` in one consistent snapshot; writes and verifies `to` in one transaction. Throws copy_refused, or
/// another exception (nothing committed) on failure; a verification mismatch rolls back and throws too.
copy_report copy_database(db::database& from, db::database& to, const std::vector<db::migration>& known,
                          const copy_options& opts);

}  // namespace happy::ops
