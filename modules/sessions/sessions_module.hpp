/// @file
/// Sessions and their messages: REST (upstream routes/sessionRoutes.ts, routes/v3SessionRoutes.ts) and the
/// session socket events (upstream api/socket/sessionUpdateHandler.ts). Needs the auth module (account seq).
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/app/module.hpp"

namespace happy::mod::sessions {

/// Presence bookkeeping per process (realtime.md §5.2, §5.3; upstream app/presence/sessionCache.ts):
/// the "stopped" window after session-end/archive/delete during which heartbeats are ignored, and a short-lived
/// ownership cache with the last written lastActiveAt so that heartbeats every 2 s do not write every time.
class activity_tracker {
public:
    static constexpr std::int64_t stopped_ms = 60'000;
    static constexpr std::int64_t cache_ms = 30'000;
    static constexpr std::int64_t write_threshold_ms = 30'000;

    bool stopped(const std::string& sid, std::int64_t now);
    /// Drops the cached entry and ignores the session's heartbeats for 60 s.
    void stop(const std::string& sid, std::int64_t now);
    /// A session starting again (POST /v1/sessions with an existing tag) is accepted at once.
    void resume(const std::string& sid);
    /// True when a fresh cache entry says the session belongs to the account.
    bool cached_valid(const std::string& sid, const std::string& account, std::int64_t now);
    void remember(const std::string& sid, const std::string& account, std::int64_t last_written, std::int64_t now);
    /// Whether heartbeat time t should be written (|t − last written| > 30 s); if so records it as written.
    bool take_write(const std::string& sid, std::int64_t t);

private:
    struct entry {
        std::string account;
        std::int64_t valid_until = 0;
        std::int64_t last_written = 0;
    };
    void prune(std::int64_t now);
    std::mutex mutex_;
    std::unordered_map<std::string, entry> cache_;
    std::unordered_map<std::string, std::int64_t> stopped_until_;
    std::int64_t next_prune_ = 0;
};

class sessions_module final : public module {
public:
    sessions_module();
    ~sessions_module() override;
    std::vector<std::string> migrations() const override { return {"0002_sessions"}; }
    void setup(module_context& ctx) override;
    /// Starts the inactivity sweeper (upstream presence/timeout.ts, session half): at start-up, then every minute.
    boost::asio::awaitable<void> start() override;
    boost::asio::awaitable<void> stop() override;

    struct sweeper;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    std::shared_ptr<sweeper> sweeper_;
};

}  // namespace happy::mod::sessions
