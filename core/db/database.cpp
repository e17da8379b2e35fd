#include "core/db/database.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <fmt/format.h>
#include <iterator>
#include <map>
#include <stdexcept>
#include <thread>

#include "core/log/log.hpp"
#include "core/util/run_on.hpp"
#include "core/util/time.hpp"

namespace happy::db {

namespace asio = boost::asio;

void backend::ping(connection& c) { c.query("SELECT 1", {}, {}); }

backup_result backend::backup_to(connection&, const std::string&, const backup_meta&) {
    throw std::runtime_error(fmt::format("{} is not backed up by happy-server (use the database's own tools)", describe()));
}

namespace {
std::atomic<std::uint64_t> next_database_id{1};
/// Attempts of one write on a multi-writer backend before a serialization failure or deadlock reaches the caller.
constexpr int max_write_attempts = 8;
}  // namespace

database::database(std::unique_ptr<backend> b, std::size_t connections)
    : backend_(std::move(b)),
      kind_(backend_->kind()),
      inline_reads_(backend_->reads_never_wait()),
      single_writer_(backend_->single_writer()),
      id_(next_database_id++) {
    connections_ = std::max<std::size_t>(1, connections ? connections : backend_->pool_size());
    for (std::size_t i = 0; i < connections_; ++i) {
        free_.push_back(backend_->open());
    }
    open_ = connections_;
    pool_ = std::make_unique<asio::thread_pool>(connections_);
}

database::~database() { close(); }

std::string database::describe() const { return backend_->describe(); }

std::unique_ptr<connection> database::acquire() {
    {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return !free_.empty() || open_ < connections_ || closed_; });
        if (closed_) {
            throw std::runtime_error("database is closed");
        }
        if (!free_.empty()) {
            auto c = std::move(free_.back());
            free_.pop_back();
            return c;
        }
        ++open_;  // a connection was dropped as broken: open its replacement outside the lock
    }
    try {
        return backend_->open();
    } catch (...) {
        {
            std::lock_guard lock(mutex_);
            --open_;
        }
        cv_.notify_one();
        throw;
    }
}

void database::release(std::unique_ptr<connection> c) {
    {
        std::lock_guard lock(mutex_);
        if (c->broken() || closed_) {
            --open_;  // dropped; acquire() opens a new one when it is needed
        } else {
            free_.push_back(std::move(c));
        }
    }
    cv_.notify_one();
}

connection& database::thread_connection() {
    struct entry {
        std::uint64_t db_id;
        connection* c;
    };
    // Network threads are few and live as long as the server; each opens its read connection on first use.
    thread_local std::vector<entry> mine;
    for (const auto& e : mine) {
        if (e.db_id == id_) {
            return *e.c;
        }
    }
    auto c = backend_->open();
    connection* raw = c.get();
    {
        std::lock_guard lock(mutex_);
        if (closed_) {
            throw std::runtime_error("database is closed");
        }
        thread_connections_.push_back(std::move(c));
    }
    mine.push_back({id_, raw});
    return *raw;
}

class database::lease {
public:
    explicit lease(database& db) : db_(db), c_(db.acquire()) {}
    ~lease() { db_.release(std::move(c_)); }
    connection& operator*() { return *c_; }

private:
    database& db_;
    std::unique_ptr<connection> c_;
};

namespace {
void rollback_quietly(connection& c) {
    try {
        c.exec_script("ROLLBACK");
    } catch (...) {
        // The connection may already have rolled back (e.g. SQLITE_FULL, a lost server); the original error
        // matters more.
    }
}
}  // namespace

