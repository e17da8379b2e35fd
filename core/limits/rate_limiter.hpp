/// @file
/// Request rate per key (the client address on the auth routes) as a token bucket: `burst` requests at once, then
/// `per_minute` on average. Thread-safe. Memory is bounded by forgetting keys whose bucket has refilled.
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace happy::limits {

class rate_limiter {
public:
    using clock = std::chrono::steady_clock;

    struct decision {
        bool allowed = true;
        /// When refused: whole seconds until one request is allowed again (≥ 1), for Retry-After.
        std::int64_t retry_after_s = 0;
    };

    /// `per_minute` 0 = no limit. `burst` 0 = one minute's worth.
    rate_limiter(double per_minute, double burst);

    /// Takes one request's token for `key` at `now`.
    decision take(std::string_view key, clock::time_point now = clock::now());
    /// Keys currently tracked (refilled ones are forgotten now and then).
    std::size_t tracked() const;
    std::uint64_t refused() const;
    bool enabled() const { return rate_ > 0; }

private:
    struct bucket {
        double tokens;
        clock::time_point at;
    };
    void forget_refilled(clock::time_point now);

    double rate_;  // tokens per second
    double burst_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, bucket> buckets_;
    std::size_t sweep_at_ = 1024;  // sweep when the map reaches this size
    std::uint64_t refused_ = 0;
};

}  // namespace happy::limits
