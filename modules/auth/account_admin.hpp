/// @file
/// Account administration beyond upstream: pending registrations (auth.registration "approval"), disabled
/// accounts, listing and deletion with all their data. Used by POST /v1/auth, the admin console and
/// `happy-server accounts …`. Public keys are uppercase hex, as account.public_key.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/auth/registration.hpp"
#include "core/db/query.hpp"

namespace happy::auth {
class token_service;
}
namespace happy::db {
class database;
}
namespace happy::events {
class emitter;
}
namespace happy::files {
class file_store;
}

namespace happy::mod::auth {

/// The result of a signed login (POST /v1/auth) under auth.registration: the account (existing, touched as
/// upstream's upsert does; or created when the policy lets the key register), or why not (the 403's message).
struct sign_in_outcome {
    std::string account_id;  ///< empty when refused
    std::string_view refusal;
};
sign_in_outcome account_sign_in(db::tx& t, const happy::auth::registration_policy& policy,
                                 std::string_view public_key_hex, std::int64_t now);

/// The account id of a public key, if it has one.
std::optional<std::string> account_find_by_key(db::tx& t, std::string_view public_key_hex);

/// A key's registration request: nullopt when there is none, else whether it was approved.
std::optional<bool> registration_request_state(db::tx& t, std::string_view public_key_hex);
/// Records a refused attempt: creates the pending request, or counts one more attempt on it.
void registration_request_record(db::tx& t, std::string_view public_key_hex, std::int64_t now);
std::int64_t registration_request_count_pending(db::tx& t);
/// Approves a request; creates it approved when the key never tried (an administrator may approve ahead).
/// False when the key already has an account.
bool registration_request_approve(db::tx& t, std::string_view public_key_hex, std::int64_t now);
/// Forgets a request (rejection; or consumed once its account exists). False when there was none.
bool registration_request_delete(db::tx& t, std::string_view public_key_hex);

struct registration_request {
    std::string public_key;
    std::int64_t attempts = 0;
    std::optional<std::int64_t> approved_at;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
};
/// Every request, oldest first.
std::vector<registration_request> registration_request_list(db::tx& t);

/// An account whose tokens are refused: disabled, or deleted (then for good).
struct account_block {
    std::string account_id;
    bool deleted = false;
    bool operator==(const account_block&) const = default;
};
/// Every blocked account (loaded into the token service at start and by the refresh job).
std::vector<account_block> account_blocks(db::tx& t);
/// False when the account does not exist. Disabling twice keeps the first time.
bool account_disable(db::tx& t, std::string_view account_id, std::int64_t now);
/// False when the account does not exist.
bool account_enable(db::tx& t, std::string_view account_id);

/// Reads every blocked account into the token service (replacing what it had) and disconnects the sockets on this
/// instance of the accounts that were not blocked before: how a disable or delete made on another instance, or by
/// `happy-server accounts` beside the running server, takes effect here.
boost::asio::awaitable<void> account_blocks_refresh(db::database& db, happy::auth::token_service& tokens,
                                                    events::emitter& events);

/// The administrator's actions as they take effect on a running server: the database row, this instance's token
/// service and sockets (other instances follow within one accounts-refresh period). False when the account does
/// not exist.
boost::asio::awaitable<bool> account_disable_now(db::database& db, happy::auth::token_service& tokens,
                                                 events::emitter& events, std::string account_id);
boost::asio::awaitable<bool> account_enable_now(db::database& db, happy::auth::token_service& tokens,
                                                std::string account_id);
/// Also removes the blobs of the account's sessions from the file store (account_files_remove).
boost::asio::awaitable<bool> account_delete_now(db::database& db, happy::auth::token_service& tokens,
                                                events::emitter& events, files::file_store& files,
                                                std::string account_id);

/// Removes the file-store blobs of these sessions (`sessions/<id>/…`); failures are logged and skipped, as a session
/// delete does.
boost::asio::awaitable<void> account_files_remove(files::file_store& files, std::vector<std::string> session_ids);

struct account_summary {
    std::string id;
    std::string public_key;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    std::optional<std::int64_t> disabled_at;
    std::int64_t sessions = 0;
    std::int64_t machines = 0;
};
/// Accounts, newest first (at most `limit`): counts and timestamps only, never content.
std::vector<account_summary> account_list(db::tx& t, std::int64_t limit);
std::optional<account_summary> account_get(db::tx& t, std::string_view account_id);
std::int64_t account_count(db::tx& t);

/// Deletes the account and every row that belongs to it (sessions and their messages, machines, artifacts, kv,
/// access keys, usage, push tokens, relationships, feed, connected services, voice, pairing answers). False when it
/// does not exist. Leaves a tombstone in account_disabled (deleted = 1) so that its tokens stay refused. Blobs in the
/// file store are the caller's (account_session_ids, before the delete).
bool account_delete(db::tx& t, std::string_view account_id, std::int64_t now);
/// The session ids of an account (their attachment blobs live under sessions/<id>/ in the file store).
std::vector<std::string> account_session_ids(db::tx& t, std::string_view account_id);

}  // namespace happy::mod::auth