void database::run_write(connection& c, const std::function<void(tx&)>& fn, bool* began) {
    std::unique_lock wl(write_mutex_, std::defer_lock);
    if (single_writer_) {
        wl.lock();
    }
    for (int attempt = 1;; ++attempt) {
        c.begin(backend_->begin_write_sql());
        if (began) {
            *began = true;
        }
        try {
            tx t(c, kind_);
            fn(t);
            c.exec_script("COMMIT");
            return;
        } catch (const error& e) {
            if (began && e.not_begun) {
                *began = false;  // the BEGIN went with the first statement and failed: nothing ran
            }
            rollback_quietly(c);
            if (e.kind != error_kind::retryable || attempt >= max_write_attempts) {
                throw;
            }
            // Another writer won a conflict: back off a little (1, 2, 4 … ms) and run the transaction again.
            std::this_thread::sleep_for(std::chrono::milliseconds(1 << std::min(attempt - 1, 6)));
        } catch (...) {
            rollback_quietly(c);
            throw;
        }
    }
}

namespace {
/// True for the failure of a pooled connection the server closed while it sat idle (a database restart, an idle
/// timeout): the pool hands out every such connection once before it learns that it is gone.
bool lost_connection(const std::exception_ptr& ep, const connection& c) {
    try {
        std::rethrow_exception(ep);
    } catch (const error& e) {
        return e.kind == error_kind::unavailable && c.broken();
    } catch (...) {
        return false;
    }
}
}  // namespace

void database::read_sync(const std::function<void(tx&)>& fn) {
    // A read changes nothing, so one that failed on a connection found dead runs again on a fresh one (the broken
    // connection is dropped when its lease ends).
    for (int attempt = 1;; ++attempt) {
        lease l(*this);
        try {
            tx t(*l, kind_);
            fn(t);
            return;
        } catch (...) {
            if (attempt > 1 || !lost_connection(std::current_exception(), *l)) {
                throw;
            }
        }
    }
}

void database::write_sync(const std::function<void(tx&)>& fn) {
    // Likewise a write whose BEGIN failed on a dead connection: nothing of it reached the database. A write that
    // failed later is not run again here (its COMMIT may have been applied); the caller gets the error.
    for (int attempt = 1;; ++attempt) {
        lease l(*this);
        bool began = false;
        try {
            run_write(*l, fn, &began);
            return;
        } catch (...) {
            if (attempt > 1 || began || !lost_connection(std::current_exception(), *l)) {
                throw;
            }
        }
    }
}

const std::atomic<std::uint64_t>* database::watch_changes(std::string_view table) {
    auto* w = backend_->changes();
    return w ? &w->watch(table) : nullptr;
}

asio::awaitable<void> database::read(std::function<void(tx&)> fn) {
    if (inline_reads_) {
        // No hop to a database thread and back: for a list route that round trip (two thread wake-ups on a
        // 2-core box) cost more than the query (bench/sync.mjs).
        tx t(thread_connection(), kind_);
        fn(t);
        co_return;
    }
    co_await util::run_on(*pool_, [this, &fn] { read_sync(fn); });
}

/// One queued write: the caller's function and its completion, which resumes the awaiting coroutine on its
/// own executor with the outcome.
struct database::write_job {
    const std::function<void(tx&)>* fn = nullptr;
    std::function<void(std::exception_ptr)> done;
    std::exception_ptr error;
};

namespace {
constexpr std::size_t max_group = 256;  // bounds one transaction's size and every member's wait
}

void database::enqueue_write(std::unique_ptr<write_job> job) {
    bool start = false;
    {
        std::lock_guard lock(queue_mutex_);
        write_queue_.push_back(std::move(job));
        if (!writer_active_) {
            writer_active_ = start = true;
        }
    }
    if (start) {
        asio::post(*pool_, [this] { drain_writes(); });
    }
}

