/// @file
/// Account tokens: upstream-compatible EdDSA JWTs keyed from the master secret, with a verification cache.
#pragma once
#include <boost/json/object.hpp>
#include <cstdint>
#include <future>
#include <memory>
#include <atomic>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/crypto/token.hpp"

namespace happy::auth {

struct verified_token {
    std::string sub;
    /// Shared with the cache: a request holds the claims without copying them.
    std::shared_ptr<const boost::json::object> payload;
};

/// Why an account's tokens are refused although their signatures are valid.
enum class account_block { none, disabled, deleted };

/// The error text clients get for a blocked account's token (REST 403 body, socket connect error).
constexpr std::string_view account_block_message(account_block b) {
    return b == account_block::deleted ? "Account deleted" : "Account disabled";
}

/// The outcome of check(): the verified token, or why not.
struct token_check {
    std::optional<verified_token> token;  ///< set only when valid and the account is not blocked
    account_block blocked = account_block::none;
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
    /// Verifies signature and claims under upstream's rules (tokens.md); cached by token string. Tokens of a
    /// blocked account fail too (check() says why).
    std::optional<verified_token> verify(std::string_view token);
    /// verify(), telling a blocked account's token apart from an invalid one.
    token_check check(std::string_view token);

    /// Refuses (or, with account_block::none, accepts again) every token of `account_id`, on this instance.
    void block(std::string_view account_id, account_block why);
    /// Replaces the whole set of blocked accounts (start-up and the periodic refresh from the database).
    void set_blocked(std::unordered_map<std::string, account_block> blocked);
    account_block blocked(std::string_view account_id) const;

    /// The account-token key pair (waits for the derivation on first use).
    const crypto::token_keys& keys();
    /// The master secret itself, for other key derivations (key tree, ephemeral tokens).
    const std::string& master_secret() const { return secret_; }

    static constexpr std::string_view issuer = "handy";
    static constexpr std::string_view salt = "handy Persistent Token";

private:
    std::optional<verified_token> verify_signature(std::string_view token);

    struct cache_entry {
        verified_token token;
        std::optional<std::int64_t> exp;
    };
    std::string secret_;
    std::shared_future<crypto::token_keys> keys_;
    std::mutex mutex_;
    struct hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, cache_entry, hash, std::equal_to<>> cache_;  ///< by token: found without a copy
    std::size_t capacity_;
    mutable std::shared_mutex blocked_mutex_;
    std::unordered_map<std::string, account_block> blocked_;
    std::atomic<bool> any_blocked_{false};  ///< lets every request skip the lookup while nobody is blocked
};

}  // namespace happy::auth
