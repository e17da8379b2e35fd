#include "core/ops/backup.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <chrono>
#include <fmt/format.h>
#include <fstream>
#include <ostream>
#include <sstream>

#include "core/config/config.hpp"
#include "core/log/log.hpp"
#include "core/ops/admin_socket.hpp"
#include "core/ops/backup_files.hpp"
#include "core/util/time.hpp"

namespace happy::ops {

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view backup_format = "happy-server backup 1";
/// A backup of a large database by the running server may take a while; the CLI waits this long for its answer.
constexpr std::chrono::hours admin_backup_timeout{6};

double elapsed_ms(std::chrono::steady_clock::time_point since) {
    return std::round(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count() *
                      10) /
           10;
}

/// Prints a command's outcome: JSON on stdout with --json, else the text lines; errors also go to stderr as text.
struct reporter {
    bool json_out;
    std::ostream& out;
    std::ostream& err;
    std::string command;

    int fail(int code, const std::string& msg, json::object extra = {}) {
        if (json_out) {
            json::object o{{"ok", false}, {"error", msg}};
            for (auto& kv : extra) {
                o[kv.key()] = kv.value();
            }
            out << json::serialize(o) << "\n";
        }
        err << "happy-server " << command << ": " << msg << "\n";
        return code;
    }
};

bool in_use_error(std::string_view what) { return what.find("in use by another process") != std::string_view::npos; }

std::int64_t schema_version_of(db::connection& c, db::dialect d) {
    db::tx t(c, d);
    return t.one_i64("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").value_or(0);
}

/// The lines that back up / restore PostgreSQL, for the configured database.
std::string postgres_instructions(const std::string& masked_url, const std::string& file, bool restore) {
    std::string url = masked_url.starts_with("postgres") ? masked_url : "postgresql://…";
    if (!restore) {
        return fmt::format(
            "PostgreSQL is backed up with its own tools; happy-server does not copy it. For the configured database "
            "({0}):\n"
            "  pg_dump --format=custom --no-owner --file='{1}' \"$DATABASE_URL\"\n"
            "(DATABASE_URL with the password, as the server has it). pg_dump takes a consistent snapshot while the "
            "server runs.\n"
            "Keep the master secret with it (auth.master_secret / HANDY_MASTER_SECRET, or <data_dir>/master-secret).\n",
            url, file);
    }
    return fmt::format(
        "PostgreSQL is restored with its own tools; happy-server does not replace it. Stop the servers, then, into "
        "an empty database ({0}):\n"
        "  pg_restore --no-owner --exit-on-error --dbname=\"$DATABASE_URL\" '{1}'\n"
        "or into the existing one, replacing its tables:\n"
        "  pg_restore --clean --if-exists --no-owner --exit-on-error --dbname=\"$DATABASE_URL\" '{1}'\n"
        "then start the server with the master secret the backup was made with.\n",
        url, file);
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

storage_options storage_options_from(const json::object& cfg) {
    storage_options so;
    so.data_dir = config::get_string(cfg, "data_dir");
    std::string kind = config::get_string(cfg, "storage.kind");
    if (auto* sec = config::at(cfg, "storage").as_object().if_contains(kind); sec && sec->is_object()) {
        so.config = sec->as_object();
    }
    return so;
}

int binary_schema_version(const registry& reg) {
    int best = 0;
    for (const auto& [name, factory] : reg.modules()) {
        for (const auto& m : factory()->migrations()) {
            int v = 0;
            auto r = std::from_chars(m.data(), m.data() + m.size(), v);
            if (r.ec == std::errc() && v > best) {
                best = v;
            }
        }
    }
    return best;
}

std::string current_master_secret(const json::object& cfg) {
    std::string s = config::get_string(cfg, "auth.master_secret");
    if (!s.empty()) {
        return s;
    }
    fs::path p = fs::path(config::get_string(cfg, "data_dir")) / "master-secret";
    std::error_code ec;
    if (!fs::exists(p, ec)) {
        return {};
    }
    s = read_file(p);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
        s.pop_back();
    }
    return s;
}

db::backup_meta make_backup_meta(std::int64_t schema_version, std::string_view secret, std::string_view reason) {
    db::backup_meta m{{"format", std::string(backup_format)},
                      {"created_at", iso8601_ms(now_ms())},
                      {"schema_version", std::to_string(schema_version)},
                      {"reason", std::string(reason)}};
    if (!secret.empty()) {
        m.emplace_back("master_secret", std::string(secret));
    }
    return m;
}

asio::awaitable<json::object> serve_backup(db::database& db, std::string secret, const json::object& request) {
    const auto* p = request.if_contains("path");
    if (!p || !p->is_string() || !fs::path(std::string(p->as_string())).is_absolute()) {
        co_return json::object{{"ok", false}, {"error", "path: an absolute file name is required"}};
    }
    bool include = false;
    if (const auto* v = request.if_contains("include_secret"); v && v->is_bool()) {
        include = v->as_bool();
    }
    if (db.file_path().empty()) {
        co_return json::object{{"ok", false}, {"error", "this server's storage is not a SQLite file"}};
    }
    auto t0 = std::chrono::steady_clock::now();
    std::int64_t version = 0;
    co_await db.read([&](db::tx& t) {
        version = t.one_i64("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").value_or(0);
    });
    // Named locals, not temporaries, in the co_await: g++ 12 destroys a non-trivial temporary of such an expression
    // twice (it crashed here; see core/util/run_on.cpp).
    std::string dest(p->as_string());
    db::backup_meta meta = make_backup_meta(version, include ? secret : "", "happy-server backup");
    auto r = co_await db.backup_to(std::move(dest), std::move(meta));
    log::info("backup written", {{"path", r.path}, {"bytes", r.bytes}, {"secret_included", include}});
    co_return json::object{{"ok", true},
                           {"path", r.path},
                           {"bytes", r.bytes},
                           {"schema_version", version},
                           {"integrity", r.integrity},
                           {"secret_included", include && !secret.empty()},
                           {"duration_ms", elapsed_ms(t0)},
                           {"pid", static_cast<std::int64_t>(::getpid())}};
}

backup_job_settings backup_job_settings_from(const json::object& cfg) {
    backup_job_settings s;
    fs::path dir(config::get_string(cfg, "jobs.backup.directory"));
    s.directory = dir.is_absolute() ? dir : fs::absolute(fs::path(config::get_string(cfg, "data_dir")) / dir);
    s.keep = static_cast<std::size_t>(config::get_int(cfg, "jobs.backup.keep"));
    s.include_secret = config::get_bool(cfg, "jobs.backup.include_secret");
    return s;
}

asio::awaitable<void> run_backup_job(db::database& db, backup_job_settings s, std::string secret) {
    fs::create_directories(s.directory);
    fs::permissions(s.directory, fs::perms::owner_all, fs::perm_options::replace);
    fs::path file = s.directory / fmt::format("happy-{}.sqlite", backup_timestamp(now_ms()));
    std::int64_t version = 0;
    co_await db.read([&](db::tx& t) {
        version = t.one_i64("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").value_or(0);
    });
    auto t0 = std::chrono::steady_clock::now();
    // Named locals, not temporaries, in the co_await: g++ 12 destroys a non-trivial temporary of such an expression
    // twice (it crashed here; see core/util/run_on.cpp).
    std::string dest = file.string();
    db::backup_meta meta = make_backup_meta(version, s.include_secret ? secret : "", "backup job");
    auto r = co_await db.backup_to(std::move(dest), std::move(meta));
    auto removed = prune_backups(s.directory, "happy-", ".sqlite", s.keep);
    log::info("backup job: backup written", {{"path", r.path},
                                             {"bytes", r.bytes},
                                             {"duration_ms", elapsed_ms(t0)},
                                             {"deleted_old", removed.size()},
                                             {"secret_included", s.include_secret && !secret.empty()}});
}

/// The configured storage plugin and its backend, for backup and restore, which work on SQLite's file.
struct file_backend {
    storage_options options;  ///< what the plugin was opened with (restore opens the restored file with it too)
    const registry::storage_factory* factory = nullptr;
    std::unique_ptr<db::backend> backend;
};

/// Opens the configured storage into `fb`. The exit code when there is nothing to work on: an unknown plugin or
/// one that fails to open, or PostgreSQL, for which the pg_dump / pg_restore instructions are printed instead.
int open_file_backend(const json::object& cfg, const registry& reg, reporter& rep, const std::string& file,
                      bool restoring, file_backend& fb) {
    std::string kind = config::get_string(cfg, "storage.kind");
    fb.factory = reg.storage().find(kind);
    if (!fb.factory) {
        return rep.fail(2, fmt::format("unknown storage plugin \"{}\"", kind));
    }
    try {
        fb.options = storage_options_from(cfg);
        fb.backend = (*fb.factory)(fb.options);
    } catch (const std::exception& e) {
        return rep.fail(1, fmt::format("storage: {}", e.what()));
    }
    if (!fb.backend->file_path().empty()) {
        return 0;
    }
    std::string text = postgres_instructions(fb.backend->describe(), file, restoring);
    if (rep.json_out) {
        rep.out << json::serialize(json::object{{"ok", false}, {"storage", kind}, {"instructions", text}}) << "\n";
    } else {
        rep.out << text;
    }
    return 2;
}

int run_backup(const json::object& cfg, const registry& reg, const backup_options& o, std::ostream& out,
               std::ostream& err) {
    reporter rep{o.json, out, err, "backup"};
    file_backend fb;
    if (int code = open_file_backend(cfg, reg, rep, o.file, false, fb); code != 0) {
        return code;
    }
    auto& backend = fb.backend;
    const auto& so = fb.options;
    std::string db_file = backend->file_path();
    std::error_code ec;
    if (!fs::exists(db_file, ec)) {
        return rep.fail(1, fmt::format("no database at {} (no server has started on this data directory yet)", db_file));
    }
    fs::path dest = fs::absolute(o.file);
    if (fs::exists(dest, ec) && !o.force) {
        return rep.fail(1, fmt::format("{} exists; choose another name or pass --force to replace it", dest.string()));
    }
    if (!fs::is_directory(dest.parent_path(), ec)) {
        return rep.fail(1, fmt::format("directory {} does not exist", dest.parent_path().string()));
    }
    std::string secret = current_master_secret(cfg);
    if (o.include_secret && secret.empty()) {
        return rep.fail(1, "--include-secret: there is no master secret yet (auth.master_secret is empty and "
                           "<data_dir>/master-secret does not exist)");
    }

    json::object result;
    std::string via;
    auto t0 = std::chrono::steady_clock::now();
    try {
        auto answer = admin_call(admin_socket_path(so.data_dir),
                                 {{"op", "backup"}, {"path", dest.string()}, {"include_secret", o.include_secret}},
                                 admin_backup_timeout);
        if (answer) {
            if (!answer->contains("ok") || !answer->at("ok").as_bool()) {
                const auto* e = answer->if_contains("error");
                return rep.fail(1, fmt::format("the running server could not write the backup: {}",
                                               e && e->is_string() ? std::string(e->as_string()) : "unknown error"));
            }
            result = std::move(*answer);
            via = fmt::format("by the running server (pid {})", result.contains("pid") ? json::serialize(result.at("pid")) : "?");
        } else {
            std::unique_ptr<db::connection> c;
            try {
                c = backend->open();
            } catch (const std::exception& e) {
                if (in_use_error(e.what())) {
                    return rep.fail(1, fmt::format("{} is in use by another process, but no server answers on {}; "
                                                   "stop that process or ask it for the backup",
                                                   db_file, admin_socket_path(so.data_dir).string()));
                }
                throw;
            }
            std::int64_t version = schema_version_of(*c, backend->kind());
            auto r = backend->backup_to(*c, dest.string(),
                                        make_backup_meta(version, o.include_secret ? secret : "", "happy-server backup"));
            result = {{"ok", true},
                      {"path", r.path},
                      {"bytes", r.bytes},
                      {"schema_version", version},
                      {"integrity", r.integrity},
                      {"secret_included", o.include_secret},
                      {"duration_ms", elapsed_ms(t0)}};
            via = "directly (no server running)";
        }
    } catch (const std::exception& e) {
        return rep.fail(1, e.what());
    }
    result["via"] = result.contains("pid") ? "server" : "direct";
    bool included = result.at("secret_included").as_bool();
    if (o.json) {
        out << json::serialize(result) << "\n";
        return 0;
    }
    out << fmt::format("backup written: {} ({} bytes, schema version {}, integrity {}), {}, in {} ms\n",
                       std::string(result.at("path").as_string()), json::serialize(result.at("bytes")),
                       json::serialize(result.at("schema_version")), std::string(result.at("integrity").as_string()),
                       via, json::serialize(result.at("duration_ms")));
    if (included) {
        out << "master secret: INCLUDED in the backup (--include-secret): whoever holds this file can sign in as "
               "any account; keep it as private as the secret itself\n";
    } else {
        out << "master secret: not included; keep it with the backup (auth.master_secret / HANDY_MASTER_SECRET, or "
               "<data_dir>/master-secret): without it no token of this data verifies and encrypted vendor tokens "
               "cannot be read (--include-secret stores it in the backup)\n";
    }
    return 0;
}

int run_restore(const json::object& cfg, const registry& reg, const restore_options& o, std::ostream& out,
                std::ostream& err) {
    reporter rep{o.json, out, err, "restore"};
    file_backend fb;
    if (int code = open_file_backend(cfg, reg, rep, o.file, true, fb); code != 0) {
        return code;
    }
    auto& live = fb.backend;
    const auto* factory = fb.factory;
    const auto& so = fb.options;
    fs::path db_file = live->file_path();
    std::error_code ec;
    fs::path src = fs::absolute(o.file);
    if (!fs::is_regular_file(src, ec)) {
        return rep.fail(1, fmt::format("{} is not a file", src.string()));
    }
    fs::path data_dir = db_file.parent_path();
    fs::create_directories(data_dir, ec);

    // 1. No server may own the data directory: one that answers on the admin socket, or one holding the file.
    fs::path sock = admin_socket_path(so.data_dir);
    try {
        if (auto answer = admin_call(sock, {{"op", "status"}}, std::chrono::seconds(5))) {
            std::string pid = answer->contains("pid") ? json::serialize(answer->at("pid")) : "?";
            return rep.fail(1, fmt::format("a happy-server (pid {}) is serving this data directory ({}); stop it "
                                           "first: restore replaces the database under it",
                                           pid, so.data_dir));
        }
    } catch (const std::exception& e) {
        return rep.fail(1, fmt::format("{} exists but does not answer ({}); is a server starting or stuck?",
                                       sock.string(), e.what()));
    }
    bool live_exists = fs::exists(db_file, ec);
    bool live_opened = false;
    if (live_exists) {
        // Opening it takes the exclusive lock a running server holds (and, closing, folds its WAL into the file,
        // so the copy kept aside is whole).
        try {
            auto c = live->open();
            c->exec_script("PRAGMA wal_checkpoint(TRUNCATE)");
            live_opened = true;
        } catch (const std::exception& e) {
            if (in_use_error(e.what())) {
                return rep.fail(1, fmt::format("{} is in use by another process (a running happy-server?); stop it "
                                               "first",
                                               db_file.string()));
            }
            // Unreadable (the reason for restoring, perhaps): it is kept aside as it is.
        }
    }
    live.reset();

    // 2. The backup, checked on a copy in the data directory (same filesystem: the final step is a rename).
    int binary_version = binary_schema_version(reg);
    fs::path tmp = db_file;
    tmp += fmt::format(".restore-tmp-{}", ::getpid());
    auto remove_tmp = [&] {
        for (const char* sfx : {"", "-wal", "-shm", "-journal"}) {
            fs::remove(fs::path(tmp.string() + sfx), ec);
        }
    };
    std::int64_t version = 0;
    std::int64_t applied = 0;
    std::string integrity;
    std::string backup_secret;
    std::string created_at;
    try {
        copy_file_synced(src, tmp);
        storage_options tso = so;
        tso.config["file"] = tmp.string();
        tso.config["exclusive"] = true;
        auto b = (*factory)(tso);
        auto c = b->open();
        integrity = b->integrity_check(*c);
        if (integrity != "ok") {
            remove_tmp();
            return rep.fail(1, fmt::format("{} fails its integrity check: {}", src.string(), integrity));
        }
        db::tx t(*c, b->kind());
        if (!t.one_i64("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
                 .value_or(0)) {
            remove_tmp();
            return rep.fail(1, fmt::format("{} is not a happy-server database (no schema_migrations table)",
                                           src.string()));
        }
        version = schema_version_of(*c, b->kind());
        applied = t.one_i64("SELECT COUNT(*) FROM schema_migrations").value_or(0);
        if (version > binary_version) {
            remove_tmp();
            return rep.fail(1, fmt::format("{} is at schema version {}, newer than this happy-server supports (up to "
                                           "{}); restore it with the newer binary that made it",
                                           src.string(), version, binary_version),
                            {{"schema_version", version}, {"binary_schema_version", binary_version}});
        }
        if (t.one_i64("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'happy_backup'").value_or(0)) {
            c->query("SELECT key, value FROM happy_backup", {}, [&](const db::row_view& r) {
                if (r.text(0) == "master_secret") {
                    backup_secret = std::string(r.text(1));
                } else if (r.text(0) == "created_at") {
                    created_at = std::string(r.text(1));
                }
            });
            // What the backup carried is not data: the restored database is the one the server had.
            c->exec_script("DROP TABLE happy_backup");
        }
        c->exec_script("PRAGMA wal_checkpoint(TRUNCATE)");
        c.reset();
        b.reset();
        fsync_path(tmp);
    } catch (const std::exception& e) {
        remove_tmp();
        return rep.fail(1, fmt::format("cannot read {}: {}", src.string(), e.what()));
    }

    // 3. The current database aside (with its WAL, if one is left), the restored one in its place.
    std::string stamp = backup_timestamp(now_ms());
    fs::path aside;
    try {
        if (live_exists) {
            aside = db_file;
            aside += ".replaced-" + stamp;
            durable_rename(db_file, aside);
            fs::path wal(db_file.string() + "-wal");
            if (fs::exists(wal, ec)) {
                durable_rename(wal, fs::path(aside.string() + "-wal"));
            }
            fs::remove(fs::path(db_file.string() + "-shm"), ec);
        }
        durable_rename(tmp, db_file);
    } catch (const std::exception& e) {
        remove_tmp();
        return rep.fail(1, fmt::format("cannot put the restored database in place: {}{}", e.what(),
                                       aside.empty() ? "" : fmt::format(" (the previous database is {})", aside.string())));
    }

    // 4. The master secret the backup carried, if any.
    std::string secret_note;
    std::string configured = config::get_string(cfg, "auth.master_secret");
    fs::path secret_file = fs::path(so.data_dir) / "master-secret";
    if (backup_secret.empty()) {
        secret_note = "the backup carries no master secret: the server must run with the one the backup was made "
                      "with (auth.master_secret / HANDY_MASTER_SECRET, or <data_dir>/master-secret)";
    } else if (!configured.empty()) {
        secret_note = configured == backup_secret
                          ? "the configured master secret is the backup's"
                          : "WARNING: the configured master secret (auth.master_secret / HANDY_MASTER_SECRET) differs "
                            "from the one in the backup; tokens of the restored data verify only with the backup's";
    } else {
        std::string current = current_master_secret(cfg);
        if (current == backup_secret) {
            secret_note = "master secret: unchanged (the backup's is the data directory's)";
        } else {
            try {
                std::string kept;
                if (!current.empty()) {
                    fs::path old = secret_file;
                    old += ".replaced-" + stamp;
                    durable_rename(secret_file, old);
                    kept = fmt::format(" (the previous one kept as {})", old.string());
                }
                write_private_file(secret_file, backup_secret);
                secret_note = fmt::format("master secret: restored from the backup into {}{}", secret_file.string(), kept);
            } catch (const std::exception& e) {
                return rep.fail(1, fmt::format("the database is restored, but the master secret could not be written "
                                               "to {}: {}",
                                               secret_file.string(), e.what()));
            }
        }
    }

    if (o.json) {
        json::object r{{"ok", true},
                       {"restored", db_file.string()},
                       {"from", src.string()},
                       {"schema_version", version},
                       {"binary_schema_version", binary_version},
                       {"migrations_recorded", applied},
                       {"integrity", integrity},
                       {"replaced_kept_as", aside.empty() ? json::value(nullptr) : json::value(aside.string())},
                       {"secret_restored", !backup_secret.empty()},
                       {"note", secret_note}};
        if (!created_at.empty()) {
            r["backup_created_at"] = created_at;
        }
        out << json::serialize(r) << "\n";
        return 0;
    }
    out << fmt::format("restored {} into {} (schema version {}{}, integrity {})\n", src.string(), db_file.string(),
                       version,
                       version < binary_version ? fmt::format("; the next start migrates it to {}", binary_version) : "",
                       integrity);
    if (!created_at.empty()) {
        out << "backup made at " << created_at << "\n";
    }
    if (!aside.empty()) {
        out << fmt::format("the replaced database is kept as {}{}\n", aside.string(),
                           live_opened ? "" : " (it could not be opened: kept as it was)");
    }
    out << secret_note << "\n";
    return 0;
}

}  // namespace happy::ops