void database::drain_writes() {
    std::vector<std::unique_ptr<write_job>> group;
    try {
        lease l(*this);
        for (;;) {
            group.clear();
            {
                std::lock_guard lock(queue_mutex_);
                if (write_queue_.empty()) {
                    writer_active_ = false;
                    return;
                }
                std::size_t n = std::min(write_queue_.size(), max_group);
                std::move(write_queue_.begin(), write_queue_.begin() + static_cast<std::ptrdiff_t>(n),
                          std::back_inserter(group));
                write_queue_.erase(write_queue_.begin(), write_queue_.begin() + static_cast<std::ptrdiff_t>(n));
            }
            run_group(*l, group);
            for (auto& job : group) {
                job->done(job->error);
            }
            std::lock_guard wl(write_mutex_);
            backend_->after_write(*l);
        }
    } catch (...) {
        // No connection (the database is closing): fail what is queued rather than leave callers waiting.
        auto ep = std::current_exception();
        std::vector<std::unique_ptr<write_job>> left;
        {
            std::lock_guard lock(queue_mutex_);
            left.swap(write_queue_);
            writer_active_ = false;
        }
        for (auto* part : {&group, &left}) {
            for (auto& job : *part) {
                if (job) {
                    job->done(ep);
                }
            }
        }
    }
}

void database::run_group(connection& c, std::vector<std::unique_ptr<write_job>>& group) {
    if (group.size() == 1) {
        // Alone: no savepoint needed, a failure rolls the transaction back.
        try {
            run_write(c, *group[0]->fn);
        } catch (...) {
            group[0]->error = std::current_exception();
        }
        return;
    }
    std::lock_guard wl(write_mutex_);
    auto fail_all = [&](std::exception_ptr ep, bool keep_own) {
        for (auto& job : group) {
            if (!keep_own || !job->error) {
                job->error = ep;
            }
        }
    };
    try {
        c.exec_script(backend_->begin_write_sql());
    } catch (...) {
        fail_all(std::current_exception(), false);
        return;
    }
    tx t(c, kind_);
    for (auto& job : group) {
        c.query("SAVEPOINT happy_write", {}, {});
        try {
            (*job->fn)(t);
            c.query("RELEASE happy_write", {}, {});
        } catch (...) {
            job->error = std::current_exception();
            try {
                c.query("ROLLBACK TO happy_write", {}, {});
                c.query("RELEASE happy_write", {}, {});
            } catch (...) {
                // The error ended the whole transaction (I/O error, disk full): nothing of the group is
                // kept, so every member fails, the ones not run yet included.
                rollback_quietly(c);
                fail_all(job->error, true);
                return;
            }
        }
    }
    try {
        c.exec_script("COMMIT");
    } catch (...) {
        auto ep = std::current_exception();
        rollback_quietly(c);
        fail_all(ep, true);
    }
}

namespace {

/// A write job for `fn` whose completion resumes the awaiting coroutine (`handler`) on its own executor with the
/// outcome. `Job` is database::write_job (private: named by the members that call this).
template <class Job, class Handler>
std::unique_ptr<Job> queued_write(const std::function<void(tx&)>& fn, Handler handler) {
    auto job = std::make_unique<Job>();
    job->fn = &fn;
    auto h = std::make_shared<Handler>(std::move(handler));
    job->done = [h](std::exception_ptr ep) {
        auto ex = asio::get_associated_executor(*h);
        asio::post(ex, [h, ep]() mutable { std::move(*h)(ep); });
    };
    return job;
}

}  // namespace

asio::awaitable<void> database::write(std::function<void(tx&)> fn) {
    if (!single_writer_) {
        co_await util::run_on(*pool_, [this, &fn] { write_sync(fn); });
        co_return;
    }
    // The initiation is a named local with trivially copyable captures (g++ 12, see core/util/run_on.cpp).
    auto initiation = [this, &fn](auto handler) {
        auto job = queued_write<write_job>(fn, std::move(handler));
        enqueue_write(std::move(job));
    };
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr)>(std::move(initiation),
                                                                                           asio::use_awaitable);
}

