/// @file
/// Storage functions of the auth module (business logic callable without sockets).
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "core/db/query.hpp"


namespace happy::mod::auth {

/// Creates the account for a public key (uppercase hex) or touches its updated_at; returns the account id.
std::string account_upsert(db::tx& t, std::string_view public_key_hex, std::int64_t now);

/// Allocates the next per-account update sequence number (upstream allocateUserSeq: `seq = seq + 1` returning the
/// new value, which also bumps updated_at as Prisma's @updatedAt does). Throws db::not_found for an unknown
/// /// account. Call inside a write transaction; one atomic UPDATE … RETURNING, so numbers never repeat or go backwards
/// even with several writers.
std::int64_t account_seq_allocate(db::tx& t, std::string_view account_id, std::int64_t now);

/// Which pairing table: terminal (CLI) or account (device linking).
enum class pairing { terminal, account };

struct pairing_request {
    std::string id;
    bool supports_v2 = false;
    std::optional<std::string> response;
    std::optional<std::string> response_account_id;
    bool authorized() const { return response && response_account_id; }
};

/// Creates the request for a key if none exists (an existing row is not modified) and returns the row.
pairing_request pairing_request_upsert(db::tx& t, pairing kind, std::string_view public_key_hex,
                                       bool supports_v2, std::int64_t now);
std::optional<pairing_request> pairing_request_find(db::tx& t, pairing kind, std::string_view public_key_hex);
/// First approver wins: sets response and account only if there is no response yet.
/// Returns false when no request exists for the key.
bool pairing_request_respond(db::tx& t, pairing kind, std::string_view public_key_hex,
                             std::string_view response, std::string_view account_id, std::int64_t now);

}  // namespace happy::mod::auth
