/// @file
/// Storage functions of the access_keys module (business logic callable without sockets).
/// Upstream: packages/happy-server/sources/app/api/routes/accessKeysRoutes.ts and
/// sources/app/api/socket/accessKeyHandler.ts.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/db/query.hpp"

namespace happy::mod::access_keys {

/// One access key: an opaque client string per (account, machine, session).
struct access_key {
    std::string data;
    std::int64_t data_version = 0;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
};

/// Whether both the session and the machine belong to the account (GET, POST and access-key-get require it).
bool access_key_scope_owned(db::tx& t, std::string_view account_id, std::string_view session_id,
                            std::string_view machine_id);

std::optional<access_key> access_key_find(db::tx& t, std::string_view account_id, std::string_view session_id,
                                          std::string_view machine_id);

struct access_key_create_result {
    enum class status { created, scope_not_found, exists } st = status::created;
    access_key row;  ///< the created row
};

/// POST: the session and machine must be the caller's; an existing key is not replaced (the UNIQUE (account, machine,
/// session) key decides, also between concurrent writers). Creates data version 1.
access_key_create_result access_key_create(db::tx& t, std::string_view account_id, std::string_view session_id,
                                           std::string_view machine_id, std::string_view data, std::int64_t now);

struct access_key_update_result {
    enum class status { success, version_mismatch, not_found } st = status::not_found;
    std::int64_t version = 0;  ///< new version on success, stored version on mismatch
    std::string data;          ///< stored data on mismatch
};

/// PUT: only the key row is looked up (session/machine ownership is not checked, as upstream). Sets data and
/// dataVersion = expected + 1 when the stored version equals `expected_version` (compare-and-set: losing to another
/// writer between the read and the write makes the transaction run again, db::error retryable).
access_key_update_result access_key_update(db::tx& t, std::string_view account_id, std::string_view session_id,
                                           std::string_view machine_id, std::string_view data,
                                           std::int64_t expected_version, std::int64_t now);

}  // namespace happy::mod::access_keys
