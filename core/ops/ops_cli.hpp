/// @file
/// The `copy` and `import-upstream` commands: flags, output (text, or JSON with --json), progress on a terminal.
/// The work itself is core/ops/copy.hpp and core/ops/upstream_import.hpp; the commands are listed in
/// core/app/commands.cpp.
#pragma once
#include <string_view>

#include "core/app/command.hpp"

namespace happy::ops {

inline constexpr std::string_view copy_usage =
    "Usage: happy-server copy [--from LOCATION] [--to LOCATION] [--force]\n"
    "\n"
    "Copies every table of a happy-server database into another, SQLite or PostgreSQL, with ids, seqs,\n"
    "versions, times and bytes unchanged: tokens (same master secret) and client cursors keep working.\n"
    "LOCATION is a postgresql://… URL or a SQLite database file path; the one not given is the configured\n"
    "storage (at least one is needed). The target is migrated to the source's schema version, written in one\n"
    "transaction and verified before it commits (row count and checksum per table, printed); a failure\n"
    "leaves it as it was. Stop servers on a SQLite source or target first (they hold the file locked); a\n"
    "PostgreSQL source is read in one snapshot, so later writes are not copied.\n"
    "\n"
    "  --from LOCATION   the database to read (default: the configured storage)\n"
    "  --to LOCATION     the database to write (default: the configured storage)\n"
    "  --force           replace what the target holds (refused otherwise)\n"
    "\n"
    "Exit codes: 0 copied and verified, 1 refused or failed (the target is unchanged), 2 bad flags or\n"
    "configuration.\n";

inline constexpr std::string_view import_upstream_usage =
    "Usage: happy-server import-upstream --from URL [--files DIR] [--dry-run] [--skip-unknown]\n"
    "\n"
    "Reads an upstream Happy server's PostgreSQL database (at upstream's latest Prisma migration) and writes\n"
    "it into the configured storage, which must be empty: accounts, sessions and messages, machines,\n"
    "artifacts, access keys, KV, settings, push tokens, usage reports, relationships, feed, GitHub users and\n"
    "vendor tokens. Ids, seqs and versions are kept: with HANDY_MASTER_SECRET set to upstream's value, the\n"
    "app and CLI continue with their tokens, and encrypted GitHub and vendor tokens decrypt (checked before\n"
    "importing). All rows are written in one transaction; a second import into the same database is refused.\n"
    "\n"
    "  --from URL        upstream's DATABASE_URL (read only)\n"
    "  --files DIR       upstream's local files directory (its DATA_DIR/files), put into the configured file\n"
    "                    store under the same keys before the rows are written\n"
    "  --dry-run         print what would be imported (rows per table, what is left behind and why) and write\n"
    "                    nothing\n"
    "  --skip-unknown    import although upstream holds tables or columns this version does not know\n"
    "\n"
    "Exit codes: 0 imported (or dry run done), 1 refused or failed (nothing written), 2 bad flags or\n"
    "configuration.\n";

/// `happy-server copy [--from LOCATION] [--to LOCATION] [--force]`. Exit 0 copied and verified, 1 failed or
/// refused (nothing written), 2 bad flags or configuration.
int run_copy(command_args& args);

/// `happy-server import-upstream --from URL [--files DIR] [--dry-run] [--skip-unknown]`. Exit codes as run_copy.
int run_import_upstream(command_args& args);

}  // namespace happy::ops
