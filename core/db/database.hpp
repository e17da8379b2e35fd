/// @file
/// Database access for modules: a pool of SOCI sessions on dedicated threads, so that SQL never runs on
/// the network threads. The backend (SQLite, PostgreSQL) is a plugin chosen by name in the config.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <condition_variable>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/db/query.hpp"

namespace soci {
class session;
}
namespace boost::asio {
class thread_pool;
}

namespace happy::db {

enum class dialect { sqlite, postgres };

/// What a storage plugin provides: connections of one kind, opened ready to use.
class backend {
public:
    virtual ~backend() = default;
    virtual dialect kind() const = 0;
    /// Opens one connection with the backend's settings applied (pragmas, timeouts).
    virtual std::unique_ptr<soci::session> open() = 0;
    /// Runs a multi-statement SQL script (migrations).
    virtual void exec_script(soci::session& s, std::string_view sql) = 0;
    /// SQL that starts a write transaction (SQLite: BEGIN IMMEDIATE, so writers queue instead of failing).
    virtual std::string_view begin_write_sql() const = 0;
    /// Human-readable location for logs (no credentials).
    virtual std::string describe() const = 0;
    /// Cheap liveness check (SELECT 1).
    virtual void ping(soci::session& s);
    /// Periodic background work (SQLite: WAL checkpoint), run on a database thread off the request path.
    virtual void maintain(soci::session& s) {}
    /// Runs one statement with positional `?` parameters, calling `fn` (if any) per result row; returns the
    /// number of rows changed by an INSERT/UPDATE/DELETE. The default goes through SOCI (prepared per call,
    /// BLOB parameters bound as text, BLOB columns read as the driver's text form); plugins override it with
    /// a cached prepared statement.
    virtual std::int64_t query(soci::session& s, std::string_view sql, std::span<const param> params, row_fn fn);
    /// Called for each connection just before it is closed (a plugin drops what it cached for it).
    virtual void release(soci::session& s) {}
    /// True when a read never waits for another connection (SQLite in WAL mode: readers see a snapshot and take
    /// no lock a writer holds). database::read() then runs on the calling thread with a connection of that
    /// thread's own, instead of a round trip through the database threads.
    virtual bool reads_never_wait() const { return false; }
};

struct migration {
    int version = 0;
    std::string name;    ///< e.g. "0002_auth"
    std::string module;  ///< owning module (or "core")
    std::string sql;
};

class database {
public:
    /// Opens `connections` sessions and as many worker threads.
    database(std::unique_ptr<backend> b, std::size_t connections);
    ~database();
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    dialect kind() const { return kind_; }
    std::string describe() const;

    /// Runs `fn` with a session that sees committed data; the caller resumes on its own executor. On backends
    /// whose reads never wait (SQLite WAL) `fn` runs right here on a connection owned by the calling thread,
    /// otherwise on a database thread with a pooled session. Exceptions thrown by `fn` propagate to the caller.
    boost::asio::awaitable<void> read(std::function<void(soci::session&)> fn);
    /// Runs `fn` atomically in a write transaction on a database thread; the caller resumes once it is
    /// committed. Writers are serialized (SQLite has one writer anyway) and committed in groups: writes that
    /// queue up while one commits run next in one transaction, each inside its own savepoint, so one that throws
    /// is rolled back alone (its exception reaches its caller) and the rest share one commit (one WAL append,
    /// one fsync with synchronous=full). A caller never sees success before its data is committed.
    boost::asio::awaitable<void> write(std::function<void(soci::session&)> fn);
    /// backend::query on a session handed out by read()/write(): the fast path for hot statements.
    std::int64_t query(soci::session& s, std::string_view sql, std::initializer_list<param> params, row_fn fn = {}) {
        return backend_->query(s, sql, std::span<const param>(params.begin(), params.size()), fn);
    }
    std::int64_t query(soci::session& s, std::string_view sql, std::span<const param> params, row_fn fn = {}) {
        return backend_->query(s, sql, params, fn);
    }

    /// Liveness: SELECT 1 on a pooled session.
    boost::asio::awaitable<bool> ping();
    /// Runs the backend's periodic maintenance on a database thread (errors are logged, not thrown).
    boost::asio::awaitable<void> maintain();

    /// Synchronous variants for start-up (migrations) and tests.
    void read_sync(const std::function<void(soci::session&)>& fn);
    void write_sync(const std::function<void(soci::session&)>& fn);

    /// Applies the not-yet-applied migrations in version order, each in its own transaction, and records
    /// them in schema_migrations. Throws std::runtime_error when the database is newer than this binary
    /// or a migration fails (nothing of that migration is kept).
    void migrate(std::vector<migration> all);

    /// Waits for queued work, then closes every connection. Idempotent.
    void close();

private:
    class lease;
    std::unique_ptr<soci::session> acquire();
    soci::session& thread_connection();
    struct write_job;
    void enqueue_write(std::unique_ptr<write_job> job);
    void drain_writes();
    void run_group(soci::session& s, std::vector<std::unique_ptr<write_job>>& group);
    void release(std::unique_ptr<soci::session> s);
    void run_write(soci::session& s, const std::function<void(soci::session&)>& fn);

    std::unique_ptr<backend> backend_;
    dialect kind_;
    std::unique_ptr<boost::asio::thread_pool> pool_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<soci::session>> free_;
    std::mutex write_mutex_;
    bool closed_ = false;
    const bool inline_reads_;
    const std::uint64_t id_;  ///< tells this database's thread-local connections from an earlier one's
    std::vector<std::unique_ptr<soci::session>> thread_connections_;  ///< guarded by mutex_
    std::mutex queue_mutex_;
    std::vector<std::unique_ptr<write_job>> write_queue_;  ///< guarded by queue_mutex_
    bool writer_active_ = false;                           ///< a drain_writes() is queued or running
};

/// Thrown by storage code for "row not found" conditions handlers map to 404s.
struct not_found : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace happy::db
