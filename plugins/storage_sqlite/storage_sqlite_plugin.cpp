#include "plugins/storage_sqlite/storage_sqlite_plugin.hpp"

#include <fmt/format.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <cctype>
#include <atomic>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <cerrno>
#include <system_error>
#include <fcntl.h>
#include <unistd.h>

#include "core/ops/backup_files.hpp"
#include "core/util/time.hpp"

namespace happy::plugin::storage_sqlite {

namespace {

using sqlite_api::sqlite3;
using sqlite_api::sqlite3_stmt;

/// `file:` URI of the database (percent-encoded: a path may hold '?', '#' or '%'), with `vfs=unix-excl` when the
/// process owns the file. unix-excl locks the file once per process and keeps the WAL index in process memory,
/// so the read lock taken and released by every query is a mutex, not an fcntl() system call on the -shm file
/// (measured: a fifth of the server's CPU time per GET /v1/sessions on an empty list).
std::string database_uri(std::string_view path, bool exclusive) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string uri = "file:";
    for (char ch : path) {
        auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '/' || c == '.' || c == '_' || c == '-' || c == '~') {
            uri += ch;
        } else {
            uri += '%';
            uri += hex[c >> 4];
            uri += hex[c & 15];
        }
    }
    if (exclusive) {
        uri += "?vfs=unix-excl";
    }
    return uri;
}

[[noreturn]] void fail(sqlite3* db, std::string_view sql) {
    int code = sqlite_api::sqlite3_extended_errcode(db);
    db::error_kind kind = db::error_kind::other;
    if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) {
        kind = db::error_kind::unique_violation;
    } else if (code == SQLITE_CONSTRAINT_FOREIGNKEY) {
        kind = db::error_kind::foreign_key_violation;
    }
    throw db::error(kind, fmt::format("sqlite3: {} (while running: {})", sqlite_api::sqlite3_errmsg(db), sql));
}

class stmt_row final : public db::row_view {
public:
    explicit stmt_row(sqlite3_stmt* st) : st_(st) {}
    bool is_null(int col) const override { return sqlite_api::sqlite3_column_type(st_, col) == SQLITE_NULL; }
    std::int64_t i64(int col) const override { return sqlite_api::sqlite3_column_int64(st_, col); }
    std::string_view text(int col) const override {
        const auto* p = reinterpret_cast<const char*>(sqlite_api::sqlite3_column_text(st_, col));
        return p ? std::string_view(p, static_cast<std::size_t>(sqlite_api::sqlite3_column_bytes(st_, col)))
                 : std::string_view();
    }
    std::string_view bytes(int col) const override {
        const auto* p = static_cast<const char*>(sqlite_api::sqlite3_column_blob(st_, col));
        return p ? std::string_view(p, static_cast<std::size_t>(sqlite_api::sqlite3_column_bytes(st_, col)))
                 : std::string_view();
    }

private:
    sqlite3_stmt* st_;
};

/// What the connections' page caches, schemas and statements hold in all, in bytes: each connection adds the change
/// of its own figure now and then from its own thread (SQLite's global memory statistics are off: they cost a mutex
/// per allocation).
using memory_total = std::atomic<std::int64_t>;

/// One SQLite connection (opened through SOCI) with its prepared statements, by SQL text. A connection is used by
/// one thread at a time; `busy` covers a statement re-entered from its own row callback.
class sqlite_connection final : public db::connection {
public:
    /// `changes` (may be null) counts the committed changes of the tables it watches, for every connection.
    sqlite_connection(std::unique_ptr<soci::session> s, db::change_watch* changes, memory_total& memory)
        : session_(std::move(s)),
          db_(static_cast<soci::sqlite3_session_backend*>(session_->get_backend())->conn_),
          changes_(changes),
          memory_(memory) {
        // The WAL hook replaces SQLite's automatic checkpoints (the writer checks the size itself, after_write()); it
        // records the size and publishes the committed changes. Registered last: PRAGMA wal_autocheckpoint would
        // replace it.
        sqlite_api::sqlite3_wal_hook(db_, &sqlite_connection::on_wal_commit, this);
        if (changes_) {
            sqlite_api::sqlite3_update_hook(db_, &sqlite_connection::on_row_change, this);
            sqlite_api::sqlite3_rollback_hook(db_, &sqlite_connection::on_rollback, this);
        }
    }
    ~sqlite_connection() override {
        for (auto& [sql, e] : by_sql_) {
            sqlite_api::sqlite3_finalize(e.stmt);
        }
        memory_ -= memory_reported_;
    }

