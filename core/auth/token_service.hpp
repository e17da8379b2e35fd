/// @file
/// Account tokens: upstream-compatible EdDSA JWTs keyed from the master secret, with a verification cache.
#pragma once
#include <boost/json/object.hpp>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/crypto/token.hpp"

namespace happy::auth {

struct verified_token {
    std::string sub;
    boost::json::object payload;
};

class token_service {
public:
    /// Starts deriving the signing keys on a background thread: PBKDF2 with 210,000 iterations takes a
    /// noticeable fraction of a second, and the server should answer its first request before that.
    explicit token_service(std::string master_secret, std::size_t cache_capacity = 10000);
    ~token_service();
    token_service(const token_service&) = delete;
    token_service& operator=(const token_service&) = delete;

    /// Mints a token for `account_id` with optional extra claims placed between `sub` and `iat` (upstream order).
    std::string mint(std::string_view account_id, const boost::json::object& extras = {});
    /// Verifies signature and claims under upstream's rules (tokens.md); cached by token string.
    std::optional<verified_token> verify(std::string_view token);

    /// The account-token key pair (waits for the derivation on first use).
    const crypto::token_keys& keys();
    /// The master secret itself, for other key derivations (key tree, ephemeral tokens).
    const std::string& master_secret() const { return secret_; }

    static constexpr std::string_view issuer = "handy";
    static constexpr std::string_view salt = "handy Persistent Token";

private:
    struct cache_entry {
        verified_token token;
        std::optional<std::int64_t> exp;
    };
    std::string secret_;
    std::shared_future<crypto::token_keys> keys_;
    std::mutex mutex_;
    std::unordered_map<std::string, cache_entry> cache_;
    std::size_t capacity_;
};

}  // namespace happy::auth
