#include "modules/admin/admin_guard.hpp"

#include <sodium.h>

namespace happy::mod::admin {

namespace {

void sha256(std::string_view s, unsigned char out[32]) {
    crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

/// Addresses remembered at most: beyond, expired windows are dropped, and if that is not enough the whole table
/// (a flood of addresses is limited by the total count anyway).
constexpr std::size_t max_addresses = 4096;

}  // namespace

bool token_equal(std::string_view a, std::string_view b) {
    unsigned char da[32], db[32];
    sha256(a, da);
    sha256(b, db);
    return sodium_memcmp(da, db, sizeof da) == 0;
}

admin_guard::admin_guard(std::string token, std::size_t max_failures, std::chrono::seconds window)
    : max_failures_(max_failures), window_(window) {
    sha256(token, digest_);
    sodium_memzero(token.data(), token.size());
}

bool admin_guard::limited(window_count& w, std::size_t max, clock::time_point now) const {
    if (now - w.start >= window_) {
        w = {now, 0};
    }
    return w.failures >= max;
}

admin_guard::verdict admin_guard::check(std::string_view presented, const std::string& remote, clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (by_address_.size() >= max_addresses && !by_address_.contains(remote)) {
        std::erase_if(by_address_, [&](const auto& kv) { return now - kv.second.start >= window_; });
        if (by_address_.size() >= max_addresses) {
            by_address_.clear();
        }
    }
    auto& mine = by_address_.try_emplace(remote, window_count{now, 0}).first->second;
    if (limited(mine, max_failures_, now) || limited(total_, max_failures_ * 10, now)) {
        return verdict::limited;
    }
    unsigned char d[32];
    sha256(presented, d);
    if (sodium_memcmp(d, digest_, sizeof d) == 0) {
        return verdict::ok;
    }
    ++mine.failures;
    ++total_.failures;
    return verdict::denied;
}

std::int64_t admin_guard::retry_after(const std::string& remote, clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto start = total_.start;
    if (auto it = by_address_.find(remote); it != by_address_.end() && it->second.failures >= max_failures_) {
        start = it->second.start;
    }
    auto left = std::chrono::duration_cast<std::chrono::seconds>(start + window_ - now).count();
    return std::max<std::int64_t>(1, left);
}

}  // namespace happy::mod::admin