    /// Frames in the WAL after this connection's last commit (0 after a checkpoint that truncated it).
    std::int64_t wal_frames() const { return wal_frames_; }
    void wal_truncated() { wal_frames_ = 0; }
    sqlite3* handle() const { return db_; }

    void exec_script(std::string_view sql) override {
        char* err = nullptr;
        std::string text(sql);
        if (sqlite_api::sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
            std::string msg = err ? err : "unknown error";
            sqlite_api::sqlite3_free(err);
            int code = sqlite_api::sqlite3_extended_errcode(db_);
            throw db::error(code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY
                                ? db::error_kind::unique_violation
                                : db::error_kind::other,
                            "sqlite3: " + msg);
        }
    }

    std::int64_t query(std::string_view sql, std::span<const db::param> params, db::row_fn fn) override {
        entry* e = cached(sql);
        sqlite3_stmt* st = e->stmt;
        bool temporary = false;
        if (e->busy) {  // re-entered from its own row callback: use a one-off statement
            temporary = true;
            st = prepare(sql, 0);
        } else {
            e->busy = true;
        }
        struct done {
            sqlite3_stmt* st;
            entry* e;
            bool temporary;
            ~done() {
                if (temporary) {
                    sqlite_api::sqlite3_finalize(st);
                } else {
                    sqlite_api::sqlite3_reset(st);
                    sqlite_api::sqlite3_clear_bindings(st);
                    e->busy = false;
                }
            }
        } guard{st, e, temporary};
        for (std::size_t i = 0; i < params.size(); ++i) {
            int idx = static_cast<int>(i) + 1;
            int rc = std::visit(
                [&](const auto& v) -> int {
                    using T = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<T, std::nullptr_t>) {
                        return sqlite_api::sqlite3_bind_null(st, idx);
                    } else if constexpr (std::is_same_v<T, std::int64_t>) {
                        return sqlite_api::sqlite3_bind_int64(st, idx, v);
                    } else if constexpr (std::is_same_v<T, std::string_view>) {
                        return sqlite_api::sqlite3_bind_text64(st, idx, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
                    } else {
                        // A zero-length blob must stay a blob, not NULL: bind_zeroblob for empty input.
                        return v.bytes.empty() ? sqlite_api::sqlite3_bind_zeroblob(st, idx, 0)
                                               : sqlite_api::sqlite3_bind_blob64(st, idx, v.bytes.data(),
                                                                                 v.bytes.size(), SQLITE_STATIC);
                    }
                },
                params[i]);
            if (rc != SQLITE_OK) {
                fail(db_, sql);
            }
        }
        stmt_row row(st);
        for (;;) {
            int rc = sqlite_api::sqlite3_step(st);
            if (rc == SQLITE_ROW) {
                if (fn) {
                    fn(row);
                }
            } else if (rc == SQLITE_DONE) {
                break;
            } else {
                fail(db_, sql);
            }
        }
        if ((++queries_ & 63) == 0) {
            report_memory();
        }
        return sqlite_api::sqlite3_stmt_readonly(st) ? 0 : sqlite_api::sqlite3_changes64(db_);
    }

private:
    void report_memory() {
        std::int64_t now = 0;
        for (int op : {SQLITE_DBSTATUS_CACHE_USED, SQLITE_DBSTATUS_SCHEMA_USED, SQLITE_DBSTATUS_STMT_USED}) {
            int current = 0, high = 0;
            if (sqlite_api::sqlite3_db_status(db_, op, &current, &high, 0) == SQLITE_OK) {
                now += current;
            }
        }
        memory_ += now - memory_reported_;
        memory_reported_ = now;
    }