asio::awaitable<void> database::write_keyed(std::string key, std::function<void(tx&)> fn) {
    if (single_writer_) {
        co_await write(std::move(fn));
        co_return;
    }
    // The initiation is a named local with trivially copyable captures (g++ 12, see core/util/run_on.cpp).
    auto initiation = [this, &fn, &key](auto handler) {
        auto job = queued_write<write_job>(fn, std::move(handler));
        bool start = false;
        {
            std::lock_guard lock(queue_mutex_);
            auto [it, fresh] = keyed_.try_emplace(key);
            it->second.push_back(std::move(job));
            start = fresh;
        }
        if (start) {
            asio::post(*pool_, [this, key] { drain_key(key); });
        }
    };
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr)>(std::move(initiation),
                                                                                           asio::use_awaitable);
}

namespace {
constexpr std::size_t max_keyed_group = 64;  // bounds one transaction and the wait of its first member
}

void database::drain_key(const std::string& key) {
    std::vector<std::unique_ptr<write_job>> group;
    {
        std::lock_guard lock(queue_mutex_);
        auto& q = keyed_.find(key)->second;
        std::size_t n = std::min(q.size(), max_keyed_group);
        std::move(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(n), std::back_inserter(group));
        q.erase(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(n));
    }
    run_keyed(group);
    for (auto& job : group) {
        job->done(job->error);
    }
    {
        std::lock_guard lock(queue_mutex_);
        auto it = keyed_.find(key);
        if (it->second.empty()) {
            keyed_.erase(it);  // the next write_keyed() of this key starts a new drain
            return;
        }
    }
    // More queued for this key meanwhile: their group runs next, but behind what other keys and plain writes queued
    // on the database threads since (a busy key must not hold a thread for as long as it stays busy).
    asio::post(*pool_, [this, key] { drain_key(key); });
}

void database::run_keyed(std::vector<std::unique_ptr<write_job>>& group) {
    if (group.size() > 1) {
        bool began = false;
        try {
            lease l(*this);
            run_keyed_group(*l, group, began);
            return;
        } catch (const error& e) {
            if (began && !e.not_begun && e.kind == error_kind::unavailable) {
                // The connection was lost with the group under way, maybe after its COMMIT was sent: it may have
                // been committed, so nothing runs again (as write_sync does for one write); each caller gets it.
                for (auto& job : group) {
                    job->error = std::current_exception();
                }
                return;
            }
            // The database refused the group (a function's statement failed, a serialization failure or deadlock),
            // or it never began: nothing of it was kept, and each function runs again alone below.
        } catch (...) {
            // A function threw, or no connection: likewise nothing was kept.
        }
    }
    for (auto& job : group) {
        try {
            write_sync(*job->fn);
        } catch (...) {
            job->error = std::current_exception();
        }
    }
}

void database::run_keyed_group(connection& c, std::vector<std::unique_ptr<write_job>>& group, bool& began) {
    c.begin(backend_->begin_write_sql());
    began = true;
    try {
        tx t(c, kind_);
        for (auto& job : group) {
            (*job->fn)(t);
        }
        c.exec_script("COMMIT");
    } catch (...) {
        rollback_quietly(c);
        throw;
    }
}

asio::awaitable<bool> database::ping() {
    bool ok = false;
    try {
        co_await util::run_on(*pool_, [this, &ok] {
            lease l(*this);
            backend_->ping(*l);
            ok = true;
        });
    } catch (const std::exception& e) {
        log::warn("database ping failed", {{"error", e.what()}});
    }
    co_return ok;
}

asio::awaitable<void> database::maintain() {
    try {
        co_await util::run_on(*pool_, [this] {
            lease l(*this);
            if (backend_->maintain(*l)) {
                std::lock_guard wl(write_mutex_);
                backend_->maintain_paused(*l);
            }
        });
    } catch (const std::exception& e) {
        log::warn("database maintenance failed", {{"error", e.what()}});
    }
}

std::string database::file_path() const { return backend_->file_path(); }

