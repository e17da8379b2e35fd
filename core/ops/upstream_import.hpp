/// @file
/// `happy-server import-upstream`: an upstream Happy server's PostgreSQL database (Prisma schema at upstream's
/// latest migration: quoted camelCase tables, TIMESTAMP(3), JSONB, bytea) written into our storage, SQLite or
/// PostgreSQL. Ids, seqs, versions and encrypted tokens are carried unchanged, so the app and CLI continue with
/// their tokens (same HANDY_MASTER_SECRET: both sign `sub` = the account id) and GitHub and vendor tokens
/// decrypt with the same secret. All rows are written in one transaction into an empty database; the local
/// files of upstream's local-storage mode are put into our file store first.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/db/database.hpp"
#include "core/files/file_store.hpp"
#include "core/ops/copy.hpp"

namespace happy::ops {

/// Upstream's Prisma migrations (packages/happy-server/prisma/migrations), oldest first; the import reads the
/// schema the last one leaves.
extern const std::vector<std::string_view> upstream_migrations;

struct import_options {
    bool dry_run = false;
    /// Upstream's local files directory (DATA_DIR/files of an upstream without S3_HOST).
    std::optional<std::string> files_dir;
    /// Our master secret, checked against upstream's encrypted GitHub and vendor tokens; nullopt: none configured.
    std::optional<std::string> master_secret;
    /// Import although upstream has tables or columns this importer does not know (their data is left behind).
    bool skip_unknown = false;
    progress_fn on_progress;
    std::size_t page_rows = 2000;
};

struct import_table {
    std::string upstream;  ///< "SessionMessage"
    std::string target;    ///< "session_message"
    std::int64_t rows = 0; ///< rows upstream holds
    std::int64_t written = 0;
};

/// Something upstream holds that is not carried over, and why.
struct import_skip {
    std::string what;
    std::int64_t rows = 0;  ///< rows (or files) it concerns
    std::string why;
    bool blocking = false;  ///< refuses the import (without skip_unknown)
};

struct import_report {
    bool dry_run = false;
    std::string upstream_migration;  ///< the last migration upstream applied
    std::vector<int> migrated;       ///< our migrations applied to the target by this import
    std::vector<import_table> tables;
    std::vector<import_skip> skipped;
    std::int64_t files = 0;
    std::int64_t file_bytes = 0;
    /// "match" (N tokens decrypted), "mismatch", "unchecked" (nothing encrypted upstream), "missing" (none set).
    std::string secret_check;
    std::int64_t secret_tokens = 0;
    std::int64_t rows = 0;
    double seconds = 0;
};

/// The import was refused before anything was written (upstream's schema is not the expected one, the target
/// already holds data, the master secret does not decrypt upstream's tokens, …). `report` says what was found.
struct import_refused : std::runtime_error {
    import_refused(const std::string& what, import_report r) : std::runtime_error(what), report(std::move(r)) {}
    import_report report;
};

/// Imports `upstream` into `target` (migrated to this binary's schema, `known`, first), and the files of
/// `opts.files_dir` into `files` (required when files_dir is set). With dry_run nothing is written anywhere: the
/// report gives what would be imported; `target` may then be null (it does not exist yet, so it is empty). Throws import_refused, or another exception when the transaction failed
/// (then nothing of the database import was committed; files already put stay, under upstream's keys).
import_report import_upstream(db::database& upstream, db::database* target, files::file_store* files,
                              const std::vector<db::migration>& known, const import_options& opts);

}  // namespace happy::ops
