/// @file
/// `happy-server backup FILE` and `happy-server restore FILE`, the server side of a backup (the admin socket's
/// `backup` op and the `backup` job), and the helpers they share.
///
/// SQLite: the running server owns the database file (storage.sqlite.exclusive), so a backup of a running server is
/// taken by the server itself, asked over the admin socket (core/ops/admin_socket.hpp), with SQLite's online backup
/// API while it goes on serving; with no server running the command opens the file itself. PostgreSQL: the commands
/// print the pg_dump / pg_restore command lines instead.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <string>

#include "core/app/registry.hpp"
#include "core/db/database.hpp"

namespace happy::ops {

/// The storage plugin's options from the validated configuration: data_dir and the section storage.<kind>.
storage_options storage_options_from(const boost::json::object& cfg);

/// The highest schema version among the compiled-in modules' migrations (the version this binary migrates to).
int binary_schema_version(const registry& reg);

/// The master secret the data needs, without creating one: auth.master_secret when set, else the content of
/// `<data_dir>/master-secret`, else empty.
std::string current_master_secret(const boost::json::object& cfg);

/// What is stored with a backup (table happy_backup of the copy): format, creation time, schema version, and the
/// master secret only when `secret` is not empty.
db::backup_meta make_backup_meta(std::int64_t schema_version, std::string_view secret, std::string_view reason);

/// The admin socket's `backup` op: {"op":"backup","path":"/abs/file","include_secret":bool} → {"ok":true,"path",
/// "bytes","schema_version","integrity","secret_included","duration_ms"}. Runs on a database thread.
boost::asio::awaitable<boost::json::object> serve_backup(db::database& db, std::string secret,
                                                         const boost::json::object& request);

/// The `backup` job's settings (jobs.backup.*) and one run of it: a backup into `directory` named
/// happy-<timestamp>.sqlite, then the oldest beyond `keep` deleted.
struct backup_job_settings {
    std::filesystem::path directory;  ///< absolute
    std::size_t keep = 7;
    bool include_secret = false;
};
backup_job_settings backup_job_settings_from(const boost::json::object& cfg);
boost::asio::awaitable<void> run_backup_job(db::database& db, backup_job_settings s, std::string secret);

struct backup_options {
    std::string file;
    bool include_secret = false;
    bool force = false;  ///< replace an existing FILE
    bool json = false;
};

struct restore_options {
    std::string file;
    bool json = false;
};

/// Exit codes of both commands: 0 done; 1 failed or refused (the message says why); 2 not applicable to the
/// configured storage (PostgreSQL: the pg_dump / pg_restore lines are printed instead).
int run_backup(const boost::json::object& cfg, const registry& reg, const backup_options& o, std::ostream& out,
               std::ostream& err);
int run_restore(const boost::json::object& cfg, const registry& reg, const restore_options& o, std::ostream& out,
                std::ostream& err);

}  // namespace happy::ops
