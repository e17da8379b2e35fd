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
#include <unordered_map>
#include <vector>

#include "core/db/change_watch.hpp"
#include "core/db/query.hpp"

namespace boost::asio {
class thread_pool;
}

namespace happy::db {

/// What backend::backup_to() wrote.
struct backup_result {
    std::string path;
    std::uint64_t bytes = 0;
    std::string integrity;  ///< the copy's integrity check ("ok")
};

/// Key-value pairs stored with a backup (table happy_backup of the copy): version, schema, time, secret.
using backup_meta = std::vector<std::pair<std::string, std::string>>;

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
    /// How many connections (and database threads) the pool opens: the plugin's own setting
    /// (storage.sqlite.connections, storage.postgres.pool_size), which the core does not read itself.
    virtual std::size_t pool_size() const { return 2; }
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

    /// Single-file backends (SQLite): the database file, for backups, restores and the doctor; empty otherwise.
    virtual std::string file_path() const { return {}; }
    /// Writes a consistent copy of the whole database to `dest` from connection `c` while other connections go on
    /// reading and writing: a temporary file beside `dest`, verified (integrity check), synced, then renamed into
    /// place; `meta` goes into a table `happy_backup` of the copy. The default throws: PostgreSQL is backed up with
    /// pg_dump.
    virtual backup_result backup_to(connection& c, const std::string& dest, const backup_meta& meta);
    /// The backend's own consistency check of the whole database (SQLite: PRAGMA integrity_check), "ok" when
    /// sound; empty when the backend has none to offer (PostgreSQL checks its pages itself).
    virtual std::string integrity_check(connection& c) { return {}; }
    /// Called by database::migrate() under the migration lock when migrations are about to be applied to a
    /// database that already has some (an upgrade), from schema version `from` to `to`. SQLite writes a snapshot
    /// beside the file and returns its path (empty when snapshots are turned off); throws when it cannot, so that
    /// an upgrade never starts without its way back.
    virtual std::string before_upgrade(connection& c, int from, int to) { return {}; }
    /// The backend's counters of committed changes per table (core/db/change_watch.hpp), when it sees every write
    /// to the database (SQLite owning its file); null when other processes may write (PostgreSQL, shared SQLite).
    virtual change_watch* changes() { return nullptr; }
    /// Memory the backend's library holds in this process (SQLite: page caches, prepared statements), in bytes;
    /// -1 when it lives elsewhere (PostgreSQL: the server's). A metric, to tell caches filling from leaks.
    virtual std::int64_t memory_bytes() const { return -1; }
};

struct migration {
    int version = 0;
    std::string name;    ///< e.g. "0002_auth"
    std::string module;  ///< owning module (or "core")
    std::string sql;
};

/// What migrate() found and did.
struct migrate_result {
    std::vector<std::string> applied_now;  ///< names, in the order applied by this call
    int version = 0;                       ///< the schema version afterwards (0: none)
    std::string version_name;              ///< its migration's name
};

class database {
public:
    /// Opens `connections` connections (0: as many as the backend's pool_size()) and as many worker threads.
    explicit database(std::unique_ptr<backend> b, std::size_t connections = 0);
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

    /// write(), for transactions that lock the same rows when they share `key` (the appends to one session). On
    /// backends with several writers, the ones that queue up for one key while an earlier group of it runs are run
    /// next, together, in one transaction, one after the other (each sees those before it, as if they had run alone
    /// in that order), and committed once: statements the functions defer (tx::exec_deferred) then travel in one
    /// round trip, and the group takes its row locks once and is made durable by one commit (one WAL flush) instead
    /// of each waiting for the commit of the one before. If the group's transaction fails, each function runs again
    /// alone (with write()'s retries), so every caller gets its own outcome (a function may thus run twice; it must
    /// reset what it reports, as for a retry); except when the connection was lost after the group began: it may
    /// have committed, so every member gets that error, as write() would report it. Groups of different keys run
    /// concurrently, so a key must cover every row a transaction of it locks first (a session, not its account).
    /// Single-writer backends (SQLite) commit every write in groups anyway: there this is write().
    boost::asio::awaitable<void> write_keyed(std::string key, std::function<void(tx&)> fn);

    /// Liveness: SELECT 1 on a pooled connection.
    boost::asio::awaitable<bool> ping();
    /// Runs the backend's periodic maintenance on a database thread (errors are logged, not thrown).
    boost::asio::awaitable<void> maintain();

    /// The counter of committed changes to `table` (change_watch::watch) when the backend keeps one: while it is
    /// unchanged, nothing was committed to that table by anyone. Null when the backend cannot know (other writers).
    const std::atomic<std::uint64_t>* watch_changes(std::string_view table);
    /// backend::memory_bytes().
    std::int64_t memory_bytes() const { return backend_->memory_bytes(); }

    /// backend::file_path(): the database file of single-file backends, else empty.
    std::string file_path() const;
    /// backend::backup_to() on a database thread (the network threads go on serving). Throws.
    boost::asio::awaitable<backup_result> backup_to(std::string dest, backup_meta meta);
    backup_result backup_to_sync(const std::string& dest, const backup_meta& meta);
    /// backend::integrity_check() on a database thread.
    boost::asio::awaitable<std::string> integrity_check();
    /// The highest version in schema_migrations (0 when none). Throws on a database error.
    std::int64_t schema_version_sync();

    /// Synchronous variants for start-up (migrations), tools and tests.
    void read_sync(const std::function<void(tx&)>& fn);
    void write_sync(const std::function<void(tx&)>& fn);

    /// Applies the not-yet-applied migrations in version order, each in its own transaction, and records
    /// them in schema_migrations (under the backend's global lock). Throws std::runtime_error when the database is
    /// newer than this binary or a migration fails (nothing of that migration is kept).
    migrate_result migrate(std::vector<migration> all);

    /// Waits for queued work, then closes every connection. Idempotent.
    void close();

private:
    class lease;
    std::unique_ptr<connection> acquire();
    connection& thread_connection();
    struct write_job;
    void enqueue_write(std::unique_ptr<write_job> job);
    void drain_writes();
    /// Runs one group of `key`'s queued jobs, then posts itself again while more are queued.
    void drain_key(const std::string& key);
    /// Runs `group` in one transaction, or each job alone when that transaction failed; sets each job's error.
    void run_keyed(std::vector<std::unique_ptr<write_job>>& group);
    /// Runs every job's function in one transaction on `c` and commits it; throws (after rolling back) if any fails.
    /// `began` is set once the transaction was started.
    void run_keyed_group(connection& c, std::vector<std::unique_ptr<write_job>>& group, bool& began);
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
    /// write_keyed() jobs waiting per key; a key is present while a drain_key() for it is queued or running.
    std::unordered_map<std::string, std::vector<std::unique_ptr<write_job>>> keyed_;  ///< guarded by queue_mutex_
};

}  // namespace happy::db
