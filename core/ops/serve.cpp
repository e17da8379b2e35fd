#include "core/ops/serve.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fmt/format.h>

#include "core/config/config.hpp"
#include "core/db/database.hpp"
#include "core/log/log.hpp"
#include "core/ops/backup.hpp"

namespace happy::ops {

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;

void apply_log_file(const json::object& cfg) {
    std::string file = config::get_string(cfg, "log.file");
    if (file.empty()) {
        log::set_file("", 0, 0);
        return;
    }
    fs::path p(file);
    if (!p.is_absolute()) {
        p = fs::path(config::get_string(cfg, "data_dir")) / p;
    }
    if (p.has_parent_path()) {
        fs::create_directories(p.parent_path());
    }
    log::set_file(p.string(), static_cast<std::uint64_t>(config::get_int(cfg, "log.max_size_mb")) * 1024 * 1024,
                  static_cast<int>(config::get_int(cfg, "log.max_files")));
}

void apply_log_format(const json::object& cfg) {
    auto level = log::parse_level(config::get_string(cfg, "log.level")).value_or(log::level::info);
    auto format = config::get_string(cfg, "log.format") == "json" ? log::format::json : log::format::console;
    log::configure(level, format);
}

std::unique_ptr<trace::exporter> make_tracer(const json::object& cfg) {
    std::string url = config::get_string(cfg, "tracing.otlp_url");
    if (url.empty()) {
        return nullptr;
    }
    trace::exporter_options o;
    o.url = url;
    o.service_name = config::get_string(cfg, "tracing.service_name");
    o.interval = std::chrono::milliseconds(config::get_int(cfg, "tracing.export_interval_ms"));
    return std::make_unique<trace::exporter>(std::move(o));
}

job_decl backup_job_decl() {
    job_decl d{"backup", "0 3 * * *",
               "back up the SQLite database into jobs.backup.directory, keeping jobs.backup.keep copies"};
    d.enabled_by_default = false;
    d.extra_properties = R"({
        "directory": {"type": "string", "minLength": 1, "default": "backups", "description": "Where the job writes happy-<time>.sqlite (relative to data_dir unless absolute; created owner-only)."},
        "keep": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 7, "description": "Backups kept; the oldest beyond this are deleted after each run."},
        "include_secret": {"type": "boolean", "default": false, "description": "Store the master secret in each backup (as backup --include-secret)."}
    })";
    return d;
}

void check_backup_job(const json::object& cfg) {
    if (config::get_bool(cfg, "jobs.backup.enabled") && config::get_string(cfg, "storage.kind") != "sqlite") {
        throw config::error(fmt::format("jobs.backup.enabled: the backup job copies a SQLite database; storage.kind "
                                        "\"{}\" is backed up with its own tools (pg_dump for PostgreSQL)",
                                        config::get_string(cfg, "storage.kind")));
    }
}

void add_admin_ops(admin_server& admin, db::database& db, std::string secret, std::function<server_status()> status) {
    admin.add("status", [status](const json::object&) -> asio::awaitable<json::object> {
        auto s = status();
        co_return json::object{{"ok", true},
                               {"pid", static_cast<std::int64_t>(::getpid())},
                               {"port", s.port},
                               {"metrics_port", s.metrics_port ? json::value(s.metrics_port) : json::value(nullptr)},
                               {"storage", s.storage},
                               {"version", s.version}};
    });
    admin.add("backup", [&db, secret](const json::object& r) { return serve_backup(db, secret, r); });
    admin.add("integrity", [&db](const json::object&) -> asio::awaitable<json::object> {
        std::string integrity = co_await db.integrity_check();
        std::int64_t version = 0;
        co_await db.read([&](db::tx& t) {
            version = t.one_i64("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").value_or(0);
        });
        co_return json::object{{"ok", true}, {"integrity", integrity}, {"schema_version", version}};
    });
}

void handle_sighup(const json::value& schema, json::object& current, const std::function<json::object()>& load,
                   const std::function<void(const reload_plan&, const json::object&)>& apply) {
    log::reopen();
    json::object next;
    try {
        next = load();
    } catch (const std::exception& e) {
        log::error("configuration reload failed", {{"error", e.what()}, {"kept", "the running configuration"}});
        return;
    }
    auto plan = plan_reload(schema, current, next);
    try {
        apply(plan, next);
    } catch (const std::exception& e) {
        log::error("configuration reload failed", {{"error", e.what()}, {"kept", "the running configuration"}});
        return;
    }
    current = std::move(next);
    json::array applied(plan.apply.begin(), plan.apply.end());
    json::array restart(plan.not_reloaded.begin(), plan.not_reloaded.end());
    if (plan.not_reloaded.empty()) {
        log::info("configuration reloaded", {{"applied", std::move(applied)}, {"not_reloaded", std::move(restart)}});
    } else {
        log::warn("configuration reloaded; some changed settings take effect only after a restart",
                  {{"applied", std::move(applied)}, {"not_reloaded", std::move(restart)}});
    }
}

}  // namespace happy::ops