backup_result database::backup_to_sync(const std::string& dest, const backup_meta& meta) {
    lease l(*this);
    return backend_->backup_to(*l, dest, meta);
}

asio::awaitable<backup_result> database::backup_to(std::string dest, backup_meta meta) {
    backup_result out;
    co_await util::run_on(*pool_, [&] { out = backup_to_sync(dest, meta); });
    co_return out;
}

asio::awaitable<std::string> database::integrity_check() {
    std::string out;
    co_await util::run_on(*pool_, [&] {
        lease l(*this);
        out = backend_->integrity_check(*l);
    });
    co_return out;
}

std::int64_t database::schema_version_sync() {
    std::int64_t v = 0;
    read_sync([&](tx& t) { v = t.one_i64("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").value_or(0); });
    return v;
}

migrate_result database::migrate(std::vector<migration> all) {
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
    for (std::size_t i = 1; i < all.size(); ++i) {
        if (all[i].version == all[i - 1].version) {
            throw std::runtime_error(
                fmt::format("two migrations share version {}: {} and {}", all[i].version, all[i - 1].name, all[i].name));
        }
    }
    int known_max = all.empty() ? 0 : all.back().version;
    migrate_result out;
    lease l(*this);
    connection& c = *l;
    backend_->with_global_lock(c, "happy-server migrations", [&] {
        c.exec_script(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, module TEXT NOT NULL,"
            " applied_at BIGINT NOT NULL)");
        std::map<std::int64_t, std::string> applied;
        c.query("SELECT version, name FROM schema_migrations", {},
                [&](const row_view& r) { applied[r.i64(0)] = r.str(1); });
        if (!applied.empty() && applied.rbegin()->first > known_max) {
            throw std::runtime_error(fmt::format(
                "the database schema is at version {} ({}), newer than this happy-server binary supports (up to {}). "
                "Run a newer happy-server, or restore a backup made with this version.",
                applied.rbegin()->first, applied.rbegin()->second, known_max));
        }
        // An upgrade (a database that has migrations, and a binary with more): the backend keeps a way back first.
        bool pending = std::any_of(all.begin(), all.end(), [&](const auto& m) { return !applied.count(m.version); });
        if (!applied.empty() && pending) {
            int from = static_cast<int>(applied.rbegin()->first);
            std::string snapshot;
            try {
                snapshot = backend_->before_upgrade(c, from, known_max);
            } catch (const std::exception& e) {
                throw std::runtime_error(fmt::format("cannot write the snapshot taken before migrating from schema "
                                                     "version {} to {}: {}",
                                                     from, known_max, e.what()));
            }
            if (!snapshot.empty()) {
                log::info("snapshot written before migrations",
                          {{"path", snapshot}, {"from_version", from}, {"to_version", known_max}});
            }
        }
        for (const auto& m : all) {
            if (applied.count(m.version)) {
                continue;
            }
            try {
                run_write(c, [&](tx& t) {
                    t.conn().exec_script(m.sql);
                    t.exec("INSERT INTO schema_migrations (version, name, module, applied_at) VALUES (?, ?, ?, ?)",
                           {std::int64_t{m.version}, m.name, m.module, now_ms()});
                });
            } catch (const std::exception& e) {
                throw std::runtime_error(fmt::format("migration {} failed: {}", m.name, e.what()));
            }
            log::info("migration applied", {{"version", m.version}, {"name", m.name}, {"module", m.module}});
            out.applied_now.push_back(m.name);
            applied[m.version] = m.name;
        }
        if (!applied.empty()) {
            out.version = static_cast<int>(applied.rbegin()->first);
            out.version_name = applied.rbegin()->second;
        }
    });
    return out;
}

void database::close() {
    if (pool_) {
        pool_->join();  // finish queued work first
        pool_.reset();
    }
    std::lock_guard lock(mutex_);
    closed_ = true;
    free_.clear();
    thread_connections_.clear();
    cv_.notify_all();
}

}  // namespace happy::db
