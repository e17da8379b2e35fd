#include "core/db/database.hpp"

#include "core/util/run_on.hpp"

#include <algorithm>
#include <iterator>
#include <atomic>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <map>
#include <soci/soci.h>
#include <stdexcept>

#include "core/log/log.hpp"
#include "core/util/time.hpp"

namespace happy::db {

namespace asio = boost::asio;

void backend::ping(soci::session& s) {
    int one = 0;
    s << "SELECT 1", soci::into(one);
}

namespace {
std::atomic<std::uint64_t> next_database_id{1};
}

database::database(std::unique_ptr<backend> b, std::size_t connections)
    : backend_(std::move(b)),
      kind_(backend_->kind()),
      inline_reads_(backend_->reads_never_wait()),
      id_(next_database_id++) {
    connections = std::max<std::size_t>(1, connections);
    for (std::size_t i = 0; i < connections; ++i) {
        free_.push_back(backend_->open());
    }
    pool_ = std::make_unique<asio::thread_pool>(connections);
}

database::~database() { close(); }

std::string database::describe() const { return backend_->describe(); }

std::unique_ptr<soci::session> database::acquire() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !free_.empty() || closed_; });
    if (free_.empty()) {
        throw std::runtime_error("database is closed");
    }
    auto s = std::move(free_.back());
    free_.pop_back();
    return s;
}

void database::release(std::unique_ptr<soci::session> s) {
    {
        std::lock_guard lock(mutex_);
        free_.push_back(std::move(s));
    }
    cv_.notify_one();
}

soci::session& database::thread_connection() {
    struct entry {
        std::uint64_t db_id;
        soci::session* s;
    };
    // Network threads are few and live as long as the server; each opens its read connection on first use.
    thread_local std::vector<entry> mine;
    for (const auto& e : mine) {
        if (e.db_id == id_) {
            return *e.s;
        }
    }
    auto s = backend_->open();
    soci::session* raw = s.get();
    {
        std::lock_guard lock(mutex_);
        if (closed_) {
            throw std::runtime_error("database is closed");
        }
        thread_connections_.push_back(std::move(s));
    }
    mine.push_back({id_, raw});
    return *raw;
}

class database::lease {
public:
    explicit lease(database& db) : db_(db), s_(db.acquire()) {}
    ~lease() { db_.release(std::move(s_)); }
    soci::session& operator*() { return *s_; }

private:
    database& db_;
    std::unique_ptr<soci::session> s_;
};

void database::run_write(soci::session& s, const std::function<void(soci::session&)>& fn) {
    std::lock_guard wl(write_mutex_);
    s << backend_->begin_write_sql();
    try {
        fn(s);
        s << "COMMIT";
    } catch (...) {
        try {
            s << "ROLLBACK";
        } catch (...) {
            // The connection may already have rolled back (e.g. SQLITE_FULL); the original error matters more.
        }
        throw;
    }
}

void database::read_sync(const std::function<void(soci::session&)>& fn) {
    lease l(*this);
    fn(*l);
}

void database::write_sync(const std::function<void(soci::session&)>& fn) {
    lease l(*this);
    run_write(*l, fn);
}


asio::awaitable<void> database::read(std::function<void(soci::session&)> fn) {
    if (inline_reads_) {
        // No hop to a database thread and back: for a list route that round trip (two thread wake-ups on a
        // 2-core box) cost more than the query (bench/sync.mjs).
        fn(thread_connection());
        co_return;
    }
    co_await util::run_on(*pool_, [this, &fn] { read_sync(fn); });
}

