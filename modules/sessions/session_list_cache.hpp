/// @file
/// GET /v1/sessions answers, kept encoded per account with the session-list version they were read at
/// (schemas/sql/*/0017_session_list_version.sql: every change of an account's sessions bumps it in the same
/// transaction, whoever writes). The route reads the current version first (one primary-key lookup) and answers
/// from here when it matches, so a write by any instance on the same database is never served stale: a body is only
/// ever handed out for the exact version it was encoded at.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace happy::mod::sessions {

class session_list_cache {
public:
    /// `budget_bytes` bounds the bodies kept (0 turns the cache off: find() never hits, store() keeps nothing).
    explicit session_list_cache(std::size_t budget_bytes = 0) : budget_(budget_bytes) {}
    /// Sets the budget before the cache is shared between threads (module setup), dropping what it kept.
    void configure(std::size_t budget_bytes);
    bool enabled() const { return budget_ > 0; }

    /// The body encoded at exactly `version` for `account_id`, or null. `changes` (when not 0) is the count of
    /// committed changes to the version table read before `version` was (db::database::watch_changes): the entry
    /// then remembers that its version was current as of that count.
    std::shared_ptr<const std::string> find(std::string_view account_id, std::int64_t version,
                                            std::uint64_t changes = 0);
    /// The body kept for `account_id` if its version was found current at change count `changes` (not 0): nothing
    /// was committed to the version table since, so the version cannot have moved and need not be read.
    std::shared_ptr<const std::string> find_unchanged(std::string_view account_id, std::uint64_t changes) const;
    /// Keeps `body` as the account's answer at `version` (current as of change count `changes`, 0 if unknown),
    /// unless an entry of a newer version is already there (two requests racing with a write in between: the one
    /// that read the older version must not replace the newer). When the budget is exceeded, other accounts'
    /// entries are dropped (any of them: each costs one list query to rebuild).
    void store(std::string_view account_id, std::int64_t version, std::shared_ptr<const std::string> body,
               std::uint64_t changes = 0);

    std::size_t bytes() const;
    std::size_t size() const;

private:
    struct entry {
        std::int64_t version = 0;
        std::uint64_t confirmed = 0;  ///< the latest change count at which `version` was found current
        std::shared_ptr<const std::string> body;
    };
    struct hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::size_t budget_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, entry, hash, std::equal_to<>> entries_;
    std::size_t bytes_ = 0;  ///< sum of the kept bodies' sizes
};

}  // namespace happy::mod::sessions