    struct entry {
        sqlite3_stmt* stmt = nullptr;
        bool busy = false;
    };
    struct hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };

    sqlite3_stmt* prepare(std::string_view sql, unsigned flags) {
        sqlite3_stmt* st = nullptr;
        if (sqlite_api::sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), flags, &st, nullptr) !=
                SQLITE_OK ||
            st == nullptr) {
            fail(db_, sql);
        }
        return st;
    }

    entry* cached(std::string_view sql) {
        auto it = by_sql_.find(sql);
        if (it == by_sql_.end()) {
            // PERSISTENT: the statement lives as long as the connection, so SQLite allocates it accordingly.
            sqlite3_stmt* st = prepare(sql, SQLITE_PREPARE_PERSISTENT);
            it = by_sql_.emplace(std::string(sql), entry{st, false}).first;
        }
        return &it->second;  // node-based map: the address stays valid while the connection lives
    }

    // SQLite calls the WAL hook once a commit is in the WAL and the write lock is released: new reads see the rows
    // by then, so a reader that sees a new change count also finds the new rows (change_watch::committed).
    static int on_wal_commit(void* self, sqlite3*, const char*, int frames) {
        auto* c = static_cast<sqlite_connection*>(self);
        c->wal_frames_ = frames;
        if (c->pending_changes_ != 0) {
            c->changes_->committed(c->pending_changes_);
            c->pending_changes_ = 0;
        }
        return SQLITE_OK;
    }
    // Row changes, also those made by triggers (the session-list version): remembered until the commit. A change
    // undone by ROLLBACK TO a savepoint stays remembered: counting a change that did not happen only costs a reader
    // one query, missing one would serve stale data.
    static void on_row_change(void* self, int, const char*, const char* table, sqlite_api::sqlite3_int64) {
        auto* c = static_cast<sqlite_connection*>(self);
        c->pending_changes_ |= c->changes_->bit_of(table);
    }
    static void on_rollback(void* self) { static_cast<sqlite_connection*>(self)->pending_changes_ = 0; }

    std::unique_ptr<soci::session> session_;
    sqlite3* db_;
    std::int64_t wal_frames_ = 0;
    db::change_watch* changes_;
    db::change_watch::mask pending_changes_ = 0;  ///< watched tables changed by the open transaction
    memory_total& memory_;
    std::int64_t memory_reported_ = 0;  ///< this connection's share of memory_
    std::uint64_t queries_ = 0;
    std::unordered_map<std::string, entry, hash, std::equal_to<>> by_sql_;
};

/// Runs `sql` on a raw handle; throws with SQLite's message.
void exec_raw(sqlite3* db, const std::string& sql) {
    char* err = nullptr;
    if (sqlite_api::sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : sqlite_api::sqlite3_errmsg(db);
        sqlite_api::sqlite3_free(err);
        throw std::runtime_error(fmt::format("sqlite3: {} (while running: {})", msg, sql));
    }
}

/// PRAGMA integrity_check's rows joined: "ok" for a sound database.
std::string integrity_of(sqlite3* db) {
    sqlite3_stmt* st = nullptr;
    if (sqlite_api::sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) != SQLITE_OK) {
        fail(db, "PRAGMA integrity_check");
    }
    std::string out;
    int rc;
    while ((rc = sqlite_api::sqlite3_step(st)) == SQLITE_ROW) {
        const auto* p = reinterpret_cast<const char*>(sqlite_api::sqlite3_column_text(st, 0));
        out += (out.empty() ? "" : "; ") + std::string(p ? p : "");
    }
    sqlite_api::sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        fail(db, "PRAGMA integrity_check");
    }
    return out;
}