/// One queued write: the caller's function and its completion, which resumes the awaiting coroutine on its
/// own executor with the outcome.
struct database::write_job {
    const std::function<void(soci::session&)>* fn = nullptr;
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

void database::run_group(soci::session& s, std::vector<std::unique_ptr<write_job>>& group) {
    std::lock_guard wl(write_mutex_);
    auto fail_all = [&](std::exception_ptr ep, bool keep_own) {
        for (auto& job : group) {
            if (!keep_own || !job->error) {
                job->error = ep;
            }
        }
    };
    auto rollback = [&] {
        try {
            s << "ROLLBACK";
        } catch (...) {
            // Already rolled back by SQLite (e.g. SQLITE_FULL); the original error matters more.
        }
    };
    try {
        s << backend_->begin_write_sql();
    } catch (...) {
        fail_all(std::current_exception(), false);
        return;
    }
    if (group.size() == 1) {
        // Alone: no savepoint needed, a failure rolls the transaction back.
        try {
            (*group[0]->fn)(s);
        } catch (...) {
            group[0]->error = std::current_exception();
            rollback();
            return;
        }
    } else {
        for (std::size_t i = 0; i < group.size(); ++i) {
            auto& job = *group[i];
            backend_->query(s, "SAVEPOINT happy_write", {}, {});
            try {
                (*job.fn)(s);
                backend_->query(s, "RELEASE happy_write", {}, {});
            } catch (...) {
                job.error = std::current_exception();
                try {
                    backend_->query(s, "ROLLBACK TO happy_write", {}, {});
                    backend_->query(s, "RELEASE happy_write", {}, {});
                } catch (...) {
                    // The error ended the whole transaction (I/O error, disk full): nothing of the group is
                    // kept, so every member fails, the ones not run yet included.
                    rollback();
                    fail_all(job.error, true);
                    return;
                }
            }
        }
    }
    try {
        s << "COMMIT";
    } catch (...) {
        auto ep = std::current_exception();
        rollback();
        fail_all(ep, true);
    }
}

asio::awaitable<void> database::write(std::function<void(soci::session&)> fn) {
    // The initiation is a named local with trivially copyable captures (g++ 12, see core/util/run_on.cpp).
    auto initiation = [this, &fn](auto handler) {
        auto job = std::make_unique<write_job>();
        job->fn = &fn;
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        job->done = [h](std::exception_ptr ep) {
            auto ex = asio::get_associated_executor(*h);
            asio::post(ex, [h, ep]() mutable { std::move(*h)(ep); });
        };
        enqueue_write(std::move(job));
    };
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr)>(std::move(initiation),
                                                                                           asio::use_awaitable);
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
            backend_->maintain(*l);
        });
    } catch (const std::exception& e) {
        log::warn("database maintenance failed", {{"error", e.what()}});
    }
}

void database::migrate(std::vector<migration> all) {
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
    for (std::size_t i = 1; i < all.size(); ++i) {
        if (all[i].version == all[i - 1].version) {
            throw std::runtime_error(
                fmt::format("two migrations share version {}: {} and {}", all[i].version, all[i - 1].name, all[i].name));
        }
    }
    int known_max = all.empty() ? 0 : all.back().version;
    lease l(*this);
    soci::session& s = *l;
    backend_->exec_script(s,
                          "CREATE TABLE IF NOT EXISTS schema_migrations ("
                          " version INTEGER PRIMARY KEY, name TEXT NOT NULL, module TEXT NOT NULL,"
                          " applied_at BIGINT NOT NULL)");
    std::map<int, std::string> applied;
    {
        soci::rowset<soci::row> rows = (s.prepare << "SELECT version, name FROM schema_migrations");
        for (const auto& r : rows) {
            applied[r.get<int>(0)] = r.get<std::string>(1);
        }
    }
    if (!applied.empty() && applied.rbegin()->first > known_max) {
        throw std::runtime_error(fmt::format(
            "the database schema is at version {} ({}), newer than this happy-server binary supports (up to {}). "
            "Run a newer happy-server, or restore a backup made with this version.",
            applied.rbegin()->first, applied.rbegin()->second, known_max));
    }
    for (const auto& m : all) {
        if (applied.count(m.version)) {
            continue;
        }
        try {
            run_write(s, [&](soci::session& tx) {
                backend_->exec_script(tx, m.sql);
                std::int64_t now = now_ms();
                tx << "INSERT INTO schema_migrations (version, name, module, applied_at) VALUES (:v, :n, :m, :t)",
                    soci::use(m.version), soci::use(m.name), soci::use(m.module), soci::use(now);
            });
        } catch (const std::exception& e) {
            throw std::runtime_error(fmt::format("migration {} failed: {}", m.name, e.what()));
        }
        log::info("migration applied", {{"version", m.version}, {"name", m.name}, {"module", m.module}});
    }
}

void database::close() {
    if (pool_) {
        pool_->join();  // finish queued work first
        pool_.reset();
    }
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto& s : free_) {
        backend_->release(*s);
    }
    free_.clear();
    for (auto& s : thread_connections_) {
        backend_->release(*s);
    }
    thread_connections_.clear();
    cv_.notify_all();
}

}  // namespace happy::db
