/// @file
/// Storage functions of the connect module: vendor API tokens (ServiceAccountToken) and GitHub links (GithubUser
/// plus account.github_user_id). Tokens arrive here already encrypted (core/crypto/key_tree.hpp); this layer
/// never sees plaintext. Upstream: sources/app/api/routes/connectRoutes.ts, sources/app/github/githubConnect.ts,
/// githubDisconnect.ts, sources/utils/separateName.ts.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/db/query.hpp"

namespace happy::mod::connect {

/// Key-tree paths of the encrypted tokens (upstream connectRoutes.ts / githubConnect.ts).
std::vector<std::string> vendor_token_path(std::string_view account_id, std::string_view vendor);
std::vector<std::string> github_token_path(std::string_view account_id);

/// Upsert of (account, vendor): a new row (cuid id) or a new token and updated_at for the existing one.
void vendor_token_upsert(db::tx& t, std::string_view account_id, std::string_view vendor,
                         std::string_view encrypted, std::int64_t now);
/// The stored (encrypted) token, or nullopt.
std::optional<std::string> vendor_token_get(db::tx& t, std::string_view account_id, std::string_view vendor);
/// Deletes the row; false when there was none (upstream's Prisma delete then throws: a 500).
bool vendor_token_delete(db::tx& t, std::string_view account_id, std::string_view vendor);
/// (vendor, encrypted token) of every stored token, oldest first (upstream has no ORDER BY); rows of one millisecond
/// by id (a cuid: time, then a per-process counter).
std::vector<std::pair<std::string, std::string>> vendor_token_list(db::tx& t, std::string_view account_id);

/// upstream separateName: trim, split on whitespace runs; first word / the rest joined by one space.
std::pair<std::optional<std::string>, std::optional<std::string>> name_separate(std::string_view full_name);

/// The GitHub user being linked: what upstream reads from GET https://api.github.com/user.
struct github_profile {
    std::string id;       ///< `id.toString()`
    std::string login;
    std::optional<std::string> name;
    std::string profile_json;  ///< the whole user object, stored as the profile
};

/// An account whose GitHub fields changed, for its `update-account` update.
struct github_change {
    std::string account_id;
    std::int64_t seq = 0;
};

struct github_connect_result {
    /// The account that was linked to this GitHub user before and got disconnected (upstream githubConnect step 2).
    std::optional<github_change> displaced;
    /// The caller, unless it was already linked to this GitHub user (then nothing changes: step 1).
    std::optional<github_change> connected;
    std::optional<std::string> first_name;
    std::optional<std::string> last_name;
};

/// githubConnect without the avatar import: in one transaction, disconnects another account linked to the same
/// GitHub user, upserts the GitHub user (profile, encrypted token) and links the caller (github_user_id, username
/// = login, first/last name from the GitHub name). Allocates the seqs of the updates to emit. Throws
/// db::not_found when the caller's account does not exist, and db::error (retryable) when another writer changed
/// one of the links it read meanwhile (database::write then runs it again).
github_connect_result github_connect(db::tx& t, std::string_view account_id, const github_profile& profile,
                                     std::string_view encrypted_token, std::int64_t now);

/// githubDisconnect: when linked, clears github_user_id and username (names and avatar stay), deletes the GitHub
/// user row and allocates the seq of the `update-account` update; nullopt when the account has no link. Throws
/// db::error (retryable) when the link changed since it was read.
std::optional<github_change> github_disconnect(db::tx& t, std::string_view account_id, std::int64_t now);

}  // namespace happy::mod::connect
