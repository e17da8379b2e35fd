/// @file
/// Storage functions of the account module (business logic callable without sockets) on the `account` table,
/// which the auth module creates (schemas/sql/sqlite/0001_auth.sql already has every column needed here).
/// Upstream: packages/happy-server/sources/app/api/routes/accountRoutes.ts.
#pragma once
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/db/query.hpp"

namespace happy::mod::account {

/// The profile columns GET /v1/account/profile reads.
struct profile {
    std::optional<std::string> first_name;
    std::optional<std::string> last_name;
    std::optional<std::string> username;
    std::optional<std::string> avatar;          ///< JSON ImageRef {path, width, height, thumbhash}
    std::optional<std::string> github_user_id;  ///< link to a GitHub user (connect module)
    std::optional<std::string> github_profile;  ///< that GitHub user's stored profile (JSON)
    std::vector<std::string> connected_services;  ///< vendors with a stored token (connect module)
};

/// The caller's profile row with its linked GitHub profile and the vendors with a stored token (the connect
/// module's tables github_user and service_account_token, there whether or not that module is enabled), or nullopt
/// when the account does not exist.
std::optional<profile> account_profile_get(db::tx& t, std::string_view account_id);

/// The response body of GET /v1/account/profile, in upstream's key order:
/// {id, timestamp, firstName, lastName, username, avatar, github, connectedServices}.
/// `avatar` is the stored ImageRef (keys in PostgreSQL JSONB order, as upstream reads its Json column) plus
/// `url` = `<files_base_url>/<path>` (storage/files.ts getPublicUrl); `github` is the linked GitHub profile
/// (null without one); `connectedServices` lists the vendors with a stored token.
boost::json::object account_profile_json(std::string_view account_id, const profile& p, std::int64_t now,
                                         std::string_view files_base_url);

struct settings {
    std::optional<std::string> value;
    std::int64_t version = 0;
};

/// The caller's settings blob and version, or nullopt when the account does not exist.
std::optional<settings> account_settings_get(db::tx& t, std::string_view account_id);

/// Outcome of POST /v1/account/settings.
struct settings_update_result {
    enum class status { success, version_mismatch, not_found } st = status::not_found;
    std::int64_t version = 0;           ///< new version on success, stored version on mismatch
    std::optional<std::string> current; ///< stored settings on mismatch
};

/// Versioned update: when the stored settingsVersion equals `expected_version`, stores `value` with version
/// expected + 1 (and updatedAt = now). Upstream reads, compares and then runs a conditional updateMany; here the
/// update is a compare-and-set on the version read, and when another writer changed it in between (the race
/// upstream answers with a re-read) it throws db::error retryable, so that database::write runs the caller's
/// function again and that run answers from the new version.
settings_update_result account_settings_update(db::tx& t, std::string_view account_id, std::int64_t expected_version,
                                               const std::optional<std::string>& value, std::int64_t now);

}  // namespace happy::mod::account
