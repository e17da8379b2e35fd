/// @file
/// Storage functions of the social module (business logic callable without sockets): public profiles, username
/// search and the two-row relationship state machine. Upstream: packages/happy-server/sources/app/social/*
/// (friendAdd.ts, friendRemove.ts, friendList.ts, friendNotification.ts, relationshipGet/Set.ts, type.ts) and
/// sources/app/api/routes/userRoutes.ts.
///
/// Each pair of accounts has up to two rows, one per direction; (from, to).status is what `from` sees of `to`:
///   none      no relation (also: no row)
///   requested `from` asked `to` (outgoing request)
///   pending   `to` asked `from` (incoming request)
///   friend    both accepted
///   rejected  `from` withdrew its request (friendRemove of a `requested` row)
#pragma once
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/db/query.hpp"
#include "modules/feed/feed_store.hpp"

namespace happy::mod::social {

enum class relationship_status { none, requested, pending, friend_, rejected };

std::string_view relationship_status_name(relationship_status s);
/// nullopt for a name that is not one of the five.
std::optional<relationship_status> relationship_status_parse(std::string_view name);

/// The account columns a public profile shows.
struct user_row {
    std::string id;
    std::optional<std::string> first_name;
    std::optional<std::string> last_name;
    std::optional<std::string> username;
    std::optional<std::string> avatar;  ///< JSON ImageRef {path, width, height, thumbhash}
    // The linked GitHub profile's login and bio (GithubUser.profile, string values only); nullopt without a link,
    // and upstream then falls back to "" for the username and null for the bio.
    std::optional<std::string> github_login;
    std::optional<std::string> github_bio;
};

/// The account, or nullopt when it does not exist.
std::optional<user_row> user_get(db::tx& t, std::string_view id);

/// userRoutes.ts /v1/user/search: accounts whose username starts with `query` ignoring case, ordered by username
/// (bytewise), at most `limit`. Like upstream's Prisma `startsWith` + `mode: 'insensitive'` (an unescaped ILIKE
/// '<query>%'), `_` and `%` in the query are wildcards and `\` escapes the next character; accounts without a
/// username never match. Case folding is the backend's: SQLite folds ASCII letters only, PostgreSQL (as upstream)
/// also other scripts.
std::vector<user_row> user_search(db::tx& t, std::string_view query, int limit = 10);

/// relationshipGet.ts: the status of (from → to), none without a row.
relationship_status relationship_get(db::tx& t, std::string_view from, std::string_view to);

/// relationshipSet.ts: upserts (from → to) with `status`; acceptedAt = now for `friend`, else cleared;
/// lastNotifiedAt is kept.
void relationship_set(db::tx& t, std::string_view from, std::string_view to, relationship_status status,
                      std::int64_t now);

/// The full row of (from → to), for tests and the notification rule.
struct relationship_row {
    relationship_status status = relationship_status::none;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    std::optional<std::int64_t> accepted_at;
    std::optional<std::int64_t> last_notified_at;
};
std::optional<relationship_row> relationship_row_get(db::tx& t, std::string_view from, std::string_view to);

/// friendNotification.ts shouldSendNotification: not for `rejected`; otherwise when never notified or last notified
/// more than 24 h before `now`.
bool notification_due(std::optional<std::int64_t> last_notified_at, relationship_status status, std::int64_t now);

/// Outcome of friend_add / friend_remove: the target's profile with the caller's resulting status (user nullopt ⇒
/// the route answers `{"user": null}`), and the feed items posted in the transaction (their `new-feed-post`
/// updates are emitted after commit, in this order).
struct friend_result {
    std::optional<user_row> user;
    relationship_status status = relationship_status::none;
    std::vector<feed::feed_item> posted;
};

/// friendAdd.ts, inside the caller's write transaction. Self or a missing account ⇒ no user. If the target already
/// requested the caller: both rows become `friend` and each side whose row is due gets a `friend_accepted` feed item
/// (caller first). Else if caller → target is none/rejected: it becomes `requested`, target → caller becomes
/// `pending` when it was none, and the target gets a `friend_request` item when its row is due. Else unchanged.
/// Every change is a compare-and-set against the rows as read, which the change's decision also rests on: when
/// another writer changed one meanwhile, throws db::error (retryable) and database::write runs it again.
friend_result friend_add(db::tx& t, std::string_view caller, std::string_view uid, std::int64_t now);

/// friendRemove.ts, inside the caller's write transaction (self is allowed). requested → rejected;
/// friend → caller pending / target requested (the caller's profile reports `requested`, sic); pending → none on
/// both sides unless the target's row is `rejected`; else unchanged. Posts nothing. Compare-and-set as friend_add.
friend_result friend_remove(db::tx& t, std::string_view caller, std::string_view uid, std::int64_t now);

/// friendList.ts: the accounts the caller has a `friend`, `pending` or `requested` row to (oldest row first, by
/// created_at then account id; upstream leaves the order to the database), with that status.
std::vector<std::pair<user_row, relationship_status>> friend_list(db::tx& t, std::string_view caller);

/// type.ts buildUserProfile through userRoutes.ts' UserProfileSchema (which fixes the key order):
/// {id, firstName, lastName, avatar, username, bio, status}. firstName "" when unset; avatar
/// {path, url, width?, height?, thumbhash?} with url = `<files_base_url>/<path>`, or null; username falls back to
/// the GitHub login, then ""; bio is the GitHub bio or null.
boost::json::object user_profile_json(const user_row& u, relationship_status status, std::string_view files_base_url);

}  // namespace happy::mod::social
