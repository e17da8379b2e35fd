/// @file
/// The admin console's door: the admin token compared in constant time, and failed attempts limited per client
/// address and in total, so that guessing is slow even from many addresses. The token itself never reaches a log.
#pragma once
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace happy::mod::admin {

class admin_guard {
public:
    using clock = std::chrono::steady_clock;
    enum class verdict { ok, denied, limited };

    /// `max_failures` failed attempts per address within `window`; ten times that from all addresses together.
    admin_guard(std::string token, std::size_t max_failures, std::chrono::seconds window);

    /// Checks `presented` (the Bearer value). A limited address is refused without comparing: a correct token
    /// waits for the window to pass too, so that a guesser learns nothing while limited.
    verdict check(std::string_view presented, const std::string& remote, clock::time_point now);
    /// Seconds until `remote` may try again (for Retry-After).
    std::int64_t retry_after(const std::string& remote, clock::time_point now);

private:
    struct window_count {
        clock::time_point start;
        std::size_t failures = 0;
    };
    bool limited(window_count& w, std::size_t max, clock::time_point now) const;

    unsigned char digest_[32];
    std::size_t max_failures_;
    std::chrono::seconds window_;
    std::mutex mutex_;
    std::unordered_map<std::string, window_count> by_address_;
    window_count total_;
};

/// True when `a` and `b` are equal, in time that depends on neither (both are hashed first, so not even their
/// lengths leak).
bool token_equal(std::string_view a, std::string_view b);

}  // namespace happy::mod::admin
