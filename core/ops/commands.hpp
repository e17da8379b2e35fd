/// @file
/// The command-line side of `backup`, `restore` and `doctor`: their own flags (the common ones — --config, --port,
/// --host, --data-dir, --json — are the command table's), usage texts, and parsing.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "core/ops/backup.hpp"
#include "core/ops/doctor.hpp"

namespace happy::ops {

inline constexpr std::string_view backup_usage =
    "Usage: happy-server backup FILE [--include-secret] [--force] [--json] [common flags]\n"
    "\n"
    "Writes a consistent, verified copy of the SQLite database to FILE. When a server runs on the data directory\n"
    "it takes the copy itself (asked over <data_dir>/admin.sock) while it goes on serving; otherwise the file is\n"
    "copied directly. On PostgreSQL it prints the pg_dump command line instead.\n"
    "\n"
    "  --include-secret  store the master secret in the backup (whoever has the file can then sign in as any\n"
    "                    account); without it, keep <data_dir>/master-secret or HANDY_MASTER_SECRET with the backup\n"
    "  --force           replace FILE when it exists\n"
    "  --json            one JSON object on stdout\n"
    "\n"
    "Exit codes: 0 written and verified, 1 failed, 2 usage error or not applicable (PostgreSQL).\n";

inline constexpr std::string_view restore_usage =
    "Usage: happy-server restore FILE [--json] [common flags]\n"
    "\n"
    "Replaces the SQLite database of the data directory with the backup FILE (from `backup`, the backup job, or a\n"
    "pre-upgrade snapshot). Refuses while a server runs on the data directory, a file that fails its integrity\n"
    "check or is not a happy-server database, and a backup from a newer schema than this binary knows. The\n"
    "replaced database is kept as <file>.replaced-<time>. A master secret stored in the backup is restored into\n"
    "<data_dir>/master-secret. On PostgreSQL it prints the pg_restore command line instead.\n"
    "\n"
    "Exit codes: 0 restored, 1 refused or failed, 2 usage error or not applicable (PostgreSQL).\n";

inline constexpr std::string_view doctor_usage =
    "Usage: happy-server doctor [--timeout-ms N] [--json] [common flags]\n"
    "\n"
    "Checks the configuration, the data directory, free disk space, the database (integrity, schema version), the\n"
    "master secret, the ports, the clock, and PostgreSQL, Redis, S3, Expo and GitHub when they are configured;\n"
    "one line per check, with a fix for each problem.\n"
    "\n"
    "  --timeout-ms N  bound on each network check (default 5000)\n"
    "  --json          {\"ok\", \"failed\", \"warnings\", \"checks\": [{\"check\", \"status\", \"detail\", \"fix\"}]}\n"
    "\n"
    "Exit codes: 0 nothing failed (warnings allowed), 1 a check failed, 2 usage error.\n";


/// What a command's own arguments said: its options, a request for help, or an error (usage, exit code 2).
template <class Options>
using parsed = std::variant<Options, std::monostate /* --help */, std::string /* error */>;

/// `args` are the command's arguments after the command name, with the common flags already taken out; `json`
/// is the common --json.
parsed<backup_options> parse_backup_args(std::span<const std::string_view> args, bool json);
parsed<restore_options> parse_restore_args(std::span<const std::string_view> args, bool json);
parsed<doctor_options> parse_doctor_args(std::span<const std::string_view> args, bool json);

}  // namespace happy::ops
