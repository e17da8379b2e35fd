#include "plugins/storage_sqlite/storage_sqlite_plugin.hpp"

#include <fmt/format.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <cctype>
#include <filesystem>
#include <mutex>
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

sqlite3* handle(soci::session& s) {
    return static_cast<soci::sqlite3_session_backend*>(s.get_backend())->conn_;
}

[[noreturn]] void fail(sqlite3* db, std::string_view sql) {
    // soci_error, like the SOCI path, so callers see one exception type for database failures.
    throw soci::soci_error(fmt::format("sqlite3: {} (while running: {})", sqlite_api::sqlite3_errmsg(db), sql));
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

/// Prepared statements of one connection, by SQL text. A connection is used by one thread at a time, so only
/// the map of connections needs a lock; `busy` covers a statement re-entered from its own row callback.
struct stmt_cache {
    struct entry {
        sqlite3_stmt* stmt = nullptr;
        bool busy = false;
    };
    struct hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, entry, hash, std::equal_to<>> by_sql;
};

class sqlite_backend final : public db::backend {
public:
    explicit sqlite_backend(options o) : opts_(std::move(o)) {}

    db::dialect kind() const override { return db::dialect::sqlite; }

    std::unique_ptr<soci::session> open() override {
        auto s = std::make_unique<soci::session>(
            soci::sqlite3, fmt::format("db=\"{}\" shared_cache=false", database_uri(opts_.path, opts_.exclusive)));
        *s << fmt::format("PRAGMA busy_timeout = {}", opts_.busy_timeout_ms);
        std::string mode;
        try {
            *s << "PRAGMA journal_mode = WAL", soci::into(mode);  // the first statement that locks the file
        } catch (const soci::soci_error& e) {
            if (opts_.exclusive && std::string_view(e.what()).find("locked") != std::string_view::npos) {
                throw std::runtime_error(fmt::format(
                    "database {} is in use by another process (another happy-server on this data directory?); "
                    "storage.sqlite.exclusive is on, so the server needs the file to itself",
                    opts_.path));
            }
            throw;
        }
        *s << "PRAGMA foreign_keys = ON";
        *s << fmt::format("PRAGMA synchronous = {}", opts_.synchronous);
        // Small page cache per connection: the working set of this server is small and RSS matters more.
        *s << "PRAGMA cache_size = -2000";
        *s << "PRAGMA temp_store = MEMORY";
        // No checkpoint inside COMMIT: an automatic checkpoint stalls whichever request commits the 1000th WAL
        // page. maintain() checkpoints from a database thread every second instead.
        *s << "PRAGMA wal_autocheckpoint = 0";
        return s;
    }

    void maintain(soci::session& s) override {
        // PASSIVE never blocks readers or writers; the WAL is rewound once a checkpoint completes with no reader.
        int busy = 0, log_frames = 0, checkpointed = 0;
        s << "PRAGMA wal_checkpoint(PASSIVE)", soci::into(busy), soci::into(log_frames), soci::into(checkpointed);
    }

    void exec_script(soci::session& s, std::string_view sql) override {
        auto* be = static_cast<soci::sqlite3_session_backend*>(s.get_backend());
        char* err = nullptr;
        std::string text(sql);
        if (sqlite_api::sqlite3_exec(be->conn_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
            std::string msg = err ? err : "unknown error";
            sqlite_api::sqlite3_free(err);
            throw std::runtime_error(msg);
        }
    }

    std::string_view begin_write_sql() const override { return "BEGIN IMMEDIATE"; }

    // WAL readers work on a snapshot and never wait for the writer; maintain() checkpoints PASSIVE only.
    bool reads_never_wait() const override { return true; }

    std::int64_t query(soci::session& s, std::string_view sql, std::span<const db::param> params,
                       db::row_fn fn) override {
        sqlite3* db = handle(s);
        stmt_cache::entry* e = cached(db, sql);
        sqlite3_stmt* st = e->stmt;
        bool temporary = false;
        if (e->busy) {  // re-entered from its own row callback: use a one-off statement
            temporary = true;
            st = prepare(db, sql, 0);
        } else {
            e->busy = true;
        }
        struct done {
            sqlite3_stmt* st;
            stmt_cache::entry* e;
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
                fail(db, sql);
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
                fail(db, sql);
            }
        }
        return sqlite_api::sqlite3_stmt_readonly(st) ? 0 : sqlite_api::sqlite3_changes64(db);
    }

    void release(soci::session& s) override {
        sqlite3* db = handle(s);
        std::lock_guard lock(cache_mutex_);
        auto it = caches_.find(db);
        if (it == caches_.end()) {
            return;
        }
        for (auto& [sql, e] : it->second.by_sql) {
            sqlite_api::sqlite3_finalize(e.stmt);
        }
        caches_.erase(it);
    }

    std::string describe() const override { return "sqlite:" + opts_.path; }

private:
    static sqlite3_stmt* prepare(sqlite3* db, std::string_view sql, unsigned flags) {
        sqlite3_stmt* st = nullptr;
        if (sqlite_api::sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), flags, &st, nullptr) !=
                SQLITE_OK ||
            st == nullptr) {
            fail(db, sql);
        }
        return st;
    }

    stmt_cache::entry* cached(sqlite3* db, std::string_view sql) {
        std::lock_guard lock(cache_mutex_);
        auto& c = caches_[db];
        auto it = c.by_sql.find(sql);
        if (it == c.by_sql.end()) {
            // PERSISTENT: the statement lives as long as the connection, so SQLite allocates it accordingly.
            sqlite3_stmt* st = prepare(db, sql, SQLITE_PREPARE_PERSISTENT);
            it = c.by_sql.emplace(std::string(sql), stmt_cache::entry{st, false}).first;
        }
        return &it->second;  // node-based map: the address stays valid while the connection lives
    }

    options opts_;
    std::mutex cache_mutex_;
    std::unordered_map<sqlite3*, stmt_cache> caches_;
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
        return make_backend(std::move(o));
    });
}

}  // namespace happy::plugin::storage_sqlite
