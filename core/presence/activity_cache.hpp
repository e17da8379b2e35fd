/// @file
/// Per-process presence cache with batched lastActiveAt writes (realtime.md §5.2–5.3; upstream
/// packages/happy-server/sources/app/presence/sessionCache.ts). Sessions and machines each own one.
///
/// Heartbeats (every 2 s per CLI session, every 20 s per daemon) are validated against a 30 s ownership cache and
/// only *queue* a write when the time moved by more than 30 s since the last one written; a scheduled flush
/// (every 5 s by default) takes the queued times and the owner writes them in one batch. Pure bookkeeping: no
/// clock, no I/O, thread-safe.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace happy::presence {

class activity_cache {
public:
    struct options {
        std::int64_t valid_ms = 30'000;            ///< upstream CACHE_TTL
        std::int64_t write_threshold_ms = 30'000;  ///< upstream UPDATE_THRESHOLD
        std::int64_t stopped_ms = 60'000;          ///< upstream STOPPED_TTL (sessions only)
        /// Machines: always queue a heartbeat of an entry cached as inactive (queueMachineUpdate), so the first
        /// heartbeat of a new machine (created inactive with lastActiveAt = now) is written.
        bool write_when_inactive = false;
    };

    /// A write the flush must perform: lastActiveAt := t, active := true.
    struct pending_write {
        std::string key;
        std::string account;
        std::int64_t t = 0;
    };

    activity_cache();
    explicit activity_cache(options o);

    /// In the stopped window (after stop(), for stopped_ms)?
    bool stopped(const std::string& key, std::int64_t now);
    /// Session stopped/archived/deleted (clearSessionUpdates): drops the entry and its pending write, and ignores
    /// heartbeats for stopped_ms.
    void stop(const std::string& key, std::int64_t now);
    /// Session restarting (resumeSessionUpdates): heartbeats count again at once.
    void resume(const std::string& key);

    /// A fresh entry for `key` owned by `account`?
    bool cached_valid(const std::string& key, std::string_view account, std::int64_t now);
    /// Caches a validation from the database (replacing any entry, as upstream does).
    void remember(const std::string& key, std::string_view account, std::int64_t last_written, bool active,
                  std::int64_t now);
    /// Queues heartbeat time `t` if it should be written; returns whether it was queued (last one wins).
    bool queue(const std::string& key, std::int64_t t, std::int64_t now);

    /// Takes every queued write (marking it as the last written, and the entry active), and drops expired entries
    /// with nothing queued and expired stop windows.
    std::vector<pending_write> take_pending(std::int64_t now);

    std::size_t size();

private:
    struct entry {
        std::string account;
        std::int64_t valid_until = 0;
        std::int64_t last_written = 0;
        std::int64_t pending = 0;  ///< 0 = none (upstream tests `if (entry.pendingUpdate)`)
        bool active = true;
    };
    bool stopped_locked(const std::string& key, std::int64_t now);

    options opts_;
    std::mutex mutex_;
    std::unordered_map<std::string, entry> entries_;
    std::unordered_map<std::string, std::int64_t> stopped_until_;
};

}  // namespace happy::presence