/// The online backup: copies every page of `src` (one step, i.e. one read transaction, so the copy is the
/// database as of one commit while writers go on in the WAL) into a fresh owner-only temporary file beside `dest`,
/// turns the copy into a self-contained rollback-journal database, stores `meta`, verifies it, syncs it and renames
/// it into place.
db::backup_result backup_file(sqlite3* src, const std::string& dest, const db::backup_meta& meta) {
    namespace fs = std::filesystem;
    fs::path final = fs::absolute(dest);
    fs::path tmp = final;
    tmp += fmt::format(".tmp-{}", ::getpid());
    // Created here, owner-only: the copy holds every account's data (and the master secret when asked).
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw std::system_error(errno, std::generic_category(), "cannot create " + tmp.string());
    }
    ::close(fd);
    sqlite3* out = nullptr;
    struct cleanup {
        sqlite3*& db;
        const fs::path& tmp;
        bool done = false;
        ~cleanup() {
            if (db) {
                sqlite_api::sqlite3_close(db);
            }
            if (!done) {
                std::error_code ec;
                fs::remove(tmp, ec);
                fs::remove(fs::path(tmp.string() + "-journal"), ec);
            }
        }
    } guard{out, tmp};
    if (sqlite_api::sqlite3_open_v2(tmp.c_str(), &out, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        throw std::runtime_error(fmt::format("cannot open {}: {}", tmp.string(),
                                             out ? sqlite_api::sqlite3_errmsg(out) : "out of memory"));
    }
    for (int attempt = 1;; ++attempt) {
        sqlite_api::sqlite3_backup* b = sqlite_api::sqlite3_backup_init(out, "main", src, "main");
        if (!b) {
            throw std::runtime_error(fmt::format("backup: {}", sqlite_api::sqlite3_errmsg(out)));
        }
        int rc = sqlite_api::sqlite3_backup_step(b, -1);
        sqlite_api::sqlite3_backup_finish(b);
        if (rc == SQLITE_DONE) {
            break;
        }
        if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && attempt < 50) {
            ::usleep(20000);
            continue;
        }
        throw std::runtime_error(fmt::format("backup: {}", sqlite_api::sqlite3_errstr(rc)));
    }
    // The pages carry the source's WAL flag; the copy is one file that any sqlite3 opens as it is.
    exec_raw(out, "PRAGMA journal_mode = DELETE");
    exec_raw(out, "DROP TABLE IF EXISTS happy_backup; "
                  "CREATE TABLE happy_backup (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    for (const auto& [k, v] : meta) {
        sqlite3_stmt* st = nullptr;
        const char* sql = "INSERT OR REPLACE INTO happy_backup (key, value) VALUES (?, ?)";
        if (sqlite_api::sqlite3_prepare_v2(out, sql, -1, &st, nullptr) != SQLITE_OK) {
            fail(out, sql);
        }
        sqlite_api::sqlite3_bind_text(st, 1, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
        sqlite_api::sqlite3_bind_text(st, 2, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        int rc = sqlite_api::sqlite3_step(st);
        sqlite_api::sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            fail(out, sql);
        }
    }
    db::backup_result r;
    r.integrity = integrity_of(out);
    if (r.integrity != "ok") {
        throw std::runtime_error("the copy failed its integrity check: " + r.integrity);
    }
    sqlite_api::sqlite3_close(out);
    out = nullptr;
    ops::fsync_path(tmp);
    ops::durable_rename(tmp, final);
    guard.done = true;
    r.path = final.string();
    r.bytes = static_cast<std::uint64_t>(fs::file_size(final));
    return r;
}

class sqlite_backend final : public db::backend {
public:
    explicit sqlite_backend(options o) : opts_(std::move(o)) {}
    std::size_t pool_size() const override { return opts_.connections; }

    db::dialect kind() const override { return db::dialect::sqlite; }

    std::unique_ptr<db::connection> open() override {
        auto s = std::make_unique<soci::session>(
            soci::sqlite3, fmt::format("db=\"{}\" shared_cache=false", database_uri(opts_.path, opts_.exclusive)));
        auto c = std::make_unique<sqlite_connection>(std::move(s), opts_.exclusive ? &changes_ : nullptr, memory_);
        // With exclusive on, a second server on this file fails at once instead of waiting out the busy timeout
        // (the timeout applies from the next statement on).
        c->exec_script(fmt::format("PRAGMA busy_timeout = {}", opts_.exclusive ? 0 : opts_.busy_timeout_ms));
        try {
            c->exec_script("PRAGMA journal_mode = WAL");  // the first statement that locks the file
        } catch (const db::error& e) {
            if (opts_.exclusive && std::string_view(e.what()).find("locked") != std::string_view::npos) {
                throw std::runtime_error(fmt::format(
                    "database {} is in use by another process (another happy-server on this data directory?); "
                    "storage.sqlite.exclusive is on, so the server needs the file to itself",
                    opts_.path));
            }
            throw;
        }
        if (opts_.exclusive) {
            c->exec_script(fmt::format("PRAGMA busy_timeout = {}", opts_.busy_timeout_ms));
        }
        c->exec_script("PRAGMA foreign_keys = ON");
        c->exec_script(fmt::format("PRAGMA synchronous = {}", opts_.synchronous));
        // Small page cache per connection: the working set of this server is small and RSS matters more.
        c->exec_script("PRAGMA cache_size = -2000");
        c->exec_script("PRAGMA temp_store = MEMORY");
        // No automatic checkpoint inside COMMIT (it would stall whichever request commits the 1000th WAL page):
        // the connection's WAL hook replaces it. maintain() checkpoints from a database thread every second, and the
        // writer truncates the WAL once it outgrows its limit (after_write()).
        return c;
    }

