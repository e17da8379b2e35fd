#include "core/limits/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace happy::limits {

rate_limiter::rate_limiter(double per_minute, double burst)
    : rate_(per_minute / 60.0), burst_(burst > 0 ? burst : per_minute) {
    burst_ = std::max(burst_, 1.0);
}

rate_limiter::decision rate_limiter::take(std::string_view key, clock::time_point now) {
    if (rate_ <= 0) {
        return {};
    }
    std::lock_guard lock(mutex_);
    auto it = buckets_.find(std::string(key));
    if (it == buckets_.end()) {
        if (buckets_.size() >= sweep_at_) {
            forget_refilled(now);
            // Sweep again only when the map has doubled since: the sweeps cost O(1) per insertion.
            sweep_at_ = std::max<std::size_t>(1024, buckets_.size() * 2);
        }
        it = buckets_.emplace(std::string(key), bucket{burst_, now}).first;
    }
    auto& b = it->second;
    double elapsed = std::chrono::duration<double>(now - b.at).count();
    if (elapsed > 0) {
        b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
        b.at = now;
    }
    if (b.tokens >= 1.0) {
        b.tokens -= 1.0;
        return {};
    }
    ++refused_;
    auto wait = static_cast<std::int64_t>(std::ceil((1.0 - b.tokens) / rate_));
    return {false, std::max<std::int64_t>(wait, 1)};
}

void rate_limiter::forget_refilled(clock::time_point now) {
    // A bucket that has refilled to the brim is indistinguishable from a new one.
    for (auto it = buckets_.begin(); it != buckets_.end();) {
        double elapsed = std::chrono::duration<double>(now - it->second.at).count();
        if (it->second.tokens + elapsed * rate_ >= burst_) {
            it = buckets_.erase(it);
        } else {
            ++it;
        }
    }
}

std::size_t rate_limiter::tracked() const {
    std::lock_guard lock(mutex_);
    return buckets_.size();
}

std::uint64_t rate_limiter::refused() const {
    std::lock_guard lock(mutex_);
    return refused_;
}

}  // namespace happy::limits
