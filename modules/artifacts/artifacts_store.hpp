/// @file
/// Storage functions of the artifacts module (business logic callable without sockets).
/// Upstream: packages/happy-server/sources/app/api/routes/artifactsRoutes.ts and
/// sources/app/api/socket/artifactUpdateHandler.ts.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/db/query.hpp"

namespace happy::mod::artifacts {

/// One `artifact` row; header, body and key are raw bytes. Artifacts are looked up by (account, id): another
/// account's artifact is "not found" everywhere except on create, where the global id collides.
struct artifact {
    std::string id;
    std::string account_id;
    std::string header;
    std::int64_t header_version = 0;
    std::string body;  ///< empty in artifact_list results (the list route omits bodies)
    std::int64_t body_version = 0;
    std::string data_encryption_key;
    std::int64_t seq = 0;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
};

/// Thrown when client base64 fails privacy-kit's strict decoder (upstream answers its route's 500 / "Internal error").
struct invalid_base64 : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The caller's artifacts, most recently updated first, at most `limit`, bodies not read.
std::vector<artifact> artifact_list(db::tx& t, std::string_view account_id, int limit);

std::optional<artifact> artifact_find(db::tx& t, std::string_view account_id, std::string_view id);

struct artifact_create_result {
    enum class status { created, existing, conflict } st = status::created;
    artifact row;  ///< the created or existing row (empty on conflict)
};

/// POST /v1/artifacts and artifact-create: an id owned by another account is a conflict; the caller's own id
/// returns the stored row untouched (inputs ignored, not even decoded); otherwise the three strict-base64 inputs
/// are decoded (invalid_base64 on failure, nothing written) and the row is created with versions 1 and seq 0.
/// An id another writer creates in between throws db::error retryable (the rerun loads it or reports the conflict).
artifact_create_result artifact_create_or_load(db::tx& t, std::string_view account_id, std::string_view id,
                                               std::string_view header_b64, std::string_view body_b64,
                                               std::string_view key_b64, std::int64_t now);

/// One part of a versioned update: the new value as the client's base64 and the version it expects.
/// The expected version is a JSON number: a fractional value never matches.
struct artifact_part {
    std::string data_b64;
    double expected_version = 0;
};

struct artifact_update_result {
    enum class status { not_found, version_mismatch, success } st = status::not_found;
    bool header_mismatch = false;
    bool body_mismatch = false;
    artifact current;                    ///< the row as read before the update (for mismatch answers)
    std::int64_t header_version = 0;     ///< new versions on success (only meaningful for the parts given)
    std::int64_t body_version = 0;
};

/// POST /v1/artifacts/:id and artifact-update: if any given part's expected version differs from the stored one,
/// nothing changes (version_mismatch, with the mismatching parts flagged). Otherwise the given parts are decoded
/// (strict base64; invalid_base64 on failure, nothing written) and stored with version expected + 1, and in every
/// case seq += 1 and updatedAt = now — even when no part is given (upstream artifactsRoutes.ts).
/// The write is a compare-and-set on the versions read: when another writer changed them in between (upstream's
/// lost-CAS branch), throws db::error retryable, and the rerun of the caller's write answers from the new row.
artifact_update_result artifact_update(db::tx& t, std::string_view account_id, std::string_view id,
                                       const std::optional<artifact_part>& header,
                                       const std::optional<artifact_part>& body, std::int64_t now);

/// Deletes the caller's artifact; false when it does not exist for this account.
bool artifact_delete(db::tx& t, std::string_view account_id, std::string_view id);

}  // namespace happy::mod::artifacts
