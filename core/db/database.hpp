/// @file
/// Database access for modules: a pool of plugin connections on dedicated threads, so that SQL never blocks the
/// network threads (except SQLite WAL reads, which never wait). The backend (SQLite, PostgreSQL) is a storage
/// plugin chosen by name in the config; module code sees only `db::tx` (core/db/query.hpp).
#pragma once
#include <boost/asio/awaitable.hpp>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/db/query.hpp"

namespace boost::asio {
class thread_pool;
}

namespace happy::db {

/// What a storage plugin provides: connections of one kind, opened ready to use.
class backend {
public:
    virtual ~backend() = default;
    virtual dialect kind() const = 0;
    /// Opens one connection with the backend's settings applied (pragmas, timeouts). Throws db::error
    /// (unavailable) when the database cannot be reached.
    virtual std::unique_ptr<connection> open() = 0;
    /// SQL that starts a write transaction (SQLite: BEGIN IMMEDIATE, so writers queue instead of failing).
    virtual std::string_view begin_write_sql() const { return "BEGIN"; }
    /// Human-readable location for logs (no credentials).
    virtual std::string describe() const = 0;
    /// Cheap liveness check (SELECT 1); throws when the connection is unusable.
    virtual void ping(connection& c);
    /// Periodic background work (SQLite: WAL checkpoint), run on a database thread off the request path. Returns
    /// true when maintain_paused() should run next, with this process's writes held back meanwhile.
    virtual bool maintain(connection& c) { return false; }
    virtual void maintain_paused(connection& c) {}
    /// Single-writer backends: called on the writer's connection after each committed group, with writes held back
    /// (SQLite: a checkpoint when the WAL has outgrown its limit).
    virtual void after_write(connection& c) {}
    /// True when a read never waits for another connection (SQLite in WAL mode: readers see a snapshot and take
    /// no lock a writer holds). database::read() then runs on the calling thread with a connection of that
    /// thread's own, instead of a round trip through the database threads.
    virtual bool reads_never_wait() const { return false; }
    /// True when the database has one writer at a time (SQLite): database::write() then queues writes on one
    /// thread and commits them in groups. Otherwise every write is its own transaction on a pooled connection,
    /// run concurrently and retried when the database reports a serialization failure or deadlock.
    virtual bool single_writer() const { return false; }
    /// Takes a lock that only one process holds at a time, for the duration of `fn` (PostgreSQL: an advisory lock,
    /// so that N instances starting together migrate once). The default runs `fn` directly.
    virtual void with_global_lock(connection& c, std::string_view name, const std::function<void()>& fn) { fn(); }
};

struct migration {
    int version = 0;
    std::string name;    ///< e.g. "0002_auth"
    std::string module;  ///< owning module (or "core")
    std::string sql;
};

class database {
public:
    /// Opens `connections` connections and as many worker threads.
    database(std::unique_ptr<backend> b, std::size_t connections);
    ~database();
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    dialect kind() const { return kind_; }
    std::string describe() const;

    /// Runs `fn` with a connection that sees committed data; the caller resumes on its own executor. On backends
    /// whose reads never wait (SQLite WAL) `fn` runs right here on a connection owned by the calling thread,
    /// otherwise on a database thread with a pooled connection. Exceptions thrown by `fn` propagate to the caller.
    boost::asio::awaitable<void> read(std::function<void(tx&)> fn);
    /// Runs `fn` atomically in a write transaction on a database thread; the caller resumes once it is committed.
    /// Single-writer backends (SQLite) commit in groups: writes that queue up while one commits run next in one
    /// transaction, each inside its own savepoint, so one that throws is rolled back alone (its exception reaches
    /// its caller) and the rest share one commit (one WAL append, one fsync with synchronous=full). Other backends
    /// run each write in its own transaction, concurrently, and run `fn` again (a bounded number of times) after a
    /// serialization failure or deadlock: `fn` must not keep state across runs except through the database.
    /// A caller never sees success before its data is committed.
    boost::asio::awaitable<void> write(std::function<void(tx&)> fn);

    /// Liveness: SELECT 1 on a pooled connection.
    boost::asio::awaitable<bool> ping();
    /// Runs the backend's periodic maintenance on a database thread (errors are logged, not thrown).
    boost::asio::awaitable<void> maintain();

    /// Synchronous variants for start-up (migrations), tools and tests.
    void read_sync(const std::function<void(tx&)>& fn);
    void write_sync(const std::function<void(tx&)>& fn);

    /// Applies the not-yet-applied migrations in version order, each in its own transaction, and records
    /// them in schema_migrations (under the backend's global lock). Throws std::runtime_error when the database is
    /// newer than this binary or a migration fails (nothing of that migration is kept).
    void migrate(std::vector<migration> all);

    /// Waits for queued work, then closes every connection. Idempotent.
    void close();

private:
    class lease;
    std::unique_ptr<connection> acquire();
    connection& thread_connection();
    struct write_job;
    void enqueue_write(std::unique_ptr<write_job> job);
    void drain_writes();
    void run_group(connection& c, std::vector<std::unique_ptr<write_job>>& group);
    void release(std::unique_ptr<connection> c);
    /// `began` (if given) is set once BEGIN succeeded: a failure before it left nothing in the database.
    void run_write(connection& c, const std::function<void(tx&)>& fn, bool* began = nullptr);

    std::unique_ptr<backend> backend_;
    dialect kind_;
    std::unique_ptr<boost::asio::thread_pool> pool_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<connection>> free_;
    std::mutex write_mutex_;
    bool closed_ = false;
    std::size_t connections_ = 1;  ///< the pool's size
    std::size_t open_ = 0;         ///< pooled connections open or being opened; guarded by mutex_
    const bool inline_reads_;
    const bool single_writer_;
    const std::uint64_t id_;  ///< tells this database's thread-local connections from an earlier one's
    std::vector<std::unique_ptr<connection>> thread_connections_;  ///< guarded by mutex_
    std::mutex queue_mutex_;
    std::vector<std::unique_ptr<write_job>> write_queue_;  ///< guarded by queue_mutex_
    bool writer_active_ = false;                           ///< a drain_writes() is queued or running
};

}  // namespace happy::db
