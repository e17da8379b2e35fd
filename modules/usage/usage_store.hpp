/// @file
/// Storage and aggregation functions of the usage module (business logic callable without sockets).
/// Upstream: packages/happy-server/sources/app/api/socket/usageHandler.ts (writes) and
/// sources/app/api/routes/accountRoutes.ts `POST /v1/usage/query` (reads).
#pragma once
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/db/query.hpp"

namespace happy::mod::usage {

/// One `usage_report` row.
struct usage_report {
    std::string id;
    std::string key;
    std::optional<std::string> session_id;
    std::string data;  ///< JSON text {"tokens": {…}, "cost": {…}}
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
};

/// True when the session exists and belongs to the account (another account's session is "not found").
bool usage_session_owned(db::tx& t, std::string_view account_id, std::string_view session_id);

/// Upsert keyed by (account, session, key): a new row (createdAt = updatedAt = now), or the existing row with
/// `data` replaced and updatedAt = now (id and createdAt kept). Returns the row as stored.
usage_report usage_report_upsert(db::tx& t, std::string_view account_id, std::string_view session_id,
                                 std::string_view key, std::string_view data, std::int64_t now);

struct usage_filter {
    std::optional<std::string> session_id;  ///< only this session's reports
    std::optional<std::int64_t> from_ms;    ///< createdAt >= from_ms
    std::optional<std::int64_t> to_ms;      ///< createdAt <= to_ms
};

/// The account's reports matching the filter, newest first (upstream orderBy createdAt desc; ties by id here).
std::vector<usage_report> usage_report_list(db::tx& t, std::string_view account_id, const usage_filter& f);

enum class usage_group { hour, day };

/// Start of the hour/day containing `created_ms` in the server's local time zone, in Unix seconds (upstream builds
/// `new Date(y, m, d[, h])` from the local calendar fields).
std::int64_t usage_bucket_start(std::int64_t created_ms, usage_group g);

/// The response body of POST /v1/usage/query for `reports` (newest first):
/// {"usage": [{timestamp, tokens, cost, reportCount}…] ascending by timestamp, "groupBy", "totalReports"}.
/// Every numeric entry of data.tokens / data.cost is summed per key; keys come out in JavaScript object order
/// (integer-like keys ascending, then first appearance, each report's keys in PostgreSQL JSONB order, which is
/// how upstream reads its Json column back).
boost::json::object usage_aggregate(const std::vector<usage_report>& reports, usage_group g);

}  // namespace happy::mod::usage
