#include "core/auth/token_service.hpp"

#include <chrono>
#include <limits>
#include <thread>

#include "core/crypto/ids.hpp"

namespace happy::auth {

namespace {
std::int64_t now_s() {
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}
}  // namespace

token_service::token_service(std::string master_secret, std::size_t cache_capacity)
    : secret_(std::move(master_secret)), capacity_(cache_capacity) {
    keys_ = std::async(std::launch::async, [s = secret_] { return crypto::token_keys_derive(s, salt); }).share();
}

token_service::~token_service() {
    if (keys_.valid()) {
        keys_.wait();  // never leave the derivation thread running past our lifetime
    }
}

const crypto::token_keys& token_service::keys() { return keys_.get(); }

std::string token_service::mint(std::string_view account_id, const boost::json::object& extras) {
    return crypto::token_mint(keys(), issuer, account_id, extras, now_s(), crypto::uuid_v4());
}

std::optional<verified_token> token_service::verify(std::string_view token) { return check(token).token; }

void token_service::block(std::string_view account_id, account_block why) {
    std::unique_lock lock(blocked_mutex_);
    if (why == account_block::none) {
        blocked_.erase(std::string(account_id));
    } else {
        blocked_[std::string(account_id)] = why;
    }
    any_blocked_.store(!blocked_.empty(), std::memory_order_release);
}

void token_service::set_blocked(std::unordered_map<std::string, account_block> blocked) {
    std::unique_lock lock(blocked_mutex_);
    blocked_ = std::move(blocked);
    any_blocked_.store(!blocked_.empty(), std::memory_order_release);
}

account_block token_service::blocked(std::string_view account_id) const {
    if (!any_blocked_.load(std::memory_order_acquire)) {
        return account_block::none;
    }
    std::shared_lock lock(blocked_mutex_);
    auto it = blocked_.find(std::string(account_id));
    return it == blocked_.end() ? account_block::none : it->second;
}

token_check token_service::check(std::string_view token) {
    auto v = verify_signature(token);
    if (!v) {
        return {};
    }
    if (auto b = blocked(v->sub); b != account_block::none) {
        return {std::nullopt, b};
    }
    return {std::move(v), account_block::none};
}

std::optional<verified_token> token_service::verify_signature(std::string_view token) {
    std::int64_t now = now_s();
    {
        std::lock_guard lock(mutex_);
        auto it = cache_.find(token);
        if (it != cache_.end()) {
            if (!it->second.exp || *it->second.exp > now) {
                return it->second.token;
            }
            cache_.erase(it);
        }
    }
    auto claims = crypto::token_verify(keys(), issuer, token, now);
    if (!claims) {
        return std::nullopt;
    }
    cache_entry entry{{claims->sub, std::make_shared<const boost::json::object>(std::move(claims->payload))},
                      std::nullopt};
    if (auto* exp = entry.token.payload->if_contains("exp"); exp && exp->is_number()) {
        // token_verify() accepted it, so it is later than now; one past what int64 holds (1e300) would overflow the
        // cast (UBSan, found by tests/fuzz/token_fuzz.cpp) and means "never" here.
        double d = exp->to_number<double>();
        entry.exp = d >= 9.2e18 ? std::numeric_limits<std::int64_t>::max() : static_cast<std::int64_t>(d);
    }
    std::lock_guard lock(mutex_);
    if (cache_.size() >= capacity_) {
        cache_.clear();  // bounded memory; a cold cache only costs one signature check per token
    }
    cache_.emplace(std::string(token), entry);
    return entry.token;
}

}  // namespace happy::auth
