/// @file
/// Storage functions of the machines module (business logic callable without sockets).
/// Upstream: packages/happy-server/sources/app/api/routes/machinesRoutes.ts and
/// sources/app/api/socket/machineUpdateHandler.ts.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/db/query.hpp"

namespace happy::mod::machines {

/// One `machine` row. Machines are always looked up by (account, id): another account's machine is "not found".
struct machine {
    std::string id;
    std::string account_id;
    std::string metadata;
    std::int64_t metadata_version = 0;
    std::optional<std::string> daemon_state;
    std::int64_t daemon_state_version = 0;
    /// Raw key bytes. An empty (non-null) value is possible: a non-empty input that Node's lenient base64 decoder
    /// turns into zero bytes is stored as an empty buffer upstream and read back as "".
    std::optional<std::string> data_encryption_key;
    std::int64_t seq = 0;
    bool active = false;
    std::int64_t last_active_at = 0;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
};

struct machine_create_result {
    machine row;
    bool created = false;
};

/// POST /v1/machines: returns the caller's machine with this id unchanged, or creates it with metadataVersion 1,
/// daemonState (empty ⇒ NULL) with version 1 if given else 0, active false, every time = now.
/// An id owned by another account violates the primary key and throws db::error unique_violation (upstream answers
/// 500).
machine_create_result machine_create_or_load(db::tx& t, std::string_view account_id, std::string_view id,
                                             std::string_view metadata, std::optional<std::string> daemon_state,
                                             std::optional<std::string> data_encryption_key, std::int64_t now);

std::optional<machine> machine_find(db::tx& t, std::string_view account_id, std::string_view id);

/// The caller's machines, most recently active first (upstream orderBy lastActiveAt desc).
std::vector<machine> machine_list(db::tx& t, std::string_view account_id);

/// Deletes the caller's machine; false when it does not exist for this account.
bool machine_delete(db::tx& t, std::string_view account_id, std::string_view id);

/// Outcome of a versioned (compare-and-set) update of metadata or daemon state.
struct machine_cas_result {
    enum class status { success, version_mismatch, not_found } st = status::not_found;
    std::int64_t version = 0;          ///< new version on success, stored version on mismatch
    std::optional<std::string> value;  ///< new value on success, stored value on mismatch (daemonState may be NULL)
};

/// machine-update-metadata: sets metadata and metadataVersion = expected + 1 if the stored version equals
/// `expected_version` (a JSON number: a fractional value never matches). Does not touch active/lastActiveAt.
/// The write is a compare-and-set on the version read: when another writer changed it in between, throws db::error
/// retryable so that database::write runs the caller's function again.
machine_cas_result machine_metadata_update(db::tx& t, std::string_view account_id, std::string_view id,
                                           double expected_version, std::string_view metadata, std::int64_t now);

/// machine-update-state: like machine_metadata_update for daemonState, and also marks the machine active with
/// lastActiveAt = now.
machine_cas_result machine_daemon_state_update(db::tx& t, std::string_view account_id, std::string_view id,
                                               double expected_version, std::string_view daemon_state,
                                               std::int64_t now);

/// A batched machine-alive heartbeat (upstream sessionCache.ts flushPendingUpdates): lastActiveAt = active_at,
/// active = true, updatedAt = now. A machine that no longer exists updates nothing.
void machine_activity_set(db::tx& t, std::string_view account_id, std::string_view id, std::int64_t active_at,
                          std::int64_t now);

/// A machine the inactivity sweeper switched off.
struct machine_timeout {
    std::string account_id;
    std::string id;
    std::int64_t last_active_at = 0;
};

/// presence/timeout.ts: every active machine with lastActiveAt <= cutoff becomes inactive (updatedAt bumped, as
/// Prisma's @updatedAt does); returns the rows actually changed, for the `machine-activity` false ephemerals.
std::vector<machine_timeout> machine_sweep_inactive(db::tx& t, std::int64_t cutoff, std::int64_t now);

}  // namespace happy::mod::machines