    bool maintain(db::connection& c) override {
        // PASSIVE never blocks readers or writers, but under sustained writes it never catches up with the end of
        // the WAL, so the WAL is never rewound and grows without bound (measured: 87 MB after 5 s of appends), and
        // a crash then costs a replay of all of it at the next start. Once the WAL is past the limit, a TRUNCATE
        // checkpoint runs with this process's writer held back (database::maintain): it waits only for readers of
        // old snapshots (short), copies the rest and truncates the file. Writes stall for that one checkpoint.
        std::int64_t frames = 0;
        c.query("PRAGMA wal_checkpoint(PASSIVE)", {}, [&](const db::row_view& r) { frames = r.i64(1); });
        return frames * page_size(c) > opts_.wal_limit_bytes;
    }

    void maintain_paused(db::connection& c) override { truncate_wal(c); }

    // The hard bound: under sustained writes the WAL grows faster than a once-a-second check can follow (measured:
    // 80 MB peaks), so the writer itself truncates it as soon as a commit takes it past the limit. The 1 s PASSIVE
    // checkpoints above keep most of it copied already, so this checkpoint has little left to do.
    void after_write(db::connection& c) override {
        if (static_cast<sqlite_connection&>(c).wal_frames() * page_size(c) > opts_.wal_limit_bytes) {
            truncate_wal(c);
        }
    }

    std::string_view begin_write_sql() const override { return "BEGIN IMMEDIATE"; }

    // WAL readers work on a snapshot and never wait for the writer; maintain() checkpoints PASSIVE only.
    bool reads_never_wait() const override { return true; }
    bool single_writer() const override { return true; }

    std::string describe() const override { return "sqlite:" + opts_.path; }

    // Only with the file to itself does this process see every write (exclusive; otherwise the sqlite3 tool or
    // another server may write it unseen).
    db::change_watch* changes() override { return opts_.exclusive ? &changes_ : nullptr; }

    std::int64_t memory_bytes() const override { return memory_.load(std::memory_order_relaxed); }

    std::string file_path() const override { return opts_.path; }

    db::backup_result backup_to(db::connection& c, const std::string& dest, const db::backup_meta& meta) override {
        return backup_file(static_cast<sqlite_connection&>(c).handle(), dest, meta);
    }

    std::string integrity_check(db::connection& c) override {
        return integrity_of(static_cast<sqlite_connection&>(c).handle());
    }

    std::string before_upgrade(db::connection& c, int from, int to) override {
        if (opts_.upgrade_snapshots <= 0) {
            return {};
        }
        namespace fs = std::filesystem;
        fs::path file(opts_.path);
        fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
        std::int64_t now = now_ms();
        fs::path dest = dir / upgrade_snapshot_name(file.filename().string(), now, from);
        auto r = backup_file(static_cast<sqlite_connection&>(c).handle(), dest.string(),
                             {{"reason", fmt::format("before migrating from schema version {} to {}", from, to)},
                              {"created_at", iso8601_ms(now)},
                              {"schema_version", std::to_string(from)}});
        ops::prune_backups(dir, file.filename().string() + ".pre-upgrade-", ".sqlite",
                           static_cast<std::size_t>(opts_.upgrade_snapshots));
        return r.path;
    }

private:
    static void truncate_wal(db::connection& c) {
        bool done = false;
        c.query("PRAGMA wal_checkpoint(TRUNCATE)", {}, [&](const db::row_view& r) { done = r.i64(0) == 0; });
        if (done) {
            static_cast<sqlite_connection&>(c).wal_truncated();
        }
    }

