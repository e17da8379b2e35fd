/// @file
/// Storage functions of the kv module (business logic callable without sockets).
/// Upstream: packages/happy-server/sources/app/kv/kvGet.ts, kvList.ts, kvBulkGet.ts, kvMutate.ts.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/db/query.hpp"

namespace happy::mod::kv {

/// A live (non-deleted) entry; `value` holds raw bytes (possibly empty: a non-empty input that Node's lenient
/// base64 decoder turns into zero bytes is stored as an empty, non-NULL value and read back as "").
struct kv_item {
    std::string key;
    std::string value;
    std::int64_t version = 0;
};

/// kvGet.ts: a missing row and a deleted (NULL) value are both "not found".
std::optional<kv_item> kv_get(db::tx& t, std::string_view account_id, std::string_view key);

/// kvList.ts: live entries ordered by key (bytewise), at most `limit`. A non-empty prefix filters like upstream's
/// Prisma `startsWith`, which is an unescaped, case-sensitive SQL LIKE '<prefix>%': `_` matches any one character,
/// `%` any run, and `\` escapes the next character (observed.md; prisma/prisma#19506).
std::vector<kv_item> kv_list(db::tx& t, std::string_view account_id, std::string_view prefix, int limit);

/// kvBulkGet.ts: the live entries among `keys` (missing/deleted keys are skipped), ordered by key.
std::vector<kv_item> kv_bulk_get(db::tx& t, std::string_view account_id, const std::vector<std::string>& keys);

/// One mutation as sent: value is the client's base64 (nullopt = null), version the expected current version
/// (a JSON number; -1 = "must not exist"; a fractional value never matches).
struct kv_mutation {
    std::string key;
    std::optional<std::string> value;
    double version = 0;
};

/// One rejected mutation: the current version (-1 when the row does not exist) and value bytes (nullopt = NULL).
struct kv_conflict {
    std::string key;
    std::int64_t version = -1;
    std::optional<std::string> value;
};

struct kv_mutate_result {
    bool success = false;
    std::vector<std::pair<std::string, std::int64_t>> results;  ///< key → new version, in request order
    std::vector<kv_conflict> errors;                            ///< in request order
};

/// Thrown when an update value fails privacy-kit's strict base64 decoder (upstream: the batch aborts with 500).
struct invalid_base64 : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// kvMutate.ts, inside the caller's write transaction: every mutation's version is checked against the state
/// before the batch; any mismatch ⇒ nothing is written and all conflicts are returned. Otherwise, in order:
/// version -1 inserts with version 0 (value: Node's lenient decoder), any other version updates to version + 1
/// (value: strict decoder, invalid_base64 on failure); a null or empty value stores NULL (= deleted).
/// Duplicate keys are not detected (two inserts of one key violate the primary key and throw, as upstream).
kv_mutate_result kv_mutate(db::tx& t, std::string_view account_id, const std::vector<kv_mutation>& mutations,
                           std::int64_t now);

/// Translates a LIKE prefix pattern (as above, plus the implicit trailing `%`) into an equivalent SQLite GLOB
/// pattern, which is case-sensitive where SQLite's LIKE is not. Exposed for tests.
std::string kv_prefix_glob(std::string_view prefix);

}  // namespace happy::mod::kv
