#include "core/presence/activity_cache.hpp"

#include <cstdlib>

namespace happy::presence {

activity_cache::activity_cache() : activity_cache(options{}) {}
activity_cache::activity_cache(options o) : opts_(o) {}

bool activity_cache::stopped_locked(const std::string& key, std::int64_t now) {
    auto it = stopped_until_.find(key);
    if (it == stopped_until_.end()) {
        return false;
    }
    if (it->second <= now) {
        stopped_until_.erase(it);
        return false;
    }
    return true;
}

bool activity_cache::stopped(const std::string& key, std::int64_t now) {
    std::lock_guard lock(mutex_);
    return stopped_locked(key, now);
}

void activity_cache::stop(const std::string& key, std::int64_t now) {
    std::lock_guard lock(mutex_);
    entries_.erase(key);
    stopped_until_[key] = now + opts_.stopped_ms;
}

void activity_cache::resume(const std::string& key) {
    std::lock_guard lock(mutex_);
    stopped_until_.erase(key);
}

bool activity_cache::cached_valid(const std::string& key, std::string_view account, std::int64_t now) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    return it != entries_.end() && it->second.valid_until > now && it->second.account == account;
}

void activity_cache::remember(const std::string& key, std::string_view account, std::int64_t last_written,
                              bool active, std::int64_t now) {
    std::lock_guard lock(mutex_);
    entries_[key] = entry{std::string(account), now + opts_.valid_ms, last_written, 0, active};
}

bool activity_cache::queue(const std::string& key, std::int64_t t, std::int64_t now) {
    std::lock_guard lock(mutex_);
    // A heartbeat already in flight when the session was stopped must not queue a write that revives it.
    if (stopped_locked(key, now)) {
        return false;
    }
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        return false;
    }
    entry& e = it->second;
    if ((opts_.write_when_inactive && !e.active) || std::llabs(t - e.last_written) > opts_.write_threshold_ms) {
        e.pending = t;
        return true;
    }
    return false;
}

std::vector<activity_cache::pending_write> activity_cache::take_pending(std::int64_t now) {
    std::vector<pending_write> out;
    std::lock_guard lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end();) {
        entry& e = it->second;
        if (e.pending != 0) {
            out.push_back({it->first, e.account, e.pending});
            e.last_written = e.pending;
            e.active = true;
            e.pending = 0;
        } else if (e.valid_until < now) {
            // Upstream sweeps expired entries every 5 minutes; doing it here keeps the map bounded without another
            // timer. An expired entry is never used again (the next heartbeat re-validates and replaces it), so
            // dropping it earlier changes nothing observable.
            it = entries_.erase(it);
            continue;
        }
        ++it;
    }
    std::erase_if(stopped_until_, [&](const auto& kv) { return kv.second <= now; });
    return out;
}

std::size_t activity_cache::size() {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace happy::presence