    std::int64_t page_size(db::connection& c) {
        if (page_size_ == 0) {
            c.query("PRAGMA page_size", {}, [&](const db::row_view& r) { page_size_ = r.i64(0); });
        }
        return page_size_;
    }

    options opts_;
    db::change_watch changes_;
    memory_total memory_{0};
    std::atomic<std::int64_t> page_size_{0};
};

}  // namespace

namespace {

/// Process-wide SQLite settings; they only take effect before the library initializes, i.e. before the first
/// connection, so the first backend applies them. Multi-thread mode (not serialized): each connection is used
/// by one thread at a time, so SQLite need not lock a mutex around every API call (~7% of a list request).
/// No memory statistics: they take a global mutex on every allocation SQLite makes.
void configure_library_once() {
    static const bool done = [] {
        sqlite_api::sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
        sqlite_api::sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
        // Filenames may be URIs: the only way to pick a VFS through SOCI's connect string (database_uri()).
        sqlite_api::sqlite3_config(SQLITE_CONFIG_URI, 1);
        return true;
    }();
    (void)done;
}

}  // namespace

std::string upgrade_snapshot_name(std::string_view db_file, std::int64_t ms, int from) {
    return fmt::format("{}.pre-upgrade-{}-v{}.sqlite", db_file, ops::backup_timestamp(ms), from);
}

std::unique_ptr<db::backend> make_backend(options o) {
    configure_library_once();
    return std::make_unique<sqlite_backend>(std::move(o));
}

namespace {

/// The plugin's config section, storage.sqlite.
constexpr std::string_view config_schema = R"json({
  "type": "object", "additionalProperties": false,
  "properties": {
    "file": {"type": "string", "minLength": 1, "default": "happy.sqlite", "description": "Database file, relative to data_dir."},
    "connections": {"type": "integer", "minimum": 1, "maximum": 64, "default": 2, "description": "Pooled connections (and database threads)."},
    "busy_timeout_ms": {"type": "integer", "minimum": 0, "default": 5000, "description": "How long a statement waits for a lock."},
    "synchronous": {"type": "string", "enum": ["off", "normal", "full"], "default": "normal", "description": "SQLite synchronous mode (WAL + normal survives process crashes)."},
    "exclusive": {"type": "boolean", "default": true, "description": "The server owns the database file: no other process can open it while the server runs (a second server on the same data directory is refused), and reads skip a lock system call each. false lets the sqlite3 tool read the live database."},
    "wal_limit_mb": {"type": "integer", "minimum": 1, "default": 16, "description": "WAL size (MiB) past which the once-a-second maintenance job forces a TRUNCATE checkpoint. Bounds the WAL under sustained writes and the replay after a crash."},
    "upgrade_snapshots": {"type": "integer", "minimum": 0, "default": 2, "description": "Snapshots kept beside the database file from starts that applied migrations (<file>.pre-upgrade-<time>-v<from>.sqlite); 0 upgrades without one."}
  }
})json";

}  // namespace

void register_plugin(registry& reg) {
    reg.add_storage("sqlite", [](const storage_options& so) {
        options o;
        std::string file = so.config.contains("file") ? std::string(so.config.at("file").as_string()) : "happy.sqlite";
        std::filesystem::path p(file);
        o.path = p.is_absolute() ? p.string() : (std::filesystem::path(so.data_dir) / p).string();
        if (auto* v = so.config.if_contains("busy_timeout_ms")) {
            o.busy_timeout_ms = v->to_number<int>();
        }
        if (auto* v = so.config.if_contains("synchronous")) {
            o.synchronous = std::string(v->as_string());
        }
        if (auto* v = so.config.if_contains("exclusive")) {
            o.exclusive = v->as_bool();
        }
        if (auto* v = so.config.if_contains("upgrade_snapshots")) {
            o.upgrade_snapshots = v->to_number<int>();
        }
        if (auto* v = so.config.if_contains("wal_limit_mb")) {
            o.wal_limit_bytes = v->to_number<std::int64_t>() * 1024 * 1024;
        }
        if (auto* v = so.config.if_contains("connections")) {
            o.connections = v->to_number<std::size_t>();
        }
        return make_backend(std::move(o));
    },
    {.schema = config_schema});
}

}  // namespace happy::plugin::storage_sqlite
