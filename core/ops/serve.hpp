/// @file
/// The operations side of `serve`, kept out of the start-up sequence itself: the log file, the span exporter, the
/// admin socket's operations, the backup job, and what a SIGHUP changes.
#pragma once
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/app/module.hpp"
#include "core/ops/admin_socket.hpp"
#include "core/ops/reload.hpp"
#include "core/trace/trace.hpp"

namespace happy::db {
class database;
}

namespace happy::ops {

/// log.file / log.max_size_mb / log.max_files: the file (relative to data_dir unless absolute), or back to stdout
/// when log.file is empty. Throws std::system_error when the file cannot be opened.
void apply_log_file(const boost::json::object& cfg);

/// log.level and log.format.
void apply_log_format(const boost::json::object& cfg);

/// The exporter for tracing.otlp_url, or nullptr when it is empty.
std::unique_ptr<trace::exporter> make_tracer(const boost::json::object& cfg);

/// The core's `backup` job (off by default; jobs.backup.directory, .keep, .include_secret).
job_decl backup_job_decl();

/// What start-up refuses about the backup job: enabled on storage that is not a SQLite file. Throws config::error.
void check_backup_job(const boost::json::object& cfg);

/// What `status` answers on the admin socket (doctor, restore): the server's pid, ports, storage.
struct server_status {
    int port = 0;
    int metrics_port = 0;  ///< 0 when the metrics listener is off
    std::string storage;
    std::string version;
};

/// Registers `status`, `backup` and `integrity` on the admin socket.
void add_admin_ops(admin_server& admin, db::database& db, std::string secret, std::function<server_status()> status);

/// One SIGHUP: the new configuration (from `load`, which throws config::error) compared with `current` (then
/// replaced by it), the reloadable changes applied through `apply`, and one log line saying what was applied and
/// what needs a restart (a warning when something does). A configuration that fails to load is logged and
/// changes nothing. The log file is reopened either way (logrotate).
void handle_sighup(const boost::json::value& schema, boost::json::object& current,
                   const std::function<boost::json::object()>& load,
                   const std::function<void(const reload_plan&, const boost::json::object&)>& apply);

}  // namespace happy::ops
