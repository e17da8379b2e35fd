#include "core/auth/token_service.hpp"

#include <chrono>
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

std::optional<verified_token> token_service::verify(std::string_view token) {
    std::int64_t now = now_s();
    {
        std::lock_guard lock(mutex_);
        auto it = cache_.find(std::string(token));
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
    cache_entry entry{{claims->sub, claims->payload}, std::nullopt};
    if (auto* exp = claims->payload.if_contains("exp"); exp && exp->is_number()) {
        entry.exp = static_cast<std::int64_t>(exp->to_number<double>());
    }
    std::lock_guard lock(mutex_);
    if (cache_.size() >= capacity_) {
        cache_.clear();  // bounded memory; a cold cache only costs one signature check per token
    }
    cache_.emplace(std::string(token), entry);
    return entry.token;
}

}  // namespace happy::auth
