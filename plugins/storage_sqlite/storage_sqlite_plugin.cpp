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

/// One SQLite connection (opened through SOCI) with its prepared statements, by SQL text. A connection is used by
/// one thread at a time; `busy` covers a statement re-entered from its own row callback.
class sqlite_connection final : public db::connection {
public:
    explicit sqlite_connection(std::unique_ptr<soci::session> s)
        : session_(std::move(s)), db_(static_cast<soci::sqlite3_session_backend*>(session_->get_backend())->conn_) {
        // The WAL hook replaces SQLite's automatic checkpoints (the writer checks the size itself, after_write()); it
        // only records the size. Registered last: PRAGMA wal_autocheckpoint would replace it.
        sqlite_api::sqlite3_wal_hook(db_, &sqlite_connection::on_wal_commit, this);
    }
    ~sqlite_connection() override {
        for (auto& [sql, e] : by_sql_) {
            sqlite_api::sqlite3_finalize(e.stmt);
        }
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
        return sqlite_api::sqlite3_stmt_readonly(st) ? 0 : sqlite_api::sqlite3_changes64(db_);
    }

private:
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

    static int on_wal_commit(void* self, sqlite3*, const char*, int frames) {
        static_cast<sqlite_connection*>(self)->wal_frames_ = frames;
        return SQLITE_OK;
    }

    std::unique_ptr<soci::session> session_;
    sqlite3* db_;
    std::int64_t wal_frames_ = 0;
    std::unordered_map<std::string, entry, hash, std::equal_to<>> by_sql_;
};

class sqlite_backend final : public db::backend {
public:
    explicit sqlite_backend(options o) : opts_(std::move(o)) {}

    db::dialect kind() const override { return db::dialect::sqlite; }

    std::unique_ptr<db::connection> open() override {
        auto s = std::make_unique<soci::session>(
            soci::sqlite3, fmt::format("db=\"{}\" shared_cache=false", database_uri(opts_.path, opts_.exclusive)));
        auto c = std::make_unique<sqlite_connection>(std::move(s));
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

std::unique_ptr<db::backend> make_backend(options o) {
    configure_library_once();
    return std::make_unique<sqlite_backend>(std::move(o));
}

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
        if (auto* v = so.config.if_contains("wal_limit_mb")) {
            o.wal_limit_bytes = v->to_number<std::int64_t>() * 1024 * 1024;
        }
        return make_backend(std::move(o));
    });
}

}  // namespace happy::plugin::storage_sqlite
